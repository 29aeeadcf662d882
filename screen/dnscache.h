/*
 * screen/dnscache.h - the screen role's DNS cache, and the views that
 * checks read it through (screen/dnsview.h).
 *
 * Owns: every cached answer (name, type) -> status + records, its expiry,
 * the bound on the number of entries, and the pins that keep an answer
 * alive while an evaluation uses it. The resolver (screen/resolver.c)
 * fills it with dns_cache_put(); unit tests and the fuzzer fill it the
 * same way, so checks are tested on exactly the data path they run on.
 * Why a view pins: an evaluation runs its checks several times; each run
 * must see the same answers, even if the entry expired or was evicted in
 * between, or a check could flip and the rounds never end.
 */
#ifndef SCREEN_DNSCACHE_H
#define SCREEN_DNSCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsview.h"

#define DNS_CACHE_TTL_MIN	5	/* seconds, whatever the answer said */
#define DNS_CACHE_TTL_MAX	3600
#define DNS_CACHE_TEMPFAIL_TTL	30	/* a failure is retried soon */

struct dns_cache;

/* max_entries: unpinned entries beyond it are evicted, oldest use first. */
struct dns_cache *dns_cache_new(size_t max_entries);
void		 dns_cache_free(struct dns_cache *);

/*
 * Stores an answer, replacing an older one for (name, type). rr[] is
 * copied (at most DV_RR_MAX records; a TXT record longer than DV_TXT_MAX
 * is cut and the answer marked truncated). ttl is clamped to
 * [DNS_CACHE_TTL_MIN, DNS_CACHE_TTL_MAX]; DV_TEMPFAIL always gets
 * DNS_CACHE_TEMPFAIL_TTL. Returns -1 (nothing stored) for an invalid name
 * or when the cache is full of pinned entries.
 */
int	dns_cache_put(struct dns_cache *, const char *name, enum dv_type,
	    enum dv_status, const struct dv_rr *rr, size_t n, bool truncated,
	    uint32_t ttl);

/* True if a fresh answer for (name, type) is cached. */
bool	dns_cache_has(struct dns_cache *, const char *name, enum dv_type);
size_t	dns_cache_size(const struct dns_cache *);

/* The clock the cache and its TTLs run on (seconds, monotonic). Tests
 * set their own; the default is mono_now(). */
void	dns_cache_set_clock(struct dns_cache *, double (*now)(void));

/* Lowercases, strips one trailing dot and validates (dnsview.h's rules).
 * Returns -1 if the result is not a valid name. */
int	dns_name_normalize(const char *in, char *out, size_t outsize);

/* A view for one evaluation. */
struct dns_view	*dv_new(struct dns_cache *);
void		 dv_free(struct dns_view *);	/* unpins */
/* Forgets the recorded misses; pinned answers stay. */
void		 dv_round_reset(struct dns_view *);
/* The evaluation's DNS budget is spent: from now on a lookup that is not
 * cached answers DV_TEMPFAIL in this view (nothing is recorded, nothing is
 * stored in the cache, so other evaluations are not affected). */
void		 dv_give_up(struct dns_view *);
/* The i-th miss of this round (i < dv_misses()). */
void		 dv_miss(const struct dns_view *, size_t i, const char **name,
		    enum dv_type *);

#endif
