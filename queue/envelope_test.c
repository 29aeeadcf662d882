/*
 * queue/envelope_test.c - the envelope parser and writer, table-driven.
 *
 * Owns: the proof that a round trip is exact, that every truncation of a
 * valid file is refused and called torn (a crash can cut a file anywhere),
 * that the version-3 end record must match its file (length and CRC-32C,
 * whose expected values here come from an independent implementation),
 * that hostile or sloppy files are refused with the right status and line
 * number, and that versions 1 and 2 are still read while the writer
 * writes version 3 unless a newer record needs 4, 5 or 6 (the last
 * error: cleaned, bounded, refused when not one printable line).
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

#include "envelope.h"

#define GOOD_HEAD \
	"homemx-envelope 1\n" \
	"id 6561f0c2a1b2c3d4\n" \
	"arrival 1700000000\n" \
	"source smtp\n" \
	"client_ip 192.0.2.7\n" \
	"helo mail.example.net\n"
#define GOOD_TAIL \
	"attempts 0\n" \
	"next_attempt 1700000000\n" \
	"end\n"
#define GOOD_SENDER	"sender <a@example.net>\n"
#define GOOD_RCPT	"rcpt <kim+tag@example.test>\n"
#define GOOD		GOOD_HEAD GOOD_SENDER GOOD_RCPT GOOD_TAIL
#define V2_HEAD \
	"homemx-envelope 2\n" \
	"id 6561f0c2a1b2c3d4\n" \
	"arrival 1700000000\n" \
	"source local\n" \
	"client_ip\n" \
	"helo mx.example.test\n" \
	"sender <>\n" GOOD_RCPT \
	"attempts 0\n" \
	"next_attempt 1700000000\n"
/* Version 3: GOOD's records, then the end record (length, CRC-32C). */
#define V3_BODY \
	"homemx-envelope 3\n" \
	"id 6561f0c2a1b2c3d4\n" \
	"arrival 1700000000\n" \
	"source smtp\n" \
	"client_ip 192.0.2.7\n" \
	"helo mail.example.net\n" \
	GOOD_SENDER GOOD_RCPT \
	"attempts 0\n" \
	"next_attempt 1700000000\n"
#define V3_GOOD		V3_BODY "end 197 dfeced7f\n"
/* Version 4 (written only for a held message): version 3 plus "held". */
#define V4_BODY \
	"homemx-envelope 4\n" \
	"id 6561f0c2a1b2c3d4\n" \
	"arrival 1700000000\n" \
	"source smtp\n" \
	"client_ip 192.0.2.7\n" \
	"helo mail.example.net\n" \
	GOOD_SENDER GOOD_RCPT \
	"attempts 0\n" \
	"next_attempt 1700000000\n"
#define V3_SIZE		V3_BODY "size 1234\nend 207 813dabfd\n"
#define V3_HOLD_SIZE	V3_BODY "hold dkim\nsize 0\nend 214 164041e7\n"

struct parse_case {
	const char		*name;
	const char		*text;
	enum envelope_status	 want;
	unsigned		 want_line;
};

