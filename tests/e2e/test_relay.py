"""tests/e2e/test_relay.py - homemx-relay, the outbound SMTP client, against
real DNS (unbound) and real SMTP servers in network namespaces.

The test plays the supervisor and the queue: it execs the real relay
binary inside the topology's mta namespace the way homemxd does (fd 3
control link, fd 4 config memfd, MSG_SUP_LINK), dropped to an unprivileged
user and chrooted into an empty directory as in production, and sends
MSG_QUEUE_RELAY frames with a body fd; it checks the MSG_RELAY_RESULT
answers, what the receivers saw (address family, TLS, transcript, bytes)
and the log lines (one event=relay_attempt per session to one address).
It also plays the queue's side of the remembered IPv6->IPv4 fallback
(MSG_RELAY_FAMILY_LEARNED out, MSG_QUEUE_FAMILY_MEMORY in). Frame
layouts: lib/ipc_msgs.h.

Needs root (ip netns); skipped otherwise.
"""
import os
import re
import socket
import struct
import subprocess
import time
import unittest

from harness import BUILD, WAIT, wait_until
from netns import Topology, Unbound, can_use_netns, in_netns
from rolerig import (DELIVERY_OK, DELIVERY_PERMFAIL, DELIVERY_REMOTE, DELIVERY_TEMPFAIL, ROLE,
                     RoleRig, s)
from smtp_receiver import SmtpReceiver

OK, TEMPFAIL, PERMFAIL, REMOTE = DELIVERY_OK, DELIVERY_TEMPFAIL, DELIVERY_PERMFAIL, DELIVERY_REMOTE
ROLE_QUEUE = ROLE["queue"]
V4, V6 = socket.AF_INET, socket.AF_INET6

NETNS_OK, NETNS_WHY = can_use_netns()
HAVE_RELAY = os.path.exists(os.path.join(BUILD, "homemx-relay"))


REMOTE_MTA = re.compile(r"^[A-Za-z0-9.-]+\[[0-9A-Fa-f.:]+\]: ")
LAST_REMOTE_MTAS = []


def parse_result(p):
    """(result, reply) per recipient. A reply from a remote server comes as
    "mx[ip]: reply" (the queue's DSN names the Remote-MTA from it); the
    prefix is checked and stripped here, and kept in LAST_REMOTE_MTAS.
    The relay's own diagnosis (no server answered) has no prefix and no
    reply code: "4.4.1 connect to ...", and None in LAST_REMOTE_MTAS."""
    n = struct.unpack(">H", p[:2])[0]
    off, out = 2, []
    LAST_REMOTE_MTAS.clear()
    for _ in range(n):
        r = p[off]
        ln = struct.unpack(">H", p[off + 1:off + 3])[0]
        reply = p[off + 3:off + 3 + ln].decode()
        m = REMOTE_MTA.match(reply)
        LAST_REMOTE_MTAS.append(m.group(0)[:-2] if m else None)
        out.append((r, reply[m.end():] if m else reply))
        off += 3 + ln
    assert off == len(p), "trailing bytes in MSG_RELAY_RESULT"
    return out


BODY = (b"From: a@example.test\r\nTo: kim@example.net\r\nSubject: relay test\r\n"
        b"Message-ID: <1@example.test>\r\n\r\nHello.\r\n.leading dot\r\n..two dots\r\n"
        b"8-bit: caf\xc3\xa9\r\n")


class RelayRig(RoleRig):
    """One homemx-relay process in the topology's mta namespace; the test
    is its supervisor and its queue."""

    def __init__(self, topo, dns, extra_conf="", privdrop=True):
        super().__init__("hmx-relay-", log_name="relay.log", world_readable=True)
        self.topo = topo
        self.empty = os.path.join(self.dir, "empty")
        os.makedirs(self.empty)
        self.conf = self.config(f"dns_server {dns.address}") + "\n" + extra_conf
        self.req = 100
        self.results = {}
        self.learned = []           # (name, until) from MSG_RELAY_FAMILY_LEARNED
        self._spawn(privdrop)

    def _spawn(self, privdrop):
        args = ["-u", "nobody", "-r", self.empty] if privdrop else []
        with in_netns(self.topo.mta):
            self.role = self.start_role("relay", self.conf, args=args)
        self.pid = self.role.pid
        self.control = self.role.control
        self.queue = self.role.new_link("queue")
        self.wait_log("event=start role=relay")

    @property
    def exit_code(self):
        return self.role.returncode

    def relink(self):
        """A new queue link, as after a queue restart."""
        self.queue.close()
        self.queue = self.role.new_link("queue")

    def links(self):
        return (self.queue,)

    # -- playing the queue -------------------------------------------------
    def send(self, rcpts, body=BODY, sender="a@example.test", msgid=None, smtputf8=False):
        """Sends one MSG_QUEUE_RELAY; returns its req id."""
        self.req += 1
        msgid = msgid or os.urandom(8).hex()
        path = os.path.join(self.dir, f"{msgid}.msg")
        with open(path, "wb") as f:
            f.write(body)
        fd = os.open(path, os.O_RDONLY)
        p = s(msgid) + s(sender) + struct.pack(">H", len(rcpts)) + b"".join(s(r) for r in rcpts)
        p += bytes([1 if smtputf8 else 0])
        self.queue.send("MSG_QUEUE_RELAY", p, req=self.req, fd=fd)
        os.close(fd)
        return self.req

    def result(self, req, timeout=WAIT + 10):
        """The MSG_RELAY_RESULT for req (results of other requests that come
        first are kept for their turn)."""
        deadline = time.time() + timeout
        while req not in self.results:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"no result for {req}\n{self.log()[-5000:]}")
            try:
                got = self.queue.recv(left)
            except socket.timeout:
                continue
            if got is None:
                raise AssertionError(f"relay closed the queue link\n{self.log()[-5000:]}")
            if got.name == "MSG_RELAY_FAMILY_LEARNED":
                p = got.payload
                ln = struct.unpack(">H", p[:2])[0]
                self.learned.append((p[2:2 + ln].decode(),
                                     struct.unpack(">Q", p[2 + ln:])[0]))
                continue
            assert got.name == "MSG_RELAY_RESULT", got.name
            self.results[got.req] = parse_result(got.payload)
        return self.results.pop(req)

    def give_family_memory(self, pins):
        """Plays the queue handing over its kept fallbacks: [(name, until)]."""
        p = struct.pack(">H", len(pins)) + b"".join(s(n) + struct.pack(">Q", u)
                                                   for n, u in pins)
        self.queue.send("MSG_QUEUE_FAMILY_MEMORY", p)

    def relay(self, rcpts, **kw):
        return self.result(self.send(rcpts, **kw))


