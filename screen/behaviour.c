/*
 * screen/behaviour.c - how the client behaved in the dialog so far:
 * check_behaviour (screen/checks.h). Early talking (sending before the
 * greeting, RFC 5321 4.3.1 says wait for it; ratware does not) and refused
 * commands, client_errors' weight per three of them.
 *
 * Owns: nothing; smtpd counts, this only weighs. No DNS.
 */
#include "checks.h"

#define ERRORS_PER_STEP	3

void
check_behaviour(const struct screen_env *env, const struct screen_facts *f,
    struct dns_view *v, struct score *s)
{
	const int *w = env->cfg->screen.weights;
	long steps = f->errors / ERRORS_PER_STEP;
	long errors_weight = steps * w[W_CLIENT_ERRORS];

	(void)v;
	if (f->flags & SCREEN_FACT_EARLY_TALKER)
		score_add(s, screen_weight_name(W_EARLY_TALKER), w[W_EARLY_TALKER],
		    "spoke before the greeting");
	/* one item never weighs more than a configured weight may */
	if (errors_weight > SCREEN_WEIGHT_LIMIT)
		errors_weight = SCREEN_WEIGHT_LIMIT;
	if (errors_weight < -SCREEN_WEIGHT_LIMIT)
		errors_weight = -SCREEN_WEIGHT_LIMIT;
	if (steps > 0)
		score_add(s, screen_weight_name(W_CLIENT_ERRORS), (int)errors_weight,
		    "errors=%u", (unsigned)f->errors);
}
