/*
 * smtpd/lines_test.c - command lines end at CRLF only (RFC 5321 2.3.8):
 * each case feeds pieces into an evbuffer and lists what line_take()
 * returns after each piece; and the probe for HTTP and TLS on a plaintext
 * port, one row per first bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <event2/buffer.h>

#include "command.h"
#include "lines.h"

#define MAX_STEPS	4

struct step {
	const char		*piece;		/* appended before the takes */
	size_t			 len;
	enum line_status	 want[3];	/* takes until LINE_NONE (0 ends) */
	const char		*line;		/* for the first LINE_OK / BARE_NEWLINE */
};

struct line_case {
	const char	*name;
	size_t		 max;
	struct step	 steps[MAX_STEPS];
};

#define P(s)	s, sizeof(s) - 1

static char long_line[600];	/* 'x' * 600, filled in main() */

static const struct line_case line_cases[] = {
	{ "one line", 512, {
		{ P("NOOP\r\n"), { LINE_OK, LINE_NONE }, "NOOP" } } },
	{ "split anywhere", 512, {
		{ P("NO"), { LINE_NONE }, NULL },
		{ P("OP\r"), { LINE_NONE }, NULL },
		{ P("\n"), { LINE_OK, LINE_NONE }, "NOOP" } } },
	{ "a bare LF ends nothing", 512, {
		{ P("QUIT\n"), { LINE_NONE }, NULL },
		{ P("NOOP\r\n"), { LINE_BARE_NEWLINE, LINE_NONE }, "QUIT\nNOOP" } } },
	{ "two commands joined by LF are one bad line", 512, {
		{ P("MAIL FROM:<a@b.test>\nRCPT TO:<c@d.test>\r\nNOOP\r\n"),
		  { LINE_BARE_NEWLINE, LINE_OK, LINE_NONE }, "MAIL FROM:<a@b.test>\nRCPT TO:<c@d.test>" } } },
	{ "a bare CR ends nothing", 512, {
		{ P("NOOP\rNOOP\r\n"), { LINE_BARE_NEWLINE, LINE_NONE }, "NOOP\rNOOP" } } },
	{ "LF CR is no CRLF", 512, {
		{ P("NOOP\n\r"), { LINE_NONE }, NULL },
		{ P("\n"), { LINE_BARE_NEWLINE, LINE_NONE }, "NOOP\n" } } },
	{ "an empty line", 512, {
		{ P("\r\n"), { LINE_OK, LINE_NONE }, "" } } },
	{ "510 + CRLF is the limit", 512, {
		{ NULL, 510, { LINE_NONE }, NULL },
		{ P("\r\n"), { LINE_OK, LINE_NONE }, NULL } } },
	{ "511 + CRLF is too long", 512, {
		{ NULL, 511, { LINE_NONE }, NULL },
		{ P("\r\n"), { LINE_TOO_LONG, LINE_NONE }, NULL } } },
	{ "too long before its CRLF: refused once, the rest dropped", 512, {
		{ NULL, 600, { LINE_TOO_LONG, LINE_NONE }, NULL },
		{ P("more of it\r"), { LINE_NONE }, NULL },
		{ P("\nNOOP\r\n"), { LINE_TOO_LONG_END, LINE_OK, LINE_NONE }, NULL } } },
	{ "bare LFs in a long line: still one 'too long'", 512, {
		{ NULL, 600, { LINE_TOO_LONG, LINE_NONE }, NULL },
		{ P("\nQUIT\n\r\n"), { LINE_TOO_LONG_END, LINE_NONE }, NULL } } },
	{ "an AUTH line may be longer", 12288, {
		{ NULL, 600, { LINE_NONE }, NULL },
		{ P("\r\n"), { LINE_OK, LINE_NONE }, NULL } } },
};

