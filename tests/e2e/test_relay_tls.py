"""tests/e2e/test_relay_tls.py - outbound TLS that can not be downgraded:
the relay role (homemx-relay, run as in test_relay.py: chrooted, dropped
to nobody, the test playing supervisor and queue) against receivers in the
netns topology of tests/e2e/netns.py.

What is checked, each against a receiver that would accept the message
in plaintext:
  - tls=require verifies the certificate against relay_ca_file (a test
    CA) and the MX name: a good certificate delivers; a wrong name or an
    expired certificate defers with 4.7.5 and no plaintext retry;
  - STARTTLS stripped (not offered, or refused with 454) under a policy
    that requires TLS defers (4.7.4 or the server's reply), never sends;
  - DANE (RFC 7672): a zone signed with ldns-signzone and served by an
    unbound that validates it with its own trust anchor; dns_validating
    on. A matching TLSA 3 1 1 delivers (and beats a name the CA would
    refuse), a TLSA that does not match defers, TLSA + stripped STARTTLS
    defers, the same records in an unsigned zone are ignored, and so is a
    signed TLSA whose host has an insecure address (RFC 7672 2.2.2);
  - without a policy nothing changes: a misnamed certificate is still used
    for opportunistic TLS (the check only logged).
The certificates come from doctor_world.TestCA (openssl CLI, faketime for
the expired one). Needs root (ip netns) and ldns-keygen/ldns-signzone
(ldnsutils, scripts/install-deps).
"""
import glob
import json
import os
import re
import shutil
import subprocess
import unittest

from doctor_world import PolicyServer, TestCA, spki_sha256
from netns import Topology, Unbound, can_use_netns
from smtp_receiver import SmtpReceiver
from test_relay import HAVE_RELAY, OK, TEMPFAIL, RelayRig

NETNS_OK, NETNS_WHY = can_use_netns()
HAVE_LDNS = shutil.which("ldns-signzone") is not None and shutil.which("ldns-keygen") is not None


class TlsRig(RelayRig):
    """The relay of test_relay.py with its relay_state_dir at state_dir (one
    per test, kept across a second relay process in the same test)."""

    def __init__(self, topo, dns, extra_conf, state_dir):
        self.state_dir = state_dir
        super().__init__(topo, dns, extra_conf)

    def config(self, *extra, **kw):
        text = super().config(*extra, **kw)
        return re.sub(r"(?m)^relay_state_dir .*$", f"relay_state_dir {self.state_dir}", text)


class SignedUnbound(Unbound):
    """The test unbound, plus one DNSSEC-signed zone it serves to itself
    (auth-zone for-upstream) and validates with that zone's key as trust
    anchor (module-config "validator iterator"): answers from it carry AD,
    the local-data names of the plain Unbound stay insecure."""

    def __init__(self, topo, zone):
        super().__init__(topo)
        self.zone = zone
        self.zone_records = []

    def add_signed(self, name, rtype, rdata, ttl=300):
        name = name if name.endswith(".") else name + "."
        self.zone_records.append(f"{name} {ttl} IN {rtype} {rdata}")

    def _sign(self):
        d = self.conf_dir
        os.makedirs(d, exist_ok=True)
        z = self.zone + "."
        path = os.path.join(d, "zone")
        with open(path, "w") as f:
            f.write(f"$ORIGIN {z}\n$TTL 300\n"
                    f"@ IN SOA ns.{z} hostmaster.{z} 1 3600 600 86400 300\n"
                    f"@ IN NS ns.{z}\nns IN A 192.0.2.1\n")
            f.write("\n".join(self.zone_records) + "\n")
        ksk = subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", z], cwd=d,
                             check=True, capture_output=True, text=True).stdout.strip()
        zsk = subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256", z], cwd=d,
                             check=True, capture_output=True, text=True).stdout.strip()
        subprocess.run(["ldns-signzone", "-f", path + ".signed", path, zsk, ksk], cwd=d,
                       check=True, capture_output=True)
        return path + ".signed", os.path.join(d, ksk + ".key")

    def write_conf(self):
        super().write_conf()
        signed, anchor = self._sign()
        with open(self.conf_path) as f:
            text = f.read()
        text = text.replace('    module-config: "iterator"',
                            '    module-config: "validator iterator"\n'
                            f'    trust-anchor-file: "{anchor}"\n'
                            f'    local-zone: "{self.zone}." transparent')
        text = text.replace("remote-control:", f'auth-zone:\n    name: "{self.zone}."\n'
                            f'    zonefile: "{signed}"\n    for-upstream: yes\n'
                            "    for-downstream: no\nremote-control:")
        with open(self.conf_path, "w") as f:
            f.write(text)
        for p in glob.glob(os.path.join(self.conf_dir, "K*")):
            os.chmod(p, 0o644)


