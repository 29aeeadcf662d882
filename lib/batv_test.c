/*
 * lib/batv_test.c - the BATV tag grammar: what is a tag and what is not,
 * the mailbox behind it, formatting and its limits, and the day window
 * across the modulo-1000 wrap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "batv.h"

#define DAY	86400

struct parse_case {
	const char	*in;
	bool		 tag;
	unsigned	 key, day;
	uint8_t		 sig[3];
	const char	*mailbox;
};

static const struct parse_case parse_cases[] = {
	{ "prvs=0123abcdef=kim@example.test", true, 0, 123, { 0xab, 0xcd, 0xef }, "kim@example.test" },
	{ "PRVS=9000ABCDEF=Kim@example.test", true, 9, 0, { 0xab, 0xcd, 0xef }, "Kim@example.test" },
	{ "prvs=0123abcdef=kim+shop@example.test", true, 0, 123, { 0xab, 0xcd, 0xef }, "kim+shop@example.test" },
	{ "prvs=0123abcdef=a=b@example.test", true, 0, 123, { 0xab, 0xcd, 0xef }, "a=b@example.test" },
	{ "prvs=0123abcdef=@example.test", false, 0, 0, { 0 }, NULL },		/* no local part */
	{ "prvs=0123abcdef=.kim@example.test", false, 0, 0, { 0 }, NULL },	/* not a mailbox */
	{ "prvs=0123abcdeg=kim@example.test", false, 0, 0, { 0 }, NULL },	/* not hex */
	{ "prvs=a123abcdef=kim@example.test", false, 0, 0, { 0 }, NULL },	/* K not a digit */
	{ "prvs=012abcdef=kim@example.test", false, 0, 0, { 0 }, NULL },	/* short */
	{ "prvs=0123abcdef0=kim@example.test", false, 0, 0, { 0 }, NULL },	/* long */
	{ "prvs=0123abcdef-kim@example.test", false, 0, 0, { 0 }, NULL },
	{ "prvs=kim=0123abcdef@example.test", false, 0, 0, { 0 }, NULL },	/* the other order */
	{ "kim=0123abcdef@example.test", false, 0, 0, { 0 }, NULL },
	{ "kim@example.test", false, 0, 0, { 0 }, NULL },
	{ "prvs=0123abcdef=kim", false, 0, 0, { 0 }, NULL },
	{ "prvs=0123abcdef=", false, 0, 0, { 0 }, NULL },
	{ "", false, 0, 0, { 0 }, NULL },
};

static void
test_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct batv_tag t;
		bool got = batv_parse(c->in, &t);
		if (got != c->tag)
			fail_msg("'%s': got %s, want %s", c->in, got ? "a tag" : "no tag",
			    c->tag ? "a tag" : "no tag");
		if (!got)
			continue;
		assert_int_equal(t.key, c->key);
		assert_int_equal(t.day, c->day);
		assert_memory_equal(t.sig, c->sig, 3);
		assert_string_equal(t.mailbox, c->mailbox);
	}
}

static void
test_format(void **state)
{
	struct batv_tag t = { 0, 7, { 0x01, 0xa2, 0xff }, "kim@example.test" }, back;
	char out[ADDR_MAX + 1], local[80];

	(void)state;
	assert_int_equal(batv_format(&t, out, sizeof(out)), 0);
	assert_string_equal(out, "prvs=000701a2ff=kim@example.test");
	assert_true(batv_parse(out, &back));
	assert_memory_equal(&back, &t, sizeof(t));
	/* too small a buffer */
	assert_int_equal(batv_format(&t, out, 20), -1);
	/* a local part of 48 still fits 64 with the tag, 49 does not */
	memset(local, 'l', 48);
	snprintf(t.mailbox, sizeof(t.mailbox), "%.48s@example.test", local);
	assert_int_equal(batv_format(&t, out, sizeof(out)), 0);
	assert_int_equal(strchr(out, '@') - out, 64);
	assert_true(batv_parse(out, &back));
	memset(local, 'l', 49);
	snprintf(t.mailbox, sizeof(t.mailbox), "%.49s@example.test", local);
	assert_int_equal(batv_format(&t, out, sizeof(out)), -1);
	/* a quoted local part is never tagged */
	snprintf(t.mailbox, sizeof(t.mailbox), "\"a b\"@example.test");
	assert_int_equal(batv_format(&t, out, sizeof(out)), -1);
	snprintf(t.mailbox, sizeof(t.mailbox), "no-domain");
	assert_int_equal(batv_format(&t, out, sizeof(out)), -1);
}

static void
test_signed_text(void **state)
{
	struct batv_tag t = { 3, 42, { 0 }, "Kim@Example.TEST" };
	char out[BATV_SIGNED_MAX + 1];

	(void)state;
	assert_int_equal(batv_signed_text(&t, out, sizeof(out)), strlen("3042kim@example.test"));
	assert_string_equal(out, "3042kim@example.test");
	assert_int_equal(batv_signed_text(&t, out, 5), 0);
}

/* 1700000000 is day 19675 (675 mod 1000): a tag made then expires on 682. */
static void
test_days(void **state)
{
	time_t t0 = 1700000000;

	(void)state;
	assert_int_equal(batv_expiry_day(t0), 682);
	assert_true(batv_day_is_fresh(682, t0));
	assert_true(batv_day_is_fresh(682, t0 + 7 * DAY));
	assert_false(batv_day_is_fresh(682, t0 + 8 * DAY));	/* expired */
	assert_false(batv_day_is_fresh(683, t0));		/* 8 days ahead */
	assert_false(batv_day_is_fresh(674, t0));		/* yesterday's expiry */
	assert_false(batv_day_is_fresh(1000, t0));
	/* across the wrap: made on day 995 (mod 1000), expires on 2 */
	time_t wrap = (time_t)(19995) * DAY + 3600;
	assert_int_equal(batv_expiry_day(wrap), 2);
	assert_true(batv_day_is_fresh(2, wrap));
	assert_true(batv_day_is_fresh(2, wrap + 7 * DAY));
	assert_false(batv_day_is_fresh(2, wrap + 8 * DAY));
	assert_false(batv_day_is_fresh(2, wrap - 1 * DAY));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_signed_text),
		cmocka_unit_test(test_days),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
