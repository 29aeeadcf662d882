"""tests/e2e/test_queue_roles.py - homemx-queue and homemx-delivery alone,
driven over their real IPC contract.

Why: the queue's commit protocol and the scheduler have cases that a full
SMTP session can not reach on purpose (a smtpd that commits an id it was
never given, commits twice, lies about the body size; a lookup that never
answers; a delivery process that dies mid-flight). Here the test plays
the supervisor (fd 3 control link, fd 4 config memfd, MSG_SUP_LINK with a
socketpair end per peer), smtpd (MSG_SMTPD_MSG_OPEN/COMMIT/ABORT) and
lookup (MSG_RESOLVE_ANSWER), and execs the real role binaries exactly as
lib/role.h says homemxd does. Frame layouts come from lib/ipc_msgs.h.
Runs without the privilege drop (demo mode), so it needs no root.
"""
import collections
import socket
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from harness import WAIT, maildir_messages
from rolerig import (QUEUE_NOSPACE, QUEUE_OK, QUEUE_REJECT, RESOLVE_LOCAL, RESOLVE_TEMPFAIL,
                     RESOLVE_UNKNOWN_USER, SOURCE_SMTP, Link, RoleRig, commit_payload, pair,
                     parse_str, s)


class Rig(RoleRig):
    """A spool, a Maildir root, a queue and a delivery process; the test
    is smtpd and lookup."""

    def __init__(self, extra_conf="", spool_dir=None, start=True):
        super().__init__("hmx-qroles-")
        self.spool = spool_dir or os.path.join(self.dir, "spool")
        self.maildirs = os.path.join(self.dir, "maildirs")
        os.makedirs(self.maildirs)
        self.conf = self.config(spool=self.spool) + "\n" + extra_conf
        self.queue = self.delivery = None
        self.smtpd = self.lookup = None
        if start:
            self.start_queue()
            self.start_delivery()

    # -- processes -------------------------------------------------------
    def start_queue(self):
        with self.expect_log("event=spool_loaded"):
            self.queue = self.start_role("queue", self.conf)
            self.smtpd = self.queue.new_link("smtpd")

    def start_delivery(self):
        with self.expect_log("event=start role=delivery"):
            self.delivery = self.start_role("delivery", self.conf)
            self.link_roles(self.queue, self.delivery)
            self.lookup = self.delivery.new_link("lookup")

    def reconnect_delivery(self):
        """A new delivery process, as the supervisor does after a crash."""
        self.start_delivery()

    def links(self):
        return (self.smtpd, self.lookup)

    # -- playing smtpd -----------------------------------------------------
    def open_body(self, req=1):
        self.smtpd.send("MSG_SMTPD_MSG_OPEN", b"", req=req)
        name, rreq, p, fd = self.smtpd.recv()
        assert name == "MSG_QUEUE_MSG_OPENED" and rreq == req, (name, rreq)
        status = p[0]
        msgid, _ = parse_str(p, 1)
        return status, msgid, fd

    def commit_frame(self, msgid, rcpts, sender="a@example.net", req=2):
        p = commit_payload(msgid, sender, "client.example", "127.0.0.1", SOURCE_SMTP, rcpts)
        self.smtpd.send("MSG_SMTPD_MSG_COMMIT", p, req=req)

    def committed(self):
        name, req, p, fd = self.smtpd.recv()
        assert name == "MSG_QUEUE_MSG_COMMITTED", name
        msgid, _ = parse_str(p, 1)
        return p[0], msgid, req

    def submit(self, body, rcpts=("kim@example.test",), sender="a@example.net"):
        status, msgid, fd = self.open_body()
        assert status == QUEUE_OK
        os.write(fd, body)
        os.close(fd)
        self.commit_frame(msgid, list(rcpts), sender)
        st, mid, _ = self.committed()
        return st, mid

    # -- playing lookup ----------------------------------------------------
    def next_ask(self, timeout=WAIT):
        name, req, p, fd = self.lookup.recv(timeout)
        assert name == "MSG_RESOLVE_ASK", name
        addr, _ = parse_str(p, 0)
        return req, addr

    def answer(self, req, verdict, mailboxes=()):
        p = bytes([verdict, len(mailboxes)]) + b"".join(s(m) for m in mailboxes)
        self.lookup.send("MSG_RESOLVE_ANSWER", p, req=req)

    def answer_local(self, n=1, mailbox_for=None):
        """Answer n asks with RESOLVE_LOCAL; mailbox = address without +tag."""
        asked = []
        for _ in range(n):
            req, addr = self.next_ask()
            asked.append(addr)
            boxes = mailbox_for(addr) if mailbox_for else [re.sub(r"[+-][^@]*@", "@", addr)]
            self.answer(req, RESOLVE_LOCAL, boxes)
        return asked

    # -- inspection --------------------------------------------------------
    def spool_files(self, sub="msg"):
        try:
            return sorted(os.listdir(os.path.join(self.spool, sub)))
        except FileNotFoundError:
            return []

    def messages(self, mailbox):
        user, domain = mailbox.split("@")
        return maildir_messages(os.path.join(self.maildirs, domain, user, "new"))

    def wait_messages(self, mailbox, n):
        self.wait_for(lambda: len(self.messages(mailbox)) >= n, what=f"{n} messages for {mailbox}")
        return self.messages(mailbox)

    def wait_spool_empty(self):
        self.wait_for(lambda: not [f for f in self.spool_files() if not f.endswith(".tmp")],
                      what="empty spool", detail=lambda: f"spool: {self.spool_files()}")

    def read_env(self, msgid):
        with open(os.path.join(self.spool, "msg", msgid + ".env")) as f:
            return f.read()


