/*
 * smtpd/links.c - requests to lookup, queue and (submission) dkimsign, and
 * their answers.
 *
 * Owns: the ipc_links of this process (smtpd: lookup and queue;
 * submission: lookup, queue and dkimsign) and the table of pending
 * requests (request id -> session, expected answer type, link generation). Why a table and not a
 * pointer in the frame: a session can vanish (client gone, timeout) while
 * its question is in flight. A late answer then finds no row and is
 * dropped; a late MSG_QUEUE_MSG_OPENED also gets its file descriptor closed
 * and an ABORT sent, so the queue does not keep an orphan spool file. When
 * a link dies or is replaced (the peer restarted), every request still
 * pending on it is answered as a temporary failure, from a deferred event
 * so that a session is never re-entered from inside its own send.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "ipc.h"
#include "links.h"
#include "log.h"
#include "role.h"
#include "session.h"
#include "util.h"

struct pending {
	TAILQ_ENTRY(pending)	 entry;
	uint64_t		 req_id;
	uint32_t		 answer_type;	/* the MSG_* we expect back */
	enum role		 peer;
	unsigned		 gen;		/* link generation it was sent on */
	struct smtp_session	*session;
};

static TAILQ_HEAD(, pending)	pendings = TAILQ_HEAD_INITIALIZER(pendings);
static struct ipc_link		*links[ROLE_COUNT];
static unsigned			 gens[ROLE_COUNT];
static enum role		 links_self = ROLE_SMTPD;
static uint64_t			 next_req_id = 1;
static struct event		*ev_sweep;

static struct ipc_link **
link_slot(enum role peer)
{
	return &links[peer];
}

static unsigned *
gen_slot(enum role peer)
{
	return &gens[peer];
}

void
links_set_self(enum role self)
{
	links_self = self;
}

/* The peers this process talks to: read off the message table. */
static bool
links_accepts_peer(enum role peer)
{
	return ipc_roles_linked(links_self, peer);
}

/* ---- pending table ----------------------------------------------------- */

static struct pending *
pending_add(struct smtp_session *s, enum role peer, uint32_t answer_type)
{
	struct pending *p = xcalloc(1, sizeof(*p));

	p->req_id = next_req_id++;
	p->answer_type = answer_type;
	p->peer = peer;
	p->gen = *gen_slot(peer);
	p->session = s;
	TAILQ_INSERT_TAIL(&pendings, p, entry);
	return p;
}

static void
pending_remove(struct pending *p)
{
	TAILQ_REMOVE(&pendings, p, entry);
	free(p);
}

/* Removes and returns the row for an answer, or NULL: the session is gone. */
static struct smtp_session *
pending_take(uint64_t req_id, uint32_t type, enum role peer)
{
	struct pending *p;

	TAILQ_FOREACH(p, &pendings, entry) {
		if (p->req_id != req_id)
			continue;
		if (p->answer_type != type || p->peer != peer ||
		    p->gen != *gen_slot(peer))
			return NULL;
		struct smtp_session *s = p->session;
		pending_remove(p);
		return s;
	}
	return NULL;
}

void
links_forget_session(struct smtp_session *s)
{
	struct pending *p, *next;

	for (p = TAILQ_FIRST(&pendings); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->session == s)
			pending_remove(p);
	}
}

/* Answers one request as a temporary failure. */
static void
pending_fail(uint32_t answer_type, struct smtp_session *s)
{
	struct msg_resolve_answer tempfail = { .verdict = RESOLVE_TEMPFAIL };
	static struct msg_sign_answer sign_failed = { .status = SIGN_FAILED };

	switch (answer_type) {
	case MSG_AUTH_ANSWER:
		session_on_auth(s, AUTH_TEMPFAIL);
		break;
	case MSG_SENDER_ANSWER:
		session_on_sender(s, SENDER_TEMPFAIL);
		break;
	case MSG_SIGN_ANSWER:
		session_on_signed(s, &sign_failed);
		break;
	case MSG_RESOLVE_ANSWER:
		session_on_resolve(s, &tempfail);
		break;
	case MSG_QUEUE_MSG_OPENED:
		session_on_opened(s, QUEUE_TEMPFAIL, "", -1);
		break;
	case MSG_QUEUE_MSG_COMMITTED:
		session_on_committed(s, QUEUE_TEMPFAIL);
		break;
	}
}

/* Fails every request sent on a link generation that is no longer current.
 * One row at a time: a callback may add or remove rows. */
static void
links_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p;

	(void)fd;
	(void)what;
	(void)arg;
	for (;;) {
		TAILQ_FOREACH(p, &pendings, entry)
			if (p->gen != *gen_slot(p->peer))
				break;
		if (p == NULL)
			return;
		uint32_t type = p->answer_type;
		struct smtp_session *s = p->session;
		pending_remove(p);
		pending_fail(type, s);
	}
}