def make_cert(directory, cn):
    cert, key = os.path.join(directory, f"{cn}.crt"), os.path.join(directory, f"{cn}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", f"/CN={cn}"],
                   check=True, capture_output=True)
    return cert, key


@unittest.skipUnless(NETNS_OK, NETNS_WHY)
@unittest.skipUnless(HAVE_RELAY, "homemx-relay not built")
class RelayTest(unittest.TestCase):
    """One topology, DNS and set of receivers for the class; a fresh relay
    per test (the IPv4 memory lives in the relay process)."""

    extra_conf = ""

    @classmethod
    def setUpClass(cls):
        topo = cls.topo = Topology()
        try:
            cls.h = {name: topo.add_host(name) for name in
                     ("mx1", "mx2", "gmail", "strict", "busy", "tls", "smart", "v4only")}
            cls.h["v4only"].ipv6 = None
            topo.add_mta_address("192.0.2.2")
            topo.start()
            dns = cls.dns = Unbound(topo)
            # MX preference: pref.test prefers mx1, falls back to mx2
            dns.add("pref.test", "MX", "10 mx1.pref.test.")
            dns.add("pref.test", "MX", "20 mx2.pref.test.")
            dns.add_host_records("mx1.pref.test", cls.h["mx1"])
            dns.add_host_records("mx2.pref.test", cls.h["mx2"])
            # plain domains on mx1
            for d in ("example.net", "reply.test", "reuse.test", "dots.test", "multi.test",
                      "src.test"):
                dns.add(d, "MX", "10 mx1.pref.test.")
            dns.add("equal.test", "MX", "10 mx1.pref.test.")
            dns.add("equal.test", "MX", "10 mx2.pref.test.")
            dns.add("nullmx.test", "MX", "0 .")
            dns.refuse("broken.test")
            dns.add_host_records("implicit.test", cls.h["mx2"])     # no MX
            dns.add("nomx-noaddr.test", "TXT", '"v=spf1 -all"')
            # the fake Gmail: A and AAAA; the built-in rule says IPv4 only
            dns.add("gmail.com", "MX", "5 gmail-smtp-in.l.google.com.")
            dns.add_host_records("gmail-smtp-in.l.google.com", cls.h["gmail"])
            dns.add("googlemail.com", "MX", "5 gmail-smtp-in.l.google.com.")
            dns.add("google-hosted.test", "MX", "1 aspmx.l.google.com.")
            dns.add_host_records("aspmx.l.google.com", cls.h["gmail"])
            # IPv6 refused with 5.7.1, IPv4 fine
            for d, mx in (("strict.test", "mx.strict.test"), ("strict2.test", "mx.strict.test"),
                          ("strict3.test", "mx.strict3.test"), ("strict4.test", "mx.strict4.test")):
                dns.add(d, "MX", f"10 {mx}.")
                dns.add_host_records(mx, cls.h["strict"])
            dns.add("busy.test", "MX", "10 mx.busy.test.")
            dns.add_host_records("mx.busy.test", cls.h["busy"])
            dns.add("limit1.test", "MX", "10 mx.busy.test.")
            dns.add("tls.test", "MX", "10 mx.tls.test.")
            dns.add_host_records("mx.tls.test", cls.h["tls"])
            dns.add("notls.test", "MX", "10 mx1.pref.test.")
            dns.add_host_records("smarthost.test", cls.h["smart"])
            dns.add("v4only.test", "MX", "10 mx.v4only.test.")
            dns.add_host_records("mx.v4only.test", cls.h["v4only"])
            dns.start()
            cls.rx = {}
            names = {"mx1": "mx1.pref.test", "mx2": "mx2.pref.test",
                     "gmail": "mx.google.com", "strict": "mx.strict.test",
                     "busy": "mx.busy.test", "tls": "mx.tls.test", "smart": "smarthost.test",
                     "v4only": "mx.v4only.test"}
            for label, host in cls.h.items():
                rx = SmtpReceiver(host, name=names[label], port=587 if label == "smart" else 25)
                if label in ("tls", "smart"):
                    rx.tls = make_cert(topo.dir, names[label])
                if label == "smart":
                    rx.auth_users = {"relayuser": "s3cret pass"}
                cls.rx[label] = rx.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for rx in getattr(cls, "rx", {}).values():
            rx.stop()
        if getattr(cls, "dns", None) is not None:
            cls.dns.stop()
        cls.topo.stop()

    def setUp(self):
        for rx in self.rx.values():
            rx.reset()
            rx.up()
        self.rig = RelayRig(self.topo, self.dns, self.extra_conf)

    def tearDown(self):
        self.rig.stop()
        self.rig.cleanup()

    def relay_log(self, qid=None):
        lines = [l for l in self.rig.log().splitlines() if "event=relay " in l]
        return [l for l in lines if qid is None or f"qid={qid}" in l]

    def attempt_log(self):
        """The event=relay_attempt lines, from "qid=" on."""
        return [l[l.index("qid="):] for l in self.rig.log().splitlines()
                if "event=relay_attempt " in l]


