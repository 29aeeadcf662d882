/*
 * smtpd/session_io.c - the connection under an SMTP session: bufferevents,
 * STARTTLS (RFC 3207) and implicit TLS (RFC 8314), the deadlines, reading
 * command lines and DATA, and the life cycle (new, close, free, drain).
 *
 * Owns: the list of live sessions and their count, each session's
 * bufferevent, its two timers (the deadline of its state and the cap on
 * the whole session), and stress mode. Every state change goes through
 * session_set_state(), which restarts the deadline that belongs to the new
 * state (smtpd/guard.h): bytes from the client never move a deadline, so
 * a line dripped one byte at a time dies like an idle one. Input is read
 * in order; while an answer from another role is outstanding, parsing
 * stops and later pipelined lines stay buffered (bounded by a read
 * watermark), so a transaction written in a single write() works and a
 * slow client never blocks another. The client's deadlines never run
 * while *we* are the ones being waited on. The dialog itself is
 * smtpd/session.c's.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sodium.h>

#include "engine.h"
#include "lines.h"
#include "links.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "role.h"
#include "server.h"
#include "session.h"
#include "util.h"

#define INPUT_HIGH_WATER	(64 * 1024)	/* stop reading while this much waits */
#define OUTPUT_PAUSE		(64 * 1024)	/* stop answering a client that does not read */
#define LINE_BUF_MAX		(16 * 1024)	/* the longest line a policy may allow */

static const struct {
	const char		*name;
	enum deadline_kind	 deadline;
	bool			 reads_commands;
} state_table[SESSION_STATE_COUNT] = {
	[SESSION_GREETING] =		{ "greeting",		DEADLINE_GREETING,	false },
	[SESSION_INIT] =		{ "init",		DEADLINE_COMMAND,	true },
	[SESSION_READY] =		{ "ready",		DEADLINE_COMMAND,	true },
	[SESSION_MAIL] =		{ "mail",		DEADLINE_COMMAND,	true },
	[SESSION_RCPT] =		{ "rcpt",		DEADLINE_COMMAND,	true },
	[SESSION_MAIL_WAIT] =		{ "mail_wait",		DEADLINE_ANSWER,	false },
	[SESSION_RCPT_WAIT] =		{ "rcpt_wait",		DEADLINE_ANSWER,	false },
	[SESSION_DATA_WAIT] =		{ "data_wait",		DEADLINE_ANSWER,	false },
	[SESSION_DATA] =		{ "data",		DEADLINE_DATA,		false },
	[SESSION_EOD_WAIT] =		{ "eod_wait",		DEADLINE_EOD_ANSWER,	false },
	[SESSION_COMMIT_WAIT] =		{ "commit_wait",	DEADLINE_ANSWER,	false },
	[SESSION_TLS_WAIT] =		{ "tls_wait",		DEADLINE_COMMAND,	false },
	[SESSION_TLS_HANDSHAKE] =	{ "tls_handshake",	DEADLINE_COMMAND,	false },
	[SESSION_POLICY_INPUT] =	{ "policy_input",	DEADLINE_COMMAND,	false },
	[SESSION_POLICY_WAIT] =		{ "policy_wait",	DEADLINE_ANSWER,	false },
	[SESSION_CLOSING] =		{ "closing",		DEADLINE_LINGER,	false },
};

static TAILQ_HEAD(, smtp_session) sessions = TAILQ_HEAD_INITIALIZER(sessions);
static size_t	nsessions;
static bool	stressed;

static void	session_free(struct smtp_session *);
static const char *kind_name(enum listen_kind);

/* homemx_connections (now) and _total, by listener kind (lib/metrics.h;
 * server_start declares them): +1 at connect, -1 when freed. */
static void
session_metric(const struct smtp_session *s, int delta)
{
	char labels[METRICS_LABELS_MAX] = "";

	metrics_label(labels, sizeof(labels), "kind", kind_name(s->kind));
	metrics_add("homemx_connections", labels, delta);
	if (delta > 0)
		metrics_add("homemx_connections_total", labels, delta);
}

/* ---- counts ------------------------------------------------------------- */

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

void
session_count_near(const struct client_addr *a, size_t *same_ip, size_t *same_net)
{
	struct smtp_session *s;

	*same_ip = *same_net = 0;
	TAILQ_FOREACH(s, &sessions, entry) {
		if (client_same_ip(&s->addr, a))
			(*same_ip)++;
		if (client_same_net(&s->addr, a))
			(*same_net)++;
	}
}

