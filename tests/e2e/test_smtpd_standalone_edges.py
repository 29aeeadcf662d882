"""tests/e2e/test_smtpd_standalone_edges.py - the real homemx-smtpd binary,
alone (tests/e2e/smtpd_rig.py fakes homemxd, lookup and queue), at the
edges of a session: connection and per-network limits, deadlines against
slow clients, stress mode, the greeting delay, TLS, shutdown with sessions
open, and chaos (links that die, clients that vanish).

Run: /usr/bin/python3 tests/e2e/run.py test_smtpd_standalone_edges
HOMEMX_BUILD=build-asan selects the sanitizer build (reports fail the test).
"""

import select
import signal
import socket
import ssl
import threading
import time
import unittest

from harness import WAIT, SMTPClient
import rolerig
from rolerig import QUEUE_NOSPACE, QUEUE_OK, QUEUE_TEMPFAIL
from smtpd_rig import SCREEN_FACT_EARLY_TALKER, SmtpdCase, transaction


class TestLimits(SmtpdCase):
    extra_conf = "max_errors 3\ntimeout_command 1s\nmax_connections_per_ip 3\nmax_connections 5"

    def test_too_many_errors(self):
        c = self.client()
        self.assertReply(c.cmd("FOO"), 500, "5.5.1")
        self.assertReply(c.cmd("BAR"), 500, "5.5.1")
        self.assertReply(c.cmd("BAZ"), 500, "5.5.1")
        self.assertReply(c.reply(), 421, "4.7.0")
        self.assertTrue(c.closed())
        self.world.wait_log("reason=too_many_errors")

    def test_idle_timeout(self):
        t0 = time.time()                # before the connection starts the timer
        c = self.client()
        self.assertEqual(c.reply(), (421, "421 4.4.2 mx.example.test Timeout"))
        self.assertTrue(0.8 < time.time() - t0 < 15)    # timeout_command 1s, not 300s
        self.assertTrue(c.closed())

    def test_timeout_in_data_aborts(self):
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        c.cmd("RCPT TO:<kim@example.test>")
        c.cmd("DATA")
        c.send(b"partial")
        # timeout_data is the default 180s; only the command timeout is 1s here
        time.sleep(1.5)
        c.send(b" more\r\n.\r\n")
        self.assertReply(c.reply(), 250)

    def test_slow_lookup_is_not_a_client_timeout(self):
        self.world.lookup_delay = 2.0
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 250)

    def test_per_ip_limit(self):
        keep = [self.client() for _ in range(3)]
        extra = self.world.client(banner=False)
        self.assertEqual(extra.reply(), (421, "421 4.7.0 Too many connections"))
        self.assertTrue(extra.closed())
        extra.close()
        self.world.wait_log("reason=max_connections_per_ip")
        keep[0].cmd("QUIT")
        self.world.wait_log("reason=quit")
        self.assertTrue(keep[0].closed())   # smtpd closes once the session is gone
        again = self.client()
        self.assertReply(again.cmd("NOOP"), 250)

    def test_global_limit(self):
        # per-IP is 3 and global 5: use two loopback addresses
        keep = [self.client() for _ in range(3)]
        for _ in range(2):
            s = SMTPClient.__new__(SMTPClient)
            s.sock = socket.create_connection(("127.0.0.1", self.world.port),
                                              timeout=WAIT, source_address=("127.0.0.2", 0))
            s.buf = b""
            self.clients.append(s)
            self.assertEqual(s.reply()[0], 220)
        s = SMTPClient.__new__(SMTPClient)
        s.sock = socket.create_connection(("127.0.0.1", self.world.port), timeout=WAIT,
                                          source_address=("127.0.0.3", 0))
        s.buf = b""
        self.clients.append(s)
        self.assertEqual(s.reply(), (421, "421 4.7.0 Too many connections"))
        self.world.wait_log("reason=max_connections\n")
        del keep

    def test_slow_client_does_not_stall_others(self):
        slow = self.client()
        slow.send(b"EHLO client.example\r\nMAIL FROM:<a@client.exa")   # half a line
        fast = self.client()
        self.assertReply(transaction(fast), 250)


def client_from(port, source_ip):
    """A client bound to a loopback source address (all of 127/8 is ours)."""
    c = SMTPClient.__new__(SMTPClient)
    c.sock = socket.create_connection(("127.0.0.1", port), timeout=10,
                                      source_address=(source_ip, 0))
    c.buf = b""
    return c


