/*
 * queue/mime_test.c - the message text helpers of queue/mime.c,
 * table-driven.
 *
 * Owns: the proof that a hostile header block is read correctly (its end,
 * unfolded values, NUL), that RFC 2047 words decode (utf-8, us-ascii,
 * iso-8859-1; others and broken ones stay as text), that cleaning gives
 * valid UTF-8 or one printable line, that folding, quoted-printable and
 * encoded-words respect their line limits, that dates are RFC 5322, and
 * that fields handed over for prepending are refused unless they are
 * clean CRLF header lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mime.h"

/* ---- the header block ----------------------------------------------------- */

static void
test_header_value(void **state)
{
	const char *h = "Received: from a\r\n\tby b\r\nSubject:  Hello\r\n  world \r\n"
	    "subject: second\r\nX-Nul: a\0b\r\n\r\nSubject: body\r\n";
	size_t len = 90;
	char out[64];

	(void)state;
	assert_true(mime_header_value((const uint8_t *)h, len, "SUBJECT", out, sizeof(out)));
	assert_string_equal(out, "Hello  world");	/* first one, unfolded */
	assert_true(mime_header_value((const uint8_t *)h, len, "x-nul", out, sizeof(out)));
	assert_string_equal(out, "a b");
	assert_false(mime_header_value((const uint8_t *)h, len, "Date", out, sizeof(out)));
	assert_true(mime_header_value((const uint8_t *)h, len, "Received", out, 6));
	assert_string_equal(out, "from");	/* cut to outsize - 1, trimmed */
}

struct block_case {
	const char	*msg;
	size_t		 want;
};

static const struct block_case block_cases[] = {
	{ "A: b\r\nC: d\r\n\r\nbody\r\n", 14 },
	{ "A: b\nC: d\n\nbody\n", 11 },
	{ "A: b\r\nC: d", 10 },		/* no body, no end: everything */
	{ "\r\nbody", 2 },
	{ "", 0 },
};

static void
test_header_block_len(void **state)
{
	static uint8_t big[MIME_HEADERS_MAX + 4096];

	(void)state;
	for (size_t i = 0; i < sizeof(block_cases) / sizeof(block_cases[0]); i++) {
		size_t got = mime_header_block_len((const uint8_t *)block_cases[i].msg,
		    strlen(block_cases[i].msg));
		if (got != block_cases[i].want)
			fail_msg("case %zu: got %zu, want %zu", i, got, block_cases[i].want);
	}
	/* Longer than the maximum: cut after the last whole line. */
	for (size_t i = 0; i + 100 <= sizeof(big); i += 100) {
		memset(big + i, 'h', 98);
		big[i + 98] = '\r';
		big[i + 99] = '\n';
	}
	size_t got = mime_header_block_len(big, sizeof(big));
	assert_true(got <= MIME_HEADERS_MAX && got > MIME_HEADERS_MAX - 100);
	assert_int_equal(got % 100, 0);
	/* One line longer than the maximum: cut at the maximum. */
	memset(big, 'x', sizeof(big));
	assert_int_equal(mime_header_block_len(big, sizeof(big)), MIME_HEADERS_MAX);
}

/* ---- fields to prepend (dkimsign's signatures) ------------------------------ */

struct prepend_case {
	const char	*h;
	bool		 want;
};

static const struct prepend_case prepend_cases[] = {
	{ "DKIM-Signature: v=1; a=rsa-sha256;\r\n\tb=abc\r\n", true },
	{ "DKIM-Signature: a\r\nDKIM-Signature: b\r\n", true },
	{ "", false },
	{ "DKIM-Signature: a", false },			/* no CRLF */
	{ "DKIM-Signature: a\n", false },		/* bare LF */
	{ "DKIM-Signature: a\r\n\r\n", false },		/* empty line: ends headers */
	{ " folded: first\r\n", false },
	{ "no colon here\r\n", false },
	{ ": no name\r\n", false },
	{ "X: a\rb\r\n", false },
	{ "X: caf\xc3\xa9\r\n", false },
	{ "X: a\r\nnot a field\r\n", false },
};

