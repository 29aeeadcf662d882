/*
 * submission/headers_test.c - the header section of submitted mail: where it
 * ends (blank line, a body line without the blank, over-long lines, no
 * body at all), fed whole and one byte at a time; which fields are seen
 * (From, Date, Message-ID, folded From); the From: address-list parser
 * with hostile display names, comments, quotes and groups; the rendering
 * of the fields we add; and the check of dkimsign's fields.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "headers.h"

#define S(s)	s, sizeof(s) - 1
#define MARK	"<ADDED>"

struct sink {
	char	out[3 * 8192];
	size_t	len;
	int	ends;
};

static void
sink_emit(void *arg, const uint8_t *buf, size_t len)
{
	struct sink *k = arg;

	assert_true(len <= sizeof(k->out) - k->len);
	memcpy(k->out + k->len, buf, len);
	k->len += len;
}

/* Marks where the scanner says our fields go. */
static void
sink_end(void *arg, bool body_without_blank)
{
	struct sink *k = arg;

	k->ends++;
	sink_emit(k, (const uint8_t *)MARK, strlen(MARK));
	if (body_without_blank)
		sink_emit(k, (const uint8_t *)"\r\n", 2);
}

struct scan_case {
	const char	*in;
	size_t		 inlen;
	const char	*want;		/* output with MARK where fields go */
	unsigned	 nfrom;
	bool		 date;
	bool		 msgid;
	const char	*from;		/* unfolded first From: value */
};

static const struct scan_case scan_cases[] = {
	{ S("From: kim@example.test\r\nSubject: hi\r\n\r\nbody\r\n"),
	  "From: kim@example.test\r\nSubject: hi\r\n" MARK "\r\nbody\r\n",
	  1, false, false, " kim@example.test" },
	{ S("Date: x\r\nMessage-ID: <a@b>\r\nfrom: Kim\r\n <kim@example.test>\r\n\r\n"),
	  "Date: x\r\nMessage-ID: <a@b>\r\nfrom: Kim\r\n <kim@example.test>\r\n" MARK "\r\n",
	  1, true, true, " Kim <kim@example.test>" },
	/* headers only, no body: the fields go at the very end */
	{ S("From: a@b.test\r\nSubject: x\r\n"),
	  "From: a@b.test\r\nSubject: x\r\n" MARK,
	  1, false, false, " a@b.test" },
	/* a body line without the blank line: we add the blank */
	{ S("From: a@b.test\r\nthis is body\r\nmore\r\n"),
	  "From: a@b.test\r\n" MARK "\r\nthis is body\r\nmore\r\n",
	  1, false, false, " a@b.test" },
	/* the very first line is body */
	{ S("hello\r\n\r\n"), MARK "\r\nhello\r\n\r\n", 0, false, false, "" },
	{ S("\r\nbody\r\n"), MARK "\r\nbody\r\n", 0, false, false, "" },
	{ S(""), MARK, 0, false, false, "" },
	/* obsolete blank before the colon is still a field */
	{ S("Subject : x\r\nFrom : a@b.test\r\n\r\n"),
	  "Subject : x\r\nFrom : a@b.test\r\n" MARK "\r\n", 1, false, false, " a@b.test" },
	/* two From: fields: counted, only the first kept */
	{ S("From: a@b.test\r\nFrom: c@d.test\r\n\r\n"),
	  "From: a@b.test\r\nFrom: c@d.test\r\n" MARK "\r\n", 2, false, false, " a@b.test" },
	/* a folded Subject does not leak into From */
	{ S("From: a@b.test\r\nSubject: x\r\n From: evil@x.test\r\n\r\n"),
	  "From: a@b.test\r\nSubject: x\r\n From: evil@x.test\r\n" MARK "\r\n",
	  1, false, false, " a@b.test" },
	/* From: in the body is body */
	{ S("Subject: x\r\n\r\nFrom: evil@x.test\r\n"),
	  "Subject: x\r\n" MARK "\r\nFrom: evil@x.test\r\n", 0, false, false, "" },
	/* names that merely start like ours */
	{ S("From-X: a\r\nDated: b\r\nMessage-IDs: c\r\n\r\n"),
	  "From-X: a\r\nDated: b\r\nMessage-IDs: c\r\n" MARK "\r\n", 0, false, false, "" },
	/* mbox "From " line is not a field */
	{ S("From kim Mon Jan 1\r\nFrom: a@b.test\r\n\r\n"),
	  MARK "\r\nFrom kim Mon Jan 1\r\nFrom: a@b.test\r\n\r\n", 0, false, false, "" },
	/* bare LF line ends (the DATA scanner refuses them later) stay safe */
	{ S("From: a@b.test\n\nbody\n"), "From: a@b.test\n" MARK "\nbody\n",
	  1, false, false, " a@b.test" },
};