def drip(c, data, every, limit):
    """Sends data one byte every `every` seconds until the server answers;
    returns (reply, seconds, bytes sent). Gives up (None) after `limit` s."""
    t0 = time.time()
    for i, byte in enumerate(data):
        if time.time() - t0 > limit:
            return None, time.time() - t0, i
        try:
            c.sock.sendall(bytes([byte]))
        except OSError:
            break
        ready, _, _ = select.select([c.sock], [], [], every)
        if ready:
            return c.reply(), time.time() - t0, i + 1
    return None, time.time() - t0, len(data)


class TestDeadlines(SmtpdCase):
    """Bytes never extend a deadline: a command line must be complete within
    timeout_command of the previous reply, DATA must bring 64 KiB within each
    timeout_data, and session_timeout caps a whole session."""
    extra_conf = "timeout_command 2s\ntimeout_data 2s\nsession_timeout 5s"

    def test_dripped_command_line_times_out(self):
        c = self.client()
        reply, took, sent = drip(c, b"EHLO " + b"x" * 100, 0.25, limit=6)
        self.assertEqual(reply, (421, "421 4.4.2 mx.example.test Timeout"),
                         f"after {took:.1f}s and {sent} bytes")
        self.assertTrue(1.5 < took < 3.2, took)
        self.assertGreater(sent, 4)   # bytes kept coming, and did not help
        self.assertTrue(c.closed())
        self.world.wait_log("limit=first_command stress=no")
        # and after a command, the next line gets its own deadline
        d = self.client()
        self.assertReply(d.cmd("EHLO client.example"), 250)
        reply, took, _ = drip(d, b"MAIL FROM:<" + b"a" * 100, 0.25, limit=6)
        self.assertEqual(reply[0], 421, reply)
        self.assertTrue(1.5 < took < 3.2, took)
        self.world.wait_log("state=ready limit=command stress=no")

    def test_dripped_data_times_out(self):
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        c.cmd("RCPT TO:<kim@example.test>")
        self.assertReply(c.cmd("DATA"), 354)
        reply, took, sent = drip(c, b"Subject: drip\r\n\r\n" + b"z" * 200, 0.25, limit=6)
        self.assertReply(reply, 421, "4.4.2")
        self.assertTrue(1.5 < took < 3.2, took)
        self.world.wait_log("state=data limit=data stress=no")
        self.world.wait_for(lambda: self.world.aborted)   # the spool file went back
        self.assertEqual(self.world.messages, [])

    def test_slow_honest_upload_passes(self):
        """200 KiB at 64 KiB/s: 3 s in all, longer than timeout_data, but each
        64 KiB block well inside it."""
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        c.cmd("RCPT TO:<kim@example.test>")
        self.assertReply(c.cmd("DATA"), 354)
        body = b"Subject: slow\r\n\r\n" + (b"y" * 98 + b"\r\n") * 2048
        t0 = time.time()
        for off in range(0, len(body), 16384):
            c.send(body[off:off + 16384])
            time.sleep(0.25)   # the client's pace, not a wait for the server
        c.send(b".\r\n")
        self.assertReply(c.reply(), 250, "2.0.0")
        self.assertGreater(time.time() - t0, 2.5)
        self.world.wait_for(lambda: self.world.messages)
        self.assertTrue(self.world.messages[0].body.endswith(body[-500:]))

    def test_session_timeout(self):
        c = self.client()
        t0 = time.time()
        c.cmd("EHLO client.example")
        while True:   # a client that answers every deadline with a NOOP
            code, text = c.cmd("NOOP")
            if code != 250:
                break
            self.assertLess(time.time() - t0, 8, "session_timeout never came")
            time.sleep(0.5)
        self.assertReply((code, text), 421, "4.4.2")
        self.assertTrue(4.5 < time.time() - t0 < 7, time.time() - t0)
        self.assertTrue(c.closed())
        self.world.wait_log("reason=session_timeout")
        self.assertRegex(self.world.log(), r"event=timeout sess=\w+ ip=127\.0\.0\.1 "
                                           r"state=ready limit=session stress=no")


