"""tests/e2e/smtp_receiver.py - a scriptable SMTP server playing a remote MX
(or smarthost) inside a test namespace.

Owns: what a "remote" server says and what it saw. Each SmtpReceiver
listens on a Host's IPv4 and IPv6 addresses (netns.Host), one thread per
connection, and records for every connection the peer's address family
and address, the transcript, TLS use, HELO, AUTH user and the messages
(envelope + exact DATA bytes, dot-stuffing undone). The replies follow
RFC 5321 unless a rule says otherwise:

    rx.rule("MAIL", "550 5.7.1 IPv6 not welcome", family=socket.AF_INET6)
    rx.rule("RCPT", "451 4.7.1 greylisted", times=1)        # first time only
    rx.rule("RCPT", "550 5.1.1 no such user", match="nobody@")
    rx.rule("GREETING", "421 4.3.2 busy")
    rx.rule("DATA_END", "554 5.7.1 spam", family=socket.AF_INET6)
Stages: GREETING, EHLO, HELO, STARTTLS, AUTH, MAIL, RCPT, DATA, DATA_END,
RSET, NOOP, QUIT. The first matching rule with uses left wins.

    rx.down()      # stop listening: connections are refused
    rx.up()
    rx.data_delay = 0.5      # hold each message this long (concurrency tests)
    rx.tls = (certfile, keyfile)   # offer STARTTLS (before start())
    rx.starttls_broken = True      # answer 220 to STARTTLS, then no TLS
    rx.auth_users = {"user": "password"}   # offer AUTH PLAIN after TLS

Counters: rx.connections (list of Conn), rx.messages(), rx.max_concurrent,
rx.wait_messages(n), rx.families() (one per connection, in order).
"""

import base64
import socket
import ssl
import threading
import time

from harness import WAIT
from netns import in_netns

STAGES = ("GREETING", "EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA",
          "DATA_END", "RSET", "NOOP", "QUIT")
LINE_MAX = 4096


class Message:
    def __init__(self, mail_from, rcpts, data, conn):
        self.mail_from = mail_from
        self.rcpts = list(rcpts)
        self.data = data            # bytes, CRLF lines, without the final "."
        self.family = conn.family
        self.tls = conn.tls
        self.conn = conn

    def __repr__(self):
        return f"Message(from={self.mail_from} to={self.rcpts} {len(self.data)} bytes)"


class Conn:
    """What one connection did."""

    def __init__(self, family, peer):
        self.family = family
        self.peer = peer
        self.transcript = []        # ("<", line) from client, (">", line) ours
        self.tls = False
        self.helo = None
        self.auth_user = None
        self.messages = []
        self.closed = False
        self.mail_params = []
        self.sock = None

    def commands(self):
        return [line for d, line in self.transcript if d == "<"]


class _Rule:
    def __init__(self, stage, reply, family, times, match):
        self.stage = stage
        self.reply = reply
        self.family = family
        self.times = times
        self.match = match


