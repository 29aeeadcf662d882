"""tests/e2e/test_screen_resolver.py - the screen's resolver (screen/resolver.c)
against real DNS servers, through build/tests/tools/screen_dnsprobe.

Owns: one unbound on 127.0.0.1 (authoritative from local-data, "." static so
it never sends a query anywhere, stub zones pointing at the odd server) and
one small "odd" DNS server in this process (python3-dnslib) for what unbound
will not serve: SERVFAIL, a packet that does not parse, PTR names that are
no host names, a CNAME'd reverse zone (RFC 2317), silence. The probe prints
what the resolver stored in the cache; every answer is asserted in the text
form screen/dnsview.h promises.
"""

import os
import select
import shutil
import socket
import subprocess
import threading
import time
import unittest

from dnslib import CNAME, MX, PTR, QTYPE, RCODE, RR, A, DNSLabel, DNSRecord

import harness

PROBE = os.path.join(harness.BUILD, "tests", "tools", "screen_dnsprobe")
MXCTL = os.path.join(harness.BUILD, "mxctl")
TIMEOUT_MS = 400        # one c-ares try in the timeout cases


def ptr_name(ip):
    """The in-addr.arpa / ip6.arpa name of an address."""
    if ":" in ip:
        packed = socket.inet_pton(socket.AF_INET6, ip).hex()
        return ".".join(reversed(packed)) + ".ip6.arpa"
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


