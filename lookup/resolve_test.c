/*
 * lookup/resolve_test.c - the resolution rules against a real store.
 *
 * One table row per question: address in, verdict and mailboxes out.
 * Hostile rows too (no '@', over-long, literals, leading delimiters,
 * alias loops, chains deeper than allowed, an alias that reaches too many
 * mailboxes). A forked writer that holds, then dies holding, a write
 * transaction shows that a question never waits for it and never sees it.
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include <signal.h>

#include "ipc_decode.h"
#include "resolve.h"
#include "testutil.h"

static struct test_store ts;

static void
fill_store(void)
{
	struct store_txn *t;
	char addr[64], list[2048];

	assert_int_equal(store_begin_write(ts.st, &t), STORE_OK);
	test_put_domain(t, "example.org", "");
	test_put_domain(t, "catchall.test", "kim@example.test");
	test_put_domain(t, "lostcatch.test", "ghost@example.test");
	test_put_user(t, "kim@example.test");
	test_put_user(t, "anne@example.test");
	test_put_user(t, "anne-marie@example.test");
	test_put_user(t, "k.m@example.test");
	test_put_user(t, "bob@example.org");
	test_put_user(t, "postmaster@catchall.test");
	test_put_alias(t, "team@example.test", "kim@example.test,anne-marie@example.test");
	test_put_alias(t, "all@example.test",
	    "team@example.test,bob@example.org,kim@example.test");
	test_put_alias(t, "loop1@example.test", "loop2@example.test");
	test_put_alias(t, "loop2@example.test", "loop1@example.test,kim@example.test");
	test_put_alias(t, "selfish@example.test", "selfish@example.test");
	test_put_alias(t, "ghostly@example.test", "ghost@example.test");
	test_put_alias(t, "half-ghost@example.test", "ghost@example.test,anne@example.test");
	test_put_alias(t, "kim-shop@example.test", "anne@example.test");
	/* UTF-8 local parts, stored folded (lowercase, NFC) */
	test_put_user(t, "j\xc3\xbcrgen@example.test");		/* jürgen */
	test_put_user(t, "strau\xc3\x9f@example.test");		/* strauß */
	test_put_alias(t, "\xc3\xa9quipe@example.test", "j\xc3\xbcrgen@example.test");
	test_put_domain(t, "xn--bcher-kva.example", "j\xc3\xbcrgen@example.test");
	/* d0 -> d1 -> ... -> d7 -> kim: 8 alias levels, allowed.
	 * e0 -> ... -> e8 -> kim: 9 levels, the user is out of reach. */
	for (int i = 0; i < 8; i++) {
		snprintf(addr, sizeof(addr), "d%d@example.test", i);
		snprintf(list, sizeof(list), i == 7 ? "kim@example.test" : "d%d@example.test", i + 1);
		test_put_alias(t, addr, list);
	}
	for (int i = 0; i < 9; i++) {
		snprintf(addr, sizeof(addr), "e%d@example.test", i);
		snprintf(list, sizeof(list), i == 8 ? "kim@example.test" : "e%d@example.test", i + 1);
		test_put_alias(t, addr, list);
	}
	/* big1 and big2 reach 20 users each: together more than 32. */
	for (int half = 1; half <= 2; half++) {
		size_t off = 0;
		for (int i = 0; i < 20; i++) {
			snprintf(addr, sizeof(addr), "u%d-%d@example.org", half, i);
			test_put_user(t, addr);
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
			    i ? "," : "", addr);
		}
		snprintf(addr, sizeof(addr), "big%d@example.org", half);
		test_put_alias(t, addr, list);
	}
	test_put_alias(t, "big@example.org", "big1@example.org,big2@example.org");
	test_put_block(t, "kim-leaked@example.test", "kim@example.test");
	test_put_block(t, "team+spam@example.test", "team@example.test");
	assert_int_equal(store_commit(t), STORE_OK);
}

