"""tests/e2e/test_sandbox.py - what each role gives up, checked from the
outside on a running homemxd (lib/sandbox.c, supervisor/rolelog.c):

- /proc/PID/status of every role: no_new_privs, no capability in any set
  (with the real privilege drop, as root), a seccomp filter on smtpd,
  submission, relay and screen only; the screen runs as _hmx-screen with
  its root in screen_dir (its memory is all it can see);
- a forbidden system call kills the role: HOMEMX_SANDBOX_SELFTEST=ROLE makes
  that role call mount(2) right after its filter is loaded; the role logs
  event=seccomp_violation naming the call, dies of SIGSYS, and homemxd
  says event=seccomp_kill before its usual role_exit line;
- the screen's SIGALRM watchdog, which ends a hung Berkeley DB call, gets
  its last words out and exits under the filter;
- roles hold no stdio of homemxd: fd 0 is /dev/null, fd 1 and 2 a pipe of
  their own that homemxd reads; a role's fatal message at start-up still
  reaches the log, before homemxd reports the exit;
- with -S, homemxd passes each role's lines to syslog under the role's own
  name and pid ("homemx-smtpd[PID]: event=..."), the form the fail2ban
  filter expects; the test gives homemxd a private /dev with /dev/log
  pointing at a socket it reads (unshare -m).

Mail flows under the filters are covered by the rest of the suite, which
runs with them on.
"""
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest

from harness import BUILD, Homemx

ROOT = os.geteuid() == 0
NETWORK_ROLES = ("smtpd", "submission", "relay", "screen")
CERT = {}


def setUpModule():
    d = tempfile.mkdtemp(prefix="hmx-sandbox-cert-")
    CERT["dir"] = d
    CERT["cert"], CERT["key"] = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", CERT["key"], "-out", CERT["cert"], "-days", "2",
                    "-subj", "/CN=mx.example.test"], check=True, capture_output=True)


def tearDownModule():
    shutil.rmtree(CERT.get("dir", "/nonexistent"), ignore_errors=True)


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def wait_for(predicate, what, timeout=20, log=lambda: ""):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"no {what} after {timeout}s:\n{log()[-4000:]}")


class SandboxHomemx(Homemx):
    """/proc/PID/comm is cut at 15 bytes: "homemx-submission" reads
    "submissi" where the harness falls back to it."""

    @property
    def screen_dir(self):
        """Where the harness keeps this daemon's screen memory."""
        return os.path.join(self.dir, "screen")

    def role_pids(self):
        pids = super().role_pids()
        if "submissi" in pids:
            pids["submission"] = pids.pop("submissi")
        return pids


def tls_conf(port):
    return (f"listen submission 127.0.0.1:{port}\n"
            f"tls_certificate {CERT['cert']}\ntls_key {CERT['key']}\n")


