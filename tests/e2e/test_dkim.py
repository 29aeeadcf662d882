"""tests/e2e/test_dkim.py - DKIM keys and signatures, checked by an
independent verifier.

What: `mxctl dkim keygen|show|list` against a temporary config; the real
homemx-dkimsign role driven over its IPC contract by a fake supervisor and
a fake submission peer (fd 3 control link, fd 4 config memfd, MSG_SUP_LINK,
then MSG_SIGN_ASK with the message as an fd, as lib/role.h and
lib/ipc_msgs.h say); both signatures (rsa-sha256 and ed25519-sha256)
verified with Python's dkim module (dkimpy, Debian python3-dkim), whose
dnsfunc answers with exactly the TXT records `mxctl dkim show` printed.
Also: a one-byte body change breaks both, an added From: breaks both
(oversigning), keys appear and get repaired while the role runs, missing
keys give SIGN_NO_KEY, and (as root) homemxd runs the role as _hmx-dkim
chrooted into dkim_key_dir.
Runs without root except RootDaemon, which is skipped otherwise.
"""
import os
import pwd
import re
import shutil
import stat
import struct
import unittest

import dkim

from harness import dkim_show_records as parse_records, mxctl
from rolerig import SIGN_FAILED, SIGN_NO_KEY, SIGN_OK, RoleRig, s


def dnsfunc_for(records):
    def dnsfunc(name, timeout=5):
        key = name.decode() if isinstance(name, bytes) else name
        value = records.get(key.rstrip("."))
        return value.encode() if value is not None else None
    return dnsfunc


def verify_all(message, records):
    """dkimpy's verdict for each DKIM-Signature field of message, in order."""
    n = len(re.findall(rb"(?im)^DKIM-Signature:", message.split(b"\r\n\r\n", 1)[0]))
    out = []
    for i in range(n):
        try:
            out.append(dkim.DKIM(message).verify(idx=i, dnsfunc=dnsfunc_for(records)))
        except dkim.ValidationError:     # dkimpy raises on a body hash mismatch
            out.append(False)
    return out


def sig_fields(headers):
    """The DKIM-Signature fields of an answer, each unfolded to a dict."""
    fields = re.split(r"\r\n(?=DKIM-Signature:)", headers.rstrip("\r\n"))
    out = []
    for f in fields:
        value = f.split(":", 1)[1].replace("\r\n\t", "").replace("\r\n ", "")
        tags = {}
        for part in value.split(";"):
            if "=" in part:
                k, v = part.split("=", 1)
                tags[k.strip()] = re.sub(r"\s+", "", v)
        out.append(tags)
    return out


MESSAGE = (b"From: Kim <kim@example.test>\r\n"
           b"To: Bob <bob@example.net>\r\n"
           b"Subject: =?utf-8?q?caf=C3=A9?= and a folded\r\n"
           b" subject line\r\n"
           b"Date: Sun, 23 Nov 2025 13:34:00 +0000\r\n"
           b"Message-ID: <1@example.test>\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n"
           b"X-Unsigned: not in h=\r\n"
           b"\r\n"
           b"Hello Bob,\r\n"
           b"caf\xc3\xa9 at eight bits.\r\n"
           b"\r\n"
           b".a line with a leading dot\r\n"
           b"\r\n\r\n")


