/*
 * relay/mtasts_refresh.c - see mtasts_refresh.h.
 */
#include "mtasts_refresh.h"

time_t
mtasts_refresh_due(const struct mtasts_times *t, bool *fetch)
{
	time_t fetched, half, daily, due, retry;

	*fetch = false;
	if (t->expires == 0 || t->max_age == 0)
		return 0;		/* no policy, or one that is never cached */
	fetched = t->expires - (time_t)t->max_age;
	half = fetched + (time_t)(t->max_age / 2);
	daily = t->last_check + MTASTS_CHECK_INTERVAL;
	due = half <= daily ? half : daily;
	*fetch = half <= daily;
	retry = (time_t)(t->max_age / 4);
	if (retry > MTASTS_RETRY_MAX)
		retry = MTASTS_RETRY_MAX;
	if (retry < 1)
		retry = 1;
	if (t->last_try != 0 && due < t->last_try + retry)
		due = t->last_try + retry;
	if (t->last_used + (time_t)t->max_age < due)
		return 0;		/* no mail for max_age: let it expire */
	return due;
}