const char *
session_state_name(enum session_state st)
{
	return state_table[st].name;
}

/* ---- deadlines and stress mode ------------------------------------------- */

static enum deadline_kind
session_deadline(const struct smtp_session *s)
{
	enum deadline_kind k = state_table[s->state].deadline;

	if (k == DEADLINE_COMMAND && s->state == SESSION_INIT && !s->spoke)
		return DEADLINE_FIRST_COMMAND;
	return k;
}

/* Arms the deadline whose clock started at s->clock_start. */
static void
session_schedule(struct smtp_session *s)
{
	enum deadline_kind k = session_deadline(s);
	double left = s->clock_start + deadline_seconds(k, session_cfg(), stressed) -
	    mono_now();
	struct timeval tv = { 0, 0 };

	if (left > 0) {
		tv.tv_sec = (time_t)left;
		tv.tv_usec = (suseconds_t)((left - (double)tv.tv_sec) * 1e6);
	}
	event_add(s->timer, &tv);
}

/* A new deadline for this state, counted from now. */
static void
session_restart_clock(struct smtp_session *s)
{
	s->clock_start = mono_now();
	s->data_block = 0;
	session_schedule(s);
}

/* Stress mode changes the client deadlines of every session at once,
 * each still counted from when its own clock started. */
static void
session_update_stress(void)
{
	const struct config *c = session_cfg();
	bool next = stress_next(stressed, nsessions, c->max_connections);
	struct smtp_session *s;

	if (next == stressed)
		return;
	stressed = next;
	log_event("stress", "state=%s sessions=%zu max_connections=%u",
	    stressed ? "on" : "off", nsessions, c->max_connections);
	TAILQ_FOREACH(s, &sessions, entry) {
		enum deadline_kind k = session_deadline(s);
		if (k == DEADLINE_GREETING || k == DEADLINE_FIRST_COMMAND ||
		    k == DEADLINE_COMMAND || k == DEADLINE_DATA)
			session_schedule(s);
	}
}

void
session_set_state(struct smtp_session *s, enum session_state next)
{
	log_debug("sess=%s state %s -> %s", s->id, state_table[s->state].name,
	    state_table[next].name);
	s->state = next;
	session_restart_clock(s);
}

static void
log_timeout(struct smtp_session *s, const char *limit)
{
	log_event("timeout", "sess=%s ip=%s state=%s limit=%s stress=%s", s->id,
	    s->ip, state_table[s->state].name, limit, stressed ? "yes" : "no");
}

/* ---- output --------------------------------------------------------------- */

void
session_write(struct smtp_session *s, const void *buf, size_t n)
{
	if (s->bev != NULL && bufferevent_write(s->bev, buf, n) == -1)
		log_debug("sess=%s: cannot queue reply", s->id);
}

static bool
session_output_full(struct smtp_session *s)
{
	return evbuffer_get_length(bufferevent_get_output(s->bev)) > OUTPUT_PAUSE;
}

/* ---- reading commands ----------------------------------------------------- */

/* Not SMTP at all (HTTP, or TLS on a plaintext port): close at once. */
static void
session_not_smtp(struct smtp_session *s, enum probe_verdict v)
{
	log_event("non_smtp", "sess=%s ip=%s reason=%s", s->id, s->ip, probe_reason(v));
	evbuffer_drain(bufferevent_get_input(s->bev),
	    evbuffer_get_length(bufferevent_get_input(s->bev)));
	session_close(s, NO_REPLY, probe_reason(v));
}

/* The first bytes of a plaintext session; PROBE_SMTP once that is clear. */
static enum probe_verdict
session_probe(struct smtp_session *s)
{
	uint8_t head[PROBE_MAX];
	ev_ssize_t n;

	if (s->spoke || s->tls_active)
		return PROBE_SMTP;
	n = evbuffer_copyout(bufferevent_get_input(s->bev), head, sizeof(head));
	return probe_classify(head, n > 0 ? (size_t)n : 0);
}