class DkimRig(RoleRig):
    """A key directory, a config, and the dkimsign role started as homemxd
    would (optionally with -u/-r); the test plays supervisor and submission."""

    def __init__(self, domains=("example.test",), extra_conf=""):
        super().__init__("hmx-dkim-", log_name="dkimsign.log", world_readable=True)
        self.keydir = os.path.join(self.dir, "dkim")
        self.domains = list(domains)
        self.extra_conf = extra_conf
        self.conf_path = os.path.join(self.dir, "homemx.conf")
        self.write_config()
        self.role = None
        self.pid = None
        self.control = None
        self.sub = None
        self.req = 0

    def config_text(self, selector="mx1"):
        return self.config(f"dkim_key_dir {self.keydir}", f"dkim_selector {selector}",
                           domains=self.domains) + "\n" + self.extra_conf

    def write_config(self, selector="mx1"):
        with open(self.conf_path, "w") as f:
            f.write(self.config_text(selector))

    # -- mxctl -----------------------------------------------------------
    def keygen(self, domain="example.test", *extra):
        p = mxctl(self.conf_path, "dkim", "keygen", domain, *extra)
        return p.stdout

    def records(self, domain="example.test"):
        return parse_records(mxctl(self.conf_path, "dkim", "show", domain).stdout)

    # -- the role ----------------------------------------------------------
    def start(self, args=()):
        os.makedirs(self.keydir, mode=0o700, exist_ok=True)
        self.role = self.start_role("dkimsign", self.config_text(), args=args)
        self.pid = self.role.pid
        self.control = self.role.control
        self.sub = self.new_link("submission")
        self.wait_log("event=dkim_ready")

    def new_link(self, peer):
        return self.role.new_link(peer)

    def reload(self, selector):
        self.write_config(selector)
        self.role.reload(self.config_text(selector))
        self.wait_log("event=reload role=dkimsign")

    def links(self):
        return (self.sub,)

    # -- playing submission ------------------------------------------------
    def message_fd(self, message):
        path = os.path.join(self.dir, f"msg-{self.req}")
        with open(path, "wb") as f:
            f.write(message)
        return os.open(path, os.O_RDONLY)

    def sign(self, message, domain="example.test", link=None):
        """(status, header text) for one MSG_SIGN_ASK."""
        link = link or self.sub
        self.req += 1
        fd = self.message_fd(message) if isinstance(message, bytes) else message
        try:
            link.send("MSG_SIGN_ASK", s(domain), req=self.req, fd=fd)
        finally:
            os.close(fd)
        got = link.recv()
        assert got is not None, "dkimsign closed the link\n" + self.log()[-3000:]
        name, req, p, _ = got
        assert name == "MSG_SIGN_ANSWER" and req == self.req, (name, req)
        n = struct.unpack(">H", p[1:3])[0]
        assert len(p) == 3 + n, "trailing bytes in MSG_SIGN_ANSWER"
        return p[0], p[3:3 + n].decode()


class RigCase(unittest.TestCase):
    domains = ("example.test",)

    def setUp(self):
        self.rig = DkimRig(self.domains)

    def tearDown(self):
        self.rig.stop()
        self.rig.cleanup()


