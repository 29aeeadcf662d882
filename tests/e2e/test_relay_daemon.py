"""tests/e2e/test_relay_daemon.py - outbound mail through the whole daemon.

Owns: the proof that a message submitted on 587 (STARTTLS + AUTH) leaves
through homemx-relay: homemxd runs in the mta namespace of a netns
topology (tests/e2e/netns.py), resolves through the test's unbound and
delivers to SMTP receivers on their own IPv4/IPv6 addresses. It checks
that the relay runs as _hmx-relay in the chroot, the message arrives
signed and byte-exact after the headers, the queue hears every result
(delivered, deferred, bounced: a DSN back to the sender with the remote
reply), the built-in Gmail rule holds (IPv4, with no destination line in
the config), an IPv6->IPv4 fallback survives a kill -9 of the relay (the
queue keeps it and hands it to the restarted relay), and the queue's
requests to
one destination share one connection.

Needs root (ip netns); skipped otherwise, and while a role it needs is
not built.
"""
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import unittest

import harness
from harness import WAIT, wait_until
from netns import NetnsHomemx, Topology, Unbound, can_use_netns
from smtp_receiver import SmtpReceiver

NETNS_OK, NETNS_WHY = can_use_netns()
NEEDED = ("homemxd", "homemx-relay", "homemx-submission", "homemx-dkimsign", "homemx-queue")
MISSING = [b for b in NEEDED if not os.path.exists(os.path.join(harness.BUILD, b))]
V4, V6 = socket.AF_INET, socket.AF_INET6
CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE


