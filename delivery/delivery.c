/*
 * delivery/delivery.c - the delivery role: one MSG_QUEUE_DELIVER in, one
 * MSG_DELIVERY_RESULT out.
 *
 * Owns: the deliveries in progress, the links to queue and lookup, and the
 * group flush of Maildir files. For each (message, recipient) the queue
 * hands over: ask lookup who gets the recipient now (a user may have been
 * deleted since RCPT); RESOLVE_LOCAL -> write the message into each listed
 * mailbox (maildir.c); unknown user or blocked -> PERMFAIL; not one of our
 * domains -> REMOTE (the queue hands it to the relay role, or refuses it
 * for port 25 mail); lookup trouble, no lookup, or no answer in
 * LOOKUP_TIMEOUT -> TEMPFAIL. delivery_result_for() is that table.
 *
 * Files written during one turn of the event loop are flushed together:
 * one syncfs() per file system, then every rename into new/, then one
 * fsync per new/ directory, then the results go out (same reasoning as
 * the queue's group commit in queue/spool.c).
 *
 * An alias with several mailboxes: every mailbox is written; if any failed
 * temporarily the answer is TEMPFAIL and the queue retries the whole
 * recipient, so the mailboxes that did get it get it again. That is the
 * at-least-once choice: a duplicate is better than a loss, and keeping
 * per-mailbox state in the queue is not worth it for a rare disk error.
 * If the queue link goes away, work for it is abandoned (tmp files
 * removed): the new queue process redelivers from its spool.
 *
 * With "delivery lmtp:/socket" the mailboxes of a recipient go to the LMTP
 * server in one session (lmtp.c) instead of the Maildir writes; each
 * mailbox's reply becomes its mbox_write status and the same report
 * answers the queue. The message gets the Delivered-To line the Maildir
 * writer adds (Dovecot adds Return-Path) (a 5xx: PERMFAIL, a 4xx or a broken session:
 * TEMPFAIL).
 */
#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "delivery.h"
#include "ipc_decode.h"
#include "lmtp.h"
#include "log.h"
#include "maildir.h"
#include "role.h"
#include "util.h"

#define LOOKUP_TIMEOUT		30	/* s for a RESOLVE_ANSWER */
#define SWEEP_INTERVAL		5	/* s between timeout checks */
#define SHUTDOWN_GRACE		2.0	/* s to flush replies */
#define SHUTDOWN_POLL_USEC	50000

enum task_state { TASK_RESOLVING, TASK_WRITTEN, TASK_LMTP };

struct mbox_write {
	char			 mailbox[ADDR_MAX + 1];
	struct maildir_file	 file;
	enum maildir_status	 status;
	char			 why[MAILDIR_WHY_MAX];
};

struct task {
	TAILQ_ENTRY(task)	 entry;
	enum task_state		 state;
	uint64_t		 queue_req;
	unsigned		 queue_gen;	/* link it came from */
	uint64_t		 lookup_req;
	time_t			 asked;
	struct msg_deliver	 m;
	int			 body_fd;
	double			 queued_at;	/* wall clock, body mtime */
	unsigned		 nwrite;
	struct mbox_write	*writes;
	struct lmtp_rcpt	*lmtp_rcpts;	/* TASK_LMTP: one per write */
	struct lmtp_session	*lmtp;		/* TASK_LMTP: the session */
};

TAILQ_HEAD(task_list, task);

static struct event_base	*base;
static const struct config	*cfg;
static struct maildir_root	 root;
static struct ipc_link		*qlink;
static struct ipc_link		*llink;
static unsigned			 queue_gen;
static uint64_t			 lookup_counter;
static struct task_list		 resolving = TAILQ_HEAD_INITIALIZER(resolving);
static struct task_list		 written = TAILQ_HEAD_INITIALIZER(written);
static struct task_list		 at_lmtp = TAILQ_HEAD_INITIALIZER(at_lmtp);
static struct event		*ev_flush;
static struct event		*ev_sweep;
static struct event		*ev_shutdown;
static bool			 shutting_down;
static double			 shutdown_deadline;

/* ---- results and logs --------------------------------------------------- */

