/*
 * admin/dnsraw.c - CNAME, TLSA and SPF-type answers (see dnsraw.h).
 *
 * Owns: nothing between calls. Every byte comes from the network: lengths
 * are taken from libresolv's parse (which refuses a record that runs past
 * the packet), rdata is copied into fixed buffers with its length, and a
 * name that is not a valid host name after expansion is dropped.
 */
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <resolv.h>
#include <string.h>

#include <ares.h>

#include "../screen/dnscache.h"
#include "dnsraw.h"

static enum dv_status
status_of_ares(int s)
{
	switch (s) {
	case ARES_ENOTFOUND:	return DV_NXDOMAIN;
	case ARES_ENODATA:	return DV_NODATA;
	default:		return DV_TEMPFAIL;
	}
}

static bool
keep_name(const char *raw, char *out, size_t size)
{
	return dns_name_normalize(raw, out, size) == 0;
}

static void
add_rr(struct dnsraw_answer *a, const ns_msg *msg, const ns_rr *rr)
{
	struct dnsraw_rr *r;
	char target[NS_MAXDNAME];
	size_t len = ns_rr_rdlen(*rr);

	if (a->n == DNSRAW_RR_MAX) {
		a->truncated = true;
		return;
	}
	r = &a->rr[a->n];
	memset(r, 0, sizeof(*r));
	r->type = ns_rr_type(*rr);
	if (!keep_name(ns_rr_name(*rr), r->owner, sizeof(r->owner)))
		return;
	if (r->type == DNSRAW_T_CNAME) {
		if (dn_expand(ns_msg_base(*msg), ns_msg_end(*msg), ns_rr_rdata(*rr), target,
		    sizeof(target)) < 0 || !keep_name(target, r->target, sizeof(r->target)))
			return;
		a->cname = true;
	}
	r->cut = len > sizeof(r->data);
	r->len = r->cut ? sizeof(r->data) : len;
	memcpy(r->data, ns_rr_rdata(*rr), r->len);
	a->n++;
}

/* Records of qtype first: callers read rr[0..] for the answer. */
static void
order_answer(struct dnsraw_answer *a, uint16_t qtype)
{
	struct dnsraw_rr tmp;
	size_t k = 0;

	for (size_t i = 0; i < a->n; i++)
		if (a->rr[i].type == qtype) {
			if (i != k) {
				tmp = a->rr[k];
				a->rr[k] = a->rr[i];
				a->rr[i] = tmp;
			}
			k++;
		}
}

void
dnsraw_parse(int ares_status, const unsigned char *pkt, size_t len, uint16_t qtype,
    struct dnsraw_answer *a)
{
	size_t count, nq = 0;
	ns_msg msg;
	ns_rr rr;

	memset(a, 0, sizeof(*a));
	a->status = DV_TEMPFAIL;
	if (pkt == NULL || len == 0 || len > 65535 ||
	    ns_initparse(pkt, (int)len, &msg) == -1) {
		if (ares_status != ARES_SUCCESS)
			a->status = status_of_ares(ares_status);
		return;
	}
	a->ad = ns_msg_getflag(msg, ns_f_ad) != 0;
	if (ns_msg_getflag(msg, ns_f_rcode) == ns_r_nxdomain) {
		a->status = DV_NXDOMAIN;
		return;
	}
	if (ns_msg_getflag(msg, ns_f_rcode) != ns_r_noerror)
		return;
	count = ns_msg_count(msg, ns_s_an);
	for (size_t i = 0; i < count; i++) {
		if (ns_parserr(&msg, ns_s_an, (int)i, &rr) == -1) {
			a->n = 0;	/* a broken record: the whole answer is suspect */
			return;
		}
		if (ns_rr_class(rr) != ns_c_in ||
		    (ns_rr_type(rr) != qtype && ns_rr_type(rr) != DNSRAW_T_CNAME))
			continue;
		add_rr(a, &msg, &rr);
	}
	order_answer(a, qtype);
	for (size_t i = 0; i < a->n; i++)
		if (a->rr[i].type == qtype)
			nq++;
	a->status = nq > 0 ? DV_OK : DV_NODATA;
}

int
dnsraw_tlsa(const struct dnsraw_rr *r, unsigned *usage, unsigned *selector,
    unsigned *mtype, const unsigned char **data, size_t *len)
{
	if (r->type != DNSRAW_T_TLSA || r->cut || r->len < 4)
		return -1;
	*usage = r->data[0];
	*selector = r->data[1];
	*mtype = r->data[2];
	*data = r->data + 3;
	*len = r->len - 3;
	return 0;
}

int
dnsraw_txt(const struct dnsraw_rr *r, char *out, size_t size)
{
	size_t o = 0, i = 0;

	if (r->cut || size == 0)
		return -1;
	while (i < r->len) {
		size_t n = r->data[i++];
		if (n > r->len - i || o + n >= size)
			return -1;
		memcpy(out + o, r->data + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return 0;
}
