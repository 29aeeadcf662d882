/*
 * screen/authres.c - our Authentication-Results field, and the finder of
 * forged ones (screen/authres.h, RFC 8601).
 *
 * Owns: the field's layout (one result per line, folded before
 * AUTHRES_LINE_SOFT columns where a token allows), the character policy
 * for values copied from the message, and the parse of an incoming
 * field's authserv-id. Why so careful with values: d=, s= and the From
 * domain are the sender's bytes, and a mail reader trusts this field; a
 * stray ';' or '(' in a value could forge a second result. Only a small
 * token alphabet is copied as is; everything else is quoted, with the
 * bytes a quoted string cannot hold dropped.
 * The SPF result is read from the score item check_spf added (its name,
 * spf_<result>, is the contract: lib/config_screen.h's weight names and
 * "spf_temperror").
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authres.h"
#include "message.h"

#define TOKEN_MAX	(2 * ADDR_DOMAIN_MAX + 32)	/* a quoted domain, escaped */

/* ---- values ------------------------------------------------------------- */

static bool
token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == '+';
}

/*
 * v as an RFC 2045 value: itself when every byte is a token character,
 * else a quoted string (RFC 5322 3.2.4) of its printable bytes. Cut
 * (still closed) at size.
 */
static void
render_value(const char *v, char *dst, size_t size)
{
	size_t o = 0, n = strlen(v);
	bool plain = n > 0;

	for (size_t i = 0; i < n; i++)
		plain &= token_char(v[i]);
	if (plain && n < size) {
		memcpy(dst, v, n + 1);
		return;
	}
	dst[o++] = '"';
	for (size_t i = 0; i < n && o + 4 < size; i++) {
		if (v[i] < ' ' || v[i] > '~')
			continue;	/* CTLs, 8-bit: dropped */
		if (v[i] == '"' || v[i] == '\\')
			dst[o++] = '\\';
		dst[o++] = v[i];
	}
	dst[o++] = '"';
	dst[o] = '\0';
}

/* ---- the writer --------------------------------------------------------- */

struct out {
	char	*buf;
	size_t	 size;
	size_t	 len;
	size_t	 col;		/* octets on the current line */
	bool	 line_empty;	/* nothing after the indent yet */
	bool	 overflow;
};

static void
put(struct out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->overflow || o->len + n >= o->size) {
		o->overflow = true;
		return;
	}
	memcpy(o->buf + o->len, s, n + 1);
	o->len += n;
	for (size_t i = 0; i < n; i++)
		o->col = s[i] == '\n' ? 0 : o->col + 1;
}

/* A token, after a space or, when the line would pass 78, on a new one. */
static void
token(struct out *o, const char *t)
{
	if (!o->line_empty) {
		if (o->col + 1 + strlen(t) > AUTHRES_LINE_SOFT)
			put(o, "\r\n\t");
		else
			put(o, " ");
	}
	put(o, t);
	o->line_empty = false;
}

/* "name=value" with value rendered. */
static void
token_value(struct out *o, const char *name, const char *value)
{
	char v[TOKEN_MAX], t[TOKEN_MAX + 32];

	render_value(value, v, sizeof(v));
	snprintf(t, sizeof(t), "%s=%s", name, v);
	token(o, t);
}

/* Ends the previous result (or the authserv-id) and starts a line. */
static void
resinfo(struct out *o, const char *method, const char *result)
{
	char t[64];

	put(o, ";\r\n\t");
	o->line_empty = true;
	snprintf(t, sizeof(t), "%s=%s", method, result);
	token(o, t);
}

static const char *
result_word(enum auth_result r)
{
	switch (r) {
	case AUTH_PASS:		return "pass";
	case AUTH_FAIL:		return "fail";
	case AUTH_TEMPERROR:	return "temperror";
	case AUTH_PERMERROR:	return "permerror";
	default:		return "none";
	}
}

/* The SPF result check_spf scored, or NULL. */
static const char *
spf_result(const struct score *s)
{
	static const char *const results[] = { "pass", "fail", "softfail", "neutral",
	    "none", "permerror", "temperror" };

	for (size_t i = 0; i < s->n; i++) {
		if (strncmp(s->item[i].name, "spf_", 4) != 0)
			continue;
		for (size_t r = 0; r < sizeof(results) / sizeof(results[0]); r++)
			if (strcmp(s->item[i].name + 4, results[r]) == 0)
				return results[r];
	}
	return NULL;
}

static bool
write_spf(struct out *o, const struct screen_facts *f, const struct score *s)
{
	const char *r = spf_result(s), *at = strrchr(f->mail_from, '@');
	bool helo = (f->flags & SCREEN_FACT_NULL_SENDER) != 0 || f->mail_from[0] == '\0';

	if (r == NULL)
		return false;
	resinfo(o, "spf", r);
	if (helo)
		token_value(o, "smtp.helo", f->helo);
	else
		token_value(o, "smtp.mailfrom", at != NULL ? at + 1 : f->mail_from);
	return true;
}