static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
result_word(enum delivery_result r)
{
	return r == DELIVERY_OK ? "ok" : r == DELIVERY_TEMPFAIL ? "deferred" :
	    r == DELIVERY_REMOTE ? "remote" : "failed";
}

static void
log_delivery(const struct task *t, const char *mailbox, enum delivery_result r,
    const char *reason)
{
	char to[LOG_ESCAPE_MAX], mb[LOG_ESCAPE_MAX], why[LOG_ESCAPE_MAX];
	double delay = wall_now() - t->queued_at;

	log_event("delivery", "qid=%s to=<%s>%s%s via=%s result=%s delay=%.2fs%s%s%s",
	    t->m.msgid, log_escape(to, sizeof(to), t->m.rcpt, strlen(t->m.rcpt)),
	    mailbox != NULL ? " mailbox=" : "",
	    mailbox != NULL ? log_escape(mb, sizeof(mb), mailbox, strlen(mailbox)) : "",
	    r == DELIVERY_REMOTE ? "none" : t->lmtp_rcpts != NULL ? "lmtp" : "maildir",
	    result_word(r), delay < 0 ? 0.0 : delay,
	    reason != NULL ? " reason=\"" : "",
	    reason != NULL ? log_escape(why, sizeof(why), reason, strlen(reason)) : "",
	    reason != NULL ? "\"" : "");
}

static void
task_free(struct task *t)
{
	for (unsigned i = 0; i < t->nwrite; i++)
		maildir_file_close(&t->writes[i].file);
	free(t->writes);
	free(t->lmtp_rcpts);
	if (t->body_fd != -1)
		close(t->body_fd);
	free(t);
}

static bool
task_orphaned(const struct task *t)
{
	return qlink == NULL || t->queue_gen != queue_gen;
}

/* Sends the result (if the queue that asked is still there), frees t. */
static void
task_finish(struct task *t, enum delivery_result r, const char *reason)
{
	struct ipc_builder b;

	if (!task_orphaned(t)) {
		ipc_encode_delivery_result(&b, r, reason);
		(void)ipc_send(qlink, MSG_DELIVERY_RESULT, t->queue_req, &b, -1);
	}
	task_free(t);
}

/* Resolution ended without mailboxes: log once and answer. */
static void
task_fail(struct task *t, enum delivery_result r, const char *reason)
{
	log_delivery(t, NULL, r, reason);
	task_finish(t, r, reason);
}

/* ---- the group flush ---------------------------------------------------- */

static void
write_failed(struct mbox_write *w, const char *what, int err)
{
	w->status = MAILDIR_TEMPFAIL;
	snprintf(w->why, sizeof(w->why), "%s: %s", what, strerror(err));
}

/* Step 2: one syncfs per file system among the pending files. */
static void
flush_sync(struct task_list *list)
{
	dev_t done[16];
	size_t ndone = 0;
	struct task *t;

	TAILQ_FOREACH(t, list, entry)
		for (unsigned i = 0; i < t->nwrite; i++) {
			struct mbox_write *w = &t->writes[i];
			size_t k;
			if (w->status != MAILDIR_OK)
				continue;
			for (k = 0; k < ndone && done[k] != w->file.dev; k++)
				;
			if (k < ndone)
				continue;
			/* Past 16 file systems: one syncfs per file, still right. */
			if (syncfs(w->file.fd) == -1) {
				write_failed(w, "syncfs", errno);
				continue;
			}
			if (ndone < sizeof(done) / sizeof(done[0]))
				done[ndone++] = w->file.dev;
		}
}

/* A syncfs failure on one file must fail every file on that file system. */
static void
flush_fail_same_fs(struct task_list *list)
{
	struct task *t, *u;

	TAILQ_FOREACH(t, list, entry)
		for (unsigned i = 0; i < t->nwrite; i++) {
			struct mbox_write *w = &t->writes[i];
			if (w->status != MAILDIR_TEMPFAIL || w->file.fd == -1)
				continue;
			TAILQ_FOREACH(u, list, entry)
				for (unsigned j = 0; j < u->nwrite; j++)
					if (u->writes[j].status == MAILDIR_OK &&
					    u->writes[j].file.dev == w->file.dev)
						write_failed(&u->writes[j], "syncfs", EIO);
		}
}

