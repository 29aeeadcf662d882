/*
 * relay/pool.h - connections per destination: the limit and the reuse.
 *
 * Owns: for each destination (an MX or smarthost name, with the port, HELO
 * name, source address, TLS mode and credentials that make a session
 * reusable), the number of connection slots in use, the idle sessions
 * kept open for the next message, and the jobs waiting for a slot.
 * A slot is held by a job (connecting, or running a transaction), by an
 * idle session, or by a session saying QUIT; the sum never exceeds the
 * destination's max_connections (large receivers such as T-Online ask
 * senders in their postmaster rules to keep few connections open).
 * Jobs beyond the limit wait here, in order, and are woken from the event
 * loop when a slot or an idle session is free.
 */
#ifndef RELAY_POOL_H
#define RELAY_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

struct client;
struct event_base;
struct pool;

#define POOL_KEY_MAX		900
#define POOL_IDLE_SECONDS	5	/* an idle session waits this long */
#define POOL_MAX_TXN		100	/* transactions per session, then QUIT */
#define POOL_FAMILY_V4		0x1
#define POOL_FAMILY_V6		0x2

struct pool_waiter {
	TAILQ_ENTRY(pool_waiter) entry;
	void	(*wake)(struct pool_waiter *);
	bool	queued;
};

enum pool_grant {
	POOL_IDLE,	/* *idle is an open session: RSET it, then use it */
	POOL_SLOT,	/* connect a new session in this slot */
	POOL_WAIT,	/* queued: waiter->wake() comes when to ask again */
};

void		 pool_init(struct event_base *);
/* The pool for key, created on first use; limit is updated each time. */
struct pool	*pool_get(const char *key, unsigned limit);
/* families: POOL_FAMILY_* an idle session may be of. */
enum pool_grant	 pool_acquire(struct pool *, struct pool_waiter *,
		    unsigned families, struct client **idle);
/* A slot held by a job is free again (its session failed or was freed). */
void		 pool_release(struct pool *);
/* A job hands its session back with its slot: kept idle if keep and it is
 * reusable, else it says QUIT. The pool becomes the session's owner. */
void		 pool_put(struct pool *, struct client *, bool keep);
void		 pool_cancel(struct pool *, struct pool_waiter *);
/* Shutdown: QUIT every idle session, keep none from now on. */
void		 pool_drain(void);
/* Idle and quitting sessions still open. */
size_t		 pool_open_sessions(void);

#endif
