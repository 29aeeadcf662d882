/*
 * lib/addr_intl_test.c - the lookup key of a local part (addr_local_fold):
 * ASCII as before, other scripts lowercased, NFD and NFC meeting on one
 * key, ß kept apart from ss, and the growth of U+0130 kept inside the
 * caller's buffer and the 64-octet limit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"
#include "addr_intl.h"

struct fold_case {
	const char	*in;
	const char	*want;		/* NULL: refused */
};

static const struct fold_case fold_cases[] = {
	{ "kim",				"kim" },
	{ "Kim.O'Neil+Tag",			"kim.o'neil+tag" },
	{ "\"A B\"",				"\"a b\"" },		/* quoted, as str_lower did */
	{ "J\xc3\x9cRGEN",			"j\xc3\xbcrgen" },	/* JÜRGEN */
	{ "JU\xcc\x88RGEN",			"j\xc3\xbcrgen" },	/* NFD uppercase */
	{ "ju\xcc\x88rgen",			"j\xc3\xbcrgen" },	/* NFD lowercase */
	{ "j\xc3\xbcrgen",			"j\xc3\xbcrgen" },
	{ "STRAU\xc3\x9f",			"strau\xc3\x9f" },	/* ß stays ß */
	{ "STRAU\xe1\xba\x9e",			"strau\xc3\x9f" },	/* ẞ -> ß */
	{ "\xc3\x89QUIPE",			"\xc3\xa9quipe" },	/* ÉQUIPE */
	{ "\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd",	"\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd" },	/* Иван */
	{ "\xc4\xb0pek",			"i\xcc\x87pek" },	/* İ -> i + U+0307 */
	{ "\xe5\xb1\xb1\xe7\x94\xb0",		"\xe5\xb1\xb1\xe7\x94\xb0" },	/* 山田: no case */
	{ "k\xe4m",				NULL },			/* Latin-1 */
	{ "k\xc2\x85m",				NULL },			/* C1 control */
	{ "k\x01m",				NULL },			/* C0 control */
	{ "k\x7fm",				NULL },			/* DEL */
	{ "\xed\xa0\x80",			NULL },			/* surrogate */
};

static void
test_fold_cases(void **state)
{
	char out[4 * (ADDR_LOCAL_MAX + 3)];
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(fold_cases) / sizeof(fold_cases[0]); i++) {
		const struct fold_case *c = &fold_cases[i];
		int n = addr_local_fold(c->in, strlen(c->in), out, sizeof(out));
		if (c->want == NULL ? n != -1 :
		    n != (int)strlen(c->want) || strcmp(out, c->want) != 0) {
			print_error("fold '%s': got %d '%s', want '%s'\n", c->in, n,
			    n >= 0 ? out : "", c->want ? c->want : "(refused)");
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* The result is a key: folding it again changes nothing. */
static void
test_fold_is_idempotent(void **state)
{
	char once[4 * (ADDR_LOCAL_MAX + 3)], twice[sizeof(once)];

	(void)state;
	for (size_t i = 0; i < sizeof(fold_cases) / sizeof(fold_cases[0]); i++) {
		const char *in = fold_cases[i].in;
		int n = addr_local_fold(in, strlen(in), once, sizeof(once));
		if (n < 0)
			continue;
		assert_int_equal(addr_local_fold(once, (size_t)n, twice, sizeof(twice)), n);
		assert_string_equal(once, twice);
		assert_true(addr_local_is_folded(once));
	}
	assert_false(addr_local_is_folded("j\xc3\x9crgen"));
	assert_false(addr_local_is_folded("ju\xcc\x88rgen"));	/* NFD */
	assert_false(addr_local_is_folded("Kim"));
	assert_false(addr_local_is_folded("\xc4\xb0pek"));
}

/* U+0130 grows from 2 to 3 octets: the output size bounds the result, and
 * addr_normalize_input() measures the 64-octet limit after folding. */
static void
test_fold_growth_bounded(void **state)
{
	char in[200], out[200], addr[300], norm[ADDR_MAX + 1];
	const char *why = NULL;
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 32; i++) {		/* 32 x "İ" = 64 octets */
		in[n++] = '\xc4';
		in[n++] = '\xb0';
	}
	in[n] = '\0';
	assert_int_equal(addr_local_fold(in, n, out, 97), 96);
	assert_int_equal(strlen(out), 96);
	assert_int_equal(addr_local_fold(in, n, out, 96), -1);	/* no room for NUL */
	assert_int_equal(addr_local_fold(in, n, out, 65), -1);
	assert_int_equal(addr_local_fold(in, n, out, 0), -1);
	assert_int_equal(addr_local_fold("KIM", 3, out, 3), -1);
	assert_int_equal(addr_local_fold("KIM", 3, out, 4), 3);
	assert_string_equal(out, "kim");

	snprintf(addr, sizeof(addr), "%s@example.test", in);
	assert_int_equal(addr_normalize_input(addr, norm, sizeof(norm), &why), ADDR_TOO_LONG);
	assert_non_null(strstr(why, "lowercased"));
	/* 21 x "İ" = 42 octets, 63 once folded: fits */
	snprintf(addr, sizeof(addr), "%.42s@example.test", in);
	assert_int_equal(addr_normalize_input(addr, norm, sizeof(norm), &why), ADDR_OK);
	assert_int_equal(strlen(norm), 63 + strlen("@example.test"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fold_cases),
		cmocka_unit_test(test_fold_is_idempotent),
		cmocka_unit_test(test_fold_growth_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