static const struct parse_case parse_cases[] = {
	{ "good", GOOD, ENVELOPE_OK, 0 },
	{ "null sender and empty helo/ip",
	  "homemx-envelope 1\nid 6561f0c2a1b2c3d4\narrival 0\nsource local\n"
	  "client_ip\nhelo\nsender <>\nrcpt <kim@example.test>\nattempts 3\n"
	  "next_attempt 1700000300\nend\n", ENVELOPE_OK, 0 },
	{ "keys in another order",
	  "homemx-envelope 1\nnext_attempt 5\nrcpt <b@example.test>\nattempts 1\n"
	  "sender <>\nhelo h\nclient_ip ::1\nsource submission\narrival 1\n"
	  "rcpt <c@example.test>\nid 0000000000000000\nend\n", ENVELOPE_OK, 0 },
	{ "quoted local part with space",
	  GOOD_HEAD "sender <\"john doe\"@example.net>\n" GOOD_RCPT GOOD_TAIL,
	  ENVELOPE_OK, 0 },
	{ "empty file", "", ENVELOPE_BAD_VERSION, 1 },
	{ "version 7", "homemx-envelope 7\nend\n", ENVELOPE_BAD_VERSION, 1 },
	{ "held in version 3", V3_BODY "held 1700000001\nend 1 0\n", ENVELOPE_UNKNOWN_KEY, 11 },
	{ "held zero", V4_BODY "held 0\nend 1 0\n", ENVELOPE_BAD_VALUE, 11 },
	{ "held twice", V4_BODY "held 1\nheld 1\nend 1 0\n", ENVELOPE_DUPLICATE, 12 },
	{ "held not a number", V4_BODY "held yes\nend 1 0\n", ENVELOPE_BAD_VALUE, 11 },
	{ "version 3", V3_GOOD, ENVELOPE_OK, 0 },
	{ "version 3 with size", V3_SIZE, ENVELOPE_OK, 0 },
	{ "version 3 with hold and size", V3_HOLD_SIZE, ENVELOPE_OK, 0 },
	{ "version 3 bare end", V3_BODY "end\n", ENVELOPE_BAD_END, 11 },
	{ "version 3 length off by one", V3_BODY "end 196 dfeced7f\n",
	  ENVELOPE_BAD_END, 11 },
	{ "version 3 wrong crc", V3_BODY "end 197 dfeced7e\n", ENVELOPE_BAD_END, 11 },
	{ "version 3 crc in uppercase", V3_BODY "end 197 DFECED7F\n",
	  ENVELOPE_BAD_END, 11 },
	{ "version 3 leading zero", V3_BODY "end 0197 dfeced7f\n", ENVELOPE_BAD_END, 11 },
	{ "version 3 end with space", V3_BODY "end \n", ENVELOPE_BAD_END, 11 },
	{ "version 3 bytes after end", V3_GOOD "x", ENVELOPE_TRAILING, 11 },
	{ "version 3 changed byte", "homemx-envelope 3\n"
	  "id 6561f0c2a1b2c3d5\narrival 1700000000\nsource smtp\n"
	  "client_ip 192.0.2.7\nhelo mail.example.net\n" GOOD_SENDER GOOD_RCPT
	  "attempts 0\nnext_attempt 1700000000\nend 197 dfeced7f\n",
	  ENVELOPE_BAD_END, 11 },
	{ "version 3 no end", V3_BODY, ENVELOPE_NO_END, 11 },
	{ "size in version 2", V2_HEAD "size 5\nend\n", ENVELOPE_UNKNOWN_KEY, 11 },
	{ "size with leading zero", V3_BODY "size 05\nend 1 0\n", ENVELOPE_BAD_VALUE, 11 },
	{ "size over the limit", V3_BODY "size 281474976710657\nend 1 0\n",
	  ENVELOPE_BAD_VALUE, 11 },
	{ "size twice", V3_BODY "size 1\nsize 1\nend 1 0\n", ENVELOPE_DUPLICATE, 12 },
	{ "version 3 bad value", "homemx-envelope 3\nid 6561f0c2a1b2c3d4\n"
	  "arrival 1700000000\nsource smtps\nclient_ip 192.0.2.7\n"
	  "helo mail.example.net\n" GOOD_SENDER GOOD_RCPT "attempts 0\n"
	  "next_attempt 1700000000\nend 198 7abc9e80\n", ENVELOPE_BAD_VALUE, 4 },
	{ "version 0", "homemx-envelope 0\nend\n", ENVELOPE_BAD_VERSION, 1 },
	{ "version 2 plain", V2_HEAD "end\n", ENVELOPE_OK, 0 },
	{ "version 2 hold dkim", V2_HEAD "hold dkim\nend\n", ENVELOPE_OK, 0 },
	{ "hold in version 1", GOOD_HEAD GOOD_SENDER GOOD_RCPT "hold dkim\n" GOOD_TAIL,
	  ENVELOPE_UNKNOWN_KEY, 9 },
	{ "hold twice", V2_HEAD "hold dkim\nhold dkim\nend\n", ENVELOPE_DUPLICATE, 12 },
	{ "hold other", V2_HEAD "hold spam\nend\n", ENVELOPE_BAD_VALUE, 11 },
	{ "hold without value", V2_HEAD "hold\nend\n", ENVELOPE_BAD_VALUE, 11 },
	{ "hold DKIM uppercase", V2_HEAD "hold DKIM\nend\n", ENVELOPE_BAD_VALUE, 11 },
	{ "version 2 missing rcpt", "homemx-envelope 2\nhold dkim\nend\n",
	  ENVELOPE_MISSING, 3 },
	{ "version without LF", "homemx-envelope 1", ENVELOPE_BAD_VERSION, 1 },
	{ "no end", GOOD_HEAD GOOD_SENDER GOOD_RCPT "attempts 0\nnext_attempt 1\n",
	  ENVELOPE_NO_END, 11 },
	{ "end without LF", GOOD_HEAD GOOD_SENDER GOOD_RCPT
	  "attempts 0\nnext_attempt 1\nend", ENVELOPE_NO_END, 11 },
	{ "bytes after end", GOOD "x", ENVELOPE_TRAILING, 11 },
	{ "second end", GOOD "end\n", ENVELOPE_TRAILING, 11 },
	{ "CRLF line", "homemx-envelope 1\nid 6561f0c2a1b2c3d4\r\nend\n",
	  ENVELOPE_BAD_LINE, 2 },
	{ "empty line", "homemx-envelope 1\n\nend\n", ENVELOPE_BAD_LINE, 2 },
	{ "key with trailing space", "homemx-envelope 1\nhelo \nend\n",
	  ENVELOPE_BAD_LINE, 2 },
	{ "NUL in value", "homemx-envelope 1\nhelo a\0b\nend\n", ENVELOPE_BAD_LINE, 2 },
	{ "8-bit in value", "homemx-envelope 1\nhelo caf\xc3\xa9\nend\n",
	  ENVELOPE_BAD_LINE, 2 },
	{ "unknown key", "homemx-envelope 1\nfoo bar\nend\n", ENVELOPE_UNKNOWN_KEY, 2 },
	{ "key is prefix", "homemx-envelope 1\ni 6561f0c2a1b2c3d4\nend\n",
	  ENVELOPE_UNKNOWN_KEY, 2 },
	{ "duplicate id", "homemx-envelope 1\nid 6561f0c2a1b2c3d4\n"
	  "id 6561f0c2a1b2c3d4\nend\n", ENVELOPE_DUPLICATE, 3 },
	{ "missing rcpt", GOOD_HEAD GOOD_SENDER GOOD_TAIL, ENVELOPE_MISSING, 10 },
	{ "missing sender", GOOD_HEAD GOOD_RCPT GOOD_TAIL, ENVELOPE_MISSING, 10 },
	{ "only version and end", "homemx-envelope 1\nend\n", ENVELOPE_MISSING, 2 },
	{ "uppercase id", "homemx-envelope 1\nid 6561F0C2A1B2C3D4\nend\n",
	  ENVELOPE_BAD_VALUE, 2 },
	{ "short id", "homemx-envelope 1\nid 6561f0c2\nend\n", ENVELOPE_BAD_VALUE, 2 },
	{ "path in id", "homemx-envelope 1\nid ../../etc/pass\nend\n",
	  ENVELOPE_BAD_VALUE, 2 },
	{ "negative time", "homemx-envelope 1\narrival -1\nend\n", ENVELOPE_BAD_VALUE, 2 },
	{ "leading zero", "homemx-envelope 1\narrival 01\nend\n", ENVELOPE_BAD_VALUE, 2 },
	{ "time overflow", "homemx-envelope 1\narrival 18446744073709551616\nend\n",
	  ENVELOPE_BAD_VALUE, 2 },
	{ "time past 9999", "homemx-envelope 1\nnext_attempt 253402300800\nend\n",
	  ENVELOPE_BAD_VALUE, 2 },
	{ "attempts too big", "homemx-envelope 1\nattempts 1000001\nend\n",
	  ENVELOPE_BAD_VALUE, 2 },
	{ "number with space", "homemx-envelope 1\nattempts 1 2\nend\n",
	  ENVELOPE_BAD_VALUE, 2 },
	{ "unknown source", "homemx-envelope 1\nsource smtps\nend\n",
	  ENVELOPE_BAD_VALUE, 2 },
	{ "helo with space", "homemx-envelope 1\nhelo a b\nend\n", ENVELOPE_BAD_VALUE, 2 },
	{ "ip with letters", "homemx-envelope 1\nclient_ip 1.2.3.x\nend\n",
	  ENVELOPE_BAD_VALUE, 2 },
	{ "sender without brackets", "homemx-envelope 1\nsender a@example.net\nend\n",
	  ENVELOPE_BAD_VALUE, 2 },
	{ "rcpt null", "homemx-envelope 1\nrcpt <>\nend\n", ENVELOPE_BAD_VALUE, 2 },
	{ "rcpt euro", "homemx-envelope 1\nrcpt <kim\xe2\x82\xac" "example.test>\nend\n",
	  ENVELOPE_BAD_LINE, 2 },
	{ "rcpt without domain", "homemx-envelope 1\nrcpt <kim>\nend\n",
	  ENVELOPE_BAD_VALUE, 2 },
	{ "rcpt source route", "homemx-envelope 1\nrcpt <@a.test:kim@example.test>\nend\n",
	  ENVELOPE_BAD_VALUE, 2 },
};