class SmtpReceiver:
    def __init__(self, host, name=None, port=25, families=(socket.AF_INET, socket.AF_INET6)):
        self.host = host
        self.name = name or f"{host.label}.test"
        self.port = port
        self.listen_families = families
        self.tls = None
        self.starttls_broken = False
        self.auth_users = {}
        self.extensions = ["PIPELINING", "8BITMIME", "SIZE 52428800", "ENHANCEDSTATUSCODES"]
        self.data_delay = 0.0
        self.connections = []
        self.max_concurrent = 0
        self.current = 0
        self._rules = []
        self._lock = threading.Lock()
        self._listeners = []
        self._threads = []
        self._stopping = False
        self._changed = threading.Condition(self._lock)

    # -- control ---------------------------------------------------------
    def rule(self, stage, reply, family=None, times=None, match=None):
        if stage not in STAGES:
            raise ValueError(stage)
        with self._lock:
            self._rules.append(_Rule(stage, reply, family, times, match))
        return self

    def clear_rules(self):
        with self._lock:
            self._rules = []

    def reset(self):
        """Forget rules and recordings (between tests sharing a receiver).
        Open connections are cut first: a session a client kept open from
        an earlier test would otherwise deliver into a forgotten record."""
        self._cut_connections()
        with self._lock:
            self._rules = []
            self.connections = []
            self.max_concurrent = 0
            self.data_delay = 0.0
            self.starttls_broken = False

    def start(self):
        self._stopping = False
        self.up()
        return self

    def up(self):
        if self._listeners:
            return
        for family, ip in self.host.addresses():
            if family not in self.listen_families:
                continue
            with in_netns(self.host.ns):
                s = socket.socket(family, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((ip, self.port))
            s.listen(64)
            s.settimeout(0.2)
            self._listeners.append(s)
            t = threading.Thread(target=self._accept_loop, args=(s, family), daemon=True)
            t.start()
            self._threads.append(t)

    def down(self):
        """The server goes away: open connections are cut and new ones
        are refused (RST)."""
        ls, self._listeners = self._listeners, []
        ts, self._threads = self._threads, []
        for s in ls:
            s.close()
        self._cut_connections()
        # The accept loops see a closed listener only when their 0.2 s
        # accept timeout runs out: wait until they ended, so that a fresh
        # up() never races one.
        for t in ts:
            t.join(WAIT)
            if t.is_alive():
                raise AssertionError(f"{self.name}: accept loop did not end")

    def _cut_connections(self, timeout=WAIT):
        with self._lock:
            socks = [c.sock for c in self.connections if not c.closed and c.sock is not None]
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.time() + timeout
        with self._lock:
            while self.current > 0:
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError(f"{self.name}: {self.current} sessions still open "
                                         f"{timeout}s after they were cut")
                self._changed.wait(left)

    def stop(self):
        self._stopping = True
        self.down()

    # -- inspection --------------------------------------------------------
    def messages(self):
        with self._lock:
            return [m for c in self.connections for m in c.messages]

    def families(self):
        with self._lock:
            return [c.family for c in self.connections]

    def wait_messages(self, n, timeout=WAIT):
        deadline = time.time() + timeout
        with self._lock:
            while True:
                msgs = [m for c in self.connections for m in c.messages]
                if len(msgs) >= n:
                    return msgs
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError(f"{self.name}: {len(msgs)} of {n} messages after "
                                         f"{timeout}s; connections: {self.describe()}")
                self._changed.wait(left)

    def wait_connections(self, n, timeout=WAIT):
        deadline = time.time() + timeout
        with self._lock:
            while len(self.connections) < n:
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError(f"{self.name}: {len(self.connections)} of {n} connections")
                self._changed.wait(left)
            return list(self.connections)

    def describe(self):
        out = []
        for c in self.connections:
            fam = "ipv4" if c.family == socket.AF_INET else "ipv6"
            out.append(f"[{fam} {c.peer} tls={c.tls} {c.transcript}]")
        return "\n".join(out)

    # -- serving -----------------------------------------------------------
    def _accept_loop(self, s, family):
        while not self._stopping:
            try:
                sock, peer = s.accept()
            except socket.timeout:
                continue
            except OSError:
                return      # listener closed (down/stop)
            conn = Conn(family, peer[0])
            conn.sock = sock
            with self._lock:
                self.connections.append(conn)
                self.current += 1
                self.max_concurrent = max(self.max_concurrent, self.current)
                self._changed.notify_all()
            t = threading.Thread(target=self._serve, args=(sock, conn), daemon=True)
            t.start()

    def _pick(self, stage, conn, arg=""):
        with self._lock:
            for r in self._rules:
                if r.stage != stage or (r.family is not None and r.family != conn.family):
                    continue
                if r.match is not None and r.match not in arg:
                    continue
                if r.times is not None:
                    if r.times <= 0:
                        continue
                    r.times -= 1
                return r.reply
        return None

    def _serve(self, sock, conn):
        session = _Session(self, sock, conn)
        try:
            session.run()
        except (OSError, ssl.SSLError, EOFError, ValueError):
            pass
        finally:
            for s in {id(sock): sock, id(session.sock): session.sock}.values():
                try:
                    s.close()
                except OSError:
                    pass
            with self._lock:
                conn.closed = True
                self.current -= 1
                self._changed.notify_all()


class _Session:
    """One server-side SMTP dialogue."""

    def __init__(self, rx, sock, conn):
        self.rx = rx
        self.sock = sock
        self.conn = conn
        self.buf = b""
        self.sock.settimeout(30)
        self.mail_from = None
        self.rcpts = []
        self.refused_greeting = False

    # -- io ----------------------------------------------------------------
    def send(self, text):
        for line in text.split("\n"):
            self.conn.transcript.append((">", line))
        self.sock.sendall(text.replace("\n", "\r\n").encode() + b"\r\n")

    def readline(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
            if len(self.buf) > 1 << 20:
                raise ValueError("line too long")
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def reply(self, stage, default, arg=""):
        r = self.rx._pick(stage, self.conn, arg)
        self.send(r if r is not None else default)
        return r if r is not None else default

    # -- dialogue ------------------------------------------------------------
    def run(self):
        g = self.reply("GREETING", f"220 {self.rx.name} ESMTP test receiver")
        self.refused_greeting = not g.startswith("2")
        if g.startswith("421"):
            return
        while True:
            raw = self.readline()
            line = raw.decode("latin-1")
            self.conn.transcript.append(("<", line if not line.upper().startswith("AUTH") else "AUTH ..."))
            verb = line.split(" ", 1)[0].upper()
            arg = line[len(verb):].strip()
            if self.refused_greeting and verb != "QUIT":
                self.send("503 5.5.1 no service")
                continue
            if not self.command(verb, arg):
                return

    def ehlo_lines(self):
        ext = list(self.rx.extensions)
        if self.rx.tls and not self.conn.tls:
            ext.append("STARTTLS")
        if self.rx.auth_users and self.conn.tls:
            ext.append("AUTH PLAIN LOGIN")
        lines = [self.rx.name] + ext
        return "\n".join(f"250-{x}" for x in lines[:-1]) + f"\n250 {lines[-1]}"

    def command(self, verb, arg):
        """Handles one command; False ends the session."""
        if verb == "EHLO":
            self.conn.helo = arg
            self.reply("EHLO", self.ehlo_lines(), arg)
        elif verb == "HELO":
            self.conn.helo = arg
            self.reply("HELO", f"250 {self.rx.name}", arg)
        elif verb == "STARTTLS":
            return self.starttls()
        elif verb == "AUTH":
            self.auth(arg)
        elif verb == "MAIL":
            r = self.reply("MAIL", "250 2.1.0 Ok", arg)
            if r.startswith("2"):
                self.mail_from = arg.split(":", 1)[1].split(">")[0].lstrip("<") if ":" in arg else ""
                self.conn.mail_params.append(arg)
                self.rcpts = []
        elif verb == "RCPT":
            if self.mail_from is None:
                self.send("503 5.5.1 need MAIL")
                return True
            r = self.reply("RCPT", "250 2.1.5 Ok", arg)
            if r.startswith("2"):
                self.rcpts.append(arg.split(":", 1)[1].split(">")[0].lstrip("<"))
        elif verb == "DATA":
            return self.data()
        elif verb == "RSET":
            self.mail_from, self.rcpts = None, []
            self.reply("RSET", "250 2.0.0 Ok")
        elif verb == "NOOP":
            self.reply("NOOP", "250 2.0.0 Ok")
        elif verb == "QUIT":
            self.reply("QUIT", "221 2.0.0 Bye")
            return False
        else:
            self.send("502 5.5.2 unknown command")
        return True

    def starttls(self):
        if not self.rx.tls or self.conn.tls:
            self.send("502 5.5.1 no TLS here")
            return True
        r = self.reply("STARTTLS", "220 2.0.0 Ready to start TLS")
        if not r.startswith("220"):
            return True
        if self.buf:
            raise ValueError("plaintext after STARTTLS")
        if self.rx.starttls_broken:
            self.sock.recv(4096)        # the ClientHello, then nonsense
            self.sock.sendall(b"this is not a TLS server hello\r\n")
            raise EOFError("broken TLS on purpose")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*self.rx.tls)
        self.sock = ctx.wrap_socket(self.sock, server_side=True)
        self.conn.tls = True
        self.mail_from, self.rcpts = None, []
        return True

    def auth(self, arg):
        parts = arg.split()
        if not self.rx.auth_users or not self.conn.tls:
            self.send("503 5.5.1 AUTH not available")
            return
        if len(parts) < 2 or parts[0].upper() != "PLAIN":
            self.send("504 5.5.4 PLAIN only")
            return
        try:
            _, user, password = base64.b64decode(parts[1]).decode().split("\0")
        except (ValueError, UnicodeDecodeError):
            self.send("501 5.5.2 bad AUTH")
            return
        forced = self.rx._pick("AUTH", self.conn, user)
        if forced is not None:
            self.send(forced)
            return
        if self.rx.auth_users.get(user) == password:
            self.conn.auth_user = user
            self.send("235 2.7.0 Authentication successful")
        else:
            self.send("535 5.7.8 Authentication credentials invalid")

    def data(self):
        if self.mail_from is None or not self.rcpts:
            self.reply("DATA", "503 5.5.1 need RCPT")
            return True
        r = self.reply("DATA", "354 End data with <CR><LF>.<CR><LF>")
        if not r.startswith("354"):
            return True
        body = bytearray()
        while True:
            line = self._read_data_line()
            if line == b".\r\n":
                break
            if line.startswith(b"."):
                line = line[1:]
            body += line
        if self.rx.data_delay:
            time.sleep(self.rx.data_delay)
        r = self.rx._pick("DATA_END", self.conn, self.mail_from)
        r = r if r is not None else "250 2.0.0 Ok: queued"
        if r.startswith("2"):
            # Recorded before the reply: whoever hears "250" finds it here.
            with self.rx._lock:
                self.conn.messages.append(Message(self.mail_from, self.rcpts, bytes(body), self.conn))
                self.rx._changed.notify_all()
        self.send(r)
        self.mail_from, self.rcpts = None, []
        return True

    def _read_data_line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"
