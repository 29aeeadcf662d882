/*
 * queue/relay.c - handing remote recipients to the relay role.
 *
 * Owns: the link to the relay role and every MSG_QUEUE_RELAY request that
 * is waiting to be sent or waiting for its MSG_RELAY_RESULT. The scheduler
 * (sched.c) calls relay_submit() once the local part of a round is over,
 * and hears back through the callbacks it passed (qmsg.h);
 * the remote recipients of the message are grouped by domain, one request
 * per (message, domain), carrying the body as a read-only fd, so that the
 * relay can put all recipients of one domain into one SMTP transaction.
 * The relay answers one result per recipient, in request order, and echoes
 * the request id.
 *
 * Why a cap and a waiting list: the relay itself limits connections per
 * destination and queues; RELAY_MAX_INFLIGHT only keeps the number of body
 * fds and requests parked in the relay process bounded. A relay that goes
 * away (or is replaced after a restart) turns its requests into short
 * "link down" deferrals, like the delivery link; one that sends a frame
 * that does not decode, or a result that does not match its request, is
 * rejected (ipc_link_reject: event=ipc_reject, link closed, and the
 * supervisor restarts it). A request without an answer for RELAY_TIMEOUT
 * is written off as deferred.
 * The sender the relay puts in MAIL FROM is made here at each attempt:
 * tagged for BATV when queue/bounce_tag.c says so, else the stored one.
 * The relay's remembered IPv6->IPv4 fallbacks pass through here too: each
 * one it learns goes to family_store.c, and the whole memory goes back to
 * every new relay link.
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounce_tag.h"
#include "family_store.h"
#include "ipc_decode.h"
#include "log.h"
#include "qmsg.h"
#include "role.h"
#include "spool.h"
#include "util.h"

#define RELAY_MAX_INFLIGHT	64	/* requests at the relay at once */
#define RELAY_TIMEOUT		3600	/* s; RFC 5321 4.5.3.2 timeouts sum below */
#define RELAY_SWEEP_INTERVAL	60	/* s between checks for lost results */

struct relay_req {
	TAILQ_ENTRY(relay_req)	 entry;
	struct qmsg		*m;
	uint64_t		 req_id;	/* 0 until sent */
	time_t			 sent;
	unsigned		 n;
	unsigned		*idx;		/* recipient indexes in m->env */
	struct relay_callbacks	 cb;		/* the caller's, from relay_submit */
};
TAILQ_HEAD(relay_req_list, relay_req);

static struct event_base	*base;
static struct ipc_link		*rlink;
static struct relay_req_list	 waiting = TAILQ_HEAD_INITIALIZER(waiting);
static struct relay_req_list	 inflight = TAILQ_HEAD_INITIALIZER(inflight);
static unsigned			 ninflight;
static uint64_t			 req_counter;
static struct event		*ev_pump;
static struct event		*ev_sweep;
static bool			 stopped;

/* ---- grouping (pure) --------------------------------------------------- */

static const char *
rcpt_domain(const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');

	return at != NULL ? at + 1 : "";
}

unsigned
relay_group_by_domain(const char (*rcpt)[ADDR_MAX + 1], unsigned n,
    const bool *want, unsigned *group)
{
	unsigned ngroups = 0;

	for (unsigned i = 0; i < n; i++) {
		if (!want[i])
			continue;
		unsigned j;
		for (j = 0; j < i; j++)
			if (want[j] && strcasecmp(rcpt_domain(rcpt[j]),
			    rcpt_domain(rcpt[i])) == 0)
				break;
		group[i] = j < i ? group[j] : ngroups++;
	}
	return ngroups;
}

/* ---- requests ------------------------------------------------------------ */

static void
req_free(struct relay_req *r)
{
	free(r->idx);
	free(r);
}

/* Frees r and tells the caller it is over (which may free the message). */
static void
req_done(struct relay_req *r)
{
	struct relay_callbacks cb = r->cb;
	struct qmsg *m = r->m;

	req_free(r);
	cb.request_done(m, cb.arg);
}

/* Applies one result to every recipient of r, then req_done. */
static void
req_finish_all(struct relay_req *r, enum delivery_result res,
    const char *reply, bool linkdown)
{
	for (unsigned k = 0; k < r->n; k++)
		r->cb.rcpt_result(r->m, r->idx[k], res, reply, linkdown, r->cb.arg);
	req_done(r);
}

static void
req_finish_each(struct relay_req *r, const struct msg_relay_result *res)
{
	for (unsigned k = 0; k < r->n; k++)
		r->cb.rcpt_result(r->m, r->idx[k], res->rcpt[k].result,
		    res->rcpt[k].reply, false, r->cb.arg);
	req_done(r);
}

static struct relay_req *
inflight_find(uint64_t req_id)
{
	struct relay_req *r;

	TAILQ_FOREACH(r, &inflight, entry)
		if (r->req_id == req_id)
			return r;
	return NULL;
}