static void
test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct envelope e;
		unsigned line;
		size_t len = strlen(c->text);

		/* The NUL case needs its real length. */
		if (strcmp(c->name, "NUL in value") == 0)
			len = sizeof("homemx-envelope 1\nhelo a\0b\nend\n") - 1;
		enum envelope_status got = envelope_parse(c->text, len, &e, &line);
		if (got != c->want || line != c->want_line)
			fail_msg("%s: got %s line %u, want %s line %u", c->name,
			    envelope_status_text(got), line,
			    envelope_status_text(c->want), c->want_line);
		if (got == ENVELOPE_OK)
			envelope_free(&e);
		else
			assert_null(e.rcpt);
	}
}

static void
test_parse_fields(void **state)
{
	struct envelope e;
	unsigned line;

	(void)state;
	assert_int_equal(envelope_parse(GOOD, strlen(GOOD), &e, &line), ENVELOPE_OK);
	assert_string_equal(e.id, "6561f0c2a1b2c3d4");
	assert_true(e.arrival == 1700000000);
	assert_int_equal(e.source, SOURCE_SMTP);
	assert_string_equal(e.client_ip, "192.0.2.7");
	assert_string_equal(e.helo, "mail.example.net");
	assert_string_equal(e.sender, "a@example.net");
	assert_int_equal(e.nrcpt, 1);
	assert_string_equal(e.rcpt[0], "kim+tag@example.test");
	assert_int_equal(e.attempts, 0);
	assert_int_equal(e.hold, ENVELOPE_HOLD_NONE);
	envelope_free(&e);
	const char *v2 = V2_HEAD "hold dkim\nend\n";
	assert_int_equal(envelope_parse(v2, strlen(v2), &e, &line), ENVELOPE_OK);
	assert_int_equal(e.hold, ENVELOPE_HOLD_DKIM);
	assert_int_equal(e.source, SOURCE_LOCAL);
	assert_string_equal(e.sender, "");
	assert_false(e.has_body_size);
	envelope_free(&e);
	assert_int_equal(envelope_parse(V3_SIZE, strlen(V3_SIZE), &e, &line), ENVELOPE_OK);
	assert_true(e.has_body_size);
	assert_true(e.body_size == 1234);
	assert_int_equal(e.hold, ENVELOPE_HOLD_NONE);
	envelope_free(&e);
	assert_int_equal(envelope_parse(V3_HOLD_SIZE, strlen(V3_HOLD_SIZE), &e, &line),
	    ENVELOPE_OK);
	assert_true(e.has_body_size && e.body_size == 0);
	assert_int_equal(e.hold, ENVELOPE_HOLD_DKIM);
	envelope_free(&e);
}

