/*
 * lib/ipc_test.c - frames: table checks, which roles are linked, decoder
 * round trips, hostile payloads, and live links over real socketpairs (fd
 * passing, a peer that breaks the table being dropped, a sender that
 * refuses to send such a frame, a role's last words read after its exit).
 * Every type's sizes are tested in lib/ipc_decode_test.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "ipc_decode.h"

struct check_case {
	enum role	 self, peer;
	uint32_t	 type;
	size_t		 len;
	bool		 fd;
	const char	*want;	/* NULL = accepted */
};

static const struct check_case check_cases[] = {
	{ ROLE_LOOKUP, ROLE_SMTPD, MSG_RESOLVE_ASK, 20, false, NULL },
	{ ROLE_LOOKUP, ROLE_DELIVERY, MSG_RESOLVE_ASK, 20, false, NULL },
	{ ROLE_LOOKUP, ROLE_QUEUE, MSG_RESOLVE_ASK, 20, false, "sender not allowed" },
	{ ROLE_QUEUE, ROLE_SMTPD, MSG_RESOLVE_ASK, 20, false, "receiver not allowed" },
	{ ROLE_LOOKUP, ROLE_SMTPD, MSG_RESOLVE_ASK, 2, false, "bad length" },
	{ ROLE_LOOKUP, ROLE_SMTPD, MSG_RESOLVE_ASK, 2 + ADDR_MAX, false, NULL },
	{ ROLE_LOOKUP, ROLE_SMTPD, MSG_RESOLVE_ASK, 3 + ADDR_MAX, false, "bad length" },
	{ ROLE_SMTPD, ROLE_LOOKUP, MSG_RESOLVE_ANSWER, 2 + 32 * (2 + 254), false, NULL },
	{ ROLE_SUPERVISOR, ROLE_RELAY, MSG_ROLE_READY, 0, false, NULL },
	{ ROLE_SUPERVISOR, ROLE_RELAY, MSG_ROLE_FATAL, 30, false, NULL },
	{ ROLE_QUEUE, ROLE_RELAY, MSG_ROLE_READY, 0, false, "receiver not allowed" },
	{ ROLE_LOOKUP, ROLE_SMTPD, MSG_RESOLVE_ASK, 20, true, "unexpected fd" },
	{ ROLE_DELIVERY, ROLE_QUEUE, MSG_QUEUE_DELIVER, 30, false, "missing fd" },
	{ ROLE_DELIVERY, ROLE_QUEUE, MSG_QUEUE_DELIVER, 30, true, NULL },
	{ ROLE_SMTPD, ROLE_QUEUE, MSG_QUEUE_MSG_OPENED, 19, false, NULL },
	{ ROLE_SMTPD, ROLE_SUPERVISOR, MSG_SUP_LINK, 1, true, NULL },
	{ ROLE_SMTPD, ROLE_LOOKUP, MSG_SUP_LINK, 1, true, "sender not allowed" },
	{ ROLE_SMTPD, ROLE_LOOKUP, 0, 1, false, "unknown type" },
	{ ROLE_SMTPD, ROLE_LOOKUP, 9999, 1, false, "unknown type" },
};

static void
test_frame_check(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
		const struct check_case *c = &check_cases[i];
		const char *why = NULL;
		int r = ipc_frame_check(c->self, c->peer, c->type, c->len, c->fd, &why);
		if (c->want == NULL && r != 0)
			fail_msg("case %zu: got '%s', want accepted", i, why);
		if (c->want != NULL && (r == 0 || strcmp(why, c->want) != 0))
			fail_msg("case %zu: got '%s', want '%s'", i, r == 0 ? "accepted" : why, c->want);
	}
}