static size_t
session_line_max(const struct smtp_session *s, struct evbuffer *in)
{
	char head[5];
	ev_ssize_t n;
	size_t max = SMTP_LINE_MAX;

	if (s->policy->line_max == NULL)
		return SMTP_LINE_MAX;
	n = evbuffer_copyout(in, head, sizeof(head));
	max = s->policy->line_max(s, head, n > 0 ? (size_t)n : 0);
	return max > LINE_BUF_MAX ? LINE_BUF_MAX : max;
}

/* A line was refused whole: a policy reading its own input gives up. */
static void
session_line_refused(struct smtp_session *s)
{
	if (s->state == SESSION_POLICY_INPUT && s->policy->input_abort != NULL)
		s->policy->input_abort(s);
}

static void
session_refuse_line(struct smtp_session *s, enum reply_id r, const char *line,
    size_t len)
{
	struct smtp_command none = { .verb = VERB_NONE, .arg = line, .arglen = len };
	struct command_ctx c = { .cmd = &none };

	session_refuse(s, &c, r);
}

/* Of a refused line, the verb alone is logged: the rest may hold
 * credentials (AUTH), and a policy's own input is never logged. */
static size_t
loggable_len(const struct smtp_session *s, const char *line, size_t len)
{
	size_t n = 0;

	if (s->state == SESSION_POLICY_INPUT)
		return 0;
	while (n < len && line[n] != ' ' && line[n] != '\r' && line[n] != '\n')
		n++;
	return n;
}

/*
 * Takes one command line from the input. Returns true if input was
 * consumed (a command ran, or a bad line was answered), false if a
 * complete line has not arrived yet.
 */
static bool
session_take_command(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	static char line[LINE_BUF_MAX];
	size_t len = 0, max;
	enum probe_verdict v = session_probe(s);

	if (v == PROBE_NEED_MORE)
		return false;
	if (v != PROBE_SMTP) {
		session_not_smtp(s, v);
		return true;
	}
	max = session_line_max(s, in);
	switch (line_take(in, max, &s->discard_line, line, &len)) {
	case LINE_NONE:
		return false;
	case LINE_TOO_LONG:
		session_refuse_line(s, REPLY_LINE_TOO_LONG, "", 0);
		if (!s->discard_line)
			session_line_refused(s);
		break;
	case LINE_TOO_LONG_END:
		session_line_refused(s);
		break;
	case LINE_BARE_NEWLINE:
		session_refuse_line(s, REPLY_BARE_NEWLINE, line, loggable_len(s, line, len));
		session_line_refused(s);
		break;
	case LINE_OK:
		s->spoke = true;
		if (s->state == SESSION_POLICY_INPUT)
			s->policy->input_line(s, line, len);
		else
			session_dispatch(s, line, len);
		break;
	}
	/* a policy may have allowed a long line: it may have held a password */
	if (max > SMTP_LINE_MAX)
		sodium_memzero(line, len);
	/* the next line gets its own deadline, whatever came before it */
	if (state_table[s->state].deadline == DEADLINE_COMMAND && !s->discard_line)
		session_restart_clock(s);
	return true;
}

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
		/* a whole block arrived: the next one gets its own deadline */
		s->data_block += used;
		if (s->data_block >= DATA_BLOCK)
			session_restart_clock(s);
	}
	return false;
}

/* The client closed its side: once nothing is left to answer, close too. */
static void
session_check_eof(struct smtp_session *s)
{
	if (!s->client_eof)
		return;
	if (state_table[s->state].reads_commands || s->state == SESSION_DATA ||
	    s->state == SESSION_GREETING || s->state == SESSION_TLS_HANDSHAKE ||
	    s->state == SESSION_POLICY_INPUT)
		session_close(s, NO_REPLY, s->state == SESSION_DATA ? "eof_in_data" : "eof");
}

void
session_process(struct smtp_session *s)
{
	bool progressed = true;

	if (s->processing)
		return;
	s->processing = true;
	while (progressed && !session_output_full(s)) {
		if (state_table[s->state].reads_commands ||
		    s->state == SESSION_POLICY_INPUT)
			progressed = session_take_command(s);
		else if (s->state == SESSION_DATA)
			progressed = session_take_data(s);
		else
			progressed = false;
	}
	s->processing = false;
	session_check_eof(s);
}

/* ---- TLS ------------------------------------------------------------------ */

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