BODY = b"Subject: test\r\nMessage-ID: <1@example.net>\r\n\r\n8-bit: caf\xc3\xa9\r\n.leading dot\r\n"


class RigTest(unittest.TestCase):
    extra_conf = ""

    def setUp(self):
        self.rig = Rig(self.extra_conf)

    def tearDown(self):
        self.rig.stop()
        self.rig.cleanup()


class CommitAndDeliver(RigTest):
    def test_commit_then_local_delivery_byte_exact(self):
        r = self.rig
        st, msgid = r.submit(BODY, rcpts=["kim+tag@example.test"])
        self.assertEqual(st, QUEUE_OK)
        # Durable before the reply: both files in msg/ (delivery has not
        # been answered by "lookup" yet, so they are still there).
        self.assertIn(msgid + ".env", r.spool_files())
        self.assertIn(msgid + ".msg", r.spool_files())
        env = r.read_env(msgid)
        self.assertTrue(env.startswith("homemx-envelope 3\n"), env)
        # The end record: length and CRC-32C of everything before it.
        end = re.search(r"\nend (\d+) ([0-9a-f]{8})\n\Z", env)
        self.assertIsNotNone(end, env)
        self.assertEqual(int(end.group(1)), end.start() + 1)
        self.assertIn(f"\nsize {len(BODY)}\n", env)
        self.assertIn("rcpt <kim+tag@example.test>\n", env)
        asked = r.answer_local()
        self.assertEqual(asked, ["kim+tag@example.test"])
        (name, data), = r.wait_messages("kim@example.test", 1)
        want = (b"Return-Path: <a@example.net>\r\nDelivered-To: kim+tag@example.test\r\n" + BODY)
        self.assertEqual(data, want)
        self.assertTrue(name.endswith(f",S={len(want)}"), name)
        r.wait_spool_empty()
        r.wait_log(f"event=removed qid={msgid}")
        log = r.log()
        self.assertRegex(log, rf"event=committed qid={msgid} nrcpt=1 size={len(BODY)}")
        self.assertRegex(log, rf"event=delivery qid={msgid} to=<kim\+tag@example.test> "
                              rf"mailbox=kim@example.test via=maildir result=ok delay=[0-9.]+s")

    def test_null_sender_and_alias_to_several_mailboxes(self):
        r = self.rig
        st, msgid = r.submit(BODY, rcpts=["team@example.test"], sender="")
        self.assertEqual(st, QUEUE_OK)
        r.answer_local(mailbox_for=lambda a: ["kim@example.test", "bob@example.test",
                                              "kim@example.test"])
        for box in ("kim@example.test", "bob@example.test"):
            (_, data), = r.wait_messages(box, 1)
            self.assertTrue(data.startswith(b"Return-Path: <>\r\nDelivered-To: team@example.test\r\n"))
        r.wait_spool_empty()
        r.wait_log(f"event=removed qid={msgid}")    # every mailbox written by now
        self.assertEqual(len(r.messages("kim@example.test")), 1)   # duplicate listed once

    def test_several_recipients_one_message(self):
        r = self.rig
        st, msgid = r.submit(BODY, rcpts=["kim@example.test", "bob-x@example.test"])
        self.assertEqual(st, QUEUE_OK)
        asked = r.answer_local(2)
        self.assertEqual(sorted(asked), ["bob-x@example.test", "kim@example.test"])
        r.wait_messages("kim@example.test", 1)
        r.wait_messages("bob@example.test", 1)
        r.wait_spool_empty()

    def test_group_commit_shares_flushes(self):
        r = self.rig
        n = 40
        ids = []
        for i in range(n):
            st, msgid, fd = r.open_body(req=1000 + i)
            self.assertEqual(st, QUEUE_OK)
            os.write(fd, BODY)
            os.close(fd)
            ids.append(msgid)
        for i, msgid in enumerate(ids):      # one burst of commits
            r.commit_frame(msgid, ["kim@example.test"], req=2000 + i)
        replies = [r.committed() for _ in range(n)]
        self.assertEqual({st for st, _, _ in replies}, {QUEUE_OK})
        self.assertEqual(sorted(req for _, _, req in replies), list(range(2000, 2000 + n)))
        r.answer_local(n)
        r.wait_messages("kim@example.test", n)
        r.wait_spool_empty()
        # The flush is logged after its replies went out; no rewrites here.
        r.wait_log("event=removed", n=n)
        flushes = [(int(a), int(b)) for a, b in
                   re.findall(r"group flush: (\d+) envelopes, (\d+) flush calls", r.log())]
        self.assertEqual(sum(a for a, _ in flushes), n)
        self.assertLess(len(flushes), n, f"no batching: {flushes}")
        # One flush per batch, however many commits share it (on a kernel
        # where syncfs reports errors; the fsync fallback pays per file).
        if "event=spool_flush mode=syncfs" in r.log():
            self.assertEqual({b for _, b in flushes}, {1}, flushes)
        else:
            self.assertIn("event=spool_flush mode=fsync", r.log())


