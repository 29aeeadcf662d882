/*
 * queue/queue.c - the queue role: links, the smtpd side of the commit
 * protocol, start-up and shutdown.
 *
 * Owns: the open transactions of each client (a body file handed to smtpd
 * and not yet committed) and the rule that QUEUE_OK is sent only from
 * commit_done(), after the group flush made the envelope durable (spool.c
 * has the ordering). Everything a client sends is checked against what
 * this process handed out: a COMMIT or ABORT must name a body this queue
 * opened for the same link and did not commit yet, and its source must be
 * the one of the link it came in on (smtpd: SOURCE_SMTP, submission:
 * SOURCE_SUBMISSION), because the source decides whether mail may be
 * relayed and bounced: a compromised smtpd can not pass port 25 mail off
 * as submitted mail. SOURCE_LOCAL is the queue's own (DSNs). A frame that does not
 * decode means a broken or hostile peer: event=ipc_reject and the link is
 * dropped. A frame that decodes but breaks a rule (unknown id, too many
 * recipients, body too large) gets QUEUE_REJECT and its files are deleted.
 * smtpd also asks here whether a recipient's BATV tag is ours
 * (MSG_SMTPD_TAG_CHECK): the key is the queue's (queue/bounce_tag.h).
 */
#include <sys/queue.h>
#include <sys/resource.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin.h"
#include "batch.h"
#include "bounce_tag.h"
#include "family_store.h"
#include "ipc_decode.h"
#include "log.h"
#include "metrics.h"
#include "qmsg.h"
#include "queue.h"
#include "role.h"
#include "sched.h"
#include "spool.h"
#include "util.h"

/* Room for what smtpd adds to a body of max_message_size: the Received
 * header (RFC 5321 4.4) and line ending slack. */
#define QUEUE_HEADER_SLACK	(64 * 1024)
/* Open transactions per client beyond max_connections (one per session)
 * before OPEN is refused: bounds the garbage a broken smtpd can leave. */
#define QUEUE_TXN_EXTRA		64
#define SHUTDOWN_GRACE		3.0	/* s to wait for results and replies */
#define SHUTDOWN_POLL_USEC	50000

struct client;

struct txn {
	TAILQ_ENTRY(txn)	 entry;
	struct client		*client;	/* NULL once the link is gone */
	char			 id[QUEUE_ID_SIZE];
	bool			 committing;
	uint64_t		 commit_req;
	double			 commit_started;	/* homemx_commit_seconds */
	off_t			 size;
	struct envelope		 env;
	struct spool_write	 w;
};

struct client {
	struct ipc_link		*link;
	enum role		 peer;
	TAILQ_HEAD(, txn)	 txns;
	unsigned		 ntxn;
};

static struct event_base	*base;
static const struct config	*cfg;
static struct client		 clients[ROLE_COUNT];
static bool			 shutting_down;
static double			 shutdown_deadline;
static struct event		*ev_shutdown;

/* ---- replies ------------------------------------------------------------ */

static enum queue_status
status_for_errno(int err)
{
	return err == ENOSPC || err == EDQUOT ? QUEUE_NOSPACE : QUEUE_TEMPFAIL;
}

static void
reply_opened(struct client *c, uint64_t req, enum queue_status st,
    const char *id, int fd)
{
	struct ipc_builder b;

	ipc_encode_queue_opened(&b, st, st == QUEUE_OK ? id : "");
	(void)ipc_send(c->link, MSG_QUEUE_MSG_OPENED, req, &b, fd);
}

static void
reply_committed(struct client *c, uint64_t req, enum queue_status st,
    const char *id)
{
	struct ipc_builder b;

	if (c == NULL || c->link == NULL)
		return;		/* smtpd went away meanwhile */
	ipc_encode_committed(&b, st, id);
	(void)ipc_send(c->link, MSG_QUEUE_MSG_COMMITTED, req, &b, -1);
}

static void
log_reject(const struct client *c, uint32_t type, const char *why)
{
	log_event("ipc_reject", "peer=%s type=%s reason=\"%s\"",
	    role_name(c->peer), ipc_msg_name(type), why);
}

