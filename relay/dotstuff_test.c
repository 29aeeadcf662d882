/*
 * relay/dotstuff_test.c - the DATA encoding: leading dots doubled, bare LF
 * made CRLF, the terminator added with or without a final CRLF, and the
 * same output whatever the chunking (every split point of every case).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dotstuff.h"

struct stuff_case {
	const char	*in;
	const char	*want;
};

static const struct stuff_case cases[] = {
	{ "",				".\r\n" },
	{ "a\r\n",			"a\r\n.\r\n" },
	{ "a",				"a\r\n.\r\n" },
	{ "a\r",			"a\r\n.\r\n" },
	{ ".\r\n",			"..\r\n.\r\n" },
	{ ".",				"..\r\n.\r\n" },
	{ "a\r\n.\r\nb\r\n",		"a\r\n..\r\nb\r\n.\r\n" },
	{ "a\r\n..x\r\n",		"a\r\n...x\r\n.\r\n" },
	{ "a.b\r\n. c\r\n",		"a.b\r\n.. c\r\n.\r\n" },
	{ "bare\nlf\n.dot\n",		"bare\r\nlf\r\n..dot\r\n.\r\n" },
	{ "cr\ronly\r\n",		"cr\ronly\r\n.\r\n" },
	{ "\r\n\r\n",			"\r\n\r\n.\r\n" },
	{ "x\r\n.\r\n.\r\n",		"x\r\n..\r\n..\r\n.\r\n" },
	{ "8-bit caf\xc3\xa9\r\n",	"8-bit caf\xc3\xa9\r\n.\r\n" },
};

static size_t
encode(const char *in, size_t len, size_t split, uint8_t *out)
{
	struct dotstuff d;
	size_t o = 0;

	dotstuff_init(&d);
	o += dotstuff_chunk(&d, (const uint8_t *)in, split, out + o);
	o += dotstuff_chunk(&d, (const uint8_t *)in + split, len - split, out + o);
	o += dotstuff_finish(&d, out + o);
	return o;
}

static void
test_dotstuff_table(void **state)
{
	uint8_t out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in);
		for (size_t split = 0; split <= len; split++) {
			size_t n = encode(cases[i].in, len, split, out);
			if (n != strlen(cases[i].want) || memcmp(out, cases[i].want, n) != 0)
				fail_msg("case %zu split %zu: got '%.*s', want '%s'", i, split,
				    (int)n, out, cases[i].want);
		}
	}
}

static void
test_dotstuff_worst_case_fits(void **state)
{
	static const char in[] = "\n.\n.\n.\n.";
	uint8_t out[DOTSTUFF_OUT_MAX(sizeof(in) - 1) + DOTSTUFF_FINISH_MAX];
	struct dotstuff d;
	size_t n;

	(void)state;
	dotstuff_init(&d);
	n = dotstuff_chunk(&d, (const uint8_t *)in, sizeof(in) - 1, out);
	assert_true(n <= DOTSTUFF_OUT_MAX(sizeof(in) - 1));
	n += dotstuff_finish(&d, out + n);
	assert_int_equal(n, strlen("\r\n..\r\n..\r\n..\r\n..\r\n.\r\n"));
	assert_memory_equal(out, "\r\n..\r\n..\r\n..\r\n..\r\n.\r\n", n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dotstuff_table),
		cmocka_unit_test(test_dotstuff_worst_case_fits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
