/*
 * queue/dsn_test.c - the DSN builder and the readers of hostile text it
 * uses (queue/dsn.c), table-driven.
 *
 * Owns: the proof that remote replies are parsed into code, enhanced
 * status and remote MTA and are cleaned into one line whatever they hold
 * (CR/LF injection, NUL, 8-bit, overlong); that the Status of each
 * recipient follows RFC 3463; that automatic messages are recognised; that
 * the original Subject is decoded (RFC 2047) and re-encoded exactly; and
 * that every DSN built, hostile input included, is 7-bit, CRLF only, with
 * no line over 998 octets and every required field in place; and that
 * the RFC 6533 form for internationalized mail (message/global-delivery-
 * status, "utf-8;" addresses, message/global-headers) is taken exactly
 * when the original came with SMTPUTF8 or has a UTF-8 address, carries
 * only clean UTF-8, and refuses addresses that are not. The text helpers
 * underneath (mime.c) have their own test, mime_test.c.
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
#include <unistr.h>

#include "dsn.h"

/* ---- a well-formedness checker, shared by every build test ---------------- */

/* C1 controls (U+0080..U+009F) are C2 80..C2 9F in UTF-8. */
static bool
has_c1_control(const char *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++)
		if ((unsigned char)p[i] == 0xc2 && (unsigned char)p[i + 1] >= 0x80 &&
		    (unsigned char)p[i + 1] <= 0x9f)
			return true;
	return false;
}

/* NULL if text is a well-formed message, 7-bit, or with utf8 also valid
 * UTF-8 without C1 controls; else why not. */
static const char *
dsn_check_as(const char *p, size_t len, bool utf8)
{
	size_t line_start = 0;
	bool in_header = true;

	if (len < 2 || p[len - 2] != '\r' || p[len - 1] != '\n')
		return "does not end in CRLF";
	if (utf8 && (u8_check((const uint8_t *)p, len) != NULL || has_c1_control(p, len)))
		return "not clean UTF-8";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\0' || (c >= 0x80 && !utf8))
			return "NUL or 8-bit byte";
		if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7f)
			return "control character";
		if (c == '\r' && (i + 1 == len || p[i + 1] != '\n'))
			return "bare CR";
		if (c == '\n' && (i == 0 || p[i - 1] != '\r'))
			return "bare LF";
		if (c != '\n')
			continue;
		size_t n = i - 1 - line_start;	/* without CRLF */
		if (n > MIME_LINE_MAX)
			return "line over 998 octets";
		if (in_header && n == 0)
			in_header = false;
		else if (in_header && p[line_start] != ' ' && p[line_start] != '\t') {
			const char *colon = memchr(p + line_start, ':', n);
			if (colon == NULL || colon == p + line_start ||
			    memchr(p + line_start, ' ', (size_t)(colon - p - line_start)))
				return "header line is not a field";
		}
		line_start = i + 1;
	}
	return in_header ? "no body" : NULL;
}

static const char *
dsn_check(const char *p, size_t len)
{
	return dsn_check_as(p, len, false);
}

/* The header section of a built DSN, unfolded field by field. */
static bool
has_line(const char *p, size_t len, const char *line)
{
	size_t n = strlen(line);

	for (const char *q = p; (q = memmem(q, len - (size_t)(q - p), line, n)) != NULL; q++)
		if ((q == p || q[-1] == '\n') && q + n + 1 < p + len && q[n] == '\r')
			return true;
	return false;
}

static bool
contains(const char *p, size_t len, const char *needle)
{
	return memmem(p, len, needle, strlen(needle)) != NULL;
}

/* ---- replies ---------------------------------------------------------------- */

struct reply_case {
	const char	*name;
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	unsigned	 code;
	const char	*status;
	const char	*mta;
	const char	*text;		/* NULL: same as in */
};

static char long_reply[2000];

