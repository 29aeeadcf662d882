/*
 * smtpd/reply_test.c - the reply table: every row renders as
 * "CODE ENH TEXT\r\n" with an enhanced code matching the class (RFC 3463),
 * except the three RFC 2034 exemptions; EHLO keywords are bare.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "reply.h"

struct reply_case {
	enum reply_id	 id;
	const char	*arg;
	const char	*want;
};

static const struct reply_case cases[] = {
	{ REPLY_GREETING,	"mx.example.test", "220 mx.example.test ESMTP\r\n" },
	{ REPLY_HELO,		"mx.example.test", "250 mx.example.test\r\n" },
	{ REPLY_QUEUED,		"0123456789abcdef", "250 2.0.0 Ok: queued as 0123456789abcdef\r\n" },
	{ REPLY_TIMEOUT,	"mx.example.test", "421 4.4.2 mx.example.test Timeout\r\n" },
	{ REPLY_LINE_TOO_LONG,	NULL,	"500 5.5.2 Line too long\r\n" },
	{ REPLY_TOO_MANY_RCPTS,	NULL,	"452 4.5.3 Too many recipients\r\n" },
	{ REPLY_UNKNOWN_USER,	NULL,	"550 5.1.1 Recipient address rejected: User unknown\r\n" },
	{ REPLY_RELAY_DENIED,	NULL,	"554 5.7.1 Relay access denied\r\n" },
	{ REPLY_TOO_MANY_ERRORS, NULL,	"421 4.7.0 Too many errors\r\n" },
	{ REPLY_SHUTDOWN,	NULL,	"421 4.3.2 Service shutting down\r\n" },
	{ REPLY_DATA_GO,	NULL,	"354 End data with <CR><LF>.<CR><LF>\r\n" },
	{ REPLY_OK,		"ignored", "250 2.0.0 Ok\r\n" },
};

static void
test_render(void **state)
{
	char buf[REPLY_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = reply_render(cases[i].id, cases[i].arg, buf, sizeof(buf));
		if (n != strlen(cases[i].want) || strcmp(buf, cases[i].want) != 0)
			fail_msg("reply %d: got \"%s\", want \"%s\"", cases[i].id, buf, cases[i].want);
	}
}

/* Every row: 3 digits, and an enhanced code whose class is the first digit. */
static void
test_every_row_consistent(void **state)
{
	char buf[REPLY_MAX], st[16];

	(void)state;
	for (int id = 0; id < REPLY_COUNT; id++) {
		size_t n = reply_render((enum reply_id)id, "x", buf, sizeof(buf));
		assert_true(n >= 6);
		assert_memory_equal(buf + n - 2, "\r\n", 2);
		assert_true(memchr(buf, '\r', n - 2) == NULL);
		uint16_t code = reply_code((enum reply_id)id);
		assert_true(code >= 200 && code <= 599);
		reply_status((enum reply_id)id, st, sizeof(st));
		/* RFC 4954 section 4: a 334 line is the challenge and nothing else */
		bool exempt = id == REPLY_GREETING || id == REPLY_HELO || id == REPLY_DATA_GO ||
		    id == REPLY_AUTH_CHALLENGE;
		if (exempt) {
			assert_int_equal(strlen(st), 3);
			continue;
		}
		if (strlen(st) < 9 || st[4] != buf[0] || st[5] != '.')
			fail_msg("reply %d: status \"%s\" for \"%s\"", id, st, buf);
		assert_int_equal(reply_is_error((enum reply_id)id), code >= 400);
	}
}

/* A long argument is cut, never overflows, and the line still ends in CRLF. */
static void
test_truncation(void **state)
{
	char arg[2000], buf[64];

	(void)state;
	memset(arg, 'a', sizeof(arg) - 1);
	arg[sizeof(arg) - 1] = '\0';
	size_t n = reply_render(REPLY_QUEUED, arg, buf, sizeof(buf));
	assert_int_equal(n, sizeof(buf) - 1);
	assert_memory_equal(buf + n - 2, "\r\n", 2);
	assert_int_equal(buf[n], '\0');
}

