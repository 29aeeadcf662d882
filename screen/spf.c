/*
 * screen/spf.c - RFC 7208 check_host() over the screen's DNS view.
 *
 * Owns: one evaluation's state (the client address in every form the
 * macros need, the lookup and void-lookup counters, the pending flag) and
 * the semantics of each mechanism and modifier. The record grammar lives in
 * screen/spf_record.c, the macros in screen/spf_macro.c.
 *
 * Why our own evaluator and not libspf2: libspf2 1.2.10 was measured first,
 * behind a DNS layer that reads the view (commit "spf: the RFC 7208 suite
 * runner, and libspf2 measured ..."): 125 of the 203 cases of the RFC 7208
 * test suite, 141 counting the result alone. Its gaps were in exactly the
 * parts that protect us: syntax errors accepted instead of permerror, no
 * void-lookup limit, an over-limit include still passing, "/0" refused,
 * explanations not expanded, ip4-mapped clients matched by ip6. Closing
 * them meant writing the grammar and the limits anyway, and its blocking
 * design costs one round per lookup. This evaluator passes all 203
 * (tests/tools/spf_suite.py, run by make check).
 *
 * Why it speculates: each call starts from scratch (screen/dnsview.h).
 * When a term's answer is missing, the evaluation records the miss and
 * goes on as if that term did not match, so the lookups of the following
 * terms (and of includes' records) are recorded in the same round and
 * fetched in parallel. A call that met a miss never reports a result; the
 * final call meets none and follows RFC 7208 exactly, counters included.
 * Speculation is bounded by the same limits, so it never asks for more than
 * a sequential evaluation could.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dnscache.h"
#include "spf.h"
#include "spf_macro.h"
#include "spf_record.h"

#define SPF_SENDER_MAX	512	/* local@domain, longer than any valid path */
#define SPF_DEPTH_MAX	(SPF_LOOKUP_LIMIT + 1)

struct spf_ip {
	int	family;		/* AF_INET (also for ::ffff:a.b.c.d) or AF_INET6 */
	uint8_t	addr[16];
};

/* What decided a check_host() level: for the log and for exp=. */
struct spf_decision {
	const char	*term;		/* NULL: no term matched */
	size_t		 termlen;
	const char	*exp;		/* exp= domain-spec of the deciding record */
	size_t		 explen;
	char		 exp_domain[DV_NAME_MAX + 1];	/* its %{d} */
};

struct spf_eval {
	struct dns_view			*view;
	const struct spf_request	*req;
	struct spf_ip			 ip;
	char	ip_text[INET6_ADDRSTRLEN];	/* %{c} */
	char	ip_dotted[64];			/* %{i}: 32 nibbles, 31 dots */
	char	reverse[80];			/* in-addr.arpa / ip6.arpa name */
	char	sender[SPF_SENDER_MAX + 1];	/* %{s} */
	char	local[SPF_SENDER_MAX + 1];	/* %{l} */
	char	sender_domain[SPF_SENDER_MAX + 1];	/* %{o} */
	unsigned	lookups;
	unsigned	voids;
	bool		pending;	/* a miss was met: no result this round */
	enum spf_result	err;		/* set with a -1 return */
	char		problem[SPF_PROBLEM_MAX + 1];
};

/* Address lookups for a, mx, ptr and %{p}. */
enum addr_match { AM_MATCH, AM_NOMATCH, AM_VOID, AM_PENDING, AM_TEMPFAIL };

static enum spf_result check_host(struct spf_eval *, const char *domain,
    unsigned depth, struct spf_decision *);

const char *
spf_result_name(enum spf_result r)
{
	static const char *names[] = { "?", "none", "neutral", "pass", "fail",
	    "softfail", "temperror", "permerror" };

	return r >= SPF_NONE && r <= SPF_RESULT_MAX ? names[r] : "?";
}

