// SOURCES: lib/sts_policy.c lib/addr.c lib/util.c lib/log.c
// LIBS: -lidn2
/*
 * tests/fuzz/fuzz_relay_mtasts.c - what the relay reads from an MTA-STS
 * policy host (lib/sts_policy.c): the HTTP/1.0 response and the policy
 * text in its body. The body must lie inside the input, a policy that
 * parses has a known mode, at most STS_MX_MAX lowercase mx patterns, and
 * matching a host against it never reads past the patterns.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sts_policy.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *body;
	size_t bodylen;
	struct sts_policy p;
	char why[200];
	bool plain;
	int status;

	if (sts_http_response(buf, size, &status, &body, &bodylen, &plain, why,
	    sizeof(why)) == 0) {
		if (body < buf || body + bodylen > buf + size || status < 0 || status > 999)
			abort();
	} else {
		body = buf;
		bodylen = size;
	}
	if (sts_policy_parse(body, bodylen, &p, why, sizeof(why)) == 0) {
		if (p.mode > STS_MODE_ENFORCE || p.nmx > STS_MX_MAX)
			abort();
		for (size_t i = 0; i < p.nmx; i++)
			for (const char *c = p.mx[i]; *c != '\0'; c++)
				if (isupper((unsigned char)*c))
					abort();
		(void)sts_policy_mx_matches(&p, "mx.example.test");
	}
	return 0;
}
