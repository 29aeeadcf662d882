/*
 * admin/doctor_sts.c - the MTA-STS policy as a sender sees it (RFC 8461):
 * fetched over HTTPS from mta-sts.DOMAIN with a certificate that verifies
 * for that name, HTTP status 200 (redirects are not followed, 3.3), at
 * most 64 KiB, then parsed (3.2).
 *
 * Owns: the HTTP/1.0 request and the reading of its response, and the
 * policy grammar; both parsers take bytes from the network and are fuzzed
 * (tests/fuzz/fuzz_doctor_records.c). HTTP/1.0 so that the server sends
 * the body as it is, without chunked coding. The addresses were resolved
 * by the doctor's resolver (admin/doctor_policy.c), never the system's.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "doctor.h"
#include "doctor_net.h"

#define STS_HEADER_MAX		8192
#define STS_MAX_AGE_LIMIT	31557600UL	/* RFC 8461 3.2: one year */
#define STS_LINE_MAX		1024

/* ---- the policy ---------------------------------------------------------------- */

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static int
set_mode(struct sts_policy *p, const char *v, char *why, size_t whysize)
{
	if (strcmp(v, "enforce") == 0)
		p->mode = STS_MODE_ENFORCE;
	else if (strcmp(v, "testing") == 0)
		p->mode = STS_MODE_TESTING;
	else if (strcmp(v, "none") == 0)
		p->mode = STS_MODE_NONE;
	else {
		snprintf(why, whysize, "mode '%.40s' is not enforce, testing or none", v);
		return -1;
	}
	return 0;
}

static int
set_max_age(struct sts_policy *p, const char *v, char *why, size_t whysize)
{
	size_t n = strlen(v);
	char *end;

	if (n == 0 || n > 10 || strspn(v, "0123456789") != n) {
		snprintf(why, whysize, "max_age '%.40s' is not a number of seconds", v);
		return -1;
	}
	p->max_age = strtoul(v, &end, 10);
	if (p->max_age > STS_MAX_AGE_LIMIT)
		p->max_age = STS_MAX_AGE_LIMIT;
	return 0;
}

