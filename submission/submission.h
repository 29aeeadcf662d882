/*
 * submission/submission.h - the submission role (RFC 6409: 587 with
 * STARTTLS, 465 with TLS from the first byte, RFC 8314) as a policy of the
 * session engine in smtpd/ (smtpd/policy.h).
 *
 * The folder:
 *	role.c		the role: start-up, TLS required, the listeners
 *	policy.c	the policy table; MAIL needs AUTH and an owned sender,
 *			recipients need not be local, the Received: fields
 *	auth.c		AUTH PLAIN/LOGIN (RFC 4954) under TLS, checked by lookup
 *	message.c	the message: a memfd, RFC 6409 completion, From: owned,
 *			DKIM-signed by dkimsign, then into the spool
 *	sasl.c		the AUTH response parsers (pure)
 *	headers.c	the header-section scanner and From: parser (pure)
 *	local.c		the local socket of sendmail(8): who the client is
 *			(SO_PEERCRED), what it may send as
 * Owns: struct submission_state, the per-session state behind
 * s->policy_state: who logged in, the AUTH exchange in progress, and the
 * message waiting to be signed. Why separate from smtpd/: port 25 never
 * links this code, so nothing here can be reached by an unauthenticated
 * sender on port 25.
 */
#ifndef SUBMISSION_SUBMISSION_H
#define SUBMISSION_SUBMISSION_H

#include "../smtpd/policy.h"
#include "headers.h"
#include "role.h"
#include "sasl.h"

/* An AUTH exchange in progress; wiped and freed at its end. */
struct auth_exchange {
	enum sasl_mech		 mech;
	bool			 want_password;	/* LOGIN: the user name came */
	struct sasl_credentials	 cred;
	char			 user[AUTH_USER_MAX + 1];	/* normalized, for the answer */
};

/* When each step of the message's end of DATA happened (mono_now()), for
 * the debug line event=trace (message.c): where a submitted message waits
 * between the final dot and "250". */
struct message_trace {
	double			 data;		/* 354 about to go out */
	double			 eod;		/* the final dot */
	double			 from_done;	/* every From: address owned */
	double			 signed_at;	/* dkimsign's answer */
	unsigned		 messages;	/* s->messages before the commit */
};

/* A client of the local socket (submission/local.c), as the kernel and
 * lookup said. */
struct local_client {
	uint32_t		 uid;
	char			 login[CONFIG_LOGIN_MAX + 1];
	char			 sender[ADDR_MAX + 1];	/* D: local_sender or LOGIN@hostname */
	char			 trace[CONFIG_LOGIN_MAX + 32];	/* Received: "from" text */
};

struct submission_state {
	char			 auth_user[AUTH_USER_MAX + 1];	/* "" until AUTH succeeded */
	unsigned		 auth_failures;
	struct auth_exchange	*auth;
	/* the last MAIL FROM lookup found owned by auth_user in this session
	 * ("" if none): policy.c asks again only for another address */
	char			 owned_sender[ADDR_MAX + 1];
	/* the message of the transaction: in a memfd until it is signed */
	int			 body_fd;
	struct header_scan	*headers;
	char			(*from_addrs)[ADDR_MAX + 1];	/* From: addresses */
	size_t			 nfrom_addrs;
	size_t			 from_checked;	/* owned so far */
	struct message_trace	 trace;
	char			 sign_domain[ADDR_DOMAIN_MAX + 1];	/* asked of dkimsign */
	struct local_client	*local;		/* NULL on 587/465 */
};

static inline struct submission_state *
submission_of(const struct smtp_session *s)
{
	return s->policy_state;
}

extern const struct session_policy submission_policy;
extern const struct role_ops submission_role_ops;

/* auth.c */
extern const struct policy_command submission_auth_command;
void	auth_input_line(struct smtp_session *, const char *line, size_t len);
void	auth_input_abort(struct smtp_session *);
/* Wipes and frees the exchange (the password never outlives it). */
void	auth_wipe(struct submission_state *);

/* message.c */
int	message_data_start(struct smtp_session *, const char **why);
void	message_data_sink(struct smtp_session *, const uint8_t *, size_t);
void	message_end_of_data(struct smtp_session *);
void	message_tx_end(struct smtp_session *);

/* local.c */
extern const struct session_policy local_policy;
void	local_init(void);
/* addr is the local client's own sender address (owned by definition). */
bool	local_from_is_own(const struct submission_state *, const char *addr);
/* No key for tried: the next domain to ask for a local message, if any. */
bool	local_sign_fallback(const struct submission_state *, const char *tried,
	    char *next, size_t size);

/* policy.c: event=sender; where is "mail" (MAIL FROM) or "header" (From:). */
void	log_sender(struct smtp_session *, const char *where, const char *address,
	    const char *verdict);
/* policy.c: RCPT for a logged-in or local client: elsewhere is relayed,
 * ours must exist. */
void	submission_check_rcpt(struct smtp_session *, enum resolve_verdict,
	    enum reply_id, const char *reason);

#endif
