/*
 * relay/jobtls.c - see jobtls.h.
 */
#include <stdio.h>
#include <string.h>

#include "jobtls.h"
#include "log.h"
#include "tlsrpt.h"

bool
jobtls_wants_tlsa(const struct job *j, const struct job_host *h, const struct config *cfg)
{
	return cfg->dns_validating && j->mx_secure && h->rule.relay_host[0] == '\0';
}

/* RFC 7672 2.2.2: TLSA under insecure addresses is no TLSA; said once per
 * host and job, as the reason a DNSSEC-signed MX gets no DANE. */
static void
address_gate(const struct job *j, struct job_host *h)
{
	if (!h->dnssec_addrs || !h->addrs_insecure || h->dane == DANE_OFF)
		return;
	h->dane = dane_addr_gate(h->dane, false);
	h->tlsp.tlsa = NULL;
	log_event("relay_dane_off", "qid=%s domain=%s mx=%s reason=insecure_address",
	    j->m.msgid, j->domain, h->name);
}

void
jobtls_note_dropped(const char *host, const struct dane_set *set)
{
	static char last[ADDR_DOMAIN_MAX + 1];

	if (strcmp(last, host) == 0)
		return;		/* once, not for every message to that host */
	snprintf(last, sizeof(last), "%s", host);
	log_warnx("relay: TLSA of %s: %zu of %zu records ignored (more than %d records, or "
	    "over %d octets in one or %d in all)%s", host, set->nseen - set->n, set->nseen,
	    DANE_TLSA_MAX, DANE_DATA_MAX, DANE_SET_DATA_MAX,
	    set->dropped_usable ? ": a usable one among them, no match possible" : "");
}

void
jobtls_choose(struct job *j)
{
	for (size_t i = 0; i < j->nhosts; i++) {
		struct job_host *h = &j->hosts[i];
		address_gate(j, h);
		h->tlsp.kind = tlspolicy_choose(h->rule.tls_require, h->dane,
		    j->have_sts ? &j->sts : NULL, h->name, &h->skip);
		snprintf(h->tlsp.name, sizeof(h->tlsp.name), "%s", h->name);
		snprintf(h->tlsp.domain, sizeof(h->tlsp.domain), "%s", j->domain);
		if (h->tlsp.kind != TLSP_OPPORTUNISTIC)
			log_debug("relay job %s: %s policy=%s", j->m.msgid, h->name,
			    tls_policy_word(h->tlsp.kind));
	}
}

void
jobtls_skip(const struct job *j, const struct job_host *h, struct smtp_reply *r)
{
	bool tlsa = h->skip == TLSPOLICY_SKIP_TLSA_FAILED;

	if (tlsa)
		smtp_reply_set(r, 451, "4.7.5", "TLSA lookup for %s failed under a DNSSEC-signed "
		    "MX: not sent without DANE (RFC 7672 2.2.1)", h->name);
	else
		smtp_reply_set(r, 451, "4.7.5", "MX host %s is not in the MTA-STS policy of %s "
		    "(RFC 8461 4.1)", h->name, j->domain);
	log_event("relay_tls_skip", "qid=%s domain=%s mx=%s policy=%s reason=%s", j->m.msgid,
	    j->domain, h->name, tls_policy_word(h->tlsp.kind),
	    tlsa ? "tlsa_lookup_failed" : "mx_not_in_policy");
	/* RFC 8460 4.3.1: no valid TLSA from the resolver; an MX the policy
	 * does not name fails its validation */
	tlsrpt_note(j->domain, h->tlsp.kind, NULL, h->name, "",
	    tlsa ? TLSRPT_DNSSEC_INVALID : TLSRPT_VALIDATION_FAILURE);
}
