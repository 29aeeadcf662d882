"""tests/e2e/test_dovecot.py - a real Dovecot on homemx's Maildirs.

- A message sent with swaks to port 25 is read back over IMAP byte-exact:
  8-bit body kept, dot-stuffing reversed, Return-Path and Delivered-To (with
  the subaddress tag) added, Received on top.
- One password: Dovecot runs on the shipped conf/dovecot/99-homemx.conf (its
  paths pointed at the test's); a user made by `mxctl user add` logs in to
  IMAP with the password submission takes and reads the delivered message;
  after `mxctl user passwd` the old password fails and the new one works;
  `mxctl user del` ends the login; `mxctl user sync-dovecot` rebuilds a lost
  file.
- LMTP ("delivery lmtp:SOCKET"): Dovecot's own LMTP server stores each
  mailbox of a recipient (an alias reaches two), IMAP reads it with the
  headers Dovecot adds; no socket defers and the queue's retry delivers
  once Dovecot is up; a 5xx RCPT reply fails the recipient, and a submitted
  message gets its DSN, which LMTP delivers to the sender.
"""
import grp
import imaplib
import os
import pwd
import re
import shutil
import smtplib
import ssl
import stat
import subprocess
import tempfile
import unittest

from dovecot import Dovecot
from harness import BUILD, Homemx, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED_CONF = os.path.join(HERE, "..", "..", "conf", "dovecot", "99-homemx.conf")

BODY = (b"From: Sender <a@example.org>\r\n"
        b"To: kim-shop@example.test\r\n"
        b"Subject: Gr\xc3\xbc\xc3\x9fe\r\n"
        b"Message-ID: <dovecot-test-1@example.org>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n"
        b"Sch\xc3\xb6ne Gr\xc3\xbc\xc3\x9fe\r\n"
        b".a line that starts with a dot\r\n"
        b"..two dots\r\n"
        b"last line\r\n")


@unittest.skipUnless(shutil.which("dovecot") or os.path.exists("/usr/sbin/dovecot"), "dovecot missing")
class DovecotReadsMaildir(unittest.TestCase):
    def test_imap_fetch_is_byte_exact(self):
        h = Homemx()
        h.start()
        work = tempfile.mkdtemp(prefix="hmx-dovecot-")
        os.chmod(work, 0o755)
        try:
            with tempfile.NamedTemporaryFile("wb", delete=False) as f:
                f.write(BODY)
                path = f.name
            # swaks dot-stuffs the body on the wire; the server must unstuff
            p = subprocess.run(
                ["swaks", "--server", f"127.0.0.1:{h.smtp_port}", "--helo", "client.example",
                 "--from", "a@example.org", "--to", "kim-shop@example.test",
                 "--data", f"@{path}", "--hide-all"],
                capture_output=True, text=True, timeout=30)
            os.unlink(path)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            stored = h.wait_messages("kim@example.test", 1)[0]

            if os.geteuid() == 0:
                pw = pwd.getpwnam("_hmx-mail")
                uid, gid = pw.pw_uid, pw.pw_gid
            else:
                uid, gid = os.getuid(), os.getgid()
            with Dovecot(os.path.join(h.dir, "maildirs"), uid, gid, work) as dc:
                msgs = dc.fetch_all("kim@example.test")
            self.assertEqual(len(msgs), 1)
            got = msgs[0]
            self.assertEqual(got, stored, "IMAP returns the Maildir file as stored")
            head, _, _ = got.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            self.assertEqual(lines[0], b"Return-Path: <a@example.org>")
            self.assertEqual(lines[1], b"Delivered-To: kim-shop@example.test")
            self.assertTrue(lines[2].startswith(b"Received: from client.example"), lines[2])
            # swaks ends the DATA with one extra CRLF of its own
            self.assertTrue(got.endswith(BODY + b"\r\n"), "the message follows byte-exact")
            self.assertIn(b"\r\n.a line that starts with a dot\r\n..two dots\r\n", got)
        finally:
            h.stop()
            h.cleanup()
            shutil.rmtree(work, ignore_errors=True)


def shipped_config(passwd_file, maildir_root, mail_user):
    """conf/dovecot/99-homemx.conf as shipped, with the test's paths."""
    with open(SHIPPED_CONF) as f:
        text = f.read()
    for old, new in (("/var/lib/homemx/dovecot/passwd", passwd_file),
                     ("/var/mail/homemx", maildir_root),
                     ("_hmx-mail", mail_user)):
        if old not in text:
            raise AssertionError(f"{SHIPPED_CONF} no longer names {old}")
        text = text.replace(old, new)
    return text


