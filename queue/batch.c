/*
 * queue/batch.c - group commit of envelope writes.
 *
 * Owns: the list of envelope writes waiting for the next flush, and the
 * zero-timeout event that runs it. Why: the one flush of spool.c costs
 * the same for one envelope as for fifty. Frames that arrive while a flush is running
 * wait in the socket; the next turn of the loop reads them all (ipc.c
 * reads up to 64 per link per turn) before this event fires, so the batch
 * grows with the load by itself and one idle commit waits for no timer.
 * Commit replies (smtpd's "250") and envelope rewrites after a delivery
 * round share the same flush.
 */
#include <sys/time.h>

#include <event2/event.h>

#include "batch.h"
#include "log.h"
#include "util.h"

static struct spool_write_list	 pending = TAILQ_HEAD_INITIALIZER(pending);
static struct event		*ev_flush;

static void
batch_flush(void)
{
	struct spool_write_list list = TAILQ_HEAD_INITIALIZER(list);
	struct spool_write *w;
	unsigned n = 0;

	/* Callbacks may queue new writes: they go into the next batch. */
	TAILQ_CONCAT(&list, &pending, entry);
	if (TAILQ_EMPTY(&list))
		return;
	double start = mono_now();
	unsigned long flushes = spool_flush_calls();
	spool_write_batch(&list);
	flushes = spool_flush_calls() - flushes;
	while ((w = TAILQ_FIRST(&list)) != NULL) {
		TAILQ_REMOVE(&list, w, entry);
		n++;
		w->done(w);
	}
	log_debug("group flush: %u envelopes, %lu flush calls, in %.1f ms", n,
	    flushes, (mono_now() - start) * 1000);
}

static void
batch_on_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	batch_flush();
}

void
batch_init(struct event_base *base)
{
	if ((ev_flush = evtimer_new(base, batch_on_event, NULL)) == NULL)
		fatalx("batch_init: evtimer_new");
}

void
batch_add(struct spool_write *w)
{
	static const struct timeval now = { 0, 0 };

	TAILQ_INSERT_TAIL(&pending, w, entry);
	if (!evtimer_pending(ev_flush, NULL))
		evtimer_add(ev_flush, &now);
}

void
batch_run_now(void)
{
	if (ev_flush != NULL)
		evtimer_del(ev_flush);
	batch_flush();
}

bool
batch_is_empty(void)
{
	return TAILQ_EMPTY(&pending);
}
