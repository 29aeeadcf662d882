/*
 * screen/spf_test.c - the SPF evaluator beyond the RFC 7208 suite: the
 * round model (misses first, the answer after the fetch, speculation that
 * fetches a record's lookups together), the limits, temporary errors, the
 * HELO identity, IPv6 and ip4-mapped clients, %{p}, exp=, the record
 * grammar and macro expansion.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dnscache.h"
#include "spf.h"
#include "spf_macro.h"

#define ROUNDS_MAX	30

/* One zone record: (name, type) -> data, or a status for the pair. */
struct zrec {
	const char	*name;
	enum dv_type	 type;
	enum dv_status	 status;
	const char	*data;
	uint16_t	 pref;
};

#define TXT(n, d)	{ n, DV_TXT, DV_OK, d, 0 }
#define A(n, d)		{ n, DV_A, DV_OK, d, 0 }
#define AAAA(n, d)	{ n, DV_AAAA, DV_OK, d, 0 }
#define MX(n, p, d)	{ n, DV_MX, DV_OK, d, p }
#define PTR(n, d)	{ n, DV_PTR, DV_OK, d, 0 }
#define TEMPFAIL(n, t)	{ n, t, DV_TEMPFAIL, NULL, 0 }
#define ZEND		{ NULL, 0, 0, NULL, 0 }

struct run {
	struct spf_outcome	out;
	unsigned		rounds;
	size_t			misses[ROUNDS_MAX + 1];	/* per round */
	bool			done;
};

/* Answers one miss from the zone (NXDOMAIN for a name it lacks). */
static void
zone_answer(struct dns_cache *c, const struct zrec *z, const char *name,
    enum dv_type type)
{
	struct dv_rr rr[DV_RR_MAX];
	size_t n = 0;
	enum dv_status st = DV_NXDOMAIN;

	for (; z->name != NULL; z++) {
		if (strcmp(z->name, name) != 0)
			continue;
		if (z->type != type) {
			if (st == DV_NXDOMAIN)
				st = DV_NODATA;
			continue;
		}
		st = z->status;
		if (st == DV_OK && n < DV_RR_MAX) {
			rr[n].data = z->data;
			rr[n].len = strlen(z->data);
			rr[n].pref = z->pref;
			n++;
		}
	}
	assert_int_equal(dns_cache_put(c, name, type, st, rr, n, false, 300), 0);
}

/* Evaluates in rounds, fetching each round's misses from the zone. */
static void
run_rounds(const struct zrec *zone, const struct spf_request *req, struct run *r)
{
	struct dns_cache *c = dns_cache_new(1024);
	struct dns_view *v = dv_new(c);

	memset(r, 0, sizeof(*r));
	for (r->rounds = 1; r->rounds <= ROUNDS_MAX; r->rounds++) {
		dv_round_reset(v);
		if (spf_evaluate(v, req, &r->out) == SPF_EVAL_DONE) {
			r->done = true;
			break;
		}
		r->misses[r->rounds] = dv_misses(v);
		assert_true(dv_misses(v) > 0);	/* pending always says why */
		for (size_t i = 0; i < dv_misses(v); i++) {
			const char *name;
			enum dv_type type;
			dv_miss(v, i, &name, &type);
			zone_answer(c, zone, name, type);
		}
	}
	dv_free(v);
	dns_cache_free(c);
	assert_true(r->done);
}

static enum spf_result
eval_ip(const struct zrec *zone, const char *ip, const char *sender)
{
	struct spf_request req = { ip, "mail.example.org", sender, "mx.example.test", 0 };
	struct run r;

	run_rounds(zone, &req, &r);
	return r.out.result;
}

#define assert_result(got, want) do {					\
	enum spf_result g_ = (got), w_ = (want);				\
	if (g_ != w_)							\
		fail_msg("%s:%d: got %s, want %s", __FILE__, __LINE__,	\
		    spf_result_name(g_), spf_result_name(w_));		\
} while (0)

/* ---- the round model ---------------------------------------------------------- */

