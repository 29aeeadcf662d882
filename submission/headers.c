/*
 * submission/headers.c - the header section of a submitted message.
 *
 * Owns: the one rule for where the header section ends in homemx: at the
 * first empty line, or at the first line that is neither a field
 * ("name:" with RFC 5322 ftext, obsolete blanks before the colon allowed)
 * nor a folded continuation (leading blank). Why streaming with a one-line
 * hold-back: the message goes to a memfd as it arrives, and the fields we
 * add must land before the body without a second copy of the message.
 * The From: value is kept unfolded (bounded) and parsed at end of DATA;
 * only the angle address of a name-addr counts, because that is the
 * address a reply goes to and the one DMARC aligns on, whatever the
 * display name claims.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "headers.h"
#include "../smtpd/received.h"	/* rfc5322_date */

void
header_scan_init(struct header_scan *hs, header_emit_fn emit, header_end_fn end,
    void *arg)
{
	memset(hs, 0, sizeof(*hs));
	hs->emit = emit;
	hs->end = end;
	hs->arg = arg;
}

static void
emit_held_line(struct header_scan *hs)
{
	if (hs->linelen > 0)
		hs->emit(hs->arg, hs->line, hs->linelen);
	hs->linelen = 0;
}

static void
end_section(struct header_scan *hs, bool body_without_blank)
{
	hs->done = true;
	hs->in_from = false;
	hs->end(hs->arg, body_without_blank);
}

/* RFC 5322 3.6.8: ftext = %d33-57 / %d59-126 */
static bool
is_ftext(uint8_t c)
{
	return c >= 33 && c <= 126 && c != ':';
}

static bool
is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* Line length without its CRLF (or LF). */
static size_t
content_len(const uint8_t *l, size_t n)
{
	if (n > 0 && l[n - 1] == '\n')
		n--;
	if (n > 0 && l[n - 1] == '\r')
		n--;
	return n;
}

static void
from_append(struct header_scan *hs, const uint8_t *p, size_t n)
{
	if (hs->from_overflow || n > FROM_VALUE_MAX - hs->fromlen) {
		hs->from_overflow = true;
		return;
	}
	memcpy(hs->from + hs->fromlen, p, n);
	hs->fromlen += n;
	hs->from[hs->fromlen] = '\0';
}

static bool
name_is(const uint8_t *name, size_t len, const char *want)
{
	return len == strlen(want) && strncasecmp((const char *)name, want, len) == 0;
}

/* A "name:" line: tracks the fields RFC 6409 completion needs. */
static void
field_start(struct header_scan *hs, size_t namelen, size_t colon)
{
	const uint8_t *l = hs->line;
	size_t end = content_len(l, hs->linelen);

	hs->in_from = false;
	if (name_is(l, namelen, "Date"))
		hs->has_date = true;
	else if (name_is(l, namelen, "Message-ID"))
		hs->has_message_id = true;
	else if (name_is(l, namelen, "From")) {
		hs->in_from = ++hs->nfrom == 1;
		if (hs->in_from)
			from_append(hs, l + colon + 1, end - colon - 1);
	}
}

/* Length of "name" if the held line is "name *WSP :", else 0; *colon is
 * the index of the colon. */
static size_t
field_name_len(const uint8_t *l, size_t n, size_t *colon)
{
	size_t k = 0, i;

	while (k < n && is_ftext(l[k]))
		k++;
	for (i = k; i < n && is_wsp(l[i]); i++)
		;
	if (k == 0 || i >= n || l[i] != ':')
		return 0;
	*colon = i;
	return k;
}

/* A whole line (LF-terminated, or as long as the buffer) is held. */
static void
classify_line(struct header_scan *hs, bool complete)
{
	const uint8_t *l = hs->line;
	size_t n = hs->linelen, colon = 0, namelen;

	if (complete && content_len(l, n) == 0) {
		end_section(hs, false);		/* the empty line itself follows */
	} else if (complete && is_wsp(l[0])) {
		if (hs->in_from)
			from_append(hs, l, content_len(l, n));
	} else if (complete && (namelen = field_name_len(l, n, &colon)) > 0) {
		field_start(hs, namelen, colon);
	} else {
		end_section(hs, true);		/* a body line without the blank */
	}
	emit_held_line(hs);
}