/* Steps 3 and 4: rename each, then fsync each distinct new/ once. */
static void
flush_publish(struct task_list *list)
{
	struct task *t, *u;

	TAILQ_FOREACH(t, list, entry)
		for (unsigned i = 0; i < t->nwrite; i++) {
			struct mbox_write *w = &t->writes[i];
			if (w->status == MAILDIR_OK && maildir_publish(&w->file) == -1)
				write_failed(w, "rename into new/", errno);
		}
	TAILQ_FOREACH(t, list, entry)
		for (unsigned i = 0; i < t->nwrite; i++) {
			struct mbox_write *w = &t->writes[i];
			if (w->status != MAILDIR_OK || w->file.ino == 0)
				continue;
			int err = maildir_sync_new(&w->file) == -1 ? errno : 0;
			ino_t ino = w->file.ino;
			dev_t dev = w->file.dev;
			/* Same Maildir later in the batch: already synced. */
			TAILQ_FOREACH(u, list, entry)
				for (unsigned j = 0; j < u->nwrite; j++) {
					struct mbox_write *x = &u->writes[j];
					if (x->status != MAILDIR_OK || x->file.ino != ino ||
					    x->file.dev != dev)
						continue;
					x->file.ino = 0;	/* mark: done */
					if (err != 0)
						write_failed(x, "fsync new/", err);
				}
		}
}

static void
task_report(struct task *t)
{
	unsigned nok = 0, ntemp = 0;
	const char *temp_why = NULL, *perm_why = NULL;
	char reason[IPC_REASON_MAX + 1];

	for (unsigned i = 0; i < t->nwrite; i++) {
		struct mbox_write *w = &t->writes[i];
		enum delivery_result r = w->status == MAILDIR_OK ? DELIVERY_OK :
		    w->status == MAILDIR_TEMPFAIL ? DELIVERY_TEMPFAIL : DELIVERY_PERMFAIL;
		log_delivery(t, w->mailbox, r, r == DELIVERY_OK ? NULL : w->why);
		if (r == DELIVERY_OK)
			nok++;
		else if (r == DELIVERY_TEMPFAIL) {
			ntemp++;
			temp_why = temp_why != NULL ? temp_why : w->why;
		} else
			perm_why = perm_why != NULL ? perm_why : w->why;
	}
	if (ntemp > 0)
		task_finish(t, DELIVERY_TEMPFAIL, temp_why);
	else if (nok > 0) {
		snprintf(reason, sizeof(reason), "delivered to %u mailbox%s", nok,
		    nok == 1 ? "" : "es");
		task_finish(t, DELIVERY_OK, reason);
	} else
		task_finish(t, DELIVERY_PERMFAIL, perm_why != NULL ? perm_why : "no mailbox");
}

static void
flush_written(void)
{
	struct task_list list = TAILQ_HEAD_INITIALIZER(list);
	struct task *t;
	unsigned n = 0;
	double start = mono_now();

	TAILQ_CONCAT(&list, &written, entry);
	/* Work for a queue that went away is dropped, not published. */
	for (struct task *next, *o = TAILQ_FIRST(&list); o != NULL; o = next) {
		next = TAILQ_NEXT(o, entry);
		if (task_orphaned(o)) {
			TAILQ_REMOVE(&list, o, entry);
			task_free(o);
		}
	}
	flush_sync(&list);
	flush_fail_same_fs(&list);
	flush_publish(&list);
	while ((t = TAILQ_FIRST(&list)) != NULL) {
		TAILQ_REMOVE(&list, t, entry);
		task_report(t);
		n++;
	}
	if (n > 0)
		log_debug("group flush: %u deliveries in %.1f ms", n,
		    (mono_now() - start) * 1000);
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	flush_written();
}

/* ---- resolution --------------------------------------------------------- */

static bool
already_listed(const struct task *t, const char *mailbox)
{
	for (unsigned i = 0; i < t->nwrite; i++)
		if (strcmp(t->writes[i].mailbox, mailbox) == 0)
			return true;
	return false;
}

/* ---- LMTP ----------------------------------------------------------------- */

