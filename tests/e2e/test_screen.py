"""tests/e2e/test_screen.py - the inbound screen through the real daemon:
each check alone, the thresholds, the role's sandbox, `mxctl why`, the
fail2ban filter.

Owns: the proof that what lib/config_screen.h and conf/homemx.conf.example
promise happens on the wire. Every client connects from its own address
in the world of tests/e2e/screen_world.py (network namespaces, unbound
serving PTRs, lists, SPF and sender domains), so the screen judges it
like a stranger on the Internet; loopback stays trusted for the
harness's readiness probe only.

Checks: every check runs with a weight of its own (11, 12, ...: a
number no default has), so the log line proves which check fired and
that the configured weight - not a default - was used. The thresholds
are out of reach there (1000), so each verdict is an accept and only
the contributions count.
Thresholds: small weights put each client exactly at, below or above a
threshold; the replies, the log line, the ref in the reply and the
neutral reply text are asserted together.
Greylisting, DNS trouble and restarts: test_screen_greylist.py,
test_screen_dns.py. The mixed population: test_screen_population.py.

Needs root (ip netns) and build/homemx-screen; skipped otherwise.
"""
import os
import pwd
import re
import shutil
import smtplib
import ssl
import subprocess
import tempfile
import unittest

import harness
from netns import can_use_netns, in_netns
from screen_world import SCREEN_BINARY, ScreenCase

NETNS_OK, NETNS_WHY = can_use_netns()
HAVE_SCREEN = os.path.exists(SCREEN_BINARY)
FAIL2BAN_FILTER = os.path.join(harness.REPO, "conf", "fail2ban", "homemx.conf")

PLAIN = "10.99.0.10"            # PTR mail.plain.example, FCrDNS passes
PLAIN_HELO = "mail.plain.example"


