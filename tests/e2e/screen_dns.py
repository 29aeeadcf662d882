"""tests/e2e/screen_dns.py - DNS tools of the screen tests' world: an
"odd" DNS server in front of unbound, and a one-query client.

Owns: OddDns (python3-dnslib), which answers chosen names the way unbound
will not - silence (a timeout), SERVFAIL, packets that do not parse,
hand-made answers (bad PTR names, CNAME loops, forty records) - and
forwards every other query to the world's unbound, over UDP (truncation
passed on) or TCP; and dns_ask(), which the world's own test uses to see
what the zones say. tests/e2e/screen_world.py builds the world around
them; test_screen_dns.py points the daemon at OddDns.
"""

import os
import select
import socket
import struct
import threading

from dnslib import QTYPE, RCODE, RR, A, DNSRecord

from netns import in_netns

ODD_DNS_PORT = 5300


class OddDns:
    """A DNS server in the mta namespace (python3-dnslib) that answers
    chosen names oddly and forwards the rest to unbound.

    rules: [(suffix, action)], first match wins; the query name (lower
    case, no trailing dot) matches when it equals suffix or ends in
    "." + suffix. An action is "silent" (no answer: a timeout),
    "servfail", "garbage" (a packet cut in the middle of its answer),
    "badcount" (ANCOUNT says more records than follow), or a function
    (DNSRecord query) -> DNSRecord reply | bytes | None. Unmatched
    queries go to unbound over UDP (truncation is passed on) or TCP.
    seen: the (name, type) of every query, for tests that count them.
    """

    def __init__(self, topo, upstream_port=53, port=ODD_DNS_PORT):
        self.topo = topo
        self.port = port
        self.upstream = ("127.0.0.1", upstream_port)
        self.rules = []
        self.seen = []
        self.pending = {}          # upstream id -> (client id, peer)
        self.next_id = 1
        self.lock = threading.Lock()
        self.stop_r, self.stop_w = os.pipe()
        with in_netns(topo.mta):
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind(("127.0.0.1", port))
            self.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.tcp.bind(("127.0.0.1", port))
            self.tcp.listen(16)
        self.threads = [threading.Thread(target=self._udp_loop, daemon=True),
                        threading.Thread(target=self._tcp_loop, daemon=True)]
        for t in self.threads:
            t.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def rule(self, suffix, action):
        self.rules.insert(0, (suffix.lower().rstrip("."), action))

    def _action(self, name):
        for suffix, action in self.rules:
            if name == suffix or name.endswith("." + suffix):
                return action
        return None

    def _reply(self, data):
        """(True, bytes|None) when a rule answers, (False, None) to forward."""
        try:
            q = DNSRecord.parse(data)
        except Exception:      # noqa: BLE001 - a client's garbage is not ours to judge
            return True, None
        name = str(q.q.qname).rstrip(".").lower()
        with self.lock:
            self.seen.append((name, QTYPE.get(q.q.qtype, q.q.qtype)))
        action = self._action(name)
        if action is None:
            return False, None
        if callable(action):
            out = action(q)
            return True, (out.pack() if isinstance(out, DNSRecord) else out)
        r = q.reply()
        if action == "silent":
            return True, None
        if action == "servfail":
            r.header.rcode = RCODE.SERVFAIL
            return True, r.pack()
        r.add_answer(RR(q.q.qname, QTYPE.A, rdata=A("127.0.0.2"), ttl=60))
        packed = r.pack()
        if action == "garbage":
            return True, packed[:-3]
        if action == "badcount":
            b = bytearray(packed)
            b[7] = 5
            return True, bytes(b)
        raise ValueError(f"OddDns: unknown action {action!r}")

    def _udp_loop(self):
        while True:
            ready, _, _ = select.select([self.udp, self.up, self.stop_r], [], [])
            if self.stop_r in ready:
                return
            if self.udp in ready:
                data, peer = self.udp.recvfrom(65535)
                answered, out = self._reply(data)
                if answered:
                    if out is not None:
                        self.udp.sendto(out, peer)
                elif len(data) >= 12:
                    self._forward(data, peer)
            if self.up in ready:
                data = self.up.recv(65535)
                if len(data) < 12:
                    continue
                upid = struct.unpack(">H", data[:2])[0]
                orig = self.pending.pop(upid, None)
                if orig is not None:
                    self.udp.sendto(struct.pack(">H", orig[0]) + data[2:], orig[1])

    def _forward(self, data, peer):
        upid = self.next_id
        self.next_id = self.next_id % 65535 + 1
        self.pending[upid] = (struct.unpack(">H", data[:2])[0], peer)
        self.up.sendto(struct.pack(">H", upid) + data[2:], self.upstream)

    def _tcp_loop(self):
        while True:
            ready, _, _ = select.select([self.tcp, self.stop_r], [], [])
            if self.stop_r in ready:
                return
            conn, _ = self.tcp.accept()
            threading.Thread(target=self._tcp_serve, args=(conn,), daemon=True).start()

    def _tcp_serve(self, conn):
        """One length-prefixed query at a time (RFC 1035 4.2.2)."""
        try:
            conn.settimeout(10)
            while True:
                data = _recv_tcp_message(conn)
                if data is None:
                    return
                answered, out = self._reply(data)
                if not answered:
                    with in_netns(self.topo.mta):
                        up = socket.create_connection(self.upstream, timeout=10)
                    with up:
                        up.sendall(struct.pack(">H", len(data)) + data)
                        out = _recv_tcp_message(up)
                if out is None:
                    return
                conn.sendall(struct.pack(">H", len(out)) + out)
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self):
        os.write(self.stop_w, b"x")
        for t in self.threads:
            t.join(timeout=5)
        for s in (self.udp, self.up, self.tcp):
            s.close()
        os.close(self.stop_r)
        os.close(self.stop_w)


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _recv_tcp_message(sock):
    head = _recv_exact(sock, 2)
    if head is None:
        return None
    return _recv_exact(sock, struct.unpack(">H", head)[0])


def dns_ask(ns, server, name, qtype="A", port=53, tcp=False, timeout=3.0):
    """One query from namespace ns: (rcode name, [rdata text], flags) or
    (None, [], None) on timeout. For the world's own tests."""
    q = DNSRecord.question(name, qtype)
    data = q.pack()
    with in_netns(ns):
        if tcp:
            s = socket.create_connection((server, port), timeout=timeout)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        if tcp:
            s.sendall(struct.pack(">H", len(data)) + data)
            raw = _recv_tcp_message(s)
        else:
            s.sendto(data, (server, port))
            raw = s.recv(65535)
    except socket.timeout:
        return None, [], None
    finally:
        s.close()
    try:
        r = DNSRecord.parse(raw)
    except Exception:          # noqa: BLE001 - the caller asked for odd packets
        return "UNPARSEABLE", [], None
    want = QTYPE.reverse.get(qtype.upper()) if isinstance(qtype, str) else qtype
    rdata = [str(rr.rdata) for rr in r.rr if rr.rtype == want]
    return RCODE.get(r.header.rcode), rdata, r.header
