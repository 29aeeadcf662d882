/*
 * relay/dane_test.c - the TLSA answer reader and the RFC 7672 decision
 * (relay/dane.c), and the precedence of the TLS policies
 * (relay/tlspolicy.c): packets built here byte by byte, as a resolver
 * would send them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dane.h"
#include "tlspolicy.h"

/* A response for _25._tcp.mx.t TLSA with the given rcode and AD bit and
 * nrr records of rdata rd (rdlen each); returns its length. */
static size_t
packet(unsigned char *p, int rcode, bool ad, int nrr, const unsigned char *rd, size_t rdlen)
{
	static const unsigned char qname[] = "\x03_25\x04_tcp\x02mx\x01t";
	size_t o = 0;

	memset(p, 0, 12);
	p[0] = 0x12; p[1] = 0x34;
	p[2] = 0x81;				/* QR, RD */
	p[3] = (unsigned char)(0x80 | (ad ? 0x20 : 0) | rcode);	/* RA, AD, RCODE */
	p[5] = 1;				/* QDCOUNT */
	p[7] = (unsigned char)nrr;		/* ANCOUNT */
	o = 12;
	memcpy(p + o, qname, sizeof(qname));	/* with its final 0 */
	o += sizeof(qname);
	p[o++] = 0; p[o++] = 52; p[o++] = 0; p[o++] = 1;
	for (int i = 0; i < nrr; i++) {
		p[o++] = 0xc0; p[o++] = 12;	/* the question's name */
		p[o++] = 0; p[o++] = 52; p[o++] = 0; p[o++] = 1;
		p[o++] = 0; p[o++] = 0; p[o++] = 1; p[o++] = 0x2c;	/* TTL 300 */
		p[o++] = (unsigned char)(rdlen >> 8); p[o++] = (unsigned char)rdlen;
		memcpy(p + o, rd, rdlen);
		o += rdlen;
	}
	return o;
}

static unsigned char rd311[35] = { 3, 1, 1 };	/* + 32 octets of SHA-256 */

static void
test_records_and_ad(void **state)
{
	unsigned char p[1024];
	struct dane_set set;
	bool ad;
	size_t n = packet(p, 0, true, 2, rd311, sizeof(rd311));

	(void)state;
	assert_int_equal(dane_parse_answer(p, n, &ad, &set), DANE_RC_RECORDS);
	assert_true(ad);
	assert_int_equal(set.n, 2);
	assert_int_equal(set.rr[0].usage, 3);
	assert_int_equal(set.rr[0].len, 32);
	assert_true(dane_tlsa_usable(&set.rr[0]));
	n = packet(p, 0, false, 1, rd311, sizeof(rd311));
	assert_int_equal(dane_parse_answer(p, n, &ad, &set), DANE_RC_RECORDS);
	assert_false(ad);
}

static void
test_rcodes_and_broken_packets(void **state)
{
	unsigned char p[1024];
	struct dane_set set;
	bool ad;
	size_t n;

	(void)state;
	n = packet(p, 3, true, 0, NULL, 0);
	assert_int_equal(dane_parse_answer(p, n, &ad, &set), DANE_RC_NONE);	/* NXDOMAIN */
	n = packet(p, 0, true, 0, NULL, 0);
	assert_int_equal(dane_parse_answer(p, n, &ad, &set), DANE_RC_NONE);	/* NODATA */
	n = packet(p, 2, false, 0, NULL, 0);
	assert_int_equal(dane_parse_answer(p, n, &ad, &set), DANE_RC_FAIL);	/* SERVFAIL */
	n = packet(p, 0, true, 1, rd311, sizeof(rd311));
	assert_int_equal(dane_parse_answer(p, n - 5, &ad, &set), DANE_RC_FAIL);	/* cut */
	assert_int_equal(dane_parse_answer(p, 5, &ad, &set), DANE_RC_FAIL);
	assert_int_equal(dane_parse_answer(NULL, 0, &ad, &set), DANE_RC_FAIL);
}

static void
test_usable(void **state)
{
	struct dane_tlsa t = { .usage = 3, .selector = 1, .mtype = 1, .len = 32 };

	(void)state;
	assert_true(dane_tlsa_usable(&t));
	t.usage = 2;
	assert_true(dane_tlsa_usable(&t));
	t.usage = 1;			/* PKIX-EE: not for SMTP (RFC 7672 3.1.3) */
	assert_false(dane_tlsa_usable(&t));
	t.usage = 3;
	t.len = 31;			/* a SHA-256 of the wrong length */
	assert_false(dane_tlsa_usable(&t));
	t.mtype = 2;
	t.len = 64;
	assert_true(dane_tlsa_usable(&t));
	t.mtype = 3;
	assert_false(dane_tlsa_usable(&t));
	t.mtype = 0;
	t.selector = 2;
	assert_false(dane_tlsa_usable(&t));
}