static bool
write_dkim(struct out *o, const struct score *s)
{
	if (!s->dkim_done)
		return false;
	if (s->ndkim == 0)
		resinfo(o, "dkim", "none");
	for (size_t i = 0; i < s->ndkim; i++) {
		const struct score_dkim *d = &s->dkim[i];
		resinfo(o, "dkim", result_word(d->result));
		if (d->result != AUTH_PASS && d->reason[0] != '\0')
			token_value(o, "reason", d->reason);
		token_value(o, "header.d", d->domain);
		token_value(o, "header.s", d->selector);
		if (d->alg[0] != '\0')
			token_value(o, "header.a", d->alg);
		if (d->b[0] != '\0')
			token_value(o, "header.b", d->b);
	}
	return true;
}

static bool
write_dmarc(struct out *o, const struct score *s)
{
	for (size_t i = 0; i < s->ndmarc; i++) {
		const struct score_dmarc *d = &s->dmarc[i];
		char comment[32];
		resinfo(o, "dmarc", result_word(d->result));
		if (d->policy[0] != '\0') {
			snprintf(comment, sizeof(comment), "(policy=%s)", d->policy);
			token(o, comment);
		}
		token_value(o, "header.from", d->from_domain);
	}
	return s->ndmarc > 0;
}

int
authres_format(const char *authserv_id, const struct screen_facts *f,
    const struct score *s, char *buf, size_t size)
{
	struct out o = { buf, size, 0, 0, true, false };
	char id[TOKEN_MAX];
	bool any;

	if (size == 0)
		return -1;
	buf[0] = '\0';
	render_value(authserv_id, id, sizeof(id));
	put(&o, "Authentication-Results: ");
	put(&o, id);
	any = write_spf(&o, f, s);
	any |= write_dkim(&o, s);
	any |= write_dmarc(&o, s);
	put(&o, any ? "\r\n" : "; none\r\n");
	if (o.overflow) {
		buf[0] = '\0';
		return -1;
	}
	return (int)o.len;
}

/* ---- the finder --------------------------------------------------------- */

/* Skips white space, folds and (nested) comments (RFC 5322 3.2.2). */
static size_t
skip_cfws(const char *v, size_t len, size_t i)
{
	unsigned depth = 0;

	for (; i < len; i++) {
		char c = v[i];
		if (depth > 0) {
			if (c == '\\')
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
		} else if (c == '(')
			depth = 1;
		else if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			return i;
	}
	return len;
}

/* RFC 2045 tspecials, space and CTLs end a token. */
static bool
mime_token_char(char c)
{
	return c > ' ' && c <= '~' && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* A token from i into id; false if it does not fit. */
static bool
take_token(const char *v, size_t len, size_t i, char *id, size_t size)
{
	size_t o = 0;

	for (; i < len && mime_token_char(v[i]); i++) {
		if (o + 1 >= size)
			return false;
		id[o++] = v[i];
	}
	id[o] = '\0';
	return o > 0;
}

/*
 * The authserv-id (a token or a quoted string), unquoted into id. A
 * quoted string that is never closed is read as the token inside it: a
 * lenient mail reader may read it so, and such a field must go too.
 */
static bool
authserv_id_of(const char *v, size_t len, char *id, size_t size)
{
	size_t i = skip_cfws(v, len, 0), o = 0, start = i + 1;

	if (i == len || v[i] != '"')
		return take_token(v, len, i, id, size);
	for (i++; i < len && v[i] != '"'; i++) {
		if (v[i] == '\\' && i + 1 < len)
			i++;
		if (v[i] == '\r' || v[i] == '\n')
			continue;	/* a fold inside the quotes */
		if (o + 1 >= size)
			return false;
		id[o++] = v[i];
	}
	if (i == len)
		return take_token(v, len, start, id, size);
	id[o] = '\0';
	return o > 0;
}

/* Equal ignoring ASCII case and one trailing dot on either side. */
static bool
same_id(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && la > 0 && strncasecmp(a, b, la) == 0;
}

size_t
authres_find_ours(const struct screen_message *m, const char *authserv_id,
    struct authres_range *out, size_t max)
{
	char id[ADDR_DOMAIN_MAX + 2];
	size_t found = 0;

	for (size_t i = 0; i < m->nfields; i++) {
		const struct msg_field *f = &m->field[i];
		size_t vlen;
		const char *v;

		if (!msg_field_is(m, f, "Authentication-Results"))
			continue;
		v = msg_field_value(m, f, &vlen);
		if (!authserv_id_of(v, vlen, id, sizeof(id)) || !same_id(id, authserv_id))
			continue;
		if (found < max)
			out[found] = (struct authres_range){ f->off, f->end - f->off };
		found++;
	}
	return found;
}
