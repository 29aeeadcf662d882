/*
 * relay/client.c - the outbound SMTP client state machine (see client.h).
 *
 * Owns: the session state (enum client_state, traced by client_set_state;
 * struct client is in client_priv.h, shared with client_txn.c, which runs
 * the transactions), the reply reader, the per-state timeouts and the
 * STARTTLS upgrade.
 * STANDARDS: RFC 5321 (4.5.3.2 timeouts, shortened: a dead server should
 * cost minutes, not the RFC's ten), RFC 3207 STARTTLS, RFC 4954/4616 AUTH
 * PLAIN; EHLO's keywords are read by relay/reply.c.
 * SECURITY: every byte from the server goes through relay/reply.c before
 * use. After "220" to STARTTLS nothing more may be buffered (a server, or
 * a man in the middle, injecting plaintext: CVE-2011-0411 in reverse), and
 * the TLS bufferevent starts on the bare fd. Credentials are sent only
 * under TLS and never logged.
 * Re-entrancy: the owner's callback may free the client; every libevent
 * entry point holds a reference (depth) and the memory goes when the
 * outermost one returns.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/x509_vfy.h>

#include "client.h"
#include "client_priv.h"
#include "dotstuff.h"
#include "log.h"
#include "targets.h"
#include "tls.h"
#include "tlsrpt.h"
#include "util.h"

#define AUTH_LINE_MAX	1100	/* "AUTH PLAIN " + base64 of 2 x 255 + 2 */

/* Seconds to wait in each state; 0 = no timeout (idle: the pool decides). */
static const struct state_row {
	const char	*name;
	const char	*stage;
	unsigned	 timeout;
} state_table[] = {
	[CS_CONNECTING] =	{ "connecting",		"connect",	30 },
	[CS_GREETING] =		{ "greeting",		"greeting",	120 },	/* RFC: 5 min */
	[CS_EHLO] =		{ "ehlo",		"ehlo",		120 },	/* 5 min */
	[CS_HELO] =		{ "helo",		"ehlo",		120 },
	[CS_STARTTLS] =		{ "starttls",		"starttls",	120 },
	[CS_TLS_HANDSHAKE] =	{ "tls_handshake",	"tls",		60 },
	[CS_AUTH] =		{ "auth",		"auth",		120 },
	[CS_READY] =		{ "ready",		"idle",		0 },
	[CS_RSET] =		{ "rset",		"rset",		60 },
	[CS_TXN] =		{ "txn",		"mail",		120 },	/* MAIL/RCPT 5, DATA 2 min */
	[CS_BODY] =		{ "body",		"data",		180 },	/* data block: 3 min */
	[CS_DOT] =		{ "dot",		"dot",		300 },	/* 10 min */
	[CS_QUIT] =		{ "quit",		"quit",		10 },
	[CS_DEAD] =		{ "dead",		"closed",	0 },
};

const char *
client_state_name(enum client_state st)
{
	return state_table[st].name;
}


static void	client_read_replies(struct client *);
static void	client_install(struct client *);

/* ---- life cycle ----------------------------------------------------------- */

static void
client_really_free(struct client *c)
{
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->fd != -1 && !c->bev_owns_fd)
		close(c->fd);
	if (c->ev_defer != NULL)
		event_free(c->ev_defer);
	free(c->tlsa);
	free(c);
}

static void
client_ref(struct client *c)
{
	c->depth++;
}

static void
client_unref(struct client *c)
{
	if (--c->depth == 0 && c->free_pending)
		client_really_free(c);
}

void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	if (c->depth > 0) {
		c->free_pending = true;
		c->state = CS_DEAD;
		if (c->bev != NULL)
			bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		return;
	}
	client_really_free(c);
}

static bool
client_gone(const struct client *c)
{
	return c->free_pending || c->state == CS_DEAD;
}

void
client_emit(struct client *c, enum client_event ev)
{
	client_ref(c);
	c->cb(c, ev, c->arg);
	client_unref(c);
}

