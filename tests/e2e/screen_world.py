"""tests/e2e/screen_world.py - a small Internet for the inbound screen:
sending hosts with many source addresses, the DNS that describes them,
and homemxd listening on port 25 in the middle.

Owns: the address plan of the screen tests, the zones (reverse DNS, DNS
block and allow lists, SPF, sender domains), the fake clock of the
greylist tests, and the client side: one SMTP transaction from a chosen
source address, with every reply code. tests/e2e/test_screen*.py and
scripts/bench-screen use it; the odd DNS server in front of unbound
(silence, SERVFAIL, packets that do not parse) is tests/e2e/screen_dns.py.

Why namespaces and not loopback: the screen trusts loopback and judges a
client by its address - its PTR, its /24 or /64, its DNSBL listings - so
the tests need many real source addresses. Every address is from the
documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
2001:db8::/32) or RFC 1918 (10.0.0.0/8) and exists only inside the
namespaces tests/e2e/netns.py creates. The zones are served by an unbound
that never asks anyone else ("." static), so names such as
zen.spamhaus.org can be served with our own test data: the screen's
built-in list set is exercised without a packet leaving the machine.

The picture (netns.py draws the rest)::

    mta namespace: homemxd, smtp on 192.0.2.1:25 and [2001:db8::1]:25,
                   unbound 127.0.0.1:53 (zones below), OddDns 127.0.0.1:5300
                   br0 + on-link routes to every client network
    host "legit":  203.0.113.0/24, 2001:db8:10::/64  (MTAs with good DNS)
    host "spam":   198.51.100.0/24 (a dynamic pool), 10.20.30.0/24 (no PTR),
                   10.80.90.0/24 (DNSBL-listed), 2001:db8:20::/64 (no PTR)
    host "misc":   10.40.50.0/24 (bad PTRs), 10.60.70.0/24 (snowshoe),
                   10.99.0.0/24, 10.101.0.0/16 (a test's own clients:
                   10.101.N.x gives each test a /24 of its own)

Typical use::

    w = standard_world()          # the catalog below; add_client() for more
    w.start()
    h = w.homemx("greylist_delay 2s")   # ScreenHomemx, trusted_networks none
    h.start()
    t = w.send(h, CLIENT["dynamic"], helo="dsl-198-51-100-7.pool.example",
               mail_from="joe@nospf.example", rcpts=["kim@example.test"])
    t.rcpt_code("kim@example.test")   # 451; t.ref(...) -> "sess-1"
    h.verdicts()                      # the event=verdict lines as dicts
    h.stop(); w.stop()
"""

import email.utils
import ipaddress
import os
import re
import smtplib
import socket
import subprocess
import tempfile
import time

import harness
from faketime_env import FAKETIME_LIB
from netns import NetnsHomemx, Topology, Unbound, in_netns
from screen_dns import OddDns

SMTP_PORT = 25
SCREEN_BINARY = os.path.join(harness.BUILD, "homemx-screen")

# Which namespace owns which client network; the mta gets an on-link route
# to each. A test's own clients go into 10.99.0.0/24 or a new row here.
NETWORKS = {
    "203.0.113.0/24": "legit",
    "2001:db8:10::/64": "legit",
    "198.51.100.0/24": "spam",
    "10.20.30.0/24": "spam",
    "10.80.90.0/24": "spam",
    "2001:db8:20::/64": "spam",
    "10.40.50.0/24": "misc",
    "10.60.70.0/24": "misc",
    "10.99.0.0/24": "misc",
    "10.101.0.0/16": "misc",     # 10.101.N.0/24: one fresh /24 per test
}

# The built-in list set of lib/config_screen.c, served with test data.
DEFAULT_BLOCK_LISTS = ("zen.spamhaus.org", "bl.spamcop.net", "ix.dnsbl.manitu.net",
                       "psbl.surriel.com")
DEFAULT_ALLOW_LIST = "list.dnswl.org"


# ---- names --------------------------------------------------------------

def reversed_ip(ip):
    """1.2.3.4 -> 4.3.2.1; an IPv6 address -> its 32 nibbles reversed
    (RFC 5782 2.1, 2.4)."""
    a = ipaddress.ip_address(ip)
    if a.version == 4:
        return ".".join(reversed(ip.split(".")))
    return ".".join(reversed(a.packed.hex()))


