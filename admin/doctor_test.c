/*
 * admin/doctor_test.c - the doctor's DNS checks on a zone written here:
 * the rounds answered from a table (admin/doctor_dns.h, offline), so each
 * finding is proven on the exact data path the real run uses. Above all
 * the SPF lookup counting (RFC 7208 4.6.4: 10 DNS-querying terms, 2 void
 * lookups, counted over the whole record, not only the path our own
 * address takes), and one case per finding of MX, SPF, DKIM, DMARC, PTR,
 * MTA-STS and TLS-RPT.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "doctor.h"
#include "doctor_dns.h"

/* One zone record: a view type (raw 0) or a raw type with data. */
struct zrec {
	const char	*name;
	enum dv_type	 type;
	uint16_t	 raw;
	enum dv_status	 status;
	const char	*data;
	uint16_t	 pref;
};

#define TXT(n, d)	{ n, DV_TXT, 0, DV_OK, d, 0 }
#define A(n, d)		{ n, DV_A, 0, DV_OK, d, 0 }
#define AAAA(n, d)	{ n, DV_AAAA, 0, DV_OK, d, 0 }
#define MX(n, p, d)	{ n, DV_MX, 0, DV_OK, d, p }
#define PTR(n, d)	{ n, DV_PTR, 0, DV_OK, d, 0 }
#define CNAME(n, d)	{ n, DV_A, DNSRAW_T_CNAME, DV_OK, d, 0 }
#define SPF99(n, d)	{ n, DV_A, DNSRAW_T_SPF, DV_OK, d, 0 }
#define TEMPFAIL(n, t)	{ n, t, 0, DV_TEMPFAIL, NULL, 0 }
#define ZEND		{ NULL, 0, 0, 0, NULL, 0 }

#define PTR4	"1.2.0.192.in-addr.arpa"
#define PTR6	"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"

/* What every test zone has unless it says otherwise: a domain published
 * as mxctl dns says (the DKIM keys are put in by bench_dkim). */
static const struct zrec good_host[] = {
	A("mx.home.test", "192.0.2.1"), AAAA("mx.home.test", "2001:db8::1"),
	PTR(PTR4, "mx.home.test"), PTR(PTR6, "mx.home.test"),
	TXT("mx.home.test", "v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 -all"),
	ZEND,
};

struct bench {
	struct config		 cfg;
	struct doctor		 d;
	struct dr_domain	 dom[1];
	struct dns_cache	*cache;
	struct doctor_dns	*dd;
	struct dr_report	 r;
	const struct zrec	*zone;
	const struct zrec	*base;
};

/* ---- the table --------------------------------------------------------------------- */

static const struct zrec *
zone_find(const struct zrec *z, const char *name, enum dv_type type, uint16_t raw,
    bool *name_seen)
{
	for (; z != NULL && z->name != NULL; z++) {
		if (strcmp(z->name, name) != 0)
			continue;
		*name_seen = true;
		if (z->raw == raw && (raw != 0 || z->type == type))
			return z;
	}
	return NULL;
}

static void
put_raw(struct doctor_dns *dd, const char *name, uint16_t qtype, const struct zrec *z,
    bool exists)
{
	struct dnsraw_answer a;

	memset(&a, 0, sizeof(a));
	a.status = z == NULL ? (exists ? DV_NODATA : DV_NXDOMAIN) : z->status;
	if (z != NULL && z->status == DV_OK) {
		struct dnsraw_rr *r = &a.rr[a.n++];
		r->type = qtype;
		snprintf(r->owner, sizeof(r->owner), "%s", name);
		if (qtype == DNSRAW_T_CNAME) {
			snprintf(r->target, sizeof(r->target), "%s", z->data);
			a.cname = true;
		} else {
			r->len = strlen(z->data) + 1;
			r->data[0] = (unsigned char)strlen(z->data);
			memcpy(r->data + 1, z->data, r->len - 1);
		}
	}
	ddns_put_raw(dd, name, qtype, &a);
}

