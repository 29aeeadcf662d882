/*
 * lookup/store_test.c - lib/store.c against a real temporary environment,
 * and the password check halves of lookup/auth.c.
 *
 * Tables: keys that must be refused (not normalized: '€' for '@',
 * uppercase, quoted local parts, literals), record round trips at their
 * size limits, iteration order, aborts that leave nothing, persistence
 * across a close, subaddress bases, and Argon2id verification.
 */
#include <sodium.h>

#include "auth.h"
#include "testutil.h"

static struct test_store ts;

static int
setup(void **state)
{
	(void)state;
	test_store_open(&ts);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	test_store_close(&ts);
	return 0;
}

static void
test_refuses_unnormalized_keys(void **state)
{
	static const char *const bad_addresses[] = {
		"kim\xe2\x82\xac" "example.test", "Kim@example.test", "kim@Example.test",
		"\"kim\"@example.test", "kim@[127.0.0.1]", "kim", "@example.test",
		"kim@", "ki\xcc\x88m@example.test" /* NFD */, "k\xefm@example.test",
		"kim@b\xc3\xbc" "cher.example",
		"kim..x@example.test", "kim @example.test", "",
		"j\xc3\x9crgen@example.test" /* "jÜrgen": not folded */,
		"\xc4\xb0pek@example.test" /* "İpek": folds to "i̇pek" */,
	};
	static const char *const bad_domains[] = {
		"Example.test", "a_b.test", "b\xc3\xbc" "cher.example", "", "-a.test",
		"a..test", "[127.0.0.1]",
	};
	struct store_txn *t;
	struct store_user u;

	(void)state;
	assert_int_equal(store_begin_write(ts.st, &t), STORE_OK);
	for (size_t i = 0; i < sizeof(bad_addresses) / sizeof(bad_addresses[0]); i++) {
		struct store_user nu = { 0 };
		struct store_alias a = { 0 };
		struct store_block b = { 0 };
		struct store_domain d = { 0 };

		snprintf(nu.address, sizeof(nu.address), "%s", bad_addresses[i]);
		snprintf(a.address, sizeof(a.address), "ok@example.test");
		a.ntargets = 1;
		snprintf(a.targets[0], sizeof(a.targets[0]), "%s", bad_addresses[i]);
		snprintf(b.address, sizeof(b.address), "%s", bad_addresses[i]);
		snprintf(b.base, sizeof(b.base), "kim@example.test");
		snprintf(d.name, sizeof(d.name), "example.test");
		snprintf(d.catchall, sizeof(d.catchall), "%s", bad_addresses[i]);
		if (store_put_user(t, &nu) != STORE_ERROR ||
		    store_put_alias(t, &a) != STORE_ERROR ||
		    store_put_block(t, &b) != STORE_ERROR ||
		    (bad_addresses[i][0] != '\0' && store_put_domain(t, &d) != STORE_ERROR))
			fail_msg("'%s' was accepted as a key", bad_addresses[i]);
		assert_non_null(strstr(store_error(ts.st), "not normalized"));
	}
	for (size_t i = 0; i < sizeof(bad_domains) / sizeof(bad_domains[0]); i++) {
		struct store_domain d = { 0 };
		snprintf(d.name, sizeof(d.name), "%s", bad_domains[i]);
		if (store_put_domain(t, &d) != STORE_ERROR)
			fail_msg("domain '%s' was accepted", bad_domains[i]);
	}
	assert_int_equal(store_commit(t), STORE_OK);
	assert_int_equal(store_begin_read(ts.st, &t), STORE_OK);
	assert_int_equal(store_get_user(t, "kim\xe2\x82\xac" "example.test", &u), STORE_NOTFOUND);
	assert_int_equal(store_get_user(t, "Kim@example.test", &u), STORE_NOTFOUND);
	store_abort(t);
}

