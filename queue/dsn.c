/*
 * queue/dsn.c - the text of a delivery status notification (RFC 3464).
 *
 * Owns: the exact bytes of every DSN homemx sends: a multipart/report
 * (RFC 6522) with a human-readable text/plain; charset=utf-8 part, a
 * message/delivery-status part and the original headers as
 * text/rfc822-headers. It also owns the reading of the hostile inputs that
 * go into one: remote SMTP replies (RFC 5321 4.2, RFC 3463 codes) and the
 * original message's header block (Subject, Auto-Submitted, Content-Type).
 *
 * Why this way: a reply from a remote server, a subject and a header block
 * are all attacker-controlled, and a DSN goes out under our name and DKIM
 * key. So every piece is cleaned before it is placed: replies become one
 * line of printable ASCII (no CR/LF can reach a header), header fields are
 * folded below RFC 5322's 78/998 limits, non-ASCII in the Subject is
 * RFC 2047-encoded, and both text parts are quoted-printable whenever they
 * are not plain 7-bit, so the whole DSN is 7-bit ASCII with CRLF lines
 * and no line can ever equal the MIME boundary ("=_" never appears in
 * quoted-printable output; a returned header line starting with "--"
 * forces quoted-printable). Nothing here does I/O: the caller reads the
 * spool, supplies the clock and the random token.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dsn.h"

#define DSN_TIME_MAX		UINT64_C(253402300799)	/* 9999-12-31, 4-digit year */
#define DSN_WRAP		72	/* columns of the human-readable text */
#define DSN_FIELD_VALUE_MAX	1024	/* an unfolded header value we read */
#define DSN_SUBJECT_PREFIX	"Undelivered Mail Returned to Sender"

/* ---- output buffer ------------------------------------------------------- */

