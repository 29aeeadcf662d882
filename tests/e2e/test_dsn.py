"""tests/e2e/test_dsn.py - routing to relay, retries and DSNs (RFC 3464),
with the real homemx-queue and homemx-delivery.

The test plays the supervisor (fd 3 control link, fd 4 config memfd,
MSG_SUP_LINK frames, as in test_queue_roles.py), submission and smtpd
(MSG_SMTPD_MSG_OPEN/COMMIT), lookup (MSG_RESOLVE_ANSWER), and fakes of the
relay role (MSG_QUEUE_RELAY in, MSG_RELAY_RESULT out) and of dkimsign
(MSG_SIGN_ASK in, MSG_SIGN_ANSWER out). Frame layouts: lib/ipc_msgs.h.

It checks: a 5xx from the relay gives the sender one RFC 3464 DSN
(multipart/report, text/plain with charset, message/delivery-status with
the fields, the original headers, an RFC 2047 Subject), parseable by
Python's email package, signed (the fake signature is on top), sent from
<>; remote recipients are grouped per domain; no DSN to <>, none for a
DSN, none for an automatic message, none for port 25 mail (which is never
relayed); a 4xx is retried with backoff and then delivered; expiry gives a
DSN; a DSN stays queued, unsigned and undelivered while signing is
unavailable (also across a queue restart), and goes out once signed; a
relay that goes away or lies is handled. A DSN names a Remote-MTA and an
"smtp;" Diagnostic-Code only for what a server answered: the relay's own
diagnoses (null MX: 5.1.10, every address refused: 4.4.1) give neither.
FamilyMemory: the relay's IPv6->IPv4 fallbacks are kept by the queue in
spool_dir/state/family (checked, bounded, cut to family_fallback_memory)
and handed to every new relay link, also after a queue crash.

RealRelay repeats the central cases with the real homemx-relay (when it
is built) inside a network namespace, talking SMTP to a scriptable
receiver found through a real unbound (tests/e2e/netns.py,
smtp_receiver.py); it needs root and is skipped otherwise. RealDkimsign
has the real homemx-dkimsign (when built) sign the DSN with keys made by
openssl, and dkimpy verifies both signatures (rsa-sha256, ed25519-sha256)
against the matching DNS records. FullDaemon runs the whole homemxd (when
every role is built) in a namespace: a message submitted on 587 with
STARTTLS and AUTH meets a 5xx at the remote MX, and the DSN lands in the
sender's Maildir, signed by dkimsign with the keys of `mxctl dkim keygen`
and verified by dkimpy against `mxctl dkim show`.
"""
import base64
import email
import email.policy
import os
import re
import shutil
import socket
import struct
import subprocess
import time
import unittest

try:
    import dkim          # Debian's python3-dkim (dkimpy)
except ImportError:
    dkim = None

import harness
from harness import BUILD, WAIT, maildir_messages
from harness import dkim_show_records as txt_records
from netns import NetnsHomemx, Topology, Unbound, can_use_netns, in_netns
from rolerig import (DELIVERY_OK, DELIVERY_PERMFAIL, DELIVERY_TEMPFAIL,
                     QUEUE_OK, QUEUE_REJECT, RESOLVE_LOCAL, RESOLVE_NOT_LOCAL,
                     RESOLVE_UNKNOWN_USER, SIGN_FAILED, SIGN_NO_KEY, SIGN_OK, SOURCE_SMTP,
                     SOURCE_SUBMISSION, RoleRig, commit_payload, parse_str, s)
from smtp_receiver import SmtpReceiver

NETNS_OK, NETNS_WHY = can_use_netns()
HAVE_RELAY = os.path.exists(os.path.join(BUILD, "homemx-relay"))
HAVE_DKIMSIGN = os.path.exists(os.path.join(BUILD, "homemx-dkimsign"))
FULL_MISSING = [b for b in ("homemxd", "mxctl", "homemx-relay", "homemx-submission",
                            "homemx-dkimsign") if not os.path.exists(os.path.join(BUILD, b))]

FAKE_SIGNATURE = ("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
                  "\td=example.test; s=mx1; h=from:to:subject; bh=fake; b=fake\r\n")

SUBJECT = "Gr\u00fc\u00dfe aus K\u00f6ln"
BODY = ("From: Kim <kim@example.test>\r\nTo: bob@remote.test\r\n"
        f"Subject: {SUBJECT}\r\nMessage-ID: <orig-1@example.test>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Hallo Bob,\r\nsecret body line\r\n").encode()