/* Two roles are linked iff a row lets one send to the other. */
static void
test_roles_linked(void **state)
{
	static const enum role want[][2] = {
		{ ROLE_SMTPD, ROLE_LOOKUP }, { ROLE_SMTPD, ROLE_QUEUE },
		{ ROLE_QUEUE, ROLE_DELIVERY }, { ROLE_DELIVERY, ROLE_LOOKUP },
		{ ROLE_SUBMISSION, ROLE_LOOKUP }, { ROLE_SUBMISSION, ROLE_QUEUE },
		{ ROLE_SUBMISSION, ROLE_DKIMSIGN }, { ROLE_QUEUE, ROLE_RELAY },
		{ ROLE_QUEUE, ROLE_DKIMSIGN }, { ROLE_SMTPD, ROLE_SCREEN },
	};

	(void)state;
	for (enum role a = 0; a < ROLE_COUNT; a++)
		for (enum role b = 0; b < ROLE_COUNT; b++) {
			bool expect = false;
			for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
				if ((want[i][0] == a && want[i][1] == b) ||
				    (want[i][0] == b && want[i][1] == a))
					expect = true;
			if (ipc_roles_linked(a, b) != expect)
				fail_msg("%s-%s: got %s, want %s", role_name(a), role_name(b),
				    expect ? "not linked" : "linked", expect ? "linked" : "not linked");
		}
	assert_false(ipc_roles_linked(ROLE_COUNT, ROLE_SMTPD));
	/* The role names come from the same table as the enum. */
	assert_string_equal(role_name(ROLE_SUPERVISOR), "supervisor");
	assert_string_equal(role_name(ROLE_RELAY), "relay");
	assert_string_equal(role_name(ROLE_COUNT), "unknown");
}

static struct ipc_frame
frame_of(const struct ipc_builder *b, uint32_t type, int fd)
{
	struct ipc_frame f = { type, (uint32_t)b->len, 7, b->buf, fd };
	return f;
}

static void
test_commit_roundtrip(void **state)
{
	static struct ipc_builder b;
	char rcpts[2][ADDR_MAX + 1] = { "kim+x@example.test", "anne@example.test" };
	struct msg_commit in = { "0123456789abcdef", "", "client.example", "192.0.2.1",
	    SOURCE_SMTP, 2, rcpts }, out;
	const char *why;

	(void)state;
	ipc_encode_commit(&b, &in);
	struct ipc_frame f = frame_of(&b, MSG_SMTPD_MSG_COMMIT, -1);
	assert_int_equal(ipc_decode_commit(&f, &out, &why), 0);
	assert_string_equal(out.msgid, in.msgid);
	assert_string_equal(out.sender, "");
	assert_int_equal(out.nrcpt, 2);
	assert_string_equal(out.rcpt[1], "anne@example.test");
	msg_commit_free(&out);

	/* Every truncation of a valid payload must be refused. */
	for (size_t n = 0; n < b.len; n++) {
		f.len = (uint32_t)n;
		if (ipc_decode_commit(&f, &out, &why) == 0)
			fail_msg("truncated to %zu bytes: accepted", n);
	}
}

static void
test_hostile_payloads(void **state)
{
	static struct ipc_builder b;
	struct msg_commit out;
	struct msg_resolve_answer ans;
	struct msg_deliver d;
	const char *why;

	(void)state;
	/* bad queue id */
	ipc_build_init(&b);
	ipc_put_str(&b, "../../etc/passwd");
	struct ipc_frame f = frame_of(&b, MSG_SMTPD_MSG_COMMIT, -1);
	assert_int_equal(ipc_decode_commit(&f, &out, &why), -1);

	/* rcpt count larger than what follows */
	ipc_build_init(&b);
	ipc_put_str(&b, "0123456789abcdef");
	ipc_put_str(&b, "");
	ipc_put_str(&b, "h");
	ipc_put_str(&b, "127.0.0.1");
	ipc_put_u8(&b, SOURCE_SMTP);
	ipc_put_u16(&b, 65535);
	ipc_put_str(&b, "kim@example.test");
	f = frame_of(&b, MSG_SMTPD_MSG_COMMIT, -1);
	assert_int_equal(ipc_decode_commit(&f, &out, &why), -1);

	/* NUL inside a string, an invalid address, trailing bytes */
	ipc_build_init(&b);
	ipc_put_bytes_str(&b, "kim\0@example.test", 17);
	f = frame_of(&b, MSG_RESOLVE_ASK, -1);
	struct msg_resolve_ask ask;
	assert_int_equal(ipc_decode_resolve_ask(&f, &ask, &why), -1);
	assert_string_equal(why, "NUL inside string");
	ipc_build_init(&b);
	ipc_put_str(&b, "kim\xe2\x82\xac" "example.test");
	f = frame_of(&b, MSG_RESOLVE_ASK, -1);
	assert_int_equal(ipc_decode_resolve_ask(&f, &ask, &why), -1);
	ipc_build_init(&b);
	ipc_put_str(&b, "kim@example.test");
	ipc_put_u8(&b, 0);
	f = frame_of(&b, MSG_RESOLVE_ASK, -1);
	assert_int_equal(ipc_decode_resolve_ask(&f, &ask, &why), -1);
	assert_string_equal(why, "trailing bytes");

	/* verdict out of range; LOCAL without mailboxes; too many mailboxes */
	uint8_t bad[][2] = { { 0, 0 }, { 99, 0 }, { RESOLVE_LOCAL, 0 }, { RESOLVE_LOCAL, 200 },
	    { RESOLVE_UNKNOWN_USER, 1 } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ipc_build_init(&b);
		ipc_put_u8(&b, bad[i][0]);
		ipc_put_u8(&b, bad[i][1]);
		ipc_put_str(&b, "kim@example.test");
		f = frame_of(&b, MSG_RESOLVE_ANSWER, -1);
		if (ipc_decode_resolve_answer(&f, &ans, &why) == 0)
			fail_msg("resolve answer %u/%u accepted", bad[i][0], bad[i][1]);
	}

	/* deliver with a path in the rcpt */
	ipc_build_init(&b);
	ipc_put_str(&b, "0123456789abcdef");
	ipc_put_str(&b, "");
	ipc_put_str(&b, "../x@example.test/..");
	f = frame_of(&b, MSG_QUEUE_DELIVER, 5);
	assert_int_equal(ipc_decode_deliver(&f, &d, &why), -1);
}