def ptr_name(ip):
    suffix = "in-addr.arpa" if ipaddress.ip_address(ip).version == 4 else "ip6.arpa"
    return f"{reversed_ip(ip)}.{suffix}"


def dnsbl_name(ip, zone):
    return f"{reversed_ip(ip)}.{zone}"


def network_of(ip):
    """The NETWORKS row holding ip, or None."""
    a = ipaddress.ip_address(ip)
    for net in NETWORKS:
        n = ipaddress.ip_network(net)
        if a.version == n.version and a in n:
            return net
    return None


def quote_txt(text):
    """A TXT rdata for unbound: strings of at most 255 octets (RFC 1035
    3.3.14), each quoted."""
    parts = [text[i:i + 255] for i in range(0, len(text), 255)] or [""]
    return " ".join(f'"{p}"' for p in parts)


# ---- the client catalog ---------------------------------------------------

class Client:
    """One source address and what the DNS says about it.

    ptr: the PTR name, or None (no PTR at all).
    forward: where the PTR name points: "=" back to ip (FCrDNS passes),
             None (the name has no address), or another IP (mismatch).
    """

    def __init__(self, label, ip, ptr=None, forward="="):
        self.label = label
        self.ip = ip
        self.ptr = ptr
        self.forward = forward
        self.family = socket.AF_INET6 if ":" in ip else socket.AF_INET

    def records(self):
        """(name, type, rdata) for unbound."""
        out = []
        if self.ptr:
            out.append((ptr_name(self.ip), "PTR", self.ptr + "."))
            target = self.ip if self.forward == "=" else self.forward
            if target:
                rtype = "AAAA" if ":" in target else "A"
                out.append((self.ptr, rtype, target))
        return out

    def __repr__(self):
        return f"Client({self.label} {self.ip} ptr={self.ptr})"


# label, ip, ptr, forward: the fixed cast of test_screen*.py
CATALOG = (
    ("good", "203.0.113.10", "mail.good.example", "="),
    ("good2", "203.0.113.11", "mx2.good.example", "="),
    ("good3", "203.0.113.12", "mx3.good.example", "="),
    ("list", "203.0.113.20", "lists.listhost.example", "="),
    ("list2", "203.0.113.21", "lists2.listhost.example", "="),
    ("forwarder", "203.0.113.30", "fwd.forwarder.example", "="),
    ("dnswl", "203.0.113.40", "mail.wlisted.example", "="),
    ("good6", "2001:db8:10::25", "mail6.good.example", "="),
    ("dynamic", "198.51.100.7", "dsl-198-51-100-7.pool.example", "="),
    ("dynamic2", "198.51.100.8", "dsl-198-51-100-8.pool.example", "="),
    ("noptr", "10.20.30.40", None, None),
    ("noptr2", "10.20.30.41", None, None),
    ("noptr6", "2001:db8:20::25", None, None),
    ("listed", "10.80.90.100", "relay.listed.example", "="),
    ("listed6", "2001:db8:20::99", "relay.listed6.example", "="),
    ("mismatch", "10.40.50.60", "other.mismatch.example", "10.40.50.250"),
    ("ptr_noaddr", "10.40.50.61", "ghost.mismatch.example", None),
    ("snowshoe", "10.60.70.10", "mta10.shoe-a.example", "="),
    ("plain", "10.99.0.10", "mail.plain.example", "="),
)


class ScreenUnbound(Unbound):
    """netns.Unbound plus zones that answer every name below them
    (redirect: a list that "lists" everything) and zones handed to the
    odd server (stub), for what unbound cannot be made to say."""

    def __init__(self, topo, port=53):
        super().__init__(topo, port)
        self.redirects = []
        self.stubs = []

    def redirect(self, zone, rtype, rdata):
        self.redirects.append(zone.rstrip("."))
        self.add(zone, rtype, rdata)

    def stub(self, zone, port):
        self.stubs.append((zone.rstrip("."), port))

    def write_conf(self):
        super().write_conf()
        with open(self.conf_path) as f:
            text = f.read()
        head, tail = text.split("remote-control:\n", 1)
        extra = [f'    local-zone: "{z}." redirect' for z in self.redirects]
        extra += [f'    local-zone: "{z}." transparent' for z, _ in self.stubs]
        extra += ["    cache-max-negative-ttl: 0", "    infra-host-ttl: 1"]
        stubs = []
        for zone, port in self.stubs:
            stubs += ["stub-zone:", f'    name: "{zone}."', f"    stub-addr: 127.0.0.1@{port}"]
        with open(self.conf_path, "w") as f:
            f.write(head + "\n".join(extra + stubs) + "\nremote-control:\n" + tail)


