/*
 * admin/doctor_parse_test.c - the doctor's readers of outside text and
 * packets: tag=value lists (admin/taglist.c), raw DNS answers for CNAME,
 * TLSA and type 99 (admin/dnsraw.c), the MTA-STS policy and its HTTP
 * response (admin/doctor_sts.c) and the --changes state file
 * (admin/doctor_watch.c). The fuzz targets feed the same functions
 * (tests/fuzz/fuzz_dnsraw.c, fuzz_doctor_records.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <ares.h>
#include <cmocka.h>

#include "dnsraw.h"
#include "doctor.h"
#include "doctor_watch.h"
#include "taglist.h"

/* ---- tag lists ------------------------------------------------------------------------ */

static void
test_taglist(void **state)
{
	const char *t = " v = STSv1 ;id=abc123;; x_y=1 ;";
	char name[8], value[16];

	(void)state;
	assert_int_equal(taglist_valid(t, strlen(t)), 0);
	assert_int_equal(taglist_first(t, strlen(t), name, sizeof(name), value, sizeof(value)), 1);
	assert_string_equal(name, "v");
	assert_string_equal(value, "STSv1");
	assert_int_equal(taglist_get(t, strlen(t), "id", value, sizeof(value)), 1);
	assert_string_equal(value, "abc123");
	assert_int_equal(taglist_get(t, strlen(t), "x_y", value, sizeof(value)), 1);
	assert_int_equal(taglist_get(t, strlen(t), "ID", value, sizeof(value)), 0);
	assert_int_equal(taglist_get(t, strlen(t), "id", value, 3), -1);
	assert_int_equal(taglist_valid("v=1; nonsense", 13), -1);
	assert_int_equal(taglist_valid("1v=2", 4), -1);
	/* a broken element does not hide a later tag */
	assert_int_equal(taglist_get("junk; p=k", 9, "p", value, sizeof(value)), 1);
	assert_int_equal(taglist_first("", 0, name, sizeof(name), value, sizeof(value)), 0);
	/* a NUL inside a TXT record is just a byte */
	assert_int_equal(taglist_get("a=x\0y; b=z", 10, "b", value, sizeof(value)), 1);
	assert_string_equal(value, "z");
}

/* ---- raw DNS answers ------------------------------------------------------------------------ */

struct pkt {
	unsigned char	b[1024];
	size_t		n;
};

static void
put(struct pkt *p, const void *d, size_t n)
{
	assert_true(p->n + n <= sizeof(p->b));
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void
put16(struct pkt *p, unsigned v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	put(p, b, 2);
}

static void
put_name(struct pkt *p, const char *name)
{
	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t n = dot != NULL ? (size_t)(dot - name) : strlen(name);
		unsigned char len = (unsigned char)n;
		put(p, &len, 1);
		put(p, name, n);
		name += n + (dot != NULL ? 1 : 0);
	}
	put(p, "", 1);
}

/* A response with one question and the given answers (owner: the question). */
static void
response(struct pkt *p, const char *qname, unsigned qtype, unsigned flags2, unsigned ancount)
{
	p->n = 0;
	put16(p, 0x1234);
	put16(p, 0x8100 | flags2);	/* QR, RD; RA/AD/RCODE from flags2 */
	put16(p, 1);
	put16(p, ancount);
	put16(p, 0);
	put16(p, 0);
	put_name(p, qname);
	put16(p, qtype);
	put16(p, 1);
}

static void
answer(struct pkt *p, unsigned type, const unsigned char *rdata, size_t len)
{
	put16(p, 0xc00c);	/* the question's name */
	put16(p, type);
	put16(p, 1);
	put16(p, 0);
	put16(p, 300);
	put16(p, (unsigned)len);
	put(p, rdata, len);
}