static void
test_prepend_headers(void **state)
{
	static char big[1100];

	(void)state;
	for (size_t i = 0; i < sizeof(prepend_cases) / sizeof(prepend_cases[0]); i++) {
		const struct prepend_case *c = &prepend_cases[i];
		if (mime_fields_are_clean(c->h, strlen(c->h)) != c->want)
			fail_msg("'%s': got %d, want %d", c->h, !c->want, c->want);
	}
	memset(big, 'x', sizeof(big));
	memcpy(big, "X: ", 3);
	memcpy(big + 999, "\r\n", 2);	/* 999 octets before CRLF */
	assert_false(mime_fields_are_clean(big, 1001));
	memcpy(big + 998, "\r\n", 2);
	assert_true(mime_fields_are_clean(big, 1000));
}

static void
test_format_date(void **state)
{
	const struct {
		uint64_t	 t;
		const char	*want;
	} cases[] = {
		{ 0, "Thu, 01 Jan 1970 00:00:00 +0000" },
		{ 1700000000, "Tue, 14 Nov 2023 22:13:20 +0000" },
		{ 951782400, "Tue, 29 Feb 2000 00:00:00 +0000" },
		{ UINT64_MAX, "Fri, 31 Dec 9999 23:59:59 +0000" },
	};
	char got[40];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mime_format_date(cases[i].t, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("%llu: got %s, want %s", (unsigned long long)cases[i].t,
			    got, cases[i].want);
	}
}

/* ---- cleaning and RFC 2047 ------------------------------------------------- */

struct decode_case {
	const char	*in;
	const char	*want;
};

static const struct decode_case decode_cases[] = {
	{ "plain text", "plain text" },
	{ "=?utf-8?q?Gr=C3=BC=C3=9Fe?=", "Gr\xc3\xbc\xc3\x9f" "e" },
	{ "=?UTF-8?B?S8O2bG4=?=", "K\xc3\xb6ln" },
	{ "=?utf-8?q?a?= =?utf-8?q?b?=", "ab" },		/* space between words goes */
	{ "=?utf-8?q?a?=\t \t=?utf-8?q?b?=", "ab" },
	{ "=?utf-8?q?a?= x =?utf-8?q?b?=", "a x b" },	/* text between stays */
	{ "=?utf-8?q?a_b?=", "a b" },
	{ "=?iso-8859-1?q?caf=E9?=", "caf\xc3\xa9" },
	{ "=?latin1?b?6Q==?=", "\xc3\xa9" },
	{ "=?us-ascii?q?ok?=", "ok" },
	{ "=?koi8-r?b?8NLJ18XU?=", "=?koi8-r?b?8NLJ18XU?=" },	/* unknown: kept */
	{ "=?utf-8?x?abc?=", "=?utf-8?x?abc?=" },		/* unknown encoding */
	{ "=?utf-8?q?=Z1?=", "=?utf-8?q?=Z1?=" },		/* bad hex */
	{ "=?utf-8?q?=4?=", "=?utf-8?q?=4?=" },		/* short escape */
	{ "=?utf-8?b?!!!?=", "=?utf-8?b?!!!?=" },		/* bad base64 */
	{ "=?utf-8?q?a b?=", "=?utf-8?q?a b?=" },		/* space inside */
	{ "=?utf-8?q?unterminated", "=?utf-8?q?unterminated" },
	{ "=?", "=?" },
	{ "=?utf-8?q?=0D=0A?=", "\r\n" },		/* decoded; cleaned later */
};

