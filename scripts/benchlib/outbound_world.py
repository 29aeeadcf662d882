"""benchlib/outbound_world.py - what the outbound runs stand on: the remote
MX (smtp-sink), certificates, Postfix's SASL Dovecot, OpenDKIM, and the
submission-to-relay variants of both servers.
"""
import os
import pwd
import re
import socket
import subprocess
import threading
import time

from benchlib.base import (BenchError, DOMAIN, free_port, run, stop_proc, tail,
                           wait_greeting, wait_tcp)
from benchlib.servers import HomemxServer, PostfixServer


SMTP_SINK = "/usr/sbin/smtp-sink"
OPENDKIM = "/usr/sbin/opendkim"
OPENDKIM_GENKEY = "/usr/sbin/opendkim-genkey"
DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"
OPENSSL = "/usr/bin/openssl"

SUB_USER = "kim@example.test"        # the authenticated sender (From and MAIL FROM)
SUB_PASSWORD = b"bench-secret"
OUT_RCPT = "rcpt@sink.example"       # a remote domain: it all goes to the sink
SINK_USER = "nobody"


class Sink:
    """Postfix's smtp-sink on 127.0.0.1:port, standing in for every remote
    MX.  It counts messages: with -c it prints "sess=S quit=Q mesg=M\\r"
    after each "." (read live from its stdout), and it dumps every message
    into a file (-d) so that the DKIM-Signature headers that reached the
    "remote" side can be checked.  No STARTTLS and (-a) no AUTH offered:
    both clients just send in the clear."""

    def __init__(self, base, tag):
        self.dir = os.path.join(base, f"sink-{tag}")
        self.dump = os.path.join(self.dir, "dump")
        self.port = None
        self.proc = None
        self.mesg = 0
        self.junk = b""          # anything but counters (warnings, fatal)

    def start(self, deadline):
        os.makedirs(self.dump, exist_ok=True)
        os.chmod(self.dir, 0o755)
        pw = pwd.getpwnam(SINK_USER)
        os.chown(self.dump, pw.pw_uid, pw.pw_gid)
        self.port = free_port()
        self.proc = subprocess.Popen(
            [SMTP_SINK, "-c", "-a", "-u", SINK_USER, "-h", "mx.sink.example",
             "-m", "1000", "-d", os.path.join(self.dump, "m."),
             f"127.0.0.1:{self.port}", "1000"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True)
        threading.Thread(target=self._reader, daemon=True).start()
        if not wait_greeting(self.port, min(10, deadline.left()),
                             alive=lambda: self.proc.poll() is None):
            raise BenchError(f"smtp-sink does not answer on 127.0.0.1:{self.port}: "
                             f"{self.junk.decode(errors='replace')}")

    def _reader(self):
        proc, buf = self.proc, b""
        while True:
            try:
                data = proc.stdout.read1(65536)
            except (OSError, ValueError):
                break
            if not data:
                break
            buf += data
            *lines, buf = re.split(rb"[\r\n]", buf)
            for line in lines:
                m = re.search(rb"\bmesg=(\d+)", line)
                if m:
                    self.mesg = int(m.group(1))
                elif line.strip():
                    self.junk = (self.junk + line + b"\n")[-2000:]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_count(self, want, deadline, limit, t0=None, progress=None):
        """Wait until the sink has received `want` messages in total.
        Returns seconds since t0 (if given); raises BenchError on timeout."""
        end = time.monotonic() + min(limit, deadline.left())
        last, last_change = self.mesg, time.monotonic()
        while self.mesg < want:
            now = time.monotonic()
            if self.mesg != last:
                last, last_change = self.mesg, now
            if not self.alive():
                raise BenchError(f"smtp-sink died: {self.junk.decode(errors='replace')}")
            if now > end:
                why = progress() if progress else ""
                raise BenchError(f"the sink received only {self.mesg}/{want} messages after "
                                 f"{limit:.0f}s (nothing new for {now - last_change:.0f}s)"
                                 + (f"\n{why}" if why else ""))
            deadline.left()
            time.sleep(0.01)
        return None if t0 is None else time.monotonic() - t0

    def signatures(self, sample=20):
        """DKIM signature algorithms found in a sample of dumped messages:
        e.g. "rsa-sha256+ed25519-sha256 in 20/20 sampled"."""
        try:
            names = sorted(os.listdir(self.dump))
        except OSError:
            names = []
        if not names:
            return "no dump files"
        step = max(1, len(names) // sample)
        seen = {}
        picked = names[::step][:sample]
        for n in picked:
            try:
                with open(os.path.join(self.dump, n), "rb") as f:
                    data = f.read(256 * 1024)
            except OSError:
                continue
            head = data.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
            head = re.sub(rb"\n[ \t]+", b" ", head)            # unfold
            algs = sorted(set(m.group(1).decode() for m in re.finditer(
                rb"^dkim-signature:.*?\ba=([a-z0-9-]+)", head, re.I | re.M)))
            key = "+".join(algs) or "unsigned"
            seen[key] = seen.get(key, 0) + 1
        return ", ".join(f"{k} in {v}/{len(picked)}" for k, v in sorted(seen.items())) + " sampled"

    def stop(self):
        proc, self.proc = self.proc, None
        stop_proc(proc, "smtp-sink", grace=5)


def make_tls_cert(base, deadline):
    """A self-signed certificate for both submission servers."""
    d = os.path.join(base, "tls")
    os.makedirs(d, exist_ok=True)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
         "-out", cert, "-days", "2", "-subj", "/CN=mx.example.test"], min(60, deadline.left()))
    os.chmod(key, 0o600)
    os.chmod(cert, 0o644)
    return cert, key