# (domain, its MX, the policy's mode, the policy's mx: line)
STS_DOMAINS = (
    ("sts-ok.test", "mx.good.test", "enforce", "mx.good.test"),
    ("sts-badmx.test", "mx.good.test", "enforce", "*.elsewhere.test"),
    ("sts-wrongname.test", "mx.wrongname.test", "enforce", "mx.wrongname.test"),
    ("sts-strip.test", "mx.strip.test", "enforce", "*.strip.test"),
    ("sts-testing.test", "mx.wrongname.test", "testing", "*.elsewhere.test"),
)


@unittest.skipUnless(NETNS_OK, NETNS_WHY)
@unittest.skipUnless(HAVE_RELAY, "homemx-relay not built")
@unittest.skipUnless(HAVE_LDNS, "ldns-signzone not installed (scripts/install-deps)")
class RelayTlsTest(unittest.TestCase):
    LABELS = ("good", "wrongname", "expired", "strip", "refuse", "dane", "danestrip")

    @classmethod
    def setUpClass(cls):
        topo = cls.topo = Topology()
        try:
            cls.h = {label: topo.add_host(label, ipv6=False) for label in cls.LABELS}
            policy_host = topo.add_host("policy", ipv6=False)
            topo.start()
            ca = cls.ca = TestCA(os.path.join(topo.dir, "ca"))
            certs = {
                "good": ca.leaf("good", ["mx.good.test"]),
                "wrongname": ca.leaf("wrongname", ["someone-else.test"]),
                "expired": ca.leaf("expired", ["mx.expired.test"], days=1,
                                   faketime="-10d"),
                "refuse": ca.leaf("refuse", ["mx.refuse.test"]),
                # the CA does not know this name: only DANE can vouch for it
                "dane": ca.leaf("dane", ["not-the-mx.test"], self_signed=True),
            }
            dns = cls.dns = SignedUnbound(topo, "dane.test")
            for label in ("good", "wrongname", "expired", "strip", "refuse"):
                dns.add(f"{label}.test", "MX", f"10 mx.{label}.test.")
                dns.add_host_records(f"mx.{label}.test", cls.h[label])
            good_hash = spki_sha256(certs["dane"][0])
            bad_hash = "00" * 32
            for sub, label, digest in (("ok", "dane", good_hash), ("bad", "dane", bad_hash),
                                       ("strip", "danestrip", good_hash)):
                dns.add_signed(f"{sub}.dane.test", "MX", f"10 mx-{sub}.dane.test.")
                dns.add_signed(f"mx-{sub}.dane.test", "A", cls.h[label].ipv4)
                dns.add_signed(f"_25._tcp.mx-{sub}.dane.test", "TLSA", f"3 1 1 {digest}")
            # RFC 7672 2.2.2: a signed MX and signed TLSA that does not match,
            # but the host's A record is answered from local-data (no AD), as
            # when the address comes from an unsigned zone through a CNAME
            dns.add_signed("insaddr.dane.test", "MX", "10 mx-insaddr.dane.test.")
            dns.add_signed("_25._tcp.mx-insaddr.dane.test", "TLSA", f"3 1 1 {bad_hash}")
            dns.add("mx-insaddr.dane.test", "A", cls.h["dane"].ipv4)
            # the same wrong record, unsigned: insecure, so ignored
            dns.add("insecure.test", "MX", "10 mx.insecure.test.")
            dns.add_host_records("mx.insecure.test", cls.h["dane"])
            dns.add("_25._tcp.mx.insecure.test", "TLSA", f"3 1 1 {bad_hash}")
            # MTA-STS: policies served over HTTPS by policy_host (RFC 8461 3)
            policies = {}
            for domain, mx, mode, pattern in STS_DOMAINS:
                dns.add(domain, "MX", f"10 {mx}.")
                dns.add(f"_mta-sts.{domain}", "TXT", '"v=STSv1; id=20261205T1;"')
                dns.add(f"mta-sts.{domain}", "A", policy_host.ipv4)
                policies[f"mta-sts.{domain}"] = (f"version: STSv1\nmode: {mode}\n"
                                                 f"mx: {pattern}\nmax_age: 86400\n")
            # refreshed in the background (RFC 8461 10.2): max_age 20, so
            # due 10 s after the fetch
            dns.add("sts-refresh.test", "MX", "10 mx.good.test.")
            dns.add("_mta-sts.sts-refresh.test", "TXT", '"v=STSv1; id=20261205T1;"')
            dns.add("mta-sts.sts-refresh.test", "A", policy_host.ipv4)
            policies["mta-sts.sts-refresh.test"] = ("version: STSv1\nmode: enforce\n"
                                                    "mx: mx.good.test\nmax_age: 20\n")
            dns.start()
            pcert = ca.leaf("policy", list(policies))
            cls.policy_args = (policy_host.ns, policy_host.ipv4, *pcert, policies)
            cls.policy_server = PolicyServer(*cls.policy_args)
            cls.rx = {}
            for label, host in cls.h.items():
                rx = SmtpReceiver(host, name=f"mx.{label}.test")
                if label in certs:
                    rx.tls = certs[label]
                cls.rx[label] = rx.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for rx in getattr(cls, "rx", {}).values():
            rx.stop()
        if getattr(cls, "policy_server", None) is not None:
            cls.policy_server.stop()
            cls.policy_server = None
        if getattr(cls, "dns", None) is not None:
            cls.dns.stop()
        cls.topo.stop()

    def setUp(self):
        for rx in self.rx.values():
            rx.reset()
            rx.up()
        self.state_dir = os.path.join(self.topo.dir, f"state-{self.id().split('.')[-1]}")
        conf = (f"relay_ca_file {self.ca.cert}\n"
                "dns_validating yes\n"
                "destination domain *.test tls=require\n")
        self.rig_conf = self.extra_conf(conf)
        self.rig = TlsRig(self.topo, self.dns, self.rig_conf, self.state_dir)

    def extra_conf(self, conf):
        return conf

    def tearDown(self):
        self.rig.stop()
        self.rig.cleanup()

    def assert_never_sent(self, label):
        """The receiver saw no MAIL: nothing went out, in TLS or not."""
        rx = self.rx[label]
        self.assertEqual(rx.messages(), [])
        for c in rx.connections:
            self.assertFalse([x for x in c.commands() if x.startswith("MAIL")], rx.describe())

    def report(self, domain):
        """The TLS-RPT JSON the relay wrote for domain today (after stop)."""
        (path,) = glob.glob(os.path.join(self.state_dir, f"tlsrpt-*-{domain}.json"))
        with open(path) as f:
            return json.load(f)

    def attempts(self):
        return [l[l.index("qid="):] for l in self.rig.log().splitlines()
                if "event=relay_attempt " in l]