static void
fill_sample(struct envelope *e, unsigned nrcpt)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->id, "0123456789abcdef", QUEUE_ID_SIZE);
	e->arrival = 1700000000;
	e->source = SOURCE_SUBMISSION;
	memcpy(e->client_ip, "2001:db8::1", sizeof("2001:db8::1"));
	memcpy(e->helo, "[192.0.2.1]", sizeof("[192.0.2.1]"));
	e->sender[0] = '\0';
	e->nrcpt = nrcpt;
	e->rcpt = calloc(nrcpt, sizeof(*e->rcpt));
	assert_non_null(e->rcpt);
	for (unsigned i = 0; i < nrcpt; i++)
		snprintf(e->rcpt[i], sizeof(e->rcpt[i]), "user-%u@example.test", i);
	e->attempts = 7;
	e->next_attempt = ENVELOPE_TIME_MAX;
}

static void
assert_envelope_equal(const struct envelope *a, const struct envelope *b)
{
	assert_string_equal(a->id, b->id);
	assert_true(a->arrival == b->arrival);
	assert_int_equal(a->source, b->source);
	assert_string_equal(a->client_ip, b->client_ip);
	assert_string_equal(a->helo, b->helo);
	assert_string_equal(a->sender, b->sender);
	assert_int_equal(a->nrcpt, b->nrcpt);
	for (unsigned i = 0; i < a->nrcpt; i++)
		assert_string_equal(a->rcpt[i], b->rcpt[i]);
	assert_int_equal(a->attempts, b->attempts);
	assert_true(a->next_attempt == b->next_attempt);
	assert_int_equal(a->hold, b->hold);
	assert_int_equal(a->has_body_size, b->has_body_size);
	assert_true(a->body_size == b->body_size);
	assert_true(a->held_since == b->held_since);
	assert_int_equal(a->smtputf8, b->smtputf8);
	assert_string_equal(a->last_error, b->last_error);
}

/* Writer then parser gives the same envelope, for 1 and IPC_MAX_RCPTS. */
static void
test_round_trip(void **state)
{
	static char buf[ENVELOPE_TEXT_MAX];
	const unsigned counts[] = { 1, 2, IPC_MAX_RCPTS };

	(void)state;
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct envelope e, back;
		size_t len;
		unsigned line;

		fill_sample(&e, counts[i]);
		assert_int_equal(envelope_format(&e, buf, sizeof(buf), &len), 0);
		assert_int_equal(envelope_parse(buf, len, &back, &line), ENVELOPE_OK);
		assert_envelope_equal(&e, &back);
		envelope_free(&back);
		envelope_free(&e);
	}
}

/* The text after the last LF but one: the end record, without its LF. */
static const char *
last_line(const char *buf, size_t len)
{
	const char *nl = memrchr(buf, '\n', len - 1);

	return nl == NULL ? buf : nl + 1;
}

/* Always version 3 with its end record; hold and size only when set;
 * every strict prefix refused and torn, the whole text not torn. */
