/*
 * sendmail/header.c - the header section of a message a local program
 * writes: what goes out of it, and who it is for (sendmail -t).
 *
 * Owns: the rewrite of the header section. Pure: lines in, bytes and
 * recipients out. Each field is held until it is complete (folded lines,
 * RFC 5322 2.2.3), then:
 *	Bcc:, Resent-Bcc:	never go out (with -t their addresses are
 *				recipients): a blind copy must stay blind
 *	To:, Cc:		with -t, their addresses are the recipients
 *	Reply-To:, To:, Cc:	an address without a domain gets "@host",
 *				as Postfix's append_at_myorigin does
 *	From:, Sender:		an address without a domain is the calling
 *				account and becomes its sender address (the
 *				VRFY answer): cron writes "From: root (Cron
 *				Daemon)" for every user's job, and the role
 *				would refuse root@host for anyone but root
 * and From: is added when the program wrote none (sm_render_from), with
 * -F as the display name, RFC 2047 encoded when it is not ASCII. Why
 * here and not in submission/local.c: the header section is what a
 * program wrote; the role checks the result (every From: address owned
 * by the caller) whatever this code did.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sendmail.h"

#define FIELD_MAX	(64 * 1024)	/* one field, folded lines included */

/* The field being read: raw lines (CRLF-joined) and the unfolded value. */
static struct {
	char	raw[FIELD_MAX];
	size_t	rawlen;
	char	value[FIELD_MAX];	/* after the colon, unfolded */
	size_t	valuelen;
	char	name[80];
	bool	active;
	bool	overflow;
} field;

static char	bad_field[80];

const char *
sm_header_bad_field(void)
{
	return bad_field;
}

void
sm_header_init(struct sm_header *h, char (*rcpt)[ADDR_MAX + 1])
{
	memset(h, 0, sizeof(*h));
	h->rcpt = rcpt;
	memset(&field, 0, sizeof(field));
	bad_field[0] = '\0';
}

bool
sm_header_line_is_field(const char *line, size_t len, bool have_field)
{
	if (len > 0 && (line[0] == ' ' || line[0] == '\t'))
		return have_field;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c == ':')
			return i > 0;
		if (c < 33 || c > 126)
			return false;	/* RFC 5322 3.6.8: ftext */
	}
	return false;
}

static bool
name_is(const char *name, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcasecmp(name, *list) == 0)
			return true;
	return false;
}

static const char *const blind_fields[] = { "bcc", "resent-bcc", NULL };
static const char *const rcpt_fields[] = { "to", "cc", "bcc", NULL };
static const char *const address_fields[] = { "from", "sender", "reply-to",
	"to", "cc", NULL };
static const char *const originator_fields[] = { "from", "sender", NULL };

static enum sm_header_status
out_put(struct sm_header *h, const char *p, size_t n)
{
	if (h->len + n > sizeof(h->buf))
		return SM_HEADER_TOO_LONG;
	memcpy(h->buf + h->len, p, n);
	h->len += n;
	return SM_HEADER_OK;
}

static enum sm_header_status
add_rcpts(struct sm_header *h, const struct sm_header_input *in,
    const struct sm_addr *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (h->nrcpt == SM_RCPTS_MAX)
			return SM_HEADER_TOO_MANY;
		if (sm_addr_complete(a[i].text, in->domain, h->rcpt[h->nrcpt],
		    ADDR_MAX + 1) != ADDR_OK)
			return SM_HEADER_BAD_ADDRESS;
		h->nrcpt++;
	}
	return SM_HEADER_OK;
}

/* Where the unqualified address a starts in the field's value, if it is
 * written there as one run of text (no comment inside it); else -1. */
static long
bare_login_start(const struct sm_addr *a, size_t from)
{
	size_t len = strlen(a->text);

	if (len == 0 || a->end < from + len ||
	    memcmp(field.value + a->end - len, a->text, len) != 0)
		return -1;
	return (long)(a->end - len);
}

