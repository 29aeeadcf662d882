"""tests/e2e/netns.py - isolated networks, DNS and remote SMTP servers for
outbound-mail tests.

Owns: the test topology of network namespaces, the unbound that serves the
test zones, and the NetnsHomemx wrapper that runs the real daemon inside
the topology. The SMTP receivers live in smtp_receiver.py.

Why namespaces: outbound delivery must be tested against several "remote"
hosts with both IPv4 and IPv6 addresses, real MX records and real TCP,
without ever sending a packet off this machine. Every address used here
comes from the documentation ranges (192.0.2.0/24, 2001:db8::/32) and
exists only inside the namespaces this module creates and deletes.

The picture::

    namespace <prefix>-mta                 namespace <prefix>-h<N> (one per host)
    +------------------------------+       +---------------------------+
    | homemxd (NetnsHomemx)        |       | SMTP receiver(s) of the   |
    | unbound on 127.0.0.1:53      |       | test (threads of the test |
    | br0: 192.0.2.1/24            |--veth-| process, sockets created  |
    |      2001:db8::1/64          |       | in this namespace)        |
    +------------------------------+       | eth0: 192.0.2.<10+N>/24   |
                                           |       2001:db8::<10+N>/64 |
                                           +---------------------------+

Typical use (see test_relay_daemon.py; test_relay.py runs the relay role
alone in the same topology)::

    ok, why = can_use_netns()            # skip the test unless ok (root)
    topo = Topology()                    # names carry our pid
    mx1 = topo.add_host("mx1")           # Host: .ns, .ipv4, .ipv6
    topo.start()
    dns = Unbound(topo)
    dns.add("example.net", "MX", "10 mx1.example.net.")
    dns.add_host_records("mx1.example.net", mx1)      # A + AAAA
    dns.add("nullmx.example", "MX", "0 .")
    dns.start()
    rx = SmtpReceiver(mx1, name="mx1.example.net").start()
    h = NetnsHomemx(topo, dns, extra_conf="listen submission 127.0.0.1:5870 ...")
    h.start()                            # homemxd inside <prefix>-mta,
    c = h.smtp(5870)                     # dns_server = the unbound above
    ...
    rx.wait_messages(1)                  # Message: .data .family .tls .conn
    h.stop(); rx.stop(); dns.stop(); topo.stop()   # always: tearDown/finally

NetnsHomemx sets dns_server itself (the harness writes that key): do not
put it into extra_conf.

Threads and namespaces: in_netns() moves only the calling thread (setns(2)
is per thread). A socket keeps the namespace it was created in, so the
test creates sockets (or forks processes, which inherit the thread's
namespace) inside `with in_netns(name):` and uses them anywhere.
Clean-up: Topology.stop() kills what it started and deletes its
namespaces; an atexit hook does the same if a test forgot, and a new
Topology removes namespaces left by test processes that no longer exist.
"""

import atexit
import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

from harness import WAIT, Homemx, LogWatch

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"
PREFIX_RE = re.compile(r"^hmx(\d+)x(\d+)-")

_libc = ctypes.CDLL(None, use_errno=True)
_live_topologies = []
_counter = [0]


class NetnsError(RuntimeError):
    pass


def can_use_netns():
    """(True, "") if this process may create network namespaces, else
    (False, reason): tests skip themselves with the reason."""
    if os.geteuid() != 0:
        return False, "needs root for ip netns"
    if shutil.which("ip") is None:
        return False, "iproute2 (ip) not installed"
    name = f"hmx{os.getpid()}x0-probe"
    p = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if p.returncode != 0:
        return False, f"ip netns add failed: {p.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return True, ""


def _ip(*args, ns=None):
    cmd = ["ip"] + (["-n", ns] if ns else []) + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise NetnsError(f"{' '.join(cmd)}: {p.stderr.strip()}")
    return p.stdout


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def in_netns(name):
    """Runs the body with the calling thread inside namespace `name`."""
    orig = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(orig)
    finally:
        os.close(target)
        os.close(orig)


def connect_in(ns, host, port, timeout=WAIT):
    """A TCP connection made from inside namespace ns."""
    with in_netns(ns):
        return socket.create_connection((host, port), timeout=timeout)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def remove_stale_namespaces():
    """Deletes namespaces (and unbound config directories) left behind by
    test processes that are gone."""
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        names = []
    for name in names:
        m = PREFIX_RE.match(name)
        if m and not _pid_alive(int(m.group(1))):
            _kill_ns_processes(name)
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
    try:
        confs = os.listdir(Unbound.CONF_BASE)
    except OSError:
        confs = []
    for name in confs:
        m = re.match(r"^hmx-hmx(\d+)x\d+$", name)
        if m and not _pid_alive(int(m.group(1))):
            shutil.rmtree(os.path.join(Unbound.CONF_BASE, name), ignore_errors=True)


def _kill_ns_processes(name):
    p = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
    for pid in p.stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


