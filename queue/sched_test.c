/*
 * queue/sched_test.c - the retry policy of the scheduler, table-driven.
 *
 * Owns: the proof that backoff doubles from retry_min up to retry_max
 * without overflow, that a delivery crash costs SCHED_LINKDOWN_RETRY
 * seconds only SCHED_LINKDOWN_MAX times, and that no retry is planned
 * after a message's expiry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sched.h"

struct backoff_case {
	uint32_t	attempts, min, max, want;
};

static const struct backoff_case backoff_cases[] = {
	{ 1, 300, 3600, 300 },
	{ 2, 300, 3600, 600 },
	{ 3, 300, 3600, 1200 },
	{ 4, 300, 3600, 2400 },
	{ 5, 300, 3600, 3600 },
	{ 6, 300, 3600, 3600 },
	{ 1000000, 300, 3600, 3600 },	/* no overflow */
	{ 40, 86400, 86400, 86400 },
	{ 1, 1, 1, 1 },
	{ 33, 1, 86400, 86400 },
	{ 0, 60, 3600, 60 },		/* never called with 0; still sane */
};

static void
test_backoff(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(backoff_cases) / sizeof(backoff_cases[0]); i++) {
		const struct backoff_case *c = &backoff_cases[i];
		uint32_t got = sched_backoff(c->attempts, c->min, c->max);
		if (got != c->want)
			fail_msg("backoff(%u, %u, %u): got %u, want %u", c->attempts,
			    c->min, c->max, got, c->want);
	}
}

struct next_case {
	const char	*name;
	uint64_t	 arrival;
	uint32_t	 attempts;
	bool		 linkdown_only;
	unsigned	 linkdowns;
	uint64_t	 now;
	uint64_t	 want_next;
	uint32_t	 want_attempts;
	unsigned	 want_linkdowns;
};

#define T0	1700000000ULL
#define LIFE	(2 * 86400ULL)

static const struct next_case next_cases[] = {
	{ "first failure", T0, 0, false, 0, T0 + 10, T0 + 10 + 300, 1, 0 },
	{ "third failure", T0, 2, false, 0, T0 + 1000, T0 + 1000 + 1200, 3, 0 },
	{ "capped at retry_max", T0, 9, false, 0, T0 + 9000, T0 + 9000 + 3600, 10, 0 },
	{ "crash: short retry", T0, 0, true, 0, T0 + 5, T0 + 5 + SCHED_LINKDOWN_RETRY, 0, 1 },
	{ "third crash still short", T0, 1, true, 2, T0 + 50,
	  T0 + 50 + SCHED_LINKDOWN_RETRY, 1, 3 },
	{ "fourth crash counts", T0, 1, true, 3, T0 + 60, T0 + 60 + 600, 2, 3 },
	{ "not after expiry", T0, 20, false, 0, T0 + LIFE - 100, T0 + LIFE, 21, 0 },
	{ "at expiry: one more", T0, 20, false, 0, T0 + LIFE, T0 + LIFE + 1, 21, 0 },
};

static void
test_next_attempt(void **state)
{
	struct config cfg;

	(void)state;
	config_defaults(&cfg);
	cfg.retry_min = 300;
	cfg.retry_max = 3600;
	cfg.queue_lifetime = (uint32_t)LIFE;
	for (size_t i = 0; i < sizeof(next_cases) / sizeof(next_cases[0]); i++) {
		const struct next_case *c = &next_cases[i];
		struct envelope e;
		unsigned linkdowns = c->linkdowns;

		memset(&e, 0, sizeof(e));
		e.arrival = c->arrival;
		e.attempts = c->attempts;
		uint64_t got = sched_next_attempt(&e, c->now, c->linkdown_only,
		    &linkdowns, &cfg);
		if (got != c->want_next || e.attempts != c->want_attempts ||
		    linkdowns != c->want_linkdowns)
			fail_msg("%s: got next=+%lld attempts=%u linkdowns=%u, "
			    "want next=+%lld attempts=%u linkdowns=%u", c->name,
			    (long long)(got - c->now), e.attempts, linkdowns,
			    (long long)(c->want_next - c->now), c->want_attempts,
			    c->want_linkdowns);
	}
}

static void
test_expired(void **state)
{
	struct config cfg;
	struct envelope e;

	(void)state;
	config_defaults(&cfg);
	cfg.queue_lifetime = 3600;
	memset(&e, 0, sizeof(e));
	e.arrival = T0;
	assert_false(sched_is_expired(&e, T0, &cfg));
	assert_false(sched_is_expired(&e, T0 + 3599, &cfg));
	assert_true(sched_is_expired(&e, T0 + 3600, &cfg));
	/* A clock that went backwards does not expire anything. */
	assert_false(sched_is_expired(&e, T0 - 100, &cfg));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_next_attempt),
		cmocka_unit_test(test_expired),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