static void
test_ehlo(void **state)
{
	char buf[REPLY_EHLO_MAX];

	(void)state;
	size_t n = reply_render_ehlo("mx.example.test", 26214400, true, buf, sizeof(buf));
	assert_string_equal(buf,
	    "250-mx.example.test\r\n"
	    "250-PIPELINING\r\n"
	    "250-8BITMIME\r\n"
	    "250-SIZE 26214400\r\n"
	    "250-STARTTLS\r\n"
	    "250-SMTPUTF8\r\n"
	    "250 ENHANCEDSTATUSCODES\r\n");
	assert_int_equal(n, strlen(buf));
	reply_render_ehlo("mx.example.test", 1024, false, buf, sizeof(buf));
	assert_null(strstr(buf, "STARTTLS"));
	assert_non_null(strstr(buf, "250-SMTPUTF8\r\n"));	/* RFC 6531 3.1, every port */
	assert_int_equal(reply_render_ehlo("mx.example.test", 1, true, buf, 20), 0);
}

/* Submission: AUTH only when the session says so (under TLS), never with
 * STARTTLS in the same answer in practice, but both render in order. */
static void
test_ehlo_offer(void **state)
{
	static const struct {
		struct ehlo_offer	 offer;
		const char		*want_extra;
	} offers[] = {
		{ { false, false },	"" },
		{ { true, false },	"250-STARTTLS\r\n" },
		{ { false, true },	"250-AUTH PLAIN LOGIN\r\n" },
		{ { true, true },	"250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n" },
	};
	char buf[REPLY_EHLO_MAX], want[REPLY_EHLO_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(offers) / sizeof(offers[0]); i++) {
		snprintf(want, sizeof(want), "250-h.test\r\n250-PIPELINING\r\n"
		    "250-8BITMIME\r\n250-SIZE 10\r\n%s250-SMTPUTF8\r\n"
		    "250 ENHANCEDSTATUSCODES\r\n",
		    offers[i].want_extra);
		size_t n = reply_render_ehlo_offer("h.test", 10, &offers[i].offer, buf,
		    sizeof(buf));
		if (n != strlen(want) || strcmp(buf, want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, buf, want);
	}
}

static void
test_auth_replies(void **state)
{
	static const struct {
		enum reply_id	 id;
		const char	*arg;
		const char	*want;
	} auth_cases[] = {
		{ REPLY_AUTH_CHALLENGE,	"",		"334 \r\n" },
		{ REPLY_AUTH_CHALLENGE,	"VXNlcm5hbWU6",	"334 VXNlcm5hbWU6\r\n" },
		{ REPLY_AUTH_OK,	NULL,		"235 2.7.0 Authentication successful\r\n" },
		{ REPLY_AUTH_BAD,	NULL,		"535 5.7.8 Authentication credentials invalid\r\n" },
		{ REPLY_AUTH_NEED_TLS,	NULL,		"538 5.7.11 Encryption required for requested authentication mechanism\r\n" },
		{ REPLY_AUTH_REQUIRED,	NULL,		"530 5.7.0 Authentication required\r\n" },
		{ REPLY_SENDER_NOT_OWNED, NULL,		"553 5.7.1 Sender address not owned by the authenticated user\r\n" },
		{ REPLY_FROM_NOT_OWNED,	NULL,		"550 5.7.1 From: header address not owned by the authenticated user\r\n" },
		{ REPLY_SIGN_TEMPFAIL,	NULL,		"451 4.7.0 Message could not be signed, try again later\r\n" },
	};
	char buf[REPLY_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(auth_cases) / sizeof(auth_cases[0]); i++) {
		reply_render(auth_cases[i].id, auth_cases[i].arg, buf, sizeof(buf));
		if (strcmp(buf, auth_cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, buf, auth_cases[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_every_row_consistent),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_ehlo),
		cmocka_unit_test(test_ehlo_offer),
		cmocka_unit_test(test_auth_replies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
