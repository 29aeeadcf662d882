/*
 * screen/dnsbl_health.h - which configured DNS lists answer sanely right now.
 *
 * Owns: the per-list health state. RFC 5782 5: an IPv4 list must list
 * 127.0.0.2 and must not list 127.0.0.1 (an IPv6 one ::FFFF:7F00:2 and
 * ::FFFF:7F00:1). A list that lists 127.0.0.1 lists everything; one that
 * does not list 127.0.0.2, or does not answer, is dead; one that answers
 * 127.255.255.x (Spamhaus' "you are blocked", "typing error", "excessive
 * queries"), or 127.0.0.255 for an allow list (dnswl.org's "blocked"),
 * refuses us. Such a list is ignored (never a hit) until a probe finds it
 * healthy again, and each change is logged once.
 *
 * How the role uses it: dnsbl_health_init() at start and after every
 * reload (list indexes change with the file); dnsbl_probe_check as the one
 * check of an evaluation (screen/eval.h) at start and every few minutes;
 * after each evaluation, dnsbl_health_change() until false, logging each
 * change. check_lists (screen/dnsbl.c) marks a list refusing at once when
 * a real query gets a refusal code.
 */
#ifndef SCREEN_DNSBL_HEALTH_H
#define SCREEN_DNSBL_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "config_screen.h"

struct dns_view;
struct score;
struct screen_env;
struct screen_facts;

enum list_state {
	LIST_UNKNOWN = 0,	/* not probed yet: used */
	LIST_HEALTHY,
	LIST_LISTS_EVERYTHING,	/* 127.0.0.1 is listed */
	LIST_DEAD,		/* 127.0.0.2 is not listed, or no answer */
	LIST_REFUSING,		/* answers 127.255.255.x */
};

struct dnsbl_health {
	enum list_state	state[SCREEN_LISTS_MAX];	/* index of cfg lists[] */
	enum list_state	state6[SCREEN_LISTS_MAX];	/* its IPv6 test points */
	enum list_state	logged[SCREEN_LISTS_MAX];	/* as last reported */
	enum list_state	logged6[SCREEN_LISTS_MAX];
};

/* What one probe found, per list (state6: LIST_UNKNOWN without ipv6). */
struct dnsbl_probe {
	enum list_state	state[SCREEN_LISTS_MAX];
	enum list_state	state6[SCREEN_LISTS_MAX];
};

void	dnsbl_health_init(struct dnsbl_health *);
/* True if list i may count for IPv4 clients. */
bool	dnsbl_list_usable(const struct dnsbl_health *, size_t i);
/* True if list i may count for IPv6 clients. */
bool	dnsbl_list_usable6(const struct dnsbl_health *, size_t i);
const char *list_state_name(enum list_state);

/*
 * The probe as a pure function of the view, like a check: true when every
 * answer it needs was there (out is complete), false after recording
 * misses. A temporary failure counts as no answer (LIST_DEAD): a list that
 * does not answer the probe would only add unknown ranges to every verdict.
 */
bool	dnsbl_probe(const struct screen_config *, struct dns_view *,
	    struct dnsbl_probe *out);
void	dnsbl_health_apply(struct dnsbl_health *, const struct screen_config *,
	    const struct dnsbl_probe *);
/* The probe in check form for the round driver: applies to env->health
 * once complete; adds nothing to the score. */
void	dnsbl_probe_check(const struct screen_env *, const struct screen_facts *,
	    struct dns_view *, struct score *);
/* A real query of list i got a refusal code (ipv6: from an IPv6 query). */
void	dnsbl_health_note_refusing(struct dnsbl_health *, size_t i, bool ipv6);

/* The next state change not reported yet (and marks it reported): list
 * index, which test points, old and new state. False when none is left. */
bool	dnsbl_health_change(struct dnsbl_health *, size_t *i, bool *ipv6,
	    enum list_state *from, enum list_state *to);

#endif
