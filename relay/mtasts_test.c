/*
 * relay/mtasts_test.c - the MTA-STS TXT record and cache file readers
 * (relay/mtasts_parse.c) and the TLS-RPT report (relay/tlsrpt.c): the
 * JSON must be what RFC 8460 4.4 describes, and the counts per policy
 * domain must add up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/x509_vfy.h>

#include "mtasts.h"
#include "mtasts_refresh.h"
#include "tlsrpt.h"

static void
test_txt_id(void **state)
{
	char id[MTASTS_ID_MAX + 1];
	const char *one[] = { "v=spf1 -all", "v=STSv1; id=20160831085700Z;" };
	const char *blanks[] = { "v=STSv1 ;  id=abc123  ; ext=1" };
	const char *two[] = { "v=STSv1; id=a;", "v=STSv1; id=b;" };
	const char *badid[] = { "v=STSv1; id=not-alnum;" };
	const char *noid[] = { "v=STSv1;" };
	const char *other[] = { "v=STSv10; id=x;", "hello" };
	const char *longid[] = { "v=STSv1; id=123456789012345678901234567890123;" };

	(void)state;
	assert_int_equal(mtasts_txt_id(one, 2, id), 1);
	assert_string_equal(id, "20160831085700Z");
	assert_int_equal(mtasts_txt_id(blanks, 1, id), 1);
	assert_string_equal(id, "abc123");
	assert_int_equal(mtasts_txt_id(two, 2, id), -1);	/* 3.1: several = none */
	assert_int_equal(mtasts_txt_id(badid, 1, id), -1);
	assert_int_equal(mtasts_txt_id(noid, 1, id), -1);
	assert_int_equal(mtasts_txt_id(other, 2, id), 0);
	assert_int_equal(mtasts_txt_id(longid, 1, id), -1);
	assert_int_equal(mtasts_txt_id(NULL, 0, id), 0);
}

static void
test_cache_round_trip(void **state)
{
	struct sts_policy p = { .mode = STS_MODE_ENFORCE, .max_age = 604800, .nmx = 2,
	    .mx = { "mx1.example.test", "*.example.net" } }, q;
	char buf[4096], id[MTASTS_ID_MAX + 1];
	time_t expires;
	size_t n = mtasts_cache_format("abc123", 1765000000, &p, buf, sizeof(buf));

	(void)state;
	assert_true(n > 0);
	assert_int_equal(mtasts_cache_parse(buf, n, id, &expires, &q), 0);
	assert_string_equal(id, "abc123");
	assert_int_equal(expires, 1765000000);
	assert_int_equal(q.mode, STS_MODE_ENFORCE);
	assert_int_equal(q.max_age, 604800);
	assert_int_equal(q.nmx, 2);
	assert_string_equal(q.mx[1], "*.example.net");
	assert_int_equal(mtasts_cache_format("abc123", 1, &p, buf, 20), 0);	/* no room */
	assert_int_equal(mtasts_cache_parse("id x\nexpires 1\n", 16, id, &expires, &q), -1);
	assert_int_equal(mtasts_cache_parse("id x!\nexpires 1\n\nversion: STSv1\n", 33, id,
	    &expires, &q), -1);
	assert_int_equal(mtasts_cache_parse("id x\nexpires 1x\n\nversion: STSv1\n", 32, id,
	    &expires, &q), -1);
}

static void
test_report_json(void **state)
{
	struct tlsrpt_domain d = { .domain = "example.test", .sts = true,
	    .policy = "version: STSv1\nmode: enforce\nmx: *.example.test\nmax_age: 86400\n",
	    .ok = 3, .failed = 2, .ndetails = 1,
	    .details = { { TLSRPT_CERT_HOST_MISMATCH, "mx.example.test", "192.0.2.1", 2 } } };
	char buf[8192];
	size_t n = tlsrpt_format(&d, 1764892800, "mx.home.test", buf, sizeof(buf));

	(void)state;
	assert_true(n > 0 && n == strlen(buf));
	assert_non_null(strstr(buf, "\"organization-name\": \"mx.home.test\""));
	assert_non_null(strstr(buf, "\"start-datetime\": \"2025-12-05T00:00:00Z\", "
	    "\"end-datetime\": \"2025-12-05T23:59:59Z\""));
	assert_non_null(strstr(buf, "\"policy-type\": \"sts\", \"policy-string\": "
	    "[\"version: STSv1\", \"mode: enforce\", \"mx: *.example.test\", \"max_age: 86400\"], "
	    "\"policy-domain\": \"example.test\""));
	assert_non_null(strstr(buf, "\"total-successful-session-count\": 3, "
	    "\"total-failure-session-count\": 2"));
	assert_non_null(strstr(buf, "{\"result-type\": \"certificate-host-mismatch\", "
	    "\"receiving-ip\": \"192.0.2.1\", \"receiving-mx-hostname\": \"mx.example.test\", "
	    "\"failed-session-count\": 2}"));
	assert_non_null(strstr(buf, "\"report-id\": \"2025-12-05-example.test@mx.home.test\""));
	assert_int_equal(tlsrpt_format(&d, 1764892800, "mx.home.test", buf, 100), 0);
}

