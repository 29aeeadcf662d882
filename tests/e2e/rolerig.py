"""tests/e2e/rolerig.py - one real role binary, the test as everything
around it.

Owns: the test side of the IPC contract, written once for every e2e file
that drives a single role (test_queue_roles, test_dsn, test_relay,
test_dkim, smtpd_rig):
  - the frame codec of lib/ipc.h: a 16-byte header (u32 type, u32 payload
    length, u64 request id, big-endian), strings as u16 length + bytes, a
    file descriptor in the same sendmsg() as its frame (Link, s, Cursor);
  - the numbers: message types in the order of the X() rows of
    lib/ipc_msgs.h (MSG_NONE is 0), roles from enum role in lib/ipc.h, the
    status enums from lib/ipc_decode.h - read from the headers, so a new row
    or value can not silently shift them;
  - the fake supervisor: Role starts a role binary with the exec contract
    of lib/role.h (fd 3 control link, fd 4 config memfd, fd 5.. listening
    sockets with -n COUNT) and hands it links with MSG_SUP_LINK;
  - RoleRig, the base of a rig: a temporary directory, one log file that
    every role of the rig writes, the roles it started, and the checks at
    the end (every role exits on SIGTERM, no sanitizer report).
Why a fake supervisor: the failure paths of a role (a peer that lies,
dies, never answers, or comes back) are driven here exactly and
deterministically; the full daemon (harness.Homemx) covers the same ground
with real peers.
"""
import collections
import fcntl
import os
import re
import select
import shutil
import signal
import socket
import struct
import tempfile
import time

from harness import BUILD, REPO, WAIT, LogWatch, assert_no_sanitizer_reports

HEADER = struct.Struct(">IIQ")          # lib/ipc.h: type, payload length, request id
MAX_FRAME = 70000                       # above the largest payload of lib/ipc_msgs.h
MAX_FDS = 4


# ---- numbers from the headers ------------------------------------------------

def _read(path):
    with open(os.path.join(REPO, path)) as f:
        return re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)


def message_types():
    """MSG_* -> number, in the order of the X() rows of lib/ipc_msgs.h."""
    names = re.findall(r"^X\((MSG_\w+),", _read("lib/ipc_msgs.h"), re.M)
    return {n: i + 1 for i, n in enumerate(names)}


def c_enum(path, name):
    """{member: value} of `enum name { ... }` in a header of the repo."""
    body = re.search(r"enum\s+%s\s*\{(.*?)\}" % name, _read(path), re.S).group(1)
    out, value = {}, -1
    for member in filter(None, (m.strip() for m in body.split(","))):
        key, _, expr = (x.strip() for x in member.partition("="))
        value = (out[expr] if expr in out else int(expr, 0)) if expr else value + 1
        out[key] = value
    return out


MSG = message_types()
MSG_NAME = {v: k for k, v in MSG.items()}
def role_numbers():
    """role name -> number, in the order of the ROLE_ROW() rows of lib/ipc.h."""
    names = re.findall(r"ROLE_ROW\(([A-Z]\w*),\s*\"", _read("lib/ipc.h"))
    return {n.lower(): i for i, n in enumerate(names)}


ROLE = role_numbers()
_STATUS = {}
for _enum in ("resolve_verdict", "queue_status", "delivery_result", "auth_result",
              "sender_result", "sign_status", "msg_source"):
    _STATUS.update(c_enum("lib/ipc_decode.h", _enum))
for _enum in ("screen_stage", "screen_action", "screen_reply"):
    _STATUS.update(c_enum("lib/screen_facts.h", _enum))
# Module constants named as in C: RESOLVE_LOCAL.., QUEUE_OK.., DELIVERY_OK..,
# AUTH_OK.., SENDER_OWNED.., SIGN_OK.., SOURCE_SMTP.., SCREEN_STAGE_RCPT..,
# SCREEN_ACCEPT.., SCREEN_REPLY_OK..
globals().update(_STATUS)


# ---- frames ------------------------------------------------------------------

def s(text):
    """A wire string: u16 length + bytes (no NUL)."""
    b = text.encode() if isinstance(text, str) else text
    return struct.pack(">H", len(b)) + b