static int
add_mx(struct sts_policy *p, const char *v, char *why, size_t whysize)
{
	const char *name = strncmp(v, "*.", 2) == 0 ? v + 2 : v;
	size_t n = strlen(v);

	if (!domain_is_valid(name, strlen(name)) || n > ADDR_DOMAIN_MAX) {
		snprintf(why, whysize, "mx '%.60s' is not a host name or *.suffix", v);
		return -1;
	}
	if (p->nmx == STS_MX_MAX)
		return 0;	/* more than we compare against */
	memcpy(p->mx[p->nmx], v, n + 1);
	for (char *s = p->mx[p->nmx]; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
	p->nmx++;
	return 0;
}

/* One "key: value" line. */
static int
policy_line(struct sts_policy *p, const char *line, size_t len, unsigned *seen, char *why,
    size_t whysize)
{
	char key[32], value[STS_LINE_MAX];
	const char *colon = memchr(line, ':', len);
	size_t kl, vs, ve;

	if (colon == NULL || (kl = (size_t)(colon - line)) == 0 || kl >= sizeof(key)) {
		snprintf(why, whysize, "a line without 'key: value'");
		return -1;
	}
	memcpy(key, line, kl);
	key[kl] = '\0';
	for (vs = kl + 1; vs < len && is_wsp(line[vs]); vs++)
		;
	for (ve = len; ve > vs && is_wsp(line[ve - 1]); ve--)
		;
	if (ve - vs >= sizeof(value) || memchr(line + vs, '\0', ve - vs) != NULL) {
		snprintf(why, whysize, "the value of %s is too long", key);
		return -1;
	}
	memcpy(value, line + vs, ve - vs);
	value[ve - vs] = '\0';
	if (strcmp(key, "version") == 0) {
		*seen |= 1;
		if (strcmp(value, "STSv1") != 0) {
			snprintf(why, whysize, "version is not STSv1");
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "mode") == 0) {
		*seen |= 2;
		return set_mode(p, value, why, whysize);
	}
	if (strcmp(key, "max_age") == 0) {
		*seen |= 4;
		return set_max_age(p, value, why, whysize);
	}
	if (strcmp(key, "mx") == 0)
		return add_mx(p, value, why, whysize);
	return 0;	/* other keys are extensions: ignored (3.2) */
}

int
sts_policy_parse(const char *text, size_t len, struct sts_policy *p, char *why,
    size_t whysize)
{
	unsigned seen = 0;
	size_t i = 0;

	memset(p, 0, sizeof(*p));
	while (i < len) {
		size_t start = i, end;
		while (i < len && text[i] != '\n')
			i++;
		end = i;
		if (i < len)
			i++;
		if (end > start && text[end - 1] == '\r')
			end--;
		if (end == start)
			continue;
		if (end - start > STS_LINE_MAX) {
			snprintf(why, whysize, "a line longer than %d bytes", STS_LINE_MAX);
			return -1;
		}
		if (policy_line(p, text + start, end - start, &seen, why, whysize) == -1)
			return -1;
	}
	if ((seen & 7) != 7) {
		snprintf(why, whysize, "no %s line", !(seen & 1) ? "version" : !(seen & 2) ?
		    "mode" : "max_age");
		return -1;
	}
	if (p->nmx == 0 && p->mode != STS_MODE_NONE) {
		snprintf(why, whysize, "no mx line");
		return -1;
	}
	return 0;
}

bool
sts_policy_mx_matches(const struct sts_policy *p, const char *host)
{
	char h[ADDR_DOMAIN_MAX + 1];
	size_t n;

	if (snprintf(h, sizeof(h), "%s", host) >= (int)sizeof(h))
		return false;
	n = strlen(h);
	if (n > 0 && h[n - 1] == '.')
		h[--n] = '\0';
	for (size_t i = 0; i < p->nmx; i++) {
		const char *pat = p->mx[i];
		if (strncmp(pat, "*.", 2) == 0) {
			const char *dot = strchr(h, '.');
			if (dot != NULL && dot != h && strcasecmp(dot + 1, pat + 2) == 0)
				return true;
		} else if (strcasecmp(pat, h) == 0)
			return true;
	}
	return false;
}

/* ---- the HTTP response ------------------------------------------------------------- */

/* The end of the header section: the first empty line. */
static const char *
header_end(const char *buf, size_t len, size_t *skip)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] == '\n' && buf[i + 1] == '\n') {
			*skip = 2;
			return buf + i;
		}
		if (i + 3 < len && memcmp(buf + i, "\r\n\r\n", 4) == 0) {
			*skip = 4;
			return buf + i;
		}
	}
	return NULL;
}

/* The value of header name in [h, end), or NULL. */
static const char *
header_value(const char *h, const char *end, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);

	for (const char *line = h; line < end;) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		const char *le = eol != NULL ? eol : end;
		if ((size_t)(le - line) > nl && strncasecmp(line, name, nl) == 0 &&
		    line[nl] == ':') {
			const char *v = line + nl + 1;
			while (v < le && is_wsp(*v))
				v++;
			*vlen = (size_t)(le - v);
			while (*vlen > 0 && (v[*vlen - 1] == '\r' || is_wsp(v[*vlen - 1])))
				(*vlen)--;
			return v;
		}
		line = le + 1;
	}
	return NULL;
}

