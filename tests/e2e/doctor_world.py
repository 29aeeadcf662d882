"""tests/e2e/doctor_world.py - what `mxctl doctor` looks at, built for the
tests: a test CA and certificates made with the openssl CLI, an HTTPS
server for MTA-STS policies, fake SMTP listeners (expired or misnamed
certificates, no STARTTLS, an open relay), and the zone records of a
correctly published domain.

Owns: the certificates and servers of test_doctor.py. Everything runs
inside the netns topology of tests/e2e/netns.py: the doctor (mxctl, run in
the mta namespace) asks the test's unbound and connects to addresses that
exist only there. The CA is trusted through SSL_CERT_FILE in mxctl's
environment (OpenSSL reads it instead of /etc/ssl/certs), never installed
on the machine. An expired certificate is made by running openssl under
libfaketime (preloaded, see faketime_env.py; scripts/install-deps).
"""
import base64
import http.server
import os
import socket
import socketserver
import ssl
import subprocess
import threading

from faketime_env import offset_env
from netns import in_netns


def _openssl(*args, faketime=None):
    """openssl with its clock moved by faketime (e.g. "-400d"), if given;
    a failure says what openssl printed."""
    env = offset_env(faketime) if faketime else None
    r = subprocess.run(["openssl", *args], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} exited {r.returncode}: {r.stderr.strip()[-800:]}")


class TestCA:
    """A CA in directory d; leaf(name, names, days) -> (cert path, key path).
    Files are world-readable: the doctor reads them after dropping to
    nobody."""

    def __init__(self, d):
        self.dir = d
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        self.cert = os.path.join(d, "ca.pem")
        self.key = os.path.join(d, "ca.key")
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key,
                 "-out", self.cert, "-days", "3650", "-subj", "/CN=homemx doctor test CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 faketime="-400d")
        os.chmod(self.cert, 0o644)

    def leaf(self, label, names, days=60, faketime=None, self_signed=False):
        cert = os.path.join(self.dir, f"{label}.pem")
        key = os.path.join(self.dir, f"{label}.key")
        csr = os.path.join(self.dir, f"{label}.csr")
        ext = os.path.join(self.dir, f"{label}.ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=" + ",".join(f"DNS:{n}" for n in names) + "\n"
                    "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
        if self_signed:
            _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                     "-out", cert, "-days", str(days), "-subj", f"/CN={names[0]}",
                     "-addext", "subjectAltName=" + ",".join(f"DNS:{n}" for n in names),
                     faketime=faketime)
        else:
            _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                     "-subj", f"/CN={names[0]}")
            _openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
                     "-CAcreateserial", "-days", str(days), "-extfile", ext, "-out", cert,
                     faketime=faketime)
        os.chmod(cert, 0o644)
        os.chmod(key, 0o644)
        return cert, key


def spki_sha256(cert):
    """The TLSA 3 1 1 data of a certificate file, by the openssl CLI."""
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                         check=True, capture_output=True).stdout
    return subprocess.run(["sha256sum"], input=der, check=True,
                          capture_output=True).stdout.split()[0].decode()


def foreign_dkim_p():
    """The p= of an RSA key nobody uses: a published key that is not ours."""
    key = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                          "rsa_keygen_bits:1024"], check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"], input=key,
                         check=True, capture_output=True).stdout
    return base64.b64encode(der).decode()


# ---- MTA-STS policies over HTTPS -------------------------------------------------------

class PolicyServer:
    """HTTPS on ip:443 inside namespace ns; policies {host: text} by the
    Host header (404 otherwise), with a certificate for every host."""

    def __init__(self, ns, ip, cert, key, policies):
        self.policies = dict(policies)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                host = (self.headers.get("Host") or "").split(":")[0].lower()
                text = outer.policies.get(host)
                if self.path != "/.well-known/mta-sts.txt" or text is None:
                    self.send_error(404)
                    return
                body = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            address_family = socket.AF_INET

        with in_netns(ns):
            self.httpd = Server((ip, 443), Handler, bind_and_activate=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- fake SMTP listeners ------------------------------------------------------------------

class FakeSmtp:
    """A port-25 look-alike on 127.0.0.1 in namespace ns: STARTTLS with the
    given certificate (or none), or TLS at once when implicit_tls (a port
    465 look-alike); RCPT answered 250 when open_relay (a broken server the
    doctor must call out) else 554."""

    def __init__(self, ns, cert=None, key=None, open_relay=False, implicit_tls=False):
        self.cert, self.key, self.open_relay = cert, key, open_relay
        self.implicit_tls = implicit_tls
        with in_netns(ns):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.rcpts = []
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _tls(self, conn):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx.wrap_socket(conn, server_side=True)

    def _session(self, conn):
        try:
            if self.implicit_tls:
                conn = self._tls(conn)
            self._dialog(conn, conn.makefile("rwb"))
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            conn.close()

    def _dialog(self, conn, f):
        def say(line):
            f.write(line.encode() + b"\r\n")
            f.flush()
        say("220 fake.example.test ESMTP")
        while True:
            line = f.readline().decode(errors="replace").strip()
            if not line:
                return
            verb = line.split(" ")[0].upper()
            if verb == "EHLO":
                f.write(b"250-fake.example.test\r\n")
                say("250-STARTTLS" if self.cert and not self.implicit_tls else "250-8BITMIME")
                say("250 PIPELINING")
            elif verb == "STARTTLS" and self.cert and not self.implicit_tls:
                say("220 go ahead")
                conn = self._tls(conn)
                f = conn.makefile("rwb")
            elif verb == "MAIL":
                say("250 2.1.0 ok")
            elif verb == "RCPT":
                self.rcpts.append(line)
                say("250 2.1.5 relaying, sure" if self.open_relay else "554 5.7.1 no")
            elif verb == "QUIT":
                say("221 bye")
                return
            else:
                say("250 ok")

    def stop(self):
        self.stopping = True
        self.sock.close()


# ---- records ---------------------------------------------------------------------------------

def quote_txt(text):
    parts = [text[i:i + 255] for i in range(0, len(text), 255)] or [""]
    return " ".join(f'"{p}"' for p in parts)


def publish_dns_output(dns, records, skip_types=(), rename=None):
    """Adds the records of `mxctl dns DOMAIN --json` to unbound (PTR ones
    too: the test plays the provider), except the types in skip_types."""
    for r in records:
        if r["type"] in skip_types:
            continue
        name = r["name"]
        if rename:
            name = rename(name)
        value = quote_txt(r["text"]) if r["type"] == "TXT" else r["value"]
        dns.add(name, r["type"], value)
