/*
 * screen/dmarc_test.c - the organizational domain through the PSL
 * (multi-label suffixes, wildcard and exception rules), strict and
 * relaxed alignment (the cases libopendmarc gets wrong), the record
 * grammar, and check_dmarc over a small zone: p=reject/quarantine/none,
 * sp= at the organizational domain, pct= sampled the same way for the
 * same message, broken and doubled records, several From domains, and
 * DNS temperrors as ranges.
 */
#include <sys/mman.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "checks.h"
#include "dmarc.h"
#include "dnscache.h"
#include "message.h"

static void
test_org_domain(void **state)
{
	static const struct { const char *in, *want; } rows[] = {
		{ "example.com", "example.com" },
		{ "mail.example.com", "example.com" },
		{ "a.b.c.example.com", "example.com" },
		{ "news.example.co.uk", "example.co.uk" },
		{ "example.co.uk", "example.co.uk" },
		{ "co.uk", NULL },		/* a public suffix itself */
		{ "com", NULL },
		{ "mx.home.test", "home.test" },	/* unlisted TLD: the "*" rule */
		{ "test", NULL },
		{ "www.ck", "www.ck" },		/* "*.ck" with the exception "!www.ck" */
		{ "a.b.ck", "a.b.ck" },		/* b.ck is a public suffix under "*.ck" */
		{ "city.kawasaki.jp", "city.kawasaki.jp" },	/* "!city.kawasaki.jp" */
		{ "x.foo.kawasaki.jp", "x.foo.kawasaki.jp" },	/* "*.kawasaki.jp" */
		/* private-section entries count: tenants of one hosting
		 * domain never align with each other */
		{ "attacker.blogspot.com", "attacker.blogspot.com" },
		{ "news.victim.github.io", "victim.github.io" },
		{ "", NULL },
	};
	char out[ADDR_DOMAIN_MAX + 1];

	(void)state;
	assert_int_equal(dmarc_psl_init(NULL), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int rc = dmarc_org_domain(rows[i].in, out, sizeof(out));
		if (rows[i].want == NULL ? rc != -1 : rc != 0 || strcmp(out, rows[i].want) != 0)
			fail_msg("'%s': got rc %d '%s', want %s", rows[i].in, rc,
			    rc == 0 ? out : "", rows[i].want != NULL ? rows[i].want : "none");
	}
}