static void
links_schedule_sweep(void)
{
	if (ev_sweep == NULL &&
	    (ev_sweep = evtimer_new(role_base(), links_sweep, NULL)) == NULL)
		fatalx("links: evtimer_new");
	event_active(ev_sweep, EV_TIMEOUT, 0);
}

/* ---- answers ----------------------------------------------------------- */

static void
links_bad_frame(struct ipc_link *l, const struct ipc_frame *f, const char *why)
{
	log_event("ipc_reject", "peer=%s type=%s(%u) reason=\"%s\"",
	    role_name(ipc_link_peer(l)), ipc_msg_name(f->type), f->type, why);
}

static void
on_resolve_answer(struct ipc_link *l, struct ipc_frame *f)
{
	static struct msg_resolve_answer m;	/* 8 KiB: keep it off the stack */
	struct smtp_session *s;
	const char *why;

	s = pending_take(f->req_id, MSG_RESOLVE_ANSWER, ROLE_LOOKUP);
	if (ipc_decode_resolve_answer(f, &m, &why) == -1) {
		links_bad_frame(l, f, why);
		m.verdict = RESOLVE_TEMPFAIL;
		m.nmailbox = 0;
	}
	if (s == NULL) {
		log_debug("dropping resolve answer %llu: session gone",
		    (unsigned long long)f->req_id);
		return;
	}
	session_on_resolve(s, &m);
}

/* An OPENED nobody waits for: give the file back to the queue. */
static void
orphan_opened(const struct msg_queue_opened *m, int fd)
{
	if (fd != -1)
		close(fd);
	if (m->status == QUEUE_OK && queue_id_is_valid(m->msgid))
		links_msg_abort(m->msgid);
}

static void
on_queue_opened(struct ipc_link *l, struct ipc_frame *f)
{
	struct msg_queue_opened m;
	struct smtp_session *s;
	const char *why;

	s = pending_take(f->req_id, MSG_QUEUE_MSG_OPENED, ROLE_QUEUE);
	if (ipc_decode_queue_opened(f, &m, &why) == -1) {
		links_bad_frame(l, f, why);
		if (f->fd != -1)
			close(f->fd);
		if (s != NULL)
			session_on_opened(s, QUEUE_TEMPFAIL, "", -1);
		return;
	}
	if (s == NULL) {
		log_debug("session gone before spool file %s opened", m.msgid);
		orphan_opened(&m, f->fd);
		return;
	}
	session_on_opened(s, m.status, m.msgid, m.status == QUEUE_OK ? f->fd : -1);
}

static void
on_queue_committed(struct ipc_link *l, struct ipc_frame *f)
{
	struct msg_committed m;
	struct smtp_session *s;
	const char *why;

	s = pending_take(f->req_id, MSG_QUEUE_MSG_COMMITTED, ROLE_QUEUE);
	if (ipc_decode_committed(f, &m, &why) == -1) {
		links_bad_frame(l, f, why);
		m.status = QUEUE_TEMPFAIL;
	}
	if (s == NULL) {
		log_debug("dropping commit answer %llu: session gone",
		    (unsigned long long)f->req_id);
		return;
	}
	session_on_committed(s, m.status);
}

static void
on_auth_answer(struct ipc_link *l, struct ipc_frame *f)
{
	struct smtp_session *s;
	enum auth_result r;
	const char *why;

	s = pending_take(f->req_id, MSG_AUTH_ANSWER, ROLE_LOOKUP);
	if (ipc_decode_auth_answer(f, &r, &why) == -1) {
		links_bad_frame(l, f, why);
		r = AUTH_TEMPFAIL;
	}
	if (s != NULL)
		session_on_auth(s, r);
}

static void
on_sender_answer(struct ipc_link *l, struct ipc_frame *f)
{
	struct smtp_session *s;
	enum sender_result r;
	const char *why;

	s = pending_take(f->req_id, MSG_SENDER_ANSWER, ROLE_LOOKUP);
	if (ipc_decode_sender_answer(f, &r, &why) == -1) {
		links_bad_frame(l, f, why);
		r = SENDER_TEMPFAIL;
	}
	if (s != NULL)
		session_on_sender(s, r);
}

static void
on_sign_answer(struct ipc_link *l, struct ipc_frame *f)
{
	static struct msg_sign_answer m;	/* 15 KiB: keep it off the stack */
	struct smtp_session *s;
	const char *why;

	s = pending_take(f->req_id, MSG_SIGN_ANSWER, ROLE_DKIMSIGN);
	if (ipc_decode_sign_answer(f, &m, &why) == -1) {
		links_bad_frame(l, f, why);
		m.status = SIGN_FAILED;
		m.headers[0] = '\0';
	}
	if (s != NULL)
		session_on_signed(s, &m);
}

