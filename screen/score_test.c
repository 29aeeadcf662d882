/*
 * screen/score_test.c - totals, the threshold table, unknown ranges and
 * the log form of a score.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "score.h"

static const struct score_thresholds T = { 4, 8, 10, false, false };

static void
expect(const struct score *s, const struct score_thresholds *t,
    enum screen_action want_a, enum screen_reply want_r)
{
	enum screen_action a;
	enum screen_reply r;

	score_verdict(s, t, &a, &r);
	if (a != want_a || r != want_r)
		fail_msg("total %d..%d: got action %d reply %d, want %d/%d",
		    score_total(s), score_worst(s), a, r, want_a, want_r);
}

static void
test_thresholds(void **state)
{
	static const struct { int total; enum screen_action a; enum screen_reply r; } rows[] = {
		{ -5, SCREEN_ACCEPT, SCREEN_REPLY_OK },
		{ 3, SCREEN_ACCEPT, SCREEN_REPLY_OK },
		{ 4, SCREEN_GREYLIST, SCREEN_REPLY_GREYLIST },
		{ 7, SCREEN_GREYLIST, SCREEN_REPLY_GREYLIST },
		{ 8, SCREEN_TEMPFAIL, SCREEN_REPLY_TEMPFAIL },
		{ 10, SCREEN_REJECT, SCREEN_REPLY_REJECT },
		{ 500, SCREEN_REJECT, SCREEN_REPLY_REJECT },
	};
	struct score s;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		score_init(&s);
		score_add(&s, "x", rows[i].total, "row %zu", i);
		expect(&s, &T, rows[i].a, rows[i].r);
	}
}

/* A DNS failure decides only when it could change the verdict. */
static void
test_unknown_ranges(void **state)
{
	struct score s;

	(void)state;
	score_init(&s);
	score_add(&s, "no_ptr", 4, "ptr=none");
	score_add_unknown(&s, "dnsbl:bl.example", 0, 8, "tempfail");
	assert_int_equal(score_total(&s), 4);
	assert_int_equal(score_worst(&s), 12);
	assert_true(score_has_unknown(&s));
	expect(&s, &T, SCREEN_TEMPFAIL, SCREEN_REPLY_DNS_TEMPFAIL);

	score_init(&s);	/* clearly bad either way */
	score_add(&s, "helo_forged", 100, "helo=ours");
	score_add_unknown(&s, "dnswl:wl.example", 0, -8, "tempfail");
	expect(&s, &T, SCREEN_REJECT, SCREEN_REPLY_REJECT);

	score_init(&s);	/* clearly fine either way */
	score_add(&s, "spf_pass", -2, "spf=pass");
	score_add_unknown(&s, "dnsbl:bl.example", 0, 3, "tempfail");
	expect(&s, &T, SCREEN_ACCEPT, SCREEN_REPLY_OK);
}

static void
test_spf_fail_reject(void **state)
{
	struct score_thresholds t = T;
	struct score s;

	(void)state;
	score_init(&s);
	score_add(&s, "spf_fail", 6, "spf=fail");
	s.spf_fail = true;
	expect(&s, &t, SCREEN_GREYLIST, SCREEN_REPLY_GREYLIST);
	t.spf_fail_reject = true;
	expect(&s, &t, SCREEN_REJECT, SCREEN_REPLY_SPF_REJECT);

	/* an SPF we could not learn may be that fail: come back later */
	score_init(&s);
	score_add_unknown(&s, "spf_temperror", -2, 6, "spf=temperror");
	s.spf_unknown = true;
	expect(&s, &t, SCREEN_TEMPFAIL, SCREEN_REPLY_DNS_TEMPFAIL);
	t.spf_fail_reject = false;
	expect(&s, &t, SCREEN_TEMPFAIL, SCREEN_REPLY_DNS_TEMPFAIL);	/* -2..6: accept or grey */
	score_init(&s);
	score_add(&s, "spf_temperror", 0, "x");
	s.spf_unknown = true;
	expect(&s, &t, SCREEN_ACCEPT, SCREEN_REPLY_OK);	/* without the rule it cannot reject */
}

static void
test_dmarc_reject(void **state)
{
	struct score_thresholds t = T;
	struct score s;

	(void)state;
	score_init(&s);
	score_add(&s, "dmarc_reject", 8, "dmarc=fail p=reject");
	s.dmarc_reject = true;
	expect(&s, &t, SCREEN_TEMPFAIL, SCREEN_REPLY_TEMPFAIL);	/* the weight alone */
	t.dmarc_reject = true;
	expect(&s, &t, SCREEN_REJECT, SCREEN_REPLY_REJECT);	/* decisive, 550 5.7.1 */
	s.spf_fail = true;
	t.spf_fail_reject = true;
	expect(&s, &t, SCREEN_REJECT, SCREEN_REPLY_SPF_REJECT);	/* SPF's code wins */

	/* a DMARC outcome we could not learn may be that reject */
	t.spf_fail_reject = false;
	score_init(&s);
	score_add_unknown(&s, "dmarc_temperror", 0, 8, "dmarc=temperror");
	s.dmarc_unknown = true;
	expect(&s, &t, SCREEN_TEMPFAIL, SCREEN_REPLY_DNS_TEMPFAIL);
	score_init(&s);
	score_add_unknown(&s, "dmarc_temperror", 0, 0, "dmarc=temperror");
	s.dmarc_unknown = true;
	expect(&s, &t, SCREEN_TEMPFAIL, SCREEN_REPLY_DNS_TEMPFAIL);	/* 0..0, yet reject possible */
	t.dmarc_reject = false;
	expect(&s, &t, SCREEN_ACCEPT, SCREEN_REPLY_OK);	/* without the rule it cannot reject */
}

static void
test_format_and_overflow(void **state)
{
	struct score s;
	char buf[256], tiny[20];

	(void)state;
	score_init(&s);
	score_add(&s, "no_ptr", 4, "ptr=none");
	score_add(&s, "spf_pass", -2, "spf=pass");
	score_add(&s, "helo_matches_ptr", 0, "x");
	score_add_unknown(&s, "dnsbl:bl.example", 8, 0, "tempfail");
	score_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, "no_ptr:+4 spf_pass:-2 helo_matches_ptr:+0 dnsbl:bl.example:?+0..+8");
	score_format(&s, tiny, sizeof(tiny));
	assert_string_equal(tiny, "no_ptr:+4");	/* cut at an item boundary */
	score_init(&s);
	for (int i = 0; i < SCORE_ITEMS_MAX + 5; i++)
		score_add(&s, "x", 1, "%d", i);
	assert_int_equal(s.n, SCORE_ITEMS_MAX);
	assert_true(s.overflow);
	assert_int_equal(score_total(&s), SCORE_ITEMS_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_unknown_ranges),
		cmocka_unit_test(test_spf_fail_reject),
		cmocka_unit_test(test_dmarc_reject),
		cmocka_unit_test(test_format_and_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
