/*
 * queue/bounce_test.c - who gets a DSN (bounce_wanted, queue/bounce.c):
 * only the real sender of submitted mail with a failed recipient; never the
 * null sender <> (RFC 5321 4.5.5: a message from <> is never answered, so
 * an authenticated user sending from <> can not make us bounce), never a
 * DSN (SOURCE_LOCAL, sender <>), never port 25 mail (backscatter).
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

struct wanted_case {
	const char	*name;
	enum msg_source	 source;
	const char	*sender;
	enum rcpt_state	 state[2];
	bool		 want;
};

static const struct wanted_case cases[] = {
	{ "submitted, one failed", SOURCE_SUBMISSION, "kim@example.test",
	  { RCPT_FINISHED, RCPT_FAILED }, true },
	{ "submitted from <>", SOURCE_SUBMISSION, "", { RCPT_FAILED, RCPT_FAILED }, false },
	{ "a DSN of ours", SOURCE_LOCAL, "", { RCPT_FAILED, RCPT_FAILED }, false },
	{ "local, real sender", SOURCE_LOCAL, "kim@example.test",
	  { RCPT_FAILED, RCPT_FAILED }, false },
	{ "port 25", SOURCE_SMTP, "someone@example.org", { RCPT_FAILED, RCPT_FAILED }, false },
	{ "nothing failed", SOURCE_SUBMISSION, "kim@example.test",
	  { RCPT_FINISHED, RCPT_DEFERRED }, false },
};

static void
test_bounce_wanted(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct wanted_case *c = &cases[i];
		struct qmsg m;
		uint8_t st[2] = { (uint8_t)c->state[0], (uint8_t)c->state[1] };

		memset(&m, 0, sizeof(m));
		m.env.source = c->source;
		snprintf(m.env.sender, sizeof(m.env.sender), "%s", c->sender);
		m.env.nrcpt = 2;
		m.state = st;
		if (bounce_wanted(&m) != c->want)
			fail_msg("%s: got %d, want %d", c->name, !c->want, c->want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounce_wanted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
