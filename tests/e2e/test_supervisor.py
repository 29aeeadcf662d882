"""tests/e2e/test_supervisor.py - homemxd itself: config check, bad configs,
privilege separation (uids, chroot), restart of a crashed role, SIGHUP
reload (good and bad), and the SIGTERM drain.
"""
import os
import pwd
import signal
import smtplib
import subprocess
import time
import unittest

from harness import BUILD, REPO, Homemx, SMTPClient

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
                           cwd=d, capture_output=True, text=True, timeout=10)
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
        with smtplib.SMTP("127.0.0.1", self.h.smtp_port, timeout=10) as s:
            s.sendmail("a@example.org", [rcpt], body)

    @unittest.skipUnless(os.geteuid() == 0, "privilege drop needs root")
    def test_roles_run_as_their_own_users_and_smtpd_is_chrooted(self):
        want = {"smtpd": "_hmx-smtpd", "lookup": "_hmx-lookup",
                "queue": "_hmx-queue", "delivery": "_hmx-mail"}
        for role, user in (("dkimsign", "_hmx-dkim"), ("relay", "_hmx-relay")):
            if os.path.exists(os.path.join(BUILD, f"homemx-{role}")):
                want[role] = user
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
        if "relay" in pids:
            self.assertEqual(os.readlink(f"/proc/{pids['relay']}/root"),
                             os.path.join(self.h.dir, "empty"))
        if "dkimsign" in pids:   # jailed in its key directory
            self.assertEqual(os.readlink(f"/proc/{pids['dkimsign']}/root"),
                             os.path.join(self.h.dir, "dkim"))
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
                deadline = time.time() + 15
                while time.time() < deadline:
                    now = self.h.role_pids().get(role)
                    if now and now != before:
                        break
                    time.sleep(0.05)
                self.assertNotEqual(self.h.role_pids().get(role), before)
                self.assertRegex(self.h.log(), rf"event=role_exit role={role} signal=9 restart_in=\d+s")
                # mail flows end to end again once the peers are relinked
                n = len(self.h.messages("kim@example.test"))
                deadline = time.time() + 10
                while True:
                    try:
                        self.send(body=f"Subject: after {role}\r\n\r\nx\r\n")
                        break
                    except (smtplib.SMTPException, OSError):
                        if time.time() > deadline:
                            raise
                        time.sleep(0.2)
                self.h.wait_messages("kim@example.test", n + 1, timeout=15)

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
            os.kill(self.h.proc.pid, signal.SIGHUP)
            time.sleep(0.3)

    def wait_log(self, needle, timeout=10):
        deadline = time.time() + timeout
        while needle not in self.h.log():
            if time.time() > deadline:
                self.fail(f"{needle!r} not in log:\n{self.h.log()[-3000:]}")
            time.sleep(0.05)


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
            with smtplib.SMTP("127.0.0.1", h.smtp_port, timeout=10) as s:
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
            msgs = h.wait_messages("kim@example.test", 1, timeout=15)
            self.assertTrue(any(b"Subject: last" in m for m in msgs))
        finally:
            h.stop()
            h.cleanup()


if __name__ == "__main__":
    unittest.main()
