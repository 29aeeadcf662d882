/*
 * screen/score.c - contributions, totals and the verdict thresholds.
 *
 * Owns: the arithmetic of screen/score.h. Why a best and a worst total: a
 * contribution we could not learn (a DNS timeout) is a range; the verdict
 * is firm only when both ends of every range give the same one. Totals
 * saturate at +-SCREEN_WEIGHT_LIMIT * SCORE_ITEMS_MAX, far from int limits.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "score.h"

void
score_init(struct score *s)
{
	memset(s, 0, sizeof(*s));
}

static struct score_item *
score_next(struct score *s, const char *name)
{
	struct score_item *it;

	if (s->n == SCORE_ITEMS_MAX) {
		s->overflow = true;
		return NULL;
	}
	it = &s->item[s->n++];
	memset(it, 0, sizeof(*it));
	snprintf(it->name, sizeof(it->name), "%s", name);
	return it;
}

void
score_add(struct score *s, const char *name, int weight, const char *fmt, ...)
{
	struct score_item *it = score_next(s, name);
	va_list ap;

	if (it == NULL)
		return;
	it->weight = it->worst = weight;
	va_start(ap, fmt);
	vsnprintf(it->reason, sizeof(it->reason), fmt, ap);
	va_end(ap);
}

void
score_add_unknown(struct score *s, const char *name, int best, int worst,
    const char *fmt, ...)
{
	struct score_item *it = score_next(s, name);
	va_list ap;

	if (it == NULL)
		return;
	it->unknown = true;
	it->weight = best < worst ? best : worst;
	it->worst = best < worst ? worst : best;
	va_start(ap, fmt);
	vsnprintf(it->reason, sizeof(it->reason), fmt, ap);
	va_end(ap);
}

int
score_total(const struct score *s)
{
	int t = 0;

	for (size_t i = 0; i < s->n; i++)
		t += s->item[i].weight;
	return t;
}

int
score_worst(const struct score *s)
{
	int t = 0;

	for (size_t i = 0; i < s->n; i++)
		t += s->item[i].worst;
	return t;
}

bool
score_has_unknown(const struct score *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->item[i].unknown)
			return true;
	return false;
}

static enum screen_action
action_for(int total, const struct score_thresholds *t)
{
	if (total >= t->reject)
		return SCREEN_REJECT;
	if (total >= t->tempfail)
		return SCREEN_TEMPFAIL;
	if (total >= t->greylist)
		return SCREEN_GREYLIST;
	return SCREEN_ACCEPT;
}

static enum screen_reply
reply_for(enum screen_action a, bool spf_reject)
{
	switch (a) {
	case SCREEN_ACCEPT:	return SCREEN_REPLY_OK;
	case SCREEN_GREYLIST:	return SCREEN_REPLY_GREYLIST;
	case SCREEN_TEMPFAIL:	return SCREEN_REPLY_TEMPFAIL;
	case SCREEN_REJECT:	break;
	}
	return spf_reject ? SCREEN_REPLY_SPF_REJECT : SCREEN_REPLY_REJECT;
}

void
score_verdict(const struct score *s, const struct score_thresholds *t,
    enum screen_action *action, enum screen_reply *reply)
{
	/* An SPF fail the admin wants refused is decisive on its own. */
	if (s->spf_fail && t->spf_fail_reject) {
		*action = SCREEN_REJECT;
		*reply = SCREEN_REPLY_SPF_REJECT;
		return;
	}
	/* So is a DMARC fail under the domain's p=reject (RFC 7489 6.6.4). */
	if (s->dmarc_reject && t->dmarc_reject) {
		*action = SCREEN_REJECT;
		*reply = SCREEN_REPLY_REJECT;
		return;
	}
	enum screen_action best = action_for(score_total(s), t);
	enum screen_action worst = action_for(score_worst(s), t);
	if (s->spf_unknown && t->spf_fail_reject)
		worst = SCREEN_REJECT;	/* the SPF we could not learn may be a fail */
	if (s->dmarc_unknown && t->dmarc_reject)
		worst = SCREEN_REJECT;	/* so may the DMARC outcome */
	if (best != worst) {
		/* what we could not learn decides: ask the client to come back */
		*action = SCREEN_TEMPFAIL;
		*reply = SCREEN_REPLY_DNS_TEMPFAIL;
		return;
	}
	*action = best;
	*reply = reply_for(best, false);
}

void
score_format(const struct score *s, char *buf, size_t size)
{
	size_t o = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < s->n && o < size; i++) {
		const struct score_item *it = &s->item[i];
		int n;
		if (it->unknown)
			n = snprintf(buf + o, size - o, "%s%s:?%+d..%+d", i ? " " : "",
			    it->name, it->weight, it->worst);
		else
			n = snprintf(buf + o, size - o, "%s%s:%+d", i ? " " : "",
			    it->name, it->weight);
		if (n < 0 || (size_t)n >= size - o) {
			buf[o] = '\0';	/* cut at an item boundary, never mid-name */
			return;
		}
		o += (size_t)n;
	}
}
