"""tests/e2e/test_doctor.py - `mxctl dns` and `mxctl doctor` against a
real daemon, a real DNS server and real TLS.

Owns: the proof that the doctor finds each problem it promises to find,
with the right fix, and says OK to a domain published exactly as
`mxctl dns` tells. homemxd runs in the mta namespace of a netns topology
(tests/e2e/netns.py) with a certificate of a test CA; unbound serves the
zones; a web host serves MTA-STS policies over HTTPS. Each broken case is
its own domain (one finding each, `mxctl doctor DOMAIN`) or its own config
file (host-level findings: public_address, hostname, DNS lists, and fake
port-25 listeners with bad certificates or an open relay, from
doctor_world.py). The records of the good domain are the ones `mxctl dns
--json` printed, so the two commands are tested against each other.

Needs root (ip netns); skipped otherwise.
"""
import json
import os
import subprocess
import unittest

import harness
from doctor_world import (FakeSmtp, PolicyServer, TestCA, foreign_dkim_p,
                          publish_dns_output, quote_txt, spki_sha256)
from netns import NetnsHomemx, Topology, Unbound, can_use_netns, in_netns

NETNS_OK, NETNS_WHY = can_use_netns()
MXCTL = os.path.join(harness.BUILD, "mxctl")
HOST = "mx.example.test"
GOOD = "example.test"
WEB_IP = "192.0.2.10"          # the first host of the topology
# one domain per domain-level finding; each is published like GOOD, then broken
BROKEN = ("mx-elsewhere.test", "mx-cname.test", "mx-noaddr.test", "nospf.test",
          "twospf.test", "spf99.test", "spfsyntax.test", "spflookups.test",
          "spfvoid.test", "spfnoauth.test", "dkimmissing.test", "dkimwrong.test",
          "dkimweak.test", "nodmarc.test", "dmarcnone.test", "dmarcbad.test",
          "noauth.test", "stsbadid.test", "stsnomx.test", "stsnohost.test", "sts404.test",
          "stsnorpt.test", "tlsrptbad.test")
NOKEY = "nokey.test"           # local, but no DKIM keys made
DOMAINS = (GOOD,) + BROKEN + (NOKEY,)
STS_SERVED = (GOOD, "stsnomx.test", "sts404.test", "stsnorpt.test")


def owned_by(name, domain):
    name = name.rstrip(".")
    return name == domain or name.endswith("." + domain)


