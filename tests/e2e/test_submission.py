"""tests/e2e/test_submission.py - submission (587 and 465) end to end.

Owns: the proof that the real daemon (homemxd with homemx-submission,
lookup, queue, delivery and homemx-dkimsign) does what README.md's
"Submission, DKIM and outbound mail" promises, driven with Python smtplib,
raw sockets and msmtp over 587 (STARTTLS) and 465 (implicit TLS):
  - AUTH is neither offered nor accepted before TLS (538 5.7.11), and MAIL
    needs AUTH (530 5.7.0); PLAIN and LOGIN work; a wrong password is
    535 5.7.8; the protocol edges (cancel, bad base64, unknown mechanism,
    a second AUTH, someone else's authzid);
  - the rate limit: growing delay, 421 4.7.0 after repeated failures in a
    session, then 454 4.7.0 even for the right password; and the shipped
    fail2ban filter counts exactly the failures in the real log;
  - sender ownership: own address, alias, subaddress, someone else's
    (553 5.7.1), a From: header of someone else (550 5.7.1); the null
    sender <> of read receipts and auto-replies is accepted, logged and
    signed for the From: domain;
  - RFC 6409 completion: Message-ID: and Date: added when missing (once),
    Received: without the client's IP (and with it when configured);
  - signing: both DKIM signatures verify with dkimpy against TXT records
    computed from the key files with the openssl CLI (independent of
    homemx); no key, or no dkimsign at all, gives 451 4.7.0 and nothing is
    queued;
  - the limits and hostile input of port 25 hold here too, and the role
    runs as _hmx-submit, chrooted.
Each class runs one daemon instance (tests/e2e/harness.py); the TLS
certificate is made once per run with the openssl CLI.
"""

import base64
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import dkim

import harness
from harness import WAIT, Homemx, SMTPClient, free_port

USERS = [("kim@example.test", "secret"), ("lee@example.test", "secret2")]
ALIASES = [("team@example.test", "kim@example.test,lee@example.test"),
           ("leeonly@example.test", "lee@example.test")]
CERT = {}
CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE
FAIL2BAN_FILTER = os.path.join(harness.REPO, "conf", "fail2ban", "homemx.conf")


def setUpModule():
    d = tempfile.mkdtemp(prefix="hmx-sub-cert-")
    CERT["dir"] = d
    CERT["cert"], CERT["key"] = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", CERT["key"], "-out", CERT["cert"], "-days", "2",
                    "-subj", "/CN=mx.example.test"], check=True, capture_output=True)


def tearDownModule():
    shutil.rmtree(CERT.get("dir", "/nonexistent"), ignore_errors=True)


def b64(data):
    return base64.b64encode(data).decode()


def plain(user, password, authzid=""):
    return b64(f"{authzid}\0{user}\0{password}".encode())


def message(frm="Kim <kim@example.test>", to="lee@example.test", extra="",
            body="hello\r\n"):
    return (f"From: {frm}\r\nTo: {to}\r\nSubject: submission test\r\n{extra}"
            f"\r\n{body}").encode()


class SubmissionHomemx(Homemx):
    """The harness names roles after /proc/PID/comm, which the kernel cuts
    at 15 characters: "homemx-submission" shows up as "submissi"."""

    def role_pids(self):
        pids = super().role_pids()
        if "submissi" in pids:
            pids["submission"] = pids.pop("submissi")
        return pids


class Client(SMTPClient):
    """A raw client that can speak TLS: from the first byte (465) or after
    STARTTLS (587)."""

    def __init__(self, port, implicit_tls=False):
        super().__init__(port)
        if implicit_tls:
            self.sock = CTX.wrap_socket(self.sock, server_hostname="mx.example.test")

    def starttls(self):
        code, text = self.cmd("STARTTLS")
        assert code == 220, text
        assert self.buf == b"", self.buf
        self.sock = CTX.wrap_socket(self.sock, server_hostname="mx.example.test")


