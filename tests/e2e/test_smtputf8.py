"""tests/e2e/test_smtputf8.py - internationalized mail (RFC 6530-6533) end
to end, inbound.

Owns: the proof that the real daemon offers SMTPUTF8 (RFC 6531 3.1) on port
25 and on submission, takes UTF-8 local parts and U-label domains in
MAIL/RCPT only inside a transaction whose MAIL carried the SMTPUTF8
parameter (else 553 5.6.7, RFC 6531 3.4), accepts UTF-8 header fields in
such a transaction (RFC 6532), and normalizes addresses one way everywhere:
`mxctl user add` and `mxctl alias add` with an umlaut store the NFC form,
and mail to the NFC or the NFD spelling reaches the same Maildir. Driven
with Python smtplib (mail_options=["SMTPUTF8"]) and raw sockets.

Each class runs one daemon instance (tests/e2e/harness.py).
"""

import json
import os
import smtplib
import unicodedata
import unittest

import harness
from harness import BUILD, Homemx, SMTPClient
import test_submission
from test_submission import SubmissionCase

JUERGEN = "j\u00fcrgen@example.test"                    # NFC: "ü" is one code point
JUERGEN_NFD = unicodedata.normalize("NFD", JUERGEN)     # "u" + U+0308
USERS = [("kim@example.test", "secret"), (JUERGEN_NFD, "secret2")]   # typed in NFD
ALIASES = [("gr\u00fc\u00dfe@example.test", "kim@example.test")]
SUBJECT = "Gr\u00fc\u00dfe aus K\u00f6ln \u2013 \u65e5\u672c"


def utf8_message(frm, to, token):
    """A message with a UTF-8 Subject and From display name (RFC 6532 3.2:
    raw UTF-8 in header fields, no encoded words)."""
    return (f"From: D\u00ebmo M\u00fcller <{frm}>\r\nTo: <{to}>\r\n"
            f"Subject: {SUBJECT} {token}\r\nMessage-ID: <{token}@client.example>\r\n"
            f"\r\nHall\u00f6chen {token}\r\n").encode("utf-8")