static const struct reply_case reply_cases[] = {
	{ "plain", "550 5.1.1 <bob@remote.test>: User unknown", 0, 550, "5.1.1", "", NULL },
	{ "host prefix", "mx.remote.test[192.0.2.1]: 550 5.7.1 rejected", 0, 550,
	  "5.7.1", "mx.remote.test", "550 5.7.1 rejected" },
	{ "host prefix v6", "MX.Remote.TEST[IPv6:2001:db8::1]: 554 no", 0, 554, "",
	  "mx.remote.test", "554 no" },
	{ "host without address", "mx1.remote.test: 421 4.3.2 busy", 0, 421, "4.3.2",
	  "mx1.remote.test", "421 4.3.2 busy" },
	{ "multi-line joined", "550-5.1.1 first\r\n550 5.1.1 second", 0, 550, "5.1.1",
	  "", "550-5.1.1 first 550 5.1.1 second" },
	{ "tempfail", "451 4.7.1 Try again later", 0, 451, "4.7.1", "", NULL },
	{ "code only", "550", 0, 550, "", "", NULL },
	{ "not a reply", "Host or domain name not found", 0, 0, "", "", NULL },
	{ "word before colon", "error: connection refused", 0, 0, "", "", NULL },
	{ "address only", "[192.0.2.1]: 550 x", 0, 0, "", "", NULL },
	{ "unclosed address", "mx.example[1.2.3.4 550 x", 0, 0, "", "", NULL },
	{ "prefix without space", "mx.example:550 x", 0, 0, "", "", NULL },
	{ "CRLF injection", "550 5.1.1 no\r\nBcc: victim@example.org\r\n\r\nbody", 0,
	  550, "5.1.1", "", "550 5.1.1 no Bcc: victim@example.org body" },
	{ "NUL, control, 8-bit", "550 caf\xc3\xa9\0x\x1b[31m\x7f", 17, 550, "", "",
	  "550 caf?? x [31m" },
	{ "leading space and tabs", "  \t550\t\t5.2.2   full  ", 0, 550, "5.2.2", "",
	  "550 5.2.2 full" },
	{ "bad class", "550 6.1.1 x", 0, 550, "", "", NULL },
	{ "long detail", "550 5.1.1234 x", 0, 550, "", "", NULL },
	{ "status without detail", "550 5.1 x", 0, 550, "", "", NULL },
	{ "code 600", "600 nope", 0, 0, "", "", NULL },
	{ "code 199", "199 nope", 0, 0, "", "", NULL },
	{ "two digits", "55 short", 0, 0, "", "", NULL },
	{ "code glued", "550x", 0, 0, "", "", NULL },
	{ "empty", "", 0, 0, "", "", "" },
	/* the relay's own diagnoses: a status, no code, no server */
	{ "null MX diagnosis", "5.1.10 nullmx.test does not accept mail (null MX, RFC 7505)",
	  0, 0, "5.1.10", "", "nullmx.test does not accept mail (null MX, RFC 7505)" },
	{ "refused diagnosis", "4.4.1 connect to mx.r.test[192.0.2.1]: Connection refused",
	  0, 0, "4.4.1", "", "connect to mx.r.test[192.0.2.1]: Connection refused" },
	{ "status only", "5.4.4", 0, 0, "5.4.4", "", "" },
	{ "host before a diagnosis names no server", "mx.r.test[192.0.2.1]: 4.4.2 timeout",
	  0, 0, "", "", NULL },
	{ "host before text names no server", "mx.r.test: connection refused", 0, 0, "",
	  "", NULL },
	{ "success status is no diagnosis", "2.0.0 fine", 0, 0, "", "", NULL },
	{ "status glued", "4.4.1x y", 0, 0, "", "", NULL },
	{ "host of 256 chars", NULL, 0, 0, "", "", NULL },	/* filled below */
};

static void
check_reply_case(const struct reply_case *c, const char *in, size_t len)
{
	struct dsn_reply r;

	dsn_parse_reply(in, len, &r);
	const char *want_text = c->text != NULL ? c->text : in;
	if (r.code != c->code || strcmp(r.status, c->status) != 0 ||
	    strcmp(r.remote_mta, c->mta) != 0 || strcmp(r.text, want_text) != 0)
		fail_msg("%s: got %u '%s' '%s' '%s', want %u '%s' '%s' '%s'", c->name,
		    r.code, r.status, r.remote_mta, r.text, c->code, c->status,
		    c->mta, want_text);
	for (const char *t = r.text; *t != '\0'; t++)
		if ((unsigned char)*t < 0x20 || (unsigned char)*t > 0x7e)
			fail_msg("%s: byte 0x%02x in text", c->name, (unsigned char)*t);
}

static void
test_parse_reply(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
		const struct reply_case *c = &reply_cases[i];
		if (c->in == NULL)
			continue;
		check_reply_case(c, c->in, c->len != 0 ? c->len : strlen(c->in));
	}
	/* Overlong: cut at DSN_DIAG_MAX, still one clean line. */
	struct dsn_reply r;
	memset(long_reply, 'x', sizeof(long_reply));
	memcpy(long_reply, "552 5.3.4 ", 10);
	dsn_parse_reply(long_reply, sizeof(long_reply), &r);
	assert_int_equal(strlen(r.text), DSN_DIAG_MAX);
	assert_int_equal(r.code, 552);
	assert_string_equal(r.status, "5.3.4");
	/* A host name over 255 octets is no host prefix. */
	char big[400];
	memset(big, 'a', 300);
	big[10] = '.';
	memcpy(big + 300, ": 550 x", 8);
	dsn_parse_reply(big, strlen(big), &r);
	assert_string_equal(r.remote_mta, "");
	assert_int_equal(r.code, 0);
	/* NULL reply is an empty one. */
	dsn_parse_reply(NULL, 5, &r);
	assert_string_equal(r.text, "");
}

struct status_case {
	const char	*reply;
	enum dsn_reason	 reason;
	const char	*want;
};

