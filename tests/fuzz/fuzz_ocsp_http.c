// SOURCES: supervisor/ocsp_http.c
/*
 * tests/fuzz/fuzz_ocsp_http.c - what an OCSP responder sends back, as
 * homemxd's fetcher parses it (supervisor/ocsp_http.c): every byte is the
 * network's. Input: byte 0 chooses between the response parser (even) and
 * the URI parser (odd: the URI comes from a certificate, which anyone can
 * make); the rest is the response or the URI. The body must lie inside
 * the input and be non-empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../supervisor/ocsp_http.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		char uri[1024], host[OCSP_HOST_MAX], path[OCSP_PATH_MAX], head[1024];
		size_t n = size - 1 < sizeof(uri) - 1 ? size - 1 : sizeof(uri) - 1;
		uint16_t port;
		const char *why;
		memcpy(uri, data + 1, n);
		uri[n] = '\0';
		if (ocsp_uri_parse(uri, host, &port, path, &why) == 0 &&
		    ocsp_http_request_head(host, port, path, 100, head, sizeof(head)) < 0)
			abort();	/* a parsed URI always fits a head */
		return 0;
	}
	/* a copy of exactly the input, so that reading past it is caught */
	char *buf = malloc(size - 1 > 0 ? size - 1 : 1);
	const char *body;
	size_t len;
	const char *why;
	memcpy(buf, data + 1, size - 1);
	if (ocsp_http_response(buf, size - 1, &body, &len, &why) == 0 &&
	    (len == 0 || body < buf || body + len > buf + size - 1))
		abort();
	free(buf);
	return 0;
}