class DsnRig(RoleRig):
    """queue + delivery; the test is submission, smtpd, lookup, relay and
    dkimsign (each may be absent)."""

    def __init__(self, extra_conf="", relay=True, dkimsign=True):
        super().__init__("hmx-dsn-")
        self.spool = os.path.join(self.dir, "spool")
        self.maildirs = os.path.join(self.dir, "maildirs")
        os.makedirs(self.maildirs)
        self.conf = self.config(f"dkim_key_dir {self.dir}/dkim", "retry_min 1s",
                                "retry_max 2s") + "\n" + extra_conf
        self.queue = self.delivery = None
        self.sub = self.smtpd = self.relay = self.dkim = self.lookup = None
        self.start_queue(relay, dkimsign)
        self.start_delivery()

    # -- processes -------------------------------------------------------
    def start_queue(self, relay=True, dkimsign=True):
        for link in ("sub", "smtpd", "relay", "dkim"):
            if getattr(self, link, None) is not None:
                getattr(self, link).close()
                setattr(self, link, None)
        with self.expect_log("event=spool_loaded"):
            self.queue = self.start_role("queue", self.conf)
            self.sub = self.queue.new_link("submission")
            self.smtpd = self.queue.new_link("smtpd")
            if relay:
                self.connect_relay()
            if dkimsign:
                self.connect_dkimsign()

    def start_delivery(self):
        with self.expect_log("event=start role=delivery"):
            self.delivery = self.start_role("delivery", self.conf)
            self.link_roles(self.queue, self.delivery)
            self.lookup = self.delivery.new_link("lookup")

    def connect_relay(self):
        self.relay = self.queue.new_link("relay")

    def start_real_relay(self, netns):
        """The real homemx-relay inside namespace netns, linked to the queue."""
        with self.expect_log("event=start role=relay"):
            with in_netns(netns):
                self.real_relay = self.start_role("relay", self.conf)
            self.relink_real_relay()

    def relink_real_relay(self):
        """A fresh link between the queue and the running real relay, as
        the supervisor gives after a queue restart."""
        self.link_roles(self.queue, self.real_relay)

    def write_expired(self, msgid, rcpt, body=BODY):
        """A message whose queue_lifetime is over, written while the queue
        is down: its next failure is its last."""
        msg = os.path.join(self.spool, "msg")
        with open(os.path.join(msg, msgid + ".msg"), "wb") as f:
            f.write(body)
        with open(os.path.join(msg, msgid + ".env"), "w") as f:
            f.write(f"homemx-envelope 1\nid {msgid}\narrival 1000\nsource submission\n"
                    "client_ip 192.0.2.9\nhelo client.example\nsender <kim@example.test>\n"
                    f"rcpt <{rcpt}>\nattempts 9\nnext_attempt 1000\nend\n")


    def connect_dkimsign(self):
        self.dkim = self.queue.new_link("dkimsign")

    def start_real_dkimsign(self, domain="example.test", selector="mx1"):
        """Keys for domain made with openssl, the real homemx-dkimsign
        (demo mode: it opens dkim_key_dir itself) linked to the queue.
        Returns the TXT records to publish, {name: value}."""
        keydir = os.path.join(self.dir, "dkim", domain)
        os.makedirs(keydir, mode=0o700)
        os.chmod(os.path.dirname(keydir), 0o700)
        records = {}
        for alg, genargs in (("rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
                             ("ed25519", ["-algorithm", "ED25519"])):
            path = os.path.join(keydir, f"{selector}.{alg}.pem")
            subprocess.run(["openssl", "genpkey", *genargs, "-out", path], check=True,
                           capture_output=True)
            os.chmod(path, 0o600)
            der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"],
                                 check=True, capture_output=True).stdout
            pub = der if alg == "rsa" else der[-32:]     # RFC 8463 4.2: the raw key
            records[f"{selector}-{alg}._domainkey.{domain}"] = \
                f"v=DKIM1; k={alg}; p={base64.b64encode(pub).decode()}"
        with self.expect_log("event=start role=dkimsign"):
            self.real_dkim = self.start_role("dkimsign", self.conf)
            self.link_roles(self.queue, self.real_dkim)
        return records

    def links(self):
        return (self.sub, self.smtpd, self.lookup, self.relay, self.dkim)

    # -- playing submission / smtpd ------------------------------------
    def submit(self, body, rcpts, sender="kim@example.test", link=None,
               source=SOURCE_SUBMISSION):
        link = link or self.sub
        link.send("MSG_SMTPD_MSG_OPEN", b"", req=1)
        name, _, p, fd = link.recv()
        assert name == "MSG_QUEUE_MSG_OPENED" and p[0] == QUEUE_OK, (name, p)
        msgid, _ = parse_str(p, 1)
        os.write(fd, body)
        os.close(fd)
        payload = commit_payload(msgid, sender, "client.example", "192.0.2.9", source, rcpts)
        link.send("MSG_SMTPD_MSG_COMMIT", payload, req=2)
        name, _, p, _ = link.recv()
        assert name == "MSG_QUEUE_MSG_COMMITTED", name
        return p[0], msgid

    # -- playing lookup ----------------------------------------------------
    def answer_lookup(self, verdicts, timeout=WAIT):
        """verdicts: address -> (verdict, [mailboxes]) or verdict; answers
        as many asks as there are entries, returns the asked addresses."""
        asked = []
        for _ in range(len(verdicts)):
            name, req, p, _ = self.lookup.recv(timeout)
            assert name == "MSG_RESOLVE_ASK", name
            addr, _ = parse_str(p, 0)
            asked.append(addr)
            v = verdicts[addr]
            verdict, boxes = v if isinstance(v, tuple) else (v, [])
            self.lookup.send("MSG_RESOLVE_ANSWER",
                             bytes([verdict, len(boxes)]) + b"".join(s(b) for b in boxes),
                             req=req)
        return sorted(asked)

    # -- playing relay -----------------------------------------------------
    def relay_request(self, timeout=WAIT):
        name, req, p, fd = self.relay.recv(timeout)
        assert name == "MSG_QUEUE_RELAY", name
        msgid, off = parse_str(p, 0)
        sender, off = parse_str(p, off)
        n = struct.unpack(">H", p[off:off + 2])[0]
        off += 2
        rcpts = []
        for _ in range(n):
            r, off = parse_str(p, off)
            rcpts.append(r)
        body = b""
        if fd is not None:
            with os.fdopen(fd, "rb") as f:
                body = f.read()
        return req, msgid, sender, rcpts, body

    def relay_answer(self, req, results):
        p = struct.pack(">H", len(results))
        for res, reply in results:
            b = reply.encode() if isinstance(reply, str) else reply
            p += bytes([res]) + struct.pack(">H", len(b)) + b
        self.relay.send("MSG_RELAY_RESULT", p, req=req)

    # -- playing dkimsign ----------------------------------------------------
    def sign_ask(self, timeout=WAIT):
        name, req, p, fd = self.dkim.recv(timeout)
        assert name == "MSG_SIGN_ASK", name
        domain, _ = parse_str(p, 0)
        with os.fdopen(fd, "rb") as f:
            message = f.read()
        return req, domain, message

    def sign_answer(self, req, status, headers=""):
        self.dkim.send("MSG_SIGN_ANSWER", bytes([status]) + s(headers), req=req)

    # -- inspection --------------------------------------------------------
    def spool_files(self):
        try:
            return sorted(os.listdir(os.path.join(self.spool, "msg")))
        except FileNotFoundError:
            return []

    def envelopes(self):
        out = {}
        for f in self.spool_files():
            if f.endswith(".env"):
                with open(os.path.join(self.spool, "msg", f)) as fh:
                    out[f[:-4]] = fh.read()
        return out

    def messages(self, mailbox):
        user, domain = mailbox.split("@")
        return [data for _, data in maildir_messages(os.path.join(self.maildirs, domain, user,
                                                                  "new"))]

    def wait_spool_empty(self, timeout=WAIT):
        self.wait_for(lambda: not self.spool_files(), timeout, "empty spool",
                      lambda: f"spool: {self.spool_files()}")

    def assert_silent(self, link, seconds=1.0):
        """Nothing arrives on link for a while."""
        try:
            got = link.recv(seconds)
        except socket.timeout:
            return
        raise AssertionError(f"unexpected frame {got[:3]}")

    def dsn_qid(self, orig):
        m = re.search(rf"event=dsn qid={orig} dsn_qid=([0-9a-f]{{16}})", self.log())
        return m.group(1) if m else None


