/*
 * admin/doctor_sts.c - the MTA-STS policy as a sender sees it (RFC 8461):
 * fetched over HTTPS from mta-sts.DOMAIN with a certificate that verifies
 * for that name, HTTP status 200 (redirects are not followed, 3.3), at
 * most 64 KiB, then parsed (3.2).
 *
 * Owns: the HTTP/1.0 request and the reading of its response; the policy
 * grammar and the response reader are lib/sts_policy.c (the relay uses
 * them too), fuzzed (tests/fuzz/fuzz_doctor_records.c). HTTP/1.0 so that
 * the server sends the body as it is, without chunked coding. The addresses were resolved
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