/* The session's answers become the writes' statuses, then the report. */
static void
task_lmtp_report(struct task *t)
{
	for (unsigned i = 0; i < t->nwrite; i++) {
		struct mbox_write *w = &t->writes[i];
		const struct lmtp_rcpt *r = &t->lmtp_rcpts[i];
		w->status = r->status == LMTP_OK ? MAILDIR_OK :
		    r->status == LMTP_PERMFAIL ? MAILDIR_PERMFAIL : MAILDIR_TEMPFAIL;
		snprintf(w->why, sizeof(w->why), "%.*s", (int)sizeof(w->why) - 1, r->why);
	}
	task_report(t);
}

static void
on_lmtp_done(void *arg)
{
	struct task *t = arg;

	t->lmtp = NULL;		/* lmtp.c frees it after this returns */
	TAILQ_REMOVE(&at_lmtp, t, entry);
	task_lmtp_report(t);
}

/* Every mailbox of t to the LMTP server in one session. */
static void
task_lmtp_start(struct task *t)
{
	/* as the Maildir writer does: the address the message came for */
	char prefix[ADDR_MAX + 32];

	snprintf(prefix, sizeof(prefix), "Delivered-To: %s\r\n", t->m.rcpt);
	t->lmtp_rcpts = xcalloc(t->nwrite > 0 ? t->nwrite : 1, sizeof(*t->lmtp_rcpts));
	for (unsigned i = 0; i < t->nwrite; i++)
		memcpy(t->lmtp_rcpts[i].address, t->writes[i].mailbox,
		    sizeof(t->lmtp_rcpts[i].address));
	t->state = TASK_LMTP;
	t->lmtp = lmtp_start(base, cfg->delivery_lmtp, cfg->hostname, t->m.sender,
	    prefix, t->lmtp_rcpts, t->nwrite, t->body_fd, on_lmtp_done, t);
	if (t->lmtp == NULL) {		/* no socket: every mailbox deferred */
		task_lmtp_report(t);
		return;
	}
	TAILQ_INSERT_TAIL(&at_lmtp, t, entry);
}

/* Step 1 for every mailbox; the rest happens in the next flush. */
static void
task_write_all(struct task *t, const struct msg_resolve_answer *a)
{
	static const struct timeval now = { 0, 0 };
	bool lmtp = cfg->delivery_lmtp[0] != '\0';

	t->writes = xcalloc(a->nmailbox, sizeof(*t->writes));
	for (unsigned i = 0; i < a->nmailbox; i++) {
		if (already_listed(t, a->mailbox[i]))
			continue;
		struct mbox_write *w = &t->writes[t->nwrite++];
		memcpy(w->mailbox, a->mailbox[i], sizeof(w->mailbox));
		w->file.fd = w->file.dirfd = -1;
		if (!lmtp)
			w->status = maildir_write(&root, w->mailbox, t->m.sender, t->m.rcpt,
			    t->body_fd, &w->file, w->why, sizeof(w->why));
	}
	if (lmtp) {
		task_lmtp_start(t);
		return;
	}
	t->state = TASK_WRITTEN;
	TAILQ_INSERT_TAIL(&written, t, entry);
	if (!evtimer_pending(ev_flush, NULL))
		evtimer_add(ev_flush, &now);
}

static const char *
verdict_reason(enum resolve_verdict v)
{
	switch (v) {
	case RESOLVE_UNKNOWN_USER:	return "unknown user";
	case RESOLVE_NOT_LOCAL:		return "not a local domain";
	case RESOLVE_BLOCKED:		return "blocked subaddress";
	case RESOLVE_TEMPFAIL:		return "lookup temporary failure";
	case RESOLVE_LOCAL:		break;
	}
	return "local";
}

enum delivery_result
delivery_result_for(enum resolve_verdict v)
{
	switch (v) {
	case RESOLVE_LOCAL:		return DELIVERY_OK;	/* after the writes */
	case RESOLVE_NOT_LOCAL:		return DELIVERY_REMOTE;
	case RESOLVE_TEMPFAIL:		return DELIVERY_TEMPFAIL;
	case RESOLVE_UNKNOWN_USER:
	case RESOLVE_BLOCKED:		break;
	}
	return DELIVERY_PERMFAIL;
}