static void
test_writer_version(void **state)
{
	static char buf[ENVELOPE_TEXT_MAX];
	const struct {
		enum envelope_hold	hold;
		bool			has_size;
		uint64_t		size;
		uint64_t		held;	/* version 4 when set */
	} cases[] = {
		{ ENVELOPE_HOLD_NONE, false, 0, 0 },
		{ ENVELOPE_HOLD_DKIM, false, 0, 0 },
		{ ENVELOPE_HOLD_NONE, true, 0, 0 },
		{ ENVELOPE_HOLD_DKIM, true, ENVELOPE_SIZE_MAX, 0 },
		{ ENVELOPE_HOLD_NONE, false, 0, 1700000123 },
		{ ENVELOPE_HOLD_DKIM, true, 5, ENVELOPE_TIME_MAX },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct envelope e, back;
		size_t len;
		unsigned line;
		char want_end[64];

		fill_sample(&e, 2);
		e.hold = cases[i].hold;
		e.has_body_size = cases[i].has_size;
		e.body_size = cases[i].size;
		e.held_since = cases[i].held;
		assert_int_equal(envelope_format(&e, buf, sizeof(buf), &len), 0);
		const char *want = cases[i].held != 0 ? "homemx-envelope 4\n" :
		    "homemx-envelope 3\n";
		if (len < 18 || memcmp(buf, want, 18) != 0)
			fail_msg("case %zu: got %.18s, want %s", i, buf, want);
		assert_int_equal(memmem(buf, len, "\nheld ", 6) != NULL, cases[i].held != 0);
		bool has_hold = memmem(buf, len, "\nhold dkim\n", 11) != NULL;
		assert_int_equal(has_hold, cases[i].hold == ENVELOPE_HOLD_DKIM);
		assert_int_equal(memmem(buf, len, "\nsize ", 6) != NULL, cases[i].has_size);
		const char *end = last_line(buf, len);
		size_t off = (size_t)(end - buf);
		snprintf(want_end, sizeof(want_end), "end %zu %08x\n", off,
		    (unsigned)envelope_crc32c(buf, off));
		if (strlen(want_end) != len - off || memcmp(end, want_end, len - off) != 0)
			fail_msg("case %zu: end record %.*s, want %s", i, (int)(len - off),
			    end, want_end);
		assert_int_equal(envelope_parse(buf, len, &back, &line), ENVELOPE_OK);
		assert_envelope_equal(&e, &back);
		assert_true(back.held_since == cases[i].held);
		envelope_free(&back);
		assert_false(envelope_is_torn(buf, len));
		for (size_t cut = 0; cut < len; cut++) {
			if (envelope_parse(buf, cut, &back, &line) == ENVELOPE_OK)
				fail_msg("case %zu: prefix of %zu/%zu parsed", i, cut, len);
			if (!envelope_is_torn(buf, cut))
				fail_msg("case %zu: prefix of %zu/%zu not torn", i, cut, len);
		}
		envelope_free(&e);
	}
	/* A hold value the writer does not know is refused. */
	struct envelope e;
	size_t len;
	fill_sample(&e, 1);
	e.hold = (enum envelope_hold)7;
	assert_int_equal(envelope_format(&e, buf, sizeof(buf), &len), -1);
	e.hold = ENVELOPE_HOLD_NONE;
	e.has_body_size = true;
	e.body_size = ENVELOPE_SIZE_MAX + 1;
	assert_int_equal(envelope_format(&e, buf, sizeof(buf), &len), -1);
	envelope_free(&e);
}

/* The check value of CRC-32C (RFC 3720 appendix B.4 lists more). */
static void
test_crc32c(void **state)
{
	(void)state;
	assert_int_equal(envelope_crc32c("123456789", 9), 0xe3069283);
	assert_int_equal(envelope_crc32c("", 0), 0);
	char zeros[32] = { 0 };
	assert_int_equal(envelope_crc32c(zeros, sizeof(zeros)), 0x8a9136aa);
}

struct torn_case {
	const char	*name;
	const char	*text;
	bool		 torn;
};

static const struct torn_case torn_cases[] = {
	{ "empty", "", true },
	{ "part of the version line", "homemx-env", true },
	{ "version line only", "homemx-envelope 3\n", true },
	{ "no end record", V3_BODY, true },
	{ "end record cut", V3_BODY "end 197 dfec", true },
	{ "end record without LF", V3_BODY "end 197 dfeced7f", true },
	{ "bad checksum", V3_BODY "end 197 00000000\n", true },
	{ "a page of zeros", "homemx-envelope 3\nid 6561f0c2a1b2c3d4\n\0\0\0\0", true },
	{ "whole", V3_GOOD, false },
	{ "whole, with a bad value inside", "homemx-envelope 3\nid 6561f0c2a1b2c3d4\n"
	  "arrival 1700000000\nsource smtps\nclient_ip 192.0.2.7\n"
	  "helo mail.example.net\n" GOOD_SENDER GOOD_RCPT "attempts 0\n"
	  "next_attempt 1700000000\nend 198 7abc9e80\n", false },
	{ "version 1 cut short", "homemx-envelope 1\nid 6561f0c2a1b2c3d4\n", false },
	{ "version 2 whole", V2_HEAD "end\n", false },
	{ "junk", "hello world\n", false },
	{ "zeros where the version line was", "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", false },
};

static void
test_torn(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(torn_cases) / sizeof(torn_cases[0]); i++) {
		const struct torn_case *c = &torn_cases[i];
		size_t len = strlen(c->text);

		if (strcmp(c->name, "a page of zeros") == 0)
			len += 4;
		else if (strncmp(c->name, "zeros", 5) == 0)
			len = 20;
		if (envelope_is_torn(c->text, len) != c->torn)
			fail_msg("%s: got torn=%d, want %d", c->name, !c->torn, c->torn);
	}
}

