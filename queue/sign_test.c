/*
 * queue/sign_test.c - which d= domains the queue asks dkimsign for when
 * it signs a DSN (sign_domain_candidates in queue/sign.c), table-driven.
 *
 * Owns: the proof of the documented order: the DSN recipient's domain
 * when it is one of ours (the usual case: a DSN goes back to our own
 * submitting user), then the hostname, then every parent of the hostname
 * that is one of our domains; never a foreign domain, no duplicates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "qmsg.h"

#define MAXC	4

struct cand_case {
	const char	*name;
	const char	*hostname;
	const char	*domains[3];
	const char	*rcpt;
	const char	*want[MAXC];
};

static const struct cand_case cases[] = {
	{ "local sender", "mx.example.test", { "example.test" }, "kim@example.test",
	  { "example.test", "mx.example.test" } },
	{ "uppercase domain", "mx.example.test", { "example.test" }, "kim@EXAMPLE.Test",
	  { "example.test", "mx.example.test" } },
	{ "foreign sender", "mx.example.test", { "example.test" }, "bob@remote.test",
	  { "mx.example.test", "example.test" } },
	{ "sender is a second domain", "mx.example.test",
	  { "example.test", "other.test" }, "a@other.test",
	  { "other.test", "mx.example.test", "example.test" } },
	{ "hostname is a domain", "example.test", { "example.test" }, "bob@remote.test",
	  { "example.test" } },
	{ "deep hostname", "a.b.example.test", { "b.example.test", "example.test" },
	  "x@y.test", { "a.b.example.test", "b.example.test", "example.test" } },
	{ "no local parent", "mx.example.test", { "elsewhere.test" }, "x@y.test",
	  { "mx.example.test" } },
	{ "no domain in rcpt", "mx.example.test", { "example.test" }, "postmaster",
	  { "mx.example.test", "example.test" } },
};

static void
test_candidates(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct cand_case *c = &cases[k];
		static struct config cfg;
		char out[SIGN_MAX_CANDIDATES][ADDR_DOMAIN_MAX + 1];

		config_defaults(&cfg);
		snprintf(cfg.hostname, sizeof(cfg.hostname), "%s", c->hostname);
		cfg.ndomains = 0;
		for (size_t i = 0; i < 3 && c->domains[i] != NULL; i++)
			snprintf(cfg.domains[cfg.ndomains++], sizeof(cfg.domains[0]), "%s",
			    c->domains[i]);
		size_t n = sign_domain_candidates(&cfg, c->rcpt, out, SIGN_MAX_CANDIDATES);
		size_t want_n = 0;
		while (want_n < MAXC && c->want[want_n] != NULL)
			want_n++;
		if (n != want_n)
			fail_msg("%s: got %zu candidates, want %zu", c->name, n, want_n);
		for (size_t i = 0; i < n; i++)
			if (strcmp(out[i], c->want[i]) != 0)
				fail_msg("%s: candidate %zu is %s, want %s", c->name, i,
				    out[i], c->want[i]);
	}
}

/* The output array bounds the list. */
static void
test_max(void **state)
{
	static struct config cfg;
	char out[1][ADDR_DOMAIN_MAX + 1];

	(void)state;
	config_defaults(&cfg);
	snprintf(cfg.hostname, sizeof(cfg.hostname), "mx.example.test");
	snprintf(cfg.domains[0], sizeof(cfg.domains[0]), "example.test");
	cfg.ndomains = 1;
	assert_int_equal(sign_domain_candidates(&cfg, "kim@example.test", out, 1), 1);
	assert_string_equal(out[0], "example.test");
	assert_int_equal(sign_domain_candidates(&cfg, "kim@example.test", out, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_candidates),
		cmocka_unit_test(test_max),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