static void
test_round_trips(void **state)
{
	static struct store_alias a, got_a;
	struct store_domain d = { 0 }, got_d;
	struct store_user u = { 0 }, got_u;
	struct store_block b = { 0 }, got_b;
	struct store_txn *t;
	char local[65];

	(void)state;
	memset(local, 'x', 64);
	local[64] = '\0';
	snprintf(d.name, sizeof(d.name), "example.test");
	snprintf(d.catchall, sizeof(d.catchall), "kim@example.test");
	snprintf(u.address, sizeof(u.address), "kim@example.test");
	snprintf(u.hash, sizeof(u.hash), "$argon2id$v=19$m=65536,t=2,p=1$YWJj$ZGVm");
	snprintf(a.address, sizeof(a.address), "team@example.test");
	/* 32 targets of 64 + 1 + a long domain: the largest alias row */
	a.ntargets = STORE_ALIAS_TARGETS_MAX;
	for (unsigned i = 0; i < a.ntargets; i++) {
		char long_target[512];
		int n = snprintf(long_target, sizeof(long_target), "%s@d%02u.%.58s.%.58s.%.58s.test",
		    local, i, local, local, local);
		assert_true(n == 250 && (size_t)n < sizeof(a.targets[i]));
		memcpy(a.targets[i], long_target, (size_t)n + 1);
	}
	snprintf(b.address, sizeof(b.address), "kim-leaked@example.test");
	snprintf(b.base, sizeof(b.base), "kim@example.test");
	/* RFC 6531: a UTF-8 (NFC) local part is a normalized key. */
	struct store_user uu = { 0 };
	snprintf(uu.address, sizeof(uu.address), "j\xc3\xbcrgen@xn--bcher-kva.example");
	snprintf(uu.hash, sizeof(uu.hash), "%s", u.hash);

	assert_int_equal(store_begin_write(ts.st, &t), STORE_OK);
	assert_int_equal(store_put_domain(t, &d), STORE_OK);
	assert_int_equal(store_put_user(t, &u), STORE_OK);
	assert_int_equal(store_put_user(t, &uu), STORE_OK);
	assert_int_equal(store_put_alias(t, &a), STORE_OK);
	assert_int_equal(store_put_block(t, &b), STORE_OK);
	assert_int_equal(store_commit(t), STORE_OK);

	assert_int_equal(store_begin_read(ts.st, &t), STORE_OK);
	assert_int_equal(store_get_domain(t, "example.test", &got_d), STORE_OK);
	assert_string_equal(got_d.catchall, "kim@example.test");
	assert_int_equal(store_get_user(t, "kim@example.test", &got_u), STORE_OK);
	assert_string_equal(got_u.hash, u.hash);
	assert_int_equal(store_get_user(t, "j\xc3\xbcrgen@xn--bcher-kva.example", &got_u),
	    STORE_OK);
	assert_int_equal(store_get_alias(t, "team@example.test", &got_a), STORE_OK);
	assert_int_equal(got_a.ntargets, STORE_ALIAS_TARGETS_MAX);
	for (unsigned i = 0; i < a.ntargets; i++)
		assert_string_equal(got_a.targets[i], a.targets[i]);
	assert_int_equal(store_get_block(t, "kim-leaked@example.test", &got_b), STORE_OK);
	assert_string_equal(got_b.base, "kim@example.test");
	assert_int_equal(store_name_exists(t, "team@example.test"), STORE_OK);
	assert_int_equal(store_name_exists(t, "kim@example.test"), STORE_OK);
	assert_int_equal(store_name_exists(t, "kim-leaked@example.test"), STORE_NOTFOUND);
	store_abort(t);

	/* 33 targets do not fit */
	a.ntargets = STORE_ALIAS_TARGETS_MAX + 1;
	assert_int_equal(store_begin_write(ts.st, &t), STORE_OK);
	assert_int_equal(store_put_alias(t, &a), STORE_ERROR);
	store_abort(t);
}

static void
test_abort_leaves_nothing(void **state)
{
	struct store_txn *t;
	struct store_user u;

	(void)state;
	assert_int_equal(store_begin_write(ts.st, &t), STORE_OK);
	test_put_user(t, "gone@example.test");
	assert_int_equal(store_get_user(t, "gone@example.test", &u), STORE_OK);
	store_abort(t);
	assert_int_equal(store_begin_read(ts.st, &t), STORE_OK);
	assert_int_equal(store_get_user(t, "gone@example.test", &u), STORE_NOTFOUND);
	store_abort(t);
	assert_int_equal(store_begin_write(ts.st, &t), STORE_OK);
	assert_int_equal(store_del_user(t, "gone@example.test"), STORE_NOTFOUND);
	store_abort(t);
}

struct collect {
	char	 text[4096];
	int	 stop_after;
	int	 seen;
};

static int
collect_user(const struct store_user *u, void *arg)
{
	struct collect *c = arg;
	size_t n = strlen(c->text);

	snprintf(c->text + n, sizeof(c->text) - n, "%s;", u->address);
	return ++c->seen == c->stop_after;
}

static void
test_iteration(void **state)
{
	static const char *const names[] = { "zed@a.test", "amy@b.test", "amy@a.test",
	    "bob@a.test" };
	struct collect c = { "", 0, 0 };
	struct store_txn *t;

	(void)state;
	assert_int_equal(store_begin_write(ts.st, &t), STORE_OK);
	for (size_t i = 0; i < 4; i++)
		test_put_user(t, names[i]);
	assert_int_equal(store_commit(t), STORE_OK);
	assert_int_equal(store_begin_read(ts.st, &t), STORE_OK);
	assert_int_equal(store_each_user(t, collect_user, &c), STORE_OK);
	assert_non_null(strstr(c.text, "amy@a.test;amy@b.test;bob@a.test;"));
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	assert_int_equal(store_each_user(t, collect_user, &c), STORE_OK);
	assert_int_equal(c.seen, 2);
	store_abort(t);
}