static const struct status_case status_cases[] = {
	{ "550 5.1.1 unknown", DSN_PERMANENT, "5.1.1" },
	{ "mx.r.test: 554 5.7.1 spam", DSN_PERMANENT, "5.7.1" },
	{ "550 no code", DSN_PERMANENT, "5.0.0" },
	{ "452 4.2.2 full", DSN_PERMANENT, "5.2.2" },	/* relay decided: permanent */
	{ "250 2.0.0 ok?", DSN_PERMANENT, "5.0.0" },
	{ "unknown user", DSN_PERMANENT, "5.1.1" },	/* delivery's reasons */
	{ "blocked subaddress", DSN_PERMANENT, "5.1.1" },
	{ "not a local domain", DSN_PERMANENT, "5.1.2" },
	{ "no mailbox", DSN_PERMANENT, "5.2.0" },
	{ "Unknown User", DSN_PERMANENT, "5.1.1" },
	{ "", DSN_PERMANENT, "5.0.0" },
	{ "451 4.7.1 greylisted", DSN_EXPIRED, "4.4.7" },
	{ "", DSN_EXPIRED, "4.4.7" },
	/* diagnoses: RFC 7505 null MX, RFC 3463 X.4.x network and routing */
	{ "5.1.10 x.test does not accept mail", DSN_PERMANENT, "5.1.10" },
	{ "5.4.4 x.test has no MX and no address record", DSN_PERMANENT, "5.4.4" },
	{ "4.4.1 connect to mx[192.0.2.1]: Connection refused", DSN_EXPIRED, "4.4.1" },
	{ "4.4.2 timeout with mx during greeting", DSN_EXPIRED, "4.4.2" },
	{ "451 4.4.1 a server said so", DSN_EXPIRED, "4.4.7" },
	{ "4.7.5 TLS handshake failed", DSN_EXPIRED, "4.4.7" },
	{ "relay process went away", DSN_EXPIRED, "4.4.7" },
};

static void
test_status_for(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(status_cases) / sizeof(status_cases[0]); i++) {
		const struct status_case *c = &status_cases[i];
		struct dsn_reply r;
		char got[DSN_STATUS_MAX];

		dsn_parse_reply(c->reply, strlen(c->reply), &r);
		dsn_status_for(&r, c->reason, got);
		if (strcmp(got, c->want) != 0)
			fail_msg("'%s' (%d): got %s, want %s", c->reply, c->reason, got,
			    c->want);
	}
}

/* ---- the original header block ----------------------------------------------- */

struct auto_case {
	const char	*headers;
	bool		 want;
};

static const struct auto_case auto_cases[] = {
	{ "Subject: hi\r\n\r\n", false },
	{ "Auto-Submitted: auto-replied\r\n\r\n", true },
	{ "Auto-Submitted: auto-generated\r\n\r\n", true },
	{ "auto-submitted:   No (a person wrote this)\r\n\r\n", false },
	{ "Auto-Submitted: no\r\n\r\n", false },
	{ "Auto-Submitted: nobody\r\n\r\n", true },
	{ "Auto-Submitted:\r\n\r\n", false },
	{ "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	  " boundary=x\r\n\r\n", true },
	{ "Content-Type: Multipart/Report;\r\n\treport-type = \"Delivery-Status\"\r\n\r\n",
	  true },
	{ "Content-Type: multipart/report; report-type=disposition-notification\r\n\r\n",
	  false },
	{ "Content-Type: multipart/mixed; report-type=delivery-status\r\n\r\n", false },
	{ "Content-Type: text/plain\r\n\r\nAuto-Submitted: auto-replied\r\n", false },
	{ "X: y\n\nAuto-Submitted: yes\n", false },	/* after LF LF: body */
	{ "X-Auto-Submitted: auto-replied\r\n\r\n", false },
	{ " Auto-Submitted: auto-replied\r\n\r\n", false },	/* continuation */
};

static void
test_automatic(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(auto_cases) / sizeof(auto_cases[0]); i++) {
		const struct auto_case *c = &auto_cases[i];
		bool got = dsn_headers_are_automatic((const uint8_t *)c->headers,
		    strlen(c->headers));
		if (got != c->want)
			fail_msg("%s: got %d, want %d", c->headers, got, c->want);
	}
}

/* ---- whole DSNs -------------------------------------------------------------- */

static const struct dsn_rcpt two_rcpts[] = {
	{ "bob@remote.test", DSN_PERMANENT,
	  "mx.remote.test[192.0.2.1]: 550 5.1.1 <bob@remote.test>: User unknown", true },
	{ "carl@other.test", DSN_EXPIRED, "451 4.7.1 greylisted", true },
};

static struct dsn_input
sample_input(const char *headers)
{
	struct dsn_input in = {
		.hostname = "mx.example.test",
		.orig_id = "0123456789abcdef",
		.orig_sender = "kim@example.test",
		.arrival = 1700000000,
		.now = 1700003600,
		.lifetime = 2 * 86400,
		.token = "deadbeef01234567",
		.headers = (const uint8_t *)headers,
		.headers_len = strlen(headers),
		.rcpts = two_rcpts,
		.nrcpt = 2,
	};
	return in;
}

static void
build_ok(const struct dsn_input *in, struct textbuf *b)
{
	memset(b, 0, sizeof(*b));
	assert_int_equal(dsn_build(in, b), 0);
	const char *why = dsn_check(b->p, b->len);
	if (why != NULL)
		fail_msg("not well-formed: %s\n%.*s", why, (int)b->len, b->p);
}

