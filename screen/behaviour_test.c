/*
 * screen/behaviour_test.c - check_behaviour: early talking, and
 * client_errors' weight per three refused commands.
 */
#include "checks_testlib.h"

static void
test_behaviour(void **state)
{
	static const struct { uint8_t flags; uint16_t errors; int early, errw; const char *why; } rows[] = {
		{ 0, 0, 0, 0, NULL },
		{ 0, 2, 0, 0, NULL },
		{ 0, 3, 0, 1, "errors=3" },
		{ 0, 8, 0, 2, "errors=8" },
		{ SCREEN_FACT_EARLY_TALKER, 0, 10, 0, NULL },
		{ SCREEN_FACT_EARLY_TALKER, 9, 10, 3, "errors=9" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct bench *b = bench_new();
		b->facts.flags = rows[i].flags;
		b->facts.errors = rows[i].errors;
		bench_run(b, check_behaviour);
		if (rows[i].early && rows[i].errw)
			bench_expect(b, "early_talker", rows[i].early, "spoke before the greeting",
			    "client_errors", rows[i].errw, rows[i].why, NULL);
		else if (rows[i].early)
			bench_expect(b, "early_talker", rows[i].early, "spoke before the greeting", NULL);
		else if (rows[i].errw)
			bench_expect(b, "client_errors", rows[i].errw, rows[i].why, NULL);
		else
			bench_expect_nothing(b);
		bench_expect_misses(b, NULL);
		bench_free(b);
	}
}

/* Configured weights; a flood of errors is capped, never overflows. */
static void
test_behaviour_weights(void **state)
{
	struct bench *b = bench_new();

	(void)state;
	b->cfg.screen.weights[W_CLIENT_ERRORS] = 2;
	b->facts.errors = 7;
	bench_run(b, check_behaviour);
	bench_expect(b, "client_errors", 4, "errors=7", NULL);
	b->cfg.screen.weights[W_CLIENT_ERRORS] = SCREEN_WEIGHT_LIMIT;
	b->facts.errors = UINT16_MAX;
	bench_run(b, check_behaviour);
	bench_expect(b, "client_errors", SCREEN_WEIGHT_LIMIT, "errors=65535", NULL);
	b->cfg.screen.weights[W_CLIENT_ERRORS] = -SCREEN_WEIGHT_LIMIT;
	bench_run(b, check_behaviour);
	bench_expect(b, "client_errors", -SCREEN_WEIGHT_LIMIT, "errors=65535", NULL);
	bench_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_behaviour),
		cmocka_unit_test(test_behaviour_weights),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
