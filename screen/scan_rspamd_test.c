/*
 * screen/scan_rspamd_test.c - rspamd's request head (the envelope headers,
 * nothing a client could use to add a header of its own) and its reply
 * parser against real answers and hostile ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "scan_testlib.h"

#define OK_HEAD	"HTTP/1.1 200 OK\r\nConnection: close\r\nServer: rspamd/3.4\r\n"

/* Real rspamd 3.4 answers (a local rule, GTUBE, a clean message). */
static const char real_spam[] = OK_HEAD "Content-Length: 249\r\nContent-Type: application/json\r\n\r\n"
    "{\"is_skipped\":false,\"score\":7.500000,\"required_score\":15.0,\"action\":\"add header\","
    "\"symbols\":{\"HMX_CHEAP\":{\"name\":\"HMX_CHEAP\",\"score\":7.500000,\"metric_score\":7.500000,"
    "\"description\":\"test rule\"}},\"messages\":{},\"message-id\":\"undef\",\"time_real\":0.126333}";
static const char real_gtube[] = OK_HEAD "Content-Length: 226\r\nContent-Type: application/json\r\n\r\n"
    "{\"is_skipped\":true,\"score\":15.0,\"required_score\":15.0,\"action\":\"reject\",\"symbols\":"
    "{\"GTUBE\":{\"name\":\"GTUBE\",\"score\":0.0,\"metric_score\":0.0}},\"messages\":"
    "{\"smtp_message\":\"Gtube pattern\"},\"message-id\":\"undef\",\"time_real\":0.000601}";

static const struct {
	const char	*reply;
	enum scan_parse	 want;
	enum scan_status status;	/* when DONE */
	double		 score;
	const char	*action, *symbols, *why;	/* why: a substring */
} cases[] = {
	{ real_spam, SCAN_PARSE_DONE, SCAN_STATUS_OK, 7.5, "add header", "HMX_CHEAP", "" },
	{ real_gtube, SCAN_PARSE_DONE, SCAN_STATUS_OK, 15, "reject", "GTUBE", "" },
	/* no Content-Length: the body ends at EOF */
	{ OK_HEAD "\r\n{\"score\":0.0,\"action\":\"no action\",\"symbols\":{}}", SCAN_PARSE_DONE,
	    SCAN_STATUS_OK, 0, "no action", "", "" },
	{ "HTTP/1.0 200 OK\r\n\r\n { \"action\" : \"greylist\" , \"score\" : -1.25 , \"symbols\" : "
	    "{ \"A\" : [1, {\"x\": null}], \"B_2\" : true } } \r\n", SCAN_PARSE_DONE, SCAN_STATUS_OK,
	    -1.25, "greylist", "A,B_2", "" },
	/* escapes: a symbol name with odd bytes is logged with '?' */
	{ OK_HEAD "\r\n{\"score\":1,\"action\":\"no\\u0020action\",\"symbols\":{\"A\\\"B\\u00e9\":{}}}",
	    SCAN_PARSE_DONE, SCAN_STATUS_OK, 1, "no action", "A?B?", "" },
	/* rspamd says no */
	{ "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", SCAN_PARSE_DONE,
	    SCAN_STATUS_TEMPFAIL, 0, "", "", "HTTP 500" },
	{ OK_HEAD "\r\n{\"error\":\"cannot parse\\nmessage\"}", SCAN_PARSE_DONE, SCAN_STATUS_TEMPFAIL,
	    0, "", "", "rspamd error: cannot parse message" },
	/* garbage */
	{ "", SCAN_PARSE_BAD, 0, 0, "", "", "no answer" },
	{ "SPAMD/1.1 0 EX_OK\r\n\r\n", SCAN_PARSE_BAD, 0, 0, "", "", "no HTTP status line" },
	{ "HTTP/1.1 2x0 OK\r\n\r\n", SCAN_PARSE_BAD, 0, 0, "", "", "status code" },
	{ "HTTP/1.1 200 OK\r\nbroken\r\n\r\n{}", SCAN_PARSE_BAD, 0, 0, "", "", "without a colon" },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{}", SCAN_PARSE_BAD, 0, 0, "", "",
	    "Transfer-Encoding" },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", SCAN_PARSE_BAD, 0, 0, "",
	    "", "Content-Length" },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n{}   ", SCAN_PARSE_BAD, 0, 0,
	    "", "", "Content-Length" },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"score\":1}", SCAN_PARSE_BAD, 0, 0, "", "",
	    "cut short" },
	{ OK_HEAD "\r\n{\"score\":1,\"action\":\"reject\"", SCAN_PARSE_BAD, 0, 0, "", "", "JSON" },
	{ OK_HEAD "\r\n{\"score\":1,\"action\":\"reject\"}}", SCAN_PARSE_BAD, 0, 0, "", "", "JSON" },
	{ OK_HEAD "\r\n{\"score\":1}", SCAN_PARSE_BAD, 0, 0, "", "", "no score or no action" },
	{ OK_HEAD "\r\n{\"action\":\"reject\"}", SCAN_PARSE_BAD, 0, 0, "", "", "no score" },
	{ OK_HEAD "\r\n{\"score\":1e3,\"action\":\"reject\"}", SCAN_PARSE_BAD, 0, 0, "", "", "JSON" },
	{ OK_HEAD "\r\n{\"score\":NaN,\"action\":\"reject\"}", SCAN_PARSE_BAD, 0, 0, "", "", "JSON" },
	{ OK_HEAD "\r\n{\"score\":01,\"action\":\"reject\"}", SCAN_PARSE_BAD, 0, 0, "", "", "JSON" },
	{ OK_HEAD "\r\n{\"score\":9999999,\"action\":\"reject\"}", SCAN_PARSE_BAD, 0, 0, "", "", "JSON" },
	{ OK_HEAD "\r\n{\"score\":\"7\",\"action\":\"reject\"}", SCAN_PARSE_BAD, 0, 0, "", "", "JSON" },
	{ OK_HEAD "\r\n{\"score\":1,\"action\":\"a\x01\"}", SCAN_PARSE_BAD, 0, 0, "", "", "JSON" },
	{ OK_HEAD "\r\n{\"score\":1,\"action\":\"a\\x\"}", SCAN_PARSE_BAD, 0, 0, "", "", "JSON" },
	{ OK_HEAD "\r\n{\"score\":1,\"action\":\"a\\u12\"}", SCAN_PARSE_BAD, 0, 0, "", "", "JSON" },
	{ OK_HEAD "\r\n[1,2]", SCAN_PARSE_BAD, 0, 0, "", "", "JSON" },
	{ OK_HEAD "\r\n{\"score\":1,\"action\":\"x\",\"symbols\":[1]}", SCAN_PARSE_BAD, 0, 0, "", "", "JSON" },
	{ OK_HEAD "\r\n{\"score\":1,\"action\":\"x\",\"a\":tru}", SCAN_PARSE_BAD, 0, 0, "", "", "JSON" },
	{ OK_HEAD "\r\n{\"score\":1,\"action\":\"x\"} trailing", SCAN_PARSE_BAD, 0, 0, "", "", "JSON" },
};