static void
test_build_fields(void **state)
{
	struct dsn_input in = sample_input("Received: from x\r\nSubject: Hello\r\n"
	    "Message-ID: <1@example.test>\r\n\r\nbody\r\n");
	struct textbuf b;
	const char *want_lines[] = {
		"From: \"Mail Delivery System\" <MAILER-DAEMON@mx.example.test>",
		"To: <kim@example.test>",
		"Subject: Undelivered Mail Returned to Sender: Hello",
		"Date: Tue, 14 Nov 2023 23:13:20 +0000",
		"Message-ID: <dsn.deadbeef01234567.0123456789abcdef@mx.example.test>",
		"Auto-Submitted: auto-replied",
		"MIME-Version: 1.0",
		"Content-Type: multipart/report; report-type=delivery-status;",
		"\tboundary=\"=_hmx_deadbeef01234567\"",
		"Content-Type: text/plain; charset=utf-8",
		"Content-Type: message/delivery-status",
		"Content-Type: text/rfc822-headers",
		"Content-Transfer-Encoding: 7bit",
		"Reporting-MTA: dns; mx.example.test",
		"Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000",
		"Final-Recipient: rfc822; bob@remote.test",
		"Action: failed",
		"Status: 5.1.1",
		"Remote-MTA: dns; mx.remote.test",
		"Diagnostic-Code: smtp; 550 5.1.1 <bob@remote.test>: User unknown",
		"Final-Recipient: rfc822; carl@other.test",
		"Status: 4.4.7",
		"Diagnostic-Code: smtp; 451 4.7.1 greylisted",
		"Subject: Hello",			/* returned headers */
		"Message-ID: <1@example.test>",
		"--=_hmx_deadbeef01234567--",
	};

	(void)state;
	build_ok(&in, &b);
	for (size_t i = 0; i < sizeof(want_lines) / sizeof(want_lines[0]); i++)
		if (!has_line(b.p, b.len, want_lines[i]))
			fail_msg("line missing: %s\n%.*s", want_lines[i], (int)b.len, b.p);
	/* The body of the original never comes back, only its headers. */
	assert_false(contains(b.p, b.len, "\r\nbody\r\n"));
	/* The human part names both recipients and the remote server. */
	assert_true(contains(b.p, b.len, "<bob@remote.test>\r\n"));
	assert_true(contains(b.p, b.len, "mx.remote.test refused it permanently"));
	assert_true(contains(b.p, b.len, "tried for 2 days"));
	textbuf_free(&b);
}

struct subject_case {
	const char	*name;
	const char	*headers;
	const char	*want;		/* the exact Subject field, CRLF-ended */
};

static const struct subject_case subject_cases[] = {
	{ "none", "From: a@b.test\r\n\r\n",
	  "Subject: Undelivered Mail Returned to Sender\r\n" },
	{ "raw UTF-8", "Subject: Gr\xc3\xbc\xc3\x9f" "e\r\n\r\n",
	  "Subject: =?utf-8?B?VW5kZWxpdmVyZWQgTWFpbCBSZXR1cm5lZCB0byBTZW5kZXI6?=\r\n"
	  " =?utf-8?B?IEdyw7zDn2U=?=\r\n" },
	{ "RFC 2047 Q and B, adjacent words joined",
	  "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= \r\n =?UTF-8?B?IFdlbHQ=?=\r\n\r\n",
	  "Subject: =?utf-8?B?VW5kZWxpdmVyZWQgTWFpbCBSZXR1cm5lZCB0byBTZW5kZXI6?=\r\n"
	  " =?utf-8?B?IEdyw7zDn2UgV2VsdA==?=\r\n" },
	{ "latin1 word", "Subject: =?iso-8859-1?q?Gr=FC=DFe?=\r\n\r\n",
	  "Subject: =?utf-8?B?VW5kZWxpdmVyZWQgTWFpbCBSZXR1cm5lZCB0byBTZW5kZXI6?=\r\n"
	  " =?utf-8?B?IEdyw7zDn2U=?=\r\n" },
	{ "unknown charset kept as text", "Subject: =?koi8-r?b?8NLJ18XU?=\r\n\r\n",
	  "Subject: Undelivered Mail Returned to Sender: =?koi8-r?b?8NLJ18XU?=\r\n" },
	{ "broken encoded-word kept", "Subject: =?utf-8?q?=ZZ?= x\r\n\r\n",
	  "Subject: Undelivered Mail Returned to Sender: =?utf-8?q?=ZZ?= x\r\n" },
	{ "CRLF injection via encoded-word", "Subject: =?utf-8?q?a=0D=0ABcc:_x@y?=\r\n\r\n",
	  "Subject: Undelivered Mail Returned to Sender: a Bcc: x@y\r\n" },
	{ "invalid UTF-8 and controls", "Subject: a\xff\xfe" "b\x01\tc\r\n\r\n",
	  "Subject: Undelivered Mail Returned to Sender: a??b c\r\n" },
	{ "long ASCII folds", "Subject: aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj "
	  "kkkk\r\n\r\n",
	  "Subject: Undelivered Mail Returned to Sender: aaaa bbbb cccc dddd eeee ffff\r\n"
	  " gggg hhhh iiii jjjj kkkk\r\n" },
};