/* The longest legal envelope fits ENVELOPE_TEXT_MAX. */
static void
test_largest_fits(void **state)
{
	static char buf[ENVELOPE_TEXT_MAX];
	struct envelope e;
	size_t len;
	unsigned line;

	(void)state;
	fill_sample(&e, IPC_MAX_RCPTS);
	memset(e.helo, 'h', HELO_MAX);
	e.helo[HELO_MAX] = '\0';
	char local[ADDR_LOCAL_MAX + 1];
	memset(local, 'l', ADDR_LOCAL_MAX);
	local[ADDR_LOCAL_MAX] = '\0';
	char domain[190];
	memset(domain, 'd', sizeof(domain) - 1);
	for (size_t i = 60; i < sizeof(domain) - 1; i += 61)
		domain[i] = '.';
	domain[sizeof(domain) - 1] = '\0';
	for (unsigned i = 0; i < e.nrcpt; i++)
		snprintf(e.rcpt[i], sizeof(e.rcpt[i]), "%s@%s", local, domain);
	snprintf(e.sender, sizeof(e.sender), "%s@%s", local, domain);
	e.held_since = ENVELOPE_TIME_MAX;
	memset(e.last_error, 'r', IPC_REASON_MAX);
	e.last_error[IPC_REASON_MAX] = '\0';
	assert_int_equal(envelope_format(&e, buf, sizeof(buf), &len), 0);
	struct envelope back;
	assert_int_equal(envelope_parse(buf, len, &back, &line), ENVELOPE_OK);
	assert_envelope_equal(&e, &back);
	envelope_free(&back);
	envelope_free(&e);
}

/* A crash can cut a file anywhere: no strict prefix of a file parses. */
static void
test_every_truncation_refused(void **state)
{
	char buf[4096];
	struct envelope e;
	size_t len;
	unsigned line;

	(void)state;
	fill_sample(&e, 3);
	assert_int_equal(envelope_format(&e, buf, sizeof(buf), &len), 0);
	envelope_free(&e);
	for (size_t cut = 0; cut < len; cut++) {
		enum envelope_status st = envelope_parse(buf, cut, &e, &line);
		if (st == ENVELOPE_OK)
			fail_msg("prefix of %zu/%zu bytes parsed", cut, len);
	}
}

struct format_case {
	const char	*name;
	void		(*break_it)(struct envelope *);
};

static void bad_id(struct envelope *e) { e->id[0] = 'X'; }
static void bad_helo(struct envelope *e) { memcpy(e->helo, "a\nb", 4); }
static void bad_ip(struct envelope *e) { memcpy(e->client_ip, "1.2.3.4\n", 9); }
static void bad_sender(struct envelope *e) { memcpy(e->sender, "x\n@y", 5); }
static void bad_rcpt(struct envelope *e) { memcpy(e->rcpt[1], "", 1); }
static void no_rcpt(struct envelope *e) { e->nrcpt = 0; }
static void bad_source(struct envelope *e) { e->source = (enum msg_source)9; }
static void bad_time(struct envelope *e) { e->arrival = ENVELOPE_TIME_MAX + 1; }
/* A UTF-8 address only travels with SMTPUTF8 (RFC 6531 3.4). */
static void utf8_no_flag(struct envelope *e) { memcpy(e->rcpt[0], "k\xc3\xa4m@example.test", 18); }
static void utf8_sender_no_flag(struct envelope *e) { memcpy(e->sender, "k\xc3\xa4m@example.test", 18); }
static void latin1_rcpt(struct envelope *e)
{
	e->smtputf8 = true;
	memcpy(e->rcpt[0], "k\xe4m@example.test", 17);
}


static const struct format_case format_cases[] = {
	{ "bad id", bad_id },
	{ "LF in helo", bad_helo },
	{ "LF in client ip", bad_ip },
	{ "LF in sender", bad_sender },
	{ "empty rcpt", bad_rcpt },
	{ "no rcpt", no_rcpt },
	{ "bad source", bad_source },
	{ "time too big", bad_time },
	{ "UTF-8 rcpt without smtputf8", utf8_no_flag },
	{ "UTF-8 sender without smtputf8", utf8_sender_no_flag },
	{ "Latin-1 rcpt", latin1_rcpt },
};

static void
test_format_refuses(void **state)
{
	char buf[4096];
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]); i++) {
		struct envelope e;
		fill_sample(&e, 2);
		format_cases[i].break_it(&e);
		if (envelope_format(&e, buf, sizeof(buf), &len) != -1)
			fail_msg("%s: got 0, want -1", format_cases[i].name);
		envelope_free(&e);
	}
	/* A buffer too small is an error, not a truncated file. */
	struct envelope e;
	fill_sample(&e, 2);
	assert_int_equal(envelope_format(&e, buf, 100, &len), -1);
	envelope_free(&e);
}