static void
on_defer(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	(void)fd;
	(void)what;
	if (c->free_pending)
		return;
	client_emit(c, c->deferred);
}

/* Reports ev from the event loop, not inside the owner's current call. */
void
client_defer(struct client *c, enum client_event ev)
{
	c->deferred = ev;
	event_active(c->ev_defer, EV_TIMEOUT, 1);
}

static void
client_close_conn(struct client *c)
{
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
	if (c->fd != -1 && !c->bev_owns_fd)
		close(c->fd);
	c->fd = -1;
}

/* ---- state and output ----------------------------------------------------- */

void
client_set_state(struct client *c, enum client_state st)
{
	struct timeval tv = { state_table[st].timeout, 0 };
	const struct timeval *t = state_table[st].timeout > 0 ? &tv : NULL;

	if (st != c->state)
		log_debug("relay %s[%s]: %s -> %s", c->p.host, c->ip,
		    state_table[c->state].name, state_table[st].name);
	c->state = st;
	if (c->bev == NULL)
		return;
	/* While the body streams out the server is silent: only writes count. */
	bufferevent_set_timeouts(c->bev, st == CS_BODY ? NULL : t, t);
}

void
client_send(struct client *c, const char *fmt, ...)
{
	char line[ADDR_MAX + 128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		fatalx("relay: command too long");	/* our own bounded fields */
	log_debug("relay %s[%s] > %s", c->p.host, c->ip, line);
	evbuffer_add(bufferevent_get_output(c->bev), line, (size_t)n);
	evbuffer_add(bufferevent_get_output(c->bev), "\r\n", 2);
}

static const char *
client_stage_now(const struct client *c)
{
	if (c->state == CS_TXN && c->txn != NULL) {
		if (c->txn_idx == 0)
			return "mail";
		return c->txn_idx <= c->txn->nrcpt ? "rcpt" : "data";
	}
	return state_table[c->state].stage;
}

/* ---- failure --------------------------------------------------------------- */

/* What a socket error (connect(2), read/write) says about the peer. */
static enum client_failure
failure_of_errno(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return CLIENT_FAIL_REFUSED;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ENETDOWN:
	case EHOSTDOWN:
		return CLIENT_FAIL_UNREACHABLE;
	case ETIMEDOUT:
		return CLIENT_FAIL_TIMEOUT;
	case ECONNRESET:
	case EPIPE:
	case ECONNABORTED:
		return CLIENT_FAIL_RESET;
	default:
		return CLIENT_FAIL_ERROR;
	}
}

/*
 * The session is over. What the owner hears depends on where we were: a
 * transaction ends (broken, or unknown after the final dot), a QUIT ends
 * as closed, anything else is a failed session.
 */
static void
client_die(struct client *c)
{
	enum client_state was = c->state;

	client_close_conn(c);
	client_set_state(c, CS_DEAD);
	if (was == CS_QUIT) {
		client_emit(c, CLIENT_CLOSED);
		return;
	}
	if ((was == CS_TXN || was == CS_BODY || was == CS_DOT) && c->txn != NULL) {
		struct client_txn *t = c->txn;
		c->txn = NULL;
		t->outcome = was != CS_DOT ? TXN_BROKEN :
		    c->discard_dot ? c->discard_outcome : TXN_UNKNOWN;
		if (t->end_stage == NULL)
			t->end_stage = c->err_stage;
		c->ntxn++;
		client_emit(c, CLIENT_TXN_DONE);
		return;
	}
	client_emit(c, CLIENT_FAILED);
}

static void
client_fail_remote(struct client *c, const struct smtp_reply *r)
{
	c->err = *r;
	c->err_remote = true;
	c->err_stage = client_stage_now(c);
	c->failure = CLIENT_FAIL_REPLY;
	client_die(c);
}