/* ---- transactions ------------------------------------------------------- */

static struct txn *
txn_find(struct client *c, const char *id)
{
	struct txn *t;

	TAILQ_FOREACH(t, &c->txns, entry)
		if (strcmp(t->id, id) == 0)
			return t;
	return NULL;
}

static void
txn_free(struct txn *t)
{
	if (t->client != NULL) {
		TAILQ_REMOVE(&t->client->txns, t, entry);
		t->client->ntxn--;
	}
	envelope_free(&t->env);
	spool_write_release(&t->w);
	free(t);
}

/* Drops an uncommitted transaction and its files. */
static void
txn_discard(struct txn *t)
{
	spool_discard(t->id);
	txn_free(t);
}

/* The link is gone: uncommitted bodies are garbage; commits already in
 * the batch finish (nobody hears the reply: the client saw no 250). */
static void
client_detach(struct client *c)
{
	struct txn *t;

	while ((t = TAILQ_FIRST(&c->txns)) != NULL) {
		if (t->committing) {
			TAILQ_REMOVE(&c->txns, t, entry);
			c->ntxn--;
			t->client = NULL;
		} else
			txn_discard(t);
	}
}

/* ---- frames from smtpd -------------------------------------------------- */

static void
on_msg_open(struct client *c, struct ipc_frame *f)
{
	struct txn *t;
	char id[QUEUE_ID_SIZE];
	int fd;

	if (shutting_down) {
		reply_opened(c, f->req_id, QUEUE_TEMPFAIL, NULL, -1);
		return;
	}
	if (c->ntxn >= cfg->max_connections + QUEUE_TXN_EXTRA) {
		log_event("spool_error", "op=open peer=%s reason=\"too many open transactions (%u)\"",
		    role_name(c->peer), c->ntxn);
		reply_opened(c, f->req_id, QUEUE_TEMPFAIL, NULL, -1);
		return;
	}
	if ((fd = spool_create_body(id)) == -1) {
		int err = errno;
		log_event("spool_error", "op=create errno=\"%s\"", strerror(err));
		reply_opened(c, f->req_id, status_for_errno(err), NULL, -1);
		return;
	}
	t = xcalloc(1, sizeof(*t));
	memcpy(t->id, id, sizeof(t->id));
	t->client = c;
	TAILQ_INSERT_TAIL(&c->txns, t, entry);
	c->ntxn++;
	/* If this send fails, on_close cleans the new transaction up. */
	reply_opened(c, f->req_id, QUEUE_OK, id, fd);
	close(fd);
}

static void
commit_done(struct spool_write *w)
{
	struct txn *t = w->arg;

	if (w->error == 0) {
		metrics_observe("homemx_commit_seconds", "", mono_now() - t->commit_started);
		reply_committed(t->client, t->commit_req, QUEUE_OK, t->id);
		log_event("committed", "qid=%s nrcpt=%u size=%lld source=%s",
		    t->id, t->env.nrcpt, (long long)t->size,
		    envelope_source_name(t->env.source));
		sched_add(&t->env);
	} else {
		spool_discard(t->id);
		log_event("spool_error", "op=%s qid=%s errno=\"%s\" action=refused",
		    w->failed_op, t->id, strerror(w->error));
		reply_committed(t->client, t->commit_req,
		    status_for_errno(w->error), t->id);
	}
	txn_free(t);
}

static void
envelope_from_commit(struct envelope *e, struct msg_commit *m, off_t body_size)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->id, m->msgid, sizeof(e->id));
	e->arrival = (uint64_t)time(NULL);
	e->next_attempt = e->arrival;
	e->source = m->source;
	e->smtputf8 = m->smtputf8;
	memcpy(e->client_ip, m->client_ip, sizeof(e->client_ip));
	memcpy(e->helo, m->helo, sizeof(e->helo));
	memcpy(e->sender, m->sender, sizeof(e->sender));
	e->has_body_size = true;
	e->body_size = (uint64_t)body_size;
	e->nrcpt = m->nrcpt;
	e->rcpt = m->rcpt;	/* moved */
	m->rcpt = NULL;
	m->nrcpt = 0;
}

