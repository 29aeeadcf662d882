"""tests/e2e/test_smtputf8_clients.py - SMTPUTF8 (RFC 6530-6532) with real
clients on both sides of homemx: a stock Postfix sends, Dovecot reads,
swaks speaks plain SMTP without the SMTPUTF8 parameter.

Owns: the proof that mail from a real MTA for UTF-8 addresses arrives.
Before SMTPUTF8 was offered, a stock Postfix bounced mail for
dëmo@example.test with 5.6.7 "SMTPUTF8 is required, but was not offered";
test_smtputf8.py drives
the same dialog with smtplib and raw sockets, this file with the programs
people run.

1. Postfix (smtputf8_enable = yes, its own sendmail, input on stdin) in
   the namespace of host "sender" relays to [192.0.2.1]:port, homemx in
   the mta namespace (tests/e2e/netns.py; the sender's DNS passes the
   screen as in test_limits.py). No name is ever looked up: the relayhost
   is an address in brackets, disable_dns_lookups, smtp_host_lookup native.
   - dëmo@example.test (mxctl user) with a UTF-8 Subject and From display
     name: Postfix logs status=sent, the Maildir holds it, and Dovecot on
     homemx's shipped conf/dovecot/99-homemx.conf logs in as
     dëmo@example.test (SASL PLAIN, UTF-8) and FETCHes the decoded Subject
     and the UTF-8 From (ENABLE UTF8=ACCEPT when offered: Dovecot 2.3 does
     not offer it and sends the raw UTF-8 as literals).
   - kim@bücher.example, the domain added with mxctl as bücher.example:
     arrives in the Maildir of the A-label domain, which Dovecot serves to
     the login kim@xn--bcher-kva.example (the form mxctl stores) and to
     kim@bücher.example (mxctl's passwd-file maps it to the stored name).
   - jürgen@example.test, a UTF-8 alias of the ASCII user kim@: arrives,
     Dovecot reads it as kim@.
2. swaks 20201014 (no option for MAIL parameters): an ASCII envelope
   with a raw UTF-8 Subject is accepted and stored byte for byte; a UTF-8
   RCPT gets 553 5.6.7, the session goes on to the next RCPT, and a new
   run with an ASCII RCPT delivers.

Postfix, Dovecot and swaks come from scripts/install-deps: a missing one
skips with the reason (tests/e2e/run.py counts it; in CI it fails).
"""

import email
import email.policy
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from dovecot import Dovecot
from harness import WAIT, Homemx, free_port, wait_until
from netns import NetnsHomemx, Topology, Unbound, can_use_netns, in_netns
from test_dovecot import shipped_config
from test_limits import POSTFIX, PostfixSender

DOVECOT = "/usr/sbin/dovecot"
SWAKS = shutil.which("swaks") or "/usr/bin/swaks"

DEMO = "d\u00ebmo@example.test"
DEMO_PASSWORD = "d\u00ebmo pass"            # UTF-8 in SASL PLAIN too
KIM = "kim@example.test"
KIM_PASSWORD = "kim pass"
BUECHER = "b\u00fccher.example"
BUECHER_ALABEL = "xn--bcher-kva.example"
KIM_BUECHER = "kim@" + BUECHER
JUERGEN = "j\u00fcrgen@example.test"         # alias of kim@
SENDER = "alice@sender.example"
DISPLAY_NAME = "D\u00ebmo M\u00fcller"
SUBJECT = "Gr\u00fc\u00dfe aus K\u00f6ln \u2013 \u65e5\u672c"


def utf8_message(to, token):
    """Raw UTF-8 in From's display name and in Subject (RFC 6532 3.2)."""
    return (f"From: {DISPLAY_NAME} <{SENDER}>\nTo: <{to}>\n"
            f"Subject: {SUBJECT} {token}\n"
            f"Content-Type: text/plain; charset=utf-8\n\n"
            f"Hall\u00f6chen {token}\n").encode()


def header_of(raw):
    """The parsed message; raw must be UTF-8 (email's bytes parser would
    keep 8-bit header octets as surrogates, RFC 6532 says they are UTF-8)."""
    return email.message_from_string(raw.decode("utf-8"), policy=email.policy.default)


