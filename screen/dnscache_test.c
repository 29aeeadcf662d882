/*
 * screen/dnscache_test.c - the DNS cache and its views: names, misses,
 * pins that survive replacement and expiry, eviction bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dnscache.h"

static double fake_time;

static double
fake_now(void)
{
	return fake_time;
}

static struct dns_cache *
new_cache(size_t max)
{
	struct dns_cache *c = dns_cache_new(max);

	fake_time = 1000;
	dns_cache_set_clock(c, fake_now);
	return c;
}

static void
put_a(struct dns_cache *c, const char *name, const char *ip, uint32_t ttl)
{
	struct dv_rr rr = { ip, strlen(ip), 0 };

	assert_int_equal(dns_cache_put(c, name, DV_A, DV_OK, &rr, 1, false, ttl), 0);
}

static void
test_names(void **state)
{
	static const struct { const char *in, *want; } rows[] = {
		{ "Example.NET.", "example.net" },
		{ "_dmarc.example.net", "_dmarc.example.net" },
		{ "a", "a" },
		{ "", NULL }, { ".", NULL }, { "a..b", NULL }, { ".a", NULL },
		{ "a b.Example", "a b.example" }, { "a:b/c%d.example", "a:b/c%d.example" },
		{ "a\\.example", NULL }, { "ex\xc3\xa4mple.net", NULL }, { "a\tb.net", NULL },
		{ "a.example..", NULL },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.net", NULL },	/* 64 */
	};
	char out[DV_NAME_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int rc = dns_name_normalize(rows[i].in, out, sizeof(out));
		if (rows[i].want == NULL) {
			if (rc != -1)
				fail_msg("row %zu '%s': got '%s', want invalid", i, rows[i].in, out);
		} else {
			assert_int_equal(rc, 0);
			assert_string_equal(out, rows[i].want);
		}
	}
}

static void
test_miss_then_hit(void **state)
{
	struct dns_cache *c = new_cache(16);
	struct dns_view *v = dv_new(c);
	struct dv_answer a;
	const char *name;
	enum dv_type type;

	(void)state;
	assert_int_equal(dv_lookup(v, "Mail.Example.NET.", DV_A, &a), DV_MISS);
	assert_int_equal(dv_lookup(v, "mail.example.net", DV_A, &a), DV_MISS);
	assert_int_equal(dv_lookup(v, "mail.example.net", DV_AAAA, &a), DV_MISS);
	assert_int_equal(dv_misses(v), 2);	/* deduplicated */
	dv_miss(v, 0, &name, &type);
	assert_string_equal(name, "mail.example.net");
	assert_int_equal(type, DV_A);
	put_a(c, "mail.example.net", "192.0.2.1", 300);
	dns_cache_put(c, "mail.example.net", DV_AAAA, DV_NODATA, NULL, 0, false, 300);
	dv_round_reset(v);
	assert_int_equal(dv_lookup(v, "mail.example.net", DV_A, &a), DV_OK);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.rr[0].data, "192.0.2.1");
	assert_int_equal(dv_lookup(v, "mail.example.net", DV_AAAA, &a), DV_NODATA);
	assert_int_equal(dv_misses(v), 0);
	/* a view that gave up answers what it lacks as a temporary failure */
	dv_give_up(v);
	assert_int_equal(dv_lookup(v, "other.example.net", DV_A, &a), DV_TEMPFAIL);
	assert_int_equal(dv_lookup(v, "mail.example.net", DV_A, &a), DV_OK);
	assert_int_equal(dv_misses(v), 0);
	assert_false(dns_cache_has(c, "other.example.net", DV_A));
	/* an invalid name is answered at once, never recorded */
	assert_int_equal(dv_lookup(v, "bad..name", DV_TXT, &a), DV_NXDOMAIN);
	assert_int_equal(dv_misses(v), 0);
	dv_free(v);
	dns_cache_free(c);
}

/* A view keeps what it saw, even after the entry expired or changed. */
static void
test_pins_survive(void **state)
{
	struct dns_cache *c = new_cache(16);
	struct dns_view *v = dv_new(c), *w;
	struct dv_answer a;

	(void)state;
	put_a(c, "x.example", "192.0.2.1", 10);
	assert_int_equal(dv_lookup(v, "x.example", DV_A, &a), DV_OK);
	put_a(c, "x.example", "192.0.2.2", 10);		/* replaced */
	fake_time += 60;				/* and expired */
	assert_int_equal(dv_lookup(v, "x.example", DV_A, &a), DV_OK);
	assert_string_equal(a.rr[0].data, "192.0.2.1");
	w = dv_new(c);					/* a new view: expired */
	assert_int_equal(dv_lookup(w, "x.example", DV_A, &a), DV_MISS);
	dv_free(w);
	dv_free(v);					/* frees the dead entry */
	dns_cache_free(c);
}

