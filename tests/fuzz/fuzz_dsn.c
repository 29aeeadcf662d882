// SOURCES: queue/dsn.c queue/mime.c lib/utf8.c
// LIBS: -lunistring
/*
 * tests/fuzz/fuzz_dsn.c - the DSN builder (queue/dsn.c) and the text
 * helpers under it (queue/mime.c) on hostile input:
 * remote SMTP replies (they come from any server on the Internet), the
 * original header block and Subject (from the submitting client), and the
 * addresses. The input is split at NUL bytes into: reply 1, reply 2,
 * recipient, sender, header block; flag bits in the first byte pick the
 * reason and remote flag of each recipient, the original's SMTPUTF8 flag
 * (64), and whether the addresses go in as raw bytes (128: UTF-8, broken
 * UTF-8, controls) or mapped to printable ASCII.
 *
 * Checks: no crash or UB; every parsed reply is one line of printable
 * ASCII within DSN_DIAG_MAX with a code of 0 or 200..599 and a well-formed
 * status, and names a remote MTA only if it has a reply code (the relay's
 * own diagnoses, "X.Y.Z text", never do); every DSN built is 7-bit (in
 * the RFC 6533 form: valid UTF-8 without C0 or C1 controls) with no NUL,
 * no bare CR or LF, no line
 * over 998 octets, header lines that are fields, and exactly one closing
 * boundary, at the very end; fields accepted by mime_fields_are_clean()
 * are clean CRLF header lines; an RFC 2047-decoded, cleaned Subject is
 * valid UTF-8 without controls, within DSN_SUBJECT_MAX.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistr.h>

#include "../../queue/dsn.h"
#include "../../queue/mime.h"

#define PARTS	5

static void
check_reply(const char *in, size_t len)
{
	struct dsn_reply r;
	char status[DSN_STATUS_MAX];

	dsn_parse_reply(in, len, &r);
	size_t n = strnlen(r.text, sizeof(r.text));
	if (n > DSN_DIAG_MAX || n == sizeof(r.text))
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)r.text[i] < 0x20 || (unsigned char)r.text[i] > 0x7e)
			abort();
	if (r.code != 0 && (r.code < 200 || r.code > 599))
		abort();
	for (const char *p = r.remote_mta; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.'))
			abort();
	/* A server is named only with what it answered (RFC 3464 2.3.5). */
	if (r.remote_mta[0] != '\0' && r.code == 0)
		abort();
	if (r.status[0] != '\0' && ((r.status[0] != '4' && r.status[0] != '5' &&
	    r.status[0] != '2') || r.status[1] != '.'))
		abort();
	dsn_status_for(&r, len > 0 && (in[0] & 1) ? DSN_EXPIRED : DSN_PERMANENT, status);
	if ((status[0] != '4' && status[0] != '5') || status[1] != '.' ||
	    strlen(status) < 5)
		abort();
}

/* Printable ASCII without space: an address-like string. */
static void
printable(const char *in, size_t len, char *out, size_t outsize)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < outsize; i++)
		out[o++] = (char)(0x21 + (unsigned char)in[i] % 0x5e);
	out[o] = '\0';
}

/* The global form's 8-bit: valid UTF-8, no C1 control (C2 80..C2 9F). */
static void
check_utf8(const char *p, size_t len)
{
	if (u8_check((const uint8_t *)p, len) != NULL)
		abort();
	for (size_t i = 0; i + 1 < len; i++)
		if ((unsigned char)p[i] == 0xc2 && (unsigned char)p[i + 1] <= 0x9f &&
		    (unsigned char)p[i + 1] >= 0x80)
			abort();
}

static void
check_dsn(const char *p, size_t len, const char *boundary, bool global)
{
	size_t line_start = 0;
	bool in_header = true;

	if (len < 2 || p[len - 2] != '\r' || p[len - 1] != '\n')
		abort();
	if (global)
		check_utf8(p, len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\0' || (c >= 0x80 && !global))
			abort();
		if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7f)
			abort();
		if (c == '\r' && (i + 1 == len || p[i + 1] != '\n'))
			abort();
		if (c == '\n' && (i == 0 || p[i - 1] != '\r'))
			abort();
		if (c != '\n')
			continue;
		size_t n = i - 1 - line_start;
		if (n > MIME_LINE_MAX)
			abort();
		if (in_header && n == 0)
			in_header = false;
		else if (in_header && p[line_start] != ' ' && p[line_start] != '\t' &&
		    memchr(p + line_start, ':', n) == NULL)
			abort();
		/* The closing boundary appears only as the last line. */
		if (n == strlen(boundary) && memcmp(p + line_start, boundary, n) == 0 &&
		    i + 1 != len)
			abort();
		line_start = i + 1;
	}
	if (in_header)
		abort();
}

