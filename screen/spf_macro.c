/*
 * screen/spf_macro.c - RFC 7208 section 7 macro syntax and expansion.
 *
 * Owns: the macro tokenizer that both the syntax check and the expansion
 * walk, so the two can never disagree on what a string means. Every
 * output goes through one bounded appender. Values are split into at most
 * SPF_PARTS_MAX parts (a DNS name has at most 127 labels); a value with
 * more makes the expansion fail, which the evaluator treats as a name that
 * does not exist. See screen/spf_macro.h for the contract.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "spf_macro.h"

#define SPF_PARTS_MAX	128
#define SPF_DIGITS_MAX	999	/* "%{d1000}" means all parts, like 128 */
#define SPF_DELIMS	".-+,/_="	/* RFC 7208 7.1 delimiter */

enum tok_kind { TOK_LITERAL, TOK_ESCAPE, TOK_MACRO };

struct macro_tok {
	enum tok_kind	kind;
	size_t		len;		/* bytes of the source it spans */
	const char	*text;		/* TOK_LITERAL, TOK_ESCAPE: what it stands for */
	size_t		textlen;
	char		letter;		/* TOK_MACRO: lowercase letter */
	bool		url_escape;	/* the letter was uppercase */
	unsigned	digits;		/* 0: all parts */
	bool		reverse;
	const char	*delims;	/* NULL: "." */
	size_t		ndelims;
};

struct outbuf {
	char	*p;
	size_t	 size, len;
	bool	 overflow;
};

/* ---- the grammar ------------------------------------------------------------ */

static bool
letter_allowed(char lower, enum spf_macro_kind kind)
{
	if (strchr("slodiphv", lower) != NULL)
		return true;
	/* c, r, t: in explanations only (RFC 7208 7.1); an unknown modifier's
	 * value is never expanded, so any letter is well-formed there */
	return strchr("crt", lower) != NULL && kind != SPF_MACRO_DOMAIN;
}

static bool
literal_allowed(unsigned char ch, enum spf_macro_kind kind)
{
	/* macro-literal = %x21-24 / %x26-7E; explain-string adds SP */
	if (ch == ' ')
		return kind == SPF_MACRO_EXPLAIN;
	return ch >= 0x21 && ch <= 0x7e && ch != '%';
}

/* "%{" letter *DIGIT ["r"] *delimiter "}"; s points after "%{". */
static int
macro_body(const char *s, size_t len, enum spf_macro_kind kind, struct macro_tok *t)
{
	size_t i = 0;
	unsigned digits = 0;
	bool saw_digit = false;

	if (len == 0)
		return -1;
	t->kind = TOK_MACRO;
	t->letter = (char)tolower((unsigned char)s[0]);
	t->url_escape = isupper((unsigned char)s[0]) != 0;
	if (!isalpha((unsigned char)s[0]) || !letter_allowed(t->letter, kind))
		return -1;
	for (i = 1; i < len && isdigit((unsigned char)s[i]); i++) {
		saw_digit = true;
		if (digits <= SPF_DIGITS_MAX)
			digits = digits * 10 + (unsigned)(s[i] - '0');
	}
	if (saw_digit && digits == 0)
		return -1;	/* "If a DIGIT is specified, the value MUST be nonzero" */
	t->digits = digits;
	t->reverse = i < len && (s[i] == 'r' || s[i] == 'R');
	if (t->reverse)
		i++;
	t->delims = s + i;
	for (; i < len && s[i] != '\0' && strchr(SPF_DELIMS, s[i]) != NULL; i++)
		;
	t->ndelims = (size_t)(s + i - t->delims);
	if (i >= len || s[i] != '}')
		return -1;
	t->len = i + 3;		/* "%{" ... "}" */
	return 0;
}

/* The token at s; -1 on a syntax error. */
static int
macro_token(const char *s, size_t len, enum spf_macro_kind kind, struct macro_tok *t)
{
	memset(t, 0, sizeof(*t));
	if (s[0] != '%') {
		if (!literal_allowed((unsigned char)s[0], kind))
			return -1;
		t->kind = TOK_LITERAL;
		t->len = t->textlen = 1;
		t->text = s;
		return 0;
	}
	if (len < 2)
		return -1;
	t->kind = TOK_ESCAPE;
	t->len = 2;
	switch (s[1]) {
	case '%':	t->text = "%"; break;
	case '_':	t->text = " "; break;
	case '-':	t->text = "%20"; break;
	case '{':	return macro_body(s + 2, len - 2, kind, t);
	default:	return -1;
	}
	t->textlen = strlen(t->text);
	return 0;
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static bool
toplabel_valid(const char *s, size_t len)
{
	bool alpha = false, dash = false;

	if (len == 0 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '-')
			dash = true;
		else if (isalpha((unsigned char)s[i]))
			alpha = true;
		else if (!isdigit((unsigned char)s[i]))
			return false;
	}
	return alpha || dash;
}

/* domain-end = ( "." toplabel [ "." ] ) / macro-expand, where tail is the
 * literal text after the last macro-expand. */
static bool
domain_end_valid(const char *tail, size_t len)
{
	const char *dot;

	if (len > 0 && tail[len - 1] == '.')
		len--;
	if ((dot = memrchr(tail, '.', len)) == NULL)
		return false;
	return toplabel_valid(dot + 1, len - (size_t)(dot + 1 - tail));
}

bool
spf_macro_valid(const char *s, size_t len, enum spf_macro_kind kind)
{
	struct macro_tok t;
	size_t i = 0, tail = 0;

	while (i < len) {
		if (macro_token(s + i, len - i, kind, &t) == -1)
			return false;
		i += t.len;
		if (t.kind != TOK_LITERAL)
			tail = i;	/* a macro-expand ends here */
	}
	if (kind != SPF_MACRO_DOMAIN)
		return true;
	if (len == 0)
		return false;
	return tail == len || domain_end_valid(s + tail, len - tail);
}