/* ---- live link ---------------------------------------------------------- */

struct live {
	struct event_base	*base;
	int			 frames;
	int			 closed;
	uint64_t		 last_req;
	uint32_t		 last_type;
	int			 got_fd;
	bool			 expect_hello;	/* an fd comes with "hello" in it */
};

static void
live_frame(struct ipc_link *l, struct ipc_frame *f, void *arg)
{
	struct live *lv = arg;

	(void)l;
	lv->frames++;
	lv->last_req = f->req_id;
	lv->last_type = f->type;
	if (f->fd != -1) {
		char buf[8] = "";
		if (lv->expect_hello) {
			assert_true(pread(f->fd, buf, 5, 0) == 5);
			assert_memory_equal(buf, "hello", 5);
		}
		lv->got_fd = 1;
		close(f->fd);
	}
	event_base_loopbreak(lv->base);
}

static void
live_closed(struct ipc_link *l, void *arg)
{
	struct live *lv = arg;

	(void)l;
	lv->closed++;
	event_base_loopbreak(lv->base);
}

static void
test_live_link(void **state)
{
	struct live lv = { .expect_hello = true };
	int sv[2];
	static struct ipc_builder b;

	(void)state;
	lv.base = event_base_new();
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	/* queue (sv[0]) -> delivery (sv[1]) */
	struct ipc_link *rx = ipc_link_new(lv.base, sv[1], ROLE_DELIVERY, ROLE_QUEUE,
	    live_frame, live_closed, &lv);
	struct ipc_link *tx = ipc_link_new(lv.base, sv[0], ROLE_QUEUE, ROLE_DELIVERY,
	    live_frame, live_closed, &lv);

	FILE *tmp = tmpfile();
	fputs("hello", tmp);
	fflush(tmp);
	struct msg_deliver m = { "0123456789abcdef", "a@example.org", "kim@example.test" };
	ipc_encode_deliver(&b, &m);
	assert_int_equal(ipc_send(tx, MSG_QUEUE_DELIVER, 42, &b, fileno(tmp)), 0);
	event_base_dispatch(lv.base);
	assert_int_equal(lv.frames, 1);
	assert_int_equal(lv.last_req, 42);
	assert_int_equal(lv.got_fd, 1);

	/* The queue must not send MSG_SMTPD_MSG_OPEN: ipc_send would refuse,
	 * so play a hostile queue with the unchecked path; the receiver drops it. */
	assert_int_equal(ipc_send_raw(tx, MSG_SMTPD_MSG_OPEN, 1, NULL, 0, -1), 0);
	event_base_dispatch(lv.base);
	assert_int_equal(lv.frames, 1);
	assert_int_equal(lv.closed, 1);	/* rx closed and freed itself */
	event_base_dispatch(lv.base);	/* tx sees EOF */
	assert_int_equal(lv.closed, 2);
	fclose(tmp);
	event_base_free(lv.base);
	(void)rx;
}

