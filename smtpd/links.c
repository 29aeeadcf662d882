/*
 * smtpd/links.c - requests to lookup, queue, screen (port 25) and dkimsign
 * (submission), and their answers.
 *
 * Owns: the ipc_links of this process (smtpd: lookup, queue and screen;
 * submission: lookup, queue and dkimsign), whether all of them are up, and
 * the table of pending requests (request id -> owner, the callback that
 * takes the answer, expected answer type, link generation). Why a table
 * and not a pointer in the frame: an owner (a session) can vanish (client
 * gone, timeout) while its question is in flight. A late answer then finds
 * no row and is dropped; a late MSG_QUEUE_MSG_OPENED also gets its file
 * descriptor closed and an ABORT sent, so the queue does not keep an
 * orphan spool file. When a link dies or is replaced (the peer restarted),
 * every request still pending on it is answered as a temporary failure,
 * from a deferred event so that an owner is never re-entered from inside
 * its own send. A question to the screen also has a deadline of its own:
 * a screen that hangs (rather than dies) would otherwise hold each RCPT
 * for the general answer timeout. Why callbacks: this file knows no session, so the session
 * engine and each policy (smtpd/, submission/) take their own answers.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "ipc.h"
#include "ipc_screen.h"
#include "links.h"
#include "log.h"
#include "role.h"
#include "util.h"

/* The callback of one request; answer_type says which member is set. */
union answer_fn {
	resolve_done_fn		 resolve;
	opened_done_fn		 opened;
	committed_done_fn	 committed;
	auth_done_fn		 auth;
	sender_done_fn		 sender;
	signed_done_fn		 sign;
	local_user_done_fn	 local_user;
	screen_done_fn		 screen;
	message_verdict_fn	 message;
	reader_done_fn		 reader;
	tag_done_fn		 tag;
};

struct pending {
	TAILQ_ENTRY(pending)	 entry;
	uint64_t		 req_id;
	uint32_t		 answer_type;	/* the MSG_* we expect back */
	enum role		 peer;
	unsigned		 gen;		/* link generation it was sent on */
	void			*owner;
	union answer_fn		 done;
	double			 expires;	/* mono_now() deadline, 0: none */
};

static TAILQ_HEAD(pending_list, pending) pendings = TAILQ_HEAD_INITIALIZER(pendings);
static struct ipc_link		*links[ROLE_COUNT];
static unsigned			 gens[ROLE_COUNT];
static enum role		 links_self = ROLE_SMTPD;
static uint64_t			 next_req_id = 1;
static struct event		*ev_sweep;
static struct event		*ev_expire;	/* the earliest row's deadline */
static void			(*change_hook)(void);

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

/* ---- readiness: sessions start only when every peer is there ------------ */

/* Every peer links_accepts_peer() names is one a session needs. */
bool
links_all_up(void)
{
	for (int r = 0; r < ROLE_COUNT; r++)
		if (links_accepts_peer((enum role)r) && *link_slot((enum role)r) == NULL)
			return false;
	return true;
}

void
links_missing(char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int r = 0; r < ROLE_COUNT && off < size; r++) {
		if (!links_accepts_peer((enum role)r) || *link_slot((enum role)r) != NULL)
			continue;
		int n = snprintf(buf + off, size - off, "%s%s", off > 0 ? "," : "",
		    role_name((enum role)r));
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

void
links_set_change_hook(void (*hook)(void))
{
	change_hook = hook;
}

static void
links_changed(void)
{
	if (change_hook != NULL)
		change_hook();
}

/* ---- pending table ----------------------------------------------------- */

static struct pending *
pending_add(void *owner, enum role peer, uint32_t answer_type, union answer_fn done)
{
	struct pending *p = xcalloc(1, sizeof(*p));

	p->req_id = next_req_id++;
	p->answer_type = answer_type;
	p->peer = peer;
	p->gen = *gen_slot(peer);
	p->owner = owner;
	p->done = done;
	TAILQ_INSERT_TAIL(&pendings, p, entry);
	return p;
}

static void
pending_remove(struct pending *p)
{
	TAILQ_REMOVE(&pendings, p, entry);
	free(p);
}

/* Removes the row for an answer and copies it to *out; false if there is
 * none (the owner is gone) or it is not for this answer. */
static bool
pending_take(uint64_t req_id, uint32_t type, enum role peer, struct pending *out)
{
	struct pending *p;

	TAILQ_FOREACH(p, &pendings, entry) {
		if (p->req_id != req_id)
			continue;
		if (p->answer_type != type || p->peer != peer ||
		    p->gen != *gen_slot(peer))
			return false;
		*out = *p;
		pending_remove(p);
		return true;
	}
	return false;
}

void
links_forget(void *owner)
{
	struct pending *p, *next;

	for (p = TAILQ_FIRST(&pendings); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->owner == owner)
			pending_remove(p);
	}
}