# ---- the fake clock -----------------------------------------------------------

class FakeClock:
    """libfaketime for every homemx process: an offset in seconds read from
    a file at each clock call (FAKETIME_NO_CACHE), monotonic clocks left
    real (libevent's timers keep working).

    The screen role reads the file after its chroot into screen_dir, so
    the file exists twice: at path, and at screen_dir + path. Each write
    replaces both (rename: never half a line).
    """

    def __init__(self, workdir, screen_dir):
        self.path = os.path.join(workdir, "faketime")
        self.mirror = screen_dir.rstrip("/") + self.path
        self.offset = 0
        os.makedirs(os.path.dirname(self.mirror), exist_ok=True)
        d = os.path.dirname(self.mirror)
        while d.startswith(screen_dir) and d != screen_dir.rstrip("/"):
            os.chmod(d, 0o755)       # _hmx-screen must reach the file
            d = os.path.dirname(d)
        self._write()

    def env(self):
        asan = os.environ.get("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0")
        return {
            "LD_PRELOAD": FAKETIME_LIB,
            "FAKETIME_TIMESTAMP_FILE": self.path,
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "ASAN_OPTIONS": asan + ":verify_asan_link_order=0",
        }

    def advance(self, seconds):
        self.offset += int(seconds)
        self._write()

    def now(self):
        return time.time() + self.offset

    def _write(self):
        for p in (self.path, self.mirror):
            with open(p + ".tmp", "w") as f:
                f.write(f"+{self.offset}\n")
            os.chmod(p + ".tmp", 0o644)
            os.rename(p + ".tmp", p)


# ---- the daemon ------------------------------------------------------------

VERDICT_RE = re.compile(r"homemx-screen\[(\d+)\]: event=verdict (.*)$")
KV_RE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|<[^>]*>|\S*)')


def parse_kv(text):
    """key=value pairs of one log line; quotes and <> kept off the value."""
    out = {}
    for k, v in KV_RE.findall(text):
        if v.startswith('"') and v.endswith('"') and len(v) >= 2:
            v = v[1:-1]
        elif v.startswith("<") and v.endswith(">"):
            v = v[1:-1]
        out.setdefault(k, v)
    return out


def parse_checks(text):
    """'no_ptr:+4 dnsbl:bl.example:+10 spf:x:?+0..+6' -> {name: weight}
    (an unknown item's value is its text, e.g. '?+0..+6')."""
    out = {}
    for item in text.split():
        name, _, value = item.rpartition(":")
        try:
            out[name] = int(value)
        except ValueError:
            out[name] = value
    return out