static void
table_fetch(struct doctor_dns *dd, const char *name, enum dv_type type, uint16_t qtype,
    void *arg)
{
	struct bench *b = arg;
	struct dv_rr rr[DV_RR_MAX];
	const struct zrec *zones[2] = { b->zone, b->base };
	enum dv_status st = DV_NXDOMAIN;
	size_t n = 0;
	bool seen = false;

	if (qtype != 0) {
		const struct zrec *z = zone_find(b->zone, name, type, qtype, &seen);
		if (z == NULL)
			z = zone_find(b->base, name, type, qtype, &seen);
		put_raw(dd, name, qtype, z, seen);
		return;
	}
	for (int k = 0; k < 2; k++)
		for (const struct zrec *z = zones[k]; z != NULL && z->name != NULL; z++) {
			if (strcmp(z->name, name) != 0 || z->raw != 0)
				continue;
			if (z->type != type) {
				if (st == DV_NXDOMAIN)
					st = DV_NODATA;
				continue;
			}
			if (z->status != DV_OK) {
				st = z->status;
				continue;
			}
			rr[n++] = (struct dv_rr){ z->data, strlen(z->data), z->pref };
			st = DV_OK;
		}
	assert_int_equal(dns_cache_put(b->cache, name, type, st, rr, n, false, 300), 0);
}

/* ---- the bench ----------------------------------------------------------------------- */

static EVP_PKEY *keys[DKIM_ALG_COUNT];

static struct bench *
bench_new(const struct zrec *zone)
{
	struct bench *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	config_defaults(&b->cfg);
	snprintf(b->cfg.hostname, sizeof(b->cfg.hostname), "mx.home.test");
	b->cfg.screen.nlists = 0;		/* "dnsbl none" */
	b->d.cfg = &b->cfg;
	b->d.hostname = b->cfg.hostname;
	b->d.now = time(NULL);
	assert_int_equal(host_addrs_add(&b->d.public, "192.0.2.1", HOST_ADDR_CONFIG), 0);
	assert_int_equal(host_addrs_add(&b->d.public, "2001:db8::1", HOST_ADDR_CONFIG), 0);
	b->d.sending = b->d.public;
	b->d.sends_ipv6 = true;
	b->d.dom = b->dom;
	b->d.ndomains = 1;
	snprintf(b->dom[0].name, sizeof(b->dom[0].name), "home.test");
	for (int i = 0; i < DKIM_ALG_COUNT; i++)
		assert_int_equal(dkim_pub_from_key(keys[i], (enum dkim_key_alg)i, "mx1",
		    &b->dom[0].dkim[i]), 0);
	b->cache = dns_cache_new(4096);
	b->zone = zone;
	b->base = good_host;
	return b;
}

static void
bench_free(struct bench *b)
{
	ddns_free(b->dd);
	dns_cache_free(b->cache);
	free(b);
}

/* The domain's own records, as published for a good domain; skip names
 * what a test leaves out ("spf", "dkim-rsa", "dmarc", "mx"). */
static void
bench_domain(struct bench *b, const char *skip)
{
	static const char *spf = "v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 -all";
	static const char *dmarc = "v=DMARC1; p=reject; adkim=s; aspf=s; "
	    "rua=mailto:postmaster@home.test";
	struct dv_rr rr;

	if (strstr(skip, "mx") == NULL) {
		rr = (struct dv_rr){ "mx.home.test", 12, 10 };
		assert_int_equal(dns_cache_put(b->cache, "home.test", DV_MX, DV_OK, &rr, 1,
		    false, 300), 0);
	}
	if (strstr(skip, "spf") == NULL) {
		rr = (struct dv_rr){ spf, strlen(spf), 0 };
		assert_int_equal(dns_cache_put(b->cache, "home.test", DV_TXT, DV_OK, &rr, 1,
		    false, 300), 0);
	}
	if (strstr(skip, "dmarc") == NULL) {
		rr = (struct dv_rr){ dmarc, strlen(dmarc), 0 };
		assert_int_equal(dns_cache_put(b->cache, "_dmarc.home.test", DV_TXT, DV_OK, &rr,
		    1, false, 300), 0);
	}
	for (int i = 0; i < DKIM_ALG_COUNT; i++) {
		char name[128];
		if (strstr(skip, i == 0 ? "dkim-rsa" : "dkim-ed25519") != NULL)
			continue;
		snprintf(name, sizeof(name), "%s._domainkey.home.test", b->dom[0].dkim[i].dns_selector);
		rr = (struct dv_rr){ b->dom[0].dkim[i].text, strlen(b->dom[0].dkim[i].text), 0 };
		assert_int_equal(dns_cache_put(b->cache, name, DV_TXT, DV_OK, &rr, 1, false, 300),
		    0);
	}
}

