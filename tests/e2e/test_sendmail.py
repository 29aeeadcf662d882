"""tests/e2e/test_sendmail.py - sendmail(8) for local programs, end to end.

Owns: the proof that homemx-sendmail, run as an unprivileged user
(setpriv) against the real daemon's local socket (`listen local`), does
what man/sendmail.8 and README.md's "sendmail for local programs" say:
  - cron-style `printf ... | sendmail -t` with To:, Cc: and Bcc: reaches
    each recipient, the Bcc: field is gone from every copy, both DKIM
    signatures verify (dkimpy, TXT records computed by openssl), and the
    sender is the caller's LOGIN@hostname, signed by the configured domain
    above the host name;
  - recipients as arguments, unqualified addresses completed, a mapped
    login (local_sender) and its subaddress as -f, Received: naming the
    uid the kernel gave;
  - -f the user does not own: EX_NOPERM, nothing queued; -f/-F with CR or
    LF: EX_DATAERR before anything is sent; -F not ASCII: RFC 2047;
  - a 30 MB message goes through with sendmail's memory bounded (its
    maximum RSS, from wait4), a message over max_message_size is
    EX_DATAERR;
  - a sendmail killed in the middle of the body queues nothing;
  - -bs: SMTP on stdin/stdout under the same rules (a sender not owned
    is 553, the message is signed);
  - no daemon: EX_TEMPFAIL before stdin is read, so the caller still has
    the message; a user outside the group homemx-send cannot connect; the
    setgid program ignores the test's socket variable (secure_getenv);
  - the submission role down (killed, its restart a few seconds off):
    homemxd answers the local socket with 421 itself, so sendmail exits
    EX_TEMPFAIL at once instead of waiting for a greeting; once the role
    is back, mail flows again;
  - mailq (and -bp) prints what `mxctl queue list` prints, as the caller
    (root here; a user outside the admin group is told no);
The socket's group is made by homemxd; sendmail runs with that group as
a supplementary group, the way the setgid program gets it.
"""

import email
import email.header
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import dkim

import harness
from harness import WAIT, Homemx
from test_submission import dkim_keys

def others_can_reach(path):
    """True if a user who owns nothing on the way (nobody) may execute
    path: every directory above it has o+x and the file has o+x."""
    path = os.path.realpath(path)
    d = os.path.dirname(path)
    while True:
        if not os.stat(d).st_mode & 0o001:
            return False
        if d == "/":
            break
        d = os.path.dirname(d)
    return bool(os.stat(path).st_mode & 0o001)


EX_OK, EX_USAGE, EX_DATAERR, EX_NOUSER, EX_TEMPFAIL, EX_NOPERM = 0, 64, 65, 67, 75, 77
USERS = [("kim@example.test", "secret"), ("lee@example.test", "secret2"),
         ("ann@example.test", "secret3")]
MAPPED = "hmxsm-kim"        # a login mapped to kim@example.test (local_sender)
GROUP = "homemx-send"


def setUpModule():
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root: role users, setpriv to other users")
    if subprocess.run(["getent", "passwd", MAPPED], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir",
                        "/nonexistent", "--shell", "/usr/sbin/nologin", MAPPED], check=True)


def tearDownModule():
    subprocess.run(["userdel", MAPPED], capture_output=True)


class LocalHomemx(Homemx):
    """An instance with the local socket in its own directory. Submission
    runs for `listen local` alone; its /proc comm is cut at 15 bytes."""

    max_size = "40M"

    def write_config(self):
        self.extra_conf = (f"listen local {self.dir}/sendmail/socket\n"
                           f"local_sender {MAPPED} kim@example.test\n"
                           f"max_message_size {self.max_size}\n")
        super().write_config()

    def roles(self):
        return list(harness.ROLES)

    def role_pids(self):
        pids = super().role_pids()
        if "submissi" in pids:
            pids["submission"] = pids.pop("submissi")
        return pids