static void
test_remove_rcpt(void **state)
{
	struct envelope e;

	(void)state;
	fill_sample(&e, 3);
	envelope_remove_rcpt(&e, 1);
	assert_int_equal(e.nrcpt, 2);
	assert_string_equal(e.rcpt[0], "user-0@example.test");
	assert_string_equal(e.rcpt[1], "user-2@example.test");
	envelope_remove_rcpt(&e, 5);	/* out of range: no-op */
	assert_int_equal(e.nrcpt, 2);
	envelope_remove_rcpt(&e, 1);
	envelope_remove_rcpt(&e, 0);
	assert_int_equal(e.nrcpt, 0);
	envelope_free(&e);
}

static void
test_too_many_rcpts(void **state)
{
	static char buf[ENVELOPE_TEXT_MAX + 64];
	size_t len = 0;
	struct envelope e;
	unsigned line;

	(void)state;
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s", GOOD_HEAD GOOD_SENDER);
	for (int i = 0; i <= IPC_MAX_RCPTS; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		    "rcpt <u%d@example.test>\n", i);
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s", GOOD_TAIL);
	assert_int_equal(envelope_parse(buf, len, &e, &line), ENVELOPE_TOO_MANY_RCPTS);
	assert_int_equal(line, 8 + IPC_MAX_RCPTS);	/* 201st rcpt */
	/* And a file over the size limit is refused before parsing. */
	assert_int_equal(envelope_parse(buf, ENVELOPE_TEXT_MAX + 1, &e, &line),
	    ENVELOPE_TOO_LONG);
}

/* Version 5: "smtputf8" and UTF-8 addresses round-trip; older versions
 * and other values keep refusing 8-bit bytes. */
static void
test_smtputf8(void **state)
{
	static char buf[ENVELOPE_TEXT_MAX];
	struct envelope e, back;
	size_t len;
	unsigned line;

	(void)state;
	fill_sample(&e, 2);
	e.smtputf8 = true;
	snprintf(e.sender, sizeof(e.sender), "%s", "d\xc3\xabmo@example.net");
	snprintf(e.rcpt[1], sizeof(e.rcpt[1]), "%s", "j\xc3\xbcrgen@xn--bcher-kva.example");
	assert_int_equal(envelope_format(&e, buf, sizeof(buf), &len), 0);
	assert_memory_equal(buf, "homemx-envelope 5\n", 18);
	assert_non_null(memmem(buf, len, "\nsmtputf8\n", 10));
	assert_non_null(memmem(buf, len, "\nrcpt <j\xc3\xbcrgen@", 14));
	assert_int_equal(envelope_parse(buf, len, &back, &line), ENVELOPE_OK);
	assert_true(back.smtputf8);
	assert_string_equal(back.sender, e.sender);
	assert_string_equal(back.rcpt[1], e.rcpt[1]);
	envelope_free(&back);
	for (size_t cut = 0; cut < len; cut++)
		assert_true(envelope_is_torn(buf, cut));
	envelope_free(&e);

	/* Without the flag the file stays version 3 and has no record. */
	fill_sample(&e, 1);
	assert_int_equal(envelope_format(&e, buf, sizeof(buf), &len), 0);
	assert_memory_equal(buf, "homemx-envelope 3\n", 18);
	assert_null(memmem(buf, len, "smtputf8", 8));
	envelope_free(&e);

	/* Not before version 5, no value, no 8-bit outside an address. */
	static const struct {
		unsigned	 version;
		const char	*helo, *extra;
		enum envelope_status want;
	} bad[] = {
		{ 4, "mail.example.net", "smtputf8\n", ENVELOPE_UNKNOWN_KEY },
		{ 4, "mail.example.net", "rcpt <k\xc3\xa4m@example.test>\n", ENVELOPE_BAD_LINE },
		{ 5, "mail.example.net", "smtputf8 yes\n", ENVELOPE_BAD_VALUE },
		{ 5, "m\xc3\xa4il.example", "smtputf8\n", ENVELOPE_BAD_VALUE },
		{ 5, "mail.example.net", "rcpt <k\xe4m@example.test>\nsmtputf8\n", ENVELOPE_BAD_VALUE },
		{ 5, "mail.example.net", "rcpt <k\xc3\xa4m@example.test>\nsmtputf8\n", ENVELOPE_OK },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char f[512];
		int n = snprintf(f, sizeof(f), "homemx-envelope %u\nid 6561f0c2a1b2c3d4\n"
		    "arrival 1700000000\nsource smtp\nclient_ip 192.0.2.7\nhelo %s\n"
		    "sender <a@example.net>\nrcpt <b@example.net>\nattempts 0\n"
		    "next_attempt 1700000000\n%s", bad[i].version, bad[i].helo, bad[i].extra);
		snprintf(f + n, sizeof(f) - (size_t)n, "end %d %08x\n", n,
		    (unsigned)envelope_crc32c(f, (size_t)n));
		enum envelope_status got = envelope_parse(f, strlen(f), &back, &line);
		if (got != bad[i].want)
			fail_msg("case %zu: got %s, want %s", i, envelope_status_text(got),
			    envelope_status_text(bad[i].want));
		if (got == ENVELOPE_OK)
			envelope_free(&back);
	}
}

/* Version 6: the last deferral reason round-trips, is written only when
 * set, and is cleaned to one printable line on the way in. */