static void
round_cb(void *arg, struct doctor_dns *dd)
{
	struct bench *b = arg;

	doctor_round(&b->d, dd, &b->r);
}

static void
bench_run(struct bench *b)
{
	ddns_free(b->dd);
	b->dd = ddns_new_offline(b->cache, table_fetch, b);
	(void)ddns_settle(b->dd, round_cb, b);
	assert_false(ddns_gave_up(b->dd));
}

static const struct dr_finding *
expect(struct bench *b, const char *id, enum dr_status st, const char *what, const char *fix)
{
	const struct dr_finding *f = dr_find(&b->r, id);

	if (f == NULL)
		fail_msg("no finding '%s'", id);
	if (f->status != st)
		fail_msg("%s: %s, want %s (%s)", id, dr_status_name(f->status),
		    dr_status_name(st), f->what);
	if (what != NULL && strstr(f->what, what) == NULL)
		fail_msg("%s: '%s' lacks '%s'", id, f->what, what);
	if (fix != NULL && strstr(f->fix, fix) == NULL)
		fail_msg("%s: fix '%s' lacks '%s'", id, f->fix, fix);
	return f;
}

/* ---- the good zone ---------------------------------------------------------------------- */

static void
test_good_zone_all_ok(void **state)
{
	struct bench *b = bench_new(NULL);

	(void)state;
	bench_domain(b, "");
	bench_run(b);
	for (size_t i = 0; i < b->r.n; i++)
		if (b->r.f[i].status != DR_OK)
			fail_msg("%s: %s %s", b->r.f[i].id, dr_status_name(b->r.f[i].status),
			    b->r.f[i].what);
	expect(b, "spf_limits home.test", DR_OK, "0 DNS lookups", NULL);
	expect(b, "dmarc_align home.test", DR_OK, "aligns twice", NULL);
	expect(b, "mx home.test", DR_OK, "points at this host", NULL);
	expect(b, "ptr 192.0.2.1", DR_OK, "mx.home.test", NULL);
	expect(b, "tlsa", DR_OK, "no TLSA", NULL);
	assert_int_equal(dr_worst(&b->r), DR_OK);
	bench_free(b);
}

/* ---- SPF: the limits, counted over the whole record ---------------------------------- */

static void
run_spf(const struct zrec *zone, const char *id, enum dr_status st, const char *what)
{
	struct bench *b = bench_new(zone);

	bench_domain(b, "spf");
	bench_run(b);
	expect(b, id, st, what, NULL);
	bench_free(b);
}

static void
test_spf_ten_lookups_pass(void **state)
{
	static const struct zrec z[] = {
		TXT("home.test", "v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 include:i0.home.test "
		    "include:i1.home.test include:i2.home.test include:i3.home.test "
		    "include:i4.home.test include:i5.home.test include:i6.home.test "
		    "include:i7.home.test include:i8.home.test include:i9.home.test -all"),
		TXT("i0.home.test", "v=spf1 -all"), TXT("i1.home.test", "v=spf1 -all"),
		TXT("i2.home.test", "v=spf1 -all"), TXT("i3.home.test", "v=spf1 -all"),
		TXT("i4.home.test", "v=spf1 -all"), TXT("i5.home.test", "v=spf1 -all"),
		TXT("i6.home.test", "v=spf1 -all"), TXT("i7.home.test", "v=spf1 -all"),
		TXT("i8.home.test", "v=spf1 -all"), TXT("i9.home.test", "v=spf1 -all"),
		ZEND,
	};

	(void)state;
	run_spf(z, "spf_limits home.test", DR_OK, "10 DNS lookups (at most 10), 0 void");
}

