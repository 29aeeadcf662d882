/*
 * queue/batch.h - group commit: envelope writes collected from one turn of
 * the event loop are flushed together, up to two batches at a time, in
 * flusher threads (see batch.c).
 */
#ifndef HMX_QUEUE_BATCH_H
#define HMX_QUEUE_BATCH_H

#include <stdbool.h>

#include "spool.h"

struct event_base;

void	batch_init(struct event_base *);
/* Queues w (prepared with spool_write_prepare and w->done set); the flush
 * runs on the next turn of the event loop, after pending reads. */
void	batch_add(struct spool_write *w);
/* Flushes whatever is queued, now (shutdown). */
void	batch_run_now(void);
bool	batch_is_empty(void);
/* For the unit test: flushers start no flush while held. */
void	batch_hold_flushes(bool hold);

#endif