class ScreenHomemx(NetnsHomemx):
    """homemxd in the world's mta namespace with port 25 on the bridge
    (IPv4 and IPv6), its own screen_dir, and trusted_networks replaced
    (default: nothing trusted but loopback, where the harness's readiness
    probe connects from; world clients are never trusted).

    clock=True runs every role under libfaketime (FakeClock): h.clock.advance(s).
    """

    def __init__(self, world, extra_conf="", trusted="127.0.0.0/8 ::1/128",
                 dns=None, clock=False, dns_timeout="2s", **kw):
        self.world = world
        self.screen_conf = extra_conf
        self.trusted = trusted
        self.dns_timeout = dns_timeout
        self.want_clock = clock
        self.clock = None
        dns = dns or world.dns
        super().__init__(world.topo, None, dns_server=dns.address, **kw)

    @property
    def screen_dir(self):
        return os.path.join(self.dir, "screen")     # harness.py writes it so

    def write_config(self):
        self.extra_conf = "\n".join([
            f"listen smtp {Topology.MTA_IPV4}:{SMTP_PORT}",
            f"listen smtp [{Topology.MTA_IPV6}]:{SMTP_PORT}",
            f"trusted_networks {self.trusted}",
            f"screen_dns_timeout {self.dns_timeout}",
            self.screen_conf,
        ])
        super().write_config()

    def prepare_dir(self):
        """Creates the instance's directory before the first start, for what
        must know its paths first (the fake clock, scanner sockets under
        screen_dir); start() still provisions the users. Returns it."""
        if self.dir is None:
            self.dir = tempfile.mkdtemp(prefix="hmx-e2e-")
            os.chmod(self.dir, 0o755)
            self.smtp_port = harness.free_port()
            self._fresh = True
        return self.dir

    def start(self, provision=True):
        self._start_offset = self.log_size()
        saved = {}
        if self.want_clock:
            self.prepare_dir()
            if self.clock is None:
                self.clock = FakeClock(self.dir, self.screen_dir)
            for k, v in self.clock.env().items():
                saved[k] = os.environ.get(k)
                os.environ[k] = v
        try:
            if getattr(self, "_fresh", False):
                # the harness provisions only an instance it created itself
                self._fresh = False
                super().start(provision=False)
                if provision:
                    self.provision()
            else:
                super().start(provision=provision)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def wait_ready(self, timeout=30):
        super().wait_ready(timeout)
        if os.path.exists(SCREEN_BINARY):
            self.wait_screen_link(since=self._start_offset, timeout=timeout)

    def wait_screen_link(self, since=0, timeout=30):
        """Until a screen role is up and smtpd has its link to it (both
        after log offset since): from then on, RCPT gets screened."""
        self.wait_line(r"homemx-screen\[\d+\]: event=link_up peer=smtpd", since=since,
                      timeout=timeout)
        self.wait_line(r"homemx-smtpd\[\d+\]: event=link_up peer=screen", since=since,
                      timeout=timeout)

    def wait_line(self, pattern, since=0, timeout=harness.WAIT, count=1):
        """The count-th match of pattern in the log after offset since."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            found = list(rx.finditer(self.log()[since:]))
            if len(found) >= count:
                return found[count - 1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no {count}x /{pattern}/ in the log after {timeout}s:\n"
                                     f"{self.log()[since:][-5000:]}")
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"homemxd exited:\n{self.log()[-5000:]}")
            time.sleep(0.02)

    def log_size(self):
        return len(self.log()) if hasattr(self, "log_path") else 0

    def verdicts(self, since=0):
        """Every event=verdict line after offset since, parsed; "checks"
        becomes a dict, "pid" is the screen's."""
        out = []
        for line in self.log()[since:].splitlines():
            m = VERDICT_RE.search(line)
            if m:
                v = parse_kv(m.group(2))
                v["pid"] = int(m.group(1))
                v["checks"] = parse_checks(v.get("checks", ""))
                out.append(v)
        return out

    def verdict(self, ref, timeout=harness.WAIT):
        """The verdict line of ref (it is written before smtpd replies)."""
        self.wait_line(rf"event=verdict sess=\S+ ref={re.escape(ref)} ", timeout=timeout)
        for v in self.verdicts():
            if v.get("ref") == ref:
                return v
        raise AssertionError(f"verdict {ref} not parsed")

    def screen_pid(self):
        return self.role_pids().get("screen")

    def mxctl_in_mta(self, *args, **kw):
        """mxctl run inside the mta namespace, where dns_server answers
        (`mxctl screen test` asks it)."""
        with in_netns(self.topo.mta):
            return self.mxctl(*args, **kw)


# ---- the client side ----------------------------------------------------------

REF_RE = re.compile(r"ref=([0-9A-Za-z._-]+)")


class Transaction:
    """The replies of one SMTP transaction."""

    def __init__(self, client_ip, helo, mail_from, rcpts):
        self.client_ip = client_ip
        self.helo = helo
        self.mail_from = mail_from
        self.rcpts = list(rcpts)
        self.banner = None          # (code, text)
        self.ehlo = None
        self.mail = None
        self.rcpt = {}              # address -> (code, text)
        self.data = None            # None: no DATA sent
        self.error = None           # a connection failure, as text
        self.started = self.finished = None
        self.rcpt_latency = {}      # address -> seconds from connect to the reply

    def rcpt_code(self, address=None):
        address = address or self.rcpts[0]
        return self.rcpt.get(address, (None, ""))[0]

    def rcpt_text(self, address=None):
        return self.rcpt.get(address or self.rcpts[0], (None, ""))[1]

    def ref(self, address=None):
        m = REF_RE.search(self.rcpt_text(address))
        return m.group(1) if m else None

    def accepted(self):
        return [a for a, (c, _) in self.rcpt.items() if c == 250]

    def delivered(self):
        """True if the message was queued (250 after DATA)."""
        return self.data is not None and self.data[0] == 250

    def __repr__(self):
        return (f"Transaction({self.client_ip} helo={self.helo} from={self.mail_from} "
                f"banner={self.banner} ehlo={self.ehlo and self.ehlo[0]} mail={self.mail} "
                f"rcpt={self.rcpt} data={self.data} error={self.error})")


