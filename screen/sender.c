/*
 * screen/sender.c - can the MAIL FROM domain receive a reply? check_sender
 * (screen/checks.h): MX, a null MX (RFC 7505), the A/AAAA fallback of
 * RFC 5321 5.1 when there is no MX, a domain that does not exist, and the
 * sender domain's TLD against suspicious_tlds.
 *
 * Owns: nothing between calls. Why no SMTP callout: asking the sender's
 * server whether the address exists costs a connection per message, is
 * refused or lied to by many servers, and lets anyone aim our server at a
 * third party. The DNS answers tell whether a bounce could be delivered,
 * which is what matters here. A bounce (MAIL FROM:<>) has no domain.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "checks.h"

/* The domain of the canonical MAIL FROM, or NULL (<>, none, a literal). */
static const char *
sender_domain(const struct screen_facts *f)
{
	const char *at;

	if (!(f->flags & SCREEN_FACT_MAIL_SEEN) || (f->flags & SCREEN_FACT_NULL_SENDER) ||
	    f->mail_from[0] == '\0' || (at = strrchr(f->mail_from, '@')) == NULL ||
	    at[1] == '\0' || at[1] == '[')
		return NULL;
	return at + 1;
}

static void
sender_tld(const struct screen_config *sc, const char *domain, struct score *s)
{
	const char *dot = strrchr(domain, '.');
	const char *tld = dot != NULL ? dot + 1 : domain;

	for (size_t i = 0; i < sc->ntlds && i < SCREEN_TLDS_MAX; i++)
		if (strcasecmp(tld, sc->tlds[i]) == 0) {
			score_add(s, screen_weight_name(W_SUSPICIOUS_TLD),
			    sc->weights[W_SUSPICIOUS_TLD], "tld=%s", sc->tlds[i]);
			return;
		}
}

static int
min_of(const int *v, size_t n)
{
	int m = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

static int
max_of(const int *v, size_t n)
{
	int m = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

/* The MX lookup failed for now: any of the outcomes, or none. */
static void
sender_unknown(const int *w, const char *domain, const char *what, struct score *s)
{
	const int outcomes[] = { w[W_SENDER_NXDOMAIN], w[W_SENDER_NO_MAIL], w[W_SENDER_NULL_MX] };
	size_t n = sizeof(outcomes) / sizeof(outcomes[0]);

	score_add_unknown(s, screen_weight_name(W_SENDER_NO_MAIL), min_of(outcomes, n),
	    max_of(outcomes, n), "domain=%s %s=tempfail", domain, what);
}

/* No MX: the domain's address records are its implicit MX. */
static void
sender_no_mx(const int *w, const char *domain, struct dns_view *v, struct score *s)
{
	struct dv_answer a4, a6;

	dv_lookup(v, domain, DV_A, &a4);
	dv_lookup(v, domain, DV_AAAA, &a6);
	if (a4.status == DV_MISS || a6.status == DV_MISS)
		return;
	if (a4.status == DV_OK || a6.status == DV_OK)
		return;		/* mail goes to the domain's own address */
	if (a4.status == DV_TEMPFAIL || a6.status == DV_TEMPFAIL) {
		score_add_unknown(s, screen_weight_name(W_SENDER_NO_MAIL), 0,
		    w[W_SENDER_NO_MAIL], "domain=%s mx=none a=tempfail", domain);
		return;
	}
	score_add(s, screen_weight_name(W_SENDER_NO_MAIL), w[W_SENDER_NO_MAIL],
	    "domain=%s mx=none a=none aaaa=none", domain);
}

void
check_sender(const struct screen_env *env, const struct screen_facts *f,
    struct dns_view *v, struct score *s)
{
	const int *w = env->cfg->screen.weights;
	const char *domain = sender_domain(f);
	struct dv_answer mx;

	if (domain == NULL)
		return;
	sender_tld(&env->cfg->screen, domain, s);
	switch (dv_lookup(v, domain, DV_MX, &mx)) {
	case DV_MISS:
		return;
	case DV_TEMPFAIL:
		sender_unknown(w, domain, "mx", s);
		return;
	case DV_NXDOMAIN:
		score_add(s, screen_weight_name(W_SENDER_NXDOMAIN), w[W_SENDER_NXDOMAIN],
		    "domain=%s nxdomain", domain);
		return;
	case DV_OK:
		if (mx.n == 1 && mx.rr[0].len == 0)
			score_add(s, screen_weight_name(W_SENDER_NULL_MX), w[W_SENDER_NULL_MX],
			    "domain=%s null mx", domain);
		return;
	default:
		break;
	}
	if (mx.truncated) {	/* MX records, none naming a host (resolver.c) */
		score_add(s, screen_weight_name(W_SENDER_NO_MAIL), w[W_SENDER_NO_MAIL],
		    "domain=%s mx=unusable", domain);
		return;
	}
	sender_no_mx(w, domain, v, s);
}
