/*
 * queue/sched.c - which (message, recipient) goes to delivery, and when.
 *
 * Owns: the in-memory queue (every committed message and the state of each
 * of its pending recipients), the delivery link, the table of deliveries in
 * flight (at most delivery_concurrency), retry times and expiry.
 *
 * A message is worked on in rounds. A round starts when its retry time
 * comes (at once after commit or start-up): every pending recipient
 * becomes ready and is handed to delivery as MSG_QUEUE_DELIVER with the
 * body as a read-only fd. Delivery writes local recipients into their
 * Maildir and answers DELIVERY_REMOTE for the others. Mail from submission
 * (or the queue's own DSNs) then goes to the relay role, one request per
 * recipient domain (relay.c); for port 25 mail a non-local recipient can
 * not exist (smtpd refused it at RCPT), so it fails, logged, never with a
 * DSN. Delivery is asked again every round, so a domain that became local
 * meanwhile is delivered locally.
 *
 * When every result of the round is in, a message from submission whose
 * recipients failed for good (permanent error or expiry) gets one DSN for
 * all of them (bounce.c), queued durably before the original forgets them.
 * Then the recipients that were delivered, bounced or expired are dropped;
 * if none is left the message is removed from the spool, else the envelope
 * is rewritten (through the group flush) with the attempt count and the
 * next retry time: retry_min doubled per failed round, at most retry_max,
 * never after the expiry (arrival + queue_lifetime). A temporary failure
 * after expiry drops the recipient (event=expired). If the delivery or
 * relay process goes away, its work in flight counts as deferred for
 * SCHED_LINKDOWN_RETRY seconds only, so a crash does not delay mail by a
 * full backoff, unless the same message was caught in SCHED_LINKDOWN_MAX
 * crashes (a message that kills a role must not loop fast forever).
 * A message with "hold dkim" (a DSN not yet signed) has no rounds: when it
 * is due, sign.c gets it instead, and a signing that did not happen is
 * retried with the same backoff.
 *
 * relay.c, bounce.c and sign.c work on a message for a while and report
 * back through completion callbacks given with each call (qmsg.h), the
 * way the spool reports a flush: the calls go one way, from here to them.
 *
 * The queue logs the fate of each recipient once per round: delivered,
 * deferred, bounce (permanent failure) or expired; event=dsn when a DSN is
 * queued, and event=removed when the message leaves the spool.
 *
 * Delivery is at least once: a crash between a successful delivery and the
 * envelope rewrite delivers that recipient again after restart.
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin.h"
#include "batch.h"
#include "ipc_decode.h"
#include "log.h"
#include "qmsg.h"
#include "role.h"
#include "sched.h"
#include "spool.h"
#include "util.h"

#define SLOT_BITS	9		/* low bits of a request id: the slot */
_Static_assert((1 << SLOT_BITS) == SCHED_MAX_SLOTS, "slot bits and slot count");
#define SWEEP_INTERVAL	30		/* s between checks for lost results */

struct slot {
	struct qmsg	*m;		/* NULL: free */
	unsigned	 rcpt;
	uint64_t	 req_id;
	time_t		 started;
};

static struct event_base	*base;
static const struct config	*cfg;
static struct ipc_link		*dlink;
static TAILQ_HEAD(, qmsg)	 all_msgs = TAILQ_HEAD_INITIALIZER(all_msgs);
static TAILQ_HEAD(, qmsg)	 ready_msgs = TAILQ_HEAD_INITIALIZER(ready_msgs);
static struct slot		 slots[SCHED_MAX_SLOTS];
static unsigned			 ninflight;
static unsigned			 nmsgs;
static uint64_t			 req_counter;
static bool			 stopped;
static bool			 pumping;
static struct event		*ev_sweep;

static void	sched_pump(void);
static void	round_step(struct qmsg *);

/* ---- pure policy -------------------------------------------------------- */