bool
spf_macro_uses_p(const char *s, size_t len)
{
	struct macro_tok t;

	for (size_t i = 0; i < len; i += t.len) {
		if (macro_token(s + i, len - i, SPF_MACRO_EXPLAIN, &t) == -1)
			return false;
		if (t.kind == TOK_MACRO && t.letter == 'p')
			return true;
	}
	return false;
}

/* ---- expansion -------------------------------------------------------------- */

/* Appends what fits; the rest sets overflow (an explanation is cut there). */
static void
out_append(struct outbuf *o, const char *s, size_t len)
{
	size_t room = o->size - 1 - o->len;

	if (o->overflow)
		return;
	if (len > room) {
		len = room;
		o->overflow = true;
	}
	memcpy(o->p + o->len, s, len);
	o->len += len;
	o->p[o->len] = '\0';
}

/* RFC 7208 7.3: upper-case letters are URL-escaped (RFC 3986 unreserved kept). */
static void
out_append_escaped(struct outbuf *o, const char *s, size_t len, bool escape)
{
	char hex[4];

	if (!escape) {
		out_append(o, s, len);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (isalnum(ch) || strchr("-._~", ch) != NULL) {
			out_append(o, s + i, 1);
		} else {
			snprintf(hex, sizeof(hex), "%%%02X", ch);
			out_append(o, hex, 3);
		}
	}
}

static const char *
macro_value(const struct spf_macro_vars *v, char letter, char *tbuf, size_t tsize)
{
	switch (letter) {
	case 's':	return v->sender;
	case 'l':	return v->local;
	case 'o':	return v->sender_domain;
	case 'd':	return v->domain;
	case 'i':	return v->ip_dotted;
	case 'c':	return v->ip_text;
	case 'v':	return v->ip_version;
	case 'h':	return v->helo;
	case 'r':	return v->receiver;
	case 'p':	return v->validated;
	case 't':
		snprintf(tbuf, tsize, "%lld", (long long)v->now);
		return tbuf;
	}
	return "";
}

struct part {
	const char	*p;
	size_t		 len;
};

/* Splits value on the token's delimiters; -1 if it has too many parts. */
static int
split_parts(const char *value, const struct macro_tok *t, struct part *parts,
    size_t *nparts)
{
	const char *delims = t->ndelims > 0 ? t->delims : ".";
	size_t ndelims = t->ndelims > 0 ? t->ndelims : 1;
	const char *start = value;
	size_t n = 0;

	for (const char *p = value;; p++) {
		if (*p != '\0' && memchr(delims, *p, ndelims) == NULL)
			continue;
		if (n == SPF_PARTS_MAX)
			return -1;
		parts[n].p = start;
		parts[n++].len = (size_t)(p - start);
		if (*p == '\0')
			break;
		start = p + 1;
	}
	*nparts = n;
	return 0;
}

/* One %{...}: split, reverse, keep the right-hand parts, join with ".". */
static int
expand_macro(const struct spf_macro_vars *v, const struct macro_tok *t,
    struct outbuf *o)
{
	struct part parts[SPF_PARTS_MAX];
	char tbuf[32];
	const char *value = macro_value(v, t->letter, tbuf, sizeof(tbuf));
	size_t n, first = 0;

	if (value == NULL)
		value = "";
	if (split_parts(value, t, parts, &n) == -1)
		return -1;
	if (t->reverse)
		for (size_t i = 0; i < n / 2; i++) {
			struct part tmp = parts[i];
			parts[i] = parts[n - 1 - i];
			parts[n - 1 - i] = tmp;
		}
	if (t->digits > 0 && t->digits < n)
		first = n - t->digits;
	for (size_t i = first; i < n; i++) {
		if (i > first)
			out_append(o, ".", 1);
		out_append_escaped(o, parts[i].p, parts[i].len, t->url_escape);
	}
	return 0;
}

int
spf_macro_expand(const struct spf_macro_vars *v, const char *s, size_t len,
    enum spf_macro_kind kind, char *out, size_t outsize)
{
	struct outbuf o = { out, outsize, 0, false };
	struct macro_tok t;

	if (outsize == 0 || !spf_macro_valid(s, len, kind))
		return -1;
	out[0] = '\0';
	for (size_t i = 0; i < len; i += t.len) {
		if (macro_token(s + i, len - i, kind, &t) == -1)
			return -1;
		if (t.kind != TOK_MACRO)
			out_append(&o, t.text, t.textlen);
		else if (expand_macro(v, &t, &o) == -1)
			return -1;
		if (o.overflow)
			break;
	}
	if (o.overflow && kind != SPF_MACRO_EXPLAIN)
		return -1;
	return (int)o.len;
}

int
spf_macro_domain(const struct spf_macro_vars *v, const char *spec, size_t len,
    char out[DV_NAME_MAX + 1])
{
	char buf[SPF_EXPAND_MAX + 1];
	int n = spf_macro_expand(v, spec, len, SPF_MACRO_DOMAIN, buf, sizeof(buf));
	const char *p = buf;
	size_t plen;

	out[0] = '\0';
	if (n < 0)
		return -1;
	plen = (size_t)n;
	if (plen > 0 && p[plen - 1] == '.')
		plen--;
	while (plen > DV_NAME_MAX) {	/* RFC 7208 7.3: drop left-hand labels */
		const char *dot = memchr(p, '.', plen);
		if (dot == NULL)
			return -1;
		plen -= (size_t)(dot + 1 - p);
		p = dot + 1;
	}
	memcpy(out, p, plen);
	out[plen] = '\0';
	return 0;
}
