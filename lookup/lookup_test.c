/*
 * lookup/lookup_test.c - the lookup role over real SEQPACKET links, in one
 * process: lookup's init/on_link on one end, a fake smtpd (or delivery)
 * ipc_link on the other.
 *
 * Rows of questions with their verdicts and request ids, a pipelined burst
 * answered in order, and hostile frames (an address with '€', trailing
 * bytes, a type lookup must never receive, a peer lookup never links to):
 * each must close that link, log event=ipc_reject, and leave lookup
 * answering on a fresh link, as after the supervisor restarts the peer.
 */
#include <sys/socket.h>

#include <fcntl.h>

#include <event2/event.h>

#include "ipc_decode.h"
#include "lookup.h"
#include "testutil.h"

static struct test_store ts;
static struct event_base *base;
static struct config cfg;
static char log_path[] = "/tmp/hmx-lookup-test-log-XXXXXX";
static int saved_stderr = -1;

struct asker {
	struct ipc_link			*link;
	bool				 closed;
	unsigned			 nanswers;
	uint64_t			 req[64];
	struct msg_resolve_answer	 ans[64];
};

static void
asker_frame(struct ipc_link *l, struct ipc_frame *f, void *arg)
{
	struct asker *a = arg;
	const char *why;

	(void)l;
	assert_int_equal(f->type, MSG_RESOLVE_ANSWER);
	assert_true(a->nanswers < 64);
	if (ipc_decode_resolve_answer(f, &a->ans[a->nanswers], &why) == -1)
		fail_msg("lookup sent a bad answer: %s", why);
	a->req[a->nanswers++] = f->req_id;
}

static void
asker_closed(struct ipc_link *l, void *arg)
{
	struct asker *a = arg;

	(void)l;
	a->closed = true;
	a->link = NULL;
}

static void
asker_connect(struct asker *a, enum role as)
{
	int sv[2];

	memset(a, 0, sizeof(*a));
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	lookup_role_ops.on_link(as, sv[0]);
	a->link = ipc_link_new(base, sv[1], as, ROLE_LOOKUP, asker_frame, asker_closed, a);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopbreak(base);
}

/* Runs the loop until n answers arrived or the link closed (5 s at most). */
static void
pump(struct asker *a, unsigned n)
{
	struct timeval tick = { 0, 20000 };
	struct event *t = event_new(base, -1, EV_PERSIST, on_timeout, NULL);

	event_add(t, &tick);
	for (int i = 0; i < 250 && a->nanswers < n && !a->closed; i++)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
}

static void
ask(struct asker *a, uint64_t req, const char *address)
{
	struct ipc_builder b;

	ipc_encode_resolve_ask(&b, address);
	assert_int_equal(ipc_send(a->link, MSG_RESOLVE_ASK, req, &b, -1), 0);
}

