"""tests/e2e/test_smtpd_standalone.py - the real homemx-smtpd binary, alone
(tests/e2e/smtpd_rig.py fakes homemxd, lookup and queue): the dialog, the
message flow, recipients, the screen's verdicts, bounce tags, queue
failures and the checks at the end of DATA. The session's edges (limits,
deadlines, stress mode, TLS, shutdown, chaos) are in
test_smtpd_standalone_edges.py.

Run: /usr/bin/python3 tests/e2e/run.py test_smtpd_standalone
HOMEMX_BUILD=build-asan selects the sanitizer build (reports fail the test).
"""

import re
import socket
import time
import unittest

from harness import WAIT
import rolerig
from rolerig import (QUEUE_NOSPACE, QUEUE_OK, QUEUE_REJECT, QUEUE_TEMPFAIL, RESOLVE_BLOCKED,
                     RESOLVE_LOCAL, RESOLVE_NOT_LOCAL, RESOLVE_TEMPFAIL, RESOLVE_UNKNOWN_USER,
                     SOURCE_SMTP)
from smtpd_rig import MESSAGE, SCREEN_FACT_MAIL_SEEN, SCREEN_FACT_NULL_SENDER, SmtpdCase, transaction


class TestDialog(SmtpdCase):
    extra_conf = "max_errors 100"

    def test_banner_is_neutral(self):
        c = self.client(banner=False)
        self.assertEqual(c.reply(), (220, "220 mx.example.test ESMTP"))

    def test_ehlo_keywords(self):
        c = self.client()
        code, text = c.cmd("EHLO client.example")
        self.assertEqual(code, 250)
        lines = text.split("\n")
        self.assertEqual(lines[0], "250-mx.example.test")
        kws = [l[4:] for l in lines[1:]]
        self.assertEqual(kws, ["PIPELINING", "8BITMIME", "SIZE 26214400", "SMTPUTF8",
                               "ENHANCEDSTATUSCODES"])
        self.assertNotIn("STARTTLS", text)   # no certificate configured

    def test_simple_commands(self):
        c = self.client()
        self.assertReply(c.cmd("HELO client.example"), 250)
        self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
        self.assertReply(c.cmd("VRFY kim"), 252, "2.5.0")
        self.assertReply(c.cmd("EXPN staff"), 502, "5.5.1")
        self.assertReply(c.cmd("HELP"), 214, "2.0.0")
        self.assertReply(c.cmd("RSET"), 250, "2.0.0")
        self.assertReply(c.cmd("BDAT 10 LAST"), 500, "5.5.1")
        self.assertReply(c.cmd("STARTTLS"), 502, "5.5.1")
        self.assertReply(c.cmd("QUIT"), 221, "2.0.0")
        self.assertTrue(c.closed())

    def test_sequence_errors(self):
        c = self.client()
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 503, "5.5.1")
        self.assertReply(c.cmd("EHLO client.example"), 250)
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 503, "5.5.1")
        self.assertReply(c.cmd("DATA"), 503, "5.5.1")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 250, "2.1.0")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 503, "5.5.1")
        self.assertReply(c.cmd("DATA"), 554, "5.5.1")   # no valid recipients
        self.assertReply(c.cmd("RSET"), 250, "2.0.0")
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 503, "5.5.1")

    def test_syntax_errors(self):
        c = self.client()
        self.assertReply(c.cmd("EHLO"), 501, "5.5.4")
        self.assertReply(c.cmd("EHLO bad(host)"), 501, "5.5.4")
        self.assertReply(c.cmd("EHLO client.example"), 250)
        self.assertReply(c.cmd("MAIL FROM:a@client.example"), 501, "5.1.7")
        self.assertReply(c.cmd("MAIL TO:<a@client.example>"), 501, "5.5.4")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example> FOO=BAR"), 555, "5.5.4")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example> SIZE=abc"), 501, "5.5.4")
        self.assertReply(c.cmd("MAIL FROM:<k\u00e4m@client.example>"), 553, "5.6.7")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example> BODY=8BITMIME"), 250, "2.1.0")
        self.assertReply(c.cmd("RCPT TO:<kim>"), 501, "5.1.3")
        self.assertReply(c.cmd("RCPT TO:kim@example.test"), 501, "5.1.3")
        self.assertReply(c.cmd("RCPT TO:<kim@example.test> NOTIFY=NEVER"), 555, "5.5.4")
        self.assertReply(c.cmd("DATA now"), 501, "5.5.4")

    def test_line_length(self):
        c = self.client()
        self.assertReply(c.cmd("NOOP " + "x" * (512 - 7)), 250, "2.0.0")   # 512 with CRLF
        self.assertReply(c.cmd("NOOP " + "x" * (512 - 6)), 500, "5.5.2")   # 513
        self.assertReply(c.cmd("NOOP " + "x" * 100000), 500, "5.5.2")
        self.assertReply(c.cmd("NOOP"), 250, "2.0.0")   # the session goes on

    def test_nul_in_command(self):
        c = self.client()
        self.assertReply(c.cmd("NOOP\0"), 500, "5.5.2")
        self.assertReply(c.cmd("EHLO client.example"), 250)
        self.assertReply(c.cmd("MAIL FROM:<a@client.example\0>"), 500, "5.5.2")

    def test_log_lines(self):
        c = self.client()
        transaction(c)
        c.cmd("QUIT")
        self.world.wait_log("event=disconnect")
        log = self.world.log()
        sess = re.search(r"event=connect sess=([0-9a-f]{8}) ip=127\.0\.0\.1 port=\d+", log).group(1)
        self.assertRegex(log, rf"event=helo sess={sess} verb=EHLO helo=client\.example")
        self.assertIn(f"event=mail sess={sess} from=<a@client.example>", log)
        self.assertIn(f'event=rcpt sess={sess} from=<a@client.example> to=<kim@example.test> '
                      f'verdict=accept reply="250 2.1.5" reason=local', log)
        self.assertRegex(log, rf"event=data sess={sess} qid=[0-9a-f]{{16}} nrcpt=1")
        self.assertRegex(log, rf"event=queued sess={sess} qid=[0-9a-f]{{16}} size=\d+ nrcpt=1")
        self.assertRegex(log, rf"event=disconnect sess={sess} ip=127.0.0.1 reason=quit")