class Cursor:
    """Reads a payload front to back; every read is bounds-checked."""

    def __init__(self, data, off=0):
        self.data, self.off = data, off

    def take(self, n):
        if self.off + n > len(self.data):
            raise AssertionError(f"frame too short: {n} bytes at {self.off} of {len(self.data)}")
        self.off += n
        return self.data[self.off - n:self.off]

    def u8(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def str(self, encoding="utf-8"):
        return self.take(self.u16()).decode(encoding)

    def end(self):
        assert self.off == len(self.data), "trailing bytes in frame"


def commit_payload(msgid, sender, helo, client_ip, source, rcpts, prepend="", strip=(),
                   smtputf8=False):
    """MSG_SMTPD_MSG_COMMIT as lib/ipc_decode.c reads it: the envelope, the
    recipients, the header block to put first and the byte ranges to leave
    out (both only from port 25's screen), and the SMTPUTF8 flag."""
    p = s(msgid) + s(sender) + s(helo) + s(client_ip) + bytes([source])
    p += struct.pack(">H", len(rcpts)) + b"".join(s(r) for r in rcpts)
    p += s(prepend) + struct.pack(">H", len(strip))
    p += b"".join(struct.pack(">II", off, n) for off, n in strip)
    return p + bytes([1 if smtputf8 else 0])


def parse_str(p, off):
    """(string at off, offset after it)."""
    c = Cursor(p, off)
    return c.str(), c.off


Frame = collections.namedtuple("Frame", "name req payload fd")


class Link:
    """One end of a SOCK_SEQPACKET pair, speaking homemx frames."""

    def __init__(self, sock):
        self.sock = sock

    def fileno(self):
        return self.sock.fileno()

    def send(self, mtype, payload=b"", req=0, fd=None):
        """mtype: a MSG_* name (or a raw number, to send what no row allows)."""
        number = MSG[mtype] if isinstance(mtype, str) else mtype
        data = HEADER.pack(number, len(payload), req) + payload
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", fd))] if fd is not None else []
        self.sock.sendmsg([data], anc)

    def recv(self, timeout=WAIT):
        """Frame(name, req, payload, fd or None); None at EOF. A type not in
        lib/ipc_msgs.h comes as its number. socket.timeout after timeout s."""
        self.sock.settimeout(timeout)
        data, anc, _, _ = self.sock.recvmsg(MAX_FRAME, socket.CMSG_SPACE(MAX_FDS * 4))
        fds = []
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds += struct.unpack(f"{len(cdata) // 4}i", cdata[:len(cdata) // 4 * 4])
        for extra in fds[1:]:
            os.close(extra)
        if not data:
            return None
        mtype, length, req = HEADER.unpack(data[:HEADER.size])
        assert length == len(data) - HEADER.size, f"frame length {length} != {len(data)} - 16"
        return Frame(MSG_NAME.get(mtype, mtype), req, data[HEADER.size:], fds[0] if fds else None)

    def is_closed(self, timeout=WAIT):
        """True once the peer closed the link; False if a frame came first
        or nothing happened within timeout."""
        try:
            got = self.recv(timeout)
        except (socket.timeout, ConnectionResetError):
            return False
        if got is not None and got.fd is not None:
            os.close(got.fd)
        return got is None

    def close(self):
        self.sock.close()


def pair():
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)


def dup_high(fd):
    """A copy above the contract's fds, so that dup2 onto 3, 4, 5.. never
    overwrites a source that is still to be placed."""
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)


# ---- the fake supervisor -----------------------------------------------------

class Role:
    """One role process started the way homemxd starts it (lib/role.h).

    args go after "-D" (e.g. -u USER -r DIR); listen: sockets placed on
    fd 5.. (with -n COUNT). Spawned by the calling thread: inside
    netns.in_netns() it runs in that namespace. The process API follows
    subprocess.Popen: pid, poll(), wait(), send_signal(), returncode."""

    def __init__(self, name, config_text, log, args=(), listen=(), detect_leaks=False):
        self.name = name
        self.returncode = None
        ctl_parent, ctl_child = pair()
        cfg = os.memfd_create("homemx.conf")
        os.write(cfg, config_text.encode())
        high = [dup_high(fd) for fd in [log.fileno(), ctl_child.fileno(), cfg] +
                [sock.fileno() for sock in listen]]
        os.close(cfg)
        ctl_child.close()
        actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_DUP2, high[0], 1), (os.POSIX_SPAWN_DUP2, high[0], 2)]
        actions += [(os.POSIX_SPAWN_DUP2, fd, 3 + i) for i, fd in enumerate(high[1:])]
        argv = ["homemx-" + name, "-D", *args]
        if listen:
            argv += ["-n", str(len(listen))]
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", f"detect_leaks={int(detect_leaks)}:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        try:
            self.pid = os.posix_spawn(os.path.join(BUILD, "homemx-" + name), argv, env,
                                      file_actions=actions)
        finally:
            for fd in high:
                os.close(fd)
        self.control = Link(ctl_parent)

    # -- links ---------------------------------------------------------------
    def give_link(self, peer, sock):
        """MSG_SUP_LINK: sock (one end of a pair) is the role's link to peer."""
        self.control.send("MSG_SUP_LINK", bytes([ROLE[peer]]), fd=sock.fileno())
        sock.close()

    def new_link(self, peer):
        """A fresh link to peer, as after a restart of peer; the test's end."""
        ours, theirs = pair()
        self.give_link(peer, theirs)
        return Link(ours)

    def reload(self, config_text):
        self.control.send("MSG_SUP_RELOAD", s(config_text))

    # -- the process -------------------------------------------------------------
    def poll(self):
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, sig):
        if self.returncode is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout=WAIT):
        """The exit code; after timeout s the role is killed and the test fails."""
        if self.poll() is not None:
            return self.returncode
        pidfd = os.pidfd_open(self.pid)
        try:
            deadline = time.monotonic() + timeout
            while self.poll() is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
                    self.returncode = -signal.SIGKILL
                    raise AssertionError(f"{self.name} did not exit within {timeout}s")
                select.select([pidfd], [], [], left)    # readable once it exited
        finally:
            os.close(pidfd)
        return self.returncode

    def kill(self, sig=signal.SIGKILL):
        """Sends sig and waits for the exit; returns the exit code."""
        self.send_signal(sig)
        return self.wait()