/* Swaps in a server TLS bufferevent on the socket; false if impossible. */
static bool
session_tls_bev(struct smtp_session *s)
{
	if ((s->bev = tls_accept_bev(role_base(), s->fd)) == NULL) {
		log_warnx("sess=%s: cannot start TLS", s->id);
		log_event("disconnect", "sess=%s ip=%s reason=tls_setup messages=%u errors=%u",
		    s->id, s->ip, s->messages, s->errors);
		session_free(s);
		return false;
	}
	s->bev_owns_fd = true;
	session_setup_bev(s);
	session_set_state(s, SESSION_TLS_HANDSHAKE);
	return true;
}

/*
 * RFC 3207 and CVE-2011-0411: whatever the client pipelined after STARTTLS
 * is plaintext an attacker may have injected; drop it, stop reading, and
 * let the 220 drain before the handshake starts. The rule (OpenSSL with
 * libevent): never read lines from the plaintext buffer after STARTTLS,
 * and never put a TLS filter over a bufferevent that still holds input.
 */
void
session_begin_starttls(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t junk = evbuffer_get_length(in);

	if (junk > 0) {
		log_event("tls_discard", "sess=%s ip=%s bytes=%zu", s->id, s->ip, junk);
		evbuffer_drain(in, junk);
	}
	bufferevent_disable(s->bev, EV_READ);
	session_reply(s, REPLY_TLS_GO);
	session_set_state(s, SESSION_TLS_WAIT);
}

/* The 220 has left: swap the plaintext bufferevent for a TLS one. */
static void
session_start_tls(struct smtp_session *s)
{
	bufferevent_free(s->bev);	/* created without CLOSE_ON_FREE: fd stays */
	s->bev = NULL;
	(void)session_tls_bev(s);
}

/* RFC 3207 4.2: forget everything learnt before TLS. */
static void
session_tls_established(struct smtp_session *s)
{
	tls_describe(s->bev, s->tls_version, sizeof(s->tls_version),
	    s->tls_cipher, sizeof(s->tls_cipher));
	s->tls_active = true;
	s->helo[0] = '\0';
	session_tx_free(s);
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
	enum probe_verdict v;

	(void)bev;
	if (s->state == SESSION_GREETING) {
		if ((v = session_probe(s)) == PROBE_HTTP || v == PROBE_TLS) {
			session_not_smtp(s, v);
			return;
		}
		/* Not a reason to close on its own: the screen weighs it
		 * (early_talker) and refuses at RCPT, where the log shows
		 * what the client wanted. Its early bytes are dropped. */
		struct evbuffer *in = bufferevent_get_input(s->bev);
		if (!s->early_talker)
			log_event("early_talker", "sess=%s ip=%s bytes=%zu", s->id, s->ip,
			    evbuffer_get_length(in));
		s->early_talker = true;
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
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

/* No reply can go out in the middle of a TLS handshake. */
static int
session_timeout_reply(const struct smtp_session *s)
{
	if (s->state == SESSION_TLS_HANDSHAKE || s->state == SESSION_TLS_WAIT)
		return NO_REPLY;
	return REPLY_TIMEOUT;
}

static void
session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;
	bool flushed = evbuffer_get_length(bufferevent_get_output(s->bev)) == 0;

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
		if (flushed) {
			session_start_tls(s);
			return;
		}
		break;
	default:
		break;
	}
	/* We are the ones being waited on: the silence is a temporary failure. */
	if (state_table[s->state].deadline == DEADLINE_ANSWER ||
	    state_table[s->state].deadline == DEADLINE_EOD_ANSWER) {
		if (links_fail_pending(s) > 0)
			return;
		log_warnx("sess=%s: nothing pending in state %s",
		    s->id, state_table[s->state].name);
	}
	log_timeout(s, deadline_name(session_deadline(s)));
	session_close(s, session_timeout_reply(s), "timeout");
}

/* session_timeout: the whole session's time is up. A promised commit is
 * answered first. */
static void
session_cap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;

	(void)fd;
	(void)what;
	if (s->state == SESSION_CLOSING)
		return;
	log_timeout(s, "session");
	if (s->state == SESSION_COMMIT_WAIT) {
		s->close_after_answer = REPLY_TIMEOUT;
		s->close_reason = "session_timeout";
		return;
	}
	session_close(s, session_timeout_reply(s), "session_timeout");
}

/* ---- life cycle ----------------------------------------------------------- */

