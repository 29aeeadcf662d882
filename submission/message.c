/*
 * submission/message.c - a submitted message, from DATA to the spool:
 * RFC 6409 completion, the From: check, and the DKIM signatures.
 *
 * Owns: the message of the transaction while it is not yet queued. It is
 * written into a memfd (not the spool file) through the header scanner
 * (submission/headers.c), which adds Message-ID: and Date: where the header
 * section ends if they are missing (RFC 6409 8.2, 8.3). At the end of DATA
 * the memfd is sealed, every From: address must be owned by the
 * authenticated user (lookup, one at a time; one equal to MAIL FROM was
 * asked at MAIL already), then dkimsign signs it for
 * the domain of the first From: address (DMARC aligns on it), and only
 * then are the signature fields and the sealed memfd copied into the spool
 * file and committed. Why the memfd: a message that is refused or cannot
 * be signed never touches the spool, and what dkimsign signed is exactly
 * what is queued - "no key, no mail": 451, never unsigned.
 */
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../smtpd/links.h"
#include "log.h"
#include "submission.h"
#include "util.h"

static void
message_emit(void *arg, const uint8_t *p, size_t n)
{
	struct smtp_session *s = arg;

	body_writer_put(s->tx->writer, p, n);
}

/* RFC 6409 8.2/8.3: a missing Message-ID:/Date: is added where the header
 * section ends, so that dkimsign signs them too. */
static void
message_headers_end(void *arg, bool body_without_blank)
{
	struct smtp_session *s = arg;
	struct transaction *tx = s->tx;
	char fields[ADDED_HEADERS_MAX], id_left[QUEUE_ID_SIZE + 20];
	uint32_t rnd;

	random_bytes(&rnd, sizeof(rnd));
	snprintf(id_left, sizeof(id_left), "%s.%08x", tx->qid, rnd);
	size_t n = header_render_missing(submission_of(s)->headers, id_left,
	    session_cfg()->hostname, time(NULL), fields, sizeof(fields));
	body_writer_put(tx->writer, fields, n);
	if (body_without_blank)
		body_writer_put(tx->writer, "\r\n", 2);
}

/* The body goes into a memfd (sealed at the end, read by dkimsign), with
 * the header scanner in between. */