/* Valid UTF-8 (RFC 3629) without C0 controls or DEL; 0 on failure. */
static int
utf8_ok(const unsigned char *p)
{
	while (*p != '\0') {
		size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
		    (*p & 0xf8) == 0xf0 ? 4 : 0;
		if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)))
			return 0;
		for (size_t i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		p += n;
	}
	return 1;
}

static void
check_subject(const char *h, size_t len)
{
	char raw[1024], clean[DSN_SUBJECT_MAX + 1];
	uint8_t decoded[2048];

	if (!mime_header_value((const uint8_t *)h, len, "Subject", raw, sizeof(raw)))
		return;
	if (strlen(raw) >= sizeof(raw))
		abort();
	size_t n = mime_decode_2047(raw, decoded, sizeof(decoded));
	if (n > sizeof(decoded))
		abort();
	mime_clean_utf8(decoded, n, clean, DSN_SUBJECT_MAX);
	if (strlen(clean) > DSN_SUBJECT_MAX || !utf8_ok((const unsigned char *)clean))
		abort();
}

static void
check_prepend(const char *h, size_t len)
{
	if (!mime_fields_are_clean(h, len))
		return;
	if (len < 2 || h[len - 2] != '\r' || h[len - 1] != '\n' || memchr(h, '\0', len))
		abort();
	for (size_t i = 0; i < len; i++)
		if (h[i] == '\n' && (i == 0 || h[i - 1] != '\r'))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *part[PARTS] = { "", "", "", "", "" };
	size_t plen[PARTS] = { 0 };
	char rcpt[300], sender[300], r1[DSN_DIAG_MAX + 1], r2[DSN_DIAG_MAX + 1];
	size_t n = 0;

	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	while (n < PARTS && p <= end) {
		const char *z = n + 1 < PARTS ? memchr(p, '\0', (size_t)(end - p)) : NULL;
		part[n] = p;
		plen[n] = z != NULL ? (size_t)(z - p) : (size_t)(end - p);
		n++;
		if (z == NULL)
			break;
		p = z + 1;
	}
	check_reply(part[0], plen[0]);
	check_reply(part[1], plen[1]);
	check_prepend(part[4], plen[4]);
	check_subject(part[4], plen[4]);
	(void)dsn_headers_are_automatic((const uint8_t *)part[4], plen[4]);

	/* Replies reach dsn_build as C strings (IPC strings have no NUL). */
	snprintf(r1, sizeof(r1), "%.*s", (int)plen[0], part[0]);
	snprintf(r2, sizeof(r2), "%.*s", (int)plen[1], part[1]);
	if (plen[2] > 0 && (flags & 128))
		snprintf(rcpt, sizeof(rcpt), "%.*s", (int)plen[2], part[2]);
	else if (plen[2] > 0)
		printable(part[2], plen[2], rcpt, sizeof(rcpt) - 40);
	else
		snprintf(rcpt, sizeof(rcpt), "bob@remote.test");
	if (plen[3] > 0 && (flags & 128))
		snprintf(sender, sizeof(sender), "%.*s", (int)plen[3], part[3]);
	else if (plen[3] > 0)
		printable(part[3], plen[3], sender, sizeof(sender) - 40);
	else
		snprintf(sender, sizeof(sender), "kim@example.test");
	struct dsn_rcpt rcpts[2] = {
		{ rcpt, (flags & 1) ? DSN_EXPIRED : DSN_PERMANENT, (flags & 4) ? NULL : r1,
		  (flags & 2) != 0 },
		{ "second@remote.test", (flags & 8) ? DSN_EXPIRED : DSN_PERMANENT, r2,
		  (flags & 16) != 0 },
	};
	struct dsn_input in = {
		.hostname = "mx.example.test",
		.orig_id = "0123456789abcdef",
		.orig_sender = sender,
		.smtputf8 = (flags & 64) != 0,
		.arrival = (uint64_t)flags * 1000003,
		.now = (uint64_t)flags * 1000003 + 86400,
		.lifetime = (uint32_t)flags * 3600,
		.token = "0f1e2d3c4b5a6978",
		.headers = (const uint8_t *)part[4],
		.headers_len = plen[4],
		.rcpts = rcpts,
		.nrcpt = (flags & 32) ? 2 : 1,
	};
	struct textbuf b = { 0 };
	if (dsn_build(&in, &b) == 0) {
		check_dsn(b.p, b.len, "--=_hmx_0f1e2d3c4b5a6978--", dsn_is_global(&in));
		textbuf_free(&b);
	} else if (b.p != NULL)
		abort();
	return 0;
}
