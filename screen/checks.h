/*
 * screen/checks.h - the inbound checks. Each is a pure function of the
 * transaction's facts, the configuration and the DNS cache (through a
 * dns_view): it adds its named contributions to a score, or records DNS
 * misses and returns (screen/dnsview.h explains the rounds).
 *
 * Owns: the list of checks and what each needs. A check must be cheap and
 * deterministic: it runs again from scratch every round, and only the
 * score of a round without misses counts.
 */
#ifndef SCREEN_CHECKS_H
#define SCREEN_CHECKS_H

#include "config.h"
#include "dnsbl_health.h"
#include "dnsview.h"
#include "score.h"
#include "screen_facts.h"

struct screen_message;

struct screen_env {
	const struct config		*cfg;	/* cfg->screen, hostname, domains */
	struct dnsbl_health		*health;	/* may be NULL: all usable;
						 * check_lists marks a list that
						 * refuses us (dnsbl_health.h) */
	const struct screen_message	*msg;	/* end of DATA only, else NULL
						 * (screen/message.h) */
};

/* PTR (no PTR, FCrDNS, dynamic-looking). screen/identity.c */
void	check_client(const struct screen_env *, const struct screen_facts *,
	    struct dns_view *, struct score *);
/* HELO: FQDN, literal, resolves, forged (ours), matches a verified PTR.
 * screen/identity.c */
void	check_helo(const struct screen_env *, const struct screen_facts *,
	    struct dns_view *, struct score *);
/* Every dnsbl/dnswl line. screen/dnsbl.c */
void	check_lists(const struct screen_env *, const struct screen_facts *,
	    struct dns_view *, struct score *);
/* RFC 7208 for MAIL FROM, or for the HELO identity when MAIL FROM is <>.
 * screen/spf_check.c */
void	check_spf(const struct screen_env *, const struct screen_facts *,
	    struct dns_view *, struct score *);
/* MAIL FROM's domain can receive replies (MX or A/AAAA, no null MX),
 * and its TLD. Never an SMTP callout. screen/sender.c */
void	check_sender(const struct screen_env *, const struct screen_facts *,
	    struct dns_view *, struct score *);
/* Early talker, refused commands. screen/behaviour.c */
void	check_behaviour(const struct screen_env *, const struct screen_facts *,
	    struct dns_view *, struct score *);

/*
 * The message checks, at the end of DATA (env->msg set; each does nothing
 * without a message). They read each other's findings from the score, so
 * within a round they run in this order, after check_spf:
 * check_spf, check_dkim, check_dmarc, check_headers.
 */
/* Every DKIM-Signature (RFC 6376, RFC 8463; RFC 8301's minimums): the
 * per-signature results in score->dkim[]. screen/dkimverify.c */
void	check_dkim(const struct screen_env *, const struct screen_facts *,
	    struct dns_view *, struct score *);
/* RFC 7489 for each From: domain: score->dmarc[], dmarc_reject,
 * dmarc_unknown, auth_aligned. screen/dmarc.c */
void	check_dmarc(const struct screen_env *, const struct screen_facts *,
	    struct dns_view *, struct score *);
/* From/Date/Message-ID counts, 8-bit header bytes without SMTPUTF8, the
 * header limits, and a From: in our own domains from outside without an
 * aligned DKIM pass. screen/headercheck.c */
void	check_headers(const struct screen_env *, const struct screen_facts *,
	    struct dns_view *, struct score *);

#endif
