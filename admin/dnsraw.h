/*
 * admin/dnsraw.h - DNS answers of the types the screen's resolver does not
 * know (screen/dnsview.h has A, AAAA, PTR, TXT and MX): CNAME, TLSA
 * (RFC 6698) and the old SPF type 99 (RFC 7208 3.1), plus the AD bit
 * (RFC 4035 3.2.3) of the response. `mxctl doctor` asks for them.
 *
 * Owns: the parsing of such a response: pure, bounded, fuzzed
 * (tests/fuzz/fuzz_dnsraw.c). It walks the answer section with libresolv's
 * ns_initparse/ns_parserr (which check every length against the packet)
 * and keeps the records of the asked type and any CNAME. Names are
 * expanded with dn_expand and kept only if they are printable host names.
 */
#ifndef HMX_ADMIN_DNSRAW_H
#define HMX_ADMIN_DNSRAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../screen/dnsview.h"

#define DNSRAW_RR_MAX		8
#define DNSRAW_RDATA_MAX	1024	/* a TLSA 3 0 0 of a big certificate is cut */
#define DNSRAW_T_CNAME		5
#define DNSRAW_T_SPF		99
#define DNSRAW_T_TLSA		52

struct dnsraw_rr {
	uint16_t	type;
	char		owner[DV_NAME_MAX + 1];	/* lowercase, no final dot */
	char		target[DV_NAME_MAX + 1];	/* CNAME: the canonical name */
	size_t		len;			/* rdata octets kept */
	bool		cut;			/* rdata longer than DNSRAW_RDATA_MAX */
	unsigned char	data[DNSRAW_RDATA_MAX];
};

struct dnsraw_answer {
	enum dv_status		status;	/* DV_OK: n >= 1 records of the asked type */
	bool			ad;	/* the resolver validated it (DNSSEC) */
	bool			cname;	/* the name is an alias */
	bool			truncated;	/* more records than DNSRAW_RR_MAX */
	size_t			n;
	struct dnsraw_rr	rr[DNSRAW_RR_MAX];	/* asked type first, then CNAMEs */
};

/*
 * A response (pkt, len) to a query of type qtype, as c-ares hands it to an
 * ares_send callback with ares_status. Never fails: a packet that does not
 * parse, SERVFAIL, REFUSED or a network error is DV_TEMPFAIL, RCODE 3 is
 * DV_NXDOMAIN, no record of qtype is DV_NODATA (cname tells whether the
 * name is an alias).
 */
void	dnsraw_parse(int ares_status, const unsigned char *pkt, size_t len,
	    uint16_t qtype, struct dnsraw_answer *out);

/* A TLSA record's fields (RFC 6698 2.1); -1 if the rdata is short or cut. */
int	dnsraw_tlsa(const struct dnsraw_rr *, unsigned *usage, unsigned *selector,
	    unsigned *mtype, const unsigned char **data, size_t *len);

/* A TXT-like rdata (type 99) joined into text (RFC 7208 3.3); -1 if cut. */
int	dnsraw_txt(const struct dnsraw_rr *, char *out, size_t size);

#endif