static void
test_aligned(void **state)
{
	static const struct { const char *a, *b; bool strict, want; } rows[] = {
		{ "example.com", "example.com", true, true },
		{ "Example.COM", "example.com", true, true },
		{ "mail.example.com", "example.com", true, false },	/* libopendmarc said pass */
		{ "mail.example.com", "example.com", false, true },
		{ "a.example.com", "b.example.com", false, true },
		{ "example.net", "example.com", false, false },
		{ "co.uk", "news.example.co.uk", false, false },	/* libopendmarc said pass */
		{ "example.co.uk", "news.example.co.uk", false, true },
		{ "other.co.uk", "news.example.co.uk", false, false },
		{ "co.uk", "co.uk", false, true },
		{ "", "example.com", false, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (dmarc_aligned(rows[i].a, rows[i].b, rows[i].strict) != rows[i].want)
			fail_msg("%s / %s %s: got %d", rows[i].a, rows[i].b,
			    rows[i].strict ? "strict" : "relaxed", !rows[i].want);
}

static void
test_record_parse(void **state)
{
	static const struct {
		const char			*txt;
		enum dmarc_record_status	 st;
		enum dmarc_policy		 p, sp;
		bool				 adkim_s, aspf_s;
		unsigned			 pct;
	} rows[] = {
		{ "v=DMARC1; p=reject", DMARC_RECORD_OK, DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, false, false, 100 },
		{ "v=DMARC1;p=quarantine;sp=none;adkim=s;aspf=s;pct=20", DMARC_RECORD_OK,
		  DMARC_POLICY_QUARANTINE, DMARC_POLICY_NONE, true, true, 20 },
		{ " v = DMARC1 ;  p = None ; ", DMARC_RECORD_OK, DMARC_POLICY_NONE, DMARC_POLICY_NONE, false, false, 100 },
		{ "V=DMARC1; P=REJECT", DMARC_RECORD_OK, DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, false, false, 100 },
		{ "v=DMARC1; p=reject; p=none", DMARC_RECORD_OK, DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, false, false, 100 },
		{ "v=DMARC1; p=reject; pct=101; adkim=x", DMARC_RECORD_OK, DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, false, false, 100 },
		{ "v=DMARC1; p=reject; pct=0", DMARC_RECORD_OK, DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, false, false, 0 },
		{ "v=DMARC1; p=reject; unknown=tag; rua=mailto:d@example.com", DMARC_RECORD_OK,
		  DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, false, false, 100 },
		{ "v=DMARC1; p=bogus; rua=mailto:d@example.com", DMARC_RECORD_OK,
		  DMARC_POLICY_NONE, DMARC_POLICY_NONE, false, false, 100 },	/* 6.6.3 */
		{ "v=DMARC1; rua=mailto:d@example.com", DMARC_RECORD_OK, DMARC_POLICY_NONE, DMARC_POLICY_NONE, false, false, 100 },
		{ "v=DMARC1; p=reject; sp=bogus; rua=x:y", DMARC_RECORD_OK, DMARC_POLICY_NONE, DMARC_POLICY_NONE, false, false, 100 },
		{ "v=DMARC1; p=bogus", DMARC_RECORD_INVALID, 0, 0, false, false, 100 },
		{ "v=DMARC1; p=reject; sp=bogus", DMARC_RECORD_INVALID, 0, 0, false, false, 100 },
		{ "v=DMARC1; p=bogus; rua=not a uri", DMARC_RECORD_INVALID, 0, 0, false, false, 100 },
		{ "v=DMARC1", DMARC_RECORD_INVALID, 0, 0, false, false, 100 },
		{ "v=DMARC1; p", DMARC_RECORD_INVALID, 0, 0, false, false, 100 },
		{ "v=dmarc1; p=reject", DMARC_RECORD_NOT_DMARC, 0, 0, false, false, 100 },
		{ "v=DMARC10; p=reject", DMARC_RECORD_NOT_DMARC, 0, 0, false, false, 100 },
		{ "p=reject; v=DMARC1", DMARC_RECORD_NOT_DMARC, 0, 0, false, false, 100 },
		{ "v=spf1 -all", DMARC_RECORD_NOT_DMARC, 0, 0, false, false, 100 },
		{ "", DMARC_RECORD_NOT_DMARC, 0, 0, false, false, 100 },
	};
	struct dmarc_record r;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		enum dmarc_record_status st = dmarc_record_parse(rows[i].txt,
		    strlen(rows[i].txt), &r);
		if (st != rows[i].st)
			fail_msg("'%s': got status %d, want %d", rows[i].txt, st, rows[i].st);
		if (st != DMARC_RECORD_OK)
			continue;
		if (r.p != rows[i].p || r.sp != rows[i].sp || r.adkim_strict != rows[i].adkim_s ||
		    r.aspf_strict != rows[i].aspf_s || r.pct != rows[i].pct)
			fail_msg("'%s': got p=%d sp=%d adkim=%d aspf=%d pct=%u", rows[i].txt,
			    r.p, r.sp, r.adkim_strict, r.aspf_strict, r.pct);
	}
	/* a NUL inside the record is just a byte: of an unknown tag here, of
	 * p='s value there (which makes it invalid) */
	assert_int_equal(dmarc_record_parse("v=DMARC1; x=a\0b; p=reject",
	    sizeof("v=DMARC1; x=a\0b; p=reject") - 1, &r),
	    DMARC_RECORD_OK);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=reject\0",
	    sizeof("v=DMARC1; p=reject\0") - 1, &r),
	    DMARC_RECORD_INVALID);
}

/* ---- check_dmarc over a zone -------------------------------------------- */

struct zrec {
	const char	*name;
	enum dv_status	 status;
	const char	*txt;
};

