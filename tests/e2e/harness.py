"""tests/e2e/harness.py - start a real homemxd on loopback for a test, and
the waiting every e2e test shares.

Owns: the temporary instance (config, spool, store, Maildirs, log) of one
test class, and the one way the tests wait (LogWatch.wait_log,
LogWatch.wait_for, wait_until): poll for a sign - a log line, a file, a
process state - with a generous bound (WAIT seconds), never a guessed
sleep. The bound is generous because make check runs on a loaded 2-core
machine, twice (the second time under AddressSanitizer, several times
slower); a test that passes waits only as long as the sign takes.

The daemon runs exactly as in production: when the tests run as root (CI
does), homemxd creates the role users, chroots smtpd and drops
privileges, and the tests can check that. HOMEMX_BUILD selects the build
directory (build/ or build-asan/); with the sanitizer build, stop() fails if
the log holds an AddressSanitizer or UndefinedBehaviorSanitizer report.
Every role is required: a role binary that is not built fails start(), it
is never silently left out.

No DNS is used by anything started here.
"""

import collections
import contextlib
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(os.environ.get("HOMEMX_BUILD", os.path.join(REPO, "build")))
# Every role homemxd starts (supervisor/supervisor.c role_specs); submission
# only when the config has a submission or submissions listener.
ROLES = ("smtpd", "lookup", "queue", "delivery", "dkimsign", "relay", "submission", "screen")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")
WAIT = 30           # seconds: the bound of every wait for a sign
POLL = 0.02         # seconds between two looks at a sign


def wait_until(predicate, timeout=WAIT, what="condition", detail=lambda: ""):
    """Returns predicate()'s first true value, looking every POLL seconds;
    AssertionError naming `what` (and detail()) after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s\n{detail()}")
        time.sleep(POLL)


def wait_output(pipe, needle, timeout=WAIT):
    """Reads a child's output pipe (Popen(stdout/stderr=PIPE)) until needle
    (bytes) appears; returns the bytes read, which Popen.communicate() will
    not return again. Fails if the pipe closes first or after timeout."""
    got, deadline = b"", time.monotonic() + timeout
    while needle not in got:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} not written within {timeout}s; got {got!r}")
        if select.select([pipe], [], [], left)[0]:
            chunk = os.read(pipe.fileno(), 4096)
            if not chunk:
                raise AssertionError(f"pipe closed before {needle!r}; got {got!r}")
            got += chunk
    return got


def assert_no_sanitizer_reports(text, where):
    for marker in SANITIZER_MARKERS:
        if marker in text:
            raise AssertionError(f"sanitizer report in {where}:\n{text[-6000:]}")


class LogWatch:
    """log(), count() and wait_log() over the file at self.log_path; a
    subclass may define alive() so that a wait ends at once when the
    process that writes the log is gone."""

    log_path = None

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except (OSError, TypeError):
            return ""

    def count(self, needle):
        return self.log().count(needle)

    def alive(self):
        return True

    def wait_log(self, needle, n=1, timeout=WAIT, start_count=0, regex=False):
        """Waits until needle occurs start_count + n times (a plain string),
        or matches (regex=True: returns the first match)."""
        def seen():
            if not self.alive():
                raise AssertionError(f"the process died before logging {needle!r}:\n"
                                     f"{self.log()[-4000:]}")
            if regex:
                return re.search(needle, self.log())
            return self.count(needle) >= start_count + n
        return wait_until(seen, timeout, f"{n} x {needle!r} in {self.log_path}",
                          lambda: self.log()[-4000:])

    def wait_sessions_ended(self, timeout=WAIT):
        """For a log smtpd or submission writes: until every session logged
        as started (event=connect) is logged as ended (a closed client is
        still counted against max_connections_per_ip until then). Counted
        per process: the sessions of one that was killed never end."""
        def ended():
            started, done = collections.Counter(), collections.Counter()
            for m in re.finditer(r"\[(\d+)\]: event=(connect|disconnect) sess=", self.log()):
                (started if m.group(2) == "connect" else done)[m.group(1)] += 1
            dead = {pid for pid in started if not os.path.exists(f"/proc/{pid}")}
            return all(done[pid] >= n for pid, n in started.items() if pid not in dead)
        self.wait_for(ended, timeout=timeout, what="every session ended")

    @contextlib.contextmanager
    def expect_log(self, needle, timeout=WAIT):
        """with h.expect_log(line): <start something> - waits for one more
        needle than the log held before the body (the line may come fast)."""
        before = self.count(needle)
        yield
        self.wait_log(needle, timeout=timeout, start_count=before)

    def wait_for(self, predicate, timeout=WAIT, what="condition", detail=lambda: ""):
        return wait_until(predicate, timeout, what, lambda: f"{detail()}\n{self.log()[-3000:]}")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mxctl(conf_path, *args, input=None, check=True):
    """build/mxctl -f conf_path args...; fails the test on a non-zero exit
    unless check=False."""
    p = subprocess.run([os.path.join(BUILD, "mxctl"), "-f", conf_path, *args],
                       input=input, capture_output=True, text=True, timeout=WAIT * 2)
    if check and p.returncode != 0:
        raise AssertionError(f"mxctl {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    return p


def dkim_show_records(text):
    """`mxctl dkim show` lines 'NAME. IN TXT "a" "b"' -> {NAME without the
    final dot: "ab"} (RFC 6376 3.6.2.2: the strings of a TXT record join)."""
    out = {}
    for line in text.splitlines():
        m = re.match(r'^(\S+)\.\s+IN\s+TXT\s+((?:"[^"]*"\s*)+)$', line)
        if m:
            out[m.group(1)] = "".join(re.findall(r'"([^"]*)"', m.group(2)))
    return out


def maildir_messages(new_dir):
    """[(file name, bytes)] of the messages in a Maildir's new/, by name."""
    try:
        names = sorted(os.listdir(new_dir))
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        with open(os.path.join(new_dir, name), "rb") as f:
            out.append((name, f.read()))
    return out


