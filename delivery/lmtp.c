/*
 * delivery/lmtp.c - the LMTP client of the delivery role (see lmtp.h).
 *
 * Owns: one session's socket (a bufferevent on a UNIX stream socket), its
 * state, the reply being parsed (relay/reply.c: LMTP replies have SMTP's
 * grammar, RFC 2033 4.1) and the body stream (relay/dotstuff.c, read from
 * the spool file in chunks so a large message is never held whole).
 * Every reply is the answer to the one command sent before it; after the
 * final dot there is one reply per accepted recipient, in RCPT order
 * (RFC 2033 4.2). Anything that breaks the session before a recipient has
 * its final reply makes that recipient LMTP_TEMPFAIL: the queue tries
 * again, and a duplicate is better than a loss.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "../relay/dotstuff.h"
#include "../relay/reply.h"
#include "lmtp.h"
#include "log.h"
#include "util.h"

#define BODY_CHUNK	65536	/* read from the spool file at a time */
#define BODY_HIGH	262144	/* stop filling the output buffer above this */
#define BODY_LOWAT	65536	/* refill when the output drains below this */
#define LMTP_PREFIX_MAX	(ADDR_MAX + 64)	/* "Delivered-To: ADDRESS" */

enum lmtp_state { LS_GREETING, LS_LHLO, LS_MAIL, LS_RCPT, LS_DATA, LS_BODY,
	LS_DOT };

struct lmtp_session {
	struct bufferevent	*bev;
	enum lmtp_state		 state;
	struct smtp_reply	 reply;
	char			 helo[ADDR_DOMAIN_MAX + 1];
	char			 sender[ADDR_MAX + 1];
	char			 prefix[LMTP_PREFIX_MAX];
	struct lmtp_rcpt	*rcpts;
	size_t			 n;
	size_t			 asked;		/* RCPT sent for rcpts[0..asked) */
	bool			*accepted;	/* 2xx to its RCPT */
	size_t			 naccepted;
	size_t			 nfinal;	/* replies after the dot */
	int			 body_fd;
	uint64_t		 body_off;	/* next byte of body_fd to send */
	struct dotstuff		 ds;
	lmtp_done_fn		 done;
	void			*arg;
	bool			 over;	/* every recipient has its status */
};

static void	on_read(struct bufferevent *, void *);
static void	on_write(struct bufferevent *, void *);
static void	on_event(struct bufferevent *, short, void *);

/* ---- ending ----------------------------------------------------------- */

static void
session_free(struct lmtp_session *s)
{
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	free(s->accepted);
	free(s);
}

/* Every recipient has its answer: QUIT (best effort, the replies that
 * matter are in), report, free. Only the libevent callbacks call it, last:
 * whatever runs below them just sets s->over. */