/* The only source a client on this link may claim. */
static enum msg_source
source_of_peer(enum role peer)
{
	return peer == ROLE_SUBMISSION ? SOURCE_SUBMISSION : SOURCE_SMTP;
}

/* Semantic checks of a decoded commit; NULL if it may go on. */
static const char *
commit_refusal(struct client *c, const struct msg_commit *m, struct txn **tp)
{
	struct txn *t = txn_find(c, m->msgid);

	*tp = t;
	if (t == NULL)
		return "commit of an id this queue did not open for this link";
	if (t->committing)
		return "second commit of the same id";
	if (m->nrcpt > cfg->max_recipients)
		return "more recipients than max_recipients";
	if (m->source != source_of_peer(c->peer))
		return "source does not match the link it came in on";
	return NULL;
}

/* Checks the body size; QUEUE_OK or the status to answer. */
static enum queue_status
commit_check_size(struct txn *t)
{
	if ((t->size = spool_body_size(t->id)) == -1) {
		int err = errno;
		log_event("spool_error", "op=stat qid=%s errno=\"%s\"", t->id,
		    strerror(err));
		return status_for_errno(err);
	}
	if ((uint64_t)t->size > cfg->max_message_size + QUEUE_HEADER_SLACK) {
		log_event("ipc_reject", "peer=%s type=MSG_SMTPD_MSG_COMMIT qid=%s "
		    "reason=\"body of %lld bytes over max_message_size\"",
		    role_name(t->client->peer), t->id, (long long)t->size);
		return QUEUE_REJECT;
	}
	return QUEUE_OK;
}

/* The screen's Authentication-Results go first and forged ones go: the
 * body becomes final before its envelope is written. */
static enum queue_status
commit_rewrite(struct txn *t, const struct msg_commit *m)
{
	if (m->prepend[0] == '\0' && m->nstrip == 0)
		return QUEUE_OK;
	if (spool_rewrite_body(t->id, m->prepend, strlen(m->prepend), m->strip,
	    m->nstrip) == -1) {
		int err = errno;
		log_event("spool_error", "op=rewrite qid=%s errno=\"%s\"", t->id,
		    strerror(err));
		return err == EINVAL ? QUEUE_REJECT : status_for_errno(err);
	}
	return commit_check_size(t);	/* the new size, for the envelope */
}

static void
on_msg_commit(struct client *c, struct ipc_frame *f)
{
	struct msg_commit m;
	struct txn *t;
	const char *why;
	enum queue_status st;

	if (ipc_decode_commit(f, &m, &why) == -1) {
		ipc_link_reject(c->link, f->type, why);	/* on_close detaches */
		return;
	}
	if ((why = commit_refusal(c, &m, &t)) != NULL) {
		log_reject(c, f->type, why);
		if (t != NULL && !t->committing)
			txn_discard(t);
		reply_committed(c, f->req_id, QUEUE_REJECT, m.msgid);
		msg_commit_free(&m);
		return;
	}
	if ((st = commit_check_size(t)) != QUEUE_OK ||
	    (st = commit_rewrite(t, &m)) != QUEUE_OK) {
		txn_discard(t);
		reply_committed(c, f->req_id, st, m.msgid);
		msg_commit_free(&m);
		return;
	}
	envelope_from_commit(&t->env, &m, t->size);
	if (spool_write_prepare(&t->w, SPOOL_WRITE_COMMIT, &t->env) == -1) {
		log_reject(c, f->type, "envelope does not format");
		txn_discard(t);
		reply_committed(c, f->req_id, QUEUE_REJECT, m.msgid);
		return;
	}
	t->committing = true;
	t->commit_req = f->req_id;
	t->commit_started = mono_now();
	t->w.done = commit_done;
	t->w.arg = t;
	batch_add(&t->w);
}

