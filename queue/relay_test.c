/*
 * queue/relay_test.c - grouping the remote recipients of one message by
 * domain (relay_group_by_domain in queue/relay.c), table-driven.
 *
 * Owns: the proof that one MSG_QUEUE_RELAY goes out per (message, domain):
 * domains compare case-insensitively, only the wanted recipients are
 * grouped, groups are numbered in order of first appearance, and the
 * domain is what follows the last '@' (a quoted local part may hold one).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "qmsg.h"

#define MAXR	8
#define NO	99	/* not wanted: group untouched */

struct group_case {
	const char	*name;
	const char	*rcpt[MAXR];
	bool		 want[MAXR];
	unsigned	 ngroups;
	unsigned	 group[MAXR];
};

static const struct group_case cases[] = {
	{ "one", { "a@x.test" }, { true }, 1, { 0 } },
	{ "same domain", { "a@x.test", "b@x.test", "c@x.test" }, { true, true, true },
	  1, { 0, 0, 0 } },
	{ "two domains interleaved", { "a@x.test", "b@y.test", "c@x.test", "d@y.test" },
	  { true, true, true, true }, 2, { 0, 1, 0, 1 } },
	{ "case-insensitive", { "a@X.Test", "b@x.TEST" }, { true, true }, 1, { 0, 0 } },
	{ "unwanted skipped", { "a@local.test", "b@x.test", "c@local.test", "d@y.test" },
	  { false, true, false, true }, 2, { NO, 0, NO, 1 } },
	{ "unwanted same domain not joined", { "a@x.test", "b@x.test" },
	  { false, true }, 1, { NO, 0 } },
	{ "none wanted", { "a@x.test" }, { false }, 0, { NO } },
	{ "quoted local part with @", { "\"a@b\"@x.test", "c@x.test" }, { true, true },
	  1, { 0, 0 } },
	{ "suffix is another domain", { "a@x.test", "b@sub.x.test", "c@xx.test" },
	  { true, true, true }, 3, { 0, 1, 2 } },
	{ "address literal", { "a@[192.0.2.1]", "b@[192.0.2.1]", "c@[192.0.2.2]" },
	  { true, true, true }, 2, { 0, 0, 1 } },
};

static void
test_group_by_domain(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct group_case *c = &cases[k];
		char rcpt[MAXR][ADDR_MAX + 1];
		unsigned group[MAXR], n = 0;

		while (n < MAXR && c->rcpt[n] != NULL) {
			snprintf(rcpt[n], sizeof(rcpt[n]), "%s", c->rcpt[n]);
			group[n] = NO;
			n++;
		}
		unsigned got = relay_group_by_domain((const char (*)[ADDR_MAX + 1])rcpt,
		    n, c->want, group);
		if (got != c->ngroups)
			fail_msg("%s: got %u groups, want %u", c->name, got, c->ngroups);
		for (unsigned i = 0; i < n; i++)
			if (group[i] != c->group[i])
				fail_msg("%s: rcpt %u in group %u, want %u", c->name, i,
				    group[i], c->group[i]);
	}
}

/* The maximum: IPC_MAX_RCPTS recipients, each its own domain. */
static void
test_many_domains(void **state)
{
	static char rcpt[IPC_MAX_RCPTS][ADDR_MAX + 1];
	bool want[IPC_MAX_RCPTS];
	unsigned group[IPC_MAX_RCPTS];

	(void)state;
	for (unsigned i = 0; i < IPC_MAX_RCPTS; i++) {
		snprintf(rcpt[i], sizeof(rcpt[i]), "u@d%u.test", i);
		want[i] = true;
	}
	assert_int_equal(relay_group_by_domain((const char (*)[ADDR_MAX + 1])rcpt,
	    IPC_MAX_RCPTS, want, group), IPC_MAX_RCPTS);
	for (unsigned i = 0; i < IPC_MAX_RCPTS; i++)
		assert_int_equal(group[i], i);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group_by_domain),
		cmocka_unit_test(test_many_domains),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
