"""tests/e2e/test_queue.py - the durable queue and local delivery through
the whole daemon: SMTP in, Maildir out.

Covers the queue and Maildir delivery: byte-exact (8-bit, dot-unstuffing),
Return-Path and Delivered-To (with +tag and -tag), aliases to several users,
the spool surviving a restart, 451/452 and never 250 on a full spool, and
the crash-safety run: load, kill -9 of random roles, kill -9 of the whole
daemon, restart, and every Message-ID that got "250" must be delivered.
"""
import os
import random
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile
import threading
import time
import unittest

from harness import Homemx

USERS = [("kim@example.test", "pw-kim"), ("bob@example.test", "pw-bob"),
         ("ann@example.test", "pw-ann")]
ALIASES = [("team@example.test", "kim@example.test,bob@example.test")]


def make_message(msgid, body_lines=("hello",), extra_headers=()):
    head = [f"From: a@example.net", "To: kim@example.test", "Subject: test",
            f"Message-ID: <{msgid}>"] + list(extra_headers)
    return ("\r\n".join(head) + "\r\n\r\n" + "\r\n".join(body_lines) + "\r\n").encode()


def split_delivered(data):
    """(Return-Path line, Delivered-To line, rest) of a Maildir file."""
    rp, dt, rest = data.split(b"\r\n", 2)
    return rp, dt, rest


def message_ids(msgs):
    out = []
    for m in msgs:
        found = re.search(rb"^Message-ID: <([^>]*)>", m, re.M | re.I)
        if found:
            out.append(found.group(1).decode())
    return out


def send(port, sender, rcpts, data, timeout=20):
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.example", timeout=timeout) as c:
        c.ehlo("client.example")
        return c.sendmail(sender, rcpts, data)


class Delivery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.h = Homemx(users=USERS, aliases=ALIASES)
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.h.cleanup()

    def fresh(self, address):
        return len(self.h.messages(address))

    def test_byte_exact_8bit_and_dot_unstuffing(self):
        before = self.fresh("ann@example.test")
        body = [
            "8-bit: gr\u00fc\u00dfe caf\u00e9 \u20ac",
            ".a line that starts with a dot",
            "..two dots",
            ".",
            "trailing spaces   ",
            "\ttab",
        ]
        msg = ("From: a@example.net\r\nTo: ann@example.test\r\nSubject: 8bit\r\n"
               "Message-ID: <exact-1@example.net>\r\nContent-Type: text/plain; charset=utf-8\r\n"
               "Content-Transfer-Encoding: 8bit\r\n\r\n" + "\r\n".join(body) + "\r\n").encode()
        with smtplib.SMTP("127.0.0.1", self.h.smtp_port, local_hostname="client.example") as c:
            c.ehlo("client.example")
            # smtplib dot-stuffs ".a line" to "..a line" on the wire.
            c.sendmail("a@example.net", ["ann@example.test"], msg, mail_options=["BODY=8BITMIME"])
        data = self.h.wait_messages("ann@example.test", before + 1)[-1]
        rp, dt, rest = split_delivered(data)
        self.assertEqual(rp, b"Return-Path: <a@example.net>")
        self.assertEqual(dt, b"Delivered-To: ann@example.test")
        # smtpd prepends Received:; after it comes exactly what was sent.
        self.assertTrue(rest.startswith(b"Received: "), rest[:200])
        self.assertTrue(rest.endswith(msg), rest[-400:])
        self.assertNotIn(b"\r\n..a line", data)
        self.assertNotIn(b"\n\n", data.replace(b"\r\n", b""))   # no bare LF added

    def test_return_path_and_delivered_to_keep_the_tag(self):
        for rcpt in ("kim+news@example.test", "kim-list@example.test"):
            with self.subTest(rcpt=rcpt):
                before = self.fresh("kim@example.test")
                send(self.h.smtp_port, "sender@example.org", [rcpt],
                     make_message(f"tag-{rcpt}"))
                data = self.h.wait_messages("kim@example.test", before + 1)[-1]
                rp, dt, _ = split_delivered(data)
                self.assertEqual(rp, b"Return-Path: <sender@example.org>")
                self.assertEqual(dt, f"Delivered-To: {rcpt}".encode())

    def test_null_sender(self):
        before = self.fresh("bob@example.test")
        send(self.h.smtp_port, "", ["bob@example.test"], make_message("null-sender"))
        data = self.h.wait_messages("bob@example.test", before + 1)[-1]
        self.assertTrue(data.startswith(b"Return-Path: <>\r\nDelivered-To: bob@example.test\r\n"))

    def test_alias_delivers_to_each_user(self):
        kim, bob = self.fresh("kim@example.test"), self.fresh("bob@example.test")
        send(self.h.smtp_port, "a@example.net", ["team@example.test"], make_message("alias-1"))
        for box, n in (("kim@example.test", kim), ("bob@example.test", bob)):
            data = self.h.wait_messages(box, n + 1)[-1]
            self.assertIn(b"Delivered-To: team@example.test\r\n", data)
            self.assertIn(b"<alias-1>", data)

    def test_spool_is_empty_after_delivery_and_log_lines(self):
        before = self.fresh("kim@example.test")
        mark = len(self.h.log())
        send(self.h.smtp_port, "a@example.net", ["kim@example.test"], make_message("log-1"))
        self.h.wait_messages("kim@example.test", before + 1)
        self.h.wait_for(lambda: not [f for f in self.h.spool_files() if "/msg/" in f],
                        what="empty spool")
        self.assertEqual([f for f in self.h.spool_files() if "/msg/" in f], [])
        # the roles' lines reach the file through homemxd's pipes, later than
        # the Maildir file: wait for each (this message's, after mark)
        qid = self.h.wait_for(
            lambda: re.search(r"event=committed qid=([0-9a-f]{16}) nrcpt=1", self.h.log()[mark:]),
            what="the queue's committed line").group(1)
        self.h.wait_log(rf"event=delivery qid={qid} to=<kim@example.test> "
                        rf"mailbox=kim@example.test via=maildir result=ok delay=", regex=True)
        self.h.wait_log(f"event=removed qid={qid}")
        self.assertRegex(self.h.log(), rf"event=delivered qid={qid} to=<kim@example.test> attempts=1 ")

    def test_maildir_owned_by_mail_user(self):
        if os.getuid() != 0:
            self.skipTest("privilege separation needs root")
        send(self.h.smtp_port, "a@example.net", ["kim@example.test"], make_message("owner-1"))
        self.h.wait_messages("kim@example.test", 1)
        import pwd
        new = os.path.join(self.h.maildir("kim@example.test"), "new")
        st = os.stat(os.path.join(new, sorted(os.listdir(new))[-1]))
        self.assertEqual(pwd.getpwuid(st.st_uid).pw_name, "_hmx-mail")
        self.assertEqual(st.st_mode & 0o777, 0o600)


