"""tests/e2e/test_screen_scanning.py - the content scanners at the end of
DATA, through the real daemon: rspamd and spamd on UNIX sockets inside
screen_dir (the chrooted screen reaches them there), clamd on loopback TCP
inside the mta namespace (it binds after dropping root, so it cannot make
a socket in the 0700 screen_dir), all private instances with local rules
only (tests/e2e/scanners.py).

What it shows: a clean message is accepted and every scanner's
contribution is in the verdict line; GTUBE is refused 550 5.7.1 by the
score; a virus is refused 554 5.7.1 whatever the score; a scanner that is
down turns an accept into 451 4.7.1 (never accepted unscanned) and the
same message is accepted once it is back; the screen runs all of this
under its seccomp filter (a kill would show as event=seccomp_kill).
"""

import os
import re
import subprocess
import unittest

import harness
from netns import can_use_netns
from scanners import EICAR, GTUBE, Clamd, Rspamd, Spamd
from screen_world import SCREEN_BINARY, ScreenCase, standard_world, USERS

NETNS_OK, NETNS_WHY = can_use_netns()
HAVE_SCREEN = os.path.exists(SCREEN_BINARY)
HAVE_SCANNERS = all(os.path.exists(p) for p in ("/usr/bin/rspamd", "/usr/sbin/spamd",
                                                   "/usr/sbin/clamd"))

GOOD_IP, GOOD_HELO, GOOD_FROM = "203.0.113.11", "mx2.good.example", "h@good.example"


class SocketIn(object):
    """Mixin: the scanner's UNIX socket at a path of the test's choosing
    (inside screen_dir), its files elsewhere; the socket is made 0666 so
    the screen's user may connect."""

    def __init__(self, root, socket_path):
        super().__init__(root)
        self.socket = socket_path


class JailedRspamd(SocketIn, Rspamd):
    pass


class JailedSpamd(SocketIn, Spamd):
    def argv(self):
        return super().argv() + ["--socketmode=0666"]


class NetnsClamd(Clamd):
    """clamd on 127.0.0.1:port inside namespace ns."""

    def __init__(self, root, ns):
        super().__init__(root)
        self.ns = ns
        self.port = harness.free_port()

    def argv(self):
        argv = super().argv()
        conf = argv[-1]
        with open(conf) as f:
            text = f.read().replace(f"LocalSocket {self.socket}\n",
                                    f"TCPSocket {self.port}\nTCPAddr 127.0.0.1\n")
        with open(conf, "w") as f:
            f.write(text)
        return ["ip", "netns", "exec", self.ns] + argv

    def start(self):
        if subprocess.run(["which", "clamd"], capture_output=True).returncode != 0:
            raise FileNotFoundError("clamd is not installed")
        before = self.count(self.ready_line) if os.path.exists(self.log_path) else 0
        out = open(os.path.join(self.dir, "stdout"), "wb")
        self.proc = subprocess.Popen(self.argv(), stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir)
        out.close()
        self.wait_log(self.ready_line, start_count=before)   # a restart: its own line
        return self


def mime_with(attachment_text):
    return ("From: <h@good.example>\r\nTo: <kim@example.test>\r\n"
            "Date: Sat, 05 Dec 2026 10:00:00 +0000\r\n"
            "Message-ID: <att@good.example>\r\nSubject: the file\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            "--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
            "--b1\r\nContent-Type: application/octet-stream\r\n"
            "Content-Disposition: attachment; filename=\"x.com\"\r\n\r\n"
            f"{attachment_text}\r\n--b1--\r\n").encode()


def plain(subject, body):
    return ("From: <h@good.example>\r\nTo: <kim@example.test>\r\n"
            "Date: Sat, 05 Dec 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@good.example>\r\n"
            f"Subject: {subject}\r\n\r\n{body}\r\n").encode()


