/*
 * queue/bounce.c - turning the failed recipients of one round into one
 * DSN, queued as a message of its own.
 *
 * Owns: the rule of who gets a DSN, and the commit of the DSN message.
 * A DSN goes only to the real sender of mail that came in by submission:
 * never for port 25 mail (RCPT validated it, and a later bounce would be
 * backscatter to a forged sender), never to the null sender, never about
 * a message that is itself automatic (our own DSNs are SOURCE_LOCAL with
 * sender <>; a submitted one with Auto-Submitted or a delivery-status
 * report is recognised by dsn_headers_are_automatic()).
 *
 * A DSN about internationalized mail takes the RFC 6533 form (dsn.c
 * decides from the original's smtputf8 flag and addresses).
 *
 * Order, so that a crash never loses a report: the DSN (body written by
 * dsn.c's builder, envelope SOURCE_LOCAL, sender <>, one recipient: the
 * original sender, "hold dkim") is committed through the group flush
 * first; only in its completion, the done() callback of bounce_enqueue,
 * does the scheduler take the DSN over and drop the failed recipients from
 * the original's envelope, which is then written in a later flush. If the
 * DSN cannot be written (done() gets no DSN, or bounce_enqueue says
 * BOUNCE_ERROR), the failed recipients stay in the original for the next
 * round, which will fail and report them again. A crash after the DSN
 * commit and before the original's rewrite reports them twice: at least
 * once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "dsn.h"
#include "log.h"
#include "qmsg.h"
#include "spool.h"
#include "utf8.h"
#include "util.h"

#define BOUNCE_TOKEN_BYTES	8	/* 16 hex digits, Message-ID and boundary */

/* A DSN on its way to disk. */
struct bounce {
	struct qmsg		*orig;
	struct envelope		 env;
	struct spool_write	 w;
	unsigned		 nfailed;
	bounce_done_fn		*done;
	void			*done_arg;
};

static uint8_t	header_buf[MIME_HEADERS_MAX];

bool
bounce_wanted(const struct qmsg *m)
{
	if (m->env.source != SOURCE_SUBMISSION || m->env.sender[0] == '\0')
		return false;
	for (unsigned i = 0; i < m->env.nrcpt; i++)
		if (m->state[i] == RCPT_FAILED)
			return true;
	return false;
}

