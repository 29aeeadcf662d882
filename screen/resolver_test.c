/*
 * screen/resolver_test.c - resolver_parse_answer on packets built here:
 * the text forms of every type, TTLs, status mapping, records beyond
 * DV_RR_MAX, TXT joining and cutting, null MX, PTR and MX names that are
 * no host names, RFC 2317 CNAMEs, and packets that do not parse. The
 * event-loop side runs against real servers in
 * tests/e2e/test_screen_resolver.py.
 */
#include <arpa/nameser.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <cmocka.h>

#include "resolver.h"

#define PKT_MAX	65535

struct pkt {
	uint8_t	buf[PKT_MAX];
	size_t	len;
	size_t	ancount_at;
};

static void
put8(struct pkt *p, uint8_t v)
{
	assert_true(p->len < PKT_MAX);
	p->buf[p->len++] = v;
}

static void
put16(struct pkt *p, uint16_t v)
{
	put8(p, (uint8_t)(v >> 8));
	put8(p, (uint8_t)v);
}

static void
put32(struct pkt *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p, (uint16_t)v);
}

/* A name in wire form; labels may hold any byte except '.' here, and
 * "\\x20" style escapes are not needed: pass raw labels with labels(). */
static void
put_name(struct pkt *p, const char *name)
{
	const char *label = name;

	while (*label != '\0') {
		const char *dot = strchr(label, '.');
		size_t len = dot != NULL ? (size_t)(dot - label) : strlen(label);
		put8(p, (uint8_t)len);
		for (size_t i = 0; i < len; i++)
			put8(p, (uint8_t)label[i]);
		label += len + (dot != NULL);
	}
	put8(p, 0);
}

static void
pkt_start(struct pkt *p, const char *qname, uint16_t qtype)
{
	p->len = 0;
	put16(p, 0x1234);		/* id */
	put16(p, 0x8180);		/* response, RD, RA, NOERROR */
	put16(p, 1);			/* QDCOUNT */
	p->ancount_at = p->len;
	put16(p, 0);			/* ANCOUNT, counted by rr_start */
	put16(p, 0);
	put16(p, 0);
	put_name(p, qname);
	put16(p, qtype);
	put16(p, ns_c_in);
}

/* Starts an RR; returns where its RDLENGTH goes. */
static size_t
rr_start(struct pkt *p, const char *owner, uint16_t type, uint32_t ttl)
{
	uint16_t an = (uint16_t)(p->buf[p->ancount_at] << 8 | p->buf[p->ancount_at + 1]);

	an++;
	p->buf[p->ancount_at] = (uint8_t)(an >> 8);
	p->buf[p->ancount_at + 1] = (uint8_t)an;
	if (owner == NULL) {
		put16(p, 0xc00c);	/* the question's name */
	} else {
		put_name(p, owner);
	}
	put16(p, type);
	put16(p, ns_c_in);
	put32(p, ttl);
	size_t at = p->len;
	put16(p, 0);
	return at;
}

static void
rr_end(struct pkt *p, size_t at)
{
	size_t len = p->len - at - 2;

	p->buf[at] = (uint8_t)(len >> 8);
	p->buf[at + 1] = (uint8_t)len;
}

static void
add_a(struct pkt *p, const uint8_t addr[4], uint32_t ttl)
{
	size_t at = rr_start(p, NULL, ns_t_a, ttl);

	for (int i = 0; i < 4; i++)
		put8(p, addr[i]);
	rr_end(p, at);
}

static void
add_aaaa(struct pkt *p)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	size_t at = rr_start(p, NULL, ns_t_aaaa, 60);

	for (int i = 0; i < 16; i++)
		put8(p, v6[i]);
	rr_end(p, at);
}

static void
add_name_rr(struct pkt *p, const char *owner, uint16_t type, const char *target)
{
	size_t at = rr_start(p, owner, type, 60);

	put_name(p, target);
	rr_end(p, at);
}

static void
add_mx(struct pkt *p, uint16_t pref, const char *host)
{
	size_t at = rr_start(p, NULL, ns_t_mx, 60);

	put16(p, pref);
	put_name(p, host);
	rr_end(p, at);
}

