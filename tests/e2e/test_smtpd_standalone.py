"""tests/e2e/test_smtpd_standalone.py - the real homemx-smtpd binary, alone.

Owns: a fake of everything around smtpd. This process plays homemxd (the
control link on fd 3, the config memfd on fd 4, the listening socket on
fd 5, MSG_SUP_LINK frames) and both of smtpd's peers, lookup and queue,
speaking the real frame format (message numbers are read from
lib/ipc_msgs.h). Why: the failure paths of inbound SMTP that real roles
rarely produce on demand -- lookup down, queue answering NOSPACE, a spool
fd on a full disk, a link that dies while a commit is pending, a client
that vanishes before the spool file arrives -- are driven here exactly and
deterministically. tests/e2e/test_smtpd.py covers the same ground against
the full daemon.

Run: /usr/bin/python3 tests/e2e/run.py test_smtpd_standalone
HOMEMX_BUILD=build-asan selects the sanitizer build (reports fail the test).
"""

import os
import re
import select
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
import unittest

from harness import BUILD, WAIT, SMTPClient, assert_no_sanitizer_reports
import rolerig
from rolerig import (QUEUE_NOSPACE, QUEUE_OK, QUEUE_REJECT, QUEUE_TEMPFAIL, RESOLVE_BLOCKED,
                     RESOLVE_LOCAL, RESOLVE_NOT_LOCAL, RESOLVE_TEMPFAIL, RESOLVE_UNKNOWN_USER,
                     SOURCE_SMTP, Cursor, RoleRig, s)

SMTPD = os.path.join(BUILD, "homemx-smtpd")
SCREEN_FACT_TLS, SCREEN_FACT_EARLY_TALKER = 0x01, 0x02       # lib/screen_facts.h
SCREEN_FACT_NULL_SENDER, SCREEN_FACT_MAIL_SEEN = 0x04, 0x08


# ---- the fake world around smtpd --------------------------------------------

class Message:
    def __init__(self, msgid, sender, helo, client_ip, source, rcpts, body):
        self.msgid, self.sender, self.helo = msgid, sender, helo
        self.client_ip, self.source, self.rcpts, self.body = client_ip, source, rcpts, body


class Facts:
    """One MSG_SCREEN_HINT/ASK/MESSAGE_ASK as smtpd sent it (lib/ipc_screen.h);
    a message question also names every recipient (rcpts)."""

    def __init__(self, kind, payload):
        c = Cursor(payload)
        self.kind = kind
        self.stage, self.flags, self.errors = c.u8(), c.u8(), c.u16()
        self.rcpt_seq = c.u32()
        (self.sess, self.client_ip, self.local_ip, self.helo, self.mail_from,
         self.rcpt, self.qid) = (c.str("latin-1") for _ in range(7))
        self.bounce_tag = c.u8()
        self.rcpts = []
        if kind == "MSG_SCREEN_MESSAGE_ASK":
            self.rcpts = [c.str("latin-1") for _ in range(c.u16())]
        c.end()


