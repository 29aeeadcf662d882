"""tests/e2e/test_smtpd.py - inbound ESMTP (port 25) end to end.

Owns: the proof that the real daemon (homemxd + smtpd + lookup + queue +
delivery) does what README.md's "Decisions on the wire" promises, driven
with raw sockets, Python smtplib and swaks: the neutral banner and EHLO
keywords, recipient validation at RCPT time (subaddresses, unknown users,
relay denial), the nmap open-relay patterns, every SMTP smuggling variant,
STARTTLS and its injection attack, pipelining of a whole transaction in one
write, the limits and timeouts, the Received: header, the log lines, the
privilege separation of smtpd and the drain on SIGTERM.

Each class runs one daemon instance (tests/e2e/harness.py). Failure paths
that need a misbehaving lookup or queue are in test_smtpd_standalone.py.
"""

import os
import re
import resource
import selectors
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
import time
import unittest
import warnings

from harness import BUILD, WAIT, Homemx, SMTPClient

HAVE_MXCTL = os.path.exists(os.path.join(BUILD, "mxctl"))
NEED_MXCTL = "mxctl is not built yet: cannot provision users"
USERS = [("kim@example.test", "secret"), ("ann-marie@example.test", "secret2")]
ALIASES = [("postmaster@example.test", "kim@example.test")]

BODY = (b"From: Alice <alice@client.example>\r\nTo: kim@example.test\r\n"
        b"Subject: e2e\r\n\r\nfirst line\r\n.a line that starts with a dot\r\n"
        b"\xc3\xa4 8-bit stays\r\nlast line\r\n")


def stuff(body):
    """Dot-stuffing as a client does it (RFC 5321 4.5.2)."""
    return re.sub(rb"(?m)^\.", b"..", body)


