/*
 * lib/config_screen_test.c - the screen's settings: defaults a new user
 * never touches, every line kind, and each mistake with its file:line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "config.h"

#define L "listen smtp 127.0.0.1:2525\n"

static const struct {
	const char	*text;
	const char	*want_err;	/* NULL = must parse */
} cases[] = {
	{ L "reject_score 12\ngreylist_score 3\ntempfail_score 8\n", NULL },
	{ L "weight no_ptr 5\nweight helo_matches_ptr -2\nweight spf_pass +0\n", NULL },
	{ L "dnsbl zen.example weight=6 127.0.0.2=10 127.0.0.10=2 ipv6=yes\n", NULL },
	{ L "dnswl wl.example match=last-octet 0=0 3=-8\n", NULL },
	{ L "dnsbl none\n", NULL },
	{ L "suspicious_tlds .icu top\nsuspicious_tlds xyz\n", NULL },
	{ L "trusted_networks 192.0.2.0/24 2001:db8::/32 198.51.100.7\n", NULL },
	{ L "trusted_networks none\n", NULL },
	{ L "greylist_delay 1s\ngreylist_window 2s\n", NULL },
	{ L "weight no_prt 4\n", "t.conf:2: weight: unknown check 'no_prt' (known: no_ptr," },
	{ L "weight no_ptr\n", "t.conf:2: weight: expected NAME VALUE" },
	{ L "weight no_ptr four\n", "t.conf:2: weight no_ptr: expected a whole number from -1000 to 1000, got 'four'" },
	{ L "weight no_ptr 1001\n", "t.conf:2: weight no_ptr: expected a whole number" },
	{ L "weight no_ptr 4\nweight no_ptr 5\n", "t.conf:3: weight no_ptr: set twice" },
	{ L "reject_score ten\n", "t.conf:2: reject_score: expected a whole number" },
	{ L "reject_score 5\ngreylist_score 6\n", "t.conf: expected greylist_score (6) <= tempfail_score (5) <= reject_score (5)" },
	{ L "tempfail_score 11\n", "t.conf: expected greylist_score (4) <= tempfail_score (11) <= reject_score (10)" },
	{ L "greylist_delay 2h\ngreylist_window 1h\n", "t.conf: greylist_window (3600s) must be longer than greylist_delay (7200s)" },
	{ L "dnsbl\n", "t.conf:2: dnsbl: expected a zone" },
	{ L "dnsbl not_a_zone!\n", "t.conf:2: dnsbl: expected a DNS zone, got 'not_a_zone!'" },
	{ L "dnsbl a.example\ndnsbl A.example\n", "t.conf:3: dnsbl a.example: zone listed twice" },
	{ L "dnsbl a.example weight\n", "t.conf:2: dnsbl a.example: expected KEY=VALUE" },
	{ L "dnsbl a.example 10.0.0.2=5\n", "t.conf:2: a.example: expected weight=, ipv6=, match= or a return code such as 127.0.0.2=N" },
	{ L "dnsbl a.example 127.0.0.2=5 127.0.0.2=6\n", "t.conf:2: a.example: return code 127.0.0.2 given twice" },
	{ L "dnsbl a.example weight=-3\n", "t.conf:2: dnsbl a.example: weights must be zero or positive" },
	{ L "dnswl a.example 127.0.0.2=3\n", "t.conf:2: dnswl a.example: weights must be zero or negative" },
	{ L "dnswl a.example 2=3 match=last-octet\n", "t.conf:2: a.example: expected weight=" },
	{ L "dnsbl a.example ipv6=maybe\n", "t.conf:2: a.example: ipv6: expected yes or no" },
	{ L "suspicious_tlds ic_u\n", "t.conf:2: suspicious_tlds: expected top-level domains" },
	{ L "dynamic_ptr_words dyn-amic\n", "t.conf:2: dynamic_ptr_words: expected letters and digits" },
	{ L "trusted_networks 192.0.2.1/24\n", "t.conf:2: trusted_networks: expected ADDRESS/PREFIX with zero host bits, got '192.0.2.1/24'" },
	{ L "trusted_networks 192.0.2.0/33\n", "t.conf:2: trusted_networks: expected ADDRESS/PREFIX" },
	{ L "trusted_networks example.net\n", "t.conf:2: trusted_networks: expected ADDRESS/PREFIX" },
	{ L "spf_fail_reject sometimes\n", "t.conf:2: spf_fail_reject: expected yes or no" },
	{ L "dmarc_reject no\nweight forged_local_from 20\n", NULL },
	{ L "dmarc_reject maybe\n", "t.conf:2: dmarc_reject: expected yes or no" },
	{ L "spam_memory_time 30d\nbackscatter_memory_time off\nbounce_tags on\n", NULL },
	{ L "spam_memory_time off\nbounce_tags off\n", NULL },
	{ L "bounce_tags yes\nbounce_tags no\n", "t.conf:3: bounce_tags: set twice" },
	{ L "weight backscatter 12\nweight backscatter_source 0\nweight bounce_tag_valid -20\n", NULL },
	{ L "spam_memory_time forever\n", "t.conf:2: spam_memory_time: expected a duration "
	  "from 0s to 7776000s (s, m, h, d suffixes allowed, or off), got 'forever'" },
	{ L "spam_memory_time 91d\n", "t.conf:2: spam_memory_time: expected a duration" },
	{ L "backscatter_memory_time -1\n", "t.conf:2: backscatter_memory_time: expected a duration" },
	{ L "bounce_tags sometimes\n", "t.conf:2: bounce_tags: expected yes or no, got 'sometimes'" },
	{ L "greylist_delay off\n", "t.conf:2: greylist_delay: expected a duration from 1s to "
	  "86400s (s, m, h, d suffixes allowed), got 'off'" },	/* it cannot be 0 */
};

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static struct config c;
		char err[CONFIG_ERR_MAX] = "";
		int rc = config_parse("t.conf", cases[i].text, strlen(cases[i].text), &c,
		    err, sizeof(err));
		if (cases[i].want_err == NULL) {
			if (rc != 0)
				fail_msg("case %zu: got error '%s', want success", i, err);
		} else if (rc == 0)
			fail_msg("case %zu: parsed, want error '%s'", i, cases[i].want_err);
		else if (strncmp(err, cases[i].want_err, strlen(cases[i].want_err)) != 0)
			fail_msg("case %zu: got '%s', want '%s...'", i, err, cases[i].want_err);
	}
}

