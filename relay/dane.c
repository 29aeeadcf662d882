/*
 * relay/dane.c - see dane.h. The packet is walked with libresolv's
 * ns_initparse/ns_parserr, which check every length against the packet.
 */
#include <arpa/nameser.h>

#include <stdint.h>
#include <string.h>

#include "dane.h"

static const size_t digest_len[] = { 0, 32, 64 };	/* by matching type */

bool
dane_tlsa_usable(const struct dane_tlsa *t)
{
	if ((t->usage != 2 && t->usage != 3) || t->selector > 1 || t->mtype > 2 ||
	    t->len == 0)
		return false;
	return t->mtype == 0 || t->len == digest_len[t->mtype];
}

/* The usability test of dane_tlsa_usable for a record not kept. */
static bool
rdata_usable(const unsigned char *rd, size_t rdlen)
{
	struct dane_tlsa t = { .usage = rd[0], .selector = rd[1], .mtype = rd[2],
	    .len = rdlen - 3 > UINT16_MAX ? UINT16_MAX : (uint16_t)(rdlen - 3) };

	return dane_tlsa_usable(&t);
}

static void
keep_record(struct dane_set *out, const unsigned char *rd, size_t rdlen)
{
	struct dane_tlsa *t;

	out->nseen++;
	/* 3 octets of fields and at least one of data (RFC 6698 2.1) */
	if (rdlen < 4)
		return;
	if (rdlen - 3 > DANE_DATA_MAX || out->n == DANE_TLSA_MAX ||
	    rdlen - 3 > DANE_SET_DATA_MAX - out->used) {
		out->dropped_usable = out->dropped_usable || rdata_usable(rd, rdlen);
		return;
	}
	t = &out->rr[out->n++];
	t->usage = rd[0];
	t->selector = rd[1];
	t->mtype = rd[2];
	t->off = (uint16_t)out->used;
	t->len = (uint16_t)(rdlen - 3);
	memcpy(out->data + out->used, rd + 3, t->len);
	out->used += t->len;
}

enum dane_rcode
dane_parse_answer(const unsigned char *pkt, size_t len, bool *ad, struct dane_set *out)
{
	ns_msg msg;
	ns_rr rr;
	int rcode, count;

	memset(out, 0, sizeof(*out));
	*ad = false;
	if (pkt == NULL || len < NS_HFIXEDSZ || len > 65535 || ns_initparse(pkt, (int)len, &msg) == -1)
		return DANE_RC_FAIL;
	rcode = ns_msg_getflag(msg, ns_f_rcode);
	*ad = ns_msg_getflag(msg, ns_f_ad) != 0;
	if (rcode == ns_r_nxdomain)
		return DANE_RC_NONE;
	if (rcode != ns_r_noerror)
		return DANE_RC_FAIL;
	count = ns_msg_count(msg, ns_s_an);
	for (int i = 0; i < count; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) == -1) {
			memset(out, 0, sizeof(*out));	/* half a set is no set */
			return DANE_RC_FAIL;
		}
		if (ns_rr_type(rr) == DNS_T_TLSA && ns_rr_class(rr) == ns_c_in)
			keep_record(out, ns_rr_rdata(rr), ns_rr_rdlen(rr));
	}
	return out->nseen > 0 ? DANE_RC_RECORDS : DANE_RC_NONE;
}

enum dane_state
dane_decide(bool validating, bool mx_secure, enum dane_rcode rc, bool ad,
    const struct dane_set *set)
{
	if (!validating || !mx_secure)
		return DANE_OFF;
	if (rc == DANE_RC_FAIL)
		return DANE_HOST_FAILED;
	if (rc == DANE_RC_NONE || !ad)
		return DANE_OFF;
	for (size_t i = 0; i < set->n; i++)
		if (dane_tlsa_usable(&set->rr[i]))
			return DANE_AUTH;
	/* a usable record over the bounds: no match is possible, and no
	 * downgrade to encryption alone either (the session fails) */
	return set->dropped_usable ? DANE_AUTH : DANE_ENCRYPT;
}

enum dane_state
dane_addr_gate(enum dane_state st, bool addrs_secure)
{
	return addrs_secure ? st : DANE_OFF;
}
