/*
 * smtpd/session.h - one SMTP session as the listener sees it: start one,
 * count them, stop them all.
 */
#ifndef SMTPD_SESSION_H
#define SMTPD_SESSION_H

#include <stddef.h>
#include <sys/socket.h>

#include "config.h"
#include "guard.h"

struct session_policy;

/* Takes ownership of fd (a non-blocking accepted socket) accepted on a
 * listener of this kind (LISTEN_SUBMISSIONS: TLS from the first byte);
 * the policy decides what the port allows (smtpd/policy.h). */
void	session_new(int fd, const struct sockaddr *sa, socklen_t salen,
	    enum listen_kind kind, const struct session_policy *policy);

/* Connection accounting for the listener. */
size_t	session_count(void);
/* Sessions from the same address, and from the same /24 or /64. */
void	session_count_near(const struct client_addr *, size_t *same_ip,
	    size_t *same_net);

/* Stop: 421 to every session not awaiting a commit; those get their
 * answer first. */
void	session_shutdown_all(void);

/* "1.2.3.4" or "::1" (an IPv4-mapped IPv6 address is shown as IPv4). */
void	sockaddr_to_text(const struct sockaddr *, char *ip, size_t size,
	    unsigned *port);

#endif
