/*
 * screen/spf_check_test.c - check_spf(): which identity is checked, the
 * score item each result gives (name, weight, reason), a temperror as a
 * range from the pass to the fail weight, the spf_fail flag, and nothing
 * added while DNS answers are missing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "checks.h"
#include "dnscache.h"

struct zrec {
	const char	*name;
	enum dv_type	 type;
	enum dv_status	 status;
	const char	*data;
};

static const struct zrec zone[] = {
	{ "pass.example", DV_TXT, DV_OK, "v=spf1 ip4:192.0.2.0/24 -all" },
	{ "fail.example", DV_TXT, DV_OK, "v=spf1 -all" },
	{ "soft.example", DV_TXT, DV_OK, "v=spf1 ~all" },
	{ "neutral.example", DV_TXT, DV_OK, "v=spf1 ?all" },
	{ "broken.example", DV_TXT, DV_OK, "v=spf1 ip4:192.0.2.300 -all" },
	{ "slow.example", DV_TXT, DV_TEMPFAIL, NULL },
	{ "helo.example", DV_TXT, DV_OK, "v=spf1 a -all" },
	{ "helo.example", DV_A, DV_OK, "192.0.2.9" },
	{ NULL, 0, 0, NULL },
};

static struct config cfg;

static void
answer(struct dns_cache *c, const char *name, enum dv_type type)
{
	struct dv_rr rr = { NULL, 0, 0 };
	enum dv_status st = DV_NXDOMAIN;
	size_t n = 0;

	for (const struct zrec *z = zone; z->name != NULL; z++) {
		if (strcmp(z->name, name) != 0)
			continue;
		if (z->type != type) {
			if (st == DV_NXDOMAIN)
				st = DV_NODATA;
			continue;
		}
		st = z->status;
		if (st == DV_OK) {
			rr.data = z->data;
			rr.len = strlen(z->data);
			n = 1;
		}
	}
	assert_int_equal(dns_cache_put(c, name, type, st, &rr, n, false, 60), 0);
}

/* Runs check_spf in rounds; returns the number of rounds. */
static unsigned
run_check(const struct screen_facts *f, struct score *s)
{
	struct screen_env env = { &cfg, NULL };
	struct dns_cache *c = dns_cache_new(64);
	struct dns_view *v = dv_new(c);
	unsigned round;

	for (round = 1; round < 10; round++) {
		dv_round_reset(v);
		score_init(s);
		check_spf(&env, f, v, s);
		if (dv_misses(v) == 0)
			break;
		assert_int_equal(s->n, 0);	/* a round with misses adds nothing */
		for (size_t i = 0; i < dv_misses(v); i++) {
			const char *name;
			enum dv_type type;
			dv_miss(v, i, &name, &type);
			answer(c, name, type);
		}
	}
	dv_free(v);
	dns_cache_free(c);
	return round;
}

static void
facts_init(struct screen_facts *f, const char *ip, const char *helo,
    const char *from)
{
	memset(f, 0, sizeof(*f));
	f->stage = SCREEN_STAGE_RCPT;
	f->flags = SCREEN_FACT_MAIL_SEEN | (from[0] == '\0' ? SCREEN_FACT_NULL_SENDER : 0);
	snprintf(f->client_ip, sizeof(f->client_ip), "%s", ip);
	snprintf(f->helo, sizeof(f->helo), "%s", helo);
	snprintf(f->mail_from, sizeof(f->mail_from), "%s", from);
}

static int
setup(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.hostname, sizeof(cfg.hostname), "mx.home.test");
	screen_config_defaults(&cfg.screen);
	return 0;
}

