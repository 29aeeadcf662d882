"""tests/e2e/test_screen_dns.py - the screen when DNS fails or lies, and
when the screen itself is gone.

Owns: the proof of the "unknown range" rule (screen/score.h): a check whose
DNS did not answer (timeout, SERVFAIL, a packet that does not parse) counts
as a range; when the range could change the verdict the reply is 451 4.4.3,
when it cannot (a forged HELO, a clean sender) the verdict stands. A list
that answers nothing at all fails the RFC 5782 probe and is ignored, not
turned into a 451 for everyone. Malformed answers (bad PTR names, CNAME
loops, oversize or too many records) never crash the role. A screen that
is killed or hangs costs the session 451 4.3.0, and the same session is
screened again once the supervisor has restarted it.

The daemon asks screen_world.OddDns, which answers the names of the rules
below oddly and forwards everything else to the world's unbound. Default
weights; screen_dns_timeout 2s.
"""
import os
import signal
import time
import unittest

from dnslib import CNAME, PTR, QTYPE, RR, TXT, DNSLabel

from netns import can_use_netns
from screen_world import SCREEN_BINARY, ScreenCase, dnsbl_name, ptr_name

NETNS_OK, NETNS_WHY = can_use_netns()
HAVE_SCREEN = os.path.exists(SCREEN_BINARY)
PLAIN = "10.99.0.10"
HELO = "mail.plain.example"
DNS_TIMEOUT = 2


def net(n, host=10):
    return f"10.101.{n}.{host}"


def ptr_reply(*names):
    """An answer with these PTR targets (labels as bytes: any octet)."""
    def answer(q):
        r = q.reply()
        for n in names:
            label = DNSLabel([x.encode("latin-1") for x in n.split(".")])
            r.add_answer(RR(q.q.qname, QTYPE.PTR, rdata=PTR(label), ttl=60))
        return r
    return answer


def cname_loop(q):
    r = q.reply()
    r.add_answer(RR("loop.example", QTYPE.CNAME, rdata=CNAME("loop2.example"), ttl=60))
    r.add_answer(RR("loop2.example", QTYPE.CNAME, rdata=CNAME("loop.example"), ttl=60))
    return r


def many_txt(q):
    r = q.reply()
    for i in range(40):
        r.add_answer(RR(q.q.qname, QTYPE.TXT, rdata=TXT(f"v=spf1 ip4:192.0.2.{i} -all"), ttl=60))
    return r