def argon2id_hash(password, deadline):
    """The password's Argon2id hash with libsodium's INTERACTIVE limits (the
    ones mxctl uses), through ctypes, so that Dovecot verifies exactly as
    expensive a hash as homemx-lookup does.  Falls back to doveadm pw
    (same memory, one more pass).  Returns (hash, note)."""
    try:
        import ctypes
        import ctypes.util
        lib = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
        if lib.sodium_init() < 0:
            raise OSError("sodium_init failed")
        lib.crypto_pwhash_opslimit_interactive.restype = ctypes.c_size_t
        lib.crypto_pwhash_memlimit_interactive.restype = ctypes.c_size_t
        out = ctypes.create_string_buffer(128)
        if lib.crypto_pwhash_str(out, password, ctypes.c_ulonglong(len(password)),
                                 ctypes.c_ulonglong(lib.crypto_pwhash_opslimit_interactive()),
                                 ctypes.c_size_t(lib.crypto_pwhash_memlimit_interactive())) != 0:
            raise OSError("crypto_pwhash_str failed")
        return "{ARGON2ID}" + out.value.decode(), "libsodium INTERACTIVE, as mxctl"
    except (OSError, AttributeError) as e:
        cp = run([DOVEADM, "pw", "-s", "ARGON2ID", "-p", password.decode()],
                 min(30, deadline.left()))
        return cp.stdout.decode().strip(), f"doveadm pw (libsodium unusable: {e})"


class DovecotAuth:
    """A private Dovecot that does nothing but SASL for Postfix, on a
    loopback TCP port (smtpd_sasl_type = dovecot): one user whose password
    is an Argon2id hash like homemx's, no auth cache (homemx has none)."""

    def __init__(self, base, tag):
        self.dir = os.path.join(base, f"dovecot-{tag}")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.logfile = os.path.join(self.dir, "dovecot.log")
        self.port = None
        self.proc = None
        self.note = ""

    def start(self, deadline):
        for sub in ("", "run", "state"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
            os.chmod(os.path.join(self.dir, sub), 0o755)
        self.port = free_port()
        hashed, self.note = argon2id_hash(SUB_PASSWORD, deadline)
        users = os.path.join(self.dir, "users")
        with open(users, "w") as f:
            f.write(f"{SUB_USER}:{hashed}\n")
        os.chmod(users, 0o644)     # the auth process runs as "dovecot"
        with open(self.conf, "w") as f:
            f.write(f"""\
# Private benchmark instance written by scripts/bench: SASL for Postfix only.
protocols = none
listen = 127.0.0.1
base_dir = {self.dir}/run
state_dir = {self.dir}/state
instance_name = hmx-bench-{os.getpid()}-{self.port}
log_path = {self.logfile}
info_log_path = {self.logfile}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_cache_size = 0
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
passdb {{
  driver = passwd-file
  args = username_format=%u {users}
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home=/nonexistent
}}
service auth {{
  inet_listener {{
    address = 127.0.0.1
    port = {self.port}
  }}
}}
""")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.conf],
                                     stdin=subprocess.DEVNULL,
                                     stdout=open(self.logfile + ".out", "wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_tcp(self.port, min(20, deadline.left()), expect=b"VERSION",
                        alive=lambda: self.proc.poll() is None):
            raise BenchError(f"dovecot auth does not answer on 127.0.0.1:{self.port}\n"
                             f"{tail(self.logfile)}{tail(self.logfile + '.out')}")

    def stop(self):
        proc, self.proc = self.proc, None
        stop_proc(proc, "dovecot")


