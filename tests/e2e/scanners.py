"""tests/e2e/scanners.py - private instances of the real content scanners
(rspamd, SpamAssassin's spamd, ClamAV's clamd) for the e2e tests, and small
Python fakes of a scanner (silent, garbage, recording).

Owns: each daemon's private config under a test's directory, its UNIX
socket there, its log, and its process. Nothing here touches the network
or the system's scanner configs:
  - rspamd runs one normal worker on a UNIX socket and a loopback TCP
    port, with only the C regexp module and one local rule (HMX_CHEAP);
    no Lua plugin is configured, so
    nothing fetches maps or queries DNS (its resolver points at 127.0.0.1:9,
    where nothing answers); its TLD list is a five-line local file (the
    packaged one takes half a minute to compile); GTUBE is built in.
  - spamd runs with -L (local tests only), a private rules dir (GTUBE and
    HMX_CHEAP) and a private site dir that loads only the Check plugin: no
    Bayes, no DNS, no Razor/Pyzor, no user configs.
  - clamd loads one .ndb signature made here for the EICAR test file (never
    freshclam, never the packaged databases), with a small StreamMaxLength
    so that "over clamd's own limit" can be tested with a 200 KB message.
Each start waits for a sign (a log line and the socket), never a sleep.
When run as root the daemons drop to nobody/nogroup, so their directories
are made world-writable.
"""

import os
import shutil
import socket
import subprocess
import threading

import harness

# The test strings, built from pieces so that this file itself is neither
# spam nor a virus to a scanner that reads the repository.
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*" + "GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CLAMD_STREAM_MAX = 100 * 1024


def _as_root():
    return os.geteuid() == 0


def _open_dir(path):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o777 if _as_root() else 0o755)
    return path


class Daemon(harness.LogWatch):
    """One scanner process: start() writes its config, runs it and waits
    for its sign; stop() ends it (SIGTERM, then SIGKILL)."""

    name = "?"
    ready_line = None

    def __init__(self, root):
        self.dir = _open_dir(os.path.join(root, self.name))
        self.socket = os.path.join(self.dir, f"{self.name}.sock")
        self.log_path = os.path.join(self.dir, f"{self.name}.log")
        self.proc = None

    def argv(self):
        raise NotImplementedError

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        if shutil.which(self.argv()[0]) is None:
            raise FileNotFoundError(f"{self.argv()[0]} is not installed "
                                    "(scripts/install-deps installs it)")
        out = open(os.path.join(self.dir, "stdout"), "wb")
        self.proc = subprocess.Popen(self.argv(), stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir)
        out.close()
        self.wait_log(self.ready_line)
        harness.wait_until(lambda: os.path.exists(self.socket), what=f"{self.socket}")
        return self

    def stop(self):
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=harness.WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


class Rspamd(Daemon):
    """Listens on its UNIX socket and on 127.0.0.1:self.port."""
    name = "rspamd"
    ready_line = "starting normal process"

    def __init__(self, root):
        super().__init__(root)
        self.port = harness.free_port()

    def argv(self):
        conf = os.path.join(self.dir, "rspamd.conf")
        db = _open_dir(os.path.join(self.dir, "db"))
        tld = os.path.join(self.dir, "tld.dat")
        with open(tld, "w") as f:
            f.write("com\nnet\norg\ntest\nexample\n")
        with open(conf, "w") as f:
            f.write(f"""# private rspamd for tests/e2e: local rules only, nothing from the network
options {{
    pidfile = "{self.dir}/rspamd.pid";
    filters = "regexp";
    dbdir = "{db}";
    tempdir = "{db}";
    url_tld = "{tld}";
    allow_raw_input = true;
    disable_hyperscan = true;
    task_timeout = 8s;
    dns {{
        nameserver = ["127.0.0.1:9"];
        timeout = 1s;
        retransmits = 1;
    }}
}}
logging {{
    type = "file";
    filename = "{self.log_path}";
    level = "info";
}}
actions {{
    reject = 15;
    add_header = 6;
    greylist = 4;
}}
worker "normal" {{
    bind_socket = "{self.socket} mode=0666";
    bind_socket = "127.0.0.1:{self.port}";
    count = 1;
}}
regexp {{
    HMX_CHEAP {{
        re = "/cheap pills/i{{sa_body}}";
        score = 7.5;
        description = "homemx test rule";
    }}
}}
""")
        argv = ["rspamd", "-c", conf, "-f"]
        if _as_root():
            argv += ["-u", "nobody", "-g", "nogroup"]
        return argv