void
links_forget_request(uint64_t req_id)
{
	struct pending *p;

	TAILQ_FOREACH(p, &pendings, entry)
		if (p->req_id == req_id) {
			pending_remove(p);
			return;
		}
}

/* Answers one (already removed) request as a temporary failure. */
static void
pending_fail(const struct pending *p)
{
	static const struct msg_resolve_answer tempfail = { .verdict = RESOLVE_TEMPFAIL };
	static const struct msg_sign_answer sign_failed = { .status = SIGN_FAILED };
	static const struct msg_local_user_answer local_user_failed = {
		.result = LOCAL_USER_TEMPFAIL };

	switch (p->answer_type) {
	case MSG_AUTH_ANSWER:
		p->done.auth(p->owner, AUTH_TEMPFAIL);
		break;
	case MSG_SENDER_ANSWER:
		p->done.sender(p->owner, SENDER_TEMPFAIL);
		break;
	case MSG_LOCAL_USER_ANSWER:
		p->done.local_user(p->owner, &local_user_failed);
		break;
	case MSG_SIGN_ANSWER:
		p->done.sign(p->owner, &sign_failed);
		break;
	case MSG_RESOLVE_ANSWER:
		p->done.resolve(p->owner, &tempfail);
		break;
	case MSG_QUEUE_MSG_OPENED:
		p->done.opened(p->owner, QUEUE_TEMPFAIL, "", -1);
		break;
	case MSG_QUEUE_MSG_COMMITTED:
		p->done.committed(p->owner, QUEUE_TEMPFAIL);
		break;
	case MSG_SCREEN_VERDICT:
		p->done.screen(p->owner, NULL);
		break;
	case MSG_SCREEN_MESSAGE_VERDICT:
		p->done.message(p->owner, NULL);
		break;
	case MSG_QUEUE_MSG_READER:
		p->done.reader(p->owner, QUEUE_TEMPFAIL, -1);
		break;
	case MSG_QUEUE_TAG_CHECKED:
		p->done.tag(p->owner, false, BOUNCE_TAG_BAD);
		break;
	}
}

/* Takes the first row matching (owner, or any stale generation), or false. */
static bool
pending_take_first(void *owner, bool stale_only, struct pending *out)
{
	struct pending *p;

	TAILQ_FOREACH(p, &pendings, entry) {
		if (stale_only ? p->gen != *gen_slot(p->peer) : p->owner == owner) {
			*out = *p;
			pending_remove(p);
			return true;
		}
	}
	return false;
}

/* One row at a time: a callback may add or remove rows. */
size_t
links_fail_pending(void *owner)
{
	struct pending p;
	size_t n = 0;

	while (pending_take_first(owner, false, &p)) {
		pending_fail(&p);
		n++;
	}
	return n;
}

/* Fails every request sent on a link generation that is no longer current. */
static void
links_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct pending p;

	(void)fd;
	(void)what;
	(void)arg;
	while (pending_take_first(NULL, true, &p))
		pending_fail(&p);
}

static void
links_schedule_sweep(void)
{
	if (ev_sweep == NULL &&
	    (ev_sweep = evtimer_new(role_base(), links_sweep, NULL)) == NULL)
		fatalx("links: evtimer_new");
	event_active(ev_sweep, EV_TIMEOUT, 0);
}

/* ---- deadlines --------------------------------------------------------- */

static void links_arm_expiry(void);

/* Takes the first row whose deadline has passed, or false. */
static bool
pending_take_expired(double now, struct pending *out)
{
	struct pending *p;

	TAILQ_FOREACH(p, &pendings, entry) {
		if (p->expires > 0 && p->expires <= now) {
			*out = *p;
			pending_remove(p);
			return true;
		}
	}
	return false;
}

/* A late answer to an expired row finds no row and is dropped. */
static void
links_expire(evutil_socket_t fd, short what, void *arg)
{
	struct pending p;

	(void)fd;
	(void)what;
	(void)arg;
	while (pending_take_expired(mono_now(), &p)) {
		log_warnx("%s did not answer request %llu in time",
		    role_name(p.peer), (unsigned long long)p.req_id);
		pending_fail(&p);
	}
	links_arm_expiry();
}

