// SOURCES: relay/mtasts_parse.c lib/sts_policy.c lib/addr.c lib/addr_intl.c lib/util.c lib/log.c lib/utf8.c
// LIBS: -lidn2 -lunistring
/*
 * tests/fuzz/fuzz_relay_mtasts.c - what the relay reads for MTA-STS: the
 * HTTP/1.0 response of a policy host and the policy text in its body
 * (lib/sts_policy.c), the _mta-sts TXT record and its own cache file
 * (relay/mtasts_parse.c). The body must lie inside the input, a policy
 * that parses has a known mode, at most STS_MX_MAX lowercase mx patterns,
 * and matching a host against it never reads past the patterns; an id
 * found is 1 to 32 letters and digits.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../relay/mtasts.h"
#include "sts_policy.h"

static void
check_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > MTASTS_ID_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]))
			abort();
}

/* The input as TXT records (split at NUL bytes, as a resolver could not
 * send them, so each is a C string) and as a cache file. */
static void
other_readers(const uint8_t *data, size_t size)
{
	char text[4096 + 1], id[MTASTS_ID_MAX + 1];
	const char *txt[8];
	size_t n = 0, len = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	struct sts_policy p;
	time_t expires;

	memcpy(text, data, len);
	text[len] = '\0';
	for (size_t i = 0; i < len && n < 8; i += strlen(text + i) + 1)
		txt[n++] = text + i;
	if (mtasts_txt_id(txt, n, id) == 1)
		check_id(id);
	if (mtasts_cache_parse((const char *)data, size, id, &expires, &p) == 0)
		check_id(id);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *body;
	size_t bodylen;
	struct sts_policy p;
	char why[200];
	bool plain;
	int status;

	other_readers(data, size);
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
