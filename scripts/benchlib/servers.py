"""benchlib/servers.py - the two servers of the inbound runs: a private
Postfix and a private homemxd, both on loopback, each with a Maildir to count.
"""
import os
import signal
import subprocess
import time

from benchlib.base import (BenchError, DOMAIN, POSTCONF, POSTFIX, RCPT, _alive, descendants,
                           free_port, log, run, run_tty, tail, wait_greeting)


class Server:
    """Common interface: start(), stop(), port, maildir_new, root_pid()."""
    name = "?"
    port = None
    maildir_new = None

    def root_pid(self):
        return None

    def describe_failure(self):
        return ""


class PostfixServer(Server):
    """A private Postfix instance (own config, queue and data directories)."""

    name = "postfix"
    subdir = "postfix"

    def __init__(self, base, uid, gid):
        self.base = os.path.join(base, self.subdir)
        self.conf = os.path.join(self.base, "etc")
        self.queue = os.path.join(self.base, "queue")
        self.data = os.path.join(self.base, "data")
        self.maildirs = os.path.join(self.base, "maildirs")
        self.maillog = os.path.join(self.base, "maillog")
        self.maildir_new = os.path.join(self.maildirs, DOMAIN, "kim", "new")
        self.uid, self.gid = uid, gid
        self.started = False

    def _main_cf(self):
        return f"""\
# Private benchmark instance written by scripts/bench -- loopback only.
compatibility_level = 3.6
config_directory = {self.conf}
queue_directory = {self.queue}
data_directory = {self.data}
maillog_file = {self.maillog}
maillog_file_prefixes = {self.base}
# No syslog: log through postlogd into maillog_file.
myhostname = mx.example.test
mydomain = example.test
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains =
relayhost =
# Never touch DNS: no MX/A lookups, no reverse lookup of clients.
disable_dns_lookups = yes
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtp_host_lookup = native
# Anything not for the virtual domain fails immediately (no outbound mail).
default_transport = error:outbound mail disabled in benchmark
relay_transport = error:outbound mail disabled in benchmark
local_transport = error:local delivery disabled in benchmark
# kim@example.test (any local part, in fact) -> Maildir (trailing slash).
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {self.maildirs}
virtual_mailbox_maps = static:{DOMAIN}/kim/
virtual_uid_maps = static:{self.uid}
virtual_gid_maps = static:{self.gid}
virtual_minimum_uid = 1
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
# 20 parallel sessions plus headroom.
default_process_limit = 100
biff = no
readme_directory = no
# Defaults kept on purpose: queue files are fsync()ed, in_flow_delay = 1s.
"""

    def _master_cf(self):
        # Column 5 (chroot) is "n" everywhere: the private queue dir is not
        # set up as a chroot jail.
        return f"""\
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:{self.port} inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

    def start(self, deadline):
        self.port = free_port()
        for d in (self.base, self.conf, self.queue):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
        # The virtual(8) agent runs as uid/gid and creates the Maildir on
        # first delivery, but it cannot create dirs in a root-owned base:
        # pre-create the whole Maildir with the right owner.
        md = os.path.dirname(self.maildir_new)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, sub), exist_ok=True)
        for d in (self.maildirs, os.path.dirname(md), md,
                  *(os.path.join(md, s) for s in ("cur", "new", "tmp"))):
            os.chown(d, self.uid, self.gid)
            os.chmod(d, 0o755)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(self._main_cf())
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(self._master_cf())
        # data_directory and queue subdirectories are created, with the right
        # owners, by "postfix start" (post-install create-missing).
        cp = run_tty([POSTFIX, "-c", self.conf, "check"], deadline.left(), check=False)
        if cp.returncode != 0 or cp.stdout.strip():
            log("postfix check: " + cp.stdout.decode(errors="replace").strip())
        self.started = True   # from here on, stop() must run
        run_tty([POSTFIX, "-c", self.conf, "start"], deadline.left())
        if not wait_greeting(self.port, min(30, deadline.left())):
            raise BenchError(f"postfix does not answer on 127.0.0.1:{self.port}\n"
                             + self.describe_failure())
        log(f"postfix {self.mail_version()} listening on 127.0.0.1:{self.port}")

    def mail_version(self):
        cp = run([POSTCONF, "-c", self.conf, "-h", "mail_version"], 10, check=False)
        return cp.stdout.decode().strip()

    def root_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def describe_failure(self):
        return f"--- {self.maillog} (tail) ---\n{tail(self.maillog)}"

    def queue_count(self):
        """Messages still in Postfix's queues (for diagnostics)."""
        n = 0
        for q in ("incoming", "active", "deferred", "maildrop", "hold"):
            for _, _, files in os.walk(os.path.join(self.queue, q)):
                n += len(files)
        return n

    def stop(self):
        if not self.started:
            return
        self.started = False
        pid = self.root_pid()
        run_tty([POSTFIX, "-c", self.conf, "stop"], 30, check=False)
        # "postfix stop" only signals the master; wait for it to be gone
        # before the directory is removed.
        if pid:
            end = time.monotonic() + 15
            while time.monotonic() < end and _alive(pid):
                time.sleep(0.1)
            if _alive(pid):
                log("postfix master still running, sending SIGKILL")
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