static void
test_verify_errors_and_tlsa_text(void **state)
{
	static struct dane_set set = { .n = 1, .used = 2, .rr = { { 3, 1, 1, 0, 2 } },
	    .data = { 0xab, 0x01 } };
	char buf[64];

	(void)state;
	assert_int_equal(tlsrpt_result_of_verify(X509_V_ERR_HOSTNAME_MISMATCH),
	    TLSRPT_CERT_HOST_MISMATCH);
	assert_int_equal(tlsrpt_result_of_verify(X509_V_ERR_CERT_HAS_EXPIRED), TLSRPT_CERT_EXPIRED);
	assert_int_equal(tlsrpt_result_of_verify(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
	    TLSRPT_CERT_NOT_TRUSTED);
	assert_int_equal(tlsrpt_result_of_verify(X509_V_ERR_DANE_NO_MATCH),
	    TLSRPT_VALIDATION_FAILURE);
	assert_string_equal(tlsrpt_result_word(TLSRPT_STS_WEBPKI_INVALID), "sts-webpki-invalid");
	assert_string_equal(tlsrpt_tlsa_text(&set, buf, sizeof(buf)), "3 1 1 ab01\n");
}

/* The background refresh schedule (relay/mtasts_refresh.h), at fixed
 * instants: a policy of max_age 86400 fetched at T. */
static void
test_refresh_schedule(void **state)
{
	const time_t T = 1700000000;
	struct mtasts_times t = { .expires = T + 86400, .max_age = 86400, .last_used = T,
	    .last_check = T };
	bool fetch;

	(void)state;
	/* half of max_age: re-fetched even under the same id */
	assert_int_equal(mtasts_refresh_due(&t, &fetch), T + 43200);
	assert_true(fetch);
	/* a long max_age: the daily TXT check comes first, fetch only on a new id */
	t.max_age = 30 * 86400;
	t.expires = T + 30 * 86400;
	assert_int_equal(mtasts_refresh_due(&t, &fetch), T + MTASTS_CHECK_INTERVAL);
	assert_false(fetch);
	/* a try that did not help waits a quarter of max_age, at most an hour */
	t.last_check = T + MTASTS_CHECK_INTERVAL;
	t.last_try = T + MTASTS_CHECK_INTERVAL;
	t.last_used = T + MTASTS_CHECK_INTERVAL;
	assert_int_equal(mtasts_refresh_due(&t, &fetch), T + 2 * MTASTS_CHECK_INTERVAL);
	t.max_age = 40;
	t.expires = T + 40;
	t.last_check = T;
	t.last_used = T;
	t.last_try = T + 20;		/* tried at half-time: again 10 s later */
	assert_int_equal(mtasts_refresh_due(&t, &fetch), T + 30);
	assert_true(fetch);
	t.max_age = 86400;
	t.expires = T + 86400;
	t.last_try = T + 43200;		/* the host did not answer at half-time */
	assert_int_equal(mtasts_refresh_due(&t, &fetch), T + 43200 + MTASTS_RETRY_MAX);
	/* already expired, mail still flowing: due at once (in the past) */
	t.last_try = 0;
	t.expires = T - 10;
	t.last_used = T;
	assert_int_equal(mtasts_refresh_due(&t, &fetch), T - 10 - 43200);
	/* no mail within max_age of the due time: let it expire */
	t.expires = T + 86400;
	t.last_used = T - 43201;
	assert_int_equal(mtasts_refresh_due(&t, &fetch), 0);
	t.last_used = T - 43200;
	assert_int_equal(mtasts_refresh_due(&t, &fetch), T + 43200);
	/* no policy, or max_age 0 (never cached) */
	t.expires = 0;
	assert_int_equal(mtasts_refresh_due(&t, &fetch), 0);
	t.expires = T;
	t.max_age = 0;
	assert_int_equal(mtasts_refresh_due(&t, &fetch), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txt_id),
		cmocka_unit_test(test_refresh_schedule),
		cmocka_unit_test(test_cache_round_trip),
		cmocka_unit_test(test_report_json),
		cmocka_unit_test(test_verify_errors_and_tlsa_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
