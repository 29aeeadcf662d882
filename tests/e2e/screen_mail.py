"""tests/e2e/screen_mail.py - messages for the end-of-DATA screen: DKIM
keys and signatures made with dkimpy, the zones that publish them with
DMARC policies, and SMTP sessions that send whole messages from the
world's clients (tests/e2e/screen_world.py).

Owns: the cast of the message tests (one client with tidy DNS and the
domains below), the way a message is built and signed, and how a test
finds what the daemon made of it (the message-stage verdict line, the
delivered copy, our Authentication-Results field in it).
test_screen_message.py and scripts/bench-eod use it.

Why dkimpy (python3-dkim) and not our own dkimsign: the verifier must be
shown to accept signatures it did not make itself - rsa-sha256 and
ed25519-sha256 (RFC 8463), relaxed and simple canonicalization - and to
refuse the ones RFC 8301 retires (rsa-sha1, RSA keys under 1024 bits),
which dkimsign never makes. Our own outgoing mail is tested separately.

The zones (added by mail_zones(w, keys) before the world starts)::

    client  10.101.1.10  PTR mta.msgsend.example (FCrDNS passes)
    bounce.example       MX, SPF ip4:10.101.1.0/24: the envelope domain
                         (SPF passes, aligned with no From below)
    dk.example           keys rsa (2048), ed (Ed25519), weak (512-bit RSA);
                         "nokey" has no record (NXDOMAIN), "sf" is served
                         SERVFAIL when the daemon asks OddDns; no DMARC
    dmk.example          key rsa, DMARC p=reject: aligned through DKIM
    spfal.example        DMARC p=reject; mail.spfal.example has SPF for
                         the client: aligned through SPF (relaxed)
    strict.example       DMARC p=quarantine adkim=s aspf=s; key rsa at
                         mail.strict.example, which has SPF for the client
    example.co.uk        DMARC p=quarantine at the organizational domain
                         under a two-label public suffix (co.uk)
    rej/quar/none.example  DMARC p=reject / p=quarantine / p=none
    spdom.example        DMARC p=none sp=reject (subdomains: reject)
    pct.example          DMARC p=reject pct=0 (never sampled: quarantine)
    broken.example       DMARC p=bogus: an invalid record (permerror)
"""

import base64
import email.utils
import os
import re
import smtplib
import subprocess
import time

import dkim
import nacl.signing

import harness
from netns import Topology, in_netns
from screen_world import SMTP_PORT, _text

CLIENT_IP = "10.101.1.10"
CLIENT_HELO = "mta.msgsend.example"
ENVELOPE = "bounce@bounce.example"
HOSTNAME = "mx.example.test"         # the harness's hostname: our authserv-id
SIGNED = (b"from", b"to", b"subject", b"date", b"message-id")


# ---- keys and signatures ---------------------------------------------------------

class DkimKey:
    """One signing key at <selector>._domainkey.<domain>: alg is "rsa"
    (with bits) or "ed25519"."""

    def __init__(self, domain, selector, alg="rsa", bits=2048):
        self.domain, self.selector, self.alg = domain, selector, alg
        if alg == "rsa":
            # PKCS#1 PEM (what dkimpy reads); p= is the DER SubjectPublicKeyInfo
            self.private = subprocess.run(["openssl", "genrsa", "-traditional", str(bits)],
                                          check=True, capture_output=True).stdout
            spki = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"],
                                  input=self.private, check=True, capture_output=True).stdout
            self.record = f"v=DKIM1; k=rsa; p={base64.b64encode(spki).decode()}"
        else:
            k = nacl.signing.SigningKey.generate()
            self.private = base64.b64encode(bytes(k))
            pub = base64.b64encode(bytes(k.verify_key)).decode()
            self.record = f"v=DKIM1; k=ed25519; p={pub}"

    @property
    def name(self):
        return f"{self.selector}._domainkey.{self.domain}"

    def default_algorithm(self):
        return b"rsa-sha256" if self.alg == "rsa" else b"ed25519-sha256"

    def sign(self, message, canon="relaxed/relaxed", algorithm=None, length=False,
             headers=SIGNED):
        """message with this key's DKIM-Signature field on top."""
        h, b = canon.split("/")
        field = dkim.sign(message, self.selector.encode(), self.domain.encode(), self.private,
                          canonicalize=(h.encode(), b.encode()),
                          signature_algorithm=algorithm or self.default_algorithm(),
                          include_headers=list(headers), length=length)
        return field + message