static enum role hooked_peer = ROLE_COUNT;

static void
record_reject(enum role peer)
{
	hooked_peer = peer;
}

static void
test_raw_garbage_datagram(void **state)
{
	struct live lv = { 0 };
	int sv[2];
	uint8_t junk[20] = { 0, 0, 0, MSG_RESOLVE_ASK, 0, 0, 1, 0 };	/* len lies */

	(void)state;
	lv.base = event_base_new();
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ipc_link_new(lv.base, sv[1], ROLE_LOOKUP, ROLE_SMTPD, live_frame, live_closed, &lv);
	ipc_set_reject_hook(record_reject);
	assert_int_equal(write(sv[0], junk, sizeof(junk)), (ssize_t)sizeof(junk));
	event_base_dispatch(lv.base);
	ipc_set_reject_hook(NULL);
	assert_int_equal(lv.frames, 0);
	assert_int_equal(lv.closed, 1);
	assert_int_equal(hooked_peer, ROLE_SMTPD);	/* the supervisor will hear of it */
	close(sv[0]);
	event_base_free(lv.base);
}

/* ---- the sender's check -------------------------------------------------- */

/* stderr goes to a temporary file between the two calls; returns its text. */
static int saved_stderr = -1;
static FILE *captured;

static void
capture_start(void)
{
	captured = tmpfile();
	assert_non_null(captured);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(dup2(fileno(captured), STDERR_FILENO) != -1);
}

static const char *
capture_end(void)
{
	static char text[4096];
	size_t n;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	rewind(captured);
	n = fread(text, 1, sizeof(text) - 1, captured);
	text[n] = '\0';
	fclose(captured);
	return text;
}

static void
test_send_refuses_what_the_receiver_would_drop(void **state)
{
	struct live lv = { 0 };
	static struct ipc_builder b;
	int sv[2];

	(void)state;
	lv.base = event_base_new();
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	struct ipc_link *rx = ipc_link_new(lv.base, sv[1], ROLE_DELIVERY, ROLE_QUEUE,
	    live_frame, live_closed, &lv);
	struct ipc_link *tx = ipc_link_new(lv.base, sv[0], ROLE_QUEUE, ROLE_DELIVERY,
	    live_frame, live_closed, &lv);

	capture_start();
	/* the queue may not send OPEN (to anyone) */
	ipc_build_init(&b);
	int r1 = ipc_send(tx, MSG_SMTPD_MSG_OPEN, 1, &b, -1);
	/* right direction, but the fd is missing */
	struct msg_deliver m = { "0123456789abcdef", "a@example.org", "kim@example.test" };
	ipc_encode_deliver(&b, &m);
	int r2 = ipc_send(tx, MSG_QUEUE_DELIVER, 2, &b, -1);
	/* table fine, decoder not: a path in the recipient */
	snprintf(m.rcpt, sizeof(m.rcpt), "../x@example.test/..");
	ipc_encode_deliver(&b, &m);
	int r3 = ipc_send(tx, MSG_QUEUE_DELIVER, 3, &b, 0);
	const char *log = capture_end();

	assert_int_equal(r1, -1);
	assert_int_equal(r2, -1);
	assert_int_equal(r3, -1);
	assert_int_equal(ipc_link_pending(tx), 0);
	assert_non_null(strstr(log, "event=ipc_send_refused peer=delivery "
	    "type=MSG_SMTPD_MSG_OPEN"));
	assert_non_null(strstr(log, "reason=\"sender not allowed\""));
	assert_non_null(strstr(log, "reason=\"missing fd\""));
	assert_non_null(strstr(log, "reason=\"invalid address field\""));

	/* Nothing went out, so the receiver did not drop the link: a good
	 * frame still arrives. */
	snprintf(m.rcpt, sizeof(m.rcpt), "kim@example.test");
	ipc_encode_deliver(&b, &m);
	int fd = open("/dev/null", O_RDONLY);
	assert_int_equal(ipc_send(tx, MSG_QUEUE_DELIVER, 4, &b, fd), 0);
	close(fd);
	lv.expect_hello = false;
	event_base_dispatch(lv.base);
	assert_int_equal(lv.frames, 1);
	assert_int_equal(lv.last_req, 4);
	assert_int_equal(lv.closed, 0);
	ipc_link_free(tx);
	ipc_link_free(rx);
	event_base_free(lv.base);
}