@unittest.skipUnless(NETNS_OK, NETNS_WHY)
@unittest.skipUnless(HAVE_SCREEN, "homemx-screen not built")
class DnsTrouble(ScreenCase, unittest.TestCase):
    ODD_DNS = True
    CONF = """
dnsbl bl.example weight=8
dnsbl bl2.example weight=3
dnsbl deadbl.example weight=8
"""

    @classmethod
    def extra_zones(cls, w):
        for n in range(50, 66):
            w.add_client(f"d{n}", net(n))
        w.add_client("d56good", net(56, 11))
        w.dns.add("mail56.good56.example", "A", net(56))
        # a TXT of 6000 octets: UDP says TC, the rest comes over TCP
        w.spf("bigtxt.example", "v=spf1 " + " ".join(f"ip4:192.0.2.{i % 250}" for i in range(450))
              + " -all")
        w.mail_domain("bigtxt.example", mx="mx.nospf.example")
        w.mail_domain("manytxt.example", mx="mx.nospf.example")
        w.mail_domain("slowmx.example")

    @classmethod
    def odd_rules(cls, odd):
        odd.rule("deadbl.example", "silent")
        odd.rule(ptr_name(net(51)), "silent")
        odd.rule(ptr_name(net(52)), "servfail")
        odd.rule(ptr_name(net(53)), "garbage")
        odd.rule(ptr_name(net(54)), "badcount")
        odd.rule(ptr_name(net(55)), ptr_reply("bad name.example", "-dash.example", "192.0.2.7"))
        odd.rule(ptr_name(net(56)), ptr_reply("bad name.example", "mail56.good56.example"))
        odd.rule(ptr_name(net(57)), ptr_reply(*[f"h{i}.many.example" for i in range(40)]))
        odd.rule(dnsbl_name(PLAIN, "bl.example"), "silent")
        odd.rule(dnsbl_name("203.0.113.10", "bl2.example"), "silent")
        odd.rule("loop.example", cname_loop)
        odd.rule("loop2.example", cname_loop)
        odd.rule("manytxt.example", many_txt)
        odd.rule("slowmx.example", "silent")

    def setUp(self):
        # the probe finds deadbl.example dead once at the start: wait for it
        self.h.wait_line(r"homemx-screen\[\d+\]: .*deadbl\.example.*dead", timeout=30)

    def assertUnknown(self, v, item):
        """item is a range in the log ("?+0..+4"): its DNS did not answer,
        whether the round's budget ran out (dns=gave_up) or the resolver
        said so first (a timeout, SERVFAIL: dns=complete)."""
        self.assertIn(v["dns"], ("gave_up", "complete"), v)
        self.assertTrue(str(v["checks"].get(item, "")).startswith("?"), v)

    def assertDnsTempfail(self, t, v, item):
        self.assertVerdict(t, v, 451, "4.4.3", "tempfail")
        self.assertUnknown(v, item)

    def test_ptr_timeout_tempfails(self):
        t0 = time.monotonic()
        t, v = self.judged(net(51), HELO, "a@nospf.example")
        self.assertDnsTempfail(t, v, "no_ptr")
        self.assertLess(time.monotonic() - t0, DNS_TIMEOUT + 4)

    def test_ptr_servfail_tempfails(self):
        t, v = self.judged(net(52), HELO, "a@nospf.example")
        self.assertDnsTempfail(t, v, "no_ptr")

    def test_unparseable_answers_tempfail(self):
        for n in (53, 54):
            with self.subTest(answer=n):
                t, v = self.judged(net(n), HELO, "a@nospf.example")
                self.assertDnsTempfail(t, v, "no_ptr")

    def test_list_timeout_that_could_tip_the_verdict(self):
        """helo_matches_ptr -1 + spf_none 1 = 0, bl.example 0..8: 451 4.4.3."""
        t, v = self.judged(PLAIN, HELO, "a@nospf.example")
        self.assertDnsTempfail(t, v, "dnsbl:bl.example")

    def test_clear_cases_are_decided_despite_a_silent_list(self):
        # -3 + bl2.example's 0..3 stays below greylist_score 4: accepted
        t, v = self.judged("203.0.113.10", "mail.good.example", "a@good.example", body=True)
        self.assertVerdict(t, v, 250, "2.1.5", "accept")
        self.assertUnknown(v, "dnsbl:bl2.example")
        self.assertTrue(t.delivered(), t)
        # a forged HELO is refused whatever bl.example says
        t, v = self.judged(PLAIN, "mx.example.test", "b@nospf.example")
        self.assertVerdict(t, v, 550, "5.7.1", "reject")
        self.assertUnknown(v, "dnsbl:bl.example")

    def test_dead_list_is_ignored(self):
        t, v = self.judged("203.0.113.11", "mx2.good.example", "c@good.example")
        self.assertVerdict(t, v, 250, "2.1.5", "accept")
        self.assertEqual(v["dns"], "complete", v)
        self.assertNotIn("dnsbl:deadbl.example", v["checks"])

    def test_sender_mx_timeout(self):
        t, v = self.judged(net(58), HELO, "a@slowmx.example")
        self.assertDnsTempfail(t, v, "sender_no_mail")

    def test_ptr_names_that_are_no_host_names(self):
        t, v = self.judged(net(55), HELO, "a@nospf.example")
        self.assertEqual(v["checks"].get("no_ptr"), 4, v)      # as if there were none
        self.assertEqual(v["dns"], "complete", v)
        self.assertVerdict(t, v, 451, "4.7.1", "greylist")
        # one good name among bad ones is the client's name
        t, v = self.judged(net(56), "mail56.good56.example", "a@nospf.example")
        self.assertNotIn("no_ptr", v["checks"], v)
        self.assertEqual(v["ptr"], "mail56.good56.example", v)

    def test_odd_answers_never_crash_the_role(self):
        pid, since = self.h.screen_pid(), self.h.log_size()
        for ip, sender in ((net(57), "a@nospf.example"),           # 40 PTRs
                           ("203.0.113.11", "a@loop.example"),     # CNAME loop
                           ("203.0.113.11", "a@bigtxt.example"),   # 6000-octet SPF record
                           ("203.0.113.11", "a@manytxt.example")):  # 40 SPF records
            with self.subTest(ip=ip, sender=sender):
                t, v = self.judged(ip, "mx2.good.example", sender)
                self.assertIn(t.rcpt_code(), (250, 451, 550), t)
                self.assertEqual(self.h.screen_pid(), pid)
        self.assertNotIn("role_exit role=screen", self.h.log()[since:])

    def test_killed_screen_mid_session(self):
        since = self.h.log_size()
        c = self.raw("203.0.113.12")
        try:
            self.assertEqual(c.reply()[0], 220)
            self.assertEqual(c.cmd("EHLO mx3.good.example")[0], 250)
            self.assertEqual(c.cmd("MAIL FROM:<k@good.example>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<kim@example.test>")[0], 250)
            os.kill(self.h.screen_pid(), signal.SIGKILL)
            self.h.wait_line(r"homemx-smtpd\[\d+\]: event=link_down peer=screen", since=since)
            code, text = c.cmd("RCPT TO:<lee@example.test>")
            self.assertEqual((code, text[4:9]), (451, "4.3.0"), text)
            self.h.wait_screen_link(since=since)
            code, text = c.cmd("RCPT TO:<ann@example.test>")
            self.assertEqual(code, 250, text)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send("Subject: after the restart\r\n\r\nhello\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)
            c.cmd("QUIT")
        finally:
            c.close()
        self.h.wait_messages("ann@example.test", 1)

    def test_hung_screen(self):
        """SIGSTOP: the screen does not answer; smtpd gives up on it."""
        pid = self.h.screen_pid()
        since = self.h.log_size()
        os.kill(pid, signal.SIGSTOP)
        try:
            # smtpd gives the screen 2 * screen_dns_timeout + 5 s
            # (smtpd/guard.h), not its general answer deadline (120 s)
            started = time.monotonic()
            t = self.send("203.0.113.11", "mx2.good.example", "h@good.example",
                          "bob@example.test", timeout=300)
            waited = time.monotonic() - started
            self.h.wait_line(r"screen did not answer request \d+ in time", since=since)
        finally:
            os.kill(pid, signal.SIGCONT)
        self.assertEqual(t.rcpt_code(), 451, t)
        self.assertTrue(t.rcpt_text().startswith("4.3.0"), t)
        self.assertLess(waited, 100, "smtpd waited its general answer deadline")
        # running again (or restarted by the supervisor meanwhile), it answers
        if self.h.screen_pid() != pid:
            self.h.wait_screen_link(since=since)
        t, v = self.judged("203.0.113.11", "mx2.good.example", "h2@good.example",
                           "bob@example.test")
        self.assertVerdict(t, v, 250, "2.1.5", "accept")

if __name__ == "__main__":
    unittest.main()