static int
fail_with(struct spf_eval *ev, enum spf_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Ends the evaluation with temperror or permerror; returns -1. The
 * problem may quote record text: it keeps visible ASCII only, no quote. */
static int
fail_with(struct spf_eval *ev, enum spf_result r, const char *fmt, ...)
{
	va_list ap;

	ev->err = r;
	va_start(ap, fmt);
	vsnprintf(ev->problem, sizeof(ev->problem), fmt, ap);
	va_end(ap);
	for (char *p = ev->problem; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e || *p == '"')
			*p = '?';
	return -1;
}

/* "%.*s" argument for a term in a message, cut to fit the log. */
static int
term_width(size_t len)
{
	return len > 48 ? 48 : (int)len;
}

static int
count_lookup(struct spf_eval *ev, const struct spf_term *t)
{
	if (++ev->lookups <= SPF_LOOKUP_LIMIT)
		return 0;
	return fail_with(ev, SPF_PERMERROR, "more than %d DNS lookups at %.*s",
	    SPF_LOOKUP_LIMIT, term_width(t->textlen), t->text);
}

static int
count_void(struct spf_eval *ev, const struct spf_term *t)
{
	if (++ev->voids <= SPF_VOID_LIMIT)
		return 0;
	return fail_with(ev, SPF_PERMERROR, "more than %d void lookups at %.*s",
	    SPF_VOID_LIMIT, term_width(t->textlen), t->text);
}

/* ---- the client address ------------------------------------------------------ */

static int
client_parse(struct spf_eval *ev, const char *text)
{
	static const char hex[] = "0123456789abcdef", HEX[] = "0123456789ABCDEF";
	const uint8_t *a = ev->ip.addr;
	size_t off = 0;

	memset(&ev->ip, 0, sizeof(ev->ip));
	if (inet_pton(AF_INET, text, ev->ip.addr) == 1) {
		ev->ip.family = AF_INET;
	} else if (inet_pton(AF_INET6, text, ev->ip.addr) == 1) {
		ev->ip.family = AF_INET6;
		/* RFC 7208 5: an IPv4-mapped IPv6 address is an IPv4 client */
		if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(const void *)a)) {
			memmove(ev->ip.addr, a + 12, 4);
			memset(ev->ip.addr + 4, 0, 12);
			ev->ip.family = AF_INET;
		}
	} else {
		return -1;
	}
	inet_ntop(ev->ip.family, a, ev->ip_text, sizeof(ev->ip_text));
	if (ev->ip.family == AF_INET) {
		snprintf(ev->ip_dotted, sizeof(ev->ip_dotted), "%u.%u.%u.%u",
		    a[0], a[1], a[2], a[3]);
		snprintf(ev->reverse, sizeof(ev->reverse), "%u.%u.%u.%u.in-addr.arpa",
		    a[3], a[2], a[1], a[0]);
		return 0;
	}
	/* %{i}: dotted nibbles; upper case as the RFC 7208 test suite expects
	 * in explanations (the DNS ignores case) */
	for (int i = 0; i < 16; i++)
		off += (size_t)snprintf(ev->ip_dotted + off, sizeof(ev->ip_dotted) - off,
		    "%s%c.%c", i ? "." : "", HEX[a[i] >> 4], HEX[a[i] & 15]);
	off = 0;
	for (int i = 15; i >= 0; i--)
		off += (size_t)snprintf(ev->reverse + off, sizeof(ev->reverse) - off,
		    "%c.%c.", hex[a[i] & 15], hex[a[i] >> 4]);
	snprintf(ev->reverse + off, sizeof(ev->reverse) - off, "ip6.arpa");
	return 0;
}

static bool
ip_in_net(const struct spf_ip *ip, const uint8_t *net, unsigned prefix)
{
	unsigned bytes = prefix / 8, bits = prefix % 8;

	if (memcmp(ip->addr, net, bytes) != 0)
		return false;
	if (bits == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - bits));
	return (ip->addr[bytes] & mask) == (net[bytes] & mask);
}

static unsigned
client_prefix(const struct spf_eval *ev, const struct spf_term *t)
{
	return ev->ip.family == AF_INET ? t->cidr4 : t->cidr6;
}