int
sts_http_response(const char *buf, size_t len, int *status, const char **body,
    size_t *bodylen, bool *text_plain, char *why, size_t whysize)
{
	const char *end, *v;
	size_t skip = 0, vlen;

	*text_plain = false;
	if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' ||
	    !isdigit((unsigned char)buf[9]) || !isdigit((unsigned char)buf[10]) ||
	    !isdigit((unsigned char)buf[11])) {
		snprintf(why, whysize, "not an HTTP response");
		return -1;
	}
	*status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	if ((end = header_end(buf, len, &skip)) == NULL) {
		snprintf(why, whysize, "the HTTP header does not end");
		return -1;
	}
	*body = end + skip;
	*bodylen = len - (size_t)(*body - buf);
	if ((v = header_value(buf, end, "Transfer-Encoding", &vlen)) != NULL &&
	    !(vlen == 8 && strncasecmp(v, "identity", 8) == 0)) {
		snprintf(why, whysize, "a transfer coding in reply to HTTP/1.0");
		return -1;
	}
	if ((v = header_value(buf, end, "Content-Length", &vlen)) != NULL) {
		size_t cl = 0, i;
		for (i = 0; i < vlen && i < 12 && isdigit((unsigned char)v[i]); i++)
			cl = cl * 10 + (size_t)(v[i] - '0');
		if (i == 0 || i != vlen || cl > *bodylen) {
			snprintf(why, whysize, "Content-Length does not match the body");
			return -1;
		}
		*bodylen = cl;
	}
	v = header_value(buf, end, "Content-Type", &vlen);
	*text_plain = v != NULL && vlen >= 10 && strncasecmp(v, "text/plain", 10) == 0;
	return 0;
}

/* ---- the fetch -------------------------------------------------------------------------- */

/* Reads the whole response (the server closes: HTTP/1.0) into buf. */
static ssize_t
read_response(struct dnet *c, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len < size && (n = dnet_read(c, buf + len, size - len)) > 0)
		len += (size_t)n;
	return (ssize_t)len;
}

static int
fetch_from(const char *domain, const char *addr, unsigned timeout_ms, char *buf,
    size_t size, size_t *len, char *err, size_t errsize)
{
	char host[ADDR_DOMAIN_MAX + 16], req[ADDR_DOMAIN_MAX + 160];
	struct dnet c;
	ssize_t n;

	snprintf(host, sizeof(host), "mta-sts.%s", domain);
	if (dnet_connect(&c, addr, 443, timeout_ms, err, errsize) == -1)
		return -1;
	if (dnet_tls(&c, host, host, err, errsize) == -1) {
		dnet_close(&c);
		return -1;
	}
	snprintf(req, sizeof(req), "GET /.well-known/mta-sts.txt HTTP/1.0\r\nHost: %s\r\n"
	    "User-Agent: homemx-doctor\r\nConnection: close\r\n\r\n", host);
	if (dnet_write(&c, req, strlen(req)) == -1 ||
	    (n = read_response(&c, buf, size)) <= 0) {
		snprintf(err, errsize, "%s: no HTTP response", addr);
		dnet_close(&c);
		return -1;
	}
	dnet_close(&c);
	*len = (size_t)n;
	return 0;
}

void
sts_fetch(const char *domain, struct sts_fetch *f, unsigned timeout_ms)
{
	static char buf[STS_HEADER_MAX + STS_BODY_MAX + 1];
	char why[200];
	const char *body;
	size_t len = 0, bodylen;
	bool plain;
	int status;

	f->done = true;
	f->ok = false;
	snprintf(f->error, sizeof(f->error), "no address to fetch it from");
	for (size_t i = 0; i < f->naddrs; i++) {
		if (fetch_from(domain, f->addrs[i], timeout_ms, buf, sizeof(buf) - 1, &len,
		    f->error, sizeof(f->error)) == 0)
			break;
		len = 0;
	}
	if (len == 0)
		return;
	if (sts_http_response(buf, len, &status, &body, &bodylen, &plain, why,
	    sizeof(why)) == -1) {
		snprintf(f->error, sizeof(f->error), "%s", why);
		return;
	}
	if (status != 200) {
		snprintf(f->error, sizeof(f->error), "HTTP status %d (senders want 200 and follow "
		    "no redirect, RFC 8461 3.3)", status);
		return;
	}
	if (bodylen > STS_BODY_MAX) {
		snprintf(f->error, sizeof(f->error), "the policy is larger than 64 KiB");
		return;
	}
	if (sts_policy_parse(body, bodylen, &f->policy, why, sizeof(why)) == -1) {
		snprintf(f->error, sizeof(f->error), "the policy does not parse: %s%s", why,
		    plain ? "" : " (and it is not served as text/plain)");
		return;
	}
	f->ok = true;
	f->error[0] = '\0';
}