static void
run_scan(const struct scan_case *c, size_t chunk, struct sink *k, struct header_scan *hs)
{
	memset(k, 0, sizeof(*k));
	header_scan_init(hs, sink_emit, sink_end, k);
	for (size_t off = 0; off < c->inlen; off += chunk) {
		size_t n = c->inlen - off < chunk ? c->inlen - off : chunk;
		header_scan_feed(hs, (const uint8_t *)c->in + off, n);
	}
	header_scan_finish(hs);
}

static void
test_scan(void **state)
{
	static const size_t chunks[] = { 1, 2, 3, 7, 4096 };
	struct header_scan hs;
	struct sink k;

	(void)state;
	for (size_t i = 0; i < sizeof(scan_cases) / sizeof(scan_cases[0]); i++) {
		const struct scan_case *c = &scan_cases[i];
		for (size_t j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
			run_scan(c, chunks[j], &k, &hs);
			k.out[k.len] = '\0';
			if (strcmp(k.out, c->want) != 0)
				fail_msg("case %zu chunk %zu: got\n%s\nwant\n%s", i, chunks[j],
				    k.out, c->want);
			assert_int_equal(k.ends, 1);
			assert_int_equal(hs.nfrom, c->nfrom);
			assert_int_equal(hs.has_date, c->date);
			assert_int_equal(hs.has_message_id, c->msgid);
			assert_string_equal(hs.from, c->from);
		}
	}
}

/* A line longer than RFC 5322 allows ends the header section; nothing is
 * lost and nothing overflows (the DATA scanner refuses the message). */
static void
test_scan_long_line(void **state)
{
	static char in[3000];
	struct header_scan hs;
	struct sink k;

	(void)state;
	memcpy(in, "X-Long: ", 8);
	memset(in + 8, 'a', sizeof(in) - 8);
	memset(&k, 0, sizeof(k));
	header_scan_init(&hs, sink_emit, sink_end, &k);
	header_scan_feed(&hs, (const uint8_t *)in, sizeof(in));
	header_scan_finish(&hs);
	assert_int_equal(k.ends, 1);
	assert_int_equal(k.len, sizeof(in) + strlen(MARK) + 2);
	assert_memory_equal(k.out, MARK "\r\n", strlen(MARK) + 2);
}

/* A From: value over FROM_VALUE_MAX is flagged, never truncated silently. */
static void
test_scan_from_too_long(void **state)
{
	static char in[FROM_VALUE_MAX * 2];
	char addrs[FROM_ADDRS_MAX][ADDR_MAX + 1];
	struct header_scan hs;
	struct sink k;
	size_t n = 0, off = 0;

	(void)state;
	off += (size_t)snprintf(in, sizeof(in), "From: a@b.test");
	while (off + 40 < sizeof(in) - 4) {
		memcpy(in + off, ",\r\n b@c.test", 12);
		off += 12;
	}
	memcpy(in + off, "\r\n\r\n", 4);
	off += 4;
	memset(&k, 0, sizeof(k));
	header_scan_init(&hs, sink_emit, sink_end, &k);
	header_scan_feed(&hs, (const uint8_t *)in, off);
	header_scan_finish(&hs);
	assert_true(hs.from_overflow);
	assert_int_equal(header_scan_from(&hs, addrs, FROM_ADDRS_MAX, &n), FROM_TOO_LONG);
}

struct from_case {
	const char		*value;
	size_t			 len;
	enum from_status	 want;
	size_t			 n;
	const char		*addrs[3];
};