static void
test_spf_eleven_lookups_fail(void **state)
{
	/* the 11th lookup sits in a nested include: depth counts too */
	static const struct zrec z[] = {
		TXT("home.test", "v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 include:i0.home.test "
		    "include:i1.home.test include:i2.home.test include:i3.home.test "
		    "include:i4.home.test -all"),
		TXT("i0.home.test", "v=spf1 include:j0.home.test include:j1.home.test -all"),
		TXT("i1.home.test", "v=spf1 a:h1.home.test -all"),
		TXT("i2.home.test", "v=spf1 mx:home.test -all"),
		TXT("i3.home.test", "v=spf1 exists:e.home.test -all"),
		TXT("i4.home.test", "v=spf1 include:j2.home.test -all"),
		TXT("j0.home.test", "v=spf1 -all"), TXT("j1.home.test", "v=spf1 -all"),
		TXT("j2.home.test", "v=spf1 a:h2.home.test -all"),
		A("h1.home.test", "198.51.100.1"), A("h2.home.test", "198.51.100.2"),
		ZEND,		/* e.home.test does not exist: exists: is one void lookup */
	};
	struct bench *b = bench_new(z);

	(void)state;
	bench_domain(b, "spf");
	bench_run(b);
	/* include x5, include x2, a, mx, exists, include, a = 12 > 10; the walk
	 * with an address no term names evaluates every one of them */
	expect(b, "spf_limits home.test", DR_FAIL, "more than 10 DNS lookups", "ip4:/ip6:");
	/* our own addresses match before the first include: a receiver passes us */
	expect(b, "spf_auth home.test 192.0.2.1", DR_OK, "ip4:192.0.2.1", NULL);
	expect(b, "spf home.test", DR_OK, "parses", NULL);
	bench_free(b);
}

static void
test_spf_void_lookups(void **state)
{
	static const struct zrec two[] = {
		TXT("home.test", "v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 a:nx1.home.test "
		    "a:nx2.home.test -all"),
		ZEND,
	};
	static const struct zrec three[] = {
		TXT("home.test", "v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 a:nx1.home.test "
		    "a:nx2.home.test mx:nx3.home.test -all"),
		ZEND,
	};

	(void)state;
	run_spf(two, "spf_limits home.test", DR_OK, "2 void");
	run_spf(three, "spf_limits home.test", DR_FAIL, "more than 2 void lookups");
}

static void
test_spf_record_findings(void **state)
{
	static const struct zrec none[] = { TXT("home.test", "some verification=1"), ZEND };
	static const struct zrec two[] = {
		TXT("home.test", "v=spf1 ip4:192.0.2.1 -all"), TXT("home.test", "v=spf1 mx -all"),
		ZEND,
	};
	static const struct zrec old[] = {
		SPF99("home.test", "v=spf1 ip4:192.0.2.1 -all"), TXT("home.test", "x=1"), ZEND,
	};
	static const struct zrec bad[] = { TXT("home.test", "v=spf1 ip4:192.0.2.1/33 -all"), ZEND };
	static const struct zrec other[] = { TXT("home.test", "v=spf1 ip4:198.51.100.0/24 ~all"), ZEND };
	struct bench *b;

	(void)state;
	run_spf(none, "spf home.test", DR_FAIL, "no SPF record");
	run_spf(two, "spf home.test", DR_FAIL, "2 SPF records");
	run_spf(old, "spf home.test", DR_FAIL, "old SPF type (99)");
	run_spf(bad, "spf home.test", DR_FAIL, "does not parse");
	b = bench_new(other);
	bench_domain(b, "spf");
	bench_run(b);
	expect(b, "spf_auth home.test 192.0.2.1", DR_FAIL, "SPF gives softfail",
	    "add ip4:192.0.2.1");
	expect(b, "spf_auth home.test 2001:db8::1", DR_FAIL, NULL, "add ip6:2001:db8::1");
	/* DKIM still aligns: one leg left */
	expect(b, "dmarc_align home.test", DR_WARN, "by DKIM only", NULL);
	bench_free(b);
}

/* ---- DKIM ------------------------------------------------------------------------------ */