class HostileSmtpd(RigTest):
    extra_conf = "max_recipients 3\nmax_message_size 1K\n"

    def test_commit_of_unknown_id_is_rejected(self):
        r = self.rig
        r.commit_frame("0123456789abcdef", ["kim@example.test"])
        st, mid, _ = r.committed()
        self.assertEqual((st, mid), (QUEUE_REJECT, "0123456789abcdef"))
        self.assertIn("did not open for this link", r.log())
        self.assertEqual(r.spool_files(), [])

    def test_second_commit_is_rejected_first_stands(self):
        r = self.rig
        st, msgid, fd = r.open_body()
        os.write(fd, BODY)
        os.close(fd)
        r.commit_frame(msgid, ["kim@example.test"], req=7)
        r.commit_frame(msgid, ["kim@example.test"], req=8)
        got = sorted([r.committed() for _ in range(2)], key=lambda x: x[2])
        self.assertEqual([(st, req) for st, _, req in got], [(QUEUE_OK, 7), (QUEUE_REJECT, 8)])
        r.answer_local()
        r.wait_messages("kim@example.test", 1)

    def test_too_many_recipients_rejected_and_deleted(self):
        r = self.rig
        st, msgid, fd = r.open_body()
        os.write(fd, BODY)
        os.close(fd)
        r.commit_frame(msgid, [f"u{i}@example.test" for i in range(4)])
        st, _, _ = r.committed()
        self.assertEqual(st, QUEUE_REJECT)
        self.assertEqual(r.spool_files(), [])

    def test_body_over_limit_rejected(self):
        r = self.rig
        st, msgid, fd = r.open_body()
        os.write(fd, b"x" * (1024 + 64 * 1024 + 1))
        os.close(fd)
        r.commit_frame(msgid, ["kim@example.test"])
        st, _, _ = r.committed()
        self.assertEqual(st, QUEUE_REJECT)
        self.assertEqual(r.spool_files(), [])
        self.assertIn("over max_message_size", r.log())

    def test_abort_deletes_body(self):
        r = self.rig
        st, msgid, fd = r.open_body()
        os.write(fd, BODY)
        os.close(fd)
        self.assertEqual(r.spool_files(), [msgid + ".msg"])
        r.smtpd.send("MSG_SMTPD_MSG_ABORT", s(msgid))
        r.wait_for(lambda: not r.spool_files(), what="aborted body gone")
        self.assertEqual(r.spool_files(), [])
        # Committing it afterwards is refused.
        r.commit_frame(msgid, ["kim@example.test"])
        self.assertEqual(r.committed()[0], QUEUE_REJECT)

    def test_malformed_commit_drops_link_and_garbage(self):
        r = self.rig
        st, msgid, fd = r.open_body()
        os.close(fd)
        # Recipient "kim€example.test" does not decode: the link is dropped.
        p = commit_payload(msgid, "", "h", "127.0.0.1", SOURCE_SMTP, ["kim\u20acexample.test"])
        r.smtpd.send("MSG_SMTPD_MSG_COMMIT", p)
        self.assertTrue(r.smtpd.is_closed())
        r.wait_log("event=ipc_reject peer=smtpd")
        self.assertEqual(r.spool_files(), [])      # its open body is gone
        # The queue itself is alive: a new link works.
        a, b = pair()
        r.queue.give_link("smtpd", a)
        r.smtpd = Link(b)
        st, _ = r.submit(BODY)
        self.assertEqual(st, QUEUE_OK)
        r.answer_local()

    def test_smtpd_gone_with_open_transactions(self):
        r = self.rig
        for i in range(3):
            r.open_body(req=i)
        self.assertEqual(len(r.spool_files()), 3)
        r.smtpd.close()
        r.wait_log("event=link_down peer=smtpd open=3")
        self.assertEqual(r.spool_files(), [])


