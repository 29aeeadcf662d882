/*
 * smtpd/links.h - the session engine's IPC links: lookup and queue, and
 * for submission also dkimsign.
 */
#ifndef SMTPD_LINKS_H
#define SMTPD_LINKS_H

#include <stdint.h>

#include "ipc_decode.h"

struct smtp_session;

/* Which role this process is (ROLE_SMTPD or ROLE_SUBMISSION); before any
 * link arrives. */
void		links_set_self(enum role self);

/* MSG_SUP_LINK: a (new) link to peer replaces the old one. */
void		links_on_link(enum role peer, int fd);

/*
 * Requests. Each returns the request id (never 0), or 0 when the link is
 * down or the send failed; then no answer will come and the caller replies
 * a temporary failure itself. An answer (or the link's failure) arrives
 * later through session_on_resolve/_opened/_committed.
 */
uint64_t	links_resolve_ask(struct smtp_session *, const char *address);
uint64_t	links_msg_open(struct smtp_session *);
uint64_t	links_msg_commit(struct smtp_session *, const struct msg_commit *);
/* Submission: the answers come through session_on_auth/_sender/_signed. */
uint64_t	links_auth_ask(struct smtp_session *, const struct msg_auth_ask *);
uint64_t	links_sender_ask(struct smtp_session *, const char *user,
		    const char *address);
/* fd: the whole message, from offset 0 (dup()ed by the send). */
uint64_t	links_sign_ask(struct smtp_session *, const char *domain, int fd);
/* Fire and forget: the queue drops the spool file. */
void		links_msg_abort(const char *msgid);

/* The session is going away: answers to its requests will be dropped. */
void		links_forget_session(struct smtp_session *);

#endif