def parse_dsn(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    parts = list(msg.iter_parts())
    return msg, parts


def status_blocks(part):
    """Per-message and per-recipient field blocks of message/delivery-status."""
    return [dict(b.items()) for b in part.get_payload()]


class DsnTest(unittest.TestCase):
    rig_args = {}

    def setUp(self):
        self.rig = DsnRig(**self.rig_args)

    def tearDown(self):
        self.rig.stop()
        self.rig.cleanup()

    def deliver_signed_dsn(self, to="kim@example.test", signature=FAKE_SIGNATURE,
                           domain="example.test"):
        """The held DSN is signed (checking the request), then delivered
        locally; returns (unsigned text dkimsign saw, Maildir message)."""
        r = self.rig
        req, got_domain, unsigned = r.sign_ask()
        self.assertEqual(got_domain, domain)
        r.sign_answer(req, SIGN_OK, signature)
        self.assertEqual(r.answer_lookup({to: (RESOLVE_LOCAL, [to])}), [to])
        r.wait_for(lambda: r.messages(to), what=f"the DSN in {to}'s Maildir")
        msgs = r.messages(to)
        self.assertEqual(len(msgs), 1, r.log()[-3000:])
        return unsigned, msgs[0]


class Bounce(DsnTest):
    def test_5xx_gives_one_signed_dsn_with_charset_and_rfc2047(self):
        r = self.rig
        st, msgid = r.submit(BODY, ["bob@remote.test", "carl@REMOTE.test", "dave@other.test",
                                    "ann@example.test"])
        self.assertEqual(st, QUEUE_OK)
        asked = r.answer_lookup({"bob@remote.test": RESOLVE_NOT_LOCAL,
                                 "carl@REMOTE.test": RESOLVE_NOT_LOCAL,
                                 "dave@other.test": RESOLVE_NOT_LOCAL,
                                 "ann@example.test": (RESOLVE_LOCAL, ["ann@example.test"])})
        self.assertEqual(len(asked), 4)
        # One request per domain, recipients of a domain together, in order.
        reqs = {}
        for _ in range(2):
            req, mid, sender, rcpts, body = r.relay_request()
            self.assertEqual((mid, sender), (msgid, "kim@example.test"))
            self.assertEqual(body, BODY)
            reqs[rcpts[0].split("@")[1].lower()] = (req, rcpts)
        self.assertEqual(reqs["remote.test"][1], ["bob@remote.test", "carl@REMOTE.test"])
        self.assertEqual(reqs["other.test"][1], ["dave@other.test"])
        r.relay_answer(reqs["remote.test"][0], [
            (DELIVERY_PERMFAIL, "mx.remote.test[192.0.2.1]: 550 5.1.1 <bob@remote.test>: "
                                "Recipient address rejected: User unknown"),
            (DELIVERY_OK, "250 2.0.0 Ok: queued as 4711")])
        # A reply is one text line by the time it reaches the queue (relay's
        # parser and encoder make it one; a CR or LF in it is refused by the
        # decoder, lib/ipc_text.h): header-like text must stay in its field.
        r.relay_answer(reqs["other.test"][0], [
            (DELIVERY_PERMFAIL, "mx.other.test: 554 5.7.1 Spam X-Injected: yes")])
        r.wait_log(f"event=dsn qid={msgid}")
        self.assertIn(f"event=bounce qid={msgid} to=<bob@remote.test>", r.log())
        self.assertIn(f"event=delivered qid={msgid} to=<carl@REMOTE.test>", r.log())
        self.assertRegex(r.log(), rf"event=dsn qid={msgid} dsn_qid=[0-9a-f]{{16}} "
                                  r"to=<kim@example.test> nrcpt=2")
        unsigned, delivered = self.deliver_signed_dsn()
        r.wait_spool_empty()
        self.assertEqual(r.count("event=dsn "), 1)     # one DSN for the round
        # What dkimsign signs is the DSN itself; the signature goes on top.
        head, _, rest = delivered.partition(b"\r\n")
        self.assertEqual(head, b"Return-Path: <>")
        dt, _, rest = rest.partition(b"\r\n")
        self.assertEqual(dt, b"Delivered-To: kim@example.test")
        self.assertEqual(rest, FAKE_SIGNATURE.encode() + unsigned)
        self.check_dsn(unsigned, msgid)

    def check_dsn(self, raw, msgid):
        self.assertTrue(all(b < 0x80 for b in raw), "DSN is not 7-bit")
        self.assertNotIn(b"\r\nX-Injected", raw)
        for line in raw.split(b"\r\n"):
            self.assertLessEqual(len(line), 998)
            self.assertNotIn(b"\n", line)
        msg, parts = parse_dsn(raw)
        self.assertEqual(msg.defects, [])
        self.assertIn(b'\r\nFrom: "Mail Delivery System" <MAILER-DAEMON@mx.example.test>\r\n',
                      b"\r\n" + raw)
        self.assertEqual(msg["From"].addresses[0].addr_spec, "MAILER-DAEMON@mx.example.test")
        self.assertEqual(msg["From"].addresses[0].display_name, "Mail Delivery System")
        self.assertEqual(msg["To"], "kim@example.test")
        self.assertEqual(msg["Subject"], f"Undelivered Mail Returned to Sender: {SUBJECT}")
        self.assertIn(b"Subject: =?utf-8?B?", raw)            # RFC 2047 on the wire
        self.assertEqual(msg["Auto-Submitted"], "auto-replied")
        self.assertEqual(msg["MIME-Version"], "1.0")
        self.assertTrue(msg["Date"] and msg["Message-ID"])
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        self.assertEqual([p.get_content_type() for p in parts],
                         ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        text = parts[0]
        self.assertEqual(text.get_content_charset(), "utf-8")
        human = text.get_content()
        self.assertIn("<bob@remote.test>", human)
        self.assertIn("mx.remote.test", human)
        self.assertIn("550 5.1.1 <bob@remote.test>: Recipient address rejected", human)
        self.assertIn(SUBJECT, human)
        self.assertNotIn("carl@", human)                       # delivered: not reported
        blocks = status_blocks(parts[1])
        self.assertEqual(blocks[0]["Reporting-MTA"], "dns; mx.example.test")
        self.assertIn("Arrival-Date", blocks[0])
        rcpt = {b["Final-Recipient"]: b for b in blocks[1:]}
        self.assertEqual(sorted(rcpt), ["rfc822; bob@remote.test", "rfc822; dave@other.test"])
        bob = rcpt["rfc822; bob@remote.test"]
        self.assertEqual(bob["Action"], "failed")
        self.assertEqual(bob["Status"], "5.1.1")
        self.assertEqual(bob["Remote-MTA"], "dns; mx.remote.test")
        self.assertEqual(bob["Diagnostic-Code"], "smtp; 550 5.1.1 <bob@remote.test>: "
                                                 "Recipient address rejected: User unknown")
        dave = rcpt["rfc822; dave@other.test"]
        self.assertEqual(dave["Status"], "5.7.1")
        self.assertEqual(dave["Diagnostic-Code"], "smtp; 554 5.7.1 Spam X-Injected: yes")
        headers = parts[2].get_payload(decode=True)
        self.assertIn(b"Message-ID: <orig-1@example.test>", headers)
        self.assertIn(SUBJECT.encode(), headers)               # 8-bit, back via QP
        self.assertNotIn(b"secret body line", raw)             # headers only

    def test_local_permfail_of_submitted_mail_gives_dsn(self):
        r = self.rig
        st, msgid = r.submit(BODY, ["gone@example.test"])
        r.answer_lookup({"gone@example.test": RESOLVE_UNKNOWN_USER})
        r.wait_log(f"event=dsn qid={msgid}")
        unsigned, _ = self.deliver_signed_dsn()
        msg, parts = parse_dsn(unsigned)
        blk = status_blocks(parts[1])[1]
        self.assertEqual(blk["Status"], "5.1.1")
        self.assertEqual(blk["Diagnostic-Code"], "X-Homemx; unknown user")
        self.assertNotIn("Remote-MTA", blk)
        r.wait_spool_empty()


class NoBackscatter(DsnTest):
    def test_no_dsn_to_null_sender(self):
        r = self.rig
        st, msgid = r.submit(BODY, ["bob@remote.test"], sender="")
        r.answer_lookup({"bob@remote.test": RESOLVE_NOT_LOCAL})
        req, _, sender, _, _ = r.relay_request()
        self.assertEqual(sender, "")
        r.relay_answer(req, [(DELIVERY_PERMFAIL, "550 5.1.1 no")])
        r.wait_log(f"event=bounce qid={msgid}")
        r.wait_spool_empty()
        r.assert_silent(r.dkim)
        self.assertNotIn("event=dsn", r.log())

    def test_no_dsn_for_automatic_message(self):
        r = self.rig
        for extra in (b"Auto-Submitted: auto-replied\r\n",
                      b"Content-Type: multipart/report;\r\n report-type=delivery-status; b=x\r\n"):
            body = extra + b"Subject: out of office\r\n\r\nbody\r\n"
            st, msgid = r.submit(body, ["bob@remote.test"])
            r.answer_lookup({"bob@remote.test": RESOLVE_NOT_LOCAL})
            req, *_ = r.relay_request()
            r.relay_answer(req, [(DELIVERY_PERMFAIL, "550 5.1.1 no")])
            r.wait_log(f"event=dsn_suppressed qid={msgid}")
            r.wait_spool_empty()
        r.assert_silent(r.dkim)
        self.assertNotIn("event=dsn ", r.log())

    def test_no_dsn_for_a_dsn_and_fallback_signing_domain(self):
        """A DSN to a remote sender: signed with the next candidate domain
        after SIGN_NO_KEY, relayed from <>; its own 5xx makes no DSN."""
        r = self.rig
        st, msgid = r.submit(BODY, ["bob@remote.test"], sender="someone@far.test")
        r.answer_lookup({"bob@remote.test": RESOLVE_NOT_LOCAL})
        req, *_ = r.relay_request()
        r.relay_answer(req, [(DELIVERY_PERMFAIL, "550 5.1.1 no")])
        req, domain, _ = r.sign_ask()
        self.assertEqual(domain, "mx.example.test")     # sender's domain is not ours
        r.sign_answer(req, SIGN_NO_KEY)
        req, domain, _ = r.sign_ask()
        self.assertEqual(domain, "example.test")        # parent of the hostname
        r.sign_answer(req, SIGN_OK, FAKE_SIGNATURE)
        r.answer_lookup({"someone@far.test": RESOLVE_NOT_LOCAL})
        req, dsn_id, sender, rcpts, body = r.relay_request()
        self.assertEqual((sender, rcpts), ("", ["someone@far.test"]))
        self.assertTrue(body.startswith(FAKE_SIGNATURE.encode()))
        r.relay_answer(req, [(DELIVERY_PERMFAIL, "550 5.1.1 no such user")])
        r.wait_log(f"event=bounce qid={dsn_id} to=<someone@far.test>")
        r.wait_spool_empty()
        r.assert_silent(r.dkim)
        self.assertEqual(r.count("event=dsn "), 1)
        self.assertIn("event=sign_nokey", r.log())

    def test_port25_mail_is_never_relayed_nor_bounced(self):
        r = self.rig
        st, msgid = r.submit(BODY, ["bob@remote.test", "gone@example.test"],
                             link=r.smtpd, source=SOURCE_SMTP)
        self.assertEqual(st, QUEUE_OK)
        r.answer_lookup({"bob@remote.test": RESOLVE_NOT_LOCAL,
                         "gone@example.test": RESOLVE_UNKNOWN_USER})
        r.wait_log(f"event=bounce qid={msgid} to=<bob@remote.test> attempts=1 "
                   "reason=\"not a local recipient (port 25 mail is never relayed)\"")
        r.wait_log(f"event=bounce qid={msgid} to=<gone@example.test>")
        r.wait_spool_empty()
        r.assert_silent(r.relay)
        r.assert_silent(r.dkim, 0.3)
        self.assertNotIn("event=dsn", r.log())

    def test_smtpd_can_not_claim_submission(self):
        r = self.rig
        st, _ = r.submit(BODY, ["bob@remote.test"], link=r.smtpd, source=SOURCE_SUBMISSION)
        self.assertEqual(st, QUEUE_REJECT)
        st, _ = r.submit(BODY, ["bob@remote.test"], link=r.sub, source=SOURCE_SMTP)
        self.assertEqual(st, QUEUE_REJECT)
        self.assertEqual(r.count("source does not match the link"), 2)
        r.wait_spool_empty()


class Retries(DsnTest):
    def test_4xx_is_retried_then_delivered(self):
        r = self.rig
        st, msgid = r.submit(BODY, ["bob@remote.test"])
        r.answer_lookup({"bob@remote.test": RESOLVE_NOT_LOCAL})
        req, *_ = r.relay_request()
        t0 = time.time()            # before the deferral: a slow test can not shrink it
        r.relay_answer(req, [(DELIVERY_TEMPFAIL, "451 4.7.1 greylisted, try later")])
        r.wait_log(f"event=deferred qid={msgid} to=<bob@remote.test> attempts=1")
        r.wait_for(lambda: "attempts 1\n" in r.envelopes().get(msgid, ""),
                   what="attempts 1 in the envelope")
        self.assertIn("attempts 1\n", r.envelopes()[msgid])
        r.answer_lookup({"bob@remote.test": RESOLVE_NOT_LOCAL})   # the retry
        self.assertGreater(time.time() - t0, 0.5)                # retry_min later
        req, *_ = r.relay_request()
        r.relay_answer(req, [(DELIVERY_TEMPFAIL, "421 4.3.2 busy")])
        r.wait_log(f"event=deferred qid={msgid} to=<bob@remote.test> attempts=2")
        r.answer_lookup({"bob@remote.test": RESOLVE_NOT_LOCAL})
        req, *_ = r.relay_request()
        r.relay_answer(req, [(DELIVERY_OK, "250 2.0.0 ok")])
        r.wait_log(f"event=delivered qid={msgid} to=<bob@remote.test>")
        r.wait_spool_empty()
        self.assertNotIn("event=dsn", r.log())

    def test_expiry_gives_dsn(self):
        r = self.rig
        r.queue.kill()
        r.delivery.kill()
        msgid = "00000001aaaabbbb"
        r.write_expired(msgid, "bob@remote.test")
        r.start_queue()
        r.start_delivery()
        r.answer_lookup({"bob@remote.test": RESOLVE_NOT_LOCAL})
        req, *_ = r.relay_request()
        r.relay_answer(req, [(DELIVERY_TEMPFAIL, "mx.remote.test: 451 4.4.1 no answer")])
        r.wait_log(f"event=expired qid={msgid} to=<bob@remote.test>")
        r.wait_log(f"event=dsn qid={msgid}")
        unsigned, _ = self.deliver_signed_dsn()
        msg, parts = parse_dsn(unsigned)
        blk = status_blocks(parts[1])[1]
        self.assertEqual(blk["Action"], "failed")
        self.assertEqual(blk["Status"], "4.4.7")     # a server answered: only time ran out
        self.assertEqual(blk["Diagnostic-Code"], "smtp; 451 4.4.1 no answer")
        self.assertEqual(blk["Remote-MTA"], "dns; mx.remote.test")
        self.assertIn("gave up", parts[0].get_content())
        r.wait_spool_empty()

    def test_relay_diagnosis_names_no_server(self):
        """What the relay found out itself ("5.1.10 ...": no server
        answered) gives no Remote-MTA and no smtp diagnostic."""
        r = self.rig
        st, msgid = r.submit(BODY, ["x@nullmx.test"])
        r.answer_lookup({"x@nullmx.test": RESOLVE_NOT_LOCAL})
        req, *_ = r.relay_request()
        r.relay_answer(req, [(DELIVERY_PERMFAIL,
                              "5.1.10 nullmx.test does not accept mail (null MX, RFC 7505)")])
        r.wait_log(f"event=dsn qid={msgid}")
        unsigned, _ = self.deliver_signed_dsn()
        msg, parts = parse_dsn(unsigned)
        blk = status_blocks(parts[1])[1]
        self.assertEqual(blk["Status"], "5.1.10")
        self.assertNotIn("Remote-MTA", blk)
        self.assertEqual(blk["Diagnostic-Code"],
                         "X-Homemx; nullmx.test does not accept mail (null MX, RFC 7505)")
        self.assertNotIn("receiving mail server", parts[0].get_content())
        r.wait_spool_empty()

    def test_relay_missing_then_back(self):
        r = self.rig
        r.relay.close()
        r.relay = None
        r.wait_log("event=link_down peer=relay")
        st, msgid = r.submit(BODY, ["bob@remote.test"])
        r.answer_lookup({"bob@remote.test": RESOLVE_NOT_LOCAL})
        r.wait_log(f"event=deferred qid={msgid} to=<bob@remote.test> attempts=1 "
                   "reason=\"relay unavailable\"")
        self.assertIn("attempts 0\n", r.envelopes()[msgid])      # short retry, no backoff
        r.connect_relay()
        r.answer_lookup({"bob@remote.test": RESOLVE_NOT_LOCAL})
        req, *_ = r.relay_request()
        r.relay_answer(req, [(DELIVERY_OK, "250 ok")])
        r.wait_spool_empty()

    def test_relay_dies_mid_request_and_lying_relay_is_dropped(self):
        r = self.rig
        st, msgid = r.submit(BODY, ["bob@remote.test"])
        r.answer_lookup({"bob@remote.test": RESOLVE_NOT_LOCAL})
        r.relay_request()
        r.relay.close()                                          # crash with it in flight
        r.wait_log("event=link_down peer=relay inflight=1")
        r.wait_log(f"event=deferred qid={msgid} to=<bob@remote.test>")
        r.connect_relay()
        r.answer_lookup({"bob@remote.test": RESOLVE_NOT_LOCAL})
        req, *_ = r.relay_request()
        # Two results for one recipient: rejected, link closed, deferred.
        r.relay_answer(req, [(DELIVERY_OK, "250 ok"), (DELIVERY_OK, "250 ok")])
        r.wait_log("event=ipc_reject peer=relay")
        self.assertTrue(r.relay.is_closed())
        self.assertNotIn(f"event=delivered qid={msgid}", r.log())
        self.assertIn(msgid + ".env", r.spool_files())


def family_pins(payload):
    """MSG_QUEUE_FAMILY_MEMORY payload -> [(name, until)]."""
    n = struct.unpack(">H", payload[:2])[0]
    off, out = 2, []
    for _ in range(n):
        name, off = parse_str(payload, off)
        out.append((name, struct.unpack(">Q", payload[off:off + 8])[0]))
        off += 8
    assert off == len(payload), "trailing bytes"
    return out


class FamilyMemory(DsnTest):
    """The relay's remembered IPv6->IPv4 fallbacks, kept by the queue in
    spool_dir/state/family and handed to every new relay link."""
    rig_args = {"extra_conf": "family_fallback_memory 1d\n"}

    def learned(self, name, until):
        self.rig.relay.send("MSG_RELAY_FAMILY_LEARNED",
                            s(name) + struct.pack(">Q", until))

    def state_file(self):
        try:
            with open(os.path.join(self.rig.spool, "state", "family")) as f:
                return f.read()
        except FileNotFoundError:
            return None

    def memory_frame(self, timeout=10):
        name, _, p, _ = self.rig.relay.recv(timeout)
        self.assertEqual(name, "MSG_QUEUE_FAMILY_MEMORY")
        return family_pins(p)

    def test_kept_on_disk_and_handed_to_every_new_relay(self):
        r = self.rig
        now = int(time.time())
        self.learned("mx.strict.test", now + 3600)
        self.learned("strict.test", now + 3600)
        r.wait_log("event=family_learned name=strict.test")
        r.wait_log("event=family_written pins=2")   # the second may wait up to 1 s
        self.assertEqual(self.state_file(),
                         f"homemx-family 1\nipv4 mx.strict.test {now + 3600}\n"
                         f"ipv4 strict.test {now + 3600}\nend\n")
        self.assertEqual(os.listdir(os.path.join(r.spool, "state")), ["family"])
        # a relay restart: the new link gets the memory at once
        r.relay.close()
        r.wait_log("event=link_down peer=relay")
        r.connect_relay()
        self.assertEqual(self.memory_frame(), [("mx.strict.test", now + 3600),
                                               ("strict.test", now + 3600)])
        # a queue crash: read back from the file
        r.queue.kill()
        r.delivery.kill()
        r.start_queue()
        r.start_delivery()
        self.assertIn("event=family_loaded pins=2", r.log())
        self.assertEqual(len(self.memory_frame()), 2)

    def test_until_is_checked_against_clock_and_config(self):
        r = self.rig
        now = int(time.time())
        self.learned("old.test", now - 10)               # already over
        r.wait_log('event=family_ignored name=old.test')
        self.learned("far.test", now + 365 * 86400)      # beyond family_fallback_memory
        r.wait_log("event=family_written pins=1")
        until = int(re.search(r"ipv4 far\.test (\d+)", self.state_file()).group(1))
        self.assertTrue(now + 86400 <= until <= int(time.time()) + 86400, until)
        self.assertFalse(r.relay.is_closed(0.3))         # harmless: the link stays

    def test_bad_frame_drops_the_relay_and_leaves_the_file_alone(self):
        r = self.rig
        now = int(time.time())
        self.learned("good.test", now + 600)
        r.wait_log("event=family_written pins=1")
        before = self.state_file()
        for i, (name, until) in enumerate((("Bad.Test", now + 600),
                                           ("../../etc/passwd", now + 600), ("x.test", 0))):
            self.learned(name, until)
            r.wait_log("event=ipc_reject peer=relay type=MSG_RELAY_FAMILY_LEARNED", n=i + 1)
            self.assertTrue(r.relay.is_closed())
            r.relay.close()
            r.connect_relay()          # the supervisor would restart the relay
            self.assertEqual(self.memory_frame(), [("good.test", now + 600)])
        self.assertEqual(self.state_file(), before)
        self.assertEqual(r.count("event=family_learned"), 1)


class SigningUnavailable(DsnTest):
    rig_args = {"dkimsign": False}

    def test_dsn_stays_queued_unsigned_until_signed(self):
        r = self.rig
        st, msgid = r.submit(BODY, ["bob@remote.test"])
        r.answer_lookup({"bob@remote.test": RESOLVE_NOT_LOCAL})
        req, *_ = r.relay_request()
        r.relay_answer(req, [(DELIVERY_PERMFAIL, "550 5.1.1 unknown")])
        r.wait_log(f"event=dsn qid={msgid}")
        dsn = r.dsn_qid(msgid)
        r.wait_log(f"event=sign_deferred qid={dsn}")
        envs = r.envelopes()
        self.assertEqual(list(envs), [dsn])                     # original gone, DSN kept
        self.assertTrue(envs[dsn].startswith("homemx-envelope 3\n"))
        self.assertIn("hold dkim\n", envs[dsn])
        self.assertIn("sender <>\n", envs[dsn])
        self.assertIn("source local\n", envs[dsn])
        r.assert_silent(r.lookup, 2.5)                          # never delivered unsigned
        # A queue restart keeps it held.
        r.queue.kill()
        r.delivery.kill()
        r.start_queue(relay=True, dkimsign=False)
        r.start_delivery()
        r.wait_log("event=spool_loaded messages=1")
        r.assert_silent(r.lookup, 1.5)
        self.assertEqual(r.messages("kim@example.test"), [])
        # dkimsign appears: asked at once; a failure is retried later.
        r.connect_dkimsign()
        req, domain, unsigned = r.sign_ask()
        before = r.count(f"event=sign_deferred qid={dsn}")
        r.sign_answer(req, SIGN_FAILED)
        r.wait_log(f"event=sign_deferred qid={dsn}", start_count=before)
        self.assertIn("reason=\"dkimsign failed\"", r.log())
        self.assertIn("hold dkim\n", r.envelopes()[dsn])
        # A signature that is not clean header lines: refused, link dropped.
        req, *_ = r.sign_ask()
        r.sign_answer(req, SIGN_OK, "DKIM-Signature: a\nBcc: x@y\n")
        r.wait_log("event=ipc_reject peer=dkimsign")
        self.assertTrue(r.dkim.is_closed())
        r.connect_dkimsign()
        _, delivered = self.deliver_signed_dsn()
        self.assertIn(b"\r\nDelivered-To: kim@example.test\r\n" + FAKE_SIGNATURE.encode(),
                      delivered)
        self.assertNotIn(b"Bcc: x@y", delivered)
        r.wait_log(f"event=dsn_signed qid={dsn}")
        r.wait_spool_empty()


@unittest.skipUnless(NETNS_OK, NETNS_WHY)
@unittest.skipUnless(HAVE_RELAY, "homemx-relay not built")
class RealRelay(DsnTest):
    """queue + delivery + the real relay; remote.test and far.test have
    their MX on one receiver in a namespace; dkimsign is still a fake."""

    @classmethod
    def setUpClass(cls):
        topo = cls.topo = Topology()
        try:
            host = topo.add_host("mx")
            dead = topo.add_host("dead")        # no SMTP server: refused
            topo.start()
            dns = cls.dns = Unbound(topo)
            for d in ("remote.test", "far.test"):
                dns.add(d, "MX", "10 mx.remote.test.")
            dns.add_host_records("mx.remote.test", host)
            dns.add("nullmx.test", "MX", "0 .")
            dns.add("down.test", "MX", "10 mx.down.test.")
            dns.add_host_records("mx.down.test", dead)
            dns.start()
            cls.rx = SmtpReceiver(host, name="mx.remote.test").start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "rx", None) is not None:
            cls.rx.stop()
        if getattr(cls, "dns", None) is not None:
            cls.dns.stop()
        cls.topo.stop()

    def setUp(self):
        self.rx.reset()
        self.rx.up()
        self.rig = DsnRig(extra_conf=f"dns_server {self.dns.address}\n", relay=False)
        self.rig.start_real_relay(self.topo.mta)

    def test_remote_5xx_gives_dsn_with_the_remote_reply(self):
        r, rx = self.rig, self.rx
        rx.rule("RCPT", "550 5.1.1 <bob@remote.test>: Recipient address rejected: "
                        "User unknown", match="bob@")
        st, msgid = r.submit(BODY, ["bob@remote.test", "carl@remote.test"])
        r.answer_lookup({"bob@remote.test": RESOLVE_NOT_LOCAL,
                         "carl@remote.test": RESOLVE_NOT_LOCAL})
        (m,) = rx.wait_messages(1)
        self.assertEqual((m.mail_from, m.rcpts), ("kim@example.test", ["carl@remote.test"]))
        self.assertEqual(m.data, BODY)
        self.assertEqual(len(rx.connections), 1)        # one transaction per domain
        r.wait_log(f"event=dsn qid={msgid}")
        unsigned, _ = self.deliver_signed_dsn()
        msg, parts = parse_dsn(unsigned)
        blocks = status_blocks(parts[1])
        self.assertEqual([b["Final-Recipient"] for b in blocks[1:]], ["rfc822; bob@remote.test"])
        self.assertEqual(blocks[1]["Status"], "5.1.1")
        self.assertIn("550 5.1.1 <bob@remote.test>: Recipient address rejected: User unknown",
                      blocks[1]["Diagnostic-Code"])
        self.assertTrue(blocks[1]["Diagnostic-Code"].startswith("smtp; "))
        self.assertIn("Recipient address rejected", parts[0].get_content())
        r.wait_spool_empty()

    def test_4xx_retried_then_delivered(self):
        r, rx = self.rig, self.rx
        rx.rule("RCPT", "451 4.7.1 greylisted, come back later", times=1)
        st, msgid = r.submit(BODY, ["dave@remote.test"])
        r.answer_lookup({"dave@remote.test": RESOLVE_NOT_LOCAL})
        r.wait_log(f"event=deferred qid={msgid} to=<dave@remote.test> attempts=1")
        r.answer_lookup({"dave@remote.test": RESOLVE_NOT_LOCAL})      # the retry
        (m,) = rx.wait_messages(1)
        self.assertEqual(m.rcpts, ["dave@remote.test"])
        r.wait_log(f"event=delivered qid={msgid} to=<dave@remote.test>")
        r.wait_spool_empty()
        self.assertNotIn("event=dsn", r.log())

    def test_null_mx_dsn_names_no_server(self):
        """RFC 7505: bounced at once, Status 5.1.10, and no claim that a
        server answered (RFC 3464 2.3.5, 2.3.6)."""
        r = self.rig
        st, msgid = r.submit(BODY, ["x@nullmx.test"])
        r.answer_lookup({"x@nullmx.test": RESOLVE_NOT_LOCAL})
        r.wait_log(f"event=bounce qid={msgid} to=<x@nullmx.test>", timeout=20)
        r.wait_log(f"event=dsn qid={msgid}", timeout=20)
        unsigned, _ = self.deliver_signed_dsn()
        msg, parts = parse_dsn(unsigned)
        blk = status_blocks(parts[1])[1]
        self.assertEqual(blk["Final-Recipient"], "rfc822; x@nullmx.test")
        self.assertEqual(blk["Status"], "5.1.10")
        self.assertNotIn("Remote-MTA", blk)
        self.assertEqual(blk["Diagnostic-Code"],
                         "X-Homemx; nullmx.test does not accept mail (null MX, RFC 7505)")
        human = parts[0].get_content()
        self.assertNotIn("receiving mail server", human)
        self.assertIn("The mail system could not deliver it", human)
        self.assertNotIn(b"smtp;", unsigned)
        r.wait_spool_empty()

    def test_unreachable_mx_dsn_names_no_server(self):
        """Every address of the MX refuses the connection until the message
        expires: Status 4.4.1 (no answer from host), no Remote-MTA."""
        r = self.rig
        r.queue.kill()
        r.delivery.kill()
        msgid = "00000001ccccdddd"
        r.write_expired(msgid, "y@down.test")
        r.start_queue(relay=False)
        r.start_delivery()
        r.relink_real_relay()
        r.answer_lookup({"y@down.test": RESOLVE_NOT_LOCAL})
        r.wait_log(f"event=expired qid={msgid} to=<y@down.test>", timeout=30)
        r.wait_log(f"event=dsn qid={msgid}")
        unsigned, _ = self.deliver_signed_dsn()
        msg, parts = parse_dsn(unsigned)
        blk = status_blocks(parts[1])[1]
        self.assertEqual(blk["Status"], "4.4.1")
        self.assertNotIn("Remote-MTA", blk)
        self.assertRegex(blk["Diagnostic-Code"],
                         r"^X-Homemx; connect to mx\.down\.test\[[0-9a-f.:]+\]: "
                         r"Connection refused$")
        self.assertIn("gave up", parts[0].get_content())
        self.assertNotIn(b"smtp;", unsigned)
        # the relay tried both addresses and said so, one line each
        self.assertEqual(len(re.findall(r"event=relay_attempt qid=\S+ mx=mx\.down\.test "
                                        r".* outcome=refused stage=connect", r.log())), 2)
        r.wait_spool_empty()

    def test_dsn_to_remote_sender_goes_out_from_null_sender_signed(self):
        r, rx = self.rig, self.rx
        rx.rule("RCPT", "550 5.7.1 go away", match="bob@")
        st, msgid = r.submit(BODY, ["bob@remote.test"], sender="someone@far.test")
        r.answer_lookup({"bob@remote.test": RESOLVE_NOT_LOCAL})
        req, domain, unsigned = r.sign_ask()
        r.sign_answer(req, SIGN_OK, FAKE_SIGNATURE)
        r.answer_lookup({"someone@far.test": RESOLVE_NOT_LOCAL})
        (m,) = rx.wait_messages(1)
        self.assertEqual((m.mail_from, m.rcpts), ("", ["someone@far.test"]))
        self.assertEqual(m.data, FAKE_SIGNATURE.encode() + unsigned)
        msg, parts = parse_dsn(m.data)
        self.assertEqual(status_blocks(parts[1])[1]["Status"], "5.7.1")
        r.wait_spool_empty()


@unittest.skipUnless(HAVE_DKIMSIGN, "homemx-dkimsign not built")
@unittest.skipUnless(dkim is not None, "python3-dkim not installed")
@unittest.skipUnless(shutil.which("openssl"), "openssl not installed")
class RealDkimsign(DsnTest):
    rig_args = {"dkimsign": False}

    def test_dsn_signed_by_dkimsign_verifies_with_dkimpy(self):
        r = self.rig
        records = r.start_real_dkimsign()
        st, msgid = r.submit(BODY, ["bob@remote.test"])
        r.answer_lookup({"bob@remote.test": RESOLVE_NOT_LOCAL})
        req, *_ = r.relay_request()
        r.relay_answer(req, [(DELIVERY_PERMFAIL, "mx.remote.test[192.0.2.1]: 550 5.1.1 "
                                                 "unknown X-Evil: 1")])
        r.wait_log(f"event=dsn qid={msgid}")
        r.wait_log("event=dsn_signed")
        r.answer_lookup({"kim@example.test": (RESOLVE_LOCAL, ["kim@example.test"])})
        r.wait_for(lambda: r.messages("kim@example.test"), what="the DSN in kim's Maildir")
        (delivered,) = r.messages("kim@example.test")
        # Return-Path and Delivered-To come after signing, on top.
        signed = delivered.split(b"\r\n", 2)[2]
        head = signed.split(b"\r\n\r\n", 1)[0]
        sigs = re.findall(rb"(?im)^DKIM-Signature:.*?\ba=([a-z0-9-]+)", head)
        self.assertEqual(sorted(sigs), [b"ed25519-sha256", b"rsa-sha256"])
        self.assertIn(b"d=example.test", head)

        def dnsfunc(name, timeout=5):
            key = (name.decode() if isinstance(name, bytes) else name).rstrip(".")
            value = records.get(key)
            return value.encode() if value is not None else None

        for i in range(2):
            self.assertTrue(dkim.DKIM(signed).verify(idx=i, dnsfunc=dnsfunc),
                            f"signature {i} does not verify")
        msg, parts = parse_dsn(signed)
        self.assertEqual(status_blocks(parts[1])[1]["Status"], "5.1.1")
        r.wait_spool_empty()


@unittest.skipUnless(NETNS_OK, NETNS_WHY)
@unittest.skipIf(FULL_MISSING, f"not built: {FULL_MISSING}")
@unittest.skipUnless(dkim is not None, "python3-dkim not installed")
class FullDaemon(unittest.TestCase):
    """homemxd with every role, in the mta namespace of a topology."""

    @classmethod
    def setUpClass(cls):
        import ssl
        import tempfile
        cls.topo = topo = Topology()
        cls.h = cls.dns = cls.rx = None
        try:
            host = topo.add_host("mx")
            topo.start()
            dns = cls.dns = Unbound(topo)
            dns.add("remote.test", "MX", "10 mx.remote.test.")
            dns.add_host_records("mx.remote.test", host)
            dns.start()
            cls.rx = SmtpReceiver(host, name="mx.remote.test").start()
            d = cls.certdir = tempfile.mkdtemp(prefix="hmx-dsn-cert-")
            cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", key, "-out", cert, "-days", "2", "-subj",
                            "/CN=mx.example.test"], check=True, capture_output=True)
            cls.sub_port = harness.free_port()
            cls.h = NetnsHomemx(topo, dns, extra_conf="\n".join([
                f"listen submission 127.0.0.1:{cls.sub_port}",
                f"tls_certificate {cert}", f"tls_key {key}",
                "retry_min 1s", "retry_max 2s"]))
            cls.h.start()
            cls.h.mxctl("dkim", "keygen", "example.test")
            cls.records = txt_records(cls.h.mxctl("dkim", "show", "example.test").stdout)
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
        shutil.rmtree(getattr(cls, "certdir", "/nonexistent"), ignore_errors=True)

    def submit(self, rcpts, data):
        c = self.h.smtp(self.sub_port)
        try:
            c.ehlo("client.example")
            c.starttls(context=self.ctx)
            c.ehlo("client.example")
            c.login("kim@example.test", "secret")
            self.assertEqual(c.sendmail("kim@example.test", rcpts, data), {})
        finally:
            c.quit()

    def test_remote_5xx_gives_signed_dsn_that_dkimpy_verifies(self):
        self.rx.rule("RCPT", "550 5.1.1 <bob@remote.test>: no such user here", match="bob@")
        before = len(self.h.messages("kim@example.test"))
        self.submit(["bob@remote.test", "carl@remote.test"], BODY)
        (m,) = self.rx.wait_messages(1, timeout=30)
        self.assertEqual(m.rcpts, ["carl@remote.test"])
        raw = self.h.wait_messages("kim@example.test", before + 1, timeout=30)[-1]
        self.assertTrue(raw.startswith(b"Return-Path: <>\r\n"), raw[:200])
        signed = raw.split(b"\r\n", 2)[2]       # Return-Path, Delivered-To: added later

        def dnsfunc(name, timeout=5):
            key = (name.decode() if isinstance(name, bytes) else name).rstrip(".")
            value = self.records.get(key)
            return value.encode() if value is not None else None

        n = len(re.findall(rb"(?im)^DKIM-Signature:", signed.split(b"\r\n\r\n", 1)[0]))
        self.assertEqual(n, 2)
        for i in range(n):
            self.assertTrue(dkim.DKIM(signed).verify(idx=i, dnsfunc=dnsfunc),
                            f"DKIM signature {i} of the DSN does not verify")
        msg, parts = parse_dsn(signed)
        self.assertEqual(msg["Subject"], f"Undelivered Mail Returned to Sender: {SUBJECT}")
        self.assertEqual(parts[0].get_content_charset(), "utf-8")
        blocks = status_blocks(parts[1])
        self.assertEqual([b["Final-Recipient"] for b in blocks[1:]], ["rfc822; bob@remote.test"])
        self.assertEqual(blocks[1]["Status"], "5.1.1")
        self.assertEqual(blocks[1]["Diagnostic-Code"],
                         "smtp; 550 5.1.1 <bob@remote.test>: no such user here")
        log = self.h.log()
        self.assertRegex(log, r"event=dsn qid=[0-9a-f]{16} dsn_qid=[0-9a-f]{16} "
                              r"to=<kim@example.test> nrcpt=1")
        self.assertIn("event=dsn_signed", log)


if __name__ == "__main__":
    unittest.main()
