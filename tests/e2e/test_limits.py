"""e2e: connection limits that fit real senders - a stock Postfix sending
40 messages at once gets every one in without a 421, while an unknown
address still gets only max_connections_per_ip.

The picture: homemxd in the mta namespace (smtp on 192.0.2.1), a private
Postfix instance in the namespace of host "sender" (192.0.2.10), whose
DNS is what a well-run MTA has: a PTR that resolves back and matches its
HELO, an MX and an SPF record that passes for it. Postfix relays
everything to [192.0.2.1] with its defaults (destination concurrency 20,
starting at 5 and growing by one with each delivery). homemx has
greeting_delay 1s, so sessions overlap as they do over a real network.

1. Before any mail the sender is unknown: its 11th connection at once
   gets 421 4.7.0 (reason=max_connections_per_ip).
2. 40 messages are queued in Postfix while its relay transport is held
   (defer_transports), then released at once (postqueue -f). All 40
   arrive; Postfix's log holds no 421 and no deferral, homemx refused no
   connection, and Postfix really went above 10 connections at once.
3. The sender is now known (its mail was accepted with a score <= 0):
   30 connections at once are served, the 31st gets 421
   (reason=max_connections_per_known_ip).
The flood tests of test_smtpd*.py (drip, idle, per-IP and per-net) keep
their own settings and stay as they were.
"""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from harness import WAIT, free_port, wait_until
from netns import NetnsHomemx, Topology, Unbound, can_use_netns, in_netns

POSTFIX = "/usr/sbin/postfix"
MESSAGES = 40


def postfix_main_cf(base, relay):
    return f"""\
# A private sending Postfix for tests/e2e/test_limits.py: stock settings,
# except where it lives and that it relays everything to homemx.
compatibility_level = 3.6
config_directory = {base}/etc
queue_directory = {base}/queue
data_directory = {base}/data
maillog_file = {base}/maillog
maillog_file_prefixes = {base}
myhostname = mx1.sender.example
mydomain = sender.example
myorigin = sender.example
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relayhost = [{relay[0]}]:{relay[1]}
disable_dns_lookups = yes
smtp_dns_support_level = disabled
smtp_host_lookup = native
# held at first, so that all 40 leave at once
defer_transports = smtp
biff = no
readme_directory = no
"""


POSTFIX_MASTER_CF = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def peak_sessions(log, ip):
    """The most sessions from ip open at once, from the connect and
    disconnect lines of one smtpd."""
    open_now, peak, mine = 0, 0, set()
    for m in re.finditer(r"event=(connect|disconnect) sess=(\S+) ip=(\S+)", log):
        kind, sess, addr = m.groups()
        if kind == "connect" and addr == ip:
            mine.add(sess)
            open_now += 1
            peak = max(peak, open_now)
        elif kind == "disconnect" and sess in mine:
            open_now -= 1
    return peak


