/*
 * screen/scan_spamd.c - SpamAssassin's spamd: the SPAMC/SPAMD protocol
 * (SpamAssassin's spamd/PROTOCOL), command SYMBOLS.
 *
 *	SYMBOLS SPAMC/1.5\r\n
 *	Content-length: <message bytes>\r\n
 *	\r\n
 *	<message>
 * answered by
 *	SPAMD/1.1 0 EX_OK\r\n
 *	Content-length: 9\r\n
 *	Spam: False ; 3.5 / 5.0\r\n
 *	\r\n
 *	HMX_CHEAP			(the rules that hit, comma-separated)
 *
 * Owns: that format. Why SYMBOLS rather than CHECK: the same score line,
 * plus the names of the rules for the log, at no cost. A code other than
 * 0 (EX_OK, sysexits.h) is spamd refusing the request (a tempfail); a
 * reply without a Spam header is garbage.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "scan_proto.h"

#define SPAMD_HEAD_MAX	8192	/* status line and headers of a reply */

size_t
scan_spamd_head(uint64_t body_len, char *buf, size_t size)
{
	char head[128];
	int n = snprintf(head, sizeof(head), "SYMBOLS SPAMC/1.5\r\n"
	    "Content-length: %llu\r\n\r\n", (unsigned long long)body_len);

	if (size > 0)
		memcpy(buf, head, (size_t)n < size ? (size_t)n : size);
	return (size_t)n;
}

/* Finds "\r\n\r\n" in the first max bytes; the offset after it, or 0. */
static size_t
head_end(const uint8_t *buf, size_t len, size_t max)
{
	size_t lim = len < max ? len : max;

	for (size_t i = 0; i + 4 <= lim; i++)
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
			return i + 4;
	return 0;
}

/* Skips blanks. */
static size_t
blanks(const uint8_t *p, size_t i, size_t len)
{
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i;
}

/* The length of w at the start of v (ASCII case-insensitive), or 0. */
static size_t
word(const uint8_t *v, size_t len, const char *w)
{
	size_t n = strlen(w);

	return len >= n && strncasecmp((const char *)v, w, n) == 0 ? n : 0;
}

/* "True ; 3.5 / 5.0" */
static int
spam_value(const uint8_t *v, size_t len, struct scan_result *r)
{
	size_t i, n;

	if ((i = word(v, len, "true")) > 0 || (i = word(v, len, "yes")) > 0)
		r->spam = true;
	else if ((i = word(v, len, "false")) > 0 || (i = word(v, len, "no")) > 0)
		r->spam = false;
	else
		return -1;
	i = blanks(v, i, len);
	if (i >= len || v[i] != ';')
		return -1;
	i = blanks(v, i + 1, len);
	if ((n = scan_parse_decimal(v + i, len - i, &r->score)) == 0)
		return -1;
	i = blanks(v, i + n, len);
	if (i >= len || v[i] != '/')
		return -1;
	i = blanks(v, i + 1, len);
	if ((n = scan_parse_decimal(v + i, len - i, &r->threshold)) == 0)
		return -1;
	return blanks(v, i + n, len) == len ? 0 : -1;
}

static enum scan_parse
bad(struct scan_result *r, const char *why)
{
	snprintf(r->why, sizeof(r->why), "bad reply: %s", why);
	return SCAN_PARSE_BAD;
}

/* The status line: 0 when EX_OK; 1 when spamd refused (r filled). */
static int
status_line(const uint8_t *buf, size_t len, struct scan_result *r)
{
	size_t i = 6, code = 0, digits = 0;

	if (len < 6 || memcmp(buf, "SPAMD/", 6) != 0)
		return -1;
	while (i < len && ((buf[i] >= '0' && buf[i] <= '9') || buf[i] == '.'))
		i++;
	if (i == 6 || i >= len || buf[i] != ' ')
		return -1;
	for (i++; i < len && buf[i] >= '0' && buf[i] <= '9' && digits < 4; i++, digits++)
		code = code * 10 + (size_t)(buf[i] - '0');
	if (digits == 0 || (i < len && buf[i] != ' '))
		return -1;
	if (code == 0)
		return 0;
	char text[64];
	scan_copy_text(text, sizeof(text), buf + i, len - i);
	r->status = SCAN_STATUS_TEMPFAIL;
	snprintf(r->why, sizeof(r->why), "spamd refused: code %zu%s", code, text);
	return 1;
}