static void
parse_ok(const char *text, struct config *c)
{
	char err[CONFIG_ERR_MAX];

	if (config_parse("t.conf", text, strlen(text), c, err, sizeof(err)) != 0)
		fail_msg("parse: %s", err);
}

/* A new user's file has no screen line at all: the built-ins apply. */
static void
test_defaults(void **state)
{
	static struct config c;
	const struct screen_config *sc = &c.screen;

	(void)state;
	parse_ok(L, &c);
	assert_int_equal(sc->reject_score, 10);
	assert_int_equal(sc->tempfail_score, 10);	/* follows reject_score */
	assert_int_equal(sc->greylist_score, 4);
	assert_int_equal(sc->weights[W_NO_PTR], 4);
	assert_int_equal(sc->weights[W_HELO_FORGED], 100);
	assert_string_equal(screen_weight_name(W_SPF_SOFTFAIL), "spf_softfail");
	assert_true(sc->nlists >= 4);
	assert_string_equal(sc->lists[0].zone, "zen.spamhaus.org");
	assert_true(sc->lists[0].ipv6);
	assert_false(sc->lists[0].allow);
	assert_true(sc->lists[sc->nlists - 1].allow);
	assert_int_equal(sc->lists[sc->nlists - 1].match, LIST_MATCH_LAST_OCTET);
	assert_int_equal(sc->ntlds, 10);
	assert_true(sc->nwords > 10);
	assert_true(screen_ip_trusted(sc, "127.0.0.1"));
	assert_true(screen_ip_trusted(sc, "::1"));
	assert_true(screen_ip_trusted(sc, "::ffff:127.0.0.5"));
	assert_false(screen_ip_trusted(sc, "192.0.2.1"));
	assert_int_equal(sc->greylist_delay, 300);
	assert_int_equal(sc->greylist_window, 86400);
	assert_int_equal(sc->greylist_pass_memory, 30 * 86400);
	assert_string_equal(sc->screen_dir, "/var/lib/homemx/screen");
	assert_int_equal(sc->dmarc_reject, 1);
	assert_int_equal(sc->weights[W_FORGED_LOCAL_FROM], 12);
	assert_string_equal(screen_weight_name(W_DKIM_PASS_ALIGNED), "dkim_pass_aligned");
	/* the memories and BATV are opt-in */
	assert_int_equal(sc->spam_memory_time, 0);
	assert_int_equal(sc->backscatter_memory_time, 4 * 86400);
	assert_int_equal(c.bounce_tags, 0);
	assert_int_equal(sc->weights[W_BACKSCATTER], 10);
	assert_int_equal(sc->weights[W_BACKSCATTER_SOURCE], 5);
	assert_int_equal(sc->weights[W_BOUNCE_TAG_VALID], -10);
	parse_ok(L "spam_memory_time 30d\nbackscatter_memory_time off\nbounce_tags on\n", &c);
	assert_int_equal(sc->spam_memory_time, 30 * 86400);
	assert_int_equal(sc->backscatter_memory_time, 0);
	assert_int_equal(c.bounce_tags, 1);
}