/* Is one of name's addresses (A or AAAA, as the client) inside prefix? */
static enum addr_match
addrs_match(struct spf_eval *ev, const char *name, unsigned prefix)
{
	struct dv_answer ans;
	uint8_t net[16];

	switch (dv_lookup(ev->view, name, ev->ip.family == AF_INET ? DV_A : DV_AAAA,
	    &ans)) {
	case DV_MISS:
		ev->pending = true;
		return AM_PENDING;
	case DV_TEMPFAIL:
		return AM_TEMPFAIL;
	case DV_NXDOMAIN:
	case DV_NODATA:
		return AM_VOID;
	case DV_OK:
		break;
	}
	for (size_t i = 0; i < ans.n; i++)
		if (inet_pton(ev->ip.family, ans.rr[i].data, net) == 1 &&
		    ip_in_net(&ev->ip, net, prefix))
			return AM_MATCH;
	return AM_NOMATCH;
}

/* ---- macros and targets -------------------------------------------------------- */

/* name is domain or one of its subdomains (ignoring case). */
static bool
name_within(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);

	if (n == d)
		return strcasecmp(name, domain) == 0;
	return n > d && name[n - d - 1] == '.' && strcasecmp(name + n - d, domain) == 0;
}

/*
 * %{p} (RFC 7208 7.3): a PTR name of the client whose addresses include it,
 * preferring domain itself, then a subdomain of it; "unknown" if none.
 * Neither a term nor a void lookup of its own (RFC 7208 4.6.4 counts terms).
 * Returns false while answers are missing (the view has the misses).
 */
static bool
validated_name(struct spf_eval *ev, const char *domain, char *out, size_t size)
{
	struct dv_answer ptr;
	size_t best = SIZE_MAX;
	int best_rank = 0;
	bool complete = true;

	snprintf(out, size, "unknown");
	if (dv_lookup(ev->view, ev->reverse, DV_PTR, &ptr) == DV_MISS) {
		ev->pending = true;
		return false;
	}
	if (ptr.status != DV_OK)
		return true;
	for (size_t i = 0; i < ptr.n && i < SPF_NAMES_LIMIT && best_rank < 3; i++) {
		const char *name = ptr.rr[i].data;
		int rank = strcasecmp(name, domain) == 0 ? 3 :
		    name_within(name, domain) ? 2 : 1;
		if (rank <= best_rank)
			continue;
		switch (addrs_match(ev, name, ev->ip.family == AF_INET ? 32 : 128)) {
		case AM_MATCH:
			best = i;
			best_rank = rank;
			break;
		case AM_PENDING:
			complete = false;
			break;
		default:
			break;
		}
	}
	if (best != SIZE_MAX)
		snprintf(out, size, "%s", ptr.rr[best].data);
	return complete;
}

static void
macro_vars(const struct spf_eval *ev, const char *domain, const char *p,
    struct spf_macro_vars *v)
{
	const struct spf_request *r = ev->req;

	v->sender = ev->sender;
	v->local = ev->local;
	v->sender_domain = ev->sender_domain;
	v->domain = domain;
	v->ip_dotted = ev->ip_dotted;
	v->ip_text = ev->ip_text;
	v->ip_version = ev->ip.family == AF_INET ? "in-addr" : "ip6";
	v->helo = r->helo != NULL ? r->helo : "";
	v->receiver = r->receiver != NULL && r->receiver[0] != '\0' ?
	    r->receiver : "unknown";
	v->validated = p;
	v->now = r->now;
}

/*
 * The name a term queries: its domain-spec expanded, or the current
 * domain. An expansion that gives no valid name gives "" (NXDOMAIN).
 * Returns -1 while %{p} is not known yet: there is no name to ask for.
 */
static int
term_target(struct spf_eval *ev, const char *spec, size_t speclen,
    const char *domain, char out[DV_NAME_MAX + 1])
{
	struct spf_macro_vars v;
	char p[DV_NAME_MAX + 1] = "unknown";

	out[0] = '\0';
	if (spec == NULL) {
		snprintf(out, DV_NAME_MAX + 1, "%s", domain);
		return 0;
	}
	if (spf_macro_uses_p(spec, speclen) &&
	    !validated_name(ev, domain, p, sizeof(p)))
		return -1;
	macro_vars(ev, domain, p, &v);
	spf_macro_domain(&v, spec, speclen, out);
	return 0;
}

/* ---- mechanisms: 1 match, 0 no match, -1 error (ev->err) ---------------------- */