class Routing(RelayTest):
    def test_delivers_byte_exact_with_envelope(self):
        res = self.rig.relay(["kim@example.net"], sender="a@example.test")
        self.assertEqual(res, [(OK, "250 2.0.0 Ok: queued")])
        (m,) = self.rx["mx1"].messages()
        self.assertEqual(m.data, BODY)
        self.assertEqual((m.mail_from, m.rcpts), ("a@example.test", ["kim@example.net"]))
        conn = m.conn
        self.assertEqual(conn.helo, "mx.example.test")
        self.assertIn("BODY=8BITMIME", conn.mail_params[0])
        self.assertIn(f"SIZE={len(BODY)}", conn.mail_params[0])
        (line,) = self.relay_log()
        self.assertRegex(line, r"event=relay qid=[0-9a-f]{16} to=<kim@example.net> "
                               r"mx=mx1.pref.test ip=2001:db8::a family=ipv6 tls=no "
                               r'reply="250 2.0.0 Ok: queued" result=ok delay=[0-9.]+s')

    def test_null_sender_and_dot_only_lines(self):
        body = b"Subject: dots\r\n\r\n.\r\n..\r\n.x\r\nend without newline"
        res = self.rig.relay(["kim@dots.test"], body=body, sender="")
        self.assertEqual(res[0][0], OK)
        (m,) = self.rx["mx1"].messages()
        self.assertEqual(m.mail_from, "")
        self.assertEqual(m.data, body + b"\r\n")
        self.assertIn("MAIL FROM:<> SIZE=", m.conn.commands()[1])

    def test_mx_preference_then_next_mx_when_first_is_down(self):
        self.assertEqual(self.rig.relay(["a@pref.test"])[0][0], OK)
        self.assertEqual(len(self.rx["mx1"].messages()), 1)
        self.assertEqual(self.rx["mx2"].messages(), [])
        self.rx["mx1"].down()
        res = self.rig.relay(["b@pref.test"])
        self.assertEqual(res[0][0], OK)
        (m,) = self.rx["mx2"].messages()
        self.assertEqual(m.rcpts, ["b@pref.test"])
        line = self.relay_log()[-1]
        self.assertIn("mx=mx2.pref.test", line)

    def test_one_log_line_per_attempt_refused_mx_then_accepting_mx(self):
        self.rx["mx1"].down()
        self.assertEqual(self.rig.relay(["d@pref.test"])[0][0], OK)
        (relay_line,) = self.relay_log()
        qid = re.search(r"qid=(\S+)", relay_line).group(1)
        lines = self.attempt_log()
        self.assertEqual(len(lines), 3, lines)
        self.assertEqual(lines[0], f"qid={qid} mx=mx1.pref.test ip=2001:db8::a family=ipv6 "
                                   "tls=no conn=new outcome=refused stage=connect "
                                   'error="4.4.1 connect to mx1.pref.test[2001:db8::a]: '
                                   'Connection refused"')
        self.assertEqual(lines[1], f"qid={qid} mx=mx1.pref.test ip=192.0.2.10 family=ipv4 "
                                   "tls=no conn=new outcome=refused stage=connect "
                                   'error="4.4.1 connect to mx1.pref.test[192.0.2.10]: '
                                   'Connection refused"')
        self.assertEqual(lines[2], f"qid={qid} mx=mx2.pref.test ip=2001:db8::b family=ipv6 "
                                   "tls=no conn=new outcome=delivered stage=dot code=250 "
                                   'accepted=1/1 reply="250 2.0.0 Ok: queued"')
        # the next message tries mx1 again, then reuses the session to mx2
        self.assertEqual(self.rig.relay(["e@pref.test"])[0][0], OK)
        lines = self.attempt_log()[3:]
        self.assertEqual(len(lines), 3, lines)
        self.assertIn("mx=mx1.pref.test ip=2001:db8::a family=ipv6 tls=no conn=new "
                      "outcome=refused", lines[0])
        self.assertIn("mx=mx1.pref.test ip=192.0.2.10 family=ipv4 tls=no conn=new "
                      "outcome=refused", lines[1])
        self.assertRegex(lines[2], r"mx=mx2.pref.test ip=2001:db8::b .* conn=reused "
                                   r"outcome=delivered")

    def test_equal_preferences_share_the_load(self):
        # RFC 5321 5.1: two MX 10s; each job shuffles them, so over 12 jobs both
        # are used (all on one: probability 2^-11).
        for i in range(12):
            self.assertEqual(self.rig.relay([f"u{i}@equal.test"])[0][0], OK)
        n1, n2 = len(self.rx["mx1"].messages()), len(self.rx["mx2"].messages())
        self.assertEqual(n1 + n2, 12)
        self.assertGreater(n1, 0)
        self.assertGreater(n2, 0)

    def test_all_mx_down_is_tempfail_with_last_error(self):
        self.rx["mx1"].down()
        self.rx["mx2"].down()
        ((r, reply),) = self.rig.relay(["c@pref.test"])
        self.assertEqual(r, TEMPFAIL)
        self.assertEqual(LAST_REMOTE_MTAS, [None])        # no server answered
        self.assertRegex(reply, r"^4\.4\.1 connect to mx2.pref.test\[192.0.2.11\]: "
                                r"Connection refused")

    def test_null_mx_is_permanent_at_once(self):
        ((r, reply),) = self.rig.relay(["x@nullmx.test"])
        self.assertEqual(LAST_REMOTE_MTAS, [None])
        self.assertEqual((r, reply), (PERMFAIL, "5.1.10 nullmx.test does not accept mail "
                                                "(null MX, RFC 7505)"))

    def test_dns_failure_is_tempfail(self):
        ((r, reply),) = self.rig.relay(["x@broken.test"])
        self.assertEqual(r, TEMPFAIL)
        self.assertTrue(reply.startswith("4.4.3 DNS lookup of the MX of broken.test failed"),
                        reply)

    def test_nxdomain_is_permanent(self):
        ((r, reply),) = self.rig.relay(["x@nosuchdomain.test"])
        self.assertEqual((r, reply), (PERMFAIL, "5.1.2 domain nosuchdomain.test does not exist"))

    def test_implicit_mx_and_no_address(self):
        self.assertEqual(self.rig.relay(["x@implicit.test"])[0][0], OK)
        (m,) = self.rx["mx2"].messages()
        self.assertEqual(m.rcpts, ["x@implicit.test"])
        ((r, reply),) = self.rig.relay(["x@nomx-noaddr.test"])
        self.assertEqual((r, reply), (PERMFAIL, "5.4.4 nomx-noaddr.test has no MX "
                                                "and no address record"))

    def test_address_literal(self):
        self.assertEqual(self.rig.relay(["x@[192.0.2.11]"])[0][0], OK)
        (m,) = self.rx["mx2"].messages()
        self.assertEqual(m.family, V4)