class Host:
    """One remote machine: its own namespace with one IPv4 and one IPv6
    address on eth0 (plus any extra ones), reachable from the mta."""

    def __init__(self, topo, label, index, ipv4=True, ipv6=True):
        self.topo = topo
        self.label = label
        self.index = index
        self.ns = f"{topo.prefix}-h{index}"
        self.ipv4 = f"192.0.2.{10 + index}" if ipv4 else None
        self.ipv6 = f"2001:db8::{10 + index:x}" if ipv6 else None
        self.extra = []

    def addresses(self):
        """[(family, ip)] of this host."""
        out = []
        if self.ipv4:
            out.append((socket.AF_INET, self.ipv4))
        if self.ipv6:
            out.append((socket.AF_INET6, self.ipv6))
        return out + list(self.extra)

    def __repr__(self):
        return f"Host({self.label} {self.ipv4} {self.ipv6})"


class Topology:
    """The mta namespace with a bridge, and one namespace per Host."""

    MTA_IPV4 = "192.0.2.1"
    MTA_IPV6 = "2001:db8::1"

    def __init__(self):
        remove_stale_namespaces()
        _counter[0] += 1
        # Short, unique per process and per instance, recognisable as ours.
        self.prefix = f"hmx{os.getpid()}x{_counter[0]}"
        self.mta = f"{self.prefix}-mta"
        self.hosts = []
        self.mta_extra = []
        self.namespaces = []
        self.processes = []
        self.dir = tempfile.mkdtemp(prefix="hmx-netns-")
        os.chmod(self.dir, 0o755)
        self.started = False

    def add_host(self, label, ipv4=True, ipv6=True):
        """Declares a remote host (before start())."""
        if self.started:
            raise NetnsError("add_host after start")
        h = Host(self, label, len(self.hosts), ipv4, ipv6)
        if h.index > 200:
            raise NetnsError("too many hosts")
        self.hosts.append(h)
        return h

    def add_mta_address(self, ip):
        """An extra address of the mta (e.g. for a source= rule)."""
        self.mta_extra.append(ip)
        if self.started:
            self._add_addr(self.mta, "br0", ip)

    @staticmethod
    def _add_addr(ns, dev, ip):
        if ":" in ip:
            _ip("-6", "addr", "add", f"{ip}/64", "dev", dev, "nodad", ns=ns)
        else:
            _ip("addr", "add", f"{ip}/24", "dev", dev, ns=ns)

    def _new_ns(self, name):
        _ip("netns", "add", name)
        self.namespaces.append(name)
        _ip("link", "set", "lo", "up", ns=name)

    def start(self):
        _live_topologies.append(self)
        try:
            self._new_ns(self.mta)
            _ip("link", "add", "br0", "type", "bridge", "forward_delay", "0", ns=self.mta)
            _ip("link", "set", "br0", "up", ns=self.mta)
            self._add_addr(self.mta, "br0", self.MTA_IPV4)
            self._add_addr(self.mta, "br0", self.MTA_IPV6)
            for ip in self.mta_extra:
                self._add_addr(self.mta, "br0", ip)
            for h in self.hosts:
                self._start_host(h)
        except BaseException:
            self.stop()
            raise
        self.started = True
        return self

    def _start_host(self, h):
        self._new_ns(h.ns)
        port = f"v{h.index}"
        _ip("link", "add", port, "netns", self.mta, "type", "veth",
            "peer", "name", "eth0", "netns", h.ns)
        _ip("link", "set", port, "master", "br0", "up", ns=self.mta)
        _ip("link", "set", "eth0", "up", ns=h.ns)
        for family, ip in h.addresses():
            self._add_addr(h.ns, "eth0", ip)

    def run_in(self, ns, argv, **popen_kw):
        """Starts a process inside namespace ns; stop() kills it."""
        with in_netns(ns):
            p = subprocess.Popen(argv, **popen_kw)
        self.processes.append(p)
        return p

    def stop(self):
        for p in self.processes:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.processes = []
        for name in reversed(self.namespaces):
            _kill_ns_processes(name)
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        self.namespaces = []
        if self in _live_topologies:
            _live_topologies.remove(self)
        if not os.environ.get("HOMEMX_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        self.started = False


@atexit.register
def _cleanup_all():
    for topo in list(_live_topologies):
        topo.stop()


def dns_query(ns, server, port, name, qtype=15, timeout=2.0):
    """Sends one DNS query from namespace ns; returns the rcode (or None
    on timeout). qtype 15 = MX. Just enough DNS to see a server is up."""
    qid = os.getpid() & 0xFFFF
    header = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    qname = b"".join(bytes([len(x)]) + x.encode() for x in name.strip(".").split(".")) + b"\0"
    packet = header + qname + struct.pack(">HH", qtype, 1)
    with in_netns(ns):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(packet, (server, port))
        data = s.recv(4096)
        return data[3] & 0x0F
    except socket.timeout:
        return None
    finally:
        s.close()


class Unbound(LogWatch):
    """unbound inside the mta namespace, authoritative for every name it is
    given and NXDOMAIN for everything else (local-zone "." static): it
    never sends a query anywhere.

    add("example.net", "MX", "10 mx1.example.net.")
    add("nullmx.example", "MX", "0 .")              # RFC 7505 null MX
    refuse("broken.example")                        # REFUSED: a DNS failure
    Changing records after start() needs restart().
    """

    # Debian's AppArmor profile for unbound lets it read only /etc/unbound
    # and /var/lib/unbound: the config goes below the latter when it exists.
    CONF_BASE = "/var/lib/unbound"

    def __init__(self, topo, port=53):
        self.topo = topo
        self.port = port
        self.records = []
        self.refused = []
        self.proc = None
        base = self.CONF_BASE if os.path.isdir(self.CONF_BASE) else topo.dir
        self.conf_dir = os.path.join(base, f"hmx-{topo.prefix}")
        self.conf_path = os.path.join(self.conf_dir, "unbound.conf")
        self.log_path = os.path.join(topo.dir, "unbound.log")

    @property
    def address(self):
        """The value for homemx's dns_server."""
        return f"127.0.0.1:{self.port}"

    def add(self, name, rtype, rdata, ttl=300):
        name = name if name.endswith(".") else name + "."
        self.records.append(f"{name} {ttl} IN {rtype} {rdata}")

    def add_host_records(self, name, host, ipv4=True, ipv6=True):
        """A and/or AAAA of name pointing at Host host."""
        if ipv4 and host.ipv4:
            self.add(name, "A", host.ipv4)
        if ipv6 and host.ipv6:
            self.add(name, "AAAA", host.ipv6)

    def refuse(self, zone):
        self.refused.append(zone if zone.endswith(".") else zone + ".")

    def write_conf(self):
        os.makedirs(self.conf_dir, exist_ok=True)
        lines = [
            "server:",
            "    interface: 127.0.0.1",
            f"    port: {self.port}",
            "    do-ip6: no",
            '    chroot: ""',
            '    username: ""',
            f'    directory: "{self.conf_dir}"',
            '    pidfile: ""',
            "    use-syslog: no",
            '    logfile: ""',          # stderr, which start() sends to log_path
            "    verbosity: 1",
            "    num-threads: 1",
            "    do-not-query-localhost: no",
            '    module-config: "iterator"',
            "    access-control: 127.0.0.0/8 allow",
            '    local-zone: "." static',
        ]
        lines += [f'    local-zone: "{z}" refuse' for z in self.refused]
        # A record holding '"' (TXT) goes in single quotes.
        lines += [f"    local-data: '{r}'" if '"' in r else f'    local-data: "{r}"'
                  for r in self.records]
        lines += ["remote-control:", "    control-enable: no"]
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self, timeout=WAIT):
        self.write_conf()
        p = subprocess.run(["unbound-checkconf", self.conf_path], capture_output=True, text=True)
        if p.returncode != 0:
            raise NetnsError(f"unbound.conf: {p.stdout}{p.stderr}")
        logf = open(self.log_path, "ab")
        self.proc = self.topo.run_in(self.topo.mta, ["unbound", "-d", "-p", "-c", self.conf_path],
                                     stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        logf.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise NetnsError(f"unbound exited: {self.log()}")
            if dns_query(self.topo.mta, "127.0.0.1", self.port, "probe.invalid", timeout=0.2) is not None:
                return self
            time.sleep(0.05)
        raise NetnsError(f"unbound not answering after {timeout}s: {self.log()}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        shutil.rmtree(self.conf_dir, ignore_errors=True)

    def restart(self):
        self.stop()
        self.start()


class NetnsHomemx(Homemx):
    """The harness's Homemx, with homemxd running inside the topology's mta
    namespace and dns_server pointing at the test's unbound.

    Everything of Homemx works as before (h.log(), h.mxctl(), h.maildir(),
    h.wait_messages(), h.role_pids(), readiness of the optional roles);
    h.smtp_port and any submission port are reachable only from inside the
    namespace: use h.connect(port) for a raw socket or h.smtp(port) for an
    smtplib.SMTP made inside it (STARTTLS on it works as usual).
    """

    def __init__(self, topo, dns, **kw):
        if dns is not None:
            kw.setdefault("dns_server", dns.address)
        super().__init__(**kw)
        self.topo = topo

    def start(self, provision=True):
        # The fork inside start() inherits this thread's namespace, and
        # wait_ready's probe connects from inside it too.
        with in_netns(self.topo.mta):
            super().start(provision=provision)

    def role_pids(self):
        # /proc/PID/comm is cut at 15 bytes: "homemx-submission" -> "submissi"
        pids = super().role_pids()
        if "submissi" in pids:
            pids["submission"] = pids.pop("submissi")
        return pids

    def connect(self, port=None, timeout=WAIT):
        """A socket to 127.0.0.1:port (default: the smtp port) in the mta."""
        return connect_in(self.topo.mta, "127.0.0.1", port or self.smtp_port, timeout)

    def smtp(self, port=None, timeout=WAIT):
        """smtplib.SMTP to 127.0.0.1:port, connected from inside the mta."""
        import smtplib
        with in_netns(self.topo.mta):
            return smtplib.SMTP("127.0.0.1", port or self.smtp_port, timeout=timeout)