@unittest.skipUnless(NETNS_OK, NETNS_WHY)
@unittest.skipUnless(HAVE_SCREEN, "homemx-screen not built")
class Checks(ScreenCase, unittest.TestCase):
    CONF = """
reject_score 1000
tempfail_score 1000
greylist_score 1000
weight no_ptr 11
weight fcrdns_fail 12
weight dynamic_ptr 13
weight helo_not_fqdn 14
weight helo_literal 15
weight helo_no_dns 16
weight helo_matches_ptr -17
weight spf_pass -18
weight spf_fail 19
weight spf_softfail 20
weight spf_neutral 21
weight spf_none 22
weight spf_permerror 23
weight sender_nxdomain 24
weight sender_no_mail 25
weight sender_null_mx 26
weight suspicious_tld 27
weight client_errors 29
dnsbl bl.example weight=7 ipv6=yes
dnsbl bl2.example weight=3 127.0.0.4=5
dnsbl blocked.example weight=50
dnsbl everything.example weight=60
dnswl wl.example weight=-2 match=last-octet 3=-6
"""

    @classmethod
    def extra_zones(cls, w):
        # SPF for the HELO identity (RFC 7208 2.3), used when MAIL FROM is <>
        w.spf("mail.plain.example", "v=spf1 a -all")

    def check(self, ip, helo, mail_from, expect, absent=()):
        """One transaction; expect {check: weight} among the contributions,
        none of absent; an accept (the thresholds are out of reach)."""
        t, v = self.judged(ip, helo, mail_from)
        self.assertVerdict(t, v, 250, "2.1.5", "accept")
        self.assertEqual(v["dns"], "complete", v)
        for name, weight in expect.items():
            self.assertEqual(v["checks"].get(name), weight, f"{name} in {v}")
        for name in absent:
            self.assertNotIn(name, v["checks"], v)
        return v

    # -- the client's identity --
    def test_good_client_gets_only_its_bonuses(self):
        v = self.check("203.0.113.10", "mail.good.example", "a@good.example",
                       {"helo_matches_ptr": -17, "spf_pass": -18},
                       absent=("no_ptr", "fcrdns_fail", "dynamic_ptr", "helo_no_dns"))
        self.assertEqual(v["ptr"], "mail.good.example")
        self.assertEqual(int(v["score"]), -35, v)

    def test_no_ptr(self):
        v = self.check("10.20.30.40", PLAIN_HELO, "a@nospf.example", {"no_ptr": 11},
                       absent=("fcrdns_fail", "dynamic_ptr"))
        self.assertEqual(v["ptr"], "-")

    def test_no_ptr_ipv6(self):
        self.check("2001:db8:20::25", PLAIN_HELO, "a@nospf.example", {"no_ptr": 11})

    def test_fcrdns_mismatch(self):
        self.check("10.40.50.60", PLAIN_HELO, "a@nospf.example", {"fcrdns_fail": 12},
                   absent=("no_ptr",))

    def test_fcrdns_name_without_address(self):
        self.check("10.40.50.61", PLAIN_HELO, "a@nospf.example", {"fcrdns_fail": 12},
                   absent=("no_ptr",))

    def test_dynamic_ptr(self):
        self.check("198.51.100.7", PLAIN_HELO, "a@nospf.example", {"dynamic_ptr": 13},
                   absent=("no_ptr", "fcrdns_fail"))

    # -- HELO --
    def test_helo_not_fqdn(self):
        self.check(PLAIN, "DESKTOP-7Q2", "a@plain.example", {"helo_not_fqdn": 14})

    def test_helo_literal(self):
        self.check(PLAIN, f"[{PLAIN}]", "a@plain.example", {"helo_literal": 15},
                   absent=("helo_not_fqdn", "helo_forged"))

    def test_helo_without_dns(self):
        self.check(PLAIN, "nx.nowhere.example", "a@plain.example", {"helo_no_dns": 16},
                   absent=("helo_matches_ptr",))

    def test_helo_matching_ptr(self):
        self.check(PLAIN, PLAIN_HELO, "a@plain.example", {"helo_matches_ptr": -17})

    # -- SPF (RFC 7208) --
    def test_spf_results(self):
        for sender, name, weight in (("a@plain.example", "spf_pass", -18),
                                     ("a@chain.example", "spf_pass", -18),   # 3 includes deep
                                     ("a@orig.example", "spf_fail", 19),
                                     ("a@softfail.example", "spf_softfail", 20),
                                     ("a@neutral.example", "spf_neutral", 21),
                                     ("a@nospf.example", "spf_none", 22),
                                     ("a@permerror.example", "spf_permerror", 23)):
            with self.subTest(sender=sender):
                self.check(PLAIN, PLAIN_HELO, sender, {name: weight})

    def test_spf_of_helo_for_null_sender(self):
        self.check(PLAIN, PLAIN_HELO, "", {"spf_pass": -18})

    # -- the sender's domain --
    def test_sender_domains(self):
        for sender, name, weight in (("a@nonexistent.example", "sender_nxdomain", 24),
                                     ("a@nomail.example", "sender_no_mail", 25),
                                     ("a@nullmx.example", "sender_null_mx", 26),
                                     ("a@deals.icu", "suspicious_tld", 27)):
            with self.subTest(sender=sender):
                self.check(PLAIN, PLAIN_HELO, sender, {name: weight})
        self.check(PLAIN, PLAIN_HELO, "a@aonly.example", {},
                   absent=("sender_no_mail", "sender_nxdomain", "sender_null_mx"))

    # -- DNS lists --
    def test_dnsbl_weight_and_code_weight(self):
        self.check("10.80.90.100", "relay.listed.example", "a@nospf.example",
                   {"dnsbl:bl.example": 7, "dnsbl:bl2.example": 5})

    def test_dnsbl_ipv6_only_where_asked(self):
        self.check("2001:db8:20::99", "relay.listed6.example", "a@nospf.example",
                   {"dnsbl:bl.example": 7}, absent=("dnsbl:bl2.example",))

    def test_dnswl_code_by_last_octet(self):
        self.check("203.0.113.40", "mail.wlisted.example", "a@wlisted.example",
                   {"dnswl:wl.example": -6})

    def test_refusing_and_everything_lists_never_count(self):
        """blocked.example answers 127.255.255.254 ("you are blocked") and
        everything.example lists 127.0.0.1 too: neither is ever a hit, and
        each is reported once, however many clients come."""
        for ip in ("10.80.90.100", "10.20.30.40", PLAIN):
            self.check(ip, PLAIN_HELO, "a@nospf.example", {})
        for v in self.h.verdicts():
            for name in ("dnsbl:blocked.example", "dnsbl:everything.example"):
                self.assertIn(v["checks"].get(name, 0), (0, None), v)
        log = self.h.log()
        for zone in ("blocked.example", "everything.example"):
            lines = re.findall(rf"^.*homemx-screen\[\d+\]: .*{re.escape(zone)}.*$", log, re.M)
            lines = [x for x in lines if "event=verdict" not in x]
            self.assertEqual(len(lines), 1, f"{zone}: {lines}")
        self.assertRegex(log, r"blocked\.example.*refusing")
        self.assertRegex(log, r"everything\.example.*lists_everything")

    # -- behaviour --
    def test_refused_commands(self):
        since = self.h.log_size()
        c = self.raw(PLAIN)
        try:
            self.assertEqual(c.reply()[0], 220)
            self.assertEqual(c.cmd(f"EHLO {PLAIN_HELO}")[0], 250)
            for _ in range(3):
                self.assertGreaterEqual(c.cmd("XYZZY")[0], 500)
            self.assertEqual(c.cmd("MAIL FROM:<a@plain.example>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<kim@example.test>")[0], 250)
        finally:
            c.close()
        v = self.verdict_after(since, PLAIN, "kim@example.test")
        self.assertEqual(v["checks"].get("client_errors"), 29, v)