class TestStressMode(SmtpdCase):
    """Over 3/4 of max_connections, deadlines shrink (the first command 5 s
    instead of timeout_command) for every session at once; at half, they
    are back to normal. Logged once each way."""
    extra_conf = "max_connections 8\ntimeout_command 60s"

    def test_idle_sessions_are_cut_under_stress(self):
        idle = [self.client() for _ in range(6)]
        self.assertNotIn("event=stress", self.world.log())
        t0 = time.time()
        idle.append(self.client())   # 7 of 8: more than 3/4
        self.world.wait_log("event=stress state=on sessions=7 max_connections=8")
        # Cut at 5 s instead of 60 s - until only half are left: then stress
        # mode ends and the last ones have their 60 s again.
        cut, socks = [], {c.sock: c for c in idle}
        while socks and time.time() - t0 < 12:
            ready, _, _ = select.select(list(socks), [], [], 12 - (time.time() - t0))
            for sock in ready:
                c = socks.pop(sock)
                cut.append((c.reply(), time.time() - t0))
        self.assertGreaterEqual(len(cut), 3, cut)
        for reply, took in cut:
            self.assertEqual(reply, (421, "421 4.4.2 mx.example.test Timeout"))
            self.assertTrue(3.5 < took < 9, took)
        self.world.wait_log("event=stress state=off")
        log = self.world.log()
        self.assertEqual(log.count("limit=first_command stress=yes"), len(cut), log[-3000:])
        self.assertEqual(log.count("event=stress state=on"), 1)
        self.assertEqual(log.count("limit=first_command stress=no"), 0)   # the rest wait on
        # back to normal: a new client has all the time it needs
        c = self.client()
        self.assertReply(transaction(c), 250)


class TestPerNetLimit(SmtpdCase):
    """max_connections_per_net counts a /24 (IPv4) as one client network."""
    extra_conf = "max_connections_per_net 3"

    def test_a_24_is_one_network(self):
        for host in (1, 2, 3):
            c = client_from(self.world.port, f"127.9.9.{host}")
            self.clients.append(c)
            self.assertEqual(c.reply()[0], 220)
        extra = client_from(self.world.port, "127.9.9.200")
        self.clients.append(extra)
        self.assertEqual(extra.reply(), (421, "421 4.7.0 Too many connections"))
        self.assertTrue(extra.closed())
        self.world.wait_log("ip=127.9.9.200 port=")
        self.assertRegex(self.world.log(), r"event=connect_refused ip=127\.9\.9\.200 port=\d+ "
                                           r"reason=max_connections_per_net")
        other = client_from(self.world.port, "127.9.10.1")   # the next /24
        self.clients.append(other)
        self.assertEqual(other.reply()[0], 220)
        self.assertReply(transaction(other), 250)