class Restart(unittest.TestCase):
    def test_acknowledged_message_survives_daemon_kill_and_is_delivered_after(self):
        h = Homemx(users=USERS)
        h.start()
        try:
            pid = h.role_pids()["delivery"]
            os.kill(pid, signal.SIGSTOP)       # delivery hangs: mail stays queued
            try:
                send(h.smtp_port, "a@example.net", ["kim@example.test"], make_message("restart-1"))
                envs = [f for f in h.spool_files() if f.endswith(".env")]
                self.assertEqual(len(envs), 1, h.spool_files())
            finally:
                # Power cut, delivery included. The queue goes first: once
                # the supervisor is dead the kernel sends SIGCONT to the
                # stopped delivery (orphaned process group), whose "shutting
                # down" deferral the queue would otherwise still write into
                # the envelope (a retry_min later) before its own SIGKILL.
                os.kill(h.role_pids()["queue"], signal.SIGKILL)
                h.kill_all()
            self.assertEqual(h.messages("kim@example.test"), [])
            h.start()                          # same dirs, same store
            data = h.wait_messages("kim@example.test", 1)[0]
            self.assertIn(b"<restart-1>", data)
            self.assertRegex(h.log(), r"event=spool_loaded messages=1 ")
        finally:
            h.stop(check_sanitizers=True)
            h.cleanup()