static void
test_first_round_records_the_miss(void **state)
{
	static const struct zrec zone[] = {
		TXT("example.net", "v=spf1 ip4:192.0.2.0/24 -all"), ZEND };
	struct dns_cache *c = dns_cache_new(16);
	struct dns_view *v = dv_new(c);
	struct spf_request req = { "192.0.2.7", "mail.example.org",
	    "alice@example.net", "mx.example.test", 0 };
	struct spf_outcome out;
	const char *name;
	enum dv_type type;

	(void)state;
	assert_int_equal(spf_evaluate(v, &req, &out), SPF_EVAL_PENDING);
	assert_int_equal(dv_misses(v), 1);
	dv_miss(v, 0, &name, &type);
	assert_string_equal(name, "example.net");
	assert_int_equal(type, DV_TXT);
	zone_answer(c, zone, name, type);
	dv_round_reset(v);
	assert_int_equal(spf_evaluate(v, &req, &out), SPF_EVAL_DONE);
	assert_int_equal(dv_misses(v), 0);
	assert_result(out.result, SPF_PASS);
	assert_string_equal(out.domain, "example.net");
	assert_string_equal(out.term, "ip4:192.0.2.0/24");
	assert_int_equal(out.lookups, 0);
	/* the same cache gives the same answer: evaluation is deterministic */
	struct spf_outcome again;
	assert_int_equal(spf_evaluate(v, &req, &again), SPF_EVAL_DONE);
	assert_memory_equal(&out, &again, sizeof(out));
	dv_free(v);
	dns_cache_free(c);
}

/* The lookups after a missing one are recorded in the same round. */
static void
test_speculation_fetches_together(void **state)
{
	static const struct zrec zone[] = {
		TXT("example.net", "v=spf1 include:a.example include:b.example "
		    "a:c.example mx:d.example -all"),
		TXT("a.example", "v=spf1 ip4:198.51.100.1 -all"),
		TXT("b.example", "v=spf1 ip4:192.0.2.0/24 -all"),
		A("c.example", "203.0.113.9"),
		ZEND };
	struct spf_request req = { "192.0.2.7", "h.example", "x@example.net", NULL, 0 };
	struct run r;

	(void)state;
	run_rounds(zone, &req, &r);
	assert_result(r.out.result, SPF_PASS);
	assert_string_equal(r.out.term, "include:b.example");
	assert_int_equal(r.rounds, 3);
	assert_int_equal(r.misses[1], 1);	/* example.net TXT */
	assert_int_equal(r.misses[2], 4);	/* a, b TXT; c A; d MX */
	assert_int_equal(r.out.lookups, 2);	/* the final round is exact */
}

/* ---- limits ------------------------------------------------------------------- */

static void
test_void_lookup_limit(void **state)
{
	static const struct zrec two[] = {
		TXT("example.net", "v=spf1 a:no1.example mx:no2.example ?all"), ZEND };
	static const struct zrec three[] = {
		TXT("example.net", "v=spf1 a:no1.example mx:no2.example "
		    "exists:no3.example ?all"), ZEND };
	struct spf_request req = { "192.0.2.7", "h.example", "x@example.net", NULL, 0 };
	struct run r;

	(void)state;
	run_rounds(two, &req, &r);
	assert_result(r.out.result, SPF_NEUTRAL);
	assert_int_equal(r.out.void_lookups, 2);
	run_rounds(three, &req, &r);
	assert_result(r.out.result, SPF_PERMERROR);
	assert_int_equal(r.out.void_lookups, 3);
	assert_non_null(strstr(r.out.problem, "void"));
}

