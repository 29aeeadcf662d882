/*
 * screen/identity_test.c - check_client and check_helo over a filled DNS
 * cache: every status of every lookup (ok, nxdomain, nodata, tempfail,
 * truncated, bad names, big answers), the rounds' misses, and the exact
 * contributions with their default weights and reasons.
 */
#include "checks_testlib.h"

#define CLIENT_PTR	"7.100.51.198.in-addr.arpa"

/* ---- check_client ------------------------------------------------------------ */

static void
test_client_rounds(void **state)
{
	struct bench *b = bench_new();

	(void)state;
	bench_run(b, check_client);		/* round 1: the PTR only */
	bench_expect_nothing(b);
	bench_expect_misses(b, CLIENT_PTR, DV_PTR, NULL);
	bench_put(b, CLIENT_PTR, DV_PTR, DV_OK, "a.example.net", "b.example.net", NULL);
	bench_run(b, check_client);		/* round 2: both names at once */
	bench_expect_nothing(b);
	bench_expect_misses(b, "a.example.net", DV_A, "b.example.net", DV_A, NULL);
	bench_put(b, "a.example.net", DV_A, DV_OK, "192.0.2.1", NULL);
	bench_run(b, check_client);		/* still one missing: nothing counts */
	bench_expect_nothing(b);
	bench_expect_misses(b, "b.example.net", DV_A, NULL);
	bench_put(b, "b.example.net", DV_A, DV_OK, "192.0.2.9", "198.51.100.7", NULL);
	bench_run(b, check_client);		/* b is verified: nothing to say */
	bench_expect_nothing(b);
	bench_expect_misses(b, NULL);
	assert_string_equal(b->score.ptr, "b.example.net");	/* the log's ptr= */
	bench_free(b);
}

static void
test_client_no_ptr(void **state)
{
	static const enum dv_status none[] = { DV_NXDOMAIN, DV_NODATA };
	struct bench *b;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		b = bench_new();
		bench_put(b, CLIENT_PTR, DV_PTR, none[i], NULL);
		bench_run(b, check_client);
		bench_expect(b, "no_ptr", 4, "ptr=none", NULL);
		bench_free(b);
	}
	b = bench_new();			/* only names that are no host names */
	bench_put_trunc(b, CLIENT_PTR, DV_PTR, DV_NODATA);
	bench_run(b, check_client);
	bench_expect(b, "no_ptr", 4, "bad_ptr_name", NULL);
	bench_free(b);
}

static void
test_client_ptr_tempfail(void **state)
{
	struct bench *b = bench_new();

	(void)state;
	bench_put(b, CLIENT_PTR, DV_PTR, DV_TEMPFAIL, NULL);
	bench_run(b, check_client);
	/* verified (0) .. fcrdns_fail + dynamic_ptr (3 + 4) */
	bench_expect_unknown(b, "no_ptr", 0, 7, "ptr=tempfail");
	bench_expect_misses(b, NULL);
	bench_free(b);
}

