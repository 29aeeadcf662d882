/*
 * relay/mtasts.h - MTA-STS for outbound mail (RFC 8461): the policy of a
 * recipient domain, discovered, fetched, cached and handed to the job
 * (relay/job.c) that will choose each MX host's TLS policy with it
 * (relay/tlspolicy.h).
 *
 * Owns: the policy cache (MTASTS_CACHE_MAX domains in memory, one file
 * per domain in relay_state_dir, relay/state.h) and the fetches in flight.
 * How (RFC 8461 3, 5):
 *  - TXT _mta-sts.DOMAIN through relay/dns.c, so through dns_server, never
 *    the system resolver; exactly one "v=STSv1" record with an id;
 *  - the same id as a cached policy that has not expired: the cache;
 *  - otherwise GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt over
 *    HTTP/1.0 (no chunked coding), to an address dns_server gave, with a
 *    certificate verified against relay_ca_file for mta-sts.DOMAIN
 *    (relay/tls.h, policy tls=require); status 200, no redirects, at most
 *    64 KiB; parsed by lib/sts_policy.c; cached for its max_age;
 *  - a failed fetch or no TXT record keeps using an unexpired cached
 *    policy (5.1): an attacker who blocks the fetch gains nothing;
 *  - mode none is no policy;
 *  - a cached policy of a domain with recent mail is refreshed in the
 *    background before it expires, and its TXT id checked daily
 *    (relay/mtasts_refresh.h; at most MTASTS_REFRESH_PER_HOUR refreshes an
 *    hour, one per domain at a time, never delaying a job).
 * Fetch failures are counted for TLS-RPT (relay/tlsrpt.h).
 * Why in the relay on libevent and OpenSSL rather than libcurl: the relay
 * already has both, its resolver and its sandbox; libcurl would bring its
 * own resolver (the system's, or c-ares set up twice) and more system
 * calls into the relay's seccomp profile.
 */
#ifndef RELAY_MTASTS_H
#define RELAY_MTASTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sts_policy.h"

#define MTASTS_CACHE_MAX	256
#define MTASTS_ID_MAX		32	/* RFC 8461 3.1: 1*32(ALPHA / DIGIT) */
#define MTASTS_FETCH_TIMEOUT	20	/* s per connection and per read */

struct event_base;

/* policy: NULL when the domain has none that applies. */
typedef void (*mtasts_cb)(uint64_t id, const struct sts_policy *policy);

void	mtasts_init(struct event_base *, bool enabled);
void	mtasts_set_enabled(bool);
/* Calls cb exactly once, maybe before it returns. */
void	mtasts_get(const char *domain, mtasts_cb, uint64_t id);

/* RFC 8461 3.1 over a domain's TXT records: 1 and the id if exactly one
 * record starts with "v=STSv1" and has a valid id; 0 if none does; -1 if
 * several do or the one is broken (both: as if there were none). */
int	mtasts_txt_id(const char *const *txt, size_t n, char id[MTASTS_ID_MAX + 1]);
/* The cache file: "id ID\nexpires EPOCH\n\n" + the policy text. */
size_t	mtasts_cache_format(const char *id, time_t expires, const struct sts_policy *,
	    char *buf, size_t size);
int	mtasts_cache_parse(const char *text, size_t len, char id[MTASTS_ID_MAX + 1],
	    time_t *expires, struct sts_policy *);

#endif