static const struct zrec zone[] = {
	{ "_dmarc.reject.example", DV_OK, "v=DMARC1; p=reject" },
	{ "_dmarc.strict.example", DV_OK, "v=DMARC1; p=reject; adkim=s; aspf=s" },
	{ "_dmarc.quar.example", DV_OK, "v=DMARC1; p=quarantine" },
	{ "_dmarc.none.example", DV_OK, "v=DMARC1; p=none; rua=mailto:r@none.example" },
	{ "_dmarc.org.example", DV_OK, "v=DMARC1; p=reject; sp=quarantine" },
	{ "_dmarc.nosp.example", DV_OK, "v=DMARC1; p=reject" },
	{ "_dmarc.shop.co.uk", DV_OK, "v=DMARC1; p=reject" },
	{ "_dmarc.co.uk", DV_OK, "v=DMARC1; p=none" },	/* must never be asked */
	{ "_dmarc.pct0.example", DV_OK, "v=DMARC1; p=reject; pct=0" },
	{ "_dmarc.pct50.example", DV_OK, "v=DMARC1; p=reject; pct=50" },
	{ "_dmarc.broken.example", DV_OK, "v=DMARC1; p=bogus" },
	{ "_dmarc.double.example", DV_OK, "v=DMARC1; p=reject" },
	{ "_dmarc.double.example", DV_OK, "v=DMARC1; p=none" },
	{ "_dmarc.mixed.example", DV_OK, "some other text" },
	{ "_dmarc.mixed.example", DV_OK, "v=DMARC1; p=quarantine" },
	{ "_dmarc.slow.example", DV_TEMPFAIL, NULL },
	{ "_dmarc.attacker.example", DV_OK, "v=DMARC1; p=none" },
	{ NULL, 0, NULL },
};

static struct config	cfg;
static int		msg_fd = -1;
static bool		asked_co_uk;

static void
answer(struct dns_cache *c, const char *name, enum dv_type type)
{
	struct dv_rr rr[4];
	enum dv_status st = DV_NXDOMAIN;
	size_t n = 0;

	assert_int_equal(type, DV_TXT);
	if (strcmp(name, "_dmarc.co.uk") == 0)
		asked_co_uk = true;
	for (const struct zrec *z = zone; z->name != NULL; z++) {
		if (strcmp(z->name, name) != 0)
			continue;
		st = z->status;
		if (st == DV_OK && n < 4)
			rr[n++] = (struct dv_rr){ z->txt, strlen(z->txt), 0 };
	}
	assert_int_equal(dns_cache_put(c, name, type, st, rr, n, false, 60), 0);
}

static struct screen_message *
message(const char *from, const char *msgid)
{
	char text[1024];
	const char *why;
	int n = snprintf(text, sizeof(text), "From: %s\r\nMessage-ID: <%s>\r\n"
	    "Subject: t\r\n\r\nbody\r\n", from, msgid);

	if (msg_fd != -1)
		close(msg_fd);
	msg_fd = memfd_create("msg", 0);
	assert_int_equal(write(msg_fd, text, (size_t)n), n);
	return screen_message_open(msg_fd, &why);
}

/* What the earlier checks found (check_spf, check_dkim). */
struct prior {
	const char		*spf_pass;	/* NULL: SPF did not pass */
	bool			 spf_unknown;
	const char		*dkim_d;	/* NULL: no signature */
	enum auth_result	 dkim_result;
};

static void
prior_apply(const struct prior *p, struct score *s)
{
	if (p->spf_pass != NULL)
		snprintf(s->spf_pass_domain, sizeof(s->spf_pass_domain), "%s", p->spf_pass);
	s->spf_unknown = p->spf_unknown;
	if (p->dkim_d != NULL) {
		s->ndkim = 1;
		snprintf(s->dkim[0].domain, sizeof(s->dkim[0].domain), "%s", p->dkim_d);
		s->dkim[0].result = p->dkim_result;
	}
	s->dkim_done = true;
}