class PostfixSendsUtf8(unittest.TestCase):
    """A stock Postfix relays UTF-8 mail to homemx; Dovecot reads it."""

    @classmethod
    def setUpClass(cls):
        ok, why = can_use_netns()
        if not ok:
            raise unittest.SkipTest(why)
        for path, what in ((POSTFIX, "postfix"), (DOVECOT, "dovecot")):
            if not os.access(path, os.X_OK):
                raise unittest.SkipTest(f"{what} not installed (scripts/install-deps)")
        cls.topo = Topology()
        cls.sender = cls.topo.add_host("sender", ipv6=False)
        cls.topo.start()
        cls.dns = Unbound(cls.topo)
        ip = cls.sender.ipv4
        # what a well-run sending MTA has, so the screen accepts its mail
        cls.dns.add(".".join(reversed(ip.split("."))) + ".in-addr.arpa", "PTR",
                    "mx1.sender.example.")
        cls.dns.add("mx1.sender.example", "A", ip)
        cls.dns.add("sender.example", "MX", "10 mx1.sender.example.")
        cls.dns.add("sender.example", "TXT", f'"v=spf1 ip4:{ip} -all"')
        cls.dns.start()
        # h.cleanup() removes it (unless HOMEMX_KEEP is set)
        cls.work = tempfile.mkdtemp(prefix="hmx-u8clients-")
        os.chmod(cls.work, 0o755)
        cls.passwd = os.path.join(cls.work, "dovecot-auth", "passwd")
        # the sender reaches homemx on 192.0.2.1 (its loopback listener is
        # the harness's readiness probe)
        cls.port = free_port()
        cls.h = NetnsHomemx(cls.topo, cls.dns, workdir=cls.work, users=(), extra_conf=(
            f"listen smtp {Topology.MTA_IPV4}:{cls.port}\n"
            f"dovecot_passwd_file {cls.passwd}\n"))
        cls.postfix = None
        cls.dovecot = None
        try:
            cls.start_homemx()
            cls.start_postfix()
            cls.dovecot = Dovecot(os.path.join(cls.work, "maildirs"), 0, 0,
                                  os.path.join(cls.work, "dovecot"),
                                  auth_conf=shipped_config(cls.passwd,
                                                           os.path.join(cls.work, "maildirs"),
                                                           "_hmx-mail"))
            cls.dovecot.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start_homemx(cls):
        h = cls.h
        h.start()
        h.mxctl("domain", "add", BUECHER)          # stored as the A-label
        h.mxctl("user", "add", DEMO, input=DEMO_PASSWORD + "\n")
        h.mxctl("user", "add", KIM, input=KIM_PASSWORD + "\n")
        h.mxctl("user", "add", KIM_BUECHER, input=KIM_PASSWORD + "\n")
        h.mxctl("alias", "add", JUERGEN, KIM)

    @classmethod
    def start_postfix(cls):
        cls.postfix = PostfixSender(cls.sender.ns, (Topology.MTA_IPV4, cls.port))
        cls.postfix.run("/usr/sbin/postconf", "-c", cls.postfix.conf, "-e",
                        "smtputf8_enable = yes", "defer_transports =")
        cls.postfix.start()

    @classmethod
    def tearDownClass(cls):
        if cls.dovecot is not None:
            cls.dovecot.stop()
        if cls.postfix is not None:
            cls.postfix.stop()
        cls.h.stop()
        cls.h.cleanup()
        cls.dns.stop()
        cls.topo.stop()

    # -- Postfix ------------------------------------------------------------
    def postfix_sendmail(self, rcpt, message):
        """Postfix's own sendmail, the message on stdin, as a local program
        hands mail to Postfix."""
        pf = self.postfix
        with in_netns(pf.ns):
            p = subprocess.run(["/usr/sbin/sendmail", "-C", pf.conf, "-f", SENDER, "--", rcpt],
                               input=message, capture_output=True, timeout=WAIT)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def wait_postfix_sent(self, rcpt):
        """Postfix's first status line for rcpt: sent, not deferred or
        bounced (a 5.6.7 "SMTPUTF8 is required" would bounce it)."""
        pf = self.postfix
        final = re.compile(rf"to=<{re.escape(rcpt)}>,.*status=(\w+).*")
        m = wait_until(lambda: final.search(pf.log()), what=f"postfix final status for {rcpt}",
                       detail=lambda: pf.log()[-3000:] + "\n" + self.h.log()[-3000:])
        self.assertEqual(m.group(1), "sent", m.group(0))
        self.assertNotIn("5.6.7", pf.log())
        self.assertNotIn("SMTPUTF8 is required", pf.log())
        return m.group(0)

    def stored(self, mailbox, token):
        return wait_until(
            lambda: next((m for m in self.h.messages(mailbox) if token.encode() in m), None),
            what=f"message {token} in the Maildir of {mailbox}",
            detail=lambda: self.h.log()[-3000:])

    def assertUtf8Headers(self, raw, token):
        msg = header_of(raw)
        self.assertEqual(msg["Subject"], f"{SUBJECT} {token}")
        self.assertEqual(msg["From"].addresses[0].display_name, DISPLAY_NAME)
        self.assertEqual(msg["From"].addresses[0].addr_spec, SENDER)
        # raw UTF-8, as sent: nobody turned it into encoded words
        self.assertIn(f"Subject: {SUBJECT} {token}".encode(), raw)

    # -- Dovecot ------------------------------------------------------------
    def imap_read(self, login, password, token):
        """(header bytes, ENVELOPE bytes) of the message with token, read
        over IMAP as login."""
        conn = self.dovecot.imap(login, password)
        try:
            typ, caps = conn.capability()
            self.assertEqual(typ, "OK")
            if b"UTF8=ACCEPT" in caps[0].split():     # RFC 6855
                self.assertEqual(conn.enable("UTF8=ACCEPT")[0], "OK")
            typ, data = conn.select("INBOX", readonly=True)
            self.assertEqual(typ, "OK", data)
            typ, data = conn.uid("SEARCH", None, "HEADER", "Message-ID", token)
            self.assertEqual(typ, "OK", data)
            uids = data[0].split()
            self.assertEqual(len(uids), 1, f"{token}: {data}")
            typ, data = conn.uid("FETCH", uids[0], "(BODY.PEEK[HEADER])")
            self.assertEqual(typ, "OK", data)
            header = data[0][1]
            typ, data = conn.uid("FETCH", uids[0], "(ENVELOPE)")
            self.assertEqual(typ, "OK", data)
            envelope = b"".join(b"".join(x) if isinstance(x, tuple) else x for x in data)
            return header, envelope
        finally:
            conn.logout()

    def assertDovecotReads(self, login, password, token):
        header, envelope = self.imap_read(login, password, token)
        self.assertUtf8Headers(header, token)
        # Dovecot's own parse of the header: Subject and the From name
        # come back as UTF-8 (quoted strings or literals)
        self.assertIn(f"{SUBJECT} {token}".encode(), envelope)
        self.assertIn(DISPLAY_NAME.encode(), envelope)

    def with_message_id(self, rcpt, token):
        return utf8_message(rcpt, token).replace(
            b"\n\n", f"\nMessage-ID: <{token}@sender.example>\n\n".encode(), 1)

    # -- tests --------------------------------------------------------------
    def test_utf8_local_part_arrives_and_dovecot_reads_it(self):
        token = "pf-demo"
        self.postfix_sendmail(DEMO, self.with_message_id(DEMO, token))
        line = self.wait_postfix_sent(DEMO)
        self.assertIn(f"relay={Topology.MTA_IPV4}[{Topology.MTA_IPV4}]:{self.port}", line)
        raw = self.stored(DEMO, token)
        self.assertUtf8Headers(raw, token)
        # Postfix said SMTPUTF8 (its MAIL parameter): homemx's trace line
        # names the protocol UTF8SMTP (RFC 6531 3.7.3)
        self.assertRegex(raw, rb"\r\n\tby mx\.example\.test with UTF8SMTP id [0-9a-f]{16}\r\n"
                              + f"\tfor <{DEMO}>;".encode())
        self.assertDovecotReads(DEMO, DEMO_PASSWORD, token)
        self.assertRegex(self.dovecot.log(), f"Login: user=<{re.escape(DEMO)}>, method=PLAIN")

    def test_u_label_domain_arrives_in_the_a_label_maildir(self):
        token = "pf-buecher"
        self.postfix_sendmail(KIM_BUECHER, self.with_message_id(KIM_BUECHER, token))
        self.wait_postfix_sent(KIM_BUECHER)
        raw = self.stored("kim@" + BUECHER_ALABEL, token)
        self.assertUtf8Headers(raw, token)
        maildirs = os.listdir(os.path.join(self.work, "maildirs"))
        self.assertIn(BUECHER_ALABEL, maildirs)
        self.assertNotIn(BUECHER, maildirs)
        self.assertDovecotReads("kim@" + BUECHER_ALABEL, KIM_PASSWORD, token)
        # the U-label login a person types reaches the same mailbox: mxctl's
        # passwd-file maps it to the stored name (extra field user=)
        self.assertDovecotReads(KIM_BUECHER, KIM_PASSWORD, token)
        # both logins ended as the stored name (Dovecot logs the mapped user)
        self.assertEqual(self.dovecot.log().count(
            f"Login: user=<kim@{BUECHER_ALABEL}>, method=PLAIN"), 2, self.dovecot.log())

    def test_utf8_alias_of_an_ascii_user_arrives(self):
        token = "pf-juergen"
        self.postfix_sendmail(JUERGEN, self.with_message_id(JUERGEN, token))
        self.wait_postfix_sent(JUERGEN)
        raw = self.stored(KIM, token)
        self.assertIn(f"Delivered-To: {JUERGEN}".encode(), raw)
        self.assertDovecotReads(KIM, KIM_PASSWORD, token)