static const struct from_case from_cases[] = {
	{ S(" kim@example.test"),			FROM_OK, 1, { "kim@example.test" } },
	{ S(" Kim <kim@example.test>"),			FROM_OK, 1, { "kim@example.test" } },
	{ S(" \"Kim Doe\" <kim@EXAMPLE.test>"),		FROM_OK, 1, { "kim@example.test" } },
	{ S(" <kim@example.test>"),			FROM_OK, 1, { "kim@example.test" } },
	{ S(" kim@example.test (Kim Doe)"),		FROM_OK, 1, { "kim@example.test" } },
	{ S(" (c) Kim (nested (c)) <kim@example.test> (x)"), FROM_OK, 1, { "kim@example.test" } },
	{ S(" a@b.test, Lee <lee@c.test>"),		FROM_OK, 2, { "a@b.test", "lee@c.test" } },
	{ S(" a@b.test,, c@d.test,"),			FROM_OK, 2, { "a@b.test", "c@d.test" } },
	{ S(" \"kim\"@example.test"),			FROM_OK, 1, { "kim@example.test" } },
	{ S(" =?utf-8?q?K=C3=AFm?= <kim@example.test>"),	FROM_OK, 1, { "kim@example.test" } },
	/* the display name never counts: the angle address does */
	{ S(" \"kim@example.test\" <evil@x.test>"),	FROM_OK, 1, { "evil@x.test" } },
	{ S(" kim@example.test <evil@x.test>"),		FROM_OK, 1, { "evil@x.test" } },
	{ S(" \"<kim@example.test>\" <evil@x.test>"),	FROM_OK, 1, { "evil@x.test" } },
	{ S(" \"a\\\"<kim@example.test>\" <evil@x.test>"), FROM_OK, 1, { "evil@x.test" } },
	{ S(" (<kim@example.test>) evil@x.test"),	FROM_OK, 1, { "evil@x.test" } },
	{ S(" \"a,b\" <evil@x.test>"),			FROM_OK, 1, { "evil@x.test" } },
	/* broken or hostile */
	{ S(""),					FROM_SYNTAX, 0, { NULL } },
	{ S("   "),					FROM_SYNTAX, 0, { NULL } },
	{ S(" <>"),					FROM_SYNTAX, 0, { NULL } },
	{ S(" Kim"),					FROM_SYNTAX, 0, { NULL } },
	{ S(" <kim@example.test"),			FROM_SYNTAX, 0, { NULL } },
	{ S(" a@b.test, <kim@example.test"),		FROM_SYNTAX, 0, { NULL } },
	{ S(" kim@example.test>"),			FROM_SYNTAX, 0, { NULL } },
	{ S(" <a@b.test> <c@d.test>"),			FROM_SYNTAX, 0, { NULL } },
	{ S(" <a@b.test>junk"),				FROM_SYNTAX, 0, { NULL } },
	{ S(" <<a@b.test>>"),				FROM_SYNTAX, 0, { NULL } },
	{ S(" \"unclosed <a@b.test>"),			FROM_SYNTAX, 0, { NULL } },
	{ S(" (unclosed <a@b.test>"),			FROM_SYNTAX, 0, { NULL } },
	{ S(" <@route.test:a@b.test>"),			FROM_SYNTAX, 0, { NULL } },
	{ S(" group: a@b.test;"),			FROM_SYNTAX, 0, { NULL } },
	{ S(" kim @ example.test"),			FROM_SYNTAX, 0, { NULL } },
	/* RFC 6532 3.2: a UTF-8 address in From: (NFC, as the envelope's) */
	{ S(" k\xc3\xafm@example.test"),		FROM_OK, 1, { "k\xc3\xafm@example.test" } },
	{ S(" D\xc3\xabmo <ki\xcc\x88m@b\xc3\xbc" "cher.example>"), FROM_OK, 1, { "k\xc3\xafm@xn--bcher-kva.example" } },
	{ S(" k\xefm@example.test"),			FROM_SYNTAX, 0, { NULL } },	/* Latin-1 */
	{ S(" <a@b.test\r\n>"),				FROM_SYNTAX, 0, { NULL } },
	{ S(" <a@b\0.test>"),				FROM_SYNTAX, 0, { NULL } },
	{ S(" a@b.test,a@b.test,a@b.test,a@b.test,a@b.test,a@b.test,a@b.test,a@b.test,a@b.test"),
	  FROM_TOO_MANY, 0, { NULL } },
};

static void
test_parse_from(void **state)
{
	char addrs[FROM_ADDRS_MAX][ADDR_MAX + 1];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(from_cases) / sizeof(from_cases[0]); i++) {
		const struct from_case *c = &from_cases[i];
		enum from_status st = header_parse_from(c->value, c->len, addrs,
		    FROM_ADDRS_MAX, &n);
		if (st != c->want)
			fail_msg("case %zu (%s): got %s, want %s", i, c->value,
			    from_status_text(st), from_status_text(c->want));
		if (st != FROM_OK)
			continue;
		if (n != c->n)
			fail_msg("case %zu: got %zu addresses, want %zu", i, n, c->n);
		for (size_t j = 0; j < n; j++)
			if (strcmp(addrs[j], c->addrs[j]) != 0)
				fail_msg("case %zu: address %zu: got %s, want %s", i, j,
				    addrs[j], c->addrs[j]);
	}
}