@unittest.skipUnless(NETNS_OK, NETNS_WHY)
class Doctor(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.topo = topo = Topology()
        cls.h = cls.web = cls.dns = None
        cls.fakes = []
        try:
            topo.add_host("web", ipv6=False)
            topo.start()
            cls.ca = TestCA(os.path.join(topo.dir, "ca"))
            cls.env = dict(os.environ, SSL_CERT_FILE=cls.ca.cert)
            cls.cert, cls.key = cls.ca.leaf("mx", [HOST])
            cls.dns = Unbound(topo)
            cls.h = NetnsHomemx(topo, cls.dns, domains=DOMAINS, extra_conf="\n".join([
                "public_address 192.0.2.1 2001:db8::1",
                f"tls_certificate {cls.cert}", f"tls_key {cls.key}",
                f"listen submission 127.0.0.1:{harness.free_port()}",
                f"listen submissions 127.0.0.1:{harness.free_port()}",
                "dnsbl bl.example weight=10", "dnswl wl.example weight=-5"]))
            cls.h.start()
            for d in DOMAINS:
                if d != NOKEY:
                    cls.h.mxctl("dkim", "keygen", d)
            cls.weaken_rsa_key("dkimweak.test")
            cls.records = {d: cls.dns_json(d)["records"] for d in DOMAINS}
            cls.policies = {d: cls.dns_json(d)["mta_sts"]["policy"] for d in STS_SERVED}
            cls.build_zones()
            cls.dns.start()
            web_cert, web_key = cls.ca.leaf("web", [f"mta-sts.{d}" for d in STS_SERVED])
            served = {f"mta-sts.{d}": cls.policies[d] for d in STS_SERVED if d != "sts404.test"}
            served["mta-sts.stsnomx.test"] = cls.policies["stsnomx.test"].replace(
                f"mx: {HOST}", "mx: mx.other.test")
            cls.web = PolicyServer(topo.hosts[0].ns, WEB_IP, web_cert, web_key, served)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for f in cls.fakes:
            f.stop()
        if cls.web is not None:
            cls.web.stop()
        try:
            if cls.h is not None:
                cls.h.stop()
        finally:
            if cls.dns is not None:
                cls.dns.stop()
            cls.topo.stop()

    # -- running mxctl --------------------------------------------------------------
    @classmethod
    def mxctl(cls, *args, conf=None, check=True):
        """mxctl in the mta namespace (its resolver and listeners are there),
        trusting the test CA."""
        with in_netns(cls.topo.mta):
            p = subprocess.run([MXCTL, "-f", conf or cls.h.conf_path, *args], env=cls.env,
                               capture_output=True, text=True, timeout=harness.WAIT * 2)
        harness.assert_no_sanitizer_reports(p.stderr, f"mxctl {' '.join(args)}")
        if check and p.returncode != 0:
            raise AssertionError(f"mxctl {' '.join(args)}: {p.returncode}\n{p.stdout}{p.stderr}")
        return p

    @classmethod
    def dns_json(cls, domain):
        return json.loads(cls.mxctl("dns", domain, "--json").stdout)

    def doctor(self, *args, conf=None):
        """(exit status, {id: check}) of mxctl doctor --json."""
        p = self.mxctl("doctor", "--json", *args, conf=conf, check=False)
        self.assertIn(p.returncode, (0, 1, 2), p.stderr)
        self.assertEqual(p.stderr, "")
        out = json.loads(p.stdout)
        return p.returncode, {c["id"]: c for c in out["checks"]}

    def assertCheck(self, checks, cid, status, what=None, fix=None):
        self.assertIn(cid, checks, "\n".join(checks))
        c = checks[cid]
        self.assertEqual(c["status"], status, c)
        if what is not None:
            self.assertIn(what, c["what"], c)
        if fix is not None:
            self.assertIn(fix, c["fix"], c)

    @classmethod
    def weaken_rsa_key(cls, domain):
        """Our RSA key of domain becomes a 1024-bit one (published as it is:
        the record is what `mxctl dns` prints), written over the file keygen
        made so that its owner and mode stay."""
        key = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                              "rsa_keygen_bits:1024"], check=True, capture_output=True).stdout
        with open(os.path.join(cls.h.dir, "dkim", domain, "mx1.rsa.pem"), "r+b") as f:
            f.truncate(0)
            f.write(key)

    # -- the zones -----------------------------------------------------------------
    @classmethod
    def build_zones(cls):
        dns = cls.dns
        host_level = [r for r in cls.records[GOOD] if not owned_by(r["name"], GOOD) or
                      r["name"] == f"{HOST}."]
        publish_dns_output(dns, host_level, skip_types=("TLSA",))
        for d in (GOOD,) + BROKEN + (NOKEY,):
            recs = [r for r in cls.records[d] if owned_by(r["name"], d) and
                    r["name"] != f"{HOST}." and not r["name"].startswith("mta-sts.") and
                    r["type"] != "TLSA"]
            if d not in STS_SERVED + ("stsnohost.test", "stsbadid.test"):
                recs = [r for r in recs if not r["name"].startswith("_mta-sts.")]
            publish_dns_output(dns, cls.break_domain(d, recs))
            if d in STS_SERVED or d in ("stsbadid.test",):
                dns.add(f"mta-sts.{d}", "A", WEB_IP)
        # the DNS lists: healthy test points (RFC 5782 5)
        dns.add("2.0.0.127.bl.example", "A", "127.0.0.2")
        dns.add("2.0.0.127.wl.example", "A", "127.0.0.2")
        dns.add("80.2.0.192.bl.example", "A", "127.0.0.2")         # a listed address
        dns.add("81.2.0.192.wl.example", "A", "127.0.0.2")         # an allow-listed one
        dns.add("2.0.0.127.refusing.example", "A", "127.255.255.254")
        dns.add("1.0.0.127.refusing.example", "A", "127.255.255.254")
        # host-level cases (variant configs)
        dns.add("78.2.0.192.in-addr.arpa", "PTR", "ghost.example.test.")       # no address
        dns.add("79.2.0.192.in-addr.arpa", "PTR", "other.example.test.")
        dns.add("other.example.test", "A", "192.0.2.79")
        dns.add("mx2.example.test", "A", "192.0.2.1")                            # no SPF
        dns.add("mx.other.test", "A", "192.0.2.99")
        dns.add("_25._tcp.dane.example.test", "TLSA", "3 1 1 " + "00" * 32)
        dns.add("_25._tcp.dane-ok.example.test", "TLSA", "3 1 1 " + spki_sha256(cls.cert))

    @classmethod
    def break_domain(cls, d, recs):
        """The records of d, broken the way its name says."""
        def drop(pred):
            return [r for r in recs if not pred(r)]

        def txt(name, text):
            return {"name": name, "type": "TXT", "text": text, "value": quote_txt(text)}

        def rec(name, rtype, value):
            return {"name": name, "type": rtype, "value": value, "text": ""}

        is_spf = lambda r: r["type"] == "TXT" and r["text"].startswith("v=spf1")  # noqa: E731
        is_mx = lambda r: r["type"] == "MX"  # noqa: E731
        is_rsa = lambda r: r["name"].startswith("mx1-rsa._domainkey")  # noqa: E731
        is_dkim = lambda r: "._domainkey." in r["name"]  # noqa: E731
        is_dmarc = lambda r: r["name"].startswith("_dmarc.")  # noqa: E731
        if d == "mx-elsewhere.test":
            return drop(is_mx) + [rec(d, "MX", "10 mx.other.test.")]
        if d == "mx-cname.test":
            return drop(is_mx) + [rec(d, "MX", f"10 alias.{d}."),
                                  rec(f"alias.{d}", "CNAME", f"{HOST}.")]
        if d == "mx-noaddr.test":
            return drop(is_mx) + [rec(d, "MX", f"10 ghost.{d}.")]
        if d == "nospf.test":
            return drop(is_spf)
        if d == "twospf.test":
            return recs + [txt(d, "v=spf1 a -all")]
        if d == "spf99.test":
            spf = [r for r in recs if is_spf(r)][0]
            return drop(is_spf) + [rec(d, "SPF", quote_txt(spf["text"]))]
        if d == "spfsyntax.test":
            return drop(is_spf) + [txt(d, "v=spf1 ip4:192.0.2.1 ipv4:192.0.2.2 -all")]
        if d == "spflookups.test":
            incs = " ".join(f"include:i{k}.{d}" for k in range(11))
            return drop(is_spf) + [txt(d, f"v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 {incs} -all")] + \
                [txt(f"i{k}.{d}", "v=spf1 ip4:198.51.100.1 -all") for k in range(11)]
        if d == "spfvoid.test":
            return drop(is_spf) + [txt(d, "v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 "
                                          f"a:nx1.{d} a:nx2.{d} a:nx3.{d} -all")]
        if d == "spfnoauth.test":
            return drop(is_spf) + [txt(d, "v=spf1 ip4:198.51.100.1 -all")]
        if d == "dkimmissing.test":
            return drop(is_rsa)
        if d == "dkimwrong.test":
            return drop(is_rsa) + [txt(f"mx1-rsa._domainkey.{d}",
                                       f"v=DKIM1; k=rsa; p={foreign_dkim_p()}")]
        if d == "nodmarc.test":
            return drop(is_dmarc)
        if d == "dmarcbad.test":
            return drop(is_dmarc) + [txt(f"_dmarc.{d}", "v=DMARC1; p=bounce")]
        if d == "stsnorpt.test":
            return drop(lambda r: r["name"].startswith("_smtp._tls."))
        if d == "dmarcnone.test":
            return drop(is_dmarc) + [txt(f"_dmarc.{d}", f"v=DMARC1; p=none; "
                                                        f"rua=mailto:postmaster@{d}")]
        if d == "noauth.test":
            return drop(lambda r: is_spf(r) or is_dkim(r))
        if d == "stsbadid.test":
            return drop(lambda r: r["name"].startswith("_mta-sts.")) + \
                [txt(f"_mta-sts.{d}", "v=STSv1; id=not-valid!")]
        if d == "tlsrptbad.test":
            return drop(lambda r: r["name"].startswith("_smtp._tls.")) + \
                [txt(f"_smtp._tls.{d}", "v=TLSRPTv1; rua=ftp://reports.example")]
        return recs

    # -- variant configs for the host-level findings ----------------------------------
    def variant(self, label, replace=(), add=(), listeners=None):
        """A copy of the daemon's config: lines starting with a key in
        replace dropped, add appended; listeners replaces every listen line
        (and the TLS lines when None is given for the certificate)."""
        with open(self.h.conf_path) as f:
            lines = f.read().splitlines()
        keys = tuple(replace) + (("listen",) if listeners is not None else ())
        lines = [ln for ln in lines if not ln.split(" ")[0] in keys]
        lines += list(add) + list(listeners or ())
        path = os.path.join(self.h.dir, f"variant-{label}.conf")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def fake(self, **kw):
        f = FakeSmtp(self.topo.mta, **kw)
        self.fakes.append(f)
        return f

    # -- mxctl dns --------------------------------------------------------------------------
    def test_dns_records(self):
        """Every record, each with a reason; DKIM equals `dkim show`, TLSA the
        certificate's key as openssl computes it, the policy file matches."""
        p = self.mxctl("dns", GOOD)
        types = {r["type"] for r in self.records[GOOD]}
        self.assertEqual(types, {"MX", "A", "AAAA", "PTR", "TXT", "TLSA"})
        blocks = p.stdout.split("\n\n")[1:]
        for b in blocks[:-1]:
            comment, record = b.strip().split("\n")[-2:]
            self.assertTrue(comment.startswith("; "), b)
        shown = harness.dkim_show_records(self.mxctl("dkim", "show", GOOD).stdout)
        dkim = {r["name"].rstrip("."): r["text"] for r in self.records[GOOD]
                if "._domainkey." in r["name"]}
        self.assertEqual(dkim, shown)
        tlsa = [r for r in self.records[GOOD] if r["type"] == "TLSA"][0]
        self.assertEqual(tlsa["name"], f"_25._tcp.{HOST}.")
        self.assertEqual(tlsa["value"], "3 1 1 " + spki_sha256(self.cert))
        self.assertIn(f"; 1.2.0.192.in-addr.arpa. IN PTR {HOST}.", p.stdout)
        self.assertIn(f'{GOOD}. IN TXT "v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 -all"', p.stdout)
        self.assertIn(f'_dmarc.{GOOD}. IN TXT "v=DMARC1; p=reject; adkim=s; aspf=s; '
                      f'rua=mailto:postmaster@{GOOD}"', p.stdout)
        self.assertIn(f'_smtp._tls.{GOOD}. IN TXT "v=TLSRPTv1; rua=mailto:postmaster@{GOOD}"',
                      p.stdout)
        # the certificate verifies (test CA): enforce; the id names the policy
        policy = self.policies[GOOD]
        self.assertEqual(policy, f"version: STSv1\r\nmode: enforce\r\nmx: {HOST}\r\n"
                                 "max_age: 604800\r\n")
        sts = self.dns_json(GOOD)["mta_sts"]
        self.assertEqual(self.mxctl("dns", GOOD, "--mta-sts-policy").stdout,
                         policy.replace("\r\n", "\n"))      # text mode reads CRLF as LF
        self.assertRegex(sts["id"], r"^[0-9a-f]{20}$")
        self.assertIn(f'_mta-sts.{GOOD}. IN TXT "v=STSv1; id={sts["id"]}"', p.stdout)

    def test_dns_without_trust_or_keys(self):
        """Without the CA the policy is only testing; without keys a note
        says how to make them; a foreign domain is refused."""
        with in_netns(self.topo.mta):
            p = subprocess.run([MXCTL, "-f", self.h.conf_path, "dns", GOOD, "--json"],
                               capture_output=True, text=True,
                               env=dict(os.environ, SSL_CERT_FILE="/nonexistent"))
        out = json.loads(p.stdout)
        self.assertEqual(out["mta_sts"]["mode"], "testing")
        self.assertTrue(any("mode testing" in n for n in out["notes"]), out["notes"])
        notes = self.dns_json(NOKEY)["notes"]
        self.assertTrue(any(f"mxctl dkim keygen {NOKEY}" in n for n in notes), notes)
        p = self.mxctl("dns", "stranger.example", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("is not local", p.stderr)

    # -- the good domain ---------------------------------------------------------------
    def test_good_domain_all_ok(self):
        """Published as `mxctl dns` says: every check OK, exit status 0."""
        rc, checks = self.doctor(GOOD)
        bad = {k: v for k, v in checks.items() if v["status"] != "OK"}
        self.assertEqual(bad, {})
        self.assertEqual(rc, 0)
        for cid in ("ptr 192.0.2.1", "fcrdns 192.0.2.1", "ptr_helo 192.0.2.1",
                    "ptr 2001:db8::1", "fcrdns 2001:db8::1", "ipv6_sending", "helo",
                    "helo_spf", "dnsbl bl.example", "dnswl wl.example", "dnsbl 192.0.2.1",
                    f"mx {GOOD}", f"mx_host {GOOD} {HOST}", f"spf {GOOD}",
                    f"spf_limits {GOOD}", f"spf_auth {GOOD} 192.0.2.1",
                    f"spf_auth {GOOD} 2001:db8::1", f"dkim {GOOD} mx1-rsa",
                    f"dkim {GOOD} mx1-ed25519", f"dmarc {GOOD}", f"dmarc_align {GOOD}",
                    f"mta_sts {GOOD}", f"tls_rpt {GOOD}", "tlsa"):
            self.assertIn(cid, checks)
        for kind in ("smtp", "submission", "submissions"):
            tls = [c for k, c in checks.items() if k.startswith(f"tls {kind} ")]
            self.assertEqual(len(tls), 1, kind)
            self.assertIn("verifies for mx.example.test", tls[0]["what"])
        self.assertCheck(checks, f"open_relay 127.0.0.1:{self.h.smtp_port}", "OK",
                         what="554")
        self.assertEqual(len([k for k in checks if k.startswith("auth_required ")]), 2, checks)
        self.assertCheck(checks, f"mta_sts {GOOD}", "OK", what="mode enforce")

    def test_text_output_and_exit_status(self):
        """One line per check with its fix; the exit status is the worst."""
        p = self.mxctl("doctor", "nodmarc.test", check=False)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        line = [ln for ln in p.stdout.splitlines() if ln.startswith("FAIL  dmarc nodmarc.test:")]
        self.assertEqual(len(line), 1, p.stdout)
        self.assertIn("-- fix: publish '_dmarc.nodmarc.test. IN TXT", line[0])
        self.assertRegex(p.stdout.splitlines()[-1], r"^\d+ OK, \d+ WARN, [1-9]\d* FAIL$")
        p = self.mxctl("doctor", "dmarcnone.test", check=False)
        self.assertEqual(p.returncode, 1, p.stdout)
        p = self.mxctl("doctor", "stranger.example", check=False)
        self.assertEqual(p.returncode, 3)
        self.assertIn("is not local", p.stderr)

    # -- one finding per broken domain ---------------------------------------------------
    def test_mx_findings(self):
        _, c = self.doctor("mx-elsewhere.test")
        self.assertCheck(c, "mx mx-elsewhere.test", "FAIL", what="mx.other.test",
                         fix=f"'mx-elsewhere.test. IN MX 10 {HOST}.'")
        _, c = self.doctor("mx-cname.test")
        self.assertCheck(c, "mx_host mx-cname.test alias.mx-cname.test", "FAIL",
                         what="is a CNAME (to mx.example.test)",
                         fix=f"'mx-cname.test. IN MX 10 {HOST}.'")
        _, c = self.doctor("mx-noaddr.test")
        self.assertCheck(c, "mx_host mx-noaddr.test ghost.mx-noaddr.test", "FAIL",
                         what="has no address")
        self.assertCheck(c, "mx mx-noaddr.test", "FAIL")

    def test_spf_findings(self):
        want = '"v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 -all"'
        _, c = self.doctor("nospf.test")
        self.assertCheck(c, "spf nospf.test", "FAIL", what="no SPF record",
                         fix=f"publish 'nospf.test. IN TXT {want}'")
        _, c = self.doctor("twospf.test")
        self.assertCheck(c, "spf twospf.test", "FAIL", what="2 SPF records",
                         fix="merge them into one")
        _, c = self.doctor("spf99.test")
        self.assertCheck(c, "spf spf99.test", "FAIL", what="old SPF type (99)",
                         fix=f"publish 'spf99.test. IN TXT {want}'")
        _, c = self.doctor("spfsyntax.test")
        self.assertCheck(c, "spf spfsyntax.test", "FAIL", what="does not parse")
        _, c = self.doctor("spflookups.test")
        self.assertCheck(c, "spf_limits spflookups.test", "FAIL",
                         what="more than 10 DNS lookups", fix="ip4:/ip6:")
        # our own addresses are matched before the includes: they pass
        self.assertCheck(c, "spf_auth spflookups.test 192.0.2.1", "OK")
        _, c = self.doctor("spfvoid.test")
        self.assertCheck(c, "spf_limits spfvoid.test", "FAIL", what="more than 2 void lookups")
        _, c = self.doctor("spfnoauth.test")
        self.assertCheck(c, "spf_auth spfnoauth.test 192.0.2.1", "FAIL", what="SPF gives fail",
                         fix="add ip4:192.0.2.1")
        self.assertCheck(c, "spf_auth spfnoauth.test 2001:db8::1", "FAIL",
                         fix="add ip6:2001:db8::1")

    def test_dkim_findings(self):
        _, c = self.doctor("dkimmissing.test")
        self.assertCheck(c, "dkim dkimmissing.test mx1-rsa", "FAIL", what="not published",
                         fix="publish 'mx1-rsa._domainkey.dkimmissing.test. IN TXT \"v=DKIM1; k=rsa; p=")
        self.assertCheck(c, "dkim dkimmissing.test mx1-ed25519", "OK")
        self.assertCheck(c, "dmarc_align dkimmissing.test", "OK")
        _, c = self.doctor("dkimwrong.test")
        self.assertCheck(c, "dkim dkimwrong.test mx1-rsa", "FAIL", what="not ours")
        _, c = self.doctor(NOKEY)
        self.assertCheck(c, f"dkim {NOKEY} mx1-rsa", "FAIL", what="no private key",
                         fix=f"mxctl dkim keygen {NOKEY}")
        rc, c = self.doctor("dkimweak.test")
        self.assertCheck(c, "dkim dkimweak.test mx1-rsa", "WARN", what="RSA 1024 bits: weak",
                         fix="mxctl dkim keygen --selector NEW")
        self.assertCheck(c, "dkim dkimweak.test mx1-ed25519", "OK")
        self.assertEqual(rc, 1)

    def test_dmarc_findings(self):
        _, c = self.doctor("nodmarc.test")
        self.assertCheck(c, "dmarc nodmarc.test", "FAIL", what="no DMARC record",
                         fix="publish '_dmarc.nodmarc.test. IN TXT \"v=DMARC1; p=reject; "
                             "adkim=s; aspf=s; rua=mailto:postmaster@nodmarc.test\"'")
        _, c = self.doctor("dmarcnone.test")
        self.assertCheck(c, "dmarc dmarcnone.test", "WARN", what="p=none")
        _, c = self.doctor("dmarcbad.test")
        self.assertCheck(c, "dmarc dmarcbad.test", "FAIL", what="does not parse",
                         fix="publish '_dmarc.dmarcbad.test. IN TXT \"v=DMARC1; p=reject;")
        _, c = self.doctor("noauth.test")
        self.assertCheck(c, "dmarc_align noauth.test", "FAIL", what="fails DMARC")

    def test_mta_sts_and_tls_rpt_findings(self):
        _, c = self.doctor("stsbadid.test")
        self.assertCheck(c, "mta_sts stsbadid.test", "FAIL", what="no valid id=")
        _, c = self.doctor("stsnomx.test")
        self.assertCheck(c, "mta_sts stsnomx.test", "FAIL",
                         what=f"the MX host {HOST} is in no mx: line", fix=f"mx: {HOST}")
        _, c = self.doctor("stsnohost.test")
        self.assertCheck(c, "mta_sts stsnohost.test", "FAIL",
                         what="mta-sts.stsnohost.test has no address")
        _, c = self.doctor("sts404.test")
        self.assertCheck(c, "mta_sts sts404.test", "FAIL", what="HTTP status 404",
                         fix="--mta-sts-policy")
        _, c = self.doctor("tlsrptbad.test")
        self.assertCheck(c, "tls_rpt tlsrptbad.test", "FAIL", what="no usable rua=")
        rc, c = self.doctor("stsnorpt.test")
        self.assertCheck(c, "mta_sts stsnorpt.test", "OK", what="mode enforce")
        self.assertCheck(c, "tls_rpt stsnorpt.test", "WARN", what="no TLS-RPT record",
                         fix="publish the _smtp._tls record 'mxctl dns stsnorpt.test' prints")
        self.assertEqual(rc, 1)

    # -- host-level findings (variant configs) ---------------------------------------------
    def test_ptr_findings(self):
        _, c = self.doctor(GOOD, conf=self.variant("noptr", ["public_address"],
                                                   ["public_address 192.0.2.77"]))
        self.assertCheck(c, "ptr 192.0.2.77", "FAIL", what="no PTR record",
                         fix="set its PTR to mx.example.test")
        _, c = self.doctor(GOOD, conf=self.variant("fcrdns", ["public_address"],
                                                   ["public_address 192.0.2.78"]))
        self.assertCheck(c, "fcrdns 192.0.2.78", "FAIL",
                         what="ghost.example.test does not resolve back",
                         fix="'ghost.example.test. IN A 192.0.2.78'")
        _, c = self.doctor(GOOD, conf=self.variant("ptrhelo", ["public_address"],
                                                   ["public_address 192.0.2.79"]))
        self.assertCheck(c, "fcrdns 192.0.2.79", "OK")
        self.assertCheck(c, "ptr_helo 192.0.2.79", "WARN", what="not our HELO name",
                         fix="set its PTR to mx.example.test")

    def test_ipv6_without_ptr(self):
        conf = self.variant("v6", ["public_address"], ["public_address 192.0.2.1 2001:db8::77"])
        _, c = self.doctor(GOOD, conf=conf)
        self.assertCheck(c, "ptr 2001:db8::77", "FAIL", what="no PTR")
        self.assertCheck(c, "ipv6_sending", "WARN",
                         fix="add 'destination domain * family=ipv4-only'")
        conf = self.variant("v6rule", ["public_address"], [
            "public_address 192.0.2.1 2001:db8::77",
            "destination domain * family=ipv4-only"])
        _, c = self.doctor(GOOD, conf=conf)
        self.assertCheck(c, "ipv6_sending", "OK", what="IPv4 only")
        self.assertCheck(c, "ptr 2001:db8::77", "OK")

    def test_helo_findings(self):
        _, c = self.doctor(GOOD, conf=self.variant("nohelo", ["hostname"],
                                                   ["hostname nohost.example.test"]))
        self.assertCheck(c, "helo", "FAIL", what="has no address",
                         fix="'nohost.example.test. IN A 192.0.2.1'")
        _, c = self.doctor(GOOD, conf=self.variant("helospf", ["hostname"],
                                                   ["hostname mx2.example.test"]))
        self.assertCheck(c, "helo", "OK")
        self.assertCheck(c, "helo_spf", "WARN", what="192.0.2.1: none",
                         fix="publish 'mx2.example.test. IN TXT \"v=spf1 ip4:192.0.2.1")

    def test_dns_list_findings(self):
        _, c = self.doctor(GOOD, conf=self.variant("listed", ["public_address"],
                                                   ["public_address 192.0.2.80"]))
        self.assertCheck(c, "dnsbl 192.0.2.80", "FAIL", what="listed on bl.example",
                         fix="ask each list for removal")
        _, c = self.doctor(GOOD, conf=self.variant("refusing", [], [
            "dnsbl refusing.example weight=5"]))
        self.assertCheck(c, "dnsbl refusing.example", "WARN", what="refuses queries",
                         fix="run a resolver of your own")
        _, c = self.doctor(GOOD, conf=self.variant("allowed", ["public_address"],
                                                   ["public_address 192.0.2.81"]))
        self.assertCheck(c, "dnsbl 192.0.2.81", "OK",
                         what="on no block list; allow-listed on wl.example")

    def test_tlsa_findings(self):
        _, c = self.doctor(GOOD, conf=self.variant("dane", ["hostname"],
                                                   ["hostname dane.example.test"]))
        self.assertCheck(c, "tlsa", "FAIL", what="none of 1 usable TLSA record",
                         fix="3 1 1 " + spki_sha256(self.cert))
        _, c = self.doctor(GOOD, conf=self.variant("daneok", ["hostname"],
                                                   ["hostname dane-ok.example.test"]))
        self.assertCheck(c, "tlsa", "WARN", what="not DNSSEC-validated")

    def test_certificate_findings(self):
        """Fake listeners serve the bad certificates: STARTTLS on 25 and
        587, TLS at once on 465."""
        cases = (
            ("expired", "smtp", self.ca.leaf("expired", [HOST], days=10, faketime="-40d"),
             "FAIL", "expired", "renew it"),
            ("expiring", "smtp", self.ca.leaf("expiring", [HOST], days=5), "WARN",
             "expires in", "renew it"),
            ("wrongname", "smtp", self.ca.leaf("wrongname", ["other.example.test"]), "FAIL",
             "names other.example.test, not mx.example.test",
             "get a certificate for mx.example.test"),
            ("selfsigned", "smtp", self.ca.leaf("selfsigned", [HOST], self_signed=True),
             "WARN", "does not verify against the public CAs", "public CA"),
            ("expiring587", "submission", self.ca.leaf("expiring587", [HOST], days=3),
             "WARN", "expires in", "renew it"),
            ("expired465", "submissions",
             self.ca.leaf("expired465", [HOST], days=10, faketime="-40d"), "FAIL",
             "expired", "renew it"),
        )
        for label, kind, (cert, key), status, what, fix in cases:
            with self.subTest(label):
                f = self.fake(cert=cert, key=key, implicit_tls=kind == "submissions")
                listeners = [f"listen {kind} 127.0.0.1:{f.port}"]
                if kind != "smtp":      # port 25 stays the daemon's own
                    listeners.insert(0, f"listen smtp 127.0.0.1:{self.h.smtp_port}")
                conf = self.variant(label, [], [], listeners=listeners)
                rc, c = self.doctor(GOOD, conf=conf)
                self.assertCheck(c, f"tls {kind} 127.0.0.1:{f.port}", status, what=what,
                                 fix=fix)
                if label == "selfsigned":
                    # the policy says enforce: senders that honour it cannot deliver
                    self.assertCheck(c, f"mta_sts {GOOD}", "FAIL", what="does not verify",
                                     fix="mode: testing")
                    status = "FAIL"
                self.assertEqual(rc, 2 if status == "FAIL" else 1)     # the worst finding

    def test_open_relay_and_no_starttls(self):
        f = self.fake(open_relay=True)
        conf = self.variant("relay", ["tls_certificate", "tls_key"], [],
                            listeners=[f"listen smtp 127.0.0.1:{f.port}"])
        rc, c = self.doctor(GOOD, conf=conf)
        self.assertEqual(rc, 2)
        self.assertCheck(c, f"open_relay 127.0.0.1:{f.port}", "FAIL", what="AN OPEN RELAY")
        self.assertTrue(f.rcpts and "example.com" in f.rcpts[0], f.rcpts)
        self.assertCheck(c, f"tls smtp 127.0.0.1:{f.port}", "WARN", what="no STARTTLS",
                         fix="set tls_certificate and tls_key")

    def test_listener_down(self):
        port = harness.free_port()
        conf = self.variant("down", [], [], listeners=[f"listen smtp 127.0.0.1:{port}"])
        _, c = self.doctor(GOOD, conf=conf)
        self.assertCheck(c, f"tls smtp 127.0.0.1:{port}", "FAIL", what="cannot connect",
                         fix="start homemxd")

    # -- for a timer -----------------------------------------------------------------------
    def test_changes_and_mail(self):
        """--changes prints what changed; --mail sends it to a local
        address through our own port 25 when a check got worse."""
        state = os.path.join(self.h.dir, "doctor.state")
        p = self.mxctl("doctor", "dmarcnone.test", "--changes", state, "--mail",
                       "kim@example.test", check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("WARN  dmarc dmarcnone.test: p=none", p.stdout)
        self.assertIn("(new)", p.stdout)
        self.assertIn("mailed the changes to kim@example.test", p.stdout)
        msgs = self.h.wait_messages("kim@example.test", 1)
        mail = msgs[-1].decode()
        self.assertIn("Subject: mxctl doctor on mx.example.test: 0 FAIL, 1 WARN", mail)
        self.assertIn("dmarc dmarcnone.test", mail)
        self.assertTrue(all(len(ln) <= 998 for ln in mail.split("\r\n")))
        p = self.mxctl("doctor", "dmarcnone.test", "--changes", state, "--mail",
                       "kim@example.test", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no change since the last run", p.stdout)
        self.assertNotIn("mailed", p.stdout)
        with open(state) as f:
            self.assertIn("WARN\tdmarc dmarcnone.test\n", f.read())


if __name__ == "__main__":
    unittest.main()