static void
test_lists_replace_builtins(void **state)
{
	static struct config c;
	const struct screen_list *l;

	(void)state;
	parse_ok(L "dnsbl bl.example weight=5 127.0.0.2=9 127.0.0.10=2\n"
	    "dnswl wl.example weight=-1 match=last-octet 3=-7\n", &c);
	assert_int_equal(c.screen.nlists, 2);
	l = &c.screen.lists[0];
	assert_string_equal(l->zone, "bl.example");
	assert_int_equal(l->weight, 5);
	assert_int_equal(l->ncodes, 2);
	assert_int_equal(l->codes[0].code, 0x7f000002);
	assert_int_equal(l->codes[0].weight, 9);
	assert_false(l->ipv6);
	l = &c.screen.lists[1];
	assert_true(l->allow);
	assert_int_equal(l->codes[0].code, 3);
	assert_int_equal(l->codes[0].weight, -7);
	parse_ok(L "dnsbl none\n", &c);
	assert_int_equal(c.screen.nlists, 0);
}

static void
test_words_and_networks(void **state)
{
	static struct config c;

	(void)state;
	parse_ok(L "suspicious_tlds .ICU top\nsuspicious_tlds xyz\n"
	    "trusted_networks 192.0.2.0/24 2001:db8::/32\n", &c);
	assert_int_equal(c.screen.ntlds, 3);
	assert_string_equal(c.screen.tlds[0], "icu");
	assert_string_equal(c.screen.tlds[2], "xyz");
	assert_true(screen_ip_trusted(&c.screen, "192.0.2.200"));
	assert_false(screen_ip_trusted(&c.screen, "192.0.3.1"));
	assert_true(screen_ip_trusted(&c.screen, "2001:db8:1::5"));
	assert_false(screen_ip_trusted(&c.screen, "127.0.0.1"));	/* replaced */
	parse_ok(L "trusted_networks none\nsuspicious_tlds none\n", &c);
	assert_int_equal(c.screen.ntrusted, 0);
	assert_int_equal(c.screen.ntlds, 0);
}

static void
test_net_contains(void **state)
{
	struct screen_net n;
	uint8_t a[16];

	(void)state;
	assert_int_equal(screen_net_parse("10.0.0.0/8", &n), 0);
	inet_pton(AF_INET, "10.200.1.1", a);
	assert_true(screen_net_contains(&n, AF_INET, a));
	inet_pton(AF_INET, "11.0.0.1", a);
	assert_false(screen_net_contains(&n, AF_INET, a));
	assert_int_equal(screen_net_parse("0.0.0.0/0", &n), 0);
	assert_true(screen_net_contains(&n, AF_INET, a));
	assert_false(screen_net_contains(&n, AF_INET6, a));
	assert_int_equal(screen_net_parse("2001:db8::/127", &n), 0);
	inet_pton(AF_INET6, "2001:db8::1", a);
	assert_true(screen_net_contains(&n, AF_INET6, a));
	inet_pton(AF_INET6, "2001:db8::2", a);
	assert_false(screen_net_contains(&n, AF_INET6, a));
	assert_int_equal(screen_net_parse("2001:db8::1/64", &n), -1);
	assert_int_equal(screen_net_parse("1.2.3.4/", &n), -1);
	assert_int_equal(screen_net_parse("1.2.3.4/-1", &n), -1);
}