/* smtpd wants a read-only view of a body it is still writing (the
 * screen reads the whole message before the commit). */
static void
on_msg_read(struct client *c, struct ipc_frame *f)
{
	struct msg_abort m;	/* the same shape: str msgid */
	static struct ipc_builder b;
	struct txn *t;
	const char *why;
	int fd;

	if (ipc_decode_abort(f, &m, &why) == -1) {
		ipc_link_reject(c->link, f->type, why);
		return;
	}
	if ((t = txn_find(c, m.msgid)) == NULL || t->committing) {
		log_reject(c, f->type, t == NULL ? "read of an unknown id" : "read after commit");
		ipc_encode_queue_opened(&b, QUEUE_REJECT, "");
		ipc_send(c->link, MSG_QUEUE_MSG_READER, f->req_id, &b, -1);
		return;
	}
	if ((fd = spool_open_body(t->id)) == -1) {
		int err = errno;
		log_event("spool_error", "op=open_read qid=%s errno=\"%s\"", t->id, strerror(err));
		ipc_encode_queue_opened(&b, status_for_errno(err), "");
		ipc_send(c->link, MSG_QUEUE_MSG_READER, f->req_id, &b, -1);
		return;
	}
	ipc_encode_queue_opened(&b, QUEUE_OK, t->id);
	ipc_send(c->link, MSG_QUEUE_MSG_READER, f->req_id, &b, fd);
	close(fd);
}

static void
on_msg_abort(struct client *c, struct ipc_frame *f)
{
	struct msg_abort m;
	struct txn *t;
	const char *why;

	if (ipc_decode_abort(f, &m, &why) == -1) {
		ipc_link_reject(c->link, f->type, why);
		return;
	}
	if ((t = txn_find(c, m.msgid)) == NULL || t->committing) {
		/* Harmless: nothing of this client's is touched. */
		log_reject(c, f->type, t == NULL ? "abort of an unknown id" :
		    "abort after commit");
		return;
	}
	txn_discard(t);
}

/* smtpd asks whether a recipient's bounce tag is one we made. */
static void
on_tag_check(struct client *c, struct ipc_frame *f)
{
	char tagged[ADDR_MAX + 1];
	struct ipc_builder b;
	const char *why;

	if (ipc_decode_tag_check(f, tagged, sizeof(tagged), &why) == -1) {
		ipc_link_reject(c->link, f->type, why);
		return;
	}
	ipc_encode_tag_checked(&b, bounce_tag_check(tagged, time(NULL)));
	(void)ipc_send(c->link, MSG_QUEUE_TAG_CHECKED, f->req_id, &b, -1);
}

static void
on_client_frame(struct ipc_link *l, struct ipc_frame *f, void *arg)
{
	struct client *c = arg;

	if (f->fd != -1)
		close(f->fd);	/* the table allows none; be safe */
	switch (f->type) {
	case MSG_SMTPD_MSG_OPEN:
		on_msg_open(c, f);
		break;
	case MSG_SMTPD_MSG_COMMIT:
		on_msg_commit(c, f);
		break;
	case MSG_SMTPD_MSG_ABORT:
		on_msg_abort(c, f);
		break;
	case MSG_SMTPD_MSG_READ:
		on_msg_read(c, f);
		break;
	case MSG_SMTPD_TAG_CHECK:
		on_tag_check(c, f);
		break;
	default:
		ipc_link_reject(l, f->type, "unexpected message");
		break;
	}
}

static void
on_client_close(struct ipc_link *l, void *arg)
{
	struct client *c = arg;

	if (c->link != l)
		return;
	c->link = NULL;
	log_event("link_down", "peer=%s open=%u", role_name(c->peer), c->ntxn);
	client_detach(c);
}

/* Drops the link to a client (before a new one replaces it). */
static void
client_drop(enum role peer)
{
	struct client *c = &clients[peer];

	if (c->link == NULL)
		return;
	ipc_link_free(c->link);	/* deferred if we are inside its callback */
	c->link = NULL;
	client_detach(c);
}

