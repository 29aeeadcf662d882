/*
 * queue/sign.c - DKIM signing of the DSNs the queue writes itself.
 *
 * Owns: the link to dkimsign and the messages waiting for a signature.
 * A DSN is committed by bounce.c with "hold dkim" in its envelope: it is
 * durable, but the scheduler never delivers it. When it is due, it comes
 * here: we send MSG_SIGN_ASK with the body as a read-only fd and a d=
 * domain (sign_domain_candidates: the DSN recipient's domain if it is one
 * of ours, else the hostname or a parent of it that is ours; on
 * SIGN_NO_KEY the next candidate). On SIGN_OK the signature fields are
 * checked (CRLF lines, printable, bounded), a signed copy is written as a
 * new spool message (the signature, then the DSN) and committed through
 * the normal group flush; only once that copy is durable is the unsigned
 * one removed. So a DSN is never lost and never leaves unsigned.
 *
 * Without a dkimsign link, or on SIGN_FAILED, or when no candidate domain
 * has a key, the DSN stays held: the caller's done() hears
 * SIGN_DONE_RETRY and tries again later (the scheduler: with the usual
 * backoff, and at once when dkimsign (re)links). A held DSN that reaches
 * queue_lifetime is dropped (event=expired, SIGN_DONE_EXPIRED): no DSN is
 * ever sent about a DSN. A crash between the commit of the signed copy and
 * the removal of the unsigned one sends the DSN twice: the at-least-once
 * choice of the whole queue. Every outcome goes through the done()
 * callback given to sign_start (qmsg.h); nothing here calls the scheduler.
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "batch.h"
#include "ipc_decode.h"
#include "log.h"
#include "mime.h"
#include "qmsg.h"
#include "spool.h"
#include "util.h"

#define SIGN_TIMEOUT		120	/* s for an answer from dkimsign */
#define SIGN_SWEEP_INTERVAL	30	/* s between checks for lost answers */
#define SIGN_COPY_CHUNK		65536

/* A signed copy on its way to disk. */
struct signed_copy {
	struct qmsg		*orig;
	struct envelope		 env;
	struct spool_write	 w;
	char			 domain[ADDR_DOMAIN_MAX + 1];
};

static struct event_base	*base;
static const struct config	*cfg;
static struct ipc_link		*slink;
static TAILQ_HEAD(, qmsg)	 asking = TAILQ_HEAD_INITIALIZER(asking);
static uint64_t			 req_counter;
static struct event		*ev_sweep;

/* ---- candidate domains (pure) -------------------------------------------- */

static bool
already_listed(char out[][ADDR_DOMAIN_MAX + 1], size_t n, const char *d)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(out[i], d) == 0)
			return true;
	return false;
}

static void
add_candidate(char out[][ADDR_DOMAIN_MAX + 1], size_t *n, size_t max,
    const char *d)
{
	if (*n < max && d[0] != '\0' && strlen(d) <= ADDR_DOMAIN_MAX &&
	    !already_listed(out, *n, d))
		snprintf(out[(*n)++], ADDR_DOMAIN_MAX + 1, "%s", d);
}

size_t
sign_domain_candidates(const struct config *c, const char *rcpt,
    char out[][ADDR_DOMAIN_MAX + 1], size_t max)
{
	char domain[ADDR_DOMAIN_MAX + 1];
	const char *at = strrchr(rcpt, '@');
	size_t n = 0;

	if (at != NULL && strlen(at + 1) <= ADDR_DOMAIN_MAX) {
		snprintf(domain, sizeof(domain), "%s", at + 1);
		str_lower(domain);
		if (config_has_domain(c, domain))
			add_candidate(out, &n, max, domain);
	}
	add_candidate(out, &n, max, c->hostname);
	for (const char *p = strchr(c->hostname, '.'); p != NULL;
	    p = strchr(p + 1, '.'))
		if (config_has_domain(c, p + 1))
			add_candidate(out, &n, max, p + 1);
	return n;
}

/* ---- outcomes ------------------------------------------------------------- */

static uint64_t
expiry_of(const struct qmsg *m)
{
	return m->env.arrival + cfg->queue_lifetime;
}

/* The end of this sign_start(): report it to its caller. */
static void
finish(struct qmsg *m, enum sign_outcome outcome, struct envelope *copy,
    const char *why)
{
	m->busy = false;
	m->sign_done(m, outcome, copy, why, m->sign_arg);
}

/* The held DSN is too old: drop it, it is never reported. */
static void
drop_expired(struct qmsg *m)
{
	char to[LOG_ESCAPE_MAX];

	log_event("expired", "qid=%s to=<%s> attempts=%u reason=\"DSN never signed\"",
	    m->env.id, log_escape(to, sizeof(to), m->env.rcpt[0],
	    strlen(m->env.rcpt[0])), m->sign_attempts);
	if (spool_remove(m->env.id) == 0)
		log_event("removed", "qid=%s", m->env.id);
	finish(m, SIGN_DONE_EXPIRED, NULL, NULL);
}

static void
retry_later(struct qmsg *m, const char *why)
{
	m->sign_candidate = 0;
	finish(m, SIGN_DONE_RETRY, NULL, why);
}