static int
setup(void **state)
{
	(void)state;
	test_store_open(&ts);
	fill_store();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	test_store_close(&ts);
	return 0;
}

struct resolve_case {
	const char		*address;
	enum resolve_verdict	 verdict;
	const char		*mailboxes;	/* comma-joined, in order */
};

static const struct resolve_case cases[] = {
	/* rule 1: is the domain ours (config or store)? */
	{ "kim@example.net",			RESOLVE_NOT_LOCAL,	"" },
	{ "kim@[127.0.0.1]",			RESOLVE_NOT_LOCAL,	"" },
	{ "kim@sub.example.test",		RESOLVE_NOT_LOCAL,	"" },
	{ "bob@example.org",			RESOLVE_LOCAL,		"bob@example.org" },
	{ "nobody@example.org",			RESOLVE_UNKNOWN_USER,	"" },
	/* lowercase first */
	{ "KIM@Example.TEST",			RESOLVE_LOCAL,		"kim@example.test" },
	{ "Bob@EXAMPLE.ORG",			RESOLVE_LOCAL,		"bob@example.org" },
	/* rule 2: burnt subaddresses, whatever the case */
	{ "kim-leaked@example.test",		RESOLVE_BLOCKED,	"" },
	{ "KIM-Leaked@example.test",		RESOLVE_BLOCKED,	"" },
	{ "team+spam@example.test",		RESOLVE_BLOCKED,	"" },
	{ "kim+leaked@example.test",		RESOLVE_LOCAL,		"kim@example.test" },
	{ "kim-other@example.test",		RESOLVE_LOCAL,		"kim@example.test" },
	{ "team+ham@example.test",		RESOLVE_LOCAL,		"kim@example.test,anne-marie@example.test" },
	/* rule 3: exact user or alias */
	{ "kim@example.test",			RESOLVE_LOCAL,		"kim@example.test" },
	{ "k.m@example.test",			RESOLVE_LOCAL,		"k.m@example.test" },
	{ "anne-marie@example.test",		RESOLVE_LOCAL,		"anne-marie@example.test" },
	{ "team@example.test",			RESOLVE_LOCAL,		"kim@example.test,anne-marie@example.test" },
	{ "all@example.test",			RESOLVE_LOCAL,		"kim@example.test,anne-marie@example.test,bob@example.org" },
	{ "loop1@example.test",			RESOLVE_LOCAL,		"kim@example.test" },
	{ "selfish@example.test",		RESOLVE_UNKNOWN_USER,	"" },
	{ "ghostly@example.test",		RESOLVE_UNKNOWN_USER,	"" },
	{ "half-ghost@example.test",		RESOLVE_LOCAL,		"anne@example.test" },
	{ "d0@example.test",			RESOLVE_LOCAL,		"kim@example.test" },
	{ "e0@example.test",			RESOLVE_UNKNOWN_USER,	"" },
	{ "big@example.org",			RESOLVE_TEMPFAIL,	"" },
	{ "big1@example.org",			RESOLVE_LOCAL,		NULL },	/* 20 */
	/* an alias named like a subaddress wins over the subaddress */
	{ "kim-shop@example.test",		RESOLVE_LOCAL,		"anne@example.test" },
	/* rule 4: subaddresses, rightmost delimiter first */
	{ "kim+tag@example.test",		RESOLVE_LOCAL,		"kim@example.test" },
	{ "kim-tag@example.test",		RESOLVE_LOCAL,		"kim@example.test" },
	{ "kim+a+b@example.test",		RESOLVE_LOCAL,		"kim@example.test" },
	{ "kim-shop-name@example.test",		RESOLVE_LOCAL,		"anne@example.test" },	/* base kim-shop */
	{ "kim-store-name@example.test",	RESOLVE_LOCAL,		"kim@example.test" },
	{ "kim+x-y@example.test",		RESOLVE_LOCAL,		"kim@example.test" },
	{ "anne-marie-shop@example.test",	RESOLVE_LOCAL,		"anne-marie@example.test" },
	{ "anne-marie+shop@example.test",	RESOLVE_LOCAL,		"anne-marie@example.test" },
	{ "anne-shop@example.test",		RESOLVE_LOCAL,		"anne@example.test" },
	{ "anne-marion@example.test",		RESOLVE_LOCAL,		"anne@example.test" },
	{ "kim+@example.test",			RESOLVE_LOCAL,		"kim@example.test" },
	{ "kim-leaked-more@example.test",	RESOLVE_LOCAL,		"kim@example.test" },
	{ "+kim@example.test",			RESOLVE_UNKNOWN_USER,	"" },
	{ "-kim@example.test",			RESOLVE_UNKNOWN_USER,	"" },
	{ "kim_tag@example.test",		RESOLVE_UNKNOWN_USER,	"" },
	{ "kim.tag@example.test",		RESOLVE_UNKNOWN_USER,	"" },
	{ "kimtag@example.test",		RESOLVE_UNKNOWN_USER,	"" },
	{ "bob+x@example.org",			RESOLVE_LOCAL,		"bob@example.org" },
	{ "bob+x@example.test",			RESOLVE_UNKNOWN_USER,	"" },
	/* rule 5: catch-all, after everything else */
	{ "whoever@catchall.test",		RESOLVE_LOCAL,		"kim@example.test" },
	{ "postmaster@catchall.test",		RESOLVE_LOCAL,		"postmaster@catchall.test" },
	{ "postmaster+x@catchall.test",		RESOLVE_LOCAL,		"postmaster@catchall.test" },
	{ "whoever@lostcatch.test",		RESOLVE_UNKNOWN_USER,	"" },
	/* folding beyond ASCII: the key is lowercase (any script) and NFC */
	{ "J\xc3\x9cRGEN@example.test",		RESOLVE_LOCAL,		"j\xc3\xbcrgen@example.test" },
	{ "JU\xcc\x88RGEN@EXAMPLE.test",		RESOLVE_LOCAL,		"j\xc3\xbcrgen@example.test" },	/* NFD */
	{ "ju\xcc\x88rgen@example.test",		RESOLVE_LOCAL,		"j\xc3\xbcrgen@example.test" },
	{ "J\xc3\x9cRGEN+Shop@example.test",	RESOLVE_LOCAL,		"j\xc3\xbcrgen@example.test" },
	{ "J\xc3\x9cRGEN-\xc3\x84@example.test",	RESOLVE_LOCAL,		"j\xc3\xbcrgen@example.test" },
	{ "\xc3\x89QUIPE@example.test",		RESOLVE_LOCAL,		"j\xc3\xbcrgen@example.test" },
	{ "STRAU\xc3\x9f@example.test",		RESOLVE_LOCAL,		"strau\xc3\x9f@example.test" },
	{ "STRAU\xe1\xba\x9e@example.test",	RESOLVE_LOCAL,		"strau\xc3\x9f@example.test" },	/* capital sharp s */
	{ "STRAUSS@example.test",		RESOLVE_UNKNOWN_USER,	"" },	/* ß is not ss */
	{ "J\xc3\x9cRGEN@xn--bcher-kva.example",	RESOLVE_LOCAL,		"j\xc3\xbcrgen@example.test" },	/* catch-all */
	/* 32 x "İ" is 64 octets, 96 once lowercased: no key, but the domain
	 * is still ours */
	{ "\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0"
	  "\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0\xc4\xb0@example.test",
						RESOLVE_UNKNOWN_USER,	"" },
	{ "k\xe4m@example.test",			RESOLVE_UNKNOWN_USER,	"" },	/* Latin-1 */
	/* hostile */
	{ "no-at-sign",				RESOLVE_NOT_LOCAL,	"" },
	{ "@example.test",			RESOLVE_NOT_LOCAL,	"" },
	{ "kim@",				RESOLVE_NOT_LOCAL,	"" },
	{ "\"kim tag\"@example.test",		RESOLVE_UNKNOWN_USER,	"" },
	{ "\"kim@x\"@example.test",		RESOLVE_UNKNOWN_USER,	"" },
	{ "kim%example.net@example.test",	RESOLVE_UNKNOWN_USER,	"" },
	{ "kim@example.test@example.net",	RESOLVE_NOT_LOCAL,	"" },
};