class RunningRoles(unittest.TestCase):
    """One daemon with every role, submission included."""

    @classmethod
    def setUpClass(cls):
        cls.p587 = socket.socket()
        cls.p587.bind(("127.0.0.1", 0))
        port = cls.p587.getsockname()[1]
        cls.p587.close()
        cls.h = SandboxHomemx(extra_conf=tls_conf(port))
        cls.h.start()
        cls.pids = cls.h.role_pids()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.h.cleanup()

    def test_all_roles_are_up(self):
        want = {"smtpd", "lookup", "queue", "delivery", "submission", "dkimsign", "relay",
                "screen"}
        self.assertEqual(set(self.pids), want)

    @unittest.skipUnless(ROOT, "the real privilege drop needs root")
    def test_no_new_privs_and_no_capabilities(self):
        for role, pid in sorted(self.pids.items()):
            st = proc_status(pid)
            with self.subTest(role=role):
                self.assertEqual(st["NoNewPrivs"], "1")
                for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
                    self.assertEqual(int(st[key], 16), 0, f"{role} {key}={st[key]}")
                self.assertNotEqual(st["Uid"].split()[0], "0")

    def test_network_roles_and_only_they_are_filtered(self):
        for role in sorted(NETWORK_ROLES):
            # A role logs event=sandbox right after seccomp_load; its pid
            # can be seen before that (a slow start under ASan).
            self.h.wait_log(f"homemx-{role}[{self.pids[role]}]: event=sandbox role={role} "
                            f"profile={role} ")
        log = self.h.log()
        for role, pid in sorted(self.pids.items()):
            st = proc_status(pid)
            with self.subTest(role=role):
                if role in NETWORK_ROLES:
                    self.assertEqual(st["Seccomp"], "2")   # SECCOMP_MODE_FILTER
                    self.assertEqual(st["Seccomp_filters"], "1")
                    self.assertIn(f"homemx-{role}[{pid}]: event=sandbox role={role} "
                                  f"profile={role} ", log)
                else:
                    self.assertEqual(st["Seccomp"], "0")

    @unittest.skipUnless(ROOT, "the real privilege drop needs root")
    def test_screen_sees_only_its_memory(self):
        pid = self.pids["screen"]
        st = proc_status(pid)
        uid = pwd.getpwnam("_hmx-screen").pw_uid
        self.assertEqual(st["Uid"].split(), [str(uid)] * 4)
        self.assertEqual(os.readlink(f"/proc/{pid}/root"), os.path.realpath(self.h.screen_dir))
        # the memory was opened under the filter: the role is up and its
        # environment's files are there
        wait_for(lambda: f"homemx-screen[{pid}]: event=start role=screen" in self.h.log(),
                 "the screen's start line", log=self.h.log)
        self.assertTrue(os.path.exists(os.path.join(self.h.screen_dir, "memory",
                                                    "__db.register")))

    def test_stdio_is_a_pipe_of_its_own(self):
        own = os.readlink(f"/proc/{self.h.proc.pid}/fd/2")
        self.assertEqual(own, self.h.log_path)
        seen = set()
        for role, pid in sorted(self.pids.items()):
            with self.subTest(role=role):
                self.assertEqual(os.readlink(f"/proc/{pid}/fd/0"), "/dev/null")
                out = os.readlink(f"/proc/{pid}/fd/1")
                err = os.readlink(f"/proc/{pid}/fd/2")
                self.assertRegex(err, r"^pipe:\[\d+\]$")
                self.assertEqual(out, err)
                self.assertNotIn(err, seen)
                seen.add(err)

    def test_role_lines_reach_the_log_unchanged(self):
        with smtplib.SMTP("127.0.0.1", self.h.smtp_port, timeout=10) as s:
            s.ehlo("client.example")
            s.mail("a@example.org")
            code, _ = s.rcpt("nobody@example.test")
            self.assertEqual(code, 550)
        pid = self.pids["smtpd"]
        line = wait_for(lambda: re.search(
            rf"(?m)^\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z homemx-smtpd\[{pid}\]: "
            r"event=rcpt sess=[0-9a-f]+ from=<a@example.org> to=<nobody@example.test> "
            r"verdict=reject reply=\"550 5\.1\.1\" reason=\S+ ip=127\.0\.0\.1$",
            self.h.log()), "rcpt reject line", log=self.h.log)
        self.assertTrue(line)


class SeccompKill(unittest.TestCase):
    """The self-test trigger, for each network role with a profile."""

    def start(self, role):
        extra = ""
        if role == "submission":
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            extra = tls_conf(s.getsockname()[1])
            s.close()
        h = SandboxHomemx(extra_conf=extra)
        # The daemon copies the environment at start; roles inherit it.
        os.environ["HOMEMX_SANDBOX_SELFTEST"] = role
        try:
            self.start_without_waiting_for(h, role)
        finally:
            del os.environ["HOMEMX_SANDBOX_SELFTEST"]
        self.addCleanup(h.cleanup)
        self.addCleanup(h.stop)
        return h

    @staticmethod
    def start_without_waiting_for(h, role):
        """Homemx.start() waits for every role; this one keeps dying."""
        original = h.wait_ready

        def wait_for_kill(timeout=20):
            wait_for(lambda: "event=seccomp_kill role=" + role in h.log(),
                     f"seccomp_kill of {role}", timeout, h.log)
        h.wait_ready = wait_for_kill
        try:
            h.start(provision=False)
        finally:
            h.wait_ready = original

    def check_killed(self, role):
        if role != "smtpd" and not os.path.exists(os.path.join(BUILD, f"homemx-{role}")):
            self.skipTest(f"homemx-{role} not built")
        h = self.start(role)
        log = h.log()
        sel = re.search(rf"homemx-{role}\[(\d+)\]: event=sandbox_selftest role={role} "
                        r"syscall=mount", log)
        self.assertIsNotNone(sel, log[-3000:])
        pid = sel.group(1)
        violation = re.search(rf"(?m)^\S+ homemx-{role}\[{pid}\]: event=seccomp_violation "
                              rf"role={role} syscall=mount nr=\d+ action=kill$", log)
        self.assertIsNotNone(violation, log[-3000:])
        kill = re.search(rf"homemxd\[\d+\]: event=seccomp_kill role={role} pid={pid} "
                         r"signal=31 reason=\"[^\"]*seccomp profile[^\"]*\"", log)
        self.assertIsNotNone(kill, log[-3000:])
        exit_line = wait_for(lambda: re.search(
            rf"homemxd\[\d+\]: event=role_exit role={role} signal=31 restart_in=\d+s",
            h.log()), "role_exit", log=h.log)
        # The role's own last words come before homemxd's account of them.
        log = h.log()
        self.assertLess(log.index(violation.group(0)), log.index(kill.group(0)))
        self.assertLess(log.index(kill.group(0)), log.index(exit_line.group(0)))
        # The other roles live on.
        others = h.role_pids()
        self.assertIn("queue", others)
        self.assertIn("lookup", others)

    def test_smtpd_is_killed_and_homemxd_says_seccomp(self):
        self.check_killed("smtpd")

    def test_relay_is_killed_and_homemxd_says_seccomp(self):
        self.check_killed("relay")

    def test_submission_is_killed_and_homemxd_says_seccomp(self):
        self.check_killed("submission")

    def test_screen_is_killed_and_homemxd_says_seccomp(self):
        self.check_killed("screen")