static struct task *
resolving_find(uint64_t lookup_req)
{
	struct task *t;

	TAILQ_FOREACH(t, &resolving, entry)
		if (t->lookup_req == lookup_req)
			return t;
	return NULL;
}

static void
on_resolve_answer(struct ipc_frame *f)
{
	static struct msg_resolve_answer a;	/* 8 KB: not on the stack */
	struct task *t;
	const char *why;

	if (ipc_decode_resolve_answer(f, &a, &why) == -1) {
		/* on_lookup_close defers everything that waits for lookup. */
		ipc_link_reject(llink, f->type, why);
		return;
	}
	if ((t = resolving_find(f->req_id)) == NULL) {
		log_debug("late resolve answer %llu", (unsigned long long)f->req_id);
		return;
	}
	TAILQ_REMOVE(&resolving, t, entry);
	if (a.verdict == RESOLVE_LOCAL)
		task_write_all(t, &a);
	else
		task_fail(t, delivery_result_for(a.verdict), verdict_reason(a.verdict));
}

static void
fail_resolving(const char *reason, time_t older_than)
{
	struct task_list list = TAILQ_HEAD_INITIALIZER(list);
	struct task *t, *next;

	/* Collect first: an answer that fails to send closes the queue link,
	 * and on_queue_close empties `resolving` under our feet. */
	for (t = TAILQ_FIRST(&resolving); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		if (t->asked < older_than) {
			TAILQ_REMOVE(&resolving, t, entry);
			TAILQ_INSERT_TAIL(&list, t, entry);
		}
	}
	while ((t = TAILQ_FIRST(&list)) != NULL) {
		TAILQ_REMOVE(&list, t, entry);
		task_fail(t, DELIVERY_TEMPFAIL, reason);
	}
}

/* ---- frames from the queue ---------------------------------------------- */

static struct task *
task_new(struct ipc_frame *f, const struct msg_deliver *m)
{
	struct task *t = xcalloc(1, sizeof(*t));
	struct stat st;

	t->m = *m;
	t->body_fd = f->fd;
	f->fd = -1;
	t->queue_req = f->req_id;
	t->queue_gen = queue_gen;
	t->queued_at = wall_now();
	if (fstat(t->body_fd, &st) == 0)
		t->queued_at = (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9;
	return t;
}

static void
on_deliver(struct ipc_frame *f)
{
	struct ipc_builder b;
	struct msg_deliver m;
	struct task *t;
	const char *why;

	if (ipc_decode_deliver(f, &m, &why) == -1) {
		log_event("ipc_reject", "peer=queue type=%s reason=\"%s\"",
		    ipc_msg_name(f->type), why);
		ipc_encode_delivery_result(&b, DELIVERY_TEMPFAIL, "malformed request");
		(void)ipc_send(qlink, MSG_DELIVERY_RESULT, f->req_id, &b, -1);
		return;
	}
	t = task_new(f, &m);
	if (llink == NULL || shutting_down) {
		task_fail(t, DELIVERY_TEMPFAIL, llink == NULL ?
		    "lookup unavailable" : "delivery shutting down");
		return;
	}
	t->lookup_req = ++lookup_counter;
	t->asked = time(NULL);
	t->state = TASK_RESOLVING;
	TAILQ_INSERT_TAIL(&resolving, t, entry);
	ipc_encode_resolve_ask(&b, m.rcpt);
	/* On failure on_lookup_close has already answered for t. */
	(void)ipc_send(llink, MSG_RESOLVE_ASK, t->lookup_req, &b, -1);
}

static void
on_queue_frame(struct ipc_link *l, struct ipc_frame *f, void *arg)
{
	(void)l;
	(void)arg;
	if (f->type == MSG_QUEUE_DELIVER)
		on_deliver(f);
	else
		log_event("ipc_reject", "peer=queue type=%s reason=\"unexpected\"",
		    ipc_msg_name(f->type));
	if (f->fd != -1)
		close(f->fd);
}

static void
on_lookup_frame(struct ipc_link *l, struct ipc_frame *f, void *arg)
{
	(void)arg;
	if (f->fd != -1)
		close(f->fd);
	if (f->type == MSG_RESOLVE_ANSWER)
		on_resolve_answer(f);
	else
		ipc_link_reject(l, f->type, "unexpected");
}

/* Tasks of the old queue can no longer be answered. */
static void
drop_queue_work(void)
{
	struct task *t;

	queue_gen++;
	while ((t = TAILQ_FIRST(&resolving)) != NULL) {
		TAILQ_REMOVE(&resolving, t, entry);
		task_free(t);
	}
	/* Written ones are dropped by the next flush (task_orphaned). */
}

static void
on_queue_close(struct ipc_link *l, void *arg)
{
	(void)arg;
	if (l != qlink)
		return;
	qlink = NULL;
	log_event("link_down", "peer=queue");
	drop_queue_work();
}

static void
on_lookup_close(struct ipc_link *l, void *arg)
{
	(void)arg;
	if (l != llink)
		return;
	llink = NULL;
	log_event("link_down", "peer=lookup");
	fail_resolving("lookup went away", (time_t)INT64_MAX);
}

/* ---- role --------------------------------------------------------------- */

void
delivery_on_link(enum role peer, int fd)
{
	if (!ipc_roles_linked(ROLE_DELIVERY, peer)) {
		log_warnx("delivery: no link expected to %s", role_name(peer));
		close(fd);
		return;
	}
	switch (peer) {
	case ROLE_QUEUE:
		if (qlink != NULL) {
			ipc_link_free(qlink);
			qlink = NULL;
			drop_queue_work();
		}
		qlink = ipc_link_new(base, fd, ROLE_DELIVERY, ROLE_QUEUE,
		    on_queue_frame, on_queue_close, NULL);
		break;
	case ROLE_LOOKUP:
		if (llink != NULL) {
			ipc_link_free(llink);
			llink = NULL;
			fail_resolving("lookup replaced", (time_t)INT64_MAX);
		}
		llink = ipc_link_new(base, fd, ROLE_DELIVERY, ROLE_LOOKUP,
		    on_lookup_frame, on_lookup_close, NULL);
		break;
	default:
		log_warnx("delivery: no link expected to %s", role_name(peer));
		close(fd);
		break;
	}
}

static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	fail_resolving("lookup timeout", time(NULL) - LOOKUP_TIMEOUT);
}