static void
inflight_remove(struct relay_req *r)
{
	TAILQ_REMOVE(&inflight, r, entry);
	ninflight--;
}

/* Every request, sent or not, is deferred: the relay is gone. */
static void
fail_everything(const char *reason)
{
	struct relay_req *r;

	while ((r = TAILQ_FIRST(&inflight)) != NULL) {
		inflight_remove(r);
		req_finish_all(r, DELIVERY_TEMPFAIL, reason, true);
	}
	while ((r = TAILQ_FIRST(&waiting)) != NULL) {
		TAILQ_REMOVE(&waiting, r, entry);
		req_finish_all(r, DELIVERY_TEMPFAIL, reason, true);
	}
}

/* ---- sending --------------------------------------------------------------- */

static void
pump_soon(void)
{
	event_active(ev_pump, EV_TIMEOUT, 0);
}

static int
send_req(struct relay_req *r, int body_fd)
{
	static struct ipc_builder b;	/* 65 KB: not on the stack */
	static char rcpts[IPC_MAX_RCPTS][ADDR_MAX + 1];
	struct msg_relay mr;
	struct qmsg *m = r->m;

	memset(&mr, 0, sizeof(mr));
	memcpy(mr.msgid, m->env.id, sizeof(mr.msgid));
	if (bounce_tag_sender(&m->env, time(NULL), mr.sender, sizeof(mr.sender)))
		log_event("bounce_tag_sender", "qid=%s from=<%s> tagged=<%s>", m->env.id,
		    m->env.sender, mr.sender);
	for (unsigned k = 0; k < r->n; k++)
		memcpy(rcpts[k], m->env.rcpt[r->idx[k]], sizeof(rcpts[k]));
	mr.nrcpt = r->n;
	mr.rcpt = rcpts;
	mr.smtputf8 = m->env.smtputf8;
	ipc_encode_relay(&b, &mr);
	return ipc_send(rlink, MSG_QUEUE_RELAY, r->req_id, &b, body_fd);
}

static void
dispatch_one(struct relay_req *r)
{
	int fd;

	TAILQ_REMOVE(&waiting, r, entry);
	if ((fd = spool_open_body(r->m->env.id)) == -1) {
		log_event("spool_error", "op=open_body qid=%s errno=\"%s\"",
		    r->m->env.id, strerror(errno));
		req_finish_all(r, DELIVERY_TEMPFAIL, "cannot open spooled body", false);
		return;
	}
	r->req_id = ++req_counter;
	r->sent = time(NULL);
	TAILQ_INSERT_TAIL(&inflight, r, entry);
	ninflight++;
	uint64_t id = r->req_id;
	/* A failed send may close the link, and on_close has then already
	 * finished r; otherwise (overflow) finish it here. */
	if (send_req(r, fd) == -1 && (r = inflight_find(id)) != NULL) {
		inflight_remove(r);
		req_finish_all(r, DELIVERY_TEMPFAIL, "cannot send to relay", true);
	}
	close(fd);
}

static void
on_pump(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	while (rlink != NULL && !stopped && !TAILQ_EMPTY(&waiting) &&
	    ninflight < RELAY_MAX_INFLIGHT)
		dispatch_one(TAILQ_FIRST(&waiting));
}

static struct relay_req *
req_new(struct qmsg *m, const unsigned *group, unsigned g,
    const struct relay_callbacks *cb)
{
	struct relay_req *r = xcalloc(1, sizeof(*r));

	r->m = m;
	r->cb = *cb;
	r->idx = xcalloc(m->env.nrcpt, sizeof(*r->idx));
	for (unsigned i = 0; i < m->env.nrcpt; i++)
		if (m->state[i] == RCPT_REMOTE && group[i] == g) {
			r->idx[r->n++] = i;
			m->state[i] = RCPT_RELAYING;
		}
	return r;
}

unsigned
relay_submit(struct qmsg *m, const struct relay_callbacks *cb)
{
	bool want[IPC_MAX_RCPTS];
	unsigned group[IPC_MAX_RCPTS];

	if (rlink == NULL) {
		/* Not started (not built, crashed): a short retry, as for
		 * delivery. No request, so no request_done. */
		for (unsigned i = 0; i < m->env.nrcpt; i++)
			if (m->state[i] == RCPT_REMOTE)
				cb->rcpt_result(m, i, DELIVERY_TEMPFAIL,
				    "relay unavailable", true, cb->arg);
		return 0;
	}
	for (unsigned i = 0; i < m->env.nrcpt; i++)
		want[i] = m->state[i] == RCPT_REMOTE;
	unsigned ngroups = relay_group_by_domain(
	    (const char (*)[ADDR_MAX + 1])m->env.rcpt, m->env.nrcpt, want, group);
	for (unsigned g = 0; g < ngroups; g++) {
		struct relay_req *r = req_new(m, group, g, cb);	/* not in the macro */
		TAILQ_INSERT_TAIL(&waiting, r, entry);
	}
	/* Not now: a failed send would finish m under our caller's feet. */
	pump_soon();
	return ngroups;
}

