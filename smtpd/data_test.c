/*
 * smtpd/data_test.c - the DATA scanner against a table of streams. Every
 * stream is fed whole, one byte at a time, cut in two at every position,
 * and in random pieces: the result (unstuffed bytes, flags, where the data
 * ended) must never depend on the cuts. The table holds the SMTP smuggling
 * variants of the 2023 research; none of them may end the data.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "command.h"
#include "data.h"

#define S(s)	(const uint8_t *)s, sizeof(s) - 1
#define BIG	(1024 * 1024)
#define TAIL	"QUIT\r\n"	/* what a pipelining client sends next */

struct data_case {
	const char	*name;
	const uint8_t	*in;
	size_t		 inlen;
	uint64_t	 max_size;
	bool		 done;
	size_t		 consumed;	/* (size_t)-1: all of in */
	const uint8_t	*out;		/* NULL: do not compare (too big) */
	size_t		 outlen;
	unsigned	 flags;
};

#define ALL	((size_t)-1)

static const struct data_case cases[] = {
	{ "simple", S("Subject: x\r\n\r\nbody\r\n.\r\n"), BIG, true, ALL,
	    S("Subject: x\r\n\r\nbody\r\n"), 0 },
	{ "empty message", S(".\r\n"), BIG, true, ALL, S(""), 0 },
	{ "empty line then end", S("\r\n.\r\n"), BIG, true, ALL, S("\r\n"), 0 },
	{ "stuffed leading dot", S("..leading dot\r\n.\r\n"), BIG, true, ALL,
	    S(".leading dot\r\n"), 0 },
	{ "stuffed lone dot", S("a\r\n..\r\n.\r\n"), BIG, true, ALL, S("a\r\n.\r\n"), 0 },
	{ "lone dot first line", S("..\r\n.\r\n"), BIG, true, ALL, S(".\r\n"), 0 },
	{ "unstuffed dot line is deleted", S("a\r\n.a\r\n.\r\n"), BIG, true, ALL,
	    S("a\r\na\r\n"), 0 },
	{ "dot inside line", S("a.\r\n.b.\r\n.\r\n"), BIG, true, ALL, S("a.\r\nb.\r\n"), 0 },
	{ "pipelined command after end", S("a\r\n.\r\n" TAIL), BIG, true, 6,
	    S("a\r\n"), 0 },
	{ "8-bit kept", S("\xc3\xa4\xff\r\n.\r\n"), BIG, true, ALL, S("\xc3\xa4\xff\r\n"), 0 },
	{ "double CR before LF", S("a\r\r\n.\r\n"), BIG, true, ALL, S("a\r\r\n"), DATA_BARE_CR },

	/* SMTP smuggling (2023): none of these is an end of data. */
	{ "smuggle LF.LF", S("a\n.\nMAIL FROM:<x@evil.test>\r\n.\r\n"), BIG, true, ALL,
	    S("a\n.\nMAIL FROM:<x@evil.test>\r\n"), DATA_BARE_LF },
	{ "smuggle CRLF.LF", S("a\r\n.\nb\r\n.\r\n"), BIG, true, ALL,
	    S("a\r\n\nb\r\n"), DATA_BARE_LF },
	{ "smuggle LF.CRLF", S("a\n.\r\nb\r\n.\r\n"), BIG, true, ALL,
	    S("a\n.\r\nb\r\n"), DATA_BARE_LF },
	{ "smuggle CR.CR", S("a\r.\rb\r\n.\r\n"), BIG, true, ALL,
	    S("a\r.\rb\r\n"), DATA_BARE_CR },
	{ "smuggle CRLF.CR", S("a\r\n.\rb\r\n.\r\n"), BIG, true, ALL,
	    S("a\r\n\rb\r\n"), DATA_BARE_CR },
	{ "smuggle CR.CRLF", S("a\r.\r\nb\r\n.\r\n"), BIG, true, ALL,
	    S("a\r.\r\nb\r\n"), DATA_BARE_CR },
	{ "smuggle CRLF.CRCRLF", S("a\r\n.\r\r\n.\r\n"), BIG, true, ALL,
	    S("a\r\n\r\r\n"), DATA_BARE_CR },
	{ "smuggle CRLF NUL.CRLF", S("a\r\n\0.\r\nb\r\n.\r\n"), BIG, true, ALL,
	    S("a\r\n\0.\r\nb\r\n"), DATA_NUL },
	{ "smuggle CRLF.NUL CRLF", S("a\r\n.\0\r\n.\r\n"), BIG, true, ALL,
	    S("a\r\n\0\r\n"), DATA_NUL },
	{ "smuggle LF.LF at start", S("\n.\n.\r\n.\r\n"), BIG, true, ALL, S("\n.\n.\r\n"), DATA_BARE_LF },
	{ "smuggle CR.CR at start", S("\r.\r\r\n.\r\n"), BIG, true, ALL, S("\r.\r\r\n"), DATA_BARE_CR },
	{ "smuggle space.CRLF", S("a\r\n .\r\n.\r\n"), BIG, true, ALL, S("a\r\n .\r\n"), 0 },
	{ "open: LF.LF only", S("a\n.\n"), BIG, false, ALL, S("a\n.\n"), DATA_BARE_LF },
	{ "open: CRLF.LF only", S("a\r\n.\n"), BIG, false, ALL, S("a\r\n\n"), DATA_BARE_LF },
	{ "open: LF.CRLF only", S("a\n.\r\n"), BIG, false, ALL, S("a\n.\r\n"), DATA_BARE_LF },
	{ "open: CR.CR only", S("a\r.\r"), BIG, false, ALL, S("a\r.\r"), DATA_BARE_CR },
	{ "open: CRLF.CR pending", S("a\r\n.\r"), BIG, false, ALL, S("a\r\n"), 0 },
	{ "open: CRLF. pending", S("a\r\n."), BIG, false, ALL, S("a\r\n"), 0 },
	{ "open: NUL", S("a\r\n\0.\r\n"), BIG, false, ALL, S("a\r\n\0.\r\n"), DATA_NUL },

	/* size limit: the message is 12 octets */
	{ "size at limit", S("0123456789\r\n.\r\n"), 12, true, ALL,
	    S("0123456789\r\n"), 0 },
	{ "size over limit", S("0123456789\r\n.\r\n"), 11, true, ALL, NULL, 0, DATA_TOO_BIG },
	{ "size over limit, stuffing not counted", S("..23456789\r\n.\r\n"), 11, true, ALL,
	    S(".23456789\r\n"), 0 },
};