class Retries(RigTest):
    extra_conf = "retry_min 1s\nretry_max 2s\n"

    def test_tempfail_is_retried_then_delivered(self):
        r = self.rig
        st, msgid = r.submit(BODY)
        req, _ = r.next_ask()
        t0 = time.time()            # before the deferral: a slow test can not shrink it
        r.answer(req, RESOLVE_TEMPFAIL)
        r.wait_log(f"event=deferred qid={msgid} to=<kim@example.test> attempts=1")
        r.wait_for(lambda: "attempts 1\n" in r.read_env(msgid), what="attempts 1 in the envelope")
        self.assertIn("attempts 1\n", r.read_env(msgid))
        self.assertRegex(r.log(), rf"event=delivery qid={msgid} to=<kim@example.test> "
                                  rf"via=maildir result=deferred delay=[0-9.]+s reason=")
        r.answer_local()            # the retry, about retry_min later
        self.assertGreater(time.time() - t0, 0.3)
        r.wait_messages("kim@example.test", 1)
        r.wait_spool_empty()

    def test_permfail_drops_recipient_keeps_others(self):
        r = self.rig
        st, msgid = r.submit(BODY, rcpts=["gone@example.test", "kim@example.test"])
        for _ in range(2):
            req, addr = r.next_ask()
            if addr.startswith("gone"):
                r.answer(req, RESOLVE_UNKNOWN_USER)
            else:
                r.answer(req, RESOLVE_TEMPFAIL)
        r.wait_log(f"event=bounce qid={msgid} to=<gone@example.test>")
        r.wait_for(lambda: "gone@" not in r.read_env(msgid), what="gone@ out of the envelope")
        env = r.read_env(msgid)
        self.assertNotIn("gone@", env)
        self.assertIn("rcpt <kim@example.test>", env)
        self.assertEqual(r.answer_local(), ["kim@example.test"])
        r.wait_spool_empty()

    def test_bad_mailbox_from_lookup_is_permanent_and_writes_nothing(self):
        r = self.rig
        st, msgid = r.submit(BODY)
        req, _ = r.next_ask()
        r.answer(req, RESOLVE_LOCAL, ['"../../escape"@example.test'])
        r.wait_log(f"event=bounce qid={msgid}")
        r.wait_spool_empty()
        self.assertEqual(os.listdir(r.maildirs), [])

    def test_lookup_gone_is_tempfail(self):
        r = self.rig
        r.lookup.close()
        r.wait_log("event=link_down peer=lookup")
        st, msgid = r.submit(BODY)
        r.wait_log(f"event=deferred qid={msgid} to=<kim@example.test> attempts=1 "
                   f"reason=\"lookup unavailable\"")


