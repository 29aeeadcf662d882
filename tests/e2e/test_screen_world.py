"""tests/e2e/test_screen_world.py - the screen tests' world, tested on its
own (tests/e2e/screen_world.py): unbound answers exactly what the zones
say, the odd DNS server misbehaves as asked and forwards the rest, the
clients leave from the source address they were given (the daemon logs
the peer address it saw), and the fake clock reaches the daemon.

If this file fails, the test_screen*.py results mean little: read its
failures first.
"""
import calendar
import os
import re
import time
import unittest

from dnslib import QTYPE, RR, TXT

from netns import can_use_netns
from screen_dns import dns_ask
from screen_world import CATALOG, FAKETIME_LIB, dnsbl_name, ptr_name, standard_world

NETNS_OK, NETNS_WHY = can_use_netns()


@unittest.skipUnless(NETNS_OK, NETNS_WHY)
class WorldDns(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = standard_world()
        cls.w.dns.add("big.example", "TXT", " ".join(f'"{c * 250}"' for c in "abcdefghijklmnopqrstu"))
        try:
            cls.w.start()
            cls.odd = cls.w.use_odd_dns()
        except BaseException:
            cls.w.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.w.stop()

    def ask(self, name, qtype="A", port=53, tcp=False, timeout=3.0):
        return dns_ask(self.w.topo.mta, "127.0.0.1", name, qtype, port=port, tcp=tcp,
                       timeout=timeout)

    def test_reverse_and_forward_of_every_catalog_client(self):
        for label, ip, ptr, forward in CATALOG:
            rcode, names, _ = self.ask(ptr_name(ip), "PTR")
            if ptr is None:
                self.assertEqual((rcode, names), ("NXDOMAIN", []), label)
                continue
            self.assertEqual((rcode, names), ("NOERROR", [ptr + "."]), label)
            qtype = "AAAA" if ":" in ip else "A"
            rcode, addrs, _ = self.ask(ptr, qtype)
            if forward == "=":
                self.assertEqual(addrs, [ip], label)
            elif forward is None:
                self.assertEqual(addrs, [], label)
            else:
                self.assertEqual(addrs, [forward], label)

    def test_dynamic_ptr_name_resolves_back(self):
        self.assertEqual(self.ask("dsl-198-51-100-7.pool.example")[1], ["198.51.100.7"])

    def test_lists_answer_rfc5782_test_entries(self):
        for zone in ("bl.example", "bl2.example", "zen.spamhaus.org", "bl.spamcop.net",
                     "ix.dnsbl.manitu.net", "psbl.surriel.com"):
            self.assertEqual(self.ask(dnsbl_name("127.0.0.2", zone))[1], ["127.0.0.2"], zone)
            self.assertEqual(self.ask(dnsbl_name("127.0.0.1", zone))[0], "NXDOMAIN", zone)
            self.assertEqual(self.ask(dnsbl_name("::ffff:7f00:2", zone))[1], ["127.0.0.2"], zone)
            self.assertEqual(self.ask(dnsbl_name("::ffff:7f00:1", zone))[0], "NXDOMAIN", zone)
        self.assertEqual(self.ask(dnsbl_name("127.0.0.2", "list.dnswl.org"))[1], ["127.0.10.0"])

    def test_listings(self):
        self.assertEqual(self.ask("100.90.80.10.bl.example")[1], ["127.0.0.2"])
        self.assertEqual(self.ask("100.90.80.10.bl2.example")[1], ["127.0.0.4"])
        self.assertEqual(self.ask("10.70.60.10.zen.spamhaus.org")[1], ["127.0.0.3"])
        self.assertEqual(self.ask("40.113.0.203.list.dnswl.org")[1], ["127.0.15.3"])
        v6 = dnsbl_name("2001:db8:20::99", "zen.spamhaus.org")
        self.assertEqual(len(v6.split(".")), 32 + 3)
        self.assertEqual(self.ask(v6)[1], ["127.0.0.2"])
        self.assertEqual(self.ask("10.113.0.203.zen.spamhaus.org")[0], "NXDOMAIN")

    def test_blocked_and_everything_lists_answer_for_any_name(self):
        for name in ("1.0.0.127.blocked.example", "9.8.7.6.blocked.example"):
            self.assertEqual(self.ask(name)[1], ["127.255.255.254"])
        self.assertEqual(self.ask("1.0.0.127.everything.example")[1], ["127.0.0.2"])

    def test_sender_domains(self):
        self.assertEqual(self.ask("good.example", "MX")[1], ["10 mail.good.example."])
        self.assertEqual(self.ask("nullmx.example", "MX")[1], ["0 ."])
        rcode, mx, _ = self.ask("aonly.example", "MX")
        self.assertEqual((rcode, mx), ("NOERROR", []))
        self.assertEqual(self.ask("aonly.example")[1], ["192.0.2.202"])
        self.assertEqual(self.ask("nonexistent.example", "MX")[0], "NXDOMAIN")
        self.assertEqual(self.ask("nomail.example", "MX")[:2], ("NOERROR", []))
        self.assertEqual(self.ask("nomail.example", "A")[:2], ("NOERROR", []))

    def test_spf_records(self):
        self.assertEqual(self.ask("good.example", "TXT")[1],
                         ['"v=spf1 ip4:203.0.113.8/29 ip6:2001:db8:10::/64 -all"'])
        self.assertEqual(self.ask("_out.listhost.example", "TXT")[1],
                         ['"v=spf1 ip4:203.0.113.20 -all"'])
        self.assertEqual(self.ask("l3.chain.example", "TXT")[1], ['"v=spf1 ip4:10.99.0.0/24 -all"'])
        self.assertEqual(self.ask("nospf.example", "TXT")[:2], ("NOERROR", []))

    def test_oversize_txt_over_tcp(self):
        rcode, txt, hdr = self.ask("big.example", "TXT", tcp=True)
        self.assertEqual(rcode, "NOERROR")
        self.assertEqual(len(txt), 1)
        self.assertGreater(len(txt[0]), 21 * 250)

    def test_odd_server_forwards_and_misbehaves(self):
        port = self.odd.port
        self.assertEqual(self.ask("mail.good.example", port=port)[1], ["203.0.113.10"])
        self.assertEqual(self.ask("mail.good.example", port=port, tcp=True)[1], ["203.0.113.10"])
        self.odd.rule("slow.example", "silent")
        self.odd.rule("sf.example", "servfail")
        self.odd.rule("garbage.example", "garbage")
        self.odd.rule("custom.example", lambda q: _txt_reply(q, "hello"))
        self.assertEqual(self.ask("x.slow.example", port=port, timeout=0.5)[0], None)
        self.assertEqual(self.ask("sf.example", port=port)[0], "SERVFAIL")
        self.assertEqual(self.ask("a.garbage.example", port=port)[0], "UNPARSEABLE")
        self.assertEqual(self.ask("custom.example", "TXT", port=port)[1], ['"hello"'])
        self.assertIn(("x.slow.example", "A"), self.odd.seen)


def _txt_reply(q, text):
    r = q.reply()
    r.add_answer(RR(q.q.qname, QTYPE.TXT, rdata=TXT(text), ttl=60))
    return r


@unittest.skipUnless(NETNS_OK, NETNS_WHY)
class WorldClients(unittest.TestCase):
    """The real daemon sees each client's source address (event=connect),
    over IPv4 and IPv6, on port 25 of the bridge."""

    @classmethod
    def setUpClass(cls):
        cls.w = standard_world()
        try:
            cls.w.start()
            cls.h = cls.w.homemx(clock=os.path.exists(FAKETIME_LIB))
            cls.h.start()
        except BaseException:
            cls.w.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.w.stop()

    def test_every_client_leaves_from_its_address(self):
        since = self.h.log_size()
        ips = [c.ip for c in self.w.clients.values()]
        for ip in ips:
            t = self.w.send(ip, "client.example", "a@good.example", ["nobody@example.test"],
                            body=False)
            self.assertIsNone(t.error, t)
            self.assertEqual(t.banner[0], 220, t)
            self.assertEqual(t.rcpt_code(), 550, t)     # unknown user, whatever the screen says
        log = self.h.log()[since:]
        for ip in ips:
            self.assertRegex(log, rf"event=connect sess=\w+ ip={re.escape(ip)} ")

    def test_a_message_is_delivered_and_tokens_are_unique(self):
        before = len(self.h.messages("kim@example.test"))
        t = self.w.send("10.99.0.10", "mail.plain.example", "a@plain.example",
                        ["kim@example.test"], token="world-token-1")
        self.assertIsNone(t.error, t)
        self.assertTrue(t.delivered(), t)
        msgs = self.h.wait_messages("kim@example.test", before + 1)
        self.assertIn(b"X-Screen-Token: world-token-1", msgs[-1])

    @unittest.skipUnless(os.path.exists(FAKETIME_LIB), "libfaketime not installed")
    def test_fake_clock_moves_the_daemon_clock(self):
        """Log time stamps come from CLOCK_REALTIME, which libfaketime
        fakes: a day ahead, the queue's next line is stamped a day ahead.
        (smtpd, chrooted into the empty chroot_dir, cannot read the clock
        file and keeps the real time; the screen reads its copy in
        screen_dir, test_screen.py shows that.)"""
        since = self.h.log_size()
        self.h.clock.advance(86400)
        try:
            t = self.w.send("10.99.0.10", "mail.plain.example", "a@plain.example",
                            ["kim@example.test"])
            self.assertTrue(t.delivered(), t)
            qid = t.data[1].split()[-1]
            m = self.h.wait_line(rf"^(\S+)Z homemx-queue\[\d+\]: event=committed qid={qid} ",
                                since=since)
            stamp = calendar.timegm(time.strptime(m.group(1).split(".")[0], "%Y-%m-%dT%H:%M:%S"))
            self.assertAlmostEqual(stamp - time.time(), 86400, delta=120)
        finally:
            self.h.clock.advance(-86400)

if __name__ == "__main__":
    unittest.main()