void
header_scan_feed(struct header_scan *hs, const uint8_t *buf, size_t len)
{
	while (len > 0 && !hs->done) {
		const uint8_t *lf = memchr(buf, '\n', len);
		size_t want = lf != NULL ? (size_t)(lf - buf) + 1 : len;
		size_t room = sizeof(hs->line) - hs->linelen;
		size_t take = want < room ? want : room;

		memcpy(hs->line + hs->linelen, buf, take);
		hs->linelen += take;
		buf += take;
		len -= take;
		if (take == want && lf != NULL)
			classify_line(hs, true);
		else if (hs->linelen == sizeof(hs->line))
			classify_line(hs, false);	/* over-long: not a header */
	}
	if (len > 0)
		hs->emit(hs->arg, buf, len);
}

void
header_scan_finish(struct header_scan *hs)
{
	if (hs->done)
		return;
	if (hs->linelen > 0) {
		/* An unterminated last line: our fields go before it. */
		end_section(hs, true);
		emit_held_line(hs);
		return;
	}
	end_section(hs, false);
}

const char *
from_status_text(enum from_status s)
{
	switch (s) {
	case FROM_OK:		return "ok";
	case FROM_MISSING:	return "missing";
	case FROM_DUPLICATE:	return "duplicate";
	case FROM_SYNTAX:	return "syntax";
	case FROM_TOO_MANY:	return "too_many";
	case FROM_TOO_LONG:	return "too_long";
	}
	return "invalid";
}

/* ---- the From: mailbox-list ------------------------------------------- */

/* One mailbox being collected: the angle address, or the bare addr-spec. */
struct mailbox_acc {
	char	plain[ADDR_MAX + 1];
	size_t	plainlen;
	bool	plain_overflow;
	char	angle[ADDR_MAX + 1];
	size_t	anglelen;
	bool	angle_overflow;
	bool	in_angle;
	bool	had_angle;
};

static void
acc_put(char *buf, size_t size, size_t *len, bool *overflow, char c)
{
	if (*len >= size - 1) {
		*overflow = true;
		return;
	}
	buf[(*len)++] = c;
}

static void
acc_char(struct mailbox_acc *m, char c)
{
	if (m->in_angle)
		acc_put(m->angle, sizeof(m->angle), &m->anglelen, &m->angle_overflow, c);
	else
		acc_put(m->plain, sizeof(m->plain), &m->plainlen, &m->plain_overflow, c);
}

/* Trims blanks on both ends of buf[0..*len). Returns the start. */
static const char *
trim(const char *buf, size_t *len)
{
	while (*len > 0 && is_wsp((uint8_t)buf[*len - 1]))
		(*len)--;
	while (*len > 0 && is_wsp((uint8_t)*buf)) {
		buf++;
		(*len)--;
	}
	return buf;
}

/* Ends one mailbox: 1 if it gave an address, 0 if it was empty, -1 bad. */
static int
acc_finish(struct mailbox_acc *m, char *out, size_t outsize)
{
	struct mailaddr a;
	const char *s;
	size_t len;

	if (m->in_angle)
		return -1;
	if (m->had_angle) {
		if (m->angle_overflow)
			return -1;
		len = m->anglelen;
		s = trim(m->angle, &len);
	} else {
		len = m->plainlen;
		s = trim(m->plain, &len);
		if (len == 0)
			return 0;	/* obs-mbox-list allows empty elements */
		if (m->plain_overflow)
			return -1;
	}
	if (len == 0 || addr_parse_mailbox(s, len, &a) != ADDR_OK ||
	    addr_format(&a, out, outsize) == -1)
		return -1;
	return 1;
}

/* After '>' only blanks (comments are already dropped) and the comma
 * that ends the mailbox may follow. */
static bool
acc_accepts_after_angle(const struct mailbox_acc *m, char c)
{
	return !m->had_angle || m->in_angle || is_wsp((uint8_t)c) || c == ',';
}

