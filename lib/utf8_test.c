/*
 * lib/utf8_test.c - the byte-level UTF-8 tests: 8-bit detection and the
 * "clean UTF-8" rule on hostile bytes (overlong forms, stray continuation
 * bytes, surrogates, C0/DEL/C1 controls).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "utf8.h"

#define CLEAN(s, tl)	utf8_is_clean((const uint8_t *)(s), sizeof(s) - 1, (tl))

static void
test_has_8bit(void **state)
{
	(void)state;
	assert_false(utf8_str_has_8bit(""));
	assert_false(utf8_str_has_8bit("kim@example.test"));
	assert_false(utf8_str_has_8bit("user@xn--bcher-kva.example"));
	assert_true(utf8_str_has_8bit("j\xc3\xbcrgen@example.test"));
	assert_false(utf8_has_8bit("ab\x80", 2));	/* only len bytes count */
	assert_true(utf8_has_8bit("ab\x80", 3));
	assert_false(utf8_has_8bit("", 0));
}

static void
test_clean(void **state)
{
	(void)state;
	assert_true(CLEAN("j\xc3\xbcrgen", false));
	assert_true(CLEAN("\xe2\x82\xac \xf0\x9f\x93\xa7", false));	/* U+20AC, U+1F4E7 */
	assert_false(CLEAN("\xc0\xaf", false));		/* overlong '/' */
	assert_false(CLEAN("a\x80", false));		/* stray continuation */
	assert_false(CLEAN("\xed\xa0\x80", false));	/* surrogate U+D800 */
	assert_false(CLEAN("\xc3", false));		/* cut sequence */
	assert_false(CLEAN("a\x7f", false));		/* DEL */
	assert_false(CLEAN("a\xc2\x85", false));	/* C1 NEL */
	assert_true(CLEAN("a\xc2\xa0", false));		/* U+00A0 is not C1 */
	assert_false(CLEAN("a\rb", true));		/* CR never */
	assert_false(CLEAN("a\tb\n", false));
	assert_true(CLEAN("a\tb\n", true));
	assert_false(CLEAN("a\0b", true));		/* NUL never */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_has_8bit),
		cmocka_unit_test(test_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