static void
links_arm_expiry(void)
{
	struct pending *p;
	double first = 0, left;
	struct timeval tv;

	TAILQ_FOREACH(p, &pendings, entry)
		if (p->expires > 0 && (first == 0 || p->expires < first))
			first = p->expires;
	if (ev_expire == NULL &&
	    (ev_expire = evtimer_new(role_base(), links_expire, NULL)) == NULL)
		fatalx("links: evtimer_new");
	if (first == 0) {
		event_del(ev_expire);
		return;
	}
	left = first - mono_now();
	if (left < 0)
		left = 0;
	tv.tv_sec = (time_t)left;
	tv.tv_usec = (suseconds_t)((left - (double)tv.tv_sec) * 1e6) + 1;
	event_add(ev_expire, &tv);
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
	struct pending p;
	const char *why;
	bool found = pending_take(f->req_id, MSG_RESOLVE_ANSWER, ROLE_LOOKUP, &p);

	if (ipc_decode_resolve_answer(f, &m, &why) == -1) {
		links_bad_frame(l, f, why);
		m.verdict = RESOLVE_TEMPFAIL;
		m.nmailbox = 0;
	}
	if (!found) {
		log_debug("dropping resolve answer %llu: owner gone",
		    (unsigned long long)f->req_id);
		return;
	}
	p.done.resolve(p.owner, &m);
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
	struct pending p;
	const char *why;
	bool found = pending_take(f->req_id, MSG_QUEUE_MSG_OPENED, ROLE_QUEUE, &p);

	if (ipc_decode_queue_opened(f, &m, &why) == -1) {
		links_bad_frame(l, f, why);
		if (f->fd != -1)
			close(f->fd);
		if (found)
			p.done.opened(p.owner, QUEUE_TEMPFAIL, "", -1);
		return;
	}
	if (!found) {
		log_debug("owner gone before spool file %s opened", m.msgid);
		orphan_opened(&m, f->fd);
		return;
	}
	p.done.opened(p.owner, m.status, m.msgid, m.status == QUEUE_OK ? f->fd : -1);
}

static void
on_queue_committed(struct ipc_link *l, struct ipc_frame *f)
{
	struct msg_committed m;
	struct pending p;
	const char *why;
	bool found = pending_take(f->req_id, MSG_QUEUE_MSG_COMMITTED, ROLE_QUEUE, &p);

	if (ipc_decode_committed(f, &m, &why) == -1) {
		links_bad_frame(l, f, why);
		m.status = QUEUE_TEMPFAIL;
	}
	if (!found) {
		log_debug("dropping commit answer %llu: owner gone",
		    (unsigned long long)f->req_id);
		return;
	}
	p.done.committed(p.owner, m.status);
}

static void
on_auth_answer(struct ipc_link *l, struct ipc_frame *f)
{
	struct pending p;
	enum auth_result r;
	const char *why;
	bool found = pending_take(f->req_id, MSG_AUTH_ANSWER, ROLE_LOOKUP, &p);

	if (ipc_decode_auth_answer(f, &r, &why) == -1) {
		links_bad_frame(l, f, why);
		r = AUTH_TEMPFAIL;
	}
	if (found)
		p.done.auth(p.owner, r);
}

static void
on_sender_answer(struct ipc_link *l, struct ipc_frame *f)
{
	struct pending p;
	enum sender_result r;
	const char *why;
	bool found = pending_take(f->req_id, MSG_SENDER_ANSWER, ROLE_LOOKUP, &p);

	if (ipc_decode_sender_answer(f, &r, &why) == -1) {
		links_bad_frame(l, f, why);
		r = SENDER_TEMPFAIL;
	}
	if (found)
		p.done.sender(p.owner, r);
}

static void
on_local_user_answer(struct ipc_link *l, struct ipc_frame *f)
{
	struct msg_local_user_answer m;
	struct pending p;
	const char *why;
	bool found = pending_take(f->req_id, MSG_LOCAL_USER_ANSWER, ROLE_LOOKUP, &p);

	if (ipc_decode_local_user_answer(f, &m, &why) == -1) {
		links_bad_frame(l, f, why);
		memset(&m, 0, sizeof(m));
		m.result = LOCAL_USER_TEMPFAIL;
	}
	if (found)
		p.done.local_user(p.owner, &m);
}

static void
on_sign_answer(struct ipc_link *l, struct ipc_frame *f)
{
	static struct msg_sign_answer m;	/* 15 KiB: keep it off the stack */
	struct pending p;
	const char *why;
	bool found = pending_take(f->req_id, MSG_SIGN_ANSWER, ROLE_DKIMSIGN, &p);

	if (ipc_decode_sign_answer(f, &m, &why) == -1) {
		links_bad_frame(l, f, why);
		m.status = SIGN_FAILED;
		m.headers[0] = '\0';
	}
	if (found)
		p.done.sign(p.owner, &m);
}