class TestSendmail(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sendmail = os.path.join(harness.BUILD, "homemx-sendmail")
        if not os.access(cls.sendmail, os.X_OK):
            raise unittest.SkipTest("homemx-sendmail not built")
        cls.h = LocalHomemx(users=USERS)
        try:
            cls.h.start()
            cls.txt = dkim_keys(cls.h)
        except BaseException:
            cls.h.stop(check_sanitizers=False)
            cls.h.cleanup()
            raise
        cls.socket = os.path.join(cls.h.dir, "sendmail", "socket")

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.h.cleanup()

    # -- helpers -----------------------------------------------------------
    def run_as(self, user, args, data=b"", group=True, env=None, binary=None):
        """sendmail ARGS as user, with the group homemx-send as a
        supplementary group unless group is False; returns (rc, stderr)."""
        p = self.popen_as(user, args, group=group, env=env, binary=binary)
        _, err = p.communicate(data, timeout=WAIT * 4)
        return p.returncode, err.decode(errors="replace")

    def popen_as(self, user, args, group=True, env=None, binary=None):
        pw = pwd.getpwnam(user)
        groups = str(grp.getgrnam(GROUP).gr_gid) if group else "-"
        e = {"PATH": "/usr/bin:/bin", "HOMEMX_SENDMAIL_SOCKET": self.socket}
        if "ASAN_OPTIONS" in os.environ:
            e["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"]
        e.update(env or {})
        cmd = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
               "--groups" if group else "--clear-groups"]
        if group:
            cmd.append(groups)
        cmd += ["--", binary or self.sendmail] + list(args)
        return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=e)

    def verify_dkim(self, msg):
        head = msg.split(b"\r\n\r\n")[0] if b"\r\n\r\n" in msg else msg.split(b"\n\n")[0]
        self.assertEqual(head.count(b"DKIM-Signature:"), 2, head.decode())
        for sig in range(2):
            d = dkim.DKIM(msg)
            self.assertTrue(d.verify(idx=sig, dnsfunc=lambda name, timeout=5: self.txt.get(name)),
                            f"signature {sig} does not verify:\n{head.decode()}")

    def sanitized(self):
        """The AddressSanitizer build (make O=build-asan SAN=1)."""
        with open(self.sendmail, "rb") as f:
            return b"__asan_init" in f.read()

    def count(self, address):
        return len(self.h.messages(address))

    def message_with(self, address, token, timeout=WAIT):
        """The one message for address that holds token."""
        def found():
            got = [m for m in self.h.messages(address) if token in m]
            return got[0] if len(got) == 1 else None
        return self.h.wait_for(found, timeout, f"a message with {token!r} for {address}")


    def test_socket_is_for_the_group_only(self):
        st = os.stat(self.socket)
        self.assertEqual(st.st_mode & 0o777, 0o660)
        self.assertEqual(st.st_gid, grp.getgrnam(GROUP).gr_gid)
        dst = os.stat(os.path.dirname(self.socket))
        self.assertEqual(dst.st_mode & 0o777, 0o750)
        self.assertEqual((dst.st_uid, dst.st_gid), (0, grp.getgrnam(GROUP).gr_gid))
        # without the group: refused by the kernel, EX_TEMPFAIL, nothing sent
        rc, err = self.run_as("nobody", ["kim@example.test"], b"Subject: x\n\nhi\n", group=False)
        self.assertEqual(rc, EX_TEMPFAIL, err)
        self.assertIn("cannot reach the mail system", err)

    def test_cron_style_t_with_to_cc_bcc(self):
        msg = (b"To: kim@example.test\nCc: Lee <lee@example.test>\n"
               b"Bcc: ann@example.test\nSubject: Cron <nobody@host> run-parts\n\n"
               b"output of the job\n.leading dot\n")
        # submission's lines reach the log through homemxd's pipe, maybe
        # after the message: count them now, wait for them at the end
        senders = self.h.count("event=sender sess=")
        local_clients = self.h.count("sender=<nobody@mx.example.test>")
        rc, err = self.run_as("nobody", ["-t", "-i"], msg)
        self.assertEqual(rc, EX_OK, err)
        for a, _ in USERS:
            got = self.message_with(a, b"Subject: Cron <nobody@host> run-parts")
            self.assertNotIn(b"Bcc:", got)
            self.assertNotIn(b"ann@example.test", got.split(b"\r\n\r\n")[0].replace(
                b"Delivered-To: ann@example.test", b""))
            self.assertIn(b"From: nobody@mx.example.test", got)
            self.assertIn(b"\r\n.leading dot\r\n", got)
            self.assertRegex(got, rb"Received: from local \(uid 65534 nobody\)")
            self.assertIn(b"Message-ID:", got)
            self.assertIn(b"Date:", got)
            self.verify_dkim(self.strip_delivery_fields(got))
        self.h.wait_log("event=sender sess=", start_count=senders)
        self.h.wait_log("sender=<nobody@mx.example.test>", start_count=local_clients)
        self.assertIn(b"d=example.test;", self.message_with("kim@example.test", b"run-parts"))

    def test_cron_from_root_is_the_calling_user(self):
        """cron (Debian's too) writes "From: root (Cron Daemon)" for every
        user's job and runs sendmail as that user, with these options."""
        msg = (b"From: root (Cron Daemon)\nTo: lee@example.test\n"
               b"Subject: Cron <nobody@host> /usr/local/bin/job\n"
               b"Auto-Submitted: auto-generated\n\njob output\n")
        rc, err = self.run_as("nobody", ["-FCronDaemon", "-i", "-B8BITMIME", "-oem",
                                         "lee@example.test"], msg)
        self.assertEqual(rc, EX_OK, err)
        got = self.message_with("lee@example.test", b"/usr/local/bin/job")
        self.assertIn(b"\r\nFrom: nobody@mx.example.test (Cron Daemon)\r\n", got)
        self.assertNotIn(b"root@", got)
        self.verify_dkim(self.strip_delivery_fields(got))

    def strip_delivery_fields(self, msg):
        """The message as signed: delivery prepends Delivered-To: and
        Return-Path:, which come before the signatures and are not signed."""
        lines = msg.split(b"\r\n")
        while lines and (lines[0].startswith(b"Delivered-To:") or
                         lines[0].startswith(b"Return-Path:")):
            lines.pop(0)
        return b"\r\n".join(lines)

    def test_arguments_are_recipients(self):
        rc, err = self.run_as("nobody", ["lee@example.test"], b"just a body\nline two\n")
        self.assertEqual(rc, EX_OK, err)
        got = self.message_with("lee@example.test", b"just a body")
        self.assertIn(b"From: nobody@mx.example.test\r\n", got)
        self.assertIn(b"\r\n\r\njust a body\r\nline two\r\n", got)

    def test_lone_dot_ends_input_without_i(self):
        rc, err = self.run_as("nobody", ["lee@example.test"],
                              b"Subject: dots\n\nbefore\n.\nafter\n")
        self.assertEqual(rc, EX_OK, err)
        got = self.message_with("lee@example.test", b"Subject: dots")
        self.assertIn(b"before\r\n", got)
        self.assertNotIn(b"after", got)

    def test_mapped_login_owns_its_subaddress(self):
        rc, err = self.run_as(MAPPED, ["-f", "kim+cron@example.test", "-F", 'Kim\'s cron, "daily"',
                                       "lee@example.test"], b"Subject: mapped\n\nhi\n")
        self.assertEqual(rc, EX_OK, err)
        got = self.message_with("lee@example.test", b"Subject: mapped")
        self.assertIn(b'From: "Kim\'s cron, \\"daily\\"" <kim+cron@example.test>', got)
        self.assertIn(b"Return-Path: <kim+cron@example.test>", got)

    def test_f_not_owned_is_refused(self):
        n = self.count("lee@example.test")
        rc, err = self.run_as("nobody", ["-f", "kim@example.test", "lee@example.test"],
                              b"Subject: forged\n\nhi\n")
        self.assertEqual(rc, EX_NOPERM, err)
        self.assertIn("553 5.7.1", err)
        # a From: header naming someone else: refused as well
        rc, err = self.run_as(MAPPED, ["lee@example.test"],
                              b"From: lee@example.test\nSubject: forged\n\nhi\n")
        self.assertEqual(rc, EX_NOPERM, err)
        self.assertIn("550 5.7.1", err)
        self.h.wait_log("verdict=not_owned", n=2)
        self.h.wait_queue_empty()
        self.assertEqual(self.count("lee@example.test"), n)

    def test_header_injection_is_refused(self):
        for args in (["-f", "nobody@mx.example.test\r\nBcc: ann@example.test"],
                     ["-F", "Evil\r\nBcc: ann@example.test"],
                     ["-F", "Evil\nX: y"]):
            rc, err = self.run_as("nobody", args + ["lee@example.test"], b"hi\n")
            self.assertEqual(rc, EX_DATAERR, f"{args}: {err}")
        rc, err = self.run_as("nobody", ["lee@example.test\r\nRCPT TO:<ann@example.test>"], b"x\n")
        self.assertEqual(rc, EX_DATAERR, err)

    def test_fullname_not_ascii_is_encoded(self):
        rc, err = self.run_as("nobody", ["-F", "Jürgen Müller", "lee@example.test"],
                              b"Subject: name\n\nhi\n")
        self.assertEqual(rc, EX_OK, err)
        got = self.message_with("lee@example.test", b"Subject: name")
        m = email.message_from_bytes(got)
        self.assertTrue(m["From"].startswith("=?UTF-8?B?"), m["From"])
        name = str(email.header.make_header(email.header.decode_header(m["From"])))
        self.assertEqual(name, "Jürgen Müller <nobody@mx.example.test>")

    def test_unknown_local_recipient_queues_nothing(self):
        rc, err = self.run_as("nobody", ["lee@example.test", "nosuch@example.test"], b"hi\n")
        self.assertEqual(rc, EX_NOUSER, err)
        self.h.wait_queue_empty()

    def test_30mb_message_with_bounded_memory(self):
        line = b"x" * 99 + b"\n"
        nlines = 30 * 1024 * 1024 // len(line)
        p = self.popen_as("nobody", ["-i", "lee@example.test"])
        p.stdin.write(b"Subject: big 30mb\n\n")
        chunk = line * 1024
        for _ in range(nlines // 1024):
            p.stdin.write(chunk)
        p.stdin.write(line * (nlines % 1024))
        p.stdin.close()
        # sendmail's own peak (VmHWM starts over at exec, so setpriv and
        # the forked test do not count), read while it waits for the
        # final reply: the whole body has passed through it by then
        peaks = []
        while p.poll() is None:
            try:
                with open(f"/proc/{p.pid}/status") as f:
                    peaks += [int(l.split()[1]) for l in f if l.startswith("VmHWM:")]
            except (OSError, ValueError):
                pass
        err = p.stderr.read().decode()
        self.assertEqual(p.returncode, EX_OK, err)
        self.assertTrue(peaks, "sendmail exited before its memory could be read")
        # AddressSanitizer's shadow memory and allocator cost a few MiB more;
        # a 30 MB message held in memory would still show over both
        limit = (28 if self.sanitized() else 16) * 1024
        self.assertLess(max(peaks), limit, "sendmail held the message in memory (KiB)")
        got = self.message_with("lee@example.test", b"Subject: big 30mb", timeout=WAIT * 4)
        self.assertGreater(len(got), 30 * 1024 * 1024)
        self.assertEqual(got.count(b"x" * 99 + b"\r\n"), nlines)

    def test_over_max_message_size_is_dataerr(self):
        body = b"Subject: too big\n\n" + (b"y" * 900 + b"\n") * (41 * 1024 * 1024 // 901 + 10)
        rc, err = self.run_as("nobody", ["lee@example.test"], body)
        self.assertEqual(rc, EX_DATAERR, err)
        self.assertIn("552", err)

    def test_killed_mid_write_queues_nothing(self):
        n = self.count("lee@example.test")
        data_lines = self.h.count("event=data ")
        p = self.popen_as("nobody", ["-i", "lee@example.test"])
        p.stdin.write(b"Subject: half\n\n" + b"z" * 80 * 1024)
        p.stdin.flush()
        self.h.wait_log("event=data ", n=data_lines + 1)
        p.kill()
        p.wait()
        p.stdin.close()
        self.h.wait_log("reason=eof", timeout=WAIT)
        self.h.wait_queue_empty()
        self.assertEqual(self.count("lee@example.test"), n)
        self.assertEqual([f for f in self.h.spool_files() if not f.endswith("bounce_key")
                          and "/state/" not in f], [])

    def test_no_daemon_is_tempfail(self):
        d = tempfile.mkdtemp(prefix="hmx-sm-down-")
        os.chmod(d, 0o755)
        try:
            dead = os.path.join(d, "socket")
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(dead)          # a socket nobody listens on: a stopped daemon's
            s.close()
            os.chmod(dead, 0o666)
            for path in (dead, os.path.join(d, "missing")):
                p = self.popen_as("nobody", ["lee@example.test"],
                                  env={"HOMEMX_SENDMAIL_SOCKET": path})
                _, err = p.communicate(timeout=WAIT)
                self.assertEqual(p.returncode, EX_TEMPFAIL, err)
                self.assertIn(b"cannot reach the mail system", err)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_setgid_program_ignores_the_socket_variable(self):
        d = tempfile.mkdtemp(prefix="hmx-sm-sgid-")
        os.chmod(d, 0o755)
        try:
            b = os.path.join(d, "sendmail")
            shutil.copy(self.sendmail, b)
            os.chown(b, 0, grp.getgrnam(GROUP).gr_gid)
            os.chmod(b, 0o2755)
            rc, err = self.run_as("nobody", ["lee@example.test"], b"hi\n", group=False,
                                  binary=b)
            self.assertIn("cannot reach the mail system at /var/lib/homemx/sendmail/socket", err)
            # LeakSanitizer cannot run in a setgid process (it cannot read
            # its own /proc entries) and turns the exit code into 1 there
            if not self.sanitized():
                self.assertEqual(rc, EX_TEMPFAIL, err)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_bs_speaks_smtp_with_the_same_rules(self):
        p = self.popen_as("nobody", ["-bs"])
        out, err = p.communicate(
            b"EHLO localhost\r\nVRFY me\r\nMAIL FROM:<kim@example.test>\r\n"
            b"MAIL FROM:<nobody@mx.example.test>\r\nRCPT TO:<lee@example.test>\r\n"
            b"DATA\r\nFrom: nobody@mx.example.test\r\nSubject: via -bs\r\n\r\nhello\r\n.\r\n"
            b"QUIT\r\n", timeout=WAIT)
        self.assertEqual(p.returncode, EX_OK, err)
        codes = [line[:3] for line in out.decode().split("\r\n") if line[3:4] == " "]
        # greeting, EHLO, VRFY, MAIL not owned, MAIL, RCPT, DATA, queued, QUIT;
        # the program adds nothing here: the client writes its own From:
        self.assertEqual(codes, ["220", "250", "250", "553", "250", "250", "354", "250", "221"],
                         out)
        self.assertIn(b"250 2.1.5 <nobody@mx.example.test>", out)
        got = self.message_with("lee@example.test", b"Subject: via -bs")
        self.assertRegex(got, rb"Received: from local \(uid 65534 nobody\)")
        self.verify_dkim(self.strip_delivery_fields(got))

    def submission_state(self):
        """(pid, state) of the submission role, as mxctl status says."""
        p = self.h.mxctl("status", "--json", check=False)
        for r in json.loads(p.stdout)["records"]:
            if r.get("section") == "process" and r.get("role") == "submission":
                return r["pid"], r["state"]
        return None, None

    def kill_submission(self):
        """SIGKILL to a ready submission role; the restart_in= it got."""
        pid = self.h.wait_for(lambda: (lambda s: s[0] if s[1] == "running" else None)(
            self.submission_state()), WAIT, "submission running and ready")
        n = self.h.count("event=role_exit role=submission")
        os.kill(pid, signal.SIGKILL)
        self.h.wait_log("event=role_exit role=submission", start_count=n)
        return pid, int(re.findall(r"event=role_exit role=submission signal=9 restart_in=(\d+)s",
                                   self.h.log())[-1])

    def test_submission_down_is_a_quick_tempfail(self):
        # each kill within 30 s of the start doubles the backoff (1, 2, 4,
        # 8 s): kill until the role stays down long enough to be sure that
        # the 421 came from homemxd, not from the role coming back
        delay = 0
        while delay < 8:
            on = self.h.count("event=local_standin role=supervisor state=on")
            pid, delay = self.kill_submission()
            self.h.wait_log("event=local_standin role=supervisor state=on", start_count=on)
        off = self.h.count("event=local_standin role=supervisor state=off")
        start = time.monotonic()
        rc, err = self.run_as("nobody", ["lee@example.test"], b"Subject: while down\n\nhi\n")
        took = time.monotonic() - start
        self.assertEqual(rc, EX_TEMPFAIL, err)
        self.assertIn("421 4.3.2", err)
        self.assertLess(took, delay / 2, "sendmail waited for the role to come back")
        # the role comes back and serves the socket again
        self.h.wait_for(lambda: (lambda s: s[0] not in (None, 0, pid) and s[1] == "running")(
            self.submission_state()), WAIT + delay, "submission restarted")
        self.h.wait_log("event=local_standin role=supervisor state=off", start_count=off)
        rc, err = self.run_as("nobody", ["lee@example.test"], b"Subject: back again\n\nhi\n")
        self.assertEqual(rc, EX_OK, err)
        self.message_with("lee@example.test", b"Subject: back again")

    def test_mailq_is_mxctl_queue_list(self):
        # a message that stays queued: remote mail is deferred here
        n = self.h.count("event=deferred qid=")
        rc, err = self.run_as("nobody", ["bob@remote.test"], b"Subject: for mailq\n\nhi\n")
        self.assertEqual(rc, EX_OK, err)
        self.h.wait_log("event=deferred qid=", n=n + 1)
        qid = re.findall(r"event=deferred qid=([0-9a-f]{16})", self.h.log())[-1]
        d = tempfile.mkdtemp(prefix="hmx-mailq-")
        try:
            mailq = os.path.join(d, "mailq")
            os.symlink(os.path.abspath(self.sendmail), mailq)
            want = self.h.mxctl("queue", "list").stdout
            self.assertIn(qid, want)
            for argv in ([mailq, "-C", self.h.conf_path],
                         [self.sendmail, "-bp", "-C", self.h.conf_path]):
                p = subprocess.run(argv, capture_output=True, text=True, timeout=WAIT)
                self.assertEqual((p.returncode, p.stdout), (0, want), p.stderr)
            # nobody is neither root nor in the admin group: mxctl says so
            p = self.popen_as("nobody", ["-bp", "-C", self.h.conf_path])
            out, err = p.communicate(timeout=WAIT)
            self.assertNotEqual(p.returncode, EX_OK, err)
            self.assertEqual(out, b"")
            mxctl = os.path.join(os.path.dirname(os.path.realpath(self.sendmail)), "mxctl")
            if others_can_reach(mxctl):
                self.assertIn("permission denied", err.decode())
                self.assertIn("root or the homemx-admin group only", err.decode())
            else:
                # a build tree under a 0700 directory: nobody cannot even
                # start mxctl, and sendmail says what to run instead
                self.assertIn(f"cannot run {mxctl}", err.decode())
                self.assertIn("run `mxctl queue list` (as root or the admin group)",
                              err.decode())
        finally:
            shutil.rmtree(d, ignore_errors=True)
            self.h.mxctl("queue", "delete", qid)

    def test_usage_errors(self):
        rc, err = self.run_as("nobody", ["-t"], b"Subject: nobody to send to\n\nhi\n")
        self.assertEqual(rc, EX_USAGE, err)
        rc, err = self.run_as("nobody", ["-bd"], b"")
        self.assertEqual(rc, EX_USAGE, err)
        rc, err = self.run_as("nobody", ["-f"], b"")
        self.assertEqual(rc, EX_USAGE, err)


if __name__ == "__main__":
    unittest.main()
