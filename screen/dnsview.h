/*
 * screen/dnsview.h - what the inbound checks know of the DNS: a cache they
 * read synchronously, and the list of what they found missing.
 *
 * Owns: the contract between every check (client identity, DNSBL, SPF,
 * sender domain, ...) and the resolver. A check never waits for DNS. It
 * asks the view; an answer that is not cached yet comes back as DV_MISS,
 * the (name, type) is recorded in the view, and the check gives up this
 * round. The evaluation driver (screen/eval.c) then fetches every recorded
 * miss at once, with c-ares, and runs all checks again; a round without
 * misses is the final one. Why this way: checks stay pure functions of
 * (facts, cache), so they are unit-tested and fuzzed without a network, all
 * lookups of a round run in parallel, and an SPF include chain costs one
 * round per level, never a blocked event loop (libspf2 and libopendkim
 * only offer blocking resolvers of their own).
 *
 * Names are ASCII, lowercase, without the trailing dot. Answers are text:
 *	DV_A	"192.0.2.1"		DV_AAAA	"2001:db8::1" (inet_ntop form)
 *	DV_PTR	"mail.example.net"	DV_MX	"mx.example.net", pref in .pref
 *					(a null MX, RFC 7505, is "" with pref 0)
 *	DV_TXT	the character-strings of one record joined (RFC 7208 3.3,
 *		RFC 6376 3.6.2.2); may hold any byte, so use .len.
 * An answer's pointers stay valid until the view is released: entries a
 * view has returned are pinned in the cache for its lifetime.
 */
#ifndef SCREEN_DNSVIEW_H
#define SCREEN_DNSVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DV_NAME_MAX	253	/* RFC 1035 2.3.4, without the trailing dot */
#define DV_RR_MAX	32	/* records kept per answer; more set .truncated */
#define DV_TXT_MAX	4096	/* one TXT record, its strings joined */
#define DV_MISSES_MAX	64	/* distinct misses one round may record */

enum dv_type { DV_A = 1, DV_AAAA, DV_PTR, DV_TXT, DV_MX, DV_TYPE_MAX = DV_MX };

enum dv_status {
	DV_OK = 0,	/* n >= 1 records */
	DV_NXDOMAIN,	/* the name does not exist (RCODE 3) */
	DV_NODATA,	/* the name exists, no record of this type */
	DV_TEMPFAIL,	/* timeout, SERVFAIL, REFUSED, unreachable, malformed */
	DV_MISS,	/* not known yet: recorded, ask again next round */
};

struct dv_rr {
	const char	*data;	/* NUL-terminated too, but TXT may hold NULs */
	size_t		 len;
	uint16_t	 pref;	/* DV_MX only */
};

struct dv_answer {
	enum dv_status	status;
	size_t		n;
	bool		truncated;	/* more than DV_RR_MAX records, or a
					 * TXT record over DV_TXT_MAX was cut */
	struct dv_rr	rr[DV_RR_MAX];
};

struct dns_view;

/*
 * Looks (name, type) up in the cache behind the view. Returns the status,
 * also stored in out->status. A name that is not a valid DNS name (empty
 * label, label over 63, over DV_NAME_MAX, a byte outside printable ASCII
 * and space, or '\\') is answered DV_NXDOMAIN without a query (SPF macros
 * build names from client text). DV_MISS records the miss (at most
 * DV_MISSES_MAX distinct ones per round; beyond that the round is simply
 * incomplete and the driver runs another).
 */
enum dv_status	dv_lookup(struct dns_view *, const char *name, enum dv_type,
		    struct dv_answer *out);

/* Misses recorded since the last dv_round_reset(). */
size_t		dv_misses(const struct dns_view *);

const char	*dv_type_name(enum dv_type);
const char	*dv_status_name(enum dv_status);

#endif