uint32_t
sched_backoff(uint32_t attempts, uint32_t retry_min, uint32_t retry_max)
{
	uint64_t d = retry_min;

	for (uint32_t i = 1; i < attempts && d < retry_max; i++)
		d *= 2;
	return d > retry_max ? retry_max : (uint32_t)d;
}

bool
sched_is_expired(const struct envelope *e, uint64_t now,
    const struct config *c)
{
	return now >= e->arrival + c->queue_lifetime;
}

uint64_t
sched_next_attempt(struct envelope *e, uint64_t now, bool linkdown_only,
    unsigned *linkdown_count, const struct config *c)
{
	uint64_t next, expiry = e->arrival + c->queue_lifetime;

	if (linkdown_only && *linkdown_count < SCHED_LINKDOWN_MAX) {
		(*linkdown_count)++;
		next = now + SCHED_LINKDOWN_RETRY;
	} else {
		if (e->attempts < ENVELOPE_ATTEMPTS_MAX)
			e->attempts++;
		next = now + sched_backoff(e->attempts, c->retry_min, c->retry_max);
	}
	/* The last try happens at expiry, not up to retry_max after it. */
	if (next > expiry)
		next = expiry > now ? expiry : now + 1;
	return next;
}

/* ---- messages ----------------------------------------------------------- */

static uint64_t
wall_now(void)
{
	return (uint64_t)time(NULL);
}

static void
ready_remove(struct qmsg *m)
{
	if (m->on_ready) {
		TAILQ_REMOVE(&ready_msgs, m, ready_entry);
		m->on_ready = false;
	}
}

static void
note_clear(struct rcpt_note *n)
{
	free(n->reply);
	memset(n, 0, sizeof(*n));
}

static void
qmsg_free(struct qmsg *m)
{
	ready_remove(m);
	TAILQ_REMOVE(&all_msgs, m, all_entry);
	nmsgs--;
	event_free(m->timer);
	for (unsigned i = 0; i < m->env.nrcpt; i++)
		note_clear(&m->note[i]);
	envelope_free(&m->env);
	free(m->state);
	free(m->note);
	free(m);
}

static void
start_round(struct qmsg *m)
{
	m->round_deferred = false;
	m->round_linkdown = false;
	m->nready = m->env.nrcpt;
	for (unsigned i = 0; i < m->env.nrcpt; i++) {
		m->state[i] = RCPT_READY;
		note_clear(&m->note[i]);
	}
	if (!m->on_ready) {
		TAILQ_INSERT_TAIL(&ready_msgs, m, ready_entry);
		m->on_ready = true;
	}
}

/* Runs m's next step (a round, or signing) at unix time when. */
static void
retry_at(struct qmsg *m, uint64_t when)
{
	uint64_t now = wall_now();
	struct timeval tv = { 0, 0 };

	if (when > now)
		tv.tv_sec = (time_t)(when - now);
	evtimer_add(m->timer, &tv);
}

/* Signing did not happen now: the next try, backed off like a round and
 * never after the expiry (then sign.c drops it). */
static void
retry_signing(struct qmsg *m, const char *why)
{
	uint64_t now = wall_now(), expiry = m->env.arrival + cfg->queue_lifetime;

	if (m->sign_attempts < ENVELOPE_ATTEMPTS_MAX)
		m->sign_attempts++;
	uint64_t next = now + sched_backoff(m->sign_attempts, cfg->retry_min,
	    cfg->retry_max);
	if (next > expiry)
		next = expiry > now ? expiry : now + 1;
	log_event("sign_deferred", "qid=%s attempts=%u retry_in=%llus reason=\"%s\"",
	    m->env.id, m->sign_attempts, (unsigned long long)(next - now), why);
	retry_at(m, next);
}

/* sign.c's completion of sign_start. */
static void
sign_finished(struct qmsg *m, enum sign_outcome outcome, struct envelope *copy,
    const char *why, void *arg)
{
	(void)arg;
	switch (outcome) {
	case SIGN_DONE_SIGNED:
		sched_add(copy);	/* the signed DSN replaces the held one */
		qmsg_free(m);
		return;
	case SIGN_DONE_EXPIRED:
		qmsg_free(m);
		return;
	case SIGN_DONE_RETRY:
		retry_signing(m, why);
		return;
	}
}

