/*
 * screen/sender_test.c - check_sender: MX, null MX, the A/AAAA fallback,
 * NXDOMAIN, temporary failures, unusable MX answers, the suspicious TLD,
 * and the senders it must leave alone (<>, no MAIL yet, a literal).
 */
#include "checks_testlib.h"

static void
set_sender(struct bench *b, const char *from)
{
	snprintf(b->facts.mail_from, sizeof(b->facts.mail_from), "%s", from);
	b->facts.flags |= SCREEN_FACT_MAIL_SEEN;
	if (from[0] == '\0')
		b->facts.flags |= SCREEN_FACT_NULL_SENDER;
}

static void
test_sender_skipped(void **state)
{
	static const char *const froms[] = { "", "anne@[192.0.2.1]", "no-at-sign", "anne@" };
	struct bench *b;

	(void)state;
	for (size_t i = 0; i < sizeof(froms) / sizeof(froms[0]); i++) {
		b = bench_new();
		set_sender(b, froms[i]);
		bench_run(b, check_sender);
		bench_expect_nothing(b);
		bench_expect_misses(b, NULL);
		bench_free(b);
	}
	b = bench_new();		/* MAIL not seen yet: mail_from means nothing */
	snprintf(b->facts.mail_from, sizeof(b->facts.mail_from), "anne@example.org");
	bench_run(b, check_sender);
	bench_expect_misses(b, NULL);
	bench_free(b);
}

static void
test_sender_mx(void **state)
{
	struct bench *b = bench_new();
	struct dv_rr null_mx = { "", 0, 0 };
	struct dv_rr two[2] = { { "", 0, 0 }, { "mx.example.org", 14, 10 } };

	(void)state;
	set_sender(b, "anne@example.org");
	bench_run(b, check_sender);
	bench_expect_misses(b, "example.org", DV_MX, NULL);
	bench_put(b, "example.org", DV_MX, DV_OK, "mx.example.org", NULL);
	bench_run(b, check_sender);
	bench_expect_nothing(b);
	bench_expect_misses(b, NULL);
	bench_free(b);

	b = bench_new();		/* RFC 7505 */
	set_sender(b, "anne@nomail.example.org");
	bench_put_rrs(b, "nomail.example.org", DV_MX, &null_mx, 1, false);
	bench_run(b, check_sender);
	bench_expect(b, "sender_null_mx", 10, "domain=nomail.example.org null mx", NULL);
	bench_free(b);

	b = bench_new();		/* a "null MX" among real ones is not one */
	set_sender(b, "anne@mixed.example.org");
	bench_put_rrs(b, "mixed.example.org", DV_MX, two, 2, false);
	bench_run(b, check_sender);
	bench_expect_nothing(b);
	bench_free(b);
}

static void
test_sender_failures(void **state)
{
	struct bench *b = bench_new();

	(void)state;
	set_sender(b, "anne@gone.example.org");
	bench_put(b, "gone.example.org", DV_MX, DV_NXDOMAIN, NULL);
	bench_run(b, check_sender);
	bench_expect(b, "sender_nxdomain", 10, "domain=gone.example.org nxdomain", NULL);
	bench_expect_misses(b, NULL);
	bench_free(b);

	b = bench_new();
	set_sender(b, "anne@slow.example.org");
	bench_put(b, "slow.example.org", DV_MX, DV_TEMPFAIL, NULL);
	bench_run(b, check_sender);
	bench_expect_unknown(b, "sender_no_mail", 0, 10, "domain=slow.example.org mx=tempfail");
	bench_free(b);

	b = bench_new();		/* MX records naming no host (resolver.c) */
	set_sender(b, "anne@badmx.example.org");
	bench_put_trunc(b, "badmx.example.org", DV_MX, DV_NODATA);
	bench_run(b, check_sender);
	bench_expect(b, "sender_no_mail", 6, "domain=badmx.example.org mx=unusable", NULL);
	bench_free(b);
}

/* No MX: A or AAAA make an implicit MX (RFC 5321 5.1). */
static void
test_sender_implicit_mx(void **state)
{
	static const struct {
		enum dv_status a, aaaa;
		const char *reason;	/* NULL: nothing */
		bool unknown;
	} rows[] = {
		{ DV_OK, DV_NODATA, NULL, false },
		{ DV_NODATA, DV_OK, NULL, false },
		{ DV_OK, DV_TEMPFAIL, NULL, false },
		{ DV_NODATA, DV_NODATA, "domain=example.org mx=none a=none aaaa=none", false },
		{ DV_NXDOMAIN, DV_NODATA, "domain=example.org mx=none a=none aaaa=none", false },
		{ DV_TEMPFAIL, DV_NODATA, "domain=example.org mx=none a=tempfail", true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct bench *b = bench_new();
		set_sender(b, "anne@example.org");
		bench_put(b, "example.org", DV_MX, DV_NODATA, NULL);
		bench_run(b, check_sender);
		bench_expect_misses(b, "example.org", DV_A, "example.org", DV_AAAA, NULL);
		bench_put(b, "example.org", DV_A, rows[i].a, rows[i].a == DV_OK ? "192.0.2.1" : NULL,
		    NULL);
		bench_put(b, "example.org", DV_AAAA, rows[i].aaaa,
		    rows[i].aaaa == DV_OK ? "2001:db8::1" : NULL, NULL);
		bench_run(b, check_sender);
		if (rows[i].reason == NULL)
			bench_expect_nothing(b);
		else if (rows[i].unknown)
			bench_expect_unknown(b, "sender_no_mail", 0, 6, rows[i].reason);
		else
			bench_expect(b, "sender_no_mail", 6, rows[i].reason, NULL);
		bench_free(b);
	}
}

static void
test_sender_tld(void **state)
{
	struct bench *b = bench_new();

	(void)state;
	set_sender(b, "deals@offers.example.top");
	bench_put(b, "offers.example.top", DV_MX, DV_OK, "mx.example.top", NULL);
	bench_run(b, check_sender);
	bench_expect(b, "suspicious_tld", 6, "tld=top", NULL);
	bench_free(b);

	b = bench_new();		/* with a failure of its own */
	set_sender(b, "deals@gone.example.ICU");
	bench_put(b, "gone.example.icu", DV_MX, DV_NXDOMAIN, NULL);
	bench_run(b, check_sender);
	bench_expect(b, "suspicious_tld", 6, "tld=icu", "sender_nxdomain", 10,
	    "domain=gone.example.ICU nxdomain", NULL);
	bench_free(b);

	b = bench_new();		/* a TLD only by its end: "desktop" is not "top" */
	set_sender(b, "anne@example.desktop");
	bench_put(b, "example.desktop", DV_MX, DV_OK, "mx.example.desktop", NULL);
	bench_run(b, check_sender);
	bench_expect_nothing(b);
	bench_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sender_skipped),
		cmocka_unit_test(test_sender_mx),
		cmocka_unit_test(test_sender_failures),
		cmocka_unit_test(test_sender_implicit_mx),
		cmocka_unit_test(test_sender_tld),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