/* A role's last frames are read after it exited (the supervisor's
 * SIGCHLD may come before the readable event), then the link closes. */
static void
test_drain_reads_last_words(void **state)
{
	struct live lv = { 0 };
	static struct ipc_builder b;
	int sv[2];

	(void)state;
	lv.base = event_base_new();
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	struct ipc_link *sup = ipc_link_new(lv.base, sv[0], ROLE_SUPERVISOR, ROLE_LOOKUP,
	    live_frame, live_closed, &lv);
	/* A frame the role never reads: its exit then leaves ECONNRESET on our
	 * end, which the kernel reports before the frames it sent us. */
	ipc_encode_reload(&b, "hostname x\n", 11);
	assert_int_equal(ipc_send(sup, MSG_SUP_RELOAD, 0, &b, -1), 0);
	ipc_encode_role_fatal(&b, "store: Permission denied");
	assert_int_equal(ipc_send_now(sv[1], ROLE_LOOKUP, ROLE_SUPERVISOR,
	    MSG_ROLE_FATAL, &b), 0);
	/* what a role may not send is not sent, even as last words */
	capture_start();
	ipc_encode_sup_link(&b, ROLE_SMTPD);
	int r = ipc_send_now(sv[1], ROLE_LOOKUP, ROLE_SUPERVISOR, MSG_SUP_LINK, &b);
	const char *log = capture_end();
	assert_int_equal(r, -1);
	assert_non_null(strstr(log, "event=ipc_send_refused"));
	close(sv[1]);	/* the role is gone */

	ipc_link_drain(sup);
	assert_int_equal(lv.frames, 1);
	assert_int_equal(lv.last_type, MSG_ROLE_FATAL);
	assert_int_equal(lv.closed, 1);	/* and the link closed and freed itself */
	event_base_free(lv.base);
}

/* A role that died while homemxd still sends to it (linking a new role
 * to it): the send fails with EPIPE, but the link stays to deliver the
 * frames the role left, and only their EOF closes it. */
static void
test_send_to_a_gone_peer_keeps_its_last_words(void **state)
{
	struct live lv = { 0 };
	static struct ipc_builder b;
	int sv[2];

	(void)state;
	lv.base = event_base_new();
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	struct ipc_link *sup = ipc_link_new(lv.base, sv[0], ROLE_SUPERVISOR, ROLE_LOOKUP,
	    live_frame, live_closed, &lv);
	ipc_encode_role_fatal(&b, "store: Permission denied");
	assert_int_equal(ipc_send_now(sv[1], ROLE_LOOKUP, ROLE_SUPERVISOR,
	    MSG_ROLE_FATAL, &b), 0);
	close(sv[1]);	/* the role is gone */

	ipc_encode_reload(&b, "hostname x\n", 11);
	assert_int_equal(ipc_send(sup, MSG_SUP_RELOAD, 0, &b, -1), -1);
	assert_int_equal(lv.closed, 0);		/* not yet: frames are waiting */
	assert_int_equal(ipc_send(sup, MSG_SUP_RELOAD, 0, &b, -1), -1);

	ipc_link_drain(sup);
	assert_int_equal(lv.frames, 1);
	assert_int_equal(lv.last_type, MSG_ROLE_FATAL);
	assert_int_equal(lv.closed, 1);		/* then EOF closed and freed it */
	event_base_free(lv.base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_check),
		cmocka_unit_test(test_commit_roundtrip),
		cmocka_unit_test(test_hostile_payloads),
		cmocka_unit_test(test_live_link),
		cmocka_unit_test(test_raw_garbage_datagram),
		cmocka_unit_test(test_roles_linked),
		cmocka_unit_test(test_send_refuses_what_the_receiver_would_drop),
		cmocka_unit_test(test_drain_reads_last_words),
		cmocka_unit_test(test_send_to_a_gone_peer_keeps_its_last_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