int
message_data_start(struct smtp_session *s, const char **why)
{
	struct submission_state *st = submission_of(s);

	st->body_fd = memfd_create("submission", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (st->body_fd == -1) {
		log_warn("sess=%s: memfd_create", s->id);
		*why = "memfd";
		return -1;
	}
	st->headers = xmalloc(sizeof(*st->headers));
	header_scan_init(st->headers, message_emit, message_headers_end, s);
	memset(&st->trace, 0, sizeof(st->trace));
	st->trace.data = mono_now();
	return st->body_fd;
}

void
message_data_sink(struct smtp_session *s, const uint8_t *p, size_t n)
{
	header_scan_feed(submission_of(s)->headers, p, n);
}

/*
 * At debug level, one line per queued message with the time each step
 * after 354 took: the body (client to the final dot), the From: check
 * (lookup), the signature (dkimsign, IPC included) and the copy into the
 * spool plus the commit (the queue's group flush) - what scripts/bench
 * --trace adds up.
 */
static void
message_trace_log(const struct smtp_session *s, const struct message_trace *t)
{
	double now = mono_now();

	if (t->signed_at == 0 || s->messages == t->messages)
		return;		/* not queued: refused, reset or failed */
	log_debug("trace=submission sess=%s qid=%s body_ms=%.3f from_ms=%.3f "
	    "sign_ms=%.3f commit_ms=%.3f eod_ms=%.3f", s->id, s->tx->qid,
	    (t->eod - t->data) * 1000.0, (t->from_done - t->eod) * 1000.0,
	    (t->signed_at - t->from_done) * 1000.0, (now - t->signed_at) * 1000.0,
	    (now - t->eod) * 1000.0);
}

void
message_tx_end(struct smtp_session *s)
{
	struct submission_state *st = submission_of(s);

	if (s->tx != NULL)
		message_trace_log(s, &st->trace);
	memset(&st->trace, 0, sizeof(st->trace));
	if (st->body_fd != -1)
		close(st->body_fd);
	st->body_fd = -1;
	free(st->headers);
	st->headers = NULL;
	free(st->from_addrs);
	st->from_addrs = NULL;
	st->nfrom_addrs = st->from_checked = 0;
}

static void	message_sign_domain(struct smtp_session *, const char *domain);

/* Signed: the signature fields, then the sealed memfd, into the spool. */
static void
on_signed(void *owner, const struct msg_sign_answer *a)
{
	struct smtp_session *s = owner;
	struct transaction *tx = s->tx;
	size_t n = strlen(a->headers);
	char next[ADDR_DOMAIN_MAX + 1];

	if (s->state != SESSION_EOD_WAIT || tx == NULL)
		return;
	submission_of(s)->trace.signed_at = mono_now();
	submission_of(s)->trace.messages = s->messages;
	if (a->status == SIGN_NO_KEY && local_sign_fallback(submission_of(s),
	    submission_of(s)->sign_domain, next, sizeof(next))) {
		message_sign_domain(s, next);
		return;
	}
	if (a->status != SIGN_OK) {
		session_message_refuse(s, REPLY_SIGN_TEMPFAIL,
		    a->status == SIGN_NO_KEY ? "sign_no_key" : "sign_failed");
		return;
	}
	if (!header_fields_are_valid(a->headers, n)) {
		log_warnx("sess=%s qid=%s: dkimsign returned malformed fields", s->id, tx->qid);
		session_message_refuse(s, REPLY_SIGN_TEMPFAIL, "sign_bad_fields");
		return;
	}
	body_writer_init(tx->writer, tx->fd);
	body_writer_put(tx->writer, a->headers, n);
	(void)body_writer_copy_fd(tx->writer, submission_of(s)->body_fd);
	log_event("signed", "sess=%s qid=%s", s->id, tx->qid);
	session_message_accept(s);
}

/* The domain of the first From: address signs (DMARC aligns on it). */
static void
message_sign(struct smtp_session *s)
{
	struct submission_state *st = submission_of(s);
	const char *at = strrchr(st->from_addrs[0], '@');
	const char *domain = at != NULL ? at + 1 : "";

	st->trace.from_done = mono_now();
	if (!domain_is_valid(domain, strlen(domain))) {
		session_message_refuse(s, REPLY_SIGN_TEMPFAIL, "sign_bad_domain");
		return;
	}
	message_sign_domain(s, domain);
}

static void
message_sign_domain(struct smtp_session *s, const char *domain)
{
	struct submission_state *st = submission_of(s);

	snprintf(st->sign_domain, sizeof(st->sign_domain), "%s", domain);
	if (links_sign_ask(s, domain, st->body_fd, on_signed) == 0) {
		/* never queued unsigned by accident */
		session_message_refuse(s, REPLY_SIGN_TEMPFAIL, "dkimsign_unavailable");
	}
}

static void	message_check_next_from(struct smtp_session *);

static void
on_from_sender(void *owner, enum sender_result r)
{
	struct smtp_session *s = owner;
	struct submission_state *st = submission_of(s);

	if (s->state != SESSION_EOD_WAIT || s->tx == NULL)
		return;
	log_sender(s, "header", st->from_addrs[st->from_checked],
	    r == SENDER_OWNED ? "owned" : r == SENDER_NOT_OWNED ? "not_owned" : "tempfail");
	if (r == SENDER_OWNED) {
		st->from_checked++;
		message_check_next_from(s);
	} else if (r == SENDER_NOT_OWNED)
		session_message_refuse(s, REPLY_FROM_NOT_OWNED, "from_not_owned");
	else
		session_message_refuse(s, REPLY_TEMPFAIL, "lookup_tempfail");
}

/*
 * A From: address byte for byte equal to MAIL FROM was found owned by
 * this user at MAIL, in this transaction (policy.c): asking lookup again
 * would cost a round trip per message and tell nothing new. Anything else
 * (another address, other case, <> as MAIL FROM) is asked.
 */
static bool
from_is_checked_sender(const struct smtp_session *s, const char *addr)
{
	if (local_from_is_own(submission_of(s), addr))
		return true;	/* a local client's own address (local.c) */
	return !s->tx->null_sender && s->tx->from[0] != '\0' &&
	    strcmp(addr, s->tx->from) == 0;
}

static void
message_check_next_from(struct smtp_session *s)
{
	struct submission_state *st = submission_of(s);

	while (st->from_checked < st->nfrom_addrs &&
	    from_is_checked_sender(s, st->from_addrs[st->from_checked])) {
		log_sender(s, "header", st->from_addrs[st->from_checked], "owned");
		st->from_checked++;
	}
	if (st->from_checked == st->nfrom_addrs) {
		message_sign(s);
		return;
	}
	if (links_sender_ask(s, st->auth_user, st->from_addrs[st->from_checked],
	    on_from_sender) == 0)
		session_message_refuse(s, REPLY_TEMPFAIL, "lookup_unavailable");
}

/* The whole message is in the memfd: freeze it, then check From:. */
void
message_end_of_data(struct smtp_session *s)
{
	struct submission_state *st = submission_of(s);
	struct transaction *tx = s->tx;
	char reason[32];

	st->trace.eod = mono_now();
	header_scan_finish(st->headers);
	if (body_writer_flush(tx->writer) == -1 ||
	    fcntl(st->body_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1) {
		log_warnx("sess=%s qid=%s: memfd write failed: %s", s->id, tx->qid,
		    strerror(tx->writer->error != 0 ? tx->writer->error : errno));
		session_message_refuse(s, REPLY_TEMPFAIL, "memfd_write");
		return;
	}
	st->from_addrs = xcalloc(FROM_ADDRS_MAX, sizeof(*st->from_addrs));
	enum from_status fs = header_scan_from(st->headers, st->from_addrs,
	    FROM_ADDRS_MAX, &st->nfrom_addrs);
	if (fs != FROM_OK) {
		snprintf(reason, sizeof(reason), "from_%s", from_status_text(fs));
		session_message_refuse(s, REPLY_FROM_INVALID, reason);
		return;
	}
	st->from_checked = 0;
	message_check_next_from(s);
}