/* The Subject field of a built DSN, with its continuation lines. */
static void
subject_field(const struct textbuf *b, char *out, size_t outsize)
{
	const char *s = memmem(b->p, b->len, "\r\nSubject:", 10);
	assert_non_null(s);
	s += 2;
	const char *e = s;
	do {
		e = memmem(e, b->len - (size_t)(e - b->p), "\r\n", 2);
		assert_non_null(e);
		e += 2;
	} while (*e == ' ' || *e == '\t');
	assert_true((size_t)(e - s) < outsize);
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
}

static void
test_subject(void **state)
{
	char got[2048];

	(void)state;
	for (size_t i = 0; i < sizeof(subject_cases) / sizeof(subject_cases[0]); i++) {
		const struct subject_case *c = &subject_cases[i];
		struct dsn_input in = sample_input(c->headers);
		struct textbuf b;
		build_ok(&in, &b);
		subject_field(&b, got, sizeof(got));
		if (strcmp(got, c->want) != 0)
			fail_msg("%s: got\n%s\nwant\n%s", c->name, got, c->want);
		textbuf_free(&b);
	}
}

/* A long non-ASCII subject: words of at most 75 chars, lines of at most 76. */
static void
test_subject_encoded_words_bounded(void **state)
{
	char headers[1200], got[4096];
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(headers, sizeof(headers), "Subject: ");
	for (int i = 0; i < 150; i++) {		/* 600 bytes: cut at DSN_SUBJECT_MAX */
		memcpy(headers + n, "\xe2\x82\xac", 3);	/* EURO SIGN */
		headers[n + 3] = 'x';
		n += 4;
	}
	memcpy(headers + n, "\r\n\r\n", 5);
	struct dsn_input in = sample_input(headers);
	struct textbuf b;
	build_ok(&in, &b);
	subject_field(&b, got, sizeof(got));
	for (char *line = got, *next; *line != '\0'; line = next + 2) {
		next = strstr(line, "\r\n");
		assert_non_null(next);
		if (next - line > 76)
			fail_msg("subject line of %d chars: %.*s", (int)(next - line),
			    (int)(next - line), line);
		const char *w = strstr(line, "=?utf-8?B?");
		assert_non_null(w);
		if (next - w > MIME_EW_MAX)
			fail_msg("encoded-word of %d chars", (int)(next - w));
	}
	textbuf_free(&b);
}

struct hostile_case {
	const char	*name;
	const char	*reply;
	const char	*rcpt;
	const char	*headers;
	const char	*forbidden;	/* must not appear at a line start */
};

static const struct hostile_case hostile_cases[] = {
	{ "header injection in reply", "550 no\r\nBcc: victim@example.org",
	  "bob@remote.test", "Subject: x\r\n\r\n", "Bcc:" },
	{ "boundary in reply", "550 \r\n--=_hmx_deadbeef01234567--\r\n",
	  "bob@remote.test", "Subject: x\r\n\r\n", "--=_hmx_deadbeef01234567--" },
	{ "boundary in headers", "550 x", "bob@remote.test",
	  "X: y\r\n--=_hmx_deadbeef01234567--\r\n\r\n", "--=_hmx_deadbeef01234567--" },
	{ "8-bit headers", "550 x", "bob@remote.test",
	  "Subject: caf\xc3\xa9\r\nX-Bin: \x01\x02\xff\r\n\r\n", NULL },
	{ "bare LF and CR in headers", "550 x", "bob@remote.test",
	  "A: 1\nB: 2\rC: 3\r\n\r\n", NULL },
	{ "empty headers", "550 x", "bob@remote.test", "", NULL },
	{ "no reply", NULL, "bob@remote.test", "Subject: x\r\n\r\n", NULL },
	{ "quoted local part", "550 x", "\"john doe\"@remote.test",
	  "Subject: x\r\n\r\n", NULL },
};

static bool
at_line_start(const struct textbuf *b, const char *s)
{
	size_t n = strlen(s);

	for (const char *q = b->p; (q = memmem(q, b->len - (size_t)(q - b->p), s, n)) != NULL;
	    q++)
		if (q != b->p && q[-1] == '\n')
			return true;
	return false;
}

static void
test_hostile(void **state)
{
	static char longline[3000];

	(void)state;
	for (size_t i = 0; i < sizeof(hostile_cases) / sizeof(hostile_cases[0]); i++) {
		const struct hostile_case *c = &hostile_cases[i];
		struct dsn_rcpt r = { c->rcpt, DSN_PERMANENT, c->reply, true };
		struct dsn_input in = sample_input(c->headers);
		struct textbuf b;
		in.rcpts = &r;
		in.nrcpt = 1;
		build_ok(&in, &b);
		/* The last boundary is ours, once, at the very end. */
		size_t tail = strlen("--=_hmx_deadbeef01234567--\r\n");
		if (c->forbidden != NULL) {
			struct textbuf head = { b.p, b.len - tail, 0, false };
			if (at_line_start(&head, c->forbidden))
				fail_msg("%s: '%s' at a line start\n%.*s", c->name,
				    c->forbidden, (int)b.len, b.p);
		}
		textbuf_free(&b);
	}
	/* A header line of 3000 octets comes back quoted-printable. */
	memset(longline, 'a', sizeof(longline) - 1);
	memcpy(longline, "X: ", 3);
	char headers[3100];
	snprintf(headers, sizeof(headers), "%s\r\n\r\n", longline);
	struct dsn_input in = sample_input(headers);
	struct textbuf b;
	build_ok(&in, &b);
	assert_true(contains(b.p, b.len, "Content-Transfer-Encoding: quoted-printable\r\n\r\nX: aaa"));
	textbuf_free(&b);
}

