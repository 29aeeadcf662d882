/*
 * smtpd/session.c - THE SMTP dialog (RFC 5321, RFC 2920 pipelining, RFC
 * 3207 STARTTLS) of every port: 25, and submission's 587 and 465 (RFC
 * 6409, RFC 8314), which plug their differences in through the hooks of
 * smtpd/policy.h.
 *
 * Owns: the command table verb -> (check, act), the transaction (envelope,
 * spool fd, DATA scanner), which is freed on RSET, at the end of DATA, on
 * a refused DATA and on close, and the handling of lookup's and queue's
 * answers. The spool file is asked for at DATA, or at the first accepted
 * recipient when the policy says open_early (one round trip fewer before
 * 354); a transaction that ends first aborts it. The states themselves
 * and their deadlines are smtpd/session_io.c's; every transition goes
 * through session_set_state().
 * Why this way: *check* validates syntax and state and sends the refusal;
 * *act* runs only after check passed, so no refusal path can half-change
 * state. A question to another role is a request with a completion
 * callback (smtpd/links.h); the answer resumes the dialog and runs the
 * pipelined input that waited behind it. Nothing here knows which port it
 * serves: where ports differ, a policy hook decides.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "links.h"
#include "log.h"
#include "policy.h"
#include "role.h"
#include "util.h"

#define LOG_ARG_MAX	200	/* client text quoted in one log field */

const struct config *
session_cfg(void)
{
	return role_config();
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

/* ---- replies ------------------------------------------------------------- */

void
session_reply_arg(struct smtp_session *s, enum reply_id id, const char *arg)
{
	char buf[REPLY_MAX];
	size_t n = reply_render(id, arg, buf, sizeof(buf));

	session_write(s, buf, n);
}

void
session_reply(struct smtp_session *s, enum reply_id id)
{
	session_reply_arg(s, id, session_cfg()->hostname);
}

void
session_reply_error(struct smtp_session *s, enum reply_id id)
{
	session_reply(s, id);
	if (++s->errors >= session_cfg()->max_errors)
		session_close(s, REPLY_TOO_MANY_ERRORS, "too_many_errors");
}

/* A policy's verdict: a permanent refusal counts towards max_errors, a
 * temporary one is our trouble, not the client's. arg NULL: the host name. */
static void
session_reply_verdict(struct smtp_session *s, enum reply_id id, const char *arg)
{
	session_reply_arg(s, id, arg != NULL ? arg : session_cfg()->hostname);
	if (reply_code(id) >= 500 && ++s->errors >= session_cfg()->max_errors)
		session_close(s, REPLY_TOO_MANY_ERRORS, "too_many_errors");
}

void
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
	return tx;
}

static void	on_opened(void *, enum queue_status, const char *, int);

/* Asks the queue for the transaction's spool file; false if the queue is
 * not linked. */
static bool
tx_ask_open(struct smtp_session *s)
{
	uint64_t id = links_msg_open(s, on_opened);

	if (id == 0)
		return false;
	s->tx->open_req = id;
	return true;
}