static void
on_retry_timer(evutil_socket_t fd, short what, void *arg)
{
	struct qmsg *m = arg;

	(void)fd;
	(void)what;
	if (stopped || m->env.held_since != 0)
		return;		/* held by the administrator: no rounds */
	if (m->env.hold != ENVELOPE_HOLD_NONE) {
		sign_start(m, sign_finished, NULL);
		return;
	}
	start_round(m);
	sched_pump();
}

void
sched_add(struct envelope *e)
{
	struct qmsg *m = xcalloc(1, sizeof(*m));

	m->env = *e;
	e->rcpt = NULL;
	e->nrcpt = 0;
	m->state = xcalloc(m->env.nrcpt, sizeof(*m->state));
	m->note = xcalloc(m->env.nrcpt, sizeof(*m->note));
	if ((m->timer = evtimer_new(base, on_retry_timer, m)) == NULL)
		fatalx("sched_add: evtimer_new");
	TAILQ_INSERT_TAIL(&all_msgs, m, all_entry);
	nmsgs++;
	if (m->env.held_since == 0)
		retry_at(m, m->env.next_attempt);
}

void
sched_kick_held(void)
{
	struct qmsg *m, *next;

	/* sign_start may free m (expired): walk with a saved next. */
	for (m = TAILQ_FIRST(&all_msgs); m != NULL; m = next) {
		next = TAILQ_NEXT(m, all_entry);
		if (m->env.hold != ENVELOPE_HOLD_NONE && !m->busy && !stopped &&
		    m->env.held_since == 0) {
			evtimer_del(m->timer);
			sign_start(m, sign_finished, NULL);
		}
	}
}

static void
update_done(struct spool_write *w)
{
	sched_persisted(w->id);
	if (w->error != 0)
		/* The older envelope stays: at worst a second delivery. */
		log_event("spool_error", "op=%s qid=%s errno=\"%s\" action=kept_old_envelope",
		    w->failed_op, w->id, strerror(w->error));
	spool_write_release(w);
	free(w);
}

static void
persist_envelope(struct qmsg *m)
{
	struct spool_write *w = xcalloc(1, sizeof(*w));

	if (spool_write_prepare(w, SPOOL_WRITE_UPDATE, &m->env) == -1)
		fatalx("sched: envelope %s no longer formats", m->env.id);
	w->done = update_done;
	m->npersist++;
	batch_add(w);
}

static void
remove_message(struct qmsg *m)
{
	if (spool_remove(m->env.id) == 0)
		log_event("removed", "qid=%s", m->env.id);
	qmsg_free(m);
}

/* Removes recipient i with its state and note. */
static void
drop_rcpt(struct qmsg *m, unsigned i)
{
	note_clear(&m->note[i]);
	envelope_remove_rcpt(&m->env, i);
	memmove(&m->state[i], &m->state[i + 1], m->env.nrcpt - i);
	memmove(&m->note[i], &m->note[i + 1], (m->env.nrcpt - i) * sizeof(*m->note));
	memset(&m->note[m->env.nrcpt], 0, sizeof(*m->note));
}

/* A DSN could not be queued: keep the failed recipients for the next
 * round instead of losing the report. */
static void
keep_failed(struct qmsg *m)
{
	for (unsigned i = 0; i < m->env.nrcpt; i++)
		if (m->state[i] == RCPT_FAILED) {
			m->state[i] = RCPT_DEFERRED;
			m->round_deferred = true;
		}
}

/* Drop finished recipients, then either remove the message or persist
 * the next retry. */