static void
test_dnsraw_tlsa(void **state)
{
	unsigned char rd[3 + 32];
	struct dnsraw_answer a;
	const unsigned char *data;
	unsigned u, s, m;
	size_t len;
	struct pkt p;

	(void)state;
	rd[0] = 3;
	rd[1] = 1;
	rd[2] = 1;
	memset(rd + 3, 0xab, 32);
	response(&p, "_25._tcp.mx.example.test", DNSRAW_T_TLSA, 0x80 | 0x20, 2);
	answer(&p, DNSRAW_T_TLSA, rd, sizeof(rd));
	answer(&p, DNSRAW_T_TLSA, rd, 3);	/* no data: dnsraw_tlsa refuses it */
	dnsraw_parse(ARES_SUCCESS, p.b, p.n, DNSRAW_T_TLSA, &a);
	assert_int_equal(a.status, DV_OK);
	assert_true(a.ad);
	assert_int_equal(a.n, 2);
	assert_string_equal(a.rr[0].owner, "_25._tcp.mx.example.test");
	assert_int_equal(dnsraw_tlsa(&a.rr[0], &u, &s, &m, &data, &len), 0);
	assert_int_equal(u, 3);
	assert_int_equal(len, 32);
	assert_int_equal(data[31], 0xab);
	assert_int_equal(dnsraw_tlsa(&a.rr[1], &u, &s, &m, &data, &len), -1);
	/* cut short: the whole packet is a temporary failure */
	dnsraw_parse(ARES_SUCCESS, p.b, p.n - 5, DNSRAW_T_TLSA, &a);
	assert_int_equal(a.status, DV_TEMPFAIL);
}

static void
test_dnsraw_cname_and_status(void **state)
{
	struct dnsraw_answer a;
	struct pkt p, target;

	(void)state;
	target.n = 0;
	put_name(&target, "Mx.Example.Test");
	response(&p, "mail.example.test", DNSRAW_T_CNAME, 0x80, 1);
	answer(&p, DNSRAW_T_CNAME, target.b, target.n);
	dnsraw_parse(ARES_SUCCESS, p.b, p.n, DNSRAW_T_CNAME, &a);
	assert_int_equal(a.status, DV_OK);
	assert_true(a.cname);
	assert_false(a.ad);
	assert_string_equal(a.rr[0].target, "mx.example.test");
	/* asked for TLSA, got only the CNAME: no data, but an alias */
	dnsraw_parse(ARES_SUCCESS, p.b, p.n, DNSRAW_T_TLSA, &a);
	assert_int_equal(a.status, DV_NODATA);
	assert_true(a.cname);
	/* NXDOMAIN, SERVFAIL, errors without a packet */
	response(&p, "nx.example.test", DNSRAW_T_TLSA, 0x80 | 3, 0);
	dnsraw_parse(ARES_SUCCESS, p.b, p.n, DNSRAW_T_TLSA, &a);
	assert_int_equal(a.status, DV_NXDOMAIN);
	response(&p, "sf.example.test", DNSRAW_T_TLSA, 0x80 | 2, 0);
	dnsraw_parse(ARES_SUCCESS, p.b, p.n, DNSRAW_T_TLSA, &a);
	assert_int_equal(a.status, DV_TEMPFAIL);
	dnsraw_parse(ARES_ETIMEOUT, NULL, 0, DNSRAW_T_TLSA, &a);
	assert_int_equal(a.status, DV_TEMPFAIL);
	dnsraw_parse(ARES_ENOTFOUND, NULL, 0, DNSRAW_T_TLSA, &a);
	assert_int_equal(a.status, DV_NXDOMAIN);
}

static void
test_dnsraw_spf_type(void **state)
{
	static const unsigned char rd[] = "\x06v=spf1\x04 -al\x01l";
	struct dnsraw_answer a;
	char text[64];
	struct pkt p;

	(void)state;
	response(&p, "example.test", DNSRAW_T_SPF, 0x80, 1);
	answer(&p, DNSRAW_T_SPF, rd, sizeof(rd) - 1);
	dnsraw_parse(ARES_SUCCESS, p.b, p.n, DNSRAW_T_SPF, &a);
	assert_int_equal(a.status, DV_OK);
	assert_int_equal(dnsraw_txt(&a.rr[0], text, sizeof(text)), 0);
	assert_string_equal(text, "v=spf1 -all");
	assert_int_equal(dnsraw_txt(&a.rr[0], text, 5), -1);
}

/* ---- MTA-STS --------------------------------------------------------------------------------- */