class TestGreetingDelay(SmtpdCase):
    greeting_delay = "1s"

    def test_early_talker(self):
        """Talking first is scored by the screen (early_talker), not cut
        off: the early bytes are dropped, the greeting comes, and the
        screen hears of it with every question."""
        self.world.screen = lambda f: ((rolerig.SCREEN_REJECT, rolerig.SCREEN_REPLY_REJECT)
                                       if f.flags & SCREEN_FACT_EARLY_TALKER else
                                       (rolerig.SCREEN_ACCEPT, rolerig.SCREEN_REPLY_OK))
        c = self.client(banner=False)
        c.send("EHLO eager.example\r\nMAIL FROM:<a@client.example>\r\n")
        self.world.wait_log("event=early_talker sess=")
        self.assertEqual(c.reply(), (220, "220 mx.example.test ESMTP"))
        self.assertEqual(c.cmd("EHLO eager.example")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<a@client.example>")[0], 250)
        code, text = c.cmd("RCPT TO:<kim@example.test>")
        self.assertEqual(code, 550, text)
        self.assertRegex(text, r"^550 5\.7\.1 Refused by local policy, ref=[0-9a-f]+-1$")
        self.assertFalse(c.closed())

    def test_patient_client(self):
        c = self.client(banner=False)
        t0 = time.time()
        self.assertEqual(c.reply(), (220, "220 mx.example.test ESMTP"))
        self.assertGreater(time.time() - t0, 0.8)
        self.assertReply(c.cmd("EHLO client.example"), 250)


class TestTls(SmtpdCase):
    tls = True

    def tls_wrap(self, c):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        c.sock = ctx.wrap_socket(c.sock, server_hostname="mx.example.test")
        c.buf = b""
        return c.sock

    def test_starttls_and_reset(self):
        c = self.client()
        code, text = c.cmd("EHLO client.example")
        self.assertIn("250-STARTTLS", text)
        c.cmd("MAIL FROM:<a@client.example>")
        self.assertReply(c.cmd("STARTTLS"), 503, "5.5.1")   # not inside a transaction
        c.cmd("RSET")
        self.assertReply(c.cmd("STARTTLS"), 220, "2.0.0")
        tls = self.tls_wrap(c)
        self.assertIn(tls.version(), ("TLSv1.2", "TLSv1.3"))
        # RFC 3207 4.2: the state is reset; EHLO again, no STARTTLS offered
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 503, "5.5.1")
        code, text = c.cmd("EHLO client.example")
        self.assertNotIn("STARTTLS", text)
        self.assertReply(c.cmd("STARTTLS"), 503, "5.5.1")
        c.cmd("MAIL FROM:<a@client.example>")
        c.cmd("RCPT TO:<kim@example.test>")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(b"Subject: tls\r\n\r\nsecret\r\n.\r\n")
        self.assertReply(c.reply(), 250)
        self.world.wait_for(lambda: self.world.messages)
        head = self.world.messages[0].body.split(b"\r\n")[1].decode()
        self.assertRegex(head, rf"^\tby mx\.example\.test with ESMTPS \({tls.version()}:{tls.cipher()[0]}\) id ")
        self.world.wait_log(f"version={tls.version()} cipher={tls.cipher()[0]}")

    def test_injection_in_same_segment(self):
        """CVE-2011-0411: commands pipelined after STARTTLS are discarded."""
        c = self.client()
        c.cmd("EHLO client.example")
        c.send(b"STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\nRCPT TO:<kim@example.test>\r\n")
        self.assertReply(c.reply(), 220, "2.0.0")
        self.assertEqual(c.buf, b"")
        self.tls_wrap(c)
        code, text = c.cmd("EHLO client.example")   # the first TLS reply answers this
        self.assertEqual(code, 250, text)
        self.assertTrue(text.startswith("250-mx.example.test"), text)
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 503, "5.5.1")  # no MAIL happened
        self.world.wait_log("event=tls_discard")
        self.assertEqual(self.world.asked, [])

    def test_injection_in_next_segment(self):
        """Plaintext sent after STARTTLS but before the handshake breaks the
        handshake; it is never executed."""
        c = self.client()
        c.cmd("EHLO client.example")
        c.send(b"STARTTLS\r\n")
        self.assertReply(c.reply(), 220)
        c.send(b"MAIL FROM:<injected@evil.test>\r\n")
        with self.assertRaises((ssl.SSLError, OSError)):
            self.tls_wrap(c)
            c.cmd("EHLO client.example")
        self.world.wait_log("event=disconnect")
        self.assertNotRegex(self.world.log(), r"event=mail .*injected")

    def test_client_drops_during_handshake(self):
        c = self.client()
        c.cmd("EHLO client.example")
        self.assertReply(c.cmd("STARTTLS"), 220)
        c.close()
        self.world.wait_log("event=disconnect")
        d = self.client()
        self.assertReply(d.cmd("NOOP"), 250)


class TestShutdown(SmtpdCase):
    def test_drain(self):
        idle = self.client()
        idle.cmd("EHLO client.example")
        self.world.commit_delay = 1.0
        busy = self.client()
        busy.cmd("EHLO client.example")
        busy.cmd("MAIL FROM:<a@client.example>")
        busy.cmd("RCPT TO:<kim@example.test>")
        busy.cmd("DATA")
        busy.send(b"x\r\n.\r\n")
        self.world.wait_for(lambda: self.world.commits)   # the commit is now pending
        self.world.proc.send_signal(signal.SIGTERM)
        self.assertEqual(idle.reply(), (421, "421 4.3.2 Service shutting down"))
        self.assertReply(busy.reply(), 250, "2.0.0")   # the promise is kept first
        self.assertEqual(busy.reply(), (421, "421 4.3.2 Service shutting down"))
        self.assertEqual(self.world.proc.wait(), 0)
        self.assertEqual(len(self.world.messages), 1)