/* Feeds in[0..len) cut at the offsets in cuts[]; checks against c. */
struct sink_buf {
	uint8_t	*p;
	size_t	 len;
	size_t	 cap;
};

static void
sink(void *arg, const uint8_t *p, size_t n)
{
	struct sink_buf *b = arg;

	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
run_case(const struct data_case *c, const size_t *cuts, size_t ncuts,
    const char *how)
{
	struct data_scanner d;
	struct sink_buf out = { NULL, 0, 0 };
	size_t consumed = 0, start = 0;
	size_t want_consumed = c->consumed == ALL ? c->inlen : c->consumed;

	data_scanner_init(&d, c->max_size, sink, &out);
	for (size_t k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : c->inlen;
		if (end < start)
			continue;
		size_t used = data_scanner_feed(&d, c->in + start, end - start);
		consumed += used;
		if (used < end - start) {
			if (!data_scanner_done(&d))
				fail_msg("%s [%s]: stopped early without the end", c->name, how);
			break;
		}
		start = end;
	}
	if (data_scanner_done(&d) != c->done)
		fail_msg("%s [%s]: got done=%d, want %d", c->name, how,
		    data_scanner_done(&d), c->done);
	if (consumed != want_consumed)
		fail_msg("%s [%s]: got consumed %zu, want %zu", c->name, how,
		    consumed, want_consumed);
	if (d.flags != c->flags)
		fail_msg("%s [%s]: got flags 0x%x, want 0x%x", c->name, how, d.flags, c->flags);
	if (c->out != NULL && (out.len != c->outlen ||
	    (out.len > 0 && memcmp(out.p, c->out, out.len) != 0)))
		fail_msg("%s [%s]: got %zu bytes \"%.*s\", want %zu", c->name, how,
		    out.len, (int)out.len, out.p != NULL ? (char *)out.p : "", c->outlen);
	if ((c->flags & DATA_TOO_BIG) ? out.len != c->max_size : out.len > c->max_size)
		fail_msg("%s [%s]: sink got %zu bytes, max %llu", c->name, how,
		    out.len, (unsigned long long)c->max_size);
	/* After the end, nothing more is consumed. */
	if (data_scanner_done(&d))
		assert_int_equal(data_scanner_feed(&d, (const uint8_t *)"x", 1), 0);
	free(out.p);
}

static void
run_all_splits(const struct data_case *c)
{
	size_t *cuts = calloc(c->inlen + 1, sizeof(*cuts));
	char how[64];

	assert_non_null(cuts);
	run_case(c, NULL, 0, "whole");
	for (size_t i = 0; i < c->inlen; i++)
		cuts[i] = i + 1;
	run_case(c, cuts, c->inlen, "byte by byte");
	for (size_t i = 0; i <= c->inlen; i++) {
		snprintf(how, sizeof(how), "cut at %zu", i);
		run_case(c, &i, 1, how);
	}
	srandom(12345);
	for (int round = 0; round < 50; round++) {
		size_t n = 0, pos = 0;
		while (pos < c->inlen) {
			pos += 1 + (size_t)random() % 7;
			cuts[n++] = pos < c->inlen ? pos : c->inlen;
		}
		snprintf(how, sizeof(how), "random round %d", round);
		run_case(c, cuts, n, how);
	}
	free(cuts);
}

static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_all_splits(&cases[i]);
}