@unittest.skipUnless(NETNS_OK, NETNS_WHY)
@unittest.skipUnless(HAVE_SCREEN, "homemx-screen not built")
@unittest.skipUnless(HAVE_SCANNERS, "rspamd, spamd or clamd missing (scripts/install-deps)")
class Scanning(ScreenCase, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.w = standard_world()
        cls.scanners = []
        try:
            cls.w.start()
            cls.h = cls.w.homemx("", trusted=cls.TRUSTED, users=USERS)
            base = cls.h.prepare_dir()
            jail = os.path.join(cls.h.screen_dir, "scanners")
            os.makedirs(jail)
            os.chmod(jail, 0o755)
            files = os.path.join(base, "scanner-files")
            os.makedirs(files)
            os.chmod(files, 0o777)
            cls.rspamd = JailedRspamd(files, os.path.join(jail, "rspamd.sock")).start()
            cls.scanners.append(cls.rspamd)
            cls.spamd = JailedSpamd(files, os.path.join(jail, "spamd.sock")).start()
            cls.scanners.append(cls.spamd)
            cls.clamd = NetnsClamd(files, cls.w.topo.mta).start()
            cls.scanners.append(cls.clamd)
            cls.h.screen_conf = "\n".join([
                f"rspamd {cls.rspamd.socket}",
                f"spamd {cls.spamd.socket}",
                f"clamd 127.0.0.1:{cls.clamd.port}",
                "scanner_timeout 20s",
            ])
            cls.h.start()
        except BaseException:
            cls.stop_all()
            raise

    @classmethod
    def stop_all(cls):
        for d in cls.scanners:
            d.stop()
        cls.w.stop()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.h.stop()
        finally:
            cls.stop_all()

    def deliver(self, message):
        """One message from a client whose network checks are clean; the
        transaction and the end-of-DATA verdict line."""
        since = self.h.log_size()
        t = self.send(GOOD_IP, GOOD_HELO, GOOD_FROM, ["kim@example.test"], body=True,
                      message=message, timeout=60)
        self.assertIsNone(t.error, t)
        self.assertEqual(t.rcpt_code(), 250, t)
        self.h.wait_line(r"event=verdict .*stage=message .*ip=" + re.escape(GOOD_IP) + "$",
                         since=since)
        v = [x for x in self.h.verdicts(since) if x.get("stage") == "message"][-1]
        return t, v

    def assertNoSeccomp(self):
        self.assertNotIn("event=seccomp_kill", self.h.log())

    def test_clean_message_is_accepted_with_every_contribution(self):
        t, v = self.deliver(plain("lunch", "see you at noon"))
        self.assertEqual(t.data[0], 250, t)
        self.assertEqual(v["verdict"], "accept", v)
        for name in ("rspamd", "spamd", "virus"):
            self.assertIn(name, v["checks"], v)
        self.assertEqual(v["checks"]["virus"], 0, v)
        self.assertNoSeccomp()

    def test_gtube_is_refused_by_the_score(self):
        t, v = self.deliver(plain("offer", GTUBE))
        self.assertEqual(t.data[0], 550, t)
        self.assertTrue(t.data[1].startswith("5.7.1 Refused by local policy, ref="), t)
        self.assertEqual(v["verdict"], "reject", v)
        self.assertGreater(v["checks"]["rspamd"], 10, v)

    def test_local_rule_counts_with_its_weight(self):
        t, v = self.deliver(plain("meds", "cheap pills here"))
        # rspamd HMX_CHEAP 7.5 -> 8, spamd HMX_CHEAP 3.5 -> 4 (weights 1)
        self.assertEqual((v["checks"]["rspamd"], v["checks"]["spamd"]), (8, 4), v)

    def test_virus_is_refused_554(self):
        t, v = self.deliver(mime_with(EICAR))
        self.assertEqual(t.data[0], 554, t)
        self.assertTrue(t.data[1].startswith("5.7.1 "), t)
        self.h.wait_log("override=virus")    # through homemxd's pipe
        self.assertNoSeccomp()

    def test_scanner_down_is_451_then_accepted_when_back(self):
        self.clamd.stop()
        try:
            t, v = self.deliver(plain("report", "the numbers"))
            self.assertEqual(t.data[0], 451, t)
            self.assertTrue(t.data[1].startswith("4.7.1 "), t)
            self.assertEqual(v["verdict"], "tempfail", v)
            self.assertFalse(t.delivered(), t)
        finally:
            self.clamd.start()
        t, v = self.deliver(plain("report", "the numbers"))
        self.assertEqual(t.data[0], 250, t)
        self.assertEqual(v["verdict"], "accept", v)

    def test_mxctl_screen_test_file_asks_the_scanners(self):
        """The admin's view of the same message: the scanners' answers and
        the verdict the role would give (a file with LF lines)."""
        path = os.path.join(self.h.dir, "gtube.eml")
        with open(path, "wb") as f:
            f.write(plain("offer", GTUBE).replace(b"\r\n", b"\n"))
        p = self.h.mxctl_in_mta("screen", "test", "--file", path, GOOD_IP, GOOD_HELO,
                                GOOD_FROM, "kim@example.test")
        self.assertRegex(p.stdout, r"(?m)^  rspamd +ok, score \d+")
        self.assertRegex(p.stdout, r"(?m)^  clamd +ok, clean")
        self.assertIn("verdict at end of DATA: reject (550 5.7.1)", p.stdout)
        with open(path, "wb") as f:
            f.write(mime_with(EICAR))
        p = self.h.mxctl_in_mta("screen", "test", "--file", path, GOOD_IP, GOOD_HELO,
                                GOOD_FROM, "kim@example.test")
        self.assertIn("verdict at end of DATA: reject (554 5.7.1, a virus)", p.stdout)
        self.assertRegex(p.stdout, r"override=virus virus=\"[^\"]+\" ip=203\.0\.113\.11")


if __name__ == "__main__":
    unittest.main()
