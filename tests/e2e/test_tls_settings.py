"""e2e: the TLS settings of each listener kind, seen from outside by real
scanners and clients, and an RSA and an ECDSA certificate side by side.

homemxd runs in a network namespace that has nothing but loopback (no
route, no resolver: the scanners cannot reach anything else). sslscan
(Debian's) enumerates what each port accepts: on submission (465, TLS
from the first byte, and 587 with STARTTLS) it must find TLS 1.2 and 1.3
only, and for TLS 1.2 only ECDHE key exchange with an AEAD cipher (GCM or
ChaCha20-Poly1305): no CBC, no static RSA, no DHE. Port 25 keeps
OpenSSL's DEFAULT list (CBC included, for old senders), which shows the
scanner does see CBC when it is there and that the settings are per kind.

With tls_certificate (RSA) and tls_certificate_ecdsa both set, `openssl
s_client` restricted to ECDSA (TLS 1.3 -sigalgs ECDSA+SHA256, TLS 1.2
-cipher ECDHE-ECDSA-...) gets the ECDSA certificate and one restricted to
RSA gets the RSA certificate, byte for byte; a reload with a renewed ECDSA
pair reaches new sessions. `homemxd -n` refuses an ECDSA key that does
not belong to its certificate, naming the setting.
"""

import os
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

import netns
from harness import BUILD, WAIT, free_port
from netns import NetnsHomemx, Topology, can_use_netns, in_netns

NAME = "mx.example.test"


class LoopbackOnly(Topology):
    """The mta namespace of netns.Topology with loopback and nothing else."""

    def start(self):
        netns._live_topologies.append(self)
        self._new_ns(self.mta)
        self.started = True
        return self


def make_pair(directory, kind, serial):
    """A self-signed pair (kind "rsa" or "ecdsa"); (cert, key, DER)."""
    cert = os.path.join(directory, f"{kind}.pem")
    key = os.path.join(directory, f"{kind}.key")
    newkey = ["-newkey", "rsa:2048"] if kind == "rsa" else \
        ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    subprocess.run(["openssl", "req", "-x509"] + newkey + [
        "-nodes", "-days", "2", "-set_serial", str(serial), "-subj", f"/CN={NAME}",
        "-keyout", key, "-out", cert], check=True, capture_output=True)
    os.chmod(key, 0o600)
    with open(cert) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return cert, key, der


def sslscan(ns, port, starttls):
    """sslscan's XML for 127.0.0.1:port, run inside namespace ns:
    {(protocol, cipher name)} accepted."""
    argv = ["sslscan", "--no-colour", "--xml=-", "--no-heartbleed", "--no-groups"]
    if starttls:
        argv.append("--starttls-smtp")
    argv.append(f"127.0.0.1:{port}")
    with in_netns(ns):
        p = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    root = ET.fromstring(p.stdout[p.stdout.index("<?xml"):])
    accepted = {(c.get("sslversion"), c.get("cipher")) for c in root.iter("cipher")
                if c.get("status") in ("accepted", "preferred")}
    if not accepted:
        raise AssertionError(f"sslscan found nothing on {port}: {p.stdout[-2000:]} {p.stderr}")
    return accepted


def s_client(ns, port, starttls, *args):
    """The DER of the certificate `openssl s_client ARGS` gets."""
    argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", NAME]
    if starttls:
        argv += ["-starttls", "smtp"]
    with in_netns(ns):
        p = subprocess.run(argv + list(args), input="QUIT\r\n", capture_output=True,
                           text=True, timeout=WAIT)
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", p.stdout, re.S)
    if m is None:
        raise AssertionError(f"s_client {' '.join(args)}: no certificate: {p.stdout[-1500:]}"
                             f" {p.stderr[-1500:]}")
    return ssl.PEM_cert_to_DER_cert(m.group(0))


AEAD_ECDHE = re.compile(r"^ECDHE-(RSA|ECDSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$")


class TlsSettingsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        ok, why = can_use_netns()
        if not ok:
            raise unittest.SkipTest(why)
        if shutil.which("sslscan") is None:
            raise unittest.SkipTest("sslscan not installed (scripts/install-deps)")
        cls.topo = LoopbackOnly().start()
        cls.certs = tempfile.mkdtemp(prefix="hmx-tls-")
        os.chmod(cls.certs, 0o755)
        cls.rsa = make_pair(cls.certs, "rsa", 1)
        cls.ecdsa = make_pair(cls.certs, "ecdsa", 2)
        cls.sub_port, cls.subs_port = free_port(), free_port()
        cls.h = NetnsHomemx(cls.topo, None, extra_conf=(
            f"listen submission 127.0.0.1:{cls.sub_port}\n"
            f"listen submissions 127.0.0.1:{cls.subs_port}\n"
            f"tls_certificate {cls.rsa[0]}\ntls_key {cls.rsa[1]}\n"
            f"tls_certificate_ecdsa {cls.ecdsa[0]}\ntls_key_ecdsa {cls.ecdsa[1]}\n"))
        try:
            cls.h.start()
        except BaseException:
            cls.topo.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.h.cleanup()
        cls.topo.stop()
        shutil.rmtree(cls.certs, ignore_errors=True)

    def assert_modern_only(self, accepted, port):
        protocols = {proto for proto, _ in accepted}
        self.assertLessEqual(protocols, {"TLSv1.2", "TLSv1.3"}, port)
        tls12 = {name for proto, name in accepted if proto == "TLSv1.2"}
        self.assertTrue(tls12, port)
        for name in tls12:
            self.assertRegex(name, AEAD_ECDHE, f"port {port} accepts {name}")
            self.assertNotIn("CBC", name)
        # both certificates answer: ECDSA and RSA suites
        self.assertTrue(any("-ECDSA-" in n for n in tls12), tls12)
        self.assertTrue(any("-RSA-" in n for n in tls12), tls12)

    def test_submission_offers_only_forward_secret_aead(self):
        self.assert_modern_only(sslscan(self.topo.mta, self.subs_port, False), self.subs_port)
        self.assert_modern_only(sslscan(self.topo.mta, self.sub_port, True), self.sub_port)

    def test_port_25_keeps_the_default_list(self):
        accepted = sslscan(self.topo.mta, self.h.smtp_port, True)
        names = {name for proto, name in accepted if proto == "TLSv1.2"}
        # OpenSSL's DEFAULT: CBC suites (SHA-1/SHA-256 MAC) are there, so
        # the scanner finds CBC where it exists
        self.assertTrue(any(re.search(r"AES(128|256)-SHA(256)?$", n) for n in names), names)
        self.assertNotIn("TLSv1.1", {proto for proto, _ in accepted})

    def test_ecdsa_clients_get_ecdsa_and_others_rsa(self):
        ns = self.topo.mta
        for port, starttls in ((self.subs_port, False), (self.h.smtp_port, True)):
            with self.subTest(port=port):
                self.assertEqual(s_client(ns, port, starttls, "-tls1_3", "-sigalgs",
                                          "ECDSA+SHA256"), self.ecdsa[2])
                self.assertEqual(s_client(ns, port, starttls, "-tls1_3", "-sigalgs",
                                          "RSA-PSS+SHA256:RSA+SHA256"), self.rsa[2])
                self.assertEqual(s_client(ns, port, starttls, "-tls1_2", "-cipher",
                                          "ECDHE-ECDSA-AES128-GCM-SHA256"), self.ecdsa[2])
                self.assertEqual(s_client(ns, port, starttls, "-tls1_2", "-cipher",
                                          "ECDHE-RSA-AES128-GCM-SHA256"), self.rsa[2])

    def test_reload_renews_the_ecdsa_pair(self):
        h = self.h
        before = h.count("event=tls_reload ")
        renewed = make_pair(self.certs, "ecdsa", 3)    # same paths, new pair
        os.kill(h.proc.pid, signal.SIGHUP)
        # smtpd and submission each log their two certificates
        h.wait_log("event=tls_reload ", n=4, start_count=before)
        self.assertIn("type=ecdsa kind=submission serial=03", h.log())
        self.assertEqual(s_client(self.topo.mta, self.subs_port, False, "-tls1_3",
                                  "-sigalgs", "ECDSA+SHA256"), renewed[2])
        self.assertEqual(s_client(self.topo.mta, self.subs_port, False, "-tls1_3",
                                  "-sigalgs", "RSA-PSS+SHA256"), self.rsa[2])
        type(self).ecdsa = renewed
        self.assertEqual(set(h.role_pids()), set(h.roles()), "no role died")


class EcdsaPairCheck(unittest.TestCase):
    """homemxd -n: each key must belong to its certificate."""

    def test_mismatched_ecdsa_key_is_refused(self):
        d = tempfile.mkdtemp(prefix="hmx-tls-n-")
        try:
            rsa = make_pair(d, "rsa", 1)
            ecdsa = make_pair(d, "ecdsa", 2)
            other = os.path.join(d, "other")
            os.mkdir(other)
            stray = make_pair(other, "ecdsa", 3)
            conf = os.path.join(d, "homemx.conf")

            def check(ec_key):
                with open(conf, "w") as f:
                    f.write(f"listen smtp 127.0.0.1:2525\ntls_certificate {rsa[0]}\n"
                            f"tls_key {rsa[1]}\ntls_certificate_ecdsa {ecdsa[0]}\n"
                            f"tls_key_ecdsa {ec_key}\n")
                return subprocess.run([os.path.join(BUILD, "homemxd"), "-n", "-f", conf],
                                      capture_output=True, text=True)
            p = check(ecdsa[1])
            self.assertEqual(p.returncode, 0, p.stderr)
            p = check(stray[1])
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(f"tls_key_ecdsa {stray[1]}: key does not match certificate "
                          f"{ecdsa[0]}", p.stderr)
            p = check(rsa[1])
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(f"tls_key_ecdsa {rsa[1]}: expected an ECDSA key", p.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