static int
addr_outcome(struct spf_eval *ev, const struct spf_term *t, const char *name,
    enum addr_match m)
{
	switch (m) {
	case AM_MATCH:
		return 1;
	case AM_VOID:
		return count_void(ev, t);
	case AM_TEMPFAIL:
		return fail_with(ev, SPF_TEMPERROR, "DNS error for %s", name);
	default:
		return 0;
	}
}

static int
mech_a(struct spf_eval *ev, const struct spf_term *t, const char *domain)
{
	char target[DV_NAME_MAX + 1];

	if (count_lookup(ev, t) == -1)
		return -1;
	if (term_target(ev, t->spec, t->speclen, domain, target) == -1)
		return 0;
	return addr_outcome(ev, t, target,
	    addrs_match(ev, target, client_prefix(ev, t)));
}

static int
mech_mx(struct spf_eval *ev, const struct spf_term *t, const char *domain)
{
	char target[DV_NAME_MAX + 1];
	struct dv_answer mx;
	enum addr_match m;

	if (count_lookup(ev, t) == -1)
		return -1;
	if (term_target(ev, t->spec, t->speclen, domain, target) == -1)
		return 0;
	switch (dv_lookup(ev->view, target, DV_MX, &mx)) {
	case DV_MISS:
		ev->pending = true;
		return 0;
	case DV_TEMPFAIL:
		return fail_with(ev, SPF_TEMPERROR, "DNS error for %s MX", target);
	case DV_NXDOMAIN:
	case DV_NODATA:
		return count_void(ev, t);
	case DV_OK:
		break;
	}
	if (mx.n > SPF_NAMES_LIMIT || mx.truncated)	/* RFC 7208 4.6.4 */
		return fail_with(ev, SPF_PERMERROR, "more than %d MX names for %s",
		    SPF_NAMES_LIMIT, target);
	for (size_t i = 0; i < mx.n; i++) {
		if (mx.rr[i].len == 0)
			continue;		/* null MX (RFC 7505) */
		m = addrs_match(ev, mx.rr[i].data, client_prefix(ev, t));
		if (m == AM_MATCH || m == AM_TEMPFAIL)
			return addr_outcome(ev, t, mx.rr[i].data, m);
	}
	return 0;
}

/* RFC 7208 5.5: DNS errors here make the mechanism not match. */
static int
mech_ptr(struct spf_eval *ev, const struct spf_term *t, const char *domain)
{
	char target[DV_NAME_MAX + 1];
	struct dv_answer ptr;
	unsigned full = ev->ip.family == AF_INET ? 32 : 128;

	if (count_lookup(ev, t) == -1)
		return -1;
	if (term_target(ev, t->spec, t->speclen, domain, target) == -1)
		return 0;
	switch (dv_lookup(ev->view, ev->reverse, DV_PTR, &ptr)) {
	case DV_MISS:
		ev->pending = true;
		return 0;
	case DV_NXDOMAIN:
	case DV_NODATA:
		return count_void(ev, t);
	case DV_TEMPFAIL:
		return 0;
	case DV_OK:
		break;
	}
	/* RFC 7208 4.6.4: only the first 10 names; only names within the
	 * target can match, so only they are validated */
	for (size_t i = 0; i < ptr.n && i < SPF_NAMES_LIMIT; i++)
		if (name_within(ptr.rr[i].data, target) &&
		    addrs_match(ev, ptr.rr[i].data, full) == AM_MATCH)
			return 1;
	return 0;
}

static int
mech_exists(struct spf_eval *ev, const struct spf_term *t, const char *domain)
{
	char target[DV_NAME_MAX + 1];
	struct dv_answer a;

	if (count_lookup(ev, t) == -1)
		return -1;
	if (term_target(ev, t->spec, t->speclen, domain, target) == -1)
		return 0;
	switch (dv_lookup(ev->view, target, DV_A, &a)) {	/* A even for IPv6 */
	case DV_MISS:
		ev->pending = true;
		return 0;
	case DV_TEMPFAIL:
		return fail_with(ev, SPF_TEMPERROR, "DNS error for %s", target);
	case DV_NXDOMAIN:
	case DV_NODATA:
		return count_void(ev, t);
	case DV_OK:
		break;
	}
	return 1;
}

/* RFC 7208 5.2: pass matches; fail, softfail, neutral do not; none is a
 * permerror; errors are passed up. */