class Replies(RelayTest):
    def test_4xx_is_tempfail_with_remote_text(self):
        self.rx["mx1"].rule("RCPT", "451 4.7.1 Greylisted, come back later")
        ((r, reply),) = self.rig.relay(["kim@reply.test"])
        self.assertEqual((r, reply), (TEMPFAIL, "451 4.7.1 Greylisted, come back later"))
        self.assertRegex(self.relay_log()[-1], r'reply="451 4.7.1 Greylisted, come back later" '
                                               r"result=deferred")

    def test_5xx_is_permfail_with_remote_text(self):
        self.rx["mx1"].rule("RCPT", "550-5.1.1 <nobody@reply.test>: Recipient address\n"
                                    "550 5.1.1 rejected: User unknown", match="nobody@")
        res = self.rig.relay(["nobody@reply.test", "kim@reply.test"])
        self.assertEqual(res, [(PERMFAIL, "550 5.1.1 <nobody@reply.test>: Recipient address "
                                          "rejected: User unknown"),
                               (OK, "250 2.0.0 Ok: queued")])
        # the reply names the server that gave it, for the DSN's Remote-MTA
        self.assertRegex(LAST_REMOTE_MTAS[0] or "", r"^mx1\.reply\.test\[|^[a-z0-9.-]+\[")
        (m,) = self.rx["mx1"].messages()
        self.assertEqual(m.rcpts, ["kim@reply.test"])      # one transaction

    def test_200_recipients_with_long_replies_fit_one_result(self):
        long_text = "550 5.1.1 " + "no such user, " * 40
        self.rx["mx1"].rule("RCPT", long_text.strip())
        rcpts = [f"user{i}@reply.test" for i in range(200)]
        res = self.rig.relay(rcpts)
        self.assertEqual(len(res), 200)
        for r, reply in res:
            self.assertEqual(r, PERMFAIL)
            self.assertTrue(reply.startswith("550 5.1.1 no such user, no such user"), reply)
            self.assertLessEqual(len(reply), 512)
        (c,) = self.rx["mx1"].connections
        self.assertEqual(len([x for x in c.commands() if x.startswith("RCPT")]), 200)

    def test_data_end_5xx_for_every_accepted_recipient(self):
        self.rx["mx1"].rule("DATA_END", "554 5.7.1 Message rejected as spam")
        res = self.rig.relay(["a@reply.test", "b@reply.test"])
        self.assertEqual(res, [(PERMFAIL, "554 5.7.1 Message rejected as spam")] * 2)

    def test_mail_from_4xx_tries_next_address_then_defers(self):
        self.rx["mx1"].rule("MAIL", "421 4.3.2 try later")
        self.rx["mx2"].rule("MAIL", "451 4.3.0 try later too")
        ((r, reply),) = self.rig.relay(["x@pref.test"])
        self.assertEqual((r, reply), (TEMPFAIL, "451 4.3.0 try later too"))
        self.assertEqual(LAST_REMOTE_MTAS, ["mx2.pref.test[192.0.2.11]"])   # who said it
        outcomes = [re.search(r"ip=(\S+) .* outcome=(\S+) stage=(\S+) code=(\d+)", l).groups()
                    for l in self.attempt_log()]
        self.assertEqual(outcomes, [("2001:db8::a", "4xx", "mail", "421"),
                                    ("192.0.2.10", "4xx", "mail", "421"),
                                    ("2001:db8::b", "4xx", "mail", "451"),
                                    ("192.0.2.11", "4xx", "mail", "451")])
        # both addresses of both MX hosts were tried
        self.assertEqual(len(self.rx["mx1"].connections), 2)
        self.assertEqual(len(self.rx["mx2"].connections), 2)

    def test_greeting_5xx_skips_to_next_mx(self):
        self.rx["mx1"].rule("GREETING", "554 5.3.2 not accepting mail")
        self.assertEqual(self.rig.relay(["x@pref.test"])[0][0], OK)
        self.assertEqual(len(self.rx["mx1"].connections), 1)    # not its IPv4 too
        self.assertEqual(len(self.rx["mx2"].messages()), 1)
        first, second = self.attempt_log()
        self.assertRegex(first, r"mx=mx1.pref.test ip=2001:db8::a family=ipv6 .* outcome=5xx "
                                r'stage=greeting code=554 reply="554 5.3.2 not accepting mail"$')
        self.assertIn("mx=mx2.pref.test", second)
        self.assertIn("outcome=delivered", second)

    def test_remote_size_limit_is_permanent_without_sending(self):
        self.rx["mx1"].extensions = ["PIPELINING", "SIZE 100"]
        try:
            ((r, reply),) = self.rig.relay(["kim@reply.test"])
        finally:
            self.rx["mx1"].extensions = ["PIPELINING", "8BITMIME", "SIZE 52428800",
                                         "ENHANCEDSTATUSCODES"]
        self.assertEqual(r, PERMFAIL)
        # our decision from the server's SIZE, not a reply of it
        self.assertRegex(reply, r"^5\.3\.4 message of \d+ bytes exceeds the limit of 100 bytes")
        self.assertEqual(LAST_REMOTE_MTAS, [None])
        self.assertEqual(self.rx["mx1"].messages(), [])

    def test_smtputf8_passed_on_when_offered(self):
        """RFC 6531: a message that came with SMTPUTF8 keeps it on the next hop."""
        self.rx["mx1"].extensions = ["PIPELINING", "8BITMIME", "SIZE 52428800", "SMTPUTF8"]
        try:
            res = self.rig.relay(["kim@reply.test"], sender="d\u00ebmo@example.test",
                                 smtputf8=True)
        finally:
            self.rx["mx1"].extensions = ["PIPELINING", "8BITMIME", "SIZE 52428800",
                                         "ENHANCEDSTATUSCODES"]
        self.assertEqual([r for r, _ in res], [OK])
        (m,) = self.rx["mx1"].messages()
        self.assertIn("SMTPUTF8", m.conn.mail_params[0].split())

    def test_smtputf8_not_offered_is_permanent_without_sending(self):
        """RFC 6531 3.4: no SMTPUTF8 at the next hop, no delivery of a
        message with a UTF-8 address; the reason says why (it becomes the
        DSN's). An all-ASCII one is downgraded: test_smtputf8_outbound.py."""
        ((r, reply),) = self.rig.relay(["kim@reply.test"], sender="d\u00ebmo@example.test",
                                       smtputf8=True)
        self.assertEqual(r, PERMFAIL)
        self.assertRegex(reply, r"^5\.6\.7 SMTPUTF8 is required, but was not offered by ")
        self.assertEqual(self.rx["mx1"].messages(), [])
        # Without the flag nothing changes: no SMTPUTF8 parameter is sent.
        self.assertEqual([r for r, _ in self.rig.relay(["kim@reply.test"])], [OK])
        (m,) = self.rx["mx1"].messages()
        self.assertNotIn("SMTPUTF8", m.conn.mail_params[0])

    def test_without_pipelining_one_command_at_a_time(self):
        self.rx["mx1"].extensions = ["8BITMIME"]
        try:
            res = self.rig.relay(["a@reply.test", "b@reply.test"])
        finally:
            self.rx["mx1"].extensions = ["PIPELINING", "8BITMIME", "SIZE 52428800",
                                         "ENHANCEDSTATUSCODES"]
        self.assertEqual([r for r, _ in res], [OK, OK])
        (m,) = self.rx["mx1"].messages()
        self.assertEqual(m.data, BODY)
        self.assertNotIn("SIZE=", m.conn.mail_params[0])


