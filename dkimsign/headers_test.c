/*
 * dkimsign/headers_test.c - the header splitter: one row per case, good
 * and hostile (bare CR/LF, NUL, folds before the first field, names with
 * spaces or 8-bit bytes, sections and fields over the limits).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "headers.h"

#define MAX_FIELDS	8

struct split_case {
	const char	*name;
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	bool		 eof;
	enum hdr_status	 want;
	const char	*fields[MAX_FIELDS];	/* on HDR_OK, NULL-terminated */
	const char	*body;		/* on HDR_OK: what follows the section */
};

static const struct split_case cases[] = {
	{ "two fields and a body", "A: 1\r\nB: 2\r\n\r\nbody\r\n", 0, true, HDR_OK,
	  { "A: 1", "B: 2" }, "body\r\n" },
	{ "folds stay inside the field", "Subject: a\r\n b\r\n\tc\r\nX: y\r\n\r\n", 0, true,
	  HDR_OK, { "Subject: a\r\n b\r\n\tc", "X: y" }, "" },
	{ "blank-looking fold", "A: 1\r\n \r\n\r\nz", 0, true, HDR_OK, { "A: 1\r\n " }, "z" },
	{ "no body at all", "A: 1\r\nB: 2\r\n", 0, true, HDR_OK, { "A: 1", "B: 2" }, "" },
	{ "last line without CRLF", "A: 1\r\nB: 2", 0, true, HDR_OK, { "A: 1", "B: 2" }, "" },
	{ "empty message", "", 0, true, HDR_OK, { NULL }, "" },
	{ "body only", "\r\nbody", 0, true, HDR_OK, { NULL }, "body" },
	{ "8-bit value, colons in value", "Subject: caf\xc3\xa9 a:b\r\nX-Y: :\r\n\r\n", 0, true,
	  HDR_OK, { "Subject: caf\xc3\xa9 a:b", "X-Y: :" }, "" },
	{ "empty value", "X:\r\n\r\n", 0, true, HDR_OK, { "X:" }, "" },
	{ "body may hold anything", "A: 1\r\n\r\nx\ny\rz\0", 14, true, HDR_OK, { "A: 1" },
	  "x\ny\rz" },
	{ "section ends inside the buffer", "A: 1\r\n\r\nmore", 0, false, HDR_OK, { "A: 1" },
	  "more" },
	{ "section does not end in the buffer", "A: 1\r\nB: 2\r\n", 0, false, HDR_TOO_BIG },
	{ "half a line, not eof", "A: 1\r\nB: ", 0, false, HDR_TOO_BIG },
	{ "bare LF ends a line", "A: 1\nB: 2\r\n\r\n", 0, true, HDR_BAD_EOL },
	{ "bare LF as the empty line", "A: 1\r\n\n", 0, true, HDR_BAD_EOL },
	{ "LF first", "\nA: 1\r\n\r\n", 0, true, HDR_BAD_EOL },
	{ "bare CR inside", "A: 1\rB: 2\r\n\r\n", 0, true, HDR_BAD_EOL },
	{ "CR at eof", "A: 1\r", 0, true, HDR_BAD_EOL },
	{ "CR CR LF", "A: 1\r\r\n\r\n", 0, true, HDR_BAD_EOL },
	{ "NUL in a value", "A: x\0y\r\n\r\n", 10, true, HDR_NUL },
	{ "NUL in a fold", "A: x\r\n \0\r\n\r\n", 12, true, HDR_NUL },
	{ "line without colon", "A: 1\r\nnot a field\r\n\r\n", 0, true, HDR_NO_COLON },
	{ "mbox From_ line", "From kim@example.test Sun Nov 23 13:34:00 2025\r\nA: 1\r\n\r\n", 0, true,
	  HDR_BAD_NAME },
	{ "empty name", ": x\r\n\r\n", 0, true, HDR_BAD_NAME },
	{ "space before colon", "From : kim@example.test\r\n\r\n", 0, true, HDR_BAD_NAME },
	{ "tab before colon", "From\t: kim\r\n\r\n", 0, true, HDR_BAD_NAME },
	{ "8-bit name", "Fr\xc3\xb6m: x\r\n\r\n", 0, true, HDR_BAD_NAME },
	{ "control byte in name", "A\x01: x\r\n\r\n", 0, true, HDR_BAD_NAME },
	{ "DEL in name", "A\x7f: x\r\n\r\n", 0, true, HDR_BAD_NAME },
	{ "fold before any field", " x\r\nA: 1\r\n\r\n", 0, true, HDR_LEADING_FOLD },
	{ "tab fold before any field", "\tx\r\n\r\n", 0, true, HDR_LEADING_FOLD },
	{ "last line a lone fold", " x", 0, true, HDR_LEADING_FOLD },
};

struct collected {
	size_t		 n;
	const uint8_t	*base;
	size_t		 base_len;
	char		 field[MAX_FIELDS][256];
	int		 stop_after;	/* -1: never */
};

static int
collect(const uint8_t *field, size_t len, void *arg)
{
	struct collected *c = arg;

	/* Fields point into the caller's buffer: no copies, no overreads. */
	assert_true(field >= c->base && field + len <= c->base + c->base_len);
	if (c->stop_after >= 0 && (int)c->n == c->stop_after)
		return -1;
	if (c->n < MAX_FIELDS && len < sizeof(c->field[0])) {
		memcpy(c->field[c->n], field, len);
		c->field[c->n][len] = '\0';
	}
	c->n++;
	return 0;
}

