/*
 * screen/scan_rspamd.c - rspamd's HTTP protocol (rspamd.com/doc/developers/
 * protocol.html): POST /checkv2 with the envelope in headers, a JSON reply.
 *
 *	POST /checkv2 HTTP/1.1
 *	Content-Length: 1234
 *	IP: 192.0.2.1 / Helo: ... / Hostname: <verified PTR> / From: <...>
 *	Rcpt: <...> (one per recipient) / Queue-Id: ... / MTA-Name: <ours>
 * answered by
 *	HTTP/1.1 200 OK ... Content-Length: 249
 *	{"is_skipped":false,"score":7.5,"required_score":15.0,
 *	 "action":"add header","symbols":{"HMX_CHEAP":{...}},...}
 *
 * Owns: that format and a small JSON reader (RFC 8259) that takes score,
 * required_score, action, the symbols' names and an "error" member, and
 * skips everything else with a depth limit. Why not libjson-c: four
 * members of one object do not justify a tree of allocations per reply, a
 * new library in the screen's address space and its seccomp profile; this
 * reader is bounded by the reply (SCAN_REPLY_MAX) and fuzzed
 * (tests/fuzz/fuzz_scan_replies.c). Hostname is sent only for a verified
 * PTR: rspamd's rules read a present Hostname as the client's real name.
 * A status other than 200, a chunked or unparseable reply is a tempfail.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "scan_proto.h"

#define HTTP_HEAD_MAX	8192
#define JSON_DEPTH_MAX	32

/* ---- the request ------------------------------------------------------ */

struct out {
	char	*buf;
	size_t	 size, len;	/* len may pass size: the length needed */
};

static void
out_bytes(struct out *o, const char *p, size_t n)
{
	if (o->len < o->size)
		memcpy(o->buf + o->len, p, o->size - o->len < n ? o->size - o->len : n);
	o->len += n;
}

static void
out_str(struct out *o, const char *s)
{
	out_bytes(o, s, strlen(s));
}

/* "Name: value\r\n" when value is not empty; control bytes are dropped so
 * that nothing can end the header early. */
static void
out_header(struct out *o, const char *name, const char *value, bool angle)
{
	if (value == NULL || (value[0] == '\0' && !angle))
		return;
	out_str(o, name);
	out_str(o, angle ? ": <" : ": ");
	for (const char *p = value; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x20 && *p != 0x7f)
			out_bytes(o, p, 1);
	out_str(o, angle ? ">\r\n" : "\r\n");
}

size_t
scan_rspamd_head(const struct scan_envelope *env, uint64_t body_len, char *buf,
    size_t size)
{
	struct out o = { buf, size, 0 };
	char line[96];

	snprintf(line, sizeof(line), "POST /checkv2 HTTP/1.1\r\nHost: rspamd\r\n"
	    "Content-Length: %llu\r\nConnection: close\r\n", (unsigned long long)body_len);
	out_str(&o, line);
	out_header(&o, "IP", env->client_ip, false);
	out_header(&o, "Helo", env->helo, false);
	out_header(&o, "Hostname", env->ptr, false);
	out_header(&o, "From", env->mail_from != NULL ? env->mail_from : "", true);
	for (size_t i = 0; i < env->nrcpts && i < SCAN_RCPTS_MAX; i++)
		out_header(&o, "Rcpt", env->rcpts[i], true);
	out_header(&o, "Queue-Id", env->qid, false);
	out_header(&o, "MTA-Name", env->hostname, false);
	out_str(&o, "\r\n");
	return o.len;
}

/* ---- JSON ------------------------------------------------------------- */

struct json {
	const uint8_t	*p, *end;
	int		 depth;
};

static void
ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' ||
	    *j->p == '\r'))
		j->p++;
}

static bool
eat(struct json *j, char c)
{
	ws(j);
	if (j->p < j->end && *j->p == (uint8_t)c) {
		j->p++;
		return true;
	}
	return false;
}

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * A string; its decoded bytes go to out (at most size - 1, terminated; a
 * \u escape outside ASCII becomes '?'), out may be NULL. False on bad
 * syntax: a control byte, a bad escape, no closing quote.
 */
static bool
string(struct json *j, char *out, size_t size, size_t *outlen)
{
	size_t o = 0;

	if (!eat(j, '"'))
		return false;
	while (j->p < j->end && *j->p != '"') {
		uint8_t c = *j->p++;
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (j->p >= j->end)
				return false;
			c = *j->p++;
			if (c == 'u') {
				int v = 0;
				for (int k = 0; k < 4; k++) {
					int h = j->p < j->end ? hexval(*j->p++) : -1;
					if (h < 0)
						return false;
					v = v * 16 + h;
				}
				c = v >= 0x20 && v < 0x7f ? (uint8_t)v : '?';
			} else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0')
				return false;
			else if (c != '"' && c != '\\' && c != '/')
				c = ' ';
		}
		if (out != NULL && o + 1 < size)
			out[o++] = (char)c;
	}
	if (!eat(j, '"'))
		return false;
	if (out != NULL && size > 0)
		out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return true;
}