class CrashSafety(unittest.TestCase):
    """The queue's promise: no acknowledged message is ever lost."""

    MESSAGES = 300
    CLIENTS = 8
    ROLE_KILLS = 4

    def test_kill9_anything_loses_no_acknowledged_message(self):
        seed = int(os.environ.get("HOMEMX_CRASH_SEED", random.randrange(1 << 30)))
        rnd = random.Random(seed)
        print(f"\ncrash-safety seed={seed} (HOMEMX_CRASH_SEED to replay)")
        h = Homemx(users=USERS, extra_conf="retry_min 1s\nretry_max 2s\n")
        h.start()
        acked, failed = set(), []
        lock = threading.Lock()
        todo = list(range(self.MESSAGES))
        stop_sending = threading.Event()

        def client():
            while not stop_sending.is_set():
                with lock:
                    if not todo:
                        return
                    i = todo.pop()
                mid = f"crash-{seed}-{i}@example.net"
                lines = [f"message {i}"] + ["x" * 76] * (i % 40)   # 0..3 KB
                try:
                    send(h.smtp_port, "a@example.net", ["kim@example.test"],
                         make_message(mid, body_lines=lines), timeout=15)
                    with lock:
                        acked.add(mid)
                except (smtplib.SMTPException, OSError) as e:
                    # Like a real client: try the same message again later.
                    with lock:
                        failed.append((mid, type(e).__name__, str(e)[:80]))
                        todo.append(i)
                    time.sleep(0.1)

        threads = [threading.Thread(target=client) for _ in range(self.CLIENTS)]
        try:
            for t in threads:
                t.start()
            # Kill points are tied to progress, so they fall inside the load
            # however fast this machine is; the instant within a
            # transaction is still random.
            marks = sorted(rnd.uniform(0.1, 0.7) for _ in range(self.ROLE_KILLS))
            kills = []
            for mark in marks:
                self.wait_acked(acked, lock, int(mark * self.MESSAGES))
                time.sleep(rnd.uniform(0, 0.05))
                pids = h.role_pids()
                if not pids:
                    continue
                role = rnd.choice(sorted(pids))
                try:
                    os.kill(pids[role], signal.SIGKILL)
                    kills.append(role)
                except ProcessLookupError:
                    pass
            # Then a power cut of everything, while clients are still sending.
            self.wait_acked(acked, lock, int(rnd.uniform(0.75, 0.9) * self.MESSAGES))
            os.killpg(h.proc.pid, signal.SIGKILL)
            h.kill_all()
            stop_sending.set()
            for t in threads:
                t.join(60)
            reasons = {}
            for _, kind, text in failed:
                key = f"{kind}: {text[:40]}"
                reasons[key] = reasons.get(key, 0) + 1
            print(f"killed {kills} then the whole daemon; acked={len(acked)} "
                  f"failed attempts={len(failed)} unsent={len(todo)}")
            for key, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:6]:
                print(f"  {n:4d} x {key}")
            self.assertGreater(len(acked), 0, failed[:5])
            h.start()
            want = set(acked)
            deadline = time.time() + 90
            got = set()
            while time.time() < deadline:
                got = set(message_ids(h.messages("kim@example.test")))
                if want <= got:
                    break
                time.sleep(0.2)
            lost = sorted(want - got)
            self.assertEqual(lost, [], f"{len(lost)} acknowledged messages lost, e.g. {lost[:5]}")
            # The queue drains completely: no envelope left behind.
            h.wait_queue_empty()
            self.assertEqual([f for f in h.spool_files() if f.endswith(".env")], [])
            dupes = len(h.messages("kim@example.test")) - len(got)
            print(f"delivered {len(got)} distinct (acked {len(want)}), duplicates {dupes}")
        finally:
            stop_sending.set()
            if h.proc is not None:
                h.stop(check_sanitizers=True)
            h.cleanup()

    @staticmethod
    def wait_acked(acked, lock, n, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with lock:
                if len(acked) >= n:
                    return
            time.sleep(0.005)



class SpoolFull(unittest.TestCase):
    """ENOSPC in the spool gives 451/452, never 250."""

    def test_full_spool_never_says_250(self):
        if os.getuid() != 0:
            self.skipTest("mounting a tmpfs needs root")
        work = tempfile.mkdtemp(prefix="hmx-e2e-full-")
        os.chmod(work, 0o755)
        spool = os.path.join(work, "spool")
        os.makedirs(spool)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", spool],
                           capture_output=True, text=True)
        if p.returncode != 0:
            shutil.rmtree(work, ignore_errors=True)
            self.skipTest(f"cannot mount a tmpfs here: {p.stderr.strip()}")
        h = Homemx(users=USERS, workdir=work)
        try:
            h.start()
            h.provision()
            filler = os.path.join(spool, "filler")
            fd = os.open(filler, os.O_CREAT | os.O_WRONLY, 0o600)
            try:
                while True:
                    os.write(fd, b"\0" * 4096)
            except OSError:
                pass
            os.close(fd)
            codes = []
            for i in range(3):
                big = make_message(f"full-{i}", body_lines=["y" * 900] * (10 * (i + 1)))
                try:
                    send(h.smtp_port, "a@example.net", ["kim@example.test"], big)
                    codes.append(250)
                except smtplib.SMTPDataError as e:
                    codes.append(e.smtp_code)
                except smtplib.SMTPResponseException as e:
                    codes.append(e.smtp_code)
                except smtplib.SMTPRecipientsRefused as e:
                    codes.append(list(e.recipients.values())[0][0])
            self.assertNotIn(250, codes)
            for c in codes:
                self.assertIn(c, (451, 452), codes)
            self.assertEqual([f for f in h.spool_files() if f.endswith(".env")], [])
            # Space again: mail flows.
            os.unlink(filler)
            send(h.smtp_port, "a@example.net", ["kim@example.test"], make_message("after-full"))
            data = h.wait_messages("kim@example.test", 1)[0]
            self.assertIn(b"<after-full>", data)
        finally:
            h.stop()
            subprocess.run(["umount", "-l", spool], capture_output=True)
            h.cleanup()
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