class InstanceCase(unittest.TestCase):
    """One homemx instance per class."""
    extra_conf = "max_errors 1000"
    greeting_delay = "0s"
    users = USERS
    aliases = ALIASES

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(os.path.join(BUILD, "homemxd")):
            raise unittest.SkipTest("homemxd not built")
        if cls.users and not HAVE_MXCTL:
            raise unittest.SkipTest(NEED_MXCTL)
        cls.before_start()
        cls.h = Homemx(extra_conf=cls.extra_conf, users=cls.users,
                       aliases=cls.aliases if cls.users else (),
                       greeting_delay=cls.greeting_delay)
        try:
            cls.h.start()
        except BaseException:
            cls.h.stop(check_sanitizers=False)   # no orphan daemon if provisioning fails
            cls.h.cleanup()
            raise

    @classmethod
    def before_start(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.h.cleanup()

    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        if self.clients:      # smtpd saw the closes before the next test counts
            self.h.wait_sessions_ended()

    def client(self, banner=True):
        c = SMTPClient(self.h.smtp_port)
        self.clients.append(c)
        if banner:
            code, text = c.reply()
            self.assertEqual(code, 220, text)
        return c

    def assertReply(self, reply, code, enh=None):
        got, text = reply
        self.assertEqual(got, code, text)
        if enh is not None:
            self.assertTrue(text.startswith(f"{code} {enh} "), f"want {code} {enh}: {text!r}")

    def count(self, address):
        return len(self.h.messages(address))

    def send_raw_message(self, c, rcpt, raw_body, sender="alice@client.example"):
        """EHLO..DATA, then raw_body exactly as given (it must end the data)."""
        self.assertEqual(c.cmd("EHLO client.example")[0], 250)
        self.assertReply(c.cmd(f"MAIL FROM:<{sender}>"), 250)
        self.assertReply(c.cmd(f"RCPT TO:<{rcpt}>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(raw_body)
        return c.reply()


class TestBasics(InstanceCase):
    def test_banner_is_neutral(self):
        c = self.client(banner=False)
        self.assertEqual(c.reply(), (220, "220 mx.example.test ESMTP"))

    def test_ehlo_advertises(self):
        c = self.client()
        code, text = c.cmd("EHLO client.example")
        self.assertEqual(code, 250)
        kws = [l[4:].split()[0] for l in text.split("\n")[1:]]
        self.assertEqual(sorted(kws), ["8BITMIME", "ENHANCEDSTATUSCODES", "PIPELINING", "SIZE",
                                       "SMTPUTF8"])
        self.assertIn("250-SIZE 26214400", text)

    def test_every_error_reply_has_an_enhanced_code(self):
        c = self.client()
        replies = [c.cmd(x) for x in ("FOO", "MAIL FROM:<a@b.test>", "EHLO", "EHLO client.example",
                                      "RCPT TO:<kim@example.test>", "MAIL FROM:<a@b.test> X=Y",
                                      "MAIL FROM:<a@b.test>", "DATA", "RCPT TO:<x@other.test>",
                                      "EXPN x", "VRFY kim", "NOOP", "RSET", "QUIT")]
        for code, text in replies:
            if text.startswith("250-mx.example.test"):
                continue   # the EHLO keyword lines carry none (RFC 2034)
            self.assertRegex(text, rf"^{code} [245]\.\d{{1,3}}\.\d{{1,3}} ", text)

    def test_smtplib_delivery(self):
        before = self.count("kim@example.test")
        with smtplib.SMTP("127.0.0.1", self.h.smtp_port, local_hostname="client.example") as s:
            s.ehlo()
            self.assertTrue(s.has_extn("pipelining") and s.has_extn("8bitmime"))
            refused = s.sendmail("alice@client.example", ["kim@example.test"], BODY)
            self.assertEqual(refused, {})
        msg = self.h.wait_messages("kim@example.test", before + 1)[-1]
        # The body is byte-exact: dot-stuffing reversed, 8-bit kept.
        self.assertIn(BODY, msg)
        received = re.search(rb"Received: from client\.example \(\[127\.0\.0\.1\]\)\r\n"
                             rb"\tby mx\.example\.test with ESMTP id ([0-9a-f]{16})\r\n"
                             rb"\tfor <kim@example\.test>; \w{3}, \d\d \w{3} \d{4} "
                             rb"\d\d:\d\d:\d\d \+0000\r\n", msg)
        self.assertIsNotNone(received, msg[:600])
        # smtpd's line reaches the file through homemxd's pipe: wait for it
        self.h.wait_log(f"qid={received.group(1).decode()}")

    def test_swaks_delivery(self):
        before = self.count("kim@example.test")
        p = subprocess.run(["swaks", "--server", f"127.0.0.1:{self.h.smtp_port}",
                            "--helo", "swaks.example", "--from", "bob@client.example",
                            "--to", "kim@example.test", "--header", "Subject: via swaks",
                            "--body", "hello from swaks", "--pipeline"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"<[-~]+\s+250 2\.0\.0 Ok: queued as [0-9a-f]{16}")
        msg = self.h.wait_messages("kim@example.test", before + 1)[-1]
        self.assertIn(b"Subject: via swaks", msg)
        self.assertIn(b"Received: from swaks.example ([127.0.0.1])", msg)

    def test_null_sender(self):
        before = self.count("kim@example.test")
        c = self.client()
        c.cmd("EHLO client.example")
        self.assertReply(c.cmd("MAIL FROM:<>"), 250, "2.1.0")
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 250, "2.1.5")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(b"Subject: bounce\r\n\r\nnull sender\r\n.\r\n")
        self.assertReply(c.reply(), 250, "2.0.0")
        self.h.wait_messages("kim@example.test", before + 1)

    def test_quoted_local_part_sender(self):
        c = self.client()
        c.cmd("EHLO client.example")
        self.assertReply(c.cmd('MAIL FROM:<"john smith"@client.example>'), 250, "2.1.0")
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 250)

    def test_pipelined_transaction_in_one_write(self):
        before = self.count("kim@example.test")
        c = self.client()
        c.send(b"EHLO client.example\r\nMAIL FROM:<alice@client.example>\r\n"
               b"RCPT TO:<kim@example.test>\r\nRCPT TO:<nobody@example.test>\r\n"
               b"DATA\r\nSubject: piped\r\n\r\none write\r\n.\r\nQUIT\r\n")
        codes = [c.reply()[0] for _ in range(7)]
        self.assertEqual(codes, [250, 250, 250, 550, 354, 250, 221])
        msg = self.h.wait_messages("kim@example.test", before + 1)[-1]
        self.assertTrue(msg.endswith(b"Subject: piped\r\n\r\none write\r\n"), msg[-100:])

    def test_sequence_and_syntax(self):
        c = self.client()
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 503, "5.5.1")
        self.assertReply(c.cmd("EHLO client.example"), 250)
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 503, "5.5.1")
        self.assertReply(c.cmd("DATA"), 503, "5.5.1")
        self.assertReply(c.cmd("MAIL FROM:a@client.example"), 501, "5.1.7")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example> SMTPUTF8=yes"), 501, "5.5.4")
        self.assertReply(c.cmd("MAIL FROM:<k\u00e4m@client.example>"), 553, "5.6.7")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 250)
        self.assertReply(c.cmd("RCPT TO:<kim>"), 501, "5.1.3")
        self.assertReply(c.cmd("RCPT TO:<k\u00e4m@example.test>"), 553, "5.6.7")
        self.assertReply(c.cmd("VRFY kim"), 252, "2.5.0")
        self.assertReply(c.cmd("EXPN kim"), 502, "5.5.1")
        self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
        self.assertReply(c.cmd("RSET"), 250, "2.0.0")
        self.assertReply(c.cmd("GET / HTTP/1.0"), 500, "5.5.1")
        self.assertReply(c.cmd("QUIT"), 221, "2.0.0")
        self.assertTrue(c.closed())

    def test_log_lines(self):
        c = self.client()
        c.cmd("EHLO logs.example")
        c.cmd("MAIL FROM:<alice@client.example>")
        c.cmd("RCPT TO:<nobody@example.test>")
        c.cmd("RCPT TO:<kim@example.test>")
        c.cmd("QUIT")
        self.assertTrue(c.closed())     # smtpd logs the session's end before closing
        log = self.h.log()
        sess = re.findall(r"event=helo sess=([0-9a-f]{8}) verb=EHLO helo=logs\.example", log)
        self.assertEqual(len(sess), 1, log[-2000:])
        s = sess[0]
        self.assertRegex(log, rf"event=connect sess={s} ip=127\.0\.0\.1 port=\d+")
        self.assertIn(f"event=rcpt sess={s} from=<alice@client.example> to=<nobody@example.test> "
                      f'verdict=reject reply="550 5.1.1" reason=unknown_user', log)
        self.assertIn(f"event=rcpt sess={s} from=<alice@client.example> to=<kim@example.test> "
                      f'verdict=accept reply="250 2.1.5" reason=local', log)
        self.assertRegex(log, rf"event=disconnect sess={s} ip=127\.0\.0\.1 reason=quit")

    def test_client_text_is_escaped_in_log(self):
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd('MAIL FROM:<"evil\\"\x1b[31m"@client.example>')
        c.cmd("XYZZY \x01\x7f")
        self.h.wait_log("\\x1b")
        log = self.h.log()
        self.assertNotIn("\x1b", log)
        self.assertNotIn("\x01", log)
        self.assertIn("\\x1b", log)