void
session_tx_free(struct smtp_session *s)
{
	struct transaction *tx = s->tx;

	if (tx == NULL)
		return;
	if (s->policy->on_tx_end != NULL)
		s->policy->on_tx_end(s);
	if (tx->open_req != 0)
		links_forget_request(tx->open_req);	/* a late file is aborted */
	if (tx->fd != -1)
		close(tx->fd);
	if (tx->spool_open)
		links_msg_abort(tx->qid);
	free(tx->writer);
	free(tx->rcpt);
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

/* ---- HELO/EHLO, and the commands without a transaction ------------------- */

bool
session_refuse(struct smtp_session *s, struct command_ctx *c, enum reply_id r)
{
	log_command_reject(s, c->cmd->verb, r, c->cmd->arg, c->cmd->arglen);
	session_reply_error(s, r);
	return false;
}

static bool
check_syntax_only(struct smtp_session *s, struct command_ctx *c)
{
	if (c->status == CMD_SYNTAX)
		return session_refuse(s, c, REPLY_SYNTAX);
	return true;
}

static bool
check_helo(struct smtp_session *s, struct command_ctx *c)
{
	if (c->status == CMD_SYNTAX)
		return session_refuse(s, c, REPLY_SYNTAX);
	if (command_parse_helo(c->cmd->arg, c->cmd->arglen, c->args.helo,
	    sizeof(c->args.helo)) != CMD_OK)
		return session_refuse(s, c, REPLY_BAD_HELO);
	return true;
}

static void
act_helo(struct smtp_session *s, struct command_ctx *c)
{
	const struct config *cfg = session_cfg();
	char buf[REPLY_EHLO_MAX];

	session_tx_free(s);
	memcpy(s->helo, c->args.helo, sizeof(s->helo));
	log_event("helo", "sess=%s verb=%s helo=%s", s->id,
	    command_verb_name(c->cmd->verb), s->helo);
	session_set_state(s, SESSION_READY);
	if (s->policy->on_helo != NULL)
		s->policy->on_helo(s);
	s->esmtp = c->cmd->verb == VERB_EHLO;
	if (c->cmd->verb == VERB_HELO) {
		session_reply(s, REPLY_HELO);
		return;
	}
	struct ehlo_offer offer = { .starttls = tls_available() && !s->tls_active };
	if (s->policy->ehlo_offer != NULL)
		s->policy->ehlo_offer(s, &offer);
	size_t n = reply_render_ehlo_offer(cfg->hostname, cfg->max_message_size,
	    &offer, buf, sizeof(buf));
	session_write(s, buf, n);
}

static void
act_rset(struct smtp_session *s, struct command_ctx *c)
{
	(void)c;
	session_tx_free(s);
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
	session_refuse(s, c, REPLY_NOT_IMPLEMENTED);
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
		return session_refuse(s, c, REPLY_SYNTAX);
	if (!tls_available())
		return session_refuse(s, c, REPLY_TLS_UNAVAILABLE);
	if (s->tls_active)
		return session_refuse(s, c, REPLY_TLS_ACTIVE);
	if (s->state != SESSION_INIT && s->state != SESSION_READY)
		return session_refuse(s, c, REPLY_BAD_SEQUENCE);
	return true;
}

static void
act_starttls(struct smtp_session *s, struct command_ctx *c)
{
	(void)c;
	session_begin_starttls(s);
}

/* ---- MAIL ------------------------------------------------------------------- */

static enum reply_id
mail_addr_reply(enum addr_status st)
{
	return st == ADDR_NON_ASCII ? REPLY_NON_ASCII : REPLY_MAIL_SYNTAX;
}

static bool
check_mail(struct smtp_session *s, struct command_ctx *c)
{
	struct mail_cmd *m = &c->args.mail;
	enum reply_id r;

	if (s->state == SESSION_INIT)
		return session_refuse(s, c, REPLY_NEED_HELO);
	if (s->policy->mail_refused != NULL && s->policy->mail_refused(s, &r))
		return session_refuse(s, c, r);
	if (s->state != SESSION_READY)
		return session_refuse(s, c, REPLY_NESTED_MAIL);
	if (c->status == CMD_SYNTAX)
		return session_refuse(s, c, REPLY_SYNTAX);
	/* SMTPUTF8 is offered after EHLO on every port (RFC 6531 3.1). */
	switch (command_parse_mail_opts(c->cmd->arg, c->cmd->arglen,
	    s->policy->mail_options | (s->esmtp ? MAIL_OPT_SMTPUTF8 : 0), m)) {
	case CMD_OK:
		break;
	case CMD_ADDR:
		return session_refuse(s, c, mail_addr_reply(m->addr));
	case CMD_PARAM_UNKNOWN:
		return session_refuse(s, c, REPLY_PARAM_UNKNOWN);
	case CMD_PARAM_BAD:
		return session_refuse(s, c, REPLY_PARAM_BAD);
	default:
		return session_refuse(s, c, REPLY_SYNTAX);
	}
	if (m->has_size && m->size > session_cfg()->max_message_size) {
		log_command_reject(s, c->cmd->verb, REPLY_SIZE_EXCEEDED,
		    c->cmd->arg, c->cmd->arglen);
		session_reply(s, REPLY_SIZE_EXCEEDED);
		return false;
	}
	return true;
}

static void
act_mail(struct smtp_session *s, struct command_ctx *c)
{
	struct mail_cmd *m = &c->args.mail;
	char esc[LOG_ESCAPE_MAX];

	session_tx_free(s);
	s->tx = tx_new();
	s->tx->null_sender = m->is_null;
	s->tx->smtputf8 = m->smtputf8;
	if (!m->is_null && addr_format(&m->from, s->tx->from, sizeof(s->tx->from)) == -1)
		s->tx->from[0] = '\0';	/* cannot happen: the parser bounds it */
	log_event("mail", "sess=%s from=<%s> size=%llu%s", s->id,
	    log_escape(esc, sizeof(esc), s->tx->from, strlen(s->tx->from)),
	    m->has_size ? (unsigned long long)m->size : 0ULL,
	    m->smtputf8 ? " smtputf8=yes" : "");
	if (s->policy->check_mail == NULL) {
		session_mail_done(s, REPLY_MAIL_OK);
		return;
	}
	session_set_state(s, SESSION_MAIL_WAIT);
	s->policy->check_mail(s);
}

void
session_mail_done(struct smtp_session *s, enum reply_id r)
{
	if (s->tx == NULL)
		return;
	if (r == REPLY_MAIL_OK) {
		session_set_state(s, SESSION_MAIL);
		session_reply(s, r);
	} else {
		session_tx_free(s);
		session_resume_state(s);
		session_reply_verdict(s, r, NULL);
	}
	session_process(s);
}

/* ---- RCPT ------------------------------------------------------------------- */

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
		return session_refuse(s, c, REPLY_NEED_HELO);
	if (s->state == SESSION_READY)
		return session_refuse(s, c, REPLY_NEED_MAIL);
	if (c->status == CMD_SYNTAX)
		return session_refuse(s, c, REPLY_SYNTAX);
	switch (command_parse_rcpt_opts(c->cmd->arg, c->cmd->arglen,
	    s->tx != NULL && s->tx->smtputf8 ? RCPT_OPT_SMTPUTF8 : 0, r)) {
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
	if (s->tx->nrcpt >= session_cfg()->max_recipients) {
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
	const struct config *c = session_cfg();
	const char *d = c->hostname;

	if (!config_has_domain(c, c->hostname) && c->ndomains > 0)
		d = c->domains[0];
	snprintf(domain, size, "%s", d);
}

/* lookup's verdict as a reply, before the policy has its say. */
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

static void
on_resolved(void *owner, const struct msg_resolve_answer *a)
{
	struct smtp_session *s = owner;
	enum reply_id r;

	if (s->state != SESSION_RCPT_WAIT || s->tx == NULL)
		return;
	const char *reason = resolve_reason(a->verdict, &r);
	if (s->policy->check_rcpt == NULL) {
		session_rcpt_done(s, r, reason);
		return;
	}
	s->policy->check_rcpt(s, a->verdict, r, reason);
}

static void
act_rcpt(struct smtp_session *s, struct command_ctx *c)
{
	struct rcpt_cmd *r = &c->args.rcpt;
	struct transaction *tx = s->tx;

	if (r->is_postmaster)
		postmaster_domain(r->to.domain, sizeof(r->to.domain));
	if (addr_format(&r->to, tx->asking, sizeof(tx->asking)) == -1)
		tx->asking[0] = '\0';
	else if (s->policy->rcpt_address != NULL)
		s->policy->rcpt_address(s, tx->asking, sizeof(tx->asking));
	if (tx->asking[0] == '\0' || links_resolve_ask(s, tx->asking, on_resolved) == 0) {
		log_session_rcpt(s, tx->asking, strlen(tx->asking), REPLY_TEMPFAIL,
		    "lookup_unavailable");
		session_reply(s, REPLY_TEMPFAIL);
		return;
	}
	session_set_state(s, SESSION_RCPT_WAIT);
}

void
session_rcpt_done(struct smtp_session *s, enum reply_id r, const char *reason)
{
	session_rcpt_done_arg(s, r, reason, NULL);
}

void
session_rcpt_done_arg(struct smtp_session *s, enum reply_id r, const char *reason,
    const char *arg)
{
	struct transaction *tx = s->tx;

	if (s->state != SESSION_RCPT_WAIT || tx == NULL)
		return;
	log_session_rcpt(s, tx->asking, strlen(tx->asking), r, reason);
	if (r == REPLY_RCPT_OK)
		tx_add_rcpt(tx, tx->asking);
	if (r == REPLY_RCPT_OK && s->policy->open_early && tx->nrcpt == 1)
		(void)tx_ask_open(s);	/* if not now, DATA asks */
	session_resume_state(s);
	session_reply_verdict(s, r, arg);
	session_process(s);
}

/* ---- DATA ------------------------------------------------------------------- */

static bool
check_data(struct smtp_session *s, struct command_ctx *c)
{
	if (s->state == SESSION_INIT)
		return session_refuse(s, c, REPLY_NEED_HELO);
	if (s->state == SESSION_READY)
		return session_refuse(s, c, REPLY_NEED_MAIL);
	if (c->status == CMD_SYNTAX)
		return session_refuse(s, c, REPLY_SYNTAX);
	if (s->state == SESSION_MAIL)
		return session_refuse(s, c, REPLY_NO_VALID_RCPTS);
	return true;
}

static void	session_data_opened(struct smtp_session *);

/* DATA: the spool file, if the queue gave it early (policy open_early),
 * or the wait for it. */
static void
act_data(struct smtp_session *s, struct command_ctx *c)
{
	(void)c;
	if (s->tx->spool_open) {
		session_data_opened(s);
		return;
	}
	if (s->tx->open_req == 0 && !tx_ask_open(s)) {
		session_message_refuse(s, REPLY_TEMPFAIL, "queue_unavailable");
		return;
	}
	session_set_state(s, SESSION_DATA_WAIT);
}

static void
session_data_sink(void *arg, const uint8_t *p, size_t n)
{
	struct smtp_session *s = arg;

	/* A message already refused is not worth the disk. */
	if (s->tx->scan.flags != 0)
		return;
	if (s->policy->data_sink != NULL)
		s->policy->data_sink(s, p, n);
	else
		body_writer_put(s->tx->writer, p, n);
}

/* Starts the body: the policy says where it goes (port 25: the spool file
 * itself), and our Received: line comes first. NULL, or why not. */
static const char *
session_start_body(struct smtp_session *s)
{
	struct transaction *tx = s->tx;
	const struct config *cfg = session_cfg();
	struct received_info ri = {
		.helo = s->helo, .client_ip = s->ip, .hostname = cfg->hostname,
		.tls_version = s->tls_active ? s->tls_version : NULL,
		.tls_cipher = s->tls_active ? s->tls_cipher : NULL,
		.queue_id = tx->qid, .rcpt = tx->nrcpt == 1 ? tx->rcpt[0] : NULL,
		.when = time(NULL), .smtputf8 = tx->smtputf8,
	};
	char hdr[RECEIVED_MAX];
	const char *why = NULL;
	int out = tx->fd;

	if (s->policy->data_start != NULL &&
	    (out = s->policy->data_start(s, &why)) == -1)
		return why != NULL ? why : "data_start";
	if (s->policy->trace != NULL)
		s->policy->trace(s, &ri);
	size_t n = received_render(&ri, hdr, sizeof(hdr));
	tx->writer = xmalloc(sizeof(*tx->writer));
	body_writer_init(tx->writer, out);
	body_writer_put(tx->writer, hdr, n);
	data_scanner_init(&tx->scan, cfg->max_message_size, session_data_sink, s);
	return NULL;
}

/*
 * The queue's answer to the transaction's OPEN: asked at DATA, or at the
 * first accepted recipient (open_early), in which case the file waits in
 * the transaction for DATA and a failure is only noted: DATA asks again.
 * An answer for a transaction that is gone never arrives here
 * (session_tx_free forgot the request; links.c aborts the file).
 */
static void
on_opened(void *owner, enum queue_status st, const char *msgid, int fd)
{
	struct smtp_session *s = owner;
	struct transaction *tx = s->tx;

	if (tx == NULL || tx->open_req == 0) {
		if (fd != -1)
			close(fd);
		if (st == QUEUE_OK)
			links_msg_abort(msgid);	/* nobody will write it */
		return;
	}
	tx->open_req = 0;
	if (st == QUEUE_OK) {
		tx->fd = fd;
		tx->spool_open = true;
		snprintf(tx->qid, sizeof(tx->qid), "%s", msgid);
	}
	if (s->state != SESSION_DATA_WAIT)
		return;
	if (st != QUEUE_OK) {
		session_message_refuse(s, st == QUEUE_NOSPACE ? REPLY_NOSPACE :
		    REPLY_TEMPFAIL, "queue_open_failed");
		return;
	}
	session_data_opened(s);
}

/* The spool file is the transaction's: the body starts, 354. */
static void
session_data_opened(struct smtp_session *s)
{
	struct transaction *tx = s->tx;
	const char *why;

	if ((why = session_start_body(s)) != NULL) {
		session_message_refuse(s, REPLY_TEMPFAIL, why);	/* sends the ABORT */
		return;
	}
	log_event("data", "sess=%s qid=%s nrcpt=%u", s->id, tx->qid, tx->nrcpt);
	session_set_state(s, SESSION_DATA);
	session_reply(s, REPLY_DATA_GO);
	session_process(s);
}

/* ---- end of DATA and the commit ------------------------------------------ */

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

/* The transaction ends without queueing (a refused DATA or message); the
 * next MAIL starts afresh. arg NULL: the host name in the reply. */
static void
session_end_refused_arg(struct smtp_session *s, enum reply_id r, const char *reason,
    const char *arg)
{
	log_message_reject(s, r, reason);
	session_tx_free(s);	/* closes the fd and sends the ABORT */
	session_set_state(s, s->helo[0] != '\0' ? SESSION_READY : SESSION_INIT);
	session_reply_arg(s, r, arg != NULL ? arg : session_cfg()->hostname);
}

void
session_message_refuse(struct smtp_session *s, enum reply_id r, const char *reason)
{
	session_message_refuse_arg(s, r, reason, NULL);
}

void
session_message_refuse_arg(struct smtp_session *s, enum reply_id r,
    const char *reason, const char *arg)
{
	session_end_refused_arg(s, r, reason, arg);
	session_process(s);
}

static void	on_committed(void *, enum queue_status);

static void
session_commit(struct smtp_session *s)
{
	struct transaction *tx = s->tx;
	struct msg_commit m = { 0 };

	memcpy(m.msgid, tx->qid, sizeof(m.msgid));
	memcpy(m.sender, tx->from, sizeof(m.sender));
	memcpy(m.helo, s->helo, sizeof(m.helo));
	snprintf(m.client_ip, sizeof(m.client_ip), "%s", s->ip);
	m.source = s->policy->source;
	m.smtputf8 = tx->smtputf8;
	m.nrcpt = tx->nrcpt;
	m.rcpt = tx->rcpt;
	memcpy(m.prepend, tx->prepend, sizeof(m.prepend));
	m.nstrip = tx->nstrip;
	memcpy(m.strip, tx->strip, sizeof(m.strip));
	if (links_msg_commit(s, &m, on_committed) == 0) {
		session_message_refuse(s, REPLY_TEMPFAIL, "queue_unavailable");
		return;
	}
	tx->spool_open = false;	/* the queue decides its fate now */
	session_set_state(s, SESSION_COMMIT_WAIT);
}

/* Flushes and closes the spool file (once). False (message refused) on
 * error. */
bool
session_spool_finish(struct smtp_session *s)
{
	struct transaction *tx = s->tx;

	if (tx->fd == -1)
		return true;	/* finished already (port 25's screen read it) */
	int r = body_writer_flush(tx->writer), err = tx->writer->error;

	if (close(tx->fd) == -1 && r == 0) {
		r = -1;
		err = errno;
	}
	tx->fd = -1;
	if (r == -1) {
		log_warnx("sess=%s qid=%s: spool write failed: %s", s->id, tx->qid,
		    strerror(err));
		session_message_refuse(s, err == ENOSPC || err == EDQUOT ?
		    REPLY_NOSPACE : REPLY_TEMPFAIL, "spool_write");
		return false;
	}
	return true;
}

void
session_message_accept(struct smtp_session *s)
{
	if (s->tx == NULL)
		return;
	if (session_spool_finish(s))
		session_commit(s);
	session_process(s);
}

void
session_end_data(struct smtp_session *s)
{
	const char *reason;

	if (s->tx->scan.flags != 0) {
		enum reply_id r = data_flags_reply(s->tx->scan.flags, &reason);
		session_message_refuse(s, r, reason);
		return;
	}
	if (s->policy->end_of_data == NULL) {
		session_message_accept(s);
		return;
	}
	session_set_state(s, SESSION_EOD_WAIT);
	s->policy->end_of_data(s);
}

static void
on_committed(void *owner, enum queue_status st)
{
	struct smtp_session *s = owner;
	struct transaction *tx = s->tx;

	if (s->state != SESSION_COMMIT_WAIT || tx == NULL)
		return;
	if (st == QUEUE_OK) {
		log_event("queued", "sess=%s qid=%s size=%llu nrcpt=%u", s->id,
		    tx->qid, (unsigned long long)tx->scan.size, tx->nrcpt);
		s->messages++;
		session_reply_arg(s, REPLY_QUEUED, tx->qid);
		session_tx_free(s);
		session_set_state(s, SESSION_READY);
	} else {
		session_end_refused_arg(s, st == QUEUE_NOSPACE ? REPLY_NOSPACE :
		    REPLY_TEMPFAIL, "queue_tempfail", NULL);
	}
	if (s->close_after_answer != NO_REPLY) {
		session_close(s, s->close_after_answer, s->close_reason);
		return;
	}
	session_process(s);
}

/* ---- the command table ---------------------------------------------------- */

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
};

/* A policy's own commands first (AUTH); then the core's. */
static bool
session_run_command(struct smtp_session *s, struct command_ctx *c)
{
	const struct session_policy *p = s->policy;

	for (size_t i = 0; i < p->ncommands; i++)
		if (p->commands[i].verb == c->cmd->verb) {
			if (p->commands[i].check(s, c))
				p->commands[i].act(s, c);
			return true;
		}
	for (size_t i = 0; i < sizeof(command_table) / sizeof(command_table[0]); i++)
		if (command_table[i].verb == c->cmd->verb) {
			if (command_table[i].check(s, c))
				command_table[i].act(s, c);
			return true;
		}
	return false;
}

void
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
		session_refuse(s, &c, c.status == CMD_NUL ? REPLY_NUL : REPLY_UNKNOWN_COMMAND);
		return;
	}
	/* A verb this port does not serve (AUTH on port 25) is unknown here. */
	if (!session_run_command(s, &c))
		session_refuse(s, &c, REPLY_UNKNOWN_COMMAND);
}
