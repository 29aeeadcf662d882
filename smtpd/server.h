/*
 * smtpd/server.h - listeners, connection limits and the drain on shutdown.
 */
#ifndef SMTPD_SERVER_H
#define SMTPD_SERVER_H

#include <stddef.h>

#include "ipc.h"

struct event_base;

/* Starts accepting on the listening sockets handed over by homemxd; the
 * kind of each (role_listen_kind) decides what its sessions are. */
void	server_start(struct event_base *, const int *listen_fds, size_t n,
	    enum role self);
/* SIGTERM: stop accepting, drain the sessions, then role_exit(0). */
void	server_shutdown(void);
/* A session was freed (for the drain). */
void	server_on_session_closed(void);

#endif