static void
test_dkim_findings(void **state)
{
	struct bench *b = bench_new(NULL);
	char spaced[DKIM_TXT_RECORD_MAX + 64];
	struct dv_rr rr;

	(void)state;
	bench_domain(b, "dkim-rsa dkim-ed25519");
	/* the ed25519 key with blanks inside p= (RFC 6376 3.6.1 allows FWS) */
	const struct dkim_pub *k = &b->dom[0].dkim[DKIM_ALG_ED25519];
	snprintf(spaced, sizeof(spaced), "v=DKIM1; k=ed25519; p=%.20s %s", k->p, k->p + 20);
	rr = (struct dv_rr){ spaced, strlen(spaced), 0 };
	assert_int_equal(dns_cache_put(b->cache, "mx1-ed25519._domainkey.home.test", DV_TXT,
	    DV_OK, &rr, 1, false, 300), 0);
	bench_run(b);
	expect(b, "dkim home.test mx1-rsa", DR_FAIL, "not published", "mx1-rsa._domainkey.home.test");
	expect(b, "dkim home.test mx1-ed25519", DR_OK, "Ed25519", NULL);
	bench_free(b);

	b = bench_new(NULL);
	bench_domain(b, "dkim-rsa");
	rr = (struct dv_rr){ "v=DKIM1; k=rsa; p=", 18, 0 };
	assert_int_equal(dns_cache_put(b->cache, "mx1-rsa._domainkey.home.test", DV_TXT,
	    DV_OK, &rr, 1, false, 300), 0);
	bench_run(b);
	expect(b, "dkim home.test mx1-rsa", DR_FAIL, "revoked", NULL);
	bench_free(b);

	b = bench_new(NULL);
	b->dom[0].dkim[DKIM_ALG_RSA].present = false;
	bench_domain(b, "");
	bench_run(b);
	expect(b, "dkim home.test mx1-rsa", DR_FAIL, "no private key", "mxctl dkim keygen home.test");
	bench_free(b);
}

static void
test_dkim_record_key(void **state)
{
	char p[64], k[16], why[80];

	(void)state;
	const char *rec = "v=DKIM1; k=ed25519; p=ab cd\t=";
	assert_int_equal(dkim_record_key(rec, strlen(rec), p, sizeof(p), k, sizeof(k), why,
	    sizeof(why)), 0);
	assert_string_equal(p, "abcd=");
	assert_string_equal(k, "ed25519");
	assert_int_equal(dkim_record_key("p=xyz", 5, p, sizeof(p), k, sizeof(k), why,
	    sizeof(why)), 0);
	assert_string_equal(k, "rsa");
	assert_int_equal(dkim_record_key("k=rsa; v=DKIM1; p=x", 19, p, sizeof(p), k, sizeof(k),
	    why, sizeof(why)), -1);
	assert_non_null(strstr(why, "first"));
	assert_int_equal(dkim_record_key("v=DKIM2; p=x", 12, p, sizeof(p), k, sizeof(k), why,
	    sizeof(why)), -1);
	assert_int_equal(dkim_record_key("v=DKIM1; k=rsa", 14, p, sizeof(p), k, sizeof(k), why,
	    sizeof(why)), -1);
	assert_int_equal(dkim_record_key("hello world", 11, p, sizeof(p), k, sizeof(k), why,
	    sizeof(why)), -1);
}

/* ---- DMARC, MX ---------------------------------------------------------------------------- */

static void
test_dmarc_findings(void **state)
{
	static const struct zrec none_policy[] = {
		TXT("_dmarc.home.test", "v=DMARC1; p=none; rua=mailto:x@home.test"), ZEND,
	};
	struct bench *b = bench_new(NULL);

	(void)state;
	bench_domain(b, "dmarc");
	bench_run(b);
	expect(b, "dmarc home.test", DR_FAIL, "no DMARC record",
	    "'_dmarc.home.test. IN TXT \"v=DMARC1; p=reject; adkim=s; aspf=s; "
	    "rua=mailto:postmaster@home.test\"'");
	bench_free(b);

	b = bench_new(none_policy);
	bench_domain(b, "dmarc");
	bench_run(b);
	expect(b, "dmarc home.test", DR_WARN, "p=none", NULL);
	bench_free(b);

	/* neither leg: our own mail fails */
	b = bench_new(NULL);
	bench_domain(b, "spf dkim-rsa dkim-ed25519");
	bench_run(b);
	expect(b, "dmarc_align home.test", DR_FAIL, "fails DMARC", NULL);
	bench_free(b);
}