static void
test_lookup_limit(void **state)
{
	/* 1 include + 8 a + 1 include = 10 terms: fine; one more: permerror */
	static const struct zrec at[] = {
		TXT("example.net", "v=spf1 include:i.example include:j.example -all"),
		TXT("i.example", "v=spf1 a a a a a a a a"),
		A("i.example", "198.51.100.1"),
		TXT("j.example", "v=spf1 ip4:192.0.2.7"),
		ZEND };
	static const struct zrec over[] = {
		TXT("example.net", "v=spf1 include:i.example include:j.example -all"),
		TXT("i.example", "v=spf1 a a a a a a a a"),
		A("i.example", "198.51.100.1"),
		TXT("j.example", "v=spf1 a ip4:192.0.2.7"),
		A("j.example", "198.51.100.1"),
		ZEND };
	struct spf_request req = { "192.0.2.7", "h.example", "x@example.net", NULL, 0 };
	struct run r;

	(void)state;
	run_rounds(at, &req, &r);
	assert_result(r.out.result, SPF_PASS);
	assert_int_equal(r.out.lookups, 10);
	run_rounds(over, &req, &r);
	assert_result(r.out.result, SPF_PERMERROR);
	assert_non_null(strstr(r.out.problem, "more than 10 DNS lookups"));
}

static void
test_mx_names_limit(void **state)
{
	static struct zrec zone[16];
	static char names[11][32];
	size_t n = 0;

	(void)state;
	zone[n++] = (struct zrec)TXT("example.net", "v=spf1 mx -all");
	for (int i = 0; i < 11; i++) {
		snprintf(names[i], sizeof(names[i]), "mx%d.example.net", i);
		zone[n++] = (struct zrec)MX("example.net", (uint16_t)i, names[i]);
	}
	zone[n] = (struct zrec)ZEND;
	assert_result(eval_ip(zone, "192.0.2.7", "x@example.net"), SPF_PERMERROR);
	zone[n - 1] = (struct zrec)ZEND;	/* 10 names: allowed, none matches */
	assert_result(eval_ip(zone, "192.0.2.7", "x@example.net"), SPF_FAIL);
}

/* ---- temporary errors --------------------------------------------------------- */

static void
test_temperror(void **state)
{
	static const struct zrec include[] = {
		TXT("example.net", "v=spf1 include:slow.example ip4:192.0.2.7 -all"),
		TEMPFAIL("slow.example", DV_TXT), ZEND };
	static const struct zrec mxhost[] = {
		TXT("example.net", "v=spf1 mx -all"),
		MX("example.net", 10, "mx.example.net"),
		TEMPFAIL("mx.example.net", DV_A), ZEND };
	static const struct zrec record[] = {
		TEMPFAIL("example.net", DV_TXT), ZEND };
	static const struct zrec ptr[] = {
		/* RFC 7208 5.5: a DNS error in ptr is no match, not temperror */
		TXT("example.net", "v=spf1 ptr ?all"),
		TEMPFAIL("7.2.0.192.in-addr.arpa", DV_PTR), ZEND };

	(void)state;
	assert_result(eval_ip(include, "192.0.2.7", "x@example.net"), SPF_TEMPERROR);
	assert_result(eval_ip(mxhost, "192.0.2.7", "x@example.net"), SPF_TEMPERROR);
	assert_result(eval_ip(record, "192.0.2.7", "x@example.net"), SPF_TEMPERROR);
	assert_result(eval_ip(ptr, "192.0.2.7", "x@example.net"), SPF_NEUTRAL);
}

/* ---- identities and addresses ------------------------------------------------- */

static void
test_null_sender_uses_helo(void **state)
{
	static const struct zrec zone[] = {
		TXT("mail.example.org", "v=spf1 -all exp=why.example.org"),
		TXT("why.example.org", "%{l} at %{o} (%{s}) via %{h}"),
		ZEND };
	struct spf_request req = { "192.0.2.7", "mail.example.org", "", NULL, 0 };
	struct run r;

	(void)state;
	run_rounds(zone, &req, &r);
	assert_result(r.out.result, SPF_FAIL);
	assert_string_equal(r.out.domain, "mail.example.org");
	assert_string_equal(r.out.explanation, "postmaster at mail.example.org "
	    "(postmaster@mail.example.org) via mail.example.org");
	/* an address literal or a single label is no domain: none */
	req.helo = "[192.0.2.7]";
	run_rounds(zone, &req, &r);
	assert_result(r.out.result, SPF_NONE);
	req.helo = "localhost";
	run_rounds(zone, &req, &r);
	assert_result(r.out.result, SPF_NONE);
}