static void
test_find_base_and_expand(void **state)
{
	static const struct { const char *local, *want; } rows[] = {
		{ "a-b-c", "a-b@sub.test" },
		{ "a-b+c", "a-b@sub.test" },
		{ "a+b-c", "a@sub.test" },
		{ "a-x-y", "a@sub.test" },
		{ "a", "" },
		{ "-a", "" },
		{ "b-a", "" },
		{ "a_b", "" },
	};
	struct store_mailboxes m;
	struct store_txn *t;
	char base[ADDR_MAX + 1];

	(void)state;
	assert_int_equal(store_begin_write(ts.st, &t), STORE_OK);
	test_put_user(t, "a@sub.test");
	test_put_user(t, "a-b@sub.test");
	test_put_alias(t, "both@sub.test", "a-b@sub.test,a@sub.test,a-b@sub.test");
	assert_int_equal(store_commit(t), STORE_OK);
	assert_int_equal(store_begin_read(ts.st, &t), STORE_OK);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		enum store_status s = store_find_base(t, rows[i].local, "sub.test", "+-",
		    base, sizeof(base));
		if (s != (rows[i].want[0] ? STORE_OK : STORE_NOTFOUND) ||
		    strcmp(base, rows[i].want) != 0)
			fail_msg("%s: got %d '%s', want '%s'", rows[i].local, s, base, rows[i].want);
	}
	assert_int_equal(store_expand(t, "both@sub.test", &m), STORE_OK);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.box[0], "a-b@sub.test");
	assert_string_equal(m.box[1], "a@sub.test");
	assert_int_equal(store_expand(t, "nobody@sub.test", &m), STORE_NOTFOUND);
	store_abort(t);
}

static void
test_survives_reopen(void **state)
{
	char err[1024];
	struct store_txn *t;
	struct store_user u;

	(void)state;
	assert_int_equal(store_begin_write(ts.st, &t), STORE_OK);
	test_put_user(t, "durable@example.test");
	assert_int_equal(store_commit(t), STORE_OK);
	assert_int_equal(store_checkpoint(ts.st, true), STORE_OK);
	store_close(ts.st);
	ts.st = store_open(ts.dir, err, sizeof(err));
	assert_non_null(ts.st);
	assert_int_equal(store_begin_read(ts.st, &t), STORE_OK);
	assert_int_equal(store_get_user(t, "durable@example.test", &u), STORE_OK);
	store_abort(t);
}

static void
test_open_errors(void **state)
{
	char err[1024];

	(void)state;
	assert_null(store_open("/proc/version/store", err, sizeof(err)));
	assert_non_null(strstr(err, "/proc/version/store"));
}

static void
test_auth(void **state)
{
	char hash[crypto_pwhash_STRBYTES], got[STORE_HASH_MAX + 1];
	struct store_user u = { 0 };
	struct store_txn *t;
	enum auth_reason why;

	(void)state;
	assert_true(sodium_init() >= 0);
	assert_int_equal(crypto_pwhash_str(hash, "correct horse", 13,
	    crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE), 0);
	snprintf(u.address, sizeof(u.address), "pw@example.test");
	snprintf(u.hash, sizeof(u.hash), "%s", hash);
	assert_int_equal(store_begin_write(ts.st, &t), STORE_OK);
	assert_int_equal(store_put_user(t, &u), STORE_OK);
	test_put_user(t, "nologin@example.test");
	assert_int_equal(store_commit(t), STORE_OK);

	assert_int_equal(auth_fetch_hash(ts.st, "pw@example.test", got, &why), AUTH_OK);
	assert_int_equal(auth_verify_hash(got, "correct horse", 13), AUTH_OK);
	assert_int_equal(auth_verify_hash(got, "correct horsE", 13), AUTH_FAIL);
	assert_int_equal(auth_verify_hash(got, "correct horse", 12), AUTH_FAIL);
	assert_int_equal(auth_verify_hash(got, "", 0), AUTH_FAIL);
	assert_int_equal(auth_fetch_hash(ts.st, "nologin@example.test", got, &why), AUTH_FAIL);
	assert_int_equal(why, AUTH_REASON_NO_LOGIN);
	assert_int_equal(auth_fetch_hash(ts.st, "ghost@example.test", got, &why), AUTH_FAIL);
	assert_int_equal(why, AUTH_REASON_NO_USER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refuses_unnormalized_keys),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_abort_leaves_nothing),
		cmocka_unit_test(test_iteration),
		cmocka_unit_test(test_find_base_and_expand),
		cmocka_unit_test(test_survives_reopen),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_auth),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
