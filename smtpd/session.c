/*
 * smtpd/session.c - THE SMTP state machine (RFC 5321, RFC 2920
 * pipelining, RFC 3207 STARTTLS), for port 25 and for submission (RFC
 * 6409: 587 with STARTTLS, 465 with TLS from the first byte, RFC 8314).
 *
 * Owns: every smtp_session, its explicit enum session_state (changed only
 * through session_set_state(), which traces the transition and arms the
 * timer that belongs to the new state), the command table verb -> (check,
 * act), and the transaction (envelope, spool fd, DATA scanner), which is
 * freed on RSET, at the end of DATA and on close.
 * Why this way: *check* validates syntax and state and sends the refusal;
 * *act* runs only after check passed, so no refusal path can half-change
 * state. Input is read in order from the bufferevent; while an answer from
 * lookup or queue is outstanding, parsing stops and later pipelined lines
 * stay buffered (bounded by a read watermark), so one transaction written
 * in a single write() works and a slow client never blocks another. The
 * client's own timeouts never run while *we* are the ones being waited on.
 *
 * Submission is the same engine with a few clearly named differences, all
 * behind s->submission (see "submission" below): AUTH PLAIN/LOGIN (RFC
 * 4954) only under TLS and checked by lookup; MAIL only after AUTH and only
 * from an address the user owns (lookup again), never <>; recipients need
 * not be local; the message goes to a memfd instead of the spool, gets a
 * Message-ID:/Date: if missing, its From: addresses must be owned too, and
 * only a message dkimsign signed is copied into the spool and committed.
 * Why one engine: limits, smuggling defences, pipelining and timeouts must
 * be exactly those of port 25, and one copy cannot drift.
 */
#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sodium.h>

#include "bodywriter.h"
#include "command.h"
#include "data.h"
#include "headers.h"
#include "links.h"
#include "log.h"
#include "received.h"
#include "reply.h"
#include "role.h"
#include "sasl.h"
#include "server.h"
#include "session.h"
#include "tls.h"
#include "util.h"

#define SESSION_ID_LEN		8	/* hex digits of sess= */
#define INPUT_HIGH_WATER	(64 * 1024)	/* stop reading while this much waits */
#define OUTPUT_PAUSE		(64 * 1024)	/* stop answering a client that does not read */
#define ANSWER_TIMEOUT		120	/* seconds we wait for lookup or queue */
#define CLOSE_LINGER		5	/* seconds to flush the last reply */
#define LOG_ARG_MAX		200	/* client text quoted in one log field */
#define AUTH_FAILURES_MAX	3	/* per session, then 421 4.7.0 and close */

enum session_state {
	SESSION_GREETING = 0,	/* greeting_delay runs; the client must stay silent */
	SESSION_INIT,		/* banner sent, no HELO/EHLO yet */
	SESSION_READY,		/* greeted, no transaction */
	SESSION_MAIL,		/* MAIL accepted, no recipient yet */
	SESSION_RCPT,		/* at least one recipient accepted */
	SESSION_RCPT_WAIT,	/* lookup is resolving a recipient */
	SESSION_DATA_WAIT,	/* queue is opening a spool file */
	SESSION_DATA,		/* reading the message */
	SESSION_COMMIT_WAIT,	/* queue is making the message durable */
	SESSION_TLS_WAIT,	/* "220 Ready to start TLS" is draining */
	SESSION_TLS_HANDSHAKE,
	SESSION_CLOSING,	/* last reply queued; freed once flushed */
	/* submission only */
	SESSION_AUTH_INPUT,	/* 334 sent: the next line is a SASL response */
	SESSION_AUTH_WAIT,	/* lookup is checking the password */
	SESSION_MAIL_WAIT,	/* lookup: does the user own MAIL FROM? */
	SESSION_FROM_WAIT,	/* lookup: does the user own a From: address? */
	SESSION_SIGN_WAIT,	/* dkimsign is signing the message */
	SESSION_STATE_COUNT
};

enum timer_kind { TIMER_NONE, TIMER_GREETING, TIMER_COMMAND, TIMER_DATA,
	TIMER_ANSWER, TIMER_LINGER };

static const struct {
	const char	*name;
	enum timer_kind	 timer;
	bool		 reads_commands;
} state_table[SESSION_STATE_COUNT] = {
	[SESSION_GREETING] =		{ "greeting",		TIMER_GREETING,	false },
	[SESSION_INIT] =		{ "init",		TIMER_COMMAND,	true },
	[SESSION_READY] =		{ "ready",		TIMER_COMMAND,	true },
	[SESSION_MAIL] =		{ "mail",		TIMER_COMMAND,	true },
	[SESSION_RCPT] =		{ "rcpt",		TIMER_COMMAND,	true },
	[SESSION_RCPT_WAIT] =		{ "rcpt_wait",		TIMER_ANSWER,	false },
	[SESSION_DATA_WAIT] =		{ "data_wait",		TIMER_ANSWER,	false },
	[SESSION_DATA] =		{ "data",		TIMER_DATA,	false },
	[SESSION_COMMIT_WAIT] =		{ "commit_wait",	TIMER_ANSWER,	false },
	[SESSION_TLS_WAIT] =		{ "tls_wait",		TIMER_COMMAND,	false },
	[SESSION_TLS_HANDSHAKE] =	{ "tls_handshake",	TIMER_COMMAND,	false },
	[SESSION_CLOSING] =		{ "closing",		TIMER_LINGER,	false },
	[SESSION_AUTH_INPUT] =		{ "auth_input",		TIMER_COMMAND,	false },
	[SESSION_AUTH_WAIT] =		{ "auth_wait",		TIMER_ANSWER,	false },
	[SESSION_MAIL_WAIT] =		{ "mail_wait",		TIMER_ANSWER,	false },
	[SESSION_FROM_WAIT] =		{ "from_wait",		TIMER_ANSWER,	false },
	[SESSION_SIGN_WAIT] =		{ "sign_wait",		TIMER_ANSWER,	false },
};

struct transaction {
	char			 from[ADDR_MAX + 1];	/* canonical; "" for <> */
	char			(*rcpt)[ADDR_MAX + 1];
	unsigned		 nrcpt;
	unsigned		 rcpt_cap;
	char			 asking[ADDR_MAX + 1];	/* RCPT being resolved */
	char			 qid[QUEUE_ID_SIZE];
	bool			 spool_open;	/* the queue holds an uncommitted file */
	int			 fd;
	struct body_writer	*writer;
	struct data_scanner	 scan;
	/* submission: the message waits in a memfd until it is signed */
	int			 body_fd;
	struct header_scan	*headers;
	char			(*from_addrs)[ADDR_MAX + 1];	/* From: addresses */
	size_t			 nfrom_addrs;
	size_t			 from_checked;	/* owned so far */
};

/* An AUTH exchange in progress (submission); wiped and freed at its end. */
struct auth_exchange {
	enum sasl_mech		 mech;
	bool			 want_password;	/* LOGIN: the user name came */
	struct sasl_credentials	 cred;
	char			 user[AUTH_USER_MAX + 1];	/* normalized, for the answer */
};

struct smtp_session {
	TAILQ_ENTRY(smtp_session) entry;
	char			 id[SESSION_ID_LEN + 1];
	enum session_state	 state;
	int			 fd;
	bool			 bev_owns_fd;	/* after STARTTLS */
	struct bufferevent	*bev;
	struct event		*timer;
	char			 ip[IP_TEXT_MAX];
	unsigned		 port;
	char			 helo[SMTP_HELO_MAX + 1];	/* "" until HELO/EHLO */
	bool			 tls_active;
	char			 tls_version[TLS_VERSION_MAX];
	char			 tls_cipher[TLS_CIPHER_MAX];
	unsigned		 errors;
	unsigned		 messages;
	bool			 discard_line;	/* inside an over-long command line */
	bool			 client_eof;	/* the client closed its sending side */
	bool			 processing;	/* session_process() is on the stack */
	bool			 drain_after_answer;	/* shutdown: 421 after the commit answer */
	struct transaction	*tx;
	/* submission */
	enum listen_kind	 kind;
	bool			 submission;	/* 587 or 465: the differences below */
	char			 auth_user[AUTH_USER_MAX + 1];	/* "" until AUTH succeeded */
	unsigned		 auth_failures;
	struct auth_exchange	*auth;
};

