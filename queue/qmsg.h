/*
 * queue/qmsg.h - one queued message in memory, and the calls between the
 * parts of the queue role that work on it: the scheduler (sched.c, which
 * owns every struct qmsg and its rounds), the hand-off to the relay role
 * (relay.c), DSN creation (bounce.c) and DSN signing (sign.c). Only these
 * queue files include it.
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
	unsigned		 linkdown_count;
	struct event		*timer;
	/* sign.c, for envelopes with hold dkim */
	uint64_t		 sign_req;
	time_t			 sign_started;
	unsigned		 sign_attempts;
	unsigned		 sign_candidate;
};

/* ---- sched.c, for relay.c, bounce.c and sign.c ---------------------------- */

const struct config	*sched_config(void);
uint64_t		 sched_wall_now(void);
bool			 sched_is_stopped(void);
/* Applies one recipient's result of this round (logs it). */
void	sched_rcpt_result(struct qmsg *, unsigned i, enum delivery_result,
	    const char *reply, bool linkdown, bool remote);
/* One relay request of m is answered (its results applied). */
void	sched_relay_done(struct qmsg *);
/* The DSN of this round is durable (or failed): drop the finished
 * recipients and persist or remove the message. */
void	sched_finish_round(struct qmsg *);
/* A DSN could not be queued: keep the failed recipients for the next
 * round instead of losing the report. */
void	sched_keep_failed(struct qmsg *);
/* Run m's next step (a round, or signing) at unix time when. */
void	sched_retry_at(struct qmsg *, uint64_t when);
/* The message left the queue (spool files already handled): free it. */
void	sched_forget(struct qmsg *);
/* Calls sign_start() now for every held message not busy. */
void	sched_kick_held(void);

/* ---- relay.c ---------------------------------------------------------------- */

struct event_base;

void		relay_init(struct event_base *);
void		relay_set_link(int fd);
/* Hands every RCPT_REMOTE recipient of m to the relay role, one request
 * per recipient domain; without a relay link they are deferred at once. */
void		relay_submit(struct qmsg *);
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
	BOUNCE_PENDING,		/* a DSN commit is under way; it finishes the round */
	BOUNCE_ERROR,		/* could not write one: keep the failed recipients */
};

/* True if m has failed recipients that its sender must hear about. */
bool			bounce_wanted(const struct qmsg *);
enum bounce_outcome	bounce_enqueue(struct qmsg *);

/* ---- sign.c ----------------------------------------------------------------- */

#define SIGN_MAX_CANDIDATES	8

void	sign_init(struct event_base *);
void	sign_set_link(int fd);
/* m has hold dkim and is due: ask dkimsign, then commit a signed copy. */
void	sign_start(struct qmsg *);
/*
 * Pure: the d= domains to try for a DSN to rcpt, best first: rcpt's
 * domain if it is one of ours (a DSN normally goes back to one of our
 * users), then the hostname, then each parent of the hostname that is one
 * of our domains. Returns how many were written to out.
 */
size_t	sign_domain_candidates(const struct config *, const char *rcpt,
	    char out[][ADDR_DOMAIN_MAX + 1], size_t max);

#endif
