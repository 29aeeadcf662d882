/*
 * screen/dmarc.h - DMARC (RFC 7489) for the end-of-DATA screen: the
 * organizational domain, identifier alignment, the policy record's
 * grammar, and check_dmarc (declared in screen/checks.h).
 *
 * Owns: the Public Suffix List handle (loaded once, read-only) and the
 * DMARC record parser. Why not libopendmarc: its alignment check is
 * wrong in both modes (strict accepts a subdomain; relaxed compares plain
 * suffixes before the PSL, so d=co.uk "aligns" with example.co.uk), and
 * its record lookup blocks on its own resolver. Alignment here is
 * computed with libpsl, the record is fetched through the DNS view like
 * every other answer (screen/dnsview.h), and the parser is ours.
 */
#ifndef SCREEN_DMARC_H
#define SCREEN_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#define DMARC_PSL_PATH	"/usr/share/publicsuffix/public_suffix_list.dat"

/*
 * Loads the PSL from path (NULL: DMARC_PSL_PATH), once; later calls do
 * nothing. The screen role calls it before it enters its chroot; a check
 * that runs without it loads the default path on first use. Returns -1
 * if no list could be loaded: then relaxed alignment falls back to exact
 * equality and no organizational record is looked up (never a false
 * alignment).
 */
int	dmarc_psl_init(const char *path);

/*
 * RFC 7489 3.2: the registrable domain under the longest public suffix
 * of the PSL's ICANN section ("news.example.co.uk" -> "example.co.uk").
 * domain is lowercase ASCII. Returns -1 if domain is itself a public
 * suffix, is not below one, or no PSL is loaded.
 */
int	dmarc_org_domain(const char *domain, char *out, size_t outsize);

/* RFC 7489 3.1: strict is equality, relaxed equal organizational domains
 * (case-insensitive). */
bool	dmarc_aligned(const char *a, const char *b, bool strict);

enum dmarc_policy {
	DMARC_POLICY_NONE = 0,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

struct dmarc_record {
	enum dmarc_policy	p;
	enum dmarc_policy	sp;		/* == p without a valid sp= */
	bool			adkim_strict;
	bool			aspf_strict;
	unsigned		pct;		/* 0..100 */
	bool			p_implied;	/* no valid p=, a valid rua=:
						 * acts as p=none (6.6.3) */
};

enum dmarc_record_status {
	DMARC_RECORD_OK = 0,
	DMARC_RECORD_NOT_DMARC,	/* does not start with v=DMARC1: discarded */
	DMARC_RECORD_INVALID,	/* no valid p= (or a bad sp=) and no valid rua= */
};

/* RFC 7489 6.3/6.4: one TXT record (any bytes, len of them). Unknown
 * tags are ignored, a bad adkim/aspf/pct falls back to its default, a
 * repeated tag's first value counts. */
enum dmarc_record_status dmarc_record_parse(const char *txt, size_t len,
	    struct dmarc_record *);

const char *dmarc_policy_name(enum dmarc_policy);

#endif
