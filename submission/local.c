/*
 * submission/local.c - local mail: the UNIX socket sendmail(8) hands
 * messages to ("listen local PATH"), as a third policy of the session
 * engine next to 587/465.
 *
 * Owns: who a local client is, and what it may send as. The kernel says
 * who connected (SO_PEERCRED at accept); nothing the program claims is
 * believed. lookup turns the uid into a login (this role is chrooted and
 * cannot read passwd), and the client's sender address D is the
 * local_sender of that login in homemx.conf, else LOGIN@hostname. Then
 * the dialog is SMTP (RFC 5321) run by the engine unchanged - its size
 * limit, line limits, smuggling defences and deadlines hold here too -
 * with these rules:
 *	VRFY (any argument)	250 2.1.5 <D>: how sendmail(8) learns D
 *	MAIL FROM		D, <>, or an address lookup says D owns
 *				(D's own, aliases, subaddresses); anything
 *				else: 553 5.7.1, never rewritten
 *	RCPT TO			anywhere, like an authenticated user
 *	the message		submission/message.c as on 587: Message-ID:
 *				and Date: added, every From: owned, DKIM-signed,
 *				committed, and only then 250
 * Why refuse rather than rewrite a sender: a program told "553" learns
 * its -f is wrong; one whose sender is rewritten silently sends mail its
 * author did not mean, with a From: that may still name someone else.
 * Signing: the domain of the first From: signs; when it has no key (the
 * default D is LOGIN@hostname, and mx.example.org seldom has keys of its
 * own), the nearest domain above it with a key signs instead, which
 * DMARC's relaxed alignment accepts (RFC 7489 3.1.1: same organizational
 * domain).
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../smtpd/links.h"
#include "../smtpd/server.h"
#include "../smtpd/session.h"
#include "log.h"
#include "role.h"
#include "submission.h"
#include "util.h"

/* Connections accepted and waiting for lookup's answer about their uid:
 * bounded, so that a local flood costs us no more than this. */
#define LOCAL_PENDING_MAX	64

struct local_pending {
	int		fd;
	uint32_t	uid;
	pid_t		pid;
	bool		in_use;
};

static struct local_pending	pending[LOCAL_PENDING_MAX];
/* The identity of the session being created: session_new() calls
 * on_connect synchronously, which takes it from here. */
static const struct local_client *connecting;

