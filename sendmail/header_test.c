/*
 * sendmail/header_test.c - the header side of sendmail(8): address lists
 * (addrlist.c), the header rewrite and the -t recipients (header.c), the
 * From: we add (RFC 2047), and the body stream (body.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sendmail.h"

/* ---- address lists --------------------------------------------------------- */

struct list_case {
	const char	*value;
	enum sm_list_status want;
	const char	*addrs;		/* the texts, '|'-separated */
};

static const struct list_case list_cases[] = {
	{ "kim@example.test", SM_LIST_OK, "kim@example.test" },
	{ " Kim Lee <kim@example.test>, lee@example.test ", SM_LIST_OK,
	    "kim@example.test|lee@example.test" },
	{ "\"Lee, the boss\" <lee@example.test>", SM_LIST_OK, "lee@example.test" },
	{ "root (Cron Daemon)", SM_LIST_OK, "root" },
	{ "undisclosed-recipients:;", SM_LIST_OK, "" },
	{ "friends: a@x.test, B <b@y.test>; c@z.test", SM_LIST_OK, "a@x.test|b@y.test|c@z.test" },
	{ "<@relay.test,@r2.test:kim@example.test>", SM_LIST_OK, "kim@example.test" },
	{ "\"odd local\"@example.test", SM_LIST_OK, "\"odd local\"@example.test" },
	{ "kim@example.test (a (nested) comment), ,", SM_LIST_OK, "kim@example.test" },
	{ "Kim <kim@example.test", SM_LIST_SYNTAX, NULL },
	{ "kim@example.test>", SM_LIST_SYNTAX, NULL },
	{ "(unclosed comment kim@example.test", SM_LIST_SYNTAX, NULL },
	{ "\"unclosed <kim@example.test>", SM_LIST_SYNTAX, NULL },
	{ "<a<b@example.test>>", SM_LIST_SYNTAX, NULL },
};

static void
test_address_lists(void **state)
{
	struct sm_addr out[8];
	char joined[1024];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(list_cases) / sizeof(list_cases[0]); i++) {
		const struct list_case *c = &list_cases[i];
		enum sm_list_status st = sm_addrlist_parse(c->value, strlen(c->value), out, 8, &n);
		if (st != c->want)
			fail_msg("'%s': status %d, want %d", c->value, st, c->want);
		if (c->addrs == NULL)
			continue;
		size_t o = 0;
		joined[0] = '\0';
		for (size_t k = 0; k < n; k++) {
			size_t l = strlen(out[k].text);
			assert_true(o + l + 2 < sizeof(joined));
			if (k > 0)
				joined[o++] = '|';
			memcpy(joined + o, out[k].text, l + 1);
			o += l;
		}
		if (strcmp(joined, c->addrs) != 0)
			fail_msg("'%s': got '%s', want '%s'", c->value, joined, c->addrs);
	}
}

static void
test_list_limits_and_offsets(void **state)
{
	struct sm_addr out[2];
	size_t n;
	const char *v = "root (Cron Daemon), kim@example.test";
	char big[600];

	(void)state;
	assert_int_equal(sm_addrlist_parse(v, strlen(v), out, 2, &n), SM_LIST_OK);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].end, 4);	/* after "root" */
	assert_false(out[0].qualified);
	assert_true(out[1].qualified);
	assert_int_equal(sm_addrlist_parse("a@x.test,b@x.test,c@x.test", 26, out, 2, &n),
	    SM_LIST_TOO_MANY);
	/* a NUL would cut the address short in C: the list is unreadable */
	assert_int_equal(sm_addrlist_parse("evil\0@x.test", 12, out, 2, &n), SM_LIST_SYNTAX);
	assert_int_equal(sm_addrlist_parse("Kim <k\x01@x.test>", 17, out, 2, &n), SM_LIST_SYNTAX);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(sm_addrlist_parse(big, strlen(big), out, 2, &n), SM_LIST_TOO_LONG);
}

static void
test_complete(void **state)
{
	char out[ADDR_MAX + 1];

	(void)state;
	assert_int_equal(sm_addr_complete("root", "mx.example.test", out, sizeof(out)), ADDR_OK);
	assert_string_equal(out, "root@mx.example.test");
	assert_int_equal(sm_addr_complete("Kim@Example.TEST", "h.test", out, sizeof(out)), ADDR_OK);
	assert_string_equal(out, "Kim@example.test");
	assert_int_not_equal(sm_addr_complete("a b", "h.test", out, sizeof(out)), ADDR_OK);
	assert_int_not_equal(sm_addr_complete("kim@", "h.test", out, sizeof(out)), ADDR_OK);
	assert_int_not_equal(sm_addr_complete("k\xc3\xa4m@x.test", "h.test", out, sizeof(out)), ADDR_OK);
}

/* ---- the header section ----------------------------------------------------- */

static char	rcpts[SM_RCPTS_MAX][ADDR_MAX + 1];
static struct sm_header h;

