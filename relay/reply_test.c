/*
 * relay/reply_test.c - remote SMTP replies, one row per case: single and
 * multi-line replies, enhanced status codes (kept, repeated, mismatched
 * class), hostile lines (bad codes, changing codes, control bytes, over-
 * long lines and texts, too many lines), the class helpers, and the EHLO
 * keywords the relay acts on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "reply.h"

/* Lines separated by '\n' inside one string; each is fed in turn. */
struct reply_case {
	const char		*lines;
	enum reply_parse	 want;		/* result of the last line fed */
	int			 code;
	const char		*esc;
	const char		*text;		/* NULL: not checked */
};

static const struct reply_case cases[] = {
	{ "220 mx.example.test ESMTP", REPLY_PARSE_DONE, 220, "", "220 mx.example.test ESMTP" },
	{ "250", REPLY_PARSE_DONE, 250, "", "250" },
	{ "250 ", REPLY_PARSE_DONE, 250, "", "250" },
	{ "250 2.1.0 Ok", REPLY_PARSE_DONE, 250, "2.1.0", "250 2.1.0 Ok" },
	{ "250 2.0.0 Ok: queued as 123\r", REPLY_PARSE_DONE, 250, "2.0.0", "250 2.0.0 Ok: queued as 123" },
	{ "550 5.1.1 <x@y>: unknown user", REPLY_PARSE_DONE, 550, "5.1.1", "550 5.1.1 <x@y>: unknown user" },
	{ "550-5.7.1 [2001:db8::25] Our system has detected\n"
	  "550-5.7.1 that this message does not meet IPv6 sending\n"
	  "550 5.7.1 guidelines regarding PTR records",
	  REPLY_PARSE_DONE, 550, "5.7.1",
	  "550 5.7.1 [2001:db8::25] Our system has detected that this message does not "
	  "meet IPv6 sending guidelines regarding PTR records" },
	{ "250-mx.example.test\n250-PIPELINING\n250 8BITMIME", REPLY_PARSE_DONE, 250, "",
	  "250 mx.example.test PIPELINING 8BITMIME" },
	{ "451 4.7.1 greylisted, try again", REPLY_PARSE_DONE, 451, "4.7.1", NULL },
	/* the enhanced code must match the reply class (RFC 2034) */
	{ "550 4.7.1 odd", REPLY_PARSE_DONE, 550, "", "550 4.7.1 odd" },
	{ "250 2.1 Ok", REPLY_PARSE_DONE, 250, "", "250 2.1 Ok" },
	{ "250 2.1000.0 Ok", REPLY_PARSE_DONE, 250, "", NULL },
	{ "250 2.100.999 Ok", REPLY_PARSE_DONE, 250, "2.100.999", NULL },
	{ "250 2.1.0Ok", REPLY_PARSE_DONE, 250, "", NULL },
	{ "354 End data with <CR><LF>.<CR><LF>", REPLY_PARSE_DONE, 354, "", NULL },
	{ "250-first", REPLY_PARSE_MORE, 250, "", "250 first" },
	/* hostile */
	{ "", REPLY_PARSE_SYNTAX, 0, "", NULL },
	{ "25", REPLY_PARSE_SYNTAX, 0, "", NULL },
	{ "2500 x", REPLY_PARSE_SYNTAX, 0, "", NULL },
	{ "abc def", REPLY_PARSE_SYNTAX, 0, "", NULL },
	{ "150 x", REPLY_PARSE_SYNTAX, 0, "", NULL },
	{ "650 x", REPLY_PARSE_SYNTAX, 0, "", NULL },
	{ "260 x", REPLY_PARSE_SYNTAX, 0, "", NULL },
	{ "25x x", REPLY_PARSE_SYNTAX, 0, "", NULL },
	{ "250_x", REPLY_PARSE_SYNTAX, 0, "", NULL },
	{ " 250 x", REPLY_PARSE_SYNTAX, 0, "", NULL },
	{ "250-a\n550 b", REPLY_PARSE_MISMATCH, 250, "", NULL },
	{ "250-a\nfoo", REPLY_PARSE_SYNTAX, 250, "", NULL },
	{ "550 5.7.1 bad\x01\x1b[31m\x7f\xff text", REPLY_PARSE_DONE, 550, "5.7.1",
	  "550 5.7.1 bad??[31m?? text" },
};