static int
mech_include(struct spf_eval *ev, const struct spf_term *t, const char *domain,
    unsigned depth)
{
	char target[DV_NAME_MAX + 1];
	struct spf_decision inner;
	bool was_pending = ev->pending;
	enum spf_result r;

	if (count_lookup(ev, t) == -1)
		return -1;
	if (term_target(ev, t->spec, t->speclen, domain, target) == -1)
		return 0;
	ev->pending = false;
	r = check_host(ev, target, depth + 1, &inner);
	if (ev->pending)
		return 0;	/* not known yet: go on as if it did not match */
	ev->pending = was_pending;
	switch (r) {
	case SPF_PASS:
		return 1;
	case SPF_FAIL:
	case SPF_SOFTFAIL:
	case SPF_NEUTRAL:
		return 0;
	case SPF_NONE:
		return fail_with(ev, SPF_PERMERROR, "include:%s has no SPF record",
		    target);
	default:
		ev->err = r;	/* temperror or permerror, problem already set */
		return -1;
	}
}

static int
mech_ip(struct spf_eval *ev, const struct spf_term *t)
{
	int family = t->kind == SPF_T_IP4 ? AF_INET : AF_INET6;

	/* an ip4-mapped client is IPv4: ip6 never matches it (RFC 7208 5) */
	if (ev->ip.family != family)
		return 0;
	return ip_in_net(&ev->ip, t->net, client_prefix(ev, t)) ? 1 : 0;
}

static int
mech_eval(struct spf_eval *ev, const struct spf_term *t, const char *domain,
    unsigned depth)
{
	switch (t->kind) {
	case SPF_T_ALL:		return 1;
	case SPF_T_INCLUDE:	return mech_include(ev, t, domain, depth);
	case SPF_T_A:		return mech_a(ev, t, domain);
	case SPF_T_MX:		return mech_mx(ev, t, domain);
	case SPF_T_PTR:		return mech_ptr(ev, t, domain);
	case SPF_T_IP4:
	case SPF_T_IP6:		return mech_ip(ev, t);
	case SPF_T_EXISTS:	return mech_exists(ev, t, domain);
	default:		return 0;	/* modifiers: not evaluated here */
	}
}

/* ---- one check_host() level ---------------------------------------------------- */

/* The one SPF record of domain (RFC 7208 4.4, 4.5), or a result. */
static int
fetch_record(struct spf_eval *ev, const char *domain, const char **rec,
    size_t *len, enum spf_result *r)
{
	struct dv_answer txt;
	size_t found = 0;

	*r = SPF_NONE;
	switch (dv_lookup(ev->view, domain, DV_TXT, &txt)) {
	case DV_MISS:
		ev->pending = true;
		return -1;
	case DV_TEMPFAIL:
		*r = SPF_TEMPERROR;
		fail_with(ev, SPF_TEMPERROR, "DNS error for %s TXT", domain);
		return -1;
	case DV_NXDOMAIN:
	case DV_NODATA:
		return -1;
	case DV_OK:
		break;
	}
	for (size_t i = 0; i < txt.n; i++)
		if (spf_record_is_spf(txt.rr[i].data, txt.rr[i].len)) {
			*rec = txt.rr[i].data;
			*len = txt.rr[i].len;
			found++;
		}
	if (found > 1) {
		*r = SPF_PERMERROR;
		fail_with(ev, SPF_PERMERROR, "%zu SPF records at %s", found, domain);
		return -1;
	}
	if (found == 1 && *len >= DV_TXT_MAX && txt.truncated) {
		*r = SPF_PERMERROR;
		fail_with(ev, SPF_PERMERROR, "SPF record at %s too long", domain);
		return -1;
	}
	return found == 1 ? 0 : -1;
}

/* RFC 7208 4.6: the whole record is checked before any term is evaluated;
 * redirect= and exp= at most once each (RFC 7208 6). */
static int
record_check(struct spf_eval *ev, const char *rec, size_t len, const char *domain,
    struct spf_term *redirect, struct spf_term *exp)
{
	struct spf_cursor c;
	struct spf_term t;
	const char *why = "";
	int rc;