/* 200 recipients with 512-octet replies and 32 KB of headers still fit. */
static void
test_largest(void **state)
{
	static struct dsn_rcpt rcpts[200];
	static char addrs[200][80], reply[DSN_DIAG_MAX + 1];
	static char headers[MIME_HEADERS_MAX + 1];

	(void)state;
	memset(reply, 'r', DSN_DIAG_MAX);
	memcpy(reply, "550 5.1.1 ", 10);
	for (int i = 0; i < 200; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "user%d@remote%d.test", i, i);
		rcpts[i] = (struct dsn_rcpt){ addrs[i], DSN_PERMANENT, reply, true };
	}
	for (size_t i = 0; i + 100 <= MIME_HEADERS_MAX; i += 100) {
		memset(headers + i, '\xc3', 98);	/* 8-bit: quoted-printable, x3 */
		memcpy(headers + i, "X: ", 3);
		headers[i + 98] = '\r';
		headers[i + 99] = '\n';
	}
	struct dsn_input in = sample_input(headers);
	in.rcpts = rcpts;
	in.nrcpt = 200;
	struct textbuf b;
	build_ok(&in, &b);
	assert_true(b.len < TEXTBUF_MAX);
	textbuf_free(&b);
}

/* The block of fields of recipient rcpt in a built DSN, up to the next
 * blank line, unfolded (RFC 5322 2.2.3: a CRLF before WSP goes). */
static void
rcpt_block(const struct textbuf *b, const char *rcpt, char *out, size_t size)
{
	char key[300];
	size_t o = 0;

	snprintf(key, sizeof(key), "\r\nFinal-Recipient: rfc822; %s\r\n", rcpt);
	const char *s = memmem(b->p, b->len, key, strlen(key));
	assert_non_null(s);
	const char *e = memmem(s + 2, b->len - (size_t)(s + 2 - b->p), "\r\n\r\n", 4);
	assert_non_null(e);
	for (const char *p = s + 2; p < e + 2 && o + 1 < size; p++) {
		if (p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t')) {
			p++;
			continue;
		}
		out[o++] = *p;
	}
	out[o] = '\0';
}

/* No server answered: no Remote-MTA, no "smtp;" diagnostic, a Status
 * that says why, and a human text that does not blame a server. */
static void
test_uncontacted_destinations(void **state)
{
	static const struct dsn_rcpt rcpts[] = {
		{ "a@nullmx.test", DSN_PERMANENT,
		  "5.1.10 nullmx.test does not accept mail (null MX, RFC 7505)", true },
		{ "b@down.test", DSN_EXPIRED,
		  "4.4.1 connect to mx.down.test[192.0.2.9]: Connection refused", true },
		{ "c@noroute.test", DSN_PERMANENT,
		  "5.4.4 noroute.test has no MX and no address record", true },
	};
	static const struct {
		const char	*rcpt;
		const char	*want;
	} want[] = {
		{ "a@nullmx.test", "Final-Recipient: rfc822; a@nullmx.test\r\nAction: failed\r\n"
		  "Status: 5.1.10\r\nDiagnostic-Code: X-Homemx; nullmx.test does not accept "
		  "mail (null MX, RFC 7505)\r\n" },
		{ "b@down.test", "Final-Recipient: rfc822; b@down.test\r\nAction: failed\r\n"
		  "Status: 4.4.1\r\nDiagnostic-Code: X-Homemx; connect to "
		  "mx.down.test[192.0.2.9]: Connection refused\r\n" },
		{ "c@noroute.test", "Final-Recipient: rfc822; c@noroute.test\r\nAction: failed\r\n"
		  "Status: 5.4.4\r\nDiagnostic-Code: X-Homemx; noroute.test has no MX and no "
		  "address record\r\n" },
	};
	struct dsn_input in = sample_input("Subject: x\r\n\r\n");
	struct textbuf b;
	char block[1024];

	(void)state;
	in.rcpts = rcpts;
	in.nrcpt = 3;
	build_ok(&in, &b);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		rcpt_block(&b, want[i].rcpt, block, sizeof(block));
		/* then Last-Attempt-Date, nothing else */
		if (strncmp(block, want[i].want, strlen(want[i].want)) != 0 ||
		    strncmp(block + strlen(want[i].want), "Last-Attempt-Date: ", 19) != 0) {
			textbuf_free(&b);
			fail_msg("%s: got\n%s\nwant\n%s", want[i].rcpt, block, want[i].want);
		}
	}
	assert_false(contains(b.p, b.len, "Remote-MTA"));
	assert_false(contains(b.p, b.len, "smtp;"));
	assert_false(contains(b.p, b.len, "receiving mail server"));
	assert_true(contains(b.p, b.len, "The mail system could not deliver it"));
	textbuf_free(&b);
}