/* One TXT record of n strings (each with its length). */
static void
add_txt(struct pkt *p, const char *const *s, const size_t *len, size_t n)
{
	size_t at = rr_start(p, NULL, ns_t_txt, 60);

	for (size_t i = 0; i < n; i++) {
		put8(p, (uint8_t)len[i]);
		for (size_t j = 0; j < len[i]; j++)
			put8(p, (uint8_t)s[i][j]);
	}
	rr_end(p, at);
}

static struct resolver_answer *
parse(enum dv_type type, const struct pkt *p)
{
	static struct resolver_answer a;

	resolver_parse_answer(type, ARES_SUCCESS, p->buf, (int)p->len, &a);
	return &a;
}

static void
expect_rrs(const struct resolver_answer *a, enum dv_status st, bool truncated, ...)
{
	const char *want;
	size_t i = 0;
	va_list ap;

	if (a->status != st || a->truncated != truncated)
		fail_msg("got %s trunc=%d, want %s trunc=%d", dv_status_name(a->status),
		    a->truncated, dv_status_name(st), truncated);
	va_start(ap, truncated);
	while ((want = va_arg(ap, const char *)) != NULL) {
		if (i >= a->n || strcmp(a->rr[i].data, want) != 0 || a->rr[i].len != strlen(want))
			fail_msg("rr %zu: got %s, want %s", i, i < a->n ? a->rr[i].data : "none", want);
		i++;
	}
	va_end(ap);
	if (i != a->n)
		fail_msg("got %zu records, want %zu", a->n, i);
}

static struct pkt P;

static void
test_status_mapping(void **state)
{
	static const struct { int rc; enum dv_status want; } rows[] = {
		{ ARES_ENOTFOUND, DV_NXDOMAIN }, { ARES_ENODATA, DV_NODATA },
		{ ARES_ESERVFAIL, DV_TEMPFAIL }, { ARES_EREFUSED, DV_TEMPFAIL },
		{ ARES_ETIMEOUT, DV_TEMPFAIL }, { ARES_ECONNREFUSED, DV_TEMPFAIL },
		{ ARES_EBADRESP, DV_TEMPFAIL }, { ARES_EFORMERR, DV_TEMPFAIL },
		{ ARES_ECANCELLED, DV_TEMPFAIL }, { ARES_ENOMEM, DV_TEMPFAIL },
	};
	struct resolver_answer *a = malloc(sizeof(*a));

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		for (int t = DV_A; t <= DV_TYPE_MAX; t++) {
			resolver_parse_answer((enum dv_type)t, rows[i].rc, NULL, 0, a);
			assert_int_equal(a->status, rows[i].want);
			assert_int_equal(a->n, 0);
			assert_int_equal(a->ttl, 300);
		}
	resolver_parse_answer(DV_A, ARES_SUCCESS, NULL, 0, a);	/* no packet */
	assert_int_equal(a->status, DV_TEMPFAIL);
	free(a);
}

static void
test_a_aaaa(void **state)
{
	static const uint8_t a1[4] = { 192, 0, 2, 1 }, a2[4] = { 198, 51, 100, 7 };
	struct resolver_answer *a;

	(void)state;
	pkt_start(&P, "host.example.net", ns_t_a);
	add_a(&P, a1, 3600);
	add_a(&P, a2, 120);
	a = parse(DV_A, &P);
	expect_rrs(a, DV_OK, false, "192.0.2.1", "198.51.100.7", NULL);
	assert_int_equal(a->ttl, 120);		/* the shortest */

	pkt_start(&P, "host.example.net", ns_t_aaaa);
	add_aaaa(&P);
	a = parse(DV_AAAA, &P);
	expect_rrs(a, DV_OK, false, "2001:db8::1", NULL);
	assert_int_equal(a->ttl, 60);

	pkt_start(&P, "host.example.net", ns_t_a);	/* a CNAME only: no data */
	add_name_rr(&P, NULL, ns_t_cname, "elsewhere.example.net");
	expect_rrs(parse(DV_A, &P), DV_NODATA, false, NULL);
}