	redirect->kind = exp->kind = 0;
	spf_cursor_init(&c, rec, len);
	while ((rc = spf_term_next(&c, &t, &why)) == 1) {
		struct spf_term *slot = t.kind == SPF_T_REDIRECT ? redirect :
		    t.kind == SPF_T_EXP ? exp : NULL;
		if (slot == NULL)
			continue;
		if (slot->kind != 0)
			return fail_with(ev, SPF_PERMERROR, "%s twice at %s",
			    t.kind == SPF_T_EXP ? "exp=" : "redirect=", domain);
		*slot = t;
	}
	if (rc == -1)
		return fail_with(ev, SPF_PERMERROR, "%s at %s: %.*s", why, domain,
		    term_width((size_t)(c.end - c.p)), c.p);
	return 0;
}

static enum spf_result
qualifier_result(char q)
{
	switch (q) {
	case '-':	return SPF_FAIL;
	case '~':	return SPF_SOFTFAIL;
	case '?':	return SPF_NEUTRAL;
	default:	return SPF_PASS;
	}
}

static enum spf_result
follow_redirect(struct spf_eval *ev, const struct spf_term *redirect,
    const char *domain, unsigned depth, struct spf_decision *dec)
{
	char target[DV_NAME_MAX + 1];
	enum spf_result r;

	if (count_lookup(ev, redirect) == -1)
		return ev->err;
	if (term_target(ev, redirect->spec, redirect->speclen, domain, target) == -1)
		return SPF_NONE;	/* pending */
	r = check_host(ev, target, depth + 1, dec);	/* its exp=, not ours */
	if (r == SPF_NONE && !ev->pending) {
		fail_with(ev, SPF_PERMERROR, "redirect=%s has no SPF record", target);
		return SPF_PERMERROR;
	}
	return r;
}

static enum spf_result
check_host(struct spf_eval *ev, const char *domain, unsigned depth,
    struct spf_decision *dec)
{
	struct spf_term t, redirect, exp;
	struct spf_cursor c;
	const char *rec = NULL, *why;
	size_t len = 0;
	enum spf_result r;
	int m;

	memset(dec, 0, sizeof(*dec));
	if (depth > SPF_DEPTH_MAX) {
		fail_with(ev, SPF_PERMERROR, "nested too deep at %s", domain);
		return SPF_PERMERROR;
	}
	if (fetch_record(ev, domain, &rec, &len, &r) == -1)
		return r;
	if (record_check(ev, rec, len, domain, &redirect, &exp) == -1)
		return SPF_PERMERROR;
	spf_cursor_init(&c, rec, len);
	while (spf_term_next(&c, &t, &why) == 1) {
		if ((m = mech_eval(ev, &t, domain, depth)) == -1)
			return ev->err;
		if (m == 0)
			continue;
		dec->term = t.text;
		dec->termlen = t.textlen;
		if (exp.kind != 0) {
			dec->exp = exp.spec;
			dec->explen = exp.speclen;
			snprintf(dec->exp_domain, sizeof(dec->exp_domain), "%s", domain);
		}
		return qualifier_result(t.qualifier);
	}
	if (redirect.kind != 0)
		return follow_redirect(ev, &redirect, domain, depth, dec);
	return SPF_NEUTRAL;	/* RFC 7208 4.7 */
}

/* ---- the explanation and the request ------------------------------------------ */

/* RFC 7208 6.2: any problem with exp= means no explanation, never an error. */
static void
explain(struct spf_eval *ev, const struct spf_decision *dec, struct spf_outcome *out)
{
	char name[DV_NAME_MAX + 1], p[DV_NAME_MAX + 1] = "unknown";
	struct spf_macro_vars v;
	struct dv_answer txt;

	if (term_target(ev, dec->exp, dec->explen, dec->exp_domain, name) == -1)
		return;
	if (dv_lookup(ev->view, name, DV_TXT, &txt) == DV_MISS)
		ev->pending = true;
	if (txt.status != DV_OK || txt.n != 1 || txt.truncated)
		return;
	for (size_t i = 0; i < txt.rr[0].len; i++) {
		unsigned char ch = (unsigned char)txt.rr[0].data[i];
		if (ch < 0x20 || ch > 0x7e)
			return;		/* not an ASCII explain-string */
	}
	if (spf_macro_uses_p(txt.rr[0].data, txt.rr[0].len) &&
	    !validated_name(ev, dec->exp_domain, p, sizeof(p)))
		return;
	macro_vars(ev, dec->exp_domain, p, &v);
	if (spf_macro_expand(&v, txt.rr[0].data, txt.rr[0].len, SPF_MACRO_EXPLAIN,
	    out->explanation, sizeof(out->explanation)) < 0)
		out->explanation[0] = '\0';
}