def message(to, subject="relay through the daemon", body="hello over the wire\r\n"):
    return (f"From: Kim <kim@example.test>\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"\r\n{body}").encode()


def make_dkim_keys(h, domain, selector="mx1"):
    """mxctl dkim keygen if it works, else the key files by hand as
    lib/dkimkey.h lays them out: submitted mail is never sent
    unsigned, so without keys nothing would leave."""
    if h.mxctl("dkim", "keygen", domain, check=False).returncode == 0:
        return
    d = os.path.join(h.dir, "dkim", domain)
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


@unittest.skipUnless(NETNS_OK, NETNS_WHY)
@unittest.skipIf(MISSING, f"not built: {MISSING}")
class DaemonRelay(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.topo = topo = Topology()
        cls.h = cls.dns = None
        cls.rx = {}
        try:
            hosts = {name: topo.add_host(name) for name in ("net", "gmail", "strict",
                                                             "restart")}
            topo.start()
            dns = cls.dns = Unbound(topo)
            dns.add("example.net", "MX", "10 mx.example.net.")
            dns.add_host_records("mx.example.net", hosts["net"])
            dns.add("gmail.com", "MX", "5 gmail-smtp-in.l.google.com.")
            dns.add_host_records("gmail-smtp-in.l.google.com", hosts["gmail"])
            dns.add("strict.example", "MX", "10 mx.strict.example.")
            dns.add_host_records("mx.strict.example", hosts["strict"])
            dns.add("nullmx.example", "MX", "0 .")
            dns.add("restart.example", "MX", "10 mx.restart.example.")
            dns.add_host_records("mx.restart.example", hosts["restart"])
            dns.start()
            cls.rx = {name: SmtpReceiver(host, name=f"mx.{name}.test").start()
                      for name, host in hosts.items()}
            d = cls.certdir = tempfile.mkdtemp(prefix="hmx-relayd-cert-")
            cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", key, "-out", cert, "-days", "2", "-subj",
                            "/CN=mx.example.test"], check=True, capture_output=True)
            cls.sub_port = harness.free_port()
            conf = "\n".join([
                f"listen submission 127.0.0.1:{cls.sub_port}",
                f"tls_certificate {cert}",
                f"tls_key {key}",
                "retry_min 1s",
                "retry_max 2s",
                # no destination line: IPv4 toward Gmail is built in
            ])
            cls.h = NetnsHomemx(topo, dns, extra_conf=conf)
            cls.h.start()
            make_dkim_keys(cls.h, "example.test")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.h is not None:
            cls.h.stop()
            cls.h.cleanup()
        for rx in cls.rx.values():
            rx.stop()
        if cls.dns is not None:
            cls.dns.stop()
        cls.topo.stop()
        shutil.rmtree(getattr(cls, "certdir", "/nonexistent"), ignore_errors=True)

    def setUp(self):
        for rx in self.rx.values():
            rx.reset()
            rx.up()

    def tearDown(self):
        # Nothing of this test may reach the next one: wait until the queue
        # has settled every message (delivered, bounced or given up).
        self.h.wait_queue_empty()

    def submit(self, to, data=None, sender="kim@example.test", count=1):
        """count messages to the recipients `to`, over one session."""
        c = self.h.smtp(self.sub_port)
        try:
            c.ehlo("client.example")
            c.starttls(context=CTX)
            c.ehlo("client.example")
            c.login("kim@example.test", "secret")
            for _ in range(count):
                refused = c.sendmail(sender, to, data or message(", ".join(to)))
                self.assertEqual(refused, {})
        finally:
            c.quit()

    def wait_log(self, pattern, timeout=WAIT):
        return self.h.wait_log(pattern, timeout=timeout, regex=True)

    def test_relay_role_runs_unprivileged_in_the_chroot(self):
        pid = self.h.role_pids()["relay"]
        with open(f"/proc/{pid}/status") as f:
            uid = int(re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1))
        self.assertEqual(pwd.getpwuid(uid).pw_name, "_hmx-relay")
        self.assertEqual(os.readlink(f"/proc/{pid}/root"), os.path.join(self.h.dir, "empty"))

    def test_submitted_mail_leaves_signed_to_the_mx(self):
        self.submit(["bob@example.net", "eve@example.net"])
        (m,) = self.rx["net"].wait_messages(1, timeout=30)
        self.assertEqual(m.mail_from, "kim@example.test")
        self.assertEqual(sorted(m.rcpts), ["bob@example.net", "eve@example.net"])
        self.assertEqual(m.family, V6)             # no rule: IPv6 first
        self.assertIn(b"DKIM-Signature:", m.data)
        self.assertTrue(m.data.endswith(b"\r\n\r\nhello over the wire\r\n"), m.data[-200:])
        self.wait_log(r"event=relay qid=\S+ to=<bob@example.net> mx=mx.example.net "
                      r"ip=2001:db8::a family=ipv6 tls=no .* result=ok")

    def test_builtin_gmail_rule_sends_over_ipv4(self):
        with open(self.h.conf_path) as f:
            self.assertNotIn("destination", f.read())
        self.submit(["someone@gmail.com"])
        (m,) = self.rx["gmail"].wait_messages(1, timeout=30)
        self.assertEqual(m.family, V4)
        self.assertEqual(self.rx["gmail"].families(), [V4])

    def test_remote_5xx_bounces_to_the_sender_with_the_reply(self):
        self.rx["net"].rule("RCPT", "550 5.1.1 <nobody@example.net>: no such user here")
        before = len(self.h.messages("kim@example.test"))
        self.submit(["nobody@example.net"])
        self.wait_log(r"event=relay qid=\S+ to=<nobody@example.net> .* result=failed")
        msgs = self.h.wait_messages("kim@example.test", before + 1, timeout=30)
        dsn = msgs[-1]
        self.assertIn(b"multipart/report", dsn)
        self.assertIn(b"550 5.1.1 <nobody@example.net>: no such user here", dsn)

    def test_remote_4xx_is_retried_then_delivered(self):
        self.rx["net"].rule("RCPT", "451 4.7.1 greylisted", times=1)
        self.submit(["grey@example.net"])
        self.wait_log(r"event=relay qid=\S+ to=<grey@example.net> .* "
                      r'reply="451 4.7.1 greylisted" result=deferred')
        (m,) = self.rx["net"].wait_messages(1, timeout=30)
        self.assertEqual(m.rcpts, ["grey@example.net"])

    def test_null_mx_bounces_at_once(self):
        before = len(self.h.messages("kim@example.test"))
        self.submit(["x@nullmx.example"])
        self.wait_log(r"event=relay qid=\S+ to=<x@nullmx.example> .* "
                      r'reply="5.1.10 nullmx.example does not accept mail')
        dsn = self.h.wait_messages("kim@example.test", before + 1, timeout=30)[-1]
        self.assertIn(b"null MX", dsn)

    def test_ipv6_policy_reject_falls_back_to_ipv4(self):
        self.rx["strict"].rule("DATA_END", "550-5.7.1 this message does not meet IPv6\n"
                                           "550 5.7.1 sending guidelines", family=V6)
        self.submit(["kim@strict.example"])
        (m,) = self.rx["strict"].wait_messages(1, timeout=30)
        self.assertEqual(m.family, V4)
        self.wait_log(r"event=family_fallback qid=\S+ domain=strict.example "
                      r"mx=mx.strict.example ip=2001:db8::c from=ipv6 to=ipv4")

    def wait_for(self, what, predicate, timeout=WAIT):
        wait_until(predicate, timeout, what, lambda: self.h.log()[-5000:])

    def state_file(self):
        try:
            with open(os.path.join(self.h.dir, "spool", "state", "family")) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def test_fallback_memory_survives_a_relay_crash(self):
        rx = self.rx["restart"]
        rx.rule("RCPT", "550 5.7.1 IPv6 PTR missing", family=V6)
        self.submit(["a@restart.example"])
        (m,) = rx.wait_messages(1, timeout=30)
        self.assertEqual((m.family, rx.families()), (V4, [V6, V4]))
        # the queue keeps it on disk, for the MX host and the domain
        self.wait_for("both names in spool/state/family",
                      lambda: " mx.restart.example " in self.state_file() and
                      " restart.example " in self.state_file())
        pid = self.h.role_pids()["relay"]
        handed = self.h.log().count("event=family_memory ")
        os.kill(pid, signal.SIGKILL)
        # the supervisor restarts it; the queue hands it the memory
        self.wait_for("a new relay with the memory",
                      lambda: self.h.log().count("event=family_memory ") > handed)
        self.assertNotEqual(self.h.role_pids().get("relay"), pid)
        self.assertIn("event=role_exit role=relay signal=9", self.h.log())
        self.submit(["b@restart.example"])
        rx.wait_messages(2, timeout=30)
        self.assertEqual(rx.families(), [V6, V4, V4])      # IPv4 at once
        self.assertEqual(len(re.findall(r"event=family_fallback qid=\S+ domain=restart.example",
                                        self.h.log())), 1)

    def test_two_messages_share_one_connection(self):
        self.submit(["a@example.net"])
        self.rx["net"].wait_messages(1, timeout=30)
        self.submit(["b@example.net"])
        self.rx["net"].wait_messages(2, timeout=30)
        self.assertEqual(len(self.rx["net"].connections), 1)

    def test_connection_limit_per_destination(self):
        rx = self.rx["net"]
        rx.data_delay = 0.5
        self.submit(["many@example.net"], count=6)
        rx.wait_messages(6, timeout=60)
        self.assertEqual(rx.max_concurrent, 2)     # max_connections_per_destination


if __name__ == "__main__":
    unittest.main()