class TestRecipients(InstanceCase):
    def rcpt_codes(self, addrs):
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<alice@client.example>")
        out = []
        for a in addrs:
            out.append(c.cmd(f"RCPT TO:{a}"))
        return out

    def test_local_users_and_subaddresses(self):
        got = self.rcpt_codes(["<kim@example.test>", "<KIM@Example.TEST>", "<kim+news@example.test>",
                               "<kim-news@example.test>", "<ann-marie@example.test>",
                               "<ann-marie+x@example.test>", "<postmaster@example.test>",
                               "<postmaster>", "<Postmaster>"])
        for reply in got:
            self.assertReply(reply, 250, "2.1.5")

    def test_unknown_and_foreign(self):
        got = self.rcpt_codes(["<nobody@example.test>", "<ann@example.test>",
                               "<kim@other.test>", "<kim@sub.example.test>"])
        self.assertReply(got[0], 550, "5.1.1")
        self.assertReply(got[1], 550, "5.1.1")   # "ann" is not "ann-marie"
        self.assertReply(got[2], 554, "5.7.1")
        self.assertReply(got[3], 554, "5.7.1")

    def test_subaddress_delivery_goes_to_user(self):
        before = self.count("kim@example.test")
        with smtplib.SMTP("127.0.0.1", self.h.smtp_port) as s:
            s.sendmail("alice@client.example", ["kim+shop@example.test"], b"Subject: plus\r\n\r\nx\r\n")
            s.sendmail("alice@client.example", ["kim-shop@example.test"], b"Subject: minus\r\n\r\nx\r\n")
        msgs = self.h.wait_messages("kim@example.test", before + 2)
        self.assertTrue(any(b"for <kim+shop@example.test>" in m for m in msgs))
        self.assertTrue(any(b"for <kim-shop@example.test>" in m for m in msgs))

    def test_open_relay_patterns_are_refused(self):
        """nmap smtp-open-relay: every form is refused, nothing is queued."""
        patterns = [
            "<relaytest@other.test>",
            "<relaytest%other.test@example.test>",
            "<relaytest%other.test@[127.0.0.1]>",
            "<\"relaytest@other.test\">",
            "<\"relaytest%other.test\">",
            "<relaytest@other.test@example.test>",
            "<\"relaytest@other.test\"@example.test>",
            "<relaytest@other.test@[127.0.0.1]>",
            "<@example.test:relaytest@other.test>",
            "<@[127.0.0.1]:relaytest@other.test>",
            "<other.test!relaytest>",
            "<other.test!relaytest@example.test>",
            "<example.test!other.test!relaytest>",
            "<relaytest@[127.0.0.1]>",
            "<relaytest@[IPv6:::1]>",
            "<kim@[127.0.0.1]>",
            "<\"kim@other.test\"@example.test>",
        ]
        spool_before = set(self.h.spool_files())
        c = self.client()
        c.cmd("EHLO nmap.scanme.org")
        for sender in ("<antispam@example.test>", "<>", "<antispam@[127.0.0.1]>"):
            c.cmd("RSET")
            self.assertReply(c.cmd(f"MAIL FROM:{sender}"), 250)
            for p in patterns:
                code, text = c.cmd(f"RCPT TO:{p}")
                self.assertIn(code, (501, 550, 553, 554), f"{p}: {text}")
            self.assertReply(c.cmd("DATA"), 554, "5.5.1")
        self.assertEqual(set(self.h.spool_files()) - spool_before, set())
        self.assertNotIn("event=queued", self.h.log().split("nmap.scanme.org")[-1])


class TestHostileData(InstanceCase):
    extra_conf = "max_errors 1000\nmax_message_size 64K"

    SMUGGLING = [
        ("LF.LF", b"a\n.\nMAIL FROM:<evil@evil.test>\nRCPT TO:<kim@example.test>\nDATA\nevil\n.\n"),
        ("CRLF.LF", b"a\r\n.\nMAIL FROM:<evil@evil.test>\r\n"),
        ("LF.CRLF", b"a\n.\r\nMAIL FROM:<evil@evil.test>\r\n"),
        ("CR.CR", b"a\r.\rMAIL FROM:<evil@evil.test>\r\n"),
        ("CRLF.CR", b"a\r\n.\rMAIL FROM:<evil@evil.test>\r\n"),
        ("CR.CRLF", b"a\r.\r\nMAIL FROM:<evil@evil.test>\r\n"),
        ("CR.LF", b"a\r.\nMAIL FROM:<evil@evil.test>\r\n"),
        ("CRLF NUL.CRLF", b"a\r\n\x00.\r\nMAIL FROM:<evil@evil.test>\r\n"),
        ("CRLF.NUL CRLF", b"a\r\n.\x00\r\nMAIL FROM:<evil@evil.test>\r\n"),
        ("bare LF line", b"a\nb\r\n"),
        ("bare CR line", b"a\rb\r\n"),
    ]

    def test_smuggling_variants(self):
        """End of data is CRLF.CRLF only; every variant is data, and a message
        holding bare CR/LF or NUL is refused with 554 5.6.0 (our documented
        choice). The session goes on and nothing smuggled is delivered."""
        # an earlier test's message to kim may still be on its way: count
        # from a quiet queue, or it lands after `before` and looks smuggled
        self.h.wait_queue_empty()
        before = self.count("kim@example.test")
        c = self.client()
        for name, payload in self.SMUGGLING:
            with self.subTest(variant=name):
                code, text = self.send_raw_message(
                    c, "kim@example.test", b"Subject: smuggle " + name.encode() + b"\r\n\r\n" +
                    payload + b"\r\n.\r\n")
                self.assertEqual(code, 554, f"{name}: {text}")
                self.assertTrue(text.startswith("554 5.6.0 "), text)
                self.assertReply(c.cmd("NOOP"), 250)
                c.cmd("RSET")
        self.assertReply(self.send_raw_message(c, "kim@example.test", b"Subject: clean\r\n\r\nok\r\n.\r\n"),
                         250, "2.0.0")
        msgs = self.h.wait_messages("kim@example.test", before + 1)
        self.h.wait_queue_empty()       # nothing else accepted is still on its way
        msgs = self.h.messages("kim@example.test")
        self.assertEqual(len(msgs), before + 1)
        self.assertNotIn(b"evil", msgs[-1])
        self.assertNotIn("from=<evil@evil.test>", self.h.log())

    def test_line_limit(self):
        c = self.client()
        ok = self.send_raw_message(c, "kim@example.test", b"x" * 998 + b"\r\n.\r\n")
        self.assertReply(ok, 250)
        c.cmd("RSET")
        bad = self.send_raw_message(c, "kim@example.test", b"x" * 999 + b"\r\n.\r\n")
        self.assertReply(bad, 554, "5.6.0")
        self.assertReply(c.cmd("NOOP"), 250, "2.0.0")   # the session stays alive

    def test_size_limits(self):
        c = self.client()
        c.cmd("EHLO client.example")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example> SIZE=65537"), 552, "5.3.4")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example> SIZE=999999999999999999999"), 501, "5.5.4")
        c.cmd("RSET")
        big = (b"y" * 99 + b"\r\n") * 700   # 70 KB
        self.assertReply(self.send_raw_message(c, "kim@example.test", big + b".\r\n"), 552, "5.3.4")
        self.assertReply(c.cmd("NOOP"), 250)

    def test_nul_bytes(self):
        c = self.client()
        self.assertReply(c.cmd("NOOP\x00"), 500, "5.5.2")
        self.assertReply(self.send_raw_message(c, "kim@example.test", b"a\x00b\r\n.\r\n"), 554, "5.6.0")

    def test_command_line_limit(self):
        c = self.client()
        self.assertReply(c.cmd("NOOP " + "x" * 505), 250)      # 512 octets with CRLF
        self.assertReply(c.cmd("NOOP " + "x" * 506), 500, "5.5.2")
        self.assertReply(c.cmd("EHLO " + "a" * 5000), 500, "5.5.2")
        self.assertReply(c.cmd("NOOP"), 250)

    def test_too_many_recipients(self):
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        for i in range(100):
            self.assertReply(c.cmd(f"RCPT TO:<kim+{i}@example.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<kim+100@example.test>"), 452, "4.5.3")