class ScreenWatchdog(unittest.TestCase):
    """The screen's SIGALRM watchdog (screen/screen.c) cuts a Berkeley DB
    call that hangs: its handler writes its last words and exits, and both
    calls pass the filter. A SIGALRM sent from here stands in for the
    alarm of a hung call."""

    def test_watchdog_exit_passes_the_filter(self):
        h = SandboxHomemx()
        h.start(provision=False)
        self.addCleanup(h.cleanup)
        self.addCleanup(h.stop)
        pid = h.role_pids()["screen"]
        wait_for(lambda: f"homemx-screen[{pid}]: event=start role=screen" in h.log(),
                 "the screen's start line", log=h.log)
        os.kill(pid, signal.SIGALRM)
        exit_line = wait_for(lambda: re.search(
            r"homemxd\[\d+\]: event=role_exit role=screen status=1 restart_in=\d+s", h.log()),
            "the screen's exit", log=h.log)
        log = h.log()
        last_words = log.find("homemx-screen: event=fatal role=screen reason=memory_watchdog")
        self.assertNotEqual(last_words, -1, log[-3000:])
        self.assertLess(last_words, exit_line.start())
        self.assertNotIn("seccomp", log)
        # and it comes back, its memory recovered
        wait_for(lambda: h.count("event=start role=screen") >= 2, "the screen's restart",
                 log=h.log)


class StartupFatal(unittest.TestCase):
    def test_fatal_at_start_reaches_the_log_before_the_exit(self):
        """A role that cannot start (here the screen: its memory directory is
        a file) says why, and that line comes before homemxd's role_exit.
        (A bad TLS pair no longer gets that far: homemxd refuses it itself,
        lib/tlscheck.c.)"""
        d = tempfile.mkdtemp(prefix="hmx-sandbox-fatal-")
        os.chmod(d, 0o755)
        self.addCleanup(shutil.rmtree, d, True)
        os.makedirs(f"{d}/screen", mode=0o700)     # the harness's screen_dir
        with open(f"{d}/screen/memory", "w") as f:
            f.write("not a directory\n")
        h = SandboxHomemx(workdir=d)
        original = h.wait_ready
        h.wait_ready = lambda timeout=20: wait_for(
            lambda: "event=role_exit role=screen" in h.log(), "screen exit", timeout, h.log)
        try:
            h.start(provision=False)
        finally:
            h.wait_ready = original
        self.addCleanup(h.cleanup)
        self.addCleanup(h.stop)
        log = h.log()
        fatal = re.search(r"homemx-screen\[(\d+)\]: event=fatal [^\n]+", log)
        self.assertIsNotNone(fatal, log[-3000:])
        exit_line = re.search(rf"homemxd\[\d+\]: event=role_exit role=screen status=1", log)
        self.assertIsNotNone(exit_line, log[-3000:])
        self.assertLess(fatal.start(), exit_line.start())


# ---- -S: syslog ----------------------------------------------------------------