def make_keys():
    """Every key of the zones (RSA generation takes a moment: once per class)."""
    return {
        "rsa": DkimKey("dk.example", "rsa"),
        "ed": DkimKey("dk.example", "ed", "ed25519"),
        "weak": DkimKey("dk.example", "weak", bits=512),
        "nokey": DkimKey("dk.example", "nokey", "ed25519"),    # never published
        "sf": DkimKey("dk.example", "sf", "ed25519"),          # SERVFAIL through OddDns
        "dmk": DkimKey("dmk.example", "rsa"),
        "strict": DkimKey("mail.strict.example", "rsa"),
    }


UNPUBLISHED = ("nokey",)


# ---- the zones ------------------------------------------------------------------

DMARC = {
    "dmk.example": "v=DMARC1; p=reject",
    "spfal.example": "v=DMARC1; p=reject",
    "strict.example": "v=DMARC1; p=quarantine; adkim=s; aspf=s",
    "example.co.uk": "v=DMARC1; p=quarantine",
    "rej.example": "v=DMARC1; p=reject",
    "quar.example": "v=DMARC1; p=quarantine",
    "none.example": "v=DMARC1; p=none",
    "spdom.example": "v=DMARC1; p=none; sp=reject",
    "pct.example": "v=DMARC1; p=reject; pct=0",
    "broken.example": "v=DMARC1; p=bogus",
}


def mail_zones(w, keys):
    """The client, the envelope domains, the keys and the DMARC records
    (see the module comment)."""
    w.add_client("msgsend", CLIENT_IP, CLIENT_HELO)
    spf = "v=spf1 ip4:10.101.1.0/24 -all"
    for domain in ("bounce.example", "mail.spfal.example", "mail.strict.example"):
        w.mail_domain(domain, mx=f"mx.{domain}", spf=spf)
        w.dns.add(f"mx.{domain}", "A", "192.0.2.210")
    for label, k in keys.items():
        if label not in UNPUBLISHED:
            w.spf(k.name, k.record)      # a TXT record, split into strings
    for domain, record in DMARC.items():
        w.spf(f"_dmarc.{domain}", record)


# ---- messages -----------------------------------------------------------------

def message(from_addr, token, subject="message test", to="kim@example.test", extra=b"",
            body=None, date=True, message_id=True):
    """A plain message with CRLF line ends; extra: header lines (bytes,
    each ending in CRLF) put after the standard ones."""
    lines = [f"From: <{from_addr}>", f"To: <{to}>", f"Subject: {subject} {token}"]
    if date:
        lines.append(f"Date: {email.utils.formatdate(localtime=False)}")
    if message_id:
        lines.append(f"Message-ID: <{token}@msgsend.example>")
    head = ("\r\n".join(lines) + "\r\n").encode() + extra
    if body is None:
        body = f"Hello,\r\n\r\nthis is {token}.\r\n-- \r\nA sender\r\n".encode()
    return head + b"\r\n" + body


_seq = [0]


def token(prefix="m"):
    _seq[0] += 1
    return f"{prefix}{os.getpid()}x{_seq[0]}x{int(time.monotonic() * 1000) % 100000}"


# ---- sending -------------------------------------------------------------------

class Sent:
    """What one transaction got: rcpt and data replies (code, text)."""

    def __init__(self):
        self.mail = None
        self.rcpt = {}
        self.data = None
        self.error = None

    @property
    def code(self):
        return self.data[0] if self.data else None

    @property
    def text(self):
        return self.data[1] if self.data else ""

    def ref(self):
        m = re.search(r"ref=([0-9A-Za-z._-]+)", self.text)
        return m.group(1) if m else None

    def __repr__(self):
        return f"Sent(mail={self.mail} rcpt={self.rcpt} data={self.data} error={self.error})"


