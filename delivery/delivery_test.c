/*
 * delivery/delivery_test.c - what the queue hears for each lookup verdict
 * (delivery_result_for in delivery/delivery.c), table-driven.
 *
 * Owns: the proof that a recipient in a domain that is not ours comes
 * back as DELIVERY_REMOTE (the queue relays it for submitted mail and
 * refuses it for port 25 mail), never as a permanent failure, and that
 * the other verdicts keep their meaning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "delivery.h"

static const struct {
	enum resolve_verdict	verdict;
	enum delivery_result	want;
} cases[] = {
	{ RESOLVE_LOCAL,	DELIVERY_OK },
	{ RESOLVE_UNKNOWN_USER,	DELIVERY_PERMFAIL },
	{ RESOLVE_NOT_LOCAL,	DELIVERY_REMOTE },
	{ RESOLVE_BLOCKED,	DELIVERY_PERMFAIL },
	{ RESOLVE_TEMPFAIL,	DELIVERY_TEMPFAIL },
};

static void
test_result_for_verdict(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum delivery_result got = delivery_result_for(cases[i].verdict);
		if (got != cases[i].want)
			fail_msg("verdict %d: got %d, want %d", cases[i].verdict, got,
			    cases[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_for_verdict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
