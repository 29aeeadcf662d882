/*
 * screen/score.h - one transaction's score: named contributions with a
 * reason each, and the verdict the thresholds give.
 *
 * Owns: the rule that turns contributions into a verdict. A check adds what
 * it found (score_add). A check that could not learn its answer because of
 * a temporary DNS failure adds the range it might have contributed
 * (score_add_unknown): the verdict is computed for the best and for the
 * worst case, and when they differ the answer is a temporary failure
 * (451 4.4.3). So a DNS outage never lets mail pass silently and never
 * rejects it for good, yet a clear case (a heavy listing, a forged HELO)
 * is still decided when one slow list did not answer.
 */
#ifndef SCREEN_SCORE_H
#define SCREEN_SCORE_H

#include <stdbool.h>
#include <stddef.h>

#include "screen_facts.h"

#define SCORE_ITEMS_MAX		48
#define SCORE_NAME_MAX		80	/* "dnsbl:zen.spamhaus.org" */
#define SCORE_REASON_MAX	160
#define SCORE_DKIM_MAX		8	/* signatures verified per message */
#define SCORE_DMARC_MAX		4	/* From: domains a message may name */
#define SCORE_AUTH_REASON_MAX	63

struct score_item {
	char	name[SCORE_NAME_MAX + 1];
	int	weight;		/* known contribution, or the best case */
	int	worst;		/* == weight unless unknown */
	bool	unknown;	/* DNS temporary failure: a range */
	char	reason[SCORE_REASON_MAX + 1];
};

/* The message checks' results, in RFC 8601 2.7's words. */
enum auth_result {
	AUTH_NONE = 0,		/* DKIM: unsigned; DMARC: no policy record */
	AUTH_PASS,
	AUTH_FAIL,
	AUTH_TEMPERROR,		/* a DNS temporary failure */
	AUTH_PERMERROR,		/* no key, a malformed signature or record */
};

/* One DKIM-Signature's outcome (screen/dkimverify.c). d= and s= are the
 * signature's bytes as libopendkim parsed them: printable, not trusted. */
struct score_dkim {
	char			domain[ADDR_DOMAIN_MAX + 1];	/* d=, "" if absent */
	char			selector[ADDR_DOMAIN_MAX + 1];	/* s= */
	char			alg[16];	/* a=: "rsa-sha256", "ed25519-sha256" */
	char			b[9];		/* b='s first 8 characters (RFC 6008) */
	enum auth_result	result;
	bool			aligned;	/* d= shares a From: domain's
						 * organizational domain */
	char			reason[SCORE_AUTH_REASON_MAX + 1];	/* "" on pass */
};

/* DMARC's outcome for one From: domain (screen/dmarc.c). */
struct score_dmarc {
	char			from_domain[ADDR_DOMAIN_MAX + 1];
	enum auth_result	result;
	char			policy[12];	/* applied on fail: "reject",
						 * "quarantine", "none"; else "" */
};

/*
 * The contributions, and the few findings the verdict needs besides them:
 * set by the check that learns them (screen/checks.h), read by the
 * greylist step and the log line (screen/judge.c).
 */
struct score {
	size_t			n;
	bool			overflow;	/* more than SCORE_ITEMS_MAX items */
	bool			spf_fail;	/* for spf_fail_reject */
	bool			spf_unknown;	/* temperror: it may be a fail */
	bool			allow_listed;	/* a dnswl listed the client */
	char			spf_pass_domain[ADDR_DOMAIN_MAX + 1];	/* "" unless SPF passed */
	char			ptr[ADDR_DOMAIN_MAX + 1];	/* the client's (verified) PTR, "" if none */
	struct score_item	item[SCORE_ITEMS_MAX];
	/* end of DATA only: the message checks (screen/checks.h) */
	bool			dmarc_reject;	/* for dmarc_reject: a p=reject fail */
	bool			dmarc_unknown;	/* temperror: it may be that fail */
	bool			auth_aligned;	/* SPF or DKIM passed for every
						 * From: domain (relaxed alignment) */
	bool			dkim_done;	/* check_dkim reached its result */
	size_t			ndkim;
	struct score_dkim	dkim[SCORE_DKIM_MAX];	/* in header order */
	size_t			ndmarc;
	struct score_dmarc	dmarc[SCORE_DMARC_MAX];
};

struct score_thresholds {
	int	greylist;	/* >= greylist: grey zone */
	int	tempfail;	/* >= tempfail: 451 (== reject: no such zone) */
	int	reject;		/* >= reject: 550 */
	bool	spf_fail_reject;	/* an SPF fail alone rejects (5.7.23) */
	bool	dmarc_reject;		/* a DMARC p=reject fail alone rejects (5.7.1) */
};

void	score_init(struct score *);
/* A known contribution. A weight of 0 is still listed (for `why`). */
void	score_add(struct score *, const char *name, int weight,
	    const char *reason_fmt, ...) __attribute__((format(printf, 4, 5)));
/* A contribution we could not learn now: somewhere in [best, worst]. */
void	score_add_unknown(struct score *, const char *name, int best, int worst,
	    const char *reason_fmt, ...) __attribute__((format(printf, 5, 6)));

int	score_total(const struct score *);	/* the best case */
int	score_worst(const struct score *);
bool	score_has_unknown(const struct score *);

/*
 * The action and reply for the score, before greylisting is consulted:
 * SCREEN_GREYLIST here means "in the grey zone"; the greylist memory
 * (screen/memory.c) decides whether this attempt is the first.
 */
void	score_verdict(const struct score *, const struct score_thresholds *,
	    enum screen_action *, enum screen_reply *);

/* "no_ptr:+4 dnsbl:zen.spamhaus.org:+8 spf:pass:-2": for the log line.
 * Unknown items read "name:?+0..+8". Cut at size, never unterminated. */
void	score_format(const struct score *, char *buf, size_t size);

#endif