static void
test_a_many(void **state)
{
	struct resolver_answer *a;

	(void)state;
	pkt_start(&P, "many.example.net", ns_t_a);
	for (uint8_t i = 0; i < 40; i++) {
		const uint8_t addr[4] = { 198, 51, 100, i };
		add_a(&P, addr, 300);
	}
	a = parse(DV_A, &P);
	assert_int_equal(a->status, DV_OK);
	assert_int_equal(a->n, DV_RR_MAX);
	assert_true(a->truncated);
	assert_string_equal(a->rr[31].data, "198.51.100.31");
}

static void
test_txt(void **state)
{
	static char big[300];
	static const char *const spf[] = { "v=spf1 ", "ip4:192.0.2.0/24", " -all" };
	static const size_t spf_len[] = { 7, 16, 5 };
	static const char *const nul[] = { "a\0b" };
	static const size_t nul_len[] = { 3 };
	struct resolver_answer *a;

	(void)state;
	pkt_start(&P, "example.net", ns_t_txt);
	add_txt(&P, spf, spf_len, 3);
	add_txt(&P, nul, nul_len, 1);
	a = parse(DV_TXT, &P);
	assert_int_equal(a->status, DV_OK);
	assert_int_equal(a->n, 2);
	assert_string_equal(a->rr[0].data, "v=spf1 ip4:192.0.2.0/24 -all");
	assert_int_equal(a->rr[0].len, 28);
	assert_int_equal(a->rr[1].len, 3);
	assert_memory_equal(a->rr[1].data, "a\0b", 3);
	assert_false(a->truncated);

	/* one record of 20 strings of 255: cut at DV_TXT_MAX */
	memset(big, 'k', sizeof(big));
	const char *parts[20];
	size_t lens[20];
	for (int i = 0; i < 20; i++) {
		parts[i] = big;
		lens[i] = 255;
	}
	pkt_start(&P, "key.example.net", ns_t_txt);
	add_txt(&P, parts, lens, 20);
	a = parse(DV_TXT, &P);
	assert_int_equal(a->status, DV_OK);
	assert_int_equal(a->n, 1);
	assert_int_equal(a->rr[0].len, DV_TXT_MAX);
	assert_true(a->truncated);

	/* 40 records: 32 kept */
	pkt_start(&P, "many.example.net", ns_t_txt);
	for (int i = 0; i < 40; i++)
		add_txt(&P, spf, spf_len, 1);
	a = parse(DV_TXT, &P);
	assert_int_equal(a->n, DV_RR_MAX);
	assert_true(a->truncated);

	pkt_start(&P, "empty.example.net", ns_t_txt);	/* one empty string */
	static const char *const empty[] = { "" };
	static const size_t empty_len[] = { 0 };
	add_txt(&P, empty, empty_len, 1);
	a = parse(DV_TXT, &P);
	assert_int_equal(a->status, DV_OK);
	assert_int_equal(a->n, 1);
	assert_int_equal(a->rr[0].len, 0);
}

static void
test_mx(void **state)
{
	struct resolver_answer *a;

	(void)state;
	pkt_start(&P, "example.net", ns_t_mx);
	add_mx(&P, 10, "MX1.Example.NET");
	add_mx(&P, 20, "bad host.example.net");	/* dropped */
	add_mx(&P, 30, "192.0.2.1");			/* dropped: no host name */
	add_mx(&P, 40, "mx2.example.net");
	a = parse(DV_MX, &P);
	expect_rrs(a, DV_OK, false, "mx1.example.net", "mx2.example.net", NULL);
	assert_int_equal(a->rr[0].pref, 10);
	assert_int_equal(a->rr[1].pref, 40);

	pkt_start(&P, "nomail.example.net", ns_t_mx);	/* RFC 7505 */
	add_mx(&P, 0, "");
	a = parse(DV_MX, &P);
	expect_rrs(a, DV_OK, false, "", NULL);

	pkt_start(&P, "bad.example.net", ns_t_mx);
	add_mx(&P, 10, "-dash.example.net");
	add_mx(&P, 10, "under_score-.example.net");
	expect_rrs(parse(DV_MX, &P), DV_NODATA, true, NULL);
}

