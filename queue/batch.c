/*
 * queue/batch.c - group commit of envelope writes, the flushes in threads.
 *
 * Owns: the list of envelope writes waiting for the next flush, the
 * batches being flushed, and the flusher threads with their wake-up pipe.
 * Why group commit: the one flush of spool.c costs the same for one
 * envelope as for fifty. Why threads: a flush takes milliseconds (more
 * when other work on the file system has dirty pages), and while the
 * queue sat in syncfs() every OPEN (smtpd's and submission's), every body
 * handed to delivery or relay and every result waited behind it. The
 * event loop writes a batch's envelopes (spool_batch_write), hands the
 * one flush to a free flusher, and goes on; what arrives meanwhile
 * collects in `pending`, so a batch still grows with the load by itself
 * and one idle commit waits for no timer. When a flusher is done the
 * loop finishes its batch (the renames of rewrites, spool.c) and runs the
 * callbacks - smtpd's "250" among them - in the loop, never in a thread.
 * A thread touches no list and no file name, only its flush.
 *
 * Why BATCH_FLUSHERS (2) of them: with one, a commit that arrives while
 * a flush runs waits for the rest of that flush and then for its own;
 * with two, its flush starts at once (the journal still commits in order,
 * but the writeback of one batch overlaps the other's). Each flusher has
 * its own open file of the spool directory (spool_flush_handle: syncfs()
 * reports a writeback error once per open file). Batches may then finish
 * out of order, which is harmless for commits (new files) but not for two
 * rewrites of one envelope (<ID>.env.tmp): a rewrite whose id is in a
 * batch being flushed waits in `pending` for that batch to finish.
 */
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "batch.h"
#include "log.h"
#include "util.h"

#define BATCH_FLUSHERS	2

struct flusher {
	/* the event loop's */
	struct spool_write_list	 list;		/* the batch with the thread */
	bool			 busy;		/* list is with the thread */
	double			 started;
	unsigned long		 calls;		/* flush calls of the batch */
	int			 handle;	/* spool_flush_handle() */
	/* shared with the thread, under lock */
	bool			 posted;	/* the thread has a flush to make */
	bool			 done;
	int			 err;
	const char		*op;
};

static struct spool_write_list	 pending = TAILQ_HEAD_INITIALIZER(pending);
static struct flusher		 flushers[BATCH_FLUSHERS];
static struct event		*ev_flush;	/* start the next batch */
static struct event		*ev_done;	/* a thread's wake-up */
static int			 done_pipe[2] = { -1, -1 };
static pthread_mutex_t		 lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		 cond = PTHREAD_COND_INITIALIZER;
static bool			 held;		/* batch_hold_flushes(), under lock */

static void *
flusher_main(void *arg)
{
	struct flusher *f = arg;
	sigset_t all;

	sigfillset(&all);	/* signals are the event loop's */
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		const char *op = NULL;
		unsigned long before = spool_flush_calls_here();
		int err;

		pthread_mutex_lock(&lock);
		while (!f->posted || held)
			pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);
		err = spool_batch_flush_on(f->handle, &op);
		pthread_mutex_lock(&lock);
		f->calls += spool_flush_calls_here() - before;
		f->posted = false;
		f->done = true;
		f->err = err;
		f->op = op;
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&lock);
		/* One byte per flush; the loop reads them all (at most
		 * BATCH_FLUSHERS are ever unread: the pipe cannot fill). */
		while (write(done_pipe[1], "", 1) == -1 && errno == EINTR)
			;
	}
	return NULL;
}

/* Runs the callbacks of a finished batch (they may queue new writes:
 * those go into a later batch). */
static void
batch_complete(struct spool_write_list *list, unsigned long calls, double start)
{
	struct spool_write *w;
	unsigned n = 0;

	while ((w = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, w, entry);
		n++;
		w->done(w);
	}
	log_debug("group flush: %u envelopes, %lu flush calls, in %.1f ms", n,
	    calls, (mono_now() - start) * 1000);
}

static struct flusher *
free_flusher(void)
{
	for (size_t i = 0; i < BATCH_FLUSHERS; i++)
		if (!flushers[i].busy)
			return &flushers[i];
	return NULL;
}

/* True if a batch being flushed holds a write for id. */
static bool
id_in_flight(const char *id)
{
	const struct spool_write *w;

	for (size_t i = 0; i < BATCH_FLUSHERS; i++) {
		if (!flushers[i].busy)
			continue;
		TAILQ_FOREACH(w, &flushers[i].list, entry)
			if (strcmp(w->id, id) == 0)
				return true;
	}
	return false;
}

/* Moves into list what may be flushed now: every pending write but a
 * rewrite of an envelope that a running flush is writing too. */
static void
take_ready(struct spool_write_list *list)
{
	struct spool_write *w, *next;

	for (w = TAILQ_FIRST(&pending); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (w->kind == SPOOL_WRITE_UPDATE && id_in_flight(w->id))
			continue;
		TAILQ_REMOVE(&pending, w, entry);
		TAILQ_INSERT_TAIL(list, w, entry);
	}
}

static void
schedule_next(void)
{
	static const struct timeval now = { 0, 0 };

	if (!TAILQ_EMPTY(&pending) && free_flusher() != NULL &&
	    !evtimer_pending(ev_flush, NULL))
		evtimer_add(ev_flush, &now);
}

