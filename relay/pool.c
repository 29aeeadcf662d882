/*
 * relay/pool.c - see pool.h.
 *
 * Accounting: nslots = slots held by jobs + idle sessions + quitting
 * sessions. Every path that ends one of them (pool_release, an idle or
 * quitting session closing) decrements it once and wakes the waiters.
 * A pool with no slot and no waiter is freed, never while its own wake-up
 * loop runs.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "client.h"
#include "log.h"
#include "pool.h"
#include "util.h"

struct pooled {
	TAILQ_ENTRY(pooled)	 entry;
	struct pool		*pool;
	struct client		*c;
	struct event		*ev_expire;
	bool			 quitting;
};

TAILQ_HEAD(pooled_list, pooled);

struct pool {
	TAILQ_ENTRY(pool)		 entry;
	char				 key[POOL_KEY_MAX];
	unsigned			 limit;
	unsigned			 nslots;
	struct pooled_list		 idle;
	struct pooled_list		 quitting;
	TAILQ_HEAD(, pool_waiter)	 waiters;
	struct event			*ev_wake;
	bool				 waking;
};

static struct event_base	*base;
static TAILQ_HEAD(, pool)	 pools = TAILQ_HEAD_INITIALIZER(pools);
static bool			 draining;

void
pool_init(struct event_base *b)
{
	base = b;
}

static void
pool_maybe_free(struct pool *p)
{
	if (p->waking || p->nslots > 0 || !TAILQ_EMPTY(&p->waiters))
		return;
	TAILQ_REMOVE(&pools, p, entry);
	event_free(p->ev_wake);
	free(p);
}

static bool
pool_has_room(const struct pool *p)
{
	return p->nslots < p->limit || !TAILQ_EMPTY(&p->idle);
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct pool *p = arg;
	size_t n = 0;
	struct pool_waiter *w;

	(void)fd;
	(void)what;
	TAILQ_FOREACH(w, &p->waiters, entry)
		n++;
	p->waking = true;
	/* Each waiter at most once per round: one that can not use what is
	 * free (an idle session of the wrong family) queues again. */
	while (n-- > 0 && pool_has_room(p) && (w = TAILQ_FIRST(&p->waiters)) != NULL) {
		TAILQ_REMOVE(&p->waiters, w, entry);
		w->queued = false;
		w->wake(w);
	}
	p->waking = false;
	pool_maybe_free(p);
}

static void
pool_wake(struct pool *p)
{
	if (!TAILQ_EMPTY(&p->waiters) && pool_has_room(p))
		event_active(p->ev_wake, EV_TIMEOUT, 1);
}

struct pool *
pool_get(const char *key, unsigned limit)
{
	struct pool *p;

	TAILQ_FOREACH(p, &pools, entry)
		if (strcmp(p->key, key) == 0)
			break;
	if (p == NULL) {
		p = xcalloc(1, sizeof(*p));
		snprintf(p->key, sizeof(p->key), "%s", key);
		TAILQ_INIT(&p->idle);
		TAILQ_INIT(&p->quitting);
		TAILQ_INIT(&p->waiters);
		if ((p->ev_wake = evtimer_new(base, on_wake, p)) == NULL)
			fatalx("pool: evtimer_new");
		TAILQ_INSERT_TAIL(&pools, p, entry);
	}
	p->limit = limit > 0 ? limit : 1;
	return p;
}

/* ---- sessions owned by the pool ---------------------------------------------- */

static void
pooled_free(struct pooled *e)
{
	struct pool *p = e->pool;

	TAILQ_REMOVE(e->quitting ? &p->quitting : &p->idle, e, entry);
	if (e->ev_expire != NULL)
		event_free(e->ev_expire);
	free(e);
	p->nslots--;
	pool_wake(p);
	pool_maybe_free(p);
}