class TestLimits(InstanceCase):
    extra_conf = "max_errors 3\ntimeout_command 2s\nmax_connections_per_ip 4"
    users = ()

    def test_too_many_errors(self):
        c = self.client()
        for _ in range(3):
            self.assertReply(c.cmd("HELLO?"), 500, "5.5.1")
        self.assertReply(c.reply(), 421, "4.7.0")
        self.assertTrue(c.closed())

    def test_idle_timeout(self):
        c = self.client()
        t0 = time.time()                # before EHLO restarts the timer: never too short
        c.cmd("EHLO client.example")
        self.assertEqual(c.reply(), (421, "421 4.4.2 mx.example.test Timeout"))
        self.assertGreater(time.time() - t0, 1.5)
        self.assertTrue(c.closed())

    def test_per_ip_connection_limit(self):
        keep = [self.client() for _ in range(4)]
        extra = SMTPClient(self.h.smtp_port)
        self.clients.append(extra)
        self.assertEqual(extra.reply(), (421, "421 4.7.0 Too many connections"))
        self.assertTrue(extra.closed())
        keep[0].cmd("QUIT")
        self.assertTrue(keep[0].closed())   # smtpd closes once the session is gone
        again = self.client()
        self.assertReply(again.cmd("NOOP"), 250)

    def test_slow_client_does_not_block_others(self):
        slow = self.client()
        slow.send(b"EHLO half.example\r\nMAIL FROM:<a@cli")   # and then nothing
        fast = self.client()
        self.assertReply(fast.cmd("EHLO fast.example"), 250)
        self.assertReply(fast.cmd("MAIL FROM:<a@client.example>"), 250)
        self.assertReply(fast.cmd("RCPT TO:<x@other.test>"), 554, "5.7.1")