class TestChaos(SmtpdCase):
    """A live-session fuzz: many clients at once sending valid, broken and
    random input in random pieces, vanishing at random moments, while the
    peers answer late or fail. smtpd must keep serving (and, in the ASan
    build, stay free of sanitizer reports: checked in tearDown)."""
    extra_conf = ("max_errors 50\nmax_connections_per_ip 100\nmax_connections_per_net 100\n"
                  "max_message_size 8K")

    PIECES = [b"EHLO c.example\r\n", b"HELO c\r\n", b"MAIL FROM:<a@c.example>\r\n",
              b"MAIL FROM:<>\r\n", b"RCPT TO:<kim@example.test>\r\n", b"RCPT TO:<x@other.test>\r\n",
              b"RCPT TO:<postmaster>\r\n", b"RCPT TO:<u@[127.0.0.1]>\r\n", b"DATA\r\n",
              b"Subject: x\r\n\r\nbody\r\n.\r\n", b"a\n.\n", b"\r\n.\r\n", b"..\r\n", b"\0",
              b"RSET\r\n", b"NOOP\r\n", b"STARTTLS\r\n", b"x" * 600, b"\r\n", b"\n", b"\r",
              b"VRFY x\r\n", b"y" * 1200 + b"\r\n", b"QUIT\r\n", b"MAIL FROM:<a@b> SIZE=99999\r\n"]

    def script(self, rnd):
        """A plausible dialog (one or two transactions), then mutated."""
        out = [b"EHLO c.example\r\n"]
        for _ in range(rnd.choice([1, 1, 2])):
            out.append(b"MAIL FROM:<a@c.example>\r\n")
            out += [rnd.choice([b"RCPT TO:<kim@example.test>\r\n", b"RCPT TO:<ann@example.test>\r\n",
                                b"RCPT TO:<x@other.test>\r\n"]) for _ in range(rnd.randrange(1, 4))]
            out.append(b"DATA\r\n")
            out += [rnd.choice([b"line\r\n", b"..dot\r\n", b"a\n.\nb\r\n", b"x\r.\r\n",
                                b"z" * 1500 + b"\r\n", b"\0\r\n", b"\xff\xfe\r\n"])
                    for _ in range(rnd.randrange(0, 6))]
            out.append(b".\r\n")
        out.append(b"QUIT\r\n")
        for i in range(len(out)):
            if rnd.random() < 0.08:
                out[i] = rnd.choice(self.PIECES) if rnd.random() < 0.7 else rnd.randbytes(rnd.randrange(1, 64))
        return out

    def run_client(self, rnd):
        try:
            s = socket.create_connection(("127.0.0.1", self.world.port), timeout=5)
        except OSError:
            return
        try:
            s.settimeout(0.05)
            plan = self.script(rnd) if rnd.random() < 0.7 else [
                rnd.choice(self.PIECES) if rnd.random() < 0.8 else rnd.randbytes(rnd.randrange(1, 64))
                for _ in range(rnd.randrange(1, 40))]
            for data in plan:
                cut = rnd.randrange(0, len(data) + 1)
                s.sendall(data[:cut])
                s.sendall(data[cut:])
                if rnd.random() < 0.3:
                    try:
                        s.recv(65536)
                    except (socket.timeout, OSError):
                        pass
                if rnd.random() < 0.03:
                    break   # vanish mid-dialog
        except OSError:
            pass
        finally:
            s.close()

    def test_chaos(self):
        import random
        rnd = random.Random(20231218)
        for round_no in range(4):
            self.world.lookup_delay = rnd.choice([0, 0, 0.05])
            self.world.open_delay = rnd.choice([0, 0.05])
            self.world.commit_status = rnd.choice([QUEUE_OK, QUEUE_OK, QUEUE_TEMPFAIL, QUEUE_NOSPACE])
            threads = [threading.Thread(target=self.run_client, args=(random.Random(rnd.random()),))
                       for _ in range(30)]
            for t in threads:
                t.start()
            if round_no == 2:
                self.world.connect_peer("lookup")   # a lookup restart in the middle
            for t in threads:
                t.join(60)
        self.world.lookup_delay = self.world.open_delay = 0
        self.world.commit_status = QUEUE_OK
        self.world.wait_sessions_ended()    # every chaos client is gone
        c = self.client()
        self.assertReply(transaction(c), 250)
        self.assertIsNone(self.world.proc.poll())


if __name__ == "__main__":
    unittest.main()
