"""benchlib/base.py - what every part of scripts/bench uses: the time budget,
bounded subprocess runs, ports, and the process-tree readings (CPU, RSS, PSS)
that the figures come from.
"""
import math
import os
import pty
import signal
import socket
import subprocess
import sys
import threading
import time



REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
E2E_RUN = os.path.join(REPO, "tests", "e2e", "run.py")
SMTP_SOURCE = "/usr/sbin/smtp-source"
POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"

DOMAIN = "example.test"
RCPT = "kim@example.test"
SENDER = "bench@example.org"
HELO = "bench.example.org"      # never let a client look up its own name

SMALL = 1024
LARGE = 100 * 1024


# ----------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------
class BenchError(Exception):
    pass


class GlobalTimeout(BenchError):
    """The --timeout budget is used up: stop measuring, report what we have."""


_DEADLINE = None     # the global Deadline, for timeout_error()


class Deadline:
    """Global time budget; every wait is bounded by what is left of it."""

    def __init__(self, seconds):
        global _DEADLINE
        self.end = time.monotonic() + seconds
        _DEADLINE = self

    def left(self):
        left = self.end - time.monotonic()
        if left <= 0:
            raise GlobalTimeout("global --timeout exceeded")
        return left


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def free_port():
    """A free loopback TCP port (bind to port 0 and let the kernel pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_tcp(port, timeout, alive=lambda: True, expect=b"", goodbye=b""):
    """Wait until 127.0.0.1:port accepts a connection (and, if `expect` is
    given, its first bytes start with it; then `goodbye` is sent, if any)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not alive():
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                if not expect:
                    return True
                s.settimeout(5)
                if s.recv(512).startswith(expect):
                    if goodbye:
                        s.sendall(goodbye)
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def wait_greeting(port, timeout, alive=lambda: True):
    """Wait until 127.0.0.1:port answers with an SMTP 220 greeting."""
    return wait_tcp(port, timeout, alive, expect=b"220", goodbye=b"QUIT\r\n")


def timeout_error(cmd, timeout):
    """Commands get min(own limit, what is left of --timeout) as timeout; a
    timeout is a GlobalTimeout when the global budget is (nearly) used up."""
    msg = f"{os.path.basename(cmd[0])} killed after {timeout:.1f}s"
    if _DEADLINE is not None and _DEADLINE.end - time.monotonic() < 1:
        return GlobalTimeout(msg + " (global --timeout)")
    return BenchError(msg)


def _kill_group_and_raise(p, e, cmd, timeout, reap):
    """Waiting for p was cut short by e: kill p's process group, reap it,
    and raise (a timeout as the budget's error, anything else as it was)."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    reap()
    if isinstance(e, subprocess.TimeoutExpired):
        raise timeout_error(cmd, timeout) from None
    raise e


def run_e2e_bench(module, build, timeout, deadline, **extra_env):
    """tests/e2e/<module>.py in its benchmark mode (HOMEMX_BENCH=1) against
    build, bounded by timeout and the global budget: (output, exit status)."""
    env = dict(os.environ, HOMEMX_BENCH="1", HOMEMX_BUILD=build, **extra_env)
    cmd = ["/usr/bin/python3", E2E_RUN, module]
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True)
    limit = min(timeout, deadline.left())
    try:
        out, _ = p.communicate(timeout=limit)
    except BaseException as e:
        _kill_group_and_raise(p, e, cmd, limit, p.communicate)
    return out.decode(errors="replace"), p.returncode


def run(cmd, timeout, stdin_data=None, check=True):
    """Run a command in its own process group; kill the group on timeout or
    interruption so nothing is left behind.  Returns CompletedProcess."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin_data is not None
                         else subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(stdin_data, timeout=timeout)
    except BaseException as e:
        _kill_group_and_raise(p, e, cmd, timeout, p.communicate)
    cp = subprocess.CompletedProcess(cmd, p.returncode, out, err)
    if check and p.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} exited {p.returncode}:\n"
                         f"{out.decode(errors='replace')}{err.decode(errors='replace')}")
    return cp


def run_tty(cmd, timeout, check=True):
    """Like run(), but stdout/stderr are a pseudo-terminal: Postfix commands
    only print their fatal/warning messages to stderr when it is a tty
    (otherwise they go to syslog or maillog, which may not be up yet)."""
    master, slave = pty.openpty()
    chunks = []

    def reader():
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:        # EIO once the last slave fd is closed
                break
            if not data:
                break
            chunks.append(data)

    t = threading.Thread(target=reader, daemon=True)
    try:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                             start_new_session=True)
    finally:
        os.close(slave)
    t.start()
    try:
        p.wait(timeout)
    except BaseException as e:
        _kill_group_and_raise(p, e, cmd, timeout, p.wait)
    finally:
        t.join(5)
        os.close(master)
    out = b"".join(chunks).replace(b"\r\n", b"\n")
    cp = subprocess.CompletedProcess(cmd, p.returncode, out, b"")
    if check and p.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} exited {p.returncode}:\n"
                         f"{out.decode(errors='replace')}")
    return cp


