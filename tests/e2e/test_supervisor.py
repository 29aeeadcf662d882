"""tests/e2e/test_supervisor.py - homemxd itself: config check, bad configs,
privilege separation (uids, chroot), restart of a crashed role, SIGHUP
reload (good and bad), the SIGTERM drain, giving up on a role that cannot
start, and refusing to start without every role binary.
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

from harness import BUILD, REPO, WAIT, Homemx, SMTPClient, free_port, wait_until

BAD_CONFIG_DIR = os.path.join(REPO, "tests", "bad-config")


class ConfigCheck(unittest.TestCase):
    def test_example_config_is_valid(self):
        # -n loads the TLS pair too: point the example at one that exists here
        import shutil
        import tempfile
        d = tempfile.mkdtemp(prefix="hmx-example-")
        try:
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-days", "2", "-subj", "/CN=mx.example.org", "-keyout",
                            f"{d}/privkey.pem", "-out", f"{d}/fullchain.pem"],
                           check=True, capture_output=True)
            with open(os.path.join(REPO, "conf", "homemx.conf.example")) as f:
                text = f.read().replace("/etc/ssl/homemx/", d + "/")
            with open(f"{d}/homemx.conf", "w") as f:
                f.write(text)
            p = subprocess.run([os.path.join(BUILD, "homemxd"), "-n", "-f", f"{d}/homemx.conf"],
                               capture_output=True, text=True)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("OK", p.stdout)

    def test_bad_configs_are_refused_with_file_and_line(self):
        cases = sorted(os.listdir(BAD_CONFIG_DIR))
        self.assertGreaterEqual(len(cases), 10)
        for case in cases:
            with self.subTest(case=case):
                d = os.path.join(BAD_CONFIG_DIR, case)
                with open(os.path.join(d, "expected-error")) as f:
                    want = f.read().strip()
                # run from the case dir so messages say "homemx.conf:N:"
                p = subprocess.run([os.path.join(BUILD, "homemxd"), "-n", "-f", "homemx.conf"],
                                   cwd=d, capture_output=True, text=True)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(want, p.stderr, f"got: {p.stderr!r}")

    def test_bad_config_does_not_start_daemon(self):
        d = os.path.join(BAD_CONFIG_DIR, "01-unknown-directive")
        p = subprocess.run([os.path.join(BUILD, "homemxd"), "-f", "homemx.conf"],
                           cwd=d, capture_output=True, text=True, timeout=WAIT)
        self.assertEqual(p.returncode, 1)
        self.assertIn("unknown directive", p.stderr)


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


class Supervisor(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.h = Homemx()
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.h.cleanup()

    def send(self, rcpt="kim@example.test", body="Subject: t\r\n\r\nhello\r\n"):
        with smtplib.SMTP("127.0.0.1", self.h.smtp_port, timeout=WAIT) as s:
            s.sendmail("a@example.org", [rcpt], body)

    @unittest.skipUnless(os.geteuid() == 0, "privilege drop needs root")
    def test_roles_run_as_their_own_users_and_smtpd_is_chrooted(self):
        # every role but submission (no submission listener in this config)
        want = {"smtpd": "_hmx-smtpd", "lookup": "_hmx-lookup",
                "queue": "_hmx-queue", "delivery": "_hmx-mail",
                "dkimsign": "_hmx-dkim", "relay": "_hmx-relay",
                "screen": "_hmx-screen"}
        pids = self.h.role_pids()
        self.assertEqual(set(pids), set(want))
        uids = set()
        for role, user in want.items():
            st = proc_status(pids[role])
            uid = pwd.getpwnam(user).pw_uid
            self.assertEqual(st["Uid"].split(), [str(uid)] * 4, role)
            self.assertEqual(st["Gid"].split()[0], str(pwd.getpwnam(user).pw_gid), role)
            self.assertNotEqual(uid, 0)
            uids.add(uid)
        self.assertEqual(len(uids), len(want), "each role has its own uid")
        # smtpd's root directory is the empty chroot, the others are not chrooted
        self.assertEqual(os.readlink(f"/proc/{pids['smtpd']}/root"),
                         os.path.join(self.h.dir, "empty"))
        self.assertEqual(os.listdir(os.path.join(self.h.dir, "empty")), [])
        self.assertEqual(os.readlink(f"/proc/{pids['queue']}/root"), "/")
        self.assertEqual(os.readlink(f"/proc/{pids['relay']}/root"),
                         os.path.join(self.h.dir, "empty"))
        # dkimsign is jailed in its key directory, screen in its own
        self.assertEqual(os.readlink(f"/proc/{pids['dkimsign']}/root"),
                         os.path.join(self.h.dir, "dkim"))
        self.assertEqual(os.readlink(f"/proc/{pids['screen']}/root"),
                         os.path.join(self.h.dir, "screen"))
        self.assertEqual(os.listdir(os.path.join(self.h.dir, "screen")), ["memory"])
        # the supervisor stays root; the state directories belong to their roles
        self.assertEqual(proc_status(self.h.proc.pid)["Uid"].split()[0], "0")
        for sub, user in (("spool", "_hmx-queue"), ("store", "_hmx-lookup"),
                          ("maildirs", "_hmx-mail"), ("dkim", "_hmx-dkim")):
            st = os.stat(os.path.join(self.h.dir, sub))
            self.assertEqual(st.st_uid, pwd.getpwnam(user).pw_uid, sub)
            self.assertEqual(st.st_mode & 0o007, 0, f"{sub} is not world-accessible")

    def test_crashed_role_is_restarted_and_mail_flows_again(self):
        for role in sorted(self.h.role_pids()):
            with self.subTest(role=role):
                before = self.h.role_pids()[role]
                os.kill(before, signal.SIGKILL)
                wait_until(lambda: self.h.role_pids().get(role) not in (None, before),
                           what=f"{role} restarted", detail=lambda: self.h.log()[-3000:])
                self.assertRegex(self.h.log(), rf"event=role_exit role={role} signal=9 restart_in=\d+s")
                # mail flows end to end again once the peers are relinked
                n = len(self.h.messages("kim@example.test"))
                deadline = time.time() + WAIT
                while True:
                    try:
                        self.send(body=f"Subject: after {role}\r\n\r\nx\r\n")
                        break
                    except (smtplib.SMTPException, OSError):
                        if time.time() > deadline:
                            raise
                        time.sleep(0.2)
                self.h.wait_messages("kim@example.test", n + 1)

    def test_sighup_reload_good_and_bad(self):
        conf = self.h.conf_path
        with open(conf) as f:
            original = f.read()
        try:
            # a broken file is refused, the old config keeps running
            with open(conf, "w") as f:
                f.write(original + "max_recipients lots\n")
            os.kill(self.h.proc.pid, signal.SIGHUP)
            self.wait_log("event=reload_failed")
            self.assertIn("max_recipients: expected a number", self.h.log())
            self.send()
            # a good file takes effect without a restart: max_recipients 2
            with open(conf, "w") as f:
                f.write(original + "max_recipients 2\n")
            pids = self.h.role_pids()
            os.kill(self.h.proc.pid, signal.SIGHUP)
            self.wait_log("event=reload role=smtpd")
            c = SMTPClient(self.h.smtp_port)
            c.reply()
            c.cmd("EHLO client.example")
            c.cmd("MAIL FROM:<a@example.org>")
            self.assertEqual(c.cmd("RCPT TO:<kim@example.test>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<kim+a@example.test>")[0], 250)
            code, text = c.cmd("RCPT TO:<kim+b@example.test>")
            self.assertEqual(code, 452, text)
            self.assertIn("4.5.3", text)
            c.close()
            self.assertEqual(self.h.role_pids(), pids, "reload restarted no role")
        finally:
            with open(conf, "w") as f:
                f.write(original)
            with self.h.expect_log("event=reload role=smtpd"):
                os.kill(self.h.proc.pid, signal.SIGHUP)

    def wait_log(self, needle, timeout=WAIT):
        self.h.wait_log(needle, timeout=timeout)


class Drain(unittest.TestCase):
    def test_sigterm_sends_421_and_loses_nothing(self):
        h = Homemx()
        h.start()
        try:
            # an idle session in the middle of a transaction
            idle = SMTPClient(h.smtp_port)
            idle.reply()
            idle.cmd("EHLO client.example")
            idle.cmd("MAIL FROM:<a@example.org>")
            # a message accepted just before the signal must be delivered
            with smtplib.SMTP("127.0.0.1", h.smtp_port, timeout=WAIT) as s:
                s.sendmail("a@example.org", ["kim@example.test"], "Subject: last\r\n\r\nx\r\n")
            h.proc.send_signal(signal.SIGTERM)
            code, text = idle.reply()
            self.assertEqual(code, 421, text)
            self.assertIn("4.3.2", text)
            self.assertTrue(idle.closed())
            self.assertEqual(h.proc.wait(timeout=30), 0)
            self.assertEqual(h.role_pids(), {})
            self.assertIn("event=shutdown role=supervisor state=done", h.log())
            h.proc = None
            h._logf.close()
            # restart on the same state: the message is (or gets) delivered
            h.start()
            msgs = h.wait_messages("kim@example.test", 1)
            self.assertTrue(any(b"Subject: last" in m for m in msgs))
        finally:
            h.stop()
            h.cleanup()


GIVE_UP_BOUND = 60   # 5 failed starts with backoff 1+2+4+8 s, then the drain


class StartupFailure(unittest.TestCase):
    """A role that dies before it reported ready, 5 times in a row: homemxd
    gives up loudly instead of restarting it forever while smtpd says 451."""

    def setUp(self):
        self.h = Homemx()
        self.h.dir = tempfile.mkdtemp(prefix="hmx-e2e-")
        os.chmod(self.h.dir, 0o755)
        self.h.smtp_port = free_port()
        self.h.conf_path = os.path.join(self.h.dir, "homemx.conf")
        self.h.log_path = os.path.join(self.h.dir, "homemx.log")
        self.h.write_config()

    def tearDown(self):
        if self.h.proc is not None and self.h.proc.poll() is None:
            self.h.kill_all()
        self.h.cleanup()

    def start(self):
        """Starts homemxd without waiting for it to be ready: it will not be."""
        self.h._logf = open(self.h.log_path, "ab")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0")
        self.h.proc = subprocess.Popen(
            [os.path.join(BUILD, "homemxd"), "-f", self.h.conf_path],
            stdin=subprocess.DEVNULL, stdout=self.h._logf, stderr=self.h._logf,
            start_new_session=True, env=env)

    def test_unreadable_store_stops_homemxd(self):
        # A store file that is no Berkeley DB: lookup dies in init, every time.
        store = os.path.join(self.h.dir, "store")
        os.makedirs(store)
        with open(os.path.join(store, "domains.db"), "wb") as f:
            f.write(b"this is not a Berkeley DB file\n" * 200)
        self.start()
        code = self.h.proc.wait(timeout=GIVE_UP_BOUND)
        log = self.h.log()
        self.assertEqual(code, 1, log[-3000:])
        self.assertRegex(log, r"event=role_start_failed role=lookup status=1 attempt=1/5 "
                              r"error=\"[^\"]*store[^\"]*\"")
        m = re.search(r"event=role_failed role=lookup status=1 failures=5 "
                      r"error=\"([^\"]*)\" action=stop", log)
        self.assertIsNotNone(m, log[-3000:])
        self.assertIn(os.path.join(self.h.dir, "store"), m.group(1))
        self.assertIn("event=shutdown role=supervisor reason=role_failed state=draining", log)
        self.assertIn("event=shutdown role=supervisor state=done", log)
        self.assertEqual(self.h.role_pids(), {})
        # The other roles were drained, not restarted after the give-up.
        after = log[m.end():]
        self.assertNotIn("event=role_start ", after)
        # Clients are refused, not left hanging.
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.h.smtp_port), timeout=5).close()
        self.h.proc = None
        self.h._logf.close()
        self.h.assert_no_sanitizer_reports()

    def test_missing_role_binary_is_a_start_error(self):
        # homemxd looks for the roles next to itself: a copy of it in a
        # directory where homemx-relay is missing.
        bindir = os.path.join(self.h.dir, "bin")
        os.makedirs(bindir)
        shutil.copy2(os.path.join(BUILD, "homemxd"), bindir)
        for name in os.listdir(BUILD):
            if name.startswith("homemx-") and name != "homemx-relay":
                os.symlink(os.path.join(BUILD, name), os.path.join(bindir, name))
        p = subprocess.run([os.path.join(bindir, "homemxd"), "-f", self.h.conf_path],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(f"event=fatal role=relay: cannot execute {bindir}/homemx-relay", p.stderr)
        self.assertNotIn("event=role_start", p.stderr)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.h.smtp_port), timeout=5).close()


if __name__ == "__main__":
    unittest.main()