static const char *feed_me;	/* the VRFY answer feed() passes on */

static enum sm_header_status
feed(const char *text, bool t)
{
	struct sm_header_input in = { .domain = "mx.example.test", .me = feed_me,
	    .collect_rcpts = t };
	enum sm_header_status st;
	const char *p = text;

	sm_header_init(&h, rcpts);
	while (*p != '\0') {
		size_t len = strcspn(p, "\n");
		if ((st = sm_header_add_line(&h, &in, p, len)) != SM_HEADER_OK)
			return st;
		p += len + (p[len] == '\n');
	}
	return sm_header_finish(&h, &in);
}

static void
test_header_rewrite(void **state)
{
	(void)state;
	assert_int_equal(feed("From: root (Cron Daemon)\nTo: kim@example.test,\n lee@example.test\n"
	    "Bcc: ann@example.test\nBCC:\n more@example.test\nSubject: x\n", true), SM_HEADER_OK);
	h.buf[h.len] = '\0';
	assert_string_equal(h.buf, "From: root@mx.example.test (Cron Daemon)\r\n"
	    "To: kim@example.test,\r\n lee@example.test\r\nSubject: x\r\n");
	assert_true(h.has_from);
	assert_int_equal(h.nrcpt, 4);
	assert_string_equal(rcpts[0], "kim@example.test");
	assert_string_equal(rcpts[1], "lee@example.test");
	assert_string_equal(rcpts[2], "ann@example.test");
	assert_string_equal(rcpts[3], "more@example.test");
	/* without -t: Bcc: still goes, nobody is collected */
	assert_int_equal(feed("To: root\nBcc: ann@example.test\n", false), SM_HEADER_OK);
	h.buf[h.len] = '\0';
	assert_string_equal(h.buf, "To: root@mx.example.test\r\n");
	assert_int_equal(h.nrcpt, 0);
	assert_false(h.has_from);
	/* a recipient field that is not an address list, with -t */
	assert_int_equal(feed("To: Kim <kim@example.test\n", true), SM_HEADER_BAD_ADDRESS);
	assert_string_equal(sm_header_bad_field(), "To");
	assert_int_equal(feed("Cc: a b c@\n", true), SM_HEADER_BAD_ADDRESS);
	/* the same without -t is the program's business: sent as written */
	assert_int_equal(feed("To: Kim <kim@example.test\n", false), SM_HEADER_OK);
}

/* cron writes "From: root (Cron Daemon)" for every user's job: a bare
 * login in From: or Sender: is the caller, whose address the server gave. */
static void
test_bare_originator_is_the_caller(void **state)
{
	(void)state;
	feed_me = "kim@example.test";
	assert_int_equal(feed("From: root (Cron Daemon)\nSender: daemon\n"
	    "Reply-To: root\nTo: root, lee@example.test\n", false), SM_HEADER_OK);
	h.buf[h.len] = '\0';
	assert_string_equal(h.buf, "From: kim@example.test (Cron Daemon)\r\n"
	    "Sender: kim@example.test\r\nReply-To: root@mx.example.test\r\n"
	    "To: root@mx.example.test, lee@example.test\r\n");
	/* a display name is kept, a qualified From: is left to the role */
	assert_int_equal(feed("From: Backup Job <root>, ann@example.test\n", false),
	    SM_HEADER_OK);
	h.buf[h.len] = '\0';
	assert_string_equal(h.buf, "From: Backup Job <kim@example.test>, ann@example.test\r\n");
	/* a comment inside the login: qualified as written, for the role to judge */
	assert_int_equal(feed("From: ro(x)ot\n", false), SM_HEADER_OK);
	h.buf[h.len] = '\0';
	assert_string_equal(h.buf, "From: ro(x)ot@mx.example.test\r\n");
	feed_me = NULL;
}

static void
test_field_lines(void **state)
{
	(void)state;
	assert_true(sm_header_line_is_field("Subject: x", 10, false));
	assert_true(sm_header_line_is_field(" folded", 7, true));
	assert_false(sm_header_line_is_field(" folded", 7, false));
	assert_false(sm_header_line_is_field("just a body line", 16, false));
	assert_false(sm_header_line_is_field(": no name", 9, false));
	assert_false(sm_header_line_is_field("From kim Sat Dec  5", 19, false));
}

/* ---- From: ----------------------------------------------------------------- */