static void
finish_round(struct qmsg *m)
{
	uint64_t now = wall_now();

	m->busy = false;
	for (unsigned i = m->env.nrcpt; i-- > 0;)
		if (m->state[i] != RCPT_DEFERRED)
			drop_rcpt(m, i);
	if (m->env.nrcpt == 0) {
		remove_message(m);
		return;
	}
	bool linkdown_only = m->round_linkdown && !m->round_deferred;
	m->env.next_attempt = sched_next_attempt(&m->env, now, linkdown_only,
	    &m->linkdown_count, cfg);
	for (unsigned i = 0; i < m->env.nrcpt; i++) {
		m->state[i] = RCPT_WAITING;
		note_clear(&m->note[i]);
	}
	log_debug("qid=%s retry in %llus attempts=%u nrcpt=%u", m->env.id,
	    (unsigned long long)(m->env.next_attempt - now), m->env.attempts,
	    m->env.nrcpt);
	persist_envelope(m);
	retry_at(m, m->env.next_attempt);
}

/* bounce.c's completion: the DSN of m's round is durable, or not. */
static void
bounce_finished(struct qmsg *m, struct envelope *dsn, void *arg)
{
	(void)arg;
	if (dsn != NULL)
		sched_add(dsn);
	else
		keep_failed(m);
	finish_round(m);
}

/* Every result of the round is in: report failures, then finish. */
static void
end_round(struct qmsg *m)
{
	if (m->bodyless) {
		qmsg_free(m);
		return;
	}
	switch (bounce_wanted(m) ? bounce_enqueue(m, cfg, bounce_finished, NULL) :
	    BOUNCE_NONE) {
	case BOUNCE_PENDING:
		m->busy = true;		/* until bounce_finished */
		return;
	case BOUNCE_ERROR:
		keep_failed(m);
		break;
	case BOUNCE_NONE:
		break;
	}
	finish_round(m);
}

static bool
has_state(const struct qmsg *m, enum rcpt_state st)
{
	for (unsigned i = 0; i < m->env.nrcpt; i++)
		if (m->state[i] == st)
			return true;
	return false;
}

static void	rcpt_result(struct qmsg *, unsigned, enum delivery_result,
		    const char *, bool, bool);

/* relay.c's completion, per recipient and per request. */
static void
relay_rcpt_result(struct qmsg *m, unsigned i, enum delivery_result r,
    const char *reply, bool linkdown, void *arg)
{
	(void)arg;
	rcpt_result(m, i, r, reply, linkdown, true);
}

static void
relay_request_done(struct qmsg *m, void *arg)
{
	(void)arg;
	if (m->nrelay == 0)
		fatalx("sched: relay result for %s without a request", m->env.id);
	m->nrelay--;
	round_step(m);
}

static const struct relay_callbacks relay_cb = {
	.rcpt_result = relay_rcpt_result,
	.request_done = relay_request_done,
};

/* Called whenever work of m's round completes: the local part is over
 * when nothing is ready or at delivery; then the remote part; then the end. */
static void
round_step(struct qmsg *m)
{
	if (m->ninflight > 0 || m->nready > 0 || m->nrelay > 0)
		return;
	if (!m->bodyless && has_state(m, RCPT_REMOTE)) {
		/* Without a relay link the results come at once, and do not
		 * re-enter round_step (no request, so no request_done). */
		m->nrelay += relay_submit(m, &relay_cb);
		if (m->nrelay > 0)
			return;
	}
	end_round(m);
}

/* ---- results ------------------------------------------------------------ */

static void
log_rcpt(const char *event, const struct qmsg *m, unsigned i,
    const char *reason)
{
	char to[LOG_ESCAPE_MAX], why[LOG_ESCAPE_MAX];

	queue_admin_delivery(m->env.rcpt[i], event);
	log_event(event, "qid=%s to=<%s> attempts=%u reason=\"%s\"", m->env.id,
	    log_escape(to, sizeof(to), m->env.rcpt[i], strlen(m->env.rcpt[i])),
	    m->env.attempts + 1, log_escape(why, sizeof(why), reason, strlen(reason)));
}

