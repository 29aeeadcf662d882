"""tests/e2e/test_screen_greylist.py - greylisting in the grey zone,
through the real daemon, on a clock the test moves.

Owns: the proof of the greylist contract (conf/homemx.conf.example, "The
screen"; screen/memory.h): the first attempt of (client /24 or /64, sender,
recipient) gets 451 4.7.1, a retry before greylist_delay 451 again, a retry
after it passes and the source is then known; a sender whose SPF passed is
remembered by its domain (a retry from another /24 of its SPF set passes);
a client on an allow list is never delayed; greylist_window and
greylist_pass_memory expire; the memory survives a kill -9 of the role.

The clock: every role runs under libfaketime (screen_world.FakeClock), so a
day of greylist_window passes in one file write, never in a sleep; the
screen reads the offset inside its chroot. Default weights throughout: a
client without PTR and without SPF scores no_ptr 4 + spf_none 1 = 5, in
the grey zone (4..9). Each test uses a /24 of its own (10.101.N.0/24), so
the tests do not see each other's memory however the clock moves.
"""
import calendar
import os
import re
import time
import unittest

from netns import can_use_netns
from screen_world import FAKETIME_LIB, SCREEN_BINARY, ScreenCase

NETNS_OK, NETNS_WHY = can_use_netns()
HAVE_SCREEN = os.path.exists(SCREEN_BINARY)
HELO = "mail.plain.example"      # resolves, matches no client's PTR here

DELAY = 120           # greylist_delay
WINDOW = 4 * 3600     # greylist_window
MEMORY = 7 * 86400    # greylist_pass_memory


def net(n, host=10):
    return f"10.101.{n}.{host}"