class OddServer:
    """A UDP DNS server answering from answer(query) -> bytes or None."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop_r, self.stop_w = os.pipe()
        self.seen = []
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while True:
            ready, _, _ = select.select([self.sock, self.stop_r], [], [])
            if self.stop_r in ready:
                return
            data, peer = self.sock.recvfrom(4096)
            try:
                q = DNSRecord.parse(data)
            except Exception:      # noqa: BLE001 - not ours to judge
                continue
            self.seen.append((str(q.q.qname).rstrip(".").lower(), QTYPE[q.q.qtype]))
            out = self.answer(q)
            if out is not None:
                self.sock.sendto(out, peer)

    @staticmethod
    def answer(q):
        name = str(q.q.qname).rstrip(".").lower()
        r = q.reply()
        if name.endswith("slow.test") or name.startswith("silent."):
            return None
        if name.endswith("servfail.test") or name.startswith("servfail."):
            r.header.rcode = RCODE.SERVFAIL
            return r.pack()
        if name.startswith("garbage."):
            # a sane header and question, then an answer cut in half
            r.add_answer(RR(q.q.qname, QTYPE.A, rdata=A("192.0.2.9"), ttl=60))
            return r.pack()[:-3]
        if name.startswith("badcount."):
            r.add_answer(RR(q.q.qname, QTYPE.A, rdata=A("192.0.2.9"), ttl=60))
            packed = bytearray(r.pack())
            packed[7] = 5                   # ANCOUNT 5, one record follows
            return bytes(packed)
        if name == "a.odd.test":
            r.add_answer(RR(q.q.qname, QTYPE.A, rdata=A("192.0.2.10"), ttl=60))
            return r.pack()
        if name == ptr_name("10.0.0.1"):    # one bad name among good ones
            for target in (DNSLabel([b"bad name", b"example"]), DNSLabel("good.example.test"),
                           DNSLabel([b"caf\xc3\xa9", b"example"]), DNSLabel("Also-Good.Example.TEST")):
                r.add_answer(RR(q.q.qname, QTYPE.PTR, rdata=PTR(target), ttl=60))
            return r.pack()
        if name == ptr_name("10.0.0.2"):    # only names that are no host names
            for target in (DNSLabel([b"bad name", b"example"]), DNSLabel("192.0.2.7"),
                           DNSLabel("-dash.example"), DNSLabel([b"a.b", b"example"])):
                r.add_answer(RR(q.q.qname, QTYPE.PTR, rdata=PTR(target), ttl=60))
            return r.pack()
        if name == ptr_name("10.0.0.3"):    # RFC 2317 delegation, one packet
            target = "3.0/25.0.0.10.in-addr.arpa"
            r.add_answer(RR(q.q.qname, QTYPE.CNAME, rdata=CNAME(target), ttl=60))
            r.add_answer(RR(target, QTYPE.PTR, rdata=PTR("cnamed.example.test"), ttl=60))
            r.add_answer(RR("elsewhere.example", QTYPE.PTR, rdata=PTR("not-mine.example"), ttl=60))
            return r.pack()
        if name == ptr_name("10.0.0.4"):    # more PTRs than an answer keeps
            for i in range(40):
                r.add_answer(RR(q.q.qname, QTYPE.PTR, rdata=PTR(f"h{i}.example.test"), ttl=60))
            return r.pack()
        if name == "badmx.odd.test":
            r.add_answer(RR(q.q.qname, QTYPE.MX, rdata=MX(DNSLabel([b"bad mx", b"example"]), 10)))
            r.add_answer(RR(q.q.qname, QTYPE.MX, rdata=MX("mx.example.test", 20)))
            return r.pack()
        if name == "allbadmx.odd.test":
            r.add_answer(RR(q.q.qname, QTYPE.MX, rdata=MX(DNSLabel([b"bad mx", b"example"]), 10)))
            return r.pack()
        r.header.rcode = RCODE.NXDOMAIN
        return r.pack()

    def stop(self):
        os.write(self.stop_w, b"x")
        self.thread.join(timeout=5)
        self.sock.close()
        os.close(self.stop_r)
        os.close(self.stop_w)


class LocalUnbound:
    """unbound on 127.0.0.1:port serving local-data, stub zones to odd."""

    # Debian's AppArmor profile lets unbound read only below these.
    CONF_BASE = "/var/lib/unbound"

    def __init__(self, odd_port):
        self.port = harness.free_port()
        self.odd_port = odd_port
        self.records = []
        base = self.CONF_BASE if os.path.isdir(self.CONF_BASE) else "/tmp"
        self.dir = os.path.join(base, f"hmx-resolver-{os.getpid()}-{self.port}")
        self.proc = None

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def add(self, name, rtype, rdata, ttl=300):
        self.records.append(f"{name}. {ttl} IN {rtype} {rdata}")

    def conf(self):
        lines = [
            "server:",
            "    interface: 127.0.0.1",
            f"    port: {self.port}",
            "    do-ip6: no",
            '    chroot: ""',
            '    username: ""',
            f'    directory: "{self.dir}"',
            '    pidfile: ""',
            "    use-syslog: no",
            '    logfile: ""',
            "    verbosity: 1",
            "    num-threads: 1",
            "    do-not-query-localhost: no",
            '    module-config: "iterator"',
            "    access-control: 127.0.0.0/8 allow",
            '    local-zone: "." static',
            '    local-zone: "refused.test" refuse',
            '    local-zone: "servfail.test" transparent',
            '    local-zone: "slow.test" transparent',
        ]
        lines += [f"    local-data: '{r}'" if '"' in r else f'    local-data: "{r}"'
                  for r in self.records]
        for zone in ("servfail.test", "slow.test"):
            lines += ["stub-zone:", f'    name: "{zone}"', f"    stub-addr: 127.0.0.1@{self.odd_port}"]
        lines += ["remote-control:", "    control-enable: no"]
        return "\n".join(lines) + "\n"

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        path = os.path.join(self.dir, "unbound.conf")
        with open(path, "w") as f:
            f.write(self.conf())
        p = subprocess.run(["unbound-checkconf", path], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"unbound.conf: {p.stdout}{p.stderr}")
        self.log = open(os.path.join(self.dir, "unbound.log"), "wb")
        self.proc = subprocess.Popen(["unbound", "-d", "-p", "-c", path],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        self.wait_answering()

    def wait_answering(self, timeout=10):
        """Until unbound answers a query (its sign of life), or timeout."""
        query = DNSRecord.question("host.example.test", "A").pack()
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError("unbound exited: " + self.read_log())
                s.sendto(query, ("127.0.0.1", self.port))
                try:
                    s.recvfrom(4096)
                    return
                except (socket.timeout, ConnectionRefusedError):
                    continue
        raise RuntimeError("unbound not answering: " + self.read_log())

    def read_log(self):
        with open(os.path.join(self.dir, "unbound.log"), errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def probe(server, questions, *opts):
    """Runs the probe; returns (answers {(name, type): dict}, summary dict,
    accepted {(name, type): bool}, the finished process)."""
    p = subprocess.run([PROBE, *opts, server, *questions], capture_output=True, text=True,
                       timeout=60)
    for marker in harness.SANITIZER_MARKERS:
        if marker in p.stderr:
            raise AssertionError(f"screen_dnsprobe: {p.stderr}")
    answers, summary, accepted = {}, {}, {}
    naccepted = 0
    for line in p.stdout.splitlines():
        f = line.split("\t")
        if f[0] == "q":
            accepted[(f[1], f[2])] = f[3] == "accepted"
            naccepted += f[3] == "accepted"
        elif f[0] == "a":
            answers[(f[1], f[2])] = {
                "status": f[3], "trunc": f[4] == "trunc=1", "ms": int(f[5][3:]),
                "n": int(f[6][2:]), "rr": f[7:],
            }
        elif f[0] == "summary":
            summary = dict(kv.split("=") for kv in f[1:])
            summary = {k: int(v) for k, v in summary.items()}
    summary["accepted"] = naccepted
    return answers, summary, accepted, p


LONG_TXT = ["a" * 255, "b" * 255, "c" * 100]    # one record, three strings


class ScreenResolverTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(PROBE):
            raise unittest.SkipTest(f"{PROBE} not built")
        cls.odd = OddServer()
        u = cls.unbound = LocalUnbound(cls.odd.port)
        u.add("host.example.test", "A", "192.0.2.1")
        u.add("host.example.test", "AAAA", "2001:db8::1")
        u.add("example.test", "MX", "10 mx1.example.test.")
        u.add("example.test", "MX", "20 MX2.Example.Test.")
        u.add("nullmx.example.test", "MX", "0 .")
        u.add(ptr_name("192.0.2.1"), "PTR", "host.example.test.")
        u.add(ptr_name("192.0.2.5"), "PTR", "a.example.test.")
        u.add(ptr_name("192.0.2.5"), "PTR", "b.example.test.")
        u.add(ptr_name("192.0.2.6"), "PTR", "Mixed.Example.TEST.")
        u.add(ptr_name("2001:db8::1"), "PTR", "host.example.test.")
        u.add("long.example.test", "TXT", " ".join(f'"{s}"' for s in LONG_TXT))
        u.add("two.example.test", "TXT", '"v=spf1 -all"')
        u.add("two.example.test", "TXT", '"second record"')
        u.add("bytes.example.test", "TXT", '"a\\"b\\\\c d"')
        for i in range(40):
            u.add("many.example.test", "A", f"198.51.100.{i + 1}")
            u.add("bigtxt.example.test", "TXT", f'"{i:02d}' + "x" * 98 + '"')
        u.add("short.example.test", "A", "192.0.2.77", ttl=1)
        # for mxctl screen test: a good sender, a bad one, two DNS lists
        u.add(ptr_name("198.51.100.7"), "PTR", "mail.sender.test.")
        u.add("mail.sender.test", "A", "198.51.100.7")
        u.add("sender.test", "MX", "10 mail.sender.test.")
        u.add("sender.test", "TXT", '"v=spf1 ip4:198.51.100.7 -all"')
        u.add("nullmx.sender.test", "MX", "0 .")
        u.add("2.0.0.127.bl.test", "A", "127.0.0.2")
        u.add("9.113.0.203.bl.test", "A", "127.0.0.2")
        u.add("2.0.0.127.refusing.test", "A", "127.255.255.254")
        u.add("1.0.0.127.refusing.test", "A", "127.255.255.254")
        u.add("9.113.0.203.refusing.test", "A", "127.255.255.254")
        u.start()

    @classmethod
    def tearDownClass(cls):
        cls.unbound.stop()
        cls.odd.stop()

    def ask(self, *questions, server=None, opts=()):
        answers, summary, accepted, p = probe(server or self.unbound.address, questions, *opts)
        self.assertEqual(p.returncode, 0, p.stderr)
        # every fetch is called back once, a refused one too
        self.assertEqual(summary["callbacks"], summary["questions"], p.stdout)
        return answers, summary, accepted

    def one(self, name, rtype, server=None, opts=()):
        answers, _, _ = self.ask(f"{name}/{rtype}", server=server, opts=opts)
        return answers[(name, rtype)]

    def assertAnswer(self, got, status, rr=(), trunc=False):
        self.assertEqual((got["status"], got["rr"], got["trunc"]), (status, list(rr), trunc),
                         f"got {got}")

    # ---- the record types -------------------------------------------------

    def test_a_and_aaaa(self):
        a, _, _ = self.ask("host.example.test/A", "HOST.Example.Test./AAAA")
        self.assertAnswer(a[("host.example.test", "A")], "ok", ["192.0.2.1"])
        # the name as given; the cache keys it lowercased without the dot
        self.assertAnswer(a[("HOST.Example.Test.", "AAAA")], "ok", ["2001:db8::1"])

    def test_ptr_v4_v6_several_and_case(self):
        names = [ptr_name("192.0.2.1"), ptr_name("2001:db8::1"), ptr_name("192.0.2.5"),
                 ptr_name("192.0.2.6")]
        a, _, _ = self.ask(*(n + "/PTR" for n in names))
        self.assertAnswer(a[(names[0], "PTR")], "ok", ["host.example.test"])
        self.assertAnswer(a[(names[1], "PTR")], "ok", ["host.example.test"])
        self.assertEqual(sorted(a[(names[2], "PTR")]["rr"]), ["a.example.test", "b.example.test"])
        self.assertAnswer(a[(names[3], "PTR")], "ok", ["mixed.example.test"])

    def test_txt_strings_joined_records_apart(self):
        a, _, _ = self.ask("long.example.test/TXT", "two.example.test/TXT",
                           "bytes.example.test/TXT")
        self.assertAnswer(a[("long.example.test", "TXT")], "ok", ["".join(LONG_TXT)])
        self.assertEqual(sorted(a[("two.example.test", "TXT")]["rr"]),
                         ["second\\x20record", "v=spf1\\x20-all"])
        self.assertAnswer(a[("bytes.example.test", "TXT")], "ok", ['a"b\\x5cc\\x20d'])

    def test_mx_and_null_mx(self):
        a, _, _ = self.ask("example.test/MX", "nullmx.example.test/MX")
        self.assertEqual(sorted(a[("example.test", "MX")]["rr"]),
                         ["10 mx1.example.test", "20 mx2.example.test"])
        self.assertAnswer(a[("nullmx.example.test", "MX")], "ok", ["0 ."])

    def test_nxdomain_and_nodata(self):
        a, _, _ = self.ask("nope.example.test/A", "host.example.test/MX",
                           "host.example.test/TXT", ptr_name("192.0.2.99") + "/PTR")
        self.assertAnswer(a[("nope.example.test", "A")], "nxdomain")
        self.assertAnswer(a[("host.example.test", "MX")], "nodata")
        self.assertAnswer(a[("host.example.test", "TXT")], "nodata")
        self.assertAnswer(a[(ptr_name("192.0.2.99"), "PTR")], "nxdomain")

    def test_big_answers_are_cut_at_32_records(self):
        # 40 TXT records of 100 bytes do not fit UDP: c-ares retries over TCP
        a, _, _ = self.ask("many.example.test/A", "bigtxt.example.test/TXT")
        many = a[("many.example.test", "A")]
        self.assertEqual((many["status"], many["n"], many["trunc"]), ("ok", 32, True))
        self.assertTrue(all(r.startswith("198.51.100.") for r in many["rr"]))
        big = a[("bigtxt.example.test", "TXT")]
        self.assertEqual((big["status"], big["n"], big["trunc"]), ("ok", 32, True))
        self.assertTrue(all(len(r) == 100 for r in big["rr"]), big["rr"])

    # ---- failures are temporary, never answers ----------------------------

    def test_refused_servfail_timeout_are_tempfail(self):
        opts = ("-t", str(TIMEOUT_MS), "-r", "1")
        a, _, _ = self.ask("x.refused.test/A", "x.servfail.test/A", "x.slow.test/A", opts=opts)
        for name in ("x.refused.test", "x.servfail.test", "x.slow.test"):
            self.assertAnswer(a[(name, "A")], "tempfail")
        # the silent one took the c-ares timeout, no more (one try)
        self.assertGreaterEqual(a[("x.slow.test", "A")]["ms"], TIMEOUT_MS - 50)
        self.assertLess(a[("x.slow.test", "A")]["ms"], 4 * TIMEOUT_MS)
        self.assertLess(a[("x.refused.test", "A")]["ms"], TIMEOUT_MS)

    def test_unreachable_server_is_tempfail(self):
        port = harness.free_port()      # nothing listens there (UDP port unreachable)
        got = self.one("host.example.test", "A", server=f"127.0.0.1:{port}",
                       opts=("-t", str(TIMEOUT_MS), "-r", "1"))
        self.assertAnswer(got, "tempfail")

    def test_direct_servfail_and_malformed_packets(self):
        odd = f"127.0.0.1:{self.odd.port}"
        a, _, _ = self.ask("servfail.odd.test/A", "garbage.odd.test/A", "badcount.odd.test/A",
                           "a.odd.test/A", "garbage.odd.test/TXT", "garbage.odd.test/MX",
                           server=odd, opts=("-t", str(TIMEOUT_MS), "-r", "1"))
        self.assertAnswer(a[("a.odd.test", "A")], "ok", ["192.0.2.10"])
        for key in (("servfail.odd.test", "A"), ("garbage.odd.test", "A"),
                    ("badcount.odd.test", "A"), ("garbage.odd.test", "TXT"),
                    ("garbage.odd.test", "MX")):
            self.assertAnswer(a[key], "tempfail")

    def test_garbage_ptr_is_tempfail(self):
        got = self.one("garbage.odd.test", "PTR", server=f"127.0.0.1:{self.odd.port}",
                       opts=("-t", str(TIMEOUT_MS), "-r", "1"))
        self.assertAnswer(got, "tempfail")

    def test_empty_server_list_refuses_to_start(self):
        _, _, _, p = probe("", ["host.example.test/A"])
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("no dns_server", p.stderr)

    # ---- PTR and MX names that are no host names ---------------------------

    def test_bad_ptr_names_dropped(self):
        odd = f"127.0.0.1:{self.odd.port}"
        names = [ptr_name(f"10.0.0.{i}") for i in (1, 2, 3, 4)]
        a, _, _ = self.ask(*(n + "/PTR" for n in names), server=odd)
        self.assertAnswer(a[(names[0], "PTR")], "ok", ["good.example.test", "also-good.example.test"])
        self.assertAnswer(a[(names[1], "PTR")], "nodata", trunc=True)
        self.assertAnswer(a[(names[2], "PTR")], "ok", ["cnamed.example.test"])
        got = a[(names[3], "PTR")]
        self.assertEqual((got["status"], got["n"], got["trunc"]), ("ok", 32, True))
        self.assertEqual(got["rr"][:2], ["h0.example.test", "h1.example.test"])

    def test_bad_mx_names_dropped(self):
        odd = f"127.0.0.1:{self.odd.port}"
        a, _, _ = self.ask("badmx.odd.test/MX", "allbadmx.odd.test/MX", server=odd)
        self.assertAnswer(a[("badmx.odd.test", "MX")], "ok", ["20 mx.example.test"])
        self.assertAnswer(a[("allbadmx.odd.test", "MX")], "nodata", trunc=True)

    # ---- merging and bounds -----------------------------------------------

    def test_identical_fetches_merge(self):
        before = len(self.odd.seen)
        a, summary, _ = self.ask("a.odd.test/A", "A.ODD.test./A", "a.odd.test/A", "a.odd.test/MX",
                                 server=f"127.0.0.1:{self.odd.port}")
        self.assertEqual(summary["fetches_pending_at_start"], 2)
        self.assertEqual((summary["callbacks"], summary["merged"], summary["queries"]), (4, 2, 2))
        self.assertEqual(sorted(self.odd.seen[before:]), [("a.odd.test", "A"), ("a.odd.test", "MX")])
        self.assertAnswer(a[("A.ODD.test.", "A")], "ok", ["192.0.2.10"])

    def test_waiting_fifo_is_bounded(self):
        a, summary, accepted = self.ask("host.example.test/A", "host.example.test/AAAA",
                                        "example.test/MX", "long.example.test/TXT",
                                        opts=("-i", "1", "-w", "2"))
        self.assertEqual(accepted, {("host.example.test", "A"): True,
                                    ("host.example.test", "AAAA"): True,
                                    ("example.test", "MX"): False,
                                    ("long.example.test", "TXT"): False})
        self.assertEqual(summary["refused"], 2)
        self.assertAnswer(a[("host.example.test", "AAAA")], "ok", ["2001:db8::1"])
        # called back without an answer: the cache has nothing for them
        self.assertAnswer(a[("example.test", "MX")], "miss")

    def test_one_in_flight_drains_the_fifo(self):
        names = [f"{n}/A" for n in ("host.example.test", "nope.example.test", "many.example.test",
                                    "x.refused.test", "short.example.test")]
        a, summary, _ = self.ask(*names, "example.test/MX", "two.example.test/TXT",
                                 opts=("-i", "1"))
        self.assertEqual(summary["callbacks"], 7)
        self.assertAnswer(a[("short.example.test", "A")], "ok", ["192.0.2.77"])
        self.assertAnswer(a[("x.refused.test", "A")], "tempfail")

    def test_server_switch_waits_for_queries_in_flight(self):
        # c-ares 1.18 cannot swap servers under running queries: the switch
        # waits for the silent one, then the queued fetch goes to unbound
        before = len(self.odd.seen)
        a, summary, _, p = probe(f"127.0.0.1:{self.odd.port}",
                                 ["a.odd.test/A", "silent.odd.test/A", "host.example.test/A"],
                                 "-i", "2", "-t", str(TIMEOUT_MS), "-r", "1",
                                 "-S", self.unbound.address)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("switch\trc=0\t\n", p.stdout)
        self.assertAnswer(a[("a.odd.test", "A")], "ok", ["192.0.2.10"])
        self.assertAnswer(a[("silent.odd.test", "A")], "tempfail")
        self.assertAnswer(a[("host.example.test", "A")], "ok", ["192.0.2.1"])
        self.assertGreaterEqual(a[("host.example.test", "A")]["ms"], TIMEOUT_MS - 50)
        self.assertNotIn(("host.example.test", "A"), self.odd.seen[before:])

    def test_server_switch_refuses_bad_lists(self):
        for bad in ("", "not-an-address", "127.0.0.1:99999"):
            _, _, _, p = probe(self.unbound.address, ["host.example.test/A"], "-S", bad)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertRegex(p.stdout, r"switch\trc=-1\t\S")

    def test_invalid_names_are_refused(self):
        a, summary, accepted = self.ask("bad_name..example/A", "a" * 64 + ".example/A",
                                        "host.example.test/A")
        self.assertEqual(accepted[("bad_name..example", "A")], False)
        self.assertEqual(accepted[("a" * 64 + ".example", "A")], False)
        self.assertEqual((summary["refused"], summary["queries"]), (2, 1))
        self.assertAnswer(a[("host.example.test", "A")], "ok", ["192.0.2.1"])


    # ---- mxctl screen test: every check live against dns_server --------------

    def screen_test(self, *args, dns=None):
        conf = os.path.join(self.unbound.dir, "homemx.conf")
        with open(conf, "w") as f:
            f.write("\n".join([
                "hostname mx.home.test", "listen smtp 127.0.0.1:2525", "domain home.test",
                "spool_dir /nonexistent/spool", "store_dir /nonexistent/store",
                "maildir_root /nonexistent/maildirs",
                f"dns_server {self.unbound.address if dns is None else dns}" if dns != "" else "",
                "dnsbl bl.test weight=6 127.0.0.2=10",
                "dnsbl refusing.test weight=6",
                "screen_dns_timeout 5s",
            ]) + "\n")
        p = subprocess.run([MXCTL, "-f", conf, "screen", "test", *args], capture_output=True,
                           text=True, timeout=60)
        for marker in harness.SANITIZER_MARKERS:
            self.assertNotIn(marker, p.stderr)
        return p

    def test_mxctl_screen_test_good_server(self):
        p = self.screen_test("198.51.100.7", "mail.sender.test", "anne@sender.test",
                             "kim@home.test")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"dnsbl +bl\.test +healthy\n")
        self.assertRegex(p.stdout, r"dnsbl +refusing\.test +refusing \(ignored\)\n")
        self.assertRegex(p.stdout, r"helo_matches_ptr +-1  helo=mail\.sender\.test verified ptr")
        self.assertNotIn("no_ptr", p.stdout)
        self.assertNotIn("dnsbl:", p.stdout)
        self.assertIn("verdict: accept (250 2.1.5)", p.stdout)

    def test_mxctl_screen_test_bad_client(self):
        p = self.screen_test("203.0.113.9", "mx.home.test", "x@nullmx.sender.test",
                             "kim@home.test")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        out = p.stdout
        self.assertRegex(out, r"no_ptr +\+4  ptr=none")
        self.assertRegex(out, r"helo_forged +\+100  helo=mx\.home\.test is ours")
        self.assertRegex(out, r"dnsbl:bl\.test +\+10  listed 127\.0\.0\.2")
        self.assertRegex(out, r"sender_null_mx +\+10  domain=nullmx\.sender\.test null mx")
        self.assertNotIn("dnsbl:refusing.test", out)
        self.assertIn("verdict: reject (550 5.7.1)", out)

    def test_mxctl_screen_test_dns_down_is_not_a_verdict_of_innocence(self):
        port = harness.free_port()
        p = self.screen_test("198.51.100.7", "mail.sender.test", "anne@sender.test",
                             "kim@home.test", dns=f"127.0.0.1:{port}")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"no_ptr +\?\+0\.\.\+7  ptr=tempfail")
        self.assertRegex(p.stdout, r"dnsbl +bl\.test +dead \(ignored\)\n")
        self.assertIn("verdict: tempfail (451 4.4.3", p.stdout)

    def test_mxctl_screen_test_refuses_without_dns_server(self):
        p = self.screen_test("198.51.100.7", "mail.sender.test", "<>", "kim@home.test", dns="")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("dns_server is not set", p.stderr)
        p = self.screen_test("not-an-ip", "mail.sender.test", "<>", "kim@home.test")
        self.assertEqual(p.returncode, 1)
        self.assertIn("is not an IP address", p.stderr)


if __name__ == "__main__":
    unittest.main()