class FakeWorld(RoleRig):
    """homemx-smtpd with a fake supervisor, lookup, queue and screen.

    Policies (change them at any time from a test):
      verdict(address) -> RESOLVE_*     (default: kim/postmaster@example.test local)
      screen(facts) -> (SCREEN_action, SCREEN_REPLY_*) or None (no answer);
                                        default: accept
      screen_message(facts) -> ((action, reply), prepend, strips) or None;
                                        facts.message has the bytes it read
      lookup_delay, open_delay, commit_delay: seconds before answering
      open_status, commit_status: QUEUE_*; open_fd_path: file to hand over
    Observations: asked (addresses), messages (committed), aborted (msgids),
    opened (msgids), open_asks (OPEN frames received), commits (msgids of
    COMMIT frames received, answered or not yet).
    """

    LOCAL_USERS = ("kim", "postmaster", "kim-tag", "ann")

    def __init__(self, extra_conf="", greeting_delay="0s", tls=False):
        super().__init__("hmx-smtpd-", log_name="smtpd.log")
        self.extra_conf = extra_conf
        self.greeting_delay = greeting_delay
        self.tls = tls
        self.lock = threading.Lock()
        self.asked, self.messages, self.aborted, self.opened = [], [], [], []
        self.open_asks, self.commits = 0, []
        self.lookup_delay = self.open_delay = self.commit_delay = 0
        self.open_status = QUEUE_OK
        self.commit_status = QUEUE_OK
        self.open_fd_path = None
        self.verdict = self.default_verdict
        self.screen = lambda facts: (rolerig.SCREEN_ACCEPT, rolerig.SCREEN_REPLY_OK)
        # end of DATA: ((action, reply), prepend bytes, [(off, len)]) or None
        self.screen_message = lambda facts: ((rolerig.SCREEN_ACCEPT, rolerig.SCREEN_REPLY_OK),
                                             b"", [])
        self.screened = []          # Facts of every hint and question, in order
        # BATV: tag_check(tagged address) -> BOUNCE_TAG_* or None (no answer)
        self.tag_check = lambda address: 1
        self.tag_asks = []
        self.spool = {}
        self.proc = None
        self.links = {}
        self.stop_event = threading.Event()

    @classmethod
    def default_verdict(cls, address):
        local, _, domain = address.rpartition("@")
        if domain != "example.test":
            return RESOLVE_NOT_LOCAL
        return RESOLVE_LOCAL if local.lower() in cls.LOCAL_USERS else RESOLVE_UNKNOWN_USER

    # -- start / stop --------------------------------------------------------
    def config_text(self):
        lines = [f"greeting_delay {self.greeting_delay}"]
        if self.tls:
            lines += [f"tls_certificate {self.dir}/cert.pem", f"tls_key {self.dir}/key.pem"]
        return (self.config(*lines, listen=f"127.0.0.1:{self.port}") + "\n" +
                self.extra_conf.strip() + "\n")

    def make_cert(self):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=mx.example.test", "-keyout", f"{self.dir}/key.pem",
             "-out", f"{self.dir}/cert.pem"],
            check=True, capture_output=True)

    def start(self):
        if self.tls:
            self.make_cert()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        try:
            self.proc = self.start_role("smtpd", self.config_text(), listen=[listener],
                                        detect_leaks=True)
        finally:
            listener.close()    # smtpd holds its own copy
        self.control = self.proc.control
        self.connect_peer("lookup")
        self.connect_peer("queue")
        self.connect_peer("screen")
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()
        self.wait_log("event=link_up peer=queue")
        self.wait_log("event=start role=smtpd")

    def alive(self):
        return self.proc is None or self.proc.poll() is None

    def connect_peer(self, name):
        """Hands smtpd a fresh link to the fake peer (a restart of that role)."""
        ours = self.proc.new_link(name)
        with self.lock:
            old = self.links.get(name)
            self.links[name] = ours
        if old is not None:
            old.close()

    def drop_peer(self, name):
        """The peer role dies: its end of the link closes."""
        with self.lock:
            link = self.links.pop(name, None)
        if link is not None:
            link.close()

    def stop(self, check=True):
        if self.proc is None:
            return
        try:
            self.stop_roles()
        finally:
            self.stop_event.set()
            self.thread.join(5)
            for name in list(self.links):
                self.drop_peer(name)
            self.logf.close()
        rc, self.proc = self.proc.returncode, None
        text = self.log()
        self.cleanup()
        if check:
            assert_no_sanitizer_reports(text, self.log_path)
            if rc != 0:
                raise AssertionError(f"smtpd exited with {rc}:\n{text[-3000:]}")

    # -- the fake peers --------------------------------------------------------
    def serve(self):
        while not self.stop_event.is_set():
            with self.lock:
                links = {link: n for n, link in self.links.items()}
            try:
                ready, _, _ = select.select(list(links), [], [], 0.05)
            except (OSError, ValueError):
                continue
            for link in ready:
                try:
                    f = link.recv()
                except OSError:
                    continue
                if f is None:
                    continue
                self.handle(links[link], link, *f)

    def later(self, delay, fn):
        if delay:
            threading.Timer(delay, fn).start()
        else:
            fn()

    def safe_send(self, link, *args, **kw):
        try:
            link.send(*args, **kw)
        except OSError:
            pass

    def handle(self, peer, link, name, req_id, payload, fd):
        c = Cursor(payload)
        if name == "MSG_RESOLVE_ASK":
            address = c.str("latin-1")
            c.end()
            with self.lock:
                self.asked.append(address)
            verdict = self.verdict(address)
            body = bytes([verdict, 1 if verdict == RESOLVE_LOCAL else 0])
            if verdict == RESOLVE_LOCAL:
                body += s(address.split("+")[0])
            self.later(self.lookup_delay, lambda: self.safe_send(
                link, "MSG_RESOLVE_ANSWER", body, req_id))
        elif name == "MSG_SMTPD_MSG_OPEN":
            with self.lock:
                self.open_asks += 1
            self.later(self.open_delay, lambda: self.answer_open(link, req_id))
        elif name == "MSG_SMTPD_MSG_COMMIT":
            self.answer_commit(link, req_id, c)
        elif name == "MSG_SMTPD_MSG_ABORT":
            msgid = c.str("latin-1")
            c.end()
            with self.lock:
                self.aborted.append(msgid)
        elif name == "MSG_SMTPD_MSG_READ":
            msgid = c.str("latin-1")
            c.end()
            path = self.spool.get(msgid)
            if path is None:
                self.safe_send(link, "MSG_QUEUE_MSG_READER", bytes([QUEUE_REJECT]) + s(""),
                               req_id)
            else:
                rfd = os.open(path, os.O_RDONLY)
                self.safe_send(link, "MSG_QUEUE_MSG_READER", bytes([QUEUE_OK]) + s(msgid),
                               req_id, fd=rfd)
                os.close(rfd)
        elif name == "MSG_SMTPD_TAG_CHECK":
            address = c.str("latin-1")
            c.end()
            with self.lock:
                self.tag_asks.append(address)
            answer = self.tag_check(address)
            if answer is not None:
                self.safe_send(link, "MSG_QUEUE_TAG_CHECKED", bytes([answer]), req_id)
        elif name == "MSG_SCREEN_MESSAGE_ASK":
            facts = Facts(name, payload)
            with os.fdopen(os.dup(fd), "rb") as f:
                facts.message = f.read()
            with self.lock:
                self.screened.append(facts)
            answer = self.screen_message(facts)
            if answer is not None:
                (action, reply), prepend, strips = answer
                ref = f"{facts.sess}-{facts.rcpt_seq}".encode()
                body = (bytes([action, reply]) + struct.pack(">i", 3) + s(ref) + s(prepend) +
                        struct.pack(">H", len(strips)) +
                        b"".join(struct.pack(">II", o, n) for o, n in strips))
                self.safe_send(link, "MSG_SCREEN_MESSAGE_VERDICT", body, req_id)
        elif name in ("MSG_SCREEN_HINT", "MSG_SCREEN_ASK"):
            facts = Facts(name, payload)
            with self.lock:
                self.screened.append(facts)
            if name == "MSG_SCREEN_ASK":
                answer = self.screen(facts)
                if answer is not None:
                    ref = f"{facts.sess}-{facts.rcpt_seq}".encode()
                    self.safe_send(link, "MSG_SCREEN_VERDICT",
                                   bytes(answer) + struct.pack(">i", 7) + s(ref), req_id)
        else:
            raise AssertionError(f"unexpected frame {name} from smtpd")
        if fd is not None:
            os.close(fd)

    def answer_open(self, link, req_id):
        status = self.open_status
        if status != QUEUE_OK:
            self.safe_send(link, "MSG_QUEUE_MSG_OPENED", bytes([status]) + s(""), req_id)
            return
        msgid = os.urandom(8).hex()
        path = self.open_fd_path or os.path.join(self.dir, msgid)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | (os.O_TRUNC if self.open_fd_path is None else 0), 0o600)
        except OSError:
            return   # stopping: the directory is gone
        with self.lock:
            self.spool[msgid] = path
            self.opened.append(msgid)
        self.safe_send(link, "MSG_QUEUE_MSG_OPENED", bytes([QUEUE_OK]) + s(msgid), req_id, fd=fd)
        os.close(fd)

    def answer_commit(self, link, req_id, c):
        msgid, sender, helo, ip = (c.str("latin-1") for _ in range(4))
        source, n = c.u8(), c.u16()
        rcpts = [c.str("latin-1") for _ in range(n)]
        prepend = c.str("latin-1").encode("latin-1")
        strips = [(c.u32(), c.u32()) for _ in range(c.u16())]
        c.u8()      # SMTPUTF8 flag
        c.end()
        with self.lock:
            self.commits.append(msgid)
        with open(self.spool[msgid], "rb") as f:
            body = f.read()
        # what the queue does before it commits (queue/spool.c, rewrite)
        kept, at = [prepend], 0
        for off, length in strips:
            kept.append(body[at:off])
            at = off + length
        body = b"".join(kept) + body[at:]
        status = self.commit_status

        def reply():
            if status == QUEUE_OK:
                with self.lock:
                    self.messages.append(Message(msgid, sender, helo, ip, source, rcpts, body))
            self.safe_send(link, "MSG_QUEUE_MSG_COMMITTED", bytes([status]) + s(msgid), req_id)
        self.later(self.commit_delay, reply)

    # -- helpers for tests --------------------------------------------------------
    def wait_for(self, predicate, timeout=WAIT, **kw):
        """predicate runs under the lock that guards the observations."""
        def holds():
            with self.lock:
                return predicate()
        return super().wait_for(holds, timeout, **kw)

    def client(self, banner=True):
        c = SMTPClient(self.port)
        if banner:
            code, text = c.reply()
            assert code == 220, text
        return c