/* ---- the RFC 6533 form ---------------------------------------------------------- */

#define JUERGEN		"j\xc3\xbcrgen@example.test"
#define BJOERN		"bj\xc3\xb8rn+tag=x y@remote.test"	/* '+', '=' and SP */
#define BJOERN_UNITEXT	"bj\xc3\xb8rn\\x{2B}tag\\x{3D}x\\x{20}y@remote.test"

static const struct dsn_rcpt global_rcpts[] = {
	{ BJOERN, DSN_PERMANENT, "5.6.7 SMTPUTF8 is required, but was not offered by "
	  "mx.remote.test", true },
	{ "bob@remote.test", DSN_PERMANENT, "mx.remote.test[192.0.2.1]: 550 5.1.1 no", true },
};

static void
build_global_ok(const struct dsn_input *in, struct textbuf *b)
{
	memset(b, 0, sizeof(*b));
	assert_true(dsn_is_global(in));
	assert_int_equal(dsn_build(in, b), 0);
	const char *why = dsn_check_as(b->p, b->len, true);
	if (why != NULL)
		fail_msg("not well-formed: %s\n%.*s", why, (int)b->len, b->p);
}

/* A UTF-8 sender and recipient: the report and the returned headers take
 * their global types, the UTF-8 goes raw as 8bit, an ASCII recipient keeps
 * the rfc822 type (RFC 6533 3, 6.2, 6.3; RFC 6532 3.2 for the To field). */
static void
test_global_form(void **state)
{
	struct dsn_input in = sample_input("From: J\xc3\xbcrgen <" JUERGEN ">\r\n"
	    "Subject: Gr\xc3\xbc\xc3\x9f" "e\r\n\r\nbody\r\n");
	struct textbuf b;
	const char *want_lines[] = {
		"To: <" JUERGEN ">",
		"Subject: =?utf-8?B?VW5kZWxpdmVyZWQgTWFpbCBSZXR1cm5lZCB0byBTZW5kZXI6?=",
		"Content-Type: multipart/report; report-type=delivery-status;",
		"Content-Transfer-Encoding: 8bit",
		"Content-Type: text/plain; charset=utf-8",
		"Content-Type: message/global-delivery-status",
		"Final-Recipient: utf-8; " BJOERN_UNITEXT,
		"Status: 5.6.7",
		"Diagnostic-Code: X-Homemx; SMTPUTF8 is required, but was not offered by",
		"Final-Recipient: rfc822; bob@remote.test",
		"Content-Type: message/global-headers",
		"From: J\xc3\xbcrgen <" JUERGEN ">",
		"Subject: Gr\xc3\xbc\xc3\x9f" "e",
	};

	(void)state;
	in.orig_sender = JUERGEN;
	in.smtputf8 = true;
	in.rcpts = global_rcpts;
	in.nrcpt = 2;
	build_global_ok(&in, &b);
	for (size_t i = 0; i < sizeof(want_lines) / sizeof(want_lines[0]); i++)
		if (!has_line(b.p, b.len, want_lines[i]))
			fail_msg("line missing: %s\n%.*s", want_lines[i], (int)b.len, b.p);
	assert_false(contains(b.p, b.len, "message/delivery-status"));
	assert_false(contains(b.p, b.len, "text/rfc822-headers"));
	assert_false(contains(b.p, b.len, "quoted-printable\r\n\r\nFrom:"));
	assert_false(contains(b.p, b.len, "\r\nbody\r\n"));
	textbuf_free(&b);
}

/* Flagged SMTPUTF8 but all ASCII: the global types, and still 7-bit. */
static void
test_global_form_ascii(void **state)
{
	struct dsn_input in = sample_input("Subject: Hello\r\n\r\n");
	struct textbuf b;

	(void)state;
	in.smtputf8 = true;
	build_global_ok(&in, &b);
	assert_null(dsn_check(b.p, b.len));
	assert_true(has_line(b.p, b.len, "Content-Type: message/global-delivery-status"));
	assert_true(has_line(b.p, b.len, "Content-Type: message/global-headers"));
	assert_true(has_line(b.p, b.len, "Final-Recipient: rfc822; bob@remote.test"));
	assert_true(has_line(b.p, b.len, "Content-Transfer-Encoding: 7bit"));
	assert_false(contains(b.p, b.len, "8bit"));
	textbuf_free(&b);
	/* Without the flag and UTF-8: the RFC 3464 form. */
	in.smtputf8 = false;
	assert_false(dsn_is_global(&in));
	/* A UTF-8 address alone makes it global, flag or not. */
	in.orig_sender = JUERGEN;
	assert_true(dsn_is_global(&in));
}

struct global_headers_case {
	const char	*name;
	const char	*headers;
	const char	*want_cte;	/* of the returned headers */
};

/* Returned headers go raw only as clean UTF-8; anything else is quoted-
 * printable, so no control, bad byte or boundary reaches the DSN raw. */