def _text(b):
    return b.decode("latin-1") if isinstance(b, bytes) else str(b)


def message_for(mail_from, rcpts, token, subject="screen test"):
    """A message as an MTA sends it (From, Date, Message-ID: the end of
    DATA's header checks stay quiet)."""
    return (f"From: <{mail_from}>\r\nTo: {', '.join('<%s>' % r for r in rcpts)}\r\n"
            f"Date: {email.utils.formatdate()}\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{token}@screen.test>\r\n"
            f"X-Screen-Token: {token}\r\n\r\nbody of {token}\r\n").encode()


# ---- the world ------------------------------------------------------------------

class ScreenWorld:
    """The topology, the zones and the clients; see the module comment."""

    def __init__(self, hosts=("legit", "spam", "misc")):
        self.topo = Topology()
        self.hosts = {name: self.topo.add_host(name) for name in hosts}
        self.clients = {}
        self.dns = ScreenUnbound(self.topo)
        self.odd = None
        self.block_lists = []
        self.allow_lists = []
        self.homemxes = []

    # -- building, before start() --
    def add_client(self, label, ip, ptr=None, forward="="):
        if network_of(ip) is None:
            raise ValueError(f"{ip} is in no network of NETWORKS")
        c = Client(label, ip, ptr, forward)
        self.clients[label] = c
        for name, rtype, rdata in c.records():
            self.dns.add(name, rtype, rdata)
        return c

    def add_list(self, zone, allow=False, test_entry="127.0.0.2"):
        """A DNS list zone that passes the RFC 5782 section 5 probe:
        127.0.0.2 is listed (with test_entry), 127.0.0.1 is not."""
        (self.allow_lists if allow else self.block_lists).append(zone)
        if test_entry:
            self.dns.add(dnsbl_name("127.0.0.2", zone), "A", test_entry)
            self.dns.add(dnsbl_name("::ffff:7f00:2", zone), "A", test_entry)

    def list_ip(self, zone, ip, code="127.0.0.2"):
        self.dns.add(dnsbl_name(ip, zone), "A", code)

    def spf(self, domain, record):
        self.dns.add(domain, "TXT", quote_txt(record))

    def mail_domain(self, domain, mx=None, spf=None, a=None):
        """A sender domain: MX (a host name, "." for a null MX, None for
        none), an SPF record, and an address of its own."""
        if mx == ".":
            self.dns.add(domain, "MX", "0 .")
        elif mx:
            self.dns.add(domain, "MX", f"10 {mx}.")
        if spf:
            self.spf(domain, spf)
        if a:
            self.dns.add(domain, "A", a)

    def use_odd_dns(self):
        """Starts (after start()) the odd server in front of unbound; a
        ScreenHomemx made with dns=world.odd asks it."""
        self.odd = OddDns(self.topo)
        return self.odd

    # -- life --
    def start(self):
        self.topo.start()
        try:
            self._add_addresses()
            self.dns.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _add_addresses(self):
        per_host = {name: [] for name in self.hosts}
        for c in self.clients.values():
            net = network_of(c.ip)
            plen = ipaddress.ip_network(net).prefixlen
            per_host[NETWORKS[net]].append(f"addr add {c.ip}/{plen} dev eth0"
                                           + (" nodad" if ":" in c.ip else ""))
        for name, lines in per_host.items():
            if lines:
                _ip_batch(self.hosts[name].ns, lines)
        routes = [f"route add {net} dev br0" for net, host in NETWORKS.items()
                  if host in self.hosts]
        _ip_batch(self.topo.mta, routes)

    def stop(self):
        for h in self.homemxes:
            try:
                h.stop(check_sanitizers=False)
            except Exception:      # noqa: BLE001 - tear-down goes on
                pass
            h.cleanup()
        self.homemxes = []
        if self.odd is not None:
            self.odd.stop()
            self.odd = None
        self.dns.stop()
        self.topo.stop()

    def homemx(self, extra_conf="", **kw):
        h = ScreenHomemx(self, extra_conf, **kw)
        self.homemxes.append(h)
        return h

    def host_of(self, ip):
        net = network_of(ip)
        if net is None or NETWORKS[net] not in self.hosts:
            raise ValueError(f"no host has {ip}")
        return self.hosts[NETWORKS[net]]

    def lists_conf(self):
        """dnsbl/dnswl lines for the lists added with add_list (weights are
        the test's business: this is the plain form)."""
        return "\n".join([f"dnsbl {z} weight=10 ipv6=yes" for z in self.block_lists] +
                         [f"dnswl {z} weight=-5 ipv6=yes" for z in self.allow_lists])

    # -- the client side --
    def smtp(self, ip, helo, timeout=20):
        """An smtplib.SMTP connected from ip (inside its host's namespace)
        to homemx's port 25; returns (smtp, (banner code, text))."""
        server = Topology.MTA_IPV6 if ":" in ip else Topology.MTA_IPV4
        s = smtplib.SMTP(local_hostname=helo, timeout=timeout, source_address=(ip, 0))
        with in_netns(self.host_of(ip).ns):
            code, text = s.connect(server, SMTP_PORT)
        return s, (code, _text(text))

    def send(self, ip, helo, mail_from, rcpts, body=True, token=None, timeout=20,
             message=None):
        """One transaction from source address ip. body=True sends a
        message (with X-Screen-Token: token; or the bytes message) when a
        recipient was accepted; body=False stops after RCPT. Never raises
        for SMTP replies: every code is in the returned Transaction."""
        rcpts = [rcpts] if isinstance(rcpts, str) else list(rcpts)
        t = Transaction(ip, helo, mail_from, rcpts)
        t.started = time.monotonic()
        s = None
        try:
            s, t.banner = self.smtp(ip, helo, timeout)
            code, text = s.ehlo(helo)
            t.ehlo = (code, _text(text))
            code, text = s.mail(mail_from)
            t.mail = (code, _text(text))
            if code == 250:
                for r in rcpts:
                    code, text = s.rcpt(r)
                    t.rcpt[r] = (code, _text(text))
                    t.rcpt_latency[r] = time.monotonic() - t.started
            if body and t.accepted():
                token = token or f"tok{os.getpid()}x{int(time.monotonic() * 1e6)}"
                t.token = token
                try:
                    code, text = s.data(message if message is not None else
                                        message_for(mail_from, t.accepted(), token))
                    t.data = (code, _text(text))
                except smtplib.SMTPDataError as e:
                    t.data = (e.smtp_code, _text(e.smtp_error))
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                pass
        except (smtplib.SMTPException, OSError) as e:
            t.error = f"{type(e).__name__}: {e}"
            if s is not None:
                s.close()
        t.finished = time.monotonic()
        return t