MESSAGE = (b"From: a@client.example\r\nTo: kim@example.test\r\nSubject: hello\r\n\r\n"
           b"line one\r\n..a stuffed dot line\r\nlast line\r\n")


def transaction(c, rcpt="kim@example.test", body=MESSAGE, sender="a@client.example"):
    """EHLO..DATA..end; returns the final reply."""
    assert c.cmd("EHLO client.example")[0] == 250
    assert c.cmd(f"MAIL FROM:<{sender}>")[0] == 250
    assert c.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
    code, text = c.cmd("DATA")
    assert code == 354, text
    c.send(body + b".\r\n")
    return c.reply()


class SmtpdCase(unittest.TestCase):
    extra_conf = ""
    greeting_delay = "0s"
    tls = False

    def setUp(self):
        if not os.path.exists(SMTPD):
            self.skipTest(f"{SMTPD} not built")
        self.world = FakeWorld(self.extra_conf, self.greeting_delay, self.tls)
        self.world.start()
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.world.stop()

    def client(self, banner=True):
        c = self.world.client(banner)
        self.clients.append(c)
        return c

    def assertReply(self, reply, code, enh=None):
        got_code, text = reply
        self.assertEqual(got_code, code, text)
        if enh is not None:
            self.assertTrue(text.startswith(f"{code} {enh} ") or text.startswith(f"{code}-{enh} "),
                            f"want {code} {enh}, got {text!r}")


class TestDialog(SmtpdCase):
    extra_conf = "max_errors 100"

    def test_banner_is_neutral(self):
        c = self.client(banner=False)
        self.assertEqual(c.reply(), (220, "220 mx.example.test ESMTP"))

    def test_ehlo_keywords(self):
        c = self.client()
        code, text = c.cmd("EHLO client.example")
        self.assertEqual(code, 250)
        lines = text.split("\n")
        self.assertEqual(lines[0], "250-mx.example.test")
        kws = [l[4:] for l in lines[1:]]
        self.assertEqual(kws, ["PIPELINING", "8BITMIME", "SIZE 26214400", "SMTPUTF8",
                               "ENHANCEDSTATUSCODES"])
        self.assertNotIn("STARTTLS", text)   # no certificate configured

    def test_simple_commands(self):
        c = self.client()
        self.assertReply(c.cmd("HELO client.example"), 250)
        self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
        self.assertReply(c.cmd("VRFY kim"), 252, "2.5.0")
        self.assertReply(c.cmd("EXPN staff"), 502, "5.5.1")
        self.assertReply(c.cmd("HELP"), 214, "2.0.0")
        self.assertReply(c.cmd("RSET"), 250, "2.0.0")
        self.assertReply(c.cmd("BDAT 10 LAST"), 500, "5.5.1")
        self.assertReply(c.cmd("STARTTLS"), 502, "5.5.1")
        self.assertReply(c.cmd("QUIT"), 221, "2.0.0")
        self.assertTrue(c.closed())

    def test_sequence_errors(self):
        c = self.client()
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 503, "5.5.1")
        self.assertReply(c.cmd("EHLO client.example"), 250)
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 503, "5.5.1")
        self.assertReply(c.cmd("DATA"), 503, "5.5.1")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 250, "2.1.0")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 503, "5.5.1")
        self.assertReply(c.cmd("DATA"), 554, "5.5.1")   # no valid recipients
        self.assertReply(c.cmd("RSET"), 250, "2.0.0")
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 503, "5.5.1")

    def test_syntax_errors(self):
        c = self.client()
        self.assertReply(c.cmd("EHLO"), 501, "5.5.4")
        self.assertReply(c.cmd("EHLO bad(host)"), 501, "5.5.4")
        self.assertReply(c.cmd("EHLO client.example"), 250)
        self.assertReply(c.cmd("MAIL FROM:a@client.example"), 501, "5.1.7")
        self.assertReply(c.cmd("MAIL TO:<a@client.example>"), 501, "5.5.4")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example> FOO=BAR"), 555, "5.5.4")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example> SIZE=abc"), 501, "5.5.4")
        self.assertReply(c.cmd("MAIL FROM:<k\u00e4m@client.example>"), 553, "5.6.7")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example> BODY=8BITMIME"), 250, "2.1.0")
        self.assertReply(c.cmd("RCPT TO:<kim>"), 501, "5.1.3")
        self.assertReply(c.cmd("RCPT TO:kim@example.test"), 501, "5.1.3")
        self.assertReply(c.cmd("RCPT TO:<kim@example.test> NOTIFY=NEVER"), 555, "5.5.4")
        self.assertReply(c.cmd("DATA now"), 501, "5.5.4")

    def test_line_length(self):
        c = self.client()
        self.assertReply(c.cmd("NOOP " + "x" * (512 - 7)), 250, "2.0.0")   # 512 with CRLF
        self.assertReply(c.cmd("NOOP " + "x" * (512 - 6)), 500, "5.5.2")   # 513
        self.assertReply(c.cmd("NOOP " + "x" * 100000), 500, "5.5.2")
        self.assertReply(c.cmd("NOOP"), 250, "2.0.0")   # the session goes on

    def test_nul_in_command(self):
        c = self.client()
        self.assertReply(c.cmd("NOOP\0"), 500, "5.5.2")
        self.assertReply(c.cmd("EHLO client.example"), 250)
        self.assertReply(c.cmd("MAIL FROM:<a@client.example\0>"), 500, "5.5.2")

    def test_log_lines(self):
        c = self.client()
        transaction(c)
        c.cmd("QUIT")
        self.world.wait_log("event=disconnect")
        log = self.world.log()
        sess = re.search(r"event=connect sess=([0-9a-f]{8}) ip=127\.0\.0\.1 port=\d+", log).group(1)
        self.assertRegex(log, rf"event=helo sess={sess} verb=EHLO helo=client\.example")
        self.assertIn(f"event=mail sess={sess} from=<a@client.example>", log)
        self.assertIn(f'event=rcpt sess={sess} from=<a@client.example> to=<kim@example.test> '
                      f'verdict=accept reply="250 2.1.5" reason=local', log)
        self.assertRegex(log, rf"event=data sess={sess} qid=[0-9a-f]{{16}} nrcpt=1")
        self.assertRegex(log, rf"event=queued sess={sess} qid=[0-9a-f]{{16}} size=\d+ nrcpt=1")
        self.assertRegex(log, rf"event=disconnect sess={sess} ip=127.0.0.1 reason=quit")