static void
symbols_body(const uint8_t *p, size_t len, struct scan_result *r)
{
	size_t start = 0;

	r->symbols[0] = '\0';
	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] != ',' && p[i] != '\r' && p[i] != '\n')
			continue;
		scan_symbols_add(r->symbols, sizeof(r->symbols), p + start, i - start);
		start = i + 1;
	}
}

enum scan_parse
scan_spamd_parse(const uint8_t *buf, size_t len, bool eof, struct scan_result *r)
{
	size_t hend = head_end(buf, len, SPAMD_HEAD_MAX), i, line_end;
	bool have_spam = false, have_length = false;
	uint64_t body_len = 0;

	if (hend == 0) {
		/* spamd closes after the status line when it refuses */
		for (i = 0; i + 1 < len && i < SPAMD_HEAD_MAX; i++)
			if (buf[i] == '\r' && buf[i + 1] == '\n')
				break;
		if (i + 1 < len && i < SPAMD_HEAD_MAX) {
			switch (status_line(buf, i, r)) {
			case 1:
				return SCAN_PARSE_DONE;
			case -1:
				return bad(r, "no SPAMD status line");
			}
		}
		if (len >= SPAMD_HEAD_MAX)
			return bad(r, "header section too long");
		return eof ? bad(r, len == 0 ? "no answer" : "cut short") : SCAN_PARSE_MORE;
	}
	for (line_end = 0; memcmp(buf + line_end, "\r\n", 2) != 0; line_end++)
		;
	switch (status_line(buf, line_end, r)) {
	case 1:
		return SCAN_PARSE_DONE;
	case -1:
		return bad(r, "no SPAMD status line");
	}
	for (i = line_end + 2; i + 2 < hend; i = line_end + 2) {
		for (line_end = i; memcmp(buf + line_end, "\r\n", 2) != 0; line_end++)
			;
		const uint8_t *colon = memchr(buf + i, ':', line_end - i);
		if (colon == NULL)
			return bad(r, "header line without a colon");
		size_t nlen = (size_t)(colon - (buf + i));
		size_t v = blanks(buf, (size_t)(colon - buf) + 1, line_end);
		if (nlen == 4 && strncasecmp((const char *)buf + i, "Spam", 4) == 0) {
			if (have_spam || spam_value(buf + v, line_end - v, r) == -1)
				return bad(r, "Spam header is not 'True|False ; SCORE / THRESHOLD'");
			have_spam = true;
		} else if (nlen == 14 && strncasecmp((const char *)buf + i, "Content-length", 14) == 0) {
			double d;
			size_t n = scan_parse_decimal(buf + v, line_end - v, &d);
			if (have_length || n == 0 || n != line_end - v || d < 0 || d > SCAN_REPLY_MAX ||
			    memchr(buf + v, '.', n) != NULL)
				return bad(r, "bad Content-length");
			body_len = (uint64_t)d;
			have_length = true;
		}
	}
	if (!have_spam)
		return bad(r, "no Spam header");
	size_t have = len - hend;
	if (have_length ? have < body_len : !eof)
		return eof ? bad(r, "body cut short") : SCAN_PARSE_MORE;
	symbols_body(buf + hend, have_length ? (size_t)body_len : have, r);
	r->status = SCAN_STATUS_OK;
	r->why[0] = '\0';
	return SCAN_PARSE_DONE;
}