static const struct global_headers_case global_headers_cases[] = {
	{ "clean UTF-8", "Subject: caf\xc3\xa9\r\n\r\n", "8bit" },
	{ "ASCII", "Subject: cafe\r\n\r\n", "7bit" },
	{ "invalid UTF-8", "Subject: caf\xe9\r\n\r\n", "quoted-printable" },
	{ "overlong encoding", "Subject: \xc0\xaf\r\n\r\n", "quoted-printable" },
	{ "C1 control", "Subject: a\xc2\x85" "b\r\n\r\n", "quoted-printable" },
	{ "C0 control", "Subject: \xc3\xa9\x1b[0m\r\n\r\n", "quoted-printable" },
	{ "boundary-like line", "Subject: \xc3\xa9\r\n--=_hmx_deadbeef01234567--\r\n\r\n",
	  "quoted-printable" },
};

static void
test_global_headers(void **state)
{
	char want[128];

	(void)state;
	for (size_t i = 0; i < sizeof(global_headers_cases) /
	    sizeof(global_headers_cases[0]); i++) {
		const struct global_headers_case *c = &global_headers_cases[i];
		struct dsn_input in = sample_input(c->headers);
		struct textbuf b;
		in.smtputf8 = true;
		build_global_ok(&in, &b);
		snprintf(want, sizeof(want), "Content-Type: message/global-headers\r\n"
		    "Content-Transfer-Encoding: %s\r\n", c->want_cte);
		if (!contains(b.p, b.len, want))
			fail_msg("%s: want %s\n%.*s", c->name, c->want_cte, (int)b.len, b.p);
		if (at_line_start(&(struct textbuf){ b.p, b.len - 30, 0, false },
		    "--=_hmx_deadbeef01234567--"))
			fail_msg("%s: boundary inside", c->name);
		textbuf_free(&b);
	}
}

/* An address that is not clean UTF-8 never reaches a DSN, in any form. */
static void
test_global_refused_addresses(void **state)
{
	static char many_plus[300];
	const char *bad[] = {
		"j\xfcrgen@example.test",		/* Latin-1 */
		"j\xc3@example.test",			/* cut sequence */
		"a\xc2\x85" "b@example.test",		/* C1 NEL */
		"\xc3\xbc\r\nBcc: x@y",		/* CRLF */
		"\xc3\xbc\x7f@example.test",		/* DEL */
		"\xed\xa0\x80@example.test",		/* a surrogate */
		many_plus,				/* unitext over one line */
	};
	struct textbuf b = { 0 };

	(void)state;
	memcpy(many_plus, "\xc3\xbc", 2);
	memset(many_plus + 2, '+', 200);
	memcpy(many_plus + 202, "@example.test", 14);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dsn_rcpt r = { bad[i], DSN_PERMANENT, "550 x", true };
		struct dsn_input in = sample_input("");
		in.smtputf8 = true;
		in.rcpts = &r;
		in.nrcpt = 1;
		if (dsn_build(&in, &b) != -1)
			fail_msg("rcpt %zu accepted", i);
		in = sample_input("");
		in.smtputf8 = true;
		in.orig_sender = bad[i];
		if (dsn_build(&in, &b) != -1)
			fail_msg("sender %zu accepted", i);
	}
	assert_null(b.p);
}

/* A DSN is never built for the null sender: RFC 5321 4.5.5, RFC 3464 2. */
static void
test_refused_inputs(void **state)
{
	struct dsn_rcpt bad_rcpt = { "bob\r\n@remote.test", DSN_PERMANENT, "550", true };
	struct dsn_rcpt bad_reason = { "bob@remote.test", (enum dsn_reason)9, "550", true };
	struct textbuf b = { 0 };

	(void)state;
	struct dsn_input in = sample_input("");
	in.nrcpt = 0;
	assert_int_equal(dsn_build(&in, &b), -1);
	in = sample_input("");
	in.token = "DEADBEEF";		/* uppercase: not our token */
	assert_int_equal(dsn_build(&in, &b), -1);
	in.token = "";
	assert_int_equal(dsn_build(&in, &b), -1);
	in = sample_input("");
	in.orig_sender = "";
	assert_int_equal(dsn_build(&in, &b), -1);
	in.orig_sender = "kim@example.test\r\nBcc: x@y";
	assert_int_equal(dsn_build(&in, &b), -1);
	in = sample_input("");
	in.hostname = "mx example";
	assert_int_equal(dsn_build(&in, &b), -1);
	in = sample_input("");
	in.rcpts = &bad_rcpt;
	in.nrcpt = 1;
	assert_int_equal(dsn_build(&in, &b), -1);
	in.rcpts = &bad_reason;
	assert_int_equal(dsn_build(&in, &b), -1);
	assert_null(b.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_reply),
		cmocka_unit_test(test_status_for),
		cmocka_unit_test(test_automatic),
		cmocka_unit_test(test_build_fields),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_subject_encoded_words_bounded),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_largest),
		cmocka_unit_test(test_uncontacted_destinations),
		cmocka_unit_test(test_refused_inputs),
		cmocka_unit_test(test_global_form),
		cmocka_unit_test(test_global_form_ascii),
		cmocka_unit_test(test_global_headers),
		cmocka_unit_test(test_global_refused_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