static void
test_results_and_weights(void **state)
{
	static const struct {
		const char	*from, *name, *reason;
		enum screen_weight_id id;
		bool		 spf_fail;
	} rows[] = {
		{ "a@pass.example", "spf_pass",
		  "spf=pass domain=pass.example mech=ip4:192.0.2.0/24", W_SPF_PASS, false },
		{ "a@fail.example", "spf_fail",
		  "spf=fail domain=fail.example mech=-all", W_SPF_FAIL, true },
		{ "a@soft.example", "spf_softfail",
		  "spf=softfail domain=soft.example mech=~all", W_SPF_SOFTFAIL, false },
		{ "a@neutral.example", "spf_neutral",
		  "spf=neutral domain=neutral.example mech=?all", W_SPF_NEUTRAL, false },
		{ "a@none.example", "spf_none",
		  "spf=none domain=none.example", W_SPF_NONE, false },
		{ "a@broken.example", "spf_permerror", NULL, W_SPF_PERMERROR, false },
	};
	struct screen_facts f;
	struct score s;

	(void)state;
	cfg.screen.weights[W_SPF_NEUTRAL] = 1;	/* not the default 0: seen */
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		facts_init(&f, "192.0.2.7", "h.example", rows[i].from);
		run_check(&f, &s);
		assert_int_equal(s.n, 1);
		assert_string_equal(s.item[0].name, rows[i].name);
		assert_int_equal(s.item[0].weight, cfg.screen.weights[rows[i].id]);
		assert_false(s.item[0].unknown);
		if (rows[i].reason != NULL)
			assert_string_equal(s.item[0].reason, rows[i].reason);
		if (s.spf_fail != rows[i].spf_fail)
			fail_msg("%s: spf_fail %d, want %d", rows[i].from, s.spf_fail,
			    rows[i].spf_fail);
		/* greylisting remembers a passing sender by its domain */
		assert_string_equal(s.spf_pass_domain,
		    rows[i].id == W_SPF_PASS ? "pass.example" : "");
		assert_false(s.spf_unknown);
	}
	assert_non_null(strstr(s.item[0].reason, "spf=permerror domain=broken.example problem="));
}

/* A DNS problem is a range [pass, fail]: a 451, never pass or reject. */
static void
test_temperror_is_a_range(void **state)
{
	struct screen_facts f;
	struct score s;

	(void)state;
	facts_init(&f, "192.0.2.7", "h.example", "a@slow.example");
	run_check(&f, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.item[0].name, "spf_temperror");
	assert_true(s.item[0].unknown);
	assert_int_equal(s.item[0].weight, cfg.screen.weights[W_SPF_PASS]);
	assert_int_equal(s.item[0].worst, cfg.screen.weights[W_SPF_FAIL]);
	assert_false(s.spf_fail);
	assert_true(s.spf_unknown);
	assert_non_null(strstr(s.item[0].reason, "spf=temperror domain=slow.example"));
}

static void
test_identity(void **state)
{
	struct screen_facts f;
	struct score s;

	(void)state;
	/* MAIL FROM:<> checks postmaster@<helo> */
	facts_init(&f, "192.0.2.9", "helo.example", "");
	assert_int_equal(run_check(&f, &s), 3);	/* TXT, then A, then done */
	assert_int_equal(s.n, 1);
	assert_string_equal(s.item[0].name, "spf_pass");
	assert_string_equal(s.item[0].reason, "spf=pass domain=helo.example mech=a");
	facts_init(&f, "192.0.2.8", "helo.example", "");
	run_check(&f, &s);
	assert_string_equal(s.item[0].name, "spf_fail");
	/* <> before any HELO: nothing to check, nothing added */
	facts_init(&f, "192.0.2.9", "", "");
	assert_int_equal(run_check(&f, &s), 1);
	assert_int_equal(s.n, 0);
	/* before MAIL FROM: nothing either */
	facts_init(&f, "192.0.2.9", "helo.example", "a@fail.example");
	f.flags &= (uint8_t)~SCREEN_FACT_MAIL_SEEN;
	assert_int_equal(run_check(&f, &s), 1);
	assert_int_equal(s.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_results_and_weights, setup),
		cmocka_unit_test_setup(test_temperror_is_a_range, setup),
		cmocka_unit_test_setup(test_identity, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