static TAILQ_HEAD(, smtp_session) sessions = TAILQ_HEAD_INITIALIZER(sessions);
static size_t nsessions;

static void	session_process(struct smtp_session *);
static void	session_close(struct smtp_session *, int reply, const char *reason);
static bool	submission_needs_auth(const struct smtp_session *);
static void	submission_ask_mail_sender(struct smtp_session *);

#define NO_REPLY	(-1)

/* ---- small helpers ------------------------------------------------------ */

static const struct config *
cfg(void)
{
	return role_config();
}

void
sockaddr_to_text(const struct sockaddr *sa, char *ip, size_t size, unsigned *port)
{
	*port = 0;
	snprintf(ip, size, "0.0.0.0");	/* never happens with IP listeners */
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)size);
		*port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip, (socklen_t)size);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)size);
		*port = ntohs(s6->sin6_port);
	}
}

size_t
session_count(void)
{
	return nsessions;
}

size_t
session_count_ip(const char *ip)
{
	struct smtp_session *s;
	size_t n = 0;

	TAILQ_FOREACH(s, &sessions, entry)
		if (strcmp(s->ip, ip) == 0)
			n++;
	return n;
}

/* ---- logging: one helper per event, so the format cannot drift ----------- */

static void
log_session_rcpt(struct smtp_session *s, const char *to, size_t tolen,
    enum reply_id r, const char *reason)
{
	char esc_from[LOG_ESCAPE_MAX], esc_to[LOG_ESCAPE_MAX], st[16];

	/* ip= last: fail2ban anchors on it at the end of the line, where no
	 * client text can come after it. */
	log_event("rcpt", "sess=%s from=<%s> to=<%s> verdict=%s reply=\"%s\" reason=%s ip=%s",
	    s->id, log_escape(esc_from, sizeof(esc_from), s->tx ? s->tx->from : "",
	    s->tx ? strlen(s->tx->from) : 0),
	    log_escape(esc_to, sizeof(esc_to), to, tolen),
	    reply_is_error(r) ? "reject" : "accept",
	    reply_status(r, st, sizeof(st)), reason, s->ip);
}

static void
log_command_reject(struct smtp_session *s, enum smtp_verb verb, enum reply_id r,
    const char *arg, size_t arglen)
{
	char esc[LOG_ARG_MAX], st[16];
	const char *sp;

	/* An AUTH line carries credentials: log the mechanism only. */
	if (verb == VERB_AUTH && (sp = memchr(arg, ' ', arglen)) != NULL)
		arglen = (size_t)(sp - arg);

	log_event("command_reject", "sess=%s ip=%s verb=%s reply=\"%s\" arg=\"%s\"",
	    s->id, s->ip, command_verb_name(verb), reply_status(r, st, sizeof(st)),
	    log_escape(esc, sizeof(esc), arg, arglen));
}

static void
log_message_reject(struct smtp_session *s, enum reply_id r, const char *reason)
{
	char st[16];

	log_event("reject", "sess=%s ip=%s qid=%s reply=\"%s\" reason=%s size=%llu",
	    s->id, s->ip, s->tx != NULL && s->tx->qid[0] ? s->tx->qid : "-",
	    reply_status(r, st, sizeof(st)), reason,
	    s->tx != NULL ? (unsigned long long)s->tx->scan.size : 0ULL);
}

/*
 * The fail2ban line (conf/fail2ban/homemx.conf): user= is quoted and
 * escaped client text, so nothing it contains can look like the ip= that
 * comes before it or the result= that ends the line.
 */
static void
log_auth(struct smtp_session *s, const char *user, enum sasl_mech mech,
    const char *result, const char *reason)
{
	char esc[LOG_ARG_MAX];

	log_event("auth", "sess=%s ip=%s user=\"%s\" mech=%s reason=%s result=%s",
	    s->id, s->ip, log_escape(esc, sizeof(esc), user, strlen(user)),
	    sasl_mech_name(mech), reason, result);
}

/* Sender ownership: where is "mail" (MAIL FROM) or "header" (From:). */
static void
log_sender(struct smtp_session *s, const char *where, const char *address,
    const char *verdict)
{
	char esc[LOG_ESCAPE_MAX];

	log_event("sender", "sess=%s user=%s where=%s address=<%s> verdict=%s",
	    s->id, s->auth_user, where,
	    log_escape(esc, sizeof(esc), address, strlen(address)), verdict);
}

/* ---- replies ------------------------------------------------------------- */

static void
session_reply_arg(struct smtp_session *s, enum reply_id id, const char *arg)
{
	char buf[REPLY_MAX];
	size_t n = reply_render(id, arg, buf, sizeof(buf));

	if (s->bev != NULL && bufferevent_write(s->bev, buf, n) == -1)
		log_debug("sess=%s: cannot queue reply", s->id);
}

static void
session_reply(struct smtp_session *s, enum reply_id id)
{
	session_reply_arg(s, id, cfg()->hostname);
}

/* A refusal caused by the client: counted towards max_errors. */
static void
session_reply_error(struct smtp_session *s, enum reply_id id)
{
	session_reply(s, id);
	if (++s->errors >= cfg()->max_errors)
		session_close(s, REPLY_TOO_MANY_ERRORS, "too_many_errors");
}

/* ---- state and timer ----------------------------------------------------- */

static void
session_arm_timer(struct smtp_session *s)
{
	struct timeval tv = { 0, 0 };

	switch (state_table[s->state].timer) {
	case TIMER_NONE:
		event_del(s->timer);
		return;
	case TIMER_GREETING:
		tv.tv_sec = cfg()->greeting_delay;
		break;
	case TIMER_COMMAND:
		tv.tv_sec = cfg()->timeout_command;
		break;
	case TIMER_DATA:
		tv.tv_sec = cfg()->timeout_data;
		break;
	case TIMER_ANSWER:
		tv.tv_sec = ANSWER_TIMEOUT;
		break;
	case TIMER_LINGER:
		tv.tv_sec = CLOSE_LINGER;
		break;
	}
	event_add(s->timer, &tv);
}

static void
session_set_state(struct smtp_session *s, enum session_state next)
{
	log_debug("sess=%s state %s -> %s", s->id, state_table[s->state].name,
	    state_table[next].name);
	s->state = next;
	session_arm_timer(s);
}

/* Back to the command state that matches the transaction. */
static void
session_resume_state(struct smtp_session *s)
{
	if (s->tx != NULL)
		session_set_state(s, s->tx->nrcpt > 0 ? SESSION_RCPT : SESSION_MAIL);
	else
		session_set_state(s, s->helo[0] != '\0' ? SESSION_READY : SESSION_INIT);
}

/* ---- transaction --------------------------------------------------------- */

static struct transaction *
tx_new(void)
{
	struct transaction *tx = xcalloc(1, sizeof(*tx));

	tx->fd = -1;
	tx->body_fd = -1;
	return tx;
}

/* Ends the transaction; an uncommitted spool file goes back to the queue. */
static void
tx_free(struct smtp_session *s)
{
	struct transaction *tx = s->tx;

	if (tx == NULL)
		return;
	if (tx->fd != -1)
		close(tx->fd);
	if (tx->body_fd != -1)
		close(tx->body_fd);
	if (tx->spool_open)
		links_msg_abort(tx->qid);
	free(tx->writer);
	free(tx->rcpt);
	free(tx->headers);
	free(tx->from_addrs);
	free(tx);
	s->tx = NULL;
}

static bool
tx_has_rcpt(const struct transaction *tx, const char *addr)
{
	for (unsigned i = 0; i < tx->nrcpt; i++)
		if (strcmp(tx->rcpt[i], addr) == 0)
			return true;
	return false;
}

