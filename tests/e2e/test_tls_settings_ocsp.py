"""e2e: OCSP stapling - homemxd fetches the response of a certificate that
names a responder, caches it on disk, and smtpd and submission staple it.

Inside a namespace with loopback only: a test CA, a server certificate
whose Authority Information Access names http://ocsp.example.test:PORT/,
`openssl ocsp` as the CA's responder (its index.txt says "valid"), and
unbound, which alone knows ocsp.example.test (homemx asks dns_server via
c-ares, never the system resolver). Checked: the fetch happens
(event=ocsp_fetched), both roles staple (event=ocsp_staple), `openssl
s_client -status` sees "Cert Status: good" on 465 and on port 25 after
STARTTLS, the response sits in ocsp_dir; and after a restart with the
responder gone, the cached response is stapled at once.
"""

import glob
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import WAIT, free_port, wait_until
from netns import NetnsHomemx, Unbound, can_use_netns, in_netns
from test_tls_settings import LoopbackOnly

NAME = "mx.example.test"


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_ca_and_leaf(d, ocsp_port):
    """ca.pem/ca.key, fullchain.pem (leaf + CA), privkey.pem, index.txt."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-days", "3", "-subj", "/CN=homemx test CA", "-keyout", "ca.key", "-out", "ca.pem",
            cwd=d)
    with open(os.path.join(d, "leaf.ext"), "w") as f:
        f.write(f"authorityInfoAccess = OCSP;URI:http://ocsp.example.test:{ocsp_port}/\n"
                f"subjectAltName = DNS:{NAME}\n")
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={NAME}",
            "-keyout", "privkey.pem", "-out", "leaf.csr", cwd=d)
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-set_serial", "0x1001", "-days", "2", "-extfile", "leaf.ext", "-out", "leaf.pem",
            cwd=d)
    with open(os.path.join(d, "fullchain.pem"), "w") as out:
        for name in ("leaf.pem", "ca.pem"):
            with open(os.path.join(d, name)) as f:
                out.write(f.read())
    os.chmod(os.path.join(d, "privkey.pem"), 0o600)
    end = subprocess.run(["openssl", "x509", "-in", "leaf.pem", "-noout", "-enddate",
                          "-dateopt", "iso_8601"], cwd=d, capture_output=True, text=True,
                         check=True).stdout
    # "notAfter=2026-12-07 12:00:00Z" -> index.txt's YYMMDDHHMMSSZ
    stamp = end.split("=", 1)[1].strip().replace("-", "").replace(":", "").replace(" ", "")
    with open(os.path.join(d, "index.txt"), "w") as f:
        f.write(f"V\t{stamp[2:]}\t\t1001\tunknown\t/CN={NAME}\n")


def s_client_status(ns, port, starttls):
    argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-status"]
    if starttls:
        argv += ["-starttls", "smtp"]
    with in_netns(ns):
        p = subprocess.run(argv, input="QUIT\r\n", capture_output=True, text=True,
                           timeout=WAIT)
    return p.stdout


class OcspStaplingTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        ok, why = can_use_netns()
        if not ok:
            raise unittest.SkipTest(why)
        cls.d = tempfile.mkdtemp(prefix="hmx-ocsp-")
        os.chmod(cls.d, 0o755)
        cls.ocsp_port = free_port()
        make_ca_and_leaf(cls.d, cls.ocsp_port)
        cls.topo = LoopbackOnly().start()
        cls.dns = Unbound(cls.topo)
        cls.dns.add("ocsp.example.test", "A", "127.0.0.1")
        cls.h = None
        try:
            cls.dns.start()
            cls.responder = cls.start_responder()
            cls.subs_port = free_port()
            cls.h = NetnsHomemx(cls.topo, cls.dns, extra_conf=(
                f"listen submissions 127.0.0.1:{cls.subs_port}\n"
                f"tls_certificate {cls.d}/fullchain.pem\ntls_key {cls.d}/privkey.pem\n"
                f"ocsp_dir {cls.d}/ocsp\n"))
            cls.h.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start_responder(cls):
        log = open(os.path.join(cls.d, "responder.log"), "ab")
        p = cls.topo.run_in(cls.topo.mta, [
            "openssl", "ocsp", "-index", "index.txt", "-port", str(cls.ocsp_port),
            "-rsigner", "ca.pem", "-rkey", "ca.key", "-CA", "ca.pem", "-nmin", "60",
            "-ignore_err"], cwd=cls.d, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        return p

    @classmethod
    def tearDownClass(cls):
        if cls.h is not None:
            cls.h.stop()
            cls.h.cleanup()
        cls.dns.stop()
        cls.topo.stop()
        shutil.rmtree(cls.d, ignore_errors=True)

    def test_fetched_cached_and_stapled(self):
        h = self.h
        h.wait_log("event=ocsp_fetched ")
        h.wait_log("event=ocsp_staple ", n=2)      # smtpd and submission
        self.assertEqual(len(glob.glob(f"{self.d}/ocsp/ocsp-*.der")), 1)
        for port, starttls in ((self.subs_port, False), (h.smtp_port, True)):
            out = s_client_status(self.topo.mta, port, starttls)
            self.assertIn("OCSP Response Status: successful", out, out[-2000:])
            self.assertIn("Cert Status: good", out)

        # The responder goes away; a restart staples the cached response
        # as soon as the roles are up, without a fetch.
        self.responder.terminate()
        self.responder.wait(timeout=WAIT)
        fetches = h.count("event=ocsp_fetch ")
        h.stop()
        h.start()
        h.wait_log("cached=yes")
        wait_until(lambda: "Cert Status: good" in s_client_status(self.topo.mta, self.subs_port,
                                                                   False),
                   what="the cached staple after a restart")
        self.assertEqual(h.count("event=ocsp_fetch "), fetches)


if __name__ == "__main__":
    unittest.main()
