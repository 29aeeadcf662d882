"""e2e: a renewed TLS certificate is picked up by a reload, and nobody is
dropped.

After their start smtpd and submission are chrooted into an empty
directory as their own users: they cannot open the key again. At SIGHUP
homemxd (root) reads the certificate and key, checks them and sends the
bytes to both roles (MSG_SUP_TLS, lib/tlspem.c, smtpd/tls.c). The files
are laid out as certbot does it - live/NAME/{fullchain,privkey}.pem are
symlinks into archive/NAME/ and a renewal writes new files there and moves
the links - and the reload is what certbot's deploy hook runs
(`systemctl reload homemx`, i.e. SIGHUP).

Checked: a session that did STARTTLS before the reload goes on with the
old certificate and delivers its message; new sessions on 25 (STARTTLS)
and 587 (STARTTLS) see the new certificate, byte for byte; a renewal whose
key does not match the certificate is refused (event=reload_failed) and
the certificate in use stays; under the sanitizer build, no report.
"""

import os
import signal
import smtplib
import ssl
import subprocess
import tempfile
import unittest

from harness import Homemx, free_port

CERT_NAME = "mx.example.test"


def make_pair(directory, serial):
    """cert<serial>.pem / privkey<serial>.pem, self-signed, as certbot's
    archive/ keeps them; returns (cert path, key path, DER of the cert)."""
    cert = os.path.join(directory, f"fullchain{serial}.pem")
    key = os.path.join(directory, f"privkey{serial}.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-set_serial", str(serial), "-subj", f"/CN={CERT_NAME}",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    os.chmod(key, 0o600)
    with open(cert) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return cert, key, der


def point_live_at(live, cert, key):
    """Moves live/{fullchain,privkey}.pem to new files the way certbot
    does: a new symlink renamed over the old one."""
    for name, target in (("fullchain.pem", cert), ("privkey.pem", key)):
        tmp = os.path.join(live, name + ".new")
        os.symlink(target, tmp)
        os.replace(tmp, os.path.join(live, name))


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class TlsReloadTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.sub_port = free_port()
        cls.h = Homemx(extra_conf=f"listen submission 127.0.0.1:{cls.sub_port}\n"
                                  "tls_certificate @LIVE@/fullchain.pem\n"
                                  "tls_key @LIVE@/privkey.pem\n")
        # The harness makes the directory at start(); the certificate must
        # exist before that, so the instance gets its directory now.
        cls.h.dir = tempfile.mkdtemp(prefix="hmx-e2e-")
        os.chmod(cls.h.dir, 0o755)
        cls.archive = os.path.join(cls.h.dir, "letsencrypt", "archive")
        cls.live = os.path.join(cls.h.dir, "letsencrypt", "live")
        os.makedirs(cls.archive, mode=0o700)
        os.makedirs(cls.live)
        cls.h.extra_conf = cls.h.extra_conf.replace("@LIVE@", cls.live)
        cls.old = make_pair(cls.archive, 1)
        cls.new = make_pair(cls.archive, 2)
        point_live_at(cls.live, cls.old[0], cls.old[1])
        cls.h.start()
        cls.h.provision()   # start() provisions only a directory it made

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.h.cleanup()

    def starttls(self, port):
        s = smtplib.SMTP("127.0.0.1", port, timeout=30)
        s.starttls(context=tls_context())
        s.ehlo("client.example.org")
        return s

    def reload(self, needle, n):
        before = self.h.count(needle)
        os.kill(self.h.proc.pid, signal.SIGHUP)
        self.h.wait_log(needle, n=n, start_count=before)

    def test_renewal_reaches_new_sessions_and_spares_old_ones(self):
        h = self.h
        old_session = self.starttls(h.smtp_port)
        self.assertEqual(old_session.sock.getpeercert(binary_form=True), self.old[2])
        old_session.mail("someone@example.org")
        self.assertEqual(old_session.rcpt("kim@example.test")[0], 250)

        point_live_at(self.live, self.new[0], self.new[1])
        # one line each from smtpd and submission, with the new serial (2)
        self.reload("event=tls_reload certificate=", 2)
        self.assertEqual(h.count("serial=02 "), 2, h.log()[-3000:])

        for port in (h.smtp_port, self.sub_port):
            s = self.starttls(port)
            self.assertEqual(s.sock.getpeercert(binary_form=True), self.new[2], port)
            s.quit()
        # The session from before the reload was never interrupted.
        self.assertEqual(old_session.sock.getpeercert(binary_form=True), self.old[2])
        code, _ = old_session.data(b"Subject: across a reload\r\n\r\nstill here\r\n")
        self.assertEqual(code, 250)
        old_session.quit()
        msgs = h.wait_messages("kim@example.test", 1)
        self.assertTrue(any(b"still here" in m for m in msgs))

        # A renewal that went wrong (a key of another certificate) is
        # refused as a whole: the certificate in use stays.
        point_live_at(self.live, self.new[0], self.old[1])
        self.reload("event=reload_failed", 1)
        self.assertIn("key does not match", h.log().split("event=reload_failed")[-1])
        s = self.starttls(h.smtp_port)
        self.assertEqual(s.sock.getpeercert(binary_form=True), self.new[2])
        s.quit()
        point_live_at(self.live, self.new[0], self.new[1])
        self.assertEqual(set(h.role_pids()), set(h.roles()), "no role died")


if __name__ == "__main__":
    unittest.main()
