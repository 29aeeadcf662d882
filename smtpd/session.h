/*
 * smtpd/session.h - one inbound SMTP session: what the listener and the
 * IPC links may ask of it.
 */
#ifndef SMTPD_SESSION_H
#define SMTPD_SESSION_H

#include <stddef.h>
#include <sys/socket.h>

#include "ipc_decode.h"

struct smtp_session;

#include "config.h"

/* Takes ownership of fd (a non-blocking accepted socket) accepted on a
 * listener of this kind: LISTEN_SMTP is port 25; LISTEN_SUBMISSION (587,
 * STARTTLS) and LISTEN_SUBMISSIONS (465, TLS from the first byte) are
 * submission sessions: AUTH, sender ownership, RFC 6409 completion, DKIM. */
void	session_new(int fd, const struct sockaddr *sa, socklen_t salen,
	    enum listen_kind kind);

/* Answers from the other roles (or their failure, as a tempfail). */
void	session_on_resolve(struct smtp_session *, const struct msg_resolve_answer *);
/* fd is the spool file when status is QUEUE_OK (the session owns it), else -1. */
void	session_on_opened(struct smtp_session *, enum queue_status,
	    const char *msgid, int fd);
void	session_on_committed(struct smtp_session *, enum queue_status);
/* Submission: lookup's answers to AUTH and sender ownership, dkimsign's
 * signature. */
void	session_on_auth(struct smtp_session *, enum auth_result);
void	session_on_sender(struct smtp_session *, enum sender_result);
void	session_on_signed(struct smtp_session *, const struct msg_sign_answer *);

/* Connection accounting for the listener. */
size_t	session_count(void);
size_t	session_count_ip(const char *ip);

/* Stop: 421 to every session not awaiting a commit; those get their
 * answer first. */
void	session_shutdown_all(void);

/* "1.2.3.4" or "::1" (an IPv4-mapped IPv6 address is shown as IPv4). */
void	sockaddr_to_text(const struct sockaddr *, char *ip, size_t size,
	    unsigned *port);

#endif