static void
local_refuse(int fd, enum reply_id r, const char *reason, uint32_t uid)
{
	char buf[REPLY_MAX];
	size_t n = reply_render(r, NULL, buf, sizeof(buf));

	log_event("connect_refused", "kind=local uid=%u reason=%s", uid, reason);
	/* Best effort: a fresh socket's send buffer always has room. */
	(void)send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

/* The sender address of a login: its local_sender, else LOGIN@hostname. */
static int
local_sender_of(const char *login, char *out, size_t size)
{
	const struct config *c = session_cfg();
	const char *mapped = config_local_sender(c, login);
	int n;

	if (mapped != NULL)
		n = snprintf(out, size, "%s", mapped);
	else
		n = snprintf(out, size, "%s@%s", login, c->hostname);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static void
local_start_session(struct local_pending *p, const char *login)
{
	struct local_client lc;
	struct sockaddr_in loopback = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	memset(&lc, 0, sizeof(lc));
	lc.uid = p->uid;
	snprintf(lc.login, sizeof(lc.login), "%s", login);
	if (local_sender_of(login, lc.sender, sizeof(lc.sender)) == -1) {
		local_refuse(p->fd, REPLY_LOCAL_USER_UNKNOWN, "sender_too_long", p->uid);
		return;
	}
	log_event("local_client", "uid=%u pid=%ld login=%s sender=<%s>", p->uid,
	    (long)p->pid, lc.login, lc.sender);
	/* The session's address is loopback: the queue's envelope and the
	 * engine's counters take IP addresses; the kind says "local". */
	connecting = &lc;
	session_new(p->fd, (const struct sockaddr *)&loopback, sizeof(loopback),
	    LISTEN_LOCAL, &local_policy);
	connecting = NULL;
}

static void
on_local_user(void *owner, const struct msg_local_user_answer *a)
{
	struct local_pending *p = owner;

	if (!p->in_use)
		return;
	p->in_use = false;
	if (a->result == LOCAL_USER_FOUND)
		local_start_session(p, a->login);
	else if (a->result == LOCAL_USER_UNKNOWN)
		local_refuse(p->fd, REPLY_LOCAL_USER_UNKNOWN, "unknown_uid", p->uid);
	else
		local_refuse(p->fd, REPLY_LOCAL_USER_TEMPFAIL, "lookup_tempfail", p->uid);
}

/* server.c hands us each connection of the local listener. */
static void
local_accept(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct local_pending *p = NULL;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    len != sizeof(cred)) {
		log_warn("local: SO_PEERCRED");
		close(fd);
		return;
	}
	for (size_t i = 0; i < LOCAL_PENDING_MAX && p == NULL; i++)
		if (!pending[i].in_use)
			p = &pending[i];
	if (p == NULL) {
		local_refuse(fd, REPLY_TOO_MANY_CONNECTIONS, "pending_full", cred.uid);
		return;
	}
	*p = (struct local_pending){ .fd = fd, .uid = cred.uid, .pid = cred.pid,
	    .in_use = true };
	if (links_local_user_ask(p, cred.uid, on_local_user) == 0) {
		p->in_use = false;
		local_refuse(fd, REPLY_LOCAL_USER_TEMPFAIL, "lookup_unavailable", cred.uid);
	}
}

void
local_init(void)
{
	server_set_local_accept(local_accept);
}

/* ---- the policy ------------------------------------------------------------ */

static void
local_on_connect(struct smtp_session *s)
{
	struct submission_state *st = xcalloc(1, sizeof(*st));

	st->body_fd = -1;
	st->local = xmalloc(sizeof(*st->local));
	*st->local = *connecting;
	/* D is who this client is: message.c and the ownership questions
	 * to lookup use it where 587 uses the login */
	snprintf(st->auth_user, sizeof(st->auth_user), "%s", connecting->sender);
	s->policy_state = st;
}

static void
local_on_close(struct smtp_session *s)
{
	struct submission_state *st = submission_of(s);

	if (st == NULL)
		return;
	free(st->local);
	free(st);
	s->policy_state = NULL;
}

/* Nothing to offer: no AUTH (the kernel said who it is), no STARTTLS
 * (the bytes never leave the host). */
static void
local_ehlo_offer(const struct smtp_session *s, struct ehlo_offer *offer)
{
	(void)s;
	offer->starttls = false;
	offer->auth = false;
}

static bool
local_vrfy_check(struct smtp_session *s, struct command_ctx *c)
{
	if (c->status == CMD_SYNTAX)
		return session_refuse(s, c, REPLY_SYNTAX);
	return true;
}

static void
local_vrfy_act(struct smtp_session *s, struct command_ctx *c)
{
	(void)c;
	session_reply_arg(s, REPLY_LOCAL_SENDER, submission_of(s)->local->sender);
}

static const struct policy_command local_commands[] = {
	{ VERB_VRFY, local_vrfy_check, local_vrfy_act },
};

static void
on_local_mail_sender(void *owner, enum sender_result r)
{
	struct smtp_session *s = owner;

	if (s->state != SESSION_MAIL_WAIT || s->tx == NULL)
		return;
	log_sender(s, "mail", s->tx->from, r == SENDER_OWNED ? "owned" :
	    r == SENDER_NOT_OWNED ? "not_owned" : "tempfail");
	session_mail_done(s, r == SENDER_OWNED ? REPLY_MAIL_OK :
	    r == SENDER_NOT_OWNED ? REPLY_SENDER_NOT_OWNED : REPLY_TEMPFAIL);
}

/* D itself and <> at once; anything else is asked of lookup. */
static void
local_check_mail(struct smtp_session *s)
{
	struct submission_state *st = submission_of(s);

	if (s->tx->null_sender) {
		log_sender(s, "mail", "", "null_sender");
		session_mail_done(s, REPLY_MAIL_OK);
		return;
	}
	if (strcmp(s->tx->from, st->local->sender) == 0) {
		log_sender(s, "mail", s->tx->from, "owned");
		session_mail_done(s, REPLY_MAIL_OK);
		return;
	}
	if (links_sender_ask(s, st->auth_user, s->tx->from, on_local_mail_sender) == 0) {
		log_sender(s, "mail", s->tx->from, "tempfail");
		session_mail_done(s, REPLY_TEMPFAIL);
	}
}

/* "Received: from local (uid 1000 kim) by HOST with ESMTPA id ...": who
 * handed the message over, as the kernel said; no address, no HELO. */
static void
local_trace(const struct smtp_session *s, struct received_info *ri)
{
	struct local_client *lc = submission_of(s)->local;

	snprintf(lc->trace, sizeof(lc->trace), "local (uid %u %s)", lc->uid, lc->login);
	ri->helo = lc->trace;
	ri->authenticated = true;
	ri->hide_client = true;
}

bool
local_from_is_own(const struct submission_state *st, const char *addr)
{
	return st->local != NULL && strcmp(addr, st->local->sender) == 0;
}

/*
 * dkimsign had no key for tried: its parent into next (never a top-level
 * domain), so that the nearest domain above with a key signs. Only for
 * local mail, whose default sender is under the host name rather than a
 * mail domain. Keys exist only for domains the admin made them for
 * (mxctl dkim keygen), so a parent that signs is one of ours.
 */
bool
local_sign_fallback(const struct submission_state *st, const char *tried,
    char *next, size_t size)
{
	const char *dot = strchr(tried, '.');

	if (st->local == NULL || dot == NULL || strchr(dot + 1, '.') == NULL)
		return false;
	snprintf(next, size, "%s", dot + 1);
	return true;
}

const struct session_policy local_policy = {
	.name = "local",
	.source = SOURCE_SUBMISSION,	/* bounced to its sender like 587's */
	.greeting_delay = false,
	.mail_options = 0,
	.commands = local_commands,
	.ncommands = sizeof(local_commands) / sizeof(local_commands[0]),
	.on_connect = local_on_connect,
	.on_close = local_on_close,
	.ehlo_offer = local_ehlo_offer,
	.check_mail = local_check_mail,
	.check_rcpt = submission_check_rcpt,	/* as for a logged-in user */
	.data_start = message_data_start,
	.trace = local_trace,
	.data_sink = message_data_sink,
	.end_of_data = message_end_of_data,
	.on_tx_end = message_tx_end,
};