static void
test_decide(void **state)
{
	struct dane_set usable = { .n = 1, .nseen = 1,
	    .rr = { { .usage = 3, .selector = 1, .mtype = 1, .len = 32 } } };
	struct dane_set unusable = { .n = 1, .nseen = 1,
	    .rr = { { .usage = 1, .selector = 1, .mtype = 1, .len = 32 } } };

	(void)state;
	assert_int_equal(dane_decide(true, true, DANE_RC_RECORDS, true, &usable), DANE_AUTH);
	assert_int_equal(dane_decide(true, true, DANE_RC_RECORDS, true, &unusable), DANE_ENCRYPT);
	/* not believed: resolver not trusted, MX insecure, TLSA insecure */
	assert_int_equal(dane_decide(false, true, DANE_RC_RECORDS, true, &usable), DANE_OFF);
	assert_int_equal(dane_decide(true, false, DANE_RC_RECORDS, true, &usable), DANE_OFF);
	assert_int_equal(dane_decide(true, true, DANE_RC_RECORDS, false, &usable), DANE_OFF);
	assert_int_equal(dane_decide(true, true, DANE_RC_NONE, true, &usable), DANE_OFF);
	/* a failed lookup under a secure MX could be an attacker hiding them */
	assert_int_equal(dane_decide(true, true, DANE_RC_FAIL, false, &usable), DANE_HOST_FAILED);
	assert_int_equal(dane_decide(true, false, DANE_RC_FAIL, false, &usable), DANE_OFF);
}

/* A NOERROR, AD response whose records are given one by one. */
static size_t
packet_begin(unsigned char *p, int nrr)
{
	size_t o = packet(p, 0, true, 0, NULL, 0);

	p[6] = (unsigned char)(nrr >> 8);
	p[7] = (unsigned char)nrr;
	return o;
}

static size_t
packet_add(unsigned char *p, size_t o, const unsigned char *rd, size_t rdlen)
{
	p[o++] = 0xc0; p[o++] = 12;
	p[o++] = 0; p[o++] = 52; p[o++] = 0; p[o++] = 1;
	p[o++] = 0; p[o++] = 0; p[o++] = 1; p[o++] = 0x2c;
	p[o++] = (unsigned char)(rdlen >> 8); p[o++] = (unsigned char)rdlen;
	memcpy(p + o, rd, rdlen);
	return o + rdlen;
}

/* The bounds of relay/dane.h: 16 records of a rollover kept whole, a
 * 17th and an over-long one ignored and counted, the shared data area
 * full, and an ignored usable record never turning into dane-encrypt. */
static void
test_bounds(void **state)
{
	static unsigned char p[65536], big[3 + DANE_DATA_MAX + 1], cert[3 + 6000];
	static unsigned char rd312[67] = { 3, 1, 2 }, rd100[35] = { 1, 0, 0 };
	static struct dane_set set;
	size_t o;
	bool ad;

	(void)state;
	big[0] = 3; big[1] = 0; big[2] = 0;		/* 3 0 0: a full certificate */
	cert[0] = 3; cert[1] = 0; cert[2] = 0;
	memset(cert + 3, 0x5a, sizeof(cert) - 3);
	/* 8 SHA-256 and 8 SHA-512: all 16 kept, data where they say */
	o = packet_begin(p, 16);
	for (int i = 0; i < 16; i++) {
		unsigned char *rd = i % 2 ? rd312 : rd311;
		rd[3] = (unsigned char)i;
		o = packet_add(p, o, rd, i % 2 ? sizeof(rd312) : sizeof(rd311));
	}
	assert_int_equal(dane_parse_answer(p, o, &ad, &set), DANE_RC_RECORDS);
	assert_int_equal(set.n, 16);
	assert_int_equal(set.nseen, 16);
	assert_int_equal(set.used, 8 * 32 + 8 * 64);
	assert_int_equal(set.rr[15].len, 64);
	assert_int_equal(dane_data(&set, 15)[0], 15);
	assert_int_equal(dane_data(&set, 14)[0], 14);
	assert_true(dane_tlsa_usable(&set.rr[15]));
	/* a 17th record and one longer than DANE_DATA_MAX: ignored, counted */
	o = packet_begin(p, 18);
	o = packet_add(p, o, big, sizeof(big));
	for (int i = 0; i < 17; i++)
		o = packet_add(p, o, rd311, sizeof(rd311));
	assert_int_equal(dane_parse_answer(p, o, &ad, &set), DANE_RC_RECORDS);
	assert_int_equal(set.n, 16);
	assert_int_equal(set.nseen, 18);
	assert_true(set.dropped_usable);
	/* full certificates: two of 6000 octets fit, a third does not */
	o = packet_begin(p, 3);
	for (int i = 0; i < 3; i++)
		o = packet_add(p, o, cert, sizeof(cert));
	assert_int_equal(dane_parse_answer(p, o, &ad, &set), DANE_RC_RECORDS);
	assert_int_equal(set.n, 2);
	assert_int_equal(set.used, 12000);
	assert_int_equal(set.rr[1].off, 6000);
	assert_int_equal(dane_data(&set, 1)[5999], 0x5a);
	assert_int_equal(dane_decide(true, true, DANE_RC_RECORDS, true, &set), DANE_AUTH);
	/* kept: one PKIX-EE (unusable); ignored: a usable over-long one */
	o = packet_begin(p, 2);
	o = packet_add(p, o, rd100, sizeof(rd100));
	o = packet_add(p, o, big, sizeof(big));
	assert_int_equal(dane_parse_answer(p, o, &ad, &set), DANE_RC_RECORDS);
	assert_int_equal(set.n, 1);
	assert_true(set.dropped_usable);
	assert_int_equal(dane_decide(true, true, DANE_RC_RECORDS, true, &set), DANE_AUTH);
	/* the same without the usable one: encryption alone (RFC 7672 2.2) */
	o = packet_begin(p, 1);
	o = packet_add(p, o, rd100, sizeof(rd100));
	assert_int_equal(dane_parse_answer(p, o, &ad, &set), DANE_RC_RECORDS);
	assert_false(set.dropped_usable);
	assert_int_equal(dane_decide(true, true, DANE_RC_RECORDS, true, &set), DANE_ENCRYPT);
}