class Spamd(Daemon):
    name = "spamd"
    ready_line = "server started on UNIX domain socket"

    def argv(self):
        rules = _open_dir(os.path.join(self.dir, "rules"))
        site = _open_dir(os.path.join(self.dir, "site"))
        home = _open_dir(os.path.join(self.dir, "home"))
        with open(os.path.join(site, "init.pre"), "w") as f:
            f.write("loadplugin Mail::SpamAssassin::Plugin::Check\n")
        with open(os.path.join(rules, "10_homemx_test.cf"), "w") as f:
            f.write("required_score 5.0\nuse_bayes 0\nbayes_auto_learn 0\n"
                    "dns_available no\n"
                    "body GTUBE /" + GTUBE.replace("*", "\\*").replace(".", "\\.") + "/\n"
                    "score GTUBE 1000.000\n"
                    "body HMX_CHEAP /cheap pills/i\nscore HMX_CHEAP 3.5\n")
        for d in (rules, site):
            for n in os.listdir(d):
                os.chmod(os.path.join(d, n), 0o644)
        argv = ["spamd", "-L", "-x", f"--configpath={rules}", f"--siteconfigpath={site}",
                f"--socketpath={self.socket}", "-H", home, "-m", "2", "--min-children=1",
                "-s", self.log_path, "-r", os.path.join(self.dir, "spamd.pid")]
        if _as_root():
            argv += ["-u", "nobody"]
        return argv


class Clamd(Daemon):
    name = "clamd"
    ready_line = "Self checking every"     # logged once its socket listens

    def argv(self):
        db = _open_dir(os.path.join(self.dir, "db"))
        # one body signature (clamd's .ndb: Name:TargetType:Offset:Hex); clamd
        # finds it in a MIME part too, and reports it as NAME.UNOFFICIAL
        with open(os.path.join(db, "homemx-test.ndb"), "w") as f:
            f.write("Eicar-Signature:0:*:" + EICAR.encode().hex() + "\n")
        conf = os.path.join(self.dir, "clamd.conf")
        with open(conf, "w") as f:
            f.write(f"LocalSocket {self.socket}\nDatabaseDirectory {db}\nForeground yes\n"
                    f"LogFile {self.log_path}\nTemporaryDirectory {db}\n"
                    f"StreamMaxLength {CLAMD_STREAM_MAX}\nMaxThreads 4\n")
        return ["clamd", "-c", conf]


class FakeScanner:
    """A UNIX socket server in a thread: 'silent' accepts and never answers;
    'garbage' answers nonsense at once; 'record' reads one spamd-protocol
    request (head and Content-length bytes), keeps it in self.requests and
    answers a clean spamd verdict (or self.reply)."""

    def __init__(self, path, mode, reply=None):
        self.path, self.mode = path, mode
        self.reply = reply or b"SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: False ; 0.0 / 5.0\r\n\r\n"
        self.requests = []
        self.accepted = 0
        self.held = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.listen(16)
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            if self.mode == "silent":
                self.held.append(conn)      # open, never answered
                continue
            with conn:
                if self.mode == "garbage":
                    conn.sendall(b"220 this is not a scanner\r\n")
                    continue
                self.requests.append(self.read_request(conn))
                conn.sendall(self.reply)

    @staticmethod
    def read_request(conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body

    def stop(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)    # wakes the blocked accept()
        except OSError:
            pass
        self.sock.close()
        for c in self.held:
            c.close()
        self.thread.join(timeout=harness.WAIT)
        if os.path.exists(self.path):
            os.unlink(self.path)
