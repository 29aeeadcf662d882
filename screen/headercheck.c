/*
 * screen/headercheck.c - check_headers(): the header section of a
 * received message against RFC 5322 and against forgery of our own
 * users (screen/checks.h).
 *
 * Owns: the weights named header_* and forged_local_from. What counts:
 *  - RFC 5322 3.6: exactly one From and one Date; Message-ID is a SHOULD,
 *    so its absence weighs little, a second one a little more.
 *  - A From whose addresses do not parse, name no address, or name
 *    several domains (RFC 7489 6.6.1: mail readers show one).
 *  - Raw 8-bit bytes in the header section without SMTPUTF8 (RFC 6532
 *    allows UTF-8 header fields only in mail sent with it, RFC 6531).
 *  - The header section over screen/message.h's limits, or a line in it
 *    that is not a field.
 *  - A From in one of our own domains (cfg->domains) from a client outside
 *    trusted_networks, without a valid DKIM signature of that domain
 *    (relaxed alignment): our users' mail leaves through submission and is
 *    signed there, so such a message poses as one of them.
 * Why the forgery rule asks for DKIM and not SPF: an SPF pass may come
 * from a shared sending service the domain lists, where anyone can send;
 * only our own key signs for our domains. check_dkim runs before this
 * check in the same round.
 */
#include <string.h>

#include "checks.h"
#include "dmarc.h"
#include "message.h"

static void
add(struct score *s, const int *w, enum screen_weight_id id, const char *reason)
{
	score_add(s, screen_weight_name(id), w[id], "%s", reason);
}

/* One, none or several of a field that must be there once. */
static void
check_count(const struct screen_message *m, struct score *s, const int *w,
    const char *name, enum screen_weight_id none, enum screen_weight_id several)
{
	size_t n = msg_field_count(m, name);

	if (n == 0)
		score_add(s, screen_weight_name(none), w[none], "no %s field", name);
	else if (n > 1)
		score_add(s, screen_weight_name(several), w[several], "%zu %s fields", n, name);
}

static void
check_from(const struct screen_message *m, struct score *s, const int *w)
{
	const struct msg_from *from = &m->from;

	if (from->nfields == 0) {
		add(s, w, W_HEADER_NO_FROM, "no From field");
		return;
	}
	if (from->nfields > 1)
		score_add(s, screen_weight_name(W_HEADER_FROM_MULTIPLE),
		    w[W_HEADER_FROM_MULTIPLE], "%zu From fields", from->nfields);
	else if (from->status == MSG_FROM_TOO_MANY || from->ndomains > 1)
		score_add(s, screen_weight_name(W_HEADER_FROM_MULTIPLE),
		    w[W_HEADER_FROM_MULTIPLE], "From addresses in %s%zu domains",
		    from->status == MSG_FROM_TOO_MANY ? "over " : "", from->ndomains);
	if (from->status == MSG_FROM_NONE)
		add(s, w, W_HEADER_NO_FROM, "From without an address");
	else if (from->status == MSG_FROM_INVALID)
		add(s, w, W_HEADER_FROM_INVALID, "a From address that does not parse");
}

/* A valid DKIM signature of domain (relaxed: ours may sign as a subdomain). */
static bool
dkim_signed_by(const struct score *s, const char *domain)
{
	for (size_t i = 0; i < s->ndkim; i++)
		if (s->dkim[i].result == AUTH_PASS &&
		    dmarc_aligned(s->dkim[i].domain, domain, false))
			return true;
	return false;
}

static void
check_forged_local(const struct screen_env *env, const struct screen_facts *f,
    struct score *s)
{
	const struct screen_message *m = env->msg;
	const int *w = env->cfg->screen.weights;

	if (screen_ip_trusted(&env->cfg->screen, f->client_ip))
		return;
	for (size_t i = 0; i < m->from.ndomains; i++) {
		const char *d = m->from.domain[i];
		if (!config_has_domain(env->cfg, d) || dkim_signed_by(s, d))
			continue;
		score_add(s, screen_weight_name(W_FORGED_LOCAL_FROM), w[W_FORGED_LOCAL_FROM],
		    "From: our domain %s, not signed by it, from %s", d, f->client_ip);
		return;
	}
}

void
check_headers(const struct screen_env *env, const struct screen_facts *f,
    struct dns_view *view, struct score *s)
{
	const struct screen_message *m = env->msg;
	const int *w = env->cfg->screen.weights;

	(void)view;
	if (m == NULL)
		return;
	if (m->oversize)
		add(s, w, W_HEADER_OVERSIZE, "header section over 256 KiB or 1000 fields");
	if (m->malformed)
		add(s, w, W_HEADER_MALFORMED, "a line in the header section is not a field");
	check_from(m, s, w);
	check_count(m, s, w, "Date", W_HEADER_NO_DATE, W_HEADER_DATE_MULTIPLE);
	check_count(m, s, w, "Message-ID", W_HEADER_NO_MESSAGE_ID,
	    W_HEADER_MESSAGE_ID_MULTIPLE);
	if (m->eight_bit && (f->flags & SCREEN_FACT_SMTPUTF8) == 0)
		add(s, w, W_HEADER_8BIT, "8-bit bytes in the header section without SMTPUTF8");
	check_forged_local(env, f, s);
}