class RequireTls(RelayTlsTest):
    def test_good_certificate_delivers_over_tls(self):
        self.assertEqual(self.rig.relay(["a@good.test"])[0][0], OK)
        (m,) = self.rx["good"].messages()
        self.assertTrue(m.tls)
        self.assertRegex(self.rig.log(), r"event=relay_tls mx=mx.good.test ip=192.0.2.10 tls=\S+ "
                                         r'policy=tls=require certificate="ok"')

    def test_wrong_name_defers_without_plaintext_retry(self):
        ((r, reply),) = self.rig.relay(["a@wrongname.test"])
        self.assertEqual(r, TEMPFAIL)
        self.assertRegex(reply, r"^4\.7\.5 TLS handshake with mx.wrongname.test\[192.0.2.11\] "
                                r"failed: certificate verification failed: hostname mismatch")
        self.assertEqual(len(self.rx["wrongname"].connections), 1)
        self.assert_never_sent("wrongname")
        self.assertNotIn("event=relay_tls_fallback", self.rig.log())

    def test_expired_certificate_defers(self):
        ((r, reply),) = self.rig.relay(["a@expired.test"])
        self.assertEqual(r, TEMPFAIL)
        self.assertRegex(reply, r"certificate verification failed: certificate has expired")
        self.assert_never_sent("expired")

    def test_stripped_starttls_defers(self):
        """A hostile receiver (or a box in the path) hides STARTTLS."""
        ((r, reply),) = self.rig.relay(["a@strip.test"])
        self.assertEqual(r, TEMPFAIL)
        self.assertRegex(reply, r"^4\.7\.4 mx.strip.test\[192.0.2.13\] does not offer "
                                r"STARTTLS \(tls=require\)")
        self.assert_never_sent("strip")

    def test_refused_starttls_defers(self):
        self.rx["refuse"].rule("STARTTLS", "454 4.7.0 TLS not available")
        ((r, reply),) = self.rig.relay(["a@refuse.test"])
        self.assertEqual((r, reply), (TEMPFAIL, "454 4.7.0 TLS not available"))
        self.assert_never_sent("refuse")