class TestMessageFlow(SmtpdCase):
    def test_message_is_spooled_exactly(self):
        c = self.client()
        code, text = transaction(c)
        self.assertEqual(code, 250, text)
        m = re.match(r"250 2\.0\.0 Ok: queued as ([0-9a-f]{16})$", text)
        self.assertIsNotNone(m, text)
        self.world.wait_for(lambda: self.world.messages)
        msg = self.world.messages[0]
        self.assertEqual(msg.msgid, m.group(1))
        self.assertEqual((msg.sender, msg.helo, msg.client_ip, msg.source, msg.rcpts),
                         ("a@client.example", "client.example", "127.0.0.1", SOURCE_SMTP,
                          ["kim@example.test"]))
        received, _, rest = msg.body.partition(b"\r\nFrom:")
        self.assertRegex(received.decode(),
                         r"^Received: from client\.example \(\[127\.0\.0\.1\]\)\r\n"
                         rf"\tby mx\.example\.test with ESMTP id {msg.msgid}\r\n"
                         r"\tfor <kim@example\.test>; \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000$")
        self.assertEqual(b"From:" + rest, MESSAGE.replace(b"\r\n..a", b"\r\n.a"))

    def test_null_sender_and_many_rcpts(self):
        c = self.client()
        c.cmd("EHLO client.example")
        self.assertReply(c.cmd("MAIL FROM:<>"), 250)
        for r in ("kim@example.test", "Ann@example.test", "kim@example.test", "postmaster"):
            self.assertReply(c.cmd(f"RCPT TO:<{r}>"), 250, "2.1.5")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(b"Subject: x\r\n\r\nhi\r\n.\r\n")
        self.assertReply(c.reply(), 250, "2.0.0")
        self.world.wait_for(lambda: self.world.messages)
        msg = self.world.messages[0]
        self.assertEqual(msg.sender, "")
        # duplicates are delivered once; <postmaster> means postmaster@first domain
        self.assertEqual(msg.rcpts, ["kim@example.test", "Ann@example.test", "postmaster@example.test"])
        self.assertNotIn(b"\tfor <", msg.body.split(b"\r\n\r\n")[0])

    def test_pipelined_transaction_in_one_write(self):
        self.world.lookup_delay = 0.2   # answers arrive while later lines wait
        c = self.client()
        c.send(b"EHLO client.example\r\nMAIL FROM:<a@client.example>\r\n"
               b"RCPT TO:<kim@example.test>\r\nRCPT TO:<nobody@example.test>\r\n"
               b"RCPT TO:<ann@example.test>\r\nDATA\r\n"
               b"Subject: piped\r\n\r\nbody\r\n.\r\nNOOP\r\nQUIT\r\n")
        codes = [c.reply()[0] for _ in range(8)]
        self.assertEqual(codes, [250, 250, 250, 550, 250, 354, 250, 250])
        self.assertEqual(c.reply()[0], 221)
        self.world.wait_for(lambda: self.world.messages)
        self.assertEqual(self.world.messages[0].rcpts, ["kim@example.test", "ann@example.test"])
        self.assertTrue(self.world.messages[0].body.endswith(b"Subject: piped\r\n\r\nbody\r\n"))

    def test_pipelining_client_that_closes_early(self):
        """A client that writes a whole dialog and shuts down its side still gets
        every answer (half-close)."""
        self.world.lookup_delay = 0.2
        c = self.client()
        c.send(b"EHLO client.example\r\nMAIL FROM:<a@client.example>\r\n"
               b"RCPT TO:<kim@example.test>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n")
        c.sock.shutdown(socket.SHUT_WR)
        codes = [c.reply()[0] for _ in range(6)]
        self.assertEqual(codes, [250, 250, 250, 354, 250, 221])

    def test_pipelining_is_not_slowed_by_nagle(self):
        """Without TCP_NODELAY each pipelined group waits for the client's
        delayed ACK: ~44 ms per transaction measured; with it, ~1 ms."""
        c = self.client()
        c.cmd("EHLO client.example")
        t0 = time.time()
        for _ in range(50):
            c.send(b"MAIL FROM:<a@client.example>\r\nRCPT TO:<kim@example.test>\r\nDATA\r\n")
            self.assertEqual([c.reply()[0] for _ in range(3)], [250, 250, 354])
            c.send(b"Subject: x\r\n\r\nhello\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)
        self.assertLess(time.time() - t0, 1.5)

    def test_two_messages_one_session(self):
        c = self.client()
        self.assertReply(transaction(c), 250)
        self.assertReply(c.cmd("MAIL FROM:<b@client.example>"), 250)
        self.assertReply(c.cmd("RCPT TO:<ann@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(b"x\r\n.\r\n")
        self.assertReply(c.reply(), 250)
        self.world.wait_for(lambda: len(self.world.messages) == 2)
        self.assertEqual(self.world.messages[1].sender, "b@client.example")

    def test_eight_bit_body_kept(self):
        c = self.client()
        body = "Subject: \u00e4\r\n\r\nGr\u00fc\u00dfe \u20ac\r\n".encode() + bytes(range(0x80, 0x100)) + b"\r\n"
        self.assertReply(transaction(c, body=body), 250)
        self.world.wait_for(lambda: self.world.messages)
        self.assertTrue(self.world.messages[0].body.endswith(body))


class TestRecipients(SmtpdCase):
    extra_conf = "max_errors 100"

    def rcpt(self, c, addr):
        return c.cmd(f"RCPT TO:{addr}")

    def test_verdicts(self):
        verdicts = {"local@example.test": RESOLVE_LOCAL,
                    "unknown@example.test": RESOLVE_UNKNOWN_USER,
                    "kim+burnt@example.test": RESOLVE_BLOCKED,
                    "x@other.test": RESOLVE_NOT_LOCAL,
                    "temp@example.test": RESOLVE_TEMPFAIL}
        self.world.verdict = lambda a: verdicts[a]
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        self.assertReply(self.rcpt(c, "<local@example.test>"), 250, "2.1.5")
        self.assertReply(self.rcpt(c, "<unknown@example.test>"), 550, "5.1.1")
        self.assertReply(self.rcpt(c, "<kim+burnt@example.test>"), 550, "5.1.1")
        self.assertReply(self.rcpt(c, "<x@other.test>"), 554, "5.7.1")
        self.assertReply(self.rcpt(c, "<temp@example.test>"), 451, "4.3.0")
        log = self.world.log()
        for to, reason in (("unknown@example.test", "unknown_user"),
                           ("kim+burnt@example.test", "blocked_tag"),
                           ("x@other.test", "relay_denied"), ("temp@example.test", "tempfail")):
            self.assertRegex(log, rf"event=rcpt sess=\w+ from=<a@client.example> to=<{re.escape(to)}> "
                                  rf'verdict=reject reply="\d{{3}} [\d.]+" reason={reason}')

    def test_open_relay_patterns(self):
        """nmap smtp-open-relay forms: each is parsed once into (local, domain);
        the relay decision is made on that domain only, nothing is relayed."""
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        cases = [
            ("<user%other.test@example.test>", 550, "user%other.test@example.test"),
            ("<@example.test:user@other.test>", 554, "user@other.test"),
            ("<\"user@other.test\"@example.test>", 550, "\"user@other.test\"@example.test"),
            ("<\"user%other.test\"@example.test>", 550, "user%other.test@example.test"),
            ("<example.test!other.test!user>", 501, None),
            ("<other.test!user@example.test>", 550, "other.test!user@example.test"),
            ("<user@[127.0.0.1]>", 554, None),
            ("<user@[IPv6:::1]>", 554, None),
            ("<user@other.test@example.test>", 501, None),
            ("<user@other.test>", 554, "user@other.test"),
        ]
        for addr, code, asked in cases:
            before = len(self.world.asked)
            got = self.rcpt(c, addr)
            self.assertEqual(got[0], code, f"{addr}: {got}")
            if asked is not None:
                self.assertEqual(self.world.asked[before:], [asked], addr)
            else:
                self.assertEqual(self.world.asked[before:], [], addr)
            c.cmd("RSET")
            c.cmd("MAIL FROM:<a@client.example>")
        self.assertReply(c.cmd("DATA"), 554, "5.5.1")

    def test_too_many_recipients(self):
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        self.world.verdict = lambda a: RESOLVE_LOCAL
        for i in range(100):
            self.assertReply(self.rcpt(c, f"<u{i}@example.test>"), 250)
        self.assertReply(self.rcpt(c, "<u100@example.test>"), 452, "4.5.3")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(b"x\r\n.\r\n")
        self.assertReply(c.reply(), 250)
        self.world.wait_for(lambda: self.world.messages)
        self.assertEqual(len(self.world.messages[0].rcpts), 100)

    def test_lookup_down_and_back(self):
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        self.world.drop_peer("lookup")
        self.world.wait_log("event=link_down peer=lookup")
        self.assertReply(self.rcpt(c, "<kim@example.test>"), 451, "4.3.0")
        self.world.connect_peer("lookup")
        self.world.wait_log("event=link_up peer=lookup", n=2)
        self.assertReply(self.rcpt(c, "<kim@example.test>"), 250, "2.1.5")

    def test_lookup_dies_while_asked(self):
        self.world.lookup_delay = 1.0
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        c.send("RCPT TO:<kim@example.test>\r\n")
        self.world.wait_for(lambda: self.world.asked)     # the question is out
        self.world.drop_peer("lookup")
        self.assertReply(c.reply(), 451, "4.3.0")
        self.assertReply(c.cmd("NOOP"), 250)

    def test_lookup_restarted_while_asked(self):
        """A new MSG_SUP_LINK replaces the old link; questions pending on the old
        one are answered 451, later questions go to the new peer."""
        self.world.lookup_delay = 1.0
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        c.send("RCPT TO:<kim@example.test>\r\n")
        self.world.wait_for(lambda: self.world.asked)     # the question is out
        self.world.lookup_delay = 0
        self.world.connect_peer("lookup")
        self.assertReply(c.reply(), 451, "4.3.0")
        self.assertReply(self.rcpt(c, "<kim@example.test>"), 250)


class TestScreen(SmtpdCase):
    """What port 25 tells the screen role, and how its verdicts reach the
    client (smtpd/inbound.c); the screen itself is faked here."""
    extra_conf = "max_errors 100"

    def test_hints_and_questions(self):
        c = self.client()
        self.assertReply(c.cmd("EHLO client.example"), 250)
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 250)
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 250, "2.1.5")
        self.assertReply(c.cmd("RCPT TO:<nobody@example.test>"), 550, "5.1.1")
        self.assertReply(c.cmd("RCPT TO:<x@other.test>"), 554, "5.7.1")
        self.assertReply(c.cmd("RCPT TO:<ann@example.test>"), 250, "2.1.5")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(MESSAGE + b".\r\n")
        self.assertReply(c.reply(), 250)
        self.world.wait_for(lambda: len(self.world.screened) == 7)
        stages = [(f.kind, f.stage) for f in self.world.screened]
        self.assertEqual(stages, [
            ("MSG_SCREEN_HINT", rolerig.SCREEN_STAGE_CONNECT),
            ("MSG_SCREEN_HINT", rolerig.SCREEN_STAGE_HELO),
            ("MSG_SCREEN_HINT", rolerig.SCREEN_STAGE_MAIL),
            ("MSG_SCREEN_ASK", rolerig.SCREEN_STAGE_RCPT),      # kim: local
            ("MSG_SCREEN_ASK", rolerig.SCREEN_STAGE_RCPT),      # ann; not the unknown or remote
            ("MSG_SCREEN_HINT", rolerig.SCREEN_STAGE_DATA),
            ("MSG_SCREEN_MESSAGE_ASK", rolerig.SCREEN_STAGE_MESSAGE)])
        whole = self.world.screened[6]
        self.assertEqual((whole.rcpt, whole.rcpt_seq), ("kim@example.test", 3))
        self.assertEqual(whole.rcpts, ["kim@example.test", "ann@example.test"])
        self.assertEqual([f.bounce_tag for f in self.world.screened], [0] * 7)  # bounce_tags off
        self.assertEqual(whole.qid, self.world.messages[0].msgid)
        # the screen read exactly what the queue got (Received: first)
        self.assertEqual(whole.message, self.world.messages[0].body)
        self.assertTrue(whole.message.startswith(b"Received: "), whole.message[:80])
        kim, ann, data = self.world.screened[3], self.world.screened[4], self.world.screened[5]
        self.assertEqual((kim.client_ip, kim.local_ip, kim.helo), ("127.0.0.1", "127.0.0.1",
                                                                   "client.example"))
        self.assertEqual((kim.mail_from, kim.rcpt, kim.rcpt_seq), ("a@client.example",
                                                                   "kim@example.test", 1))
        self.assertEqual((ann.rcpt, ann.rcpt_seq), ("ann@example.test", 2))
        self.assertEqual(kim.flags, SCREEN_FACT_MAIL_SEEN)
        self.assertEqual(len(data.qid), 16)
        self.assertEqual(data.qid, self.world.messages[0].msgid)
        self.assertEqual({f.sess for f in self.world.screened}, {kim.sess})

    def test_null_sender_flag(self):
        c = self.client()
        c.cmd("EHLO client.example")
        self.assertReply(c.cmd("MAIL FROM:<>"), 250)
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 250)
        ask = self.world.wait_for(lambda: [f for f in self.world.screened
                                           if f.kind == "MSG_SCREEN_ASK"])[0]
        self.assertEqual(ask.flags, SCREEN_FACT_MAIL_SEEN | SCREEN_FACT_NULL_SENDER)
        self.assertEqual(ask.mail_from, "")

    def test_verdicts_become_neutral_replies(self):
        verdicts = {
            "kim@example.test": (rolerig.SCREEN_ACCEPT, rolerig.SCREEN_REPLY_OK,
                                 "250 2.1.5 "),
            "ann@example.test": (rolerig.SCREEN_REJECT, rolerig.SCREEN_REPLY_REJECT,
                                 "550 5.7.1 Refused by local policy, ref="),
            "postmaster@example.test": (rolerig.SCREEN_REJECT, rolerig.SCREEN_REPLY_SPF_REJECT,
                                        "550 5.7.23 Refused by local policy, ref="),
            "kim-tag@example.test": (rolerig.SCREEN_GREYLIST, rolerig.SCREEN_REPLY_GREYLIST,
                                     "451 4.7.1 Try again later, ref="),
        }
        self.world.screen = lambda f: verdicts[f.rcpt][:2]
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        for n, (rcpt, (_, _, want)) in enumerate(verdicts.items(), 1):
            code, text = c.cmd(f"RCPT TO:<{rcpt}>")
            self.assertTrue(text.startswith(want), (rcpt, text))
            if code != 250:
                self.assertRegex(text, rf"ref=[0-9a-f]{{8}}-{n}$")
        self.world.screen = lambda f: (rolerig.SCREEN_TEMPFAIL, rolerig.SCREEN_REPLY_DNS_TEMPFAIL)
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 451, "4.4.3")
        log = self.world.log()
        self.assertRegex(log, r'event=rcpt sess=\w+ from=<a@client.example> '
                              r'to=<ann@example.test> verdict=reject reply="550 5.7.1" '
                              r'reason=screen_reject ip=127.0.0.1')
        self.assertIn('reason=screen_greylist', log)
        # a DATA with only kim accepted still works
        self.assertReply(c.cmd("DATA"), 354)
        c.send(MESSAGE + b".\r\n")
        self.assertReply(c.reply(), 250)

    def test_screen_gone_is_451_and_back(self):
        """The screen dies with a question in flight: 451 4.3.0 at once,
        new clients wait until it is back, then all is well."""
        self.world.screen = lambda f: None      # swallows the question
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        c.send("RCPT TO:<kim@example.test>\r\n")
        self.world.wait_for(lambda: any(f.kind == "MSG_SCREEN_ASK" for f in self.world.screened))
        self.world.drop_peer("screen")
        self.assertReply(c.reply(), 451, "4.3.0")
        self.world.wait_log("reason=screen_unavailable")
        self.world.wait_log("event=accept role=smtpd state=off missing=screen")
        waiting = self.world.client(banner=False)
        self.clients.append(waiting)
        waiting.sock.settimeout(1.0)
        with self.assertRaises(socket.timeout):
            waiting.sock.recv(100)                  # nobody greets while screen is down
        self.world.screen = lambda f: (rolerig.SCREEN_ACCEPT, rolerig.SCREEN_REPLY_OK)
        self.world.connect_peer("screen")
        waiting.sock.settimeout(WAIT)
        self.assertEqual(waiting.reply()[0], 220)
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 250)

    def test_message_verdict_refuses_or_edits(self):
        """The end-of-DATA verdict: a refusal ends the transaction with the
        screen's reply; an accept carries its Authentication-Results first
        and leaves out the ranges it names (the queue applies both)."""
        c = self.client()
        self.world.screen_message = lambda f: ((rolerig.SCREEN_REJECT,
                                                rolerig.SCREEN_REPLY_VIRUS), b"", [])
        self.assertReply(transaction(c), 554, "5.7.1")
        self.assertEqual(self.world.messages, [])
        self.world.wait_for(lambda: len(self.world.aborted) == 1)
        self.world.wait_log('reason=screen_reject size=')
        # accepted, edited: our field first, the forged one (found by the
        # screen in the bytes it read) left out, everything else byte-exact
        forged = b"Authentication-Results: mx.example.test; dkim=pass\r\n"
        ours = b"Authentication-Results: mx.example.test;\r\n\tspf=none\r\n"

        def edit(f):
            off = f.message.index(forged)
            return ((rolerig.SCREEN_ACCEPT, rolerig.SCREEN_REPLY_OK), ours,
                    [(off, len(forged))])
        self.world.screen_message = edit
        self.assertReply(transaction(c, body=forged + MESSAGE), 250)
        self.world.wait_for(lambda: len(self.world.messages) == 1)
        body = self.world.messages[0].body
        self.assertTrue(body.startswith(ours + b"Received: "), body[:120])
        self.assertNotIn(forged, body)
        self.assertTrue(body.endswith(MESSAGE.replace(b"\r\n..", b"\r\n.")), body[-120:])

    def test_screen_silent_at_end_of_data_is_451(self):
        self.world.screen_message = lambda f: None
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        c.cmd("RCPT TO:<kim@example.test>")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(MESSAGE + b".\r\n")
        self.world.wait_for(lambda: any(f.kind == "MSG_SCREEN_MESSAGE_ASK"
                                        for f in self.world.screened))
        self.world.drop_peer("screen")
        self.assertReply(c.reply(), 451, "4.3.0")
        self.world.wait_log("reason=screen_unavailable")
        self.assertEqual(self.world.messages, [])

    def test_garbage_verdict_is_451(self):
        """A verdict that does not decode is no verdict (and is logged)."""
        def bad(f):
            return (rolerig.SCREEN_ACCEPT, rolerig.SCREEN_REPLY_REJECT)   # disagree
        self.world.screen = bad
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 451, "4.3.0")
        self.world.wait_log(r"event=ipc_reject peer=screen type=MSG_SCREEN_VERDICT")