static void
test_replies(void **state)
{
	struct scan_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum scan_parse got = scan_parse_split(scan_rspamd_parse, cases[i].reply,
		    strlen(cases[i].reply), &r);
		if (!scan_case_checked(i, got, &r, cases[i].want, cases[i].why,
		    cases[i].status) || r.status != SCAN_STATUS_OK)
			continue;
		if (r.score != cases[i].score || strcmp(r.action, cases[i].action) != 0 ||
		    strcmp(r.symbols, cases[i].symbols) != 0)
			fail_msg("case %zu: got %.2f '%s' '%s', want %.2f '%s' '%s'", i, r.score,
			    r.action, r.symbols, cases[i].score, cases[i].action, cases[i].symbols);
	}
}

/* Deep nesting is refused, not a stack overflow; an empty reply object is not a result. */
static void
test_depth_and_size(void **state)
{
	static char text[SCAN_REPLY_MAX];
	struct scan_result r;
	size_t o = 0;

	(void)state;
	o += (size_t)snprintf(text, sizeof(text), OK_HEAD "\r\n{\"score\":1,\"action\":\"x\",\"d\":");
	for (int i = 0; i < 5000; i++)
		text[o++] = '[';
	assert_int_equal(scan_rspamd_parse((uint8_t *)text, o, true, &r), SCAN_PARSE_BAD);
	/* a header section that never ends */
	memset(text, 'a', sizeof(text));
	memcpy(text, "HTTP/1.1 200 OK\r\n", 17);
	assert_int_equal(scan_rspamd_parse((uint8_t *)text, sizeof(text), false, &r), SCAN_PARSE_BAD);
	assert_non_null(strstr(r.why, "too long"));
	/* many symbols: the list ends in "..." within its bound */
	o = (size_t)snprintf(text, sizeof(text), OK_HEAD "\r\n{\"score\":1,\"action\":\"x\",\"symbols\":{");
	for (int i = 0; i < 200; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s\"SYMBOL_NUMBER_%d\":{}",
		    i ? "," : "", i);
	o += (size_t)snprintf(text + o, sizeof(text) - o, "}}");
	assert_int_equal(scan_rspamd_parse((uint8_t *)text, o, true, &r), SCAN_PARSE_DONE);
	assert_true(strlen(r.symbols) < sizeof(r.symbols));
	assert_non_null(strstr(r.symbols, "SYMBOL_NUMBER_0,SYMBOL_NUMBER_1,"));
	assert_string_equal(r.symbols + strlen(r.symbols) - 3, "...");
}

static void
test_request_head(void **state)
{
	static const char *const rcpts[] = { "kim@example.test", "x@example.test\r\nEvil: 1" };
	struct scan_envelope env = { "s1", "Q1", "192.0.2.7", "mx.example.net", "",
	    "a@example.net", rcpts, 2, "mx.example.test" };
	char buf[1024];
	size_t n;

	(void)state;
	n = scan_rspamd_head(&env, 1234, buf, sizeof(buf));
	assert_true(n < sizeof(buf));
	buf[n] = '\0';
	assert_string_equal(buf,
	    "POST /checkv2 HTTP/1.1\r\nHost: rspamd\r\nContent-Length: 1234\r\n"
	    "Connection: close\r\nIP: 192.0.2.7\r\nHelo: mx.example.net\r\n"
	    "From: <a@example.net>\r\nRcpt: <kim@example.test>\r\n"
	    "Rcpt: <x@example.testEvil: 1>\r\nQueue-Id: Q1\r\nMTA-Name: mx.example.test\r\n\r\n");
	/* a verified PTR becomes Hostname; the null sender is From: <> */
	env.ptr = "mail.example.net";
	env.mail_from = "";
	env.nrcpts = 1;
	n = scan_rspamd_head(&env, 0, buf, sizeof(buf));
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\r\nHostname: mail.example.net\r\n"));
	assert_non_null(strstr(buf, "\r\nFrom: <>\r\n"));
	/* too small a buffer: the length needed, nothing written past it */
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(scan_rspamd_head(&env, 0, buf, 10), n);
	assert_int_equal(buf[10], 'Z');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_depth_and_size),
		cmocka_unit_test(test_request_head),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