class Opportunistic(RelayTlsTest):
    """No policy: the same misnamed certificate is used as it is."""

    def extra_conf(self, conf):
        return conf.replace("destination domain *.test tls=require\n", "")

    def test_misnamed_certificate_still_carries_opportunistic_tls(self):
        self.assertEqual(self.rig.relay(["a@wrongname.test"])[0][0], OK)
        (m,) = self.rx["wrongname"].messages()
        self.assertTrue(m.tls)
        self.assertRegex(self.rig.log(), r'policy=opportunistic certificate="hostname mismatch"')

    def test_stripped_starttls_goes_on_in_plaintext(self):
        self.assertEqual(self.rig.relay(["a@strip.test"])[0][0], OK)
        (m,) = self.rx["strip"].messages()
        self.assertFalse(m.tls)


class Dane(RelayTlsTest):
    def extra_conf(self, conf):
        return conf.replace("destination domain *.test tls=require\n", "")

    def test_matching_tlsa_delivers(self):
        self.assertEqual(self.rig.relay(["a@ok.dane.test"])[0][0], OK)
        (m,) = self.rx["dane"].messages()
        self.assertTrue(m.tls)
        self.assertRegex(self.rig.log(), r"mx=mx-ok.dane.test ip=192.0.2.15 tls=\S+ "
                                         r'policy=dane certificate="dane"')

    def test_mismatching_tlsa_defers(self):
        ((r, reply),) = self.rig.relay(["a@bad.dane.test"])
        self.assertEqual(r, TEMPFAIL)
        self.assertRegex(reply, r"^4\.7\.5 TLS handshake with mx-bad.dane.test\S+ failed: "
                                r"certificate verification failed")
        self.assert_never_sent("dane")
        self.assertEqual(len(self.rx["dane"].connections), 1)

    def test_tlsa_and_stripped_starttls_defers(self):
        ((r, reply),) = self.rig.relay(["a@strip.dane.test"])
        self.assertEqual(r, TEMPFAIL)
        self.assertRegex(reply, r"^4\.7\.4 mx-strip.dane.test\S+ does not offer STARTTLS "
                                r"\(dane\)")
        self.assert_never_sent("danestrip")

    def test_insecure_address_switches_dane_off(self):
        """A secure MX and a secure TLSA that does not match, but the
        host's A answer is insecure: no DANE (RFC 7672 2.2.2), said in the
        log, and the message goes out with opportunistic TLS."""
        self.assertEqual(self.rig.relay(["a@insaddr.dane.test"])[0][0], OK)
        (m,) = self.rx["dane"].messages()
        self.assertTrue(m.tls)
        log = self.rig.log()
        self.assertRegex(log, r"event=relay_dane_off qid=\S+ domain=insaddr.dane.test "
                              r"mx=mx-insaddr.dane.test reason=insecure_address")
        self.assertRegex(log, r"mx=mx-insaddr.dane.test ip=\S+ tls=\S+ policy=opportunistic")

    def test_secure_address_keeps_dane(self):
        """The signed host of the mismatching TLSA says nothing of it."""
        self.assertEqual(self.rig.relay(["a@bad.dane.test"])[0][0], TEMPFAIL)
        self.assertNotIn("event=relay_dane_off", self.rig.log())

    def test_unsigned_tlsa_is_ignored(self):
        self.assertEqual(self.rig.relay(["a@insecure.test"])[0][0], OK)
        (m,) = self.rx["dane"].messages()
        self.assertTrue(m.tls)
        self.assertRegex(self.rig.log(), r"mx=mx.insecure.test ip=\S+ tls=\S+ policy=opportunistic")