class Crashes(RigTest):
    extra_conf = "retry_min 1h\nretry_max 1h\n"

    def test_delivery_crash_gives_short_retry_not_backoff(self):
        r = self.rig
        st, msgid = r.submit(BODY)
        r.next_ask()                         # never answered
        r.delivery.kill()
        r.wait_log("event=link_down peer=delivery inflight=1")
        r.wait_log(f"event=deferred qid={msgid}")
        self.assertIn("attempts 0\n", r.read_env(msgid))   # no backoff step
        r.reconnect_delivery()
        t0 = time.time()
        r.answer_local()                     # retried within ~5 s, not 1 h
        self.assertLess(time.time() - t0, WAIT)     # far below retry_min (1 h)
        r.wait_messages("kim@example.test", 1)
        r.wait_spool_empty()

    def test_queue_kill9_then_restart_picks_up_spool(self):
        r = self.rig
        ids = [r.submit(BODY)[1] for _ in range(3)]
        r.queue.kill()
        r.delivery.kill()
        files = r.spool_files()
        for msgid in ids:
            self.assertIn(msgid + ".env", files)
        # An uncommitted body and a half-written envelope from the "crash".
        junk = "00000000deadbeef"
        for suffix in (".msg", ".env.tmp"):
            with open(os.path.join(r.spool, "msg", junk + suffix), "w") as f:
                f.write("x")
        r.start_queue()
        r.start_delivery()
        r.wait_log("event=spool_loaded messages=3 garbage=2 corrupt=0")
        r.answer_local(3)
        r.wait_messages("kim@example.test", 3)
        r.wait_spool_empty()

    def test_corrupt_envelope_moved_aside_and_queue_survives(self):
        r = self.rig
        r.queue.kill()
        r.delivery.kill()
        os.makedirs(os.path.join(r.spool, "msg"), exist_ok=True)
        for name, text in (("1111111111111111.env", "homemx-envelope 1\nid 1111"),
                           ("1111111111111111.msg", "body"),
                           ("2222222222222222.env", "homemx-envelope 1\nend\n")):
            with open(os.path.join(r.spool, "msg", name), "w") as f:
                f.write(text)
        r.start_queue()
        r.start_delivery()
        r.wait_log("corrupt=2")
        self.assertEqual(sorted(os.listdir(os.path.join(r.spool, "corrupt"))),
                         ["1111111111111111.env", "1111111111111111.msg", "2222222222222222.env"])
        self.assertIn("action=moved_to_corrupt", r.log())
        st, _ = r.submit(BODY)
        self.assertEqual(st, QUEUE_OK)

    def test_expired_message_is_dropped_on_tempfail(self):
        r = self.rig
        r.queue.kill()
        r.delivery.kill()
        msgid = "00000001aaaabbbb"
        msg = os.path.join(r.spool, "msg")
        with open(os.path.join(msg, msgid + ".msg"), "wb") as f:
            f.write(BODY)
        with open(os.path.join(msg, msgid + ".env"), "w") as f:
            f.write(f"homemx-envelope 1\nid {msgid}\narrival 1000\nsource smtp\n"
                    "client_ip 127.0.0.1\nhelo h\nsender <a@example.net>\n"
                    "rcpt <kim@example.test>\nattempts 9\nnext_attempt 1000\nend\n")
        r.start_queue()
        r.start_delivery()
        req, _ = r.next_ask()
        r.answer(req, RESOLVE_TEMPFAIL)
        r.wait_log(f"event=expired qid={msgid} to=<kim@example.test>")
        r.wait_spool_empty()


class LookupPlayer(threading.Thread):
    """Plays lookup for delivery from a thread: every RESOLVE_ASK gets
    RESOLVE_TEMPFAIL until `local` is set, then RESOLVE_LOCAL."""

    def __init__(self, link):
        super().__init__(daemon=True)
        self.link = link
        self.local = threading.Event()
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                got = self.link.recv(timeout=0.2)
            except socket.timeout:
                continue
            except OSError:
                return
            if got is None:
                return
            name, req, p, _ = got
            if name != "MSG_RESOLVE_ASK":
                continue
            addr, _ = parse_str(p, 0)
            if self.local.is_set():
                answer = bytes([RESOLVE_LOCAL, 1]) + s(addr)
            else:
                answer = bytes([RESOLVE_TEMPFAIL, 0])
            self.link.send("MSG_RESOLVE_ANSWER", answer, req=req)


