/*
 * submission/auth.c - SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) and
 * LOGIN, only under TLS, the password checked by lookup.
 *
 * Owns: the AUTH command of the submission policy and the exchange in
 * progress (struct auth_exchange), from the AUTH line through the 334
 * challenges to lookup's answer. The password lives only in that exchange
 * and in the request to lookup, and is wiped with sodium_memzero as soon
 * as it has been sent or refused; the session only learns yes or no.
 * lookup rate-limits failures per IP and per account (454); here a session
 * gets AUTH_FAILURES_MAX tries and then 421. Log lines suit the fail2ban
 * filter in conf/fail2ban/homemx.conf.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../smtpd/links.h"
#include "log.h"
#include "submission.h"
#include "util.h"

#define AUTH_FAILURES_MAX	3	/* per session, then 421 4.7.0 and close */
#define LOG_USER_MAX		200	/* the escaped user name in one log field */

/*
 * The fail2ban line: user= is quoted and escaped client text, so nothing
 * it contains can look like the ip= that comes before it or the result=
 * that ends the line.
 */
static void
log_auth(struct smtp_session *s, const char *user, enum sasl_mech mech,
    const char *result, const char *reason)
{
	char esc[LOG_USER_MAX];

	log_event("auth", "sess=%s ip=%s user=\"%s\" mech=%s reason=%s result=%s",
	    s->id, s->ip, log_escape(esc, sizeof(esc), user, strlen(user)),
	    sasl_mech_name(mech), reason, result);
}

void
auth_wipe(struct submission_state *st)
{
	if (st->auth != NULL) {
		sodium_memzero(st->auth, sizeof(*st->auth));
		free(st->auth);
		st->auth = NULL;
	}
}

/* Ends the exchange; the password never outlives it. */
static void
auth_end(struct smtp_session *s)
{
	auth_wipe(submission_of(s));
	if (s->state == SESSION_POLICY_INPUT || s->state == SESSION_POLICY_WAIT)
		session_set_state(s, SESSION_READY);
}

/* A login that failed: 535, or 421 and close once a session had enough. */
static void
auth_failed(struct smtp_session *s, enum reply_id r)
{
	auth_end(s);
	if (++submission_of(s)->auth_failures >= AUTH_FAILURES_MAX) {
		session_close(s, REPLY_AUTH_TOO_MANY, "auth_failures");
		return;
	}
	session_reply_error(s, r);
}

/* Refused before lookup is asked (over-long field, authzid, bad name). */
static void
auth_refuse_locally(struct smtp_session *s, const char *reason)
{
	struct auth_exchange *a = submission_of(s)->auth;

	log_auth(s, a->cred.user, a->mech, "bad", reason);
	auth_failed(s, REPLY_AUTH_BAD);
}

static void
on_auth_answer(void *owner, enum auth_result r)
{
	struct smtp_session *s = owner;
	struct submission_state *st = submission_of(s);
	struct auth_exchange *a = st->auth;

	if (s->state != SESSION_POLICY_WAIT || a == NULL)
		return;
	switch (r) {
	case AUTH_OK:
		log_auth(s, a->user, a->mech, "ok", "-");
		memcpy(st->auth_user, a->user, sizeof(st->auth_user));
		auth_end(s);
		session_reply(s, REPLY_AUTH_OK);
		break;
	case AUTH_BAD:
		log_auth(s, a->user, a->mech, "bad", "credentials");
		auth_failed(s, REPLY_AUTH_BAD);
		break;
	case AUTH_RATELIMITED:
		log_auth(s, a->user, a->mech, "ratelimited", "lookup");
		auth_failed(s, REPLY_AUTH_RATELIMITED);
		break;
	case AUTH_TEMPFAIL:
	default:
		log_auth(s, a->user, a->mech, "tempfail", "lookup");
		auth_end(s);
		session_reply(s, REPLY_AUTH_TEMPFAIL);
		break;
	}
	session_process(s);
}

/* Sends the credentials to lookup. */
static void
auth_ask_lookup(struct smtp_session *s)
{
	struct auth_exchange *a = submission_of(s)->auth;
	struct msg_auth_ask m;
	const char *why;

	if (addr_normalize_input(a->cred.user, a->user, sizeof(a->user), &why) != ADDR_OK) {
		auth_refuse_locally(s, "bad_user");
		return;
	}
	memset(&m, 0, sizeof(m));
	memcpy(m.user, a->user, sizeof(m.user));
	memcpy(m.password, a->cred.password, a->cred.password_len + 1);
	snprintf(m.client_ip, sizeof(m.client_ip), "%s", s->ip);
	uint64_t id = links_auth_ask(s, &m, on_auth_answer);
	sodium_memzero(&m, sizeof(m));
	sodium_memzero(&a->cred.password, sizeof(a->cred.password));
	if (id == 0) {
		log_auth(s, a->user, a->mech, "tempfail", "lookup_unavailable");
		auth_end(s);
		session_reply(s, REPLY_AUTH_TEMPFAIL);
		return;
	}
	session_set_state(s, SESSION_POLICY_WAIT);
}