class MtaSts(RelayTlsTest):
    def extra_conf(self, conf):
        return conf.replace("destination domain *.test tls=require\n", "")

    def test_enforced_policy_verifies_the_mx(self):
        self.assertEqual(self.rig.relay(["a@sts-ok.test"])[0][0], OK)
        (m,) = self.rx["good"].messages()
        self.assertTrue(m.tls)
        log = self.rig.log()
        self.assertRegex(log, r"event=mta_sts_fetch domain=sts-ok.test result=ok "
                              r"id=20261205T1 mode=enforce mx=1 max_age=86400")
        self.assertRegex(log, r"event=relay_tls mx=mx.good.test \S+ tls=\S+ policy=mta-sts "
                              r'certificate="ok"')
        # cached on disk for the next relay process (RFC 8461 5)
        self.assertTrue(os.path.exists(os.path.join(self.state_dir, "mta-sts-sts-ok.test")))

    def test_mx_outside_the_policy_is_never_contacted(self):
        ((r, reply),) = self.rig.relay(["a@sts-badmx.test"])
        self.assertEqual(r, TEMPFAIL)
        self.assertEqual(reply, "4.7.5 MX host mx.good.test is not in the MTA-STS policy of "
                                "sts-badmx.test (RFC 8461 4.1)")
        self.assertEqual(self.rx["good"].connections, [])

    def test_enforced_policy_and_wrong_certificate_name_defers(self):
        ((r, reply),) = self.rig.relay(["a@sts-wrongname.test"])
        self.assertEqual(r, TEMPFAIL)
        self.assertRegex(reply, r"certificate verification failed: hostname mismatch")
        self.assert_never_sent("wrongname")

    def test_enforced_policy_and_stripped_starttls_defers(self):
        ((r, reply),) = self.rig.relay(["a@sts-strip.test"])
        self.assertEqual(r, TEMPFAIL)
        self.assertRegex(reply, r"^4\.7\.4 mx.strip.test\S+ does not offer STARTTLS \(mta-sts\)")
        self.assert_never_sent("strip")
        self.rig.stop()
        rep = self.report("sts-strip.test")
        (pol,) = rep["policies"]
        self.assertEqual(pol["policy"]["policy-type"], "sts")
        self.assertIn("mode: enforce", pol["policy"]["policy-string"])
        self.assertEqual(pol["summary"], {"total-successful-session-count": 0,
                                          "total-failure-session-count": 1})
        self.assertEqual(pol["failure-details"][0]["result-type"], "starttls-not-supported")

    def test_testing_mode_delivers_and_reports_the_failure(self):
        self.assertEqual(self.rig.relay(["a@sts-testing.test"])[0][0], OK)
        (m,) = self.rx["wrongname"].messages()
        self.assertTrue(m.tls)
        self.rig.stop()
        (pol,) = self.report("sts-testing.test")["policies"]
        self.assertEqual(pol["summary"]["total-failure-session-count"], 1)
        (d,) = pol["failure-details"]
        self.assertEqual((d["result-type"], d["receiving-mx-hostname"], d["receiving-ip"]),
                         ("certificate-host-mismatch", "mx.wrongname.test", "192.0.2.11"))

    def test_cached_policy_holds_when_the_fetch_is_blocked(self):
        """A second relay process, the policy host unreachable: the policy
        from relay_state_dir still keeps the MX outside it unused."""
        self.assertEqual(self.rig.relay(["a@sts-badmx.test"])[0][0], TEMPFAIL)
        self.rig.stop()
        self.rig.cleanup()
        self.policy_server.stop()
        type(self).policy_server = None
        try:
            self.rig = TlsRig(self.topo, self.dns, self.rig_conf, self.state_dir)
            ((r, reply),) = self.rig.relay(["b@sts-badmx.test"])
            self.assertEqual(r, TEMPFAIL)
            self.assertIn("not in the MTA-STS policy", reply)
            self.assertNotIn("event=mta_sts_fetch", self.rig.log())
            self.assertEqual(self.rx["good"].connections, [])
        finally:
            type(self).policy_server = PolicyServer(*self.policy_args)