void
client_fail_local(struct client *c, enum client_failure kind, int code,
    const char *esc, const char *fmt, ...)
{
	char msg[REPLY_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	smtp_reply_set(&c->err, code, esc, "%s", msg);
	c->err_remote = false;
	c->err_stage = client_stage_now(c);
	c->failure = kind;
	client_die(c);
}

void
client_lost(struct client *c, enum client_failure kind, const char *why)
{
	if (c->state == CS_QUIT) {
		client_die(c);
		return;
	}
	client_fail_local(c, kind, 451, "4.4.2", "%s with %s[%s] during %s", why,
	    c->p.host, c->ip, client_stage_now(c));
}

/* ---- session opening ------------------------------------------------------- */

static void
client_ready(struct client *c)
{
	client_set_state(c, CS_READY);
	client_emit(c, CLIENT_READY);
}

static void
client_send_ehlo(struct client *c)
{
	memset(&c->caps, 0, sizeof(c->caps));
	client_send(c, "EHLO %s", c->p.helo);
	client_set_state(c, CS_EHLO);
}

static void
client_send_auth(struct client *c)
{
	char b64[AUTH_LINE_MAX];
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (relay_auth_plain(c->p.cred, b64, sizeof(b64)) == -1) {
		client_fail_local(c, CLIENT_FAIL_LOCAL, 451, "4.7.0",
		    "credentials for %s too long", c->p.host);
		return;
	}
	log_debug("relay %s[%s] > AUTH PLAIN (credentials hidden)", c->p.host, c->ip);
	evbuffer_add(out, "AUTH PLAIN ", 11);
	evbuffer_add(out, b64, strlen(b64));
	evbuffer_add(out, "\r\n", 2);
	explicit_bzero(b64, sizeof(b64));
	client_set_state(c, CS_AUTH);
}

/* One TLS session (or its absence) under a published policy, for TLS-RPT
 * (RFC 8460; tlsrpt.c ignores the others). */
static void
client_report_tls(struct client *c, enum tlsrpt_result r)
{
	char text[1024];
	const char *policy = c->p.policy.kind == TLSP_DANE && c->p.policy.tlsa != NULL ?
	    tlsrpt_tlsa_text(c->p.policy.tlsa, text, sizeof(text)) : NULL;

	if (c->p.policy.domain[0] != '\0')
		tlsrpt_note(c->p.policy.domain, c->p.policy.kind, policy, c->p.host, c->ip, r);
}

/* After EHLO (or HELO): STARTTLS, then AUTH, then ready. */
static void
client_after_ehlo(struct client *c)
{
	if (!c->tls && c->p.tls != CLIENT_TLS_OFF && c->caps.starttls) {
		client_send(c, "STARTTLS");
		client_set_state(c, CS_STARTTLS);
		return;
	}
	if (!c->tls && c->p.tls != CLIENT_TLS_OFF && !c->caps.starttls)
		client_report_tls(c, TLSRPT_STARTTLS_NOT_SUPPORTED);
	if (!c->tls && c->p.tls == CLIENT_TLS_REQUIRE) {
		/* RFC 3207 4: maybe stripped on the way; never plaintext here */
		client_fail_local(c, CLIENT_FAIL_POLICY, 451, "4.7.4",
		    "%s[%s] does not offer STARTTLS (%s)", c->p.host, c->ip,
		    tls_policy_word(c->p.policy.kind));
		return;
	}
	if (c->p.cred != NULL) {
		if (!c->tls)
			client_fail_local(c, CLIENT_FAIL_POLICY, 451, "4.7.0",
			    "not sending credentials to %s[%s] without TLS", c->p.host, c->ip);
		else if (!(c->caps.auth & EHLO_AUTH_PLAIN))
			client_fail_local(c, CLIENT_FAIL_POLICY, 451, "4.7.0",
			    "%s[%s] does not offer AUTH PLAIN", c->p.host, c->ip);
		else
			client_send_auth(c);
		return;
	}
	client_ready(c);
}

static void
client_start_tls(struct client *c)
{
	struct bufferevent *tbev;

	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
		client_fail_local(c, CLIENT_FAIL_PROTOCOL, 451, "4.7.5",
		    "%s[%s] sent data after its STARTTLS reply", c->p.host, c->ip);
		return;
	}
	bufferevent_free(c->bev);	/* created without CLOSE_ON_FREE: fd stays */
	c->bev = NULL;
	if ((tbev = relay_tls_bev(c->base, c->fd, c->p.host, &c->p.policy)) == NULL) {
		client_fail_local(c, CLIENT_FAIL_LOCAL, 451, "4.7.5", "cannot start TLS with %s[%s]",
		    c->p.host, c->ip);
		return;
	}
	c->bev = tbev;
	c->bev_owns_fd = true;
	client_install(c);
	client_set_state(c, CS_TLS_HANDSHAKE);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

void
client_reset(struct client *c)
{
	if (c->state != CS_READY)
		fatalx("client_reset in state %s", client_state_name(c->state));
	client_send(c, "RSET");
	client_set_state(c, CS_RSET);
}

void
client_quit(struct client *c)
{
	if (c->state == CS_READY && c->bev != NULL) {
		client_send(c, "QUIT");
		client_set_state(c, CS_QUIT);
		return;
	}
	client_close_conn(c);
	client_set_state(c, CS_DEAD);
	client_defer(c, CLIENT_CLOSED);
}

/* ---- replies ---------------------------------------------------------------- */

static void
client_handle_reply(struct client *c, const struct smtp_reply *r)
{
	bool ok = smtp_reply_is_positive(r);

	switch (c->state) {
	case CS_GREETING:
		if (ok)
			client_send_ehlo(c);
		else
			client_fail_remote(c, r);
		break;
	case CS_EHLO:
		if (ok)
			client_after_ehlo(c);
		else if (smtp_reply_is_permanent(r) && !c->tls) {
			/* RFC 5321 3.2: a server without EHLO still knows HELO */
			memset(&c->caps, 0, sizeof(c->caps));
			client_send(c, "HELO %s", c->p.helo);
			client_set_state(c, CS_HELO);
		} else
			client_fail_remote(c, r);
		break;
	case CS_HELO:
		if (ok)
			client_after_ehlo(c);
		else
			client_fail_remote(c, r);
		break;
	case CS_STARTTLS:
		if (r->code == 220)
			client_start_tls(c);
		else if (c->p.tls == CLIENT_TLS_REQUIRE) {
			client_report_tls(c, TLSRPT_STARTTLS_NOT_SUPPORTED);
			client_fail_remote(c, r);
		}
		else {
			c->caps.starttls = false;	/* go on in plaintext */
			client_after_ehlo(c);
		}
		break;
	case CS_AUTH:
	case CS_RSET:
		if (ok)
			client_ready(c);
		else
			client_fail_remote(c, r);
		break;
	case CS_TXN:
		client_txn_reply(c, r);
		break;
	case CS_BODY:
		client_body_reply(c, r);
		break;
	case CS_DOT:
		client_dot_reply(c, r);
		break;
	case CS_QUIT:
		client_die(c);
		break;
	case CS_READY:
		/* e.g. "421 idle timeout" from the server */
		client_fail_remote(c, r);
		break;
	case CS_CONNECTING:
	case CS_TLS_HANDSHAKE:
	case CS_DEAD:
		break;
	}
}

static void
client_protocol_error(struct client *c, enum reply_parse why)
{
	client_fail_local(c, CLIENT_FAIL_PROTOCOL, 451, "4.5.0", "%s from %s[%s]",
	    smtp_reply_parse_text(why), c->p.host, c->ip);
}

static void
client_read_replies(struct client *c)
{
	uint8_t line[REPLY_LINE_MAX + 1];

	while (!client_gone(c) && c->bev != NULL) {
		struct evbuffer *in = bufferevent_get_input(c->bev);
		size_t eol_len = 0;
		struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol_len,
		    EVBUFFER_EOL_CRLF);
		if (p.pos == -1) {
			if (evbuffer_get_length(in) > REPLY_LINE_MAX + 1)
				client_protocol_error(c, REPLY_PARSE_TOO_LONG);
			return;
		}
		if ((size_t)p.pos > REPLY_LINE_MAX) {
			client_protocol_error(c, REPLY_PARSE_TOO_LONG);
			return;
		}
		size_t len = (size_t)p.pos;
		evbuffer_remove(in, line, len);
		evbuffer_drain(in, eol_len);
		char esc[LOG_ESCAPE_MAX];
		log_debug("relay %s[%s] < %s", c->p.host, c->ip,
		    log_escape(esc, sizeof(esc), line, len));
		enum reply_parse pr = smtp_reply_feed(&c->reply, line, len);
		if (pr == REPLY_PARSE_MORE || pr == REPLY_PARSE_DONE) {
			if (c->state == CS_EHLO && c->reply.code == 250)
				ehlo_caps_feed(&c->caps, line, len, c->reply.nlines == 1);
		}
		if (pr == REPLY_PARSE_MORE)
			continue;
		if (pr != REPLY_PARSE_DONE) {
			client_protocol_error(c, pr);
			return;
		}
		struct smtp_reply got = c->reply;
		smtp_reply_init(&c->reply);
		client_handle_reply(c, &got);
	}
}