def _ip_batch(ns, lines):
    p = subprocess.run(["ip", "-n", ns, "-batch", "-"], input="\n".join(lines) + "\n",
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"ip -n {ns} -batch: {p.stderr.strip()}")


def standard_zones(w):
    """The zones every screen test shares: the catalog's clients, the
    lists and the sender domains (see each line)."""
    for label, ip, ptr, forward in CATALOG:
        w.add_client(label, ip, ptr, forward)
    # The dynamic PTR names resolve back (FCrDNS passes): only the name is
    # suspicious. The snowshoe and listed hosts have tidy DNS.
    w.dns.add("mail.good.example", "AAAA", "2001:db8:10::25")
    # lists of our own (tests set their weights), RFC 5782 healthy
    for zone in ("bl.example", "bl2.example"):
        w.add_list(zone)
    w.add_list("wl.example", allow=True, test_entry="127.0.10.2")
    w.list_ip("bl.example", "10.80.90.100")
    w.list_ip("bl.example", "2001:db8:20::99")
    w.list_ip("bl2.example", "10.80.90.100", "127.0.0.4")
    w.list_ip("bl.example", "10.60.70.10")
    w.list_ip("wl.example", "203.0.113.40", "127.0.10.3")
    # a list that says "you are blocked" (127.255.255.254) for everything
    w.dns.redirect("blocked.example", "A", "127.255.255.254")
    # a list that lists everything, 127.0.0.1 included
    w.dns.redirect("everything.example", "A", "127.0.0.2")
    # the built-in set, served with test data
    for zone in DEFAULT_BLOCK_LISTS:
        w.add_list(zone)
    w.add_list(DEFAULT_ALLOW_LIST, allow=True, test_entry="127.0.10.0")
    w.list_ip("zen.spamhaus.org", "10.80.90.100", "127.0.0.2")
    w.list_ip("zen.spamhaus.org", "2001:db8:20::99", "127.0.0.2")
    w.list_ip("zen.spamhaus.org", "10.60.70.10", "127.0.0.3")
    w.list_ip("bl.spamcop.net", "10.80.90.100", "127.0.0.2")
    w.list_ip(DEFAULT_ALLOW_LIST, "203.0.113.40", "127.0.15.3")
    # sender domains
    w.mail_domain("good.example", mx="mail.good.example",
                  spf="v=spf1 ip4:203.0.113.8/29 ip6:2001:db8:10::/64 -all")
    # a mailing list: SPF through an include chain (two levels)
    w.mail_domain("listhost.example", mx="lists.listhost.example",
                  spf="v=spf1 include:_spf.listhost.example -all")
    w.spf("_spf.listhost.example", "v=spf1 include:_out.listhost.example ip4:203.0.113.21 -all")
    w.spf("_out.listhost.example", "v=spf1 ip4:203.0.113.20 -all")
    w.mail_domain("forwarder.example", mx="fwd.forwarder.example",
                  spf="v=spf1 ip4:203.0.113.30 -all")
    # the original sender of forwarded mail: SPF fails at the forwarder
    w.mail_domain("orig.example", mx="mx.orig.example", spf="v=spf1 ip4:192.0.2.200 -all")
    w.dns.add("mx.orig.example", "A", "192.0.2.200")
    w.mail_domain("wlisted.example", mx="mail.wlisted.example",
                  spf="v=spf1 ip4:203.0.113.40 -all")
    w.mail_domain("softfail.example", mx="mx.softfail.example", spf="v=spf1 ip4:192.0.2.201 ~all")
    w.mail_domain("neutral.example", mx="mx.neutral.example", spf="v=spf1 ?all")
    w.mail_domain("permerror.example", mx="mx.permerror.example", spf="v=spf1 ip4:300.1.2.3 -all")
    w.mail_domain("nospf.example", mx="mx.nospf.example")
    w.mail_domain("aonly.example", a="192.0.2.202")
    w.mail_domain("nullmx.example", mx=".")
    w.mail_domain("nomail.example", spf="v=spf1 -all")   # exists, no MX, no address
    w.mail_domain("plain.example", mx="mail.plain.example", spf="v=spf1 ip4:10.99.0.0/24 -all")
    w.mail_domain("deals.icu", mx="mx.deals.icu")
    w.dns.add("mx.deals.icu", "A", "10.20.30.99")
    w.mail_domain("shoe-a.example", mx="mta10.shoe-a.example", spf="v=spf1 ip4:10.60.70.0/24 -all")
    # an SPF include chain three levels deep, passing at the bottom
    w.mail_domain("chain.example", mx="mx.chain.example", spf="v=spf1 include:l1.chain.example -all")
    w.spf("l1.chain.example", "v=spf1 include:l2.chain.example -all")
    w.spf("l2.chain.example", "v=spf1 include:l3.chain.example -all")
    w.spf("l3.chain.example", "v=spf1 ip4:10.99.0.0/24 -all")
    for host in ("mx.softfail.example", "mx.neutral.example", "mx.permerror.example",
                 "mx.nospf.example", "mx.chain.example"):
        w.dns.add(host, "A", "192.0.2.203")
    return w


