/*
 * relay/attempt.c - the event=relay_attempt lines (see attempt.h).
 *
 * Owns: nothing but the format. Reply texts come from remote servers and
 * pass through log_escape(); the rest (names, addresses, stages) is ours
 * or validated (MX names by c-ares and addr.c, addresses by inet_ntop).
 */
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>

#include "attempt.h"
#include "log.h"

static const char *failure_names[] = {
	[CLIENT_FAIL_NONE] = "none",		[CLIENT_FAIL_REPLY] = "reply",
	[CLIENT_FAIL_REFUSED] = "refused",	[CLIENT_FAIL_UNREACHABLE] = "unreachable",
	[CLIENT_FAIL_TIMEOUT] = "timeout",	[CLIENT_FAIL_RESET] = "reset",
	[CLIENT_FAIL_CLOSED] = "closed",	[CLIENT_FAIL_TLS] = "tls_failed",
	[CLIENT_FAIL_PROTOCOL] = "protocol_error", [CLIENT_FAIL_POLICY] = "policy",
	[CLIENT_FAIL_ERROR] = "error",		[CLIENT_FAIL_LOCAL] = "local_error",
};

const char *
attempt_failure_name(enum client_failure f)
{
	if ((size_t)f >= sizeof(failure_names) / sizeof(failure_names[0]) ||
	    failure_names[f] == NULL)
		return "error";
	return failure_names[f];
}

static const char *
family_word(int family)
{
	return family == AF_INET ? "ipv4" : family == AF_INET6 ? "ipv6" : "-";
}

/* "qid=.. mx=.. ip=.. family=.. tls=.. conn=..", the part every line has. */
static void
where(char *buf, size_t size, const char *qid, const struct client *c, bool reused)
{
	(void)snprintf(buf, size, "qid=%s mx=%s ip=%s family=%s tls=%s conn=%s", qid,
	    client_host(c), client_ip(c)[0] != '\0' ? client_ip(c) : "-",
	    family_word(client_family(c)), client_tls_active(c) ? "yes" : "no",
	    reused ? "reused" : "new");
}

void
attempt_log_delivered(const char *qid, const struct client *c, bool reused,
    const struct smtp_reply *r, size_t accepted, size_t nrcpt)
{
	char w[ADDR_DOMAIN_MAX + 160], reply[LOG_ESCAPE_MAX];

	where(w, sizeof(w), qid, c, reused);
	log_event("relay_attempt", "%s outcome=delivered stage=dot code=%d accepted=%zu/%zu "
	    "reply=\"%s\"", w, r->code, accepted, nrcpt,
	    log_escape(reply, sizeof(reply), r->text, strlen(r->text)));
}

void
attempt_log_refused(const char *qid, const struct client *c, bool reused,
    const char *stage, const struct smtp_reply *r)
{
	char w[ADDR_DOMAIN_MAX + 160], reply[LOG_ESCAPE_MAX];

	where(w, sizeof(w), qid, c, reused);
	log_event("relay_attempt", "%s outcome=%s stage=%s code=%d reply=\"%s\"", w,
	    smtp_reply_is_permanent(r) ? "5xx" : "4xx", stage, r->code,
	    log_escape(reply, sizeof(reply), r->text, strlen(r->text)));
}

void
attempt_log_failed(const char *qid, const struct client *c, bool reused,
    const char *stage, enum client_failure kind, const char *error)
{
	char w[ADDR_DOMAIN_MAX + 160], err[LOG_ESCAPE_MAX];

	where(w, sizeof(w), qid, c, reused);
	log_event("relay_attempt", "%s outcome=%s stage=%s error=\"%s\"", w,
	    attempt_failure_name(kind), stage,
	    log_escape(err, sizeof(err), error, strlen(error)));
}
