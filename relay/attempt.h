/*
 * relay/attempt.h - the per-attempt log: one event=relay_attempt line for
 * every session the relay opened (or reused) to one address of one MX, for
 * one message, whatever became of it.
 *
 * Owns: the format of those lines, one helper per kind of outcome:
 *
 *	outcome=delivered	the final reply was 2xx (code=, accepted=N/M)
 *	outcome=4xx|5xx		a reply refused it (stage=greeting, ehlo, starttls,
 *				auth, rset, mail, rcpt, data, dot; code=)
 *	outcome=refused|unreachable|timeout|reset|closed|tls_failed|
 *		protocol_error|policy|error|local_error
 *				no reply decided it (stage=, error=)
 *
 * Every line names the message (qid=), the MX (mx=), the address (ip=),
 * its family (family=ipv4|ipv6), TLS (tls=yes|no) and whether the session
 * was new or reused (conn=). Why a line per attempt: the event=relay line
 * (relay.c) tells the final result per recipient; an operator who wants to
 * know why the first MX was skipped, or why IPv4 was used, reads these.
 */
#ifndef RELAY_ATTEMPT_H
#define RELAY_ATTEMPT_H

#include <stdbool.h>
#include <stddef.h>

#include "client.h"
#include "reply.h"

/* "refused", "timeout", ...: the outcome= word of a failure. */
const char	*attempt_failure_name(enum client_failure);
/* A transaction got a 2xx to the message: accepted of nrcpt recipients. */
void	attempt_log_delivered(const char *qid, const struct client *, bool reused,
	    const struct smtp_reply *, size_t accepted, size_t nrcpt);
/* A 4xx/5xx reply at stage ended the attempt. */
void	attempt_log_refused(const char *qid, const struct client *, bool reused,
	    const char *stage, const struct smtp_reply *);
/* No reply decided it: kind says what happened, error is our text. */
void	attempt_log_failed(const char *qid, const struct client *, bool reused,
	    const char *stage, enum client_failure kind, const char *error);

#endif