/* ---- asking dkimsign -------------------------------------------------------- */

static void
asking_remove(struct qmsg *m)
{
	TAILQ_REMOVE(&asking, m, sign_entry);
	m->sign_req = 0;
}

static struct qmsg *
asking_find(uint64_t req)
{
	struct qmsg *m;

	TAILQ_FOREACH(m, &asking, sign_entry)
		if (m->sign_req == req)
			return m;
	return NULL;
}

static size_t
candidates_of(const struct qmsg *m, char out[][ADDR_DOMAIN_MAX + 1])
{
	return sign_domain_candidates(cfg, m->env.rcpt[0], out,
	    SIGN_MAX_CANDIDATES);
}

void
sign_start(struct qmsg *m, sign_done_fn *done, void *arg)
{
	char cand[SIGN_MAX_CANDIDATES][ADDR_DOMAIN_MAX + 1];
	struct ipc_builder b;
	int fd;

	m->sign_done = done;
	m->sign_arg = arg;
	if ((uint64_t)time(NULL) >= expiry_of(m)) {
		drop_expired(m);
		return;
	}
	if (slink == NULL) {
		retry_later(m, "dkimsign unavailable");
		return;
	}
	size_t n = candidates_of(m, cand);
	if (m->sign_candidate >= n)
		m->sign_candidate = 0;
	if ((fd = spool_open_body(m->env.id)) == -1) {
		log_event("spool_error", "op=open_body qid=%s errno=\"%s\"", m->env.id,
		    strerror(errno));
		retry_later(m, "cannot open spooled body");
		return;
	}
	m->busy = true;
	m->sign_req = ++req_counter;
	m->sign_started = time(NULL);
	TAILQ_INSERT_TAIL(&asking, m, sign_entry);
	ipc_encode_sign_ask(&b, cand[m->sign_candidate]);
	log_debug("qid=%s asking dkimsign for d=%s", m->env.id, cand[m->sign_candidate]);
	uint64_t req = m->sign_req;
	/* A failed send may close the link; on_close then retried m. */
	if (ipc_send(slink, MSG_SIGN_ASK, req, &b, fd) == -1 &&
	    asking_find(req) == m) {
		asking_remove(m);
		retry_later(m, "cannot send to dkimsign");
	}
	close(fd);
}

/* ---- the signed copy ---------------------------------------------------------- */

/* Writes headers, then the body of id, into the new body file wfd;
 * *written is its size. */
static int
write_signed_body(int wfd, const char *id, const char *headers,
    uint64_t *written)
{
	static char buf[SIGN_COPY_CHUNK];
	int rfd, err = 0;

	if (write_all(wfd, headers, strlen(headers)) == -1)
		return -1;
	*written = strlen(headers);
	if ((rfd = spool_open_body(id)) == -1)
		return -1;
	for (;;) {
		ssize_t r = read(rfd, buf, sizeof(buf));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r == -1 ? errno : 0;
			break;
		}
		if (write_all(wfd, buf, (size_t)r) == -1) {
			err = errno;
			break;
		}
		*written += (uint64_t)r;
	}
	close(rfd);
	errno = err;
	return err == 0 ? 0 : -1;
}

static void
copy_committed(struct spool_write *w)
{
	struct signed_copy *sc = w->arg;
	struct qmsg *m = sc->orig;

	if (w->error == 0) {
		log_event("dsn_signed", "qid=%s signed_qid=%s d=%s", m->env.id,
		    sc->env.id, sc->domain);
		if (spool_remove(m->env.id) == 0)
			log_event("removed", "qid=%s", m->env.id);
		finish(m, SIGN_DONE_SIGNED, &sc->env, NULL);
	} else {
		spool_discard(sc->env.id);
		log_event("spool_error", "op=%s qid=%s errno=\"%s\" action=retry_signing",
		    w->failed_op, sc->env.id, strerror(w->error));
		retry_later(m, "cannot write the signed copy");
	}
	envelope_free(&sc->env);
	spool_write_release(&sc->w);
	free(sc);
}

/* 0: the signed copy is in the next group flush; -1 with errno. */
static int
commit_signed_copy(struct qmsg *m, const char *headers, const char *domain)
{
	struct signed_copy *sc = xcalloc(1, sizeof(*sc));
	uint64_t body_size;
	int fd, err;

	if ((fd = spool_create_body(sc->env.id)) == -1)
		goto fail;
	if (write_signed_body(fd, m->env.id, headers, &body_size) == -1) {
		err = errno;
		close(fd);
		spool_discard(sc->env.id);
		errno = err;
		goto fail;
	}
	close(fd);
	char id[QUEUE_ID_SIZE];
	memcpy(id, sc->env.id, sizeof(id));
	if (envelope_copy(&sc->env, &m->env) == -1) {
		spool_discard(id);
		errno = ENOMEM;
		goto fail;
	}
	memcpy(sc->env.id, id, sizeof(sc->env.id));
	sc->env.hold = ENVELOPE_HOLD_NONE;
	sc->env.has_body_size = true;
	sc->env.body_size = body_size;
	sc->env.attempts = 0;
	sc->env.next_attempt = (uint64_t)time(NULL);
	snprintf(sc->domain, sizeof(sc->domain), "%s", domain);
	sc->orig = m;
	if (spool_write_prepare(&sc->w, SPOOL_WRITE_COMMIT, &sc->env) == -1)
		fatalx("sign: envelope %s no longer formats", m->env.id);
	sc->w.done = copy_committed;
	sc->w.arg = sc;
	batch_add(&sc->w);
	return 0;
fail:
	envelope_free(&sc->env);
	free(sc);
	return -1;
}

