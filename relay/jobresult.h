/*
 * relay/jobresult.h - what a job (relay/job.c) decided for each recipient:
 * the result and reply per recipient, where it came from, the job's last
 * error, and the per-attempt log line of a transaction.
 *
 * Owns: nothing of its own; it reads and fills struct job's rcpt[],
 * npending, last_err, last_err_from, have_err and any_temp. Kept apart so
 * that job.c stays the walk over hosts and addresses, and the bookkeeping
 * of results is one file.
 */
#ifndef RELAY_JOBRESULT_H
#define RELAY_JOBRESULT_H

#include <stdbool.h>
#include <stddef.h>

#include "client.h"
#include "job.h"
#include "reply.h"

/* OK, TEMPFAIL or PERMFAIL by the reply's class. */
enum delivery_result	jobresult_of(const struct smtp_reply *);
/* The session c (NULL: none) as a struct job_origin. */
void	jobresult_origin(const struct client *c, struct job_origin *);
/* Recipient i gets res and r, once (a final recipient keeps its result). */
void	jobresult_set(struct job *, size_t i, enum delivery_result res,
	    const struct smtp_reply *r, const struct job_origin *from);
/* Every recipient still pending gets res and r. */
void	jobresult_set_pending(struct job *, enum delivery_result res,
	    const struct smtp_reply *r, const struct job_origin *from);
/* r ended an attempt on the session from; the walk goes on. */
void	jobresult_note_error(struct job *, const struct smtp_reply *r,
	    const struct job_origin *from);
/* A 5.7.x refusal over IPv6: the trigger of the IPv4 fallback. */
bool	jobresult_v6_policy_reject(const struct client *, const struct smtp_reply *);
/* The results of the transaction j->txn that ended on c; true if some
 * recipient was refused over IPv6 with 5.7.x and can_fall_back (it stays
 * pending). */
bool	jobresult_from_txn(struct job *, struct client *c, bool can_fall_back);
/* The event=relay_attempt line of the transaction that ended on c. */
void	jobresult_log_txn(const struct job *, const struct client *c);

#endif