class KeygenShowList(RigCase):
    domains = ("example.test", "other.test")

    def test_keygen_writes_both_keys_0600_pkcs8(self):
        out = self.rig.keygen()
        d = os.path.join(self.rig.keydir, "example.test")
        for name, armor in (("mx1.rsa.pem", b"-----BEGIN PRIVATE KEY-----"),
                            ("mx1.ed25519.pem", b"-----BEGIN PRIVATE KEY-----")):
            st = os.stat(os.path.join(d, name))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, name)
            with open(os.path.join(d, name), "rb") as f:
                self.assertTrue(f.read().startswith(armor), name)
            if os.geteuid() == 0:
                owner = pwd.getpwuid(st.st_uid).pw_name
                try:
                    pwd.getpwnam("_hmx-dkim")
                    self.assertEqual(owner, "_hmx-dkim", name)
                except KeyError:
                    self.assertEqual(owner, "root", name)
        self.assertEqual(stat.S_IMODE(os.stat(d).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(self.rig.keydir).st_mode), 0o700)
        # keygen prints the same records as show.
        self.assertEqual(parse_records(out), self.rig.records())

    def test_show_prints_one_record_per_key_in_255_octet_strings(self):
        self.rig.keygen()
        out = mxctl(self.rig.conf_path, "dkim", "show", "EXAMPLE.test").stdout
        lines = out.splitlines()
        self.assertEqual(len(lines), 2, out)
        self.assertRegex(lines[0], r'^mx1-rsa\._domainkey\.example\.test\. IN TXT '
                                   r'"v=DKIM1; k=rsa; p=MII[^"]*"( "[^"]*")+$')
        self.assertRegex(lines[1], r'^mx1-ed25519\._domainkey\.example\.test\. IN TXT '
                                   r'"v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="$')
        for part in re.findall(r'"([^"]*)"', out):
            self.assertLessEqual(len(part), 255)
        recs = parse_records(out)
        # RSA: base64 of a 2048-bit SubjectPublicKeyInfo (294 octets).
        p = recs["mx1-rsa._domainkey.example.test"].split("p=")[1]
        self.assertEqual(len(p), 392)
        # Ed25519: the raw 32-octet key (RFC 8463 4.2).
        p = recs["mx1-ed25519._domainkey.example.test"].split("p=")[1]
        self.assertEqual(len(p), 44)

    def test_keygen_refuses_to_overwrite_without_force(self):
        self.rig.keygen()
        before = self.rig.records()
        p = mxctl(self.rig.conf_path, "dkim", "keygen", "example.test", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("exists already: use --force", p.stderr)
        self.assertEqual(self.rig.records(), before)
        self.rig.keygen("example.test", "--force")
        after = self.rig.records()
        self.assertEqual(sorted(after), sorted(before))
        for name in before:
            self.assertNotEqual(after[name], before[name])
        self.assertFalse([f for f in os.listdir(os.path.join(self.rig.keydir, "example.test"))
                          if f.endswith(".tmp")])

    def test_selector_option_and_list(self):
        self.rig.keygen()
        out = self.rig.keygen("other.test", "--selector", "Sel2024")
        self.assertIn("sel2024-rsa._domainkey.other.test.", out)
        lst = mxctl(self.rig.conf_path, "dkim", "list").stdout.splitlines()
        self.assertEqual(lst, ["example.test mx1 rsa ed25519 (signing)",
                               "other.test sel2024 rsa ed25519"])
        recs = parse_records(mxctl(self.rig.conf_path, "dkim", "show", "other.test",
                                   "--selector", "sel2024").stdout)
        self.assertEqual(sorted(recs), ["sel2024-ed25519._domainkey.other.test",
                                        "sel2024-rsa._domainkey.other.test"])

    def test_bad_input_names_the_field(self):
        cases = [
            (("keygen", "exa mple.test"), "domain 'exa mple.test'"),
            (("keygen", "example.test", "--selector", "bad_sel"), "selector 'bad_sel'"),
            (("keygen", "example.test", "--selector", "s" * 56), "selector '"),
            (("keygen", "elsewhere.test"), "domain 'elsewhere.test' is not local"),
            (("show", "example.test"), "no DKIM keys for example.test"),
            (("show", "ex\u20acample.test"), "domain 'ex"),
        ]
        for args, want in cases:
            p = mxctl(self.rig.conf_path, "dkim", *args, check=False)
            self.assertEqual(p.returncode, 1, (args, p.stdout, p.stderr))
            self.assertIn(want, p.stderr, args)
        for args in (("keygen",), ("keygen", "example.test", "--bogus"), ("show",),
                     ("show", "example.test", "--force"), ("rotate", "x")):
            p = mxctl(self.rig.conf_path, "dkim", *args, check=False)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
        self.assertFalse(os.path.exists(os.path.join(self.rig.keydir, "elsewhere.test")))

    def test_idn_domain_is_stored_as_a_label(self):
        self.rig.domains.append("xn--caf-dma.test")
        self.rig.write_config()
        out = self.rig.keygen("café.test")
        self.assertIn("mx1-rsa._domainkey.xn--caf-dma.test.", out)
        self.assertTrue(os.path.isdir(os.path.join(self.rig.keydir, "xn--caf-dma.test")))


class SignAndVerify(RigCase):
    domains = ("example.test", "later.test", "broken.test", "rsaonly.test")

    def setUp(self):
        super().setUp()
        self.rig.keygen()
        self.recs = self.rig.records()
        self.rig.start()

    def sign_ok(self, message, domain="example.test"):
        st, headers = self.rig.sign(message, domain)
        self.assertEqual(st, SIGN_OK, self.rig.log()[-3000:])
        return headers

    def test_both_signatures_verify_with_dkimpy(self):
        headers = self.sign_ok(MESSAGE)
        signed = headers.encode() + MESSAGE
        self.assertEqual(verify_all(signed, self.recs), [True, True])
        tags = sig_fields(headers)
        self.assertEqual([t["a"] for t in tags], ["rsa-sha256", "ed25519-sha256"])
        self.assertEqual([t["s"] for t in tags], ["mx1-rsa", "mx1-ed25519"])
        for t in tags:
            self.assertEqual(t["c"], "relaxed/relaxed")
            self.assertEqual(t["d"], "example.test")
            h = [x.lower() for x in t["h"].split(":")]
            for name in ("from", "to", "subject", "date", "message-id", "mime-version",
                         "content-type", "content-transfer-encoding"):
                self.assertEqual(h.count(name), 2, (name, h))   # signed + oversigned
            for name in ("reply-to", "cc"):
                self.assertEqual(h.count(name), 1, (name, h))   # absent: oversigned only
            self.assertNotIn("x-unsigned", h)
        self.rig.wait_log("event=dkim_sign peer=submission domain=example.test selector=mx1 "
                          "algs=rsa-sha256,ed25519-sha256 result=ok bytes=%d" % len(MESSAGE))

    def test_answer_is_crlf_folded_fields(self):
        headers = self.sign_ok(MESSAGE)
        self.assertEqual(headers.count("DKIM-Signature: "), 2)
        self.assertTrue(headers.startswith("DKIM-Signature: v=1; a=rsa-sha256;"), headers)
        self.assertTrue(headers.endswith("\r\n"))
        self.assertNotRegex(headers, r"[^\r]\n|\r[^\n]")
        for line in headers.split("\r\n")[:-1]:
            self.assertTrue(line.startswith(("DKIM-Signature: ", "\t")), repr(line))
            self.assertLessEqual(len(line), 998)

    def test_tampering_breaks_both(self):
        headers = self.sign_ok(MESSAGE).encode()
        cases = {
            "one body byte": MESSAGE.replace(b"Hello Bob", b"Hello Bop"),
            "body line added": MESSAGE + b"P.S. added\r\n",
            "subject": MESSAGE.replace(b"folded\r\n", b"f0lded\r\n"),
            "second From on top": b"From: Mallory <m@evil.example>\r\n" + MESSAGE,
            "Reply-To added": b"Reply-To: m@evil.example\r\n" + MESSAGE,
        }
        for what, msg in cases.items():
            self.assertEqual(verify_all(headers + msg, self.recs), [False, False], what)
        # Relaxed canonicalization: whitespace changes and an unsigned
        # header do not matter.
        harmless = MESSAGE.replace(b"To: Bob", b"To:   Bob").replace(
            b"X-Unsigned: not in h=", b"X-Unsigned: changed")
        self.assertEqual(verify_all(headers + harmless, self.recs), [True, True])

    def test_odd_but_valid_messages(self):
        cases = {
            "no body": b"From: kim@example.test\r\nSubject: nothing\r\n",
            "empty body": b"From: kim@example.test\r\nSubject: nothing\r\n\r\n",
            "last line without CRLF": b"From: kim@example.test\r\n\r\nno newline",
            "many fields": b"".join(b"X-N%d: %d\r\n" % (i, i) for i in range(900))
                           + b"From: kim@example.test\r\n\r\nbody\r\n",
            "two From fields": b"From: kim@example.test\r\nFrom: kim2@example.test\r\n\r\nb\r\n",
        }
        for what, msg in cases.items():
            headers = self.sign_ok(msg)
            self.assertEqual(verify_all(headers.encode() + msg, self.recs), [True, True], what)

    def test_big_message_streams_through(self):
        body = b"".join(b"line %07d of a big message, padded to be long enough...\r\n" % i
                        for i in range(80000))   # ~5 MB: several body chunks
        msg = MESSAGE.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n" + body
        headers = self.sign_ok(msg)
        self.assertEqual(verify_all(headers.encode() + msg, self.recs), [True, True])
        msg2 = msg[:-10] + b"X" + msg[-9:]
        self.assertEqual(verify_all(headers.encode() + msg2, self.recs), [False, False])

    def test_refused_messages_fail_without_signing(self):
        huge = os.path.join(self.rig.dir, "huge")
        with open(huge, "wb") as f:
            f.write(MESSAGE)
            f.truncate(64 * 1024 * 1024 + 1)      # sparse: no 64 MB written
        cases = {
            "bare LF in header": (b"From: kim@example.test\nSubject: x\r\n\r\nb\r\n",
                                  "bare CR or LF"),
            "bare CR in header": (b"From: kim@example.test\rSubject: x\r\n\r\nb\r\n",
                                  "bare CR or LF"),
            "NUL in header": (b"From: kim@example.test\r\nSubject: a\0b\r\n\r\nb\r\n", "NUL"),
            "no From": (b"Subject: x\r\n\r\nbody\r\n", "result=failed"),
            "no colon": (b"From: kim@example.test\r\nnot a header\r\n\r\nb\r\n", "colon"),
            # Obsolete syntax that verifiers split differently (dkimpy
            # finds no From in it, libopendkim does): refused.
            "space before colon": (b"From : kim@example.test\r\n\r\nb\r\n",
                                   "bad header field name"),
            "leading fold": (b" folded\r\nFrom: kim@example.test\r\n\r\nb\r\n", "folded line"),
            "header section over 1 MB": (b"From: kim@example.test\r\n" +
                                         b"X-Pad: " + b"p" * 900 + b"\r\n" * 1 +
                                         b"".join(b"X-P: %0990d\r\n" % i for i in range(1100)),
                                         "too"),
            "empty message": (b"", "result=failed"),
            "over 64 MiB": (os.open(huge, os.O_RDONLY), "byte limit"),
        }
        for what, (msg, reason) in cases.items():
            before = self.rig.log().count("result=failed")
            st, headers = self.rig.sign(msg)
            self.assertEqual((st, headers), (SIGN_FAILED, ""), what)
            self.rig.wait_log("result=failed", n=before + 1)
            self.assertIn(reason, self.rig.log().splitlines()[-1], what)

    def test_no_key_and_keys_created_while_running(self):
        st, headers = self.rig.sign(MESSAGE, "later.test")
        self.assertEqual((st, headers), (SIGN_NO_KEY, ""))
        self.rig.wait_log("domain=later.test selector=mx1 algs=none result=no_key")
        st, _ = self.rig.sign(MESSAGE, "unknown.test")
        self.assertEqual(st, SIGN_NO_KEY)
        self.rig.keygen("later.test")
        headers = self.sign_ok(MESSAGE, "later.test")
        recs = self.rig.records("later.test")
        self.assertEqual(verify_all(headers.encode() + MESSAGE, recs), [True, True])
        self.assertEqual(sig_fields(headers)[0]["d"], "later.test")

    def test_broken_key_fails_then_repair_is_picked_up(self):
        d = os.path.join(self.rig.keydir, "broken.test")
        os.makedirs(d, mode=0o700)
        bad = os.path.join(d, "mx1.rsa.pem")
        with open(os.open(bad, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        for _ in range(2):
            st, headers = self.rig.sign(MESSAGE, "broken.test")
            self.assertEqual((st, headers), (SIGN_FAILED, ""))
        # Logged once per file version, not once per message.
        self.assertEqual(self.rig.log().count("event=dkim_key domain=broken.test selector=mx1 "
                                              "alg=rsa result=refused"), 1)
        self.rig.keygen("broken.test", "--force")
        headers = self.sign_ok(MESSAGE, "broken.test")
        self.assertEqual(verify_all(headers.encode() + MESSAGE, self.rig.records("broken.test")),
                         [True, True])

    def test_key_checks(self):
        self.rig.keygen("broken.test")
        d = os.path.join(self.rig.keydir, "broken.test")
        rsa, ed = os.path.join(d, "mx1.rsa.pem"), os.path.join(d, "mx1.ed25519.pem")
        os.chmod(rsa, 0o640)
        st, _ = self.rig.sign(MESSAGE, "broken.test")
        self.assertEqual(st, SIGN_FAILED)
        self.rig.wait_log("alg=rsa result=refused reason=\"readable or writable by group")
        os.chmod(rsa, 0o600)                    # ctime changes: looked at again
        self.sign_ok(MESSAGE, "broken.test")
        with open(ed, "rb") as f:
            ed_pem = f.read()
        shutil.copy(ed, rsa + ".new")
        os.chmod(rsa + ".new", 0o600)
        os.rename(rsa + ".new", rsa)            # an Ed25519 key in the RSA file
        st, _ = self.rig.sign(MESSAGE, "broken.test")
        self.assertEqual(st, SIGN_FAILED)
        self.rig.wait_log("alg=rsa result=refused reason=\"wrong key type")
        os.unlink(rsa)                          # only Ed25519 left: one signature
        headers = self.sign_ok(MESSAGE, "broken.test")
        self.assertEqual([t["a"] for t in sig_fields(headers)], ["ed25519-sha256"])
        self.rig.wait_log("alg=rsa result=removed")
        self.assertTrue(ed_pem.startswith(b"-----BEGIN PRIVATE KEY-----"))

    def test_rsa_only_domain_gets_one_signature(self):
        self.rig.keygen("rsaonly.test")
        os.unlink(os.path.join(self.rig.keydir, "rsaonly.test", "mx1.ed25519.pem"))
        headers = self.sign_ok(MESSAGE, "rsaonly.test")
        recs = self.rig.records("rsaonly.test")
        self.assertEqual(len(recs), 1)
        self.assertEqual(verify_all(headers.encode() + MESSAGE, recs), [True])

    def test_reload_switches_selector(self):
        self.rig.keygen("example.test", "--selector", "s2")
        self.rig.reload("s2")
        headers = self.sign_ok(MESSAGE)
        self.assertEqual([t["s"] for t in sig_fields(headers)], ["s2-rsa", "s2-ed25519"])
        self.assertEqual(verify_all(headers.encode() + MESSAGE, self.rig.records()), [True, True])
        self.rig.reload("s3")                   # no keys for s3: never unsigned
        st, _ = self.rig.sign(MESSAGE)
        self.assertEqual(st, SIGN_NO_KEY)

    def test_queue_peer_and_malformed_frames(self):
        queue = self.rig.new_link("queue")
        self.rig.wait_log("event=dkim_ready")
        headers = None
        st, headers = self.rig.sign(MESSAGE, link=queue)
        self.assertEqual(st, SIGN_OK)
        self.rig.wait_log("event=dkim_sign peer=queue")
        # An invalid domain is a lying peer: logged, its link closed.
        fd = self.rig.message_fd(MESSAGE)
        queue.send("MSG_SIGN_ASK", s("bad domain!"), req=99, fd=fd)
        os.close(fd)
        self.assertIsNone(queue.recv())
        self.rig.wait_log("event=ipc_reject peer=queue type=MSG_SIGN_ASK")
        self.assertRegex(self.rig.log(), r"event=ipc_reject peer=queue type=MSG_SIGN_ASK\(\d+\) "
                                         r"reason=\"invalid domain\"")
        # No fd at all: rejected by the framing layer.
        self.rig.sub.send("MSG_SIGN_ASK", s("example.test"), req=100)
        self.assertIsNone(self.rig.sub.recv())
        self.rig.wait_log("reason=\"missing fd\"")
        # The supervisor hands over new links; the role still works.
        self.rig.sub = self.rig.new_link("submission")
        headers = self.sign_ok(MESSAGE)
        self.assertEqual(verify_all(headers.encode() + MESSAGE, self.recs), [True, True])


@unittest.skipUnless(os.geteuid() == 0, "needs root: privilege drop and chroot")
class RootRole(RigCase):
    """The role as homemxd starts it as root: -u _hmx-dkim -r dkim_key_dir."""

    def test_runs_as_hmx_dkim_chrooted_into_the_key_dir(self):
        try:
            pw = pwd.getpwnam("_hmx-dkim")
        except KeyError:
            self.skipTest("user _hmx-dkim does not exist (start homemxd once as root)")
        self.rig.keygen()
        os.chown(self.rig.keydir, pw.pw_uid, pw.pw_gid)
        self.rig.start(["-u", "_hmx-dkim", "-r", self.rig.keydir])
        headers = self.rig.sign(MESSAGE)[1]
        self.assertEqual(verify_all(headers.encode() + MESSAGE, self.rig.records()),
                         [True, True])
        with open(f"/proc/{self.rig.pid}/status") as f:
            uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", f.read(), re.M).groups()
        self.assertEqual(set(uids), {str(pw.pw_uid)})
        self.assertEqual(os.readlink(f"/proc/{self.rig.pid}/root"), self.rig.keydir)
        self.assertIn("chroot=yes", self.rig.log())
        # A key created while it runs is used at once, inside the chroot.
        self.rig.domains.append("later.test")
        self.rig.write_config()
        self.rig.keygen("later.test")
        st, headers = self.rig.sign(MESSAGE, "later.test")
        self.assertEqual(st, SIGN_OK)


@unittest.skipUnless(os.geteuid() == 0, "needs root: homemxd creates users and chroots")
class RootDaemon(unittest.TestCase):
    """homemxd itself: dkimsign runs as _hmx-dkim with its root in
    dkim_key_dir, and mxctl (as root) makes keys it can read, for a domain
    known only to the store."""

    def test_daemon_runs_dkimsign_jailed(self):
        from harness import Homemx

        h = Homemx()        # dkim_key_dir is <dir>/dkim
        try:
            h.start()
            keydir = os.path.join(h.dir, "dkim")
            pid = h.role_pids()["dkimsign"]
            uid = pwd.getpwnam("_hmx-dkim").pw_uid
            with open(f"/proc/{pid}/status") as f:
                self.assertRegex(f.read(), rf"(?m)^Uid:\s+{uid}\s+{uid}\s+{uid}\s+{uid}$")
            self.assertEqual(os.readlink(f"/proc/{pid}/root"), keydir)
            st = os.stat(keydir)
            self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (uid, 0o700))
            h.mxctl("domain", "add", "store-only.test")
            out = h.mxctl("dkim", "keygen", "store-only.test").stdout
            self.assertIn("mx1-rsa._domainkey.store-only.test.", out)
            for name in ("mx1.rsa.pem", "mx1.ed25519.pem"):
                fst = os.stat(os.path.join(keydir, "store-only.test", name))
                self.assertEqual((fst.st_uid, stat.S_IMODE(fst.st_mode)), (uid, 0o600))
            p = h.mxctl("dkim", "keygen", "nowhere.test", check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("domain 'nowhere.test' is not local", p.stderr)
            self.assertIn("event=dkim_ready keydir=%s chroot=yes" % keydir, h.log())
        finally:
            h.stop()
            h.cleanup()


if __name__ == "__main__":
    unittest.main()
