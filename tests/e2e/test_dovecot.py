"""tests/e2e/test_dovecot.py - a message sent with swaks to port 25 is read
back over IMAP by a real Dovecot serving homemx's Maildirs, byte-exact:
8-bit body kept, dot-stuffing reversed, Return-Path and Delivered-To (with
the subaddress tag) added, Received on top.
"""
import os
import pwd
import shutil
import subprocess
import tempfile
import unittest

from dovecot import Dovecot
from harness import Homemx

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


if __name__ == "__main__":
    unittest.main()
