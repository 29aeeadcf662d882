/*
 * screen/spf.h - RFC 7208 check_host() over the screen's DNS view.
 *
 * Owns: the SPF question (client IP, HELO, sender, our host name) and its
 * answer (result, the domain checked, the term that decided, the
 * explanation, the lookup counts). Why a function of (request, view): it
 * follows the round model of screen/dnsview.h. spf_evaluate() runs
 * check_host() from the start every time it is called; an answer that is
 * not cached yet is recorded in the view as a miss and the call returns
 * SPF_EVAL_PENDING. The caller fetches the misses and calls it again; the
 * call that meets no miss returns SPF_EVAL_DONE with the final answer.
 * Nothing here blocks, reads resolv.conf or keeps state between calls.
 */
#ifndef SCREEN_SPF_H
#define SCREEN_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "dnsview.h"

#define SPF_TERM_LOG_MAX	96	/* the deciding term, cut for the log */
#define SPF_EXPLAIN_MAX		256	/* an exp= text, cut (RFC 7208 6.2) */
#define SPF_PROBLEM_MAX		96	/* why permerror or temperror */
#define SPF_LOOKUP_LIMIT	10	/* RFC 7208 4.6.4: DNS-querying terms */
#define SPF_VOID_LIMIT		2	/* RFC 7208 4.6.4: void lookups */
#define SPF_NAMES_LIMIT		10	/* RFC 7208 4.6.4: MX or PTR names per term */

enum spf_result {
	SPF_NONE = 1,	/* no record, or no valid domain to check */
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,	/* a DNS error: try again later */
	SPF_PERMERROR,	/* a broken record, or a limit exceeded */
	SPF_RESULT_MAX = SPF_PERMERROR
};

enum spf_eval_status {
	SPF_EVAL_DONE = 1,	/* the outcome is final */
	SPF_EVAL_PENDING,	/* misses recorded in the view: ask again later */
};

struct spf_request {
	const char	*ip;		/* client address: "192.0.2.1", "2001:db8::1",
					 * "::ffff:192.0.2.1" (treated as IPv4, 5.6) */
	const char	*helo;		/* HELO/EHLO argument as sent, or "" */
	const char	*sender;	/* MAIL FROM "local@domain"; "" for <>: the
					 * HELO identity postmaster@helo (2.4) */
	const char	*receiver;	/* our host name, %{r}; NULL or "" = "unknown" */
	time_t		 now;		/* %{t}; a parameter so rounds agree */
};

struct spf_outcome {
	enum spf_result	result;
	char		domain[DV_NAME_MAX + 1];	/* the domain checked ("" if none) */
	char		term[SPF_TERM_LOG_MAX + 1];	/* "ip4:192.0.2.0/24", "-all",
							 * "default" (no term matched) */
	char		explanation[SPF_EXPLAIN_MAX + 1];	/* fail only; "" if none */
	char		problem[SPF_PROBLEM_MAX + 1];	/* permerror/temperror: why */
	unsigned	lookups;	/* DNS-querying terms evaluated */
	unsigned	void_lookups;
};

/*
 * Runs check_host() for the request. Returns SPF_EVAL_DONE with *out
 * filled, or SPF_EVAL_PENDING when DNS answers are missing (recorded in
 * the view; *out is then meaningless). Deterministic for a given request
 * and set of cached answers.
 */
enum spf_eval_status	spf_evaluate(struct dns_view *,
			    const struct spf_request *, struct spf_outcome *out);

/* "pass", "fail", ... as RFC 7208 2.6 spells them. */
const char	*spf_result_name(enum spf_result);

#endif