DEV_SETUP = """set -e
mount --make-rprivate /
mount -t tmpfs -o mode=755 hmx-dev /dev
mknod -m 666 /dev/null c 1 3
mknod -m 666 /dev/zero c 1 5
mknod -m 666 /dev/random c 1 8
mknod -m 666 /dev/urandom c 1 9
ln -s "$HMX_SYSLOG_SOCKET" /dev/log
exec "$HMX_HOMEMXD" -S -f "$HMX_CONF"
"""


class SyslogHomemx(SandboxHomemx):
    """homemxd -S in a mount namespace whose /dev/log is our socket."""

    def __init__(self, socket_path, **kw):
        super().__init__(**kw)
        self.socket_path = socket_path

    def start(self, provision=True):
        self.dir = tempfile.mkdtemp(prefix="hmx-e2e-")
        os.chmod(self.dir, 0o755)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.smtp_port = s.getsockname()[1]
        s.close()
        self.conf_path = os.path.join(self.dir, "homemx.conf")
        self.log_path = os.path.join(self.dir, "homemx.log")
        self.write_config()
        self._logf = open(self.log_path, "ab")
        env = dict(os.environ, HMX_SYSLOG_SOCKET=self.socket_path,
                   HMX_HOMEMXD=os.path.join(BUILD, "homemxd"), HMX_CONF=self.conf_path)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0")
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "sh", "-c", DEV_SETUP],
            stdin=subprocess.DEVNULL, stdout=self._logf, stderr=self._logf,
            start_new_session=True, env=env)
        try:
            self.wait_ready()
            if provision:
                self.provision()
        except BaseException:
            self.stop(check_sanitizers=False)
            raise


@unittest.skipUnless(ROOT and shutil.which("unshare"), "needs root and unshare(1)")
class Syslog(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sockdir = tempfile.mkdtemp(prefix="hmx-syslog-")
        os.chmod(cls.sockdir, 0o755)
        cls.path = os.path.join(cls.sockdir, "log")
        cls.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        cls.sock.bind(cls.path)
        os.chmod(cls.path, 0o666)
        cls.sock.settimeout(0.2)
        cls.got = []
        cls.h = SyslogHomemx(cls.path)
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.h.cleanup()
        cls.sock.close()
        shutil.rmtree(cls.sockdir, ignore_errors=True)

    def messages(self):
        while True:
            try:
                self.got.append(self.sock.recv(65536).decode("utf-8", "replace"))
            except socket.timeout:
                return self.got

    def find(self, pattern, what):
        return wait_for(lambda: next((m for m in (re.search(pattern, x) for x in
                                                  self.messages()) if m), None),
                        what, log=lambda: "\n".join(self.got))

    def test_role_lines_carry_the_role_name_pid_and_priority(self):
        pids = self.h.role_pids()
        # RFC 3164 as glibc sends it: <PRI>TIMESTAMP TAG: MSG; LOG_MAIL = 2.
        m = self.find(rf"^<22>\w{{3}} [ \d]\d \d\d:\d\d:\d\d homemx-smtpd\[{pids['smtpd']}\]: "
                      r"event=start role=smtpd uid=\d+$", "smtpd start line")
        self.assertTrue(m)
        self.find(rf"^<22>.{{15}} homemxd\[{self.h.proc.pid}\]: event=role_start role=smtpd ",
                  "homemxd's own line")

    def test_fail2ban_sees_a_reject_as_before(self):
        with smtplib.SMTP("127.0.0.1", self.h.smtp_port, timeout=10) as s:
            s.ehlo("client.example")
            s.mail("a@example.org")
            self.assertEqual(s.rcpt("nobody@example.test")[0], 550)
        m = self.find(r"^<22>.{15} (homemx-smtpd\[\d+\]: event=rcpt .* verdict=reject .*)$",
                      "rcpt reject")
        # conf/fail2ban/homemx.conf: _prefix and the rcpt failregex
        prefix = r"^\s*(?:\S+\s+)?homemx-(?:submission|smtpd)\[\d+\]:\s+"
        self.assertRegex(m.group(1), prefix + r"event=rcpt sess=[0-9a-f]+ from=<.*> "
                         r"to=<.*> verdict=reject reply=\"5\d\d [245]\.\d{1,3}\.\d{1,3}\" "
                         r"reason=\S+ ip=127\.0\.0\.1$")


if __name__ == "__main__":
    unittest.main()