static void
fail_rcpt(struct qmsg *m, unsigned i, enum dsn_reason reason,
    const char *reply, bool remote)
{
	m->state[i] = RCPT_FAILED;
	note_clear(&m->note[i]);
	m->note[i].reason = reason;
	m->note[i].remote = remote;
	m->note[i].reply = xstrdup(reply);
	log_rcpt(reason == DSN_EXPIRED ? "expired" : "bounce", m, i, reply);
}

/* DELIVERY_REMOTE from delivery: relay it, or refuse for port 25 mail. */
static void
remote_rcpt(struct qmsg *m, unsigned i, const char *reason)
{
	if (m->env.source == SOURCE_SMTP) {
		/* RCPT accepted it as local; relaying it now would make us an
		 * open relay, and bouncing it would be backscatter. */
		fail_rcpt(m, i, DSN_PERMANENT,
		    "not a local recipient (port 25 mail is never relayed)", false);
		return;
	}
	m->state[i] = RCPT_REMOTE;
	log_debug("qid=%s rcpt %u remote: %s", m->env.id, i, reason);
}

/* Applies one recipient's result of this round (logs it); remote: it
 * came from the relay role. */
static void
rcpt_result(struct qmsg *m, unsigned i, enum delivery_result r,
    const char *reason, bool linkdown, bool remote)
{
	switch (r) {
	case DELIVERY_OK:
		m->state[i] = RCPT_FINISHED;	/* delivery logged the mailboxes */
		log_rcpt("delivered", m, i, reason);
		return;
	case DELIVERY_PERMFAIL:
		fail_rcpt(m, i, DSN_PERMANENT, reason, remote);
		return;
	case DELIVERY_REMOTE:
		if (!remote) {
			remote_rcpt(m, i, reason);
			return;
		}
		/* From relay itself this means nothing: a temporary failure. */
		reason = "relay answered with an invalid result";
		break;
	case DELIVERY_TEMPFAIL:
		break;
	}
	if (sched_is_expired(&m->env, wall_now(), cfg)) {
		fail_rcpt(m, i, DSN_EXPIRED, reason, remote);
		return;
	}
	m->state[i] = RCPT_DEFERRED;
	note_clear(&m->note[i]);
	envelope_set_last_error(&m->env, reason);	/* on disk with the next try */
	if (linkdown)
		m->round_linkdown = true;
	else
		m->round_deferred = true;
	log_rcpt("deferred", m, i, reason);
}

static void
finish_slot(struct slot *s, enum delivery_result r, const char *reason,
    bool linkdown)
{
	struct qmsg *m = s->m;

	s->m = NULL;
	ninflight--;
	m->ninflight--;
	rcpt_result(m, s->rcpt, r, reason, linkdown, false);
	round_step(m);
}

static void
on_delivery_result(struct ipc_frame *f)
{
	struct msg_delivery_result res;
	const char *why;
	struct slot *s = &slots[f->req_id & (SCHED_MAX_SLOTS - 1)];

	if (ipc_decode_delivery_result(f, &res, &why) == -1) {
		ipc_link_reject(dlink, f->type, why);	/* on_close defers all */
		return;
	}
	if (s->m == NULL || s->req_id != f->req_id) {
		/* A result after SCHED_DELIVERY_TIMEOUT, or a confused peer. */
		log_event("ipc_reject", "peer=delivery type=%s reason=\"unknown request %llu\"",
		    ipc_msg_name(f->type), (unsigned long long)f->req_id);
		return;
	}
	finish_slot(s, res.result, res.reason, false);
	sched_pump();
}

/* ---- dispatch ----------------------------------------------------------- */

static struct slot *
free_slot(void)
{
	for (unsigned i = 0; i < SCHED_MAX_SLOTS; i++)
		if (slots[i].m == NULL)
			return &slots[i];
	return NULL;
}

static unsigned
next_ready_rcpt(const struct qmsg *m)
{
	for (unsigned i = 0; i < m->env.nrcpt; i++)
		if (m->state[i] == RCPT_READY)
			return i;
	fatalx("sched: message %s on the ready list without a ready rcpt", m->env.id);
}