static void
test_client_fcrdns(void **state)
{
	static const struct {
		enum dv_status	 st;
		const char	*addr;
		const char	*item;	/* NULL: nothing */
		int		 weight;
		bool		 unknown;
		const char	*reason;
	} rows[] = {
		{ DV_OK, "198.51.100.7", NULL, 0, false, NULL },
		{ DV_OK, "198.51.100.8", "fcrdns_fail", 3, false, "ptr=mail.example.net fcrdns=fail" },
		{ DV_NXDOMAIN, NULL, "fcrdns_fail", 3, false, "ptr=mail.example.net fcrdns=fail" },
		{ DV_NODATA, NULL, "fcrdns_fail", 3, false, "ptr=mail.example.net fcrdns=fail" },
		{ DV_TEMPFAIL, NULL, "fcrdns_fail", 3, true, "ptr=mail.example.net fcrdns=tempfail" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct bench *b = bench_new();
		bench_put(b, CLIENT_PTR, DV_PTR, DV_OK, "mail.example.net", NULL);
		bench_put(b, "mail.example.net", DV_A, rows[i].st, rows[i].addr, NULL);
		bench_run(b, check_client);
		if (rows[i].item == NULL)
			bench_expect_nothing(b);
		else if (rows[i].unknown)
			bench_expect_unknown(b, rows[i].item, 0, rows[i].weight, rows[i].reason);
		else
			bench_expect(b, rows[i].item, rows[i].weight, rows[i].reason, NULL);
		bench_free(b);
	}
}

/* A verified name wins over a tempfail; a failed one reports the first. */
static void
test_client_several_names(void **state)
{
	struct bench *b = bench_new();

	(void)state;
	bench_put(b, CLIENT_PTR, DV_PTR, DV_OK, "a.example.net", "b.example.net", NULL);
	bench_put(b, "a.example.net", DV_A, DV_TEMPFAIL, NULL);
	bench_put(b, "b.example.net", DV_A, DV_OK, "198.51.100.7", NULL);
	bench_run(b, check_client);
	bench_expect_nothing(b);
	bench_free(b);

	b = bench_new();
	bench_put(b, CLIENT_PTR, DV_PTR, DV_OK, "a.example.net", "b.example.net", NULL);
	bench_put(b, "a.example.net", DV_A, DV_NXDOMAIN, NULL);
	bench_put(b, "b.example.net", DV_A, DV_OK, "192.0.2.1", NULL);
	bench_run(b, check_client);
	bench_expect(b, "fcrdns_fail", 3, "ptr=a.example.net fcrdns=fail", NULL);
	bench_free(b);
}

/* 32 PTR names (truncated): only the first 10 are followed. */
static void
test_client_huge_ptr(void **state)
{
	struct bench *b = bench_new();
	struct dv_rr rr[DV_RR_MAX];
	char names[DV_RR_MAX][32];
	char want[64];

	(void)state;
	for (size_t i = 0; i < DV_RR_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "h%zu.example.net", i);
		rr[i] = (struct dv_rr){ names[i], strlen(names[i]), 0 };
	}
	bench_put_rrs(b, CLIENT_PTR, DV_PTR, rr, DV_RR_MAX, true);
	bench_run(b, check_client);
	assert_int_equal(dv_misses(b->view), 10);
	for (size_t i = 0; i < 10; i++)
		bench_put(b, names[i], DV_A, DV_NXDOMAIN, NULL);
	bench_run(b, check_client);
	bench_expect_misses(b, NULL);
	snprintf(want, sizeof(want), "ptr=%s fcrdns=fail", names[0]);
	bench_expect(b, "fcrdns_fail", 3, want, NULL);
	/* the 11th name resolving to the client changes nothing */
	bench_put(b, names[10], DV_A, DV_OK, "198.51.100.7", NULL);
	bench_new_view(b);
	bench_run(b, check_client);
	bench_expect(b, "fcrdns_fail", 3, want, NULL);
	bench_free(b);
}

/* The client among 32 addresses of a truncated A answer is found. */
static void
test_client_huge_a(void **state)
{
	struct bench *b = bench_new();
	struct dv_rr rr[DV_RR_MAX];
	char addrs[DV_RR_MAX][20];

	(void)state;
	for (size_t i = 0; i < DV_RR_MAX; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "198.51.100.%zu", i == DV_RR_MAX - 1 ? 7 : 100 + i);
		rr[i] = (struct dv_rr){ addrs[i], strlen(addrs[i]), 0 };
	}
	bench_put(b, CLIENT_PTR, DV_PTR, DV_OK, "farm.example.net", NULL);
	bench_put_rrs(b, "farm.example.net", DV_A, rr, DV_RR_MAX, true);
	bench_run(b, check_client);
	bench_expect_nothing(b);
	bench_free(b);
}

static void
test_client_dynamic(void **state)
{
	struct bench *b = bench_new();

	(void)state;
	bench_put(b, CLIENT_PTR, DV_PTR, DV_OK, "dsl-198-51-100-7.provider.example", NULL);
	bench_put(b, "dsl-198-51-100-7.provider.example", DV_A, DV_OK, "198.51.100.7", NULL);
	bench_run(b, check_client);
	bench_expect(b, "dynamic_ptr", 4, "ptr=dsl-198-51-100-7.provider.example dynamic word=dsl",
	    NULL);
	bench_free(b);

	b = bench_new();			/* both: not verified, and dynamic */
	bench_put(b, CLIENT_PTR, DV_PTR, DV_OK, "c-198-51-100-7.hsd1.example.net", NULL);
	bench_put(b, "c-198-51-100-7.hsd1.example.net", DV_A, DV_NXDOMAIN, NULL);
	b->cfg.screen.weights[W_DYNAMIC_PTR] = 5;
	bench_run(b, check_client);
	bench_expect(b, "fcrdns_fail", 3, "ptr=c-198-51-100-7.hsd1.example.net fcrdns=fail",
	    "dynamic_ptr", 5, "ptr=c-198-51-100-7.hsd1.example.net dynamic address", NULL);
	bench_free(b);
}