static void
test_last_error(void **state)
{
	static char buf[ENVELOPE_TEXT_MAX];
	struct envelope e, back;
	size_t len;
	unsigned line;

	(void)state;
	fill_sample(&e, 2);
	e.held_since = 1700000123;
	envelope_set_last_error(&e, "451 4.7.1 mx.example.net: try again later");
	assert_int_equal(envelope_format(&e, buf, sizeof(buf), &len), 0);
	assert_memory_equal(buf, "homemx-envelope 6\n", 18);
	assert_non_null(memmem(buf, len, "\nlast_error 451 4.7.1 mx.example.net: try again later\n", 54));
	assert_int_equal(envelope_parse(buf, len, &back, &line), ENVELOPE_OK);
	assert_envelope_equal(&e, &back);
	envelope_free(&back);
	for (size_t cut = 0; cut < len; cut++)
		assert_true(envelope_is_torn(buf, cut));

	/* Cleaned: controls, CR LF, TAB and 8-bit bytes become one space,
	 * none at either end; cut to IPC_REASON_MAX; nothing left: none. */
	envelope_set_last_error(&e, "\r\n 421-first\r\n421 second\t\x01\xc3\xa4 x \n");
	assert_string_equal(e.last_error, "421-first 421 second x");
	char longer[IPC_REASON_MAX * 2];
	memset(longer, 'z', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	envelope_set_last_error(&e, longer);
	assert_int_equal(strlen(e.last_error), IPC_REASON_MAX);
	envelope_set_last_error(&e, " \r\n\t ");
	assert_string_equal(e.last_error, "");
	envelope_set_last_error(&e, NULL);
	assert_string_equal(e.last_error, "");
	/* Without one (and not held) the file stays version 3. */
	e.held_since = 0;
	assert_int_equal(envelope_format(&e, buf, sizeof(buf), &len), 0);
	assert_memory_equal(buf, "homemx-envelope 3\n", 18);
	assert_null(memmem(buf, len, "last_error", 10));
	/* The writer refuses what the parser would. */
	memcpy(e.last_error, "a\nb", 4);
	assert_int_equal(envelope_format(&e, buf, sizeof(buf), &len), -1);
	memcpy(e.last_error, "k\xc3\xa4", 4);
	assert_int_equal(envelope_format(&e, buf, sizeof(buf), &len), -1);
	envelope_free(&e);

	/* Version 5 files are still read; last_error only from version 6,
	 * with a value, printable ASCII, at most IPC_REASON_MAX bytes, once. */
	char toolong[IPC_REASON_MAX + 32];
	snprintf(toolong, sizeof(toolong), "last_error %0*d\n", IPC_REASON_MAX + 1, 0);
	const struct {
		unsigned	 version;
		const char	*extra;
		enum envelope_status want;
	} cases[] = {
		{ 5, "smtputf8\n", ENVELOPE_OK },
		{ 5, "last_error 451 later\n", ENVELOPE_UNKNOWN_KEY },
		{ 6, "last_error 451 later\n", ENVELOPE_OK },
		{ 6, "held 1700000000\nsmtputf8\nlast_error 451 later\n", ENVELOPE_OK },
		{ 6, "last_error \n", ENVELOPE_BAD_LINE },
		{ 6, "last_error 451 l\xc3\xa4ter\n", ENVELOPE_BAD_VALUE },
		{ 6, "last_error 451\tlater\n", ENVELOPE_BAD_LINE },
		{ 6, "last_error a\nlast_error b\n", ENVELOPE_DUPLICATE },
		{ 6, toolong, ENVELOPE_BAD_VALUE },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char f[2048];
		int n = snprintf(f, sizeof(f), "homemx-envelope %u\nid 6561f0c2a1b2c3d4\n"
		    "arrival 1700000000\nsource smtp\nclient_ip 192.0.2.7\nhelo mx.example\n"
		    "sender <a@example.net>\nrcpt <b@example.net>\nattempts 1\n"
		    "next_attempt 1700000000\n%s", cases[i].version, cases[i].extra);
		snprintf(f + n, sizeof(f) - (size_t)n, "end %d %08x\n", n,
		    (unsigned)envelope_crc32c(f, (size_t)n));
		enum envelope_status got = envelope_parse(f, strlen(f), &back, &line);
		if (got != cases[i].want)
			fail_msg("case %zu: got %s, want %s", i, envelope_status_text(got),
			    envelope_status_text(cases[i].want));
		if (got == ENVELOPE_OK) {
			if (cases[i].version == 6)
				assert_string_equal(back.last_error, "451 later");
			envelope_free(&back);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_writer_version),
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_torn),
		cmocka_unit_test(test_largest_fits),
		cmocka_unit_test(test_every_truncation_refused),
		cmocka_unit_test(test_format_refuses),
		cmocka_unit_test(test_remove_rcpt),
		cmocka_unit_test(test_too_many_rcpts),
		cmocka_unit_test(test_smtputf8),
		cmocka_unit_test(test_last_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