def standard_world(hosts=("legit", "spam", "misc")):
    return standard_zones(ScreenWorld(hosts))


# ---- the test-case base ---------------------------------------------------------

USERS = (("kim@example.test", "secret"), ("lee@example.test", "secret"),
         ("ann@example.test", "secret"), ("bob@example.test", "secret"))


class ScreenCase:
    """A mixin for unittest.TestCase: one world and one daemon per class.

    Class attributes: CONF (screen lines of homemx.conf), TRUSTED, CLOCK,
    ODD_DNS (the daemon asks world.odd, set up by odd_rules(odd)),
    GREETING_DELAY; extra_zones(world) adds records before the start.
    """

    CONF = ""
    TRUSTED = "127.0.0.0/8 ::1/128"
    CLOCK = False
    ODD_DNS = False
    GREETING_DELAY = "0s"

    @classmethod
    def extra_zones(cls, w):
        pass

    @classmethod
    def odd_rules(cls, odd):
        pass

    @classmethod
    def setUpClass(cls):
        cls.w = standard_world()
        cls.extra_zones(cls.w)
        try:
            cls.w.start()
            dns = None
            if cls.ODD_DNS:
                dns = cls.w.use_odd_dns()
                cls.odd_rules(dns)
            cls.h = cls.w.homemx(cls.CONF, trusted=cls.TRUSTED, clock=cls.CLOCK, dns=dns,
                                 users=USERS, greeting_delay=cls.GREETING_DELAY)
            cls.h.start()
        except BaseException:
            cls.w.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.h.stop()        # fails on a sanitizer report
        finally:
            cls.w.stop()

    # -- helpers --
    def send(self, ip, helo, mail_from, rcpts="kim@example.test", body=False, **kw):
        return self.w.send(ip, helo, mail_from, rcpts, body=body, **kw)

    def judged(self, ip, helo, mail_from, rcpt="kim@example.test", body=False, **kw):
        """One transaction to one recipient and its verdict line:
        (Transaction, verdict dict)."""
        since = self.h.log_size()
        t = self.send(ip, helo, mail_from, [rcpt], body=body, **kw)
        self.assertIsNone(t.error, t)
        self.assertEqual(t.mail and t.mail[0], 250, t)
        return t, self.verdict_after(since, ip, rcpt)

    def verdict_after(self, since, ip, rcpt, timeout=harness.WAIT):
        """The first verdict for (ip, rcpt) logged after offset since."""
        pattern = (rf"homemx-screen\[\d+\]: event=verdict .*to=<{re.escape(rcpt)}>.* "
                   rf"ip={re.escape(ip)}$")
        self.h.wait_line(pattern, since=since, timeout=timeout)
        for v in self.h.verdicts(since):
            if v.get("ip") == ip and v.get("to") == rcpt:
                return v
        raise AssertionError(f"verdict for {ip} {rcpt} not parsed")

    def assertVerdict(self, t, v, code, enhanced, verdict, rcpt=None):
        """The reply and the log line agree, and the score is the sum of
        the checks."""
        got = t.rcpt_code(rcpt)
        self.assertEqual(got, code, f"{t}\n{v}")
        self.assertTrue(t.rcpt_text(rcpt).startswith(enhanced), f"{t}\n{v}")
        self.assertEqual(v["verdict"], verdict, v)
        self.assertEqual(v["reply"], f"{code} {enhanced}", v)
        known = [w for w in v["checks"].values() if isinstance(w, int)]
        if all(isinstance(w, int) for w in v["checks"].values()):
            self.assertEqual(int(v["score"]), sum(known), v)
        if code != 250:
            self.assertEqual(t.ref(rcpt), v["ref"], f"{t}\n{v}")

    def raw(self, ip, timeout=10):
        """A harness.SMTPClient connected from ip (before the banner)."""
        server = Topology.MTA_IPV6 if ":" in ip else Topology.MTA_IPV4
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        with in_netns(self.w.host_of(ip).ns):
            s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.bind((ip, 0))
        s.connect((server, SMTP_PORT))
        c = harness.SMTPClient.__new__(harness.SMTPClient)
        c.sock, c.buf = s, b""
        return c

    def restart_screen(self, sig=9):
        """kill the screen role; returns after its successor is linked."""
        old = self.h.screen_pid()
        self.assertIsNotNone(old, "no screen role")
        since = self.h.log_size()
        os.kill(old, sig)
        self.h.wait_screen_link(since=since)
        new = self.h.screen_pid()
        self.assertNotEqual(new, old)
        return new
