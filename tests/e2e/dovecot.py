#!/usr/bin/python3
"""Private Dovecot IMAP instance for homemx end-to-end tests.

Why: homemx delivers mail into Maildirs.  The strongest check that those
Maildirs are usable is to let a real, independent IMAP server read them back.
This module starts a throw-away Dovecot (stdlib only, no system services
touched) that serves <maildir_root>/<domain>/<localpart>/ over plain IMAP on
127.0.0.1 and lets a test fetch every message byte-for-byte.

    with Dovecot(maildir_root, mail_uid, mail_gid, workdir) as dc:
        msgs = dc.fetch_all("kim@example.test")    # list[bytes], UID order

Details:
  * Everything Dovecot writes at runtime (base_dir, state_dir, log file,
    index and control files) lives under `workdir`; nothing in /etc/dovecot,
    /run/dovecot or /var/lib/dovecot is used.  Dovecot's own index/uidlist
    files are kept out of the Maildir (INDEX=/CONTROL= under workdir), so the
    Maildir only ever contains what homemx wrote (plus Dovecot's renames, see
    below).
  * Any user logs in with password "test" (static passdb); the static userdb
    maps user@domain to uid/gid mail_uid/mail_gid and
    maildir:<maildir_root>/%d/%n.  With auth_conf (the text of homemx's
    conf/dovecot/99-homemx.conf, its paths pointed at the test's), that
    text replaces the static passdb, userdb and mail_location: logins then
    take the passwords mxctl wrote.
  * lmtp=True also serves LMTP on the UNIX socket self.lmtp_path.
  * imap() and fetch_all() take UTF-8 user names (dëmo@example.test): they
    log in with AUTHENTICATE PLAIN then, as imaplib's LOGIN is ASCII only.
    Dovecot 2.3 refuses such a name unless auth_username_chars is empty
    (conf/dovecot/99-homemx.conf sets it, and so does the static config
    here; with auth_conf only the shipped text decides).
  * fetch_all() opens INBOX with EXAMINE (read-only): no \\Seen flags are
    set and (verified with Dovecot 2.3.19) files stay in new/.  A read-write
    SELECT (e.g. via imap()) makes Dovecot move them to cur/ with a ":2,"
    suffix, so count files in new/ before doing that.
  * Line endings: IMAP always sends CRLF.  Dovecot returns a CRLF Maildir
    file byte-exact and converts bare LF to CRLF (bare CR is passed through).
  * A ",S=<n>" size in a Maildir file name must equal the file's real size:
    a wrong value makes FETCH fail with "Internal error occurred" ("Cached
    message size larger than expected" in the log).
  * Meant to be run as root (Dovecot's master must be root to switch to
    mail_uid and to the dovenull/dovecot login users).

Run this file directly for a self-test (as root):
    /usr/bin/python3 tests/e2e/dovecot.py [--uid UID --gid GID]
"""

import imaplib
import os
import re
import shutil
import signal
import socket
import subprocess
import time

from harness import WAIT, LogWatch, free_port

DOVECOT_BIN = "/usr/sbin/dovecot"
IMAP_PASSWORD = "test"


class DovecotError(RuntimeError):
    pass


class _FromAddress(imaplib.IMAP4):
    """IMAP4 from a chosen source address: Dovecot's auth penalty (up to
    15 s per login after failures) is counted per client address."""

    def __init__(self, source, host, port, timeout):
        self._source = source
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self._source, 0))


_sources = iter(f"127.0.{b}.{c}" for b in range(1, 255) for c in range(1, 255))