class Families(RelayTest):
    # No destination line for Google: IPv4 toward it is built in.
    extra_conf = ("family_fallback_memory 1h\n"
                  "destination domain src.test source=192.0.2.2 helo=out.example.test\n")

    def test_default_prefers_ipv6(self):
        self.assertEqual(self.rig.relay(["x@example.net"])[0][0], OK)
        self.assertEqual(self.rx["mx1"].families(), [V6])

    def test_gmail_goes_over_ipv4_only_without_a_rule(self):
        self.assertNotIn("google", self.rig.conf)
        # gmail-smtp-in.l.google.com has A and AAAA; googlemail.com too, and
        # google-hosted.test is a domain of its own whose MX is aspmx.l.google.com.
        for rcpt in ("someone@gmail.com", "other@googlemail.com", "kim@google-hosted.test"):
            self.assertEqual(self.rig.relay([rcpt])[0][0], OK)
        self.assertEqual(self.rx["gmail"].families(), [V4, V4])   # two MX names, two sessions
        self.assertEqual(len(self.rx["gmail"].messages()), 3)
        lines = self.relay_log()
        self.assertEqual(len(lines), 3)
        for line in lines:
            self.assertIn("family=ipv4", line)
        self.assertNotIn("family=ipv6", self.rig.log())


    def test_ipv6_5_7_1_falls_back_to_ipv4_and_is_remembered(self):
        rx = self.rx["strict"]
        rx.rule("MAIL", "550-5.7.1 [2001:db8::1] Our system has detected that this message\n"
                        "550 5.7.1 does not meet IPv6 sending guidelines", family=V6)
        res = self.rig.relay(["kim@strict.test"])
        self.assertEqual(res[0][0], OK)
        self.assertEqual(rx.families(), [V6, V4])
        self.assertEqual(rx.messages()[0].family, V4)
        log = self.rig.log()
        self.assertRegex(log, r"event=family_fallback qid=[0-9a-f]+ domain=strict.test "
                              r"mx=mx.strict.test ip=2001:db8::d from=ipv6 to=ipv4 "
                              r'reply="550 5.7.1 \[2001:db8::1\] Our system .*" remember=3600s')
        self.assertRegex(self.relay_log()[-1], r"to=<kim@strict.test> mx=mx.strict.test "
                                               r"ip=192.0.2.13 family=ipv4 .* result=ok")
        # Remembered for the MX host: another domain on it goes straight to
        # IPv4, on a new connection (the idle one is cut first).
        rx.down()
        rx.up()
        self.assertEqual(self.rig.relay(["kim@strict2.test"])[0][0], OK)
        self.assertEqual(rx.families(), [V6, V4, V4])
        self.assertEqual(self.rig.log().count("event=family_fallback"), 1)
        self.assertIn("family=ipv4", self.relay_log()[-1])

    def test_fallback_remembered_for_the_next_message(self):
        rx = self.rx["strict"]
        rx.rule("RCPT", "550 5.7.1 IPv6 PTR missing", family=V6)
        self.assertEqual(self.rig.relay(["a@strict4.test"])[0][0], OK)
        self.assertEqual(rx.families(), [V6, V4])
        rx.down()
        rx.up()
        self.assertEqual(self.rig.relay(["b@strict4.test"])[0][0], OK)
        self.assertEqual(rx.families(), [V6, V4, V4])
        self.assertEqual(self.rig.log().count("event=family_fallback"), 1)

    def test_fallback_goes_to_the_queue_and_comes_back_to_a_new_relay(self):
        rx = self.rx["strict"]
        rx.rule("RCPT", "550 5.7.1 IPv6 PTR missing", family=V6)
        t0 = int(time.time())
        self.assertEqual(self.rig.relay(["a@strict4.test"])[0][0], OK)
        self.assertEqual(rx.families(), [V6, V4])
        # the MX host and the domain, lowercase, until now + 1h
        self.assertEqual(sorted(n for n, _ in self.rig.learned),
                         ["mx.strict4.test", "strict4.test"])
        for _, until in self.rig.learned:
            self.assertTrue(t0 + 3600 <= until <= int(time.time()) + 3600, until)
        learned = self.rig.learned
        # A new relay process knows nothing until the queue tells it.
        self.rig.stop()
        self.rig.cleanup()
        self.rig = RelayRig(self.topo, self.dns, self.extra_conf)
        self.rig.give_family_memory(learned)
        self.rig.wait_log("event=family_memory received=2 remembered=2")
        rx.down()
        rx.up()
        self.assertEqual(self.rig.relay(["b@strict4.test"])[0][0], OK)
        self.assertEqual(rx.families(), [V6, V4, V4])          # IPv4 at once
        self.assertNotIn("event=family_fallback", self.rig.log())
        self.assertEqual(self.rig.learned, [])                 # nothing new to keep

    def test_memory_from_the_queue_is_bounded_by_the_config(self):
        # family_fallback_memory is 1h here: a pin for a year is cut to 1h,
        # an expired one is dropped.
        now = int(time.time())
        self.rig.give_family_memory([("mx.strict4.test", now + 365 * 86400),
                                     ("strict3.test", now - 10)])
        self.rig.wait_log("event=family_memory received=2 remembered=1")

    def test_bad_memory_frame_drops_the_queue_link(self):
        self.rig.give_family_memory([("Not-Lowercase.test", int(time.time()) + 60)])
        self.assertIsNone(self.rig.queue.recv(10))          # link closed
        self.rig.wait_log("event=ipc_reject peer=queue type=MSG_QUEUE_FAMILY_MEMORY")
        self.assertIn('reason="invalid destination name"', self.rig.log())
        self.assertNotIn("event=family_memory", self.rig.log())

    def test_fallback_at_greeting_rcpt_and_end_of_data(self):
        rx = self.rx["strict"]
        for stage in ("GREETING", "RCPT", "DATA_END"):
            rx.reset()
            rx.rule(stage, "554 5.7.1 IPv6 not welcome here", family=V6)
            # a fresh relay: nothing remembered
            self.rig.stop()
            self.rig.cleanup()
            self.rig = RelayRig(self.topo, self.dns, self.extra_conf)
            res = self.rig.relay(["kim@strict3.test"])
            self.assertEqual(res[0][0], OK, f"{stage}: {res}")
            self.assertEqual(rx.families()[:2], [V6, V4], stage)
            self.assertEqual(len(rx.messages()), 1, stage)
            self.assertEqual(rx.messages()[0].family, V4, stage)

    def test_no_fallback_without_ipv4(self):
        # v4only has no AAAA... so use the opposite: IPv6 5.7.1 and no A.
        self.rx["mx1"].rule("RCPT", "550 5.7.1 go away", family=V6)
        # mx1 has A too, so fall back works there; a 5.7.1 over IPv4 is final.
        self.rx["v4only"].rule("RCPT", "550 5.7.1 go away")
        ((r, reply),) = self.rig.relay(["x@v4only.test"])
        self.assertEqual((r, reply), (PERMFAIL, "550 5.7.1 go away"))
        self.assertNotIn("event=family_fallback", self.rig.log())

    def test_source_address_and_helo(self):
        self.assertEqual(self.rig.relay(["x@src.test"])[0][0], OK)
        (c,) = self.rx["mx1"].connections
        self.assertEqual((c.family, c.peer, c.helo), (V4, "192.0.2.2", "out.example.test"))


