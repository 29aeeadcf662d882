/*
 * queue/qmsg.h - one queued message in memory, and the calls the scheduler
 * (sched.c, which owns every struct qmsg and its rounds) makes into the
 * parts that work on it for a while: the hand-off to the relay role
 * (relay.c), DSN creation (bounce.c) and DSN signing (sign.c). Each of
 * them reports back through a completion callback the caller passes in,
 * the way a spool_write reports through its .done (spool.h): they never
 * call into the scheduler, and this header does not include sched.h. Only
 * these queue files include it.
 */
#ifndef HMX_QUEUE_QMSG_H
#define HMX_QUEUE_QMSG_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "dsn.h"
#include "envelope.h"

struct event;

enum rcpt_state {
	RCPT_WAITING = 0,	/* until the next round */
	RCPT_READY,		/* waiting for a delivery slot */
	RCPT_INFLIGHT,		/* at delivery */
	RCPT_REMOTE,		/* delivery said "not local": waits for relay */
	RCPT_RELAYING,		/* at relay */
	RCPT_DEFERRED,		/* tempfail in this round: keep */
	RCPT_FINISHED,		/* delivered: drop */
	RCPT_FAILED,		/* failed for good or expired: drop, maybe a DSN */
};

/* What this round learned about a failed recipient, for the DSN. */
struct rcpt_note {
	char		*reply;		/* malloc'd, or NULL */
	enum dsn_reason	 reason;
	bool		 remote;	/* reply is from a remote server */
};

struct qmsg;

/* sign.c's completion (see sign_start below). */
enum sign_outcome {
	SIGN_DONE_SIGNED,	/* copy: the signed DSN, committed; the held
				 * one is gone from the spool */
	SIGN_DONE_EXPIRED,	/* too old to send: gone from the spool */
	SIGN_DONE_RETRY,	/* not now (why): ask again later */
};

/* The end of one sign_start(): m is no longer busy; for SIGNED and
 * EXPIRED it has left the spool and only the caller still holds it. */
typedef void	sign_done_fn(struct qmsg *m, enum sign_outcome, struct envelope *copy,
		    const char *why, void *arg);

struct qmsg {
	TAILQ_ENTRY(qmsg)	 all_entry;
	TAILQ_ENTRY(qmsg)	 ready_entry;
	TAILQ_ENTRY(qmsg)	 sign_entry;	/* sign.c: waiting for dkimsign */
	bool			 on_ready;
	struct envelope		 env;
	uint8_t			*state;		/* enum rcpt_state per env.rcpt */
	struct rcpt_note	*note;		/* per env.rcpt */
	unsigned		 nready;
	unsigned		 ninflight;	/* at delivery */
	unsigned		 nrelay;	/* relay requests not answered */
	bool			 round_deferred;	/* a real tempfail */
	bool			 round_linkdown;	/* delivery/relay went away */
	bool			 bodyless;	/* moved aside: no spool I/O */
	bool			 busy;		/* DSN commit or signing under way */
	unsigned		 npersist;	/* envelope rewrites not yet flushed */
	unsigned		 linkdown_count;
	struct event		*timer;
	/* sign.c, for envelopes with hold dkim */
	sign_done_fn		*sign_done;	/* and its argument: */
	void			*sign_arg;	/* the caller of sign_start */
	uint64_t		 sign_req;
	time_t			 sign_started;
	unsigned		 sign_attempts;
	unsigned		 sign_candidate;
};

/* ---- relay.c ---------------------------------------------------------------- */

struct event_base;

/* How relay.c reports on the requests of one relay_submit(). */
struct relay_callbacks {
	/* One recipient's result; linkdown: the relay went away. */
	void	(*rcpt_result)(struct qmsg *, unsigned rcpt, enum delivery_result,
		    const char *reply, bool linkdown, void *arg);
	/* One request is answered: every result of it was reported. */
	void	(*request_done)(struct qmsg *, void *arg);
	void	*arg;
};

void		relay_init(struct event_base *);
void		relay_set_link(int fd);
/* Shutdown: send no more requests. */
void		relay_stop(void);
/*
 * Hands every RCPT_REMOTE recipient of m to the relay role, one request
 * per recipient domain, and returns the number of requests; each ends
 * with cb->request_done, later, never from within this call. Without a
 * relay link every such recipient gets a linkdown TEMPFAIL through
 * cb->rcpt_result at once, and the result is 0.
 */
unsigned	relay_submit(struct qmsg *, const struct relay_callbacks *cb);
unsigned	relay_inflight(void);
/*
 * Pure: groups the recipients i with want[i] by domain (case-insensitive,
 * the part after the last '@'). group[i] gets the group number (0..) of
 * each wanted recipient, in order of first appearance. Returns the number
 * of groups.
 */
unsigned	relay_group_by_domain(const char (*rcpt)[ADDR_MAX + 1], unsigned n,
		    const bool *want, unsigned *group);

/* ---- bounce.c --------------------------------------------------------------- */

enum bounce_outcome {
	BOUNCE_NONE,		/* no DSN for this round: finish it now */
	BOUNCE_PENDING,		/* a DSN commit is under way: done() follows */
	BOUNCE_ERROR,		/* could not write one: keep the failed recipients */
};

/*
 * The DSN of m's round is durable: dsn is its envelope, for the caller to
 * take over (its recipient list may be moved out; bounce.c frees the
 * rest). Or it could not be written: dsn is NULL and the failed
 * recipients must stay for the next round.
 */
typedef void	bounce_done_fn(struct qmsg *m, struct envelope *dsn, void *arg);

/* True if m has failed recipients that its sender must hear about. */
bool			bounce_wanted(const struct qmsg *);
/* Writes the DSN for m's failed recipients and queues its commit; on
 * BOUNCE_PENDING done(m, ...) is called once the flush is over. */
enum bounce_outcome	bounce_enqueue(struct qmsg *, const struct config *,
			    bounce_done_fn *done, void *arg);

/* ---- sign.c ----------------------------------------------------------------- */

#define SIGN_MAX_CANDIDATES	8

void	sign_init(struct event_base *, const struct config *);
void	sign_reload(const struct config *);
/* A (new) link to dkimsign; the caller then restarts what was held. */
void	sign_set_link(int fd);
/* m has hold dkim and is due: ask dkimsign, then commit a signed copy;
 * done is called once (maybe from within this call). */
void	sign_start(struct qmsg *, sign_done_fn *done, void *arg);
/*
 * Pure: the d= domains to try for a DSN to rcpt, best first: rcpt's
 * domain if it is one of ours (a DSN normally goes back to one of our
 * users), then the hostname, then each parent of the hostname that is one
 * of our domains. Returns how many were written to out.
 */
size_t	sign_domain_candidates(const struct config *, const char *rcpt,
	    char out[][ADDR_DOMAIN_MAX + 1], size_t max);

#endif