/* The field with "@domain" after each unqualified address (with me in
 * place of it in From: and Sender:, when me is known), on one line;
 * false to keep it as written (nothing to do, or it would not fit). */
static bool
render_qualified(const struct sm_addr *a, size_t n, const struct sm_header_input *in,
    char *out, size_t size, size_t *outlen)
{
	size_t o = 0, from = 0;
	bool changed = false;
	bool originator = in->me != NULL && in->me[0] != '\0' &&
	    name_is(field.name, originator_fields);
	int w = snprintf(out, size, "%s:", field.name);

	if (w < 0 || (size_t)w >= size)
		return false;
	o = (size_t)w;
	for (size_t i = 0; i < n; i++) {
		if (a[i].qualified)
			continue;
		long start = originator ? bare_login_start(&a[i], from) : -1;
		size_t keep = start >= 0 ? (size_t)start - from : a[i].end - from;
		const char *add = start >= 0 ? in->me : in->domain;
		if (o + keep + 1 + strlen(add) >= size)
			return false;
		memcpy(out + o, field.value + from, keep);
		o += keep;
		if (start < 0)
			out[o++] = '@';
		memcpy(out + o, add, strlen(add));
		o += strlen(add);
		from = a[i].end;
		changed = true;
	}
	if (!changed || o + (field.valuelen - from) + 2 > SM_LINE_MAX + 2 ||
	    o + (field.valuelen - from) + 2 > size)
		return false;
	memcpy(out + o, field.value + from, field.valuelen - from);
	o += field.valuelen - from;
	memcpy(out + o, "\r\n", 2);
	*outlen = o + 2;
	return true;
}

static enum sm_header_status
field_done(struct sm_header *h, const struct sm_header_input *in)
{
	static struct sm_addr addrs[SM_RCPTS_MAX];
	static char line[SM_LINE_MAX + 3];
	bool blind = name_is(field.name, blind_fields);
	bool collect = in->collect_rcpts && name_is(field.name, rcpt_fields);
	size_t n = 0, linelen;
	enum sm_header_status st = SM_HEADER_OK;

	if (!field.active)
		return SM_HEADER_OK;
	field.active = false;
	if (field.overflow)
		return SM_HEADER_TOO_LONG;
	if (strcasecmp(field.name, "from") == 0)
		h->has_from = true;
	if (collect || name_is(field.name, address_fields)) {
		enum sm_list_status ls = sm_addrlist_parse(field.value, field.valuelen,
		    addrs, SM_RCPTS_MAX, &n);
		if (collect && ls != SM_LIST_OK)
			st = ls == SM_LIST_TOO_MANY ? SM_HEADER_TOO_MANY : SM_HEADER_BAD_ADDRESS;
		else if (collect)
			st = add_rcpts(h, in, addrs, n);
		if (ls != SM_LIST_OK)
			n = 0;
	}
	if (st != SM_HEADER_OK) {
		snprintf(bad_field, sizeof(bad_field), "%s", field.name);
		return st;
	}
	if (blind)
		return SM_HEADER_OK;
	if (n > 0 && render_qualified(addrs, n, in, line, sizeof(line), &linelen))
		return out_put(h, line, linelen);
	if ((st = out_put(h, field.raw, field.rawlen)) != SM_HEADER_OK)
		return st;
	return out_put(h, "\r\n", 2);
}

static void
field_append(const char *p, size_t n, char *buf, size_t *len)
{
	if (*len + n > FIELD_MAX) {
		field.overflow = true;
		return;
	}
	memcpy(buf + *len, p, n);
	*len += n;
}