def process_gone(pid):
    """True once pid has exited (a zombie counts: it runs no more)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2:].startswith("Z")


def children_of(pid):
    """PIDs whose parent is pid, with their comm."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == pid:
            out[int(entry)] = comm
    return out


class Homemx(LogWatch):
    def __init__(self, extra_conf="", users=(("kim@example.test", "secret"),),
                 aliases=(), domains=("example.test",), greeting_delay="0s",
                 workdir=None, dns_server="127.0.0.1:9", absent_roles=()):
        self.extra_conf = extra_conf
        self.users = list(users)
        self.aliases = list(aliases)
        self.domains = list(domains)
        self.greeting_delay = greeting_delay
        # Never the system resolver: a test that needs DNS passes its own
        # server; the default (discard port) refuses every query.
        self.dns_server = dns_server
        # Roles a test removed from the build on purpose (to see the others
        # cope); any other missing role binary fails start().
        self.absent_roles = tuple(absent_roles)
        self.dir = workdir
        self.proc = None
        self.smtp_port = None
        self._logf = None

    # -- lifecycle -------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def write_config(self):
        conf = [
            "hostname mx.example.test",
            f"listen smtp 127.0.0.1:{self.smtp_port}",
        ]
        conf += [f"domain {d}" for d in self.domains]
        conf += [
            f"spool_dir {self.dir}/spool",
            f"store_dir {self.dir}/store",
            f"maildir_root {self.dir}/maildirs",
            f"chroot_dir {self.dir}/empty",
            f"dkim_key_dir {self.dir}/dkim",
            f"screen_dir {self.dir}/screen",
            f"relay_state_dir {self.dir}/relay",
            f"dns_server {self.dns_server}",
            f"greeting_delay {self.greeting_delay}",
        ]
        with open(self.conf_path, "w") as f:
            f.write("\n".join(conf) + "\n" + self.extra_conf.strip() + "\n")

    def start(self, provision=True):
        self.assert_built()
        first = self.dir is None
        if first:
            self.dir = tempfile.mkdtemp(prefix="hmx-e2e-")
            os.chmod(self.dir, 0o755)   # role users must traverse it
            self.smtp_port = free_port()
        self.conf_path = os.path.join(self.dir, "homemx.conf")
        self.log_path = os.path.join(self.dir, "homemx.log")
        if self.smtp_port is None:
            self.smtp_port = free_port()
        self.write_config()
        self._logf = open(self.log_path, "ab")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "homemxd"), "-f", self.conf_path],
            stdin=subprocess.DEVNULL, stdout=self._logf, stderr=self._logf,
            start_new_session=True, env=env)
        try:
            self.wait_ready()
            if first and provision:
                self.provision()
        except BaseException:
            self.stop(check_sanitizers=False)
            raise

    def provision(self):
        for user, password in self.users:
            self.mxctl("user", "add", user, input=password + "\n")
        for alias, targets in self.aliases:
            self.mxctl("alias", "add", alias, targets)

    def roles(self):
        """The roles homemxd starts for this config."""
        wanted = "listen submission" in self.extra_conf     # also "submissions"
        return [r for r in ROLES if (r != "submission" or wanted) and r not in self.absent_roles]

    def assert_built(self):
        missing = [b for b in ["homemxd", "mxctl"] + [f"homemx-{r}" for r in self.roles()]
                   if not os.access(os.path.join(BUILD, b), os.X_OK)]
        if missing:
            raise AssertionError(f"not built in {BUILD}: {', '.join(missing)} (make all)")

    def wait_ready(self, timeout=WAIT):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"homemxd exited with {self.proc.returncode}:\n{self.log()}")
            if set(self.roles()) <= set(self.role_pids()):
                try:
                    with socket.create_connection(("127.0.0.1", self.smtp_port), timeout=2) as s:
                        s.settimeout(5)
                        banner = s.recv(512)
                        if banner.startswith(b"220"):
                            s.sendall(b"QUIT\r\n")
                            return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"homemxd not ready after {timeout}s:\n{self.log()}")

    def stop(self, check_sanitizers=True):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill_all()
        self.proc = None
        self._logf.close()
        if check_sanitizers:
            self.assert_no_sanitizer_reports()

    def kill_all(self):
        """kill -9 the supervisor and every role, as a power cut would."""
        if self.proc is None:
            return
        pids = list(self.role_pids().values())
        for pid in [self.proc.pid] + pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        for pid in pids:   # roles are reparented; wait until they are gone
            wait_until(lambda pid=pid: process_gone(pid), what=f"killed role {pid} gone")
        self.proc = None
        self._logf.close()

    def cleanup(self):
        if self.dir and not os.environ.get("HOMEMX_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def assert_no_sanitizer_reports(self):
        assert_no_sanitizer_reports(self.log(), self.log_path)

    # -- inspection ------------------------------------------------------
    def alive(self):
        return self.proc is None or self.proc.poll() is None

    def role_pids(self):
        if self.proc is None:
            return {}
        out = {}
        for pid, comm in children_of(self.proc.pid).items():
            # comm is cut at 15 bytes ("homemx-submissi"): use argv[0]
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    name = os.path.basename(f.read().split(b"\0")[0].decode())
            except OSError:
                name = comm
            if name.startswith("homemx-"):
                out[name[len("homemx-"):]] = pid
        return out

    def maildir(self, address):
        user, domain = address.lower().split("@")
        return os.path.join(self.dir, "maildirs", domain, user)

    def messages(self, address):
        return [data for _, data in maildir_messages(os.path.join(self.maildir(address), "new"))]

    def wait_messages(self, address, n, timeout=WAIT):
        """The messages in address's Maildir new/, once there are n or more."""
        def enough():
            msgs = self.messages(address)
            return (msgs,) if len(msgs) >= n else None
        return wait_until(enough, timeout, f"{n} messages for {address}",
                          lambda: f"got {len(self.messages(address))}\n{self.log()[-4000:]}")[0]

    def mxctl(self, *args, input=None, check=True):
        return mxctl(self.conf_path, *args, input=input, check=check)

    def wait_queue_empty(self, timeout=WAIT):
        """Until no envelope is left in the spool: every message the daemon
        accepted has been delivered, bounced or dropped by then."""
        self.wait_for(lambda: not [f for f in self.spool_files() if f.endswith(".env")],
                      timeout, "empty queue", lambda: f"spool: {self.spool_files()}")

    def spool_files(self):
        out = []
        for root, _, files in os.walk(os.path.join(self.dir, "spool")):
            out += [os.path.join(root, f) for f in files]
        return out


class SMTPClient:
    """A raw line-level SMTP client for hostile dialogs."""

    def __init__(self, port, host="127.0.0.1", timeout=WAIT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def reply(self):
        """One complete (possibly multi-line) reply as (code, text)."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError(f"connection closed; got so far: {lines!r} {self.buf!r}")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode("latin-1"))
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3]), "\n".join(lines)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def closed(self, timeout=WAIT):
        """True if the server closes the connection within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()