/* ---- answers ------------------------------------------------------------------- */

/* Every question in flight is retried later. */
static void
retry_all_asking(const char *why)
{
	struct qmsg *m;

	while ((m = TAILQ_FIRST(&asking)) != NULL) {
		asking_remove(m);
		retry_later(m, why);
	}
}

static void
on_signed(struct qmsg *m, const struct msg_sign_answer *a, const char *domain)
{
	if (!mime_fields_are_clean(a->headers, strlen(a->headers))) {
		retry_later(m, "bad signature from dkimsign");
		ipc_link_reject(slink, MSG_SIGN_ANSWER,
		    "signature fields are not clean CRLF header lines");
		return;
	}
	if (commit_signed_copy(m, a->headers, domain) == -1) {
		log_event("spool_error", "op=signed_copy qid=%s errno=\"%s\"", m->env.id,
		    strerror(errno));
		retry_later(m, "cannot write the signed copy");
	}
	/* else m stays busy until copy_committed */
}

static void
on_answer(struct qmsg *m, const struct msg_sign_answer *a)
{
	char cand[SIGN_MAX_CANDIDATES][ADDR_DOMAIN_MAX + 1];
	size_t n = candidates_of(m, cand);
	const char *domain = m->sign_candidate < n ? cand[m->sign_candidate] : "";

	switch (a->status) {
	case SIGN_OK:
		on_signed(m, a, domain);
		return;
	case SIGN_NO_KEY:
		log_event("sign_nokey", "qid=%s d=%s", m->env.id, domain);
		if (++m->sign_candidate < n) {
			m->busy = false;
			sign_start(m, m->sign_done, m->sign_arg);
			return;
		}
		retry_later(m, "no DKIM key for any candidate domain");
		return;
	case SIGN_FAILED:
		retry_later(m, "dkimsign failed");
		return;
	}
}

static void
on_sign_answer(struct ipc_frame *f)
{
	static struct msg_sign_answer a;	/* 16 KB: not on the stack */
	struct qmsg *m;
	const char *why;

	if (ipc_decode_sign_answer(f, &a, &why) == -1) {
		ipc_link_reject(slink, f->type, why);	/* on_close retries all */
		return;
	}
	if ((m = asking_find(f->req_id)) == NULL) {
		log_event("ipc_reject", "peer=dkimsign type=%s reason=\"unknown request %llu\"",
		    ipc_msg_name(f->type), (unsigned long long)f->req_id);
		return;
	}
	asking_remove(m);
	on_answer(m, &a);
}

static void
on_sign_frame(struct ipc_link *l, struct ipc_frame *f, void *arg)
{
	(void)arg;
	if (f->fd != -1)
		close(f->fd);
	if (f->type == MSG_SIGN_ANSWER)
		on_sign_answer(f);
	else
		ipc_link_reject(l, f->type, "unexpected");
}

static void
on_sign_close(struct ipc_link *l, void *arg)
{
	(void)arg;
	if (l != slink)
		return;
	slink = NULL;
	log_event("link_down", "peer=dkimsign");
	retry_all_asking("dkimsign went away");
}

void
sign_set_link(int fd)
{
	if (slink != NULL) {
		struct ipc_link *old = slink;
		slink = NULL;
		ipc_link_free(old);	/* no on_close: do its work here */
		log_event("link_down", "peer=dkimsign reason=replaced");
		retry_all_asking("dkimsign replaced");
	}
	slink = ipc_link_new(base, fd, ROLE_QUEUE, ROLE_DKIMSIGN, on_sign_frame,
	    on_sign_close, NULL);
}

static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	time_t limit = time(NULL) - SIGN_TIMEOUT;
	struct qmsg *m, *next;

	(void)fd;
	(void)what;
	(void)arg;
	for (m = TAILQ_FIRST(&asking); m != NULL; m = next) {
		next = TAILQ_NEXT(m, sign_entry);
		if (m->sign_started < limit) {
			asking_remove(m);
			retry_later(m, "no answer from dkimsign");
		}
	}
}

void
sign_init(struct event_base *b, const struct config *c)
{
	struct timeval tv = { SIGN_SWEEP_INTERVAL, 0 };

	base = b;
	cfg = c;
	if ((ev_sweep = event_new(base, -1, EV_PERSIST, on_sweep, NULL)) == NULL)
		fatalx("sign_init: event_new");
	event_add(ev_sweep, &tv);
}

void
sign_reload(const struct config *c)
{
	cfg = c;
}