void
relay_stop(void)
{
	stopped = true;
}

unsigned
relay_inflight(void)
{
	return ninflight;
}

/* ---- the relay link ------------------------------------------------------- */

static void
on_relay_result(struct ipc_frame *f)
{
	struct msg_relay_result res;
	struct relay_req *r;
	const char *why;

	if (ipc_decode_relay_result(f, &res, &why) == -1) {
		ipc_link_reject(rlink, f->type, why);	/* on_close defers all */
		return;
	}
	if ((r = inflight_find(f->req_id)) == NULL) {
		/* After RELAY_TIMEOUT, or a confused peer: harmless. */
		log_event("ipc_reject", "peer=relay type=%s reason=\"unknown request %llu\"",
		    ipc_msg_name(f->type), (unsigned long long)f->req_id);
		msg_relay_result_free(&res);
		return;
	}
	inflight_remove(r);
	if (res.n != r->n) {
		req_finish_all(r, DELIVERY_TEMPFAIL, "bad result from relay", false);
		msg_relay_result_free(&res);
		ipc_link_reject(rlink, f->type, "result count does not match the request");
		return;
	}
	req_finish_each(r, &res);
	msg_relay_result_free(&res);
	pump_soon();
}

/* The relay fell back to IPv4 for a destination: keep it on disk. */
static void
on_family_learned(struct ipc_frame *f)
{
	struct family_pin p;
	const char *why;

	if (ipc_decode_family_learned(f, &p, &why) == -1) {
		ipc_link_reject(rlink, f->type, why);
		return;
	}
	if (family_store_learn(&p, (uint64_t)time(NULL),
	    role_config()->family_fallback_memory) == -1)
		log_event("family_ignored", "name=%s until=%llu reason=\"in the past\"",
		    p.name, (unsigned long long)p.until);
}

/* A new relay knows nothing: hand it what the store remembers. */
static void
send_family_memory(void)
{
	static struct family_pin all[FAMILY_STORE_MAX];
	static struct ipc_builder b;
	size_t n = family_store_get(all, FAMILY_STORE_MAX, (uint64_t)time(NULL));

	for (size_t i = 0; i < n && rlink != NULL; i += FAMILY_PINS_PER_FRAME) {
		unsigned k = (unsigned)(n - i < FAMILY_PINS_PER_FRAME ?
		    n - i : FAMILY_PINS_PER_FRAME);
		ipc_encode_family_memory(&b, all + i, k);
		if (ipc_send(rlink, MSG_QUEUE_FAMILY_MEMORY, 0, &b, -1) == -1)
			break;
	}
}

static void
on_relay_frame(struct ipc_link *l, struct ipc_frame *f, void *arg)
{
	(void)arg;
	if (f->fd != -1)
		close(f->fd);	/* the table allows none; be safe */
	if (f->type == MSG_RELAY_RESULT)
		on_relay_result(f);
	else if (f->type == MSG_RELAY_FAMILY_LEARNED)
		on_family_learned(f);
	else
		ipc_link_reject(l, f->type, "unexpected");
}

static void
on_relay_close(struct ipc_link *l, void *arg)
{
	(void)arg;
	if (l != rlink)
		return;
	rlink = NULL;
	log_event("link_down", "peer=relay inflight=%u", ninflight);
	fail_everything("relay process went away");
}

void
relay_set_link(int fd)
{
	if (rlink != NULL) {
		struct ipc_link *old = rlink;
		rlink = NULL;
		ipc_link_free(old);	/* no on_close: do its work here */
		log_event("link_down", "peer=relay inflight=%u reason=replaced", ninflight);
		fail_everything("relay process replaced");
	}
	rlink = ipc_link_new(base, fd, ROLE_QUEUE, ROLE_RELAY, on_relay_frame,
	    on_relay_close, NULL);
	send_family_memory();
	pump_soon();
}

/* Requests without a result for too long are written off as deferred. */
static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	time_t limit = time(NULL) - RELAY_TIMEOUT;
	struct relay_req *r, *next;

	(void)fd;
	(void)what;
	(void)arg;
	for (r = TAILQ_FIRST(&inflight); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r->sent >= limit)
			continue;
		inflight_remove(r);
		req_finish_all(r, DELIVERY_TEMPFAIL, "no result from relay", false);
	}
	pump_soon();
}

void
relay_init(struct event_base *b)
{
	struct timeval tv = { RELAY_SWEEP_INTERVAL, 0 };

	base = b;
	ev_pump = event_new(base, -1, 0, on_pump, NULL);
	ev_sweep = event_new(base, -1, EV_PERSIST, on_sweep, NULL);
	if (ev_pump == NULL || ev_sweep == NULL)
		fatalx("relay_init: event_new");
	event_add(ev_sweep, &tv);
}
