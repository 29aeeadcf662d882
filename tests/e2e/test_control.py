"""tests/e2e/test_control.py - mxctl queue, status, reload, log -f and
metrics against the real homemxd, through its control socket.

Owns: the proof of README.md's "Day-to-day": each command with and
without --json (the JSON parsed), on a daemon with submission (587,
STARTTLS) whose outbound mail can only be deferred (DNS goes to a port
that refuses it, retry_min is an hour), so messages stay in the queue:
  - queue list (mailq text; --deferred, --held, --to), show, flush (by id
    and by domain), delete, hold (kept over a restart of homemxd: the
    envelope says "held"), release, bounce (a DSN reaches the sender);
  - the last error of a deferred message is in its envelope (version 6)
    and `queue show`/`list --json` still give it after homemxd restarts;
  - status: every process with a pid, the queue, connections now, the
    screen's verdicts of the day; metrics: Prometheus text that parses,
    whose counters move after a connection and a message;
  - log -f filtered by session sees that session's lines and no other's;
  - log -f that does not read (mxctl stopped) while 400 sessions log is
    told "-- N lines lost: mxctl read too slowly --" once it reads again;
  - reload answers whether the config was accepted;
  - a role that is down: a clear error, exit 1, nothing changed; homemxd
    not running: a clear error; a uid outside root and the admin group is
    refused by homemxd itself (SO_PEERCRED), even through a socket mode
    that lets it connect.
"""
import email
import email.policy
import json
import os
import re
import select
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import harness
from harness import WAIT, Homemx, free_port, wait_output, wait_until

CERT = {}
CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE
NOBODY = 65534


def setUpModule():
    d = tempfile.mkdtemp(prefix="hmx-ctl-cert-")
    CERT["dir"] = d
    CERT["cert"], CERT["key"] = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", CERT["key"], "-out", CERT["cert"], "-days", "2",
                    "-subj", "/CN=mx.example.test"], check=True, capture_output=True)


def tearDownModule():
    shutil.rmtree(CERT.get("dir", "/nonexistent"), ignore_errors=True)


class ControlHomemx(Homemx):
    """/proc/PID/comm cuts "homemx-submission" to "homemx-submissi"."""

    def role_pids(self):
        pids = super().role_pids()
        if "submissi" in pids:
            pids["submission"] = pids.pop("submissi")
        return pids


# ---- the Prometheus text format (exposition format 0.0.4), strictly --------
METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({METRIC_NAME})(\{{{LABEL}(?:,{LABEL})*\}})? (-?[0-9.]+(?:e[+-]?[0-9]+)?|\+Inf|NaN)$")


