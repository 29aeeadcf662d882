/*
 * delivery/lmtp.h - local delivery through an LMTP server on a UNIX socket
 * (RFC 2033; Dovecot's LMTP, for Sieve filters), chosen with
 * "delivery lmtp:/path" in homemx.conf.
 *
 * Owns: one LMTP session per message: LHLO, MAIL FROM, one RCPT TO per
 * mailbox, DATA with the body dot-stuffed (relay/dotstuff.c) and then one
 * reply per accepted recipient (RFC 2033 4.2), QUIT. Why one session per
 * message and no pipelining: the server is on the same host, a session
 * costs a connect(); a single exchange at a time keeps the state machine
 * short and every reply bound to the command that caused it.
 *
 * Each recipient ends as LMTP_OK, LMTP_TEMPFAIL (4xx, or the session
 * failed before its final reply: no socket, timeout, a garbled reply) or
 * LMTP_PERMFAIL (5xx), with the server's reply text as its reason.
 */
#ifndef HMX_DELIVERY_LMTP_H
#define HMX_DELIVERY_LMTP_H

#include <stddef.h>

#include <event2/event.h>

#include "addr.h"

#define LMTP_TIMEOUT	300	/* s per read or write (RFC 5321 4.5.3.2 order) */
#define LMTP_WHY_MAX	256

enum lmtp_status { LMTP_PENDING = 0, LMTP_OK, LMTP_TEMPFAIL, LMTP_PERMFAIL };

struct lmtp_rcpt {
	char			address[ADDR_MAX + 1];
	enum lmtp_status	status;
	char			why[LMTP_WHY_MAX];
};

struct lmtp_session;

/* Called once, when every recipient has its status; the session is
 * freed right after it returns. */
typedef void (*lmtp_done_fn)(void *arg);

/*
 * Starts delivering the message in body_fd (read with pread from 0, not
 * closed) from sender to rcpts[0..n) (the caller's, filled in as replies
 * come), after the header lines in prefix (CRLF-terminated; the server
 * adds Return-Path itself). Returns the session, or NULL when the socket
 * cannot be reached: then every recipient is LMTP_TEMPFAIL already and
 * done is not called.
 */
struct lmtp_session *lmtp_start(struct event_base *, const char *socket_path,
	    const char *helo, const char *sender, const char *prefix,
	    struct lmtp_rcpt *rcpts, size_t n, int body_fd, lmtp_done_fn done,
	    void *arg);

/* Ends the session at once (the queue went away): done is not called. */
void	lmtp_abort(struct lmtp_session *);

#endif
