/*
 * relay/client.h - one outbound SMTP session (RFC 5321 client side).
 *
 * Owns: a TCP connection to one address of one MX (or smarthost), its
 * greeting, EHLO, STARTTLS, AUTH PLAIN, and the transactions run over it.
 * It knows nothing about jobs, DNS or pools: the owner gives it a
 * transaction and is told, through one callback, when the session is ready,
 * when a transaction ended (with every reply) and when it failed.
 */
#ifndef RELAY_CLIENT_H
#define RELAY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "auth.h"
#include "reply.h"
#include "tls.h"

struct event_base;
struct client;

enum client_tls {
	CLIENT_TLS_OPPORTUNISTIC = 0,	/* STARTTLS when offered */
	CLIENT_TLS_REQUIRE,		/* STARTTLS must succeed, or fail 4xx */
	CLIENT_TLS_OFF,			/* a retry after a failed handshake */
};

struct client_params {
	char				host[ADDR_DOMAIN_MAX + 1];	/* MX name: SNI, logs */
	struct sockaddr_storage		addr;		/* with port */
	char				helo[ADDR_DOMAIN_MAX + 1];
	struct sockaddr_storage		source;		/* ss_family 0: none */
	enum client_tls			tls;
	const struct relay_cred		*cred;		/* AUTH PLAIN, or NULL */
	struct tls_policy		policy;		/* what the certificate must prove */
};

enum client_event {
	CLIENT_READY,		/* open (or RSET) and idle: start a transaction */
	CLIENT_TXN_DONE,	/* the transaction ended, see its outcome */
	CLIENT_FAILED,		/* could not open, or died: see client_error() */
	CLIENT_CLOSED,		/* after client_quit(): the connection is gone */
};

/* How a session failed, for the per-attempt log (relay/attempt.c). */
enum client_failure {
	CLIENT_FAIL_NONE = 0,
	CLIENT_FAIL_REPLY,		/* the server answered 4xx/5xx */
	CLIENT_FAIL_REFUSED,		/* connect: ECONNREFUSED */
	CLIENT_FAIL_UNREACHABLE,	/* connect: no route to the address */
	CLIENT_FAIL_TIMEOUT,		/* no connection, or no reply in time */
	CLIENT_FAIL_RESET,		/* ECONNRESET, EPIPE */
	CLIENT_FAIL_CLOSED,		/* the server closed the connection */
	CLIENT_FAIL_TLS,		/* the TLS handshake failed */
	CLIENT_FAIL_PROTOCOL,		/* a reply that breaks RFC 5321 */
	CLIENT_FAIL_POLICY,		/* our rules: tls=require, auth= */
	CLIENT_FAIL_ERROR,		/* another socket error */
	CLIENT_FAIL_LOCAL,		/* our side: socket, bind, reading the body */
};

/* After CLIENT_FAILED and CLIENT_CLOSED the owner must client_free(). */
typedef void (*client_cb)(struct client *, enum client_event, void *arg);

enum txn_outcome {
	TXN_COMPLETE,		/* MAIL ok, >= 1 RCPT ok, DATA answered: see data */
	TXN_MAIL_REJECTED,	/* see mail */
	TXN_NO_RCPT,		/* every RCPT refused: see rcpt_reply[] */
	TXN_BROKEN,		/* session lost before the final dot: nothing done */
	TXN_UNKNOWN,		/* session lost after the final dot: maybe delivered */
};

struct client_txn {
	/* in */
	const char		*sender;	/* "" = null sender */
	bool			 smtputf8;	/* came with SMTPUTF8 (RFC 6531) */
	/* smtputf8, but the envelope of this transaction and the header
	 * section are all ASCII: a hop without SMTPUTF8 may take it without
	 * the parameter (RFC 6531 3.2); otherwise such a hop gets none */
	bool			 ascii_only;
	size_t			 nrcpt;
	const char *const	*rcpt;
	int			 body_fd;	/* read with pread from 0 */
	uint64_t		 body_size;
	/* out */
	enum txn_outcome	 outcome;
	struct smtp_reply	 mail;
	struct smtp_reply	*rcpt_reply;	/* nrcpt, the caller's memory */
	struct smtp_reply	 data;		/* DATA refused, or the final reply */
	size_t			 naccepted;
	bool			 downgraded;	/* sent without SMTPUTF8 (ascii_only) */
	/* "size" (over the server's SIZE: mail holds our own 552),
	 * "smtputf8" (the hop lacks it: mail holds our own 553), "mail",
	 * "rcpt", "data", "dot", or where the session died */
	const char		*end_stage;
};

struct client	*client_connect(struct event_base *, const struct client_params *,
		    client_cb, void *arg);
void		 client_set_owner(struct client *, client_cb, void *arg);
/* Only in the ready state. */
void		 client_start_txn(struct client *, struct client_txn *);
/* RSET, then CLIENT_READY (or CLIENT_FAILED). Only in the ready state. */
void		 client_reset(struct client *);
/* QUIT if idle, else just close; then CLIENT_CLOSED. */
void		 client_quit(struct client *);
/* Safe inside the callback. */
void		 client_free(struct client *);

/* Why the session failed or the transaction broke. remote: the server
 * said it (as opposed to a refused connection, a timeout, TLS trouble). */
const struct smtp_reply	*client_error(const struct client *, bool *remote);
/* "connect", "greeting", "ehlo", "starttls", "tls", "auth", "rset",
 * "mail", "rcpt", "data", "dot", "quit": where it failed. */
const char	*client_error_stage(const struct client *);
/* Where a live session is now (the same names). */
const char	*client_stage(const struct client *);
/* How it failed (attempt.c names it in the log). */
enum client_failure	 client_failure(const struct client *);
bool		 client_is_ready(const struct client *);
int		 client_family(const struct client *);
const char	*client_ip(const struct client *);
const char	*client_host(const struct client *);
bool		 client_tls_active(const struct client *);
unsigned	 client_ntxn(const struct client *);
bool		 client_tls_handshake_failed(const struct client *);

#endif
