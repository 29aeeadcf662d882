/*
 * queue/mime.c - reading and writing Internet message text, for DSNs.
 *
 * Owns: the small text machinery a generated message needs, apart from
 * what a DSN says: a bounded growable buffer; reading a hostile header
 * block (its end, one field's unfolded value, RFC 5322 2.2); RFC 2047
 * encoded-words both ways (decoding utf-8, us-ascii and iso-8859-1 words;
 * writing B words of whole UTF-8 characters); cleaning text into valid
 * UTF-8 or one line of printable ASCII; folding a field below 78/998
 * columns (RFC 5322 2.1.1); quoted-printable (RFC 2045 6.7); dates (RFC
 * 5322 3.3); and the check of header fields someone else hands us to
 * prepend (dkimsign's signatures).
 * Why its own file: these are the places where hostile bytes meet our
 * output, each small and pure (no I/O, no clock), so the unit test
 * (mime_test.c) and the fuzzer (tests/fuzz/fuzz_dsn.c) can drive every
 * one of them; dsn.c only decides what a DSN says.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mime.h"

#define MIME_TIME_MAX		UINT64_C(253402300799)	/* 9999-12-31, 4-digit year */

/* ---- output buffer ------------------------------------------------------- */

void
textbuf_free(struct textbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
textbuf_put(struct textbuf *b, const void *p, size_t n)
{
	if (b->overflow)
		return;
	if (n > TEXTBUF_MAX - b->len) {
		b->overflow = true;
		return;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap == 0 ? 4096 : b->cap;
		while (cap < b->len + n)
			cap *= 2;
		if (cap > TEXTBUF_MAX)
			cap = TEXTBUF_MAX;
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

void
textbuf_puts(struct textbuf *b, const char *s)
{
	textbuf_put(b, s, strlen(s));
}

void
textbuf_putc(struct textbuf *b, char c)
{
	textbuf_put(b, &c, 1);
}

/* Only for short, already validated arguments: longer output overflows. */
void
textbuf_printf(struct textbuf *b, const char *fmt, ...)
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
	textbuf_put(b, tmp, (size_t)n);
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


/* ---- hostile text to one clean line ------------------------------------- */

/*
 * CR, LF, TAB, NUL and other controls become a space, runs of spaces
 * collapse, 8-bit bytes become '?', no leading/trailing space; at most
 * outsize - 1 bytes.
 */
void
mime_clean_line(const char *in, size_t len, char *out, size_t outsize)
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

/* ---- dates --------------------------------------------------------------- */

void
mime_format_date(uint64_t t, char *out, size_t outsize)
{
	static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)(t > MIME_TIME_MAX ? MIME_TIME_MAX : t);
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
mime_header_block_len(const uint8_t *msg, size_t len)
{
	size_t pos = 0, last_whole = 0;

	while (pos < len) {
		size_t eol, n = line_len(msg + pos, len - pos, &eol);
		if (pos + n + eol > MIME_HEADERS_MAX)
			return last_whole > 0 ? last_whole :
			    (len < MIME_HEADERS_MAX ? len : MIME_HEADERS_MAX);
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
mime_header_value(const uint8_t *headers, size_t len, const char *name,
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
size_t
mime_decode_2047(const char *in, uint8_t *out, size_t outsize)
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
void
mime_clean_utf8(const uint8_t *in, size_t len, char *out, size_t max)
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


/* ---- writing header fields ------------------------------------------------ */

/*
 * "Name: value" folded at spaces before MIME_LINE_SOFT columns (RFC 5322
 * 2.2.3); a word too long for MIME_LINE_MAX is split. value is one line of
 * printable ASCII.
 */
void
mime_put_folded(struct textbuf *b, const char *name, const char *value)
{
	size_t col = strlen(name) + 1, words = 0;
	const char *p = value;

	textbuf_puts(b, name);
	textbuf_putc(b, ':');
	while (*p != '\0') {
		size_t wl = strcspn(p, " ");
		if (words > 0 && col + 1 + wl > MIME_LINE_SOFT) {
			textbuf_puts(b, "\r\n");
			col = 0;
		}
		textbuf_putc(b, ' ');
		col++;
		words++;
		while (wl > 0) {
			if (col >= MIME_LINE_MAX) {
				textbuf_puts(b, "\r\n ");
				col = 1;
			}
			size_t n = wl < MIME_LINE_MAX - col ? wl : MIME_LINE_MAX - col;
			textbuf_put(b, p, n);
			col += n;
			p += n;
			wl -= n;
		}
		p += strspn(p, " ");
	}
	textbuf_puts(b, "\r\n");
}

static void
put_base64(struct textbuf *b, const uint8_t *s, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		textbuf_putc(b, tab[(v >> 18) & 63]);
		textbuf_putc(b, tab[(v >> 12) & 63]);
		textbuf_putc(b, i + 1 < n ? tab[(v >> 6) & 63] : '=');
		textbuf_putc(b, i + 2 < n ? tab[v & 63] : '=');
	}
}

/*
 * An unstructured field with non-ASCII: a run of B encoded-words (RFC 2047
 * 4.1), each holding whole UTF-8 characters (RFC 2047 5 (3)), one per
 * line, folded between words.
 */
void
mime_put_encoded(struct textbuf *b, const char *name, const char *utf8)
{
	const uint8_t *p = (const uint8_t *)utf8;
	size_t left = strlen(utf8);

	textbuf_puts(b, name);
	textbuf_putc(b, ':');
	while (left > 0) {
		size_t n = 0;
		while (n < left) {
			size_t k = utf8_seq_len(p + n, left - n);
			if (k == 0)
				k = 1;	/* cannot happen: utf8 is clean */
			if (n + k > MIME_EW_BYTES)
				break;
			n += k;
		}
		if (n == 0)
			n = 1;
		textbuf_puts(b, " =?utf-8?B?");
		put_base64(b, p, n);
		textbuf_puts(b, "?=");
		p += n;
		left -= n;
		if (left > 0)
			textbuf_puts(b, "\r\n");
	}
	textbuf_puts(b, "\r\n");
}


/* ---- quoted-printable ----------------------------------------------------- */

/*
 * Quoted-printable (RFC 2045 6.7) of text whose lines end in LF: CRLF
 * lines, soft breaks before 76 columns, '=', controls, 8-bit bytes and
 * white space at the end of a line encoded.
 */
void
mime_put_qp(struct textbuf *b, const uint8_t *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = s[i];
		char enc[3];
		size_t n = 1;
		if (c == '\n') {
			textbuf_puts(b, "\r\n");
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
		if (col + n > MIME_QP_LINE - 1) {
			textbuf_puts(b, "=\r\n");
			col = 0;
		}
		textbuf_put(b, enc, n);
		col += n;
	}
}

/* ---- the returned headers (RFC 6522 text/rfc822-headers) ------------------- */

/* The header block as LF lines: CR before LF dropped, empty line gone. */
size_t
mime_normalize_headers(const uint8_t *h, size_t len, uint8_t *out, bool *plain)
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
		if (n > MIME_LINE_MAX || (n >= 2 && line[0] == '-' && line[1] == '-'))
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


/* ---- what dkimsign hands back ------------------------------------------------ */

bool
mime_fields_are_clean(const char *h, size_t len)
{
	size_t pos = 0;

	if (len == 0 || h[0] == ' ' || h[0] == '\t' || h[0] == ':')
		return false;
	while (pos < len) {
		const char *nl = memchr(h + pos, '\n', len - pos);
		if (nl == NULL)
			return false;		/* not CRLF-terminated */
		size_t n = (size_t)(nl - (h + pos));
		if (n < 1 || h[pos + n - 1] != '\r' || n - 1 > MIME_LINE_MAX || n == 1)
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