def count_files(d):
    try:
        return sum(1 for e in os.scandir(d) if e.is_file())
    except FileNotFoundError:
        return 0


def tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError as e:
        return f"({path}: {e})"


# ----------------------------------------------------------------------
# process-tree memory accounting
# ----------------------------------------------------------------------
def _ppid_map():
    m = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # comm may contain spaces/parens: fields start after the last ')'.
        rest = stat[stat.rfind(")") + 2:].split()
        m[int(name)] = int(rest[1])
    return m


def _alive(pid):
    """True if pid exists and is not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:].split()[0] != "Z"


def descendants(root):
    """root and all its descendants (by walking /proc ppid links)."""
    ppids = _ppid_map()
    children = {}
    for pid, ppid in ppids.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in ppids:
            out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def vm_kb(pid):
    """(VmHWM, VmRSS) of a process in KiB; (0, 0) if it is gone."""
    hwm = rss = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return hwm, rss


def pss_kb(pid):
    """Proportional set size (shared pages split between their users)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler(threading.Thread):
    """Polls a process tree and remembers each PID's highest VmHWM, so
    short-lived children are counted as long as they live >= one interval.
    peak_kb() = sum over every PID ever seen (an upper bound of the real
    simultaneous peak; equals it when processes are long-lived).
    peak_live_kb() = highest sum of VmRSS over the processes alive at one
    sample.  Both count shared pages (libc, ...) once per process;
    peak_pss_kb() is the same with PSS, which splits shared pages fairly and
    is the best number for "how much memory does this server use".
    Only the server being measured is sampled (self.active), so sampling
    cost does not land on the other server's numbers; VmHWM is tracked by
    the kernel anyway, so a final sample() still catches long-lived peaks."""

    def __init__(self, root_pid_fn, interval=0.2):
        super().__init__(daemon=True)
        self.root_pid_fn = root_pid_fn
        self.interval = interval
        self.hwm = {}
        self.comm = {}
        self.live_peak = 0
        self.pss_peak = 0
        self.active = False
        self._stop_ev = threading.Event()

    def sample(self):
        root = self.root_pid_fn()
        if not root:
            return
        live = pss = 0
        for pid in descendants(root):
            kb, rss = vm_kb(pid)
            live += rss
            pss += pss_kb(pid)
            if kb > self.hwm.get(pid, 0):
                self.hwm[pid] = kb
            try:
                # Re-read each time: a Postfix child is "master" until exec.
                with open(f"/proc/{pid}/comm") as f:
                    self.comm[pid] = f.read().strip()
            except OSError:
                pass
        self.live_peak = max(self.live_peak, live)
        self.pss_peak = max(self.pss_peak, pss)

    def run(self):
        while not self._stop_ev.wait(self.interval):
            if not self.active:
                continue
            try:
                self.sample()
            except Exception:
                pass

    def stop(self):
        self._stop_ev.set()

    def peak_kb(self):
        return sum(self.hwm.values())

    def peak_live_kb(self):
        return self.live_peak

    def peak_pss_kb(self):
        return self.pss_peak

    def summary(self):
        by = {}
        for pid, kb in self.hwm.items():
            c = self.comm.get(pid, "?")
            n, k = by.get(c, (0, 0))
            by[c] = (n + 1, k + kb)
        return ", ".join(f"{c} x{n} {k / 1024:.1f}M" for c, (n, k) in sorted(by.items()))


def stop_proc(proc, name, grace=10):
    """SIGTERM a process started with start_new_session=True, then SIGKILL
    whatever is left of its process group."""
    if proc is None:
        return
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            log(f"{name} did not exit on SIGTERM, killing it")
        except ProcessLookupError:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def tree_cpu(roots):
    """CPU seconds used so far by the process trees under `roots`: the sum
    over every live process of its utime+stime+cutime+cstime.  Children
    that exited and were reaped are in their parent's cutime/cstime, so
    short-lived workers (Postfix's smtpd, homemx's signing children) count
    as long as their parent is in the tree and waits for them.  Returns
    {comm: seconds}, comm being the process name (a role, a daemon)."""
    tck = os.sysconf("SC_CLK_TCK")
    ppids = _ppid_map()
    children = {}
    for pid, ppid in ppids.items():
        children.setdefault(ppid, []).append(pid)
    by, todo, seen = {}, [r for r in roots if r], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read()
            comm = st[st.find("(") + 1:st.rfind(")")]
            fields = st[st.rfind(")") + 2:].split()
            t = sum(int(x) for x in fields[11:15]) / tck     # utime stime cutime cstime
            by[comm] = by.get(comm, 0) + t
        except (OSError, ValueError, IndexError):
            pass
        todo.extend(children.get(pid, ()))
    return by


def pctl(values, q):
    """The q-quantile (0..1) of a list, nearest rank; 0 for an empty one."""
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, max(0, math.ceil(q * len(v)) - 1))]
