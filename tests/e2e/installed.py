"""tests/e2e/installed.py - run a `make install DESTDIR=...` tree as if it
were installed, and start it the way conf/systemd/homemx.service does.

Owns: the private view of the machine an installed tree runs in, and the
emulation of the unit's sandbox. systemd is not PID 1 on the machines the
tests run on (a container or a VM without it), so the unit cannot be
started for real. Instead, each command runs in its own mount namespace
inside a network namespace (netns.Topology, so that port 25 and 587 are
private and nothing binds the machine's own ports):

    /usr   overlay: DESTDIR/usr above the machine's /usr (read-only)
    /etc   overlay: DESTDIR/etc above /etc; writes land in DESTDIR/etc
    /var   overlay: DESTDIR/var above /var; writes land in DESTDIR/var
    /dev   overlay with /dev/log bound to the test's syslog socket

so /usr/sbin/homemxd, /etc/homemx/homemx.conf and /var/spool/homemx are
the installed files, at the paths the unit and the config name, and the
machine's own files are never written. start_service() then does what the
unit says, read from the installed unit file: ExecStartPre ("+": with
every privilege, before the sandbox), the sandbox (ProtectSystem=strict
with ReadWritePaths as per-mount read-only remounts, PrivateTmp, ProtectHome,
NoNewPrivileges and CapabilityBoundingSet through setpriv(1)), then exec of
the ExecStart line, word for word. What is not emulated (the Protect*
kernel options, RestrictAddressFamilies) is listed in SKIPPED_OPTIONS.
Readiness comes as systemd would get it: READY=1 on NOTIFY_SOCKET (an
abstract socket of the network namespace).

An overlay's upper directory may be used by one mount at a time, so
commands run one after the other; while the service runs, run_in_service()
enters its namespaces instead.
"""

import os
import shlex
import socket
import subprocess
import threading

from harness import WAIT, LogWatch, wait_until
from netns import in_netns

# Unit options the emulation does not reproduce: nothing here can be
# checked without systemd (they only forbid what homemx never does).
SKIPPED_OPTIONS = ("ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
                   "ProtectControlGroups", "RestrictAddressFamilies")
API_MOUNTS = ("/proc", "/sys", "/dev")


def read_unit(path):
    """{(section, key): [values]} of a unit file; continuation lines joined."""
    out, section = {}, None
    with open(path) as f:
        text = f.read().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        out.setdefault((section, key.strip()), []).append(value.strip())
    return out


def unit_value(unit, key, section="Service", default=None):
    values = unit.get((section, key))
    return values[-1] if values else default


