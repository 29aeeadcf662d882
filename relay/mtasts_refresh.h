/*
 * relay/mtasts_refresh.h - when the relay refreshes a cached MTA-STS
 * policy in the background (RFC 8461 5.1, 10.2), before a job finds it
 * stale or expired.
 *
 * Owns: the schedule decision only; pure (no clock, no I/O), so that
 * relay/mtasts_test.c checks it at any instant. relay/mtasts.c keeps the
 * times per domain, the timer, and the hourly budget.
 * The rules:
 *  - a policy is re-fetched over HTTPS, even under an unchanged TXT id,
 *    once half of its max_age has passed, so that it never expires while
 *    mail to the domain keeps flowing (10.2: proactive refresh);
 *  - the _mta-sts TXT id is checked at least daily (a new id: the new
 *    policy is fetched at once, 5.1);
 *  - only for a domain that had mail within the policy's max_age: a domain
 *    the relay no longer writes to lets its policy expire;
 *  - a refresh that did not help is not repeated for a quarter of max_age
 *    (at most an hour), so a dead policy host is not hammered.
 */
#ifndef RELAY_MTASTS_REFRESH_H
#define RELAY_MTASTS_REFRESH_H

#include <stdbool.h>
#include <time.h>

#define MTASTS_CHECK_INTERVAL	86400	/* s: the daily TXT check */
#define MTASTS_RETRY_MAX	3600	/* s: the longest wait after a try */
#define MTASTS_REFRESH_PER_HOUR	60	/* background refreshes, all domains */

struct mtasts_times {
	time_t		expires;	/* of the cached policy; 0: none */
	unsigned long	max_age;	/* the policy's max_age */
	time_t		last_used;	/* the last job for the domain */
	time_t		last_check;	/* the last TXT lookup (a job's or ours) */
	time_t		last_try;	/* the last background refresh; 0: none */
};

/* When the domain's background refresh is due (maybe in the past), 0 for
 * never; *fetch: the policy is fetched even if the TXT id is unchanged. */
time_t	mtasts_refresh_due(const struct mtasts_times *, bool *fetch);

#endif
