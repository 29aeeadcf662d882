"""tests/e2e/smtpd_rig.py - the real homemx-smtpd binary, alone, with a
fake of everything around it (FakeWorld) for test_smtpd_standalone*.py.

This process plays homemxd (the control link on fd 3, the config memfd on
fd 4, the listening socket on fd 5, MSG_SUP_LINK frames) and both of
smtpd's peers, lookup and queue, speaking the real frame format (message
numbers are read from lib/ipc_msgs.h). Why: the failure paths of inbound
SMTP that real roles rarely produce on demand -- lookup down, queue
answering NOSPACE, a spool fd on a full disk, a link that dies while a
commit is pending, a client that vanishes before the spool file arrives --
are driven exactly and deterministically. tests/e2e/test_smtpd.py covers
the same ground against the full daemon.
"""

import os
import select
import socket
import struct
import subprocess
import threading
import unittest

from harness import BUILD, WAIT, SMTPClient, assert_no_sanitizer_reports
import rolerig
from rolerig import (QUEUE_OK, QUEUE_REJECT, RESOLVE_LOCAL, RESOLVE_NOT_LOCAL,
                     RESOLVE_UNKNOWN_USER, Cursor, RoleRig, s)


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
