// SOURCES: admin/taglist.c admin/doctor_sts.c lib/sts_policy.c admin/doctor_net.c lib/addr.c lib/addr_intl.c lib/util.c lib/log.c lib/utf8.c
// LIBS: -lidn2 -lssl -lcrypto -lunistring
/*
 * tests/fuzz/fuzz_doctor_records.c - the doctor's readers of text from the
 * network: tag=value lists and DKIM key records (admin/taglist.c), the
 * MTA-STS policy and the HTTP response that carries it
 * (admin/doctor_sts.c).
 * Input: the whole input, given to each reader; its first line is also a
 * host name for the policy's mx matching. Checks: no crash or UB; values
 * fit their buffers; a DKIM p= holds no blank; the HTTP body lies inside
 * the input; a parsed policy has a known mode, max_age at most a year,
 * at most STS_MX_MAX lowercase mx patterns; mx matching is
 * case-insensitive and never matches an empty name; every reader is
 * deterministic.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../admin/doctor.h"
#include "../../admin/taglist.h"

static void
check_taglist(const char *txt, size_t len)
{
	char name[16], value[64], v2[64];

	int first = taglist_first(txt, len, name, sizeof(name), value, sizeof(value));
	if (first == 1 && (strlen(name) >= sizeof(name) || strlen(value) >= sizeof(value)))
		abort();
	int g = taglist_get(txt, len, "v", value, sizeof(value));
	if (g != taglist_get(txt, len, "v", v2, sizeof(v2)) || (g == 1 && strcmp(value, v2) != 0))
		abort();
	(void)taglist_valid(txt, len);
}

static void
check_dkim(const char *txt, size_t len)
{
	static char p[TAGLIST_DKIM_P_MAX];
	char k[16], why[80];

	if (dkim_record_key(txt, len, p, sizeof(p), k, sizeof(k), why, sizeof(why)) == 0 &&
	    (strpbrk(p, " \t\r\n") != NULL || strlen(k) >= sizeof(k)))
		abort();
}

static void
check_policy(const char *txt, size_t len, const char *host)
{
	static struct sts_policy p;
	char why[120], upper[ADDR_DOMAIN_MAX + 1];

	if (sts_policy_parse(txt, len, &p, why, sizeof(why)) != 0)
		return;
	if (p.mode > STS_MODE_ENFORCE || p.max_age > 31557600UL || p.nmx > STS_MX_MAX)
		abort();
	for (size_t i = 0; i < p.nmx; i++)
		for (const char *c = p.mx[i]; *c != '\0'; c++)
			if (isupper((unsigned char)*c))
				abort();
	if (sts_policy_mx_matches(&p, ""))
		abort();
	snprintf(upper, sizeof(upper), "%s", host);
	for (char *c = upper; *c != '\0'; c++)
		*c = (char)toupper((unsigned char)*c);
	if (sts_policy_mx_matches(&p, host) != sts_policy_mx_matches(&p, upper))
		abort();
}

static void
check_http(const char *buf, size_t len)
{
	const char *body;
	size_t bodylen;
	bool plain;
	int status;
	char why[100];

	if (sts_http_response(buf, len, &status, &body, &bodylen, &plain, why, sizeof(why)) != 0)
		return;
	if (status < 0 || status > 999 || body < buf || body + bodylen > buf + len)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char host[ADDR_DOMAIN_MAX + 1];
	const char *txt = (const char *)data;
	size_t n = 0;

	while (n < size && n < sizeof(host) - 1 && data[n] != '\n' && data[n] != '\0') {
		host[n] = (char)data[n];
		n++;
	}
	host[n] = '\0';
	check_taglist(txt, size);
	check_dkim(txt, size);
	check_policy(txt, size, host);
	check_http(txt, size);
	return 0;
}