static void
links_on_frame(struct ipc_link *l, struct ipc_frame *f, void *arg)
{
	(void)arg;
	switch (f->type) {
	case MSG_AUTH_ANSWER:
		on_auth_answer(l, f);
		return;
	case MSG_SENDER_ANSWER:
		on_sender_answer(l, f);
		return;
	case MSG_SIGN_ANSWER:
		on_sign_answer(l, f);
		return;
	case MSG_RESOLVE_ANSWER:
		on_resolve_answer(l, f);
		return;
	case MSG_QUEUE_MSG_OPENED:
		on_queue_opened(l, f);
		return;
	case MSG_QUEUE_MSG_COMMITTED:
		on_queue_committed(l, f);
		return;
	}
	/* The table in ipc_msgs.h lets nothing else through to us. */
	if (f->fd != -1)
		close(f->fd);
	links_bad_frame(l, f, "unexpected type");
}

static void
links_on_close(struct ipc_link *l, void *arg)
{
	enum role peer = (enum role)(intptr_t)arg;

	(void)l;
	if (*link_slot(peer) != l)
		return;
	*link_slot(peer) = NULL;
	(*gen_slot(peer))++;
	log_event("link_down", "peer=%s", role_name(peer));
	links_schedule_sweep();
}

void
links_on_link(enum role peer, int fd)
{
	if (!links_accepts_peer(peer)) {
		log_warnx("%s: ignoring a link to %s", role_name(links_self),
		    role_name(peer));
		close(fd);
		return;
	}
	struct ipc_link **slot = link_slot(peer);
	if (*slot != NULL) {
		struct ipc_link *old = *slot;
		*slot = NULL;
		ipc_link_free(old);
	}
	(*gen_slot(peer))++;
	links_schedule_sweep();
	*slot = ipc_link_new(role_base(), fd, links_self, peer, links_on_frame,
	    links_on_close, (void *)(intptr_t)peer);
	log_event("link_up", "peer=%s", role_name(peer));
}

/* ---- requests ---------------------------------------------------------- */

/* One builder for all requests: encoding and sending never nest. */
static struct ipc_builder	request_builder;

static uint64_t
links_request_fd(struct smtp_session *s, enum role peer, uint32_t type,
    uint32_t answer_type, int fd)
{
	struct ipc_link *l = *link_slot(peer);
	struct pending *p;

	if (l == NULL)
		return 0;
	p = pending_add(s, peer, answer_type);
	if (ipc_send(l, type, p->req_id, &request_builder, fd) == -1) {
		pending_remove(p);
		return 0;
	}
	return p->req_id;
}

static uint64_t
links_request(struct smtp_session *s, enum role peer, uint32_t type,
    uint32_t answer_type)
{
	return links_request_fd(s, peer, type, answer_type, -1);
}

uint64_t
links_resolve_ask(struct smtp_session *s, const char *address)
{
	ipc_encode_resolve_ask(&request_builder, address);
	return links_request(s, ROLE_LOOKUP, MSG_RESOLVE_ASK, MSG_RESOLVE_ANSWER);
}

uint64_t
links_msg_open(struct smtp_session *s)
{
	ipc_build_init(&request_builder);
	return links_request(s, ROLE_QUEUE, MSG_SMTPD_MSG_OPEN, MSG_QUEUE_MSG_OPENED);
}

uint64_t
links_msg_commit(struct smtp_session *s, const struct msg_commit *m)
{
	ipc_encode_commit(&request_builder, m);
	return links_request(s, ROLE_QUEUE, MSG_SMTPD_MSG_COMMIT,
	    MSG_QUEUE_MSG_COMMITTED);
}

void
links_msg_abort(const char *msgid)
{
	ipc_encode_abort(&request_builder, msgid);
	if (links[ROLE_QUEUE] == NULL ||
	    ipc_send(links[ROLE_QUEUE], MSG_SMTPD_MSG_ABORT, 0, &request_builder, -1) == -1)
		log_debug("cannot send abort for %s: queue link down", msgid);
}

uint64_t
links_auth_ask(struct smtp_session *s, const struct msg_auth_ask *m)
{
	uint64_t id;

	ipc_encode_auth_ask(&request_builder, m);
	id = links_request(s, ROLE_LOOKUP, MSG_AUTH_ASK, MSG_AUTH_ANSWER);
	/* the password was in the builder; ipc_send copied what it needs */
	sodium_memzero(request_builder.buf, request_builder.len);
	return id;
}

uint64_t
links_sender_ask(struct smtp_session *s, const char *user, const char *address)
{
	ipc_encode_sender_ask(&request_builder, user, address);
	return links_request(s, ROLE_LOOKUP, MSG_SENDER_ASK, MSG_SENDER_ANSWER);
}

uint64_t
links_sign_ask(struct smtp_session *s, const char *domain, int fd)
{
	ipc_encode_sign_ask(&request_builder, domain);
	return links_request_fd(s, ROLE_DKIMSIGN, MSG_SIGN_ASK, MSG_SIGN_ANSWER, fd);
}
