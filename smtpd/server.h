/*
 * smtpd/server.h - listeners, who may connect (peers linked, connection
 * limits) and the drain on shutdown.
 */
#ifndef SMTPD_SERVER_H
#define SMTPD_SERVER_H

#include <stddef.h>

#include "ipc.h"

struct event_base;
struct session_policy;

/* Takes the listening sockets handed over by homemxd; they accept once
 * every peer is linked. The kind of each (role_listen_kind) says whether
 * TLS starts at once; policy is what this role's sessions allow. */
void	server_start(struct event_base *, const int *listen_fds, size_t n,
	    enum role self, const struct session_policy *policy);
/* Submission: connections on a LISTEN_LOCAL listener (sendmail(8)) go to
 * fn, which owns fd, instead of becoming a session at once; the
 * per-address limits do not apply to them (max_connections does). */
void	server_set_local_accept(void (*fn)(int fd));
/* SIGTERM: stop accepting, drain the sessions, then role_exit(0). */
void	server_shutdown(void);
/* A session was freed (for the drain). */
void	server_on_session_closed(void);

#endif