/* A verdict that does not decode is no verdict: the owner gets NULL (451). */
static void
on_screen_verdict(struct ipc_link *l, struct ipc_frame *f)
{
	struct screen_verdict v;
	struct pending p;
	const char *why;
	bool found = pending_take(f->req_id, MSG_SCREEN_VERDICT, ROLE_SCREEN, &p);
	bool ok = ipc_decode_screen_verdict(f, &v, &why) == 0;

	if (!ok)
		links_bad_frame(l, f, why);
	if (found)
		p.done.screen(p.owner, ok ? &v : NULL);
}

static void
on_screen_message_verdict(struct ipc_link *l, struct ipc_frame *f)
{
	static struct screen_message_verdict m;	/* 5 KiB: keep it off the stack */
	struct pending p;
	const char *why;
	bool found = pending_take(f->req_id, MSG_SCREEN_MESSAGE_VERDICT, ROLE_SCREEN, &p);
	bool ok = ipc_decode_screen_message_verdict(f, &m, &why) == 0;

	if (!ok)
		links_bad_frame(l, f, why);
	if (found)
		p.done.message(p.owner, ok ? &m : NULL);
}

/* A reader nobody waits for is just closed: the file stays the queue's. */
static void
on_queue_reader(struct ipc_link *l, struct ipc_frame *f)
{
	struct msg_queue_opened m;
	struct pending p;
	const char *why;
	bool found = pending_take(f->req_id, MSG_QUEUE_MSG_READER, ROLE_QUEUE, &p);

	if (ipc_decode_queue_opened(f, &m, &why) == -1) {
		links_bad_frame(l, f, why);
		m.status = QUEUE_TEMPFAIL;
	}
	if (!found || m.status != QUEUE_OK) {
		if (f->fd != -1)
			close(f->fd);
		if (found)
			p.done.reader(p.owner, m.status, -1);
		return;
	}
	p.done.reader(p.owner, QUEUE_OK, f->fd);
}

/* A tag answer that does not decode is no answer: the owner gets !ok. */
static void
on_tag_checked(struct ipc_link *l, struct ipc_frame *f)
{
	enum bounce_tag_result r = BOUNCE_TAG_BAD;
	struct pending p;
	const char *why;
	bool found = pending_take(f->req_id, MSG_QUEUE_TAG_CHECKED, ROLE_QUEUE, &p);
	bool ok = ipc_decode_tag_checked(f, &r, &why) == 0;

	if (!ok)
		links_bad_frame(l, f, why);
	if (found)
		p.done.tag(p.owner, ok, r);
}

