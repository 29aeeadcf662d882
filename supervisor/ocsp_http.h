/*
 * supervisor/ocsp_http.h - the HTTP of an OCSP fetch (RFC 6960 A.1): the
 * POST request, and the one response it reads back.
 */
#ifndef SUPERVISOR_OCSP_HTTP_H
#define SUPERVISOR_OCSP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define OCSP_HOST_MAX	256
#define OCSP_PATH_MAX	256

/* "http://host[:port][/path]" (host a name, an IPv4 address or [IPv6]):
 * 0, or -1 with *why. path is "/" when the URI has none. */
int	ocsp_uri_parse(const char *uri, char host[OCSP_HOST_MAX], uint16_t *port,
	    char path[OCSP_PATH_MAX], const char **why);

/* The request head for a DER body of body_len bytes: its length, or -1
 * when out is too small. */
int	ocsp_http_request_head(const char *host, uint16_t port, const char *path,
	    size_t body_len, char *out, size_t size);

/*
 * A whole response as read until the server closed (len bytes): status
 * 200, no Transfer-Encoding (an HTTP/1.0 request gets none), the body is
 * what follows the head, cut to Content-Length when there is one (and it
 * must all be there). 0 with *body and *body_len pointing into buf, or -1
 * with *why.
 */
int	ocsp_http_response(const char *buf, size_t len, const char **body, size_t *body_len,
	    const char **why);

#endif