class CommitLoad:
    """Plays smtpd on one link until it dies: bursts of BURST transactions
    (OPEN all, write every body, COMMIT all, read every reply), so that
    commits are always in flight. Each transaction carries a Message-ID of
    its own; `attempted` gets it once its COMMIT is sent, `acked` once the
    queue answered QUEUE_OK (smtpd's "250")."""

    BURST = 8

    def __init__(self, link, attempted, acked, lock, counter):
        self.link, self.attempted, self.acked = link, attempted, acked
        self.lock, self.counter = lock, counter
        self.thread = threading.Thread(target=self.run, daemon=True)

    def next_req(self):
        with self.lock:
            self.counter[0] += 1
            return self.counter[0]

    def burst(self):
        """One burst; False once the link is gone."""
        for _ in range(self.BURST):
            self.link.send("MSG_SMTPD_MSG_OPEN", b"", req=self.next_req())
        opened = []
        for _ in range(self.BURST):
            got = self.link.recv(10)
            if got is None:
                return False
            _, _, p, fd = got
            if fd is None:
                continue                       # refused (shutting down)
            msgid, _ = parse_str(p, 1)
            mid = f"kill-{self.next_req()}@example.net"
            os.write(fd, BODY.replace(b"<1@example.net>", f"<{mid}>".encode()))
            os.close(fd)
            opened.append((msgid, mid))
        by_msgid = {}
        for msgid, mid in opened:
            p = commit_payload(msgid, "a@example.net", "client.example", "127.0.0.1",
                               SOURCE_SMTP, ["kim@example.test"])
            with self.lock:
                self.attempted.add(mid)
            self.link.send("MSG_SMTPD_MSG_COMMIT", p, req=self.next_req())
            by_msgid[msgid] = mid
        for _ in opened:
            got = self.link.recv(10)
            if got is None:
                return False
            _, _, p, _ = got
            msgid, _ = parse_str(p, 1)
            if p[0] == QUEUE_OK:
                with self.lock:
                    self.acked.add(by_msgid[msgid])
        return True

    def run(self):
        try:
            while self.burst():
                pass
        except (OSError, socket.timeout):
            pass                                # the queue was killed


class QueueKillLoop(unittest.TestCase):
    """The one-flush commit (queue/spool.c) under repeated kill -9 of the
    queue while commits are in flight: every message that got QUEUE_OK is
    delivered exactly once, a message whose reply was lost at most once,
    and nothing else appears. Delivery answers "try later" (lookup says
    RESOLVE_TEMPFAIL) until the last restart, so the kills also hit
    envelope rewrites, and no delivery can be repeated by a kill."""

    KILLS = 30

    def test_kill9_queue_repeatedly_under_load(self):
        seed = int(os.environ.get("HOMEMX_CRASH_SEED", random.randrange(1 << 30)))
        rnd = random.Random(seed)
        print(f"\nqueue kill loop seed={seed} (HOMEMX_CRASH_SEED to replay)")
        r = Rig("retry_min 1s\nretry_max 2s\n")
        lookup = LookupPlayer(r.lookup)
        lookup.start()
        attempted, acked, lock, counter = set(), set(), threading.Lock(), [0]
        try:
            for kill in range(self.KILLS):
                load = CommitLoad(r.smtpd, attempted, acked, lock, counter)
                # The sign to kill at: so many more acknowledged commits
                # (the kill then lands among OPENs and body writes), or
                # commits sent (it lands among commits and their flush).
                watched = acked if rnd.random() < 0.5 else attempted
                with lock:
                    want = len(watched) + rnd.randint(1, 2 * CommitLoad.BURST)
                load.thread.start()
                deadline = time.time() + 30
                while time.time() < deadline:
                    with lock:
                        if len(watched) >= want:
                            break
                    time.sleep(0.001)
                self.assertGreaterEqual(len(watched), want, f"no progress before kill {kill}")
                r.queue.kill()
                load.thread.join(20)
                self.assertFalse(load.thread.is_alive())
                r.smtpd.close()
                r.queue.control.close()
                r.start_queue()                 # waits for event=spool_loaded
                qa, qb = pair()                 # as homemxd: delivery stays
                r.queue.give_link("delivery", qa)
                r.delivery.give_link("queue", qb)
            lookup.local.set()
            self.assertGreater(len(acked), self.KILLS)
            loaded = re.findall(r"event=spool_loaded messages=(\d+) garbage=(\d+) "
                                r"corrupt=(\d+) unknown=(\d+) torn=(\d+)", r.log())
            self.assertEqual(len(loaded), self.KILLS + 1)
            self.assertEqual({int(c) for _, _, c, _, _ in loaded}, {0},
                             "a kill left an envelope that start-up called corrupt")
            deadline = time.time() + 90
            while time.time() < deadline:
                got = collections.Counter(self.message_ids(r))
                if acked <= set(got) and not [f for f in r.spool_files() if f.endswith(".env")]:
                    break
                time.sleep(0.1)
            got = collections.Counter(self.message_ids(r))
            lost = sorted(acked - set(got))
            self.assertEqual(lost, [], f"{len(lost)} acknowledged messages lost")
            self.assertEqual([f for f in r.spool_files() if f.endswith(".env")], [])
            time.sleep(0.5)      # a duplicate would come now; none may
            got = collections.Counter(self.message_ids(r))
            dupes = {m: n for m, n in got.items() if n > 1}
            self.assertEqual(dupes, {}, "delivered more than once")
            self.assertEqual(set(got) - attempted, set(), "delivered but never sent")
            unacked = attempted - acked
            print(f"{self.KILLS} kills: {len(attempted)} commits sent, {len(acked)} acknowledged,"
                  f" all delivered once; {len(unacked & set(got))} of {len(unacked)} "
                  f"unacknowledged delivered; garbage={sum(int(g) for _, g, _, _, _ in loaded)} "
                  f"torn={sum(int(t) for _, _, _, _, t in loaded)}")
        finally:
            lookup.stop.set()
            r.stop()
            lookup.join(5)
            r.cleanup()

    @staticmethod
    def message_ids(r):
        out = []
        for _, data in r.messages("kim@example.test"):
            m = re.search(rb"^Message-ID: <([^>]*)>", data, re.M)
            out.append(m.group(1).decode() if m else "?")
        return out


