/*
 * relay/dane.h - DANE for SMTP (RFC 7672): the TLSA records of an MX host
 * and what they make of the session.
 *
 * Owns: the reading of a TLSA response (pure, bounded, fuzzed by
 * tests/fuzz/fuzz_relay_tlsa.c) and the decision table of RFC 7672 2.2.
 * The query itself goes out through relay/dns.c with the EDNS DO bit and
 * the AD bit set; the answer's AD bit is believed only when dns_validating
 * is on: the admin says that dns_server is a validating resolver on this
 * host (RFC 6698 4.1, RFC 7672 2.1.1: the AD bit is only as good as the
 * path to the resolver). DANE applies to an MX host only when the MX
 * RRset itself was validated (RFC 7672 2.2.1): an insecure MX name could
 * be the attacker's; and only when the host's A/AAAA answers were secure
 * too (RFC 7672 2.2.2, dane_addr_gate).
 */
#ifndef RELAY_DANE_H
#define RELAY_DANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The records kept of one TLSA answer, bounded explicitly:
 *  - DANE_TLSA_MAX records: a key rollover publishes 2-4 records per key,
 *    so 16 hold several keys, each in several forms;
 *  - DANE_DATA_MAX octets of data per record: a full certificate (x 0 0)
 *    of up to 8 KiB DER; digests (RFC 7672 3.1.2 advises them) are 32/64;
 *  - DANE_SET_DATA_MAX octets of data in all (one shared area, so a set of
 *    16 digests is small and a full certificate still fits).
 * A record over these bounds is ignored (nseen - n says how many, the
 * relay logs it once per host); when an ignored record would have been
 * usable and no kept one is, dane_decide still demands a match
 * (DANE_AUTH): the TLS setup then fails (relay/tls.c set_dane, no usable
 * record) and the mail is deferred rather than sent with encryption alone. A set is plain data (offsets, no pointers): copying
 * the struct copies it. Only hosts with usable records keep one
 * (relay/job.h), so its size is paid per DANE host, not per MX host.
 */
#define DANE_TLSA_MAX		16
#define DANE_DATA_MAX		8192
#define DANE_SET_DATA_MAX	16384
#define DNS_T_TLSA		52

struct dane_tlsa {
	uint8_t		usage;		/* 2 DANE-TA, 3 DANE-EE */
	uint8_t		selector;	/* 0 certificate, 1 SubjectPublicKeyInfo */
	uint8_t		mtype;		/* 0 full, 1 SHA-256, 2 SHA-512 */
	uint16_t	off;		/* the data: dane_set.data + off */
	uint16_t	len;
};

struct dane_set {
	size_t			n;		/* records kept */
	size_t			nseen;		/* records in the answer */
	bool			dropped_usable;	/* an ignored record was usable */
	size_t			used;		/* octets of data[] in use */
	struct dane_tlsa	rr[DANE_TLSA_MAX];
	unsigned char		data[DANE_SET_DATA_MAX];
};

/* The data of record i of set. */
static inline const unsigned char *
dane_data(const struct dane_set *set, size_t i)
{
	return set->data + set->rr[i].off;
}

enum dane_rcode {
	DANE_RC_RECORDS,	/* one or more TLSA records */
	DANE_RC_NONE,		/* NXDOMAIN or no TLSA: no DANE for this host */
	DANE_RC_FAIL,		/* SERVFAIL, REFUSED, a broken packet, a timeout */
};

/* A response packet to a TLSA query; sets *ad from the header. */
enum dane_rcode	dane_parse_answer(const unsigned char *pkt, size_t len, bool *ad,
		    struct dane_set *out);

/* RFC 7672 3.1: DANE-TA(2) and DANE-EE(3) with a known selector and
 * matching type whose digest has the right length; PKIX-TA/EE (0, 1) are
 * unusable for SMTP. */
bool		dane_tlsa_usable(const struct dane_tlsa *);

enum dane_state {
	DANE_OFF,		/* no secure TLSA: other policies decide */
	DANE_AUTH,		/* usable records: TLS, the certificate must match */
	DANE_ENCRYPT,		/* secure records, none usable: TLS, no auth (2.2) */
	DANE_HOST_FAILED,	/* the lookup failed under a secure MX: skip this host */
};

/*
 * RFC 7672 2.2: validating (dns_validating), mx_secure (the MX answer had
 * AD), rc/ad the TLSA answer (a set with records it could not keep: see
 * DANE_TLSA_MAX). A failed TLSA lookup under a secure MX makes
 * the host unusable (2.2.1: the attacker could be hiding the records);
 * anything insecure is as if there were no TLSA.
 */
enum dane_state	dane_decide(bool validating, bool mx_secure, enum dane_rcode rc, bool ad,
		    const struct dane_set *);

/*
 * RFC 7672 2.2.2: the TLSA records of an MX host count only when its
 * address records are secure too; with insecure addresses (addrs_secure
 * false) the host is as if it had no TLSA: DANE_OFF, even for a failed
 * TLSA lookup. A failed address lookup is no answer and stays with the
 * caller (the host has no address to try: a deferral).
 */
enum dane_state	dane_addr_gate(enum dane_state, bool addrs_secure);

#endif