static char *
read_log(void)
{
	static char buf[65536];
	int fd = open(log_path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static int
setup(void **state)
{
	struct store_txn *t;
	char extra[256];
	int fd;

	(void)state;
	test_store_open(&ts);
	assert_int_equal(store_begin_write(ts.st, &t), STORE_OK);
	test_put_user(t, "kim@example.test");
	test_put_user(t, "anne@example.test");
	test_put_alias(t, "team@example.test", "kim@example.test,anne@example.test");
	test_put_block(t, "kim-leaked@example.test", "kim@example.test");
	assert_int_equal(store_commit(t), STORE_OK);
	store_close(ts.st);	/* lookup opens its own handle */
	ts.st = NULL;
	snprintf(extra, sizeof(extra), "store_dir %s\n", ts.dir);
	test_config(&cfg, extra);
	/* log lines go to a file the tests read */
	assert_true((fd = mkstemp(log_path)) >= 0);
	saved_stderr = dup(2);
	assert_true(dup2(fd, 2) == 2);
	close(fd);
	base = event_base_new();
	lookup_role_ops.init(base, &cfg, NULL, 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	/* hand back stderr, with what was logged (and any failure text) */
	dup2(saved_stderr, 2);
	fputs(read_log(), stderr);
	unlink(log_path);
	test_store_remove(ts.dir);
	return 0;
}

static void
test_answers(void **state)
{
	static const struct {
		const char		*address;
		enum resolve_verdict	 verdict;
		unsigned		 n;
		const char		*first;
	} rows[] = {
		{ "kim@example.test",		RESOLVE_LOCAL,		1, "kim@example.test" },
		{ "Kim+x@Example.Test",		RESOLVE_LOCAL,		1, "kim@example.test" },
		{ "team@example.test",		RESOLVE_LOCAL,		2, "kim@example.test" },
		{ "kim-leaked@example.test",	RESOLVE_BLOCKED,	0, "" },
		{ "nobody@example.test",	RESOLVE_UNKNOWN_USER,	0, "" },
		{ "kim@elsewhere.test",		RESOLVE_NOT_LOCAL,	0, "" },
	};
	struct asker a;

	(void)state;
	asker_connect(&a, ROLE_SMTPD);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		ask(&a, 1000 + i, rows[i].address);
	pump(&a, sizeof(rows) / sizeof(rows[0]));
	assert_false(a.closed);
	assert_int_equal(a.nanswers, sizeof(rows) / sizeof(rows[0]));
	for (size_t i = 0; i < a.nanswers; i++) {
		if (a.req[i] != 1000 + i || a.ans[i].verdict != rows[i].verdict ||
		    a.ans[i].nmailbox != rows[i].n ||
		    (rows[i].n > 0 && strcmp(a.ans[i].mailbox[0], rows[i].first) != 0))
			fail_msg("%s: got req %llu verdict %d n %u, want req %zu verdict %d n %u",
			    rows[i].address, (unsigned long long)a.req[i], a.ans[i].verdict,
			    a.ans[i].nmailbox, 1000 + i, rows[i].verdict, rows[i].n);
	}
	ipc_link_free(a.link);
}

static void
test_pipelined_burst_and_delivery_peer(void **state)
{
	struct asker a;

	(void)state;
	asker_connect(&a, ROLE_DELIVERY);
	for (uint64_t i = 0; i < 64; i++)
		ask(&a, i << 40, i % 2 ? "team@example.test" : "nobody@example.test");
	pump(&a, 64);
	assert_int_equal(a.nanswers, 64);
	for (uint64_t i = 0; i < 64; i++) {
		assert_int_equal(a.req[i], i << 40);
		assert_int_equal(a.ans[i].verdict, i % 2 ? RESOLVE_LOCAL : RESOLVE_UNKNOWN_USER);
	}
	ipc_link_free(a.link);
}

static void
test_hostile_frames(void **state)
{
	static const struct {
		const char	*what;
		uint32_t	 type;
		const char	*payload;
		size_t		 len;
		const char	*reason;
	} rows[] = {
		{ "euro for at", MSG_RESOLVE_ASK, "\x00\x12kim\xe2\x82\xac" "example.test", 20,
		  "invalid address field" },
		{ "trailing bytes", MSG_RESOLVE_ASK, "\x00\x10kim@example.testX", 19,
		  "trailing bytes" },
		{ "length past end", MSG_RESOLVE_ASK, "\x00\x40kim@example.test", 18,
		  "string longer than payload" },
		{ "NUL inside", MSG_RESOLVE_ASK, "\x00\x05" "a\0@b.c", 7, "NUL inside string" },
		{ "not for lookup", MSG_SMTPD_MSG_ABORT, "\x00\x02xx", 4, "receiver not allowed" },
		{ "an answer", MSG_RESOLVE_ANSWER, "\x02\x00", 2, "sender not allowed" },
	};
	struct asker a;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		asker_connect(&a, ROLE_SMTPD);
		assert_int_equal(ipc_send_raw(a.link, rows[i].type, 9, rows[i].payload,
		    rows[i].len, -1), 0);
		pump(&a, 1);
		if (!a.closed || a.nanswers != 0)
			fail_msg("%s: link not dropped (answers %u)", rows[i].what, a.nanswers);
		if (strstr(read_log(), rows[i].reason) == NULL)
			fail_msg("%s: no '%s' in the log:\n%s", rows[i].what, rows[i].reason,
			    read_log());
		/* the supervisor restarts the peer and links it again: it works */
		asker_connect(&a, ROLE_SMTPD);
		ask(&a, 5, "kim@example.test");
		pump(&a, 1);
		assert_int_equal(a.nanswers, 1);
		assert_int_equal(a.ans[0].verdict, RESOLVE_LOCAL);
		ipc_link_free(a.link);
	}
	assert_non_null(strstr(read_log(), "event=ipc_reject peer=smtpd"));
}

static void
test_unexpected_peer(void **state)
{
	struct asker a;

	(void)state;
	asker_connect(&a, ROLE_QUEUE);	/* lookup closes what it was handed */
	pump(&a, 1);
	assert_true(a.closed);
	assert_non_null(strstr(read_log(), "no link expected to queue"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_pipelined_burst_and_delivery_peer),
		cmocka_unit_test(test_hostile_frames),
		cmocka_unit_test(test_unexpected_peer),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
