"""tests/e2e/test_screen_scanners.py - the screen's content scanner driver
(screen/scanner.c) against the real rspamd, spamd and clamd, and against
Python fakes for what real daemons will not do on demand, through
build/tests/tools/scanprobe.

Owns: one private instance of each daemon for the module (tests/e2e/
scanners.py: local rules only, nothing from the network), a screen_dir
that holds their sockets, and the homemx.conf each case writes for the
probe. Each case asserts the probe's result lines (one per scanner) and the
score hook's view (score items and findings) as screen/scanner.h promises.
"""

import base64
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
import scanners

PROBE = os.path.join(harness.BUILD, "tests", "tools", "scanprobe")
HOMEMXD = os.path.join(harness.BUILD, "homemxd")

ROOT = None
DAEMONS = {}


def setUpModule():
    global ROOT
    ROOT = tempfile.mkdtemp(prefix="hmx-scan-")
    os.chmod(ROOT, 0o755)
    try:
        for cls in (scanners.Rspamd, scanners.Spamd, scanners.Clamd):
            d = cls(ROOT)
            DAEMONS[d.name] = d
            d.start()
    except Exception:
        tearDownModule()
        raise


def tearDownModule():
    for d in DAEMONS.values():
        d.stop()
    DAEMONS.clear()
    if ROOT is not None:
        shutil.rmtree(ROOT, ignore_errors=True)


def message(body, subject="test", extra_headers=""):
    return (f"From: <a@example.net>\r\nTo: <kim@example.test>\r\nSubject: {subject}\r\n"
            f"Date: Sat, 05 Dec 2026 10:00:00 +0000\r\nMessage-ID: <m1@example.net>\r\n"
            f"{extra_headers}\r\n{body}").encode()


def eicar_message():
    """EICAR as a base64 attachment: clamd must decode MIME to find it."""
    att = base64.encodebytes(scanners.EICAR.encode()).decode().replace("\n", "\r\n")
    return message("--b1\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n"
                   "--b1\r\nContent-Type: application/octet-stream; name=x.com\r\n"
                   "Content-Transfer-Encoding: base64\r\n\r\n" + att + "--b1--\r\n",
                   extra_headers="MIME-Version: 1.0\r\n"
                   "Content-Type: multipart/mixed; boundary=b1\r\n")


class Probe:
    """Runs scanprobe; .results {scanner: {field: value}}, .score, .findings."""

    def __init__(self, out, err, rc):
        self.out, self.err, self.rc = out, err, rc
        self.results, self.order, self.score, self.findings = {}, [], None, {}
        for line in out.splitlines():
            f = line.split("\t")
            if f[0] == "result":
                fields = dict(x.split("=", 1) for x in f[3:])
                fields["status"] = f[2]
                self.results[f[1]] = fields
                self.order.append(f[1])
            elif f[0] == "score":
                self.score = f[1] if len(f) > 1 else ""
            elif f[0] == "findings":
                self.findings = dict(x.split("=", 1) for x in f[1:])


class ScannerCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="case-", dir=ROOT)
        os.chmod(self.dir, 0o755)
        self.fakes = []

    def tearDown(self):
        for f in self.fakes:
            f.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def conf(self, **settings):
        """A homemx.conf whose screen_dir holds every socket: the real
        daemons' by default, overridden or turned off (None) by keyword."""
        lines = ["listen smtp 127.0.0.1:2525", f"screen_dir {ROOT}"]
        want = {name: DAEMONS[name].socket for name in ("rspamd", "spamd", "clamd")}
        want.update(settings)
        for key, value in want.items():
            if value is not None:
                lines.append(f"{key} {value}")
        path = os.path.join(self.dir, "homemx.conf")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def probe(self, conf, msg, *args, timeout=harness.WAIT):
        path = os.path.join(self.dir, "msg.eml")
        with open(path, "wb") as f:
            f.write(msg)
        p = subprocess.run([PROBE, "-f", conf, "-i", "203.0.113.7", "-H", "mx.example.net",
                            "-F", "a@example.net", "-R", "kim@example.test", "-q", "Q1", *args,
                            path], capture_output=True, text=True, timeout=timeout)
        harness.assert_no_sanitizer_reports(p.stderr, "scanprobe")
        self.assertEqual(p.returncode, 0, p.stderr)
        return Probe(p.stdout, p.stderr, p.returncode)

    def fake(self, name, mode, reply=None):
        f = scanners.FakeScanner(os.path.join(self.dir, name + ".sock"), mode, reply)
        self.fakes.append(f)
        return f