void
delivery_init(struct event_base *b, const struct config *c,
    const int *listen_fds, size_t nlisten)
{
	struct timeval tv = { SWEEP_INTERVAL, 0 };

	(void)listen_fds;
	(void)nlisten;
	base = b;
	cfg = c;
	if (mkdir_p(cfg->maildir_root, 0700) == -1)
		fatal("mkdir %s", cfg->maildir_root);
	if (maildir_root_open(&root, cfg->maildir_root, cfg->hostname) == -1)
		fatal("open %s", cfg->maildir_root);
	ev_flush = evtimer_new(base, on_flush, NULL);
	ev_sweep = event_new(base, -1, EV_PERSIST, on_sweep, NULL);
	if (ev_flush == NULL || ev_sweep == NULL)
		fatalx("delivery_init: event_new");
	event_add(ev_sweep, &tv);
}

void
delivery_on_reload(const struct config *c)
{
	cfg = c;
}

static void
on_shutdown_poll(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { 0, SHUTDOWN_POLL_USEC };

	(void)fd;
	(void)what;
	(void)arg;
	flush_written();
	if (((qlink == NULL || ipc_link_pending(qlink) == 0) && TAILQ_EMPTY(&at_lmtp)) ||
	    mono_now() > shutdown_deadline) {
		maildir_root_close(&root);
		role_exit(0);
		return;
	}
	evtimer_add(ev_shutdown, &tv);
}

/* Publish what is written, answer everything, then exit. */
void
delivery_on_shutdown(void)
{
	if (shutting_down)
		return;
	shutting_down = true;
	fail_resolving("delivery shutting down", (time_t)INT64_MAX);
	shutdown_deadline = mono_now() + SHUTDOWN_GRACE;
	if ((ev_shutdown = evtimer_new(base, on_shutdown_poll, NULL)) == NULL)
		fatalx("delivery: evtimer_new");
	on_shutdown_poll(-1, 0, NULL);
}