static void
tx_add_rcpt(struct transaction *tx, const char *addr)
{
	if (tx_has_rcpt(tx, addr))
		return;		/* RFC 5321 allows duplicates; deliver once */
	if (tx->nrcpt == tx->rcpt_cap) {
		unsigned cap = tx->rcpt_cap == 0 ? 4 : tx->rcpt_cap * 2;
		void *p = reallocarray(tx->rcpt, cap, sizeof(*tx->rcpt));
		if (p == NULL)
			fatal("tx_add_rcpt");
		tx->rcpt = p;
		tx->rcpt_cap = cap;
	}
	snprintf(tx->rcpt[tx->nrcpt++], sizeof(tx->rcpt[0]), "%s", addr);
}

/* ---- command checks and actions ------------------------------------------ */

union command_args {
	char		helo[SMTP_HELO_MAX + 1];
	struct mail_cmd	mail;
	struct rcpt_cmd	rcpt;
};

struct command_ctx {
	const struct smtp_command	*cmd;
	enum cmd_status			 status;	/* of command_parse() */
	union command_args		 args;
};

/* Refuses and logs; returns false so checks can "return refuse(...)". */
static bool
refuse(struct smtp_session *s, struct command_ctx *c, enum reply_id r)
{
	log_command_reject(s, c->cmd->verb, r, c->cmd->arg, c->cmd->arglen);
	session_reply_error(s, r);
	return false;
}

static bool
check_syntax_only(struct smtp_session *s, struct command_ctx *c)
{
	if (c->status == CMD_SYNTAX)
		return refuse(s, c, REPLY_SYNTAX);
	return true;
}

static bool
check_helo(struct smtp_session *s, struct command_ctx *c)
{
	if (c->status == CMD_SYNTAX)
		return refuse(s, c, REPLY_SYNTAX);
	if (command_parse_helo(c->cmd->arg, c->cmd->arglen, c->args.helo,
	    sizeof(c->args.helo)) != CMD_OK)
		return refuse(s, c, REPLY_BAD_HELO);
	return true;
}

static void
act_helo(struct smtp_session *s, struct command_ctx *c)
{
	char buf[REPLY_EHLO_MAX];

	tx_free(s);
	memcpy(s->helo, c->args.helo, sizeof(s->helo));
	log_event("helo", "sess=%s verb=%s helo=%s", s->id,
	    command_verb_name(c->cmd->verb), s->helo);
	session_set_state(s, SESSION_READY);
	if (c->cmd->verb == VERB_HELO) {
		session_reply(s, REPLY_HELO);
		return;
	}
	struct ehlo_offer offer = {
		.starttls = tls_available() && !s->tls_active,
		/* submission: AUTH is not even advertised before TLS */
		.auth = s->submission && s->tls_active,
	};
	size_t n = reply_render_ehlo_offer(cfg()->hostname, cfg()->max_message_size,
	    &offer, buf, sizeof(buf));
	bufferevent_write(s->bev, buf, n);
}

static enum reply_id
mail_addr_reply(enum addr_status st)
{
	return st == ADDR_NON_ASCII ? REPLY_NON_ASCII : REPLY_MAIL_SYNTAX;
}

static bool
check_mail(struct smtp_session *s, struct command_ctx *c)
{
	struct mail_cmd *m = &c->args.mail;

	if (s->state == SESSION_INIT)
		return refuse(s, c, REPLY_NEED_HELO);
	if (submission_needs_auth(s))
		return refuse(s, c, REPLY_AUTH_REQUIRED);
	if (s->state != SESSION_READY)
		return refuse(s, c, REPLY_NESTED_MAIL);
	if (c->status == CMD_SYNTAX)
		return refuse(s, c, REPLY_SYNTAX);
	switch (command_parse_mail_opts(c->cmd->arg, c->cmd->arglen,
	    s->submission ? MAIL_OPT_AUTH_PARAM : 0, m)) {
	case CMD_OK:
		break;
	case CMD_ADDR:
		return refuse(s, c, mail_addr_reply(m->addr));
	case CMD_PARAM_UNKNOWN:
		return refuse(s, c, REPLY_PARAM_UNKNOWN);
	case CMD_PARAM_BAD:
		return refuse(s, c, REPLY_PARAM_BAD);
	default:
		return refuse(s, c, REPLY_SYNTAX);
	}
	if (m->has_size && m->size > cfg()->max_message_size) {
		log_command_reject(s, c->cmd->verb, REPLY_SIZE_EXCEEDED,
		    c->cmd->arg, c->cmd->arglen);
		session_reply(s, REPLY_SIZE_EXCEEDED);
		return false;
	}
	/* RFC 6409 has no use for bounces coming in on submission */
	if (s->submission && m->is_null)
		return refuse(s, c, REPLY_NULL_SENDER);
	return true;
}

static void
act_mail(struct smtp_session *s, struct command_ctx *c)
{
	struct mail_cmd *m = &c->args.mail;
	char esc[LOG_ESCAPE_MAX];

	tx_free(s);
	s->tx = tx_new();
	if (!m->is_null && addr_format(&m->from, s->tx->from, sizeof(s->tx->from)) == -1)
		s->tx->from[0] = '\0';	/* cannot happen: the parser bounds it */
	log_event("mail", "sess=%s from=<%s> size=%llu", s->id,
	    log_escape(esc, sizeof(esc), s->tx->from, strlen(s->tx->from)),
	    m->has_size ? (unsigned long long)m->size : 0ULL);
	if (s->submission) {
		submission_ask_mail_sender(s);
		return;
	}
	session_set_state(s, SESSION_MAIL);
	session_reply(s, REPLY_MAIL_OK);
}

static enum reply_id
rcpt_addr_reply(enum addr_status st)
{
	switch (st) {
	case ADDR_NON_ASCII:	return REPLY_NON_ASCII;
	case ADDR_NO_DOMAIN:	return REPLY_RCPT_NO_DOMAIN;
	case ADDR_TOO_LONG:	return REPLY_PATH_TOO_LONG;
	default:		return REPLY_RCPT_SYNTAX;
	}
}

/* A refused recipient: logged as an rcpt event (fail2ban reads these). */
static bool
refuse_rcpt(struct smtp_session *s, struct command_ctx *c, enum reply_id r,
    const char *reason)
{
	log_session_rcpt(s, c->cmd->arg, c->cmd->arglen, r, reason);
	session_reply_error(s, r);
	return false;
}

static bool
check_rcpt(struct smtp_session *s, struct command_ctx *c)
{
	struct rcpt_cmd *r = &c->args.rcpt;

	if (s->state == SESSION_INIT)
		return refuse(s, c, REPLY_NEED_HELO);
	if (s->state == SESSION_READY)
		return refuse(s, c, REPLY_NEED_MAIL);
	if (c->status == CMD_SYNTAX)
		return refuse(s, c, REPLY_SYNTAX);
	switch (command_parse_rcpt(c->cmd->arg, c->cmd->arglen, r)) {
	case CMD_OK:
		break;
	case CMD_ADDR:
		return refuse_rcpt(s, c, rcpt_addr_reply(r->addr), "syntax");
	case CMD_PARAM_UNKNOWN:
		return refuse_rcpt(s, c, REPLY_PARAM_UNKNOWN, "parameter");
	case CMD_PARAM_BAD:
		return refuse_rcpt(s, c, REPLY_PARAM_BAD, "parameter");
	default:
		return refuse_rcpt(s, c, REPLY_SYNTAX, "syntax");
	}
	if (s->tx->nrcpt >= cfg()->max_recipients) {
		log_session_rcpt(s, c->cmd->arg, c->cmd->arglen,
		    REPLY_TOO_MANY_RCPTS, "too_many_recipients");
		session_reply(s, REPLY_TOO_MANY_RCPTS);
		return false;
	}
	/* An address literal is never one of our domains: no relay via [ip]. */
	if (r->to.is_literal)
		return refuse_rcpt(s, c, REPLY_RELAY_DENIED, "relay_denied");
	return true;
}

/* RFC 5321 4.5.1: bare <postmaster> must work. It means postmaster at our
 * host name if that is a local domain, else at the first local domain. */
static void
postmaster_domain(char *domain, size_t size)
{
	const struct config *c = cfg();
	const char *d = c->hostname;

	if (!config_has_domain(c, c->hostname) && c->ndomains > 0)
		d = c->domains[0];
	snprintf(domain, size, "%s", d);
}