/* A line of n octets before its CRLF, then the end of data. */
static uint8_t *
make_line_message(size_t n, bool stuffed, size_t *len)
{
	size_t total = (stuffed ? 1 : 0) + n + 2 + 3;
	uint8_t *m = malloc(total);
	size_t o = 0;

	assert_non_null(m);
	if (stuffed)
		m[o++] = '.';
	for (size_t i = 0; i < n; i++)
		m[o++] = (uint8_t)('a' + i % 26);
	memcpy(m + o, "\r\n.\r\n", 5);
	*len = total;
	return m;
}

static void
test_line_limit(void **state)
{
	static const struct {
		size_t	 octets;	/* before CRLF */
		bool	 stuffed;
		unsigned flags;
	} rows[] = {
		{ 998, false, 0 },			/* 1000 with CRLF: the limit */
		{ 999, false, DATA_LINE_TOO_LONG },	/* 1001 */
		{ 998, true, 0 },			/* the stuffed dot does not count */
		{ 999, true, DATA_LINE_TOO_LONG },
		{ 5000, false, DATA_LINE_TOO_LONG },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t len;
		uint8_t *m = make_line_message(rows[i].octets, rows[i].stuffed, &len);
		char name[64];
		snprintf(name, sizeof(name), "line of %zu%s", rows[i].octets,
		    rows[i].stuffed ? " stuffed" : "");
		struct data_case c = { name, m, len, BIG, true, ALL, NULL, 0, rows[i].flags };
		run_all_splits(&c);
		free(m);
	}
}

/* Many lines of exactly 998 octets: the counter resets at every CRLF. */
static void
test_line_limit_resets(void **state)
{
	size_t len = 20 * 1000 + 3, o = 0;
	uint8_t *m = malloc(len);

	(void)state;
	assert_non_null(m);
	for (int l = 0; l < 20; l++) {
		memset(m + o, 'x', 998);
		memcpy(m + o + 998, "\r\n", 2);
		o += 1000;
	}
	memcpy(m + o, ".\r\n", 3);
	struct data_case c = { "20 full lines", m, len, BIG, true, ALL, NULL, 0, 0 };
	run_case(&c, NULL, 0, "whole");
	free(m);
}

/* The sink never sees a byte past the limit, however the bytes come. */
static void
test_size_stops_sink(void **state)
{
	struct data_scanner d;
	struct sink_buf out = { NULL, 0, 0 };
	uint8_t chunk[1000];

	(void)state;
	memset(chunk, 'z', sizeof(chunk));
	data_scanner_init(&d, 4096, sink, &out);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(data_scanner_feed(&d, chunk, 998), 998);
		assert_int_equal(data_scanner_feed(&d, (const uint8_t *)"\r\n", 2), 2);
	}
	assert_int_equal(data_scanner_feed(&d, (const uint8_t *)".\r\n", 3), 3);
	assert_true(data_scanner_done(&d));
	assert_int_equal(d.flags, DATA_TOO_BIG);
	assert_int_equal(out.len, 4096);
	assert_int_equal(d.size, 10000);
	free(out.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_line_limit_resets),
		cmocka_unit_test(test_size_stops_sink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
