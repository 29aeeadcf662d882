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


if __name__ == "__main__":
    unittest.main()
