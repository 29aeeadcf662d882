/*
 * smtpd/server.c - the listening sockets, who may connect, and the drain
 * on shutdown.
 *
 * Owns: the evconnlisteners, whether they accept, and the decision to admit
 * a connection. The listeners accept only while every peer a session needs
 * is linked (smtpd/links.c): before start-up is complete and while a peer
 * restarts, clients wait in the kernel's backlog (or are refused by it)
 * instead of getting "451" for our own start. A connection over
 * max_connections, max_connections_per_ip (max_connections_per_known_ip for
 * a client with a good reputation, smtpd/reputation.c) or
 * max_connections_per_net (the same /24 or /64, smtpd/guard.c) gets
 * "421 4.7.0 Too many connections"
 * written straight to the socket and is closed: no session is allocated
 * for it, so a flood costs us one accept and one send each. Why the drain
 * lives here: stopping the listeners and waiting for the last session are
 * one decision ("nothing promised is dropped"), with a 10 s cap so that a
 * stuck client cannot block shutdown.
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

#include "guard.h"
#include "links.h"
#include "log.h"
#include "metrics.h"
#include "reply.h"
#include "reputation.h"
#include "role.h"
#include "server.h"
#include "session.h"
#include "util.h"

#define DRAIN_CAP_SECONDS	10
#define ACCEPT_PAUSE_SECONDS	1	/* after EMFILE and friends */

static struct evconnlistener	*listeners[CONFIG_MAX_LISTEN];
static size_t			 nlisteners;
static struct event		*ev_resume_accept;
static struct event		*ev_drain_cap;
static bool			 draining;
static bool			 accept_paused;	/* after an accept() error */
static bool			 accepting;	/* the listeners are enabled */
static enum role		 server_role = ROLE_SMTPD;	/* or ROLE_SUBMISSION */
static const struct session_policy *server_policy;
static void			(*local_accept)(int fd);	/* submission/local.c */

void
server_set_local_accept(void (*fn)(int fd))
{
	local_accept = fn;
}

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

/* A client that sent clean mail lately (never one of trusted_networks:
 * smtpd/reputation.h). */
static bool
client_known(const struct config *c, const struct client_addr *addr)
{
	return reputation_is_known(addr, (uint64_t)mono_now(), c->known_client_memory);
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

	struct client_addr addr;
	size_t same_ip, same_net;
	uint32_t per_ip, per_net;
	bool known;

	(void)l;
	if (draining) {
		close(fd);
		return;
	}
	if (kind == LISTEN_LOCAL) {
		if (session_count() >= c->max_connections || local_accept == NULL)
			server_refuse_connection(fd, "local", 0, "max_connections");
		else
			local_accept(fd);
		return;
	}
	sockaddr_to_text(sa, ip, sizeof(ip), &port);
	client_addr_from_sockaddr(sa, &addr);
	session_count_near(&addr, &same_ip, &same_net);
	known = client_known(c, &addr);
	reputation_limits(c, known, &per_ip, &per_net);
	if (session_count() >= c->max_connections)
		server_refuse_connection(fd, ip, port, "max_connections");
	else if (same_ip >= per_ip)
		server_refuse_connection(fd, ip, port, known ? "max_connections_per_known_ip" :
		    "max_connections_per_ip");
	else if (same_net >= per_net)
		server_refuse_connection(fd, ip, port, "max_connections_per_net");
	else {
		server_tune_socket(fd);
		session_new(fd, sa, (socklen_t)salen, kind, server_policy);
	}
}

/* Logs which peers the listeners wait for, each time that changes. */
static void
server_log_accepting(void)
{
	static char logged[128] = "-";
	char missing[128];

	links_missing(missing, sizeof(missing));
	if (strcmp(missing, logged) == 0)
		return;
	memcpy(logged, missing, sizeof(logged));
	if (missing[0] == '\0')
		log_event("accept", "role=%s state=on", role_name(server_role));
	else
		log_event("accept", "role=%s state=off missing=%s",
		    role_name(server_role), missing);
}

/* The listeners accept when the peers are up, unless paused or draining. */
static void
server_update_accepting(void)
{
	bool want = !draining && !accept_paused && links_all_up();

	if (nlisteners == 0)
		return;
	if (!draining && !accept_paused)
		server_log_accepting();
	if (want == accepting)
		return;
	accepting = want;
	for (size_t i = 0; i < nlisteners; i++) {
		if (want)
			evconnlistener_enable(listeners[i]);
		else
			evconnlistener_disable(listeners[i]);
	}
}

static void
server_resume_accept(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	accept_paused = false;
	server_update_accepting();
}

/* accept() failed (EMFILE, ENOBUFS, ...): pause instead of spinning. */
static void
server_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct timeval tv = { ACCEPT_PAUSE_SECONDS, 0 };

	(void)l;
	(void)arg;
	log_warn("accept");
	accept_paused = true;
	server_update_accepting();
	event_add(ev_resume_accept, &tv);
}

void
server_start(struct event_base *base, const int *listen_fds, size_t n,
    enum role self, const struct session_policy *policy)
{
	server_role = self;
	server_policy = policy;
	metrics_family("homemx_connections", METRIC_GAUGE, METRIC_STATUS,
	    "SMTP sessions open now, by listener kind.");
	metrics_family("homemx_connections_total", METRIC_COUNTER, 0,
	    "SMTP sessions accepted, by listener kind.");
	if (n == 0)
		log_warnx("%s: no listening socket was handed over", role_name(self));
	if ((ev_resume_accept = evtimer_new(base, server_resume_accept, NULL)) == NULL)
		fatalx("server_start: evtimer_new");
	for (size_t i = 0; i < n && i < CONFIG_MAX_LISTEN; i++) {
		if (evutil_make_socket_nonblocking(listen_fds[i]) == -1 ||
		    evutil_make_socket_closeonexec(listen_fds[i]) == -1)
			fatal("listener %d", listen_fds[i]);
		/* backlog 0: homemxd already called listen(); disabled until
		 * the peers are linked */
		listeners[i] = evconnlistener_new(base, server_accept_cb,
		    (void *)(intptr_t)role_listen_kind(i),
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_DISABLED, 0, listen_fds[i]);
		if (listeners[i] == NULL)
			fatalx("evconnlistener_new on fd %d", listen_fds[i]);
		evconnlistener_set_error_cb(listeners[i], server_accept_error_cb);
		nlisteners++;
	}
	links_set_change_hook(server_update_accepting);
	server_update_accepting();
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