class RealScanners(ScannerCase):
    def test_clean_message(self):
        p = self.probe(self.conf(), message("Hello Kim,\r\nsee you tomorrow.\r\n"))
        self.assertEqual(p.order, ["rspamd", "spamd", "clamd"], p.out)
        r, s, c = p.results["rspamd"], p.results["spamd"], p.results["clamd"]
        self.assertEqual((r["status"], r["action"], r["spam"]), ("ok", "no action", "0"), p.out)
        self.assertEqual((s["status"], s["spam"], s["threshold"]), ("ok", "0", "5.00"), p.out)
        self.assertEqual((c["status"], c["virus_found"]), ("ok", "0"), p.out)
        self.assertEqual(p.score, "rspamd:+0 spamd:+0 virus:+0")
        self.assertEqual(p.findings, {"virus": "0", "virus_name": "", "tempfail": "0",
                                      "tempfail_scanners": ""})
        self.assertIn("event=scan sess=probe qid=Q1 scanner=rspamd result=ok", p.err)

    def test_gtube_is_spam_for_both(self):
        p = self.probe(self.conf(), message(scanners.GTUBE + "\r\n"))
        r, s = p.results["rspamd"], p.results["spamd"]
        self.assertEqual((r["status"], r["action"], r["symbols"], r["score"]),
                         ("ok", "reject", "GTUBE", "15.00"), p.out)
        self.assertEqual((s["status"], s["spam"], s["symbols"], s["score"]),
                         ("ok", "1", "GTUBE", "1000.00"), p.out)
        self.assertEqual(p.score, "rspamd:+15 spamd:+1000 virus:+0")
        self.assertEqual(p.findings["tempfail"], "0")

    def test_local_rule_and_weights(self):
        conf = self.conf(rspamd_weight="0.5", spamd_weight="2")
        p = self.probe(conf, message("buy cheap pills here\r\n"))
        r, s = p.results["rspamd"], p.results["spamd"]
        self.assertEqual((r["score"], r["action"], r["symbols"]), ("7.50", "add header", "HMX_CHEAP"))
        self.assertEqual((s["score"], s["spam"], s["symbols"]), ("3.50", "0", "HMX_CHEAP"))
        # round(7.5 * 0.5) = 4, round(3.5 * 2) = 7
        self.assertEqual(p.score, "rspamd:+4 spamd:+7 virus:+0")

    def test_loopback_tcp(self):
        p = self.probe(self.conf(rspamd=f"127.0.0.1:{DAEMONS['rspamd'].port}", spamd=None,
                                 clamd=None), message(scanners.GTUBE + "\r\n"))
        r = p.results["rspamd"]
        self.assertEqual((r["status"], r["action"], r["symbols"]), ("ok", "reject", "GTUBE"), p.out)

    def test_envelope_reaches_rspamd(self):
        rs = DAEMONS["rspamd"]
        with rs.expect_log("qid: <Q-ENV>"):
            self.probe(self.conf(spamd=None, clamd=None), message("hi\r\n"), "-q", "Q-ENV",
                       "-R", "second@example.test", "-n", "mail.example.net")
        line = [x for x in rs.log().splitlines() if "qid: <Q-ENV>" in x][-1]
        self.assertIn("ip: 203.0.113.7", line)
        self.assertIn("from: <a@example.net>", line)
        self.assertIn("rcpts: <kim@example.test,second@example.test>", line)

    def test_eicar_attachment_is_a_virus(self):
        p = self.probe(self.conf(), eicar_message())
        c = p.results["clamd"]
        self.assertEqual((c["status"], c["virus_found"], c["virus"]),
                         ("ok", "1", "Eicar-Signature.UNOFFICIAL"), p.out)
        self.assertEqual(p.findings["virus"], "1")
        self.assertEqual(p.findings["virus_name"], "Eicar-Signature.UNOFFICIAL")
        self.assertIn("virus:+0", p.score)      # decisive by the finding, not the total

    def test_over_our_cap_is_not_sent(self):
        rec = self.fake("spamd-rec", "record")
        conf = self.conf(rspamd=None, clamd=None, spamd=rec.path, spamd_max_size="1K")
        p = self.probe(conf, message("x" * 2000 + "\r\n"))
        s = p.results["spamd"]
        self.assertEqual(s["status"], "skipped", p.out)
        self.assertRegex(s["why"], r"^over spamd_max_size \(\d+ > 1024 bytes\)$")
        self.assertEqual(s["sent"], "0")
        self.assertEqual(rec.accepted, 0)
        self.assertEqual(p.findings["tempfail"], "0")
        self.assertEqual(p.score, "spamd:+0")

    def test_over_clamd_own_limit_is_skipped(self):
        big = message("y" * 76 + "\r\n") * 1 + ("z" * 76 + "\r\n").encode() * 2700  # ~210 KB
        self.assertGreater(len(big), scanners.CLAMD_STREAM_MAX)
        p = self.probe(self.conf(rspamd=None, spamd=None), big)
        c = p.results["clamd"]
        self.assertEqual((c["status"], c["why"]), ("skipped", "over clamd's StreamMaxLength"), p.out)
        self.assertEqual(p.findings["tempfail"], "0")