class HomemxServer(Server):
    """homemxd -f CONFIG in the foreground (its PID is the supervisor)."""

    name = "homemx"
    subdir = "homemx"
    user, password = RCPT, b"x"      # the mailbox (and, outbound, the login)
    extra_args = ()                  # ("-D",): debug lines, for --trace

    def __init__(self, base, build):
        self.base = os.path.join(base, self.subdir)
        self.build = build
        self.daemon = os.path.join(build, "homemxd")
        self.mxctl = os.path.join(build, "mxctl")
        self.config = os.path.join(self.base, "homemx.conf")
        self.logfile = os.path.join(self.base, "homemxd.log")
        self.maildir_new = os.path.join(self.base, "maildirs", DOMAIN, "kim", "new")
        self.proc = None

    def available(self):
        return os.access(self.daemon, os.X_OK) and os.access(self.mxctl, os.X_OK)

    def _config_text(self):
        d = self.base
        return f"""\
# Benchmark instance written by scripts/bench -- loopback only.
hostname mx.example.test
listen smtp 127.0.0.1:{self.port}
domain {DOMAIN}
spool_dir {d}/spool
store_dir {d}/store
maildir_root {d}/maildirs
chroot_dir {d}/empty
screen_dir {d}/screen
# never the system resolver: a closed loopback port (clients come from
# loopback, which the screen trusts, so no inbound lookup is made)
dns_server 127.0.0.1:{getattr(self, "dns_port", None) or 9}
max_connections_per_ip 100
max_connections_per_net 100
max_connections 200
greeting_delay 0s
"""

    def start(self, deadline):
        self.port = free_port()
        # Only the base dir is created here: homemxd creates spool_dir,
        # store_dir, maildir_root and chroot_dir itself, with the owner and
        # mode each role needs.
        os.makedirs(self.base, exist_ok=True)
        os.chmod(self.base, 0o755)
        with open(self.config, "w") as f:
            f.write(self._config_text())
        self._prepare(deadline)
        # The user is added before the daemon starts; should mxctl need a
        # running daemon or the dirs homemxd creates, the add is retried once
        # homemxd is up.
        user_added = self._user_add(deadline, check=False)
        self._logf = open(self.logfile, "wb")
        self.proc = subprocess.Popen([self.daemon, "-f", self.config, *self.extra_args],
                                     stdin=subprocess.DEVNULL, stdout=self._logf,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_greeting(self.port, min(30, deadline.left()),
                             alive=lambda: self.proc.poll() is None):
            raise BenchError(f"homemxd does not answer on 127.0.0.1:{self.port} "
                             f"(exit status {self.proc.poll()})\n" + self.describe_failure())
        if not user_added:
            self._user_add(deadline, check=True)
        log(f"homemxd (pid {self.proc.pid}) listening on 127.0.0.1:{self.port}")

    def _prepare(self, deadline):
        """Hook: anything to do between writing the config and starting."""

    def _user_add(self, deadline, check):
        # Password is read from stdin.
        cp = run([self.mxctl, "-f", self.config, "user", "add", self.user],
                 min(30, deadline.left()), stdin_data=self.password + b"\n", check=check)
        if cp.returncode != 0:
            log(f"mxctl user add failed before start (exit {cp.returncode}): "
                f"{(cp.stdout + cp.stderr).decode(errors='replace').strip()}; "
                f"retrying once homemxd runs")
        return cp.returncode == 0

    def root_pid(self):
        if self.proc is not None and self.proc.poll() is None:
            return self.proc.pid
        return None

    def describe_failure(self):
        return f"--- {self.logfile} (tail) ---\n{tail(self.logfile)}"

    def stop(self):
        proc, self.proc = self.proc, None
        if proc is None:
            return
        # Remember the whole tree first: children that called setsid() would
        # escape the process-group kill below, so they are killed by PID.
        tree = descendants(proc.pid) if proc.poll() is None else []
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                log("homemxd did not exit on SIGTERM, killing its process group")
        # Whatever is left in its process group (children that outlived the
        # supervisor) goes too.  The group id is the supervisor's PID.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        time.sleep(0.2)
        for pid in tree:
            if pid != proc.pid and _alive(pid):
                log(f"killing leftover homemx process {pid}")
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._logf.close()