def login_fails(dc, user, password):
    try:
        dc.imap(user, password).logout()
    except imaplib.IMAP4.error:
        return True
    return False


def make_tls_pair(workdir):
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=mx.example.test"],
                   check=True, capture_output=True)
    os.chmod(key, 0o644)
    return cert, key


def submission_auth_ok(port, user, password):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.starttls(context=ctx)
        try:
            s.login(user, password)
        except smtplib.SMTPAuthenticationError:
            return False
    return True


@unittest.skipUnless(os.geteuid() == 0, "needs root: Dovecot switches users")
@unittest.skipUnless(os.path.exists("/usr/sbin/dovecot"), "dovecot missing")
class OnePassword(unittest.TestCase):
    """mxctl keeps Dovecot's passwd-file; IMAP and submission agree."""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="hmx-dcpw-")
        os.chmod(self.work, 0o755)
        self.passwd = os.path.join(self.work, "dovecot-auth", "passwd")
        cert, key = make_tls_pair(self.work)
        self.sub_port = free_port()
        self.h = Homemx(workdir=self.work, extra_conf=(
            f"dovecot_passwd_file {self.passwd}\n"
            f"listen submission 127.0.0.1:{self.sub_port}\n"
            f"tls_certificate {cert}\ntls_key {key}\n"))
        self.h.start()
        self.addCleanup(shutil.rmtree, self.work, True)
        self.addCleanup(self.h.stop)

    def dovecot(self):
        conf = shipped_config(self.passwd, os.path.join(self.work, "maildirs"), "_hmx-mail")
        return Dovecot(os.path.join(self.work, "maildirs"), 0, 0,
                       os.path.join(self.work, "dovecot"), auth_conf=conf)

    def test_imap_and_submission_share_one_password(self):
        h = self.h
        h.mxctl("user", "add", "kim@example.test", input="first pass\n")
        h.mxctl("user", "add", "shop@example.test", "--no-password")
        # the file: group dovecot may read it, nobody else; set-gid directory
        st = os.stat(self.passwd)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)
        self.assertEqual(st.st_gid, grp.getgrnam("dovecot").gr_gid)
        self.assertEqual(st.st_uid, pwd.getpwnam("_hmx-lookup").pw_uid)
        dst = os.stat(os.path.dirname(self.passwd))
        self.assertEqual(stat.S_IMODE(dst.st_mode), 0o2750)
        with open(self.passwd) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 2, lines)
        self.assertTrue(lines[0].startswith("kim@example.test:{ARGON2ID}$argon2id$v=19$"), lines)
        self.assertEqual(lines[1], "shop@example.test:")
        self.assertEqual(sorted(os.listdir(os.path.dirname(self.passwd))), ["passwd", "passwd.lock"])

        p = subprocess.run(["swaks", "--server", f"127.0.0.1:{h.smtp_port}",
                            "--helo", "client.example", "--from", "a@example.org",
                            "--to", "kim@example.test", "--header", "Subject: one password",
                            "--hide-all"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        h.wait_messages("kim@example.test", 1)

        with self.dovecot() as dc:
            msgs = dc.fetch_all("kim@example.test", "first pass")
            self.assertEqual(len(msgs), 1)
            self.assertIn(b"Subject: one password", msgs[0])
            self.assertTrue(submission_auth_ok(self.sub_port, "kim@example.test", "first pass"))
            self.assertTrue(login_fails(dc, "kim@example.test", "wrong"))
            self.assertTrue(login_fails(dc, "shop@example.test", ""))
            self.assertTrue(login_fails(dc, "shop@example.test", "first pass"))

            # Dovecot reads the file again only when its mtime in seconds
            # or its size changed, and a new hash has the old one's size
            before = int(os.stat(self.passwd).st_mtime)
            h.mxctl("user", "passwd", "kim@example.test", input="second pass\n")
            self.assertNotEqual(int(os.stat(self.passwd).st_mtime), before,
                                "same size and second: Dovecot would keep the old file")
            # and it looks at most once a second (as after user del below)
            h.wait_for(lambda: login_fails(dc, "kim@example.test", "first pass"),
                       what="IMAP login with the old password refused")
            self.assertFalse(submission_auth_ok(self.sub_port, "kim@example.test", "first pass"))
            self.assertEqual(len(dc.fetch_all("kim@example.test", "second pass")), 1)
            self.assertTrue(submission_auth_ok(self.sub_port, "kim@example.test", "second pass"))
            self.assertIn("Password mismatch", dc.log())

            # a lost file comes back from the store
            os.unlink(self.passwd)
            out = h.mxctl("user", "sync-dovecot")
            self.assertIn("2 users, 1 with a password", out.stdout)
            self.assertEqual(len(dc.fetch_all("kim@example.test", "second pass")), 1)

            h.mxctl("user", "del", "kim@example.test")
            # Dovecot looks at the file at most once a second (its mtime
            # and size): the next login after that must fail
            h.wait_for(lambda: login_fails(dc, "kim@example.test", "second pass"),
                       what="IMAP login refused after mxctl user del")
            with open(self.passwd) as f:
                self.assertEqual(f.read(), "shop@example.test:\n")

    def test_a_file_that_cannot_be_written_is_an_error_the_store_keeps_the_user(self):
        os.makedirs(self.passwd)        # rename() over a directory fails
        p = self.h.mxctl("user", "add", "kim@example.test", input="pw\n", check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("the store has the change, but Dovecot's passwd-file does not", p.stderr)
        self.assertIn("mxctl user sync-dovecot", p.stderr)
        self.assertIn("kim@example.test\tpassword", self.h.mxctl("user", "list").stdout)
        self.assertNotIn("passwd.tmp", os.listdir(os.path.dirname(self.passwd)))
        os.rmdir(self.passwd)
        self.assertIn("1 users, 1 with a password", self.h.mxctl("user", "sync-dovecot").stdout)

    def test_sync_without_the_setting_says_what_to_set(self):
        conf = os.path.join(self.work, "plain.conf")
        with open(self.h.conf_path) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write("".join(l for l in text.splitlines(True) if "dovecot_passwd_file" not in l))
        p = subprocess.run([os.path.join(BUILD, "mxctl"), "-f", conf, "user", "sync-dovecot"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("dovecot_passwd_file is not set", p.stderr)


@unittest.skipUnless(os.path.exists("/etc/dovecot/conf.d/10-auth.conf"), "Debian's Dovecot config missing")
class ShippedConfigInDebiansDovecot(unittest.TestCase):
    """README's steps on a copy of /etc/dovecot: doveconf reads the result,
    and homemx's passwd-file is the only way in."""

    def doveconf(self, comment_out_system_auth):
        work = tempfile.mkdtemp(prefix="hmx-dcconf-")
        self.addCleanup(shutil.rmtree, work, True)
        etc = os.path.join(work, "dovecot")
        shutil.copytree("/etc/dovecot", etc, symlinks=True)
        shutil.copy(SHIPPED_CONF, os.path.join(etc, "conf.d"))
        main = os.path.join(etc, "dovecot.conf")
        with open(main) as f:
            text = f.read()
        self.assertIn("!include conf.d/*.conf", text)
        with open(main, "w") as f:
            f.write(text.replace("!include conf.d/*.conf", f"!include {etc}/conf.d/*.conf"))
        if comment_out_system_auth:     # the README's sed line, as written there
            with open(os.path.join(HERE, "..", "..", "README.md")) as f:
                sed = re.search(r"^(sed -i .*10-auth\.conf)$", f.read(), re.M).group(1)
            sed = sed.replace("/etc/dovecot/", etc + "/")
            subprocess.run(sed, shell=True, check=True)
        p = subprocess.run(["doveconf", "-c", main, "-n"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_readme_steps_leave_homemx_the_only_passdb(self):
        out = self.doveconf(True)
        self.assertEqual(re.findall(r"^passdb \{\n  args = ([^\n]*)\n  driver = (\S+)", out, re.M),
                         [("scheme=ARGON2ID /var/lib/homemx/dovecot/passwd", "passwd-file")])
        self.assertEqual(re.findall(r"^userdb \{\n  args = ([^\n]*)\n  driver = (\S+)", out, re.M),
                         [("uid=_hmx-mail gid=_hmx-mail home=/var/mail/homemx/%d/%n", "static")])
        self.assertIn("mail_location = maildir:~/", out)
        # without the sed line, PAM (the system accounts) comes first
        self.assertIn("driver = pam", self.doveconf(False))


@unittest.skipUnless(os.geteuid() == 0, "needs root: Dovecot switches users")
@unittest.skipUnless(os.path.exists("/usr/lib/dovecot/lmtp"), "dovecot-lmtpd missing")
class LmtpDelivery(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="hmx-lmtp-")
        os.chmod(self.work, 0o755)
        self.addCleanup(shutil.rmtree, self.work, True)
        self.passwd = os.path.join(self.work, "dovecot-auth", "passwd")
        self.dc = Dovecot(os.path.join(self.work, "maildirs"), 0, 0,
                          os.path.join(self.work, "dovecot"), lmtp=True,
                          auth_conf=shipped_config(self.passwd,
                                                   os.path.join(self.work, "maildirs"),
                                                   "_hmx-mail"))
        cert, key = make_tls_pair(self.work)
        self.sub_port = free_port()
        self.h = Homemx(workdir=self.work, extra_conf=(
            f"dovecot_passwd_file {self.passwd}\n"
            f"delivery lmtp:{self.dc.lmtp_path}\n"
            "retry_min 1s\nretry_max 1s\n"
            f"listen submission 127.0.0.1:{self.sub_port}\n"
            f"tls_certificate {cert}\ntls_key {key}\n"))
        self.h.start()
        self.addCleanup(self.h.stop)
        self.addCleanup(self.dc.stop)
        for user in ("kim", "lee"):
            self.h.mxctl("user", "add", f"{user}@example.test", input=f"{user} pass\n")
        self.h.mxctl("alias", "add", "team@example.test", "kim@example.test,lee@example.test")

    def swaks(self, to, subject):
        p = subprocess.run(["swaks", "--server", f"127.0.0.1:{self.h.smtp_port}",
                            "--helo", "client.example", "--from", "a@example.org",
                            "--to", to, "--header", f"Subject: {subject}", "--hide-all"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def inbox(self, user):
        return self.dc.fetch_all(user, user.split("@")[0] + " pass")

    def test_lmtp_stores_every_mailbox(self):
        self.dc.start()
        with self.h.expect_log("mailbox=lee@example.test via=lmtp result=ok"):
            self.swaks("team@example.test", "to the team")
        self.h.wait_log("mailbox=kim@example.test via=lmtp result=ok")
        for user in ("kim@example.test", "lee@example.test"):
            msgs = self.inbox(user)
            self.assertEqual(len(msgs), 1, user)
            # Dovecot stored it (its Return-Path and Received on top),
            # above the Delivered-To homemx adds, as in a Maildir delivery
            head = msgs[0].split(b"\r\n\r\n")[0]
            self.assertRegex(head, rb"\AReturn-Path: <a@example.org>\r\n"
                                   rb"Received: from mx.example.test\r\n\tby [^\r]+ with LMTP\r\n"
                                   rb"(?:\t[^\r]*\r\n)+"
                                   rb"Delivered-To: team@example.test\r\n"
                                   rb"Received: from client.example ")
            self.assertIn(b"Subject: to the team", msgs[0])
        self.assertRegex(self.dc.log(), r"lmtp\(kim@example.test\).*saved mail to INBOX")

    def test_no_socket_defers_then_delivers(self):
        self.swaks("kim@example.test", "while dovecot is down")
        self.h.wait_log("mailbox=kim@example.test via=lmtp result=deferred")
        self.assertIn("cannot connect to " + self.dc.lmtp_path, self.h.log())
        self.dc.start()
        self.h.wait_log("mailbox=kim@example.test via=lmtp result=ok")
        msgs = self.inbox("kim@example.test")
        self.assertEqual(len(msgs), 1)
        self.assertIn(b"Subject: while dovecot is down", msgs[0])

    def test_refused_recipient_fails_and_the_sender_gets_a_dsn(self):
        self.h.mxctl("dkim", "keygen", "example.test")     # submission signs
        self.h.mxctl("user", "add", "gone@example.test", "--no-password")
        # Dovecot no longer knows gone@ (the file edited by hand): its RCPT
        # reply is a 5xx, which homemx takes as final
        with open(self.passwd) as f:
            kept = [l for l in f if not l.startswith("gone@")]
        with open(self.passwd, "w") as f:
            f.writelines(kept)
        self.dc.start()
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", self.sub_port, timeout=30) as c:
            c.starttls(context=ctx)
            c.login("kim@example.test", "kim pass")
            c.sendmail("kim@example.test", ["gone@example.test"],
                       b"From: kim@example.test\r\nTo: gone@example.test\r\n"
                       b"Subject: to nobody\r\n\r\nhello\r\n")
        line = self.h.wait_log(r"mailbox=gone@example.test via=lmtp result=failed[^\n]*", regex=True)
        self.assertIn("LMTP RCPT: 550", line.group(0))
        # the DSN for kim goes through LMTP too
        self.h.wait_log("mailbox=kim@example.test via=lmtp result=ok")
        msgs = self.inbox("kim@example.test")
        self.assertEqual(len(msgs), 1)
        self.assertIn(b"gone@example.test", msgs[0])
        self.assertIn(b"5.1.1", msgs[0])


if __name__ == "__main__":
    unittest.main()