class FamiliesOverride(RelayTest):
    # A rule that sets a family wins over the built-in one.
    extra_conf = "destination mx *.google.com family=prefer-ipv6\n"

    def test_config_rule_overrides_the_builtin_ipv4(self):
        self.assertEqual(self.rig.relay(["someone@gmail.com"])[0][0], OK)
        self.assertEqual(self.rx["gmail"].families(), [V6])
        self.assertIn("family=ipv6", self.relay_log()[-1])


class Reuse(RelayTest):
    extra_conf = "destination domain limit1.test max_connections=1\n"

    def test_two_messages_one_connection_with_rset(self):
        for i in range(2):
            self.assertEqual(self.rig.relay([f"u{i}@reuse.test"])[0][0], OK)
        (c,) = self.rx["mx1"].connections
        self.assertEqual(len(c.messages), 2)
        cmds = [x.split(" ")[0].split(":")[0] for x in c.commands()]
        self.assertEqual(cmds, ["EHLO", "MAIL", "RCPT", "DATA", "RSET", "MAIL", "RCPT", "DATA"])

    def test_idle_session_is_closed_with_quit(self):
        self.assertEqual(self.rig.relay(["u@reuse.test"])[0][0], OK)
        (c,) = self.rx["mx1"].connections
        wait_until(lambda: c.closed, what="the idle session closed")
        self.assertEqual(c.commands()[-1], "QUIT")

    def test_connection_limit_under_parallel_jobs(self):
        rx = self.rx["busy"]
        rx.data_delay = 0.4
        reqs = [self.rig.send([f"u{i}@busy.test"]) for i in range(6)]
        results = [self.rig.result(r) for r in reqs]
        self.assertEqual([r[0][0] for r in results], [OK] * 6)
        self.assertEqual(len(rx.messages()), 6)
        self.assertEqual(rx.max_concurrent, 2)          # the default limit, reached
        self.assertLessEqual(len(rx.connections), 6)

    def test_rule_limit_of_one(self):
        rx = self.rx["busy"]
        rx.data_delay = 0.2
        reqs = [self.rig.send([f"u{i}@limit1.test"]) for i in range(4)]
        self.assertEqual([self.rig.result(r)[0][0] for r in reqs], [OK] * 4)
        self.assertEqual(rx.max_concurrent, 1)
        self.assertEqual(len(rx.connections), 1)        # all four reused it