static void
feed_lines(struct smtp_reply *r, const char *lines, enum reply_parse *last)
{
	const char *p = lines;

	smtp_reply_init(r);
	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		*last = smtp_reply_feed(r, (const uint8_t *)p, len);
		if (nl == NULL || (*last != REPLY_PARSE_MORE))
			return;
		p = nl + 1;
	}
}

static void
test_reply_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct reply_case *c = &cases[i];
		struct smtp_reply r;
		enum reply_parse got;

		feed_lines(&r, c->lines, &got);
		if (got != c->want || r.code != c->code || strcmp(r.esc, c->esc) != 0 ||
		    (c->text != NULL && strcmp(r.text, c->text) != 0))
			fail_msg("case %zu %.40s: got (%d, %d, '%s', '%s'), want (%d, %d, '%s', '%s')",
			    i, c->lines, got, r.code, r.esc, r.text, c->want, c->code, c->esc,
			    c->text != NULL ? c->text : "*");
	}
}

static void
test_reply_too_long_line(void **state)
{
	static uint8_t line[REPLY_LINE_MAX + 2];
	struct smtp_reply r;

	(void)state;
	memset(line, 'x', sizeof(line));
	memcpy(line, "250 ", 4);
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed(&r, line, REPLY_LINE_MAX + 1), REPLY_PARSE_TOO_LONG);
	/* exactly at the limit is fine, and the kept text is bounded */
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed(&r, line, REPLY_LINE_MAX), REPLY_PARSE_DONE);
	assert_int_equal(strlen(r.text), REPLY_TEXT_MAX);
	assert_true(r.truncated);
	assert_string_equal(r.text + REPLY_TEXT_MAX - 3, "...");
}

static void
test_reply_too_many_lines(void **state)
{
	struct smtp_reply r;

	(void)state;
	smtp_reply_init(&r);
	for (int i = 0; i < REPLY_LINES_MAX; i++)
		assert_int_equal(smtp_reply_feed(&r, (const uint8_t *)"250-x", 5), REPLY_PARSE_MORE);
	assert_int_equal(smtp_reply_feed(&r, (const uint8_t *)"250 x", 5), REPLY_PARSE_TOO_MANY);
	assert_true(strlen(r.text) <= REPLY_TEXT_MAX);
}

static void
test_reply_classes(void **state)
{
	struct smtp_reply r;

	(void)state;
	smtp_reply_set(&r, 550, "5.7.1", "go away over %s", "IPv6");
	assert_string_equal(r.text, "550 5.7.1 go away over IPv6");
	assert_true(smtp_reply_is_permanent(&r));
	assert_true(smtp_reply_is_policy_reject(&r));
	smtp_reply_set(&r, 550, "5.1.1", "unknown");
	assert_false(smtp_reply_is_policy_reject(&r));
	smtp_reply_set(&r, 451, "4.7.1", "later");
	assert_true(smtp_reply_is_temporary(&r));
	assert_false(smtp_reply_is_policy_reject(&r));	/* only permanent 5.7.x */
	smtp_reply_set(&r, 250, NULL, "ok");
	assert_true(smtp_reply_is_positive(&r));
	assert_string_equal(r.esc, "");
	/* a 5.7 without enhanced code is no policy reject we can recognise */
	smtp_reply_set(&r, 554, NULL, "5.7.1 looks like one");
	assert_true(smtp_reply_is_policy_reject(&r));
	smtp_reply_set(&r, 554, NULL, "no code");
	assert_false(smtp_reply_is_policy_reject(&r));
}

/* What the relay says itself is marked, and reaches the queue without
 * the made-up reply code; what a server said stays whole. */
