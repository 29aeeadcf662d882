/*
 * lookup/auth_test.c - the lookup side of submission, one row per case:
 * the failure counters (limits per IP and per account, the window, the
 * /64 key, eviction), the growing delay, sender ownership against a real
 * store (users, aliases, subaddresses, never the catch-all), and the
 * verify pool driven over a real IPC link: right and wrong passwords,
 * unknown users (the dummy hash), the rate limit that even a right
 * password does not pass, the delayed answer, a full queue failing fast,
 * and an answer to a link that went away.
 */
#include <sys/socket.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <event2/event.h>
#include <sodium.h>

#include "auth.h"
#include "log.h"
#include "testutil.h"
#include "util.h"

/* ---- counters ------------------------------------------------------------ */

static struct auth_limits lim;

static void
test_ip_key(void **state)
{
	static const struct { const char *ip, *key; } cases[] = {
		{ "192.0.2.7",				"192.0.2.7" },
		{ "2001:db8:1:2:3:4:5:6",		"2001:db8:1:2::/64" },
		{ "2001:db8:1:2:ffff::1",		"2001:db8:1:2::/64" },
		{ "::1",				"::/64" },
		{ "::ffff:192.0.2.7",			"::ffff:192.0.2.7" },
		{ "not an ip",				"not an ip" },
	};
	char key[AUTH_KEY_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		auth_ip_key(cases[i].ip, key, sizeof(key));
		if (strcmp(key, cases[i].key) != 0)
			fail_msg("%s: got %s, want %s", cases[i].ip, key, cases[i].key);
	}
}

static void
test_limits(void **state)
{
	unsigned prior;

	(void)state;
	memset(&lim, 0, sizeof(lim));
	/* per-IP limit 3: three failures, the fourth attempt is refused */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(auth_limits_check(&lim, "192.0.2.1", "kim@example.test", 3,
		    100.0 + i, &prior), AUTH_REASON_NONE);
		assert_int_equal(prior, (unsigned)i);
		auth_limits_record(&lim, "192.0.2.1", "kim@example.test", false, 100.0 + i);
	}
	assert_int_equal(auth_limits_check(&lim, "192.0.2.1", "lee@example.test", 3,
	    110.0, &prior), AUTH_REASON_IP_LIMIT);
	/* another IP may still try the same account (its limit is 3x) */
	assert_int_equal(auth_limits_check(&lim, "192.0.2.2", "kim@example.test", 3,
	    110.0, &prior), AUTH_REASON_NONE);
	assert_int_equal(prior, 3);
	/* the window: forgotten after AUTH_FAIL_WINDOW seconds */
	assert_int_equal(auth_limits_check(&lim, "192.0.2.1", "lee@example.test", 3,
	    102.0 + AUTH_FAIL_WINDOW + 1, &prior), AUTH_REASON_NONE);
	assert_int_equal(prior, 0);

	/* per-account: 9 failures from 9 IPs lock the account for everyone */
	memset(&lim, 0, sizeof(lim));
	for (int i = 0; i < 3 * AUTH_ACCOUNT_FACTOR; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "198.51.100.%d", i);
		auth_limits_record(&lim, ip, "kim@example.test", false, 200.0);
	}
	assert_int_equal(auth_limits_check(&lim, "203.0.113.9", "kim@example.test", 3,
	    201.0, &prior), AUTH_REASON_ACCOUNT_LIMIT);
	assert_int_equal(auth_limits_check(&lim, "203.0.113.9", "lee@example.test", 3,
	    201.0, &prior), AUTH_REASON_NONE);
	/* a success clears the account, not the IPs */
	auth_limits_record(&lim, "198.51.100.0", "kim@example.test", true, 202.0);
	assert_int_equal(auth_limits_check(&lim, "203.0.113.9", "kim@example.test", 3,
	    203.0, &prior), AUTH_REASON_NONE);
	assert_int_equal(prior, 0);
	assert_int_equal(auth_limits_check(&lim, "198.51.100.0", "x@example.test", 1,
	    203.0, &prior), AUTH_REASON_IP_LIMIT);
}