static void
pooled_quit(struct pooled *e)
{
	struct pool *p = e->pool;

	if (!e->quitting) {
		TAILQ_REMOVE(&p->idle, e, entry);
		TAILQ_INSERT_TAIL(&p->quitting, e, entry);
		e->quitting = true;
	}
	if (e->ev_expire != NULL)
		evtimer_del(e->ev_expire);
	client_quit(e->c);
}

static void
on_pooled_event(struct client *c, enum client_event ev, void *arg)
{
	struct pooled *e = arg;

	if (ev != CLIENT_FAILED && ev != CLIENT_CLOSED)
		return;
	log_debug("pool %s: session to %s[%s] closed", e->pool->key,
	    client_host(c), client_ip(c));
	client_free(c);
	pooled_free(e);
}

static void
on_idle_expire(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pooled_quit(arg);
}

void
pool_put(struct pool *p, struct client *c, bool keep)
{
	struct pooled *e = xcalloc(1, sizeof(*e));
	struct timeval tv = { POOL_IDLE_SECONDS, 0 };

	e->pool = p;
	e->c = c;
	client_set_owner(c, on_pooled_event, e);
	if (!keep || draining || !client_is_ready(c) || client_ntxn(c) >= POOL_MAX_TXN) {
		TAILQ_INSERT_TAIL(&p->quitting, e, entry);
		e->quitting = true;
		client_quit(c);
		return;
	}
	if ((e->ev_expire = evtimer_new(base, on_idle_expire, e)) == NULL)
		fatalx("pool: evtimer_new");
	evtimer_add(e->ev_expire, &tv);
	TAILQ_INSERT_TAIL(&p->idle, e, entry);
	pool_wake(p);
}

/* ---- slots for jobs -------------------------------------------------------------- */

static unsigned
family_bit(const struct client *c)
{
	return client_family(c) == AF_INET ? POOL_FAMILY_V4 : POOL_FAMILY_V6;
}

enum pool_grant
pool_acquire(struct pool *p, struct pool_waiter *w, unsigned families,
    struct client **idle)
{
	struct pooled *e;

	TAILQ_FOREACH(e, &p->idle, entry) {
		if (!(family_bit(e->c) & families))
			continue;
		TAILQ_REMOVE(&p->idle, e, entry);
		*idle = e->c;
		event_free(e->ev_expire);
		free(e);	/* the slot goes to the job with the session */
		return POOL_IDLE;
	}
	if (p->nslots < p->limit) {
		p->nslots++;
		return POOL_SLOT;
	}
	/* Full, and an idle session of the wrong family holds a slot. */
	if ((e = TAILQ_FIRST(&p->idle)) != NULL)
		pooled_quit(e);
	if (!w->queued) {
		TAILQ_INSERT_TAIL(&p->waiters, w, entry);
		w->queued = true;
	}
	return POOL_WAIT;
}

void
pool_release(struct pool *p)
{
	if (p->nslots == 0)
		fatalx("pool %s: release without a slot", p->key);
	p->nslots--;
	pool_wake(p);
	pool_maybe_free(p);
}

void
pool_cancel(struct pool *p, struct pool_waiter *w)
{
	if (w->queued) {
		TAILQ_REMOVE(&p->waiters, w, entry);
		w->queued = false;
	}
	pool_maybe_free(p);
}

void
pool_drain(void)
{
	struct pool *p, *pnext;
	struct pooled *e;

	draining = true;
	for (p = TAILQ_FIRST(&pools); p != NULL; p = pnext) {
		pnext = TAILQ_NEXT(p, entry);
		while ((e = TAILQ_FIRST(&p->idle)) != NULL)
			pooled_quit(e);
	}
}

size_t
pool_open_sessions(void)
{
	struct pool *p;
	struct pooled *e;
	size_t n = 0;

	TAILQ_FOREACH(p, &pools, entry) {
		TAILQ_FOREACH(e, &p->idle, entry)
			n++;
		TAILQ_FOREACH(e, &p->quitting, entry)
			n++;
	}
	return n;
}