class TestMessageFlow(SmtpdCase):
    def test_message_is_spooled_exactly(self):
        c = self.client()
        code, text = transaction(c)
        self.assertEqual(code, 250, text)
        m = re.match(r"250 2\.0\.0 Ok: queued as ([0-9a-f]{16})$", text)
        self.assertIsNotNone(m, text)
        self.world.wait_for(lambda: self.world.messages)
        msg = self.world.messages[0]
        self.assertEqual(msg.msgid, m.group(1))
        self.assertEqual((msg.sender, msg.helo, msg.client_ip, msg.source, msg.rcpts),
                         ("a@client.example", "client.example", "127.0.0.1", SOURCE_SMTP,
                          ["kim@example.test"]))
        received, _, rest = msg.body.partition(b"\r\nFrom:")
        self.assertRegex(received.decode(),
                         r"^Received: from client\.example \(\[127\.0\.0\.1\]\)\r\n"
                         rf"\tby mx\.example\.test with ESMTP id {msg.msgid}\r\n"
                         r"\tfor <kim@example\.test>; \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000$")
        self.assertEqual(b"From:" + rest, MESSAGE.replace(b"\r\n..a", b"\r\n.a"))

    def test_null_sender_and_many_rcpts(self):
        c = self.client()
        c.cmd("EHLO client.example")
        self.assertReply(c.cmd("MAIL FROM:<>"), 250)
        for r in ("kim@example.test", "Ann@example.test", "kim@example.test", "postmaster"):
            self.assertReply(c.cmd(f"RCPT TO:<{r}>"), 250, "2.1.5")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(b"Subject: x\r\n\r\nhi\r\n.\r\n")
        self.assertReply(c.reply(), 250, "2.0.0")
        self.world.wait_for(lambda: self.world.messages)
        msg = self.world.messages[0]
        self.assertEqual(msg.sender, "")
        # duplicates are delivered once; <postmaster> means postmaster@first domain
        self.assertEqual(msg.rcpts, ["kim@example.test", "Ann@example.test", "postmaster@example.test"])
        self.assertNotIn(b"\tfor <", msg.body.split(b"\r\n\r\n")[0])

    def test_pipelined_transaction_in_one_write(self):
        self.world.lookup_delay = 0.2   # answers arrive while later lines wait
        c = self.client()
        c.send(b"EHLO client.example\r\nMAIL FROM:<a@client.example>\r\n"
               b"RCPT TO:<kim@example.test>\r\nRCPT TO:<nobody@example.test>\r\n"
               b"RCPT TO:<ann@example.test>\r\nDATA\r\n"
               b"Subject: piped\r\n\r\nbody\r\n.\r\nNOOP\r\nQUIT\r\n")
        codes = [c.reply()[0] for _ in range(8)]
        self.assertEqual(codes, [250, 250, 250, 550, 250, 354, 250, 250])
        self.assertEqual(c.reply()[0], 221)
        self.world.wait_for(lambda: self.world.messages)
        self.assertEqual(self.world.messages[0].rcpts, ["kim@example.test", "ann@example.test"])
        self.assertTrue(self.world.messages[0].body.endswith(b"Subject: piped\r\n\r\nbody\r\n"))

    def test_pipelining_client_that_closes_early(self):
        """A client that writes a whole dialog and shuts down its side still gets
        every answer (half-close)."""
        self.world.lookup_delay = 0.2
        c = self.client()
        c.send(b"EHLO client.example\r\nMAIL FROM:<a@client.example>\r\n"
               b"RCPT TO:<kim@example.test>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n")
        c.sock.shutdown(socket.SHUT_WR)
        codes = [c.reply()[0] for _ in range(6)]
        self.assertEqual(codes, [250, 250, 250, 354, 250, 221])

    def test_pipelining_is_not_slowed_by_nagle(self):
        """Without TCP_NODELAY each pipelined group waits for the client's
        delayed ACK: ~44 ms per transaction measured; with it, ~1 ms."""
        c = self.client()
        c.cmd("EHLO client.example")
        t0 = time.time()
        for _ in range(50):
            c.send(b"MAIL FROM:<a@client.example>\r\nRCPT TO:<kim@example.test>\r\nDATA\r\n")
            self.assertEqual([c.reply()[0] for _ in range(3)], [250, 250, 354])
            c.send(b"Subject: x\r\n\r\nhello\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)
        self.assertLess(time.time() - t0, 1.5)

    def test_two_messages_one_session(self):
        c = self.client()
        self.assertReply(transaction(c), 250)
        self.assertReply(c.cmd("MAIL FROM:<b@client.example>"), 250)
        self.assertReply(c.cmd("RCPT TO:<ann@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(b"x\r\n.\r\n")
        self.assertReply(c.reply(), 250)
        self.world.wait_for(lambda: len(self.world.messages) == 2)
        self.assertEqual(self.world.messages[1].sender, "b@client.example")

    def test_eight_bit_body_kept(self):
        c = self.client()
        body = "Subject: \u00e4\r\n\r\nGr\u00fc\u00dfe \u20ac\r\n".encode() + bytes(range(0x80, 0x100)) + b"\r\n"
        self.assertReply(transaction(c, body=body), 250)
        self.world.wait_for(lambda: self.world.messages)
        self.assertTrue(self.world.messages[0].body.endswith(body))


class TestRecipients(SmtpdCase):
    extra_conf = "max_errors 100"

    def rcpt(self, c, addr):
        return c.cmd(f"RCPT TO:{addr}")

    def test_verdicts(self):
        verdicts = {"local@example.test": RESOLVE_LOCAL,
                    "unknown@example.test": RESOLVE_UNKNOWN_USER,
                    "kim+burnt@example.test": RESOLVE_BLOCKED,
                    "x@other.test": RESOLVE_NOT_LOCAL,
                    "temp@example.test": RESOLVE_TEMPFAIL}
        self.world.verdict = lambda a: verdicts[a]
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        self.assertReply(self.rcpt(c, "<local@example.test>"), 250, "2.1.5")
        self.assertReply(self.rcpt(c, "<unknown@example.test>"), 550, "5.1.1")
        self.assertReply(self.rcpt(c, "<kim+burnt@example.test>"), 550, "5.1.1")
        self.assertReply(self.rcpt(c, "<x@other.test>"), 554, "5.7.1")
        self.assertReply(self.rcpt(c, "<temp@example.test>"), 451, "4.3.0")
        log = self.world.log()
        for to, reason in (("unknown@example.test", "unknown_user"),
                           ("kim+burnt@example.test", "blocked_tag"),
                           ("x@other.test", "relay_denied"), ("temp@example.test", "tempfail")):
            self.assertRegex(log, rf"event=rcpt sess=\w+ from=<a@client.example> to=<{re.escape(to)}> "
                                  rf'verdict=reject reply="\d{{3}} [\d.]+" reason={reason}')

    def test_open_relay_patterns(self):
        """nmap smtp-open-relay forms: each is parsed once into (local, domain);
        the relay decision is made on that domain only, nothing is relayed."""
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        cases = [
            ("<user%other.test@example.test>", 550, "user%other.test@example.test"),
            ("<@example.test:user@other.test>", 554, "user@other.test"),
            ("<\"user@other.test\"@example.test>", 550, "\"user@other.test\"@example.test"),
            ("<\"user%other.test\"@example.test>", 550, "user%other.test@example.test"),
            ("<example.test!other.test!user>", 501, None),
            ("<other.test!user@example.test>", 550, "other.test!user@example.test"),
            ("<user@[127.0.0.1]>", 554, None),
            ("<user@[IPv6:::1]>", 554, None),
            ("<user@other.test@example.test>", 501, None),
            ("<user@other.test>", 554, "user@other.test"),
        ]
        for addr, code, asked in cases:
            before = len(self.world.asked)
            got = self.rcpt(c, addr)
            self.assertEqual(got[0], code, f"{addr}: {got}")
            if asked is not None:
                self.assertEqual(self.world.asked[before:], [asked], addr)
            else:
                self.assertEqual(self.world.asked[before:], [], addr)
            c.cmd("RSET")
            c.cmd("MAIL FROM:<a@client.example>")
        self.assertReply(c.cmd("DATA"), 554, "5.5.1")

    def test_too_many_recipients(self):
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        self.world.verdict = lambda a: RESOLVE_LOCAL
        for i in range(100):
            self.assertReply(self.rcpt(c, f"<u{i}@example.test>"), 250)
        self.assertReply(self.rcpt(c, "<u100@example.test>"), 452, "4.5.3")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(b"x\r\n.\r\n")
        self.assertReply(c.reply(), 250)
        self.world.wait_for(lambda: self.world.messages)
        self.assertEqual(len(self.world.messages[0].rcpts), 100)

    def test_lookup_down_and_back(self):
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        self.world.drop_peer("lookup")
        self.world.wait_log("event=link_down peer=lookup")
        self.assertReply(self.rcpt(c, "<kim@example.test>"), 451, "4.3.0")
        self.world.connect_peer("lookup")
        self.world.wait_log("event=link_up peer=lookup", n=2)
        self.assertReply(self.rcpt(c, "<kim@example.test>"), 250, "2.1.5")

    def test_lookup_dies_while_asked(self):
        self.world.lookup_delay = 1.0
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        c.send("RCPT TO:<kim@example.test>\r\n")
        self.world.wait_for(lambda: self.world.asked)     # the question is out
        self.world.drop_peer("lookup")
        self.assertReply(c.reply(), 451, "4.3.0")
        self.assertReply(c.cmd("NOOP"), 250)

    def test_lookup_restarted_while_asked(self):
        """A new MSG_SUP_LINK replaces the old link; questions pending on the old
        one are answered 451, later questions go to the new peer."""
        self.world.lookup_delay = 1.0
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        c.send("RCPT TO:<kim@example.test>\r\n")
        self.world.wait_for(lambda: self.world.asked)     # the question is out
        self.world.lookup_delay = 0
        self.world.connect_peer("lookup")
        self.assertReply(c.reply(), 451, "4.3.0")
        self.assertReply(self.rcpt(c, "<kim@example.test>"), 250)


class TestScreen(SmtpdCase):
    """What port 25 tells the screen role, and how its verdicts reach the
    client (smtpd/inbound.c); the screen itself is faked here."""
    extra_conf = "max_errors 100"

    def test_hints_and_questions(self):
        c = self.client()
        self.assertReply(c.cmd("EHLO client.example"), 250)
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 250)
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 250, "2.1.5")
        self.assertReply(c.cmd("RCPT TO:<nobody@example.test>"), 550, "5.1.1")
        self.assertReply(c.cmd("RCPT TO:<x@other.test>"), 554, "5.7.1")
        self.assertReply(c.cmd("RCPT TO:<ann@example.test>"), 250, "2.1.5")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(MESSAGE + b".\r\n")
        self.assertReply(c.reply(), 250)
        self.world.wait_for(lambda: len(self.world.screened) == 7)
        stages = [(f.kind, f.stage) for f in self.world.screened]
        self.assertEqual(stages, [
            ("MSG_SCREEN_HINT", rolerig.SCREEN_STAGE_CONNECT),
            ("MSG_SCREEN_HINT", rolerig.SCREEN_STAGE_HELO),
            ("MSG_SCREEN_HINT", rolerig.SCREEN_STAGE_MAIL),
            ("MSG_SCREEN_ASK", rolerig.SCREEN_STAGE_RCPT),      # kim: local
            ("MSG_SCREEN_ASK", rolerig.SCREEN_STAGE_RCPT),      # ann; not the unknown or remote
            ("MSG_SCREEN_HINT", rolerig.SCREEN_STAGE_DATA),
            ("MSG_SCREEN_MESSAGE_ASK", rolerig.SCREEN_STAGE_MESSAGE)])
        whole = self.world.screened[6]
        self.assertEqual((whole.rcpt, whole.rcpt_seq), ("kim@example.test", 3))
        self.assertEqual(whole.rcpts, ["kim@example.test", "ann@example.test"])
        self.assertEqual([f.bounce_tag for f in self.world.screened], [0] * 7)  # bounce_tags off
        self.assertEqual(whole.qid, self.world.messages[0].msgid)
        # the screen read exactly what the queue got (Received: first)
        self.assertEqual(whole.message, self.world.messages[0].body)
        self.assertTrue(whole.message.startswith(b"Received: "), whole.message[:80])
        kim, ann, data = self.world.screened[3], self.world.screened[4], self.world.screened[5]
        self.assertEqual((kim.client_ip, kim.local_ip, kim.helo), ("127.0.0.1", "127.0.0.1",
                                                                   "client.example"))
        self.assertEqual((kim.mail_from, kim.rcpt, kim.rcpt_seq), ("a@client.example",
                                                                   "kim@example.test", 1))
        self.assertEqual((ann.rcpt, ann.rcpt_seq), ("ann@example.test", 2))
        self.assertEqual(kim.flags, SCREEN_FACT_MAIL_SEEN)
        self.assertEqual(len(data.qid), 16)
        self.assertEqual(data.qid, self.world.messages[0].msgid)
        self.assertEqual({f.sess for f in self.world.screened}, {kim.sess})

    def test_null_sender_flag(self):
        c = self.client()
        c.cmd("EHLO client.example")
        self.assertReply(c.cmd("MAIL FROM:<>"), 250)
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 250)
        ask = self.world.wait_for(lambda: [f for f in self.world.screened
                                           if f.kind == "MSG_SCREEN_ASK"])[0]
        self.assertEqual(ask.flags, SCREEN_FACT_MAIL_SEEN | SCREEN_FACT_NULL_SENDER)
        self.assertEqual(ask.mail_from, "")

    def test_verdicts_become_neutral_replies(self):
        verdicts = {
            "kim@example.test": (rolerig.SCREEN_ACCEPT, rolerig.SCREEN_REPLY_OK,
                                 "250 2.1.5 "),
            "ann@example.test": (rolerig.SCREEN_REJECT, rolerig.SCREEN_REPLY_REJECT,
                                 "550 5.7.1 Refused by local policy, ref="),
            "postmaster@example.test": (rolerig.SCREEN_REJECT, rolerig.SCREEN_REPLY_SPF_REJECT,
                                        "550 5.7.23 Refused by local policy, ref="),
            "kim-tag@example.test": (rolerig.SCREEN_GREYLIST, rolerig.SCREEN_REPLY_GREYLIST,
                                     "451 4.7.1 Try again later, ref="),
        }
        self.world.screen = lambda f: verdicts[f.rcpt][:2]
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        for n, (rcpt, (_, _, want)) in enumerate(verdicts.items(), 1):
            code, text = c.cmd(f"RCPT TO:<{rcpt}>")
            self.assertTrue(text.startswith(want), (rcpt, text))
            if code != 250:
                self.assertRegex(text, rf"ref=[0-9a-f]{{8}}-{n}$")
        self.world.screen = lambda f: (rolerig.SCREEN_TEMPFAIL, rolerig.SCREEN_REPLY_DNS_TEMPFAIL)
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 451, "4.4.3")
        log = self.world.log()
        self.assertRegex(log, r'event=rcpt sess=\w+ from=<a@client.example> '
                              r'to=<ann@example.test> verdict=reject reply="550 5.7.1" '
                              r'reason=screen_reject ip=127.0.0.1')
        self.assertIn('reason=screen_greylist', log)
        # a DATA with only kim accepted still works
        self.assertReply(c.cmd("DATA"), 354)
        c.send(MESSAGE + b".\r\n")
        self.assertReply(c.reply(), 250)

    def test_screen_gone_is_451_and_back(self):
        """The screen dies with a question in flight: 451 4.3.0 at once,
        new clients wait until it is back, then all is well."""
        self.world.screen = lambda f: None      # swallows the question
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        c.send("RCPT TO:<kim@example.test>\r\n")
        self.world.wait_for(lambda: any(f.kind == "MSG_SCREEN_ASK" for f in self.world.screened))
        self.world.drop_peer("screen")
        self.assertReply(c.reply(), 451, "4.3.0")
        self.world.wait_log("reason=screen_unavailable")
        self.world.wait_log("event=accept role=smtpd state=off missing=screen")
        waiting = self.world.client(banner=False)
        self.clients.append(waiting)
        waiting.sock.settimeout(1.0)
        with self.assertRaises(socket.timeout):
            waiting.sock.recv(100)                  # nobody greets while screen is down
        self.world.screen = lambda f: (rolerig.SCREEN_ACCEPT, rolerig.SCREEN_REPLY_OK)
        self.world.connect_peer("screen")
        waiting.sock.settimeout(WAIT)
        self.assertEqual(waiting.reply()[0], 220)
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 250)

    def test_message_verdict_refuses_or_edits(self):
        """The end-of-DATA verdict: a refusal ends the transaction with the
        screen's reply; an accept carries its Authentication-Results first
        and leaves out the ranges it names (the queue applies both)."""
        c = self.client()
        self.world.screen_message = lambda f: ((rolerig.SCREEN_REJECT,
                                                rolerig.SCREEN_REPLY_VIRUS), b"", [])
        self.assertReply(transaction(c), 554, "5.7.1")
        self.assertEqual(self.world.messages, [])
        self.world.wait_for(lambda: len(self.world.aborted) == 1)
        self.world.wait_log('reason=screen_reject size=')
        # accepted, edited: our field first, the forged one (found by the
        # screen in the bytes it read) left out, everything else byte-exact
        forged = b"Authentication-Results: mx.example.test; dkim=pass\r\n"
        ours = b"Authentication-Results: mx.example.test;\r\n\tspf=none\r\n"

        def edit(f):
            off = f.message.index(forged)
            return ((rolerig.SCREEN_ACCEPT, rolerig.SCREEN_REPLY_OK), ours,
                    [(off, len(forged))])
        self.world.screen_message = edit
        self.assertReply(transaction(c, body=forged + MESSAGE), 250)
        self.world.wait_for(lambda: len(self.world.messages) == 1)
        body = self.world.messages[0].body
        self.assertTrue(body.startswith(ours + b"Received: "), body[:120])
        self.assertNotIn(forged, body)
        self.assertTrue(body.endswith(MESSAGE.replace(b"\r\n..", b"\r\n.")), body[-120:])

    def test_screen_silent_at_end_of_data_is_451(self):
        self.world.screen_message = lambda f: None
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        c.cmd("RCPT TO:<kim@example.test>")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(MESSAGE + b".\r\n")
        self.world.wait_for(lambda: any(f.kind == "MSG_SCREEN_MESSAGE_ASK"
                                        for f in self.world.screened))
        self.world.drop_peer("screen")
        self.assertReply(c.reply(), 451, "4.3.0")
        self.world.wait_log("reason=screen_unavailable")
        self.assertEqual(self.world.messages, [])

    def test_garbage_verdict_is_451(self):
        """A verdict that does not decode is no verdict (and is logged)."""
        def bad(f):
            return (rolerig.SCREEN_ACCEPT, rolerig.SCREEN_REPLY_REJECT)   # disagree
        self.world.screen = bad
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 451, "4.3.0")
        self.world.wait_log(r"event=ipc_reject peer=screen type=MSG_SCREEN_VERDICT")