static void
test_reply_local_diagnosis(void **state)
{
	struct smtp_reply r;
	const char *l;

	(void)state;
	smtp_reply_set(&r, 451, "4.4.1", "connect to mx[192.0.2.1]: %s", "Connection refused");
	assert_true(r.local);
	assert_string_equal(smtp_reply_diagnosis(&r),
	    "4.4.1 connect to mx[192.0.2.1]: Connection refused");
	smtp_reply_init(&r);
	l = "451 4.4.1 a server can say this too";
	assert_int_equal(smtp_reply_feed(&r, (const uint8_t *)l, strlen(l)), REPLY_PARSE_DONE);
	assert_false(r.local);
	assert_string_equal(smtp_reply_diagnosis(&r), l);
	assert_string_equal(smtp_reply_text_without_code("550 5.1.1 x"), "5.1.1 x");
	assert_string_equal(smtp_reply_text_without_code("550"), "550");
	assert_string_equal(smtp_reply_text_without_code("55x y"), "55x y");
	assert_string_equal(smtp_reply_text_without_code(""), "");
}

struct ehlo_case {
	const char	*line;
	bool		 starttls, pipelining, eightbit, size;
	uint64_t	 size_max;
	unsigned	 auth;
};

static const struct ehlo_case ehlo_cases[] = {
	{ "250-STARTTLS",		true,  false, false, false, 0, 0 },
	{ "250 starttls",		true,  false, false, false, 0, 0 },
	{ "250-STARTTLSX",		false, false, false, false, 0, 0 },
	{ "250-PIPELINING",		false, true,  false, false, 0, 0 },
	{ "250-8BITMIME\r",		false, false, true,  false, 0, 0 },
	{ "250-SIZE 35882577",		false, false, false, true,  35882577, 0 },
	{ "250-SIZE",			false, false, false, true,  0, 0 },
	{ "250-SIZE 0",			false, false, false, true,  0, 0 },
	{ "250-SIZE lots",		false, false, false, true,  0, 0 },
	{ "250-SIZE 99999999999999999999999", false, false, false, true, 0, 0 },
	{ "250-AUTH PLAIN LOGIN",	false, false, false, false, 0, EHLO_AUTH_PLAIN | EHLO_AUTH_LOGIN },
	{ "250-AUTH  login",		false, false, false, false, 0, EHLO_AUTH_LOGIN },
	{ "250-AUTH CRAM-MD5",		false, false, false, false, 0, 0 },
	{ "250-AUTH=PLAIN",		false, false, false, false, 0, 0 },
	{ "250-",			false, false, false, false, 0, 0 },
	{ "25",				false, false, false, false, 0, 0 },
};

static void
test_ehlo_caps(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ehlo_cases) / sizeof(ehlo_cases[0]); i++) {
		const struct ehlo_case *c = &ehlo_cases[i];
		struct ehlo_caps caps;

		memset(&caps, 0, sizeof(caps));
		ehlo_caps_feed(&caps, (const uint8_t *)c->line, strlen(c->line), false);
		if (caps.starttls != c->starttls || caps.pipelining != c->pipelining ||
		    caps.eightbitmime != c->eightbit || caps.size != c->size ||
		    caps.size_max != c->size_max || caps.auth != c->auth)
			fail_msg("ehlo case %zu '%s': got tls=%d pipe=%d 8bit=%d size=%d/%llu auth=%u",
			    i, c->line, caps.starttls, caps.pipelining, caps.eightbitmime,
			    caps.size, (unsigned long long)caps.size_max, caps.auth);
	}
}

static void
test_ehlo_first_line_is_the_name(void **state)
{
	struct ehlo_caps caps;

	(void)state;
	memset(&caps, 0, sizeof(caps));
	ehlo_caps_feed(&caps, (const uint8_t *)"250-STARTTLS", 12, true);
	assert_false(caps.starttls);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_table),
		cmocka_unit_test(test_reply_too_long_line),
		cmocka_unit_test(test_reply_too_many_lines),
		cmocka_unit_test(test_reply_classes),
		cmocka_unit_test(test_reply_local_diagnosis),
		cmocka_unit_test(test_ehlo_caps),
		cmocka_unit_test(test_ehlo_first_line_is_the_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
