"""tests/e2e/test_screen_memory.py - the screen's spam memory and BATV
bounce tags, through the real daemon.

Owns: the proof of screen/recall.h and queue/bounce_tag.h end to end.

Spam memory (loopback, DNS off): loopback is not trusted here, DNS points
at the discard port so every DNS answer is missing, and the thresholds are
raised to 100 so that no missing answer can change a RCPT verdict; a
message whose From: is one of our domains without our signature
(forged_local_from, 150 here) is the spam, refused at the end of DATA by
its score. Then the same client /24, sender and recipient get lookup's
"unknown user" reply at RCPT, byte for byte; another sender, recipient or
client /24 (a source address in 127.0.1.0/24) does not; `mxctl why` names
the spam's ref; and a memory of a few seconds is swept away.

BATV (network namespaces, tests/e2e/netns.py, and a real unbound with PTR
records, so the other checks are quiet and known): a message submitted on
587 reaches a remote receiver with MAIL FROM prvs=KDDDSSSSSS=kim@..., the
tag Python's hmac computes from the queue's key file; the key file is the
queue's (0600) and no other role's user can read it; a bounce (swaks
--from '<>') from the remote to that address is accepted and delivered to
kim (Delivered-To untagged); a bounce to the untagged address, to a forged
tag or to an expired one is refused as backscatter, and the client's next
ordinary message scores backscatter_source.
"""

import hashlib
import hmac
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import harness
from harness import WAIT, Homemx, SMTPClient, wait_until
from netns import NetnsHomemx, Topology, Unbound, can_use_netns
from smtp_receiver import SmtpReceiver
from test_relay_daemon import CTX, make_dkim_keys

NETNS_OK, NETNS_WHY = can_use_netns()

HAVE_BUILD = all(os.path.exists(os.path.join(harness.BUILD, b))
                 for b in ("homemxd", "mxctl", "homemx-screen"))

# Lookup's reply for a recipient that does not exist (smtpd/reply.c).
UNKNOWN_USER = "550 5.1.1 Recipient address rejected: User unknown"

SPAM = (b"From: Kim <kim@example.test>\r\nTo: kim@example.test\r\n"
        b"Subject: your account\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\n"
        b"Message-ID: <spam-1@spam.example>\r\n\r\nclick here\r\n")
HAM = (b"From: Alice <alice@client.example>\r\nTo: kim@example.test\r\n"
       b"Subject: hello\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\n"
       b"Message-ID: <ham-1@client.example>\r\n\r\nhello\r\n")

# Quiet checks: nothing that DNS could say moves a RCPT verdict, and the
# forged From: alone is the spam.
MEMORY_CONF = """
max_errors 1000
trusted_networks none
dnsbl none
dmarc_reject no
reject_score 100
greylist_score 100
weight forged_local_from 150
"""


class Client(SMTPClient):
    """SMTPClient from a chosen loopback source address."""

    def __init__(self, port, source="127.0.0.1"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT,
                                             source_address=(source, 0))
        self.buf = b""


class MemoryCase(unittest.TestCase):
    spam_memory_time = "1h"

    @classmethod
    def setUpClass(cls):
        if not HAVE_BUILD:
            raise unittest.SkipTest("homemxd, mxctl or homemx-screen not built")
        cls.h = Homemx(extra_conf=MEMORY_CONF + f"spam_memory_time {cls.spam_memory_time}\n",
                       users=[("kim@example.test", "x"), ("ann@example.test", "y"),
                              ("bob@example.test", "z")])
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

    def session(self, sender, source="127.0.0.1"):
        c = Client(self.h.smtp_port, source)
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        self.assertEqual(c.cmd("EHLO client.example")[0], 250)
        self.assertEqual(c.cmd(f"MAIL FROM:<{sender}>")[0], 250)
        return c

    def rcpt(self, c, rcpt):
        return c.cmd(f"RCPT TO:<{rcpt}>")

    def send_spam(self, sender, rcpts, source="127.0.0.1"):
        """The spam to rcpts; returns its ref (550 5.7.1 at the end of DATA)."""
        c = self.session(sender, source)
        for r in rcpts:
            self.assertEqual(self.rcpt(c, r)[0], 250, r)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(SPAM + b".\r\n")
        code, text = c.reply()
        m = re.match(r"550 5\.7\.1 Refused by local policy, ref=([0-9a-f]+-\d+)$", text)
        self.assertIsNotNone(m, text)
        c.cmd("QUIT")
        self.h.wait_log(rf"event=spam_memory sess=\w+ ref={m.group(1)} source=net:127.0.0.0/24 "
                        rf"from=<{re.escape(sender)}> recipients={len(rcpts)} "
                        rf"remembered={len(rcpts)} ", regex=True)
        return m.group(1)