/* The thread's flush is over (the caller saw f->done): finish the batch. */
static void
finish_flusher(struct flusher *f, int err, const char *op)
{
	struct spool_write_list list = TAILQ_HEAD_INITIALIZER(list);

	spool_batch_finish(&f->list, err, op);
	TAILQ_CONCAT(&list, &f->list, entry);
	f->busy = false;
	batch_complete(&list, f->calls, f->started);
}

/* Takes the result of f if its thread is done; false if not (yet). */
static bool
collect(struct flusher *f, int *err, const char **op)
{
	bool done;

	pthread_mutex_lock(&lock);	/* f->calls too */
	done = f->done;
	f->done = false;
	*err = f->err;
	*op = f->op;
	pthread_mutex_unlock(&lock);
	return done;
}

static void
on_flush_done(evutil_socket_t fd, short what, void *arg)
{
	char buf[16];

	(void)what;
	(void)arg;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	for (size_t i = 0; i < BATCH_FLUSHERS; i++) {
		struct flusher *f = &flushers[i];
		const char *op;
		int err;

		if (f->busy && collect(f, &err, &op))
			finish_flusher(f, err, op);
	}
	schedule_next();
}

/* Ends f's batch without a flush: nothing to flush, or no way to. */
static void
finish_now(struct flusher *f, int err, const char *op, unsigned long calls)
{
	struct spool_write_list list = TAILQ_HEAD_INITIALIZER(list);

	spool_batch_finish(&f->list, err, op);
	TAILQ_CONCAT(&list, &f->list, entry);
	batch_complete(&list, calls, f->started);
}

/* Writes the ready pending envelopes and hands their flush to a free
 * flusher; again while both remain. */
static void
batch_start(void)
{
	struct flusher *f;

	while ((f = free_flusher()) != NULL) {
		unsigned long before = spool_flush_calls_here();

		take_ready(&f->list);
		if (TAILQ_EMPTY(&f->list))
			return;
		f->started = mono_now();
		if (f->handle == -1 && (f->handle = spool_flush_handle()) == -1) {
			int err = errno;	/* out of descriptors: the batch fails */
			(void)spool_batch_write(&f->list);
			finish_now(f, err, "open", 0);
			continue;
		}
		if (spool_batch_write(&f->list) == 0) {
			/* Nothing reached the disk: no flush to wait for. */
			finish_now(f, 0, NULL, spool_flush_calls_here() - before);
			continue;
		}
		f->busy = true;
		pthread_mutex_lock(&lock);
		f->calls = spool_flush_calls_here() - before;	/* the fsync fallback's */
		f->posted = true;
		f->done = false;
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&lock);
	}
}

static void
batch_on_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	batch_start();
}

void
batch_init(struct event_base *base)
{
	int err;

	if ((ev_flush = evtimer_new(base, batch_on_event, NULL)) == NULL)
		fatalx("batch_init: evtimer_new");
	if (pipe2(done_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("batch_init: pipe");
	if ((ev_done = event_new(base, done_pipe[0], EV_READ | EV_PERSIST,
	    on_flush_done, NULL)) == NULL || event_add(ev_done, NULL) == -1)
		fatalx("batch_init: event_new");
	for (size_t i = 0; i < BATCH_FLUSHERS; i++) {
		struct flusher *f = &flushers[i];
		pthread_t t;

		TAILQ_INIT(&f->list);
		f->handle = -1;		/* opened at its first batch: after spool_init */
		if ((err = pthread_create(&t, NULL, flusher_main, f)) != 0)
			fatalx("batch_init: pthread_create: %s", strerror(err));
		(void)pthread_detach(t);
	}
}

void
batch_hold_flushes(bool hold)
{
	pthread_mutex_lock(&lock);
	held = hold;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

void
batch_add(struct spool_write *w)
{
	TAILQ_INSERT_TAIL(&pending, w, entry);
	schedule_next();
}

/* Waits for every running flush and finishes its batch. */
static void
wait_in_flight(void)
{
	for (size_t i = 0; i < BATCH_FLUSHERS; i++) {
		struct flusher *f = &flushers[i];
		const char *op;
		int err;

		if (!f->busy)
			continue;
		pthread_mutex_lock(&lock);
		while (!f->done)
			pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);
		(void)collect(f, &err, &op);
		finish_flusher(f, err, op);
	}
}

void
batch_run_now(void)
{
	if (ev_flush != NULL)
		evtimer_del(ev_flush);
	wait_in_flight();
	/* What the callbacks queued too, in this thread: nothing waits. */
	while (!TAILQ_EMPTY(&pending)) {
		struct spool_write_list list = TAILQ_HEAD_INITIALIZER(list);
		double start = mono_now();

		unsigned long before = spool_flush_calls_here();

		TAILQ_CONCAT(&list, &pending, entry);
		spool_write_batch(&list);
		batch_complete(&list, spool_flush_calls_here() - before, start);
	}
}

bool
batch_is_empty(void)
{
	for (size_t i = 0; i < BATCH_FLUSHERS; i++)
		if (flushers[i].busy)
			return false;
	return TAILQ_EMPTY(&pending);
}