class TestBounceTags(SmtpdCase):
    """BATV in smtpd (smtpd/inbound.c): a tagged recipient is looked up and
    delivered untagged, the queue is asked about its tag, the screen hears
    the answer; the screen's "unknown user" is lookup's reply to the byte."""
    extra_conf = "max_errors 100\nbounce_tags on"
    TAGGED = "prvs=0123abcdef=kim@example.test"
    VALID, BAD, UNTAGGED = 1, 2, 3      # enum screen_bounce_tag / bounce_tag_result

    def test_tagged_recipient_is_the_untagged_mailbox(self):
        c = self.client()
        c.cmd("EHLO mx.example.net")
        self.assertReply(c.cmd("MAIL FROM:<>"), 250)
        self.assertReply(c.cmd(f"RCPT TO:<{self.TAGGED}>"), 250, "2.1.5")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(MESSAGE + b".\r\n")
        self.assertReply(c.reply(), 250)
        self.assertEqual(self.world.tag_asks, [self.TAGGED])
        self.assertEqual(self.world.asked, ["kim@example.test"])        # lookup: untagged
        self.assertEqual(self.world.messages[0].rcpts, ["kim@example.test"])
        asks = [f for f in self.world.screened if f.kind != "MSG_SCREEN_HINT"]
        self.assertEqual([(f.rcpt, f.bounce_tag) for f in asks],
                         [("kim@example.test", self.VALID), ("kim@example.test", self.VALID)])
        self.assertEqual(asks[1].rcpts, ["kim@example.test"])
        self.world.wait_log("event=bounce_tag sess=")
        self.assertRegex(self.world.log(), r"event=bounce_tag sess=\w+ "
                                           r"to=<kim@example.test> result=valid")

    def test_tag_states_reach_the_screen(self):
        self.world.tag_check = lambda address: 3        # BOUNCE_TAG_EXPIRED
        c = self.client()
        c.cmd("EHLO mx.example.net")
        c.cmd("MAIL FROM:<>")
        self.assertReply(c.cmd(f"RCPT TO:<{self.TAGGED}>"), 250)
        self.assertReply(c.cmd("RCPT TO:<ann@example.test>"), 250)   # untagged, tags on
        self.assertReply(c.cmd("DATA"), 354)
        c.send(MESSAGE + b".\r\n")
        self.assertReply(c.reply(), 250)
        asks = [f for f in self.world.screened if f.kind != "MSG_SCREEN_HINT"]
        self.assertEqual([f.bounce_tag for f in asks], [self.BAD, self.UNTAGGED, 0])
        self.assertEqual(asks[2].rcpts, ["kim@example.test", "ann@example.test"])
        # an unknown user behind a tag is lookup's: the queue is not asked
        self.world.tag_asks.clear()
        c.cmd("MAIL FROM:<>")
        self.assertReply(c.cmd("RCPT TO:<prvs=0123abcdef=nobody@example.test>"), 550, "5.1.1")
        self.assertEqual(self.world.tag_asks, [])

    def test_queue_gone_during_tag_check_is_451(self):
        self.world.tag_check = lambda address: None     # swallows the question
        c = self.client()
        c.cmd("EHLO mx.example.net")
        c.cmd("MAIL FROM:<>")
        c.send(f"RCPT TO:<{self.TAGGED}>\r\n")
        self.world.wait_for(lambda: self.world.tag_asks == [self.TAGGED])
        self.world.drop_peer("queue")
        self.assertReply(c.reply(), 451, "4.3.0")
        self.world.wait_log("reason=queue_unavailable")
        self.assertFalse(any(f.kind == "MSG_SCREEN_ASK" for f in self.world.screened))
        self.world.tag_check = lambda address: 1
        self.world.connect_peer("queue")

    def test_screen_unknown_user_is_lookups_reply(self):
        self.world.screen = lambda f: (rolerig.SCREEN_REJECT, rolerig.SCREEN_REPLY_USER_UNKNOWN)
        c = self.client()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        real = c.cmd("RCPT TO:<nobody@example.test>")
        self.assertEqual(c.cmd("RCPT TO:<kim@example.test>"), real)
        self.assertEqual(real, (550, "550 5.1.1 Recipient address rejected: User unknown"))
        self.world.wait_log("reason=spam_memory")
        self.assertRegex(self.world.log(), r'event=rcpt sess=\w+ from=<a@client.example> '
                                           r'to=<kim@example.test> verdict=reject '
                                           r'reply="550 5.1.1" reason=spam_memory ip=127.0.0.1')


