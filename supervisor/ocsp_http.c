/*
 * supervisor/ocsp_http.c - the HTTP of an OCSP fetch: parse the
 * responder's URI, write the request head, parse the response.
 *
 * Owns: nothing; pure functions over buffers, fuzzed (tests/fuzz/
 * fuzz_ocsp_http.c) because the response comes from the network. Why so
 * little HTTP: RFC 6960 A.1 asks for a POST of the DER request and a DER
 * body back; an HTTP/1.0 request with "Connection: close" gets a body that
 * ends where the connection does, so neither chunked encoding nor
 * keep-alive is needed. The response is read whole (a few KB) before it is
 * parsed.
 */
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ocsp_http.h"
#include "tlsocsp.h"

/* host: a DNS name, a dotted IPv4 address, or an IPv6 literal in []. */
static int
take_host(const char *s, size_t n, char host[OCSP_HOST_MAX])
{
	unsigned char bin[16];

	if (n == 0 || n >= OCSP_HOST_MAX)
		return -1;
	if (s[0] == '[') {
		if (n < 3 || s[n - 1] != ']')
			return -1;
		snprintf(host, OCSP_HOST_MAX, "%.*s", (int)(n - 2), s + 1);
		return inet_pton(AF_INET6, host, bin) == 1 ? 0 : -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
			return -1;
	snprintf(host, OCSP_HOST_MAX, "%.*s", (int)n, s);
	return 0;
}

int
ocsp_uri_parse(const char *uri, char host[OCSP_HOST_MAX], uint16_t *port,
    char path[OCSP_PATH_MAX], const char **why)
{
	const char *h, *slash, *colon;
	size_t hostlen;

	*why = "expected http://HOST[:PORT][/PATH]";
	if (strncasecmp(uri, "http://", 7) != 0)
		return -1;
	h = uri + 7;
	slash = strchr(h, '/');
	size_t authlen = slash != NULL ? (size_t)(slash - h) : strlen(h);
	colon = NULL;
	for (size_t i = authlen; i > 0; i--)
		if (h[i - 1] == ':' || h[i - 1] == ']') {
			if (h[i - 1] == ':')
				colon = h + i - 1;
			break;
		}
	hostlen = colon != NULL ? (size_t)(colon - h) : authlen;
	*port = 80;
	if (colon != NULL) {
		char *end;
		if (!isdigit((unsigned char)colon[1]))
			return -1;
		errno = 0;
		unsigned long p = strtoul(colon + 1, &end, 10);
		if (errno != 0 || end != h + authlen || p == 0 || p > 65535)
			return -1;
		*port = (uint16_t)p;
	}
	if (take_host(h, hostlen, host) == -1)
		return -1;
	const char *p = slash != NULL ? slash : "/";
	if (strlen(p) >= OCSP_PATH_MAX || strpbrk(p, " \t\r\n") != NULL)
		return -1;
	snprintf(path, OCSP_PATH_MAX, "%s", p);
	return 0;
}

int
ocsp_http_request_head(const char *host, uint16_t port, const char *path, size_t body_len,
    char *out, size_t size)
{
	char hostport[OCSP_HOST_MAX + 16];
	int v6 = strchr(host, ':') != NULL;	/* an IPv6 literal goes in [] */

	if (port == 80)
		snprintf(hostport, sizeof(hostport), "%s%s%s", v6 ? "[" : "", host, v6 ? "]" : "");
	else
		snprintf(hostport, sizeof(hostport), "%s%s%s:%u", v6 ? "[" : "", host,
		    v6 ? "]" : "", (unsigned)port);
	int n = snprintf(out, size, "POST %s HTTP/1.0\r\nHost: %s\r\n"
	    "Content-Type: application/ocsp-request\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", path, hostport, body_len);

	return n < 0 || (size_t)n >= size ? -1 : n;
}

/* The value of header name in head[0..len), or NULL; *vlen its length. */
static const char *
header_value(const char *head, size_t len, const char *name, size_t *vlen)
{
	size_t nlen = strlen(name);
	const char *line = memchr(head, '\n', len);	/* after the status line */

	while (line != NULL && (size_t)(line + 1 - head) < len) {
		const char *s = line + 1, *end = memchr(s, '\n', len - (size_t)(s - head));
		size_t l = end != NULL ? (size_t)(end - s) : len - (size_t)(s - head);
		if (l > nlen && strncasecmp(s, name, nlen) == 0 && s[nlen] == ':') {
			const char *v = s + nlen + 1;
			while (v < s + l && (*v == ' ' || *v == '\t'))
				v++;
			*vlen = (size_t)(s + l - v);
			if (*vlen > 0 && v[*vlen - 1] == '\r')
				(*vlen)--;
			return v;
		}
		line = end;
	}
	return NULL;
}

static const char *
find_crlfcrlf(const char *buf, size_t len)
{
	for (size_t i = 0; i + 4 <= len; i++)
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
			return buf + i;
	return NULL;
}

int
ocsp_http_response(const char *buf, size_t len, const char **body, size_t *body_len,
    const char **why)
{
	const char *end = find_crlfcrlf(buf, len), *v;
	size_t head_len, vlen;

	*why = "not an HTTP response";
	if (end == NULL || len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 ||
	    !isdigit((unsigned char)buf[7]) || buf[8] != ' ')
		return -1;
	if (memcmp(buf + 9, "200", 3) != 0 || (len > 12 && buf[12] != ' ' && buf[12] != '\r')) {
		*why = "HTTP status is not 200";
		return -1;
	}
	head_len = (size_t)(end - buf) + 2;	/* up to the last header's CRLF */
	*body = end + 4;
	*body_len = len - (size_t)(*body - buf);
	if (header_value(buf, head_len, "Transfer-Encoding", &vlen) != NULL) {
		*why = "Transfer-Encoding in an HTTP/1.0 answer";
		return -1;
	}
	if ((v = header_value(buf, head_len, "Content-Length", &vlen)) != NULL) {
		char num[24], *e;
		if (vlen == 0 || vlen >= sizeof(num) || !isdigit((unsigned char)v[0])) {
			*why = "bad Content-Length";
			return -1;
		}
		memcpy(num, v, vlen);
		num[vlen] = '\0';
		errno = 0;
		unsigned long long cl = strtoull(num, &e, 10);
		if (errno != 0 || *e != '\0' || cl > *body_len) {
			*why = "body shorter than Content-Length";
			return -1;
		}
		*body_len = (size_t)cl;
	}
	if (*body_len == 0 || *body_len > TLSOCSP_RESPONSE_MAX) {
		*why = "empty or oversized body";
		return -1;
	}
	return 0;
}