class SyslogReceiver:
    """A datagram socket standing in for /dev/log; every line it gets is
    appended to a file (what rsyslog or journald would keep)."""

    def __init__(self, sock_path, log_path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(sock_path)
        os.chmod(sock_path, 0o666)
        self.log_path = log_path
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        with open(self.log_path, "ab", buffering=0) as f:
            while not self.stopping:
                try:
                    data = self.sock.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                f.write(data.rstrip(b"\n") + b"\n")

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()


class InstalledTree(LogWatch):
    """The tree under destdir, run inside network namespace ns (a
    netns.Topology's mta). workdir holds the overlays' work directories,
    the syslog socket and the log."""

    def __init__(self, destdir, workdir, ns):
        self.destdir = destdir
        self.workdir = workdir
        self.ns = ns
        self.log_path = os.path.join(workdir, "syslog")
        self.syslog_sock = os.path.join(workdir, "log.sock")
        self.stderr_path = os.path.join(workdir, "service.stderr")
        self.notify_name = f"hmx-notify-{os.getpid()}-{id(self)}"
        self.notified = []
        self.service = None
        for d in ("w-etc", "w-var", "w-dev", "dev"):
            os.makedirs(os.path.join(workdir, d), exist_ok=True)
        self.receiver = SyslogReceiver(self.syslog_sock, self.log_path)

    # -- the view of an installed machine --------------------------------
    def overlay_script(self):
        d, w = self.destdir, self.workdir
        return "\n".join([
            f"mount -t overlay overlay -o lowerdir={d}/usr:/usr /usr",
            f"mount -t overlay overlay -o lowerdir=/etc,upperdir={d}/etc,workdir={w}/w-etc /etc",
            f"mount -t overlay overlay -o lowerdir=/var,upperdir={d}/var,workdir={w}/w-var /var",
            f"mount -t overlay overlay -o lowerdir=/dev,upperdir={w}/dev,workdir={w}/w-dev /dev",
            "[ -e /dev/log ] || touch /dev/log",
            f"mount --bind {self.syslog_sock} /dev/log",
        ])

    def _popen(self, script, **kw):
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-ec", script]
        with in_netns(self.ns):
            return subprocess.Popen(argv, **kw)

    def run(self, command, input=None, timeout=WAIT * 2):
        """Runs a shell command in a fresh view; CompletedProcess (text)."""
        p = self._popen(self.overlay_script() + "\n" + command, stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = p.communicate(input, timeout=timeout)
        return subprocess.CompletedProcess(p.args, p.returncode, out, err)

    # -- the unit ----------------------------------------------------------
    def unit_path(self):
        return os.path.join(self.destdir, "usr/lib/systemd/system/homemx.service")

    @staticmethod
    def sandbox_script(unit):
        """Shell lines that apply the unit's file system sandbox."""
        lines = []
        if unit_value(unit, "PrivateTmp") == "yes":
            lines += ["mount -t tmpfs -o mode=1777 tmpfs /tmp",
                      "mount -t tmpfs -o mode=1777 tmpfs /var/tmp"]
        if unit_value(unit, "ProtectHome") == "yes":
            lines += [f"[ ! -d {d} ] || mount -t tmpfs -o ro,mode=000 tmpfs {d}"
                      for d in ("/home", "/root", "/run/user")]
        rw = " ".join(unit.get(("Service", "ReadWritePaths"), [])).split()
        lines += [f"mount --bind {p} {p}" for p in rw]
        if unit_value(unit, "ProtectSystem") == "strict":
            keep = "|".join(["/tmp", "/var/tmp"] + rw +
                            [f"{a}|{a}/*" for a in API_MOUNTS])
            lines += ["for mp in $(awk '{print $5}' /proc/self/mountinfo); do",
                      f"  case $mp in {keep}) continue;; esac",
                      '  mount -o remount,bind,ro "$mp" 2>/dev/null || true',
                      "done"]
        return lines

    @staticmethod
    def setpriv_words(unit):
        words = ["setpriv"]
        caps = unit_value(unit, "CapabilityBoundingSet")
        if caps is not None:
            words += ["--bounding-set",
                      ",".join(["-all"] + ["+" + c.lower().removeprefix("cap_")
                                           for c in caps.split()])]
        if unit_value(unit, "NoNewPrivileges") == "yes":
            words.append("--no-new-privs")
        return words + ["--"]

    def start_service(self):
        """Starts the unit's commands; returns once READY=1 arrived."""
        unit = read_unit(self.unit_path())
        assert unit_value(unit, "Type") == "notify", unit_value(unit, "Type")
        script = [self.overlay_script()]
        for pre in unit.get(("Service", "ExecStartPre"), []):
            script.append(pre.removeprefix("+"))    # "+": no sandbox for it
        script += self.sandbox_script(unit)
        start = shlex.split(unit_value(unit, "ExecStart"))
        script.append("exec " + shlex.join(self.setpriv_words(unit) + start))
        with in_netns(self.ns):
            notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind("\0" + self.notify_name)
        notify.settimeout(0.1)
        env = dict(os.environ, NOTIFY_SOCKET="@" + self.notify_name)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0")
        self.stderr = open(self.stderr_path, "ab")
        self.service = self._popen("\n".join(script), stdin=subprocess.DEVNULL,
                                   stdout=self.stderr, stderr=self.stderr, env=env)
        self.notify = notify
        self.wait_notified("READY=1")
        return self.service

    def poll_notify(self):
        while True:
            try:
                self.notified.append(self.notify.recv(4096).decode())
            except (socket.timeout, BlockingIOError):
                return self.notified

    def wait_notified(self, needle, timeout=WAIT):
        def seen():
            if self.service.poll() is not None:
                raise AssertionError(f"the service exited ({self.service.returncode}) "
                                     f"before {needle}:\n{self.stderr_text()}\n{self.log()[-4000:]}")
            return any(needle in m.split("\n") for m in self.poll_notify())
        wait_until(seen, timeout, f"{needle} on NOTIFY_SOCKET",
                   lambda: f"{self.notified}\n{self.log()[-3000:]}")

    def stderr_text(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def alive(self):
        return self.service is None or self.service.poll() is None

    def run_in_service(self, argv, input=None):
        """argv inside the running service's namespaces (mount, network)."""
        return subprocess.run(["nsenter", "-t", str(self.service.pid), "-m", "-n", *argv],
                              input=input, capture_output=True, text=True, timeout=WAIT * 2)

    def stop_service(self, timeout=WAIT):
        """SIGTERM, as systemctl stop does with KillMode=mixed; the exit code."""
        if self.service is None:
            return None
        if self.service.poll() is None:
            self.service.terminate()
        try:
            return self.service.wait(timeout=timeout)
        finally:
            self.poll_notify()
            self.notify.close()
            self.stderr.close()

    def close(self):
        if self.service is not None and self.service.poll() is None:
            self.service.kill()
            self.service.wait()
        self.receiver.stop()