/* The body is gone: the envelope is useless, keep it for a human. */
static void
drop_bodyless(struct qmsg *m)
{
	spool_move_aside(m->env.id, "committed message without body");
	m->bodyless = true;
	for (unsigned i = 0; i < m->env.nrcpt; i++)
		if (m->state[i] == RCPT_READY)
			m->state[i] = RCPT_FINISHED;
	m->nready = 0;
	ready_remove(m);
	if (m->ninflight == 0)
		qmsg_free(m);
}

static void
send_deliver(struct slot *s, int body_fd)
{
	static struct ipc_builder b;	/* 65 KB: not on the stack */
	struct msg_deliver d;
	struct qmsg *m = s->m;

	memcpy(d.msgid, m->env.id, sizeof(d.msgid));
	memcpy(d.sender, m->env.sender, sizeof(d.sender));
	memcpy(d.rcpt, m->env.rcpt[s->rcpt], sizeof(d.rcpt));
	ipc_encode_deliver(&b, &d);
	uint64_t req = s->req_id;
	/* A failed send may close the link, and on_close may already have
	 * finished this slot. */
	if (ipc_send(dlink, MSG_QUEUE_DELIVER, req, &b, body_fd) == -1 &&
	    s->m != NULL && s->req_id == req)
		finish_slot(s, DELIVERY_TEMPFAIL, "cannot send to delivery", true);
}

static void
dispatch_one(struct qmsg *m)
{
	unsigned i = next_ready_rcpt(m);
	struct slot *s = free_slot();
	int fd;

	if (s == NULL)
		fatalx("sched: no free slot with %u in flight", ninflight);
	if ((fd = spool_open_body(m->env.id)) == -1 && errno == ENOENT) {
		drop_bodyless(m);
		return;
	}
	m->state[i] = RCPT_INFLIGHT;
	if (--m->nready == 0)
		ready_remove(m);
	m->ninflight++;
	ninflight++;
	s->m = m;
	s->rcpt = i;
	s->req_id = (++req_counter << SLOT_BITS) | (uint64_t)(s - slots);
	s->started = time(NULL);
	if (fd == -1) {
		log_event("spool_error", "op=open_body qid=%s errno=\"%s\"",
		    m->env.id, strerror(errno));
		finish_slot(s, DELIVERY_TEMPFAIL, "cannot open spooled body", false);
		return;
	}
	send_deliver(s, fd);
	close(fd);
}

static void
sched_pump(void)
{
	if (pumping)
		return;		/* re-entered from a failed send */
	pumping = true;
	while (!stopped && dlink != NULL && !TAILQ_EMPTY(&ready_msgs) &&
	    ninflight < cfg->delivery_concurrency && ninflight < SCHED_MAX_SLOTS)
		dispatch_one(TAILQ_FIRST(&ready_msgs));
	pumping = false;
}

/* ---- the delivery link -------------------------------------------------- */

/* Every delivery in flight on a lost link is deferred for a short while. */
static void
fail_all_inflight(const char *reason)
{
	for (unsigned i = 0; i < SCHED_MAX_SLOTS; i++)
		if (slots[i].m != NULL)
			finish_slot(&slots[i], DELIVERY_TEMPFAIL, reason, true);
}

static void
on_delivery_frame(struct ipc_link *l, struct ipc_frame *f, void *arg)
{
	(void)arg;
	if (f->fd != -1)
		close(f->fd);	/* the table allows none; be safe */
	if (f->type == MSG_DELIVERY_RESULT)
		on_delivery_result(f);
	else
		ipc_link_reject(l, f->type, "unexpected");
}

static void
on_delivery_close(struct ipc_link *l, void *arg)
{
	(void)arg;
	if (l != dlink)
		return;
	dlink = NULL;
	log_event("link_down", "peer=delivery inflight=%u", ninflight);
	fail_all_inflight("delivery process went away");
}