/* ---- libevent callbacks -------------------------------------------------------- */

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;

	(void)bev;
	client_ref(c);
	client_read_replies(c);
	client_unref(c);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;

	(void)bev;
	client_ref(c);
	if (c->state == CS_BODY && !client_gone(c))
		client_fill_body(c);
	client_unref(c);
}

static void
client_connected(struct client *c)
{
	if (c->state == CS_CONNECTING) {
		client_set_state(c, CS_GREETING);
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
		return;
	}
	if (c->state == CS_TLS_HANDSHAKE) {
		char desc[128];
		c->tls = true;
		c->tls_verified = relay_tls_verified(c->bev, c->tls_why, sizeof(c->tls_why));
		relay_tls_describe(c->bev, desc, sizeof(desc));
		log_event("relay_tls", "mx=%s ip=%s tls=%s policy=%s certificate=\"%s\"",
		    c->p.host, c->ip, desc, tls_policy_word(c->p.policy.kind), c->tls_why);
		/* testing mode reports what enforce would have refused (RFC 8461 5) */
		client_report_tls(c, c->tls_verified || c->p.policy.kind == TLSP_DANE_ENCRYPT ?
		    TLSRPT_OK : tlsrpt_result_of_verify(relay_tls_verify_error(c->bev)));
		client_send_ehlo(c);
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;
	char err[256];

	client_ref(c);
	if (what & BEV_EVENT_CONNECTED)
		client_connected(c);
	else if (client_gone(c))
		;
	else if ((what & BEV_EVENT_TIMEOUT) && c->state == CS_CONNECTING)
		/* RFC 3463 X.4.1: no answer from host */
		client_fail_local(c, CLIENT_FAIL_TIMEOUT, 451, "4.4.1",
		    "connect to %s[%s]: timed out", c->p.host, c->ip);
	else if (what & BEV_EVENT_TIMEOUT)
		client_lost(c, CLIENT_FAIL_TIMEOUT, "timeout");
	else if (c->state == CS_CONNECTING) {
		int e = EVUTIL_SOCKET_ERROR();
		client_fail_local(c, failure_of_errno(e), 451, "4.4.1", "connect to %s[%s]: %s",
		    c->p.host, c->ip, evutil_socket_error_to_string(e));
	} else if (c->state == CS_TLS_HANDSHAKE) {
		c->tls_failed = true;
		c->tls_verified = relay_tls_verified(bev, c->tls_why, sizeof(c->tls_why));
		long verr = relay_tls_verify_error(bev);
		client_report_tls(c, verr != X509_V_OK ?
		    tlsrpt_result_of_verify(verr) : TLSRPT_VALIDATION_FAILURE);
		client_fail_local(c, CLIENT_FAIL_TLS, 451, "4.7.5",
		    "TLS handshake with %s[%s] failed: %s", c->p.host, c->ip,
		    relay_tls_error(bev, err, sizeof(err)));
	} else if (what & BEV_EVENT_EOF) {
		/* Read whatever came with the close (e.g. a 421) first. */
		client_read_replies(c);
		if (!client_gone(c))
			client_lost(c, CLIENT_FAIL_CLOSED, "connection closed");
	} else {
		int e = EVUTIL_SOCKET_ERROR();
		snprintf(err, sizeof(err), "connection error (%s)",
		    evutil_socket_error_to_string(e));
		client_lost(c, failure_of_errno(e), err);
	}
	client_unref(c);
}

static void
client_install(struct client *c)
{
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
}

static int
client_open_socket(struct client *c, char *err, size_t errsize)
{
	int family = c->p.addr.ss_family;
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);

	if ((c->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errsize, "socket: %s", strerror(errno));
		return -1;
	}
	if (c->p.source.ss_family != 0 &&
	    bind(c->fd, (struct sockaddr *)&c->p.source, len) == -1) {
		char src[INET6_ADDRSTRLEN];
		snprintf(err, errsize, "bind to source %s: %s",
		    sockaddr_ip_text(&c->p.source, src, sizeof(src)), strerror(errno));
		return -1;
	}
	if ((c->bev = bufferevent_socket_new(c->base, c->fd, 0)) == NULL) {
		snprintf(err, errsize, "bufferevent_socket_new failed");
		return -1;
	}
	client_install(c);
	client_set_state(c, CS_CONNECTING);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&c->p.addr, (int)len) == -1) {
		snprintf(err, errsize, "connect: %s", strerror(errno));
		return -1;
	}
	return 0;
}