@unittest.skipUnless(os.access(SWAKS, os.X_OK), "swaks not installed (scripts/install-deps)")
class SwaksWithoutTheParameter(unittest.TestCase):
    """swaks 20201014 cannot send MAIL parameters: what a client that never
    says SMTPUTF8 gets."""

    @classmethod
    def setUpClass(cls):
        cls.h = Homemx(users=((KIM, "secret"), (DEMO, "secret2")))
        try:
            cls.h.start()
        except BaseException:
            cls.h.stop(check_sanitizers=False)
            cls.h.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.h.cleanup()

    def swaks(self, to, *args):
        p = subprocess.run([SWAKS, "--server", f"127.0.0.1:{self.h.smtp_port}",
                            "--helo", "client.example", "--from", "a@client.example",
                            "--to", to, *args], capture_output=True, timeout=WAIT)
        return p.returncode, p.stdout.decode("utf-8", "replace") + p.stderr.decode(
            "utf-8", "replace")

    def stored(self, mailbox, token):
        return wait_until(
            lambda: next((m for m in self.h.messages(mailbox) if token.encode() in m), None),
            what=f"message {token} for {mailbox}", detail=lambda: self.h.log()[-3000:])

    def test_raw_utf8_subject_with_an_ascii_envelope_is_stored_intact(self):
        token = "swaks-subject"
        rc, out = self.swaks(KIM, "--header", f"Subject: {SUBJECT} {token}",
                             "--header", f"From: {DISPLAY_NAME} <a@client.example>")
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"<-  250 2\.0\.0 ")            # the reply to the data
        raw = self.stored(KIM, token)
        # no SMTPUTF8 parameter: the trace line says plain ESMTP
        self.assertRegex(raw, rb"\r\n\tby mx\.example\.test with ESMTP id ")
        self.assertIn(f"Subject: {SUBJECT} {token}\r\n".encode(), raw)
        self.assertIn(f"From: {DISPLAY_NAME} <a@client.example>\r\n".encode(), raw)

    def test_utf8_rcpt_without_the_parameter_553_and_the_session_goes_on(self):
        # alone: no recipient accepted, swaks says so with exit code 24
        rc, out = self.swaks(DEMO, "--header", "Subject: swaks-alone")
        self.assertEqual(rc, 24, out)
        self.assertIn(f" -> RCPT TO:<{DEMO}>", out)
        self.assertRegex(out, r"<\*\* +553 5\.6\.7 ")
        self.assertRegex(out, r"<-  221 ")                   # a clean QUIT
        # the same session goes on to the next RCPT, and the mail is sent
        token = "swaks-second-rcpt"
        rc, out = self.swaks(f"{DEMO},{KIM}", "--header", f"Subject: {token}")
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"<\*\* +553 5\.6\.7 [^\n]*\n -> RCPT TO:<kim@example\.test>\n"
                              r"<-  250 ")
        self.stored(KIM, token)
        # and a new run with the ASCII address alone
        token = "swaks-ascii-run"
        rc, out = self.swaks(KIM, "--header", f"Subject: {token}")
        self.assertEqual(rc, 0, out)
        self.stored(KIM, token)
        self.assertEqual(self.h.messages(DEMO), [])


if __name__ == "__main__":
    unittest.main()