static void
test_mx_findings(void **state)
{
	static const struct zrec cname[] = {
		MX("home.test", 10, "mail.home.test"), CNAME("mail.home.test", "mx.home.test"),
		A("mail.home.test", "192.0.2.1"), ZEND,
	};
	static const struct zrec backup_first[] = {
		MX("home.test", 5, "backup.example.net"), MX("home.test", 10, "mx.home.test"),
		A("backup.example.net", "198.51.100.9"), ZEND,
	};
	static const struct zrec null_mx[] = { MX("home.test", 0, ""), ZEND };
	struct bench *b = bench_new(cname);

	(void)state;
	bench_domain(b, "mx");
	bench_run(b);
	expect(b, "mx_host home.test mail.home.test", DR_FAIL, "is a CNAME (to mx.home.test)",
	    "'home.test. IN MX 10 mx.home.test.'");
	bench_free(b);

	b = bench_new(backup_first);
	bench_domain(b, "mx");
	bench_run(b);
	expect(b, "mx home.test", DR_WARN, "lowest preference", NULL);
	bench_free(b);

	b = bench_new(null_mx);
	bench_domain(b, "mx");
	bench_run(b);
	expect(b, "mx home.test", DR_FAIL, "null MX", "IN MX 10 mx.home.test.");
	bench_free(b);

	b = bench_new(NULL);
	bench_domain(b, "mx");
	bench_run(b);
	expect(b, "mx home.test", DR_FAIL, "does not exist", NULL);
	bench_free(b);
}

/* ---- PTR and IPv6 -------------------------------------------------------------------------- */

static void
test_ptr_findings(void **state)
{
	static const struct zrec host[] = {
		A("mx.home.test", "192.0.2.1"), AAAA("mx.home.test", "2001:db8::1"),
		PTR(PTR4, "dsl-1.isp.test"), A("dsl-1.isp.test", "192.0.2.1"),
		TXT("mx.home.test", "v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 -all"),
		ZEND,
	};
	struct bench *b = bench_new(NULL);

	(void)state;
	b->base = host;		/* no PTR for the IPv6 address */
	bench_domain(b, "");
	bench_run(b);
	expect(b, "ptr 192.0.2.1", DR_OK, "dsl-1.isp.test", NULL);
	expect(b, "fcrdns 192.0.2.1", DR_OK, NULL, NULL);
	expect(b, "ptr_helo 192.0.2.1", DR_WARN, "not our HELO name",
	    "set its PTR to mx.home.test");
	expect(b, "ptr 2001:db8::1", DR_FAIL, "no PTR record", "set its PTR to mx.home.test");
	expect(b, "ipv6_sending", DR_WARN, NULL, "destination domain * family=ipv4-only");
	bench_free(b);

	b = bench_new(NULL);
	b->base = host;
	b->d.sends_ipv6 = false;
	bench_domain(b, "");
	bench_run(b);
	expect(b, "ptr 2001:db8::1", DR_OK, "IPv4 only", NULL);
	expect(b, "ipv6_sending", DR_OK, "IPv4 only", NULL);
	bench_free(b);
}

static void
test_tempfail_is_a_warning(void **state)
{
	static const struct zrec z[] = { TEMPFAIL("home.test", DV_TXT), ZEND };
	struct bench *b = bench_new(z);

	(void)state;
	bench_domain(b, "spf");
	bench_run(b);
	expect(b, "spf home.test", DR_WARN, "no answer", NULL);
	/* DKIM passes: the alignment is known all the same */
	expect(b, "dmarc_align home.test", DR_WARN, "by DKIM only", NULL);
	bench_free(b);
}

/* ---- MTA-STS and TLS-RPT --------------------------------------------------------------------- */

static const struct zrec sts_zone[] = {
	TXT("_mta-sts.home.test", "v=STSv1; id=20240101"),
	A("mta-sts.home.test", "198.51.100.80"),
	ZEND,
};

