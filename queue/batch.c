/*
 * queue/batch.c - group commit of envelope writes, the flush in a thread.
 *
 * Owns: the list of envelope writes waiting for the next flush, the batch
 * being flushed, and the flusher thread with its wake-up pipe. Why group
 * commit: the one flush of spool.c costs the same for one envelope as for
 * fifty. Why a thread: a flush takes milliseconds (more when other work
 * on the file system has dirty pages), and while the queue sat in
 * syncfs() every OPEN (smtpd's and submission's 354), every body handed to
 * delivery or relay and every result waited behind it. Now the event
 * loop writes a batch's envelopes (spool_batch_write), hands the one
 * flush to the thread, and goes on; what arrives meanwhile collects in
 * `pending` for the next batch, so the batch still grows with the load by
 * itself and one idle commit waits for no timer. When the thread is done
 * the loop finishes the batch (the renames of rewrites, spool.c) and runs
 * the callbacks - smtpd's "250" among them - in the loop, never in the
 * thread. One batch at a time: the thread touches no list and no file
 * name, only the flush (spool_batch_flush), so spool.c's order per batch
 * (write, flush, rename, reply) is unchanged; only the waiting moved.
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

static struct spool_write_list	 pending = TAILQ_HEAD_INITIALIZER(pending);
static struct spool_write_list	 flushing = TAILQ_HEAD_INITIALIZER(flushing);
static bool			 in_flight;	/* `flushing` is with the thread */
static struct event		*ev_flush;	/* start the next batch */
static struct event		*ev_done;	/* the thread's wake-up */
static int			 done_pipe[2] = { -1, -1 };
static double			 flush_started;
static unsigned long		 flushes_before;

/* Shared with the thread, under lock. */
static pthread_mutex_t		 lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		 cond = PTHREAD_COND_INITIALIZER;
static bool			 job_posted;	/* the thread has a flush to make */
static bool			 job_done;
static int			 job_err;
static const char		*job_op;

static void *
flusher_main(void *arg)
{
	sigset_t all;

	(void)arg;
	sigfillset(&all);	/* signals are the event loop's */
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		const char *op = NULL;
		int err;

		pthread_mutex_lock(&lock);
		while (!job_posted)
			pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);
		err = spool_batch_flush(&op);
		pthread_mutex_lock(&lock);
		job_posted = false;
		job_done = true;
		job_err = err;
		job_op = op;
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&lock);
		/* One byte per flush; the loop reads it (a full pipe cannot
		 * happen: one flush at a time). */
		while (write(done_pipe[1], "", 1) == -1 && errno == EINTR)
			;
	}
	return NULL;
}

/* Runs the callbacks of a finished batch (they may queue new writes:
 * those go into the next batch). */
static void
batch_complete(struct spool_write_list *list, unsigned long flushes, double start)
{
	struct spool_write *w;
	unsigned n = 0;

	while ((w = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, w, entry);
		n++;
		w->done(w);
	}
	log_debug("group flush: %u envelopes, %lu flush calls, in %.1f ms", n,
	    flushes, (mono_now() - start) * 1000);
}

static void
schedule_next(void)
{
	static const struct timeval now = { 0, 0 };

	if (!TAILQ_EMPTY(&pending) && !in_flight && !evtimer_pending(ev_flush, NULL))
		evtimer_add(ev_flush, &now);
}

/* The thread's flush is over (the caller saw job_done): finish it. */
static void
finish_in_flight(int err, const char *op)
{
	struct spool_write_list list = TAILQ_HEAD_INITIALIZER(list);

	spool_batch_finish(&flushing, err, op);
	TAILQ_CONCAT(&list, &flushing, entry);
	in_flight = false;
	batch_complete(&list, spool_flush_calls() - flushes_before, flush_started);
}

static void
on_flush_done(evutil_socket_t fd, short what, void *arg)
{
	char buf[16];
	bool done;
	int err;
	const char *op;

	(void)what;
	(void)arg;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&lock);
	done = job_done;
	job_done = false;
	err = job_err;
	op = job_op;
	pthread_mutex_unlock(&lock);
	if (!done || !in_flight)
		return;
	finish_in_flight(err, op);
	schedule_next();
}

/* Writes the pending envelopes and hands their flush to the thread. */
static void
batch_start(void)
{
	if (in_flight || TAILQ_EMPTY(&pending))
		return;
	TAILQ_CONCAT(&flushing, &pending, entry);
	flush_started = mono_now();
	flushes_before = spool_flush_calls();
	if (spool_batch_write(&flushing) == 0) {
		/* Nothing reached the disk: no flush to wait for. */
		struct spool_write_list list = TAILQ_HEAD_INITIALIZER(list);
		spool_batch_finish(&flushing, 0, NULL);
		TAILQ_CONCAT(&list, &flushing, entry);
		batch_complete(&list, 0, flush_started);
		schedule_next();
		return;
	}
	in_flight = true;
	pthread_mutex_lock(&lock);
	job_posted = true;
	job_done = false;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
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
	pthread_t t;
	int err;

	if ((ev_flush = evtimer_new(base, batch_on_event, NULL)) == NULL)
		fatalx("batch_init: evtimer_new");
	if (pipe2(done_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("batch_init: pipe");
	if ((ev_done = event_new(base, done_pipe[0], EV_READ | EV_PERSIST,
	    on_flush_done, NULL)) == NULL || event_add(ev_done, NULL) == -1)
		fatalx("batch_init: event_new");
	if ((err = pthread_create(&t, NULL, flusher_main, NULL)) != 0)
		fatalx("batch_init: pthread_create: %s", strerror(err));
	(void)pthread_detach(t);
}

void
batch_add(struct spool_write *w)
{
	TAILQ_INSERT_TAIL(&pending, w, entry);
	schedule_next();
}

/* Waits for the thread's flush, if one is running, and finishes it. */
static void
wait_in_flight(void)
{
	int err;
	const char *op;

	if (!in_flight)
		return;
	pthread_mutex_lock(&lock);
	while (!job_done)
		pthread_cond_wait(&cond, &lock);
	job_done = false;
	err = job_err;
	op = job_op;
	pthread_mutex_unlock(&lock);
	finish_in_flight(err, op);
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
		unsigned long flushes = spool_flush_calls();
		double start = mono_now();

		TAILQ_CONCAT(&list, &pending, entry);
		spool_write_batch(&list);
		batch_complete(&list, spool_flush_calls() - flushes, start);
	}
}

bool
batch_is_empty(void)
{
	return TAILQ_EMPTY(&pending) && !in_flight;
}