void
dsn_buf_free(struct dsn_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static void
buf_put(struct dsn_buf *b, const void *p, size_t n)
{
	if (b->overflow)
		return;
	if (n > DSN_TEXT_MAX - b->len) {
		b->overflow = true;
		return;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap == 0 ? 4096 : b->cap;
		while (cap < b->len + n)
			cap *= 2;
		if (cap > DSN_TEXT_MAX)
			cap = DSN_TEXT_MAX;
		char *q = realloc(b->p, cap);
		if (q == NULL) {
			b->overflow = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
buf_puts(struct dsn_buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void
buf_putc(struct dsn_buf *b, char c)
{
	buf_put(b, &c, 1);
}

/* Only for short, already validated arguments: longer output overflows. */
static void __attribute__((format(printf, 2, 3)))
buf_printf(struct dsn_buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->overflow = true;
		return;
	}
	buf_put(b, tmp, (size_t)n);
}

/* ---- small predicates ----------------------------------------------------- */

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* Printable ASCII without CR/LF/controls: safe inside a header line. */
static bool
is_printable_ascii(const char *s, size_t maxlen)
{
	size_t n = strnlen(s, maxlen + 1);

	if (n == 0 || n > maxlen)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static bool
is_token(const char *s)
{
	size_t n = strnlen(s, DSN_TOKEN_MAX + 1);

	if (n == 0 || n > DSN_TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

/* ---- hostile text to one clean line ------------------------------------- */

/*
 * CR, LF, TAB, NUL and other controls become a space, runs of spaces
 * collapse, 8-bit bytes become '?', no leading/trailing space; at most
 * outsize - 1 bytes.
 */
static void
sanitize_line(const char *in, size_t len, char *out, size_t outsize)
{
	size_t o = 0;
	bool after_space = true;

	for (size_t i = 0; i < len && o + 1 < outsize; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c < 0x20 || c == 0x7f)
			c = ' ';
		else if (c >= 0x80)
			c = '?';
		if (c == ' ' && after_space)
			continue;
		after_space = c == ' ';
		out[o++] = (char)c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

/* ---- replies ------------------------------------------------------------- */

/* "NNN" then end, SP or '-' (RFC 5321 4.2: Reply-code [ SP / "-" text ]). */
static bool
starts_with_code(const char *t)
{
	return t[0] >= '2' && t[0] <= '5' && is_digit(t[1]) && is_digit(t[2]) &&
	    (t[3] == '\0' || t[3] == ' ' || t[3] == '-');
}

/* 1*3DIGIT; returns the count or 0. */
static size_t
digits_1to3(const char *s)
{
	size_t n = 0;

	while (n < 4 && is_digit(s[n]))
		n++;
	return n >= 1 && n <= 3 ? n : 0;
}

/* RFC 3463: class "." subject "." detail, then end or SP; class 2/4/5. */
static bool
parse_status(const char *s, char out[DSN_STATUS_MAX])
{
	size_t a, b;

	if ((s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return false;
	if ((a = digits_1to3(s + 2)) == 0 || s[2 + a] != '.')
		return false;
	if ((b = digits_1to3(s + 3 + a)) == 0)
		return false;
	size_t len = 3 + a + b;
	if (s[len] != '\0' && s[len] != ' ')
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

static bool
is_host_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
	    c == '-' || c == '.';
}

static bool
is_addr_char(int c)
{
	return is_host_char(c) || c == ':';
}

/*
 * "HOST: " or "HOST[IP]: " at the start of t, HOST with at least one dot.
 * Copies HOST (lowercase) into mta and returns the prefix length, or 0.
 */
static size_t
host_prefix_len(const char *t, char mta[DSN_HOST_MAX + 1])
{
	size_t h = 0, p;
	bool dot = false;

	while (is_host_char(t[h]) && h <= DSN_HOST_MAX)
		dot |= t[h++] == '.';
	if (h == 0 || h > DSN_HOST_MAX || !dot || t[0] == '.' || t[0] == '-')
		return 0;
	p = h;
	if (t[p] == '[') {
		p++;
		while (is_addr_char(t[p]))
			p++;
		if (t[p] != ']' || p == h + 1)
			return 0;
		p++;
	}
	if (t[p] != ':' || t[p + 1] != ' ')
		return 0;
	for (size_t i = 0; i < h; i++)
		mta[i] = (char)(t[i] >= 'A' && t[i] <= 'Z' ? t[i] + 32 : t[i]);
	mta[h] = '\0';
	return p + 2;
}

void
dsn_parse_reply(const char *reply, size_t len, struct dsn_reply *out)
{
	char clean[DSN_DIAG_MAX + 1];
	const char *t = clean;

	memset(out, 0, sizeof(*out));
	sanitize_line(reply != NULL ? reply : "", reply != NULL ? len : 0,
	    clean, sizeof(clean));
	if (!starts_with_code(t))
		t += host_prefix_len(t, out->remote_mta);
	snprintf(out->text, sizeof(out->text), "%s", t);
	if (!starts_with_code(out->text))
		return;
	out->code = (unsigned)(out->text[0] - '0') * 100 +
	    (unsigned)(out->text[1] - '0') * 10 + (unsigned)(out->text[2] - '0');
	/* "550 5.1.1 text" or the first line of a joined multi-line reply,
	 * "550-5.1.1 text 550 5.1.1 more" (RFC 2034 3: every line has it). */
	if (out->text[3] != '\0' && !parse_status(out->text + 4, out->status))
		out->status[0] = '\0';
}

/* Local reasons (delivery/delivery.c) that have a better code than 5.0.0. */
static const struct {
	const char	*prefix;
	const char	*status;
} local_status[] = {
	{ "unknown user",	"5.1.1" },	/* bad destination mailbox */
	{ "blocked subaddress",	"5.1.1" },
	{ "not a local domain",	"5.1.2" },	/* bad destination system */
	{ "no mailbox",		"5.2.0" },
};

void
dsn_status_for(const struct dsn_reply *r, enum dsn_reason reason,
    char out[DSN_STATUS_MAX])
{
	if (reason == DSN_EXPIRED) {
		snprintf(out, DSN_STATUS_MAX, "4.4.7");	/* delivery time expired */
		return;
	}
	if (r->status[0] == '5' || r->status[0] == '4') {
		/* The failure is permanent whatever class the server gave. */
		snprintf(out, DSN_STATUS_MAX, "5%s", r->status + 1);
		return;
	}
	for (size_t i = 0; i < sizeof(local_status) / sizeof(local_status[0]); i++)
		if (r->code == 0 && strncasecmp(r->text, local_status[i].prefix,
		    strlen(local_status[i].prefix)) == 0) {
			snprintf(out, DSN_STATUS_MAX, "%s", local_status[i].status);
			return;
		}
	snprintf(out, DSN_STATUS_MAX, "5.0.0");
}

/* ---- dates --------------------------------------------------------------- */

void
dsn_format_date(uint64_t t, char *out, size_t outsize)
{
	static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)(t > DSN_TIME_MAX ? DSN_TIME_MAX : t);
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(out, outsize, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    wday[tm.tm_wday % 7], tm.tm_mday, mon[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- reading the original header block ----------------------------------- */

/* Length of the line at p (up to, not including, LF) and of the LF. */
static size_t
line_len(const uint8_t *p, size_t left, size_t *eol)
{
	const uint8_t *nl = memchr(p, '\n', left);

	*eol = nl != NULL ? 1 : 0;
	return nl != NULL ? (size_t)(nl - p) : left;
}

static bool
line_is_empty(const uint8_t *p, size_t n)
{
	return n == 0 || (n == 1 && p[0] == '\r');
}

size_t
dsn_header_block_len(const uint8_t *msg, size_t len)
{
	size_t pos = 0, last_whole = 0;

	while (pos < len) {
		size_t eol, n = line_len(msg + pos, len - pos, &eol);
		if (pos + n + eol > DSN_HEADERS_MAX)
			return last_whole > 0 ? last_whole :
			    (len < DSN_HEADERS_MAX ? len : DSN_HEADERS_MAX);
		bool empty = line_is_empty(msg + pos, n);
		pos += n + eol;
		last_whole = pos;
		if (empty)
			break;
	}
	return pos;
}

struct hfield {
	const uint8_t	*name;
	size_t		 namelen;
	const uint8_t	*value;		/* raw, with folds */
	size_t		 valuelen;
};

/* The next field at *pos; false at the empty line or the end. Lines that
 * are neither a field nor a continuation are skipped. */
static bool
next_field(const uint8_t *h, size_t len, size_t *pos, struct hfield *f)
{
	while (*pos < len) {
		size_t eol, n = line_len(h + *pos, len - *pos, &eol);
		const uint8_t *line = h + *pos;
		if (line_is_empty(line, n))
			return false;
		*pos += n + eol;
		const uint8_t *colon = memchr(line, ':', n);
		if (is_wsp(line[0]) || colon == NULL)
			continue;
		f->name = line;
		f->namelen = (size_t)(colon - line);
		while (f->namelen > 0 && is_wsp(f->name[f->namelen - 1]))
			f->namelen--;
		f->value = colon + 1;
		/* Continuation lines start with WSP (RFC 5322 2.2.3). */
		while (*pos < len && is_wsp(h[*pos]))
			*pos += line_len(h + *pos, len - *pos, &eol) + eol;
		f->valuelen = (size_t)(h + *pos - f->value);
		return true;
	}
	return false;
}

bool
dsn_header_value(const uint8_t *headers, size_t len, const char *name,
    char *out, size_t outsize)
{
	struct hfield f;
	size_t pos = 0, o = 0;

	if (outsize == 0)
		return false;
	out[0] = '\0';
	while (next_field(headers, len, &pos, &f)) {
		if (f.namelen != strlen(name) ||
		    strncasecmp((const char *)f.name, name, f.namelen) != 0)
			continue;
		/* Unfold: drop CR and LF; NUL becomes a space. */
		for (size_t i = 0; i < f.valuelen && o + 1 < outsize; i++) {
			uint8_t c = f.value[i];
			if (c == '\r' || c == '\n')
				continue;
			out[o++] = c == '\0' ? ' ' : (char)c;
		}
		while (o > 0 && is_wsp(out[o - 1]))
			o--;
		out[o] = '\0';
		size_t lead = strspn(out, " \t");
		memmove(out, out + lead, o - lead + 1);
		return true;
	}
	return false;
}

/* Finds needle in the lowercase copy hay; NULL if absent. */
static const char *
find_param(const char *hay, const char *needle)
{
	return strstr(hay, needle);
}

static bool
content_type_is_dsn(const char *value)
{
	char lower[DSN_FIELD_VALUE_MAX];
	size_t n = 0;

	for (; value[n] != '\0' && n + 1 < sizeof(lower); n++)
		lower[n] = (char)(value[n] >= 'A' && value[n] <= 'Z' ?
		    value[n] + 32 : value[n]);
	lower[n] = '\0';
	if (strncmp(lower, "multipart/report", 16) != 0)
		return false;
	const char *p = find_param(lower, "report-type");
	if (p == NULL)
		return false;
	p += strlen("report-type");
	p += strspn(p, " \t");
	if (*p++ != '=')
		return false;
	p += strspn(p, " \t\"");
	return strncmp(p, "delivery-status", 15) == 0;
}

bool
dsn_headers_are_automatic(const uint8_t *headers, size_t len)
{
	char v[DSN_FIELD_VALUE_MAX];

	if (dsn_header_value(headers, len, "Auto-Submitted", v, sizeof(v))) {
		size_t n = strcspn(v, " \t;(");
		if (n > 0 && !(n == 2 && strncasecmp(v, "no", 2) == 0))
			return true;
	}
	return dsn_header_value(headers, len, "Content-Type", v, sizeof(v)) &&
	    content_type_is_dsn(v);
}

/* ---- the original subject: RFC 2047 decode, UTF-8 clean ------------------- */

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (is_digit(c))
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static int
hex_value(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

struct ubuf {
	uint8_t	*p;
	size_t	 len;
	size_t	 size;
};

static void
ubuf_put(struct ubuf *u, uint8_t c)
{
	if (u->len < u->size)
		u->p[u->len++] = c;
}

/* A byte of the word's charset, as UTF-8. */
static void
ubuf_put_charset(struct ubuf *u, uint8_t c, bool latin1)
{
	if (latin1 && c >= 0x80) {
		ubuf_put(u, (uint8_t)(0xc0 | (c >> 6)));
		ubuf_put(u, (uint8_t)(0x80 | (c & 0x3f)));
	} else
		ubuf_put(u, c);
}

static bool
decode_b(const char *s, size_t n, struct ubuf *u, bool latin1)
{
	unsigned acc = 0, bits = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=')
			break;
		int v = b64_value((unsigned char)s[i]);
		if (v < 0)
			return false;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			ubuf_put_charset(u, (uint8_t)(acc >> bits), latin1);
			acc &= (1u << bits) - 1;
		}
	}
	return true;
}

static bool
decode_q(const char *s, size_t n, struct ubuf *u, bool latin1)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '_')
			ubuf_put(u, ' ');
		else if (s[i] == '=') {
			int hi, lo;
			if (i + 2 >= n)
				return false;
			if ((hi = hex_value((unsigned char)s[i + 1])) < 0 ||
			    (lo = hex_value((unsigned char)s[i + 2])) < 0)
				return false;
			ubuf_put_charset(u, (uint8_t)(hi << 4 | lo), latin1);
			i += 2;
		} else
			ubuf_put_charset(u, (uint8_t)s[i], latin1);
	}
	return true;
}

/*
 * One encoded-word "=?charset?B|Q?text?=" at s (RFC 2047 2, 4). Returns
 * its length and appends the decoded bytes, or 0 (nothing appended) if it
 * is not one or its charset is not utf-8, us-ascii or iso-8859-1.
 */
static size_t
decode_word(const char *s, size_t left, struct ubuf *u)
{
	if (left < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	const char *cs = s + 2, *q1 = memchr(cs, '?', left - 2);
	if (q1 == NULL || (size_t)(q1 - s) + 3 >= left || q1[2] != '?')
		return 0;
	const char *text = q1 + 3;
	size_t rest = left - (size_t)(text - s);
	const char *end = NULL;
	for (size_t i = 0; i + 1 < rest; i++)
		if (text[i] == '?' && text[i + 1] == '=') {
			end = text + i;
			break;
		}
	if (end == NULL || memchr(text, ' ', (size_t)(end - text)) != NULL)
		return 0;
	size_t cslen = (size_t)(q1 - cs);
	bool utf8 = (cslen == 5 && strncasecmp(cs, "utf-8", 5) == 0) ||
	    (cslen == 8 && strncasecmp(cs, "us-ascii", 8) == 0);
	bool latin1 = (cslen == 10 && strncasecmp(cs, "iso-8859-1", 10) == 0) ||
	    (cslen == 6 && strncasecmp(cs, "latin1", 6) == 0);
	if (!utf8 && !latin1)
		return 0;
	size_t mark = u->len;
	bool ok = (q1[1] == 'B' || q1[1] == 'b') ?
	    decode_b(text, (size_t)(end - text), u, latin1) :
	    (q1[1] == 'Q' || q1[1] == 'q') ?
	    decode_q(text, (size_t)(end - text), u, latin1) : false;
	if (!ok) {
		u->len = mark;
		return 0;
	}
	return (size_t)(end + 2 - s);
}

/* Decodes the encoded-words of a header value; white space between two
 * adjacent encoded-words is dropped (RFC 2047 6.2). */
static size_t
decode_2047(const char *in, uint8_t *out, size_t outsize)
{
	struct ubuf u = { out, 0, outsize };
	size_t len = strlen(in), i = 0, after_word_out = 0, after_word_in = 0;
	bool have_word = false;

	while (i < len) {
		size_t mark = u.len, n = decode_word(in + i, len - i, &u);
		if (n == 0) {
			ubuf_put(&u, (uint8_t)in[i++]);
			continue;
		}
		if (have_word && strspn(in + after_word_in, " \t") ==
		    i - after_word_in) {
			/* Only white space since the last word: drop it. */
			memmove(u.p + after_word_out, u.p + mark, u.len - mark);
			u.len = after_word_out + (u.len - mark);
		}
		i += n;
		have_word = true;
		after_word_in = i;
		after_word_out = u.len;
	}
	return u.len;
}

/* Length of a valid UTF-8 sequence at p (RFC 3629), or 0. */
static size_t
utf8_seq_len(const uint8_t *p, size_t left)
{
	uint32_t cp;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;	/* overlong, out of range, surrogate, C1 control */
	return n;
}

/*
 * Valid UTF-8 without controls: invalid bytes become '?', controls a
 * space, runs of spaces collapse, no leading/trailing space, cut on a
 * character boundary at max bytes. out has max + 1 bytes.
 */
static void
clean_utf8(const uint8_t *in, size_t len, char *out, size_t max)
{
	size_t o = 0;
	bool after_space = true;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len(in + i, len - i);
		uint8_t c = in[i];
		if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7f))) {
			c = n == 0 ? '?' : ' ';
			n = 1;
		} else if (n > 1) {
			if (o + n > max)
				break;
			memcpy(out + o, in + i, n);
			o += n;
			i += n;
			after_space = false;
			continue;
		}
		i++;
		if (c == ' ' && after_space)
			continue;
		if (o + 1 > max)
			break;
		after_space = c == ' ';
		out[o++] = (char)c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

/* The original Subject, decoded and cleaned; "" if none. */
static void
original_subject(const struct dsn_input *in, char out[DSN_SUBJECT_MAX + 1])
{
	char raw[DSN_FIELD_VALUE_MAX];
	uint8_t decoded[DSN_FIELD_VALUE_MAX * 2];

	out[0] = '\0';
	if (!dsn_header_value(in->headers, in->headers_len, "Subject", raw,
	    sizeof(raw)))
		return;
	size_t n = decode_2047(raw, decoded, sizeof(decoded));
	clean_utf8(decoded, n, out, DSN_SUBJECT_MAX);
}

/* ---- writing header fields ------------------------------------------------ */

static bool
is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/*
 * "Name: value" folded at spaces before DSN_LINE_SOFT columns (RFC 5322
 * 2.2.3); a word too long for DSN_LINE_MAX is split. value is one line of
 * printable ASCII.
 */
static void
put_folded(struct dsn_buf *b, const char *name, const char *value)
{
	size_t col = strlen(name) + 1, words = 0;
	const char *p = value;

	buf_puts(b, name);
	buf_putc(b, ':');
	while (*p != '\0') {
		size_t wl = strcspn(p, " ");
		if (words > 0 && col + 1 + wl > DSN_LINE_SOFT) {
			buf_puts(b, "\r\n");
			col = 0;
		}
		buf_putc(b, ' ');
		col++;
		words++;
		while (wl > 0) {
			if (col >= DSN_LINE_MAX) {
				buf_puts(b, "\r\n ");
				col = 1;
			}
			size_t n = wl < DSN_LINE_MAX - col ? wl : DSN_LINE_MAX - col;
			buf_put(b, p, n);
			col += n;
			p += n;
			wl -= n;
		}
		p += strspn(p, " ");
	}
	buf_puts(b, "\r\n");
}

static void
put_base64(struct dsn_buf *b, const uint8_t *s, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		buf_putc(b, tab[(v >> 18) & 63]);
		buf_putc(b, tab[(v >> 12) & 63]);
		buf_putc(b, i + 1 < n ? tab[(v >> 6) & 63] : '=');
		buf_putc(b, i + 2 < n ? tab[v & 63] : '=');
	}
}

/*
 * An unstructured field with non-ASCII: a run of B encoded-words (RFC 2047
 * 4.1), each holding whole UTF-8 characters (RFC 2047 5 (3)), one per
 * line, folded between words.
 */
static void
put_encoded(struct dsn_buf *b, const char *name, const char *utf8)
{
	const uint8_t *p = (const uint8_t *)utf8;
	size_t left = strlen(utf8);

	buf_puts(b, name);
	buf_putc(b, ':');
	while (left > 0) {
		size_t n = 0;
		while (n < left) {
			size_t k = utf8_seq_len(p + n, left - n);
			if (k == 0)
				k = 1;	/* cannot happen: utf8 is clean */
			if (n + k > DSN_EW_BYTES)
				break;
			n += k;
		}
		if (n == 0)
			n = 1;
		buf_puts(b, " =?utf-8?B?");
		put_base64(b, p, n);
		buf_puts(b, "?=");
		p += n;
		left -= n;
		if (left > 0)
			buf_puts(b, "\r\n");
	}
	buf_puts(b, "\r\n");
}

static void
put_subject(struct dsn_buf *b, const char *orig)
{
	char subject[sizeof(DSN_SUBJECT_PREFIX) + 2 + DSN_SUBJECT_MAX];

	snprintf(subject, sizeof(subject), "%s%s%s", DSN_SUBJECT_PREFIX,
	    orig[0] != '\0' ? ": " : "", orig);
	if (is_ascii(subject))
		put_folded(b, "Subject", subject);
	else
		put_encoded(b, "Subject", subject);
}

/* ---- quoted-printable ----------------------------------------------------- */

/*
 * Quoted-printable (RFC 2045 6.7) of text whose lines end in LF: CRLF
 * lines, soft breaks before 76 columns, '=', controls, 8-bit bytes and
 * white space at the end of a line encoded.
 */
static void
put_qp(struct dsn_buf *b, const uint8_t *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = s[i];
		char enc[3];
		size_t n = 1;
		if (c == '\n') {
			buf_puts(b, "\r\n");
			col = 0;
			continue;
		}
		bool at_eol = i + 1 == len || s[i + 1] == '\n';
		if ((c >= 33 && c <= 126 && c != '=') || (is_wsp(c) && !at_eol))
			enc[0] = (char)c;
		else {
			enc[0] = '=';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			n = 3;
		}
		if (col + n > DSN_QP_LINE - 1) {
			buf_puts(b, "=\r\n");
			col = 0;
		}
		buf_put(b, enc, n);
		col += n;
	}
}

/* ---- the human-readable part ---------------------------------------------- */

/* ASCII text wrapped at DSN_WRAP columns, each line after indent. */
static void
put_wrapped(struct dsn_buf *t, const char *indent, const char *s)
{
	size_t col = 0;

	while (*s != '\0') {
		size_t wl = strcspn(s, " ");
		if (col > 0 && col + 1 + wl > DSN_WRAP) {
			buf_putc(t, '\n');
			col = 0;
		}
		if (col == 0) {
			buf_puts(t, indent);
			col = strlen(indent);
		} else {
			buf_putc(t, ' ');
			col++;
		}
		buf_put(t, s, wl);
		col += wl;
		s += wl;
		s += strspn(s, " ");
	}
	if (col > 0)
		buf_putc(t, '\n');
}

static void
format_duration(uint32_t secs, char *out, size_t outsize)
{
	if (secs >= 86400 && secs % 86400 == 0)
		snprintf(out, outsize, "%u day%s", secs / 86400, secs == 86400 ? "" : "s");
	else if (secs >= 3600)
		snprintf(out, outsize, "%u hour%s", secs / 3600, secs < 7200 ? "" : "s");
	else
		snprintf(out, outsize, "%u minute%s", secs / 60, secs < 120 ? "" : "s");
}

static void
put_human_rcpt(struct dsn_buf *t, const struct dsn_input *in,
    const struct dsn_rcpt *r, const struct dsn_reply *rep)
{
	char line[DSN_HOST_MAX + 128], life[32];

	buf_printf(t, "<%s>\n", r->rcpt);
	if (r->reason == DSN_EXPIRED) {
		format_duration(in->lifetime, life, sizeof(life));
		snprintf(line, sizeof(line), "Delivery was tried for %s without "
		    "success, and the mail system gave up. The last error was:", life);
	} else if (r->remote && rep->remote_mta[0] != '\0')
		snprintf(line, sizeof(line), "The receiving mail server %s "
		    "refused it permanently. It answered:", rep->remote_mta);
	else if (r->remote)
		snprintf(line, sizeof(line), "The receiving mail server refused it "
		    "permanently. It answered:");
	else
		snprintf(line, sizeof(line), "The mail system could not deliver it. "
		    "It reported:");
	put_wrapped(t, "    ", line);
	put_wrapped(t, "        ", rep->text[0] != '\0' ? rep->text : "(no reply text)");
	buf_putc(t, '\n');
}

static void
build_human_text(struct dsn_buf *t, const struct dsn_input *in,
    const struct dsn_reply *reps, const char *subject)
{
	char date[40];

	dsn_format_date(in->arrival, date, sizeof(date));
	buf_printf(t, "This is the mail delivery system at %s.\n\n", in->hostname);
	if (in->nrcpt == 1)
		buf_puts(t, "Your message could not be delivered to one recipient.\n");
	else
		buf_printf(t, "Your message could not be delivered to %u "
		    "recipients.\n", in->nrcpt);
	buf_puts(t, "Nothing more will be tried for them. Please check the "
	    "address,\nor send the message again later.\n\n");
	buf_puts(t, "    Subject:  ");
	buf_puts(t, subject[0] != '\0' ? subject : "(none)");
	buf_printf(t, "\n    Sent:     %s\n    Queue ID: %s\n\n", date, in->orig_id);
	for (unsigned i = 0; i < in->nrcpt; i++)
		put_human_rcpt(t, in, &in->rcpts[i], &reps[i]);
	buf_puts(t, "The headers of your message are attached below.\n");
}

/* ---- the machine-readable part (RFC 3464 2.2, 2.3) ------------------------- */

static void
put_rcpt_fields(struct dsn_buf *b, const struct dsn_input *in,
    const struct dsn_rcpt *r, const struct dsn_reply *rep)
{
	char status[DSN_STATUS_MAX], date[40];
	char diag[DSN_DIAG_MAX + 32];

	dsn_status_for(rep, r->reason, status);
	dsn_format_date(in->now, date, sizeof(date));
	buf_puts(b, "\r\n");
	buf_printf(b, "Final-Recipient: rfc822; %s\r\n", r->rcpt);
	buf_puts(b, "Action: failed\r\n");
	buf_printf(b, "Status: %s\r\n", status);
	if (rep->remote_mta[0] != '\0')
		buf_printf(b, "Remote-MTA: dns; %s\r\n", rep->remote_mta);
	if (rep->text[0] != '\0') {
		/* diagnostic-type "smtp" only for a real reply (RFC 3464 2.3.6). */
		snprintf(diag, sizeof(diag), "%s; %s", rep->code != 0 ? "smtp" :
		    "X-Homemx", rep->text);
		put_folded(b, "Diagnostic-Code", diag);
	}
	buf_printf(b, "Last-Attempt-Date: %s\r\n", date);
}

static void
build_status_part(struct dsn_buf *b, const struct dsn_input *in,
    const struct dsn_reply *reps)
{
	char date[40];

	dsn_format_date(in->arrival, date, sizeof(date));
	buf_puts(b, "Content-Description: Delivery report\r\n");
	buf_puts(b, "Content-Type: message/delivery-status\r\n\r\n");
	buf_printf(b, "Reporting-MTA: dns; %s\r\n", in->hostname);
	buf_printf(b, "X-Homemx-Queue-ID: %s\r\n", in->orig_id);
	buf_printf(b, "Arrival-Date: %s\r\n", date);
	for (unsigned i = 0; i < in->nrcpt; i++)
		put_rcpt_fields(b, in, &in->rcpts[i], &reps[i]);
}

/* ---- the returned headers (RFC 6522 text/rfc822-headers) ------------------- */

/* The header block as LF lines: CR before LF dropped, empty line gone. */
static size_t
normalize_headers(const uint8_t *h, size_t len, uint8_t *out, bool *plain)
{
	size_t pos = 0, o = 0;

	*plain = true;
	while (pos < len) {
		size_t eol, n = line_len(h + pos, len - pos, &eol);
		const uint8_t *line = h + pos;
		pos += n + eol;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0)
			break;		/* the end of the header block */
		if (n > DSN_LINE_MAX || (n >= 2 && line[0] == '-' && line[1] == '-'))
			*plain = false;
		for (size_t i = 0; i < n; i++) {
			if ((line[i] < 0x20 && line[i] != '\t') || line[i] >= 0x7f)
				*plain = false;
			out[o++] = line[i];
		}
		out[o++] = '\n';
	}
	return o;
}

static void
build_headers_part(struct dsn_buf *b, const struct dsn_input *in)
{
	size_t len = dsn_header_block_len(in->headers, in->headers_len);
	uint8_t *norm = malloc(len + 1);
	bool plain;

	if (norm == NULL) {
		b->overflow = true;
		return;
	}
	size_t n = normalize_headers(in->headers, len, norm, &plain);
	buf_puts(b, "Content-Description: Undelivered Message Headers\r\n");
	buf_puts(b, "Content-Type: text/rfc822-headers\r\n");
	buf_printf(b, "Content-Transfer-Encoding: %s\r\n\r\n",
	    plain ? "7bit" : "quoted-printable");
	if (plain) {
		for (size_t i = 0; i < n; i++) {
			if (norm[i] == '\n')
				buf_puts(b, "\r\n");
			else
				buf_putc(b, (char)norm[i]);
		}
	} else
		put_qp(b, norm, n);
	free(norm);
}

/* ---- the whole DSN ---------------------------------------------------------- */

static bool
input_is_usable(const struct dsn_input *in)
{
	if (in->nrcpt == 0 || in->rcpts == NULL || !is_token(in->token) ||
	    in->hostname == NULL || in->orig_id == NULL || in->orig_sender == NULL ||
	    (in->headers == NULL && in->headers_len > 0) ||
	    !is_printable_ascii(in->hostname, DSN_HOST_MAX) ||
	    strchr(in->hostname, ' ') != NULL ||
	    !is_printable_ascii(in->orig_id, DSN_TOKEN_MAX) ||
	    strchr(in->orig_id, ' ') != NULL ||
	    !is_printable_ascii(in->orig_sender, 256))
		return false;
	for (unsigned i = 0; i < in->nrcpt; i++)
		if (in->rcpts[i].rcpt == NULL ||
		    !is_printable_ascii(in->rcpts[i].rcpt, 256) ||
		    (in->rcpts[i].reason != DSN_PERMANENT &&
		    in->rcpts[i].reason != DSN_EXPIRED))
			return false;
	return true;
}

static void
build_top_header(struct dsn_buf *b, const struct dsn_input *in,
    const char *subject)
{
	char date[40];

	dsn_format_date(in->now, date, sizeof(date));
	buf_printf(b, "From: \"Mail Delivery System\" <MAILER-DAEMON@%s>\r\n",
	    in->hostname);
	buf_printf(b, "To: <%s>\r\n", in->orig_sender);
	put_subject(b, subject);
	buf_printf(b, "Date: %s\r\n", date);
	buf_printf(b, "Message-ID: <dsn.%s.%s@%s>\r\n", in->token, in->orig_id,
	    in->hostname);
	buf_puts(b, "Auto-Submitted: auto-replied\r\n");
	buf_puts(b, "MIME-Version: 1.0\r\n");
	buf_puts(b, "Content-Type: multipart/report; report-type=delivery-status;\r\n");
	buf_printf(b, "\tboundary=\"=_hmx_%s\"\r\n", in->token);
	buf_puts(b, "Content-Transfer-Encoding: 7bit\r\n\r\n");
	buf_puts(b, "This is a MIME-encapsulated message: a delivery status "
	    "notification.\r\n");
}

static void
build_parts(struct dsn_buf *b, const struct dsn_input *in,
    const struct dsn_reply *reps, const char *subject)
{
	struct dsn_buf text = { 0 };

	buf_printf(b, "\r\n--=_hmx_%s\r\n", in->token);
	buf_puts(b, "Content-Description: Notification\r\n");
	buf_puts(b, "Content-Type: text/plain; charset=utf-8\r\n");
	buf_puts(b, "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	build_human_text(&text, in, reps, subject);
	if (text.overflow)
		b->overflow = true;
	else
		put_qp(b, (const uint8_t *)text.p, text.len);
	dsn_buf_free(&text);
	buf_printf(b, "\r\n--=_hmx_%s\r\n", in->token);
	build_status_part(b, in, reps);
	buf_printf(b, "\r\n--=_hmx_%s\r\n", in->token);
	build_headers_part(b, in);
	buf_printf(b, "\r\n--=_hmx_%s--\r\n", in->token);
}

int
dsn_build(const struct dsn_input *in, struct dsn_buf *out)
{
	char subject[DSN_SUBJECT_MAX + 1];
	struct dsn_reply *reps;

	if (!input_is_usable(in))
		return -1;
	if ((reps = calloc(in->nrcpt, sizeof(*reps))) == NULL)
		return -1;
	for (unsigned i = 0; i < in->nrcpt; i++) {
		const char *r = in->rcpts[i].reply;
		dsn_parse_reply(r, r != NULL ? strlen(r) : 0, &reps[i]);
	}
	original_subject(in, subject);
	build_top_header(out, in, subject);
	build_parts(out, in, reps, subject);
	free(reps);
	if (out->overflow) {
		dsn_buf_free(out);
		return -1;
	}
	return 0;
}

/* ---- what dkimsign hands back ------------------------------------------------ */

bool
dsn_prepend_headers_are_valid(const char *h, size_t len)
{
	size_t pos = 0;

	if (len == 0 || h[0] == ' ' || h[0] == '\t' || h[0] == ':')
		return false;
	while (pos < len) {
		const char *nl = memchr(h + pos, '\n', len - pos);
		if (nl == NULL)
			return false;		/* not CRLF-terminated */
		size_t n = (size_t)(nl - (h + pos));
		if (n < 1 || h[pos + n - 1] != '\r' || n - 1 > DSN_LINE_MAX || n == 1)
			return false;		/* bare LF, too long, empty line */
		for (size_t i = pos; i < pos + n - 1; i++)
			if (((unsigned char)h[i] < 0x20 && h[i] != '\t') ||
			    (unsigned char)h[i] > 0x7e)
				return false;
		/* A line that is not a continuation starts a "name:" field. */
		if (h[pos] != ' ' && h[pos] != '\t' &&
		    (memchr(h + pos, ':', n) == NULL || h[pos] == ':'))
			return false;
		pos += n + 1;
	}
	return true;
}