void
session_close(struct smtp_session *s, int reply, const char *reason)
{
	if (s->state == SESSION_CLOSING)
		return;
	if (reply != NO_REPLY)
		session_reply(s, (enum reply_id)reply);
	links_forget(s);
	session_tx_free(s);
	log_event("disconnect", "sess=%s ip=%s reason=%s messages=%u errors=%u",
	    s->id, s->ip, reason, s->messages, s->errors);
	bufferevent_disable(s->bev, EV_READ);
	event_del(s->cap_timer);
	session_set_state(s, SESSION_CLOSING);
	/* Freed once the output has drained (write callback) or on linger. */
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		event_active(s->timer, EV_TIMEOUT, 0);
}

static void
session_free(struct smtp_session *s)
{
	session_metric(s, -1);
	TAILQ_REMOVE(&sessions, s, entry);
	nsessions--;
	links_forget(s);
	session_tx_free(s);
	if (s->policy->on_close != NULL)
		s->policy->on_close(s);
	event_free(s->timer);
	event_free(s->cap_timer);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	if (!s->bev_owns_fd)
		close(s->fd);
	free(s);
	session_update_stress();
	server_on_session_closed();
}

static const char *
kind_name(enum listen_kind kind)
{
	return kind == LISTEN_SMTP ? "smtp" : kind == LISTEN_SUBMISSION ?
	    "submission" : kind == LISTEN_LOCAL ? "local" : "submissions";
}

static struct smtp_session *
session_alloc(int fd, const struct sockaddr *sa, enum listen_kind kind,
    const struct session_policy *policy)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));
	struct timeval cap = { session_cfg()->session_timeout, 0 };
	uint32_t rnd;

	random_bytes(&rnd, sizeof(rnd));
	snprintf(s->id, sizeof(s->id), "%08x", rnd);
	s->fd = fd;
	s->kind = kind;
	s->policy = policy;
	s->close_after_answer = NO_REPLY;
	client_addr_from_sockaddr(sa, &s->addr);
	sockaddr_to_text(sa, s->ip, sizeof(s->ip), &s->port);
	if ((s->timer = evtimer_new(role_base(), session_timer_cb, s)) == NULL ||
	    (s->cap_timer = evtimer_new(role_base(), session_cap_cb, s)) == NULL)
		fatalx("session_new: out of memory");
	event_add(s->cap_timer, &cap);
	TAILQ_INSERT_TAIL(&sessions, s, entry);
	nsessions++;
	return s;
}

/* The first state: a TLS handshake (465), the greeting delay, or the banner. */
static void
session_start(struct smtp_session *s)
{
	/* 465: TLS from the first byte (RFC 8314 3.3); the greeting follows it. */
	if (s->kind == LISTEN_SUBMISSIONS) {
		(void)session_tls_bev(s);
		return;
	}
	/* No BEV_OPT_CLOSE_ON_FREE: STARTTLS must free it and keep the fd. */
	if ((s->bev = bufferevent_socket_new(role_base(), s->fd, 0)) == NULL)
		fatalx("session_new: out of memory");
	session_setup_bev(s);
	if (session_cfg()->greeting_delay > 0 && s->policy->greeting_delay) {
		session_set_state(s, SESSION_GREETING);
		return;
	}
	session_set_state(s, SESSION_INIT);
	session_reply(s, REPLY_GREETING);
}

void
session_new(int fd, const struct sockaddr *sa, socklen_t salen,
    enum listen_kind kind, const struct session_policy *policy)
{
	struct smtp_session *s = session_alloc(fd, sa, kind, policy);

	(void)salen;
	log_event("connect", "sess=%s ip=%s port=%u kind=%s", s->id, s->ip, s->port,
	    kind_name(kind));
	session_metric(s, 1);
	if (policy->on_connect != NULL)
		policy->on_connect(s);
	session_start(s);
	session_update_stress();
}

void
session_shutdown_all(void)
{
	struct smtp_session *s;

	TAILQ_FOREACH(s, &sessions, entry) {
		if (s->state == SESSION_COMMIT_WAIT) {
			s->close_after_answer = REPLY_SHUTDOWN;	/* its 250/451 comes first */
			s->close_reason = "shutdown";
		} else
			session_close(s, REPLY_SHUTDOWN, "shutdown");
	}
}
