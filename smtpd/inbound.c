/*
 * smtpd/inbound.c - port 25's session policy: mail from anyone, for our
 * domains only.
 *
 * Owns: what port 25 decides at each hook of smtpd/policy.h. Today that is
 * little: no AUTH, relaying denied (lookup's verdict stands), the greeting
 * delay applies, and the queue is told SOURCE_SMTP (never bounced). Why
 * every hook is spelled out anyway: the inbound screen is asked at exactly
 * these points - a hint at connect, HELO, MAIL and DATA, a question at
 * each RCPT that lookup found local and at the end of DATA - and it turns
 * its verdict into 250, 451 or 550 through the same completion calls.
 */
#include "inbound.h"
#include "policy.h"

/* The screen hears of the client here (connect, HELO): hints only. */
static void
inbound_on_connect(struct smtp_session *s)
{
	(void)s;
}

static void
inbound_on_helo(struct smtp_session *s)
{
	(void)s;
}

static void
inbound_check_mail(struct smtp_session *s)
{
	session_mail_done(s, REPLY_MAIL_OK);
}

/* lookup's verdict stands; a local recipient is where the screen is asked. */
static void
inbound_check_rcpt(struct smtp_session *s, enum resolve_verdict v,
    enum reply_id r, const char *reason)
{
	(void)v;
	session_rcpt_done(s, r, reason);
}

/* The body goes straight into the spool file. */
static int
inbound_data_start(struct smtp_session *s, const char **why)
{
	(void)why;
	return s->tx->fd;
}

static void
inbound_end_of_data(struct smtp_session *s)
{
	session_message_accept(s);
}

const struct session_policy inbound_policy = {
	.name = "smtp",
	.source = SOURCE_SMTP,
	.greeting_delay = true,
	.mail_options = 0,
	.on_connect = inbound_on_connect,
	.on_helo = inbound_on_helo,
	.check_mail = inbound_check_mail,
	.check_rcpt = inbound_check_rcpt,
	.data_start = inbound_data_start,
	.end_of_data = inbound_end_of_data,
};