static void
client_set_link(enum role peer, int fd)
{
	struct client *c = &clients[peer];

	client_drop(peer);
	c->peer = peer;
	c->link = ipc_link_new(base, fd, ROLE_QUEUE, peer, on_client_frame,
	    on_client_close, c);
}

/* ---- role --------------------------------------------------------------- */

static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
load_message(struct envelope *e, void *arg)
{
	(void)arg;
	sched_add(e);
}

void
queue_init(struct event_base *b, const struct config *c,
    const int *listen_fds, size_t nlisten)
{
	struct spool_scan_stats st;

	(void)listen_fds;
	(void)nlisten;
	base = b;
	cfg = c;
	for (int i = 0; i < ROLE_COUNT; i++) {
		TAILQ_INIT(&clients[i].txns);
		clients[i].peer = (enum role)i;
	}
	raise_fd_limit();
	queue_admin_init();
	batch_init(base);
	sched_init(base, cfg);
	relay_init(base);
	sign_init(base, cfg);
	spool_init(cfg->spool_dir);
	family_store_init(base, cfg->spool_dir, (uint64_t)time(NULL),
	    cfg->family_fallback_memory);
	bounce_tag_init(cfg);
	spool_scan(load_message, NULL, &st);
	log_event("spool_loaded", "messages=%u garbage=%u corrupt=%u unknown=%u torn=%u",
	    st.loaded, st.garbage, st.corrupt, st.unknown, st.torn);
}

void
queue_on_link(enum role peer, int fd)
{
	if (!ipc_roles_linked(ROLE_QUEUE, peer)) {
		log_warnx("queue: no link expected to %s", role_name(peer));
		close(fd);
		return;
	}
	switch (peer) {
	case ROLE_DELIVERY:
		sched_set_link(fd);
		break;
	case ROLE_RELAY:
		relay_set_link(fd);
		break;
	case ROLE_DKIMSIGN:
		sign_set_link(fd);
		sched_kick_held();	/* whatever waited for a signer: now */
		break;
	case ROLE_SMTPD:
	case ROLE_SUBMISSION:
		client_set_link(peer, fd);
		break;
	default:
		log_warnx("queue: no link expected to %s", role_name(peer));
		close(fd);
		break;
	}
}

void
queue_on_reload(const struct config *c)
{
	cfg = c;
	sched_reload(c);
	sign_reload(c);
	bounce_tag_reload(c);
}

static bool
commits_in_progress(void)
{
	for (int i = 0; i < ROLE_COUNT; i++) {
		struct txn *t;
		TAILQ_FOREACH(t, &clients[i].txns, entry)
			if (t->committing)
				return true;
	}
	return !batch_is_empty();
}

static bool
replies_pending(void)
{
	for (int i = 0; i < ROLE_COUNT; i++)
		if (clients[i].link != NULL && ipc_link_pending(clients[i].link) > 0)
			return true;
	return false;
}

static void
on_shutdown_poll(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { 0, SHUTDOWN_POLL_USEC };

	(void)fd;
	(void)what;
	(void)arg;
	batch_run_now();
	bool idle = !commits_in_progress() && !replies_pending() &&
	    sched_inflight() == 0 && relay_inflight() == 0;
	if (idle || mono_now() > shutdown_deadline) {
		log_event("queue_stop", "inflight=%u queued=%u", sched_inflight(),
		    sched_queued());
		family_store_flush();
		spool_close();
		role_exit(0);
		return;
	}
	evtimer_add(ev_shutdown, &tv);
}

/* Finish the commits already received (their replies first), stop
 * scheduling, give deliveries in flight a moment to report, exit. */
void
queue_on_shutdown(void)
{
	if (shutting_down)
		return;
	shutting_down = true;
	sched_stop();
	relay_stop();
	batch_run_now();
	shutdown_deadline = mono_now() + SHUTDOWN_GRACE;
	if ((ev_shutdown = evtimer_new(base, on_shutdown_poll, NULL)) == NULL)
		fatalx("queue: evtimer_new");
	on_shutdown_poll(-1, 0, NULL);
}