/* RFC 7672 2.2.2: insecure addresses switch off whatever the TLSA said */
static void
test_address_gate(void **state)
{
	static const enum dane_state all[] = { DANE_OFF, DANE_AUTH, DANE_ENCRYPT,
	    DANE_HOST_FAILED };

	(void)state;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		assert_int_equal(dane_addr_gate(all[i], true), all[i]);
		assert_int_equal(dane_addr_gate(all[i], false), DANE_OFF);
	}
}

static void
test_policy_precedence(void **state)
{
	struct sts_policy enforce = { .mode = STS_MODE_ENFORCE, .nmx = 1, .mx = { "*.sts.test" } };
	struct sts_policy testing = { .mode = STS_MODE_TESTING, .nmx = 1, .mx = { "*.sts.test" } };
	enum tlspolicy_skip skip;

	(void)state;
	assert_int_equal(tlspolicy_choose(false, DANE_OFF, NULL, "mx.a.test", &skip),
	    TLSP_OPPORTUNISTIC);
	assert_int_equal(skip, TLSPOLICY_USE);
	assert_int_equal(tlspolicy_choose(true, DANE_OFF, NULL, "mx.a.test", &skip), TLSP_REQUIRE);
	/* DANE beats MTA-STS (RFC 8461 2) and tls=require */
	assert_int_equal(tlspolicy_choose(true, DANE_AUTH, &enforce, "mx.other.test", &skip),
	    TLSP_DANE);
	assert_int_equal(skip, TLSPOLICY_USE);
	assert_int_equal(tlspolicy_choose(false, DANE_ENCRYPT, &enforce, "mx.sts.test", &skip),
	    TLSP_DANE_ENCRYPT);
	assert_int_equal(tlspolicy_choose(true, DANE_ENCRYPT, NULL, "mx.a.test", &skip),
	    TLSP_REQUIRE);
	assert_int_equal(tlspolicy_choose(false, DANE_HOST_FAILED, NULL, "mx.a.test", &skip),
	    TLSP_DANE);
	assert_int_equal(skip, TLSPOLICY_SKIP_TLSA_FAILED);
	/* MTA-STS enforce: the MX must match, then the certificate is verified */
	assert_int_equal(tlspolicy_choose(false, DANE_OFF, &enforce, "mx1.sts.test", &skip),
	    TLSP_STS_ENFORCE);
	assert_int_equal(skip, TLSPOLICY_USE);
	assert_int_equal(tlspolicy_choose(false, DANE_OFF, &enforce, "evil.example", &skip),
	    TLSP_STS_ENFORCE);
	assert_int_equal(skip, TLSPOLICY_SKIP_STS_MX);
	/* testing: any MX, nothing enforced */
	assert_int_equal(tlspolicy_choose(false, DANE_OFF, &testing, "evil.example", &skip),
	    TLSP_STS_TESTING);
	assert_int_equal(skip, TLSPOLICY_USE);
	assert_false(tls_policy_required(TLSP_STS_TESTING));
	assert_true(tls_policy_required(TLSP_DANE_ENCRYPT));
	assert_false(tls_policy_verifies(TLSP_DANE_ENCRYPT));
	assert_true(tls_policy_verifies(TLSP_STS_ENFORCE));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_and_ad),
		cmocka_unit_test(test_rcodes_and_broken_packets),
		cmocka_unit_test(test_usable),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_address_gate),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_policy_precedence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