class Dovecot(LogWatch):
    """A private Dovecot serving IMAP on 127.0.0.1:<self.port>."""

    START_TIMEOUT = WAIT   # seconds to wait for the IMAP port
    STOP_TIMEOUT = 10.0    # seconds to wait for the master to exit

    def __init__(self, maildir_root, mail_uid, mail_gid, workdir, auth_conf=None,
                 lmtp=False):
        self.auth_conf = auth_conf
        self.lmtp = lmtp
        self.maildir_root = os.path.abspath(maildir_root)
        self.mail_uid = int(mail_uid)
        self.mail_gid = int(mail_gid)
        self.workdir = os.path.abspath(workdir)
        self.conf_path = os.path.join(self.workdir, "dovecot.conf")
        self.base_dir = os.path.join(self.workdir, "run")
        self.state_dir = os.path.join(self.workdir, "state")
        self.log_path = os.path.join(self.workdir, "dovecot.log")
        # Per-user Dovecot metadata (indexes, dovecot-uidlist) goes here, not
        # into the Maildir under test.  Must be writable by mail_uid.
        self.meta_dir = os.path.join(self.workdir, "meta")
        self.lmtp_path = os.path.join(self.base_dir, "lmtp")
        self.port = None
        self._proc = None

    # ------------------------------------------------------------------
    # configuration
    # ------------------------------------------------------------------
    def _config(self):
        user_mail = ("maildir:{root}/%d/%n"
                     ":INDEX={meta}/%d/%n/index"
                     ":CONTROL={meta}/%d/%n/control").format(
                         root=self.maildir_root, meta=self.meta_dir)
        auth = f"""
passdb {{
  driver = static
  args = password={IMAP_PASSWORD}
}}
userdb {{
  driver = static
  args = uid={self.mail_uid} gid={self.mail_gid} home={self.maildir_root}/%d/%n mail={user_mail}
}}
mail_location = {user_mail}
# UTF-8 user names (RFC 6531 addresses): allow every character
auth_username_chars =
""" if self.auth_conf is None else "\n# --- homemx's shipped config ---\n" + self.auth_conf
        lmtp = """
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
""" if self.lmtp else ""
        return f"""\
# Generated by tests/e2e/dovecot.py -- private test instance, do not edit.
protocols = imap{" lmtp" if self.lmtp else ""}
listen = 127.0.0.1
base_dir = {self.base_dir}
state_dir = {self.state_dir}
instance_name = homemx-test-{os.getpid()}-{self.port}
log_path = {self.log_path}
info_log_path = {self.log_path}
debug_log_path = {self.log_path}
auth_verbose = yes
# Default privilege-separation users (created by the Debian package).
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
# The test mail user may be a --system user or nobody: allow any uid but 0.
first_valid_uid = 1
first_valid_gid = 1

ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
# Tests try wrong passwords on purpose: no delay after a failure (the
# penalty that grows per client address is avoided by imap(), which
# connects from a new loopback address each time).
auth_failure_delay = 0

# One namespace holding INBOX (Dovecot needs exactly one inbox namespace).
namespace inbox {{
  inbox = yes
}}

service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
{lmtp}{auth}"""

    # ------------------------------------------------------------------
    # lifecycle
    # ------------------------------------------------------------------
    def start(self):
        if self._proc is not None:
            raise DovecotError("already started")
        os.makedirs(self.workdir, exist_ok=True)
        # Login/imap processes run as other users and must be able to reach
        # their sockets in base_dir: keep the tree traversable.
        os.chmod(self.workdir, 0o755)
        for d in (self.base_dir, self.state_dir, self.meta_dir):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
        if os.geteuid() == 0:
            os.chown(self.meta_dir, self.mail_uid, self.mail_gid)
        # Unix socket paths are limited to 108 bytes.
        if len(self.base_dir) > 80:
            raise DovecotError(f"workdir path too long for unix sockets: {self.base_dir}")

        self.port = free_port()
        with open(self.conf_path, "w") as f:
            f.write(self._config())
        open(self.log_path, "a").close()

        self._proc = subprocess.Popen(
            [DOVECOT_BIN, "-F", "-c", self.conf_path],
            stdin=subprocess.DEVNULL,
            stdout=open(os.path.join(self.workdir, "dovecot.stdout"), "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,   # keep Ctrl-C for the test runner
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + self.START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise DovecotError(
                    f"dovecot exited with status {self._proc.returncode}\n"
                    + self._diagnostics())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    # A greeting proves the login process (not just the
                    # master's listening socket) is alive.
                    s.settimeout(2)
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise DovecotError(
            f"dovecot did not accept IMAP on 127.0.0.1:{self.port} within "
            f"{self.START_TIMEOUT:.0f}s\n" + self._diagnostics())

    def _diagnostics(self):
        out = []
        for p in (self.log_path, os.path.join(self.workdir, "dovecot.stdout")):
            try:
                with open(p, errors="replace") as f:
                    out.append(f"--- {p} ---\n{f.read()}")
            except OSError as e:
                out.append(f"--- {p}: {e}")
        return "\n".join(out)

    def stop(self):
        """Stop the master (its children exit with it). Idempotent."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(self.STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            # Master is hung: kill its whole session (children included).
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # ------------------------------------------------------------------
    # IMAP helpers
    # ------------------------------------------------------------------
    def imap(self, user, password=IMAP_PASSWORD):
        """A logged-in imaplib connection for `user` (caller must logout)."""
        conn = _FromAddress(next(_sources), "127.0.0.1", self.port, timeout=30)
        try:
            if (user + password).isascii():
                conn.login(user, password)
            else:
                # imaplib sends LOGIN's strings as ASCII quoted strings (RFC
                # 3501 has no 8-bit there); SASL PLAIN carries UTF-8 (RFC 4616)
                conn.authenticate("PLAIN", lambda _: b"\0" + user.encode() + b"\0"
                                  + password.encode())
        except BaseException:
            conn.shutdown()
            raise
        return conn

    def fetch_all(self, user, password=IMAP_PASSWORD):
        """Full RFC822 bytes (BODY.PEEK[]) of every INBOX message of `user`,
        in UID order.  The mailbox is opened read-only."""
        try:
            return self._fetch_all(user, password)
        except imaplib.IMAP4.error as e:
            # Server-side problems (e.g. "Internal error occurred") are only
            # explained in Dovecot's log; attach it.
            raise DovecotError(f"IMAP error for {user}: {e}\n--- dovecot log ---\n"
                               + self.log()) from e

    def _fetch_all(self, user, password):
        conn = self.imap(user, password)
        try:
            typ, data = conn.select("INBOX", readonly=True)
            if typ != "OK":
                raise DovecotError(f"EXAMINE INBOX failed: {data!r}\n{self.log()}")
            if int(data[0]) == 0:
                return []
            typ, data = conn.uid("FETCH", "1:*", "(BODY.PEEK[])")
            if typ != "OK":
                raise DovecotError(f"FETCH failed: {data!r}\n{self.log()}")
            msgs = []
            for item in data:
                # Literal responses come back as (b'N (UID u BODY[] {len}', body);
                # the closing b')' entries are plain bytes.
                if not isinstance(item, tuple):
                    continue
                m = re.search(rb"UID (\d+)", item[0])
                if m is None:
                    raise DovecotError(f"unexpected FETCH response {item[0]!r}")
                msgs.append((int(m.group(1)), item[1]))
            msgs.sort()
            return [body for _, body in msgs]
        finally:
            try:
                conn.logout()
            except Exception:
                pass


# ----------------------------------------------------------------------
# self-test
# ----------------------------------------------------------------------
def _selftest(uid, gid):
    import tempfile

    # Each case: (description, bytes on disk, bytes IMAP must return).
    # IMAP transmits messages with CRLF line endings, so an LF-only Maildir
    # file is expected to come back converted; a CRLF file byte-exact.
    lf = (b"From: a@example.org\nTo: kim@example.test\nSubject: lf\n"
          b"Message-ID: <lf@example.org>\n\nhello\n.dot line\nbye\n")
    crlf = (b"From: a@example.org\r\nTo: kim@example.test\r\nSubject: crlf\r\n"
            b"Message-ID: <crlf@example.org>\r\n\r\nhello\r\n.dot line\r\n"
            b"trailing spaces   \r\n\r\nbye\r\n")
    cases = [
        ("LF line endings", lf, lf.replace(b"\n", b"\r\n")),
        ("CRLF line endings", crlf, crlf),
    ]

    ok = True
    for desc, on_disk, expected in cases:
        tmp = tempfile.mkdtemp(prefix="hmx-dc-")
        try:
            os.chmod(tmp, 0o755)
            root = os.path.join(tmp, "maildirs")
            md = os.path.join(root, "example.test", "kim")
            for sub in ("", "cur", "new", "tmp"):
                os.makedirs(os.path.join(md, sub), exist_ok=True)
            name = f"{int(time.time())}.M1P{os.getpid()}.mx.example.test"
            with open(os.path.join(md, "new", name), "wb") as f:
                f.write(on_disk)
            for dirpath, dirnames, filenames in os.walk(root):
                for n in [dirpath] + [os.path.join(dirpath, x) for x in filenames]:
                    os.chmod(n, 0o755 if os.path.isdir(n) else 0o644)
                    os.chown(n, uid, gid)

            with Dovecot(root, uid, gid, os.path.join(tmp, "dovecot")) as dc:
                got = dc.fetch_all("kim@example.test")
                empty = dc.fetch_all("nobody-here@example.test")
                log = dc.log()
            good = got == [expected] and empty == []
            ok &= good
            print(f"[{'PASS' if good else 'FAIL'}] {desc}: on disk {len(on_disk)} bytes,"
                  f" IMAP returned {[len(g) for g in got]} bytes,"
                  f" byte-exact with disk: {got == [on_disk]}")
            if not good:
                print(f"  expected: {expected!r}\n  got:      {got!r}\n{log}")
            print("  maildir after fetch:",
                  sorted(os.path.relpath(os.path.join(d, f), md)
                         for d, _, fs in os.walk(md) for f in fs))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return ok


if __name__ == "__main__":
    import argparse
    import pwd
    import sys

    ap = argparse.ArgumentParser(description="Self-test of the private Dovecot helper (run as root).")
    nobody = pwd.getpwnam("nobody")
    ap.add_argument("--uid", type=int, default=nobody.pw_uid)
    ap.add_argument("--gid", type=int, default=nobody.pw_gid)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("self-test must run as root (Dovecot needs to switch users)")
    sys.exit(0 if _selftest(a.uid, a.gid) else 1)
