/*
 * submission/policy.c - the submission policy of the session engine: what
 * 587 and 465 allow that port 25 does not, and what they demand.
 *
 * Owns: the policy table (smtpd/policy.h) and the envelope rules of
 * submission: AUTH is offered only under TLS; MAIL needs a login, and the
 * user must own the address (lookup: own addresses, aliases and
 * subaddresses) - or send with the null sender <>, which read receipts
 * and auto-replies use (RFC 8098, RFC 3834) and which the queue never
 * bounces; recipients need not be local (an authenticated user relays);
 * Received: names the login as ESMTPSA and leaves the client's IP out
 * when submission_hide_client_ip says so. The spool file is asked for at
 * the first accepted recipient (open_early), not at DATA. Why the checks sit in hooks:
 * the engine's limits, smuggling defences, pipelining and deadlines apply
 * here unchanged.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "../smtpd/links.h"
#include "log.h"
#include "submission.h"
#include "util.h"

void
log_sender(struct smtp_session *s, const char *where, const char *address,
    const char *verdict)
{
	char esc[LOG_ESCAPE_MAX];

	log_event("sender", "sess=%s user=%s where=%s address=<%s> verdict=%s",
	    s->id, submission_of(s)->auth_user, where,
	    log_escape(esc, sizeof(esc), address, strlen(address)), verdict);
}

static void
submission_on_connect(struct smtp_session *s)
{
	struct submission_state *st = xcalloc(1, sizeof(*st));

	st->body_fd = -1;
	s->policy_state = st;
}

static void
submission_on_close(struct smtp_session *s)
{
	struct submission_state *st = submission_of(s);

	if (st == NULL)
		return;
	auth_wipe(st);
	sodium_memzero(st, sizeof(*st));
	free(st);
	s->policy_state = NULL;
}

/* AUTH is not even advertised before TLS. */
static void
submission_ehlo_offer(const struct smtp_session *s, struct ehlo_offer *offer)
{
	offer->auth = s->tls_active;
}

/*
 * RFC 4954 section 4: AUTH lines (the command and the responses after a
 * 334) may be up to 12288 octets, since base64 credentials are long. Every
 * other line keeps the RFC 5321 limit, on submission too.
 */
static size_t
submission_line_max(const struct smtp_session *s, const char *head, size_t len)
{
	if (s->state == SESSION_POLICY_INPUT)
		return SASL_LINE_MAX;
	if (len == 5 && strncasecmp(head, "AUTH ", 5) == 0)
		return SASL_LINE_MAX;
	return SMTP_LINE_MAX;
}

/* Submission refuses MAIL until the client has authenticated. */
static bool
submission_mail_refused(const struct smtp_session *s, enum reply_id *r)
{
	if (submission_of(s)->auth_user[0] != '\0')
		return false;
	*r = REPLY_AUTH_REQUIRED;
	return true;
}

static void
on_mail_sender(void *owner, enum sender_result r)
{
	struct smtp_session *s = owner;

	if (s->state != SESSION_MAIL_WAIT || s->tx == NULL)
		return;
	log_sender(s, "mail", s->tx->from, r == SENDER_OWNED ? "owned" :
	    r == SENDER_NOT_OWNED ? "not_owned" : "tempfail");
	if (r == SENDER_OWNED)
		snprintf(submission_of(s)->owned_sender,
		    sizeof(submission_of(s)->owned_sender), "%s", s->tx->from);
	session_mail_done(s, r == SENDER_OWNED ? REPLY_MAIL_OK :
	    r == SENDER_NOT_OWNED ? REPLY_SENDER_NOT_OWNED : REPLY_TEMPFAIL);
}

/*
 * The user must own MAIL FROM; <> belongs to nobody and is allowed. An
 * address lookup found owned for this login earlier in the same session
 * (a mail client sends its messages with the same MAIL FROM) is not asked
 * again: one round trip less per message, like the From: check of
 * message.c. The login cannot change within a session (AUTH is once), so
 * the answer can only go stale by an admin change during the session,
 * which the next session sees - as a login itself lasts for the session.
 */
static void
submission_check_mail(struct smtp_session *s)
{
	struct submission_state *st = submission_of(s);

	if (s->tx->null_sender) {
		log_sender(s, "mail", "", "null_sender");
		session_mail_done(s, REPLY_MAIL_OK);
		return;
	}
	if (st->owned_sender[0] != '\0' && strcmp(st->owned_sender, s->tx->from) == 0) {
		log_sender(s, "mail", s->tx->from, "owned");
		session_mail_done(s, REPLY_MAIL_OK);
		return;
	}
	if (links_sender_ask(s, st->auth_user, s->tx->from, on_mail_sender) == 0) {
		log_sender(s, "mail", s->tx->from, "tempfail");
		session_mail_done(s, REPLY_TEMPFAIL);
	}
}

/* Authenticated (or local): a recipient elsewhere is relayed; ours must
 * exist. */
void
submission_check_rcpt(struct smtp_session *s, enum resolve_verdict v,
    enum reply_id r, const char *reason)
{
	if (v == RESOLVE_NOT_LOCAL) {
		session_rcpt_done(s, REPLY_RCPT_OK, "relay");
		return;
	}
	session_rcpt_done(s, r, reason);
}

static void
submission_trace(const struct smtp_session *s, struct received_info *ri)
{
	ri->authenticated = submission_of(s)->auth_user[0] != '\0';
	ri->hide_client = session_cfg()->submission_hide_client_ip;
}

const struct session_policy submission_policy = {
	.name = "submission",
	.source = SOURCE_SUBMISSION,
	.greeting_delay = false,	/* an authenticated client is no spammer to slow down */
	.mail_options = MAIL_OPT_AUTH_PARAM,
	/* An authenticated client that got a recipient nearly always sends
	 * DATA: its spool file is asked for then, and 354 need not wait. */
	.open_early = true,
	.commands = &submission_auth_command,
	.ncommands = 1,
	.on_connect = submission_on_connect,
	.on_close = submission_on_close,
	.ehlo_offer = submission_ehlo_offer,
	.line_max = submission_line_max,
	.input_line = auth_input_line,
	.input_abort = auth_input_abort,
	.mail_refused = submission_mail_refused,
	.check_mail = submission_check_mail,
	.check_rcpt = submission_check_rcpt,
	.data_start = message_data_start,
	.trace = submission_trace,
	.data_sink = message_data_sink,
	.end_of_data = message_end_of_data,
	.on_tx_end = message_tx_end,
};
