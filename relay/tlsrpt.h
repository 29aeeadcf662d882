/*
 * relay/tlsrpt.h - SMTP TLS Reporting (RFC 8460): per policy domain and
 * day, how many sessions succeeded and which failed how, written as the
 * RFC's JSON report into relay_state_dir (relay/state.h) as
 * tlsrpt-YYYY-MM-DD-DOMAIN.json. Sending it to the domain's rua= is left
 * to the admin (optional in the RFC's sense for this server: 3, 5.1).
 *
 * Owns: the counts of the current UTC day (bounded: TLSRPT_DOMAINS_MAX
 * domains, TLSRPT_DETAILS_MAX failure rows each; more is counted in the
 * summary only) and the JSON text (tlsrpt_format, pure, unit-tested).
 * Only sessions under a published policy are counted: MTA-STS (enforce
 * or testing) as policy-type "sts", DANE as "tlsa" (RFC 8460 4.4); the
 * admin's own tls=require is no policy of the receiving domain.
 * The files are rewritten whole when a count changed, at most every
 * TLSRPT_FLUSH_SECONDS, at the day's end and at shutdown.
 */
#ifndef RELAY_TLSRPT_H
#define RELAY_TLSRPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "tls.h"

#define TLSRPT_DOMAINS_MAX	256
#define TLSRPT_DETAILS_MAX	16
#define TLSRPT_FLUSH_SECONDS	60

/* RFC 8460 4.3 result types; TLSRPT_OK is a successful session. */
enum tlsrpt_result {
	TLSRPT_OK = 0,
	TLSRPT_STARTTLS_NOT_SUPPORTED,
	TLSRPT_CERT_HOST_MISMATCH,
	TLSRPT_CERT_EXPIRED,
	TLSRPT_CERT_NOT_TRUSTED,
	TLSRPT_VALIDATION_FAILURE,
	TLSRPT_TLSA_INVALID,
	TLSRPT_DNSSEC_INVALID,
	TLSRPT_STS_FETCH_ERROR,
	TLSRPT_STS_INVALID,
	TLSRPT_STS_WEBPKI_INVALID,
};

struct tlsrpt_detail {
	enum tlsrpt_result	result;
	char			mx[ADDR_DOMAIN_MAX + 1];	/* "" for a fetch error */
	char			ip[64];
	uint64_t		count;
};

struct tlsrpt_domain {
	char			domain[ADDR_DOMAIN_MAX + 1];
	bool			sts;		/* policy-type sts, else tlsa */
	char			policy[512];	/* policy-string lines, '\n' separated */
	uint64_t		ok;
	uint64_t		failed;
	size_t			ndetails;
	struct tlsrpt_detail	details[TLSRPT_DETAILS_MAX];
	bool			dirty;
};

struct event_base;

/* org: organization-name and the report-id's host (our hostname). */
void		 tlsrpt_init(struct event_base *, const char *org);
/* One session (or a policy fetch) for domain under policy kind;
 * policy_text describes the policy (NULL: keep what is known). */
void		 tlsrpt_note(const char *domain, enum tls_policy_kind, const char *policy_text,
		    const char *mx, const char *ip, enum tlsrpt_result);
/* An OpenSSL X509_V_ERR_* of a failed check as a result type. */
enum tlsrpt_result tlsrpt_result_of_verify(long x509_error);
const char	*tlsrpt_result_word(enum tlsrpt_result);
/* TLSA records as policy-string lines ("3 1 1 4f1b..."), into buf. */
const char	*tlsrpt_tlsa_text(const struct dane_set *, char *buf, size_t size);
/* Writes the files of the counts that changed (shutdown, tests). */
void		 tlsrpt_flush(void);
/* The RFC 8460 4.4 JSON of one domain's day (day: UTC midnight). */
size_t		 tlsrpt_format(const struct tlsrpt_domain *, time_t day, const char *org,
		    char *buf, size_t size);

#endif