class TestQueueFailures(SmtpdCase):
    def start_data(self, c):
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        c.cmd("RCPT TO:<kim@example.test>")
        return c.cmd("DATA")

    def test_open_tempfail_and_nospace(self):
        """A refused DATA (451/452) ends the transaction: the next MAIL starts a
        new one instead of getting 503, and a DATA without one is a sequence error."""
        c = self.client()
        self.world.open_status = QUEUE_TEMPFAIL
        self.assertReply(self.start_data(c), 451, "4.3.0")
        self.assertReply(c.cmd("DATA"), 503, "5.5.1")   # the envelope is gone
        self.world.open_status = QUEUE_NOSPACE
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 250, "2.1.0")
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 452, "4.3.1")
        self.world.open_status = QUEUE_OK
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 250, "2.1.0")
        self.assertReply(c.cmd("RCPT TO:<kim@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(b"x\r\n.\r\n")
        self.assertReply(c.reply(), 250)
        self.assertEqual(len(self.world.messages), 1)

    def test_commit_statuses(self):
        c = self.client()
        for status, code, enh in ((QUEUE_TEMPFAIL, 451, "4.3.0"), (QUEUE_NOSPACE, 452, "4.3.1"),
                                  (QUEUE_REJECT, 451, "4.3.0"), (QUEUE_OK, 250, "2.0.0")):
            self.world.commit_status = status
            self.assertReply(transaction(c), code, enh)
        self.assertEqual(len(self.world.messages), 1)

    def test_spool_disk_full(self):
        self.world.open_fd_path = "/dev/full"
        c = self.client()
        self.assertReply(transaction(c, body=b"x" * 200 + b"\r\n" + b"y\r\n" * 40000), 452, "4.3.1")
        self.world.wait_for(lambda: self.world.aborted)
        self.assertEqual(self.world.aborted, self.world.opened)
        self.assertEqual(self.world.messages, [])

    def test_queue_dies_while_committing(self):
        self.world.commit_delay = 2.0
        c = self.client()
        self.start_data(c)
        c.send(b"x\r\n.\r\n")
        self.world.wait_for(lambda: self.world.commits)   # the commit is pending
        self.world.drop_peer("queue")
        self.assertReply(c.reply(), 451, "4.3.0")
        self.assertReply(c.cmd("RSET"), 250)

    def test_queue_down_at_data(self):
        c = self.client()
        self.world.drop_peer("queue")
        self.world.wait_log("event=link_down peer=queue")
        self.assertReply(self.start_data(c), 451, "4.3.0")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example>"), 250, "2.1.0")   # not 503
        self.world.wait_log("reason=queue_unavailable")

    def test_client_gone_before_spool_file(self):
        """OPENED for a session that vanished: fd closed, ABORT sent."""
        self.world.open_delay = 0.5
        c = self.client()
        self.start_data_nowait(c)
        c.close()
        self.world.wait_for(lambda: self.world.aborted)
        self.assertEqual(self.world.aborted, self.world.opened)

    def start_data_nowait(self, c):
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<a@client.example>")
        c.cmd("RCPT TO:<kim@example.test>")
        c.send("DATA\r\n")
        self.world.wait_for(lambda: self.world.open_asks)  # smtpd asked for a spool file

    def test_client_gone_in_data(self):
        c = self.client()
        self.start_data(c)
        c.send(b"Subject: half\r\n\r\nhalf a message")
        c.close()
        self.world.wait_for(lambda: self.world.aborted)
        self.assertEqual(self.world.aborted, self.world.opened)
        self.world.wait_log("reason=eof_in_data")


class TestDataChecks(SmtpdCase):
    extra_conf = "max_message_size 64K"

    SMUGGLING = [
        ("LF.LF", b"a\n.\nMAIL FROM:<x@evil.test>\r\n"),
        ("CRLF.LF", b"a\r\n.\nb\r\n"),
        ("LF.CRLF", b"a\n.\r\nb\r\n"),
        ("CR.CR", b"a\r.\rb\r\n"),
        ("CRLF.CR", b"a\r\n.\rb\r\n"),
        ("CR.CRLF", b"a\r.\r\nb\r\n"),
        ("CRLF NUL.CRLF", b"a\r\n\0.\r\nb\r\n"),
        ("bare LF", b"a\nb\r\n"),
        ("bare CR", b"a\rb\r\n"),
    ]

    def test_smuggling_variants_rejected(self):
        """No variant ends DATA early; each message is refused with 554 5.6.0,
        its spool file aborted, and the session goes on."""
        c = self.client()
        c.cmd("EHLO client.example")
        for name, body in self.SMUGGLING:
            c.cmd("MAIL FROM:<a@client.example>")
            c.cmd("RCPT TO:<kim@example.test>")
            self.assertReply(c.cmd("DATA"), 354)
            c.send(b"Subject: smuggle\r\n\r\n" + body + b".\r\n")
            got = c.reply()
            self.assertEqual(got[0], 554, f"{name}: {got}")
            self.assertTrue(got[1].startswith("554 5.6.0"), f"{name}: {got}")
        self.assertReply(c.cmd("NOOP"), 250)   # nothing was smuggled into the dialog
        self.assertEqual(self.world.messages, [])
        self.world.wait_for(lambda: len(self.world.aborted) == len(self.SMUGGLING))
        self.assertEqual(sorted(self.world.aborted), sorted(self.world.opened))
        self.assertEqual(self.world.asked, ["kim@example.test"] * len(self.SMUGGLING))

    def test_line_limit(self):
        c = self.client()
        self.assertReply(transaction(c, body=b"x" * 998 + b"\r\n"), 250)
        self.assertReply(transaction(c, body=b"x" * 999 + b"\r\n"), 554, "5.6.0")
        self.assertReply(transaction(c, body=b"." + b"x" * 998 + b"\r\n"), 250)  # stuffing
        self.assertReply(c.cmd("NOOP"), 250)

    def test_size_limits(self):
        c = self.client()
        c.cmd("EHLO client.example")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example> SIZE=65537"), 552, "5.3.4")
        self.assertReply(c.cmd("MAIL FROM:<a@client.example> SIZE=65536"), 250)
        c.cmd("RSET")
        self.assertReply(transaction(c, body=(b"y" * 98 + b"\r\n") * 656), 552, "5.3.4")
        self.assertReply(transaction(c, body=(b"y" * 98 + b"\r\n") * 655), 250)

    def test_nul_in_body(self):
        c = self.client()
        self.assertReply(transaction(c, body=b"a\0b\r\n"), 554, "5.6.0")


if __name__ == "__main__":
    unittest.main()