static void
test_decode_2047(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
		uint8_t out[256];
		size_t n = mime_decode_2047(decode_cases[i].in, out, sizeof(out));
		if (n != strlen(decode_cases[i].want) ||
		    memcmp(out, decode_cases[i].want, n) != 0)
			fail_msg("'%s': got '%.*s', want '%s'", decode_cases[i].in, (int)n,
			    out, decode_cases[i].want);
	}
	/* A small output buffer is never overrun. */
	uint8_t small[4];
	assert_true(mime_decode_2047("=?utf-8?q?abcdefgh?= tail", small, sizeof(small)) <= 4);
}

struct clean_case {
	const char	*in;
	size_t		 len;		/* 0: strlen */
	size_t		 max;
	const char	*want;
};

static const struct clean_case utf8_cases[] = {
	{ "Gr\xc3\xbc\xc3\x9f" "e", 0, 64, "Gr\xc3\xbc\xc3\x9f" "e" },
	{ "a\xff\xfe" "b", 0, 64, "a??b" },			/* invalid bytes */
	{ "\xc0\xaf", 0, 64, "??" },				/* overlong '/' */
	{ "\xed\xa0\x80", 0, 64, "???" },			/* surrogate */
	{ "\xf4\x90\x80\x80", 0, 64, "????" },		/* above U+10FFFF */
	{ "\xc2\x85x", 0, 64, "??x" },			/* C1 control NEL */
	{ "\xe2\x82", 0, 64, "??" },			/* cut sequence */
	{ "  a\r\n\tb\x01  ", 0, 64, "a b" },
	{ "a\0b", 3, 64, "a b" },
	{ "\xe2\x82\xac\xe2\x82\xac", 0, 4, "\xe2\x82\xac" },	/* cut on a boundary */
	{ "", 0, 64, "" },
};

static void
test_clean_utf8(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
		const struct clean_case *c = &utf8_cases[i];
		char out[128];
		mime_clean_utf8((const uint8_t *)c->in, c->len ? c->len : strlen(c->in), out,
		    c->max);
		if (strcmp(out, c->want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, out, c->want);
	}
}

static const struct clean_case line_cases[] = {
	{ "550 ok\r\nBcc: x", 0, 64, "550 ok Bcc: x" },
	{ "caf\xc3\xa9", 0, 64, "caf??" },
	{ "a\0b", 3, 64, "a b" },
	{ "   ", 0, 64, "" },
	{ "abcdef", 0, 4, "abc" },
};

static void
test_clean_line(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		const struct clean_case *c = &line_cases[i];
		char out[128];
		mime_clean_line(c->in, c->len ? c->len : strlen(c->in), out, c->max);
		if (strcmp(out, c->want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, out, c->want);
	}
}

/* ---- writing ------------------------------------------------------------------ */

static void
assert_lines_at_most(const struct textbuf *b, size_t max)
{
	size_t start = 0;

	for (size_t i = 0; i < b->len; i++) {
		if (b->p[i] != '\n')
			continue;
		if (i == 0 || b->p[i - 1] != '\r')
			fail_msg("bare LF at %zu", i);
		if (i - 1 - start > max)
			fail_msg("line of %zu > %zu: %.*s", i - 1 - start, max,
			    (int)(i - 1 - start), b->p + start);
		start = i + 1;
	}
	assert_int_equal(start, b->len);	/* ends in CRLF */
}

static void
test_folded(void **state)
{
	static char longword[2100];
	struct textbuf b = { 0 };

	(void)state;
	mime_put_folded(&b, "Diagnostic-Code", "smtp; 550 5.1.1 <bob@remote.test>: "
	    "Recipient address rejected: User unknown in virtual mailbox table");
	textbuf_putc(&b, '\0');
	assert_string_equal(b.p, "Diagnostic-Code: smtp; 550 5.1.1 <bob@remote.test>: "
	    "Recipient address\r\n rejected: User unknown in virtual mailbox table\r\n");
	textbuf_free(&b);
	memset(longword, 'w', sizeof(longword) - 1);
	memset(&b, 0, sizeof(b));
	mime_put_folded(&b, "X", longword);
	assert_lines_at_most(&b, MIME_LINE_MAX);
	textbuf_free(&b);
}

