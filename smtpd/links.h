/*
 * smtpd/links.h - the session engine's IPC links: lookup and queue, for
 * port 25 also screen, for submission also dkimsign.
 *
 * Every request names an owner (a session, opaque here) and the function
 * to call with the answer: links.c knows nothing of sessions, it only
 * keeps the promise that each request sent is answered exactly once -
 * by the peer, or as a temporary failure when the link goes down, when
 * links_fail_pending() says the owner gave up waiting - unless the owner
 * said links_forget() first.
 */
#ifndef SMTPD_LINKS_H
#define SMTPD_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc_bounce.h"
#include "ipc_decode.h"
#include "screen_facts.h"

/* Which role this process is (ROLE_SMTPD or ROLE_SUBMISSION); before any
 * link arrives. */
void		links_set_self(enum role self);

/* MSG_SUP_LINK: a (new) link to peer replaces the old one. */
void		links_on_link(enum role peer, int fd);

/* True when every peer this process needs is linked right now. */
bool		links_all_up(void);
/* The peers that are down, comma-separated ("lookup,queue"), for logs. */
void		links_missing(char *buf, size_t size);
/* Called (not re-entrantly) after a link came up or went down. */
void		links_set_change_hook(void (*hook)(void));

/* The answers, one callback type per question. owner is what the request
 * was sent with. A tempfail value stands for "no answer". */
typedef void	(*resolve_done_fn)(void *owner, const struct msg_resolve_answer *);
/* fd is the spool file when status is QUEUE_OK (the callee owns it), else -1. */
typedef void	(*opened_done_fn)(void *owner, enum queue_status,
		    const char *msgid, int fd);
typedef void	(*committed_done_fn)(void *owner, enum queue_status);
typedef void	(*auth_done_fn)(void *owner, enum auth_result);
typedef void	(*sender_done_fn)(void *owner, enum sender_result);
typedef void	(*signed_done_fn)(void *owner, const struct msg_sign_answer *);
/* result LOCAL_USER_TEMPFAIL stands for "no answer" too. */
typedef void	(*local_user_done_fn)(void *owner, const struct msg_local_user_answer *);
/* NULL: no verdict (the screen is down, timed out or answered garbage). */
typedef void	(*screen_done_fn)(void *owner, const struct screen_verdict *);
typedef void	(*message_verdict_fn)(void *owner, const struct screen_message_verdict *);
/* fd: a read-only view of the body when status is QUEUE_OK (the callee
 * owns it), else -1. */
typedef void	(*reader_done_fn)(void *owner, enum queue_status, int fd);
/* ok false: no answer (the queue is down, timed out or answered garbage). */
typedef void	(*tag_done_fn)(void *owner, bool ok, enum bounce_tag_result);

/*
 * Requests. Each returns the request id (never 0), or 0 when the link is
 * down or the send failed; then the callback will never run and the
 * caller replies a temporary failure itself.
 */
uint64_t	links_resolve_ask(void *owner, const char *address, resolve_done_fn);
uint64_t	links_msg_open(void *owner, opened_done_fn);
uint64_t	links_msg_commit(void *owner, const struct msg_commit *,
		    committed_done_fn);
uint64_t	links_auth_ask(void *owner, const struct msg_auth_ask *, auth_done_fn);
uint64_t	links_sender_ask(void *owner, const char *user, const char *address,
		    sender_done_fn);
/* Submission, sendmail(8): the login of a local client's uid. */
uint64_t	links_local_user_ask(void *owner, uint32_t uid, local_user_done_fn);
/* fd: the whole message, from offset 0 (dup()ed by the send). */
uint64_t	links_sign_ask(void *owner, const char *domain, int fd,
		    signed_done_fn);
/* Fire and forget: the queue drops the spool file. */
void		links_msg_abort(const char *msgid);
/* Port 25: judge a recipient (stage RCPT), answered within deadline
 * seconds or failed as a temporary failure; hints are fire and forget. */
uint64_t	links_screen_ask(void *owner, const struct screen_facts *,
		    unsigned deadline, screen_done_fn);
/* End of DATA, port 25: a read-only fd of the body from the queue, then
 * the screen's verdict on the whole message (fd dup()ed by the send). */
uint64_t	links_msg_read(void *owner, const char *msgid, reader_done_fn);
uint64_t	links_screen_message_ask(void *owner, const struct screen_facts *,
		    const char (*rcpt)[ADDR_MAX + 1], unsigned nrcpt, int fd,
		    message_verdict_fn);
/* Port 25: is the BATV tag of this recipient one the queue made? */
uint64_t	links_tag_check(void *owner, const char *tagged_address, tag_done_fn);
void		links_screen_hint(const struct screen_facts *);

/* The owner is going away: answers to its requests will be dropped (a
 * late spool file is closed and aborted). */
void		links_forget(void *owner);
/* One request (its id, as links_*_ask returned it) is no longer wanted:
 * as links_forget(), for that request only. */
void		links_forget_request(uint64_t req_id);
/* The owner stops waiting (its answer timer ran out): each of its pending
 * requests is answered now as a temporary failure. Returns how many. */
size_t		links_fail_pending(void *owner);

#endif
