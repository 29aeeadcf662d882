/*
 * screen/checks_testlib.h - a bench for the checks' unit tests: a config
 * with its defaults, a DNS cache filled with dns_cache_put (the resolver's
 * own data path), one view, facts, and assertions on the exact
 * contributions (name, weight or range, reason) and on the misses.
 *
 * Owns: nothing outside a test binary. Header-only (static inline) so the
 * Makefile's rule "every non-test object of the folder is linked into each
 * unit test" does not put it into the role.
 */
#ifndef SCREEN_CHECKS_TESTLIB_H
#define SCREEN_CHECKS_TESTLIB_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "checks.h"
#include "dnscache.h"

typedef void (*bench_check_fn)(const struct screen_env *, const struct screen_facts *,
    struct dns_view *, struct score *);

struct bench {
	struct config		cfg;
	struct dns_cache	*cache;
	struct dns_view		*view;
	struct dnsbl_health	health;
	struct screen_env	env;
	struct screen_facts	facts;
	struct score		score;
};

static inline struct bench *
bench_new(void)
{
	struct bench *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	config_defaults(&b->cfg);
	snprintf(b->cfg.hostname, sizeof(b->cfg.hostname), "mx.home.test");
	snprintf(b->cfg.domains[0], sizeof(b->cfg.domains[0]), "home.test");
	snprintf(b->cfg.domains[1], sizeof(b->cfg.domains[1]), "family.test");
	b->cfg.ndomains = 2;
	b->cache = dns_cache_new(1024);
	b->view = dv_new(b->cache);
	dnsbl_health_init(&b->health);
	b->env.cfg = &b->cfg;
	b->env.health = &b->health;
	b->facts.stage = SCREEN_STAGE_RCPT;
	snprintf(b->facts.client_ip, sizeof(b->facts.client_ip), "198.51.100.7");
	snprintf(b->facts.local_ip, sizeof(b->facts.local_ip), "192.0.2.25");
	return b;
}

static inline void
bench_free(struct bench *b)
{
	dv_free(b->view);
	dns_cache_free(b->cache);
	free(b);
}

/* A fresh view: what a new evaluation would see. */
static inline void
bench_new_view(struct bench *b)
{
	dv_free(b->view);
	b->view = dv_new(b->cache);
}

/* put(b, name, type, status, rr1, rr2, ..., NULL) */
static inline void
bench_put(struct bench *b, const char *name, enum dv_type type, enum dv_status st, ...)
{
	struct dv_rr rr[DV_RR_MAX];
	size_t n = 0;
	const char *data;
	va_list ap;

	va_start(ap, st);
	while ((data = va_arg(ap, const char *)) != NULL && n < DV_RR_MAX)
		rr[n++] = (struct dv_rr){ data, strlen(data), 0 };
	va_end(ap);
	assert_int_equal(dns_cache_put(b->cache, name, type, st, rr, n, false, 300), 0);
}

static inline void
bench_put_trunc(struct bench *b, const char *name, enum dv_type type, enum dv_status st)
{
	assert_int_equal(dns_cache_put(b->cache, name, type, st, NULL, 0, true, 300), 0);
}

static inline void
bench_put_rrs(struct bench *b, const char *name, enum dv_type type,
    const struct dv_rr *rr, size_t n, bool truncated)
{
	assert_int_equal(dns_cache_put(b->cache, name, type, DV_OK, rr, n, truncated, 300), 0);
}

/* Runs one round of check on a fresh score. */
static inline void
bench_run(struct bench *b, bench_check_fn check)
{
	dv_round_reset(b->view);
	score_init(&b->score);
	check(&b->env, &b->facts, b->view, &b->score);
}

static inline const struct score_item *
bench_item(const struct bench *b, const char *name)
{
	for (size_t i = 0; i < b->score.n; i++)
		if (strcmp(b->score.item[i].name, name) == 0)
			return &b->score.item[i];
	return NULL;
}

static inline void
bench_dump(const struct bench *b)
{
	char buf[1024];

	score_format(&b->score, buf, sizeof(buf));
	print_message("score: %s\n", buf);
	for (size_t i = 0; i < b->score.n; i++)
		print_message("  %s %d..%d \"%s\"\n", b->score.item[i].name,
		    b->score.item[i].weight, b->score.item[i].worst, b->score.item[i].reason);
}

/* Exactly these items, in this order: name, weight, reason (NULL ends). */
static inline void
bench_expect(const struct bench *b, ...)
{
	const char *name;
	size_t i = 0;
	va_list ap;

	va_start(ap, b);
	while ((name = va_arg(ap, const char *)) != NULL) {
		int weight = va_arg(ap, int);
		const char *reason = va_arg(ap, const char *);
		if (i >= b->score.n || strcmp(b->score.item[i].name, name) != 0 ||
		    b->score.item[i].unknown || b->score.item[i].weight != weight ||
		    strcmp(b->score.item[i].reason, reason) != 0) {
			bench_dump(b);
			fail_msg("item %zu: want %s %d \"%s\"", i, name, weight, reason);
		}
		i++;
	}
	va_end(ap);
	if (i != b->score.n) {
		bench_dump(b);
		fail_msg("got %zu items, want %zu", b->score.n, i);
	}
}

/* The only item is an unknown range. */
static inline void
bench_expect_unknown(const struct bench *b, const char *name, int best, int worst,
    const char *reason)
{
	if (b->score.n != 1 || !b->score.item[0].unknown ||
	    strcmp(b->score.item[0].name, name) != 0 || b->score.item[0].weight != best ||
	    b->score.item[0].worst != worst || strcmp(b->score.item[0].reason, reason) != 0) {
		bench_dump(b);
		fail_msg("want only %s %d..%d \"%s\"", name, best, worst, reason);
	}
}

static inline void
bench_expect_nothing(const struct bench *b)
{
	if (b->score.n != 0) {
		bench_dump(b);
		fail_msg("want no contribution");
	}
}

/* Exactly these misses this round: name, type, ... NULL. */
static inline void
bench_expect_misses(const struct bench *b, ...)
{
	const char *name, *got;
	enum dv_type gtype;
	size_t i = 0;
	va_list ap;

	va_start(ap, b);
	while ((name = va_arg(ap, const char *)) != NULL) {
		enum dv_type type = va_arg(ap, enum dv_type);
		if (i >= dv_misses(b->view))
			fail_msg("miss %zu: got none, want %s %s", i, name, dv_type_name(type));
		dv_miss(b->view, i, &got, &gtype);
		if (strcmp(got, name) != 0 || gtype != type)
			fail_msg("miss %zu: got %s %s, want %s %s", i, got, dv_type_name(gtype),
			    name, dv_type_name(type));
		i++;
	}
	va_end(ap);
	if (i != dv_misses(b->view))
		fail_msg("got %zu misses, want %zu", dv_misses(b->view), i);
}

#endif