class TestBounceTags(SmtpdCase):
    """BATV in smtpd (smtpd/inbound.c): a tagged recipient is looked up and
    delivered untagged, the queue is asked about its tag, the screen hears
    the answer; the screen's "unknown user" is lookup's reply to the byte."""
    extra_conf = "max_errors 100\nbounce_tags on"
    TAGGED = "prvs=0123abcdef=kim@example.test"
    VALID, BAD, UNTAGGED = 1, 2, 3      # enum screen_bounce_tag / bounce_tag_result

    def test_tagged_recipient_is_the_untagged_mailbox(self):
        c = self.client()
        c.cmd("EHLO mx.example.net")
        self.assertReply(c.cmd("MAIL FROM:<>"), 250)
        self.assertReply(c.cmd(f"RCPT TO:<{self.TAGGED}>"), 250, "2.1.5")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(MESSAGE + b".\r\n")
        self.assertReply(c.reply(), 250)
        self.assertEqual(self.world.tag_asks, [self.TAGGED])
        self.assertEqual(self.world.asked, ["kim@example.test"])        # lookup: untagged
        self.assertEqual(self.world.messages[0].rcpts, ["kim@example.test"])
        asks = [f for f in self.world.screened if f.kind != "MSG_SCREEN_HINT"]
        self.assertEqual([(f.rcpt, f.bounce_tag) for f in asks],
                         [("kim@example.test", self.VALID), ("kim@example.test", self.VALID)])
        self.assertEqual(asks[1].rcpts, ["kim@example.test"])
        self.world.wait_log("event=bounce_tag sess=")
        self.assertRegex(self.world.log(), r"event=bounce_tag sess=\w+ "
                                           r"to=<kim@example.test> result=valid")

    def test_tag_states_reach_the_screen(self):
        self.world.tag_check = lambda address: 3        # BOUNCE_TAG_EXPIRED
        c = self.client()
        c.cmd("EHLO mx.example.net")
        c.cmd("MAIL FROM:<>")
        self.assertReply(c.cmd(f"RCPT TO:<{self.TAGGED}>"), 250)
        self.assertReply(c.cmd("RCPT TO:<ann@example.test>"), 250)   # untagged, tags on
        self.assertReply(c.cmd("DATA"), 354)
        c.send(MESSAGE + b".\r\n")
        self.assertReply(c.reply(), 250)
        asks = [f for f in self.world.screened if f.kind != "MSG_SCREEN_HINT"]
        self.assertEqual([f.bounce_tag for f in asks], [self.BAD, self.UNTAGGED, 0])
        self.assertEqual(asks[2].rcpts, ["kim@example.test", "ann@example.test"])
        # an unknown user behind a tag is lookup's: the queue is not asked
        self.world.tag_asks.clear()
        c.cmd("MAIL FROM:<>")
        self.assertReply(c.cmd("RCPT TO:<prvs=0123abcdef=nobody@example.test>"), 550, "5.1.1")
        self.assertEqual(self.world.tag_asks, [])

    def test_queue_gone_during_tag_check_is_451(self):
        self.world.tag_check = lambda address: None     # swallows the question
        c = self.client()
        c.cmd("EHLO mx.example.net")
        c.cmd("MAIL FROM:<>")
        c.send(f"RCPT TO:<{self.TAGGED}>\r\n")
        self.world.wait_for(lambda: self.world.tag_asks == [self.TAGGED])
        self.world.drop_peer("queue")
        self.assertReply(c.reply(), 451, "4.3.0")
        self.world.wait_log("reason=queue_unavailable")
        self.assertFalse(any(f.kind == "MSG_SCREEN_ASK" for f in self.world.screened))
        self.world.tag_check = lambda address: 1
        self.world.connect_peer("queue")

    def test_screen_unknown_user_is_lookups_reply(self):
        self.world.screen = lambda f: (rolerig.SCREEN_REJECT, rolerig.SCREEN_REPLY_USER_UNKNOWN)
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        real = c.cmd("RCPT TO:<nobody@example.test>")
        self.assertEqual(c.cmd("RCPT TO:<kim@example.test>"), real)
        self.assertEqual(real, (550, "550 5.1.1 Recipient address rejected: User unknown"))
        self.world.wait_log("reason=spam_memory")
        self.assertRegex(self.world.log(), r'event=rcpt sess=\w+ from=<a@client.example> '
                                           r'to=<kim@example.test> verdict=reject '
                                           r'reply="550 5.1.1" reason=spam_memory ip=127.0.0.1')


