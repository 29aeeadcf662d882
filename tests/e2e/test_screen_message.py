"""tests/e2e/test_screen_message.py - the end-of-DATA stage of the screen
through the real daemon: DKIM, DMARC, our Authentication-Results, header
sanity, `mxctl screen test --file`, messages built to hurt, and our own
outgoing mail (signed by dkimsign) verifying on the way in.

Owns: the proof that screen/dkimverify.c, screen/dmarc.c, screen/authres.c
and screen/headercheck.c do on the wire what their comments and
conf/homemx.conf.example promise. Each message comes from a client of
the world in tests/e2e/screen_world.py with tidy DNS (PTR, FCrDNS, HELO,
SPF pass for the envelope), so the network checks stay quiet; the keys,
signatures and DMARC records are tests/e2e/screen_mail.py's.

Weights: in the classes that look at contributions, every message-stage
weight is a number no default has (31, 32, ...) and the thresholds are
out of reach, so the verdict line proves which check fired with the
configured weight, and every message is accepted and can be read back
with the Authentication-Results field we added. The refusals (DMARC
p=reject with dmarc_reject on, header sanity) have classes of their own
with reachable thresholds.

Needs root (ip netns), build/homemx-screen, python3-dkim; skipped otherwise.
"""
import os
import pwd
import re
import shutil
import smtplib
import ssl
import subprocess
import tempfile
import unittest

import harness
from dovecot import Dovecot
from netns import can_use_netns, in_netns
from screen_world import SCREEN_BINARY, ScreenCase

try:
    import screen_mail as sm
    HAVE_DKIMPY, DKIMPY_WHY = True, ""
except ImportError as e:          # python3-dkim or python3-nacl missing
    HAVE_DKIMPY, DKIMPY_WHY = False, str(e)

NETNS_OK, NETNS_WHY = can_use_netns()
HAVE_SCREEN = os.path.exists(SCREEN_BINARY)

# every message-stage weight, each a number no default has
WEIGHTS = {
    "dkim_pass_aligned": -31, "dkim_pass": -32, "dkim_fail": 33, "dkim_permerror": 34,
    "dkim_none": 35, "dmarc_pass": -36, "dmarc_reject": 37, "dmarc_quarantine": 38,
    "dmarc_policy_none": 39, "dmarc_no_record": 40, "dmarc_permerror": 41,
}
HIGH = "reject_score 1000\ntempfail_score 1000\ngreylist_score 1000\n"


def weights_conf(w):
    return "\n".join(f"weight {k} {v}" for k, v in w.items())


def needs_world(cls):
    cls = unittest.skipUnless(NETNS_OK, NETNS_WHY)(cls)
    cls = unittest.skipUnless(HAVE_SCREEN, "homemx-screen not built")(cls)
    return unittest.skipUnless(HAVE_DKIMPY, f"dkimpy missing: {DKIMPY_WHY}")(cls)


class MessageCase(ScreenCase):
    """ScreenCase with the message zones and helpers."""

    @classmethod
    def setUpClass(cls):
        cls.keys = sm.make_keys()
        super().setUpClass()

    @classmethod
    def extra_zones(cls, w):
        sm.mail_zones(w, cls.keys)

    def judge(self, data, **kw):
        """Sends data from the client; (Sent, message-stage verdict)."""
        since = self.h.log_size()
        r = sm.send(self.w, data, **kw)
        self.assertIsNotNone(r.data, r)
        return r, sm.message_verdict(self.h, since)

    def accepted(self, data, tok, **kw):
        """Sends data, wants it accepted; (verdict, stored copy, our A-R)."""
        r, v = self.judge(data, **kw)
        self.assertEqual(r.code, 250, f"{r}\n{v}")
        self.assertEqual(v["verdict"], "accept", v)
        stored = sm.delivered(self.h, tok)
        ars = sm.authres(stored)
        ours = [a for a in ars if a.split(";")[0].strip().lower() == sm.HOSTNAME]
        self.assertEqual(len(ours), 1, ars)
        return v, stored, ours[0]


# ---- DKIM -------------------------------------------------------------------------