static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct split_case *t = &cases[i];
		size_t len = t->len ? t->len : strlen(t->in), body_off = 99, nfields = 99;
		struct collected c = { 0, (const uint8_t *)t->in, len, { { 0 } }, -1 };
		enum hdr_status st = hdr_split((const uint8_t *)t->in, len, t->eof, collect, &c,
		    &body_off, &nfields);

		if (st != t->want)
			fail_msg("%s: got %s, want %s", t->name, hdr_status_text(st),
			    hdr_status_text(t->want));
		if (st != HDR_OK)
			continue;
		size_t want_n = 0;
		while (want_n < MAX_FIELDS && t->fields[want_n] != NULL)
			want_n++;
		if (nfields != want_n || c.n != want_n)
			fail_msg("%s: got %zu fields (%zu seen), want %zu", t->name, nfields, c.n,
			    want_n);
		for (size_t f = 0; f < want_n; f++)
			if (strcmp(c.field[f], t->fields[f]) != 0)
				fail_msg("%s: field %zu: got '%s', want '%s'", t->name, f,
				    c.field[f], t->fields[f]);
		size_t blen = strlen(t->body);
		if (len - body_off < blen || memcmp(t->in + body_off, t->body, blen) != 0 ||
		    (t->eof && len - body_off != blen && t->len == 0))
			fail_msg("%s: body starts at %zu, want '%s'", t->name, body_off, t->body);
	}
}

/* Builds "X: vvvv...\r\n" of total field length n (without CRLF). */
static char *
long_field(size_t n, const char *tail)
{
	size_t tl = strlen(tail);
	char *s = malloc(n + 2 + tl + 1);

	assert_non_null(s);
	memcpy(s, "X: ", 3);
	memset(s + 3, 'v', n - 3);
	memcpy(s + n, "\r\n", 2);
	memcpy(s + n + 2, tail, tl + 1);
	return s;
}

static void
test_field_length_limit(void **state)
{
	size_t off, nf;
	char *s;

	(void)state;
	s = long_field(HDR_FIELD_MAX, "\r\n");
	assert_int_equal(hdr_split((uint8_t *)s, strlen(s), true, NULL, NULL, &off, &nf), HDR_OK);
	free(s);
	s = long_field(HDR_FIELD_MAX + 1, "\r\n");
	assert_int_equal(hdr_split((uint8_t *)s, strlen(s), true, NULL, NULL, &off, &nf),
	    HDR_FIELD_TOO_LONG);
	free(s);
	/* The limit counts the folds (and their CRLFs) too. */
	s = long_field(HDR_FIELD_MAX - 10, " 12345678\r\n\r\n");
	assert_int_equal(hdr_split((uint8_t *)s, strlen(s), true, NULL, NULL, &off, &nf),
	    HDR_FIELD_TOO_LONG);
	free(s);
	s = long_field(HDR_FIELD_MAX - 10, " 1234567\r\n\r\n");
	assert_int_equal(hdr_split((uint8_t *)s, strlen(s), true, NULL, NULL, &off, &nf), HDR_OK);
	free(s);
}

static void
test_field_count_limit(void **state)
{
	size_t n = (HDR_FIELDS_MAX + 1) * 6 + 2, off, nf;
	char *s = malloc(n + 1), *p = s;

	(void)state;
	assert_non_null(s);
	for (int i = 0; i < HDR_FIELDS_MAX; i++, p += 6)
		memcpy(p, "X: 1\r\n", 6);
	memcpy(p, "\r\n", 3);
	assert_int_equal(hdr_split((uint8_t *)s, strlen(s), true, NULL, NULL, &off, &nf), HDR_OK);
	assert_int_equal(nf, HDR_FIELDS_MAX);
	memcpy(p, "X: 1\r\n\r\n", 9);
	assert_int_equal(hdr_split((uint8_t *)s, strlen(s), true, NULL, NULL, &off, &nf),
	    HDR_TOO_MANY);
	free(s);
}

static void
test_callback_can_stop(void **state)
{
	const char *in = "A: 1\r\nB: 2\r\nC: 3\r\n\r\n";
	struct collected c = { 0, (const uint8_t *)in, strlen(in), { { 0 } }, 1 };
	size_t off, nf;

	(void)state;
	assert_int_equal(hdr_split((const uint8_t *)in, strlen(in), true, collect, &c, &off, &nf),
	    HDR_CALLBACK);
	assert_int_equal(c.n, 1);
	/* The last field, handed over at the end of the section, can stop too. */
	c.n = 0;
	c.stop_after = 2;
	assert_int_equal(hdr_split((const uint8_t *)in, strlen(in), true, collect, &c, &off, &nf),
	    HDR_CALLBACK);
}

static void
test_status_text(void **state)
{
	(void)state;
	for (int s = HDR_OK; s <= HDR_CALLBACK; s++)
		assert_string_not_equal(hdr_status_text((enum hdr_status)s), "unknown");
	assert_string_equal(hdr_status_text((enum hdr_status)999), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_field_length_limit),
		cmocka_unit_test(test_field_count_limit),
		cmocka_unit_test(test_callback_can_stop),
		cmocka_unit_test(test_status_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