class TestQueueFailures(SmtpdCase):
    def start_data(self, c):
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        c.cmd("RCPT TO:<kim@example.test>")
        return c.cmd("DATA")

    def test_open_tempfail_and_nospace(self):
        """A refused DATA (451/452) ends the transaction: the next MAIL starts a
        new one instead of getting 503, and a DATA without one is a sequence error."""
        c = self.client()
        self.world.open_status = QUEUE_TEMPFAIL
        self.assertReply(self.start_data(c), 451, "4.3.0")
        self.assertReply(c.cmd("DATA"), 503, "5.5.1")   # the envelope is gone
        self.world.open_status = QUEUE_NOSPACE
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 250, "2.1.0")
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 452, "4.3.1")
        self.world.open_status = QUEUE_OK
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 250, "2.1.0")
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(b"x\r\n.\r\n")
        self.assertReply(c.reply(), 250)
        self.assertEqual(len(self.world.messages), 1)

    def test_commit_statuses(self):
        c = self.client()
        for status, code, enh in ((QUEUE_TEMPFAIL, 451, "4.3.0"), (QUEUE_NOSPACE, 452, "4.3.1"),
                                  (QUEUE_REJECT, 451, "4.3.0"), (QUEUE_OK, 250, "2.0.0")):
            self.world.commit_status = status
            self.assertReply(transaction(c), code, enh)
        self.assertEqual(len(self.world.messages), 1)

    def test_spool_disk_full(self):
        self.world.open_fd_path = "/dev/full"
        c = self.client()
        self.assertReply(transaction(c, body=b"x" * 200 + b"\r\n" + b"y\r\n" * 40000), 452, "4.3.1")
        self.world.wait_for(lambda: self.world.aborted)
        self.assertEqual(self.world.aborted, self.world.opened)
        self.assertEqual(self.world.messages, [])

    def test_queue_dies_while_committing(self):
        self.world.commit_delay = 2.0
        c = self.client()
        self.start_data(c)
        c.send(b"x\r\n.\r\n")
        self.world.wait_for(lambda: self.world.commits)   # the commit is pending
        self.world.drop_peer("queue")
        self.assertReply(c.reply(), 451, "4.3.0")
        self.assertReply(c.cmd("RSET"), 250)

    def test_queue_down_at_data(self):
        c = self.client()
        self.world.drop_peer("queue")
        self.world.wait_log("event=link_down peer=queue")
        self.assertReply(self.start_data(c), 451, "4.3.0")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 250, "2.1.0")   # not 503
        self.world.wait_log("reason=queue_unavailable")

    def test_client_gone_before_spool_file(self):
        """OPENED for a session that vanished: fd closed, ABORT sent."""
        self.world.open_delay = 0.5
        c = self.client()
        self.start_data_nowait(c)
        c.close()
        self.world.wait_for(lambda: self.world.aborted)
        self.assertEqual(self.world.aborted, self.world.opened)

    def start_data_nowait(self, c):
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        c.cmd("RCPT TO:<kim@example.test>")
        c.send("DATA\r\n")
        self.world.wait_for(lambda: self.world.open_asks)  # smtpd asked for a spool file

    def test_client_gone_in_data(self):
        c = self.client()
        self.start_data(c)
        c.send(b"Subject: half\r\n\r\nhalf a message")
        c.close()
        self.world.wait_for(lambda: self.world.aborted)
        self.assertEqual(self.world.aborted, self.world.opened)
        self.world.wait_log("reason=eof_in_data")