/* Runs check_dmarc in rounds; returns the number of rounds. */
static unsigned
run(const char *from, const char *msgid, const struct prior *p, struct score *s)
{
	struct screen_message *m = message(from, msgid);
	struct screen_env env = { &cfg, NULL, m };
	struct screen_facts f;
	struct dns_cache *c = dns_cache_new(64);
	struct dns_view *v = dv_new(c);
	unsigned round;

	memset(&f, 0, sizeof(f));
	f.flags = SCREEN_FACT_MAIL_SEEN;
	snprintf(f.mail_from, sizeof(f.mail_from), "bounce@%s",
	    p->spf_pass != NULL ? p->spf_pass : "elsewhere.example");
	for (round = 1; round < 10; round++) {
		dv_round_reset(v);
		score_init(s);
		prior_apply(p, s);
		check_dmarc(&env, &f, v, s);
		if (dv_misses(v) == 0)
			break;
		assert_int_equal(s->n, 0);	/* a round with misses adds nothing */
		for (size_t i = 0; i < dv_misses(v); i++) {
			const char *name;
			enum dv_type type;
			dv_miss(v, i, &name, &type);
			answer(c, name, type);
		}
	}
	dv_free(v);
	dns_cache_free(c);
	screen_message_free(m);
	return round;
}

