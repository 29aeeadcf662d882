/*
 * smtpd/server.c - the listening sockets, the connection limits, and the
 * drain on shutdown.
 *
 * Owns: the evconnlisteners and the decision to admit a connection. A
 * connection over max_connections or max_connections_per_ip gets "421
 * 4.7.0 Too many connections" written straight to the socket and is
 * closed: no session is allocated for it, so a flood costs us one accept
 * and one send each. Why the drain lives here: stopping the listeners and
 * waiting for the last session are one decision ("nothing promised is
 * dropped"), with a 10 s cap so that a stuck client cannot block shutdown.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "log.h"
#include "reply.h"
#include "role.h"
#include "server.h"
#include "session.h"

#define DRAIN_CAP_SECONDS	10
#define ACCEPT_PAUSE_SECONDS	1	/* after EMFILE and friends */

static struct evconnlistener	*listeners[CONFIG_MAX_LISTEN];
static size_t			 nlisteners;
static struct event		*ev_resume_accept;
static struct event		*ev_drain_cap;
static bool			 draining;
static enum role		 server_role = ROLE_SMTPD;	/* or ROLE_SUBMISSION */

static void
server_refuse_connection(int fd, const char *ip, unsigned port, const char *reason)
{
	char buf[REPLY_MAX];
	size_t n = reply_render(REPLY_TOO_MANY_CONNECTIONS, NULL, buf, sizeof(buf));

	log_event("connect_refused", "ip=%s port=%u reason=%s", ip, port, reason);
	/* Best effort: a fresh socket's send buffer always has room for it. */
	(void)send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)shutdown(fd, SHUT_WR);
	close(fd);
}

/*
 * Replies go out as soon as they exist. With Nagle, a reply that follows
 * another unacknowledged one waits for the client's delayed ACK (~40 ms
 * per pipelined transaction, measured): Postfix turns it off for the same
 * reason.
 */
static void
server_tune_socket(int fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1)
		log_debug("TCP_NODELAY: %s", strerror(errno));
}

/* arg: the listener's enum listen_kind. */
static void
server_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	const struct config *c = role_config();
	enum listen_kind kind = (enum listen_kind)(intptr_t)arg;
	char ip[IP_TEXT_MAX];
	unsigned port;

	(void)l;
	if (draining) {
		close(fd);
		return;
	}
	sockaddr_to_text(sa, ip, sizeof(ip), &port);
	if (session_count() >= c->max_connections)
		server_refuse_connection(fd, ip, port, "max_connections");
	else if (session_count_ip(ip) >= c->max_connections_per_ip)
		server_refuse_connection(fd, ip, port, "max_connections_per_ip");
	else {
		server_tune_socket(fd);
		session_new(fd, sa, (socklen_t)salen, kind);
	}
}

static void
server_resume_accept(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (draining)
		return;
	for (size_t i = 0; i < nlisteners; i++)
		evconnlistener_enable(listeners[i]);
}

/* accept() failed (EMFILE, ENOBUFS, ...): pause instead of spinning. */
static void
server_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct timeval tv = { ACCEPT_PAUSE_SECONDS, 0 };

	(void)l;
	(void)arg;
	log_warn("accept");
	for (size_t i = 0; i < nlisteners; i++)
		evconnlistener_disable(listeners[i]);
	event_add(ev_resume_accept, &tv);
}

void
server_start(struct event_base *base, const int *listen_fds, size_t n,
    enum role self)
{
	server_role = self;
	if (n == 0)
		log_warnx("%s: no listening socket was handed over", role_name(self));
	if ((ev_resume_accept = evtimer_new(base, server_resume_accept, NULL)) == NULL)
		fatalx("server_start: evtimer_new");
	for (size_t i = 0; i < n && i < CONFIG_MAX_LISTEN; i++) {
		if (evutil_make_socket_nonblocking(listen_fds[i]) == -1 ||
		    evutil_make_socket_closeonexec(listen_fds[i]) == -1)
			fatal("listener %d", listen_fds[i]);
		/* backlog 0: homemxd already called listen(). */
		listeners[i] = evconnlistener_new(base, server_accept_cb,
		    (void *)(intptr_t)role_listen_kind(i), LEV_OPT_CLOSE_ON_FREE, 0,
		    listen_fds[i]);
		if (listeners[i] == NULL)
			fatalx("evconnlistener_new on fd %d", listen_fds[i]);
		evconnlistener_set_error_cb(listeners[i], server_accept_error_cb);
		nlisteners++;
	}
}

static void
server_drain_cap(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_event("drain_timeout", "role=%s sessions=%zu", role_name(server_role),
	    session_count());
	role_exit(0);
}

void
server_on_session_closed(void)
{
	if (draining && session_count() == 0)
		role_exit(0);
}

void
server_shutdown(void)
{
	struct timeval cap = { DRAIN_CAP_SECONDS, 0 };

	if (draining)
		return;
	draining = true;
	for (size_t i = 0; i < nlisteners; i++)
		evconnlistener_free(listeners[i]);
	nlisteners = 0;
	log_event("drain", "role=%s sessions=%zu", role_name(server_role),
	    session_count());
	if (session_count() == 0) {
		role_exit(0);
		return;
	}
	session_shutdown_all();
	if ((ev_drain_cap = evtimer_new(role_base(), server_drain_cap, NULL)) == NULL)
		fatalx("server_shutdown: evtimer_new");
	event_add(ev_drain_cap, &cap);
}