static void
test_client_ipv6_and_mapped(void **state)
{
	static const char v6ptr[] =
	    "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa";
	struct bench *b = bench_new();

	(void)state;
	snprintf(b->facts.client_ip, sizeof(b->facts.client_ip), "2001:db8::7");
	bench_run(b, check_client);
	bench_expect_misses(b, v6ptr, DV_PTR, NULL);
	bench_put(b, v6ptr, DV_PTR, DV_OK, "v6.example.net", NULL);
	bench_run(b, check_client);
	bench_expect_misses(b, "v6.example.net", DV_AAAA, NULL);
	bench_put(b, "v6.example.net", DV_AAAA, DV_OK, "2001:db8::7", NULL);
	bench_run(b, check_client);
	bench_expect_nothing(b);
	bench_free(b);

	b = bench_new();			/* a mapped IPv4 client is IPv4 */
	snprintf(b->facts.client_ip, sizeof(b->facts.client_ip), "::ffff:198.51.100.7");
	bench_run(b, check_client);
	bench_expect_misses(b, CLIENT_PTR, DV_PTR, NULL);
	bench_free(b);

	b = bench_new();			/* no usable address: nothing at all */
	snprintf(b->facts.client_ip, sizeof(b->facts.client_ip), "unknown");
	bench_run(b, check_client);
	bench_expect_nothing(b);
	bench_expect_misses(b, NULL);
	bench_free(b);
}

/* ---- check_helo --------------------------------------------------------------- */

static void
set_helo(struct bench *b, const char *helo)
{
	snprintf(b->facts.helo, sizeof(b->facts.helo), "%s", helo);
}

