/*
 * relay/reply.c - SMTP reply and EHLO keyword parsing (see reply.h).
 *
 * Owns: the one place where bytes from a remote server become a reply
 * code, an enhanced status code and a printable text. Every line is
 * checked before anything uses it; the text kept for logs and DSNs is
 * bounded (REPLY_TEXT_MAX) and holds only printable ASCII, so a hostile
 * server can not put control bytes into our logs or into a bounce.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "reply.h"

#define TRUNCATION_MARK	"..."

void
smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
}

const char *
smtp_reply_parse_text(enum reply_parse p)
{
	switch (p) {
	case REPLY_PARSE_MORE:		return "more";
	case REPLY_PARSE_DONE:		return "done";
	case REPLY_PARSE_SYNTAX:	return "reply syntax error";
	case REPLY_PARSE_MISMATCH:	return "reply code changed between lines";
	case REPLY_PARSE_TOO_LONG:	return "reply line too long";
	case REPLY_PARSE_TOO_MANY:	return "too many reply lines";
	}
	return "unknown";
}

static bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static void
copy_printable(char *dst, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
}

/* Appends len bytes to r->text as printable ASCII; once the text is full
 * it ends in "..." and nothing more is added. */
static void
text_append(struct smtp_reply *r, const uint8_t *p, size_t len)
{
	const size_t cap = sizeof(r->text) - 1;
	const size_t mark = sizeof(TRUNCATION_MARK) - 1;
	size_t used = strlen(r->text);

	if (r->truncated)
		return;
	if (used + len <= cap) {
		copy_printable(r->text + used, p, len);
		r->text[used + len] = '\0';
		return;
	}
	size_t keep = used < cap - mark ? cap - mark - used : 0;
	copy_printable(r->text + used, p, keep);
	size_t pos = used + keep > cap - mark ? cap - mark : used + keep;
	memcpy(r->text + pos, TRUNCATION_MARK, mark);
	r->text[pos + mark] = '\0';
	r->truncated = true;
}

/*
 * RFC 3463 2: class "." subject "." detail, subject and detail 1-3 digits,
 * class 2, 4 or 5 and (RFC 2034) equal to the first digit of the code.
 * Returns the length of the code if p starts with one followed by SP or
 * the end, else 0.
 */