class BrokenScanners(ScannerCase):
    def test_down_is_tempfail(self):
        nowhere = os.path.join(self.dir, "nothing.sock")
        port = harness.free_port()      # nothing listens there
        p = self.probe(self.conf(rspamd=nowhere, spamd=f"127.0.0.1:{port}", clamd=None),
                       message("hi\r\n"))
        r, s = p.results["rspamd"], p.results["spamd"]
        self.assertEqual(r["status"], "tempfail")
        self.assertIn("No such file or directory", r["why"])
        self.assertEqual(s["status"], "tempfail")
        self.assertIn("Connection refused", s["why"])
        self.assertEqual(p.findings["tempfail"], "1")
        self.assertEqual(p.findings["tempfail_scanners"], "rspamd,spamd")

    def test_silent_times_out_others_still_answer(self):
        silent = self.fake("silent", "silent")
        conf = self.conf(rspamd=silent.path, scanner_timeout="2s")
        t0 = time.monotonic()
        p = self.probe(conf, message("hi\r\n"))
        elapsed = time.monotonic() - t0
        r = p.results["rspamd"]
        self.assertEqual(r["status"], "tempfail", p.out)
        self.assertEqual(r["why"], "timeout after 2s (waiting for the answer)")
        self.assertEqual(p.results["spamd"]["status"], "ok")
        self.assertEqual(p.results["clamd"]["status"], "ok")
        self.assertEqual(p.findings["tempfail_scanners"], "rspamd")
        self.assertGreaterEqual(elapsed, 2.0)
        self.assertLess(elapsed, 2.0 + harness.WAIT / 2)

    def test_garbage_is_tempfail(self):
        g = self.fake("garbage", "garbage")
        p = self.probe(self.conf(rspamd=g.path, spamd=g.path, clamd=g.path), message("hi\r\n"))
        for name in ("rspamd", "spamd", "clamd"):
            self.assertEqual(p.results[name]["status"], "tempfail", p.out)
            self.assertTrue(p.results[name]["why"].startswith("bad reply: "), p.out)
        self.assertEqual(p.findings["tempfail_scanners"], "rspamd,spamd,clamd")

    def test_prefix_first_forged_range_left_out(self):
        rec = self.fake("spamd-rec", "record")
        forged = ("Authentication-Results: mx.example.test; spf=pass smtp.mailfrom=bank.example;\r\n"
                  "\tdkim=pass header.d=bank.example\r\n")
        msg = message("hello\r\n", extra_headers=forged)
        start = msg.index(b"Authentication-Results:")
        length = len(forged)
        prefix = b"Authentication-Results: mx.example.test; spf=none smtp.mailfrom=example.net\r\n"
        prefix_path = os.path.join(self.dir, "prefix")
        with open(prefix_path, "wb") as f:
            f.write(prefix)
        conf = self.conf(rspamd=None, clamd=None, spamd=rec.path)
        p = self.probe(conf, msg, "-p", prefix_path, "-s", f"{start}:{length}")
        self.assertEqual(p.results["spamd"]["status"], "ok", p.out)
        self.assertEqual(len(rec.requests), 1)
        head, _, body = rec.requests[0].partition(b"\r\n\r\n")
        want = prefix + msg[:start] + msg[start + length:]
        self.assertEqual(head, b"SYMBOLS SPAMC/1.5\r\nContent-length: %d" % len(want))
        self.assertEqual(body, want)
        self.assertNotIn(b"bank.example", body)
        self.assertEqual(p.results["spamd"]["sent"], str(len(want)))

    def test_cancel_calls_nothing_back(self):
        silent = self.fake("silent", "silent")
        p = self.probe(self.conf(rspamd=silent.path, spamd=None, clamd=None),
                       message("hi\r\n"), "-c", "200")
        self.assertIn("cancelled\tjobs=0", p.out)
        self.assertEqual(p.results, {})
        harness.wait_until(lambda: silent.accepted == 1, what="the scanner was connected")


class ConfigCheck(unittest.TestCase):
    """homemxd -n checks the scanner lines as the screen will need them."""

    def run_check(self, text):
        d = tempfile.mkdtemp(prefix="conf-", dir=ROOT)
        with open(os.path.join(d, "homemx.conf"), "w") as f:
            f.write(text)
        p = subprocess.run([HOMEMXD, "-n", "-f", "homemx.conf"], cwd=d,
                           capture_output=True, text=True, timeout=harness.WAIT)
        shutil.rmtree(d, ignore_errors=True)
        return p

    def test_valid_and_refused(self):
        base = f"listen smtp 127.0.0.1:2525\nscreen_dir {ROOT}\n"
        ok = self.run_check(base + f"rspamd {DAEMONS['rspamd'].socket}\nspamd 127.0.0.1:783\n"
                            "clamd none\nscanner_timeout 10s\nspamd_weight 1.5\n")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        bad = self.run_check(base + "clamd /run/clamav/clamd.ctl\n")
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("clamd /run/clamav/clamd.ctl: the screen runs chrooted into screen_dir", bad.stderr)


if __name__ == "__main__":
    unittest.main()