class TestEarlyTalker(InstanceCase):
    """Talking before the greeting is weighed by the screen (early_talker,
    10 = reject_score by default) and refused at RCPT, where the log shows
    what the client wanted. Loopback must not be trusted for that, and the
    other checks, whose DNS is off here, must not be able to lower the
    score below the threshold (spf_pass could, as a range)."""
    greeting_delay = "1s"
    extra_conf = ("max_errors 1000\ntrusted_networks none\ndnsbl none\n"
                  "weight spf_pass 0\nweight helo_matches_ptr 0")

    def test_early_talker_is_refused_at_rcpt(self):
        c = self.client(banner=False)
        c.send("EHLO eager.example\r\nMAIL FROM:<a@client.example>\r\n")
        self.assertEqual(c.reply(), (220, "220 mx.example.test ESMTP"))
        self.assertEqual(c.cmd("EHLO eager.example")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<a@client.example>")[0], 250)
        code, text = c.cmd("RCPT TO:<kim@example.test>")
        self.assertEqual(code, 550, text)
        m = re.match(r"550 5\.7\.1 Refused by local policy, ref=([0-9a-f]+-1)$", text)
        self.assertIsNotNone(m, text)
        self.h.wait_log(rf"event=verdict sess=\w+ ref={m.group(1)} .*verdict=reject "
                        rf'reply="550 5.7.1" .*checks="[^"]*early_talker:\+10', regex=True)

    def test_patient_client_is_greeted(self):
        c = self.client(banner=False)
        t0 = time.time()
        self.assertEqual(c.reply(), (220, "220 mx.example.test ESMTP"))
        self.assertGreater(time.time() - t0, 0.8)


class TestStartTls(InstanceCase):
    @classmethod
    def before_start(cls):
        cls.tlsdir = tempfile_dir()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=mx.example.test", "-keyout", f"{cls.tlsdir}/key.pem",
                        "-out", f"{cls.tlsdir}/cert.pem"], check=True, capture_output=True)
        os.chmod(cls.tlsdir, 0o755)
        cls.extra_conf = (f"max_errors 1000\ntls_certificate {cls.tlsdir}/cert.pem\n"
                          f"tls_key {cls.tlsdir}/key.pem")

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.tlsdir, ignore_errors=True)

    def wrap(self, c):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        c.sock = ctx.wrap_socket(c.sock, server_hostname="mx.example.test")
        c.buf = b""
        return c.sock

    def test_smtplib_starttls_delivery(self):
        before = self.count("kim@example.test")
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", self.h.smtp_port, local_hostname="tls.example") as s:
            s.ehlo()
            self.assertTrue(s.has_extn("starttls"))
            s.starttls(context=ctx)
            s.ehlo()
            self.assertFalse(s.has_extn("starttls"))
            s.sendmail("alice@client.example", ["kim@example.test"], b"Subject: tls\r\n\r\nsecret\r\n")
        msg = self.h.wait_messages("kim@example.test", before + 1)[-1]
        self.assertRegex(msg, rb"\tby mx\.example\.test with ESMTPS \(TLSv1\.[23]:[A-Z0-9_-]+\) id ")
        self.h.wait_log(r"event=tls sess=\w+ version=TLSv1\.[23] cipher=\S+", regex=True)

    def test_swaks_tls(self):
        p = subprocess.run(["swaks", "--server", f"127.0.0.1:{self.h.smtp_port}", "--tls",
                            "--from", "bob@client.example", "--to", "kim@example.test"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("250 2.0.0 Ok: queued as", p.stdout)

    def test_injection_is_discarded(self):
        c = self.client()
        c.cmd("EHLO client.example")
        c.send(b"STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\nRCPT TO:<kim@example.test>\r\n")
        self.assertReply(c.reply(), 220, "2.0.0")
        self.wrap(c)
        code, text = c.cmd("EHLO client.example")
        self.assertTrue(text.startswith("250-mx.example.test"), text)   # not the injected MAIL's 250
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 503, "5.5.1")
        self.assertNotIn("injected@evil.test", self.h.log().replace("tls_discard", ""))

    def test_state_reset_after_tls(self):
        c = self.client()
        c.cmd("EHLO client.example")
        self.assertReply(c.cmd("STARTTLS"), 220)
        self.wrap(c)
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 503, "5.5.1")
        self.assertNotIn("STARTTLS", c.cmd("EHLO client.example")[1])
        self.assertReply(c.cmd("STARTTLS"), 503, "5.5.1")

    def starttls_with(self, version):
        c = self.client()
        c.cmd("EHLO client.example")
        self.assertReply(c.cmd("STARTTLS"), 220)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_ciphers("DEFAULT@SECLEVEL=0")   # let *our* side offer old versions
        ctx.minimum_version = ctx.maximum_version = version
        c.sock = ctx.wrap_socket(c.sock, server_hostname="mx.example.test")
        return c.sock

    def test_tls_minimum_is_1_2(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            old = ssl.TLSVersion.TLSv1_1
        with self.assertRaisesRegex(ssl.SSLError, "PROTOCOL_VERSION"):   # the server's alert
            self.starttls_with(old)
        self.assertEqual(self.starttls_with(ssl.TLSVersion.TLSv1_2).version(), "TLSv1.2")
        # role lines reach the log through homemxd's pipe: wait, do not peek
        self.h.wait_log(r'event=tls_failed sess=\w+ ip=127\.0\.0\.1 error="[^"]*unsupported protocol',
                        regex=True)


class TestTlsCheck(InstanceCase):
    """homemxd loads the TLS pair itself before any role sees it: at start,
    for -n and at every reload. A pair that does not load is refused with
    the path and OpenSSL's reason; the running roles keep the old one."""
    users = ()

    @classmethod
    def before_start(cls):
        cls.tlsdir = tempfile_dir()
        for name in ("good", "other"):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-days", "2", "-subj", "/CN=mx.example.test", "-keyout",
                            f"{cls.tlsdir}/{name}-key.pem", "-out", f"{cls.tlsdir}/{name}-cert.pem"],
                           check=True, capture_output=True)
        with open(f"{cls.tlsdir}/garbage.pem", "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
        os.chmod(cls.tlsdir, 0o755)
        cls.extra_conf = (f"tls_certificate {cls.tlsdir}/good-cert.pem\n"
                          f"tls_key {cls.tlsdir}/good-key.pem")

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.tlsdir, ignore_errors=True)

    def served_certificate(self):
        c = self.client()
        c.cmd("EHLO client.example")
        self.assertReply(c.cmd("STARTTLS"), 220)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        tls = ctx.wrap_socket(c.sock, server_hostname="mx.example.test")
        c.sock = tls
        return tls.getpeercert(binary_form=True)

    def config_with(self, cert, key):
        """The running config with another TLS pair, as a new file."""
        with open(self.h.conf_path) as f:
            text = f.read()
        text = text.replace(f"{self.tlsdir}/good-cert.pem", cert)
        text = text.replace(f"{self.tlsdir}/good-key.pem", key)
        path = os.path.join(self.tlsdir, f"conf-{len(os.listdir(self.tlsdir))}.conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def check(self, conf, *extra):
        return subprocess.run([os.path.join(BUILD, "homemxd"), *extra, "-f", conf],
                              capture_output=True, text=True, timeout=30)

    def test_check_names_the_file_and_the_reason(self):
        d = self.tlsdir
        cases = [
            (self.config_with(f"{d}/good-cert.pem", f"{d}/good-key.pem"), 0, "OK"),
            (self.config_with(f"{d}/missing.pem", f"{d}/good-key.pem"), 1,
             f"tls_certificate {d}/missing.pem: error:"),
            (self.config_with(f"{d}/garbage.pem", f"{d}/good-key.pem"), 1,
             f"tls_certificate {d}/garbage.pem: error:"),
            (self.config_with(f"{d}/good-cert.pem", f"{d}/garbage.pem"), 1,
             f"tls_key {d}/garbage.pem: error:"),
            (self.config_with(f"{d}/good-cert.pem", f"{d}/other-key.pem"), 1,
             f"tls_key {d}/other-key.pem: key does not match certificate {d}/good-cert.pem"),
        ]
        for conf, rc, want in cases:
            with self.subTest(want=want):
                p = self.check(conf, "-n")
                self.assertEqual(p.returncode, rc, p.stdout + p.stderr)
                self.assertIn(want, p.stdout if rc == 0 else p.stderr)
                if rc:
                    self.assertTrue(p.stderr.startswith(f"homemxd: {conf}: "), p.stderr)
        # OpenSSL's own words for a missing file
        self.assertIn("No such file", self.check(cases[1][0], "-n").stderr)
        # and a daemon is not started on such a pair either
        p = self.check(cases[4][0])
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("key does not match certificate", p.stderr)

    def test_reload_with_unloadable_certificate_is_refused(self):
        before = self.served_certificate()
        with open(self.h.conf_path) as f:
            original = f.read()
        mark = len(self.h.log())
        try:
            with open(self.h.conf_path, "w") as f:
                f.write(original.replace(f"{self.tlsdir}/good-cert.pem",
                                         f"{self.tlsdir}/garbage.pem"))
            os.kill(self.h.proc.pid, signal.SIGHUP)
            m = wait_log(self.h, r'event=reload_failed error="([^"]*)" action=keep_old_config',
                         start=mark)
            self.assertIn(f"tls_certificate {self.tlsdir}/garbage.pem: error:", m.group(1))
        finally:
            with open(self.h.conf_path, "w") as f:
                f.write(original)
        self.assertNotIn("event=reload ", self.h.log()[mark:])
        # the roles never saw it: the old certificate is still served
        self.assertEqual(self.served_certificate(), before)
        # and an smtpd restart would still find a pair it can load
        old = self.h.role_pids()["smtpd"]
        os.kill(old, signal.SIGKILL)
        wait_log(self.h, r"homemx-smtpd\[\d+\]: event=accept role=smtpd state=on\n",
                 start=mark)
        self.assertEqual(self.served_certificate(), before)


class TestPrivileges(InstanceCase):
    users = ()

    def test_smtpd_is_unprivileged_and_chrooted(self):
        if os.geteuid() != 0:
            self.skipTest("privilege drop needs root")
        pid = self.h.role_pids()["smtpd"]
        with open(f"/proc/{pid}/status") as f:
            uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", f.read(), re.M).groups()
        import pwd
        self.assertEqual(set(uids), {str(pwd.getpwnam("_hmx-smtpd").pw_uid)})
        self.assertEqual(os.readlink(f"/proc/{pid}/root"), os.path.join(self.h.dir, "empty"))


class TestPeerRestart(InstanceCase):
    """A role that dies is restarted by homemxd; smtpd takes the new link
    (MSG_SUP_LINK). While a peer is away smtpd accepts nobody new (clients
    wait in the backlog); a session already running gets 451, never 250."""

    def rcpt(self):
        c = SMTPClient(self.h.smtp_port)
        try:
            c.reply()
            c.cmd("EHLO client.example")
            c.cmd("MAIL FROM:<a@client.example>")
            return c.cmd("RCPT TO:<kim@example.test>")
        finally:
            c.close()

    def wait_rcpt_ok(self, timeout=WAIT):
        deadline = time.time() + timeout
        while time.time() < deadline:
            code, text = self.rcpt()
            self.assertIn(code, (250, 451), text)
            if code == 250:
                return
            self.assertTrue(text.startswith("451 4.3.0"), text)
            time.sleep(0.2)
        self.fail("recipient never accepted again:\n" + self.h.log()[-3000:])

    def test_lookup_killed(self):
        """While lookup is away smtpd stops accepting: a new client waits in
        the kernel's backlog and gets its banner once lookup is back -
        nobody gets 451 for our restart."""
        self.assertReply(self.rcpt(), 250, "2.1.5")
        old = self.h.role_pids()["lookup"]
        mark = len(self.h.log())
        os.kill(old, signal.SIGKILL)
        wait_log(self.h, r"homemx-smtpd\[\d+\]: event=accept role=smtpd state=off missing=lookup\n",
                 start=mark)
        c = SMTPClient(self.h.smtp_port, timeout=30)   # connects: the backlog holds it
        self.clients.append(c)
        self.assertEqual(c.reply()[0], 220)            # ... until lookup is linked again
        # the lines reach the file through homemxd's pipe: wait for them
        wait_log(self.h, r"homemx-smtpd\[\d+\]: event=connect ", start=mark)
        log = self.h.log()[mark:]
        on = re.search(r"homemx-smtpd\[\d+\]: event=accept role=smtpd state=on\n", log)
        first = re.search(r"homemx-smtpd\[\d+\]: event=connect ", log)
        self.assertTrue(on and first and on.start() < first.start(), log[-3000:])
        self.assertEqual(c.cmd("EHLO client.example")[0], 250)
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 250)
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 250, "2.1.5")
        self.assertNotEqual(self.h.role_pids().get("lookup"), old)
        self.assertEqual(len(re.findall(r"homemx-smtpd\[\d+\]: event=link_up peer=lookup",
                                        self.h.log())), 2)
        self.assertRegex(self.h.log(), r"event=link_down peer=lookup")
        self.assertNotIn("reason=lookup_unavailable", self.h.log())

    def test_queue_gone_at_data(self):
        """A 451 to DATA (the queue is gone) ends the transaction: the next
        MAIL gets 250, not 503. homemxd is held (SIGSTOP) so that the queue
        stays away exactly as long as the test needs. (Role log lines pass
        through homemxd, so none arrive while it is stopped: whether smtpd
        saw the link go before DATA or while asking, DATA gets 451.)"""
        c = self.client()
        c.cmd("EHLO client.example")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 250)
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 250)
        mark = len(self.h.log())
        os.kill(self.h.proc.pid, signal.SIGSTOP)
        try:
            os.kill(self.h.role_pids()["queue"], signal.SIGKILL)
            self.assertReply(c.cmd("DATA"), 451, "4.3.0")
            self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 250, "2.1.0")
            self.assertReply(c.cmd("RSET"), 250)
        finally:
            os.kill(self.h.proc.pid, signal.SIGCONT)
        wait_log(self.h, r"homemx-smtpd\[\d+\]: event=accept role=smtpd state=on\n", start=mark)
        self.assertRegex(self.h.log()[mark:], r"event=reject sess=\w+ ip=127\.0\.0\.1 qid=- "
                                               r'reply="451 4\.3\.0" reason=queue_(unavailable|open_failed)')
        before = self.count("kim@example.test")
        d = self.client()
        self.assertReply(self.send_raw_message(d, "kim@example.test", b"Subject: back\r\n\r\nx\r\n.\r\n"),
                         250, "2.0.0")
        self.h.wait_messages("kim@example.test", before + 1)

    def test_smtpd_killed(self):
        old = self.h.role_pids()["smtpd"]
        os.kill(old, signal.SIGKILL)
        deadline = time.time() + WAIT
        while time.time() < deadline:
            pid = self.h.role_pids().get("smtpd")
            if pid and pid != old:
                try:
                    self.assertReply(self.rcpt(), 250, "2.1.5")
                    return
                except (OSError, EOFError):
                    pass
            time.sleep(0.2)
        self.fail("smtpd did not come back:\n" + self.h.log()[-3000:])


