/*
 * screen/eval_test.c - the round driver: chained lookups, the DNS budget,
 * cancellation with answers still in flight, and the round cap. Fetches
 * come from a table, answered from the event loop like the resolver does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <event2/event.h>

#include "eval.h"

static struct event_base	*base;
static struct dns_cache		*cache;
static unsigned			 fetches;

/* name -> A record; dead.example never answers, anything else is NXDOMAIN. */
static const struct { const char *name, *a; } zone[] = {
	{ "first.example", "second.example" },	/* "A" text used as the next name */
	{ "second.example", "192.0.2.7" },
};

struct pending_fetch {
	char		 name[DV_NAME_MAX + 1];
	enum dv_type	 type;
	void		(*done)(uint64_t);
	uint64_t	 id;
};

static void
answer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pending_fetch *f = arg;

	(void)fd;
	(void)what;
	if (strcmp(f->name, "dead.example") == 0) {
		free(f);
		return;
	}
	enum dv_status st = DV_NXDOMAIN;
	struct dv_rr rr = { NULL, 0, 0 };
	for (size_t i = 0; i < sizeof(zone) / sizeof(zone[0]); i++)
		if (strcmp(zone[i].name, f->name) == 0) {
			rr = (struct dv_rr){ zone[i].a, strlen(zone[i].a), 0 };
			st = DV_OK;
		}
	dns_cache_put(cache, f->name, f->type, st, &rr, st == DV_OK, false, 300);
	f->done(f->id);
	free(f);
}

static void
table_fetch(const char *name, enum dv_type type, void (*done)(uint64_t), uint64_t id)
{
	struct pending_fetch *f = calloc(1, sizeof(*f));
	struct timeval now = { 0, 1000 };

	snprintf(f->name, sizeof(f->name), "%s", name);
	f->type = type;
	f->done = done;
	f->id = id;
	fetches++;
	event_base_once(base, -1, EV_TIMEOUT, answer_cb, f, &now);
}

/* Follows first.example -> its "address" names the next name. */
static void
check_chain(const struct screen_env *env, const struct screen_facts *f,
    struct dns_view *v, struct score *s)
{
	struct dv_answer a;

	(void)env;
	(void)f;
	if (dv_lookup(v, "first.example", DV_A, &a) != DV_OK)
		return;
	switch (dv_lookup(v, a.rr[0].data, DV_A, &a)) {
	case DV_OK:
		score_add(s, "chain", 1, "end=%s", a.rr[0].data);
		break;
	case DV_TEMPFAIL:
		score_add_unknown(s, "chain", 0, 5, "tempfail");
		break;
	default:
		break;
	}
}

static void
check_dead(const struct screen_env *env, const struct screen_facts *f,
    struct dns_view *v, struct score *s)
{
	struct dv_answer a;

	(void)env;
	(void)f;
	if (dv_lookup(v, "dead.example", DV_TXT, &a) == DV_TEMPFAIL)
		score_add_unknown(s, "dead", 0, 8, "tempfail");
}

/* Always wants a name it has not seen: never completes. */
static void
check_endless(const struct screen_env *env, const struct screen_facts *f,
    struct dns_view *v, struct score *s)
{
	static unsigned n;
	char name[64];
	struct dv_answer a;

	(void)env;
	(void)f;
	(void)s;
	snprintf(name, sizeof(name), "n%u.example", n++);
	dv_lookup(v, name, DV_A, &a);
}

static struct eval_result last;
static int ndone;

static void
on_done(const struct eval_result *r, void *arg)
{
	(void)arg;
	last = *r;
	ndone++;
}

static struct eval_params
params(const screen_check_fn *checks, size_t n, unsigned budget_ms)
{
	static const struct screen_env env;

	return (struct eval_params){ &env, checks, n, cache, table_fetch, base, budget_ms };
}

static int
setup(void **state)
{
	(void)state;
	base = event_base_new();
	cache = dns_cache_new(100);
	fetches = 0;
	ndone = 0;
	memset(&last, 0, sizeof(last));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	dns_cache_free(cache);
	event_base_free(base);
	return 0;
}

static const struct screen_facts facts = { .sess = "0badcafe" };

static void
test_chain(void **state)
{
	static const screen_check_fn checks[] = { check_chain };
	struct eval_params p = params(checks, 1, 5000);

	(void)state;
	assert_non_null(eval_start(&p, &facts, on_done, NULL));
	assert_int_equal(ndone, 0);	/* never from inside eval_start */
	event_base_dispatch(base);
	assert_int_equal(ndone, 1);
	assert_true(last.complete);
	assert_false(last.gave_up);
	assert_int_equal(last.rounds, 3);
	assert_int_equal(last.fetches, 2);
	assert_int_equal(last.score.n, 1);
	assert_string_equal(last.score.item[0].reason, "end=192.0.2.7");
	assert_int_equal(eval_count(), 0);
	/* everything cached now: one round, no fetch */
	assert_non_null(eval_start(&p, &facts, on_done, NULL));
	event_base_dispatch(base);
	assert_int_equal(last.rounds, 1);
	assert_int_equal(last.fetches, 0);
}

static void
test_budget(void **state)
{
	static const screen_check_fn checks[] = { check_chain, check_dead };
	struct eval_params p = params(checks, 2, 100);

	(void)state;
	eval_start(&p, &facts, on_done, NULL);
	event_base_dispatch(base);
	assert_int_equal(ndone, 1);
	assert_true(last.complete);
	assert_true(last.gave_up);
	assert_int_equal(last.score.n, 2);	/* the chain finished in time */
	assert_true(last.score.item[1].unknown);
	assert_int_equal(score_worst(&last.score), 9);
	/* the budget did not poison the cache for others */
	assert_false(dns_cache_has(cache, "dead.example", DV_TXT));
}

static void
test_cancel_in_flight(void **state)
{
	static const screen_check_fn checks[] = { check_chain };
	struct eval_params p = params(checks, 1, 5000);

	(void)state;
	struct eval *e = eval_start(&p, &facts, on_done, NULL);
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);	/* first round: fetch out */
	eval_cancel(e);
	assert_int_equal(eval_count(), 0);
	event_base_dispatch(base);	/* the answer arrives, finds nobody */
	assert_int_equal(ndone, 0);
	assert_true(dns_cache_has(cache, "first.example", DV_A));
}

static void
test_round_cap(void **state)
{
	static const screen_check_fn checks[] = { check_endless };
	struct eval_params p = params(checks, 1, 60000);

	(void)state;
	eval_start(&p, &facts, on_done, NULL);
	event_base_dispatch(base);
	assert_int_equal(ndone, 1);
	assert_false(last.complete);
	assert_int_equal(last.fetches, EVAL_ROUNDS_MAX + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_cap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
