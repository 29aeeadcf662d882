/*
 * queue/sched.h - the delivery scheduler (see sched.c).
 */
#ifndef HMX_QUEUE_SCHED_H
#define HMX_QUEUE_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "envelope.h"

struct event_base;

#define SCHED_LINKDOWN_RETRY	5	/* s: retry after a delivery crash */
#define SCHED_LINKDOWN_MAX	3	/* then a crash counts as a failure */
#define SCHED_DELIVERY_TIMEOUT	900	/* s without a result: deferred */
#define SCHED_MAX_SLOTS		512	/* >= config max of delivery_concurrency */

void		sched_init(struct event_base *, const struct config *);
void		sched_reload(const struct config *);
/* Takes ownership of e (a committed or reloaded envelope). */
void		sched_add(struct envelope *e);
/* A (new) link to delivery; replaces the old one. */
void		sched_set_link(int fd);
/* A signer is (back) at hand: every held message not busy is signed now. */
void		sched_kick_held(void);
/* Shutdown: dispatch nothing more. */
void		sched_stop(void);
unsigned	sched_inflight(void);
unsigned	sched_queued(void);

/* Delay before attempt number attempts+1 after attempts failures (>= 1):
 * retry_min doubled per failure, at most retry_max. */
uint32_t	sched_backoff(uint32_t attempts, uint32_t retry_min,
		    uint32_t retry_max);

/*
 * When to try again after a round with temporary failures. linkdown_only
 * is true if every failure came from the delivery process going away.
 * Updates e->attempts and *linkdown_count; never returns a time after the
 * message's expiry (arrival + lifetime) unless that is already past.
 */
uint64_t	sched_next_attempt(struct envelope *e, uint64_t now,
		    bool linkdown_only, unsigned *linkdown_count,
		    const struct config *);
/* True once arrival + queue_lifetime is reached. */
bool		sched_is_expired(const struct envelope *e, uint64_t now,
		    const struct config *);

/* ---- for queue/admin.c (`mxctl queue`): the messages and the admin's
 * actions. A message that is not idle (a round, a DSN or its signing
 * under way) is refused by admin.c and never passed here. */
struct qmsg;
struct spool_write;

struct qmsg	*sched_first(void);
struct qmsg	*sched_next(struct qmsg *);
struct qmsg	*sched_find(const char *id);
bool		 sched_is_idle(const struct qmsg *);
/* since != 0: held, no rounds until released; 0: released, due now. The
 * caller persists the envelope. */
void		 sched_set_held(struct qmsg *, uint64_t since);
/* A round now, whatever the retry time said. */
void		 sched_flush_now(struct qmsg *);
/* Removes it from the spool and memory (event=admin_delete). */
void		 sched_delete(struct qmsg *);
/* Every recipient fails now with why, and the sender gets one DSN
 * (bounce.c) before the message goes. False, and nothing changed, if the
 * message may get no DSN (port 25 mail, the null sender). */
bool		 sched_bounce(struct qmsg *, const char *why);
/* Rewrites the envelope through the group flush; done(w) follows, and
 * must call sched_persisted(w->id). */
void		 sched_persist(struct qmsg *, void (*done)(struct spool_write *), void *arg);
void		 sched_persisted(const char *id);

#endif