class Session:
    """One SMTP session from a world client to port 25, for any number of
    transactions (smtplib: the message bytes go out as they are, with
    dot-stuffing, so a test controls every byte)."""

    def __init__(self, world, ip=CLIENT_IP, helo=CLIENT_HELO, timeout=harness.WAIT * 2):
        server = Topology.MTA_IPV6 if ":" in ip else Topology.MTA_IPV4
        self.s = smtplib.SMTP(local_hostname=helo, timeout=timeout, source_address=(ip, 0))
        with in_netns(world.host_of(ip).ns):
            code, _ = self.s.connect(server, SMTP_PORT)
        if code != 220:
            raise AssertionError(f"banner {code}")
        code, _ = self.s.ehlo(helo)
        if code != 250:
            raise AssertionError(f"EHLO {code}")

    def send(self, data, mail_from=ENVELOPE, rcpts=("kim@example.test",), options=()):
        r = Sent()
        code, text = self.s.mail(mail_from, list(options))
        r.mail = (code, _text(text))
        if code != 250:
            self.s.rset()
            return r
        for a in rcpts:
            code, text = self.s.rcpt(a)
            r.rcpt[a] = (code, _text(text))
        if not any(c == 250 for c, _ in r.rcpt.values()):
            self.s.rset()
            return r
        try:
            code, text = self.s.data(data)
            r.data = (code, _text(text))
        except smtplib.SMTPDataError as e:
            r.data = (e.smtp_code, _text(e.smtp_error))
        return r

    def noop(self):
        return self.s.noop()[0]

    def close(self):
        try:
            self.s.quit()
        except (smtplib.SMTPException, OSError):
            self.s.close()


def send(world, data, ip=CLIENT_IP, helo=CLIENT_HELO, **kw):
    """One message in a session of its own."""
    s = Session(world, ip, helo)
    try:
        return s.send(data, **kw)
    finally:
        s.close()


# ---- what the daemon made of it ---------------------------------------------------

def message_verdict(h, since, ip=CLIENT_IP, timeout=harness.WAIT):
    """The first end-of-DATA verdict for ip logged after offset since."""
    h.wait_line(rf"homemx-screen\[\d+\]: event=verdict sess=\S+ ref=\S+ stage=message .* "
                rf"ip={re.escape(ip)}$", since=since, timeout=timeout)
    for v in h.verdicts(since):
        if v.get("ip") == ip and v.get("stage") == "message":
            return v
    raise AssertionError("message verdict not parsed")


def delivered(h, token, rcpt="kim@example.test"):
    """The stored copy of the message whose Subject or body holds token."""
    needle = token.encode()
    return harness.wait_until(
        lambda: next((m for m in h.messages(rcpt) if needle in m), None),
        what=f"message {token} delivered to {rcpt}", detail=lambda: h.log()[-3000:])


def header_fields(msg):
    """[(name, raw field bytes with CRLF)] of the header section, folds kept."""
    head = msg.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    out = []
    for line in head.split(b"\r\n")[:-1]:
        if line[:1] in (b" ", b"\t") and out:
            out[-1][1] += line + b"\r\n"
        else:
            out.append([line.split(b":", 1)[0].decode("latin-1"), line + b"\r\n"])
    return [(n, f) for n, f in out]


def authres(msg):
    """The unfolded values of every Authentication-Results field, top down."""
    out = []
    for name, raw in header_fields(msg):
        if name.lower() == "authentication-results":
            v = raw.split(b":", 1)[1].decode("latin-1")
            out.append(re.sub(r"\r\n[ \t]", " ", v).strip())
    return out


def results(ar, method):
    """The resinfo parts of one A-R value for method: [{"result": ...,
    "header.d": ..., ...}] (RFC 8601 2.2; our own field's layout)."""
    out = []
    for part in ar.split(";")[1:]:
        part = part.strip()
        m = re.match(rf"{method}=(\w+)(.*)$", part, re.S)
        if not m:
            continue
        d = {"result": m.group(1)}
        for k, v in re.findall(r'([\w.]+)=("(?:[^"\\]|\\.)*"|[^\s;]+)', m.group(2)):
            d[k] = v.strip('"')
        comment = re.search(r"\(([^)]*)\)", re.sub(r'"(?:[^"\\]|\\.)*"', "", m.group(2)))
        if comment:
            d["comment"] = comment.group(1)
        out.append(d)
    return out