class Shutdown(RigTest):
    def test_sigterm_answers_commits_already_received(self):
        r = self.rig
        ids = []
        for i in range(10):
            st, msgid, fd = r.open_body(req=i)
            os.write(fd, BODY)
            os.close(fd)
            ids.append(msgid)
        for i, msgid in enumerate(ids):
            r.commit_frame(msgid, ["kim@example.test"], req=100 + i)
        os.kill(r.queue.pid, signal.SIGTERM)
        got = [r.committed() for _ in range(10)]
        self.assertEqual({st for st, _, _ in got}, {QUEUE_OK})
        self.assertEqual(r.queue.wait(), 0)
        for msgid in ids:
            self.assertIn(msgid + ".env", r.spool_files())


class NoSpace(unittest.TestCase):
    """A full spool file system answers QUEUE_NOSPACE, never QUEUE_OK."""

    def test_enospc_on_commit(self):
        base = tempfile.mkdtemp(prefix="hmx-qroles-tmpfs-")
        mnt = os.path.join(base, "spool")
        os.makedirs(mnt)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt],
                           capture_output=True, text=True)
        if p.returncode != 0:
            shutil.rmtree(base, ignore_errors=True)
            self.skipTest(f"cannot mount tmpfs (need root): {p.stderr.strip()}")
        rig = None
        try:
            rig = Rig(spool_dir=mnt)
            # Fill the file system almost completely.
            fd = os.open(os.path.join(mnt, "filler"), os.O_CREAT | os.O_WRONLY, 0o600)
            try:
                while True:
                    os.write(fd, b"\0" * 4096)
            except OSError:
                pass
            os.close(fd)
            statuses = []
            for _ in range(3):
                st, msgid, fd = rig.open_body()
                if st != QUEUE_OK:
                    statuses.append(st)
                    continue
                try:
                    os.write(fd, BODY)
                except OSError:
                    pass
                os.close(fd)
                rig.commit_frame(msgid, ["kim@example.test"])
                statuses.append(rig.committed()[0])
            self.assertNotIn(QUEUE_OK, statuses)
            self.assertIn(QUEUE_NOSPACE, statuses)
            self.assertIn("No space left on device", rig.log())
            self.assertEqual([f for f in rig.spool_files() if f.endswith(".env")], [])
            # Space again: the next message goes through.
            os.unlink(os.path.join(mnt, "filler"))
            st, msgid = rig.submit(BODY)
            self.assertEqual(st, QUEUE_OK)
            rig.answer_local()
            rig.wait_messages("kim@example.test", 1)
        finally:
            if rig is not None:
                rig.stop()
            subprocess.run(["umount", "-l", mnt], capture_output=True)
            if rig is not None:
                rig.cleanup()
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
