/*
 * lib/config_dest_test.c - the 'destination' line on its own
 * (lib/config_dest.c): the message comes back without file:line (the
 * parser adds it), a refused line adds no rule, numbers are digits only,
 * patterns are lowercased, the rule table has a limit, and the example
 * rules of conf/homemx.conf.example parse. lib/config_test.c covers the
 * line through config_parse() and the merge in config_destination_for().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "config_dest.h"

#define WORDS_MAX	16

/* Splits a copy of line at blanks (the tests use no quotes) and hands it on. */
static int
directive(struct config *c, const char *line, char *err, size_t errlen)
{
	static char buf[512];
	char *w[WORDS_MAX];
	int nw = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *tok = strtok(buf, " "); tok != NULL && nw < WORDS_MAX; tok = strtok(NULL, " "))
		w[nw++] = tok;
	err[0] = '\0';
	return config_dest_directive(c, w, nw, err, errlen);
}

static const struct {
	const char	*line;
	const char	*want_err;	/* NULL = accepted; else the whole message */
} cases[] = {
	{ "destination domain gmail.com family=ipv4-only", NULL },
	{ "destination mx *.google.com max_connections=100 tls=opportunistic", NULL },
	{ "destination domain * relay=smtp.example.net", NULL },
	{ "destination domain * max_connections=+5",
	  "destination: max_connections: expected a number from 1 to 100, got '+5'" },
	{ "destination domain * max_connections=5x",
	  "destination: max_connections: expected a number from 1 to 100, got '5x'" },
	{ "destination domain * max_connections=18446744073709551617",
	  "destination: max_connections: expected a number from 1 to 100, got '18446744073709551617'" },
	{ "destination domain * relay=[192.0.2.1]:0",
	  "destination: relay: bad port in '[192.0.2.1]:0'" },
	{ "destination domain * relay=:25",
	  "destination: relay: expected HOST[:PORT], got ':25'" },
	{ "destination domain * tls",
	  "destination: tls: expected require or opportunistic, got ''" },
	{ "destination domain *. tls=require", "destination: expected a name, '*' or '*.suffix', got '*.'" },
	{ "destination domain", "destination: expected 'destination domain|mx PATTERN option=value ...'" },
};

static void
test_cases(void **state)
{
	char err[CONFIG_ERR_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *c = calloc(1, sizeof(*c));
		int rc;

		assert_non_null(c);
		rc = directive(c, cases[i].line, err, sizeof(err));
		if (cases[i].want_err == NULL) {
			if (rc != 0)
				fail_msg("%s: %s", cases[i].line, err);
			assert_int_equal(c->ndestinations, 1);
		} else {
			if (rc != -1 || strcmp(err, cases[i].want_err) != 0)
				fail_msg("%s: got %d '%s'", cases[i].line, rc, err);
			assert_int_equal(c->ndestinations, 0);
		}
		free(c);
	}
}

static void
test_rule_fields(void **state)
{
	struct config *c = calloc(1, sizeof(*c));
	char err[CONFIG_ERR_MAX];
	const struct dest_rule *r;

	(void)state;
	assert_non_null(c);
	assert_int_equal(directive(c, "destination mx *.GOOGLE.Com family=prefer-ipv4 "
	    "relay=[smtp.example.net]:587 auth=/etc/homemx/relay.secret helo=mx.example.org "
	    "source=2001:db8::1", err, sizeof(err)), 0);
	r = &c->destinations[0];
	assert_int_equal(r->match, DEST_MATCH_MX);
	assert_string_equal(r->pattern, "*.google.com");
	assert_int_equal(r->family, DEST_FAMILY_PREFER_IPV4);
	assert_string_equal(r->relay_host, "smtp.example.net");
	assert_int_equal(r->relay_port, 587);
	assert_string_equal(r->auth_file, "/etc/homemx/relay.secret");
	assert_string_equal(r->helo, "mx.example.org");
	assert_string_equal(r->source_ip, "2001:db8::1");
	assert_int_equal(r->max_connections, 0);	/* not set */
	assert_false(r->tls_require);
	free(c);
}

static void
test_table_limit(void **state)
{
	struct config *c = calloc(1, sizeof(*c));
	char err[CONFIG_ERR_MAX];

	(void)state;
	assert_non_null(c);
	for (int i = 0; i < CONFIG_MAX_DESTINATIONS; i++)
		assert_int_equal(directive(c, "destination domain * tls=require", err,
		    sizeof(err)), 0);
	assert_int_equal(directive(c, "destination domain * tls=require", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
	assert_int_equal(c->ndestinations, CONFIG_MAX_DESTINATIONS);
	free(c);
}

/* Every commented 'destination' example in conf/homemx.conf.example parses. */
static void
test_example_rules(void **state)
{
	FILE *f = fopen("conf/homemx.conf.example", "r");
	char line[512], err[CONFIG_ERR_MAX];
	struct config *c = calloc(1, sizeof(*c));
	int seen = 0;

	(void)state;
	assert_non_null(f);
	assert_non_null(c);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *hash;
		if (strncmp(line, "#destination ", 13) != 0)
			continue;
		if ((hash = strchr(line + 1, '#')) != NULL)
			*hash = '\0';
		line[strcspn(line, "\n")] = '\0';
		for (size_t n = strlen(line); n > 0 && line[n - 1] == ' '; n--)
			line[n - 1] = '\0';
		if (directive(c, line + 1, err, sizeof(err)) != 0)
			fail_msg("%s: %s", line + 1, err);
		seen++;
	}
	fclose(f);
	assert_true(seen > 0);
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_rule_fields),
		cmocka_unit_test(test_table_limit),
		cmocka_unit_test(test_example_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