/* More keys than slots: the table stays bounded and the newest count. */
static void
test_limits_eviction(void **state)
{
	char ip[32];
	unsigned prior;

	(void)state;
	memset(&lim, 0, sizeof(lim));
	auth_limits_record(&lim, "192.0.2.200", "a@example.test", false, 1.0);
	for (int i = 0; i < AUTH_LIMIT_SLOTS + 10; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
		auth_limits_record(&lim, ip, "b@example.test", false, 10.0 + i);
	}
	/* the oldest went first */
	assert_int_equal(auth_limits_check(&lim, "192.0.2.200", "c@example.test", 1,
	    5000.0, &prior), AUTH_REASON_NONE);
	snprintf(ip, sizeof(ip), "10.%d.%d.1", (AUTH_LIMIT_SLOTS + 9) / 256,
	    (AUTH_LIMIT_SLOTS + 9) % 256);
	assert_int_equal(auth_limits_check(&lim, ip, "c@example.test", 1,
	    AUTH_LIMIT_SLOTS + 20.0, &prior), AUTH_REASON_IP_LIMIT);
}

static void
test_delay(void **state)
{
	static const struct { unsigned prior, ms; } cases[] = {
		{ 0, 0 }, { 1, 250 }, { 2, 500 }, { 3, 1000 }, { 4, 2000 },
		{ 5, 4000 }, { 6, 4000 }, { 1000, 4000 }, { 4000000000u, 4000 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (auth_delay_ms(cases[i].prior) != cases[i].ms)
			fail_msg("prior %u: got %u, want %u", cases[i].prior,
			    auth_delay_ms(cases[i].prior), cases[i].ms);
}

/* ---- sender ownership ------------------------------------------------------ */

static struct test_store ts;

static void
fill_store(void)
{
	struct store_txn *t;

	assert_int_equal(store_begin_write(ts.st, &t), STORE_OK);
	test_put_user(t, "kim@example.test");
	test_put_user(t, "lee@example.test");
	test_put_user(t, "kim-work@example.test");	/* a separate user */
	test_put_alias(t, "team@example.test", "kim@example.test,lee@example.test");
	test_put_alias(t, "sales@example.test", "team@example.test");
	test_put_alias(t, "leeonly@example.test", "lee@example.test");
	test_put_domain(t, "catch.test", "kim@example.test");
	test_put_block(t, "kim+leaked@example.test", "kim@example.test");
	assert_int_equal(store_commit(t), STORE_OK);
}

struct sender_case {
	const char		*user;
	const char		*address;
	enum sender_result	 want;
};

static const struct sender_case sender_cases[] = {
	{ "kim@example.test",	"kim@example.test",		SENDER_OWNED },
	{ "kim@example.test",	"KIM@Example.TEST",		SENDER_OWNED },
	{ "KIM@example.test",	"kim@example.test",		SENDER_OWNED },
	{ "kim@example.test",	"kim+news@example.test",	SENDER_OWNED },
	{ "kim@example.test",	"kim+leaked@example.test",	SENDER_OWNED },	/* burnt, still hers */
	{ "kim@example.test",	"team@example.test",		SENDER_OWNED },
	{ "kim@example.test",	"team+x@example.test",		SENDER_OWNED },
	{ "kim@example.test",	"sales@example.test",		SENDER_OWNED },	/* alias of alias */
	{ "lee@example.test",	"team@example.test",		SENDER_OWNED },
	{ "kim@example.test",	"leeonly@example.test",		SENDER_NOT_OWNED },
	{ "kim@example.test",	"lee@example.test",		SENDER_NOT_OWNED },
	{ "kim@example.test",	"lee+kim@example.test",		SENDER_NOT_OWNED },
	{ "lee@example.test",	"kim@example.test",		SENDER_NOT_OWNED },
	/* the exact name wins over the subaddress reading */
	{ "kim@example.test",	"kim-work@example.test",	SENDER_NOT_OWNED },
	{ "kim-work@example.test", "kim-work@example.test",	SENDER_OWNED },
	/* never via a catch-all, never outside our domains */
	{ "kim@example.test",	"anything@catch.test",		SENDER_NOT_OWNED },
	{ "kim@example.test",	"nobody@example.test",		SENDER_NOT_OWNED },
	{ "kim@example.test",	"kim@other.test",		SENDER_NOT_OWNED },
	{ "kim@example.test",	"kim@[192.0.2.1]",		SENDER_NOT_OWNED },
	{ "kim@example.test",	"kim\xe2\x82\xac" "example.test", SENDER_NOT_OWNED },
	{ "kim@example.test",	"",				SENDER_NOT_OWNED },
};

static void
test_sender(void **state)
{
	struct config cfg;
	enum store_status s;

	(void)state;
	test_config(&cfg, "");	/* delimiters "+-" by default */
	test_store_open(&ts);
	fill_store();
	for (size_t i = 0; i < sizeof(sender_cases) / sizeof(sender_cases[0]); i++) {
		const struct sender_case *c = &sender_cases[i];
		enum sender_result r = sender_check(ts.st, &cfg, c->user, c->address, &s);
		if (r != c->want)
			fail_msg("%s as %s: got %d, want %d", c->user, c->address, r, c->want);
		assert_int_equal(s, STORE_OK);
	}
	test_store_close(&ts);
}

/* ---- the pool over a real link ------------------------------------------- */

struct answers {
	int		n;
	uint64_t	req[64];
	enum auth_result res[64];
	double		at[64];
};

static struct answers got;
static struct event_base *base;

static void
on_answer(struct ipc_link *l, struct ipc_frame *f, void *arg)
{
	enum auth_result r;
	const char *why;

	(void)l;
	(void)arg;
	assert_int_equal(f->type, MSG_AUTH_ANSWER);
	assert_int_equal(ipc_decode_auth_answer(f, &r, &why), 0);
	got.req[got.n] = f->req_id;
	got.res[got.n] = r;
	got.at[got.n] = mono_now();
	got.n++;
}

static void
on_close(struct ipc_link *l, void *arg)
{
	(void)l;
	(void)arg;
}

static void
wait_answers(int n, double timeout)
{
	double end = mono_now() + timeout;

	while (got.n < n && mono_now() < end)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static void
ask(struct ipc_link *lookup_side, const char *user, const char *password, uint64_t id)
{
	struct msg_auth_ask a;

	memset(&a, 0, sizeof(a));
	snprintf(a.user, sizeof(a.user), "%s", user);
	snprintf(a.password, sizeof(a.password), "%s", password);
	snprintf(a.client_ip, sizeof(a.client_ip), "192.0.2.55");
	auth_start(ts.st, 3, &a, lookup_side, id);
	assert_int_equal(a.password[0], '\0');	/* wiped */
}

static void
put_password_user(const char *address, const char *password)
{
	struct store_user u = { 0 };
	struct store_txn *t;

	snprintf(u.address, sizeof(u.address), "%s", address);
	assert_int_equal(crypto_pwhash_str(u.hash, password, strlen(password),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE), 0);
	assert_int_equal(store_begin_write(ts.st, &t), STORE_OK);
	assert_int_equal(store_put_user(t, &u), STORE_OK);
	assert_int_equal(store_commit(t), STORE_OK);
}

static void
test_pool(void **state)
{
	int sv[2];
	struct ipc_link *lk, *sub;
	double t0;

	(void)state;
	assert_true(sodium_init() >= 0);
	test_store_open(&ts);
	put_password_user("kim@example.test", "correct horse");
	assert_non_null(base = event_base_new());
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	lk = ipc_link_new(base, sv[0], ROLE_LOOKUP, ROLE_SUBMISSION, on_answer, on_close, NULL);
	sub = ipc_link_new(base, sv[1], ROLE_SUBMISSION, ROLE_LOOKUP, on_answer, on_close, NULL);
	auth_init(base);
	memset(&got, 0, sizeof(got));

	/* right password; the login name is normalized */
	ask(lk, "Kim@EXAMPLE.test", "correct horse", 1);
	wait_answers(1, 10);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.req[0], 1);
	assert_int_equal(got.res[0], AUTH_OK);

	/* wrong password, then unknown user: both AUTH_BAD, the second one
	 * after the growing delay (one failure so far from this IP) */
	t0 = mono_now();
	ask(lk, "kim@example.test", "correct horsE", 2);
	wait_answers(2, 10);
	assert_int_equal(got.res[1], AUTH_BAD);
	ask(lk, "ghost@example.test", "whatever", 3);
	wait_answers(3, 10);
	assert_int_equal(got.res[2], AUTH_BAD);
	assert_true(got.at[2] - got.at[1] >= 0.25);
	ask(lk, "not an address", "x", 4);
	wait_answers(4, 10);
	assert_int_equal(got.res[3], AUTH_BAD);
	/* three failures from 192.0.2.55: even the right password is refused */
	ask(lk, "kim@example.test", "correct horse", 5);
	wait_answers(5, 10);
	assert_int_equal(got.res[4], AUTH_RATELIMITED);
	assert_true(mono_now() - t0 < 10);

	/* a link that goes away gets no answer, and nothing breaks */
	ask(lk, "kim@example.test", "x", 6);
	auth_forget_link(lk);
	wait_answers(6, 3);
	assert_int_equal(got.n, 5);

	auth_shutdown();
	ipc_link_free(lk);
	ipc_link_free(sub);
	event_base_free(base);
	test_store_close(&ts);
}

/* A burst larger than the queue: the surplus fails fast with TEMPFAIL. */
static void
test_pool_full(void **state)
{
	int sv[2], n = AUTH_QUEUE_MAX + AUTH_WORKERS + 8, tempfail = 0, bad = 0;
	struct ipc_link *lk, *sub;
	char user[64];

	(void)state;
	test_store_open(&ts);
	assert_non_null(base = event_base_new());
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	lk = ipc_link_new(base, sv[0], ROLE_LOOKUP, ROLE_SUBMISSION, on_answer, on_close, NULL);
	sub = ipc_link_new(base, sv[1], ROLE_SUBMISSION, ROLE_LOOKUP, on_answer, on_close, NULL);
	auth_init(base);
	memset(&got, 0, sizeof(got));
	for (int i = 0; i < n; i++) {
		struct msg_auth_ask a;
		memset(&a, 0, sizeof(a));
		snprintf(user, sizeof(user), "u%d@example.test", i);
		snprintf(a.user, sizeof(a.user), "%s", user);
		snprintf(a.password, sizeof(a.password), "pw");
		/* distinct IPs: no rate limit gets in the way */
		snprintf(a.client_ip, sizeof(a.client_ip), "198.51.100.%d", i);
		auth_start(ts.st, 100, &a, lk, (uint64_t)(100 + i));
	}
	wait_answers(n, 60);
	assert_int_equal(got.n, n);
	for (int i = 0; i < got.n; i++) {
		tempfail += got.res[i] == AUTH_TEMPFAIL;
		bad += got.res[i] == AUTH_BAD;
	}
	/* at least the queue's worth was verified, the rest refused at once */
	assert_true(tempfail >= n - AUTH_QUEUE_MAX - AUTH_WORKERS);
	assert_true(bad >= AUTH_QUEUE_MAX);
	assert_int_equal(tempfail + bad, n);
	auth_shutdown();
	ipc_link_free(lk);
	ipc_link_free(sub);
	event_base_free(base);
	test_store_close(&ts);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip_key),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_limits_eviction),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_sender),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_pool_full),
	};

	log_init("auth_test", LOG_SINK_STDERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