static void
test_render_from(void **state)
{
	char out[2048];

	(void)state;
	assert_true(sm_render_from("", "kim@example.test", out, sizeof(out)) > 0);
	assert_string_equal(out, "From: kim@example.test\r\n");
	assert_true(sm_render_from("Kim Lee", "kim@example.test", out, sizeof(out)) > 0);
	assert_string_equal(out, "From: Kim Lee <kim@example.test>\r\n");
	assert_true(sm_render_from("Lee, K. \"boss\"", "k@x.test", out, sizeof(out)) > 0);
	assert_string_equal(out, "From: \"Lee, K. \\\"boss\\\"\" <k@x.test>\r\n");
	assert_true(sm_render_from("J\xc3\xbcrgen", "j@x.test", out, sizeof(out)) > 0);
	assert_string_equal(out, "From: =?UTF-8?B?SsO8cmdlbg==?= <j@x.test>\r\n");
	/* header injection, and what is not UTF-8 */
	assert_int_equal(sm_render_from("Evil\r\nBcc: x@y.test", "k@x.test", out, sizeof(out)), 0);
	assert_int_equal(sm_render_from("Evil\nX: y", "k@x.test", out, sizeof(out)), 0);
	assert_int_equal(sm_render_from("tab\there", "k@x.test", out, sizeof(out)), 0);
	assert_int_equal(sm_render_from("bad \xff utf8", "k@x.test", out, sizeof(out)), 0);
	assert_int_equal(sm_render_from("\xc3", "k@x.test", out, sizeof(out)), 0);
}

/* A long non-ASCII name: several encoded words, none over 75 octets, and
 * no UTF-8 character cut between two of them. */
static void
test_render_from_long(void **state)
{
	char name[SM_FULLNAME_MAX + 1] = "", out[4096];
	char *p, *end;

	(void)state;
	for (int i = 0; i < 60; i++)
		strcat(name, "\xc3\xa9");	/* é: 120 octets */
	assert_true(sm_render_from(name, "k@x.test", out, sizeof(out)) > 0);
	for (p = strstr(out, "=?UTF-8?B?"); p != NULL; p = strstr(end, "=?UTF-8?B?")) {
		end = strstr(p, "?=");
		assert_non_null(end);
		end += 2;
		assert_true(end - p <= 75);
		assert_int_equal((end - p - 12) % 4, 0);
		/* 45 octets at most: 15 characters of 2 octets is 30, 22 is 44 */
	}
	assert_non_null(strstr(out, "\r\n =?UTF-8?B?"));
}

/* ---- the body stream ------------------------------------------------------- */

static char	sink[8192];
static size_t	sinklen;

static void
collect(void *arg, const char *buf, size_t len)
{
	(void)arg;
	assert_true(sinklen + len < sizeof(sink));
	memcpy(sink + sinklen, buf, len);
	sinklen += len;
	sink[sinklen] = '\0';
}

static const char *
body(const char *in, bool ignore_dots, size_t chunk, size_t *taken)
{
	struct sm_body b;
	size_t n = strlen(in), off = 0;

	sinklen = 0;
	sink[0] = '\0';
	sm_body_init(&b, ignore_dots, collect, NULL);
	while (off < n && !b.ended) {
		size_t step = n - off < chunk ? n - off : chunk;
		off += sm_body_feed(&b, in + off, step);
	}
	sm_body_finish(&b);
	if (taken != NULL)
		*taken = off;
	return sink;
}

static void
test_body(void **state)
{
	size_t taken;

	(void)state;
	for (size_t chunk = 1; chunk < 8; chunk++) {
		assert_string_equal(body("a\nb\r\nc", true, chunk, NULL), "a\r\nb\r\nc\r\n");
		assert_string_equal(body("x\ry\n", true, chunk, NULL), "xy\r\n");
		assert_string_equal(body(".hidden\n..two\n.\n", true, chunk, NULL),
		    "..hidden\r\n...two\r\n..\r\n");
		assert_string_equal(body("one\n.\ntwo\n", false, chunk, &taken), "one\r\n");
		assert_int_equal(taken, 6);
		assert_string_equal(body("one\n.", false, chunk, NULL), "one\r\n");
		assert_string_equal(body("one\n.x\n", false, chunk, NULL), "one\r\n..x\r\n");
		assert_string_equal(body("", false, chunk, NULL), "");
	}
}

static void
test_long_lines(void **state)
{
	static char in[3000], want[3100];

	(void)state;
	memset(in, 'a', 2000);
	in[2000] = '\n';
	in[2001] = '\0';
	memset(want, 'a', 998);
	memcpy(want + 998, "\r\n", 2);
	memset(want + 1000, 'a', 998);
	memcpy(want + 1998, "\r\n", 2);
	memcpy(want + 2000, "aaaa\r\n", 7);
	assert_string_equal(body(in, true, 333, NULL), want);
	/* a broken line that resumes with '.' is stuffed like any line */
	memset(in, 'b', 998);
	memcpy(in + 998, ".c\n", 4);
	assert_string_equal(body(in, true, 100, NULL) + 998, "\r\n..c\r\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address_lists),
		cmocka_unit_test(test_list_limits_and_offsets),
		cmocka_unit_test(test_complete),
		cmocka_unit_test(test_header_rewrite),
		cmocka_unit_test(test_bare_originator_is_the_caller),
		cmocka_unit_test(test_field_lines),
		cmocka_unit_test(test_render_from),
		cmocka_unit_test(test_render_from_long),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_long_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