class MtaStsRefresh(RelayTlsTest):
    def extra_conf(self, conf):
        return conf.replace("destination domain *.test tls=require\n", "")

    def test_cached_policy_is_refreshed_without_mail(self):
        """One message caches a policy of max_age 20; the domain then
        publishes a new id and policy: the relay fetches it on its own,
        before the old one expires, and no mail goes out meanwhile."""
        self.assertEqual(self.rig.relay(["a@sts-refresh.test"])[0][0], OK)
        path = os.path.join(self.state_dir, "mta-sts-sts-refresh.test")
        with open(path) as f:
            self.assertIn("max_age: 20\n", f.read())
        self.policy_server.policies["mta-sts.sts-refresh.test"] = (
            "version: STSv1\nmode: enforce\nmx: mx.good.test\nmax_age: 86400\n")
        dns = self.dns
        dns.records = [r for r in dns.records if not r.startswith("_mta-sts.sts-refresh.test.")]
        dns.add("_mta-sts.sts-refresh.test", "TXT", '"v=STSv1; id=20261205T2;"')
        dns.restart()
        self.rig.wait_log(r"event=mta_sts_fetch domain=sts-refresh.test result=ok "
                          r"id=20261205T2 mode=enforce mx=1 max_age=86400", regex=True)

        def replaced():
            with open(path) as f:
                text = f.read()
            return text.startswith("id 20261205T2\n") and "max_age: 86400\n" in text
        self.rig.wait_for(replaced, what="the cache file holds the new policy")
        log = self.rig.log()
        self.assertRegex(log, r"event=mta_sts_refresh domain=sts-refresh.test id=20261205T1 "
                              r"expires_in=\d+ fetch=yes")
        self.assertEqual(len(self.attempts()), 1)
        self.assertEqual(len(self.rx["good"].messages()), 1)


class DaneReport(RelayTlsTest):
    def extra_conf(self, conf):
        return conf.replace("destination domain *.test tls=require\n", "")

    def test_dane_sessions_are_reported(self):
        self.assertEqual(self.rig.relay(["a@ok.dane.test"])[0][0], OK)
        self.assertEqual(self.rig.relay(["a@bad.dane.test"])[0][0], TEMPFAIL)
        self.rig.stop()
        (ok,) = self.report("ok.dane.test")["policies"]
        self.assertEqual(ok["policy"]["policy-type"], "tlsa")
        self.assertRegex(ok["policy"]["policy-string"][0], r"^3 1 1 [0-9a-f]{64}$")
        self.assertEqual(ok["summary"], {"total-successful-session-count": 1,
                                         "total-failure-session-count": 0})
        (bad,) = self.report("bad.dane.test")["policies"]
        self.assertEqual(bad["failure-details"][0]["result-type"], "validation-failure")


class DaneNeedsValidatingResolver(RelayTlsTest):
    """dns_validating off: the AD bit is not believed, DANE is off."""

    def extra_conf(self, conf):
        return conf.replace("dns_validating yes\n", "").replace(
            "destination domain *.test tls=require\n", "")

    def test_ad_bit_ignored(self):
        self.assertEqual(self.rig.relay(["a@bad.dane.test"])[0][0], OK)
        self.assertRegex(self.rig.log(), r"mx=mx-bad.dane.test ip=\S+ tls=\S+ policy=opportunistic")


if __name__ == "__main__":
    unittest.main()