/* Decided without DNS: forged, literal, not a domain. */
static void
test_helo_without_dns(void **state)
{
	static const struct { const char *helo, *item; int weight; const char *reason; } rows[] = {
		{ "mx.home.test", "helo_forged", 100, "helo=mx.home.test is ours" },
		{ "MX.Home.Test.", "helo_forged", 100, "helo=mx.home.test is ours" },
		{ "family.test", "helo_forged", 100, "helo=family.test is ours" },
		{ "[192.0.2.25]", "helo_forged", 100, "helo=[192.0.2.25] is ours" },
		{ "192.0.2.25", "helo_forged", 100, "helo=192.0.2.25 is ours" },
		{ "[198.51.100.7]", "helo_literal", 1, "helo=[198.51.100.7]" },
		{ "[IPv6:2001:db8::7]", "helo_literal", 1, "helo=[ipv6:2001:db8::7]" },
		{ "[2001:db8::7]", "helo_not_fqdn", 3, "helo=[2001:db8::7] not a domain" },
		{ "[IPv6:192.0.2.1]", "helo_not_fqdn", 3, "helo=[ipv6:192.0.2.1] not a domain" },
		{ "[300.1.1.1]", "helo_not_fqdn", 3, "helo=[300.1.1.1] not a domain" },
		{ "[198.51.100.7", "helo_not_fqdn", 3, "helo=[198.51.100.7 not a domain" },
		{ "198.51.100.7", "helo_not_fqdn", 3, "helo=198.51.100.7 not a domain" },
		{ "localhost", "helo_not_fqdn", 3, "helo=localhost not a domain" },
		{ "user_pc.example.com", "helo_not_fqdn", 3, "helo=user_pc.example.com not a domain" },
		{ "-bad.example.com", "helo_not_fqdn", 3, "helo=-bad.example.com not a domain" },
		{ "a..example.com", "helo_not_fqdn", 3, "helo=a..example.com not a domain" },
		{ "example.123", "helo_not_fqdn", 3, "helo=example.123 not a domain" },
		{ "ex\x01" "ample.com", "helo_not_fqdn", 3, "helo=ex?ample.com not a domain" },
		{ "win 10 pc", "helo_not_fqdn", 3, "helo=win?10?pc not a domain" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct bench *b = bench_new();
		set_helo(b, rows[i].helo);
		bench_run(b, check_helo);
		bench_expect(b, rows[i].item, rows[i].weight, rows[i].reason, NULL);
		bench_expect_misses(b, NULL);
		bench_free(b);
	}
}

static void
test_helo_rounds_and_dns(void **state)
{
	struct bench *b = bench_new();

	(void)state;
	set_helo(b, "");
	bench_run(b, check_helo);
	bench_expect_nothing(b);
	bench_expect_misses(b, NULL);

	set_helo(b, "Mail.Example.NET");
	bench_run(b, check_helo);		/* its addresses and the client's PTR */
	bench_expect_nothing(b);
	bench_expect_misses(b, "mail.example.net", DV_A, "mail.example.net", DV_AAAA,
	    CLIENT_PTR, DV_PTR, NULL);
	bench_put(b, "mail.example.net", DV_A, DV_NXDOMAIN, NULL);
	bench_put(b, "mail.example.net", DV_AAAA, DV_NXDOMAIN, NULL);
	bench_put(b, CLIENT_PTR, DV_PTR, DV_NXDOMAIN, NULL);
	bench_run(b, check_helo);
	bench_expect(b, "helo_no_dns", 2, "helo=mail.example.net a=none aaaa=none", NULL);
	bench_free(b);
}

static void
test_helo_address_records(void **state)
{
	static const struct {
		enum dv_status a, aaaa;
		bool unknown;
		const char *reason;	/* NULL: resolves, nothing */
	} rows[] = {
		{ DV_OK, DV_NODATA, false, NULL },
		{ DV_NODATA, DV_OK, false, NULL },
		{ DV_OK, DV_TEMPFAIL, false, NULL },
		{ DV_NODATA, DV_NODATA, false, "helo=mail.example.net a=none aaaa=none" },
		{ DV_NXDOMAIN, DV_NODATA, false, "helo=mail.example.net a=none aaaa=none" },
		{ DV_TEMPFAIL, DV_NODATA, true, "helo=mail.example.net dns=tempfail" },
		{ DV_NXDOMAIN, DV_TEMPFAIL, true, "helo=mail.example.net dns=tempfail" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct bench *b = bench_new();
		set_helo(b, "mail.example.net");
		bench_put(b, CLIENT_PTR, DV_PTR, DV_NXDOMAIN, NULL);
		bench_put(b, "mail.example.net", DV_A, rows[i].a,
		    rows[i].a == DV_OK ? "203.0.113.1" : NULL, NULL);
		bench_put(b, "mail.example.net", DV_AAAA, rows[i].aaaa,
		    rows[i].aaaa == DV_OK ? "2001:db8::1" : NULL, NULL);
		bench_run(b, check_helo);
		if (rows[i].reason == NULL)
			bench_expect_nothing(b);
		else if (rows[i].unknown)
			bench_expect_unknown(b, "helo_no_dns", 0, 2, rows[i].reason);
		else
			bench_expect(b, "helo_no_dns", 2, rows[i].reason, NULL);
		bench_free(b);
	}
}

static void
test_helo_matches_ptr(void **state)
{
	struct bench *b = bench_new();

	(void)state;
	set_helo(b, "Mail.Example.Net");
	bench_put(b, CLIENT_PTR, DV_PTR, DV_OK, "other.example.net", "mail.example.net", NULL);
	bench_put(b, "other.example.net", DV_A, DV_NXDOMAIN, NULL);
	bench_put(b, "mail.example.net", DV_A, DV_OK, "198.51.100.7", NULL);
	bench_put(b, "mail.example.net", DV_AAAA, DV_NODATA, NULL);
	bench_run(b, check_helo);
	bench_expect(b, "helo_matches_ptr", -1, "helo=mail.example.net verified ptr", NULL);
	bench_free(b);

	b = bench_new();		/* the PTR name, but it does not point back */
	set_helo(b, "mail.example.net");
	bench_put(b, CLIENT_PTR, DV_PTR, DV_OK, "mail.example.net", NULL);
	bench_put(b, "mail.example.net", DV_A, DV_OK, "203.0.113.1", NULL);
	bench_put(b, "mail.example.net", DV_AAAA, DV_NODATA, NULL);
	bench_run(b, check_helo);
	bench_expect_nothing(b);
	bench_free(b);

	b = bench_new();		/* the PTR is unknown: so is the bonus */
	set_helo(b, "mail.example.net");
	bench_put(b, CLIENT_PTR, DV_PTR, DV_TEMPFAIL, NULL);
	bench_put(b, "mail.example.net", DV_A, DV_OK, "198.51.100.7", NULL);
	bench_put(b, "mail.example.net", DV_AAAA, DV_NODATA, NULL);
	bench_run(b, check_helo);
	bench_expect_unknown(b, "helo_matches_ptr", -1, 0, "helo=mail.example.net ptr=tempfail");
	bench_free(b);

	b = bench_new();		/* the PTR name's address lookup failed for now */
	set_helo(b, "mail.example.net");
	bench_put(b, CLIENT_PTR, DV_PTR, DV_OK, "mail.example.net", NULL);
	bench_put(b, "mail.example.net", DV_A, DV_TEMPFAIL, NULL);
	bench_put(b, "mail.example.net", DV_AAAA, DV_OK, "2001:db8::1", NULL);
	bench_run(b, check_helo);
	bench_expect_unknown(b, "helo_matches_ptr", -1, 0,
	    "helo=mail.example.net ptr fcrdns=tempfail");
	bench_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_rounds),
		cmocka_unit_test(test_client_no_ptr),
		cmocka_unit_test(test_client_ptr_tempfail),
		cmocka_unit_test(test_client_fcrdns),
		cmocka_unit_test(test_client_several_names),
		cmocka_unit_test(test_client_huge_ptr),
		cmocka_unit_test(test_client_huge_a),
		cmocka_unit_test(test_client_dynamic),
		cmocka_unit_test(test_client_ipv6_and_mapped),
		cmocka_unit_test(test_helo_without_dns),
		cmocka_unit_test(test_helo_rounds_and_dns),
		cmocka_unit_test(test_helo_address_records),
		cmocka_unit_test(test_helo_matches_ptr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
