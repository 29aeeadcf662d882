"""tests/e2e/test_lookup.py - the lookup role inside the real daemon.

Owns: the proof that lookup runs as _hmx-lookup outside the chroot, keeps
the store private (0700 directory, 0600 files), answers without logging
each question at info level (smtpd logs the verdict), and survives being
killed with SIGKILL, alone or while mxctl writes: the supervisor restarts
it, its open recovers the store, and every change mxctl reported as done
is still there. Resolution rules themselves are unit-tested in
lookup/resolve_test.c and shown end to end in test_mxctl.py.
"""

import os
import pwd
import signal
import threading
import time
import unittest

from harness import BUILD, WAIT, Homemx, SMTPClient, wait_until

HAVE_DAEMON = all(os.path.exists(os.path.join(BUILD, b)) for b in
                  ("homemxd", "mxctl", "homemx-smtpd", "homemx-lookup",
                   "homemx-queue", "homemx-delivery"))


def rcpt_code(h, address):
    c = SMTPClient(h.smtp_port)
    try:
        c.reply()
        c.cmd("EHLO client.test")
        c.cmd("MAIL FROM:<s@client.test>")
        return c.cmd(f"RCPT TO:<{address}>")[0]
    finally:
        c.close()


class LookupRole(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not HAVE_DAEMON:
            raise unittest.SkipTest("homemxd or a role is not built yet")
        cls.h = Homemx()
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.h.cleanup()

    def lookup_pid(self):
        return self.h.role_pids().get("lookup")

    def wait_new_lookup(self, old_pid, timeout=WAIT):
        deadline = time.time() + timeout
        while time.time() < deadline:
            pid = self.lookup_pid()
            if pid is not None and pid != old_pid:
                return pid
            time.sleep(0.05)
        self.fail(f"lookup not restarted after {timeout}s:\n{self.h.log()[-3000:]}")

    def wait_rcpt(self, address, want=250, timeout=WAIT):
        deadline = time.time() + timeout
        codes = []
        while time.time() < deadline:
            try:
                codes.append(rcpt_code(self.h, address))
            except OSError:
                codes.append(None)
            if codes[-1] == want:
                return
            time.sleep(0.1)
        self.fail(f"{address}: no {want} within {timeout}s: {codes[-10:]}")

    def test_identity_and_privacy(self):
        pid = self.lookup_pid()
        with open(f"/proc/{pid}/status") as f:
            uid = [l.split()[1] for l in f if l.startswith("Uid:")][0]
        store = os.path.join(self.h.dir, "store")
        self.assertEqual(os.stat(store).st_mode & 0o777, 0o700)
        for name in os.listdir(store):
            mode = os.stat(os.path.join(store, name)).st_mode & 0o777
            self.assertEqual(mode & 0o007, 0, f"{name} is world-accessible ({mode:o})")
            if name.endswith(".db"):
                self.assertEqual(mode, 0o600, name)
        if os.geteuid() != 0:
            return
        self.assertEqual(int(uid), pwd.getpwnam("_hmx-lookup").pw_uid)
        self.assertEqual(os.readlink(f"/proc/{pid}/root"), "/")   # not chrooted
        self.assertEqual(os.stat(store).st_uid, pwd.getpwnam("_hmx-lookup").pw_uid)

    def test_questions_are_not_logged_at_info(self):
        self.assertEqual(rcpt_code(self.h, "kim+quiet@example.test"), 250)
        lookup_lines = [l for l in self.h.log().splitlines() if "homemx-lookup[" in l]
        self.assertFalse([l for l in lookup_lines if "kim+quiet" in l], lookup_lines)

    def test_killed_lookup_is_restarted_and_answers(self):
        old = self.lookup_pid()
        os.kill(old, signal.SIGKILL)
        self.wait_new_lookup(old)
        self.wait_rcpt("kim@example.test")
        self.assertEqual(rcpt_code(self.h, "nobody@example.test"), 550)
        self.h.mxctl("user", "add", "after-kill@example.test", "--no-password")
        self.wait_rcpt("after-kill@example.test")

    def test_kill_lookup_while_mxctl_writes(self):
        done = []
        stop = threading.Event()

        def writer():
            i = 0
            while not stop.is_set() and i < 400:
                p = self.h.mxctl("user", "add", f"w{i}@example.test", "--no-password",
                                 check=False)
                if p.returncode == 0:
                    done.append(f"w{i}@example.test")
                i += 1

        t = threading.Thread(target=writer)
        t.start()
        try:
            for _ in range(3):
                written = len(done)     # kill while mxctl is at work: after its next write
                wait_until(lambda: len(done) > written, what="an mxctl write")
                old = self.lookup_pid()
                if old is not None:
                    os.kill(old, signal.SIGKILL)
                    self.wait_new_lookup(old)
        finally:
            stop.set()
            t.join()
        self.assertTrue(done, "mxctl never succeeded")
        listed = set(l.split("\t")[0] for l in
                     self.h.mxctl("user", "list").stdout.splitlines())
        self.assertFalse(set(done) - listed, "a change mxctl reported is gone")
        self.wait_rcpt(done[-1])
        self.wait_rcpt("kim@example.test")


if __name__ == "__main__":
    unittest.main()