static void
session_finish(struct lmtp_session *s)
{
	evutil_socket_t fd = bufferevent_getfd(s->bev);

	if (fd != -1 && evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		(void)send(fd, "QUIT\r\n", 6, MSG_NOSIGNAL | MSG_DONTWAIT);
	s->done(s->arg);
	session_free(s);
}

static void
set_status(struct lmtp_rcpt *r, enum lmtp_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
set_status(struct lmtp_rcpt *r, enum lmtp_status st, const char *fmt, ...)
{
	va_list ap;

	r->status = st;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

/* The session broke: whoever has no final answer yet is deferred. */
static void
session_fail(struct lmtp_session *s, const char *what)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->rcpts[i].status == LMTP_PENDING)
			set_status(&s->rcpts[i], LMTP_TEMPFAIL, "LMTP: %s", what);
	s->over = true;
}

/* A reply that ends every recipient still open with its class. */
static void
fail_open_with_reply(struct lmtp_session *s, const char *after)
{
	enum lmtp_status st = smtp_reply_is_permanent(&s->reply) ?
	    LMTP_PERMFAIL : LMTP_TEMPFAIL;

	for (size_t i = 0; i < s->n; i++)
		if (s->rcpts[i].status == LMTP_PENDING)
			set_status(&s->rcpts[i], st, "LMTP %s: %s", after,
			    s->reply.text);
	s->over = true;
}

/* ---- commands --------------------------------------------------------- */

static void
send_line(struct lmtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
send_line(struct lmtp_session *s, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

/* The next RCPT, or what follows the last one. */
static void
next_rcpt(struct lmtp_session *s)
{
	if (s->asked < s->n) {
		send_line(s, "RCPT TO:<%s>", s->rcpts[s->asked++].address);
		s->state = LS_RCPT;
	} else if (s->naccepted == 0)
		s->over = true;		/* each has its refusal */
	else {
		send_line(s, "DATA");
		s->state = LS_DATA;
	}
}

static void
fill_body(struct lmtp_session *s)
{
	static uint8_t in[BODY_CHUNK];
	static uint8_t enc[DOTSTUFF_OUT_MAX(BODY_CHUNK) + DOTSTUFF_FINISH_MAX];
	struct evbuffer *out = bufferevent_get_output(s->bev);

	while (s->state == LS_BODY && evbuffer_get_length(out) < BODY_HIGH) {
		ssize_t n = pread(s->body_fd, in, sizeof(in), (off_t)s->body_off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			/* half a message is out: only closing discards it */
			session_fail(s, "cannot read the message");
			return;
		}
		if (n == 0) {
			evbuffer_add(out, enc, dotstuff_finish(&s->ds, enc));
			s->state = LS_DOT;
			return;
		}
		evbuffer_add(out, enc, dotstuff_chunk(&s->ds, in, (size_t)n, enc));
		s->body_off += (uint64_t)n;
	}
}

/* The prefix goes through the same encoder as the body after it. */
static void
start_body(struct lmtp_session *s)
{
	uint8_t enc[DOTSTUFF_OUT_MAX(LMTP_PREFIX_MAX)];
	size_t len = strlen(s->prefix);

	evbuffer_add(bufferevent_get_output(s->bev), enc,
	    dotstuff_chunk(&s->ds, (const uint8_t *)s->prefix, len, enc));
	s->state = LS_BODY;
}

/* ---- replies ---------------------------------------------------------- */

static void
rcpt_reply(struct lmtp_session *s)
{
	size_t i = s->asked - 1;
	struct lmtp_rcpt *r = &s->rcpts[i];

	if (smtp_reply_is_positive(&s->reply)) {
		s->accepted[i] = true;
		s->naccepted++;
	} else
		set_status(r, smtp_reply_is_permanent(&s->reply) ? LMTP_PERMFAIL :
		    LMTP_TEMPFAIL, "LMTP RCPT: %s", s->reply.text);
	next_rcpt(s);
}

/* RFC 2033 4.2: one reply per accepted recipient, in RCPT order. */
static void
final_reply(struct lmtp_session *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->accepted[i] && s->rcpts[i].status == LMTP_PENDING)
			break;
	if (i == s->n) {
		session_fail(s, "more replies than recipients");
		return;
	}
	if (smtp_reply_is_positive(&s->reply))
		set_status(&s->rcpts[i], LMTP_OK, "%s", s->reply.text);
	else
		set_status(&s->rcpts[i], smtp_reply_is_permanent(&s->reply) ?
		    LMTP_PERMFAIL : LMTP_TEMPFAIL, "LMTP DATA: %s",
		    s->reply.text);
	if (++s->nfinal == s->naccepted)
		s->over = true;
}

/* One complete reply, for the command of s->state. */
static void
handle_reply(struct lmtp_session *s)
{
	bool ok = smtp_reply_is_positive(&s->reply);

	switch (s->state) {
	case LS_GREETING:
	case LS_LHLO:
		/* refused: the server is not ready for anybody */
		if (!ok)
			session_fail(s, s->state == LS_GREETING ? "greeting refused" :
			    "LHLO refused");
		else if (s->state == LS_GREETING) {
			send_line(s, "LHLO %s", s->helo);
			s->state = LS_LHLO;
		} else {
			send_line(s, "MAIL FROM:<%s>", s->sender);
			s->state = LS_MAIL;
		}
		break;
	case LS_MAIL:
		if (ok)
			next_rcpt(s);
		else
			fail_open_with_reply(s, "MAIL");
		break;
	case LS_RCPT:
		rcpt_reply(s);
		break;
	case LS_DATA:
		if (s->reply.code != 354) {
			fail_open_with_reply(s, "DATA");
			break;
		}
		dotstuff_init(&s->ds);
		start_body(s);
		bufferevent_setwatermark(s->bev, EV_WRITE, BODY_LOWAT, 0);
		fill_body(s);
		break;
	case LS_BODY:
		session_fail(s, "a reply in the middle of the message");
		break;
	case LS_DOT:
		final_reply(s);
		break;
	}
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct lmtp_session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line;

	while (!s->over && (line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
		enum reply_parse p = smtp_reply_feed(&s->reply, (const uint8_t *)line, len);
		free(line);
		if (p == REPLY_PARSE_MORE)
			continue;
		if (p != REPLY_PARSE_DONE) {
			session_fail(s, smtp_reply_parse_text(p));
			break;
		}
		handle_reply(s);
		smtp_reply_init(&s->reply);
	}
	if (!s->over && evbuffer_get_length(in) > REPLY_LINE_MAX)
		session_fail(s, "reply line too long");
	if (s->over)
		session_finish(s);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct lmtp_session *s = arg;

	(void)bev;
	if (s->state == LS_BODY)
		fill_body(s);
	if (s->over)
		session_finish(s);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct lmtp_session *s = arg;
	char why[128];

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof(why), "no answer in %d s", LMTP_TIMEOUT);
	else if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "connection closed by the server");
	else
		snprintf(why, sizeof(why), "connection error: %s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	session_fail(s, why);
	session_finish(s);
}

/* ---- start -------------------------------------------------------------- */

static int
connect_unix(const char *path, char *why, size_t whysize)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(why, whysize, "socket path too long");
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(why, whysize, "socket: %s", strerror(errno));
		return -1;
	}
	/* a UNIX socket connects at once or not at all (EAGAIN: backlog full) */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(why, whysize, "cannot connect to %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void
fail_all(struct lmtp_rcpt *rcpts, size_t n, const char *why)
{
	for (size_t i = 0; i < n; i++)
		set_status(&rcpts[i], LMTP_TEMPFAIL, "LMTP: %s", why);
}

struct lmtp_session *
lmtp_start(struct event_base *base, const char *socket_path, const char *helo,
    const char *sender, const char *prefix, struct lmtp_rcpt *rcpts, size_t n,
    int body_fd, lmtp_done_fn done, void *arg)
{
	struct timeval tv = { LMTP_TIMEOUT, 0 };
	struct lmtp_session *s;
	char why[LMTP_WHY_MAX - 8];
	int fd;

	for (size_t i = 0; i < n; i++)
		rcpts[i].status = LMTP_PENDING;
	if (strlen(prefix) >= LMTP_PREFIX_MAX) {
		fail_all(rcpts, n, "header prefix too long");
		return NULL;
	}
	if ((fd = connect_unix(socket_path, why, sizeof(why))) == -1) {
		fail_all(rcpts, n, why);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->accepted = xcalloc(n > 0 ? n : 1, sizeof(*s->accepted));
	s->rcpts = rcpts;
	s->n = n;
	s->body_fd = body_fd;
	s->done = done;
	s->arg = arg;
	snprintf(s->helo, sizeof(s->helo), "%s", helo);
	snprintf(s->sender, sizeof(s->sender), "%s", sender);
	memcpy(s->prefix, prefix, strlen(prefix) + 1);
	smtp_reply_init(&s->reply);
	if ((s->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		session_free(s);
		fail_all(rcpts, n, "bufferevent_socket_new failed");
		return NULL;
	}
	bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	return s;
}

void
lmtp_abort(struct lmtp_session *s)
{
	session_free(s);
}