/* Field by field: arrays hold stale bytes past their counts. */
static void
screen_config_equal(const struct screen_config *a, const struct screen_config *b)
{
	assert_int_equal(a->reject_score, b->reject_score);
	assert_int_equal(a->tempfail_score, b->tempfail_score);
	assert_int_equal(a->greylist_score, b->greylist_score);
	assert_memory_equal(a->weights, b->weights, sizeof(a->weights));
	assert_int_equal(a->spf_fail_reject, b->spf_fail_reject);
	assert_int_equal(a->dmarc_reject, b->dmarc_reject);
	assert_int_equal(a->nlists, b->nlists);
	for (size_t i = 0; i < a->nlists; i++) {
		const struct screen_list *x = &a->lists[i], *y = &b->lists[i];
		assert_string_equal(x->zone, y->zone);
		assert_int_equal(x->allow, y->allow);
		assert_int_equal(x->ipv6, y->ipv6);
		assert_int_equal(x->match, y->match);
		assert_int_equal(x->weight, y->weight);
		assert_int_equal(x->ncodes, y->ncodes);
		assert_memory_equal(x->codes, y->codes, x->ncodes * sizeof(x->codes[0]));
	}
	assert_int_equal(a->ntlds, b->ntlds);
	for (size_t i = 0; i < a->ntlds; i++)
		assert_string_equal(a->tlds[i], b->tlds[i]);
	assert_int_equal(a->nwords, b->nwords);
	for (size_t i = 0; i < a->nwords; i++)
		assert_string_equal(a->dynamic_words[i], b->dynamic_words[i]);
	assert_int_equal(a->ntrusted, b->ntrusted);
	assert_memory_equal(a->trusted, b->trusted, a->ntrusted * sizeof(a->trusted[0]));
	assert_int_equal(a->greylist_delay, b->greylist_delay);
	assert_int_equal(a->greylist_window, b->greylist_window);
	assert_int_equal(a->greylist_pass_memory, b->greylist_pass_memory);
	assert_int_equal(a->dns_timeout, b->dns_timeout);
	assert_int_equal(a->verdict_memory, b->verdict_memory);
	assert_int_equal(a->memory_max_entries, b->memory_max_entries);
	assert_string_equal(a->screen_dir, b->screen_dir);
	assert_int_equal(a->spam_memory_time, b->spam_memory_time);
	assert_int_equal(a->backscatter_memory_time, b->backscatter_memory_time);
}

/*
 * The example file documents every screen default as a commented line;
 * uncommented, those lines must give exactly the built-in settings, or the
 * documentation lies. (Unit tests run from the top of the tree.)
 */
static void
test_example_documents_defaults(void **state)
{
	static const char *const keys[] = { "weight ", "dnsbl ", "dnswl ",
	    "suspicious_tlds ", "dynamic_ptr_words ", "trusted_networks ",
	    "greylist_", "screen_", "verdict_memory ", "reject_score ",
	    "tempfail_score ", "greylist_score ", "spf_fail_reject ",
	    "dmarc_reject ", "spam_memory_time ", "backscatter_memory_time ",
	    "bounce_tags " };
	static char text[CONFIG_TEXT_MAX], out[CONFIG_TEXT_MAX];
	static struct config doc, def;
	size_t n, o = 0, uncommented = 0;
	FILE *f = fopen("conf/homemx.conf.example", "r");
	char err[CONFIG_ERR_MAX];

	(void)state;
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		bool take = false;
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (line[0] == '#' && strncmp(line + 1, keys[k], strlen(keys[k])) == 0)
				take = true;
		if (take)
			uncommented++;
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s\n", take ? line + 1 : line);
	}
	assert_true(uncommented > 30);
	if (config_parse("example", out, o, &doc, err, sizeof(err)) != 0)
		fail_msg("uncommented example: %s", err);
	/* the same file without the uncommented lines: built-ins only */
	f = fopen("conf/homemx.conf.example", "r");
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	if (config_parse("example", text, n, &def, err, sizeof(err)) != 0)
		fail_msg("example: %s", err);
	screen_config_equal(&doc.screen, &def.screen);
	assert_int_equal(doc.bounce_tags, def.bounce_tags);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_lists_replace_builtins),
		cmocka_unit_test(test_words_and_networks),
		cmocka_unit_test(test_net_contains),
		cmocka_unit_test(test_example_documents_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