class Case(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(os.path.join(BUILD, "mxctl")):
            raise unittest.SkipTest("mxctl not built")
        cls.h = Homemx(extra_conf="max_errors 1000", users=USERS, aliases=ALIASES)
        try:
            cls.h.start()
        except BaseException:
            cls.h.stop(check_sanitizers=False)
            cls.h.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.h.cleanup()

    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        if self.clients:
            self.h.wait_sessions_ended()

    def client(self):
        c = SMTPClient(self.h.smtp_port)
        self.clients.append(c)
        self.assertEqual(c.reply()[0], 220)
        return c

    def assertReply(self, reply, code, enh=None):
        got, text = reply
        self.assertEqual(got, code, text)
        if enh is not None:
            self.assertTrue(text.startswith(f"{code} {enh} "), f"want {code} {enh}: {text!r}")

    def with_token(self, address, token):
        return harness.wait_until(
            lambda: next((m for m in self.h.messages(address) if token.encode() in m), None),
            what=f"message {token} for {address}", detail=lambda: self.h.log()[-3000:])


class TestInbound(Case):
    def test_ehlo_offers_smtputf8(self):
        c = self.client()
        code, text = c.cmd("EHLO client.example")
        self.assertEqual(code, 250)
        self.assertIn("250-SMTPUTF8", text)
        # HELO greets without extensions: the parameter is unknown then.
        self.assertReply(c.cmd("HELO client.example"), 250)
        self.assertReply(c.cmd("MAIL FROM:<a@client.example> SMTPUTF8"), 555, "5.5.4")

    def test_smtplib_utf8_local_part_and_headers(self):
        token = "u8smtplib"
        with smtplib.SMTP("127.0.0.1", self.h.smtp_port, local_hostname="client.example") as s:
            s.ehlo()
            self.assertTrue(s.has_extn("smtputf8"))
            refused = s.sendmail("d\u00ebmo@client.example", [JUERGEN],
                                 utf8_message("d\u00ebmo@client.example", JUERGEN, token),
                                 mail_options=["SMTPUTF8"])
            self.assertEqual(refused, {})
        msg = self.with_token(JUERGEN, token)
        self.assertIn(f"Subject: {SUBJECT} {token}".encode(), msg)
        self.assertIn("From: D\u00ebmo M\u00fcller".encode(), msg)
        self.assertIn("for <j\u00fcrgen@example.test>".encode(), msg)
        self.h.expect_log("from=<d\\xc3\\xabmo@client.example>")   # logs escape 8-bit
        self.assertIn("smtputf8=yes", self.h.log())

    def test_without_the_parameter_553(self):
        c = self.client()
        self.assertReply(c.cmd("EHLO client.example"), 250)
        self.assertReply(c.cmd("MAIL FROM:<d\u00ebmo@client.example>"), 553, "5.6.7")
        self.assertReply(c.cmd("MAIL FROM:<a@b\u00fccher.example>"), 553, "5.6.7")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 250)
        self.assertReply(c.cmd(f"RCPT TO:<{JUERGEN}>"), 553, "5.6.7")
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 250)
        self.assertReply(c.cmd("RSET"), 250)
        # With it, the same RCPT is a known user; a broken one is not UTF-8.
        self.assertReply(c.cmd("MAIL FROM:<a@client.example> SMTPUTF8"), 250)
        self.assertReply(c.cmd(f"RCPT TO:<{JUERGEN}>"), 250)
        c.send(b"RCPT TO:<j\xfcrgen@example.test>\r\n")      # Latin-1
        self.assertReply(c.reply(), 553, "5.6.7")
        self.assertReply(c.cmd("RCPT TO:<nob\u00f6dy@example.test>"), 550, "5.1.1")

    def test_nfd_and_nfc_reach_one_mailbox(self):
        for form, token in (("NFD", "u8nfd"), ("NFC", "u8nfc")):
            rcpt = unicodedata.normalize(form, JUERGEN)
            c = self.client()
            self.assertReply(c.cmd("EHLO client.example"), 250)
            self.assertReply(c.cmd("MAIL FROM:<a@client.example> SMTPUTF8"), 250)
            self.assertReply(c.cmd(f"RCPT TO:<{rcpt}>"), 250)
            self.assertReply(c.cmd("DATA"), 354)
            c.send(utf8_message("a@client.example", rcpt, token) + b".\r\n")
            self.assertReply(c.reply(), 250)
            self.with_token(JUERGEN, token)
        # One Maildir, named in NFC; never a second one in NFD.
        names = os.listdir(os.path.join(self.h.dir, "maildirs", "example.test"))
        self.assertIn("j\u00fcrgen", names)
        self.assertNotIn(unicodedata.normalize("NFD", "j\u00fcrgen"), names)

    def test_uppercase_reaches_one_mailbox(self):
        """Case folding beyond ASCII: JÜRGEN@ (NFC) and JU+U+0308RGEN@ (NFD)
        reach jürgen@'s Maildir as KIM@ reaches kim@. Only the key folds:
        the message keeps the recipient as the sender spelled it (in NFC),
        and the Maildir is named after the stored user."""
        upper = "J\u00dcRGEN@example.test"
        for rcpt, token in ((upper, "u8upper"),
                            (unicodedata.normalize("NFD", upper), "u8upnfd")):
            with smtplib.SMTP("127.0.0.1", self.h.smtp_port,
                              local_hostname="client.example") as s:
                refused = s.sendmail("a@client.example", [rcpt],
                                     utf8_message("a@client.example", rcpt, token),
                                     mail_options=["SMTPUTF8"])
                self.assertEqual(refused, {})
            msg = self.with_token(JUERGEN, token)
            self.assertIn(f"for <{upper}>".encode(), msg)
        names = os.listdir(os.path.join(self.h.dir, "maildirs", "example.test"))
        self.assertIn("j\u00fcrgen", names)
        self.assertFalse([n for n in names if n.lower() != n], names)
        # ß is not "ss": STRAUSS@ is nobody, whatever grüße@ is.
        c = self.client()
        self.assertReply(c.cmd("EHLO client.example"), 250)
        self.assertReply(c.cmd("MAIL FROM:<a@client.example> SMTPUTF8"), 250)
        self.assertReply(c.cmd("RCPT TO:<GRUESSE@example.test>"), 550, "5.1.1")
        self.assertReply(c.cmd("RCPT TO:<GR\u00dc\u00dfE@example.test>"), 250)

    def test_idn_domain_either_form(self):
        """A domain added as U-labels takes mail for kim@bücher.example with
        SMTPUTF8 and for kim@xn--bcher-kva.example without it; the Maildir
        is under the A-label form the store keeps."""
        self.h.mxctl("domain", "add", "b\u00fccher.example")
        self.h.mxctl("user", "add", "KIM@xn--bcher-kva.example", "--no-password")
        listed = self.h.mxctl("user", "list", "xn--bcher-kva.example").stdout
        self.assertEqual(listed, "kim@xn--bcher-kva.example (kim@b\u00fccher.example)\tno-login\n")
        with smtplib.SMTP("127.0.0.1", self.h.smtp_port, local_hostname="client.example") as s:
            u = "K\u00efM@B\u00dcCHER.example"    # not kim: "ï" is another letter
            self.assertEqual(s.sendmail("a@client.example", ["kim@b\u00fccher.example"],
                                        utf8_message("a@client.example", "kim@b\u00fccher.example",
                                                     "u8idn"), mail_options=["SMTPUTF8"]), {})
            with self.assertRaises(smtplib.SMTPRecipientsRefused):
                s.sendmail("a@client.example", [u], b"Subject: x\r\n\r\nx\r\n",
                           mail_options=["SMTPUTF8"])
            self.assertEqual(s.sendmail("a@client.example", ["Kim@XN--BCHER-KVA.example"],
                                        b"Subject: u8alabel\r\n\r\nu8alabel\r\n"), {})
        box = "kim@xn--bcher-kva.example"
        # The envelope carries the domain as A-labels from RCPT on
        # (lib/addr.c), the header as the sender wrote it.
        msg = self.with_token(box, "u8idn")
        self.assertIn(b"for <kim@xn--bcher-kva.example>", msg)
        self.assertIn(b"To: <kim@b\xc3\xbccher.example>", msg)
        self.with_token(box, "u8alabel")
        self.assertEqual(os.listdir(os.path.join(self.h.dir, "maildirs", "xn--bcher-kva.example")),
                         ["kim"])
        # DNS records keep the A-labels; a comment names the U-label form.
        zone = self.h.mxctl("dns", "b\u00fccher.example").stdout.splitlines()
        self.assertEqual(zone[0], "; xn--bcher-kva.example is b\u00fccher.example: "
                         "DNS names are written in this A-label form")
        records = [ln for ln in zone if ln and not ln.startswith(";")]
        self.assertTrue(records)
        self.assertFalse([ln for ln in records if "\u00fc" in ln], records)
        self.assertIn("xn--bcher-kva.example. IN MX", "\n".join(records))
        js = json.loads(self.h.mxctl("dns", "xn--bcher-kva.example", "--json").stdout)
        self.assertEqual((js["domain"], js["domain_unicode"]),
                         ("xn--bcher-kva.example", "b\u00fccher.example"))
        self.assertNotIn("domain_unicode",
                         json.loads(self.h.mxctl("dns", "example.test", "--json").stdout))

    def test_mxctl_stores_nfc(self):
        users = self.h.mxctl("user", "list").stdout
        self.assertIn(JUERGEN + "\t", users)              # added as NFD, stored NFC
        self.assertNotIn(JUERGEN_NFD, users)
        self.assertIn("gr\u00fc\u00dfe@example.test", self.h.mxctl("alias", "list").stdout)
        # The same user in the other spelling is the same user.
        p = self.h.mxctl("user", "add", JUERGEN, input="x\n", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("already exists", p.stderr)

    def test_alias_with_umlaut_delivers(self):
        token = "u8alias"
        c = self.client()
        self.assertReply(c.cmd("EHLO client.example"), 250)
        self.assertReply(c.cmd("MAIL FROM:<a@client.example> SMTPUTF8"), 250)
        # NFD and upper case, in every script: "GRÜßE" finds "grüße" (ß has
        # no one-letter capital in common use and stays ß).
        self.assertReply(c.cmd("RCPT TO:<GRU\u0308\u00dfE@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(utf8_message("a@client.example", "gr\u00fc\u00dfe@example.test", token) + b".\r\n")
        self.assertReply(c.reply(), 250)
        self.with_token("kim@example.test", token)


setUpModule = test_submission.setUpModule
tearDownModule = test_submission.tearDownModule


class TestSubmission(SubmissionCase):
    """587 with STARTTLS and AUTH: the UTF-8 user sends as themselves."""

    @classmethod
    def setUpClass(cls):
        saved = test_submission.USERS
        test_submission.USERS = saved + [(JUERGEN, "secret3")]
        try:
            super().setUpClass()
        finally:
            test_submission.USERS = saved

    def test_587_smtputf8(self):
        token = "u8sub"
        # AUTH PLAIN carries the UTF-8 user name (RFC 4616), here in NFD.
        c = self.authed(user=JUERGEN_NFD, password="secret3")
        self.assertIn("250-SMTPUTF8", c.cmd("EHLO laptop.example")[1])
        self.assertReply(c.cmd(f"MAIL FROM:<{JUERGEN}> SMTPUTF8"), 250)
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(utf8_message(JUERGEN, "kim@example.test", token) + b".\r\n")
        self.assertReply(c.reply(), 250)
        msg = harness.wait_until(
            lambda: next((m for m in self.h.messages("kim@example.test")
                          if token.encode() in m), None),
            what="submitted message", detail=lambda: self.h.log()[-3000:])
        self.assertIn(f"Subject: {SUBJECT} {token}".encode(), msg)
        self.assertIn(b"DKIM-Signature:", msg)

    def test_587_refuses_utf8_sender_without_parameter(self):
        c = self.authed(user=JUERGEN, password="secret3")
        self.assertReply(c.cmd(f"MAIL FROM:<{JUERGEN}>"), 553, "5.6.7")


if __name__ == "__main__":
    unittest.main()