enum from_status
header_parse_from(const char *v, size_t len, char addrs[][ADDR_MAX + 1],
    size_t max, size_t *n)
{
	struct mailbox_acc m;
	unsigned depth = 0;
	bool quote = false, esc = false;
	int r;

	*n = 0;
	memset(&m, 0, sizeof(m));
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? v[i] : ',';	/* a virtual comma ends the last */

		if (i < len && esc) {
			esc = false;
			if (depth == 0)
				acc_char(&m, c);
			continue;
		}
		if (i < len && (quote || depth > 0) && c == '\\') {
			esc = true;
			if (depth == 0)
				acc_char(&m, c);
			continue;
		}
		if (i < len && quote) {
			quote = c != '"';
			acc_char(&m, c);
			continue;
		}
		if (i < len && c == '(') {
			depth++;
			continue;
		}
		if (depth > 0) {
			if (i == len)
				return FROM_SYNTAX;	/* unclosed comment */
			if (c == ')')
				depth--;
			continue;
		}
		if (c == '\r' || c == '\n' || c == '\0')
			return FROM_SYNTAX;
		if (i < len && !acc_accepts_after_angle(&m, c))
			return FROM_SYNTAX;	/* "<a@b.test>junk" */
		if (c == '"') {
			quote = true;
			acc_char(&m, c);
		} else if (c == '<') {
			if (m.in_angle || m.had_angle)
				return FROM_SYNTAX;
			m.in_angle = true;
		} else if (c == '>') {
			if (!m.in_angle)
				return FROM_SYNTAX;
			m.in_angle = false;
			m.had_angle = true;
		} else if (c == ',' && !m.in_angle) {
			if (*n == max && (m.had_angle || m.plainlen > 0))
				return FROM_TOO_MANY;
			if ((r = acc_finish(&m, addrs[*n], sizeof(addrs[*n]))) < 0)
				return FROM_SYNTAX;
			*n += (size_t)r;
			memset(&m, 0, sizeof(m));
		} else
			acc_char(&m, c);
	}
	if (quote || esc || m.in_angle)
		return FROM_SYNTAX;
	return *n > 0 ? FROM_OK : FROM_SYNTAX;
}

enum from_status
header_scan_from(const struct header_scan *hs, char addrs[][ADDR_MAX + 1],
    size_t max, size_t *n)
{
	*n = 0;
	if (hs->nfrom == 0)
		return FROM_MISSING;
	if (hs->nfrom > 1)
		return FROM_DUPLICATE;
	if (hs->from_overflow)
		return FROM_TOO_LONG;
	return header_parse_from(hs->from, hs->fromlen, addrs, max, n);
}

size_t
header_render_missing(const struct header_scan *hs, const char *id_left,
    const char *hostname, time_t now, char *buf, size_t size)
{
	char date[RFC5322_DATE_MAX];
	size_t off = 0;
	int n;

	if (size == 0)
		return 0;
	buf[0] = '\0';
	if (!hs->has_message_id) {
		n = snprintf(buf, size, "Message-ID: <%s@%s>\r\n", id_left, hostname);
		if (n < 0 || (size_t)n >= size)
			return 0;
		off = (size_t)n;
	}
	if (!hs->has_date) {
		rfc5322_date(now, date, sizeof(date));
		n = snprintf(buf + off, size - off, "Date: %s\r\n", date);
		if (n < 0 || (size_t)n >= size - off)
			return 0;
		off += (size_t)n;
	}
	return off;
}

bool
header_fields_are_valid(const char *text, size_t len)
{
	size_t i = 0;
	bool first = true;

	if (len == 0)
		return false;
	while (i < len) {
		const char *lf = memchr(text + i, '\n', len - i);
		if (lf == NULL)
			return false;		/* unterminated */
		size_t end = (size_t)(lf - text);	/* index of LF */
		size_t linelen = end - i + 1;
		if (linelen < 3 || text[end - 1] != '\r' || linelen > HEADER_LINE_MAX)
			return false;		/* empty line, bare LF, too long */
		const uint8_t *l = (const uint8_t *)text + i;
		size_t colon;
		if (memchr(l, '\r', linelen - 2) != NULL || memchr(l, '\0', linelen) != NULL)
			return false;
		if (first ? field_name_len(l, linelen - 2, &colon) == 0 :
		    !is_wsp(l[0]) && field_name_len(l, linelen - 2, &colon) == 0)
			return false;
		first = false;
		i = end + 1;
	}
	return true;
}