@needs_world
class Dkim(MessageCase, unittest.TestCase):
    CONF = HIGH + weights_conf(WEIGHTS) + "\ndmarc_reject no"
    ODD_DNS = True          # sf._domainkey.dk.example: SERVFAIL

    @classmethod
    def odd_rules(cls, odd):
        odd.rule(cls.keys["sf"].name, "servfail")

    def signed(self, key, tok, **kw):
        return key.sign(sm.message("news@dk.example", tok), **kw)

    def dkim_of(self, ar):
        return sm.results(ar, "dkim")

    def test_rsa_sha256_relaxed_passes(self):
        tok = sm.token()
        v, _, ar = self.accepted(self.signed(self.keys["rsa"], tok), tok)
        self.assertEqual(v["checks"].get("dkim_pass_aligned"), -31, v)
        d = self.dkim_of(ar)
        self.assertEqual(len(d), 1, ar)
        self.assertEqual((d[0]["result"], d[0]["header.d"], d[0]["header.s"], d[0]["header.a"]),
                         ("pass", "dk.example", "rsa", "rsa-sha256"), ar)

    def test_ed25519_simple_passes(self):
        tok = sm.token()
        v, _, ar = self.accepted(self.signed(self.keys["ed"], tok, canon="simple/simple"), tok)
        self.assertEqual(v["checks"].get("dkim_pass_aligned"), -31, v)
        d = self.dkim_of(ar)
        self.assertEqual([(x["result"], x["header.d"], x["header.s"], x["header.a"]) for x in d],
                         [("pass", "dk.example", "ed", "ed25519-sha256")], ar)

    def test_both_algorithms_each_reported(self):
        """Signed as dkimsign signs: rsa-sha256 and ed25519-sha256."""
        tok = sm.token()
        data = self.keys["ed"].sign(self.signed(self.keys["rsa"], tok))
        v, _, ar = self.accepted(data, tok)
        self.assertEqual(v["checks"].get("dkim_pass_aligned"), -31, v)
        self.assertEqual([(x["result"], x["header.s"]) for x in self.dkim_of(ar)],
                         [("pass", "ed"), ("pass", "rsa")], ar)

    def failed(self, data, tok, reason, result="fail", weight="dkim_fail"):
        """data gets exactly one dkim result, with reason, and the weight."""
        v, _, ar = self.accepted(data, tok)
        self.assertEqual(v["checks"].get(weight), WEIGHTS.get(weight, weight), v)
        self.assertNotIn("dkim_pass_aligned", v["checks"], v)
        d = self.dkim_of(ar)
        self.assertEqual([(x["result"], x.get("reason")) for x in d], [(result, reason)], ar)
        self.assertEqual(d[0]["header.d"], "dk.example", ar)
        return v, ar

    def test_tampered_body_fails(self):
        tok = sm.token()
        data = self.signed(self.keys["rsa"], tok).replace(b"this is", b"this was")
        self.failed(data, tok, "body hash mismatch")

    def test_tampered_signed_header_fails(self):
        tok = sm.token()
        data = self.signed(self.keys["ed"], tok).replace(b"Subject: message test",
                                                         b"Subject: message TEST")
        self.failed(data, tok, "signature mismatch")

    def test_unsigned_header_may_change(self):
        """A field outside h= is not covered: adding one breaks nothing."""
        tok = sm.token()
        data = self.signed(self.keys["rsa"], tok).replace(b"\r\n\r\n", b"\r\nX-Added: 1\r\n\r\n",
                                                          1)
        v, _, ar = self.accepted(data, tok)
        self.assertEqual([x["result"] for x in self.dkim_of(ar)], ["pass"], ar)

    def test_rsa_sha1_is_a_failure(self):
        """RFC 8301 3.1: rsa-sha1 signatures are not valid."""
        tok = sm.token()
        self.failed(self.signed(self.keys["rsa"], tok, algorithm=b"rsa-sha1"), tok,
                    "rsa-sha1 (RFC 8301)")

    def test_rsa_512_bit_key_is_a_failure(self):
        """RFC 8301 3.2: RSA keys under 1024 bits are not valid."""
        tok = sm.token()
        self.failed(self.signed(self.keys["weak"], tok), tok, "RSA key under 1024 bits (RFC 8301)")

    def test_body_length_limit_is_a_failure(self):
        """l= (screen/dkimverify.c): fails with or without content after it."""
        tok = sm.token()
        self.failed(self.signed(self.keys["rsa"], tok, length=True), tok, "l= body length limit")
        tok = sm.token()
        data = self.signed(self.keys["rsa"], tok, length=True) + b"Click here: evil.example\r\n"
        self.failed(data, tok, "l= body length limit")

    def test_key_nxdomain_is_permerror(self):
        tok = sm.token()
        self.failed(self.signed(self.keys["nokey"], tok), tok, "no key", "permerror",
                    "dkim_permerror")

    def test_key_servfail_is_temperror(self):
        """A key lookup that fails temporarily is a range (best: the key
        would make the signature pass, aligned; worst: permerror); out
        of the thresholds' reach it does not change the verdict."""
        tok = sm.token()
        v, _, ar = self.accepted(self.signed(self.keys["sf"], tok), tok)
        self.assertEqual(v["checks"].get("dkim_temperror"), "?-32..+34", v)
        d = self.dkim_of(ar)
        self.assertEqual([(x["result"], x.get("reason"), x["header.s"]) for x in d],
                         [("temperror", "key lookup failed", "sf")], ar)
        self.assertIn(("sf._domainkey.dk.example", "TXT"), self.w.odd.seen)

    def test_good_and_bad_signature_each_reported(self):
        """The best outcome counts; both are in the A-R, top down."""
        tok = sm.token()
        # One header section for both (its Date is the clock's second): the
        # Ed25519 signature must fail on the body hash alone.
        base = sm.message("news@dk.example", tok)
        good = self.keys["rsa"].sign(base)
        other = self.keys["ed"].sign(base.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\nanother body\r\n")
        bad_field = other.split(b"From: ", 1)[0]        # its DKIM-Signature field
        v, _, ar = self.accepted(bad_field + good, tok)
        self.assertEqual(v["checks"].get("dkim_pass_aligned"), -31, v)
        self.assertNotIn("dkim_fail", v["checks"], v)
        self.assertEqual([(x["result"], x["header.s"], x.get("reason")) for x in self.dkim_of(ar)],
                         [("fail", "ed", "body hash mismatch"), ("pass", "rsa", None)], ar)

    def test_signature_of_another_domain_is_not_aligned(self):
        tok = sm.token()
        data = self.keys["rsa"].sign(sm.message("news@bounce.example", tok))
        v, _, ar = self.accepted(data, tok)
        self.assertEqual(v["checks"].get("dkim_pass"), -32, v)
        self.assertNotIn("dkim_pass_aligned", v["checks"], v)
        self.assertEqual([x["result"] for x in self.dkim_of(ar)], ["pass"], ar)

    def test_unsigned_is_dkim_none(self):
        tok = sm.token()
        v, _, ar = self.accepted(sm.message("news@dk.example", tok), tok)
        self.assertEqual(v["checks"].get("dkim_none"), 35, v)
        self.assertEqual([x["result"] for x in self.dkim_of(ar)], ["none"], ar)

    def test_mxctl_screen_test_file_agrees(self):
        """The same signed message, as a file with LF line ends (mxctl
        makes them CRLF), gets the daemon's contributions and A-R."""
        tok = sm.token()
        data = self.keys["ed"].sign(self.signed(self.keys["rsa"], tok))
        v, _, ar = self.accepted(data, tok)
        out = mxctl_screen_test_file(self, data.replace(b"\r\n", b"\n"))
        self.assertEqual(out["checks"], v["checks"], out["text"])
        self.assertEqual(out["verdict"], "accept (250 2.1.5)", out["text"])
        mine = re.sub(r"\s+", " ", out["added"]).strip()
        self.assertEqual([(x["result"], x["header.s"]) for x in sm.results(mine, "dkim")],
                         [("pass", "ed"), ("pass", "rsa")], out["text"])
        # and the daemon's A-R says the same, but for header.b of the run
        self.assertEqual(sm.results(mine, "dkim"), self.dkim_of(ar))



# ---- DMARC --------------------------------------------------------------------------

@needs_world
class Dmarc(MessageCase, unittest.TestCase):
    """RFC 7489 through the daemon, p=reject as a weight (dmarc_reject no)."""
    CONF = HIGH + weights_conf(WEIGHTS) + "\ndmarc_reject no"

    def dmarc(self, from_addr, mail_from=sm.ENVELOPE, key=None):
        """An unsigned (or key-signed) message from from_addr: (verdict,
        the dmarc results of our A-R)."""
        tok = sm.token()
        data = sm.message(from_addr, tok)
        if key is not None:
            data = key.sign(data)
        v, _, ar = self.accepted(data, tok, mail_from=mail_from)
        return v, sm.results(ar, "dmarc")

    def assertDmarc(self, v, results, weight, result, policy=None, domain=None):
        self.assertEqual(v["checks"].get(weight), WEIGHTS[weight], v)
        others = [k for k in v["checks"] if k.startswith("dmarc_") and k != weight]
        self.assertEqual(others, [], v)
        self.assertEqual(len(results), 1, results)
        self.assertEqual(results[0]["result"], result, results)
        if policy is not None:
            self.assertEqual(results[0].get("comment"), f"policy={policy}", results)
        if domain is not None:
            self.assertEqual(results[0]["header.from"], domain, results)

    def test_aligned_through_dkim(self):
        v, r = self.dmarc("news@dmk.example", key=self.keys["dmk"])
        self.assertDmarc(v, r, "dmarc_pass", "pass", domain="dmk.example")
        self.assertEqual(v["checks"].get("dkim_pass_aligned"), -31, v)

    def test_aligned_through_spf_relaxed(self):
        """MAIL FROM in mail.spfal.example, From in spfal.example."""
        v, r = self.dmarc("news@spfal.example", mail_from="bounce@mail.spfal.example")
        self.assertDmarc(v, r, "dmarc_pass", "pass", domain="spfal.example")
        self.assertEqual(v["checks"].get("dkim_none"), 35, v)

    def test_unaligned_spf_pass_is_no_dmarc_pass(self):
        """SPF passes for bounce.example, which is not spfal.example's."""
        v, r = self.dmarc("news@spfal.example")
        self.assertDmarc(v, r, "dmarc_reject", "fail", policy="reject")

    def test_strict_alignment_fails_on_a_subdomain(self):
        """adkim=s and aspf=s: a DKIM pass and an SPF pass, both of
        mail.strict.example, do not align with strict.example."""
        v, r = self.dmarc("news@strict.example", mail_from="bounce@mail.strict.example",
                          key=self.keys["strict"])
        self.assertDmarc(v, r, "dmarc_quarantine", "fail", policy="quarantine",
                         domain="strict.example")
        self.assertIn("spf_pass", v["checks"], v)
        # the DKIM pass itself is aligned in the relaxed sense (dkim_*)
        self.assertEqual(v["checks"].get("dkim_pass_aligned"), -31, v)

    def test_organizational_domain_under_a_two_label_suffix(self):
        """sub.example.co.uk has no record; the PSL makes example.co.uk
        its organizational domain (co.uk is the public suffix), whose
        p=quarantine applies. Treating co.uk as the org domain would find
        nothing (dmarc_no_record)."""
        v, r = self.dmarc("news@sub.example.co.uk")
        self.assertDmarc(v, r, "dmarc_quarantine", "fail", policy="quarantine",
                         domain="sub.example.co.uk")
        out = mxctl_screen_test_file(self, sm.message("news@sub.example.co.uk", sm.token()))
        self.assertRegex(out["text"], r"dmarc=fail from=sub\.example\.co\.uk p=quarantine "
                                      r"\(organizational\)")

    def test_p_reject_is_its_weight_when_dmarc_reject_is_off(self):
        v, r = self.dmarc("news@rej.example")
        self.assertDmarc(v, r, "dmarc_reject", "fail", policy="reject")

    def test_p_quarantine_is_its_weight(self):
        v, r = self.dmarc("news@quar.example")
        self.assertDmarc(v, r, "dmarc_quarantine", "fail", policy="quarantine")

    def test_p_none_is_its_weight(self):
        v, r = self.dmarc("news@none.example")
        self.assertDmarc(v, r, "dmarc_policy_none", "fail", policy="none")

    def test_sp_applies_to_subdomains_only(self):
        v, r = self.dmarc("news@news.spdom.example")
        self.assertDmarc(v, r, "dmarc_reject", "fail", policy="reject",
                         domain="news.spdom.example")
        v, r = self.dmarc("news@spdom.example")
        self.assertDmarc(v, r, "dmarc_policy_none", "fail", policy="none")

    def test_pct_zero_applies_the_next_milder_policy(self):
        """pct=0: no message is sampled, p=reject becomes quarantine."""
        v, r = self.dmarc("news@pct.example")
        self.assertDmarc(v, r, "dmarc_quarantine", "fail", policy="quarantine")

    def test_broken_record_is_permerror(self):
        v, r = self.dmarc("news@broken.example")
        self.assertDmarc(v, r, "dmarc_permerror", "permerror")

    def test_no_record(self):
        v, r = self.dmarc("news@dk.example")
        self.assertDmarc(v, r, "dmarc_no_record", "none")


@needs_world
class DmarcReject(MessageCase, unittest.TestCase):
    """The default settings: dmarc_reject yes, the default weights and
    thresholds. A tidy client scores -3 at RCPT, so only the message
    decides."""

    def test_p_reject_fail_is_refused_with_5_7_1(self):
        tok = sm.token()
        r, v = self.judge(sm.message("ceo@rej.example", tok))
        self.assertEqual(r.code, 550, r)
        self.assertTrue(r.text.startswith("5.7.1 "), r)
        self.assertEqual(r.ref(), v["ref"], f"{r}\n{v}")
        self.assertEqual((v["verdict"], v["reply"]), ("reject", "550 5.7.1"), v)
        self.assertEqual(v["checks"].get("dmarc_reject"), 8, v)
        # below reject_score: the decisive flag refused it, not the total
        self.assertLess(int(v["score"]), 10, v)
        self.assertEqual([m for m in self.h.messages("kim@example.test") if tok.encode() in m], [])
        p = self.h.mxctl("why", r.ref())
        self.assertRegex(p.stdout, r"verdict\s+reject \(550 5\.7\.1\)")
        self.assertRegex(p.stdout, r"dmarc_reject\s+\+8")

    def test_p_reject_with_aligned_dkim_passes(self):
        tok = sm.token()
        v, _, ar = self.accepted(self.keys["dmk"].sign(sm.message("ceo@dmk.example", tok)), tok)
        self.assertEqual(v["checks"].get("dmarc_pass"), 0, v)
        self.assertEqual([x["result"] for x in sm.results(ar, "dmarc")], ["pass"], ar)

    def test_p_none_adds_nothing(self):
        tok = sm.token()
        v, _, ar = self.accepted(sm.message("news@none.example", tok), tok)
        self.assertEqual(v["checks"].get("dmarc_policy_none"), 0, v)
        self.assertEqual([x["result"] for x in sm.results(ar, "dmarc")], ["fail"], ar)



# ---- Authentication-Results ------------------------------------------------------------

FORGED = (
    b"Authentication-Results: mx.example.test; dkim=pass header.d=bank.example\r\n",
    # folded: the authserv-id on a line of its own
    b"Authentication-Results:\r\n\tmx.example.test;\r\n\tspf=pass smtp.mailfrom=bank.example\r\n",
    # mixed case, name and id (RFC 5322 field names, RFC 8601 2.5 ids)
    b"authentication-RESULTS: MX.Example.TEST; dmarc=pass header.from=bank.example\r\n",
    # a quoted authserv-id, with a trailing dot
    b'Authentication-Results: "mx.example.test."; dkim=pass header.d=bank.example\r\n',
)
FOREIGN = b"Authentication-Results: mx.other.example; spf=pass smtp.mailfrom=other.example\r\n"


@needs_world
class AuthResults(MessageCase, unittest.TestCase):
    CONF = HIGH

    def test_ours_first_forged_removed_rest_byte_exact(self):
        """Read back through a real Dovecot over IMAP: the delivery lines,
        our field, the Received line, then what was sent minus the fields
        claiming our hostname, byte for byte (8-bit body, a dot line)."""
        tok = sm.token()
        extra = FORGED[0] + FOREIGN + FORGED[1] + b"X-Between: kept\r\n" + FORGED[2] + FORGED[3]
        body = (b"Sch\xc3\xb6ne Gr\xc3\xbc\xc3\x9fe, " + tok.encode() + b"\r\n"
                b".a line that starts with a dot\r\n\r\n\r\nlast line\r\n")
        sent = self.keys["rsa"].sign(sm.message("news@dk.example", tok, extra=extra, body=body))
        v, stored, ours = self.accepted(sent, tok)
        got = imap_fetch(self.h, tok)
        self.assertEqual(got, stored, "IMAP gives the Maildir file as stored")
        expected_rest = sent
        for f in FORGED:
            self.assertIn(f, expected_rest)
            expected_rest = expected_rest.replace(f, b"", 1)
        self.assertTrue(got.endswith(expected_rest), got)
        head = sm.header_fields(got[:len(got) - len(expected_rest)] + b"\r\n")
        self.assertEqual([n.lower() for n, _ in head],
                         ["return-path", "delivered-to", "authentication-results", "received"],
                         head)
        self.assertTrue(head[2][1].startswith(b"Authentication-Results: mx.example.test;\r\n"),
                        head[2])
        self.assertIn(FOREIGN, got)
        # the signature still verifies: removing the forged fields broke nothing
        self.assertEqual([x["result"] for x in sm.results(ours, "dkim")], ["pass"], ours)
        self.assertEqual(sm.authres(got).count(ours), 1)

    def test_a_message_of_only_forged_fields_loses_them_all(self):
        tok = sm.token()
        sent = sm.message("news@bounce.example", tok, extra=b"".join(FORGED) * 2)
        v, stored, ours = self.accepted(sent, tok)
        ids = [a.split(";")[0].strip().lower() for a in sm.authres(stored)]
        self.assertEqual(ids, [sm.HOSTNAME], stored)

    def test_more_forged_fields_than_a_verdict_carries_is_refused(self):
        """SCREEN_STRIP_MAX (lib/screen_facts.h) forged fields are all
        removed; one more and the message is refused (screen/judge.c:
        nobody sends that many honestly), logged as the refusal it is."""
        tok = sm.token()
        v, stored, _ = self.accepted(sm.message("news@bounce.example", tok,
                                                extra=FORGED[0] * 64), tok)
        self.assertEqual(len(sm.authres(stored)), 1, stored)
        since = self.h.log_size()
        r = sm.send(self.w, sm.message("news@bounce.example", sm.token(), extra=FORGED[0] * 65))
        v = sm.message_verdict(self.h, since)
        self.assertEqual((r.code, r.text[:6]), (550, "5.7.1 "), r)
        self.assertEqual(r.ref(), v["ref"], f"{r}\n{v}")
        self.assertEqual((v["verdict"], v["reply"], v.get("override"), v.get("reason")),
                         ("reject", "550 5.7.1", "reject", "authres_flood"), v)
        p = self.h.mxctl("why", r.ref())
        self.assertRegex(p.stdout, r"verdict\s+reject \(550 5\.7\.1\)")


# ---- header sanity and bad input -----------------------------------------------------------

HEADER_WEIGHTS = {
    "header_no_from": 61, "header_from_multiple": 62, "header_no_date": 63,
    "header_no_message_id": 64, "header_8bit": 65, "forged_local_from": 66,
    "header_oversize": 67, "header_malformed": 68, "header_from_invalid": 69,
    "header_date_multiple": 70, "header_message_id_multiple": 71,
}


@needs_world
class Headers(MessageCase, unittest.TestCase):
    """Each header fault alone reaches reject_score (50); a tidy message
    from the tidy client scores far below it."""
    CONF = ("reject_score 50\ntempfail_score 50\ngreylist_score 50\n" +
            weights_conf(HEADER_WEIGHTS))

    def refused(self, data, weight, session=None):
        """data is refused at end of DATA by weight alone, with the ref
        of its verdict; `mxctl why REF` shows the check."""
        since = self.h.log_size()
        r = session.send(data) if session else sm.send(self.w, data)
        v = sm.message_verdict(self.h, since)
        self.assertEqual((r.code, r.text[:6]), (550, "5.7.1 "), f"{r}\n{v}")
        self.assertEqual(r.ref(), v["ref"], f"{r}\n{v}")
        self.assertEqual((v["verdict"], v["reply"]), ("reject", "550 5.7.1"), v)
        self.assertEqual(v["checks"].get(weight), HEADER_WEIGHTS[weight], v)
        faults = [k for k in v["checks"] if k in HEADER_WEIGHTS and k != weight]
        self.assertEqual(faults, [], v)
        p = self.h.mxctl("why", r.ref())
        self.assertIn(f"ref {r.ref()} at ", p.stdout)
        self.assertRegex(p.stdout, r"verdict\s+reject \(550 5\.7\.1\)")
        self.assertRegex(p.stdout, rf"{weight}\s+\+{HEADER_WEIGHTS[weight]}\b")
        return r, v

    def test_tidy_message_is_accepted(self):
        tok = sm.token()
        v, _, _ = self.accepted(sm.message("news@bounce.example", tok), tok)
        self.assertEqual([k for k in v["checks"] if k in HEADER_WEIGHTS], [], v)

    def test_no_from(self):
        data = sm.message("x@bounce.example", sm.token())
        self.refused(re.sub(rb"^From: [^\r]*\r\n", b"", data), "header_no_from")

    def test_two_from(self):
        data = sm.message("x@bounce.example", sm.token(), extra=b"From: <y@bounce.example>\r\n")
        self.refused(data, "header_from_multiple")

    def test_no_date(self):
        self.refused(sm.message("x@bounce.example", sm.token(), date=False), "header_no_date")

    def test_no_message_id(self):
        self.refused(sm.message("x@bounce.example", sm.token(), message_id=False),
                     "header_no_message_id")

    def test_8bit_header_without_smtputf8(self):
        """Raw UTF-8 in a header field needs SMTPUTF8 on MAIL (RFC 6531
        3.4, RFC 6532); in the body it is always allowed."""
        tok = sm.token()
        self.refused(sm.message("x@bounce.example", tok,
                                extra=b"X-Greeting: Gr\xc3\xbc\xc3\x9fe\r\n"), "header_8bit")
        tok = sm.token()
        v, _, _ = self.accepted(sm.message("x@bounce.example", tok,
                                           extra=b"X-Greeting: Gr\xc3\xbc\xc3\x9fe\r\n"),
                                tok, options=("SMTPUTF8",))
        self.assertNotIn("header_8bit", v["checks"], v)
        tok = sm.token()
        v, _, _ = self.accepted(sm.message("x@bounce.example", tok,
                                           body=b"Gr\xc3\xbc\xc3\x9fe " + tok.encode() + b"\r\n"),
                                tok)
        self.assertNotIn("header_8bit", v["checks"], v)

    def test_our_domain_from_outside_unsigned_is_forged(self):
        r, v = self.refused(sm.message("kim@example.test", sm.token()), "forged_local_from")

    def test_mxctl_screen_test_file_agrees_on_a_refusal(self):
        data = sm.message("kim@example.test", sm.token(), date=False)
        since = self.h.log_size()
        r = sm.send(self.w, data)
        v = sm.message_verdict(self.h, since)
        self.assertEqual(r.code, 550, r)
        out = mxctl_screen_test_file(self, data.replace(b"\r\n", b"\n"))
        self.assertEqual(out["checks"], v["checks"], out["text"])
        self.assertEqual(out["verdict"], "reject (550 5.7.1)", out["text"])

    # -- messages built to hurt: the session goes on after each --
    def survives(self, session):
        """The same session delivers a tidy message next; the screen role
        is the one that judged before."""
        tok = sm.token()
        r = session.send(sm.message("news@bounce.example", tok))
        self.assertEqual(r.code, 250, r)
        sm.delivered(self.h, tok)

    def test_header_of_1000_fields_and_more(self):
        """MSG_FIELDS_MAX (screen/message.h) counts the Received field
        smtpd puts on top: 999 sent fields fit, 1000 are over the limit."""
        pid = self.h.screen_pid()
        s = sm.Session(self.w)
        try:
            for n, over in ((999, False), (1000, True)):
                tok = sm.token()
                filler = b"".join(b"X-Filler-%d: %d\r\n" % (i, i) for i in range(n - 5))
                data = sm.message("news@bounce.example", tok, extra=filler)
                self.assertEqual(len(sm.header_fields(data)), n)
                if over:
                    self.refused(data, "header_oversize", s)
                else:
                    self.assertEqual(s.send(data).code, 250)
                    sm.delivered(self.h, tok)
            self.survives(s)
        finally:
            s.close()
        self.assertEqual(self.h.screen_pid(), pid)

    def test_header_over_256_kib(self):
        """300 fields of 1000 octets: over MSG_HEADER_MAX, no line over
        RFC 5321's 1000 (which smtpd would refuse itself)."""
        pid = self.h.screen_pid()
        s = sm.Session(self.w)
        try:
            filler = b"".join(b"X-Big-%03d: " % i + b"y" * 986 + b"\r\n" for i in range(300))
            self.assertTrue(all(len(line) <= 998 for line in filler.split(b"\r\n")))
            data = sm.message("news@bounce.example", sm.token(), extra=filler)
            self.assertGreater(len(data), 256 * 1024)
            r, v = self.refused(data, "header_oversize", s)
            self.assertIn("dkim_", " ".join(v["checks"]), v)
            self.survives(s)
        finally:
            s.close()
        self.assertEqual(self.h.screen_pid(), pid)

    def test_nul_bytes(self):
        """A NUL in the data is refused by smtpd itself (554 5.6.0,
        README's wire decisions), in a header field or in the body; the
        screen is not asked."""
        s = sm.Session(self.w)
        try:
            for where in ("header", "body"):
                tok = sm.token()
                if where == "header":
                    data = sm.message("news@bounce.example", tok, extra=b"X-Nul: a\x00b\r\n")
                else:
                    data = sm.message("news@bounce.example", tok, body=b"a\x00b\r\n")
                since = self.h.log_size()
                r = s.send(data)
                self.assertEqual((r.code, r.text[:6]), (554, "5.6.0 "), r)
                self.assertNotRegex(self.h.log()[since:], r"event=verdict .*stage=message")
            self.survives(s)
        finally:
            s.close()



# ---- our own outgoing mail -----------------------------------------------------------------

@needs_world
class OwnMail(MessageCase, unittest.TestCase):
    """A message submitted on 587 and signed by dkimsign (rsa-sha256 and
    ed25519-sha256), captured where it was delivered and replayed into
    port 25 from a client that SPF allows for example.test: what another
    server running homemx would see. Both signatures pass, aligned; our
    own domain in From is no forgery then."""

    @classmethod
    def setUpClass(cls):
        cls.certdir = tempfile.mkdtemp(prefix="hmx-msg-cert-")
        cert, key = (os.path.join(cls.certdir, n) for n in ("cert.pem", "key.pem"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", cert, "-days", "2", "-subj", "/CN=mx.example.test"],
                       check=True, capture_output=True)
        os.chmod(key, 0o644)        # the roles read it as their own users
        cls.CONF = (HIGH + weights_conf(WEIGHTS) + "\n" + weights_conf(HEADER_WEIGHTS) + "\n" +
                    f"listen submission 192.0.2.1:587\ntls_certificate {cert}\n"
                    f"tls_key {key}\n")
        super().setUpClass()
        try:
            cls.h.mxctl("dkim", "keygen", "example.test")
            shown = harness.dkim_show_records(cls.h.mxctl("dkim", "show", "example.test").stdout)
            for name, record in shown.items():
                cls.w.spf(name, record)
            cls.w.dns.restart()     # unbound serves what it was started with
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.certdir, ignore_errors=True)

    @classmethod
    def extra_zones(cls, w):
        super().extra_zones(w)
        w.spf("example.test", "v=spf1 ip4:10.101.1.0/24 -all")
        w.dns.add("example.test", "MX", "10 mx.example.test.")
        w.dns.add("mx.example.test", "A", "192.0.2.1")

    def submit(self, tok):
        s = smtplib.SMTP(local_hostname=sm.CLIENT_HELO, timeout=harness.WAIT,
                         source_address=(sm.CLIENT_IP, 0))
        with in_netns(self.w.host_of(sm.CLIENT_IP).ns):
            s.connect("192.0.2.1", 587)
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        s._host = "mx.example.test"        # starttls() wants a server name
        s.starttls(context=ctx)
        s.login("kim@example.test", "secret")
        s.sendmail("kim@example.test", ["lee@example.test"],
                   f"From: Kim <kim@example.test>\r\nTo: <lee@example.test>\r\n"
                   f"Subject: our own {tok}\r\n\r\nsigned by dkimsign, {tok}\r\n".encode())
        s.quit()

    def test_submitted_mail_verifies_on_port_25(self):
        tok = sm.token()
        self.submit(tok)
        stored = sm.delivered(self.h, tok, "lee@example.test")
        # what the relay would have sent: delivery's two lines off the top
        head = sm.header_fields(stored)
        self.assertEqual([n.lower() for n, _ in head[:2]], ["return-path", "delivered-to"], head)
        wire = stored[sum(len(f) for _, f in head[:2]):]
        self.assertEqual(wire.count(b"DKIM-Signature:"), 2, wire)
        v, _, ar = self.accepted(wire, tok, mail_from="kim@example.test")
        self.assertEqual(v["checks"].get("dkim_pass_aligned"), -31, v)
        self.assertNotIn("forged_local_from", v["checks"], v)
        self.assertIn("spf_pass", v["checks"], v)
        d = sm.results(ar, "dkim")
        self.assertEqual(sorted((x["result"], x["header.d"], x["header.a"]) for x in d),
                         [("pass", "example.test", "ed25519-sha256"),
                          ("pass", "example.test", "rsa-sha256")], ar)

    def test_unsigned_copy_is_a_forgery(self):
        """The same From without the signatures: forged_local_from."""
        tok = sm.token()
        v, _, _ = self.accepted(sm.message("kim@example.test", tok), tok,
                                mail_from="kim@example.test")
        self.assertEqual(v["checks"].get("forged_local_from"), 66, v)


def imap_fetch(h, tok, rcpt="kim@example.test"):
    """The message holding tok as a real Dovecot serves it over IMAP."""
    work = tempfile.mkdtemp(prefix="hmx-dovecot-")
    os.chmod(work, 0o755)
    pw = pwd.getpwnam("_hmx-mail")
    try:
        with Dovecot(os.path.join(h.dir, "maildirs"), pw.pw_uid, pw.pw_gid, work) as dc:
            msgs = dc.fetch_all(rcpt)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    found = [m for m in msgs if tok.encode() in m]
    if len(found) != 1:
        raise AssertionError(f"{len(found)} messages with {tok} over IMAP")
    return found[0]


def mxctl_screen_test_file(case, data, ip=None, helo=None, mail_from=None,
                           rcpt="kim@example.test"):
    """`mxctl screen test --file` on data (written to a file as it is):
    {"checks": {name: weight} of the end-of-DATA stage, "verdict": text,
    "added": the A-R it would add, "text": the whole output}."""
    d = tempfile.mkdtemp(prefix="hmx-msgfile-")
    try:
        path = os.path.join(d, "message.eml")
        with open(path, "wb") as f:
            f.write(data)
        p = case.h.mxctl_in_mta("screen", "test", "--file", path, ip or sm.CLIENT_IP,
                                helo or sm.CLIENT_HELO, mail_from or sm.ENVELOPE, rcpt,
                                check=False)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    case.assertEqual(p.returncode, 0, p.stdout + p.stderr)
    text = p.stdout
    section = text.split("\nend of DATA (", 1)[1]
    items = section.split("\n", 1)[1].split("\nverdict at end of DATA: ", 1)[0]
    checks = {}
    for name, w in re.findall(r"(?m)^  (\S+)\s+(\?[-+0-9]+\.\.[-+0-9]+|[-+]\d+)  ", items):
        checks[name] = w if w.startswith("?") else int(w)
    verdict = re.search(r"(?m)^verdict at end of DATA: (.*)$", text).group(1)
    added = text.split("\nadded first:\n", 1)[1].split("\nleft out:", 1)[0] \
        if "\nadded first:\n" in text else ""
    return {"checks": checks, "verdict": verdict, "added": added, "text": text}
