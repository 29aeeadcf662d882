"""tests/e2e/test_smtputf8_outbound.py - internationalized mail (RFC 6531,
RFC 6533) on its way out, with the whole homemxd in a network namespace.

Owns: the proof that a message submitted with SMTPUTF8 (Python smtplib,
mail_options=["SMTPUTF8"], on 587 with STARTTLS and AUTH) reaches a remote
MX that does not offer SMTPUTF8 when nothing in it needs the extension
(ASCII envelope and header section: sent without the parameter, the 8-bit
body under BODY=8BITMIME; RFC 6531 3.2), and that otherwise (a UTF-8
Subject, a UTF-8 address) it is never sent and its sender gets an RFC 6533
DSN in the local Maildir: multipart/report; report-type=delivery-status
with a message/global-delivery-status part (Status 5.6.7, a UTF-8
recipient as "utf-8; ...") and the headers as message/global-headers, read
with Python's email package. A UTF-8 sender's DSN is itself SMTPUTF8 mail
(its To field is UTF-8) and still lands in that sender's Maildir.

The remote MX is tests/e2e/smtp_receiver.py with its default extensions
(no SMTPUTF8), found through a real unbound (tests/e2e/netns.py).
Needs root (ip netns); skipped otherwise.
"""
import base64
import email
import email.policy
import os
import shutil
import subprocess
import tempfile
import unittest
import uuid

import harness
from harness import BUILD
from netns import NetnsHomemx, Topology, Unbound, can_use_netns
from smtp_receiver import SmtpReceiver

NETNS_OK, NETNS_WHY = can_use_netns()
MISSING = [b for b in ("homemxd", "mxctl", "homemx-relay", "homemx-submission")
           if not os.path.exists(os.path.join(BUILD, b))]

KIM = "kim@example.test"
JUERGEN = "j\u00fcrgen@example.test"
BJOERN = "bj\u00f6rn@remote.test"
USERS = [(KIM, "secret"), (JUERGEN, "secret2")]
SUBJECT_UTF8 = "Gr\u00fc\u00dfe aus K\u00f6ln"


def message(frm, to, subject, token):
    """Header section as given (ASCII or not), a UTF-8 body either way."""
    return (f"From: <{frm}>\r\nTo: <{to}>\r\nSubject: {subject} {token}\r\n"
            f"Message-ID: <{token}@client.example>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
            f"\r\nHall\u00f6chen {token}\r\n").encode("utf-8")


def field_blocks(text):
    """The field blocks of a delivery-status body (RFC 3464 2.1), as dicts;
    continuation lines joined."""
    blocks = []
    for chunk in text.replace("\r\n", "\n").strip("\n").split("\n\n"):
        fields, last = {}, None
        for line in chunk.split("\n"):
            if line[:1] in (" ", "\t") and last is not None:
                fields[last] += " " + line.strip()
                continue
            name, _, value = line.partition(":")
            last = name.strip()
            fields[last] = value.strip()
        blocks.append(fields)
    return blocks