static void
test_ptr(void **state)
{
	static const char q[] = "7.100.51.198.in-addr.arpa";
	struct resolver_answer *a;

	(void)state;
	pkt_start(&P, q, ns_t_ptr);
	add_name_rr(&P, NULL, ns_t_ptr, "Mail.Example.NET");
	add_name_rr(&P, NULL, ns_t_ptr, "bad name.example.net");
	add_name_rr(&P, NULL, ns_t_ptr, "caf\xc3\xa9.example.net");
	add_name_rr(&P, NULL, ns_t_ptr, "192.0.2.7");
	add_name_rr(&P, NULL, ns_t_ptr, "win_pc.example.net");	/* '_' is kept */
	add_name_rr(&P, "other.in-addr.arpa", ns_t_ptr, "not-mine.example.net");
	a = parse(DV_PTR, &P);
	expect_rrs(a, DV_OK, false, "mail.example.net", "win_pc.example.net", NULL);
	assert_int_equal(a->ttl, 300);

	pkt_start(&P, q, ns_t_ptr);			/* none left */
	add_name_rr(&P, NULL, ns_t_ptr, "bad name.example.net");
	expect_rrs(parse(DV_PTR, &P), DV_NODATA, true, NULL);

	pkt_start(&P, q, ns_t_ptr);			/* RFC 2317 */
	add_name_rr(&P, NULL, ns_t_cname, "7.0/25.100.51.198.in-addr.arpa");
	add_name_rr(&P, "7.0/25.100.51.198.in-addr.arpa", ns_t_ptr, "delegated.example.net");
	expect_rrs(parse(DV_PTR, &P), DV_OK, false, "delegated.example.net", NULL);

	pkt_start(&P, q, ns_t_ptr);
	for (int i = 0; i < 40; i++) {
		char name[32];
		snprintf(name, sizeof(name), "h%d.example.net", i);
		add_name_rr(&P, NULL, ns_t_ptr, name);
	}
	a = parse(DV_PTR, &P);
	assert_int_equal(a->status, DV_OK);
	assert_int_equal(a->n, DV_RR_MAX);
	assert_true(a->truncated);
	assert_string_equal(a->rr[31].data, "h31.example.net");
}

/* Packets cut short, or with counts that lie: never an answer. */
static void
test_malformed(void **state)
{
	static const uint8_t addr[4] = { 192, 0, 2, 1 };
	static const struct { enum dv_type t; uint16_t q; } types[] = {
		{ DV_A, ns_t_a }, { DV_AAAA, ns_t_aaaa }, { DV_PTR, ns_t_ptr },
		{ DV_TXT, ns_t_txt }, { DV_MX, ns_t_mx },
	};
	static const char *const txt[] = { "hello" };
	static const size_t txt_len[] = { 5 };

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		pkt_start(&P, "x.example.net", types[i].q);
		switch (types[i].t) {
		case DV_A:	add_a(&P, addr, 60); break;
		case DV_AAAA:	add_aaaa(&P); break;
		case DV_PTR:	add_name_rr(&P, NULL, ns_t_ptr, "h.example.net"); break;
		case DV_TXT:	add_txt(&P, txt, txt_len, 1); break;
		case DV_MX:	add_mx(&P, 10, "mx.example.net"); break;
		}
		struct pkt cut = P;
		for (size_t keep = 0; keep < P.len; keep++) {
			cut.len = keep;
			struct resolver_answer *a = parse(types[i].t, &cut);
			if (a->status != DV_TEMPFAIL)
				fail_msg("%s cut at %zu: got %s", dv_type_name(types[i].t), keep,
				    dv_status_name(a->status));
		}
		cut.len = P.len;
		cut.buf[P.ancount_at + 1] = 3;	/* ANCOUNT 3, one record */
		assert_int_equal(parse(types[i].t, &cut)->status, DV_TEMPFAIL);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_mapping),
		cmocka_unit_test(test_a_aaaa),
		cmocka_unit_test(test_a_many),
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_mx),
		cmocka_unit_test(test_ptr),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