static void
test_scan_from_verdicts(void **state)
{
	char addrs[FROM_ADDRS_MAX][ADDR_MAX + 1];
	struct header_scan hs;
	struct sink k;
	size_t n;

	(void)state;
	memset(&k, 0, sizeof(k));
	header_scan_init(&hs, sink_emit, sink_end, &k);
	header_scan_feed(&hs, (const uint8_t *)S("Subject: x\r\n\r\n"));
	header_scan_finish(&hs);
	assert_int_equal(header_scan_from(&hs, addrs, FROM_ADDRS_MAX, &n), FROM_MISSING);

	memset(&k, 0, sizeof(k));
	header_scan_init(&hs, sink_emit, sink_end, &k);
	header_scan_feed(&hs, (const uint8_t *)S("From: a@b.test\r\nFROM: c@d.test\r\n\r\n"));
	header_scan_finish(&hs);
	assert_int_equal(header_scan_from(&hs, addrs, FROM_ADDRS_MAX, &n), FROM_DUPLICATE);

	memset(&k, 0, sizeof(k));
	header_scan_init(&hs, sink_emit, sink_end, &k);
	header_scan_feed(&hs, (const uint8_t *)S("From: Kim\r\n\t<kim@example.test>\r\n\r\n"));
	header_scan_finish(&hs);
	assert_int_equal(header_scan_from(&hs, addrs, FROM_ADDRS_MAX, &n), FROM_OK);
	assert_int_equal(n, 1);
	assert_string_equal(addrs[0], "kim@example.test");
}

static void
test_render_missing(void **state)
{
	struct header_scan hs;
	char buf[ADDED_HEADERS_MAX];

	(void)state;
	memset(&hs, 0, sizeof(hs));
	size_t n = header_render_missing(&hs, "0123abcd.qid", "mx.example.test",
	    1763904840, buf, sizeof(buf));
	assert_string_equal(buf, "Message-ID: <0123abcd.qid@mx.example.test>\r\n"
	    "Date: Sun, 23 Nov 2025 13:34:00 +0000\r\n");
	assert_int_equal(n, strlen(buf));
	hs.has_date = true;
	header_render_missing(&hs, "x", "h.test", 0, buf, sizeof(buf));
	assert_string_equal(buf, "Message-ID: <x@h.test>\r\n");
	hs.has_message_id = true;
	assert_int_equal(header_render_missing(&hs, "x", "h.test", 0, buf, sizeof(buf)), 0);
	hs.has_message_id = false;
	assert_int_equal(header_render_missing(&hs, "x", "h.test", 0, buf, 10), 0);
}

struct fields_case {
	const char	*text;
	size_t		 len;
	bool		 ok;
};

static const struct fields_case fields_cases[] = {
	{ S("DKIM-Signature: v=1; a=rsa-sha256;\r\n\tb=abc\r\n"),		true },
	{ S("DKIM-Signature: a\r\nDKIM-Signature: b\r\n b2\r\n"),		true },
	{ S(""),								false },
	{ S("DKIM-Signature: a"),						false },
	{ S("DKIM-Signature: a\n"),						false },
	{ S("DKIM-Signature: a\r\n\r\nbody\r\n"),				false },
	{ S("DKIM-Signature: a\r\n\r\n"),					false },
	{ S(" folded first\r\n"),						false },
	{ S("no colon here\r\n"),						false },
	{ S("DKIM-Signature: a\rb\r\n"),					false },
	{ S("DKIM-Signature: a\0b\r\n"),					false },
	{ S("DKIM-Signature: a\r\nnext line\r\n"),				false },
};

static void
test_fields_valid(void **state)
{
	static char longline[HEADER_LINE_MAX + 10];

	(void)state;
	for (size_t i = 0; i < sizeof(fields_cases) / sizeof(fields_cases[0]); i++)
		if (header_fields_are_valid(fields_cases[i].text, fields_cases[i].len) !=
		    fields_cases[i].ok)
			fail_msg("case %zu: got %d, want %d", i, !fields_cases[i].ok,
			    fields_cases[i].ok);
	memcpy(longline, "X: ", 3);
	memset(longline + 3, 'a', sizeof(longline) - 5);
	memcpy(longline + sizeof(longline) - 2, "\r\n", 2);
	assert_false(header_fields_are_valid(longline, sizeof(longline)));
	assert_true(header_fields_are_valid(longline + 10, 0) == false);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_scan_long_line),
		cmocka_unit_test(test_scan_from_too_long),
		cmocka_unit_test(test_parse_from),
		cmocka_unit_test(test_scan_from_verdicts),
		cmocka_unit_test(test_render_missing),
		cmocka_unit_test(test_fields_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