class OpenDkim:
    """A private opendkim signing for example.test with one key, a 2048-bit
    RSA key (alg "rsa") or an Ed25519 key (alg "ed25519", RFC 8463, made
    by openssl), configured like homemx-dkimsign: relaxed/relaxed, the same
    h= list with From, To, Subject, Date and Message-ID oversigned.
    OpenDKIM 2.11 has one SignatureAlgorithm per instance (an Ed25519 key
    under rsa-sha256 fails in EVP_PKEY_get1_RSA), so both signatures, as
    homemx makes them, take two instances, chained as two smtpd_milters.
    The milter socket
    is a unix socket in the temp dir (Debian's default kind) or, with
    --opendkim-socket inet, a loopback TCP port: libmilter sets no
    TCP_NODELAY, and over TCP Nagle plus delayed ACKs cost ~40 ms per
    message (the end-of-message reply goes out in two small writes)."""

    def __init__(self, base, kind="unix", alg="rsa"):
        self.alg = alg
        self.dir = os.path.join(base, "opendkim" if alg == "rsa" else f"opendkim-{alg}")
        self.conf = os.path.join(self.dir, "opendkim.conf")
        self.logfile = os.path.join(self.dir, "opendkim.log")
        self.kind = kind
        self.port = None
        self.sock = os.path.join(self.dir, "run", "milter.sock")
        self.address = None       # for smtpd_milters
        self.proc = None

    def _listening(self):
        if self.kind == "inet":
            return wait_tcp(self.port, 0.1)
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect(self.sock)
                return True
        except OSError:
            return False

    def start(self, deadline):
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        if self.kind == "inet":
            self.port = free_port()
            listen = f"inet:{self.port}@127.0.0.1"
            self.address = f"inet:127.0.0.1:{self.port}"
        else:
            listen = f"local:{self.sock}"
            self.address = f"unix:{self.sock}"
        key = os.path.join(self.dir, "bench.private")
        if self.alg == "ed25519":
            run([OPENSSL, "genpkey", "-algorithm", "ed25519", "-out", key],
                min(60, deadline.left()))
        else:
            run([OPENDKIM_GENKEY, "-b", "2048", "-d", DOMAIN, "-s", "bench", "-D", self.dir],
                min(60, deadline.left()))
        rundir = os.path.dirname(self.sock)      # opendkim makes its socket here
        os.makedirs(rundir, exist_ok=True)
        os.chmod(rundir, 0o755)
        user = ""
        try:
            pw = pwd.getpwnam("opendkim")
            os.chown(key, pw.pw_uid, pw.pw_gid)
            os.chown(rundir, pw.pw_uid, pw.pw_gid)
            user = "UserID opendkim:opendkim\n"
        except KeyError:
            pass
        os.chmod(key, 0o600)
        with open(self.conf, "w") as f:
            f.write(f"""\
# Private benchmark instance written by scripts/bench -- loopback only.
Syslog no
Mode s
Domain {DOMAIN}
Selector bench
KeyFile {key}
# The temp dir lives under a world-writable /tmp: skip the path check.
RequireSafeKeys false
Socket {listen}
# The socket is for Postfix's smtpd (user postfix), in a private dir.
UMask 000
PidFile {self.dir}/opendkim.pid
{user}Canonicalization relaxed/relaxed
SignatureAlgorithm {self.alg}-sha256
SignHeaders From,Reply-To,To,Cc,Subject,Date,Message-ID,MIME-Version,Content-Type,Content-Transfer-Encoding
OversignHeaders From,To,Subject,Date,Message-ID
InternalHosts 127.0.0.1
""")
        self.proc = subprocess.Popen([OPENDKIM, "-f", "-x", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=open(self.logfile, "wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        end = time.monotonic() + min(20, deadline.left())
        while not self._listening():
            if self.proc.poll() is not None or time.monotonic() > end:
                raise BenchError(f"opendkim does not listen on {self.address} "
                                 f"(exit status {self.proc.poll()})\n{tail(self.logfile)}")
            time.sleep(0.1)

    def stop(self):
        proc, self.proc = self.proc, None
        stop_proc(proc, "opendkim")


class HomemxRelayServer(HomemxServer):
    """homemxd for the outbound scenario: submission (STARTTLS on one port,
    implicit TLS on another) with AUTH, DKIM keys for example.test, and
    every remote domain relayed to the sink."""

    subdir = "homemx-out"
    user, password = SUB_USER, SUB_PASSWORD

    def __init__(self, base, build, sink_port, tls, concurrency):
        super().__init__(base, build)
        self.sink_port = sink_port
        self.cert, self.key = tls
        self.concurrency = concurrency
        self.sub_port = self.subs_port = self.dns_port = None

    def _config_text(self):
        c = self.concurrency
        return super()._config_text() + f"""\
# Outbound: submission with AUTH, DKIM-signed by homemx-dkimsign, every
# remote domain relayed to the sink.  DNS is never needed (the relay host
# is an IP literal); dns_server points at a closed loopback port so that
# nothing can reach the system resolver anyway.
listen submission 127.0.0.1:{self.sub_port}
listen submissions 127.0.0.1:{self.subs_port}
tls_certificate {self.cert}
tls_key {self.key}
dkim_key_dir {self.base}/dkim
retry_min 1s
retry_max 2s
max_connections_per_destination {c}
destination domain * relay=[127.0.0.1]:{self.sink_port} max_connections={c}
"""

    def start(self, deadline):
        self.sub_port, self.subs_port, self.dns_port = free_port(), free_port(), free_port()
        super().start(deadline)
        if not wait_greeting(self.sub_port, min(30, deadline.left()),
                             alive=lambda: self.proc.poll() is None):
            raise BenchError(f"homemx submission does not answer on 127.0.0.1:{self.sub_port}"
                             "\n" + self.describe_failure())

    def _prepare(self, deadline):
        # The submission role refuses to send unsigned: keys first.
        cp = run([self.mxctl, "-f", self.config, "dkim", "keygen", DOMAIN],
                 min(60, deadline.left()), check=False)
        if cp.returncode != 0:
            raise BenchError(f"mxctl dkim keygen {DOMAIN} failed (exit {cp.returncode}): "
                             + (cp.stdout + cp.stderr).decode(errors="replace").strip())

    def progress(self):
        """What the log says about relaying, for a failure report: roles
        missing or dying, warnings and errors, the relay results and the
        queue's deferral reasons counted, the last lines."""
        try:
            with open(self.logfile, errors="replace") as f:
                lines = f.read().splitlines()
        except OSError as e:
            return str(e)

        def counted(pattern):
            c = {}
            for ln in lines:
                m = re.search(pattern, ln)
                if m:
                    c[m.group(1)] = c.get(m.group(1), 0) + 1
            return ", ".join(f"{k} x{v}" for k, v in sorted(c.items())) or "none"
        notable = [ln for ln in lines if re.search(
            r"event=(warning|role_exit|role_restart|fatal|error)|fatal|panic", ln)]
        started = sorted(set(re.findall(r"event=role_start role=(\S+)", "\n".join(lines))))
        results = counted(r"event=relay .*?result=(\S+)")
        deferrals = counted(r"event=deferred .*?reason=(.*)$")
        return (f"roles started: {' '.join(started) or 'none'}\n"
                f"relay results: {results}\n"
                f"queue deferrals: {deferrals}\n"
                f"messages in the spool: {count_spool(self.base)}\n"
                + "".join(ln + "\n" for ln in notable[:10])
                + f"--- {self.logfile} (last lines) ---\n{tail(self.logfile, 8)}")


def count_spool(base):
    n = 0
    for _, _, files in os.walk(os.path.join(base, "spool")):
        n += sum(1 for f in files if f.endswith(".env"))
    return n


class PostfixRelayServer(PostfixServer):
    """A private Postfix for the outbound scenario: submission (STARTTLS
    port and wrapper-mode TLS port) with SASL through a private Dovecot
    when there is one (else relay is allowed to mynetworks, over TLS all
    the same), the sender checked against the login, an optional DKIM
    milter, and everything relayed to the sink with DNS off."""

    def __init__(self, base, uid, gid, name, sink_port, tls, concurrency,
                 sasl_port=None, milter=None):
        self.name = name
        self.subdir = "pf-" + re.sub(r"[^a-z0-9]+", "-", name)
        super().__init__(base, uid, gid)
        self.sink_port = sink_port
        self.cert, self.key = tls
        self.concurrency = concurrency
        self.sasl_port, self.milter = sasl_port, milter
        self.sub_port = self.subs_port = None

    def _main_cf(self):
        c, nh = self.concurrency, f"[127.0.0.1]:{self.sink_port}"
        sasl = ""
        if self.sasl_port:
            sasl = f"""\
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:{self.sasl_port}
smtpd_sasl_authenticated_header = no
smtpd_sender_login_maps = inline:{{ {SUB_USER}={SUB_USER} }}
"""
        milter = ""
        if self.milter:
            milter = f"""\
# DKIM signing by OpenDKIM; a milter failure is a temporary error, never
# an unsigned message (homemx's rule too).
smtpd_milters = {self.milter}
non_smtpd_milters = $smtpd_milters
milter_default_action = tempfail
milter_protocol = 6
"""
        return f"""\
# Private benchmark instance written by scripts/bench -- loopback only.
compatibility_level = 3.6
config_directory = {self.conf}
queue_directory = {self.queue}
data_directory = {self.data}
maillog_file = {self.maillog}
maillog_file_prefixes = {self.base}
myhostname = mx.example.test
mydomain = {DOMAIN}
myorigin = $mydomain
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains =
# Every remote domain goes to the sink; the next hop is an IP literal and
# DNS is off, so nothing is ever looked up.
relayhost = {nh}
default_transport = smtp:{nh}
relay_transport = smtp:{nh}
local_transport = error:local delivery disabled in benchmark
disable_dns_lookups = yes
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtp_host_lookup = native
smtp_tls_security_level = none
# The same connection limit toward the sink as homemx.
default_destination_concurrency_limit = {c}
smtp_destination_concurrency_limit = {c}
minimal_backoff_time = 1s
maximal_backoff_time = 2s
queue_run_delay = 1s
smtpd_tls_cert_file = {self.cert}
smtpd_tls_key_file = {self.key}
smtpd_tls_auth_only = yes
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
{sasl}{milter}default_process_limit = 100
biff = no
readme_directory = no
# Defaults kept on purpose: queue files are fsync()ed, in_flow_delay = 1s.
"""

    def _master_cf(self):
        if self.sasl_port:
            access = ("  -o smtpd_sasl_auth_enable=yes\n"
                      "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject\n"
                      "  -o smtpd_sender_restrictions=reject_sender_login_mismatch\n"
                      "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
                      "  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n")
        else:
            access = ("  -o smtpd_relay_restrictions=permit_mynetworks,reject\n"
                      "  -o smtpd_recipient_restrictions=permit_mynetworks,reject\n")
        common = "  -o smtpd_tls_security_level=encrypt\n" + access + \
                 "  -o milter_macro_daemon_name=ORIGINATING\n"
        return super()._master_cf() + f"""\
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
127.0.0.1:{self.sub_port} inet n  -       n       -       -       smtpd
  -o syslog_name=postfix/submission
{common}127.0.0.1:{self.subs_port} inet n  -       n       -       -       smtpd
  -o syslog_name=postfix/submissions
  -o smtpd_tls_wrappermode=yes
{common}"""

    def start(self, deadline):
        self.sub_port, self.subs_port = free_port(), free_port()
        super().start(deadline)
        if not wait_greeting(self.sub_port, min(30, deadline.left())):
            raise BenchError(f"{self.name} submission does not answer on "
                             f"127.0.0.1:{self.sub_port}\n" + self.describe_failure())

    def progress(self):
        return f"{self.queue_count()} still in Postfix's queue\n" + self.describe_failure()