/* The start of the original message, for its header block; -1 on error. */
static ssize_t
read_original_headers(const char *id)
{
	size_t n = 0;
	int fd;

	if ((fd = spool_open_body(id)) == -1)
		return -1;
	while (n < sizeof(header_buf)) {
		ssize_t r = pread(fd, header_buf + n, sizeof(header_buf) - n, (off_t)n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			int err = errno;
			close(fd);
			errno = err;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	return (ssize_t)mime_header_block_len(header_buf, n);
}

static void
random_token(char out[2 * BOUNCE_TOKEN_BYTES + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t r[BOUNCE_TOKEN_BYTES];

	random_bytes(r, sizeof(r));
	for (size_t i = 0; i < sizeof(r); i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[2 * sizeof(r)] = '\0';
}

/* Builds the DSN text for the failed recipients of m; -1 if impossible. */
static int
build_text(const struct qmsg *m, const struct config *c, size_t headers_len,
    struct textbuf *out, unsigned *nfailed)
{
	struct dsn_rcpt rcpts[IPC_MAX_RCPTS];
	char token[2 * BOUNCE_TOKEN_BYTES + 1];
	unsigned n = 0;

	for (unsigned i = 0; i < m->env.nrcpt; i++) {
		if (m->state[i] != RCPT_FAILED)
			continue;
		rcpts[n].rcpt = m->env.rcpt[i];
		rcpts[n].reason = m->note[i].reason;
		rcpts[n].reply = m->note[i].reply;
		rcpts[n].remote = m->note[i].remote;
		n++;
	}
	random_token(token);
	struct dsn_input in = {
		.hostname = c->hostname,
		.orig_id = m->env.id,
		.orig_sender = m->env.sender,
		.smtputf8 = m->env.smtputf8,
		.arrival = m->env.arrival,
		.now = (uint64_t)time(NULL),
		.lifetime = c->queue_lifetime,
		.token = token,
		.headers = header_buf,
		.headers_len = headers_len,
		.rcpts = rcpts,
		.nrcpt = n,
	};
	*nfailed = n;
	return dsn_build(&in, out);
}

/* The DSN's own envelope: from <>, to the original sender, held for DKIM.
 * A UTF-8 sender needs SMTPUTF8 on the DSN's way back (RFC 6531 3.4, RFC
 * 6533 4), and its To field is UTF-8 too (dsn.c). */
static void
dsn_envelope(struct envelope *e, const char *id, size_t body_size,
    const struct qmsg *m, const struct config *c)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->id, id, sizeof(e->id));
	e->arrival = (uint64_t)time(NULL);
	e->next_attempt = e->arrival;
	e->source = SOURCE_LOCAL;
	snprintf(e->helo, sizeof(e->helo), "%s", c->hostname);
	e->sender[0] = '\0';
	e->nrcpt = 1;
	e->rcpt = xcalloc(1, sizeof(*e->rcpt));
	memcpy(e->rcpt[0], m->env.sender, sizeof(e->rcpt[0]));
	e->smtputf8 = utf8_str_has_8bit(m->env.sender);
	e->hold = ENVELOPE_HOLD_DKIM;
	e->has_body_size = true;
	e->body_size = body_size;
}

static void
bounce_committed(struct spool_write *w)
{
	struct bounce *bo = w->arg;
	struct qmsg *m = bo->orig;
	char to[LOG_ESCAPE_MAX];

	log_escape(to, sizeof(to), m->env.sender, strlen(m->env.sender));
	if (w->error == 0) {
		log_event("dsn", "qid=%s dsn_qid=%s to=<%s> nrcpt=%u", m->env.id,
		    bo->env.id, to, bo->nfailed);
		bo->done(m, &bo->env, bo->done_arg);
	} else {
		spool_discard(bo->env.id);
		log_event("dsn_error", "qid=%s to=<%s> op=%s errno=\"%s\" action=retry",
		    m->env.id, to, w->failed_op, strerror(w->error));
		bo->done(m, NULL, bo->done_arg);
	}
	envelope_free(&bo->env);
	spool_write_release(&bo->w);
	free(bo);
}

/* Writes the DSN body into a new spool file; its id goes into id. */
static int
write_body(const struct textbuf *text, char id[QUEUE_ID_SIZE])
{
	int fd, err;

	if ((fd = spool_create_body(id)) == -1)
		return -1;
	if (write_all(fd, text->p, text->len) == -1) {
		err = errno;
		close(fd);
		spool_discard(id);
		errno = err;
		return -1;
	}
	if (close(fd) == -1) {
		err = errno;
		spool_discard(id);
		errno = err;
		return -1;
	}
	return 0;
}

static enum bounce_outcome
log_error(const struct qmsg *m, const char *op, int err)
{
	log_event("dsn_error", "qid=%s op=%s errno=\"%s\" action=retry", m->env.id,
	    op, strerror(err));
	return BOUNCE_ERROR;
}

enum bounce_outcome
bounce_enqueue(struct qmsg *m, const struct config *c, bounce_done_fn *done,
    void *arg)
{
	struct textbuf text = { 0 };
	char id[QUEUE_ID_SIZE];
	unsigned nfailed;
	ssize_t hlen;

	if ((hlen = read_original_headers(m->env.id)) == -1)
		return log_error(m, "read_original", errno);
	if (dsn_headers_are_automatic(header_buf, (size_t)hlen)) {
		log_event("dsn_suppressed", "qid=%s reason=\"the message is automatic "
		    "(Auto-Submitted or a delivery report)\"", m->env.id);
		return BOUNCE_NONE;
	}
	if (build_text(m, c, (size_t)hlen, &text, &nfailed) == -1) {
		/* Our own input: retrying would fail the same way. */
		log_event("dsn_error", "qid=%s op=build action=none", m->env.id);
		return BOUNCE_NONE;
	}
	int rc = write_body(&text, id);
	size_t body_size = text.len;
	textbuf_free(&text);
	if (rc == -1)
		return log_error(m, "write", errno);
	struct bounce *bo = xcalloc(1, sizeof(*bo));
	bo->orig = m;
	bo->nfailed = nfailed;
	bo->done = done;
	bo->done_arg = arg;
	dsn_envelope(&bo->env, id, body_size, m, c);
	if (spool_write_prepare(&bo->w, SPOOL_WRITE_COMMIT, &bo->env) == -1) {
		spool_discard(id);
		envelope_free(&bo->env);
		free(bo);
		log_event("dsn_error", "qid=%s op=envelope action=none", m->env.id);
		return BOUNCE_NONE;
	}
	bo->w.done = bounce_committed;
	bo->w.arg = bo;
	batch_add(&bo->w);
	return BOUNCE_PENDING;
}
