/*
 * screen/eval.h - one evaluation: the checks run in rounds over the DNS
 * cache until a round needs nothing new (screen/dnsview.h).
 *
 * Owns: the round loop, the evaluation's DNS budget and the set of live
 * evaluations. Why a registry of ids: a fetch answers through a callback
 * that may arrive after the evaluation was cancelled (the SMTP client left,
 * the role is draining); the id finds nothing then, and nothing is touched.
 */
#ifndef SCREEN_EVAL_H
#define SCREEN_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "checks.h"
#include "dnscache.h"
#include "score.h"

#define EVAL_ROUNDS_MAX	30	/* lookup levels; an SPF chain is at most 10 deep */

struct event_base;
struct eval;

typedef void (*screen_check_fn)(const struct screen_env *,
    const struct screen_facts *, struct dns_view *, struct score *);

/* How a miss is fetched: the resolver (screen/resolver.c) in the role, a
 * table in tests. done(id) must be called once, later, from the loop. */
typedef void (*eval_fetch_fn)(const char *name, enum dv_type,
    void (*done)(uint64_t id), uint64_t id);

struct eval_params {
	const struct screen_env	*env;
	const screen_check_fn	*checks;
	size_t			 nchecks;
	struct dns_cache	*cache;
	eval_fetch_fn		 fetch;
	struct event_base	*base;
	unsigned		 budget_ms;	/* DNS time for the whole evaluation */
};

struct eval_result {
	struct score	score;
	bool		complete;	/* false: rounds ran out, treat as DNS trouble */
	bool		gave_up;	/* the budget ran out; late answers were tempfails */
	unsigned	rounds;		/* check runs */
	unsigned	fetches;
	double		elapsed;	/* seconds */
};

/* Called exactly once unless the evaluation is cancelled first; never from
 * inside eval_start. The result is valid during the call only. */
typedef void (*eval_done_fn)(const struct eval_result *, void *arg);

/* Copies facts. Returns NULL only when out of memory. */
struct eval	*eval_start(const struct eval_params *, const struct screen_facts *,
		    eval_done_fn, void *arg);
/* The caller lost interest: no callback will come. A no-op inside the
 * done callback (the evaluation is freed when the callback returns). */
void		 eval_cancel(struct eval *);
/* Evaluations in flight (for the role's drain and its load limit). */
size_t		 eval_count(void);

#endif