static void
test_ipv6_client(void **state)
{
	static const struct zrec zone[] = {
		TXT("net.example", "v=spf1 ip4:0.0.0.0/0 ip6:2001:db8:10::/48 -all"),
		TXT("a.example", "v=spf1 a//64 -all"),
		A("a.example", "192.0.2.1"),
		AAAA("a.example", "2001:db8:20::1"),
		TXT("x.example", "v=spf1 exists:%{ir}.%{v}.x.example -all"),
		A("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.8.b.d.0.1.0.0.2.ip6.x.example",
		    "127.0.0.2"),
		ZEND };

	(void)state;
	assert_result(eval_ip(zone, "2001:db8:10::5", "u@net.example"), SPF_PASS);
	assert_result(eval_ip(zone, "2001:db8:11::5", "u@net.example"), SPF_FAIL);
	assert_result(eval_ip(zone, "2001:db8:20::ffff", "u@a.example"), SPF_PASS);
	assert_result(eval_ip(zone, "2001:db8:21::1", "u@a.example"), SPF_FAIL);
	assert_result(eval_ip(zone, "2001:db8:30::1", "u@x.example"), SPF_PASS);
	assert_result(eval_ip(zone, "2001:db8:30::2", "u@x.example"), SPF_FAIL);
}

/* RFC 7208 5: an IPv4-mapped IPv6 client is an IPv4 client. */
static void
test_ip4_mapped_client(void **state)
{
	static const struct zrec zone[] = {
		TXT("v4.example", "v=spf1 ip4:192.0.2.0/24 -all"),
		TXT("v6.example", "v=spf1 ip6:::ffff:192.0.2.0/120 -all"),
		TXT("a.example", "v=spf1 a -all"),
		A("a.example", "192.0.2.1"),
		TXT("e.example", "v=spf1 -all exp=why.example"),
		TXT("why.example", "%{c} %{i} %{v}"),
		ZEND };
	struct spf_request req = { "::ffff:192.0.2.1", "h.example", "u@e.example", NULL, 0 };
	struct run r;

	(void)state;
	assert_result(eval_ip(zone, "::FFFF:192.0.2.1", "u@v4.example"), SPF_PASS);
	assert_result(eval_ip(zone, "::ffff:192.0.2.1", "u@v6.example"), SPF_FAIL);
	assert_result(eval_ip(zone, "::ffff:192.0.2.1", "u@a.example"), SPF_PASS);
	run_rounds(zone, &req, &r);
	assert_string_equal(r.out.explanation, "192.0.2.1 192.0.2.1 in-addr");
}

static void
test_ptr_and_p_macro(void **state)
{
	static const struct zrec zone[] = {
		TXT("example.net", "v=spf1 ptr -all exp=why.example.net"),
		TXT("why.example.net", "%{p} is not allowed"),
		PTR("7.2.0.192.in-addr.arpa", "liar.example.net"),
		PTR("7.2.0.192.in-addr.arpa", "host.example.org"),
		A("host.example.org", "192.0.2.7"),
		A("liar.example.net", "198.51.100.1"),
		PTR("8.2.0.192.in-addr.arpa", "out.example.net"),
		A("out.example.net", "192.0.2.8"),
		ZEND };
	struct spf_request req = { "192.0.2.7", "h.example", "u@example.net", NULL, 0 };
	struct run r;

	(void)state;
	run_rounds(zone, &req, &r);
	/* liar.example.net is within the domain but does not validate */
	assert_result(r.out.result, SPF_FAIL);
	assert_string_equal(r.out.explanation, "host.example.org is not allowed");
	assert_result(eval_ip(zone, "192.0.2.8", "u@example.net"), SPF_PASS);
	assert_result(eval_ip(zone, "192.0.2.9", "u@example.net"), SPF_FAIL);
}