static void
join_mailboxes(const struct msg_resolve_answer *a, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < a->nmailbox && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? "," : "",
		    a->mailbox[i]);
}

static void
run_cases(const struct config *cfg, const struct resolve_case *rows, size_t n)
{
	static struct msg_resolve_answer ans;
	char got[8192];
	enum store_status ss;
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		enum resolve_verdict v = resolve_address(ts.st, cfg, rows[i].address, &ans, &ss);
		join_mailboxes(&ans, got, sizeof(got));
		if (v != rows[i].verdict || ans.verdict != v ||
		    (rows[i].mailboxes != NULL && strcmp(got, rows[i].mailboxes) != 0)) {
			print_error("%s: got %s [%s], want %s [%s]\n", rows[i].address,
			    resolve_verdict_name(v), got, resolve_verdict_name(rows[i].verdict),
			    rows[i].mailboxes ? rows[i].mailboxes : "*");
			bad++;
		}
		if (v == RESOLVE_LOCAL)
			assert_true(ans.nmailbox > 0 && ans.nmailbox <= IPC_MAX_MAILBOXES);
		else
			assert_int_equal(ans.nmailbox, 0);
	}
	assert_int_equal(bad, 0);
}

static void
test_rules(void **state)
{
	struct config cfg;

	(void)state;
	test_config(&cfg, "");
	run_cases(&cfg, cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_delimiters_from_config(void **state)
{
	static const struct resolve_case plus_only[] = {
		{ "kim+tag@example.test",	RESOLVE_LOCAL,		"kim@example.test" },
		{ "kim-tag@example.test",	RESOLVE_UNKNOWN_USER,	"" },
		{ "anne-marie+x@example.test",	RESOLVE_LOCAL,		"anne-marie@example.test" },
		{ "anne-marion@example.test",	RESOLVE_UNKNOWN_USER,	"" },
	};
	static const struct resolve_case equals[] = {
		{ "kim=tag@example.test",	RESOLVE_LOCAL,		"kim@example.test" },
		{ "kim_tag@example.test",	RESOLVE_LOCAL,		"kim@example.test" },
		{ "kim+tag@example.test",	RESOLVE_UNKNOWN_USER,	"" },
	};
	static const struct resolve_case none[] = {
		{ "kim+tag@example.test",	RESOLVE_UNKNOWN_USER,	"" },
		{ "kim@example.test",		RESOLVE_LOCAL,		"kim@example.test" },
	};
	struct config cfg;

	(void)state;
	test_config(&cfg, "subaddress_delimiters +\n");
	run_cases(&cfg, plus_only, sizeof(plus_only) / sizeof(plus_only[0]));
	test_config(&cfg, "subaddress_delimiters =_\n");
	run_cases(&cfg, equals, sizeof(equals) / sizeof(equals[0]));
	test_config(&cfg, "subaddress_delimiters \"\"\n");
	run_cases(&cfg, none, sizeof(none) / sizeof(none[0]));
}

static void
test_config_domain_needs_no_store_row(void **state)
{
	static const struct resolve_case rows[] = {
		{ "kim@example.test",	RESOLVE_NOT_LOCAL,	"" },	/* not listed */
		{ "bob@example.org",	RESOLVE_LOCAL,		"bob@example.org" },
	};
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	const char *text = "listen smtp 127.0.0.1:25\ndomain other.test\n";

	(void)state;
	assert_int_equal(config_parse("t", text, strlen(text), &cfg, err, sizeof(err)), 0);
	run_cases(&cfg, rows, 2);
}

/* A change is visible to the next question, without reopening anything. */
static void
test_changes_take_effect(void **state)
{
	static const struct resolve_case before[] = {
		{ "new@example.test",		RESOLVE_UNKNOWN_USER,	"" },
		{ "new-x@example.test",		RESOLVE_UNKNOWN_USER,	"" },
		{ "new@fresh.test",		RESOLVE_NOT_LOCAL,	"" },
	};
	static const struct resolve_case after[] = {
		{ "new@example.test",		RESOLVE_LOCAL,		"new@example.test" },
		{ "new-x@example.test",		RESOLVE_LOCAL,		"new@example.test" },
		{ "new@fresh.test",		RESOLVE_UNKNOWN_USER,	"" },
	};
	struct store_txn *t;
	struct config cfg;

	(void)state;
	test_config(&cfg, "");
	run_cases(&cfg, before, 3);
	assert_int_equal(store_begin_write(ts.st, &t), STORE_OK);
	test_put_user(t, "new@example.test");
	test_put_domain(t, "fresh.test", "");
	assert_int_equal(store_commit(t), STORE_OK);
	run_cases(&cfg, after, 3);
	assert_int_equal(store_begin_write(ts.st, &t), STORE_OK);
	assert_int_equal(store_del_user(t, "new@example.test"), STORE_OK);
	assert_int_equal(store_del_domain(t, "fresh.test"), STORE_OK);
	assert_int_equal(store_commit(t), STORE_OK);
	run_cases(&cfg, before, 3);
}

static void
on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "resolve blocked on a writer's locks\n";
	ssize_t w = write(2, msg, sizeof(msg) - 1);
	_exit(w > 0 ? 3 : 4);
}

/*
 * A writer in another process holds an uncommitted write, then is killed
 * with SIGKILL: questions neither wait for it nor see its data, and
 * failchk cleans up after it (doc/libraries.md section 5).
 */
static void
test_dead_writer(void **state)
{
	static const struct resolve_case invisible[] = {
		{ "ghostwriter@example.test",	RESOLVE_UNKNOWN_USER,	"" },
		{ "kim@example.test",		RESOLVE_LOCAL,		"kim@example.test" },
	};
	int ready[2];
	char c;
	pid_t pid;
	struct config cfg;
	struct store_txn *t;

	(void)state;
	test_config(&cfg, "");
	assert_int_equal(pipe(ready), 0);
	if ((pid = fork()) == 0) {
		char err[512];
		/* never outlive a failed parent: it would hold the pipe open */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		struct store *w = store_open(ts.dir, err, sizeof(err));
		if (w == NULL || store_begin_write(w, &t) != STORE_OK)
			_exit(1);
		for (int i = 0; i < 500; i++) {
			char a[64];
			snprintf(a, sizeof(a), "gw%d@example.test", i);
			test_put_user(t, a);
		}
		test_put_user(t, "ghostwriter@example.test");
		test_put_user(t, "kim@example.test");	/* a page the reader needs */
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	signal(SIGALRM, on_alarm);
	alarm(20);
	run_cases(&cfg, invisible, 2);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (int i = 0; i < 3 && store_failchk(ts.st) != STORE_OK; i++)
		;	/* the first call after a crash may say busy once */
	assert_int_equal(store_failchk(ts.st), STORE_OK);
	run_cases(&cfg, invisible, 2);
	/* and a new writer gets the locks the dead one held */
	assert_int_equal(store_begin_write(ts.st, &t), STORE_OK);
	test_put_user(t, "after@example.test");
	assert_int_equal(store_commit(t), STORE_OK);
	alarm(0);
	close(ready[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_delimiters_from_config),
		cmocka_unit_test(test_config_domain_needs_no_store_row),
		cmocka_unit_test(test_changes_take_effect),
		cmocka_unit_test(test_dead_writer),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