@unittest.skipUnless(NETNS_OK, NETNS_WHY)
@unittest.skipUnless(HAVE_SCREEN, "homemx-screen not built")
class EarlyTalker(ScreenCase, unittest.TestCase):
    GREETING_DELAY = "1s"
    CONF = "reject_score 1000\ntempfail_score 1000\ngreylist_score 1000\nweight early_talker 28"

    def test_speaking_before_the_greeting(self):
        since = self.h.log_size()
        c = self.raw(PLAIN)
        try:
            c.send(f"EHLO {PLAIN_HELO}\r\n")     # before the 220
            banner = c.reply()
            self.assertEqual(banner[0], 220, banner)    # scored, not cut off
            # the early bytes are dropped: that EHLO was never read
            self.assertEqual(c.cmd(f"EHLO {PLAIN_HELO}")[0], 250)
            self.assertEqual(c.cmd("MAIL FROM:<a@plain.example>")[0], 250)
            c.cmd("RCPT TO:<kim@example.test>")
        finally:
            c.close()
        v = self.verdict_after(since, PLAIN, "kim@example.test")
        self.assertEqual(v["checks"].get("early_talker"), 28, v)
        self.h.wait_line(rf"event=early_talker sess={v['sess']} ip={re.escape(PLAIN)} ",
                         since=since)
        # a patient client is not one
        t, v = self.judged(PLAIN, PLAIN_HELO, "a@plain.example", "lee@example.test")
        self.assertNotIn("early_talker", v["checks"], v)