/* exp= comes from the record whose term decided, not from an include. */
static void
test_explanation_source(void **state)
{
	static const struct zrec zone[] = {
		TXT("example.net", "v=spf1 include:inc.example.net -all exp=top.example.net"),
		TXT("inc.example.net", "v=spf1 -all exp=inc-why.example.net"),
		TXT("top.example.net", "top: %{d} refuses %{i}"),
		TXT("inc-why.example.net", "from the include"),
		TXT("redir.example.net", "v=spf1 exp=top.example.net redirect=inc.example.net"),
		TXT("bad.example.net", "v=spf1 -all exp=two.example.net"),
		TXT("two.example.net", "one"),
		TXT("two.example.net", "two"),
		ZEND };
	struct spf_request req = { "192.0.2.7", "h.example", "u@example.net", NULL, 0 };
	struct run r;

	(void)state;
	run_rounds(zone, &req, &r);
	assert_result(r.out.result, SPF_FAIL);
	assert_string_equal(r.out.explanation, "top: example.net refuses 192.0.2.7");
	req.sender = "u@redir.example.net";
	run_rounds(zone, &req, &r);
	assert_string_equal(r.out.explanation, "from the include");
	req.sender = "u@bad.example.net";
	run_rounds(zone, &req, &r);
	assert_result(r.out.result, SPF_FAIL);
	assert_string_equal(r.out.explanation, "");
}

/* ---- the record grammar ------------------------------------------------------- */

static void
test_record_syntax(void **state)
{
	static const struct { const char *record; enum spf_result want; } rows[] = {
		{ "v=spf1 ip4:192.0.2.0/24 -all", SPF_PASS },
		{ "V=SPF1 IP4:192.0.2.7 -ALL", SPF_PASS },
		{ "v=spf1   ip4:192.0.2.7   ", SPF_PASS },
		{ "v=spf1 ip4:0.0.0.0/0", SPF_PASS },
		{ "v=spf1 ip4:192.0.2.7/32 foo=bar", SPF_PASS },
		{ "v=spf1 ip4:192.0.2.7 x-y.z=%{d}", SPF_PASS },
		{ "v=spf1", SPF_NEUTRAL },
		{ "v=spf1 ?all", SPF_NEUTRAL },
		{ "v=spf1 ~all", SPF_SOFTFAIL },
		{ "v=spf1 ip4:192.0.2.7 -all bogus", SPF_PERMERROR },
		{ "v=spf1 ip4:192.0.2.07", SPF_PERMERROR },
		{ "v=spf1 ip4:192.0.2.7/033", SPF_PERMERROR },
		{ "v=spf1 ip4:192.0.2.7/33", SPF_PERMERROR },
		{ "v=spf1 ip4:192.0.2", SPF_PERMERROR },
		{ "v=spf1 ip6:2001:db8::/129", SPF_PERMERROR },
		{ "v=spf1 a:example.org/24/64", SPF_PERMERROR },
		{ "v=spf1 a:example", SPF_PERMERROR },
		{ "v=spf1 a:example.123", SPF_PERMERROR },
		{ "v=spf1 a:example.-org", SPF_PERMERROR },
		{ "v=spf1 include:", SPF_PERMERROR },
		{ "v=spf1 exists:%{c}.example.org", SPF_PERMERROR },
		{ "v=spf1 exists:%{d0}.example.org", SPF_PERMERROR },
		{ "v=spf1 exists:%(d).example.org", SPF_PERMERROR },
		{ "v=spf1 -redirect=example.org", SPF_PERMERROR },
		{ "v=spf1 redirect=a.example redirect=b.example", SPF_PERMERROR },
		{ "v=spf1 exp=a.example exp=b.example ip4:192.0.2.7", SPF_PERMERROR },
		{ "v=spf1 1x=y", SPF_PERMERROR },
		{ "v=spf1 x=%", SPF_PERMERROR },
		{ "v=spf1 ip4:192.0.2.7\t-all", SPF_PERMERROR },
		{ "v=spf1 -all.", SPF_PERMERROR },
		{ "v=spf1 ptr/24", SPF_PERMERROR },
	};
	struct zrec zone[] = { TXT("example.net", NULL), ZEND };

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		enum spf_result got;
		zone[0].data = rows[i].record;
		got = eval_ip(zone, "192.0.2.7", "u@example.net");
		if (got != rows[i].want)
			fail_msg("'%s': got %s, want %s", rows[i].record,
			    spf_result_name(got), spf_result_name(rows[i].want));
	}
}