@unittest.skipUnless(NETNS_OK, NETNS_WHY)
@unittest.skipIf(MISSING, f"not built: {MISSING}")
class Outbound(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import ssl
        cls.topo = topo = Topology()
        cls.h = cls.dns = cls.rx = None
        cls.certdir = tempfile.mkdtemp(prefix="hmx-u8out-cert-")
        try:
            host = topo.add_host("mx")
            topo.start()
            dns = cls.dns = Unbound(topo)
            dns.add("remote.test", "MX", "10 mx.remote.test.")
            dns.add_host_records("mx.remote.test", host)
            dns.start()
            cls.rx = SmtpReceiver(host, name="mx.remote.test").start()
            cert, key = (os.path.join(cls.certdir, n) for n in ("cert.pem", "key.pem"))
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", key, "-out", cert, "-days", "2", "-subj",
                            "/CN=mx.example.test"], check=True, capture_output=True)
            cls.sub_port = harness.free_port()
            cls.h = NetnsHomemx(topo, dns, users=USERS, extra_conf="\n".join([
                f"listen submission 127.0.0.1:{cls.sub_port}",
                f"tls_certificate {cert}", f"tls_key {key}",
                "retry_min 1s", "retry_max 2s"]))
            cls.h.start()
            cls.h.mxctl("dkim", "keygen", "example.test")
            cls.ctx = ssl.create_default_context()
            cls.ctx.check_hostname = False
            cls.ctx.verify_mode = ssl.CERT_NONE
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.h is not None:
            cls.h.stop()
            cls.h.cleanup()
        if cls.rx is not None:
            cls.rx.stop()
        if cls.dns is not None:
            cls.dns.stop()
        cls.topo.stop()
        shutil.rmtree(cls.certdir, ignore_errors=True)

    def setUp(self):
        self.rx.reset()
        # The point of every test here: the next hop lacks SMTPUTF8.
        self.assertNotIn("SMTPUTF8", self.rx.extensions)
        self.assertIn("8BITMIME", self.rx.extensions)

    def submit(self, user, password, rcpts, data):
        c = self.h.smtp(self.sub_port)
        try:
            c.ehlo("client.example")
            c.starttls(context=self.ctx)
            c.ehlo("client.example")
            self.assertTrue(c.has_extn("smtputf8"))
            # smtplib's login() encodes the user name as ASCII; AUTH PLAIN
            # carries UTF-8 (RFC 4616 2), so the command is sent as is.
            cred = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
            self.assertEqual(c.docmd("AUTH", f"PLAIN {cred}")[0], 235)
            self.assertEqual(c.sendmail(user, rcpts, data, mail_options=["SMTPUTF8"]), {})
        finally:
            c.quit()

    def dsn_for(self, address, token):
        """The DSN about token in address's Maildir, parsed: (message, parts).
        The bytes are UTF-8 (RFC 6532), so they are decoded before parsing."""
        raw = harness.wait_until(
            lambda: next((m for m in self.h.messages(address)
                          if m.startswith(b"Return-Path: <>") and token.encode() in m), None),
            timeout=30, what=f"the DSN about {token} for {address}",
            detail=lambda: self.h.log()[-4000:])
        msg = email.message_from_string(raw.decode("utf-8"), policy=email.policy.default)
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        return msg, list(msg.iter_parts())

    def status_fields(self, part):
        """message/global-delivery-status: the email package has no reader
        for it and sees an embedded message whose header is the per-message
        block; the per-recipient blocks are its body."""
        self.assertEqual(part.get_content_type(), "message/global-delivery-status")
        (inner,) = part.get_payload()
        per_message = dict(inner.items())
        return per_message, field_blocks(inner.get_payload())

    def test_ascii_envelope_and_headers_go_without_smtputf8(self):
        token = "u8down" + uuid.uuid4().hex[:8]
        data = message(KIM, "carl@remote.test", "plain ASCII subject", token)
        with self.h.expect_log("event=relay_smtputf8_downgrade"):
            self.submit(KIM, "secret", ["carl@remote.test"], data)
        (m,) = self.rx.wait_messages(1, timeout=30)
        self.assertEqual(m.rcpts, ["carl@remote.test"])
        self.assertIn(f"Hall\u00f6chen {token}".encode(), m.data)
        params = m.conn.mail_params[-1].split()
        self.assertNotIn("SMTPUTF8", params)
        self.assertIn("BODY=8BITMIME", params)

    def test_utf8_subject_with_ascii_envelope_bounces(self):
        token = "u8subj" + uuid.uuid4().hex[:8]
        data = message(KIM, "carl@remote.test", SUBJECT_UTF8, token)
        self.submit(KIM, "secret", ["carl@remote.test"], data)
        msg, parts = self.dsn_for(KIM, token)
        self.assertEqual([p.get_content_type() for p in parts],
                         ["text/plain", "message/global-delivery-status",
                          "message/global-headers"])
        per_message, (rcpt,) = self.status_fields(parts[1])
        self.assertEqual(per_message["Reporting-MTA"].split(";")[0], "dns")
        self.assertEqual(rcpt["Final-Recipient"], "rfc822; carl@remote.test")
        self.assertEqual(rcpt["Status"], "5.6.7")
        self.assertIn("SMTPUTF8 is required, but was not offered by mx.remote.test",
                      rcpt["Diagnostic-Code"])
        self.assertNotIn("Remote-MTA", rcpt)       # our own decision, no server said it
        (returned,) = parts[2].get_payload()
        self.assertEqual(returned["Subject"], f"{SUBJECT_UTF8} {token}")
        # Never sent: no MAIL reached the sink.
        self.assertEqual(self.rx.messages(), [])
        self.h.wait_log("stage=smtputf8")

    def test_utf8_sender_and_recipient_get_global_dsn_in_own_maildir(self):
        token = "u8addr" + uuid.uuid4().hex[:8]
        data = message(JUERGEN, BJOERN, SUBJECT_UTF8, token)
        self.submit(JUERGEN, "secret2", [BJOERN], data)
        msg, parts = self.dsn_for(JUERGEN, token)
        self.assertEqual(msg["To"].addresses[0].addr_spec, JUERGEN)
        self.assertEqual(parts[0].get_content_charset(), "utf-8")
        self.assertIn(f"<{BJOERN}>", parts[0].get_content())
        _, (rcpt,) = self.status_fields(parts[1])
        self.assertEqual(rcpt["Final-Recipient"], f"utf-8; {BJOERN}")
        self.assertEqual(rcpt["Status"], "5.6.7")
        self.assertEqual(parts[2].get_content_type(), "message/global-headers")
        self.assertEqual(parts[2]["Content-Transfer-Encoding"], "8bit")
        (returned,) = parts[2].get_payload()
        self.assertEqual(returned["From"].addresses[0].addr_spec, JUERGEN)
        self.assertEqual(self.rx.messages(), [])
        # The DSN went to a UTF-8 mailbox: its envelope was SMTPUTF8.
        self.assertRegex(self.h.log(), r"event=dsn qid=[0-9a-f]{16} dsn_qid=[0-9a-f]{16} "
                                       r"to=<j\\xc3\\xbcrgen@example.test> nrcpt=1")


if __name__ == "__main__":
    unittest.main()