static void
test_mta_sts_findings(void **state)
{
	struct bench *b = bench_new(sts_zone);
	struct sts_fetch *f = &b->dom[0].sts;
	char why[100];

	(void)state;
	bench_domain(b, "");
	/* the policy as fetched: our MX is not in it */
	f->done = f->ok = true;
	const char *policy = "version: STSv1\nmode: enforce\nmx: *.other.test\nmax_age: 604800\n";
	assert_int_equal(sts_policy_parse(policy, strlen(policy), &f->policy, why, sizeof(why)),
	    0);
	bench_run(b);
	expect(b, "mta_sts home.test", DR_FAIL, "mx.home.test is in no mx: line", "mx: mx.home.test");
	assert_true(f->wanted);
	assert_string_equal(f->addrs[0], "198.51.100.80");
	/* published with MTA-STS, no TLS-RPT: a warning */
	expect(b, "tls_rpt home.test", DR_WARN, "no TLS-RPT record", NULL);

	f->policy.mode = STS_MODE_TESTING;
	bench_run(b);
	expect(b, "mta_sts home.test", DR_WARN, "no mx: line", NULL);

	snprintf(f->policy.mx[0], sizeof(f->policy.mx[0]), "*.home.test");
	f->policy.mode = STS_MODE_ENFORCE;
	bench_run(b);
	expect(b, "mta_sts home.test", DR_OK, "mode enforce", NULL);

	f->ok = false;
	snprintf(f->error, sizeof(f->error), "HTTP status 404");
	bench_run(b);
	expect(b, "mta_sts home.test", DR_FAIL, "HTTP status 404", "--mta-sts-policy");
	bench_free(b);
}

static void
test_mta_sts_and_tls_rpt_records(void **state)
{
	static const struct zrec badid[] = {
		TXT("_mta-sts.home.test", "v=STSv1; id=2024-01-01"),
		TXT("_smtp._tls.home.test", "v=TLSRPTv1; rua=mailto:tls@home.test,https://r.test/x"),
		ZEND,
	};
	static const struct zrec two[] = {
		TXT("_mta-sts.home.test", "v=STSv1; id=1"), TXT("_mta-sts.home.test", "v=STSv1; id=2"),
		TXT("_smtp._tls.home.test", "v=TLSRPTv1; rua=ftp://r.test"),
		ZEND,
	};
	static const struct zrec nohost[] = { TXT("_mta-sts.home.test", "v=STSv1; id=1"), ZEND };
	struct bench *b = bench_new(badid);

	(void)state;
	bench_domain(b, "");
	bench_run(b);
	expect(b, "mta_sts home.test", DR_FAIL, "no valid id=", NULL);
	expect(b, "tls_rpt home.test", DR_OK, "mailto:tls@home.test", NULL);
	bench_free(b);

	b = bench_new(two);
	bench_domain(b, "");
	bench_run(b);
	expect(b, "mta_sts home.test", DR_FAIL, "2 v=STSv1 records", NULL);
	expect(b, "tls_rpt home.test", DR_FAIL, "no usable rua=", NULL);
	bench_free(b);

	b = bench_new(nohost);
	bench_domain(b, "");
	bench_run(b);
	expect(b, "mta_sts home.test", DR_FAIL, "mta-sts.home.test has no address", NULL);
	bench_free(b);
}

static int
setup_keys(void **state)
{
	(void)state;
	keys[DKIM_ALG_RSA] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	keys[DKIM_ALG_ED25519] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return keys[0] != NULL && keys[1] != NULL ? 0 : -1;
}

static int
free_keys(void **state)
{
	(void)state;
	for (int i = 0; i < DKIM_ALG_COUNT; i++)
		EVP_PKEY_free(keys[i]);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_zone_all_ok),
		cmocka_unit_test(test_spf_ten_lookups_pass),
		cmocka_unit_test(test_spf_eleven_lookups_fail),
		cmocka_unit_test(test_spf_void_lookups),
		cmocka_unit_test(test_spf_record_findings),
		cmocka_unit_test(test_dkim_findings),
		cmocka_unit_test(test_dkim_record_key),
		cmocka_unit_test(test_dmarc_findings),
		cmocka_unit_test(test_mx_findings),
		cmocka_unit_test(test_ptr_findings),
		cmocka_unit_test(test_tempfail_is_a_warning),
		cmocka_unit_test(test_mta_sts_findings),
		cmocka_unit_test(test_mta_sts_and_tls_rpt_records),
	};
	return cmocka_run_group_tests(tests, setup_keys, free_keys);
}