enum sm_header_status
sm_header_add_line(struct sm_header *h, const struct sm_header_input *in,
    const char *line, size_t len)
{
	enum sm_header_status st;
	const char *colon;

	if (len > 0 && (line[0] == ' ' || line[0] == '\t') && field.active) {
		field_append("\r\n", 2, field.raw, &field.rawlen);
		field_append(line, len, field.raw, &field.rawlen);
		field_append(line, len, field.value, &field.valuelen);
		return SM_HEADER_OK;
	}
	if ((st = field_done(h, in)) != SM_HEADER_OK)
		return st;
	if ((colon = memchr(line, ':', len)) == NULL)
		return SM_HEADER_OK;	/* the caller only gives fields */
	memset(&field, 0, sizeof(field));
	field.active = true;
	snprintf(field.name, sizeof(field.name), "%.*s", (int)(colon - line), line);
	field_append(line, len, field.raw, &field.rawlen);
	field_append(colon + 1, len - (size_t)(colon + 1 - line), field.value,
	    &field.valuelen);
	return SM_HEADER_OK;
}

enum sm_header_status
sm_header_finish(struct sm_header *h, const struct sm_header_input *in)
{
	return field_done(h, in);
}

/* ---- From: for a message without one ------------------------------------- */

/* RFC 5322 3.2.3 atext, and the blank between words of a phrase. */
static bool
is_phrase_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == ' ' || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Length of the UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t want = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 :
	    (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;

	if (want == 0 || want > n || (want == 2 && p[0] < 0xc2) ||
	    (want == 4 && p[0] > 0xf4))
		return 0;
	for (size_t i = 1; i < want; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return want;
}

static size_t
base64(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	return o;
}

/* RFC 2047: encoded words of at most 45 octets of whole UTF-8
 * characters (60 base64 characters, 72 with "=?UTF-8?B?" "?="), folded
 * between words. Returns the length written, 0 if invalid or too long. */
static size_t
render_encoded(const unsigned char *s, size_t n, char *out, size_t size)
{
	size_t o = 0, i = 0;

	while (i < n) {
		size_t chunk = 0, l;
		while (i + chunk < n && (l = utf8_len(s + i + chunk, n - i - chunk)) > 0 &&
		    chunk + l <= 45)
			chunk += l;
		if (chunk == 0)
			return 0;	/* invalid UTF-8 */
		if (o + 3 + 12 + 60 >= size)
			return 0;
		if (o > 0) {
			memcpy(out + o, "\r\n ", 3);
			o += 3;
		}
		memcpy(out + o, "=?UTF-8?B?", 10);
		o += 10;
		o += base64(s + i, chunk, out + o);
		memcpy(out + o, "?=", 2);
		o += 2;
		i += chunk;
	}
	return o;
}

/* The display name: as it is, quoted, or encoded. 0 on a control byte. */
static size_t
render_phrase(const char *name, char *out, size_t size)
{
	size_t n = strlen(name), o = 0;
	bool ascii = true, plain = true;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f)
			return 0;	/* CR, LF, TAB...: header injection */
		if (c >= 0x80)
			ascii = false;
		else if (!is_phrase_char(c))
			plain = false;
	}
	if (!ascii)
		return render_encoded((const unsigned char *)name, n, out, size);
	if (plain)
		return (size_t)snprintf(out, size, "%s", name) < size ? n : 0;
	out[o++] = '"';
	for (size_t i = 0; i < n && o + 3 < size; i++) {
		if (name[i] == '"' || name[i] == '\\')
			out[o++] = '\\';
		out[o++] = name[i];
	}
	if (o + 2 >= size)
		return 0;
	out[o++] = '"';
	out[o] = '\0';
	return o;
}

size_t
sm_render_from(const char *fullname, const char *address, char *out, size_t size)
{
	char phrase[SM_FULLNAME_MAX * 4];
	size_t plen = 0;
	int n;

	if (fullname[0] != '\0' &&
	    (plen = render_phrase(fullname, phrase, sizeof(phrase))) == 0)
		return 0;
	if (plen > 0)
		n = snprintf(out, size, "From: %.*s <%s>\r\n", (int)plen, phrase, address);
	else
		n = snprintf(out, size, "From: %s\r\n", address);
	return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}
