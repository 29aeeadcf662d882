// SOURCES: admin/dnsraw.c screen/dnscache.c lib/util.c lib/log.c
// LIBS: -lresolv -lcares
/*
 * tests/fuzz/fuzz_dnsraw.c - the doctor's reader of raw DNS answers
 * (admin/dnsraw.c: CNAME, TLSA, type 99) on arbitrary packets.
 * Input: the first byte picks the asked type (CNAME, TLSA, SPF) and the
 * c-ares status (success, or an error without a usable packet); the rest
 * is the packet. Checks: no crash or UB; the status is one of the final
 * ones; at most DNSRAW_RR_MAX records, each of the asked type or a CNAME,
 * with at most DNSRAW_RDATA_MAX octets kept and a valid lowercase owner;
 * DV_OK exactly when a record of the asked type is there; TLSA fields and
 * joined TXT text stay inside their buffers; parsing is deterministic.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#include "../../admin/dnsraw.h"
#include "../../screen/dnscache.h"

static const uint16_t qtypes[] = { DNSRAW_T_CNAME, DNSRAW_T_TLSA, DNSRAW_T_SPF };

static void
check_rr(const struct dnsraw_rr *r, uint16_t qtype)
{
	char norm[DV_NAME_MAX + 1], text[DNSRAW_RDATA_MAX + 1];
	const unsigned char *data;
	unsigned u, s, m;
	size_t len;

	if (r->type != qtype && r->type != DNSRAW_T_CNAME)
		abort();
	if (r->len > DNSRAW_RDATA_MAX || (r->cut && r->len != DNSRAW_RDATA_MAX))
		abort();
	if (dns_name_normalize(r->owner, norm, sizeof(norm)) != 0 || strcmp(norm, r->owner) != 0)
		abort();
	if (r->type == DNSRAW_T_CNAME && (dns_name_normalize(r->target, norm, sizeof(norm)) != 0 ||
	    strcmp(norm, r->target) != 0))
		abort();
	if (dnsraw_tlsa(r, &u, &s, &m, &data, &len) == 0 &&
	    (u > 255 || data != r->data + 3 || len + 3 != r->len))
		abort();
	if (dnsraw_txt(r, text, sizeof(text)) == 0 && strlen(text) > r->len)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dnsraw_answer a, again;
	uint16_t qtype;
	int status;
	size_t nq = 0;

	if (size < 1)
		return 0;
	qtype = qtypes[data[0] % 3];
	status = (data[0] & 0x80) ? ARES_ETIMEOUT : ARES_SUCCESS;
	dnsraw_parse(status, data + 1, size - 1, qtype, &a);
	if (a.status != DV_OK && a.status != DV_NXDOMAIN && a.status != DV_NODATA &&
	    a.status != DV_TEMPFAIL)
		abort();
	if (a.n > DNSRAW_RR_MAX)
		abort();
	for (size_t i = 0; i < a.n; i++) {
		check_rr(&a.rr[i], qtype);
		nq += a.rr[i].type == qtype;
	}
	if ((a.status == DV_OK) != (nq > 0))
		abort();
	dnsraw_parse(status, data + 1, size - 1, qtype, &again);
	if (memcmp(&a, &again, sizeof(a)) != 0)
		abort();
	return 0;
}
