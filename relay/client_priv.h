/*
 * relay/client_priv.h - the inside of one outbound SMTP session, shared by
 * relay/client.c (the session: connect, greeting, EHLO, STARTTLS, AUTH,
 * replies, callbacks) and relay/client_txn.c (a transaction: MAIL, RCPT,
 * DATA, the body, the final dot). Nothing else includes it: the owner of a
 * session sees only relay/client.h.
 *
 * Owns: the definition of struct client and enum client_state, and the
 * helpers both files use to move a session on.
 */
#ifndef RELAY_CLIENT_PRIV_H
#define RELAY_CLIENT_PRIV_H

#include <arpa/inet.h>

#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "dotstuff.h"
#include "reply.h"

struct bufferevent;
struct event;

enum client_state {
	CS_CONNECTING,
	CS_GREETING,
	CS_EHLO,
	CS_HELO,
	CS_STARTTLS,
	CS_TLS_HANDSHAKE,
	CS_AUTH,
	CS_READY,
	CS_RSET,
	CS_TXN,		/* replies to MAIL, RCPT..., DATA */
	CS_BODY,
	CS_DOT,
	CS_QUIT,
	CS_DEAD,
};

struct client {
	struct event_base	*base;
	struct client_params	 p;
	struct dane_set		*tlsa;		/* owned: p.policy.tlsa points here */
	enum client_state	 state;
	struct bufferevent	*bev;
	int			 fd;
	bool			 bev_owns_fd;
	client_cb		 cb;
	void			*arg;
	char			 ip[INET6_ADDRSTRLEN];

	struct smtp_reply	 reply;		/* being read */
	struct ehlo_caps	 caps;
	bool			 tls;
	bool			 tls_failed;
	bool			 tls_verified;
	char			 tls_why[80];		/* relay_tls_verified() */

	struct smtp_reply	 err;
	bool			 err_remote;
	const char		*err_stage;
	enum client_failure	 failure;

	struct client_txn	*txn;
	size_t			 txn_idx;	/* which reply comes next */
	bool			 pipelined;
	bool			 mail_ok;
	bool			 discard_dot;	/* DATA went through with no rcpt */
	enum txn_outcome	 discard_outcome;
	uint64_t		 body_off;
	struct dotstuff		 ds;
	unsigned		 ntxn;

	int			 depth;
	bool			 free_pending;
	struct event		*ev_defer;
	enum client_event	 deferred;
};

/* client.c */
const char	*client_state_name(enum client_state);
/* Enters st, with its timeout (none while the body streams out). */
void	client_set_state(struct client *, enum client_state);
/* One command line; CRLF added; our own bounded fields only. */
void	client_send(struct client *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Tells the owner now (it may free the client: the caller holds a ref). */
void	client_emit(struct client *, enum client_event);
/* Tells the owner from the event loop, not inside its current call. */
void	client_defer(struct client *, enum client_event);
/* Our own failure: err gets "code esc text", the session dies. */
void	client_fail_local(struct client *, enum client_failure kind, int code,
	    const char *esc, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The connection is lost: a 451 4.4.2 that names the stage. */
void	client_lost(struct client *, enum client_failure kind, const char *why);

/* client_txn.c */
/* The reply in CS_TXN: MAIL, then each RCPT, then DATA. */
void	client_txn_reply(struct client *, const struct smtp_reply *);
/* A reply in CS_BODY, before the end of the body. */
void	client_body_reply(struct client *, const struct smtp_reply *);
/* The reply in CS_DOT. */
void	client_dot_reply(struct client *, const struct smtp_reply *);
/* Refills the output from the spool file while the body goes out. */
void	client_fill_body(struct client *);

#endif