class Tls(RelayTest):
    extra_conf = ("destination domain notls.test tls=require\n"
                  "destination domain smart.test relay=smarthost.test:587 "
                  "auth=AUTHFILE\n")

    def setUp(self):
        self.authfile = os.path.join(self.topo.dir, "relay.secret")
        with open(self.authfile, "w") as f:
            f.write("relayuser s3cret pass\n")
        os.chmod(self.authfile, 0o600)
        self.extra_conf = self.extra_conf.replace("AUTHFILE", self.authfile)
        super().setUp()

    def test_starttls_used_when_offered(self):
        self.assertEqual(self.rig.relay(["x@tls.test"])[0][0], OK)
        (m,) = self.rx["tls"].messages()
        self.assertTrue(m.tls)
        cmds = m.conn.commands()
        self.assertEqual(cmds[:3], ["EHLO mx.example.test", "STARTTLS", "EHLO mx.example.test"])
        self.assertIn("tls=yes", self.relay_log()[-1])

    def test_starttls_refused_goes_on_in_plaintext(self):
        self.rx["tls"].rule("STARTTLS", "454 4.7.0 TLS not available due to temporary reason")
        self.assertEqual(self.rig.relay(["x@tls.test"])[0][0], OK)
        (m,) = self.rx["tls"].messages()
        self.assertFalse(m.tls)
        self.assertEqual(len(self.rx["tls"].connections), 1)
        self.assertIn("tls=no", self.relay_log()[-1])

    def test_broken_tls_handshake_retries_same_address_in_plaintext(self):
        self.rx["tls"].starttls_broken = True
        self.assertEqual(self.rig.relay(["x@tls.test"])[0][0], OK)
        rx = self.rx["tls"]
        self.assertEqual(rx.families(), [V6, V6])
        self.assertEqual(rx.connections[1].commands()[:2], ["EHLO mx.example.test",
                                                            "MAIL FROM:<a@example.test> SIZE=%d "
                                                            "BODY=8BITMIME" % len(BODY)])
        self.assertRegex(self.rig.log(), r"event=relay_tls_fallback qid=\S+ mx=mx.tls.test "
                                         r'ip=2001:db8::f reason="4.7.5 TLS handshake')
        first, second = self.attempt_log()
        self.assertRegex(first, r"mx=mx.tls.test ip=2001:db8::f family=ipv6 tls=no conn=new "
                                r'outcome=tls_failed stage=tls error="4.7.5 TLS handshake')
        self.assertRegex(second, r"ip=2001:db8::f .* outcome=delivered stage=dot code=250")

    def test_plaintext_injected_after_starttls_reply_is_refused(self):
        self.rx["tls"].rule("STARTTLS", "220 2.0.0 go ahead\n250 injected before TLS")
        ((r, reply),) = self.rig.relay(["x@tls.test"])
        self.assertEqual(r, TEMPFAIL)
        self.assertRegex(reply, r"^4\.7\.5 mx.tls.test\[192.0.2.15\] sent data after its "
                                r"STARTTLS reply")
        self.assertEqual(self.rx["tls"].messages(), [])

    def test_tls_required_but_not_offered_defers(self):
        ((r, reply),) = self.rig.relay(["x@notls.test"])
        self.assertEqual(r, TEMPFAIL)
        self.assertRegex(reply, r"^4\.7\.4 mx1.pref.test\[192.0.2.10\] does not offer "
                                r"STARTTLS \(tls=require\)")
        self.assertEqual(self.rx["mx1"].messages(), [])

    def test_smarthost_with_auth_plain_under_tls(self):
        self.assertEqual(self.rig.relay(["someone@smart.test"])[0][0], OK)
        (m,) = self.rx["smart"].messages()
        self.assertEqual((m.tls, m.conn.auth_user), (True, "relayuser"))
        self.assertNotIn("s3cret", self.rig.log())

    def test_smarthost_wrong_password_defers(self):
        self.rx["smart"].rule("AUTH", "535 5.7.8 Authentication credentials invalid")
        ((r, reply),) = self.rig.relay(["someone@smart.test"])
        self.assertEqual((r, reply), (TEMPFAIL, "535 5.7.8 Authentication credentials invalid"))