/* RFC 8259 6: -? int frac? exp?; value kept when v != NULL and it is a
 * plain decimal within SCAN_SCORE_LIMIT (an exponent there is garbage). */
static bool
number(struct json *j, double *v)
{
	const uint8_t *s = j->p;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return false;
	if (*j->p == '0')
		j->p++;
	else
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	if (j->p < j->end && *j->p == '.') {
		if (++j->p >= j->end || *j->p < '0' || *j->p > '9')
			return false;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	bool exp = false;
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		exp = true;
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return false;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (v == NULL)
		return true;
	return !exp && scan_parse_decimal(s, (size_t)(j->p - s), v) == (size_t)(j->p - s);
}

static bool
literal(struct json *j, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool value_skip(struct json *);

/* An object or array, members skipped. */
static bool
container_skip(struct json *j, bool object)
{
	if (++j->depth > JSON_DEPTH_MAX)
		return false;
	if (eat(j, object ? '}' : ']')) {
		j->depth--;
		return true;
	}
	do {
		if (object && (!string(j, NULL, 0, NULL) || !eat(j, ':')))
			return false;
		if (!value_skip(j))
			return false;
	} while (eat(j, ','));
	j->depth--;
	return eat(j, object ? '}' : ']');
}

static bool
value_skip(struct json *j)
{
	ws(j);
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '"':
		return string(j, NULL, 0, NULL);
	case '{':
		j->p++;
		return container_skip(j, true);
	case '[':
		j->p++;
		return container_skip(j, false);
	case 't':
		return literal(j, "true");
	case 'f':
		return literal(j, "false");
	case 'n':
		return literal(j, "null");
	default:
		return number(j, NULL);
	}
}

/* "symbols": {"NAME": {...}, ...}: the names, in reply order. */
static bool
symbols(struct json *j, struct scan_result *r)
{
	char name[128];
	size_t len;

	r->symbols[0] = '\0';
	if (!eat(j, '{'))
		return false;
	if (eat(j, '}'))
		return true;
	do {
		if (!string(j, name, sizeof(name), &len) || !eat(j, ':') || !value_skip(j))
			return false;
		scan_symbols_add(r->symbols, sizeof(r->symbols), (const uint8_t *)name,
		    strlen(name));
	} while (eat(j, ','));
	return eat(j, '}');
}

struct reply_members {
	bool	score, required, action, error;
	char	error_text[64];
};

static bool
member(struct json *j, const char *key, struct scan_result *r, struct reply_members *m)
{
	ws(j);
	if (strcmp(key, "score") == 0 && !m->score) {
		m->score = true;
		return number(j, &r->score);
	}
	if (strcmp(key, "required_score") == 0 && !m->required) {
		m->required = true;
		return number(j, &r->threshold);
	}
	if (strcmp(key, "action") == 0 && !m->action) {
		char raw[sizeof(r->action)];
		size_t len;
		m->action = true;
		if (!string(j, raw, sizeof(raw), &len))
			return false;
		scan_copy_text(r->action, sizeof(r->action), (const uint8_t *)raw,
		    len < sizeof(raw) ? len : sizeof(raw) - 1);
		return true;
	}
	if (strcmp(key, "symbols") == 0)
		return symbols(j, r);
	if (strcmp(key, "error") == 0) {
		m->error = true;
		return j->p < j->end && *j->p == '"' ?
		    string(j, m->error_text, sizeof(m->error_text), NULL) : value_skip(j);
	}
	return value_skip(j);
}

static bool
reply_object(struct json *j, struct scan_result *r, struct reply_members *m)
{
	char key[64];

	if (!eat(j, '{'))
		return false;
	if (!eat(j, '}')) {
		do {
			if (!string(j, key, sizeof(key), NULL) || !eat(j, ':') ||
			    !member(j, key, r, m))
				return false;
		} while (eat(j, ','));
		if (!eat(j, '}'))
			return false;
	}
	ws(j);
	return j->p == j->end;
}

/* The actions rspamd takes for spam (rspamd.com/doc/configuration/metrics.html). */
static bool
action_is_spam(const char *a)
{
	return strcmp(a, "reject") == 0 || strcmp(a, "add header") == 0 ||
	    strcmp(a, "rewrite subject") == 0;
}

static enum scan_parse
bad(struct scan_result *r, const char *why)
{
	snprintf(r->why, sizeof(r->why), "bad reply: %s", why);
	return SCAN_PARSE_BAD;
}

static enum scan_parse
json_body(const uint8_t *p, size_t len, struct scan_result *r)
{
	struct json j = { p, p + len, 0 };
	struct reply_members m = { 0 };

	r->action[0] = '\0';
	if (!reply_object(&j, r, &m))
		return bad(r, "not the JSON object of /checkv2");
	if (m.error) {
		char text[80];
		scan_copy_text(text, sizeof(text), (const uint8_t *)m.error_text,
		    strlen(m.error_text));
		r->status = SCAN_STATUS_TEMPFAIL;
		snprintf(r->why, sizeof(r->why), "rspamd error: %s", text);
		return SCAN_PARSE_DONE;
	}
	if (!m.score || !m.action)
		return bad(r, "no score or no action");
	r->spam = action_is_spam(r->action);
	r->status = SCAN_STATUS_OK;
	r->why[0] = '\0';
	return SCAN_PARSE_DONE;
}

/* ---- HTTP ------------------------------------------------------------- */

static size_t
http_head_end(const uint8_t *buf, size_t len)
{
	size_t lim = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;

	for (size_t i = 0; i + 4 <= lim; i++)
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
			return i + 4;
	return 0;
}

struct http_head {
	unsigned	status;
	bool		has_length;
	uint64_t	length;
};

/* The status line and the two headers that frame the body. */
static const char *
http_head(const uint8_t *buf, size_t hend, struct http_head *h)
{
	size_t i = 0, e;

	if (hend < 14 || (memcmp(buf, "HTTP/1.1 ", 9) != 0 && memcmp(buf, "HTTP/1.0 ", 9) != 0))
		return "no HTTP status line";
	h->status = 0;
	for (i = 9; i < 12; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return "no HTTP status code";
		h->status = h->status * 10 + (unsigned)(buf[i] - '0');
	}
	if (buf[12] != ' ' && buf[12] != '\r')
		return "no HTTP status code";
	for (i = 0; memcmp(buf + i, "\r\n", 2) != 0; i++)
		;
	for (i += 2; i + 2 < hend; i = e + 2) {
		for (e = i; memcmp(buf + e, "\r\n", 2) != 0; e++)
			;
		const uint8_t *colon = memchr(buf + i, ':', e - i);
		if (colon == NULL)
			return "HTTP header line without a colon";
		size_t nlen = (size_t)(colon - (buf + i)), v = (size_t)(colon - buf) + 1;
		while (v < e && (buf[v] == ' ' || buf[v] == '\t'))
			v++;
		if (nlen == 17 && strncasecmp((const char *)buf + i, "Transfer-Encoding", 17) == 0 &&
		    !(e - v == 8 && strncasecmp((const char *)buf + v, "identity", 8) == 0))
			return "a Transfer-Encoding rspamd never uses";
		if (nlen == 14 && strncasecmp((const char *)buf + i, "Content-Length", 14) == 0) {
			uint64_t n = 0;
			if (h->has_length || v == e)
				return "bad Content-Length";
			for (size_t k = v; k < e; k++) {
				if (buf[k] < '0' || buf[k] > '9' || n > SCAN_REPLY_MAX)
					return "bad Content-Length";
				n = n * 10 + (uint64_t)(buf[k] - '0');
			}
			h->has_length = true;
			h->length = n;
		}
	}
	return NULL;
}

enum scan_parse
scan_rspamd_parse(const uint8_t *buf, size_t len, bool eof, struct scan_result *r)
{
	size_t hend = http_head_end(buf, len);
	struct http_head h = { 0 };
	const char *why;

	if (hend == 0) {
		if (len >= HTTP_HEAD_MAX)
			return bad(r, "HTTP header section too long");
		return eof ? bad(r, len == 0 ? "no answer" : "cut short") : SCAN_PARSE_MORE;
	}
	if ((why = http_head(buf, hend, &h)) != NULL)
		return bad(r, why);
	if (h.status != 200) {
		r->status = SCAN_STATUS_TEMPFAIL;
		snprintf(r->why, sizeof(r->why), "rspamd answered HTTP %u", h.status);
		return SCAN_PARSE_DONE;
	}
	size_t have = len - hend;
	if (h.has_length ? have < h.length : !eof)
		return eof ? bad(r, "body cut short") : SCAN_PARSE_MORE;
	return json_body(buf + hend, h.has_length ? (size_t)h.length : have, r);
}
