"""tests/e2e/harness.py - start a real homemxd on loopback for a test.

Owns: the temporary instance (config, spool, store, Maildirs, log) of one
test class. The daemon runs exactly as in production: when the tests run as
root (CI does), homemxd creates the role users, chroots smtpd and drops
privileges, and the tests can check that. HOMEMX_BUILD selects the build
directory (build/ or build-asan/); with the sanitizer build, stop() fails if
the log holds an AddressSanitizer or UndefinedBehaviorSanitizer report.

No DNS is used by anything started here.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(os.environ.get("HOMEMX_BUILD", os.path.join(REPO, "build")))
ROLES = ("smtpd", "lookup", "queue", "delivery")   # always started
# started when built (issue 4 roles); submission only with a submission listener
OPTIONAL_ROLES = ("dkimsign", "relay", "submission")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class Homemx:
    def __init__(self, extra_conf="", users=(("kim@example.test", "secret"),),
                 aliases=(), domains=("example.test",), greeting_delay="0s",
                 workdir=None, dns_server="127.0.0.1:9"):
        self.extra_conf = extra_conf
        self.users = list(users)
        self.aliases = list(aliases)
        self.domains = list(domains)
        self.greeting_delay = greeting_delay
        # Never the system resolver: a test that needs DNS passes its own
        # server; the default (discard port) refuses every query.
        self.dns_server = dns_server
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
            f"dns_server {self.dns_server}",
            f"greeting_delay {self.greeting_delay}",
        ]
        with open(self.conf_path, "w") as f:
            f.write("\n".join(conf) + "\n" + self.extra_conf.strip() + "\n")

    def start(self, provision=True):
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

    def wait_ready(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"homemxd exited with {self.proc.returncode}:\n{self.log()}")
            pids = self.role_pids()
            if set(ROLES) <= set(pids) and self.optional_roles_up(pids):
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

    def optional_roles_up(self, pids):
        for role in OPTIONAL_ROLES:
            binary = os.path.join(BUILD, f"homemx-{role}")
            if role == "submission" and "listen submission" not in self.extra_conf:
                continue
            if os.path.exists(binary) and role not in pids:
                return False
        return True

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
            for _ in range(200):
                if not os.path.exists(f"/proc/{pid}"):
                    break
                time.sleep(0.01)
        self.proc = None
        self._logf.close()

    def cleanup(self):
        if self.dir and not os.environ.get("HOMEMX_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def assert_no_sanitizer_reports(self):
        text = self.log()
        for marker in SANITIZER_MARKERS:
            if marker in text:
                raise AssertionError(f"sanitizer report in {self.log_path}:\n{text[-6000:]}")

    # -- inspection ------------------------------------------------------
    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

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
        new = os.path.join(self.maildir(address), "new")
        try:
            names = sorted(os.listdir(new))
        except FileNotFoundError:
            return []
        out = []
        for n in names:
            with open(os.path.join(new, n), "rb") as f:
                out.append(f.read())
        return out

    def wait_messages(self, address, n, timeout=10):
        deadline = time.time() + timeout
        while True:
            msgs = self.messages(address)
            if len(msgs) >= n or time.time() > deadline:
                if len(msgs) < n:
                    raise AssertionError(
                        f"{address}: {len(msgs)} of {n} messages after {timeout}s\n{self.log()[-4000:]}")
                return msgs
            time.sleep(0.05)

    def mxctl(self, *args, input=None, check=True):
        p = subprocess.run([os.path.join(BUILD, "mxctl"), "-f", self.conf_path, *args],
                           input=input, capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"mxctl {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        return p

    def spool_files(self):
        out = []
        for root, _, files in os.walk(os.path.join(self.dir, "spool")):
            out += [os.path.join(root, f) for f in files]
        return out


class SMTPClient:
    """A raw line-level SMTP client for hostile dialogs."""

    def __init__(self, port, host="127.0.0.1", timeout=10):
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

    def closed(self, timeout=5):
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