static void
test_record_selection(void **state)
{
	static const struct zrec none[] = {
		TXT("example.net", "v=spf10 -all"), TXT("example.net", "hello"), ZEND };
	static const struct zrec two[] = {
		TXT("example.net", "v=spf1 -all"), TXT("example.net", "v=spf1 +all"), ZEND };
	static const struct zrec other[] = {
		TXT("example.net", "google-site-verification=x"),
		TXT("example.net", "v=spf1 -all"), ZEND };

	(void)state;
	assert_result(eval_ip(none, "192.0.2.7", "u@example.net"), SPF_NONE);
	assert_result(eval_ip(two, "192.0.2.7", "u@example.net"), SPF_PERMERROR);
	assert_result(eval_ip(other, "192.0.2.7", "u@example.net"), SPF_FAIL);
	assert_result(eval_ip(none, "192.0.2.7", "u@nx.example.net"), SPF_NONE);
	assert_result(eval_ip(none, "not-an-ip", "u@example.net"), SPF_NONE);
}

/* ---- macros ------------------------------------------------------------------- */

static void
test_macro_expansion(void **state)
{
	/* RFC 7208 7.4's examples, and the transformers' corners */
	static const struct { const char *in; enum spf_macro_kind kind; const char *want; } rows[] = {
		{ "%{s}", SPF_MACRO_DOMAIN, "strong-bad@email.example.com" },
		{ "%{o}", SPF_MACRO_DOMAIN, "email.example.com" },
		{ "%{d}", SPF_MACRO_DOMAIN, "email.example.com" },
		{ "%{d4}", SPF_MACRO_DOMAIN, "email.example.com" },
		{ "%{d3}", SPF_MACRO_DOMAIN, "email.example.com" },
		{ "%{d2}", SPF_MACRO_DOMAIN, "example.com" },
		{ "%{d1}", SPF_MACRO_DOMAIN, "com" },
		{ "%{dr}", SPF_MACRO_DOMAIN, "com.example.email" },
		{ "%{d2r}", SPF_MACRO_DOMAIN, "example.email" },
		{ "%{l}", SPF_MACRO_DOMAIN, "strong-bad" },
		{ "%{l-}", SPF_MACRO_DOMAIN, "strong.bad" },
		{ "%{lr}", SPF_MACRO_DOMAIN, "strong-bad" },
		{ "%{lr-}", SPF_MACRO_DOMAIN, "bad.strong" },
		{ "%{l1r-}", SPF_MACRO_DOMAIN, "strong" },
		{ "%{ir}.%{v}._spf.%{d2}", SPF_MACRO_DOMAIN, "3.2.0.192.in-addr._spf.example.com" },
		{ "%{lr-}.lp._spf.%{d2}", SPF_MACRO_DOMAIN, "bad.strong.lp._spf.example.com" },
		{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", SPF_MACRO_DOMAIN,
		    "3.2.0.192.in-addr.strong.lp._spf.example.com" },
		{ "%{d999}", SPF_MACRO_DOMAIN, "email.example.com" },
		{ "%{p}.%{h}", SPF_MACRO_DOMAIN, "mx.example.org.mx.example.org" },
		{ "%%%_%-", SPF_MACRO_MODIFIER, "% %20" },
		{ "%{L}=%{S}", SPF_MACRO_EXPLAIN, "strong-bad=strong-bad%40email.example.com" },
		{ "%{c} at %{r} %{t}", SPF_MACRO_EXPLAIN, "192.0.2.3 at receiver.example 1234" },
		{ "", SPF_MACRO_EXPLAIN, "" },
	};
	static const struct { const char *in; enum spf_macro_kind kind; } bad[] = {
		{ "%{c}.example.com", SPF_MACRO_DOMAIN }, { "%{x}", SPF_MACRO_EXPLAIN },
		{ "%{d0}", SPF_MACRO_DOMAIN }, { "%", SPF_MACRO_DOMAIN },
		{ "%{d", SPF_MACRO_DOMAIN }, { "%{d;}", SPF_MACRO_DOMAIN },
		{ "example", SPF_MACRO_DOMAIN }, { "", SPF_MACRO_DOMAIN },
		{ "a b.example.com", SPF_MACRO_DOMAIN }, { "%{d}.", SPF_MACRO_DOMAIN },
	};
	struct spf_macro_vars v = {
		.sender = "strong-bad@email.example.com", .local = "strong-bad",
		.sender_domain = "email.example.com", .domain = "email.example.com",
		.ip_dotted = "192.0.2.3", .ip_text = "192.0.2.3", .ip_version = "in-addr",
		.helo = "mx.example.org", .receiver = "receiver.example",
		.validated = "mx.example.org", .now = 1234,
	};
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int n = spf_macro_expand(&v, rows[i].in, strlen(rows[i].in), rows[i].kind,
		    out, sizeof(out));
		if (n < 0 || strcmp(out, rows[i].want) != 0)
			fail_msg("'%s': got '%s' (%d), want '%s'", rows[i].in,
			    n < 0 ? "" : out, n, rows[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (spf_macro_valid(bad[i].in, strlen(bad[i].in), bad[i].kind))
			fail_msg("'%s': valid, want a syntax error", bad[i].in);
	/* an explanation is cut at the buffer, a domain is refused */
	assert_int_equal(spf_macro_expand(&v, "%{s}", 4, SPF_MACRO_EXPLAIN, out, 8), 7);
	assert_string_equal(out, "strong-");
	assert_int_equal(spf_macro_expand(&v, "%{s}", 4, SPF_MACRO_DOMAIN, out, 8), -1);
}

/* RFC 7208 7.3: too long a name loses labels on the left. */
static void
test_macro_domain_truncation(void **state)
{
	char local[200], name[DV_NAME_MAX + 1], spec[64];
	struct spf_macro_vars v = { .domain = "example.com", .validated = "unknown" };

	(void)state;
	memset(local, 'a', sizeof(local) - 1);
	local[sizeof(local) - 1] = '\0';
	for (size_t i = 50; i < sizeof(local) - 1; i += 51)
		local[i] = '.';		/* labels of 50 */
	v.local = local;
	snprintf(spec, sizeof(spec), "%%{l}.%%{l}.%%{d}");
	assert_int_equal(spf_macro_domain(&v, spec, strlen(spec), name), 0);
	assert_true(strlen(name) <= DV_NAME_MAX);
	assert_int_equal(strncmp(name + strlen(name) - 12, ".example.com", 12), 0);
	assert_true(name[0] != '.');
	/* a single label over 253 cannot be cut to a name */
	memset(local, 'a', sizeof(local) - 1);
	snprintf(spec, sizeof(spec), "%%{l}%%{l}");
	assert_int_equal(spf_macro_domain(&v, spec, strlen(spec), name), -1);
	assert_string_equal(name, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_round_records_the_miss),
		cmocka_unit_test(test_speculation_fetches_together),
		cmocka_unit_test(test_void_lookup_limit),
		cmocka_unit_test(test_lookup_limit),
		cmocka_unit_test(test_mx_names_limit),
		cmocka_unit_test(test_temperror),
		cmocka_unit_test(test_null_sender_uses_helo),
		cmocka_unit_test(test_ipv6_client),
		cmocka_unit_test(test_ip4_mapped_client),
		cmocka_unit_test(test_ptr_and_p_macro),
		cmocka_unit_test(test_explanation_source),
		cmocka_unit_test(test_record_syntax),
		cmocka_unit_test(test_record_selection),
		cmocka_unit_test(test_macro_expansion),
		cmocka_unit_test(test_macro_domain_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
