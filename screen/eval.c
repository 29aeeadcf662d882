/*
 * screen/eval.c - runs the checks of one evaluation in rounds.
 *
 * Owns: every live evaluation (a list, looked up by id when a fetch
 * answers), its view of the DNS cache, the lookups it has in flight and
 * its budget timer. A round runs all checks from scratch on a fresh score.
 * Misses that are not in flight yet are fetched at once; each answer that
 * arrives starts another round (answers that arrive together share one),
 * so a chain of lookups (PTR, then the PTR name's address; SPF includes)
 * moves as soon as its own answer is in and never waits for a slow list
 * elsewhere. The first round without misses is the result. When the
 * budget runs out the view gives up (screen/dnscache.h: dv_give_up) and
 * one more round turns everything still missing into temporary failures,
 * which the checks score as unknown ranges (screen/score.h). Rounds always
 * start from the event loop, never from inside a check or a fetch
 * callback, so nothing here is re-entered.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "eval.h"
#include "log.h"
#include "util.h"

#define EVAL_INFLIGHT_MAX	64	/* lookups one evaluation waits for at once */
#define EVAL_FETCHES_MAX	256	/* lookups one evaluation may cause */

struct inflight {
	char		name[DV_NAME_MAX + 1];
	enum dv_type	type;
};

struct eval {
	TAILQ_ENTRY(eval)	 entry;
	uint64_t		 id;
	struct eval_params	 p;
	struct screen_facts	 facts;
	struct dns_view		*view;
	eval_done_fn		 done;
	void			*arg;
	struct event		*ev_round;
	struct event		*ev_budget;
	struct inflight		 inflight[EVAL_INFLIGHT_MAX];
	size_t			 ninflight;
	unsigned		 depth;		/* rounds that had to fetch */
	bool			 finishing;	/* inside its done callback */
	double			 started;
	struct eval_result	 result;
};

static TAILQ_HEAD(, eval)	evals = TAILQ_HEAD_INITIALIZER(evals);
static size_t			neval;
static uint64_t			next_id = 1;

size_t
eval_count(void)
{
	return neval;
}

static struct eval *
eval_find(uint64_t id)
{
	struct eval *e;

	TAILQ_FOREACH(e, &evals, entry)
		if (e->id == id)
			return e;
	return NULL;
}

static void
eval_free(struct eval *e)
{
	TAILQ_REMOVE(&evals, e, entry);
	neval--;
	event_free(e->ev_round);
	event_free(e->ev_budget);
	dv_free(e->view);
	free(e);
}

void
eval_cancel(struct eval *e)
{
	/* The done callback may end the session that owns e: freed after it. */
	if (e != NULL && !e->finishing)
		eval_free(e);
}

static void
eval_finish(struct eval *e, bool complete)
{
	e->result.complete = complete;
	e->result.elapsed = mono_now() - e->started;
	e->id = 0;	/* late fetch answers find nothing */
	e->finishing = true;
	e->done(&e->result, e->arg);
	eval_free(e);
}

static void
eval_schedule_round(struct eval *e)
{
	event_active(e->ev_round, EV_TIMEOUT, 0);
}

static void
eval_fetch_done(uint64_t id)
{
	struct eval *e = id != 0 ? eval_find(id) : NULL;

	if (e != NULL)
		eval_schedule_round(e);	/* coalesced: one round per loop pass */
}

/* Forgets lookups whose answer is in the cache now. */
static void
eval_prune_inflight(struct eval *e)
{
	size_t kept = 0;

	for (size_t i = 0; i < e->ninflight; i++)
		if (!dns_cache_has(e->p.cache, e->inflight[i].name, e->inflight[i].type))
			e->inflight[kept++] = e->inflight[i];
	e->ninflight = kept;
}

static bool
eval_is_inflight(const struct eval *e, const char *name, enum dv_type type)
{
	for (size_t i = 0; i < e->ninflight; i++)
		if (e->inflight[i].type == type && strcmp(e->inflight[i].name, name) == 0)
			return true;
	return false;
}

/* Fetches the misses nobody asked for yet; returns how many. */
static size_t
eval_fetch_new_misses(struct eval *e)
{
	size_t n = dv_misses(e->view), started = 0;
	const char *name;
	enum dv_type type;

	for (size_t i = 0; i < n; i++) {
		dv_miss(e->view, i, &name, &type);
		if (eval_is_inflight(e, name, type))
			continue;
		if (e->ninflight == EVAL_INFLIGHT_MAX || e->result.fetches == EVAL_FETCHES_MAX)
			break;	/* asked again next round */
		struct inflight *f = &e->inflight[e->ninflight++];
		snprintf(f->name, sizeof(f->name), "%s", name);
		f->type = type;
		e->result.fetches++;
		started++;
		e->p.fetch(name, type, eval_fetch_done, e->id);
	}
	return started;
}

static void
eval_round(evutil_socket_t fd, short what, void *arg)
{
	struct eval *e = arg;

	(void)fd;
	(void)what;
	dv_round_reset(e->view);
	score_init(&e->result.score);
	for (size_t i = 0; i < e->p.nchecks; i++)
		e->p.checks[i](e->p.env, &e->facts, e->view, &e->result.score);
	e->result.rounds++;
	if (dv_misses(e->view) == 0) {
		eval_finish(e, true);
		return;
	}
	eval_prune_inflight(e);
	bool stuck = e->ninflight == 0;	/* nothing will wake us up */
	if (eval_fetch_new_misses(e) > 0) {
		stuck = false;
		if (++e->depth > EVAL_ROUNDS_MAX) {
			log_debug("screen: sess=%s needs more than %d DNS rounds",
			    e->facts.sess, EVAL_ROUNDS_MAX);
			eval_finish(e, false);
			return;
		}
	}
	if (stuck) {
		/* a miss we may not fetch (over EVAL_FETCHES_MAX): give up */
		eval_finish(e, false);
	}
}

static void
eval_budget_spent(evutil_socket_t fd, short what, void *arg)
{
	struct eval *e = arg;

	(void)fd;
	(void)what;
	e->result.gave_up = true;
	e->ninflight = 0;
	dv_give_up(e->view);
	eval_schedule_round(e);
}

struct eval *
eval_start(const struct eval_params *p, const struct screen_facts *facts,
    eval_done_fn done, void *arg)
{
	struct eval *e = xcalloc(1, sizeof(*e));
	struct timeval budget = { p->budget_ms / 1000, (p->budget_ms % 1000) * 1000 };

	e->id = next_id++;
	e->p = *p;
	e->facts = *facts;
	e->done = done;
	e->arg = arg;
	e->started = mono_now();
	e->view = dv_new(p->cache);
	e->ev_round = event_new(p->base, -1, 0, eval_round, e);
	e->ev_budget = evtimer_new(p->base, eval_budget_spent, e);
	if (e->ev_round == NULL || e->ev_budget == NULL)
		fatalx("eval_start: out of memory");
	TAILQ_INSERT_TAIL(&evals, e, entry);
	neval++;
	evtimer_add(e->ev_budget, &budget);
	eval_schedule_round(e);
	return e;
}
