/*
 * lib/ipc_text_test.c - the free-text field kinds: one row per case, and
 * the cleaner's promise that what it writes always passes the checker.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ipc_text.h"

struct text_case {
	const char	*s;
	size_t		 len;	/* 0: strlen(s) */
	bool		 valid;
};

#define T(s, v)		{ s, sizeof(s) - 1, v }

static const struct text_case text_line_cases[] = {
	T("", true),
	T("250 2.0.0 Ok: queued as 4F2A", true),
	T("mx.example[192.0.2.1]: 550 5.1.1 <kim@example.test>\tno such user", true),
	T("Zustellung fehlgeschlagen: Empf\xc3\xa4nger unbekannt", true),
	T("\xe2\x82\xac \xf0\x9f\x93\xa8", true),		/* U+20AC, U+1F4E8 */
	T("line\r\nInjected: header", false),
	T("bare\rCR", false),
	T("bare\nLF", false),
	T("nul\0inside", false),
	T("escape \x1b[31m", false),
	T("delete \x7f", false),
	T("C1 \xc2\x85 (NEL)", false),
	T("overlong \xc0\xaf", false),
	T("overlong \xe0\x80\xaf", false),
	T("surrogate \xed\xa0\x80", false),
	T("above U+10FFFF \xf4\x90\x80\x80", false),
	T("cut \xe2\x82", false),
	T("latin-1 \xe4", false),
};

static void
test_text_line(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(text_line_cases) / sizeof(text_line_cases[0]); i++) {
		const struct text_case *c = &text_line_cases[i];
		if (ipc_text_line_is_valid(c->s, c->len) != c->valid)
			fail_msg("text line case %zu: got %d, want %d", i, !c->valid, c->valid);
	}
}

static void
test_text_line_clean(void **state)
{
	char out[16];

	(void)state;
	/* Every case, cleaned, passes; valid text comes out unchanged. */
	for (size_t i = 0; i < sizeof(text_line_cases) / sizeof(text_line_cases[0]); i++) {
		const struct text_case *c = &text_line_cases[i];
		char big[128];
		size_t n = ipc_text_line_clean(big, sizeof(big), c->s, c->len);
		if (!ipc_text_line_is_valid(big, n))
			fail_msg("clean case %zu: result is not a text line", i);
		if (c->valid && (n != c->len || memcmp(big, c->s, n) != 0))
			fail_msg("clean case %zu: valid text was changed", i);
	}
	assert_int_equal(ipc_text_line_clean(out, sizeof(out), "a\r\nb", 4), 4);
	assert_string_equal(out, "a??b");
	/* Cut at a character boundary: the euro sign does not fit whole. */
	assert_int_equal(ipc_text_line_clean(out, 6, "abcd\xe2\x82\xac", 7), 4);
	assert_string_equal(out, "abcd");
	assert_int_equal(ipc_text_line_clean(out, 8, "abcd\xe2\x82\xac", 7), 7);
	assert_string_equal(out, "abcd\xe2\x82\xac");
	assert_int_equal(ipc_text_line_clean(out, 1, "abc", 3), 0);
	assert_string_equal(out, "");
}

static const struct text_case header_cases[] = {
	T("DKIM-Signature: v=1; a=ed25519-sha256;\r\n", true),
	T("DKIM-Signature: v=1;\r\n\tb=abc\r\nDKIM-Signature: v=1;\r\n b=def\r\n", true),
	T("X: \r\n", true),
	T("", false),
	T("DKIM-Signature: v=1;", false),			/* unterminated */
	T("DKIM-Signature: v=1;\n", false),			/* bare LF */
	T("DKIM-Signature: v=1;\r\r\n", false),			/* bare CR */
	T("A: b\nC: d\r\n", false),				/* bare LF inside */
	T("\tfolded first\r\n", false),
	T("no colon here\r\n", false),
	T(": empty name\r\n", false),
	T("A: b\r\n\r\n", false),				/* empty line: end of header */
	T("A: b\r\n \t\r\n", false),				/* whitespace-only fold */
	T("A: b\x01\r\n", false),
	T("Bad Name: x\r\n", false),
	T("X: caf\xc3\xa9\r\n", false),			/* 8-bit */
};

static void
test_header_block(void **state)
{
	char line[1100];

	(void)state;
	for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
		const struct text_case *c = &header_cases[i];
		if (ipc_header_block_is_valid(c->s, c->len) != c->valid)
			fail_msg("header case %zu: got %d, want %d", i, !c->valid, c->valid);
	}
	/* RFC 5322 2.1.1: 998 octets plus CRLF, and not one more. */
	memset(line, 'a', sizeof(line));
	memcpy(line, "X: ", 3);
	memcpy(line + IPC_HEADER_LINE_MAX, "\r\n", 2);
	assert_true(ipc_header_block_is_valid(line, IPC_HEADER_LINE_MAX + 2));
	memcpy(line + IPC_HEADER_LINE_MAX + 1, "\r\n", 2);
	assert_false(ipc_header_block_is_valid(line, IPC_HEADER_LINE_MAX + 3));
}

static void
test_token_and_ip(void **state)
{
	(void)state;
	assert_true(ipc_token_is_valid("", 0));
	assert_true(ipc_token_is_valid("client.example", 14));
	assert_true(ipc_token_is_valid("[192.0.2.1]", 11));
	assert_false(ipc_token_is_valid("two words", 9));
	assert_false(ipc_token_is_valid("x\r\n", 3));
	assert_false(ipc_token_is_valid("caf\xc3\xa9", 5));

	assert_true(ipc_ip_text_is_valid("", 0));
	assert_true(ipc_ip_text_is_valid("192.0.2.1", 9));
	assert_true(ipc_ip_text_is_valid("2001:db8::1", 11));
	assert_true(ipc_ip_text_is_valid("::ffff:192.0.2.1", 16));
	assert_false(ipc_ip_text_is_valid("192.0.2", 7));
	assert_false(ipc_ip_text_is_valid("fe80::1%eth0", 12));
	assert_false(ipc_ip_text_is_valid("deadbeef", 8));
	assert_false(ipc_ip_text_is_valid("1.2.3.4\0", 8));
	assert_false(ipc_ip_text_is_valid("1.2.3.4 ", 8));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_line),
		cmocka_unit_test(test_text_line_clean),
		cmocka_unit_test(test_header_block),
		cmocka_unit_test(test_token_and_ip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