static void
test_ttl_clamp_and_tempfail(void **state)
{
	struct dns_cache *c = new_cache(16);

	(void)state;
	put_a(c, "short.example", "192.0.2.1", 0);
	fake_time += DNS_CACHE_TTL_MIN - 1;
	assert_true(dns_cache_has(c, "short.example", DV_A));
	fake_time += 2;
	assert_false(dns_cache_has(c, "short.example", DV_A));
	dns_cache_put(c, "down.example", DV_TXT, DV_TEMPFAIL, NULL, 0, false, 86400);
	fake_time += DNS_CACHE_TEMPFAIL_TTL + 1;
	assert_false(dns_cache_has(c, "down.example", DV_TXT));
	dns_cache_free(c);
}

static void
test_eviction_and_pinned_bound(void **state)
{
	struct dns_cache *c = new_cache(4);
	struct dns_view *v = dv_new(c);
	struct dv_answer a;
	char name[32];

	(void)state;
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "h%d.example", i);
		put_a(c, name, "192.0.2.1", 300);
	}
	assert_int_equal(dns_cache_size(c), 4);
	assert_true(dns_cache_has(c, "h9.example", DV_A));
	assert_false(dns_cache_has(c, "h0.example", DV_A));
	/* pin everything: the cache grows to twice its bound, then refuses */
	for (int i = 6; i < 10; i++) {
		snprintf(name, sizeof(name), "h%d.example", i);
		assert_int_equal(dv_lookup(v, name, DV_A, &a), DV_OK);
	}
	for (int i = 10; i < 14; i++) {
		snprintf(name, sizeof(name), "p%d.example", i);
		put_a(c, name, "192.0.2.1", 300);
		assert_int_equal(dv_lookup(v, name, DV_A, &a), DV_OK);
	}
	assert_int_equal(dns_cache_size(c), 8);
	struct dv_rr rr = { "192.0.2.9", 9, 0 };
	assert_int_equal(dns_cache_put(c, "full.example", DV_A, DV_OK, &rr, 1, false, 300), -1);
	dv_free(v);
	assert_int_equal(dns_cache_put(c, "full.example", DV_A, DV_OK, &rr, 1, false, 300), 0);
	assert_true(dns_cache_size(c) <= 4);
	dns_cache_free(c);
}

static void
test_txt_binary_and_truncation(void **state)
{
	struct dns_cache *c = new_cache(16);
	struct dns_view *v = dv_new(c);
	static char big[DV_TXT_MAX + 100];
	struct dv_rr rr[DV_RR_MAX + 2];
	struct dv_answer a;

	(void)state;
	memset(big, 'x', sizeof(big));
	rr[0] = (struct dv_rr){ "v=spf1\0-all", 11, 0 };
	dns_cache_put(c, "nul.example", DV_TXT, DV_OK, rr, 1, false, 300);
	assert_int_equal(dv_lookup(v, "nul.example", DV_TXT, &a), DV_OK);
	assert_int_equal(a.rr[0].len, 11);
	assert_false(a.truncated);
	rr[0] = (struct dv_rr){ big, sizeof(big), 0 };
	dns_cache_put(c, "big.example", DV_TXT, DV_OK, rr, 1, false, 300);
	assert_int_equal(dv_lookup(v, "big.example", DV_TXT, &a), DV_OK);
	assert_int_equal(a.rr[0].len, DV_TXT_MAX);
	assert_true(a.truncated);
	for (size_t i = 0; i < DV_RR_MAX + 2; i++)
		rr[i] = (struct dv_rr){ "127.0.0.2", 9, 0 };
	dns_cache_put(c, "many.example", DV_A, DV_OK, rr, DV_RR_MAX + 2, false, 300);
	assert_int_equal(dv_lookup(v, "many.example", DV_A, &a), DV_OK);
	assert_int_equal(a.n, DV_RR_MAX);
	assert_true(a.truncated);
	/* "ok" with no records is stored as nodata */
	dns_cache_put(c, "empty.example", DV_MX, DV_OK, NULL, 0, false, 300);
	assert_int_equal(dv_lookup(v, "empty.example", DV_MX, &a), DV_NODATA);
	dv_free(v);
	dns_cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_miss_then_hit),
		cmocka_unit_test(test_pins_survive),
		cmocka_unit_test(test_ttl_clamp_and_tempfail),
		cmocka_unit_test(test_eviction_and_pinned_bound),
		cmocka_unit_test(test_txt_binary_and_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