class TestDataChecks(SmtpdCase):
    extra_conf = "max_message_size 64K"

    SMUGGLING = [
        ("LF.LF", b"a\n.\nMAIL FROM:<x@evil.test>\r\n"),
        ("CRLF.LF", b"a\r\n.\nb\r\n"),
        ("LF.CRLF", b"a\n.\r\nb\r\n"),
        ("CR.CR", b"a\r.\rb\r\n"),
        ("CRLF.CR", b"a\r\n.\rb\r\n"),
        ("CR.CRLF", b"a\r.\r\nb\r\n"),
        ("CRLF NUL.CRLF", b"a\r\n\0.\r\nb\r\n"),
        ("bare LF", b"a\nb\r\n"),
        ("bare CR", b"a\rb\r\n"),
    ]

    def test_smuggling_variants_rejected(self):
        """No variant ends DATA early; each message is refused with 554 5.6.0,
        its spool file aborted, and the session goes on."""
        c = self.client()
        c.cmd("EHLO client.example")
        for name, body in self.SMUGGLING:
            c.cmd("MAIL FROM:<a@client.example>")
            c.cmd("RCPT TO:<kim@example.test>")
            self.assertReply(c.cmd("DATA"), 354)
            c.send(b"Subject: smuggle\r\n\r\n" + body + b".\r\n")
            got = c.reply()
            self.assertEqual(got[0], 554, f"{name}: {got}")
            self.assertTrue(got[1].startswith("554 5.6.0"), f"{name}: {got}")
        self.assertReply(c.cmd("NOOP"), 250)   # nothing was smuggled into the dialog
        self.assertEqual(self.world.messages, [])
        self.world.wait_for(lambda: len(self.world.aborted) == len(self.SMUGGLING))
        self.assertEqual(sorted(self.world.aborted), sorted(self.world.opened))
        self.assertEqual(self.world.asked, ["kim@example.test"] * len(self.SMUGGLING))

    def test_line_limit(self):
        c = self.client()
        self.assertReply(transaction(c, body=b"x" * 998 + b"\r\n"), 250)
        self.assertReply(transaction(c, body=b"x" * 999 + b"\r\n"), 554, "5.6.0")
        self.assertReply(transaction(c, body=b"." + b"x" * 998 + b"\r\n"), 250)  # stuffing
        self.assertReply(c.cmd("NOOP"), 250)

    def test_size_limits(self):
        c = self.client()
        c.cmd("EHLO client.example")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example> SIZE=65537"), 552, "5.3.4")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example> SIZE=65536"), 250)
        c.cmd("RSET")
        self.assertReply(transaction(c, body=(b"y" * 98 + b"\r\n") * 656), 552, "5.3.4")
        self.assertReply(transaction(c, body=(b"y" * 98 + b"\r\n") * 655), 250)

    def test_nul_in_body(self):
        c = self.client()
        self.assertReply(transaction(c, body=b"a\0b\r\n"), 554, "5.6.0")


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