static void
run_line_case(const struct line_case *c)
{
	struct evbuffer *in = evbuffer_new();
	bool discarding = false;
	char out[16384];

	for (size_t i = 0; i < MAX_STEPS && (c->steps[i].piece || c->steps[i].len); i++) {
		const struct step *st = &c->steps[i];
		if (st->piece != NULL)
			evbuffer_add(in, st->piece, st->len);
		else
			evbuffer_add(in, long_line, st->len);
		for (size_t k = 0; k < 3; k++) {
			size_t outlen = 0;
			enum line_status got = line_take(in, c->max, &discarding, out, &outlen);
			if (got != st->want[k])
				fail_msg("%s, step %zu take %zu: got %d, want %d", c->name, i, k,
				    got, st->want[k]);
			if (k == 0 && st->line != NULL &&
			    (outlen != strlen(st->line) || memcmp(out, st->line, outlen) != 0))
				fail_msg("%s, step %zu: got line \"%.*s\", want \"%s\"", c->name, i,
				    (int)outlen, out, st->line);
			if (got == LINE_NONE)
				break;
		}
	}
	evbuffer_free(in);
}

static void
test_line_take(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++)
		run_line_case(&line_cases[i]);
}

/* A refused line is drained whole: the buffer never keeps growing. */
static void
test_discard_keeps_buffer_small(void **state)
{
	struct evbuffer *in = evbuffer_new();
	bool discarding = false;
	char out[SMTP_LINE_MAX];
	size_t outlen;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		evbuffer_add(in, long_line, sizeof(long_line));
		(void)line_take(in, SMTP_LINE_MAX, &discarding, out, &outlen);
		assert_true(evbuffer_get_length(in) < SMTP_LINE_MAX);
	}
	assert_true(discarding);
	evbuffer_free(in);
}

struct probe_case {
	const char		*bytes;
	size_t			 len;
	enum probe_verdict	 want;
};

static const struct probe_case probe_cases[] = {
	{ P(""),			PROBE_NEED_MORE },
	{ P("G"),			PROBE_NEED_MORE },
	{ P("GET"),			PROBE_NEED_MORE },
	{ P("GET "),			PROBE_HTTP },
	{ P("get / HTTP/1.1\r\n"),	PROBE_HTTP },
	{ P("POST /form HTTP/1.1"),	PROBE_HTTP },
	{ P("CONNECT mx:25 HTTP/1.0"),	PROBE_HTTP },
	{ P("CONNEC"),			PROBE_NEED_MORE },
	{ P("HEAD / HTTP/1.0"),		PROBE_HTTP },
	{ P("OPTIONS * HTTP/1.1"),	PROBE_HTTP },
	{ P("PUT "),			PROBE_HTTP },
	{ P("P"),			PROBE_NEED_MORE },
	{ P("HE"),			PROBE_NEED_MORE },	/* HEAD or HELO */
	{ P("HEL"),			PROBE_SMTP },
	{ P("HELO x\r\n"),		PROBE_SMTP },
	{ P("EHLO client.example\r\n"),	PROBE_SMTP },
	{ P("GETX"),			PROBE_SMTP },
	{ P("GET\r\n"),			PROBE_SMTP },
	{ P("QUIT\r\n"),		PROBE_SMTP },
	{ P("\x16"),			PROBE_NEED_MORE },
	{ P("\x16\x03\x01\x00\xa5\x01"),	PROBE_TLS },
	{ P("\x16\x03"),		PROBE_TLS },
	{ P("\x16\x01"),		PROBE_SMTP },
	{ "\0GET ", 5,			PROBE_SMTP },
	{ "GE\0", 3,			PROBE_SMTP },
};

static void
test_probe(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(probe_cases) / sizeof(probe_cases[0]); i++) {
		const struct probe_case *c = &probe_cases[i];
		enum probe_verdict got = probe_classify((const uint8_t *)c->bytes, c->len);
		if (got != c->want)
			fail_msg("probe case %zu (%zu bytes): got %d, want %d", i, c->len, got,
			    c->want);
	}
	assert_string_equal(probe_reason(PROBE_HTTP), "http");
	assert_string_equal(probe_reason(PROBE_TLS), "tls_on_plaintext");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_take),
		cmocka_unit_test(test_discard_keeps_buffer_small),
		cmocka_unit_test(test_probe),
	};

	memset(long_line, 'x', sizeof(long_line));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