static size_t
esc_length(const uint8_t *p, size_t len, int code)
{
	size_t i = 0;

	if (len < 5 || p[0] != (uint8_t)('0' + code / 100) || p[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t start = i;
		while (i < len && is_digit(p[i]) && i - start < 4)
			i++;
		if (i == start || i - start > 3)
			return 0;
		if (part == 0) {
			if (i >= len || p[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < len && p[i] != ' ')
		return 0;
	return i;
}

/* Appends a line's text; the enhanced code is kept from the first line
 * only, and dropped where a continuation line repeats it. */
static void
take_text(struct smtp_reply *r, const uint8_t *p, size_t len)
{
	size_t el = esc_length(p, len, r->code);

	if (r->nlines == 0) {
		if (el > 0 && el < sizeof(r->esc)) {
			memcpy(r->esc, p, el);
			r->esc[el] = '\0';
		}
	} else if (el > 0 && el == strlen(r->esc) && memcmp(p, r->esc, el) == 0) {
		p += el;
		len -= el;
		while (len > 0 && *p == ' ') {
			p++;
			len--;
		}
	}
	if (len == 0)
		return;
	text_append(r, (const uint8_t *)" ", 1);
	text_append(r, p, len);
}

enum reply_parse
smtp_reply_feed(struct smtp_reply *r, const uint8_t *line, size_t len)
{
	int code;
	bool last;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > REPLY_LINE_MAX)
		return REPLY_PARSE_TOO_LONG;
	if (r->nlines >= REPLY_LINES_MAX)
		return REPLY_PARSE_TOO_MANY;
	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '5' || !is_digit(line[2]))
		return REPLY_PARSE_SYNTAX;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return REPLY_PARSE_SYNTAX;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	last = len == 3 || line[3] == ' ';
	if (r->nlines > 0 && code != r->code)
		return REPLY_PARSE_MISMATCH;
	if (r->nlines == 0) {
		r->code = code;
		text_append(r, line, 3);
	}
	if (len > 4)
		take_text(r, line + 4, len - 4);
	r->nlines++;
	if (last)
		r->complete = true;
	return last ? REPLY_PARSE_DONE : REPLY_PARSE_MORE;
}

bool
smtp_reply_is_positive(const struct smtp_reply *r)
{
	return r->code >= 200 && r->code < 300;
}

bool
smtp_reply_is_temporary(const struct smtp_reply *r)
{
	return r->code >= 400 && r->code < 500;
}

bool
smtp_reply_is_permanent(const struct smtp_reply *r)
{
	return r->code >= 500 && r->code < 600;
}

bool
smtp_reply_is_policy_reject(const struct smtp_reply *r)
{
	return smtp_reply_is_permanent(r) && strncmp(r->esc, "5.7.", 4) == 0;
}

void
smtp_reply_set(struct smtp_reply *r, int code, const char *esc,
    const char *fmt, ...)
{
	char msg[REPLY_TEXT_MAX + 1];
	char line[REPLY_TEXT_MAX + 32];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = snprintf(line, sizeof(line), "%03d %s%s%s", code,
	    esc != NULL ? esc : "", esc != NULL ? " " : "", msg);
	smtp_reply_init(r);
	r->local = true;
	if (n < 0)
		return;
	(void)smtp_reply_feed(r, (const uint8_t *)line,
	    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

const char *
smtp_reply_text_without_code(const char *text)
{
	if (is_digit((uint8_t)text[0]) && is_digit((uint8_t)text[1]) &&
	    is_digit((uint8_t)text[2]) && text[3] == ' ')
		return text + 4;
	return text;
}

const char *
smtp_reply_diagnosis(const struct smtp_reply *r)
{
	return r->local ? smtp_reply_text_without_code(r->text) : r->text;
}

/* ---- EHLO keywords ------------------------------------------------------ */

/* Case-insensitive: does the word [p, p+len) equal kw? */
static bool
word_is(const uint8_t *p, size_t len, const char *kw)
{
	size_t kl = strlen(kw);

	if (len != kl)
		return false;
	for (size_t i = 0; i < kl; i++)
		if (toupper(p[i]) != kw[i])
			return false;
	return true;
}

/* RFC 1870: "SIZE" [SP number]; an absent or 0 number means no limit. */
static void
caps_size(struct ehlo_caps *c, const uint8_t *p, size_t len)
{
	uint64_t n = 0;

	c->size = true;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(p[i]) || n > (UINT64_MAX - 9) / 10) {
			n = 0;	/* junk or absurd: treat as no limit */
			break;
		}
		n = n * 10 + (uint64_t)(p[i] - '0');
	}
	c->size_max = n;
}

/* RFC 4954: "AUTH" 1*(SP mechanism) */
static void
caps_auth(struct ehlo_caps *c, const uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		while (i < len && p[i] == ' ')
			i++;
		size_t start = i;
		while (i < len && p[i] != ' ')
			i++;
		if (word_is(p + start, i - start, "PLAIN"))
			c->auth |= EHLO_AUTH_PLAIN;
		else if (word_is(p + start, i - start, "LOGIN"))
			c->auth |= EHLO_AUTH_LOGIN;
	}
}

void
ehlo_caps_feed(struct ehlo_caps *c, const uint8_t *line, size_t len, bool first)
{
	const uint8_t *p;
	size_t i = 0, kwlen;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (first || len < 4 || len > REPLY_LINE_MAX)
		return;
	p = line + 4;
	len -= 4;
	while (i < len && p[i] != ' ')
		i++;
	kwlen = i;
	while (i < len && p[i] == ' ')
		i++;
	if (word_is(p, kwlen, "STARTTLS"))
		c->starttls = true;
	else if (word_is(p, kwlen, "PIPELINING"))
		c->pipelining = true;
	else if (word_is(p, kwlen, "8BITMIME"))
		c->eightbitmime = true;
	else if (word_is(p, kwlen, "ENHANCEDSTATUSCODES"))
		c->enhancedstatuscodes = true;
	else if (word_is(p, kwlen, "SMTPUTF8"))
		c->smtputf8 = true;
	else if (word_is(p, kwlen, "SIZE"))
		caps_size(c, p + i, len - i);
	else if (word_is(p, kwlen, "AUTH"))
		caps_auth(c, p + i, len - i);
}