static void
test_policies(void **state)
{
	static const struct {
		const char		*from;
		struct prior		 p;
		const char		*item;
		bool			 reject, unknown, aligned;
		enum auth_result	 result;
		const char		*policy;
	} rows[] = {
		/* aligned passes */
		{ "a@reject.example", { NULL, false, "reject.example", AUTH_PASS },
		  "dmarc_pass", false, false, true, AUTH_PASS, "" },
		{ "a@reject.example", { "bounces.reject.example", false, NULL, 0 },
		  "dmarc_pass", false, false, true, AUTH_PASS, "" },	/* relaxed SPF */
		{ "a@reject.example", { "reject.example", false, "evil.example", AUTH_PASS },
		  "dmarc_pass", false, false, true, AUTH_PASS, "" },
		/* no aligned pass */
		{ "a@reject.example", { "evil.example", false, "evil.example", AUTH_PASS },
		  "dmarc_reject", true, false, false, AUTH_FAIL, "reject" },
		{ "a@reject.example", { NULL, false, "reject.example", AUTH_FAIL },
		  "dmarc_reject", true, false, false, AUTH_FAIL, "reject" },
		{ "a@strict.example", { "mail.strict.example", false, "mail.strict.example", AUTH_PASS },
		  "dmarc_reject", true, false, false, AUTH_FAIL, "reject" },	/* strict */
		{ "a@strict.example", { NULL, false, "strict.example", AUTH_PASS },
		  "dmarc_pass", false, false, true, AUTH_PASS, "" },
		{ "a@quar.example", { NULL, false, NULL, 0 },
		  "dmarc_quarantine", false, false, false, AUTH_FAIL, "quarantine" },
		{ "a@none.example", { NULL, false, NULL, 0 },
		  "dmarc_policy_none", false, false, false, AUTH_FAIL, "none" },
		/* organizational records: sp= for a subdomain, else p= */
		{ "a@sub.org.example", { NULL, false, NULL, 0 },
		  "dmarc_quarantine", false, false, false, AUTH_FAIL, "quarantine" },
		{ "a@org.example", { NULL, false, NULL, 0 },
		  "dmarc_reject", true, false, false, AUTH_FAIL, "reject" },
		{ "a@deep.sub.nosp.example", { NULL, false, NULL, 0 },
		  "dmarc_reject", true, false, false, AUTH_FAIL, "reject" },
		{ "a@sub.org.example", { NULL, false, "other.org.example", AUTH_PASS },
		  "dmarc_pass", false, false, true, AUTH_PASS, "" },	/* relaxed DKIM */
		{ "a@news.shop.co.uk", { NULL, false, "co.uk", AUTH_PASS },
		  "dmarc_reject", true, false, false, AUTH_FAIL, "reject" },
		{ "a@news.shop.co.uk", { NULL, false, "shop.co.uk", AUTH_PASS },
		  "dmarc_pass", false, false, true, AUTH_PASS, "" },
		/* pct=0: never sampled, the next milder policy */
		{ "a@pct0.example", { NULL, false, NULL, 0 },
		  "dmarc_quarantine", false, false, false, AUTH_FAIL, "quarantine" },
		/* no record, broken records */
		{ "a@norecord.example", { NULL, false, "norecord.example", AUTH_PASS },
		  "dmarc_no_record", false, false, true, AUTH_NONE, "" },
		{ "a@norecord.example", { NULL, false, NULL, 0 },
		  "dmarc_no_record", false, false, false, AUTH_NONE, "" },
		{ "a@broken.example", { NULL, false, NULL, 0 },
		  "dmarc_permerror", false, false, false, AUTH_PERMERROR, "" },
		{ "a@double.example", { NULL, false, NULL, 0 },
		  "dmarc_permerror", false, false, false, AUTH_PERMERROR, "" },
		{ "a@mixed.example", { NULL, false, NULL, 0 },
		  "dmarc_quarantine", false, false, false, AUTH_FAIL, "quarantine" },
		/* what DNS could not tell */
		{ "a@slow.example", { NULL, false, NULL, 0 },
		  "dmarc_temperror", false, true, false, AUTH_TEMPERROR, "" },
		{ "a@reject.example", { NULL, false, "reject.example", AUTH_TEMPERROR },
		  "dmarc_temperror", false, true, false, AUTH_TEMPERROR, "reject" },
		{ "a@reject.example", { NULL, true, NULL, 0 },
		  "dmarc_reject", true, false, false, AUTH_FAIL, "reject" },	/* SPF of elsewhere */
		{ "a@quar.example", { NULL, false, "quar.example", AUTH_TEMPERROR },
		  "dmarc_temperror", false, false, false, AUTH_TEMPERROR, "quarantine" },
		{ "a@reject.example", { NULL, false, "evil.example", AUTH_TEMPERROR },
		  "dmarc_reject", true, false, false, AUTH_FAIL, "reject" },	/* not aligned */
		/* several From domains: the strictest failing policy */
		{ "x@attacker.example, ceo@reject.example", { "attacker.example", false, NULL, 0 },
		  "dmarc_reject", true, false, false, AUTH_PASS, "" },
	};
	struct score s;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		asked_co_uk = false;
		run(rows[i].from, "id@test", &rows[i].p, &s);
		if (s.n != 1 || strcmp(s.item[0].name, rows[i].item) != 0)
			fail_msg("%s: got %zu items, first '%s', want '%s'", rows[i].from, s.n,
			    s.n > 0 ? s.item[0].name : "", rows[i].item);
		if (s.dmarc_reject != rows[i].reject || s.dmarc_unknown != rows[i].unknown ||
		    s.auth_aligned != rows[i].aligned)
			fail_msg("%s (row %zu): got reject %d unknown %d aligned %d, reason '%s'",
			    rows[i].from, i, s.dmarc_reject, s.dmarc_unknown, s.auth_aligned,
			    s.item[0].reason);
		if (s.ndmarc < 1 || s.dmarc[0].result != rows[i].result ||
		    strcmp(s.dmarc[0].policy, rows[i].policy) != 0)
			fail_msg("%s (row %zu): got result %d policy '%s'", rows[i].from, i,
			    s.dmarc[0].result, s.dmarc[0].policy);
		assert_false(asked_co_uk);
	}
}