class RoleRig(LogWatch):
    """A temporary directory with one log file for the roles of a rig.

    Subclasses start roles with start_role() and name the links they hold
    in links(): stop() ends the roles first, then closes those links."""

    def __init__(self, prefix, log_name="roles.log", world_readable=False):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        if world_readable:
            os.chmod(self.dir, 0o755)       # a role dropped to another user traverses it
        self.log_path = os.path.join(self.dir, log_name)
        self.logf = open(self.log_path, "ab")
        self.roles = []

    def config(self, *extra, domains=("example.test",), listen="127.0.0.1:1",
               spool=None, maildirs=None, chroot=None):
        """The config lines every role needs, then extra lines. listen: the
        smtp listener config wants (nothing listens on 127.0.0.1:1)."""
        lines = ["hostname mx.example.test", f"listen smtp {listen}",
                 *[f"domain {d}" for d in domains],
                 f"spool_dir {spool or os.path.join(self.dir, 'spool')}",
                 f"store_dir {self.dir}/store",
                 f"maildir_root {maildirs or os.path.join(self.dir, 'maildirs')}",
                 f"chroot_dir {chroot or os.path.join(self.dir, 'empty')}",
                 f"screen_dir {self.dir}/screen",
                 f"relay_state_dir {self.dir}/relay"]
        return "\n".join(lines + list(extra))

    def start_role(self, name, config_text, **kw):
        role = Role(name, config_text, self.logf, **kw)
        self.roles.append(role)
        return role

    def link_roles(self, a, b):
        """A link between two real roles, as homemxd makes one."""
        for_a, for_b = pair()
        a.give_link(b.name, for_a)
        b.give_link(a.name, for_b)

    def stop_roles(self):
        """SIGTERM to every role still running; each must exit (lib/role.h:
        SIGTERM asks a role to drain). One that does not is killed and
        fails the test, after the others were stopped too."""
        stuck = []
        for role in reversed(self.roles):
            try:
                if role.poll() is None:
                    role.kill(signal.SIGTERM)
            except AssertionError as e:
                stuck.append(str(e))
            role.control.close()
        if stuck:
            raise AssertionError("; ".join(stuck))

    def links(self):
        return ()

    def stop(self):
        try:
            self.stop_roles()
            for link in self.links():
                if link is not None:
                    link.close()
        finally:
            self.logf.close()
        assert_no_sanitizer_reports(self.log(), self.log_path)

    def cleanup(self):
        if not os.environ.get("HOMEMX_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