class PostfixSender:
    """A private Postfix instance inside a namespace."""

    def __init__(self, ns, relay):
        self.ns = ns
        self.base = tempfile.mkdtemp(prefix="hmx-postfix-")
        os.chmod(self.base, 0o755)
        self.conf = os.path.join(self.base, "etc")
        for d in (self.conf, os.path.join(self.base, "queue")):
            os.makedirs(d)
            os.chmod(d, 0o755)  # postfix start creates the rest, owned right
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(postfix_main_cf(self.base, relay))
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(POSTFIX_MASTER_CF)
        self.started = False

    def run(self, *argv, input=None):
        with in_netns(self.ns):
            p = subprocess.run(list(argv), input=input, capture_output=True, text=True,
                               timeout=WAIT)
        if p.returncode != 0:
            raise AssertionError(f"{' '.join(argv)}: {p.stdout}{p.stderr}\n{self.log()[-3000:]}")
        return p.stdout

    def log(self):
        try:
            with open(os.path.join(self.base, "maillog"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def start(self):
        self.started = True
        self.run(POSTFIX, "-c", self.conf, "start")
        wait_until(lambda: os.path.exists(os.path.join(self.base, "queue", "pid", "master.pid")),
                   what="postfix master.pid")

    def queued(self, queue):
        n = 0
        for _, _, files in os.walk(os.path.join(self.base, "queue", queue)):
            n += len(files)
        return n

    def send(self, i):
        msg = (f"From: Alice <alice@sender.example>\nTo: kim@example.test\n"
               f"Subject: message {i} of {MESSAGES}\n\nbody {i}\n")
        self.run("/usr/sbin/sendmail", "-C", self.conf, "-f", "alice@sender.example",
                 "kim@example.test", input=msg)

    def release(self):
        self.run("/usr/sbin/postconf", "-c", self.conf, "-e", "defer_transports =")
        self.run(POSTFIX, "-c", self.conf, "reload")
        self.run("/usr/sbin/postqueue", "-c", self.conf, "-f")

    def stop(self):
        if self.started:
            with in_netns(self.ns):
                subprocess.run([POSTFIX, "-c", self.conf, "stop"], capture_output=True,
                               timeout=WAIT)
            self.started = False
        shutil.rmtree(self.base, ignore_errors=True)


class LimitsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        ok, why = can_use_netns()
        if not ok:
            raise unittest.SkipTest(why)
        if not os.access(POSTFIX, os.X_OK):
            raise unittest.SkipTest("postfix not installed (scripts/install-deps)")
        cls.topo = Topology()
        cls.sender = cls.topo.add_host("sender", ipv6=False)
        cls.topo.start()
        cls.dns = Unbound(cls.topo)
        ip = cls.sender.ipv4
        cls.dns.add(".".join(reversed(ip.split("."))) + ".in-addr.arpa", "PTR",
                    "mx1.sender.example.")
        cls.dns.add("mx1.sender.example", "A", ip)
        cls.dns.add("sender.example", "MX", "10 mx1.sender.example.")
        cls.dns.add("sender.example", "TXT", f'"v=spf1 ip4:{ip} -all"')
        cls.dns.start()
        cls.port = free_port()
        # greeting_delay 1s (as the demo config has it) makes each new
        # session last a second: Postfix's concurrency, growing with each
        # delivery (positive feedback 1), then really overlaps its sessions
        cls.h = NetnsHomemx(cls.topo, cls.dns, greeting_delay="1s",
                            extra_conf=f"listen smtp {Topology.MTA_IPV4}:{cls.port}\n")
        cls.postfix = None
        try:
            cls.h.start()
            cls.postfix = PostfixSender(cls.sender.ns, (Topology.MTA_IPV4, cls.port))
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.postfix is not None:
            cls.postfix.stop()
        cls.h.stop()
        cls.h.cleanup()
        cls.dns.stop()
        cls.topo.stop()

    def open_connections(self, n):
        """n connections at once from the sender; the greeting of each."""
        socks, greetings = [], []
        with in_netns(self.sender.ns):
            for _ in range(n):
                socks.append(socket.create_connection((Topology.MTA_IPV4, self.port),
                                                      timeout=WAIT))
        for s in socks:
            greetings.append(s.recv(512).decode(errors="replace"))
        return socks, greetings

    def close_all(self, socks):
        for s in socks:
            s.close()
        self.h.wait_sessions_ended()

    def test_stock_postfix_gets_40_messages_in_and_unknown_clients_stay_limited(self):
        h = self.h
        # 1. unknown: 10 at once, the 11th is refused
        socks, greetings = self.open_connections(11)
        self.assertEqual(sum(g.startswith("220 ") for g in greetings), 10, greetings)
        self.assertTrue(greetings[-1].startswith("421 4.7.0"), greetings[-1])
        self.assertEqual(h.count("reason=max_connections_per_ip"), 1)
        self.close_all(socks)
        refused_before = h.count("event=connect_refused")

        # 2. 40 messages held in Postfix, then released at once
        pf = self.postfix
        pf.start()
        for i in range(MESSAGES):
            pf.send(i)
        wait_until(lambda: pf.queued("deferred") == MESSAGES, what="40 held in postfix",
                   detail=lambda: pf.log()[-2000:])
        pf.release()
        msgs = h.wait_messages("kim@example.test", MESSAGES, timeout=3 * WAIT)
        self.assertEqual(len(msgs), MESSAGES)
        wait_until(lambda: pf.queued("deferred") + pf.queued("active") == 0,
                   what="postfix queue empty", detail=lambda: pf.log()[-2000:])
        log = pf.log()
        self.assertNotRegex(log, r"\b421\b", log[-3000:])
        self.assertEqual(log.count("status=sent"), MESSAGES, log[-3000:])
        self.assertEqual(h.count("event=connect_refused"), refused_before)
        peak = peak_sessions(h.log(), self.sender.ipv4)
        self.assertGreater(peak, 10, "Postfix never needed more than the unknown limit")

        # 3. known now: 30 at once, the 31st refused
        h.wait_sessions_ended()
        socks, greetings = self.open_connections(31)
        self.assertEqual(sum(g.startswith("220 ") for g in greetings), 30, greetings)
        self.assertTrue(greetings[-1].startswith("421 4.7.0"), greetings[-1])
        self.assertEqual(h.count("reason=max_connections_per_known_ip"), 1)
        self.close_all(socks)


if __name__ == "__main__":
    unittest.main()