def parse_prometheus(text):
    """{(name, labels): value}; AssertionError on any line that breaks the
    format, a family declared twice, or a sample before its TYPE."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        m = re.match(rf"^# TYPE ({METRIC_NAME}) (counter|gauge|histogram|summary|untyped)$", line)
        if m:
            assert m.group(1) not in types, f"family {m.group(1)} declared twice"
            types[m.group(1)] = m.group(2)
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, f"sample {name} before its TYPE"
        assert (name, labels) not in samples, f"sample {name}{labels} twice"
        samples[(name, labels)] = float(value)
    return samples, types


class ControlCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for b in ("homemxd", "mxctl", "homemx-submission"):
            if not os.path.exists(os.path.join(harness.BUILD, b)):
                raise unittest.SkipTest(f"{b} not built")
        cls.p587 = free_port()
        extra = (f"listen submission 127.0.0.1:{cls.p587}\n"
                 f"tls_certificate {CERT['cert']}\ntls_key {CERT['key']}\n"
                 "retry_min 1h\nretry_max 2h\n")
        cls.h = ControlHomemx(extra_conf=extra)
        try:
            cls.h.start()
            cls.h.mxctl("dkim", "keygen", "example.test")
            cls.h.wait_log("event=control_ready")
        except BaseException:
            cls.h.stop(check_sanitizers=False)
            cls.h.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.h.cleanup()

    # -- helpers -------------------------------------------------------------
    def ctl(self, *args, check=True):
        return self.h.mxctl(*args, check=check)

    def ctl_json(self, *args, check=True):
        p = self.ctl(*args, "--json", check=check)
        return json.loads(p.stdout), p

    def submit(self, to="bob@remote.test", subject="control test"):
        """A message from kim over 587; returns its queue id."""
        before = self.h.count("event=committed")
        s = smtplib.SMTP("127.0.0.1", self.p587, timeout=20, local_hostname="laptop.example")
        try:
            s.starttls(context=CTX)
            s.login("kim@example.test", "secret")
            s.sendmail("kim@example.test", [to],
                       f"From: kim@example.test\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nhi\r\n")
        finally:
            s.quit()
        self.h.wait_log("event=committed", n=before + 1)
        return re.findall(r"event=committed qid=([0-9a-f]{16})", self.h.log())[-1]

    def submit_deferred(self, to="bob@remote.test"):
        qid = self.submit(to)
        self.h.wait_log(f"event=deferred qid={qid}")
        return qid

    def queue_ids(self, *filters):
        data, _ = self.ctl_json("queue", "list", *filters)
        self.assertTrue(data["ok"])
        return {m["id"]: m for m in data["messages"]}


class TestQueue(ControlCase):
    def test_list_show_and_filters(self):
        qid = self.submit_deferred()
        text = self.ctl("queue", "list").stdout
        self.assertIn("-Queue ID-", text)
        self.assertRegex(text, rf"(?m)^{qid}  +\d+ .* kim@example\.test$")
        self.assertRegex(text, r"(?m)^ +bob@remote\.test$")
        msgs = self.queue_ids()
        self.assertEqual(msgs[qid]["state"], "deferred")
        self.assertEqual(msgs[qid]["recipients"], ["bob@remote.test"])
        self.assertEqual(msgs[qid]["sender"], "kim@example.test")
        self.assertIn(qid, self.queue_ids("--deferred"))
        self.assertNotIn(qid, self.queue_ids("--held"))
        self.assertIn(qid, self.queue_ids("--to", "remote.test"))
        self.assertNotIn(qid, self.queue_ids("--to", "elsewhere.test"))

        shown = self.ctl("queue", "show", qid).stdout
        for field in ("id:", "arrival:", "sender:", "attempts:", "last error:", "next try:"):
            self.assertIn(field, shown)
        data, _ = self.ctl_json("queue", "show", qid)
        self.assertEqual(data["id"], qid)
        self.assertGreaterEqual(data["attempts"], 1)
        self.assertNotEqual(data["last_error"], "")
        self.assertGreater(data["next_attempt"], time.time() + 600)   # retry_min 1h
        self.assertEqual(data["source"], "submission")

        data, _ = self.ctl_json("status")
        deferred = [r for r in data["records"] if r.get("section") == "deferred"]
        self.assertIn("remote.test", [r["destination"] for r in deferred])
        self.assertTrue(all(r["reason"] and r["recipients"] >= 1 for r in deferred))
        self.assertRegex(self.ctl("status").stdout,
                         r"(?m)^deferred by destination and reason:\n(  .*\n)*  +\d+  remote\.test ")

        p = self.ctl("queue", "show", "0123456789abcdef", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no message 0123456789abcdef", p.stderr)
        data, p = self.ctl_json("queue", "show", "0123456789abcdef", check=False)
        self.assertEqual((data["ok"], data["status"], p.returncode), (False, "not_found", 1))
        self.ctl("queue", "delete", qid)

    def test_flush_by_id_and_domain_then_delete(self):
        qid = self.submit_deferred("carol@flush.test")
        n = self.h.count(f"event=deferred qid={qid}")
        self.assertIn("1 message flushed", self.ctl("queue", "flush", qid).stdout)
        self.h.wait_log(f"event=deferred qid={qid}", n=n + 1)
        data, _ = self.ctl_json("queue", "flush", "flush.test")
        self.assertEqual((data["ok"], data["message"]), (True, "1 message flushed"))
        self.h.wait_log(f"event=deferred qid={qid}", n=n + 2)
        self.assertEqual(self.ctl("queue", "flush", "nowhere.test").stdout.strip(),
                         "0 messages flushed")

        data, _ = self.ctl_json("queue", "delete", qid)
        self.assertTrue(data["ok"])
        self.assertNotIn(qid, self.queue_ids())
        self.assertFalse([f for f in self.h.spool_files() if qid in f])
        self.h.expect_log(f"event=admin_delete qid={qid}")

    def test_hold_survives_restart_and_release(self):
        qid = self.submit_deferred("dave@hold.test")
        data, _ = self.ctl_json("queue", "hold", qid)
        self.assertTrue(data["ok"], data)
        self.assertEqual(self.queue_ids("--held")[qid]["state"], "held")
        env = [f for f in self.h.spool_files() if f.endswith(qid + ".env")][0]
        with open(env) as f:
            text = f.read()
        # version 6: held, and deferred once (its last error)
        self.assertTrue(text.startswith("homemx-envelope 6\n"), text)
        self.assertRegex(text, r"(?m)^held \d+$")
        self.assertRegex(text, r"(?m)^last_error \S")
        flushed = self.ctl("queue", "flush", qid, check=False)
        self.assertEqual(flushed.returncode, 1)
        self.assertIn("held", flushed.stderr)

        self.h.stop()
        self.h.start()
        self.h.wait_log("event=control_ready", n=2)
        self.assertEqual(self.queue_ids("--held")[qid]["state"], "held")
        self.assertIn("held since:", self.ctl("queue", "show", qid).stdout)

        n = self.h.count(f"event=deferred qid={qid}")
        self.ctl("queue", "release", qid)
        self.h.wait_log(f"event=deferred qid={qid}", n=n + 1)   # tried at once
        self.assertNotIn(qid, self.queue_ids("--held"))
        with open(env) as f:
            text = f.read()
        self.assertNotRegex(text, r"(?m)^held ")
        self.assertTrue(text.startswith("homemx-envelope 6\n"), text)
        p = self.ctl("queue", "release", qid, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not held", p.stderr)
        self.ctl("queue", "delete", qid)

    def test_last_error_survives_restart(self):
        qid = self.submit_deferred("fay@lasterror.test")
        data, _ = self.ctl_json("queue", "show", qid)
        reason = data["last_error"]
        self.assertNotEqual(reason, "")
        env = [f for f in self.h.spool_files() if f.endswith(qid + ".env")][0]
        # the deferral's envelope rewrite reaches the disk after the log line
        def on_disk():
            with open(env) as f:
                text = f.read()
            return text if f"\nlast_error {reason}\n" in text else None
        text = self.h.wait_for(on_disk, what="last_error in the envelope")
        self.assertTrue(text.startswith("homemx-envelope 6\n"), text)

        ready = self.h.count("event=control_ready")
        self.h.stop()
        self.h.start()
        self.h.wait_log("event=control_ready", start_count=ready)
        self.h.wait_for(lambda: qid in self.queue_ids(), what="message back in the queue")
        data, _ = self.ctl_json("queue", "show", qid)
        self.assertEqual(data["last_error"], reason)
        self.assertEqual(data["state"], "deferred")
        self.assertRegex(self.ctl("queue", "show", qid).stdout,
                         rf"(?m)^last error: +{re.escape(reason)}$")
        self.assertEqual(self.queue_ids()[qid]["last_error"], reason)
        self.ctl("queue", "delete", qid)

    def test_bounce_sends_a_dsn(self):
        qid = self.submit_deferred("erin@bounce.test")
        before = len(self.h.messages("kim@example.test"))
        data, _ = self.ctl_json("queue", "bounce", qid)
        self.assertTrue(data["ok"], data)
        self.assertIn("DSN to <kim@example.test>", data["message"])
        msgs = self.h.wait_messages("kim@example.test", before + 1)
        dsn = email.message_from_bytes(msgs[-1], policy=email.policy.default)
        self.assertEqual(dsn.get_content_type(), "multipart/report")
        self.assertIn("erin@bounce.test", msgs[-1].decode(errors="replace"))
        self.assertIn("DKIM-Signature:", msgs[-1].decode(errors="replace"))
        wait_until(lambda: qid not in self.queue_ids(), what="bounced message gone")


class TestStatusMetrics(ControlCase):
    def smtp_message(self):
        """A message to kim over port 25: a connection, a verdict, a commit."""
        s = smtplib.SMTP("127.0.0.1", self.h.smtp_port, timeout=20,
                         local_hostname="client.example.org")
        before = len(self.h.messages("kim@example.test"))
        s.sendmail("someone@example.org", ["kim@example.test"],
                   "From: someone@example.org\r\nSubject: x\r\n\r\nhi\r\n")
        s.quit()
        self.h.wait_messages("kim@example.test", before + 1)

    def test_status(self):
        self.smtp_message()
        held = socket.create_connection(("127.0.0.1", self.h.smtp_port))
        try:
            self.assertTrue(held.recv(512).startswith(b"220"))
            data, _ = self.ctl_json("status")
            text = self.ctl("status").stdout
        finally:
            held.close()
        self.assertTrue(data["ok"], data)
        procs = {r["role"]: r for r in data["records"] if r.get("section") == "process"}
        for role in ("supervisor",) + harness.ROLES:
            self.assertEqual(procs[role]["state"], "running", procs[role])
            self.assertGreater(procs[role]["pid"], 0)
        self.assertEqual(procs["queue"]["pid"], self.h.role_pids()["queue"])
        queue = [r for r in data["records"] if r.get("section") == "queue"][0]
        self.assertIn("messages", queue)
        counters = {(r["section"], r["name"], r["labels"]): r["value"]
                    for r in data["records"] if "name" in r}
        self.assertEqual(counters[("smtpd", "homemx_connections", 'kind="smtp"')], 1)
        self.assertGreaterEqual(counters[("screen", "homemx_verdicts_today", 'kind="accept"')], 1)
        self.assertRegex(text, r"(?m)^queue +running +\d+ ")
        self.assertIn("homemx_verdicts_today{kind=\"accept\"}", text)

    def test_metrics_parse_and_move(self):
        samples, types = parse_prometheus(self.ctl("metrics").stdout)
        for family, kind in (("homemx_connections_total", "counter"),
                             ("homemx_queue_messages", "gauge"),
                             ("homemx_commit_seconds", "histogram"),
                             ("homemx_dns_seconds", "histogram")):
            self.assertEqual(types.get(family), kind, family)
        conn = samples.get(("homemx_connections_total", '{kind="smtp"}'), 0)
        commits = samples.get(("homemx_commit_seconds_count", ""), 0)
        self.smtp_message()
        after, _ = parse_prometheus(self.ctl("metrics").stdout)
        self.assertEqual(after[("homemx_connections_total", '{kind="smtp"}')], conn + 1)
        self.assertEqual(after[("homemx_commit_seconds_count", "")], commits + 1)
        self.assertEqual(after[("homemx_commit_seconds_bucket", '{le="+Inf"}')], commits + 1)
        self.assertGreaterEqual(after[('homemx_deliveries_total',
                                       '{result="delivered",destination="example.test"}')], 1)
        data, _ = self.ctl_json("metrics")
        self.assertTrue(data["ok"])
        self.assertTrue(any(s["metric"] == "homemx_queue_messages" for s in data["samples"]))

    def test_reload(self):
        self.assertIn("config accepted", self.ctl("reload").stdout)
        with open(self.h.conf_path) as f:
            good = f.read()
        try:
            # mxctl reads the file too, for the socket's path: break only
            # what homemxd alone checks, the certificate.
            with open(self.h.conf_path, "w") as f:
                f.write(good.replace(CERT["cert"], CERT["dir"] + "/missing.pem"))
            data, p = self.ctl_json("reload", check=False)
            self.assertEqual((data["ok"], data["status"], p.returncode), (False, "refused", 1))
            self.assertIn("missing.pem", data["message"])
        finally:
            with open(self.h.conf_path, "w") as f:
                f.write(good)
        self.h.wait_log("event=reload_failed")

    def test_log_follow_by_session(self):
        def connects():
            return re.findall(r"event=connect sess=(\S+)", self.h.log())
        before = len(connects())
        a = socket.create_connection(("127.0.0.1", self.h.smtp_port))
        b = socket.create_connection(("127.0.0.1", self.h.smtp_port))
        try:
            a.recv(512), b.recv(512)
            # smtpd's lines reach the file through homemxd's pipe: wait for both.
            wait_until(lambda: len(connects()) >= before + 2, what="two connect lines")
            sa, sb = connects()[before:before + 2]
            f = subprocess.Popen([os.path.join(harness.BUILD, "mxctl"), "-f", self.h.conf_path,
                                  "log", "-f", "--session", sa],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                wait_output(f.stderr, b"following the log")
                for s in (b, a):
                    s.sendall(b"HELO client.example\r\nQUIT\r\n")
                out = wait_output(f.stdout, f"event=disconnect sess={sa}".encode())
            finally:
                f.kill()
                f.communicate()
        finally:
            a.close()
            b.close()
        self.h.wait_log(f"event=disconnect sess={sb}")
        lines = out.decode().splitlines()
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, rf"^homemx-smtpd\[\d+\]: .*sess={sa}( |$)")
        self.assertNotIn(sb, out.decode())


    def quick_session(self):
        """One SMTP connection to port 25 and QUIT: a few log lines."""
        s = socket.create_connection(("127.0.0.1", self.h.smtp_port), timeout=20)
        try:
            s.recv(512)
            s.sendall(b"QUIT\r\n")
            s.recv(512)
        finally:
            s.close()

    def test_log_follow_too_slow_says_lines_lost(self):
        """A follower that does not read (mxctl stopped) while many sessions
        log: homemxd keeps at most 64 frames for it and drops the rest; once
        it reads again, it is told how many it lost, where they were."""
        sessions = 400
        f = subprocess.Popen([os.path.join(harness.BUILD, "mxctl"), "-f", self.h.conf_path,
                              "log", "-f"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_output(f.stderr, b"following the log")
            os.kill(f.pid, signal.SIGSTOP)
            before = self.h.count("event=disconnect ")
            for _ in range(sessions):
                self.quick_session()
            # the log file is written after the tap saw each line
            self.h.wait_log("event=disconnect ", n=sessions, start_count=before,
                            timeout=WAIT * 2)
            os.kill(f.pid, signal.SIGCONT)
            # the marker goes out before the next line once the backlog has
            # drained: more sessions until it comes (bounded by the deadline)
            got, deadline = b"", time.monotonic() + WAIT * 2
            marker = re.compile(rb"(?m)^-- (\d+) lines lost: mxctl read too slowly --\n")
            while not marker.search(got) or not got.endswith(b"\n"):
                self.assertLess(time.monotonic(), deadline, got[-2000:])
                if select.select([f.stdout], [], [], 0.5)[0]:
                    chunk = os.read(f.stdout.fileno(), 65536)
                    self.assertTrue(chunk, "mxctl log -f ended")
                    got += chunk
                else:
                    self.quick_session()
        finally:
            f.kill()
            f.communicate()
        m = marker.search(got)
        lost = int(m.group(1))
        self.assertGreater(lost, 0)
        before_marker = got[:m.start()].decode().splitlines()
        # what came before the marker is whole lines, at most the backlog
        # homemxd kept plus what the socket itself held
        self.assertTrue(before_marker)
        self.assertLess(len(before_marker), sessions * 2, "nothing was dropped?")
        for line in before_marker:
            self.assertRegex(line, r"^homemx-[a-z]+\[\d+\]: ")


class TestAccessAndFailures(ControlCase):
    def test_role_down_is_an_error_and_changes_nothing(self):
        qid = self.submit_deferred("fred@down.test")
        n = self.h.count("event=role_exit role=queue")
        os.kill(self.h.role_pids()["queue"], signal.SIGKILL)
        self.h.wait_log("event=role_exit role=queue", n=n + 1)
        p = self.ctl("queue", "hold", qid, check=False)     # restart is >= 1s away
        self.assertEqual(p.returncode, 1)
        self.assertIn("not running", p.stderr)
        self.assertIn("nothing was changed", p.stderr)
        data, p = self.ctl_json("status", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(data["status"], "role_down")
        wait_until(lambda: self.ctl("queue", "list", check=False).returncode == 0,
                   what="queue answers again")
        self.assertEqual(self.queue_ids()[qid]["state"], "deferred")
        self.ctl("queue", "delete", qid)

    def test_homemxd_not_running(self):
        conf = os.path.join(self.h.dir, "other.conf")
        other = tempfile.mkdtemp(prefix="hmx-ctl-none-")
        try:
            with open(conf, "w") as f:
                f.write(f"listen smtp 127.0.0.1:{free_port()}\n"
                        f"store_dir {other}/store\nspool_dir {other}/spool\n")
            p = harness.mxctl(conf, "status", check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("homemxd is not running", p.stderr)
        finally:
            shutil.rmtree(other)

    def as_uid(self, uid, gid, *args):
        return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                               os.path.join(harness.BUILD, "mxctl"), "-f", self.h.conf_path,
                               *args], capture_output=True, text=True, timeout=WAIT)

    def test_only_root_and_the_admin_group(self):
        path = os.path.join(os.path.dirname(os.path.join(self.h.dir, "store")), "control")
        st = os.stat(path)
        self.assertEqual(oct(st.st_mode & 0o777), "0o660")
        import grp
        admin = grp.getgrnam("homemx-admin").gr_gid
        self.assertEqual((st.st_uid, st.st_gid), (0, admin))
        p = self.as_uid(NOBODY, NOBODY, "status")
        self.assertEqual(p.returncode, 1)
        self.assertIn("permission denied", p.stderr)
        # A mode that lets anyone connect: homemxd itself refuses.
        os.chmod(path, 0o666)
        try:
            n = self.h.count("event=control_refused")
            p = self.as_uid(NOBODY, NOBODY, "queue", "list")
            self.assertEqual(p.returncode, 1)
            self.assertIn("root or the homemx-admin group only", p.stderr)
            self.h.wait_log(f"event=control_refused uid={NOBODY}", n=n + 1)
        finally:
            os.chmod(path, 0o660)
        p = self.as_uid(NOBODY, admin, "queue", "list")
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    unittest.main()