static void
test_sts_policy(void **state)
{
	const char *good = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\n"
	    "mx: *.Backup.example.test\r\nmax_age: 604800\r\nfuture_key: whatever\r\n";
	struct sts_policy p;
	char why[120];

	(void)state;
	assert_int_equal(sts_policy_parse(good, strlen(good), &p, why, sizeof(why)), 0);
	assert_int_equal(p.mode, STS_MODE_ENFORCE);
	assert_int_equal(p.max_age, 604800);
	assert_int_equal(p.nmx, 2);
	assert_true(sts_policy_mx_matches(&p, "mx.example.test"));
	assert_true(sts_policy_mx_matches(&p, "MX.example.test."));
	assert_true(sts_policy_mx_matches(&p, "b1.backup.example.test"));
	/* a wildcard covers one label only (RFC 8461 4.1) */
	assert_false(sts_policy_mx_matches(&p, "a.b1.backup.example.test"));
	assert_false(sts_policy_mx_matches(&p, "backup.example.test"));
	assert_false(sts_policy_mx_matches(&p, "other.example.test"));

	static const struct { const char *text; const char *why; } bad[] = {
		{ "version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 1\n", "STSv1" },
		{ "version: STSv1\nmode: strict\nmx: a.test\nmax_age: 1\n", "mode" },
		{ "version: STSv1\nmode: enforce\nmx: a.test\n", "no max_age" },
		{ "version: STSv1\nmode: enforce\nmax_age: 1\n", "no mx" },
		{ "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n", "max_age" },
		{ "version: STSv1\nmode: enforce\nmx: a_b!\nmax_age: 1\n", "mx" },
		{ "<html>not a policy</html>\n", "key: value" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sts_policy_parse(bad[i].text, strlen(bad[i].text), &p, why, sizeof(why)) == 0)
			fail_msg("case %zu parsed", i);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, why, bad[i].why);
	}
	/* mode none needs no mx; max_age is capped at a year */
	const char *none = "version: STSv1\nmode: none\nmax_age: 99999999999\n";
	assert_int_equal(sts_policy_parse(none, strlen(none), &p, why, sizeof(why)), -1);
	none = "version: STSv1\nmode: none\nmax_age: 9999999999\n";
	assert_int_equal(sts_policy_parse(none, strlen(none), &p, why, sizeof(why)), 0);
	assert_int_equal(p.max_age, 31557600);
}

static void
test_sts_http(void **state)
{
	const char *ok = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 5\r\n\r\nhello, and more";
	const char *body;
	size_t len;
	bool plain;
	int status;
	char why[100];

	(void)state;
	assert_int_equal(sts_http_response(ok, strlen(ok), &status, &body, &len, &plain, why,
	    sizeof(why)), 0);
	assert_int_equal(status, 200);
	assert_int_equal(len, 5);
	assert_memory_equal(body, "hello", 5);
	assert_true(plain);
	const char *lf = "HTTP/1.1 301 Moved\nLocation: https://x/\n\nmoved";
	assert_int_equal(sts_http_response(lf, strlen(lf), &status, &body, &len, &plain, why,
	    sizeof(why)), 0);
	assert_int_equal(status, 301);
	assert_false(plain);
	const char *chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello";
	assert_int_equal(sts_http_response(chunked, strlen(chunked), &status, &body, &len, &plain,
	    why, sizeof(why)), -1);
	const char *short_body = "HTTP/1.0 200 OK\r\nContent-Length: 50\r\n\r\nhello";
	assert_int_equal(sts_http_response(short_body, strlen(short_body), &status, &body, &len,
	    &plain, why, sizeof(why)), -1);
	assert_int_equal(sts_http_response("SSH-2.0-x", 9, &status, &body, &len, &plain, why,
	    sizeof(why)), -1);
	const char *open = "HTTP/1.0 200 OK\r\nServer: x\r\n";
	assert_int_equal(sts_http_response(open, strlen(open), &status, &body, &len, &plain, why,
	    sizeof(why)), -1);
}

/* ---- the --changes state --------------------------------------------------------------------- */

static void
test_watch_state(void **state)
{
	const char *old = "OK\tptr 192.0.2.1\nFAIL\tspf example.test\nWARN\tdmarc example.test\n"
	    "garbage line\nOK\tspf example.test.x";

	(void)state;
	assert_int_equal(doctor_watch_old_status(old, "ptr 192.0.2.1"), DR_OK);
	assert_int_equal(doctor_watch_old_status(old, "spf example.test"), DR_FAIL);
	assert_int_equal(doctor_watch_old_status(old, "dmarc example.test"), DR_WARN);
	assert_int_equal(doctor_watch_old_status(old, "spf example"), -1);
	assert_int_equal(doctor_watch_old_status(old, "spf example.test.x"), DR_OK);
	assert_int_equal(doctor_watch_old_status("", "x"), -1);
	assert_int_equal(doctor_watch_old_status(NULL, "x"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_taglist),
		cmocka_unit_test(test_dnsraw_tlsa),
		cmocka_unit_test(test_dnsraw_cname_and_status),
		cmocka_unit_test(test_dnsraw_spf_type),
		cmocka_unit_test(test_sts_policy),
		cmocka_unit_test(test_sts_http),
		cmocka_unit_test(test_watch_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