/* One client response: the initial one or a line after a 334. */
static void
auth_take_response(struct smtp_session *s, const char *text, size_t len,
    bool is_initial)
{
	struct auth_exchange *a = submission_of(s)->auth;
	uint8_t buf[SASL_DECODED_MAX];
	size_t n;
	enum sasl_status st;

	st = sasl_decode_response(text, len, is_initial, buf, sizeof(buf), &n);
	if (st == SASL_OK && a->mech == SASL_MECH_PLAIN)
		st = sasl_parse_plain(buf, n, &a->cred);
	else if (st == SASL_OK && !a->want_password)
		st = sasl_login_user(buf, n, &a->cred);
	else if (st == SASL_OK)
		st = sasl_login_password(buf, n, &a->cred);
	sodium_memzero(buf, sizeof(buf));
	switch (st) {
	case SASL_OK:
		if (a->mech == SASL_MECH_LOGIN && !a->want_password) {
			a->want_password = true;
			session_set_state(s, SESSION_POLICY_INPUT);
			session_reply_arg(s, REPLY_AUTH_CHALLENGE, SASL_LOGIN_PASS_PROMPT);
			return;
		}
		auth_ask_lookup(s);
		return;
	case SASL_TOO_LONG:
		auth_refuse_locally(s, "too_long");
		return;
	case SASL_AUTHZID:
		auth_refuse_locally(s, "authzid");
		return;
	case SASL_CANCELLED:
		auth_end(s);
		session_reply_error(s, REPLY_AUTH_CANCELLED);
		return;
	case SASL_BAD_BASE64:
	case SASL_MALFORMED:
		break;
	}
	auth_end(s);
	session_reply_error(s, REPLY_AUTH_BAD_BASE64);
}

void
auth_input_line(struct smtp_session *s, const char *line, size_t len)
{
	if (submission_of(s)->auth == NULL) {
		session_set_state(s, SESSION_READY);	/* cannot happen */
		return;
	}
	auth_take_response(s, line, len, false);
}

/* The engine refused the response line (too long): the 500 ended it. */
void
auth_input_abort(struct smtp_session *s)
{
	auth_end(s);
}

static bool
check_auth(struct smtp_session *s, struct command_ctx *c)
{
	const char *mech, *ir;
	size_t mechlen, irlen;

	if (c->status == CMD_SYNTAX)
		return session_refuse(s, c, REPLY_SYNTAX);
	if (s->state == SESSION_INIT)
		return session_refuse(s, c, REPLY_NEED_HELO);
	if (!s->tls_active)
		return session_refuse(s, c, REPLY_AUTH_NEED_TLS);
	if (submission_of(s)->auth_user[0] != '\0')
		return session_refuse(s, c, REPLY_AUTH_ALREADY);
	if (s->state != SESSION_READY)
		return session_refuse(s, c, REPLY_BAD_SEQUENCE);
	if (!sasl_split_auth_arg(c->cmd->arg, c->cmd->arglen, &mech, &mechlen, &ir, &irlen))
		return session_refuse(s, c, REPLY_SYNTAX);
	if (sasl_mech_parse(mech, mechlen) == SASL_MECH_UNKNOWN)
		return session_refuse(s, c, REPLY_AUTH_MECH);
	return true;
}

static void
act_auth(struct smtp_session *s, struct command_ctx *c)
{
	struct submission_state *st = submission_of(s);
	const char *mech, *ir;
	size_t mechlen, irlen;

	(void)sasl_split_auth_arg(c->cmd->arg, c->cmd->arglen, &mech, &mechlen, &ir, &irlen);
	st->auth = xcalloc(1, sizeof(*st->auth));
	st->auth->mech = sasl_mech_parse(mech, mechlen);
	if (ir != NULL) {
		auth_take_response(s, ir, irlen, true);
		return;
	}
	session_set_state(s, SESSION_POLICY_INPUT);
	session_reply_arg(s, REPLY_AUTH_CHALLENGE,
	    st->auth->mech == SASL_MECH_PLAIN ? "" : SASL_LOGIN_USER_PROMPT);
}

const struct policy_command submission_auth_command = {
	VERB_AUTH, check_auth, act_auth
};