static void
act_rcpt(struct smtp_session *s, struct command_ctx *c)
{
	struct rcpt_cmd *r = &c->args.rcpt;
	struct transaction *tx = s->tx;

	if (r->is_postmaster)
		postmaster_domain(r->to.domain, sizeof(r->to.domain));
	if (addr_format(&r->to, tx->asking, sizeof(tx->asking)) == -1 ||
	    links_resolve_ask(s, tx->asking) == 0) {
		log_session_rcpt(s, tx->asking, strlen(tx->asking), REPLY_TEMPFAIL,
		    "lookup_unavailable");
		session_reply(s, REPLY_TEMPFAIL);
		return;
	}
	session_set_state(s, SESSION_RCPT_WAIT);
}

static bool
check_data(struct smtp_session *s, struct command_ctx *c)
{
	if (s->state == SESSION_INIT)
		return refuse(s, c, REPLY_NEED_HELO);
	if (s->state == SESSION_READY)
		return refuse(s, c, REPLY_NEED_MAIL);
	if (c->status == CMD_SYNTAX)
		return refuse(s, c, REPLY_SYNTAX);
	if (s->state == SESSION_MAIL)
		return refuse(s, c, REPLY_NO_VALID_RCPTS);
	return true;
}

static void
act_data(struct smtp_session *s, struct command_ctx *c)
{
	(void)c;
	if (links_msg_open(s) == 0) {
		log_message_reject(s, REPLY_TEMPFAIL, "queue_unavailable");
		session_reply(s, REPLY_TEMPFAIL);
		return;
	}
	session_set_state(s, SESSION_DATA_WAIT);
}

static void
act_rset(struct smtp_session *s, struct command_ctx *c)
{
	(void)c;
	tx_free(s);
	session_resume_state(s);
	session_reply(s, REPLY_OK);
}

static void
act_noop(struct smtp_session *s, struct command_ctx *c)
{
	(void)c;
	session_reply(s, REPLY_OK);
}

static void
act_quit(struct smtp_session *s, struct command_ctx *c)
{
	(void)c;
	session_close(s, REPLY_BYE, "quit");
}

static void
act_vrfy(struct smtp_session *s, struct command_ctx *c)
{
	(void)c;
	session_reply(s, REPLY_VRFY);
}

static void
act_expn(struct smtp_session *s, struct command_ctx *c)
{
	/* Mailing-list expansion would hand out addresses: never. */
	refuse(s, c, REPLY_NOT_IMPLEMENTED);
}

static void
act_help(struct smtp_session *s, struct command_ctx *c)
{
	(void)c;
	session_reply(s, REPLY_HELP);
}

static bool
check_starttls(struct smtp_session *s, struct command_ctx *c)
{
	if (c->status == CMD_SYNTAX)
		return refuse(s, c, REPLY_SYNTAX);
	if (!tls_available())
		return refuse(s, c, REPLY_TLS_UNAVAILABLE);
	if (s->tls_active)
		return refuse(s, c, REPLY_TLS_ACTIVE);
	if (s->state != SESSION_INIT && s->state != SESSION_READY)
		return refuse(s, c, REPLY_BAD_SEQUENCE);
	return true;
}

/*
 * LIBRARIES.md section 7 / CVE-2011-0411: whatever the client pipelined
 * after STARTTLS is plaintext an attacker may have injected; drop it, stop
 * reading, and let the 220 drain before the handshake starts.
 */
static void
act_starttls(struct smtp_session *s, struct command_ctx *c)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t junk = evbuffer_get_length(in);

	(void)c;
	if (junk > 0) {
		log_event("tls_discard", "sess=%s ip=%s bytes=%zu", s->id, s->ip, junk);
		evbuffer_drain(in, junk);
	}
	bufferevent_disable(s->bev, EV_READ);
	session_reply(s, REPLY_TLS_GO);
	session_set_state(s, SESSION_TLS_WAIT);
}

/* ---- submission: AUTH (RFC 4954, RFC 4616) -------------------------------- */

/* Submission refuses MAIL until the client has authenticated. */
static bool
submission_needs_auth(const struct smtp_session *s)
{
	return s->submission && s->auth_user[0] == '\0';
}

static void
auth_wipe(struct smtp_session *s)
{
	if (s->auth != NULL) {
		sodium_memzero(s->auth, sizeof(*s->auth));
		free(s->auth);
		s->auth = NULL;
	}
}

/* Ends the exchange; the password never outlives it. */
static void
auth_end(struct smtp_session *s)
{
	auth_wipe(s);
	if (s->state == SESSION_AUTH_INPUT || s->state == SESSION_AUTH_WAIT)
		session_set_state(s, SESSION_READY);
}

/* A login that failed: 535, or 421 and close once a session had enough. */
static void
auth_failed(struct smtp_session *s, enum reply_id r)
{
	auth_end(s);
	if (++s->auth_failures >= AUTH_FAILURES_MAX) {
		session_close(s, REPLY_AUTH_TOO_MANY, "auth_failures");
		return;
	}
	session_reply_error(s, r);
}

/* Refused before lookup is asked (over-long field, authzid, bad name). */
static void
auth_refuse_locally(struct smtp_session *s, const char *reason)
{
	log_auth(s, s->auth->cred.user, s->auth->mech, "bad", reason);
	auth_failed(s, REPLY_AUTH_BAD);
}

static bool
check_auth(struct smtp_session *s, struct command_ctx *c)
{
	const char *mech, *ir;
	size_t mechlen, irlen;

	if (!s->submission)
		return refuse(s, c, REPLY_UNKNOWN_COMMAND);	/* port 25: no AUTH */
	if (c->status == CMD_SYNTAX)
		return refuse(s, c, REPLY_SYNTAX);
	if (s->state == SESSION_INIT)
		return refuse(s, c, REPLY_NEED_HELO);
	if (!s->tls_active)
		return refuse(s, c, REPLY_AUTH_NEED_TLS);
	if (s->auth_user[0] != '\0')
		return refuse(s, c, REPLY_AUTH_ALREADY);
	if (s->state != SESSION_READY)
		return refuse(s, c, REPLY_BAD_SEQUENCE);
	if (!sasl_split_auth_arg(c->cmd->arg, c->cmd->arglen, &mech, &mechlen, &ir, &irlen))
		return refuse(s, c, REPLY_SYNTAX);
	if (sasl_mech_parse(mech, mechlen) == SASL_MECH_UNKNOWN)
		return refuse(s, c, REPLY_AUTH_MECH);
	return true;
}

/* Sends the credentials to lookup; the session only learns yes or no. */
static void
auth_ask_lookup(struct smtp_session *s)
{
	struct auth_exchange *a = s->auth;
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
	uint64_t id = links_auth_ask(s, &m);
	sodium_memzero(&m, sizeof(m));
	sodium_memzero(&a->cred.password, sizeof(a->cred.password));
	if (id == 0) {
		log_auth(s, a->user, a->mech, "tempfail", "lookup_unavailable");
		auth_end(s);
		session_reply(s, REPLY_AUTH_TEMPFAIL);
		return;
	}
	session_set_state(s, SESSION_AUTH_WAIT);
}