class SpamMemory(MemoryCase):
    def test_remembered_spam_gets_the_unknown_user_reply(self):
        ref = self.send_spam("offers@spam.example", ["kim@example.test", "ann@example.test"])
        c = self.session("offers@spam.example")
        real = self.rcpt(c, "nobody@example.test")       # a user that does not exist
        self.assertEqual(real, (550, UNKNOWN_USER))
        for r in ("kim@example.test", "ann@example.test"):
            self.assertEqual(self.rcpt(c, r), real, r)   # indistinguishable
        # the reason is in the verdict line, and `mxctl why` finds it by session
        m = self.h.wait_log(r'event=verdict sess=(\w+) ref=\w+-\d+ stage=rcpt '
                            r'from=<offers@spam.example> to=<kim@example.test> .*'
                            r'verdict=reject reply="550 5.1.1" .*'
                            rf'checks="spam_memory:{ref}:\+0" ip=127.0.0.1', regex=True)
        sess = m.group(1)
        self.h.wait_log(rf"event=rcpt sess={sess} from=<offers@spam.example> "
                        r'to=<kim@example.test> verdict=reject reply="550 5.1.1" '
                        r"reason=spam_memory ip=127.0.0.1", regex=True)
        why = self.h.mxctl("why", sess).stdout
        self.assertIn(f"spam_memory:{ref}", why)
        self.assertIn("550 5.1.1", why)

    def test_other_senders_recipients_and_networks_are_not_affected(self):
        self.send_spam("deals@spam.example", ["kim@example.test"])
        c = self.session("deals@spam.example")
        self.assertEqual(self.rcpt(c, "kim@example.test"), (550, UNKNOWN_USER))
        self.assertEqual(self.rcpt(c, "bob@example.test")[0], 250)      # not in the spam
        c = self.session("alice@client.example")                          # another sender
        self.assertEqual(self.rcpt(c, "kim@example.test")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(HAM + b".\r\n")
        self.assertEqual(c.reply()[0], 250)                               # and it is delivered
        c = self.session("deals@spam.example", source="127.0.1.1")       # another /24
        self.assertEqual(self.rcpt(c, "kim@example.test")[0], 250)


class SpamMemoryExpires(MemoryCase):
    spam_memory_time = "3s"

    def test_forgotten_after_spam_memory_time(self):
        t0 = time.time()
        self.send_spam("once@spam.example", ["kim@example.test"])
        c = self.session("once@spam.example")
        code, text = self.rcpt(c, "kim@example.test")
        if time.time() - t0 < 3:        # still inside the memory's time
            self.assertEqual((code, text), (550, UNKNOWN_USER))
        c.cmd("QUIT")
        # the sweep (every 10 s) removes the expired record: the sign
        self.h.wait_log(r"event=screen_memory removed=\d+ .* spam=0 ", timeout=60, regex=True)
        c = self.session("once@spam.example")
        self.assertEqual(self.rcpt(c, "kim@example.test")[0], 250)


# ---- BATV --------------------------------------------------------------------

DAY = 86400
TAG_RE = re.compile(r"^prvs=(\d)(\d{3})([0-9a-f]{6})=(kim@example\.test)$")


def ptr_name(ip):
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


def bounce(to, text="Subject: Undelivered Mail Returned to Sender\r\n"):
    """A DSN-looking message (RFC 3464 in spirit; the screen does not parse it)."""
    return (f"From: MAILER-DAEMON@example.net\r\nTo: {to}\r\n{text}"
            f"Date: Sat, 05 Dec 2026 10:00:00 +0000\r\n"
            f"Message-ID: <dsn-{time.time_ns()}@example.net>\r\n\r\n"
            f"Your message could not be delivered.\r\n")


@unittest.skipUnless(NETNS_OK, NETNS_WHY)
@unittest.skipUnless(HAVE_BUILD, "homemxd, mxctl or homemx-screen not built")
class BounceTags(unittest.TestCase):
    """Hosts: net (mx.example.net, the remote MX that also bounces), stray
    and forger (servers that send backscatter); each has a PTR that
    resolves back, so their ordinary mail scores next to nothing."""

    @classmethod
    def setUpClass(cls):
        cls.topo = topo = Topology()
        cls.h = cls.dns = cls.rx = None
        try:
            cls.hosts = hosts = {n: topo.add_host(n) for n in ("net", "stray", "forger")}
            topo.start()
            dns = cls.dns = Unbound(topo)
            dns.add("example.net", "MX", "10 mx.example.net.")
            dns.add_host_records("mx.example.net", hosts["net"])
            dns.add(ptr_name(hosts["net"].ipv4), "PTR", "mx.example.net.")
            for name in ("stray", "forger"):
                host = hosts[name]
                dns.add(ptr_name(host.ipv4), "PTR", f"{name}.example.com.")
                dns.add(f"{name}.example.com", "A", host.ipv4)
                dns.add(f"relay.{name}.example.com", "A", host.ipv4)   # its HELO
            dns.add("example.com", "A", hosts["stray"].ipv4)           # a sender domain
            dns.start()
            cls.rx = SmtpReceiver(hosts["net"], name="mx.example.net").start()
            cls.certdir = d = tempfile.mkdtemp(prefix="hmx-batv-cert-")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", f"{d}/key.pem", "-out", f"{d}/cert.pem", "-days", "2",
                            "-subj", "/CN=mx.example.test"], check=True, capture_output=True)
            os.chmod(d, 0o755)
            cls.sub_port = harness.free_port()
            conf = "\n".join([
                f"listen submission 127.0.0.1:{cls.sub_port}",
                f"listen smtp {topo.MTA_IPV4}:25",
                f"tls_certificate {d}/cert.pem",
                f"tls_key {d}/key.pem",
                "retry_min 1s",
                "retry_max 2s",
                "dnsbl none",
                "bounce_tags on",
                "weight forged_local_from 30",     # one sign a bounce's score can carry
            ])
            cls.h = NetnsHomemx(topo, dns, extra_conf=conf)
            cls.h.start()
            make_dkim_keys(cls.h, "example.test")
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

    # -- helpers -------------------------------------------------------------
    def submit(self, to, subject):
        c = self.h.smtp(self.sub_port)
        try:
            c.ehlo("client.example")
            c.starttls(context=CTX)
            c.ehlo("client.example")
            c.login("kim@example.test", "secret")
            data = (f"From: Kim <kim@example.test>\r\nTo: {to}\r\nSubject: {subject}\r\n"
                    f"\r\nhello\r\n").encode()
            self.assertEqual(c.sendmail("kim@example.test", [to], data), {})
        finally:
            c.quit()

    def swaks(self, host, helo, sender, to, data):
        """swaks from host's namespace to our port 25; (exit code, transcript)."""
        p = self.topo.run_in(self.hosts[host].ns,
                             ["swaks", "--server", f"{self.topo.MTA_IPV4}:25", "--helo", helo,
                              "--from", sender, "--to", to, "--data", data,
                              "--timeout", str(int(WAIT))],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out, _ = p.communicate(timeout=WAIT * 2)
        return p.returncode, out

    def key_file(self):
        return os.path.join(self.h.dir, "spool", "state", "bounce_key")

    def tag_for(self, mailbox, day):
        """The tag queue/bounce_tag.c makes, from the key file (root reads it)."""
        with open(self.key_file()) as f:
            header, line = f.read().splitlines()
        self.assertEqual(header, "homemx-bounce-key 1")
        k, hexkey = line.split(" ")
        text = f"{k}{day % 1000:03d}{mailbox.lower()}".encode()
        sig = hmac.new(bytes.fromhex(hexkey), text, hashlib.sha256).hexdigest()[:6]
        return f"prvs={k}{day % 1000:03d}{sig}={mailbox}"

    def tagged_sender(self, subject):
        """Submits a message to bob@example.net; the MAIL FROM it arrived with."""
        before = len(self.rx.messages())
        self.submit("bob@example.net", subject)
        msgs = self.rx.wait_messages(before + 1, timeout=30)
        m = [m for m in msgs if f"Subject: {subject}".encode() in m.data][0]
        return m

    # -- tests ---------------------------------------------------------------
    def test_relayed_sender_is_tagged_and_its_bounce_is_delivered(self):
        m = self.tagged_sender("tagged")
        self.assertRegex(m.mail_from, TAG_RE)
        today = int(time.time()) // DAY
        self.assertIn(m.mail_from, (self.tag_for("kim@example.test", today + 7),
                                    self.tag_for("kim@example.test", today + 6)))
        # the message itself is untouched: From:, and the DKIM signature
        self.assertIn(b"From: Kim <kim@example.test>", m.data)
        self.assertIn(b"DKIM-Signature:", m.data)
        self.assertNotIn(b"prvs=", m.data)
        self.h.wait_log(rf"event=bounce_tag_sender qid=\w+ from=<kim@example.test> "
                        rf"tagged=<{re.escape(m.mail_from)}>", regex=True)
        # the remote bounces it: accepted, and kim gets it (Delivered-To untagged)
        before = len(self.h.messages("kim@example.test"))
        code, out = self.swaks("net", "mx.example.net", "<>", m.mail_from,
                               bounce(m.mail_from))
        self.assertEqual(code, 0, out)
        self.assertRegex(out, r"<-  250 2\.0\.0 Ok: queued as ")
        msg = self.h.wait_messages("kim@example.test", before + 1)[-1]
        self.assertIn(b"Delivered-To: kim@example.test\r\n", msg)
        self.assertIn(b"Your message could not be delivered.", msg)
        self.h.wait_log(r"event=bounce_tag sess=\w+ to=<kim@example.test> result=valid",
                        regex=True)
        self.h.wait_log(r"event=verdict sess=\w+ ref=\S+ stage=rcpt from=<> "
                        r'to=<kim@example.test> .*verdict=accept reply="250 2.1.5" .*'
                        r'checks="bounce_tag_valid:-10"', regex=True)

    def test_own_bounce_gets_through_whatever_the_message_scores(self):
        """A bounce is accepted even when its message would be refused: here
        it quotes a From: of ours, unsigned (forged_local_from, +30 here)."""
        m = self.tagged_sender("forged-looking bounce")
        before = len(self.h.messages("kim@example.test"))
        data = bounce(m.mail_from).replace("From: MAILER-DAEMON@example.net",
                                           "From: Kim <kim@example.test>")
        code, out = self.swaks("net", "mx.example.net", "<>", m.mail_from, data)
        self.assertEqual(code, 0, out)
        self.h.wait_messages("kim@example.test", before + 1)
        v = self.h.wait_log(r"event=verdict sess=\w+ ref=\S+ stage=message from=<> .*"
                            r'score=(\d+) verdict=accept reply="250 2.1.5" .*'
                            r'forged_local_from:\+30 bounce_tag_valid:-10"', regex=True)
        self.assertGreaterEqual(int(v.group(1)), 10)    # over reject_score, yet accepted

    def test_untagged_bounce_is_backscatter_and_marks_its_source(self):
        code, out = self.swaks("stray", "relay.stray.example.com", "<>", "kim@example.test",
                               bounce("kim@example.test"))
        self.assertNotEqual(code, 0, out)
        self.assertRegex(out, r"<\*\* +550 5\.7\.1 Refused by local policy, ref=")
        self.h.wait_log(r"event=verdict sess=\w+ ref=\S+ stage=rcpt from=<> "
                        r'to=<kim@example.test> .*verdict=reject reply="550 5.7.1" .*'
                        r"backscatter:\+10.* ip=192.0.2.11(?m:$)", regex=True)
        self.h.wait_log(r"event=backscatter_source sess=\w+ source=ip:192.0.2.11 ", regex=True)
        # an ordinary message from that client now scores backscatter_source
        # (greylisted: alone it would pass at once)
        code, out = self.swaks("stray", "relay.stray.example.com", "someone@example.com",
                               "kim@example.test", HAM.decode())
        self.assertNotEqual(code, 0, out)
        self.assertRegex(out, r"<\*\* +451 4\.7\.1 Try again later, ref=")
        self.h.wait_log(r"event=verdict sess=\w+ ref=\S+ stage=rcpt "
                        r"from=<someone@example.com> .*verdict=greylist .*"
                        r"backscatter_source:\+5.* ip=192.0.2.11(?m:$)", regex=True)

    def test_forged_and_expired_tags_are_backscatter(self):
        today = int(time.time()) // DAY
        forged = "prvs=0" + f"{(today + 7) % 1000:03d}" + "000000=kim@example.test"
        expired = self.tag_for("kim@example.test", today - 2)   # made 9 days ago
        for to, result in ((forged, "bad"), (expired, "expired")):
            with self.subTest(to=to):
                code, out = self.swaks("forger", "relay.forger.example.com", "<>", to,
                                       bounce(to))
                self.assertNotEqual(code, 0, out)
                self.assertRegex(out, r"<\*\* +550 5\.7\.1 Refused by local policy, ref=")
                self.h.wait_log(rf"event=bounce_tag sess=\w+ to=<kim@example.test> "
                                rf"result={result}", regex=True)
        # an ordinary sender to a tagged address is not a bounce: no backscatter
        good = self.tag_for("kim@example.test", today + 7)
        before = len(self.h.messages("kim@example.test"))
        code, out = self.swaks("net", "mx.example.net", "someone@example.net", good,
                               HAM.decode())
        self.assertEqual(code, 0, out)
        self.h.wait_messages("kim@example.test", before + 1)

    def test_key_file_is_the_queues_alone(self):
        self.tagged_sender("key")       # bounce_tags on: the key exists
        st = os.stat(self.key_file())
        self.assertEqual(st.st_mode & 0o7777, 0o600)
        self.assertEqual(pwd.getpwuid(st.st_uid).pw_name, "_hmx-queue")
        with open(self.key_file()) as f:
            hexkey = f.read().split()[-1]
        self.assertNotIn(hexkey, self.h.log())
        for user in ("_hmx-smtpd", "_hmx-screen", "_hmx-relay", "_hmx-submit"):
            p = subprocess.run(["runuser", "-u", user, "--", "cat", self.key_file()],
                               capture_output=True, text=True)
            self.assertNotEqual(p.returncode, 0, user)
            self.assertNotIn(hexkey, p.stdout)


if __name__ == "__main__":
    unittest.main()