static void
test_reason_and_ranges(void **state)
{
	const int *w = cfg.screen.weights;
	struct prior none = { NULL, false, NULL, 0 };
	struct prior dkim_temp = { NULL, false, "reject.example", AUTH_TEMPERROR };
	struct score s;

	(void)state;
	run("a@sub.org.example", "id@test", &none, &s);
	assert_string_equal(s.item[0].reason,
	    "dmarc=fail from=sub.org.example p=quarantine (organizational) applied=quarantine");
	assert_int_equal(s.item[0].weight, w[W_DMARC_QUARANTINE]);

	run("a@slow.example", "id@test", &none, &s);	/* the record is unknown */
	assert_true(s.item[0].unknown);
	assert_int_equal(s.item[0].weight, w[W_DMARC_PASS]);	/* the lowest dmarc_* weight */
	assert_int_equal(s.item[0].worst, w[W_DMARC_REJECT]);
	assert_string_equal(s.item[0].reason,
	    "dmarc=temperror from=slow.example (record lookup failed)");

	run("a@reject.example", "id@test", &dkim_temp, &s);	/* pass or reject */
	assert_true(s.item[0].unknown);
	assert_int_equal(s.item[0].weight, w[W_DMARC_PASS]);
	assert_int_equal(s.item[0].worst, w[W_DMARC_REJECT]);

	run("a@d1.example, a@d2.example, a@d3.example, a@d4.example, ceo@reject.example",
	    "id@test", &none, &s);
	assert_string_equal(s.item[0].name, "dmarc_reject");
	assert_int_equal(s.item[0].weight, w[W_DMARC_REJECT]);
	assert_false(s.dmarc_reject);	/* the weight, not the decisive rule */
	assert_int_equal(s.ndmarc, 0);

	run("<ceo@reject.example", "id@test", &none, &s);	/* broken, still judged */
	assert_true(s.dmarc_reject);

	assert_int_equal(run("a@x.example, b@y.example", "id@test", &none, &s), 2);
	assert_int_equal(s.ndmarc, 2);	/* both lookups in one round */
	assert_string_equal(s.dmarc[1].from_domain, "y.example");
}

/* pct=50: the Message-ID decides, the same way every time. */
static void
test_pct_sampling(void **state)
{
	struct prior none = { NULL, false, NULL, 0 };
	unsigned rejects = 0;
	struct score s, again;

	(void)state;
	for (int i = 0; i < 40; i++) {
		char id[32];
		snprintf(id, sizeof(id), "%d@sample.test", i);
		run("a@pct50.example", id, &none, &s);
		run("a@pct50.example", id, &none, &again);
		assert_string_equal(s.item[0].name, again.item[0].name);
		assert_int_equal(s.dmarc_reject, again.dmarc_reject);
		if (s.dmarc_reject)
			rejects++;
		else
			assert_string_equal(s.item[0].name, "dmarc_quarantine");
	}
	if (rejects < 8 || rejects > 32)
		fail_msg("pct=50: %u of 40 sampled, want about half", rejects);
}

/* No message, no author: nothing to do. */
static void
test_nothing(void **state)
{
	struct screen_env env = { &cfg, NULL, NULL };
	struct screen_facts f;
	struct dns_cache *c = dns_cache_new(8);
	struct dns_view *v = dv_new(c);
	struct score s;
	struct screen_message *m;

	(void)state;
	memset(&f, 0, sizeof(f));
	score_init(&s);
	check_dmarc(&env, &f, v, &s);
	assert_int_equal(s.n, 0);
	m = message("undisclosed-recipients:;", "id@test");
	env.msg = m;
	check_dmarc(&env, &f, v, &s);
	assert_int_equal(s.n, 0);
	assert_int_equal(dv_misses(v), 0);
	screen_message_free(m);
	dv_free(v);
	dns_cache_free(c);
}

static int
setup(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.hostname, sizeof(cfg.hostname), "mx.home.test");
	screen_config_defaults(&cfg.screen);
	for (int i = 0; i < W_COUNT; i++)	/* every item distinguishable */
		cfg.screen.weights[i] = i == W_DMARC_PASS ? -1 : cfg.screen.weights[i];
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_org_domain),
		cmocka_unit_test(test_aligned),
		cmocka_unit_test(test_record_parse),
		cmocka_unit_test(test_policies),
		cmocka_unit_test(test_reason_and_ranges),
		cmocka_unit_test(test_pct_sampling),
		cmocka_unit_test(test_nothing),
	};
	int rc = cmocka_run_group_tests(tests, setup, NULL);

	if (msg_fd != -1)
		close(msg_fd);
	return rc;
}