def dkim_keys(h, domain="example.test", selector="mx1"):
    """Creates the key pair (mxctl dkim keygen if it exists, else the key
    files by hand as lib/dkimkey.h lays them out) and returns the DNS
    TXT records, computed here from the private keys with openssl."""
    d = os.path.join(h.dir, "dkim", domain)
    p = h.mxctl("dkim", "keygen", domain, check=False)
    if p.returncode != 0:
        os.makedirs(d, exist_ok=True)
        pw = pwd.getpwnam("_hmx-dkim")
        for alg, args in (("rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
                          ("ed25519", ["-algorithm", "ED25519"])):
            path = os.path.join(d, f"{selector}.{alg}.pem")
            subprocess.run(["openssl", "genpkey", *args, "-out", path + ".tmp"],
                           check=True, capture_output=True)
            os.chown(path + ".tmp", pw.pw_uid, pw.pw_gid)
            os.chmod(path + ".tmp", 0o600)
            os.rename(path + ".tmp", path)
        os.chown(d, pw.pw_uid, pw.pw_gid)
        os.chmod(d, 0o700)
    records = {}
    for alg in ("rsa", "ed25519"):
        der = subprocess.run(["openssl", "pkey", "-in", os.path.join(d, f"{selector}.{alg}.pem"),
                              "-pubout", "-outform", "DER"], check=True,
                             capture_output=True).stdout
        key = der if alg == "rsa" else der[-32:]   # RFC 8463: the raw 32 octets
        name = f"{selector}-{alg}._domainkey.{domain}."
        records[name.encode()] = f"v=DKIM1; k={alg}; p={b64(key)}".encode()
    return records


class SubmissionCase(unittest.TestCase):
    """One homemx instance with 587 and 465 per class."""
    auth_failures_per_ip = 1000     # tests fail logins on purpose
    with_keys = True
    conf = ""
    bin_dir = None                  # another build dir (a callable), if set
    absent_roles = ()               # roles bin_dir leaves out on purpose

    @classmethod
    def setUpClass(cls):
        cls.saved_build = harness.BUILD
        if cls.bin_dir is not None:
            harness.BUILD = cls.bin_dir()
        for b in ("homemxd", "mxctl", "homemx-submission"):
            if not os.path.exists(os.path.join(harness.BUILD, b)):
                harness.BUILD = cls.saved_build
                raise unittest.SkipTest(f"{b} not built")
        cls.p587, cls.p465 = free_port(), free_port()
        extra = (f"listen submission 127.0.0.1:{cls.p587}\n"
                 f"listen submissions 127.0.0.1:{cls.p465}\n"
                 f"tls_certificate {CERT['cert']}\ntls_key {CERT['key']}\n"
                 f"auth_failures_per_ip {cls.auth_failures_per_ip}\n"
                 f"max_errors 1000\nmax_message_size 65536\n{cls.conf}")
        cls.h = SubmissionHomemx(extra_conf=extra, users=USERS, aliases=ALIASES,
                                 absent_roles=cls.absent_roles)
        try:
            cls.h.start()
            cls.txt = dkim_keys(cls.h) if cls.with_keys else {}
        except BaseException:
            cls.h.stop(check_sanitizers=False)
            cls.h.cleanup()
            harness.BUILD = cls.saved_build
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.h.stop()
            cls.h.cleanup()
        finally:
            if cls.bin_dir is not None:
                shutil.rmtree(harness.BUILD, ignore_errors=True)
            harness.BUILD = cls.saved_build

    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            try:
                c.close()
            except OSError:
                pass

    # -- helpers -----------------------------------------------------------
    def raw(self, port=None, implicit_tls=False, starttls=False, ehlo=True):
        c = Client(port or (self.p465 if implicit_tls else self.p587), implicit_tls)
        self.clients.append(c)
        code, text = c.reply()
        self.assertEqual(code, 220, text)
        if starttls:
            self.assertEqual(c.cmd("EHLO client.example")[0], 250)
            c.starttls()
        if ehlo:
            code, text = c.cmd("EHLO client.example")
            self.assertEqual(code, 250, text)
        return c

    def authed(self, user="kim@example.test", password="secret", implicit_tls=False):
        c = self.raw(implicit_tls=implicit_tls, starttls=not implicit_tls)
        self.assertReply(c.cmd(f"AUTH PLAIN {plain(user, password)}"), 235, "2.7.0")
        return c

    def smtp(self, implicit_tls=False, login=("kim@example.test", "secret")):
        if implicit_tls:
            s = smtplib.SMTP_SSL("127.0.0.1", self.p465, context=CTX, timeout=20,
                                 local_hostname="laptop.example")
        else:
            s = smtplib.SMTP("127.0.0.1", self.p587, timeout=20,
                             local_hostname="laptop.example")
            s.starttls(context=CTX)
        s.ehlo()
        if login is not None:
            s.login(*login)
        return s

    def assertReply(self, reply, code, enh=None):
        got, text = reply
        self.assertEqual(got, code, text)
        if enh is not None:
            self.assertTrue(text.startswith(f"{code} {enh} "), f"want {code} {enh}: {text!r}")

    def transaction(self, c, sender, rcpts, data):
        """MAIL, RCPTs, DATA; returns the reply to the end of data."""
        self.assertReply(c.cmd(f"MAIL FROM:<{sender}>"), 250)
        for r in rcpts:
            self.assertReply(c.cmd(f"RCPT TO:<{r}>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(data + b".\r\n")
        return c.reply()

    def count(self, address):
        return len(self.h.messages(address))

    def wait_log(self, pattern, timeout=WAIT):
        return self.h.wait_log(pattern, timeout=timeout, regex=True)


class TestSubmission(SubmissionCase):
    # -- TLS and AUTH ------------------------------------------------------
    def test_587_offers_no_auth_before_starttls(self):
        c = self.raw()
        code, text = c.cmd("EHLO client.example")
        self.assertIn("250-STARTTLS", text)
        self.assertNotIn("AUTH", text)
        self.assertReply(c.cmd(f"AUTH PLAIN {plain('kim@example.test', 'secret')}"), 538, "5.7.11")
        self.assertReply(c.cmd("AUTH LOGIN"), 538, "5.7.11")
        self.assertReply(c.cmd("MAIL FROM:<kim@example.test>"), 530, "5.7.0")
        # the credentials of a refused AUTH line never reach the log
        self.assertNotIn(plain("kim@example.test", "secret"), self.h.log())

    def test_587_after_starttls_offers_auth(self):
        c = self.raw(starttls=True, ehlo=False)
        code, text = c.cmd("EHLO client.example")
        self.assertIn("250-AUTH PLAIN LOGIN", text)
        self.assertNotIn("STARTTLS", text)
        self.assertReply(c.cmd("MAIL FROM:<kim@example.test>"), 530, "5.7.0")
        self.assertReply(c.cmd("RCPT TO:<lee@example.test>"), 503)

    def test_465_is_tls_from_the_first_byte(self):
        c = self.raw(implicit_tls=True, ehlo=False)
        self.assertEqual(c.sock.version()[:3], "TLS")
        code, text = c.cmd("EHLO client.example")
        self.assertIn("250-AUTH PLAIN LOGIN", text)
        self.assertNotIn("STARTTLS", text)
        self.assertReply(c.cmd("MAIL FROM:<kim@example.test>"), 530, "5.7.0")
        # plaintext SMTP on 465 gets no greeting, only a failed handshake
        with socket.create_connection(("127.0.0.1", self.p465), timeout=WAIT) as s:
            s.sendall(b"EHLO client.example\r\n")
            s.settimeout(WAIT)
            try:
                data = s.recv(100)
            except ConnectionResetError:
                data = b""
            self.assertFalse(data.startswith(b"220"), data)

    def test_wrong_password_is_535(self):
        bad = "Wr0ng-Passw0rd-Zq"
        for mech in ("PLAIN", "LOGIN"):
            for tls465 in (False, True):
                with self.smtp(implicit_tls=tls465, login=None) as s:
                    s.user, s.password = "kim@example.test", bad
                    with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
                        s.auth(mech, s.auth_plain if mech == "PLAIN" else s.auth_login)
                    self.assertEqual(e.exception.smtp_code, 535)
                    self.assertTrue(e.exception.smtp_error.startswith(b"5.7.8"),
                                    e.exception.smtp_error)
        log = self.h.log()
        for mech in ("PLAIN", "LOGIN"):
            self.assertRegex(log, r'event=auth sess=[0-9a-f]{8} ip=127\.0\.0\.1 '
                                  rf'user="kim@example\.test" mech={mech} reason=credentials '
                                  r'result=bad\n')
        # no password, plain or encoded, ever reaches the log
        self.assertNotIn(bad, log)
        self.assertNotIn(b64(bad.encode()), log)
        self.assertNotIn(plain("kim@example.test", bad), log)

    def test_plain_and_login_succeed(self):
        for mech in ("PLAIN", "LOGIN"):
            for tls465 in (False, True):
                with self.smtp(implicit_tls=tls465, login=None) as s:
                    s.user, s.password = "Kim@Example.TEST", "secret"   # login names are normalized
                    code, text = s.auth(mech, s.auth_plain if mech == "PLAIN" else s.auth_login)
                    self.assertEqual(code, 235, text)
                    self.assertTrue(text.startswith(b"2.7.0"), text)
        self.wait_log(r'event=auth sess=\w+ ip=127\.0\.0\.1 '
                      r'user="kim@example\.test" mech=LOGIN reason=- result=ok')

    def test_auth_protocol_edges(self):
        c = self.raw(starttls=True)
        self.assertReply(c.cmd("AUTH CRAM-MD5"), 504, "5.5.4")
        self.assertReply(c.cmd("AUTH PLAIN a b"), 501)
        self.assertReply(c.cmd("AUTH PLAIN"), 334)
        self.assertReply(c.cmd("*"), 501, "5.0.0")                   # cancelled
        self.assertReply(c.cmd("AUTH PLAIN"), 334)
        self.assertReply(c.cmd("not base64!"), 501, "5.5.2")
        self.assertReply(c.cmd("AUTH PLAIN YR=="), 501, "5.5.2")      # not canonical
        self.assertReply(c.cmd("AUTH PLAIN " + b64(b"no nul at all")), 501, "5.5.2")
        code, text = c.cmd("AUTH LOGIN")
        self.assertEqual((code, text), (334, "334 VXNlcm5hbWU6"))
        self.assertEqual(c.cmd(b64(b"kim@example.test")), (334, "334 UGFzc3dvcmQ6"))
        self.assertReply(c.cmd(b64(b"secret")), 235, "2.7.0")
        self.assertReply(c.cmd(f"AUTH PLAIN {plain('kim@example.test', 'secret')}"), 503, "5.5.1")
        # LOGIN with the user name as initial response; acting as someone else
        c2 = self.raw(implicit_tls=True)
        self.assertEqual(c2.cmd("AUTH LOGIN " + b64(b"lee@example.test")), (334, "334 UGFzc3dvcmQ6"))
        self.assertReply(c2.cmd(b64(b"secret2")), 235, "2.7.0")
        c3 = self.raw(implicit_tls=True)
        self.assertReply(c3.cmd("AUTH PLAIN " + plain("kim@example.test", "secret",
                                                      authzid="lee@example.test")), 535, "5.7.8")
        # the line travels through homemxd's pipe: wait for it
        self.h.wait_log(r'event=auth sess=\w+ ip=127\.0\.0\.1 user="" '
                        r'mech=PLAIN reason=authzid result=bad', regex=True)
        # AUTH inside a transaction is a sequence error
        self.assertReply(c2.cmd("MAIL FROM:<lee@example.test>"), 250)
        self.assertReply(c2.cmd(f"AUTH PLAIN {plain('lee@example.test', 'secret2')}"), 503)

    def test_auth_line_limits(self):
        c = self.raw(starttls=True)
        # RFC 4954: AUTH lines may be 12288 octets long; a password over the
        # 512 octets lookup accepts is bad credentials, without asking lookup
        long_pw = "p" * 600
        self.assertReply(c.cmd(f"AUTH PLAIN {plain('kim@example.test', long_pw)}"), 535, "5.7.8")
        self.wait_log(r"reason=too_long result=bad")     # through homemxd's pipe
        self.assertReply(c.cmd("AUTH PLAIN " + "A" * 13000), 500, "5.5.2")
        self.assertReply(c.cmd("AUTH PLAIN"), 334)
        self.assertReply(c.cmd("A" * 13000), 500, "5.5.2")
        self.assertReply(c.cmd("NOOP"), 250)                      # back to commands
        # every other line keeps the RFC 5321 limit
        self.assertReply(c.cmd("NOOP " + "x" * 600), 500, "5.5.2")
        # a bare LF inside an AUTH line or response is one bad line (CRLF
        # only ends a line), and what it carried stays out of the log
        secret = plain("kim@example.test", "secret")
        self.assertReply(c.cmd(f"AUTH PLAIN {secret}\nNOOP"), 500, "5.5.2")
        self.assertReply(c.cmd("AUTH PLAIN"), 334)
        self.assertReply(c.cmd(f"{secret}\nNOOP"), 500, "5.5.2")
        self.assertReply(c.cmd("NOOP"), 250)                      # the exchange ended
        self.wait_log(r'event=command_reject sess=\w+ ip=127\.0\.0\.1 verb=UNKNOWN '
                      r'reply="500 5\.5\.2" arg="AUTH"')
        self.assertNotIn(secret, self.h.log())

    # -- sender ownership --------------------------------------------------
    def test_mail_from_ownership(self):
        cases = [("kim@example.test", 250), ("KIM@example.test", 250),
                 ("team@example.test", 250), ("kim+lists@example.test", 250),
                 ("team+x@example.test", 250), ("kim-news@example.test", 250),
                 ("lee@example.test", 553), ("leeonly@example.test", 553),
                 ("lee+kim@example.test", 553), ("nobody@example.test", 553),
                 ("kim@other.test", 553), ("kim@[127.0.0.1]", 553)]
        c = self.authed()
        for addr, want in cases:
            with self.subTest(addr=addr):
                code, text = c.cmd(f"MAIL FROM:<{addr}>")
                self.assertEqual(code, want, f"{addr}: {text}")
                if want == 553:
                    self.assertTrue(text.startswith("553 5.7.1 "), text)
                else:
                    self.assertReply(c.cmd("RSET"), 250)
        self.wait_log(r"event=sender sess=\w+ user=kim@example\.test where=mail "
                      r"address=<lee@example\.test> verdict=not_owned")

    def test_owned_sender_is_remembered_for_the_session_only(self):
        """An address found owned at MAIL is not asked of lookup again in
        the same session: with lookup stopped, the same MAIL FROM is still
        250 at once. Another address, or the same one in a new session,
        is asked (and a not-owned one stays 553)."""
        c = self.authed()
        self.assertReply(c.cmd("MAIL FROM:<kim@example.test>"), 250)
        self.assertReply(c.cmd("RSET"), 250)
        lookup = self.h.role_pids()["lookup"]
        os.kill(lookup, signal.SIGSTOP)
        try:
            self.assertReply(c.cmd("MAIL FROM:<kim@example.test>"), 250)
            self.assertReply(c.cmd("RSET"), 250)
        finally:
            os.kill(lookup, signal.SIGCONT)
        self.assertReply(c.cmd("MAIL FROM:<lee@example.test>"), 553, "5.7.1")
        self.assertReply(c.cmd("MAIL FROM:<kim@example.test>"), 250)
        self.assertReply(c.cmd("RSET"), 250)
        other = self.authed()
        os.kill(lookup, signal.SIGSTOP)
        try:
            other.send(b"MAIL FROM:<kim@example.test>\r\n")
            # a new session asks lookup, which is stopped: no answer yet
            other.sock.settimeout(0.5)
            with self.assertRaises(socket.timeout):
                other.sock.recv(1)
        finally:
            other.sock.settimeout(WAIT)
            os.kill(lookup, signal.SIGCONT)
        self.assertReply(other.reply(), 250)

    def spool_bodies(self):
        return sorted(f for f in self.h.spool_files() if f.endswith(".msg"))

    def test_spool_file_is_asked_for_at_the_first_recipient(self):
        """Submission asks the queue for the spool file when the first
        recipient is accepted (open_early): DATA gets 354 from a stopped
        queue, the message is queued once it runs again, and a
        transaction that ends before DATA (RSET, QUIT) gives its file
        back."""
        self.h.wait_queue_empty()
        before = self.count("lee@example.test")
        c = self.authed()
        for end in ("RSET", "DATA"):
            with self.subTest(end=end):
                self.assertReply(c.cmd("MAIL FROM:<kim@example.test>"), 250)
                self.assertReply(c.cmd("RCPT TO:<lee@example.test>"), 250)
                self.h.wait_for(lambda: len(self.spool_bodies()) == 1, WAIT,
                                "the spool file asked for at RCPT", self.spool_bodies)
                if end == "RSET":
                    self.assertReply(c.cmd("RSET"), 250)
                    self.h.wait_for(lambda: not self.spool_bodies(), WAIT,
                                    "the file given back after RSET", self.spool_bodies)
                    continue
                queue = self.h.role_pids()["queue"]
                os.kill(queue, signal.SIGSTOP)
                try:
                    self.assertReply(c.cmd("DATA"), 354)
                    c.send(message() + b".\r\n")
                finally:
                    os.kill(queue, signal.SIGCONT)
                self.assertReply(c.reply(), 250, "2.0.0")
        self.h.wait_messages("lee@example.test", before + 1)
        self.assertEqual(self.count("lee@example.test"), before + 1)
        q = self.authed()
        self.assertReply(q.cmd("MAIL FROM:<kim@example.test>"), 250)
        self.assertReply(q.cmd("RCPT TO:<lee@example.test>"), 250)
        self.h.wait_for(lambda: len(self.spool_bodies()) == 1, WAIT,
                        "the spool file asked for at RCPT", self.spool_bodies)
        self.assertReply(q.cmd("QUIT"), 221)
        self.h.wait_for(lambda: not self.spool_bodies(), WAIT,
                        "the file given back after QUIT", self.spool_bodies)

    def test_from_header_ownership(self):
        cases = [("Kim <kim@example.test>", 250), ('"The Team" <team@example.test>', 250),
                 ("kim+x@example.test", 250),
                 ("Lee <lee@example.test>", 550),
                 ('"kim@example.test" <lee@example.test>', 550),     # the display name never counts
                 ("kim@example.test, lee@example.test", 550),
                 ("Kim <kim@other.test>", 550)]
        c = self.authed()
        for frm, want in cases:
            with self.subTest(frm=frm):
                before = self.count("lee@example.test")
                code, text = self.transaction(c, "kim@example.test", ["lee@example.test"],
                                              message(frm=frm))
                self.assertEqual(code, want, f"{frm}: {text}")
                if want == 550:
                    self.assertTrue(text.startswith("550 5.7.1 "), text)
                    self.h.wait_queue_empty()   # nothing accepted still on its way
                    self.assertEqual(self.count("lee@example.test"), before)
                else:
                    self.h.wait_messages("lee@example.test", before + 1)
        # no From: at all, and two From: fields
        for data in (b"To: lee@example.test\r\nSubject: x\r\n\r\nbody\r\n",
                     message(extra="From: kim@example.test\r\n")):
            self.assertReply(self.transaction(c, "kim@example.test", ["lee@example.test"], data),
                             550, "5.6.0")
        self.assertReply(c.cmd("NOOP"), 250)

    # -- the message --------------------------------------------------------
    def test_completion_and_signatures(self):
        before = self.count("lee@example.test")
        with self.smtp() as s:
            self.assertEqual(s.sendmail("kim@example.test", ["lee@example.test"], message()), {})
        msg = self.h.wait_messages("lee@example.test", before + 1)[-1]
        head = msg.split(b"\r\n\r\n", 1)[0] + b"\r\n"
        ids = re.findall(rb"(?m)^Message-ID: <([0-9a-f]{16}\.[0-9a-f]{8})@mx\.example\.test>\r$", head)
        self.assertEqual(len(ids), 1, head)
        self.assertEqual(len(re.findall(rb"(?mi)^Date: \w{3}, \d\d \w{3} \d{4} "
                                        rb"\d\d:\d\d:\d\d \+0000\r$", head)), 1, head)
        received = re.search(rb"Received: from laptop\.example\r\n\tby mx\.example\.test with "
                             rb"ESMTPSA \(TLSv1\.[23]:[^)]+\) id [0-9a-f]{16}\r\n"
                             rb"\tfor <lee@example\.test>; ", head)
        self.assertIsNotNone(received, head)
        self.assertNotIn(b"127.0.0.1", msg)
        self.assertEqual(head.count(b"DKIM-Signature:"), 2, head)
        # dkimpy, with the keys' TXT records computed by openssl, not homemx
        for sig in range(2):
            d = dkim.DKIM(msg)
            self.assertTrue(d.verify(idx=sig, dnsfunc=lambda name, timeout=5: self.txt.get(name)),
                            f"signature {sig} does not verify:\n{head.decode()}")
        self.wait_log(r"event=committed qid=[0-9a-f]{16} nrcpt=1 size=\d+ "
                      r"source=submission")

    def test_null_sender_is_signed(self):
        """RFC 8098 read receipts and RFC 3834 auto-replies go out with MAIL
        FROM:<>: accepted from an authenticated user, logged, signed for the
        From: domain (which must still be owned), and queued as submission."""
        before = self.count("lee@example.test")
        c = self.authed()
        receipt = message(frm="Kim <kim@example.test>", extra="Auto-Submitted: auto-replied\r\n",
                          body="Your message was read.\r\n")
        code, text = self.transaction(c, "", ["lee@example.test"], receipt)
        self.assertReply((code, text), 250, "2.0.0")
        qid = re.search(r"queued as ([0-9a-f]{16})", text).group(1)
        msg = self.h.wait_messages("lee@example.test", before + 1)[-1]
        head = msg.split(b"\r\n\r\n", 1)[0]
        self.assertEqual(head.count(b"DKIM-Signature:"), 2, head)
        self.assertIn(b"d=example.test", head)
        for sig in range(2):
            d = dkim.DKIM(msg)
            self.assertTrue(d.verify(idx=sig, dnsfunc=lambda name, timeout=5: self.txt.get(name)),
                            f"signature {sig} does not verify:\n{head.decode()}")
        log = self.h.log()
        self.assertRegex(log, r"event=sender sess=\w+ user=kim@example\.test where=mail "
                              r"address=<> verdict=null_sender")
        self.assertRegex(log, rf"event=committed qid={qid} nrcpt=1 size=\d+ source=submission")
        # the From: address is still checked: <> is no way around ownership
        self.assertReply(self.transaction(c, "", ["lee@example.test"], message(frm="lee@example.test")),
                         550, "5.7.1")

    def test_existing_message_id_and_date_are_kept(self):
        before = self.count("lee@example.test")
        extra = "Message-ID: <mine@laptop.example>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0100\r\n"
        with self.smtp(implicit_tls=True) as s:
            s.sendmail("kim@example.test", ["lee@example.test"], message(extra=extra))
        msg = self.h.wait_messages("lee@example.test", before + 1)[-1]
        self.assertEqual(re.findall(rb"(?m)^Message-ID:.*$", msg),
                         [b"Message-ID: <mine@laptop.example>\r"])
        self.assertEqual(len(re.findall(rb"(?m)^Date:", msg)), 1)

    def test_body_without_blank_line_gets_fields_before_it(self):
        before = self.count("lee@example.test")
        c = self.authed(implicit_tls=True)
        data = b"From: kim@example.test\r\nSubject: x\r\nthis line starts the body\r\n"
        self.assertReply(self.transaction(c, "kim@example.test", ["lee@example.test"], data), 250)
        msg = self.h.wait_messages("lee@example.test", before + 1)[-1]
        self.assertRegex(msg, rb"Subject: x\r\nMessage-ID: <[^>]+>\r\nDate: [^\r]+\r\n\r\n"
                              rb"this line starts the body\r\n$")

    def test_recipients(self):
        c = self.authed()
        self.assertReply(c.cmd("MAIL FROM:<kim@example.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<nobody@example.test>"), 550, "5.1.1")
        self.assertReply(c.cmd("RCPT TO:<someone@remote.test>"), 250)   # relayed
        self.assertReply(c.cmd("RCPT TO:<Lee@Example.test>"), 250)
        self.assertReply(c.cmd("RSET"), 250)
        self.wait_log(r"event=rcpt sess=\w+ from=<kim@example\.test> "
                      r"to=<someone@remote\.test> verdict=accept reply=\"250 2\.1\.5\" "
                      r"reason=relay ip=127\.0\.0\.1")

    def test_msmtp(self):
        rc = os.path.join(self.h.dir, "msmtprc")
        with open(rc, "w") as f:
            f.write("defaults\ntls on\ntls_certcheck off\n"
                    f"logfile {self.h.dir}/msmtp.log\n"
                    f"account starttls\nhost 127.0.0.1\nport {self.p587}\ntls_starttls on\n"
                    "auth plain\nuser kim@example.test\npassword secret\nfrom kim@example.test\n"
                    f"account implicit\nhost 127.0.0.1\nport {self.p465}\ntls_starttls off\n"
                    "auth login\nuser kim@example.test\npassword secret\nfrom kim@example.test\n"
                    f"account badpass : starttls\npassword nope\n")
        os.chmod(rc, 0o600)
        for account in ("starttls", "implicit"):
            before = self.count("lee@example.test")
            p = subprocess.run(["msmtp", "-C", rc, "-a", account, "lee@example.test"],
                               input=message(frm="kim@example.test", body=f"via {account}\r\n"),
                               capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            msg = self.h.wait_messages("lee@example.test", before + 1)[-1]
            self.assertIn(f"via {account}".encode(), msg)
            self.assertIn(b"DKIM-Signature:", msg)
        p = subprocess.run(["msmtp", "-C", rc, "-a", "badpass", "lee@example.test"],
                           input=message(), capture_output=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"535", p.stderr)

    # -- the limits of port 25 hold here too ---------------------------------
    def test_hostile_input(self):
        c = self.authed()
        self.assertReply(c.cmd("MAIL FROM:<kim@example.test> SIZE=999999999"), 552, "5.3.4")
        self.assertReply(c.cmd("MAIL FROM:<kim@example.test> AUTH=<>"), 250)   # RFC 4954 5
        self.assertReply(c.cmd("RCPT TO:<lee@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        # SMTP smuggling: a bare-LF "end of data" is data, and refused
        c.send(message() + b"\n.\nMAIL FROM:<kim@example.test>\r\n.\r\n")
        self.assertReply(c.reply(), 554, "5.6.0")
        self.assertReply(c.cmd("MAIL FROM:<kim@example.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<lee@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(message(body="x" * 70000 + "\r\n") + b".\r\n")
        self.assertReply(c.reply(), 552, "5.3.4")
        # STARTTLS injection (CVE-2011-0411): pipelined plaintext is dropped
        c2 = self.raw()
        c2.send("STARTTLS\r\nAUTH PLAIN " + plain("kim@example.test", "secret") + "\r\n")
        self.assertEqual(c2.reply()[0], 220)
        c2.sock = CTX.wrap_socket(c2.sock, server_hostname="mx.example.test")
        code, text = c2.cmd("EHLO client.example")
        self.assertEqual(code, 250, text)
        self.assertReply(c2.cmd("MAIL FROM:<kim@example.test>"), 530, "5.7.0")
        self.wait_log(r"event=tls_discard sess=\w+ ip=127\.0\.0\.1 bytes=\d+")

    def test_privilege_separation(self):
        pid = self.h.role_pids()["submission"]
        with open(f"/proc/{pid}/status") as f:
            uids = re.search(r"^Uid:\s+(.*)$", f.read(), re.M).group(1).split()
        self.assertEqual(set(uids), {str(pwd.getpwnam("_hmx-submit").pw_uid)})
        self.assertEqual(os.readlink(f"/proc/{pid}/root"), os.path.join(self.h.dir, "empty"))
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            self.assertTrue(f.read().startswith(b"homemx-submission\0"))
        # and the network-facing role holds no store, no keys, no spool,
        # no Maildir (its only files are stderr, the daemon log)
        fds = [os.readlink(f"/proc/{pid}/fd/{n}") for n in os.listdir(f"/proc/{pid}/fd")]
        self.assertFalse([f for f in fds if f.startswith(self.h.dir) and f != self.h.log_path],
                         fds)


class TestRateLimit(SubmissionCase):
    auth_failures_per_ip = 3

    def test_rate_limit_then_fail2ban(self):
        c = self.raw(starttls=True)
        t0 = time.time()
        self.assertReply(c.cmd(f"AUTH PLAIN {plain('kim@example.test', 'bad1')}"), 535, "5.7.8")
        t1 = time.time()
        self.assertReply(c.cmd(f"AUTH PLAIN {plain('lee@example.test', 'bad2')}"), 535, "5.7.8")
        t2 = time.time()
        # the third failure in one session: 421 and the connection closes
        code, text = c.cmd(f"AUTH PLAIN {plain('ghost@example.test', 'bad3')}")
        t3 = time.time()
        self.assertReply((code, text), 421, "4.7.0")
        self.assertTrue(c.closed())
        # the delay grows: 0, then 250 ms, then 500 ms
        self.assertGreaterEqual(t2 - t1, 0.25)
        self.assertGreaterEqual(t3 - t2, 0.5)
        self.assertLess(t1 - t0, 2)
        # three failures from this IP: even the right password is refused
        c2 = self.raw(implicit_tls=True)
        self.assertReply(c2.cmd(f"AUTH PLAIN {plain('kim@example.test', 'secret')}"), 454, "4.7.0")
        self.assertReply(c2.cmd("MAIL FROM:<kim@example.test>"), 530, "5.7.0")
        # and a rejected recipient on port 25 (a dictionary attack)
        c25 = Client(self.h.smtp_port)
        self.clients.append(c25)
        c25.reply()
        c25.cmd("EHLO client.example")
        self.assertReply(c25.cmd("MAIL FROM:<a@client.example>"), 250)
        self.assertReply(c25.cmd("RCPT TO:<nobody@example.test>"), 550, "5.1.1")
        self.wait_log(r"event=rcpt sess=\w+ .*to=<nobody@example\.test> verdict=reject")
        self.wait_log(r"result=ratelimited")
        log = self.h.log()
        self.assertEqual(len(re.findall(r"event=auth .*result=bad$", log, re.M)), 3, log)
        self.assertEqual(len(re.findall(r"event=auth .*result=ratelimited$", log, re.M)), 1)
        self.assertRegex(log, r"event=auth_check user=<kim@example\.test> ip=127\.0\.0\.1 "
                              r"result=ratelimited reason=ip_limit")
        p = subprocess.run(["fail2ban-regex", "-v", self.h.log_path, FAIL2BAN_FILTER],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        m = re.search(r"^Lines: (\d+) lines, 0 ignored, (\d+) matched", p.stdout, re.M)
        self.assertIsNotNone(m, p.stdout)
        self.assertEqual(int(m.group(2)), 5, p.stdout)     # 3 bad + 1 ratelimited + 1 rcpt
        self.assertRegex(p.stdout, r"(?m)^\|\s+1\) \[4\] ")
        self.assertRegex(p.stdout, r"(?m)^\|\s+2\) \[1\] ")
        self.assertNotRegex(p.stdout, r"(?m)^\|\s+(?!127\.0\.0\.1)\d+\.\d+\.\d+\.\d+\s+\w{3} ")


class TestSigningUnavailable(SubmissionCase):
    """dkimsign runs, but example.test has no key: 451, never unsigned."""
    with_keys = False

    def test_no_key_is_451(self):
        c = self.authed()
        self.assertReply(self.transaction(c, "kim@example.test", ["lee@example.test"], message()),
                         451, "4.7.0")
        self.assertReply(c.cmd("NOOP"), 250)
        log = self.wait_log(r"event=reject sess=\w+ ip=127\.0\.0\.1 qid=[0-9a-f]{16} "
                            r"reply=\"451 4\.7\.0\" reason=sign_no_key").group(0)
        self.h.wait_log("result=no_key")     # dkimsign's line, through homemxd's pipe
        self.assertNotIn("event=committed", self.h.log())
        self.h.wait_for(lambda: not self.h.spool_files(), what="the spool file given back")
        self.assertEqual(self.count("lee@example.test"), 0, log)
        # the spool file the queue opened for it was given back (ABORT)
        self.assertEqual(self.h.spool_files(), [])


class TestLimitsAndIpShown(SubmissionCase):
    conf = "submission_hide_client_ip no\ntimeout_command 2s\nmax_recipients 2\n"

    def test_received_has_the_ip_when_configured(self):
        before = self.count("lee@example.test")
        with self.smtp() as s:
            s.sendmail("kim@example.test", ["lee@example.test"], message())
        msg = self.h.wait_messages("lee@example.test", before + 1)[-1]
        self.assertRegex(msg, rb"Received: from laptop\.example \(\[127\.0\.0\.1\]\)\r\n"
                              rb"\tby mx\.example\.test with ESMTPSA")

    def test_timeouts(self):
        # a client that stops in the middle of an AUTH exchange
        c = self.raw(starttls=True)
        self.assertReply(c.cmd("AUTH LOGIN"), 334)
        t0 = time.time()
        self.assertReply(c.reply(), 421, "4.4.2")
        self.assertTrue(c.closed())
        self.assertLess(time.time() - t0, 15)   # timeout_command 2s, not the default 300s
        # and one that never starts the TLS handshake on 465
        with socket.create_connection(("127.0.0.1", self.p465), timeout=WAIT) as raw:
            raw.settimeout(WAIT)
            t0 = time.time()
            self.assertEqual(raw.recv(100), b"")
            self.assertLess(time.time() - t0, 15)

    def test_max_recipients(self):
        c = self.authed()
        self.assertReply(c.cmd("MAIL FROM:<kim@example.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<a@remote.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<b@remote.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<c@remote.test>"), 452, "4.5.3")


if __name__ == "__main__":
    unittest.main()