@unittest.skipUnless(NETNS_OK, NETNS_WHY)
@unittest.skipUnless(HAVE_SCREEN, "homemx-screen not built")
@unittest.skipUnless(os.path.exists(FAKETIME_LIB), "libfaketime not installed")
class Greylist(ScreenCase, unittest.TestCase):
    CLOCK = True
    CONF = f"""
greylist_delay {DELAY}s
greylist_window {WINDOW}s
greylist_pass_memory {MEMORY}s
dnswl wl.example weight=-1 match=last-octet
"""

    @classmethod
    def extra_zones(cls, w):
        for n in range(1, 12):
            for host in (10, 11, 12):
                w.add_client(f"g{n}.{host}", net(n, host))
        w.add_client("noptr6b", "2001:db8:20::26")
        # a provider whose SPF covers two /24s
        w.mail_domain("bigprov.example", mx="mx.bigprov.example",
                      spf=f"v=spf1 ip4:{net(2, 0)}/24 ip4:{net(3, 0)}/24 -all")
        w.dns.add("mx.bigprov.example", "A", net(2, 1))

    def attempt(self, ip, sender, rcpt="kim@example.test", helo=HELO, body=True):
        return self.judged(ip, helo, sender, rcpt, body=body)

    def assertGrey(self, tv, decision):
        t, v = tv
        self.assertVerdict(t, v, 451, "4.7.1", "greylist")
        self.assertEqual(v["greylist"], decision, v)
        self.assertFalse(t.delivered(), t)

    def assertPasses(self, tv, decision):
        t, v = tv
        self.assertVerdict(t, v, 250, "2.1.5", "accept")
        self.assertEqual(v["greylist"], decision, v)
        self.assertGreaterEqual(int(v["score"]), 4, v)     # still in the grey zone
        self.assertTrue(t.delivered(), t)

    def test_first_early_passed_known(self):
        ip = net(1)
        before = len(self.h.messages("kim@example.test"))
        first = self.attempt(ip, "a@nospf.example")
        self.assertGrey(first, "first")
        self.assertEqual(int(first[1]["score"]), 5, first[1])
        self.assertGrey(self.attempt(ip, "a@nospf.example"), "early")
        self.h.clock.advance(DELAY - 10)
        self.assertGrey(self.attempt(ip, "a@nospf.example"), "early")
        self.h.clock.advance(20)
        self.assertPasses(self.attempt(ip, "a@nospf.example"), "passed")
        # the /24 is known now: another address, sender and recipient
        self.assertPasses(self.attempt(net(1, 11), "b@nospf.example", "lee@example.test"),
                          "known")
        self.h.wait_messages("kim@example.test", before + 1)
        self.assertEqual(len(self.h.wait_messages("lee@example.test", 1)), 1)

    def test_screen_runs_on_the_fake_clock(self):
        """The screen's own log stamps carry the offset: the clock file is
        read inside its chroot."""
        self.h.clock.advance(3 * 86400)
        since = self.h.log_size()
        self.attempt(net(11), "clock@nospf.example", body=False)
        line = re.search(r"^(\S+)Z homemx-screen\[\d+\]: event=verdict .*ip=10\.101\.11\.10$",
                         self.h.log()[since:], re.M)
        self.assertIsNotNone(line)
        stamp = calendar.timegm(time.strptime(line.group(1).split(".")[0], "%Y-%m-%dT%H:%M:%S"))
        self.assertAlmostEqual(stamp, self.h.clock.now(), delta=120)

    def test_spf_pass_is_remembered_by_domain(self):
        """no_ptr 4 + helo_not_fqdn 3 + spf_pass -2 = 5: grey. The retry
        comes from another /24 of the provider's SPF set and passes; the
        same from a sender without SPF starts over."""
        self.assertGrey(self.attempt(net(2), "a@bigprov.example", helo="relaybox"), "first")
        self.assertGrey(self.attempt(net(2), "a@nospf.example", helo="relaybox"), "first")
        self.h.clock.advance(DELAY + 10)
        t, v = self.attempt(net(3), "a@bigprov.example", helo="relaybox")
        self.assertEqual(v["checks"].get("spf_pass"), -2, v)
        self.assertPasses((t, v), "passed")
        self.assertGrey(self.attempt(net(3), "a@nospf.example", helo="relaybox"), "first")

    def test_allow_listed_client_is_never_greylisted(self):
        """helo_not_fqdn 3 + spf_none 1 + suspicious_tld 6 - dnswl 1 = 9:
        grey, but listed on wl.example, so accepted at the first attempt."""
        t, v = self.attempt("203.0.113.40", "a@deals.icu", helo="wlbox")
        self.assertEqual(v["checks"].get("dnswl:wl.example"), -1, v)
        self.assertPasses((t, v), "dnswl")

    def test_window_expiry_starts_over(self):
        ip = net(4)
        self.assertGrey(self.attempt(ip, "a@nospf.example"), "first")
        self.h.clock.advance(WINDOW + 60)
        self.assertGrey(self.attempt(ip, "a@nospf.example"), "first")
        self.h.clock.advance(DELAY + 10)
        self.assertPasses(self.attempt(ip, "a@nospf.example"), "passed")

    def test_pass_memory_expiry(self):
        ip = net(5)
        self.assertGrey(self.attempt(ip, "a@nospf.example"), "first")
        self.h.clock.advance(DELAY + 10)
        self.assertPasses(self.attempt(ip, "a@nospf.example"), "passed")
        self.h.clock.advance(MEMORY - 3600)
        self.assertPasses(self.attempt(ip, "b@nospf.example"), "known")
        # MEMORY after the last pass (and after the last use), it is gone
        self.h.clock.advance(MEMORY + 60)
        self.assertGrey(self.attempt(ip, "c@nospf.example"), "first")

    def test_memory_survives_a_killed_screen(self):
        ip = net(6)
        self.assertGrey(self.attempt(ip, "a@nospf.example"), "first")
        self.assertGrey(self.attempt(net(6, 11), "z@nospf.example"), "first")
        self.restart_screen()
        self.h.clock.advance(DELAY + 10)
        self.assertPasses(self.attempt(net(6, 11), "z@nospf.example"), "passed")
        self.restart_screen()
        self.assertPasses(self.attempt(net(6, 12), "b@nospf.example", "ann@example.test"),
                          "known")

    def test_ipv6_source_is_the_64(self):
        self.assertGrey(self.attempt("2001:db8:20::25", "a@nospf.example"), "first")
        self.h.clock.advance(DELAY + 10)
        self.assertPasses(self.attempt("2001:db8:20::25", "a@nospf.example"), "passed")
        self.assertPasses(self.attempt("2001:db8:20::26", "b@nospf.example", "bob@example.test"),
                          "known")

    def test_triplet_is_per_recipient_and_sender(self):
        ip = net(7)
        self.assertGrey(self.attempt(ip, "a@nospf.example", "kim@example.test"), "first")
        self.assertGrey(self.attempt(ip, "a@nospf.example", "lee@example.test"), "first")
        self.assertGrey(self.attempt(ip, "b@nospf.example", "kim@example.test"), "first")
        self.h.clock.advance(DELAY + 10)
        self.assertPasses(self.attempt(ip, "b@nospf.example", "kim@example.test"), "passed")
        self.assertPasses(self.attempt(ip, "a@nospf.example", "lee@example.test"), "known")

    def test_mxctl_why_shows_the_greylist_step(self):
        t, v = self.attempt(net(8), "a@nospf.example", body=False)
        p = self.h.mxctl("why", t.ref())
        self.assertRegex(p.stdout, r"verdict\s+greylist \(451 4\.7\.1\), score 5, greylist first")
        self.assertRegex(p.stdout, r"checks\s+no_ptr\s+\+4")


if __name__ == "__main__":
    unittest.main()