@unittest.skipUnless(NETNS_OK, NETNS_WHY)
@unittest.skipUnless(HAVE_SCREEN, "homemx-screen not built")
class Thresholds(ScreenCase, unittest.TestCase):
    # greylist 4, tempfail 8, reject 12; only the weights below count
    CONF = """
greylist_score 4
tempfail_score 8
reject_score 12
weight no_ptr 5
weight dynamic_ptr 9
weight fcrdns_fail 0
weight helo_literal 3
weight helo_not_fqdn 4
weight helo_no_dns 0
weight helo_matches_ptr 0
weight spf_pass 0
weight spf_none 0
weight spf_fail 0
weight spf_softfail 0
weight suspicious_tld 0
spf_fail_reject yes
dnsbl bl.example weight=12
"""
    TRUSTED = "127.0.0.0/8 ::1/128 10.20.30.41/32"

    @classmethod
    def extra_zones(cls, w):
        # clients of the fail2ban test alone, so that its counts are exact
        w.add_client("f2b_listed", "10.80.90.101", "relay2.listed.example")
        w.list_ip("bl.example", "10.80.90.101")
        w.add_client("f2b_dynamic", "198.51.100.9", "dsl-198-51-100-9.pool.example")

    def test_below_greylist_accepts(self):
        t, v = self.judged(PLAIN, PLAIN_HELO, "a@plain.example")
        self.assertVerdict(t, v, 250, "2.1.5", "accept")
        self.assertEqual(int(v["score"]), 0)
        t, v = self.judged(PLAIN, f"[{PLAIN}]", "b@plain.example", body=True)
        self.assertVerdict(t, v, 250, "2.1.5", "accept")
        self.assertEqual(int(v["score"]), 3)
        self.assertTrue(t.delivered(), t)

    def test_at_greylist_score_greylists(self):
        t, v = self.judged(PLAIN, "plainbox", "c@plain.example")
        self.assertVerdict(t, v, 451, "4.7.1", "greylist")
        self.assertEqual((int(v["score"]), v["greylist"]), (4, "first"), v)
        t, v = self.judged("10.20.30.40", PLAIN_HELO, "d@nospf.example")
        self.assertVerdict(t, v, 451, "4.7.1", "greylist")
        self.assertEqual(int(v["score"]), 5)

    def test_tempfail_zone_never_passes(self):
        for _ in range(2):
            t, v = self.judged("198.51.100.7", PLAIN_HELO, "e@nospf.example")
            self.assertVerdict(t, v, 451, "4.7.1", "tempfail")
            self.assertEqual(int(v["score"]), 9)
            self.assertEqual(v["greylist"], "-", v)

    def test_reject_score_rejects(self):
        t, v = self.judged("10.80.90.100", "relay.listed.example", "f@nospf.example")
        self.assertVerdict(t, v, 550, "5.7.1", "reject")
        self.assertEqual({k: w for k, w in v["checks"].items() if w}, {"dnsbl:bl.example": 12}, v)

    def test_forged_helo_rejects(self):
        for helo in ("mx.example.test", "[192.0.2.1]"):
            with self.subTest(helo=helo):
                t, v = self.judged(PLAIN, helo, "g@plain.example")
                self.assertVerdict(t, v, 550, "5.7.1", "reject")
                self.assertEqual(v["checks"].get("helo_forged"), 100, v)

    def test_spf_fail_rejects_with_5_7_23(self):
        t, v = self.judged("203.0.113.30", "fwd.forwarder.example", "h@orig.example")
        self.assertVerdict(t, v, 550, "5.7.23", "reject")
        self.assertEqual(v["checks"].get("spf_fail"), 0, v)

    def test_trusted_network_skips_every_check(self):
        t, v = self.judged("10.20.30.41", "nothing", "i@nonexistent.example")
        self.assertVerdict(t, v, 250, "2.1.5", "accept")
        self.assertEqual(v["checks"], {"trusted_network": -100}, v)

    def test_unknown_user_is_refused_before_the_screen(self):
        since = self.h.log_size()
        t = self.send("10.80.90.100", "relay.listed.example", "j@nospf.example",
                      ["nobody@example.test", "kim@example.test"])
        self.assertEqual(t.rcpt_code("nobody@example.test"), 550, t)
        self.assertTrue(t.rcpt_text("nobody@example.test").startswith("5.1.1"), t)
        self.assertEqual(t.rcpt_code("kim@example.test"), 550, t)
        self.verdict_after(since, "10.80.90.100", "kim@example.test")
        self.assertEqual([v for v in self.h.verdicts(since) if v["to"] == "nobody@example.test"], [])

    def test_reply_text_is_the_same_for_every_reason(self):
        a, _ = self.judged("10.80.90.100", "relay.listed.example", "k@nospf.example")
        b, _ = self.judged(PLAIN, "mx.example.test", "k@plain.example")
        # not plain.example: its SPF pass was learned (an accepted message
        # that passed aligned teaches the greylist its source)
        c, _ = self.judged(PLAIN, "plainbox", "k2@nospf.example")
        d, _ = self.judged("198.51.100.8", PLAIN_HELO, "k@nospf.example")

        def neutral(t):
            return t.rcpt_text().replace(t.ref(), "REF")
        self.assertEqual(neutral(a), neutral(b))
        self.assertEqual(a.rcpt_code(), 550)
        self.assertEqual((c.rcpt_code(), d.rcpt_code()), (451, 451))
        self.assertEqual(neutral(c), neutral(d))
        for t in (a, b, c, d):
            self.assertNotRegex(t.rcpt_text().lower(), r"dnsbl|ptr|helo|spf|grey|list|score")

    def test_one_ref_per_recipient(self):
        since = self.h.log_size()
        t = self.send("10.80.90.100", "relay.listed.example", "l@nospf.example",
                      ["kim@example.test", "lee@example.test"])
        r1, r2 = t.ref("kim@example.test"), t.ref("lee@example.test")
        self.assertRegex(r1, r"^[0-9a-f]+-\d+$")
        s1, n1 = r1.rsplit("-", 1)
        s2, n2 = r2.rsplit("-", 1)
        self.assertEqual(s1, s2)
        self.assertEqual(int(n2), int(n1) + 1)
        # each ref has its line (the log reaches the file through homemxd's
        # pipe, so the line may land just after the reply: wait for it)
        for r in (r1, r2):
            self.assertEqual(self.h.verdict(r)["ref"], r)

    def test_sandbox(self):
        """_hmx-screen, chrooted into screen_dir, where neither the store
        nor the spool is in sight."""
        pid = self.h.screen_pid()
        self.assertIsNotNone(pid)
        with open(f"/proc/{pid}/status") as f:
            uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", f.read(), re.M).groups()
        want = pwd.getpwnam("_hmx-screen").pw_uid
        self.assertEqual({int(u) for u in uids}, {want})
        root = os.readlink(f"/proc/{pid}/root")
        self.assertEqual(os.path.realpath(root), os.path.realpath(self.h.screen_dir))
        for d in ("store", "spool", "maildirs", "dkim"):
            inside = os.path.join(f"/proc/{pid}/root", os.path.join(self.h.dir, d).lstrip("/"))
            self.assertFalse(os.path.exists(inside), inside)
            self.assertFalse(os.path.realpath(os.path.join(self.h.dir, d)).startswith(
                os.path.realpath(self.h.screen_dir)))

    def test_mxctl_why_ref_session_and_queue_id(self):
        t, v = self.judged("10.80.90.100", "relay.listed.example", "m@nospf.example")
        ref = t.ref()
        p = self.h.mxctl("why", ref)
        self.assertIn(f"ref {ref} at ", p.stdout)
        self.assertRegex(p.stdout, r"verdict\s+reject \(550 5\.7\.1\), score 12")
        self.assertRegex(p.stdout, r"\s+dnsbl:bl\.example\s+\+12")
        ptr_line = re.search(r"client\s+10\.80\.90\.100 \(ptr (\S+)\)", p.stdout)
        # the session: both recipients of one transaction
        t2 = self.send("10.80.90.100", "relay.listed.example", "n@nospf.example",
                       ["kim@example.test", "lee@example.test"])
        sess = t2.ref().rsplit("-", 1)[0]
        p = self.h.mxctl("why", sess)
        self.assertEqual(sorted(re.findall(r"^ref (\S+) at ", p.stdout, re.M)),
                         sorted([t2.ref("kim@example.test"), t2.ref("lee@example.test")]))
        # a queue id leads to its session's verdicts
        since = self.h.log_size()
        t3 = self.send(PLAIN, PLAIN_HELO, "o@plain.example", ["kim@example.test"], body=True)
        self.assertTrue(t3.delivered(), t3)
        qid = t3.data[1].split()[-1]
        v3 = self.verdict_after(since, PLAIN, "kim@example.test")
        p = self.h.mxctl("why", qid)
        self.assertIn(f"ref {v3['ref']} at ", p.stdout)
        self.assertRegex(p.stdout, r"verdict\s+accept \(250 2\.1\.5\)")
        # and something it never saw
        p = self.h.mxctl("why", "deadbeef-9", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no verdict", p.stderr)
        # the client's verified PTR is part of the breakdown
        self.assertEqual(ptr_line and ptr_line.group(1), "relay.listed.example", ptr_line)

    def test_mxctl_screen_test_agrees_with_the_daemon(self):
        facts = ("10.80.90.100", "relay.listed.example", "r@nospf.example", "kim@example.test")
        p = self.h.mxctl_in_mta("screen", "test", *facts, check=False)
        if p.returncode != 0 and re.search(r"unknown|usage|expected", p.stderr, re.I) and \
                "screen" in p.stderr and "checks" not in p.stdout:
            self.skipTest(f"mxctl screen test not built: {p.stderr.strip()}")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"(?m)^\s+dnsbl\s+bl\.example\s+healthy")
        self.assertRegex(p.stdout, r"(?m)^verdict: reject \(550 5\.7\.1\)")
        section = p.stdout.split("checks (", 1)[1].split("\ntotal:", 1)[0]
        cli = dict(re.findall(r"(?m)^  (\S+)\s+([?+-][-+0-9.]*)  ", section))
        self.assertEqual(cli.get("dnsbl:bl.example"), "+12", p.stdout)
        t, v = self.judged(*facts)
        self.assertEqual({k: int(w) for k, w in cli.items()}, v["checks"], p.stdout)

    @unittest.skipUnless(os.path.exists("/usr/bin/fail2ban-regex"), "fail2ban not installed")
    def test_fail2ban_counts_screen_rejects_only(self):
        """Three 550s for one address are three matches for it; 451s (the
        tempfail zone here) are none."""
        ip = "10.80.90.101"
        for i in range(3):
            t, v = self.judged(ip, "relay2.listed.example", f"p{i}@nospf.example")
            self.assertVerdict(t, v, 550, "5.7.1", "reject")
        for i in range(2):
            t, v = self.judged("198.51.100.9", PLAIN_HELO, f"q{i}@nospf.example")
            self.assertVerdict(t, v, 451, "4.7.1", "tempfail")
        # everything of a session is logged before its disconnect line
        self.h.wait_line(r"event=disconnect sess=\w+ ip=10\.80\.90\.101 ", count=3)
        p = subprocess.run(["fail2ban-regex", "-v", self.h.log_path, FAIL2BAN_FILTER],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        hits = {}
        for m in re.finditer(r"(?m)^\|\s+(\d+\.\d+\.\d+\.\d+)\s+\w{3} ", p.stdout):
            hits[m.group(1)] = hits.get(m.group(1), 0) + 1
        self.assertEqual(hits.get(ip, 0), 3, p.stdout[-3000:])
        self.assertNotIn("198.51.100.9", hits, p.stdout[-3000:])


@unittest.skipUnless(NETNS_OK, NETNS_WHY)
@unittest.skipUnless(HAVE_SCREEN, "homemx-screen not built")
class SubmissionIsNotScreened(ScreenCase, unittest.TestCase):
    """A client the screen refuses on port 25 submits on 587 (STARTTLS,
    AUTH) without a verdict: submission is never screened."""

    @classmethod
    def setUpClass(cls):
        cls.certdir = tempfile.mkdtemp(prefix="hmx-screen-cert-")
        cert, key = (os.path.join(cls.certdir, n) for n in ("cert.pem", "key.pem"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", cert, "-days", "2", "-subj", "/CN=mx.example.test"],
                       check=True, capture_output=True)
        os.chmod(key, 0o644)        # the roles read it as their own users
        cls.CONF = (f"listen submission 192.0.2.1:587\ntls_certificate {cert}\n"
                    f"tls_key {key}\ndnsbl bl.example weight=12")
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.certdir, ignore_errors=True)

    def test_listed_client_submits(self):
        ip = "10.80.90.100"
        t, v = self.judged(ip, "relay.listed.example", "kim@example.test", "lee@example.test")
        self.assertEqual(t.rcpt_code(), 550, t)            # port 25: refused
        self.h.mxctl("dkim", "keygen", "example.test")    # submitted mail is signed
        since = self.h.log_size()
        s = smtplib.SMTP(local_hostname="relay.listed.example", timeout=30,
                         source_address=(ip, 0))
        with in_netns(self.w.host_of(ip).ns):
            s.connect("192.0.2.1", 587)
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        s._host = "mx.example.test"        # starttls() wants a server name
        s.starttls(context=ctx)
        s.login("kim@example.test", "secret")
        s.sendmail("kim@example.test", ["lee@example.test"],
                   b"From: <kim@example.test>\r\nTo: <lee@example.test>\r\n"
                   b"Subject: submitted\r\n\r\nhello\r\n")
        s.quit()
        msgs = self.h.wait_messages("lee@example.test", 1)
        self.assertIn(b"Subject: submitted", msgs[-1])
        self.assertEqual([x for x in self.h.verdicts(since) if x["ip"] == ip], [])


if __name__ == "__main__":
    unittest.main()