void
sched_set_link(int fd)
{
	if (dlink != NULL) {
		struct ipc_link *old = dlink;
		dlink = NULL;
		ipc_link_free(old);	/* no on_close: do its work here */
		fail_all_inflight("delivery process replaced");
	}
	dlink = ipc_link_new(base, fd, ROLE_QUEUE, ROLE_DELIVERY,
	    on_delivery_frame, on_delivery_close, NULL);
	sched_pump();
}

/* Deliveries without a result for too long are written off as deferred. */
static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	time_t limit = time(NULL) - SCHED_DELIVERY_TIMEOUT;

	(void)fd;
	(void)what;
	(void)arg;
	for (unsigned i = 0; i < SCHED_MAX_SLOTS; i++)
		if (slots[i].m != NULL && slots[i].started < limit)
			finish_slot(&slots[i], DELIVERY_TEMPFAIL, "no result from delivery",
			    false);
	sched_pump();
}

void
sched_init(struct event_base *b, const struct config *c)
{
	struct timeval tv = { SWEEP_INTERVAL, 0 };

	base = b;
	cfg = c;
	if ((ev_sweep = event_new(base, -1, EV_PERSIST, on_sweep, NULL)) == NULL)
		fatalx("sched_init: event_new");
	event_add(ev_sweep, &tv);
}

void
sched_reload(const struct config *c)
{
	cfg = c;
	sched_pump();
}

void
sched_stop(void)
{
	stopped = true;
}

unsigned
sched_inflight(void)
{
	return ninflight;
}

unsigned
sched_queued(void)
{
	return nmsgs;
}

/* ---- for queue/admin.c (mxctl queue) ------------------------------------- */

struct qmsg *
sched_first(void)
{
	return TAILQ_FIRST(&all_msgs);
}

struct qmsg *
sched_next(struct qmsg *m)
{
	return TAILQ_NEXT(m, all_entry);
}

struct qmsg *
sched_find(const char *id)
{
	struct qmsg *m;

	TAILQ_FOREACH(m, &all_msgs, all_entry)
		if (strcmp(m->env.id, id) == 0)
			return m;
	return NULL;
}

/* Not idle either while a rewrite of its envelope waits for the flush:
 * two rewrites of one envelope in one batch would share its .env.tmp. */
bool
sched_is_idle(const struct qmsg *m)
{
	return !m->busy && !m->bodyless && !m->on_ready && m->nready == 0 &&
	    m->ninflight == 0 && m->nrelay == 0 && m->npersist == 0;
}

void
sched_persisted(const char *id)
{
	struct qmsg *m = sched_find(id);

	if (m != NULL && m->npersist > 0)
		m->npersist--;
}

void
sched_set_held(struct qmsg *m, uint64_t since)
{
	m->env.held_since = since;
	evtimer_del(m->timer);
	if (since == 0) {
		m->env.next_attempt = wall_now();
		retry_at(m, m->env.next_attempt);
	}
}

void
sched_flush_now(struct qmsg *m)
{
	m->env.next_attempt = wall_now();
	m->linkdown_count = 0;
	retry_at(m, m->env.next_attempt);
}

void
sched_delete(struct qmsg *m)
{
	log_event("admin_delete", "qid=%s nrcpt=%u", m->env.id, m->env.nrcpt);
	remove_message(m);
}

bool
sched_bounce(struct qmsg *m, const char *why)
{
	/* bounce_wanted()'s rule, asked before anything changes. */
	if (m->env.source != SOURCE_SUBMISSION || m->env.sender[0] == '\0')
		return false;
	evtimer_del(m->timer);
	for (unsigned i = 0; i < m->env.nrcpt; i++)
		fail_rcpt(m, i, DSN_PERMANENT, why, false);
	end_round(m);
	return true;
}

void
sched_persist(struct qmsg *m, void (*done)(struct spool_write *), void *arg)
{
	struct spool_write *w = xcalloc(1, sizeof(*w));

	if (spool_write_prepare(w, SPOOL_WRITE_UPDATE, &m->env) == -1)
		fatalx("sched: envelope %s no longer formats", m->env.id);
	w->done = done;
	w->arg = arg;
	m->npersist++;
	batch_add(w);
}