/* One client response: the initial one or a line after a 334. */
static void
auth_take_response(struct smtp_session *s, const char *text, size_t len,
    bool is_initial)
{
	struct auth_exchange *a = s->auth;
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
			session_set_state(s, SESSION_AUTH_INPUT);
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

static void
act_auth(struct smtp_session *s, struct command_ctx *c)
{
	const char *mech, *ir;
	size_t mechlen, irlen;

	(void)sasl_split_auth_arg(c->cmd->arg, c->cmd->arglen, &mech, &mechlen, &ir, &irlen);
	s->auth = xcalloc(1, sizeof(*s->auth));
	s->auth->mech = sasl_mech_parse(mech, mechlen);
	if (ir != NULL) {
		auth_take_response(s, ir, irlen, true);
		return;
	}
	session_set_state(s, SESSION_AUTH_INPUT);
	session_reply_arg(s, REPLY_AUTH_CHALLENGE,
	    s->auth->mech == SASL_MECH_PLAIN ? "" : SASL_LOGIN_USER_PROMPT);
}

void
session_on_auth(struct smtp_session *s, enum auth_result r)
{
	struct auth_exchange *a = s->auth;

	if (s->state != SESSION_AUTH_WAIT || a == NULL)
		return;
	switch (r) {
	case AUTH_OK:
		log_auth(s, a->user, a->mech, "ok", "-");
		memcpy(s->auth_user, a->user, sizeof(s->auth_user));
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

/* ---- submission: sender ownership ----------------------------------------- */

static void
submission_ask_mail_sender(struct smtp_session *s)
{
	if (links_sender_ask(s, s->auth_user, s->tx->from) == 0) {
		log_sender(s, "mail", s->tx->from, "tempfail");
		tx_free(s);
		session_reply(s, REPLY_TEMPFAIL);
		return;
	}
	session_set_state(s, SESSION_MAIL_WAIT);
}

static void
submission_on_mail_sender(struct smtp_session *s, enum sender_result r)
{
	log_sender(s, "mail", s->tx->from, r == SENDER_OWNED ? "owned" :
	    r == SENDER_NOT_OWNED ? "not_owned" : "tempfail");
	if (r == SENDER_OWNED) {
		session_set_state(s, SESSION_MAIL);
		session_reply(s, REPLY_MAIL_OK);
		return;
	}
	tx_free(s);
	session_resume_state(s);
	if (r == SENDER_NOT_OWNED)
		session_reply_error(s, REPLY_SENDER_NOT_OWNED);
	else
		session_reply(s, REPLY_TEMPFAIL);
}

struct command_row {
	enum smtp_verb	verb;
	bool		(*check)(struct smtp_session *, struct command_ctx *);
	void		(*act)(struct smtp_session *, struct command_ctx *);
};

static const struct command_row command_table[] = {
	{ VERB_HELO,	 check_helo,		act_helo },
	{ VERB_EHLO,	 check_helo,		act_helo },
	{ VERB_MAIL,	 check_mail,		act_mail },
	{ VERB_RCPT,	 check_rcpt,		act_rcpt },
	{ VERB_DATA,	 check_data,		act_data },
	{ VERB_RSET,	 check_syntax_only,	act_rset },
	{ VERB_NOOP,	 check_syntax_only,	act_noop },
	{ VERB_QUIT,	 check_syntax_only,	act_quit },
	{ VERB_VRFY,	 check_syntax_only,	act_vrfy },
	{ VERB_EXPN,	 check_syntax_only,	act_expn },
	{ VERB_HELP,	 check_syntax_only,	act_help },
	{ VERB_STARTTLS, check_starttls,	act_starttls },
	{ VERB_AUTH,	 check_auth,		act_auth },
};

static void
session_dispatch(struct smtp_session *s, const char *line, size_t len)
{
	struct command_ctx c;
	struct smtp_command cmd;

	memset(&c, 0, sizeof(c));
	c.cmd = &cmd;
	c.status = command_parse(line, len, &cmd);
	if (c.status == CMD_NUL || c.status == CMD_UNKNOWN) {
		cmd.arg = line;		/* log what the client sent */
		cmd.arglen = len;
		refuse(s, &c, c.status == CMD_NUL ? REPLY_NUL : REPLY_UNKNOWN_COMMAND);
		return;
	}
	for (size_t i = 0; i < sizeof(command_table) / sizeof(command_table[0]); i++) {
		const struct command_row *row = &command_table[i];
		if (row->verb != cmd.verb)
			continue;
		if (row->check(s, &c))
			row->act(s, &c);
		return;
	}
}

/* ---- reading ------------------------------------------------------------- */

/*
 * Takes one command line from the input. Returns true if input was
 * consumed (a command ran, or an over-long line was answered), false if a
 * complete line has not arrived yet.
 */
/*
 * RFC 4954 section 4: AUTH lines (the command and the responses after a
 * 334) may be up to 12288 octets, since base64 credentials are long. Every
 * other line keeps the RFC 5321 limit, on submission too.
 */
static size_t
session_line_max(const struct smtp_session *s, struct evbuffer *in)
{
	char head[5];

	if (!s->submission)
		return SMTP_LINE_MAX;
	if (s->state == SESSION_AUTH_INPUT)
		return SASL_LINE_MAX;
	if (evbuffer_copyout(in, head, sizeof(head)) == (ev_ssize_t)sizeof(head) &&
	    strncasecmp(head, "AUTH ", sizeof(head)) == 0)
		return SASL_LINE_MAX;
	return SMTP_LINE_MAX;
}

static bool
session_take_command(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	size_t avail = evbuffer_get_length(in), max = session_line_max(s, in);
	char line[SASL_LINE_MAX];

	if (eol.pos == -1) {
		if (s->discard_line || avail >= max) {
			evbuffer_drain(in, avail);
			if (!s->discard_line) {
				s->discard_line = true;
				log_command_reject(s, VERB_NONE, REPLY_LINE_TOO_LONG, "", 0);
				session_reply_error(s, REPLY_LINE_TOO_LONG);
				return true;
			}
		}
		return false;
	}
	size_t linelen = (size_t)eol.pos + 1;	/* incl. LF */
	if (s->discard_line || linelen > max) {
		evbuffer_drain(in, linelen);
		if (!s->discard_line) {
			log_command_reject(s, VERB_NONE, REPLY_LINE_TOO_LONG, "", 0);
			session_reply_error(s, REPLY_LINE_TOO_LONG);
		}
		s->discard_line = false;
		if (s->state == SESSION_AUTH_INPUT)
			auth_end(s);	/* the 500 ended the exchange */
		return true;
	}
	evbuffer_remove(in, line, linelen);
	linelen--;
	if (linelen > 0 && line[linelen - 1] == '\r')
		linelen--;
	if (s->state == SESSION_AUTH_INPUT)
		auth_take_response(s, line, linelen, false);
	else
		session_dispatch(s, line, linelen);
	if (max == SASL_LINE_MAX)
		sodium_memzero(line, linelen);	/* it may have held a password */
	return true;
}

static void
session_data_sink(void *arg, const uint8_t *p, size_t n)
{
	struct transaction *tx = arg;

	/* A message already refused is not worth the disk. */
	if (tx->scan.flags != 0)
		return;
	if (tx->headers != NULL)
		header_scan_feed(tx->headers, p, n);	/* submission */
	else
		body_writer_put(tx->writer, p, n);
}

static void	session_end_data(struct smtp_session *);

/* Feeds buffered input to the DATA scanner. True if the message ended. */
static bool
session_take_data(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer_iovec v[16];

	while (evbuffer_get_length(in) > 0) {
		int n = evbuffer_peek(in, -1, NULL, v, 16);
		size_t used = 0;
		bool done = false;
		for (int i = 0; i < n && i < 16 && !done; i++) {
			used += data_scanner_feed(&s->tx->scan, v[i].iov_base, v[i].iov_len);
			done = data_scanner_done(&s->tx->scan);
		}
		evbuffer_drain(in, used);
		if (done) {
			session_end_data(s);
			return true;
		}
	}
	return false;
}

static bool
session_output_full(struct smtp_session *s)
{
	return evbuffer_get_length(bufferevent_get_output(s->bev)) > OUTPUT_PAUSE;
}

/* The client closed its side: once nothing is left to answer, close too. */
static void
session_check_eof(struct smtp_session *s)
{
	if (!s->client_eof)
		return;
	if (state_table[s->state].reads_commands || s->state == SESSION_DATA ||
	    s->state == SESSION_GREETING || s->state == SESSION_TLS_HANDSHAKE ||
	    s->state == SESSION_AUTH_INPUT)
		session_close(s, NO_REPLY, s->state == SESSION_DATA ? "eof_in_data" : "eof");
}

/* Runs buffered input through the state machine until it must wait. */
static void
session_process(struct smtp_session *s)
{
	bool progressed = true;

	if (s->processing)
		return;
	s->processing = true;
	while (progressed && !session_output_full(s)) {
		if (state_table[s->state].reads_commands ||
		    s->state == SESSION_AUTH_INPUT)
			progressed = session_take_command(s);
		else if (s->state == SESSION_DATA)
			progressed = session_take_data(s);
		else
			progressed = false;
	}
	s->processing = false;
	session_check_eof(s);
}

/* ---- end of DATA and the queue's answers --------------------------------- */

/* The refusal for a message the scanner flagged, most important first. */
static enum reply_id
data_flags_reply(unsigned flags, const char **reason)
{
	static const struct { unsigned flag; enum reply_id reply; const char *reason; } order[] = {
		{ DATA_TOO_BIG,		REPLY_MSG_TOO_BIG,	"too_big" },
		{ DATA_NUL,		REPLY_DATA_NUL,		"nul" },
		{ DATA_BARE_LF,		REPLY_BARE_LF,		"bare_lf" },
		{ DATA_BARE_CR,		REPLY_BARE_CR,		"bare_cr" },
		{ DATA_LINE_TOO_LONG,	REPLY_LINE_LIMIT,	"line_too_long" },
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (flags & order[i].flag) {
			*reason = order[i].reason;
			return order[i].reply;
		}
	*reason = "unknown";
	return REPLY_TEMPFAIL;
}

/* Ends a transaction without queueing it; the session goes on. */
static void
session_refuse_message(struct smtp_session *s, enum reply_id r, const char *reason)
{
	log_message_reject(s, r, reason);
	tx_free(s);	/* closes the fd and sends the ABORT */
	session_set_state(s, SESSION_READY);
	session_reply(s, r);
}

static void
session_commit(struct smtp_session *s)
{
	struct transaction *tx = s->tx;
	struct msg_commit m = { 0 };

	memcpy(m.msgid, tx->qid, sizeof(m.msgid));
	memcpy(m.sender, tx->from, sizeof(m.sender));
	memcpy(m.helo, s->helo, sizeof(m.helo));
	snprintf(m.client_ip, sizeof(m.client_ip), "%s", s->ip);
	m.source = s->submission ? SOURCE_SUBMISSION : SOURCE_SMTP;
	m.nrcpt = tx->nrcpt;
	m.rcpt = tx->rcpt;
	if (links_msg_commit(s, &m) == 0) {
		session_refuse_message(s, REPLY_TEMPFAIL, "queue_unavailable");
		return;
	}
	tx->spool_open = false;	/* the queue decides its fate now */
	session_set_state(s, SESSION_COMMIT_WAIT);
}

/* Flushes and closes the spool file. False (message refused) on error. */
static bool
session_finish_spool(struct smtp_session *s)
{
	struct transaction *tx = s->tx;
	int r = body_writer_flush(tx->writer), err = tx->writer->error;

	if (close(tx->fd) == -1 && r == 0) {
		r = -1;
		err = errno;
	}
	tx->fd = -1;
	if (r == -1) {
		log_warnx("sess=%s qid=%s: spool write failed: %s", s->id, tx->qid,
		    strerror(err));
		session_refuse_message(s, err == ENOSPC || err == EDQUOT ?
		    REPLY_NOSPACE : REPLY_TEMPFAIL, "spool_write");
		return false;
	}
	return true;
}

static void	submission_end_data(struct smtp_session *);

static void
session_end_data(struct smtp_session *s)
{
	struct transaction *tx = s->tx;
	const char *reason;

	if (tx->scan.flags != 0) {
		enum reply_id r = data_flags_reply(tx->scan.flags, &reason);
		session_refuse_message(s, r, reason);
		return;
	}
	if (s->submission) {
		submission_end_data(s);
		return;
	}
	if (session_finish_spool(s))
		session_commit(s);
}

void
session_on_committed(struct smtp_session *s, enum queue_status st)
{
	struct transaction *tx = s->tx;

	if (s->state != SESSION_COMMIT_WAIT || tx == NULL)
		return;
	if (st == QUEUE_OK) {
		log_event("queued", "sess=%s qid=%s size=%llu nrcpt=%u", s->id,
		    tx->qid, (unsigned long long)tx->scan.size, tx->nrcpt);
		s->messages++;
		session_reply_arg(s, REPLY_QUEUED, tx->qid);
		tx_free(s);
		session_set_state(s, SESSION_READY);
	} else
		session_refuse_message(s, st == QUEUE_NOSPACE ? REPLY_NOSPACE :
		    REPLY_TEMPFAIL, "queue_tempfail");
	if (s->drain_after_answer) {
		session_close(s, REPLY_SHUTDOWN, "shutdown");
		return;
	}
	session_process(s);
}

static void	submission_emit(void *, const uint8_t *, size_t);
static void	submission_headers_end(void *, bool);

/*
 * Starts the body file: our Received: line comes first. Port 25 writes
 * straight into the spool file; submission writes into a memfd (sealed at
 * the end, read by dkimsign) and its header scanner sits in between.
 * Returns -1 if the memfd cannot be made.
 */
static int
session_start_body(struct smtp_session *s)
{
	struct transaction *tx = s->tx;
	struct received_info ri = {
		.helo = s->helo, .client_ip = s->ip, .hostname = cfg()->hostname,
		.tls_version = s->tls_active ? s->tls_version : NULL,
		.tls_cipher = s->tls_active ? s->tls_cipher : NULL,
		.queue_id = tx->qid, .rcpt = tx->nrcpt == 1 ? tx->rcpt[0] : NULL,
		.when = time(NULL),
		.authenticated = s->auth_user[0] != '\0',
		.hide_client = s->submission && cfg()->submission_hide_client_ip,
	};
	char hdr[RECEIVED_MAX];
	size_t n = received_render(&ri, hdr, sizeof(hdr));
	int out = tx->fd;

	if (s->submission) {
		tx->body_fd = memfd_create("submission", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (tx->body_fd == -1) {
			log_warn("sess=%s: memfd_create", s->id);
			return -1;
		}
		out = tx->body_fd;
		tx->headers = xmalloc(sizeof(*tx->headers));
		header_scan_init(tx->headers, submission_emit, submission_headers_end, tx);
	}
	tx->writer = xmalloc(sizeof(*tx->writer));
	body_writer_init(tx->writer, out);
	body_writer_put(tx->writer, hdr, n);
	data_scanner_init(&tx->scan, cfg()->max_message_size, session_data_sink, tx);
	return 0;
}

void
session_on_opened(struct smtp_session *s, enum queue_status st,
    const char *msgid, int fd)
{
	struct transaction *tx = s->tx;

	if (s->state != SESSION_DATA_WAIT || tx == NULL) {
		if (fd != -1)
			close(fd);
		if (st == QUEUE_OK)
			links_msg_abort(msgid);	/* nobody will write it */
		return;
	}
	if (st != QUEUE_OK) {
		enum reply_id r = st == QUEUE_NOSPACE ? REPLY_NOSPACE : REPLY_TEMPFAIL;
		log_message_reject(s, r, "queue_open_failed");
		session_resume_state(s);
		session_reply(s, r);
		session_process(s);
		return;
	}
	tx->fd = fd;
	tx->spool_open = true;
	snprintf(tx->qid, sizeof(tx->qid), "%s", msgid);
	if (session_start_body(s) == -1) {
		log_message_reject(s, REPLY_TEMPFAIL, "memfd");
		tx_free(s);	/* closes the spool file and sends the ABORT */
		session_resume_state(s);
		session_reply(s, REPLY_TEMPFAIL);
		session_process(s);
		return;
	}
	log_event("data", "sess=%s qid=%s nrcpt=%u", s->id, tx->qid, tx->nrcpt);
	session_set_state(s, SESSION_DATA);
	session_reply(s, REPLY_DATA_GO);
	session_process(s);
}

/* ---- submission: the message (RFC 6409 completion, From:, DKIM) ----------- */

static void
submission_emit(void *arg, const uint8_t *p, size_t n)
{
	struct transaction *tx = arg;

	body_writer_put(tx->writer, p, n);
}

/* RFC 6409 8.2/8.3: a missing Message-ID:/Date: is added where the header
 * section ends, so that dkimsign signs them too. */
static void
submission_headers_end(void *arg, bool body_without_blank)
{
	struct transaction *tx = arg;
	char fields[ADDED_HEADERS_MAX], id_left[QUEUE_ID_SIZE + 20];
	uint32_t rnd;

	random_bytes(&rnd, sizeof(rnd));
	snprintf(id_left, sizeof(id_left), "%s.%08x", tx->qid, rnd);
	size_t n = header_render_missing(tx->headers, id_left, cfg()->hostname,
	    time(NULL), fields, sizeof(fields));
	body_writer_put(tx->writer, fields, n);
	if (body_without_blank)
		body_writer_put(tx->writer, "\r\n", 2);
}

static void	submission_check_next_from(struct smtp_session *);

/* The whole message is in the memfd: freeze it, then check From:. */
static void
submission_end_data(struct smtp_session *s)
{
	struct transaction *tx = s->tx;
	char reason[32];

	header_scan_finish(tx->headers);
	if (body_writer_flush(tx->writer) == -1 ||
	    fcntl(tx->body_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1) {
		log_warnx("sess=%s qid=%s: memfd write failed: %s", s->id, tx->qid,
		    strerror(tx->writer->error != 0 ? tx->writer->error : errno));
		session_refuse_message(s, REPLY_TEMPFAIL, "memfd_write");
		return;
	}
	tx->from_addrs = xcalloc(FROM_ADDRS_MAX, sizeof(*tx->from_addrs));
	enum from_status fs = header_scan_from(tx->headers, tx->from_addrs,
	    FROM_ADDRS_MAX, &tx->nfrom_addrs);
	if (fs != FROM_OK) {
		snprintf(reason, sizeof(reason), "from_%s", from_status_text(fs));
		session_refuse_message(s, REPLY_FROM_INVALID, reason);
		return;
	}
	tx->from_checked = 0;
	submission_check_next_from(s);
}

/* The domain of the first From: address signs (DMARC aligns on it). */
static void
submission_sign(struct smtp_session *s)
{
	struct transaction *tx = s->tx;
	const char *at = strrchr(tx->from_addrs[0], '@');
	const char *domain = at != NULL ? at + 1 : "";

	if (!domain_is_valid(domain, strlen(domain))) {
		session_refuse_message(s, REPLY_SIGN_TEMPFAIL, "sign_bad_domain");
		return;
	}
	if (links_sign_ask(s, domain, tx->body_fd) == 0) {
		/* never queued unsigned by accident */
		session_refuse_message(s, REPLY_SIGN_TEMPFAIL, "dkimsign_unavailable");
		return;
	}
	session_set_state(s, SESSION_SIGN_WAIT);
}

static void
submission_check_next_from(struct smtp_session *s)
{
	struct transaction *tx = s->tx;

	if (tx->from_checked == tx->nfrom_addrs) {
		submission_sign(s);
		return;
	}
	if (links_sender_ask(s, s->auth_user, tx->from_addrs[tx->from_checked]) == 0) {
		session_refuse_message(s, REPLY_TEMPFAIL, "lookup_unavailable");
		return;
	}
	session_set_state(s, SESSION_FROM_WAIT);
}

static void
submission_on_from_sender(struct smtp_session *s, enum sender_result r)
{
	struct transaction *tx = s->tx;

	log_sender(s, "header", tx->from_addrs[tx->from_checked],
	    r == SENDER_OWNED ? "owned" : r == SENDER_NOT_OWNED ? "not_owned" : "tempfail");
	if (r == SENDER_OWNED) {
		tx->from_checked++;
		submission_check_next_from(s);
	} else if (r == SENDER_NOT_OWNED)
		session_refuse_message(s, REPLY_FROM_NOT_OWNED, "from_not_owned");
	else
		session_refuse_message(s, REPLY_TEMPFAIL, "lookup_tempfail");
}

void
session_on_sender(struct smtp_session *s, enum sender_result r)
{
	if (s->tx == NULL)
		return;
	if (s->state == SESSION_MAIL_WAIT)
		submission_on_mail_sender(s, r);
	else if (s->state == SESSION_FROM_WAIT)
		submission_on_from_sender(s, r);
	else
		return;
	session_process(s);
}

/* Signed: the signature fields, then the sealed memfd, into the spool. */
void
session_on_signed(struct smtp_session *s, const struct msg_sign_answer *a)
{
	struct transaction *tx = s->tx;
	size_t n = strlen(a->headers);

	if (s->state != SESSION_SIGN_WAIT || tx == NULL)
		return;
	if (a->status != SIGN_OK) {
		session_refuse_message(s, REPLY_SIGN_TEMPFAIL,
		    a->status == SIGN_NO_KEY ? "sign_no_key" : "sign_failed");
	} else if (!header_fields_are_valid(a->headers, n)) {
		log_warnx("sess=%s qid=%s: dkimsign returned malformed fields", s->id, tx->qid);
		session_refuse_message(s, REPLY_SIGN_TEMPFAIL, "sign_bad_fields");
	} else {
		body_writer_init(tx->writer, tx->fd);
		body_writer_put(tx->writer, a->headers, n);
		(void)body_writer_copy_fd(tx->writer, tx->body_fd);
		log_event("signed", "sess=%s qid=%s", s->id, tx->qid);
		if (session_finish_spool(s))
			session_commit(s);
	}
	session_process(s);
}

static const char *
resolve_reason(enum resolve_verdict v, enum reply_id *r)
{
	switch (v) {
	case RESOLVE_LOCAL:
		*r = REPLY_RCPT_OK;
		return "local";
	case RESOLVE_UNKNOWN_USER:
		*r = REPLY_UNKNOWN_USER;
		return "unknown_user";
	case RESOLVE_BLOCKED:
		*r = REPLY_UNKNOWN_USER;
		return "blocked_tag";
	case RESOLVE_NOT_LOCAL:
		*r = REPLY_RELAY_DENIED;
		return "relay_denied";
	case RESOLVE_TEMPFAIL:
		break;
	}
	*r = REPLY_TEMPFAIL;
	return "tempfail";
}

void
session_on_resolve(struct smtp_session *s, const struct msg_resolve_answer *a)
{
	struct transaction *tx = s->tx;
	enum reply_id r;

	if (s->state != SESSION_RCPT_WAIT || tx == NULL)
		return;
	const char *reason = resolve_reason(a->verdict, &r);
	if (s->submission && a->verdict == RESOLVE_NOT_LOCAL) {
		r = REPLY_RCPT_OK;	/* authenticated: we relay it */
		reason = "relay";
	}
	log_session_rcpt(s, tx->asking, strlen(tx->asking), r, reason);
	if (r == REPLY_RCPT_OK)
		tx_add_rcpt(tx, tx->asking);
	session_resume_state(s);
	if (r == REPLY_TEMPFAIL || r == REPLY_RCPT_OK)
		session_reply(s, r);
	else
		session_reply_error(s, r);
	session_process(s);
}

/* ---- TLS ------------------------------------------------------------------ */

static void	session_free(struct smtp_session *);
static void	session_read_cb(struct bufferevent *, void *);
static void	session_write_cb(struct bufferevent *, void *);
static void	session_event_cb(struct bufferevent *, short, void *);

static void
session_setup_bev(struct smtp_session *s)
{
	bufferevent_setcb(s->bev, session_read_cb, session_write_cb,
	    session_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, INPUT_HIGH_WATER);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/* The 220 has left: swap the plaintext bufferevent for a TLS one. */
static void
session_start_tls(struct smtp_session *s)
{
	bufferevent_free(s->bev);	/* created without CLOSE_ON_FREE: fd stays */
	s->bev = tls_accept_bev(role_base(), s->fd);
	if (s->bev == NULL) {
		log_warnx("sess=%s: cannot start TLS", s->id);
		log_event("disconnect", "sess=%s ip=%s reason=tls_setup messages=%u errors=%u",
		    s->id, s->ip, s->messages, s->errors);
		session_free(s);
		return;
	}
	s->bev_owns_fd = true;
	session_setup_bev(s);
	session_set_state(s, SESSION_TLS_HANDSHAKE);
}

/* RFC 3207 4.2: forget everything learnt before TLS. */
static void
session_tls_established(struct smtp_session *s)
{
	tls_describe(s->bev, s->tls_version, sizeof(s->tls_version),
	    s->tls_cipher, sizeof(s->tls_cipher));
	s->tls_active = true;
	s->helo[0] = '\0';
	tx_free(s);
	log_event("tls", "sess=%s version=%s cipher=%s", s->id, s->tls_version,
	    s->tls_cipher);
	session_set_state(s, SESSION_INIT);
	/* RFC 8314 (465): the greeting is the first thing inside TLS */
	if (s->kind == LISTEN_SUBMISSIONS)
		session_reply(s, REPLY_GREETING);
}

/* ---- libevent callbacks --------------------------------------------------- */

static void
session_read_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;

	(void)bev;
	if (s->state == SESSION_GREETING) {
		log_event("early_talker", "sess=%s ip=%s", s->id, s->ip);
		session_close(s, REPLY_EARLY_TALKER, "early_talker");
		return;
	}
	/* Activity restarts the idle clock, but not while we make it wait. */
	if (state_table[s->state].timer == TIMER_COMMAND ||
	    state_table[s->state].timer == TIMER_DATA)
		session_arm_timer(s);
	session_process(s);
}

static void
session_write_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;

	(void)bev;
	if (s->state == SESSION_CLOSING || s->state == SESSION_TLS_WAIT)
		event_active(s->timer, EV_TIMEOUT, 0);	/* finish outside the bev */
	else
		session_process(s);	/* we may have paused for a full output */
}

static void
session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_session *s = arg;
	char err[256];

	if (what & BEV_EVENT_CONNECTED) {
		session_tls_established(s);
		return;
	}
	if (s->state == SESSION_CLOSING) {
		event_active(s->timer, EV_TIMEOUT, 0);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		s->client_eof = true;
		session_process(s);
		return;
	}
	if (s->state == SESSION_TLS_HANDSHAKE)
		log_event("tls_failed", "sess=%s ip=%s error=\"%s\"", s->id, s->ip,
		    tls_error_text(bev, err, sizeof(err)));
	session_close(s, NO_REPLY, s->state == SESSION_DATA ? "error_in_data" : "error");
}

static void
session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;
	bool flushed = evbuffer_get_length(bufferevent_get_output(s->bev)) == 0;
	struct msg_resolve_answer tempfail = { .verdict = RESOLVE_TEMPFAIL };

	(void)fd;
	(void)what;
	switch (s->state) {
	case SESSION_GREETING:
		session_set_state(s, SESSION_INIT);
		session_reply(s, REPLY_GREETING);
		session_process(s);
		return;
	case SESSION_CLOSING:
		session_free(s);
		return;
	case SESSION_TLS_WAIT:
		if (flushed)
			session_start_tls(s);
		else
			session_close(s, NO_REPLY, "timeout");
		return;
	case SESSION_RCPT_WAIT:
		links_forget_session(s);
		session_on_resolve(s, &tempfail);
		return;
	case SESSION_DATA_WAIT:
		links_forget_session(s);	/* a late OPENED is closed and aborted */
		session_on_opened(s, QUEUE_TEMPFAIL, "", -1);
		return;
	case SESSION_COMMIT_WAIT:
		links_forget_session(s);
		session_on_committed(s, QUEUE_TEMPFAIL);
		return;
	case SESSION_AUTH_WAIT:
		links_forget_session(s);
		session_on_auth(s, AUTH_TEMPFAIL);
		return;
	case SESSION_MAIL_WAIT:
	case SESSION_FROM_WAIT:
		links_forget_session(s);
		session_on_sender(s, SENDER_TEMPFAIL);
		return;
	case SESSION_TLS_HANDSHAKE:
		/* no reply: a plaintext 421 cannot go into a half-made TLS */
		log_event("timeout", "sess=%s ip=%s state=%s", s->id, s->ip,
		    state_table[s->state].name);
		session_close(s, NO_REPLY, "timeout");
		return;
	case SESSION_SIGN_WAIT: {
		static const struct msg_sign_answer failed = { .status = SIGN_FAILED };
		links_forget_session(s);
		session_on_signed(s, &failed);
		return;
	}
	default:
		log_event("timeout", "sess=%s ip=%s state=%s", s->id, s->ip,
		    state_table[s->state].name);
		session_close(s, REPLY_TIMEOUT, "timeout");
		return;
	}
}

/* ---- life cycle ----------------------------------------------------------- */

static void
session_close(struct smtp_session *s, int reply, const char *reason)
{
	if (s->state == SESSION_CLOSING)
		return;
	if (reply != NO_REPLY)
		session_reply(s, (enum reply_id)reply);
	links_forget_session(s);
	tx_free(s);
	log_event("disconnect", "sess=%s ip=%s reason=%s messages=%u errors=%u",
	    s->id, s->ip, reason, s->messages, s->errors);
	bufferevent_disable(s->bev, EV_READ);
	session_set_state(s, SESSION_CLOSING);
	/* Freed once the output has drained (write callback) or on linger. */
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		event_active(s->timer, EV_TIMEOUT, 0);
}

static void
session_free(struct smtp_session *s)
{
	TAILQ_REMOVE(&sessions, s, entry);
	nsessions--;
	links_forget_session(s);
	tx_free(s);
	auth_wipe(s);
	event_free(s->timer);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	if (!s->bev_owns_fd)
		close(s->fd);
	free(s);
	server_on_session_closed();
}

/* 465: TLS from the first byte (RFC 8314 3.3); the greeting follows it. */
static void
session_start_implicit_tls(struct smtp_session *s)
{
	if ((s->bev = tls_accept_bev(role_base(), s->fd)) == NULL) {
		log_warnx("sess=%s: cannot start TLS", s->id);
		log_event("disconnect", "sess=%s ip=%s reason=tls_setup messages=0 errors=0",
		    s->id, s->ip);
		session_free(s);
		return;
	}
	s->bev_owns_fd = true;
	session_setup_bev(s);
	session_set_state(s, SESSION_TLS_HANDSHAKE);
}

void
session_new(int fd, const struct sockaddr *sa, socklen_t salen,
    enum listen_kind kind)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));
	uint32_t rnd;

	(void)salen;
	random_bytes(&rnd, sizeof(rnd));
	snprintf(s->id, sizeof(s->id), "%08x", rnd);
	s->fd = fd;
	s->kind = kind;
	s->submission = kind == LISTEN_SUBMISSION || kind == LISTEN_SUBMISSIONS;
	sockaddr_to_text(sa, s->ip, sizeof(s->ip), &s->port);
	if ((s->timer = evtimer_new(role_base(), session_timer_cb, s)) == NULL)
		fatalx("session_new: out of memory");
	TAILQ_INSERT_TAIL(&sessions, s, entry);
	nsessions++;
	log_event("connect", "sess=%s ip=%s port=%u kind=%s", s->id, s->ip, s->port,
	    kind == LISTEN_SMTP ? "smtp" : kind == LISTEN_SUBMISSION ?
	    "submission" : "submissions");
	if (kind == LISTEN_SUBMISSIONS) {
		session_start_implicit_tls(s);
		return;
	}
	/* No BEV_OPT_CLOSE_ON_FREE: STARTTLS must free it and keep the fd. */
	if ((s->bev = bufferevent_socket_new(role_base(), fd, 0)) == NULL)
		fatalx("session_new: out of memory");
	session_setup_bev(s);
	/* An authenticated client is no spammer to slow down. */
	if (cfg()->greeting_delay > 0 && !s->submission) {
		s->state = SESSION_GREETING;
		session_arm_timer(s);
		return;
	}
	s->state = SESSION_INIT;
	session_arm_timer(s);
	session_reply(s, REPLY_GREETING);
}

void
session_shutdown_all(void)
{
	struct smtp_session *s;

	TAILQ_FOREACH(s, &sessions, entry) {
		if (s->state == SESSION_COMMIT_WAIT)
			s->drain_after_answer = true;	/* its 250/451 comes first */
		else
			session_close(s, REPLY_SHUTDOWN, "shutdown");
	}
}