static void
links_on_frame(struct ipc_link *l, struct ipc_frame *f, void *arg)
{
	(void)arg;
	switch (f->type) {
	case MSG_QUEUE_TAG_CHECKED:
		on_tag_checked(l, f);
		return;
	case MSG_SCREEN_VERDICT:
		on_screen_verdict(l, f);
		return;
	case MSG_SCREEN_MESSAGE_VERDICT:
		on_screen_message_verdict(l, f);
		return;
	case MSG_QUEUE_MSG_READER:
		on_queue_reader(l, f);
		return;
	case MSG_AUTH_ANSWER:
		on_auth_answer(l, f);
		return;
	case MSG_SENDER_ANSWER:
		on_sender_answer(l, f);
		return;
	case MSG_LOCAL_USER_ANSWER:
		on_local_user_answer(l, f);
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
	links_changed();
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
	links_changed();
}

/* ---- requests ---------------------------------------------------------- */

/* One builder for all requests: encoding and sending never nest. */
static struct ipc_builder	request_builder;

static uint64_t
links_request_fd(void *owner, enum role peer, uint32_t type,
    uint32_t answer_type, union answer_fn done, int fd)
{
	struct ipc_link *l = *link_slot(peer);
	struct pending *p;

	if (l == NULL)
		return 0;
	p = pending_add(owner, peer, answer_type, done);
	if (ipc_send(l, type, p->req_id, &request_builder, fd) == -1) {
		pending_remove(p);
		return 0;
	}
	return p->req_id;
}

static uint64_t
links_request(void *owner, enum role peer, uint32_t type,
    uint32_t answer_type, union answer_fn done)
{
	return links_request_fd(owner, peer, type, answer_type, done, -1);
}

uint64_t
links_resolve_ask(void *owner, const char *address, resolve_done_fn fn)
{
	ipc_encode_resolve_ask(&request_builder, address);
	return links_request(owner, ROLE_LOOKUP, MSG_RESOLVE_ASK, MSG_RESOLVE_ANSWER,
	    (union answer_fn){ .resolve = fn });
}

uint64_t
links_msg_open(void *owner, opened_done_fn fn)
{
	ipc_build_init(&request_builder);
	return links_request(owner, ROLE_QUEUE, MSG_SMTPD_MSG_OPEN,
	    MSG_QUEUE_MSG_OPENED, (union answer_fn){ .opened = fn });
}

uint64_t
links_msg_commit(void *owner, const struct msg_commit *m, committed_done_fn fn)
{
	ipc_encode_commit(&request_builder, m);
	return links_request(owner, ROLE_QUEUE, MSG_SMTPD_MSG_COMMIT,
	    MSG_QUEUE_MSG_COMMITTED, (union answer_fn){ .committed = fn });
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
links_auth_ask(void *owner, const struct msg_auth_ask *m, auth_done_fn fn)
{
	uint64_t id;

	ipc_encode_auth_ask(&request_builder, m);
	id = links_request(owner, ROLE_LOOKUP, MSG_AUTH_ASK, MSG_AUTH_ANSWER,
	    (union answer_fn){ .auth = fn });
	/* the password was in the builder; ipc_send copied what it needs */
	sodium_memzero(request_builder.buf, request_builder.len);
	return id;
}

uint64_t
links_sender_ask(void *owner, const char *user, const char *address,
    sender_done_fn fn)
{
	ipc_encode_sender_ask(&request_builder, user, address);
	return links_request(owner, ROLE_LOOKUP, MSG_SENDER_ASK, MSG_SENDER_ANSWER,
	    (union answer_fn){ .sender = fn });
}

uint64_t
links_local_user_ask(void *owner, uint32_t uid, local_user_done_fn fn)
{
	ipc_encode_local_user_ask(&request_builder, uid);
	return links_request(owner, ROLE_LOOKUP, MSG_LOCAL_USER_ASK, MSG_LOCAL_USER_ANSWER,
	    (union answer_fn){ .local_user = fn });
}

uint64_t
links_sign_ask(void *owner, const char *domain, int fd, signed_done_fn fn)
{
	ipc_encode_sign_ask(&request_builder, domain);
	return links_request_fd(owner, ROLE_DKIMSIGN, MSG_SIGN_ASK, MSG_SIGN_ANSWER,
	    (union answer_fn){ .sign = fn }, fd);
}

uint64_t
links_screen_ask(void *owner, const struct screen_facts *f, unsigned deadline,
    screen_done_fn fn)
{
	struct pending *p;
	uint64_t id;

	ipc_encode_screen_facts(&request_builder, f);
	id = links_request(owner, ROLE_SCREEN, MSG_SCREEN_ASK, MSG_SCREEN_VERDICT,
	    (union answer_fn){ .screen = fn });
	if (id == 0)
		return 0;
	p = TAILQ_LAST(&pendings, pending_list);	/* the row just added */
	p->expires = mono_now() + deadline;
	links_arm_expiry();
	return id;
}

void
links_screen_hint(const struct screen_facts *f)
{
	ipc_encode_screen_facts(&request_builder, f);
	if (links[ROLE_SCREEN] == NULL ||
	    ipc_send(links[ROLE_SCREEN], MSG_SCREEN_HINT, 0, &request_builder, -1) == -1)
		log_debug("screen hint dropped: link down");
}

uint64_t
links_msg_read(void *owner, const char *msgid, reader_done_fn fn)
{
	ipc_encode_abort(&request_builder, msgid);	/* the same shape: str msgid */
	return links_request(owner, ROLE_QUEUE, MSG_SMTPD_MSG_READ, MSG_QUEUE_MSG_READER,
	    (union answer_fn){ .reader = fn });
}

uint64_t
links_screen_message_ask(void *owner, const struct screen_facts *f,
    const char (*rcpt)[ADDR_MAX + 1], unsigned nrcpt, int fd, message_verdict_fn fn)
{
	ipc_encode_screen_message_ask(&request_builder, f, rcpt, nrcpt);
	return links_request_fd(owner, ROLE_SCREEN, MSG_SCREEN_MESSAGE_ASK,
	    MSG_SCREEN_MESSAGE_VERDICT, (union answer_fn){ .message = fn }, fd);
}

uint64_t
links_tag_check(void *owner, const char *tagged_address, tag_done_fn fn)
{
	ipc_encode_tag_check(&request_builder, tagged_address);
	return links_request(owner, ROLE_QUEUE, MSG_SMTPD_TAG_CHECK, MSG_QUEUE_TAG_CHECKED,
	    (union answer_fn){ .tag = fn });
}