class Lifecycle(RelayTest):
    def test_malformed_request_drops_the_queue_link(self):
        fd = os.open(os.path.join(self.rig.dir, "x.msg"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            # "kim€example.test" is no address: the decoder refuses it.
            p = s("0123456789abcdef") + s("a@example.test") + struct.pack(">H", 1) + \
                s("kim\u20acexample.test") + bytes([0])
            self.rig.queue.send("MSG_QUEUE_RELAY", p, req=7, fd=fd)
        finally:
            os.close(fd)
        self.assertIsNone(self.rig.queue.recv())            # link closed
        self.rig.wait_log("event=ipc_reject peer=queue type=MSG_QUEUE_RELAY")
        name, _, payload, _ = self.rig.control.recv()
        while name == "MSG_ROLE_READY":     # sent once, after start-up
            name, _, payload, _ = self.rig.control.recv()
        self.assertEqual((name, payload), ("MSG_ROLE_PEER_BAD", bytes([ROLE_QUEUE])))
        # A new link (the supervisor restarted the queue) works.
        self.rig.relink()
        self.assertEqual(self.rig.relay(["v@example.net"])[0][0], OK)

    def test_reload_applies_a_new_dns_server(self):
        bad = self.rig.conf.replace(f"dns_server {self.dns.address}", "dns_server 127.0.0.1:9")
        self.rig.control.send("MSG_SUP_RELOAD", s(bad))
        self.rig.wait_log("event=reload role=relay")
        ((r, reply),) = self.rig.relay(["x@example.net"])
        self.assertEqual(r, TEMPFAIL)
        self.assertTrue(reply.startswith("4.4.3 DNS lookup of the MX of example.net failed"),
                        reply)
        self.rig.control.send("MSG_SUP_RELOAD", s(self.rig.conf))
        self.rig.wait_log("event=reload role=relay", n=2)
        self.assertEqual(self.rig.relay(["x@example.net"])[0][0], OK)

    def test_recipient_of_another_domain_is_deferred_not_misrouted(self):
        res = self.rig.relay(["a@example.net", "b@reuse.test"])
        self.assertEqual(res[0][0], OK)
        self.assertEqual(res[1], (TEMPFAIL, "4.3.0 recipient not in the domain of this job"))
        (m,) = self.rx["mx1"].messages()
        self.assertEqual(m.rcpts, ["a@example.net"])

    def test_sigterm_quits_idle_sessions_and_exits_zero(self):
        self.assertEqual(self.rig.relay(["u@reuse.test"])[0][0], OK)
        (c,) = self.rx["mx1"].connections
        self.rig.stop()
        self.assertEqual(self.rig.exit_code, 0)
        self.assertTrue(c.closed or c.commands()[-1] == "QUIT")

    def test_queue_gone_drops_jobs_and_new_link_works(self):
        self.rx["busy"].data_delay = 3
        self.rig.send(["u@busy.test"])
        self.rx["busy"].wait_connections(1)
        self.rig.queue.sock.shutdown(socket.SHUT_RDWR)
        self.rig.wait_log("event=link_down peer=queue")
        self.rig.wait_log("event=relay_dropped jobs=1")
        self.rig.relink()
        self.rx["busy"].data_delay = 0
        self.assertEqual(self.rig.relay(["v@example.net"])[0][0], OK)


if __name__ == "__main__":
    unittest.main()