struct client *
client_connect(struct event_base *base, const struct client_params *p,
    client_cb cb, void *arg)
{
	struct client *c = xcalloc(1, sizeof(*c));
	char err[256];

	c->base = base;
	c->p = *p;
	if (p->policy.tlsa != NULL) {	/* the session may outlive the job */
		c->tlsa = xmalloc(sizeof(*c->tlsa));
		*c->tlsa = *p->policy.tlsa;
		c->p.policy.tlsa = c->tlsa;
	}
	c->fd = -1;
	c->cb = cb;
	c->arg = arg;
	c->state = CS_CONNECTING;
	sockaddr_ip_text(&c->p.addr, c->ip, sizeof(c->ip));
	if ((c->ev_defer = evtimer_new(base, on_defer, c)) == NULL)
		fatalx("relay: evtimer_new");
	if (client_open_socket(c, err, sizeof(err)) == -1) {
		smtp_reply_set(&c->err, 451, "4.4.1", "%s[%s]: %s", c->p.host, c->ip, err);
		c->err_stage = "connect";
		c->failure = CLIENT_FAIL_LOCAL;
		client_close_conn(c);
		c->state = CS_DEAD;
		client_defer(c, CLIENT_FAILED);
	}
	return c;
}

/* Swapping owners also swaps who hears about the bufferevent. */
void
client_set_owner(struct client *c, client_cb cb, void *arg)
{
	c->cb = cb;
	c->arg = arg;
}

/* ---- questions ------------------------------------------------------------------ */

const struct smtp_reply *
client_error(const struct client *c, bool *remote)
{
	if (remote != NULL)
		*remote = c->err_remote;
	return &c->err;
}

enum client_failure
client_failure(const struct client *c)
{
	return c->failure;
}

const char *
client_stage(const struct client *c)
{
	return client_stage_now(c);
}

const char *
client_error_stage(const struct client *c)
{
	return c->err_stage != NULL ? c->err_stage : "connect";
}

bool
client_is_ready(const struct client *c)
{
	return c->state == CS_READY && c->bev != NULL && !c->free_pending;
}

int
client_family(const struct client *c)
{
	return c->p.addr.ss_family;
}

const char *
client_ip(const struct client *c)
{
	return c->ip;
}

const char *
client_host(const struct client *c)
{
	return c->p.host;
}

bool
client_tls_active(const struct client *c)
{
	return c->tls;
}

unsigned
client_ntxn(const struct client *c)
{
	return c->ntxn;
}

bool
client_tls_handshake_failed(const struct client *c)
{
	return c->tls_failed;
}