/* RFC 7208 2.4, 4.3: the identity to check and its domain. */
static int
identity_set(struct spf_eval *ev, const struct spf_request *req, const char **domain)
{
	const char *sender = req->sender != NULL ? req->sender : "";
	const char *helo = req->helo != NULL ? req->helo : "";
	const char *at;
	int n;

	if (sender[0] == '\0')
		n = snprintf(ev->sender, sizeof(ev->sender), "postmaster@%s", helo);
	else if ((at = strrchr(sender, '@')) == NULL)
		n = snprintf(ev->sender, sizeof(ev->sender), "postmaster@%s", sender);
	else if (at == sender)
		n = snprintf(ev->sender, sizeof(ev->sender), "postmaster%s", sender);
	else
		n = snprintf(ev->sender, sizeof(ev->sender), "%s", sender);
	if (n < 0 || (size_t)n >= sizeof(ev->sender))
		return -1;
	at = strrchr(ev->sender, '@');
	snprintf(ev->local, sizeof(ev->local), "%.*s", (int)(at - ev->sender),
	    ev->sender);
	snprintf(ev->sender_domain, sizeof(ev->sender_domain), "%s", at + 1);
	n = (int)strlen(ev->sender_domain);
	if (n > 0 && ev->sender_domain[n - 1] == '.')
		ev->sender_domain[n - 1] = '\0';
	*domain = ev->sender_domain;
	return 0;
}

/* RFC 7208 4.3: a malformed or single-label domain gives "none". */
static bool
domain_checkable(const char *domain)
{
	char norm[DV_NAME_MAX + 1];

	return dns_name_normalize(domain, norm, sizeof(norm)) == 0 &&
	    strchr(norm, '.') != NULL;
}

static void
outcome_fill(struct spf_eval *ev, enum spf_result r, const struct spf_decision *dec,
    struct spf_outcome *out)
{
	out->result = r;
	out->lookups = ev->lookups;
	out->void_lookups = ev->voids;
	if (r == SPF_TEMPERROR || r == SPF_PERMERROR)
		snprintf(out->problem, sizeof(out->problem), "%s", ev->problem);
	else if (dec->term != NULL)
		snprintf(out->term, sizeof(out->term), "%.*s", (int)dec->termlen,
		    dec->term);
	else if (r == SPF_NEUTRAL)
		snprintf(out->term, sizeof(out->term), "default");
}

enum spf_eval_status
spf_evaluate(struct dns_view *view, const struct spf_request *req,
    struct spf_outcome *out)
{
	struct spf_eval ev;
	struct spf_decision dec;
	const char *domain;
	enum spf_result r;

	memset(out, 0, sizeof(*out));
	memset(&ev, 0, sizeof(ev));
	memset(&dec, 0, sizeof(dec));
	ev.view = view;
	ev.req = req;
	if (req->ip == NULL || client_parse(&ev, req->ip) == -1) {
		out->result = SPF_NONE;
		snprintf(out->problem, sizeof(out->problem), "no client address");
		return SPF_EVAL_DONE;
	}
	if (identity_set(&ev, req, &domain) == -1 || !domain_checkable(domain)) {
		out->result = SPF_NONE;
		snprintf(out->problem, sizeof(out->problem), "no domain to check");
		return SPF_EVAL_DONE;
	}
	snprintf(out->domain, sizeof(out->domain), "%s", domain);
	r = check_host(&ev, domain, 0, &dec);
	if (!ev.pending && r == SPF_FAIL && dec.exp != NULL)
		explain(&ev, &dec, out);
	if (ev.pending)
		return SPF_EVAL_PENDING;
	outcome_fill(&ev, r, &dec, out);
	return SPF_EVAL_DONE;
}
