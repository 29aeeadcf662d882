// SOURCES: screen/dmarc.c screen/message.c screen/score.c screen/dnscache.c lib/config.c lib/config_dest.c lib/config_screen.c lib/config_scan.c lib/hostport.c lib/addr.c lib/addr_intl.c lib/util.c lib/log.c lib/utf8.c
// LIBS: -lidn2 -lpsl -lcrypto -lunistring
/*
 * tests/fuzz/fuzz_dmarc_record.c - the DMARC record parser
 * (screen/dmarc.c) on arbitrary TXT bytes, and the organizational domain
 * and alignment on arbitrary names.
 * Input: the whole input is one record; its first line, lowercased, is
 * also taken as a domain name. Checks: no crash or UB; a record is
 * DMARC only if it starts with v=DMARC1 (after optional white space);
 * the parsed policy fields are in range (pct 0..100, p/sp known, p
 * implied only as none); parsing is deterministic and a prefix ending
 * inside the first tag is never DMARC; the organizational domain of a
 * name is a suffix of it at a label boundary, its own organizational
 * domain, and aligned (relaxed) with the name; strict alignment implies
 * relaxed.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../screen/dmarc.h"
#include "../../lib/addr.h"

static void
check_record(const char *txt, size_t len)
{
	struct dmarc_record r, again;
	enum dmarc_record_status st = dmarc_record_parse(txt, len, &r);

	if (st != dmarc_record_parse(txt, len, &again))
		abort();
	if (st == DMARC_RECORD_OK &&
	    (r.p != again.p || r.sp != again.sp || r.pct != again.pct ||
	    r.adkim_strict != again.adkim_strict || r.aspf_strict != again.aspf_strict))
		abort();
	if (st != DMARC_RECORD_OK)
		return;
	if (r.pct > 100 || r.p > DMARC_POLICY_REJECT || r.sp > DMARC_POLICY_REJECT)
		abort();
	if (r.p_implied && (r.p != DMARC_POLICY_NONE || r.sp != DMARC_POLICY_NONE))
		abort();
	/* "v=DMARC1" must be there, first */
	size_t i = 0;
	while (i < len && strchr(" \t\r\n", txt[i]) != NULL)
		i++;
	if (i + 1 > len || (txt[i] != 'v' && txt[i] != 'V'))
		abort();
	if (len >= 1 && dmarc_record_parse(txt, i + 1, &again) != DMARC_RECORD_NOT_DMARC)
		abort();
}

static void
check_domain(const char *name)
{
	char org[ADDR_DOMAIN_MAX + 1], org2[ADDR_DOMAIN_MAX + 1];
	size_t n = strlen(name), o;

	if (dmarc_aligned(name, name, true) != (n > 0))
		abort();
	if (dmarc_org_domain(name, org, sizeof(org)) != 0)
		return;
	o = strlen(org);
	if (o == 0 || o > n || strcmp(name + n - o, org) != 0 ||
	    (o < n && name[n - o - 1] != '.'))
		abort();
	if (dmarc_org_domain(org, org2, sizeof(org2)) != 0 || strcmp(org, org2) != 0)
		abort();
	if (!dmarc_aligned(name, org, false) || !dmarc_aligned(org, name, false))
		abort();
	if (dmarc_aligned(name, org, true) && strcmp(name, org) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[ADDR_DOMAIN_MAX + 1];
	size_t n = 0;

	if (size > 4096)
		return 0;
	check_record((const char *)data, size);
	while (n < size && n < ADDR_DOMAIN_MAX && data[n] != '\n' && data[n] != '\0') {
		name[n] = (char)tolower(data[n]);
		n++;
	}
	name[n] = '\0';
	check_domain(name);
	return 0;
}
