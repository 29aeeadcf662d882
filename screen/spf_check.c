/*
 * screen/spf_check.c - check_spf(): the SPF result of one transaction as
 * a score contribution (screen/checks.h).
 *
 * Owns: the mapping from an RFC 7208 result to the weights named spf_pass,
 * spf_fail, spf_softfail, spf_neutral, spf_none and spf_permerror in
 * homemx.conf (lib/config_screen.h), and which identity is checked: MAIL
 * FROM, or for the null sender the HELO identity postmaster@helo (RFC 7208
 * 2.4). Why temperror is a range: a DNS problem must give a temporary
 * reply, never a pass and never a permanent reject, so it is scored as
 * "somewhere between pass and fail" (screen/score.h) and the verdict is a
 * 451 whenever the two ends disagree.
 */
#include <stdio.h>
#include <time.h>

#include "checks.h"
#include "spf.h"

/* The weight of each final result; temperror is a range, handled apart. */
static enum screen_weight_id
result_weight(enum spf_result r)
{
	switch (r) {
	case SPF_PASS:		return W_SPF_PASS;
	case SPF_FAIL:		return W_SPF_FAIL;
	case SPF_SOFTFAIL:	return W_SPF_SOFTFAIL;
	case SPF_NEUTRAL:	return W_SPF_NEUTRAL;
	case SPF_PERMERROR:	return W_SPF_PERMERROR;
	default:		return W_SPF_NONE;
	}
}

/* "spf=fail domain=example.net mech=-all", plus the problem of an error. */
static void
spf_reason(const struct spf_outcome *o, char *buf, size_t size)
{
	int n = snprintf(buf, size, "spf=%s domain=%s", spf_result_name(o->result),
	    o->domain[0] != '\0' ? o->domain : "-");

	if (n < 0 || (size_t)n >= size)
		return;
	if (o->term[0] != '\0')
		n += snprintf(buf + n, size - (size_t)n, " mech=%s", o->term);
	if (n >= 0 && (size_t)n < size && o->problem[0] != '\0')
		snprintf(buf + n, size - (size_t)n, " problem=\"%s\"", o->problem);
}

void
check_spf(const struct screen_env *env, const struct screen_facts *f,
    struct dns_view *view, struct score *s)
{
	const int *w = env->cfg->screen.weights;
	bool null_sender = (f->flags & SCREEN_FACT_NULL_SENDER) != 0 ||
	    f->mail_from[0] == '\0';
	struct spf_request req = {
		.ip = f->client_ip,
		.helo = f->helo,
		.sender = null_sender ? "" : f->mail_from,
		.receiver = env->cfg->hostname,
		.now = time(NULL),	/* only %{t} in an explanation sees it */
	};
	struct spf_outcome o;
	char reason[SCORE_REASON_MAX + 1];
	enum screen_weight_id id;

	if ((f->flags & SCREEN_FACT_MAIL_SEEN) == 0)
		return;		/* no identity to check yet */
	if (null_sender && f->helo[0] == '\0')
		return;		/* the HELO identity without a HELO */
	if (spf_evaluate(view, &req, &o) == SPF_EVAL_PENDING)
		return;		/* misses recorded: the next round decides */
	spf_reason(&o, reason, sizeof(reason));
	if (o.result == SPF_TEMPERROR) {
		score_add_unknown(s, "spf_temperror", w[W_SPF_PASS], w[W_SPF_FAIL],
		    "%s", reason);
		s->spf_unknown = true;
		return;
	}
	id = result_weight(o.result);
	score_add(s, screen_weight_name(id), w[id], "%s", reason);
	if (o.result == SPF_FAIL)
		s->spf_fail = true;
	if (o.result == SPF_PASS)	/* greylisting remembers the domain (judge.c) */
		snprintf(s->spf_pass_domain, sizeof(s->spf_pass_domain), "%s", o.domain);
}