static void
test_encoded(void **state)
{
	struct textbuf b = { 0 };
	char in[400];
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 100; i++) {		/* 2-, 3- and 4-byte characters */
		const char *c = i % 3 == 0 ? "\xc3\xa9" : i % 3 == 1 ? "\xe2\x82\xac" :
		    "\xf0\x9f\x93\xa7";
		memcpy(in + n, c, strlen(c));
		n += strlen(c);
	}
	in[n] = '\0';
	mime_put_encoded(&b, "Subject", in);
	assert_lines_at_most(&b, 76);		/* RFC 2047 2 */
	textbuf_putc(&b, '\0');
	for (char *w = b.p; (w = strstr(w, "=?utf-8?B?")) != NULL; w++) {
		char *e = strstr(w, "?=");
		assert_non_null(e);
		if (e + 2 - w > MIME_EW_MAX)
			fail_msg("encoded-word of %d chars", (int)(e + 2 - w));
	}
	textbuf_free(&b);
}

struct qp_case {
	const char	*in;
	const char	*want;
};

static const struct qp_case qp_cases[] = {
	{ "plain\n", "plain\r\n" },
	{ "a=b\n", "a=3Db\r\n" },
	{ "trailing space \n", "trailing space=20\r\n" },
	{ "tab\t\n", "tab=09\r\n" },
	{ "caf\xc3\xa9\n", "caf=C3=A9\r\n" },
	{ "cr\rlf\n", "cr=0Dlf\r\n" },
	{ "--=_hmx_x\n", "--=3D_hmx_x\r\n" },
	{ "", "" },
};

static void
test_qp(void **state)
{
	static uint8_t longline[500];

	(void)state;
	for (size_t i = 0; i < sizeof(qp_cases) / sizeof(qp_cases[0]); i++) {
		struct textbuf b = { 0 };
		mime_put_qp(&b, (const uint8_t *)qp_cases[i].in, strlen(qp_cases[i].in));
		textbuf_putc(&b, '\0');
		if (strcmp(b.p, qp_cases[i].want) != 0)
			fail_msg("'%s': got '%s', want '%s'", qp_cases[i].in, b.p,
			    qp_cases[i].want);
		textbuf_free(&b);
	}
	/* Soft breaks keep every line within 76, "=" included. */
	for (size_t i = 0; i < sizeof(longline); i++)
		longline[i] = (uint8_t)(i % 3 == 0 ? 0xe9 : 'a' + i % 26);
	longline[sizeof(longline) - 1] = '\n';
	struct textbuf b = { 0 };
	mime_put_qp(&b, longline, sizeof(longline));
	assert_lines_at_most(&b, MIME_QP_LINE);
	textbuf_free(&b);
}

/* ---- the buffer --------------------------------------------------------------- */

static void
test_textbuf_bounded(void **state)
{
	static char chunk[65536];
	struct textbuf b = { 0 };

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 16; i++)
		textbuf_put(&b, chunk, sizeof(chunk));
	assert_false(b.overflow);
	assert_int_equal(b.len, TEXTBUF_MAX);
	textbuf_putc(&b, 'y');
	assert_true(b.overflow);		/* sticky, nothing written */
	assert_int_equal(b.len, TEXTBUF_MAX);
	textbuf_free(&b);
	memset(&b, 0, sizeof(b));
	chunk[2000] = '\0';			/* %s needs a string */
	textbuf_printf(&b, "%s", chunk);	/* 2000 bytes: over 1 KB */
	assert_true(b.overflow);
	textbuf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_value),
		cmocka_unit_test(test_header_block_len),
		cmocka_unit_test(test_decode_2047),
		cmocka_unit_test(test_clean_utf8),
		cmocka_unit_test(test_clean_line),
		cmocka_unit_test(test_folded),
		cmocka_unit_test(test_encoded),
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_textbuf_bounded),
		cmocka_unit_test(test_prepend_headers),
		cmocka_unit_test(test_format_date),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
