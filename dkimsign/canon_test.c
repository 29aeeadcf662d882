/*
 * dkimsign/canon_test.c - the relaxed canonicalizations against the
 * answers of dkimpy 1.1 (python3-dkim's dkim.canonicalization.Relaxed,
 * on the body as relay/dotstuff.c sends it), and the body fed in every
 * possible split of two chunks giving the same bytes as in one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "canon.h"

struct body_case {
	const char	*in;
	const char	*want;
};

/* dkimpy's Relaxed.canonicalize_body of each input as relay/dotstuff.c
 * sends it (a bare LF as CRLF, a missing final line end added). */
static const struct body_case body_cases[] = {
	{ "", "" },
	{ "\r\n", "" },
	{ "\r\n\r\n", "" },
	{ "abc", "abc\r\n" },
	{ "abc\r\n", "abc\r\n" },
	{ "abc\r\n\r\n\r\n", "abc\r\n" },
	{ "  a \t b  \r\n", " a b\r\n" },
	{ "a\r\n  \r\n\t\r\n", "a\r\n" },
	{ "a\r\n \r\nb\r\n", "a\r\n\r\nb\r\n" },
	{ "\tlead\r\n", " lead\r\n" },
	{ "x \r", "x\r\n" },
	{ "x\ry \r\n", "x\ry\r\n" },
	{ "bare\nlf \n\r\n", "bare\r\nlf\r\n" },
	{ "a  \r\n\r\n  b\r\n\r\n", "a\r\n\r\n b\r\n" },
	{ "  ", "" },
	{ "end\r\n \t ", "end\r\n" },
	{ "caf\xc3\xa9 \r\n", "caf\xc3\xa9\r\n" },
	{ "x\r\r\n", "x\r\r\n" },
	{ "\n\n", "" },
	{ "a \r \r\n", "a \r\r\n" },
};

struct collect {
	char	buf[256];
	size_t	len;
};

static void
collect_sink(void *arg, const uint8_t *p, size_t n)
{
	struct collect *c = arg;

	assert_true(c->len + n < sizeof(c->buf));
	memcpy(c->buf + c->len, p, n);
	c->len += n;
	c->buf[c->len] = '\0';
}

/* The canonical body of in, fed as in[0..split) then in[split..). */
static void
canon_split(const char *in, size_t split, struct collect *c)
{
	struct canon_body b;
	size_t n = strlen(in);

	memset(c, 0, sizeof(*c));
	canon_body_init(&b, collect_sink, c);
	canon_body_feed(&b, (const uint8_t *)in, split);
	canon_body_feed(&b, (const uint8_t *)in + split, n - split);
	canon_body_finish(&b);
}

static void
test_body_cases(void **state)
{
	struct collect c;

	(void)state;
	for (size_t i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]); i++) {
		const struct body_case *t = &body_cases[i];
		for (size_t split = 0; split <= strlen(t->in); split++) {
			canon_split(t->in, split, &c);
			if (c.len != strlen(t->want) || memcmp(c.buf, t->want, c.len) != 0)
				fail_msg("case %zu split %zu: got '%s', want '%s'", i, split,
				    c.buf, t->want);
		}
	}
}

/* More than CANON_OUT_BUF bytes of output, and held-back empty lines
 * written out when a non-empty line follows them. */
struct tail {
	size_t	len;
	uint8_t	last[4];
};

static void
tail_sink(void *arg, const uint8_t *p, size_t k)
{
	struct tail *t = arg;

	assert_true(k <= CANON_OUT_BUF);
	for (size_t i = 0; i < k; i++) {
		memmove(t->last, t->last + 1, 3);
		t->last[3] = p[i];
	}
	t->len += k;
}

static void
test_body_long(void **state)
{
	static uint8_t in[3 * CANON_OUT_BUF];
	struct tail got = { 0, { 0 } };
	struct canon_body b;
	size_t n = 0;

	(void)state;
	while (n + 4 <= 2 * CANON_OUT_BUF) {
		memcpy(in + n, "\r\n\r\n", 4);
		n += 4;
	}
	memcpy(in + n, "x\r\n", 3);
	n += 3;
	canon_body_init(&b, tail_sink, &got);
	canon_body_feed(&b, in, n);
	canon_body_finish(&b);
	assert_int_equal(got.len, n);
	assert_memory_equal(got.last, "\n" "x\r\n", 4);
}

struct header_case {
	const char	*in;
	const char	*want;
};

/* dkimpy's Relaxed.canonicalize_headers, name ":" value. */
static const struct header_case header_cases[] = {
	{ "Subject: a  b \t c  ", "subject:a b c\r\n" },
	{ "SUBJECT:\r\n\tfolded\r\n  twice ", "subject:folded twice\r\n" },
	{ "X-Empty:", "x-empty:\r\n" },
	{ "X-Ws:   ", "x-ws:\r\n" },
	{ "To:a: b,\r\n c", "to:a: b, c\r\n" },
	{ "From: Kim <kim@example.test>", "from:Kim <kim@example.test>\r\n" },
};

static void
test_header_cases(void **state)
{
	uint8_t out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
		const struct header_case *t = &header_cases[i];
		size_t n = canon_header((const uint8_t *)t->in, strlen(t->in), true, out,
		    sizeof(out));
		assert_int_equal(n, strlen(t->want));
		assert_memory_equal(out, t->want, n);
		/* Without the CRLF, and never longer than the input + 2. */
		assert_int_equal(canon_header((const uint8_t *)t->in, strlen(t->in), false,
		    out, strlen(t->in) + 2), n - 2);
	}
	assert_int_equal(canon_header((const uint8_t *)"no colon", 8, true, out,
	    sizeof(out)), 0);
	assert_int_equal(canon_header((const uint8_t *)"A: b", 4, true, out, 5), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_cases),
		cmocka_unit_test(test_body_long),
		cmocka_unit_test(test_header_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