class TestFlood(InstanceCase):
    """Port 25 under abuse: 1000 idle and 1000 dripping connections (a byte a
    second, never a whole line) from 100 /24s of 127/8, while a normal client
    sends mail. 2000 of max_connections 2600 is stress mode; bytes never move
    a deadline, so every flood connection is cut (idle ones at the shortened
    first-command deadline, drips at their command deadline), every slot is
    freed, stress mode ends, and the normal client's mail gets 250 at once
    throughout."""
    IDLE = DRIP = 1000
    NOFILE = 8192
    extra_conf = "max_connections 2600\ntimeout_command 20s\ntimeout_data 20s"
    users = (("kim@example.test", "secret"),)

    @classmethod
    def before_start(cls):
        # homemxd and smtpd inherit it: smtpd holds one fd per connection
        cls.saved_nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
        soft, hard = cls.saved_nofile
        if hard != resource.RLIM_INFINITY and hard < cls.NOFILE:
            raise unittest.SkipTest(f"RLIMIT_NOFILE hard limit {hard} < {cls.NOFILE}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, cls.NOFILE), hard))

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        resource.setrlimit(resource.RLIMIT_NOFILE, cls.saved_nofile)

    def open_flood(self, sel, kind, second_octet, n):
        """n connections, 2 per address and 20 per /24 (the default limits)."""
        for i in range(n):
            src = f"127.{second_octet}.{i // 20}.{(i % 20) // 2 + 1}"
            s = socket.create_connection(("127.0.0.1", self.h.smtp_port), timeout=10,
                                         source_address=(src, 0))
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, [kind, b""])

    def normal_client(self, results):
        """Ten messages, one after another, each timed from connect to 250."""
        for i in range(10):
            t = time.time()
            try:
                with smtplib.SMTP("127.0.0.1", self.h.smtp_port, timeout=30,
                                  local_hostname="normal.example") as c:
                    refused = c.sendmail("alice@client.example", ["kim@example.test"],
                                         f"Subject: normal {i}\r\n\r\nduring the flood\r\n")
                results.append((refused, time.time() - t))
            except (smtplib.SMTPException, OSError) as e:
                results.append((repr(e), time.time() - t))

    def drip_and_read(self, sel, limit):
        """Until every flood connection is closed by the server (or limit s):
        one byte a second to each drip, and read what the server says."""
        line = b"EHLO " + b"x" * 100
        t0, closed = time.time(), []
        for n in range(limit):
            if not sel.get_map():
                break
            for key in list(sel.get_map().values()):
                if key.data[0] == "drip":
                    try:
                        key.fileobj.send(line[n % len(line):n % len(line) + 1])
                    except OSError:
                        pass
            second = time.time() + 1
            while time.time() < second and sel.get_map():
                for key, _ in sel.select(timeout=max(0.0, second - time.time())):
                    try:
                        data = key.fileobj.recv(4096)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if data:
                        key.data[1] += data
                        continue
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
                    closed.append((key.data[0], key.data[1], time.time() - t0))
        return closed

    def test_idle_and_drip_flood(self):
        sel = selectors.DefaultSelector()
        before = self.count("kim@example.test")
        mark = len(self.h.log())
        t0 = time.time()
        self.open_flood(sel, "idle", 10, self.IDLE)
        self.open_flood(sel, "drip", 20, self.DRIP)
        connect_time = time.time() - t0
        wait_log(self.h, r"event=stress state=on sessions=\d+ max_connections=2600", start=mark)
        results = []
        normal = threading.Thread(target=self.normal_client, args=(results,))
        normal.start()
        closed = self.drip_and_read(sel, limit=90)
        normal.join(60)
        freed_time = time.time() - t0
        left = len(sel.get_map())
        for key in list(sel.get_map().values()):
            key.fileobj.close()
        self.assertEqual(left, 0, f"{left} flood connections still open after {freed_time:.0f}s")
        kinds = [k for k, _, _ in closed]
        self.assertEqual((kinds.count("idle"), kinds.count("drip")), (self.IDLE, self.DRIP))
        # every one was told why: the banner, then 421 Timeout
        for kind, data, _ in closed:
            self.assertRegex(data, rb"^220 [^\r]*\r\n421 4\.4\.2 mx\.example\.test Timeout\r\n$",
                             kind)
        # the normal client: 250 every time, and quickly
        self.assertEqual([r for r, _ in results], [{}] * 10, results)
        latencies = [t for _, t in results]
        self.assertLess(max(latencies), 5.0, latencies)
        self.h.wait_messages("kim@example.test", before + 10)
        # the slots were freed by deadlines, seen in the log; stress mode ended
        log = wait_log(self.h, r"event=stress state=off", start=mark) and self.h.log()[mark:]
        self.assertGreaterEqual(log.count("reason=timeout"), self.IDLE + self.DRIP)
        self.assertGreaterEqual(len(re.findall(r"event=timeout sess=\w+ ip=127\.10\.\d+\.\d+ "
                                               r"state=init limit=first_command stress=yes", log)),
                                self.IDLE // 2)
        self.assertEqual(len(re.findall(r"event=timeout sess=\w+ ip=127\.20\.\d+\.\d+ "
                                        r"state=init limit=first_command", log)), self.DRIP)
        self.assertNotIn("event=connect_refused", log)
        idle_cut = max(t for k, _, t in closed if k == "idle")
        drip_cut = max(t for k, _, t in closed if k == "drip")
        print(f"\nFLOOD: {self.IDLE} idle + {self.DRIP} drip connections opened in "
              f"{connect_time:.1f}s; all idle cut by {idle_cut:.1f}s, all drips by "
              f"{drip_cut:.1f}s; normal client 10 x 250, latency max {max(latencies) * 1000:.0f} ms "
              f"avg {sum(latencies) / len(latencies) * 1000:.0f} ms", flush=True)
        # and a client after the flood has the whole server again
        c = self.client()
        self.assertReply(self.send_raw_message(c, "kim@example.test",
                                               b"Subject: after\r\n\r\nx\r\n.\r\n"), 250)


class TestStartup(InstanceCase):
    """smtpd accepts only once lookup and queue are linked: a client that
    connects while homemxd is still starting, and pipelines a whole
    transaction at once, gets 250 for each step - never 451."""
    users = (("kim@example.test", "secret"),)

    def test_first_message_right_after_start(self):
        self.h.stop()
        before = self.count("kim@example.test")
        replies, errors = [], []

        def early_client():
            deadline = time.time() + 30
            while True:   # until homemxd has bound the port
                try:
                    sock = socket.create_connection(("127.0.0.1", self.h.smtp_port), timeout=30)
                    break
                except ConnectionRefusedError:
                    if time.time() > deadline:
                        errors.append("port never bound")
                        return
                    time.sleep(0.01)
            c = SMTPClient.__new__(SMTPClient)
            c.sock, c.buf = sock, b""
            try:
                c.send(b"EHLO early.example\r\nMAIL FROM:<a@client.example>\r\n"
                       b"RCPT TO:<kim@example.test>\r\nDATA\r\n"
                       b"Subject: early\r\n\r\nfirst\r\n.\r\nQUIT\r\n")
                replies.extend(c.reply() for _ in range(7))
            except (OSError, EOFError) as e:
                errors.append(repr(e))
            finally:
                c.close()

        t = threading.Thread(target=early_client)
        t.start()
        self.h.start(provision=False)
        t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual([code for code, _ in replies], [220, 250, 250, 250, 354, 250, 221],
                         replies)
        self.h.wait_messages("kim@example.test", before + 1)
        self.h.wait_log(r"homemx-smtpd\[\d+\]: event=accept role=smtpd state=on", regex=True)


class TestNotSmtp(InstanceCase):
    """A client that speaks TLS (or HTTP) on port 25 without STARTTLS is not
    a mail server: the session ends at once, with a log line."""
    users = ()

    def test_tls_client_without_starttls(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", self.h.smtp_port), timeout=10)
        banner = raw.recv(512)   # read first, so our close is a clean FIN
        self.assertTrue(banner.startswith(b"220 "), banner)
        with self.assertRaises((ssl.SSLError, OSError)):
            ctx.wrap_socket(raw, server_hostname="mx.example.test")   # sends a ClientHello
        raw.close()
        m = wait_log(self.h, r"event=non_smtp sess=(\w+) ip=127\.0\.0\.1 reason=tls_on_plaintext")
        wait_log(self.h, rf"event=disconnect sess={m.group(1)} ip=127\.0\.0\.1 "
                         r"reason=tls_on_plaintext messages=0 errors=0")

    def test_http_client(self):
        # urllib is a real HTTP client; it gets no HTTP answer, only a close
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.h.smtp_port, timeout=10)
        with self.assertRaises((http.client.HTTPException, OSError)):
            conn.request("GET", "/")
            conn.getresponse()
        conn.close()
        wait_log(self.h, r"event=non_smtp sess=\w+ ip=127\.0\.0\.1 reason=http")
        self.assertNotIn("event=command_reject", self.h.log())


class TestDrain(InstanceCase):
    users = ()

    @classmethod
    def tearDownClass(cls):
        cls.h.cleanup()

    def test_sigterm_sends_421(self):
        c = self.client()
        c.cmd("EHLO client.example")
        stopper = threading.Thread(target=self.h.stop)
        stopper.start()
        self.assertEqual(c.reply(), (421, "421 4.3.2 Service shutting down"))
        self.assertTrue(c.closed())
        stopper.join(30)
        self.assertIn("event=exit role=smtpd code=0", self.h.log())


def tempfile_dir():
    import tempfile
    return tempfile.mkdtemp(prefix="hmx-tls-")


def wait_log(h, pattern, start=0, timeout=20):
    """The first match of pattern in the log after offset start, waiting for
    it to appear; fails the test with the log's tail otherwise."""
    deadline = time.time() + timeout
    while True:
        m = re.search(pattern, h.log()[start:])
        if m:
            return m
        if time.time() > deadline:
            raise AssertionError(f"no log line matching {pattern!r}:\n{h.log()[-4000:]}")
        time.sleep(0.05)


if __name__ == "__main__":
    unittest.main()
