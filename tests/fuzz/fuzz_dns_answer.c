// SOURCES: screen/resolver.c screen/dnscache.c lib/log.c lib/util.c lib/metrics.c
// LIBS: -lcares -levent -lresolv
/*
 * tests/fuzz/fuzz_dns_answer.c - the screen resolver's answer parsing
 * (resolver_parse_answer, screen/resolver.c) on any packet a DNS server
 * could send: byte 0 picks the query type, byte 1 the c-ares status (
 * mostly success), the rest is the packet. Whatever it is, the result must
 * keep dnsview.h's promises: at most DV_RR_MAX records, an answer only
 * with records, NUL-terminated text within DV_TXT_MAX, addresses that
 * parse, PTR/MX names that are lowercase host names.
 */
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#include "../../screen/dnscache.h"
#include "../../screen/resolver.h"

static void
check_rr(enum dv_type type, const struct dv_rr *rr)
{
	char norm[DV_NAME_MAX + 1];
	unsigned char addr[16];

	if (rr->len > DV_TXT_MAX || rr->data[rr->len] != '\0')
		abort();
	if (type == DV_TXT)
		return;
	if (strlen(rr->data) != rr->len)
		abort();
	if (type == DV_A && inet_pton(AF_INET, rr->data, addr) != 1)
		abort();
	if (type == DV_AAAA && inet_pton(AF_INET6, rr->data, addr) != 1)
		abort();
	if (type != DV_PTR && (type != DV_MX || rr->len == 0))
		return;
	if (dns_name_normalize(rr->data, norm, sizeof(norm)) == -1 || strcmp(norm, rr->data) != 0)
		abort();
	for (size_t i = 0; i < rr->len; i++)	/* host-name bytes only */
		if (strchr("abcdefghijklmnopqrstuvwxyz0123456789.-_", rr->data[i]) == NULL)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct resolver_answer a;
	static const int statuses[] = { ARES_ENODATA, ARES_ENOTFOUND, ARES_ESERVFAIL,
	    ARES_ETIMEOUT, ARES_EBADRESP };

	if (size < 2 || size > 65535 + 2)
		return 0;
	enum dv_type type = (enum dv_type)(DV_A + data[0] % DV_TYPE_MAX);
	int status = data[1] < 200 ? ARES_SUCCESS : statuses[data[1] % 5];
	resolver_parse_answer(type, status, data + 2, (int)(size - 2), &a);
	if (a.n > DV_RR_MAX || (a.status == DV_OK) != (a.n > 0) || a.status == DV_MISS)
		abort();
	if (status != ARES_SUCCESS && a.status == DV_OK)
		abort();
	for (size_t i = 0; i < a.n; i++)
		check_rr(type, &a.rr[i]);
	return 0;
}
