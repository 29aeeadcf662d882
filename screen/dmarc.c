/*
 * screen/dmarc.c - check_dmarc(): RFC 7489 for every RFC5322.From domain
 * of a message, with our own alignment (libpsl) and record parser
 * (screen/dmarc.h).
 *
 * Owns: the PSL handle, policy discovery (6.6.3: _dmarc.<from>, else
 * _dmarc.<organizational domain>), the alignment of SPF's and DKIM's
 * passes with each From domain, the policy applied (p=, sp= for a record
 * found at the organizational domain, pct= sampled deterministically from
 * the Message-ID so that a retry gets the same answer), the weights named
 * dmarc_* and the findings dmarc_reject, dmarc_unknown and auth_aligned
 * (screen/score.h).
 * Why per From domain: a From field may name several domains (RFC 7489
 * 6.6.1); the strictest failing policy among them applies, so adding an
 * address of the attacker's own domain never lifts the victim domain's
 * policy. A From with more domains than screen/message.h keeps gets the
 * dmarc_reject weight (not the decisive flag): its policy is unknowable. Why a DNS temperror is a range whose worst end is the reject
 * weight: an unreadable policy may be p=reject, and a DNS outage must
 * give 451, never let the mail pass (screen/score.h).
 * Inputs from other checks: SPF's pass domain (check_spf) and the
 * per-signature DKIM results (check_dkim); both must run before this
 * check in the same round.
 */
#include <openssl/evp.h>
#include <libpsl.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "checks.h"
#include "dmarc.h"
#include "message.h"

/* ---- the Public Suffix List ------------------------------------------- */

static psl_ctx_t	*psl;
static bool		 psl_tried;

int
dmarc_psl_init(const char *path)
{
	if (!psl_tried) {
		psl_tried = true;
		psl = psl_load_file(path != NULL ? path : DMARC_PSL_PATH);
	}
	return psl != NULL ? 0 : -1;
}

/*
 * Both sections of the list: a private-section entry (github.io,
 * blogspot.com) is a domain whose subdomains belong to different owners,
 * so a.github.io must not align with b.github.io - with the ICANN section
 * alone one tenant could pass DMARC for another. (screen/dynptr.c uses the
 * ICANN section only: there a hosting zone is exactly what it judges.)
 */
static bool
is_public_suffix(const char *s)
{
	return psl_is_public_suffix2(psl, s, PSL_TYPE_ANY) != 0;
}

int
dmarc_org_domain(const char *domain, char *out, size_t outsize)
{
	const char *label = domain, *prev = NULL;

	if (dmarc_psl_init(NULL) == -1 || domain[0] == '\0')
		return -1;
	/* from the longest suffix down: the first public one is the longest */
	for (;;) {
		if (is_public_suffix(label)) {
			if (prev == NULL)
				return -1;	/* domain is a public suffix */
			if ((size_t)snprintf(out, outsize, "%s", prev) >= outsize)
				return -1;
			return 0;
		}
		prev = label;
		label = strchr(label, '.');
		if (label == NULL)
			return -1;
		label++;
	}
}

bool
dmarc_aligned(const char *a, const char *b, bool strict)
{
	char la[ADDR_DOMAIN_MAX + 1], lb[ADDR_DOMAIN_MAX + 1];
	char oa[ADDR_DOMAIN_MAX + 1], ob[ADDR_DOMAIN_MAX + 1];

	if (a[0] == '\0' || b[0] == '\0')
		return false;
	if (strcasecmp(a, b) == 0)
		return true;
	if (strict)
		return false;
	/* lowercase copies: the PSL lookup is case-sensitive */
	if (snprintf(la, sizeof(la), "%s", a) >= (int)sizeof(la) ||
	    snprintf(lb, sizeof(lb), "%s", b) >= (int)sizeof(lb))
		return false;
	for (char *p = la; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	for (char *p = lb; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	if (dmarc_org_domain(la, oa, sizeof(oa)) == -1 ||
	    dmarc_org_domain(lb, ob, sizeof(ob)) == -1)
		return false;
	return strcmp(oa, ob) == 0;
}

/* ---- the record (RFC 7489 6.3, 6.4) ----------------------------------- */

struct span {
	const char	*p;
	size_t		 n;
};

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static struct span
trim(const char *p, size_t n)
{
	while (n > 0 && is_space(p[0])) {
		p++;
		n--;
	}
	while (n > 0 && is_space(p[n - 1]))
		n--;
	return (struct span){ p, n };
}

static bool
span_is(struct span s, const char *word)
{
	return s.n == strlen(word) && strncasecmp(s.p, word, s.n) == 0;
}

/* Splits "name = value" (WSP allowed around '='). */
static bool
split_tag(struct span seg, struct span *name, struct span *value)
{
	const char *eq = memchr(seg.p, '=', seg.n);

	if (eq == NULL)
		return false;
	*name = trim(seg.p, (size_t)(eq - seg.p));
	*value = trim(eq + 1, seg.n - (size_t)(eq - seg.p) - 1);
	return name->n > 0;
}

static bool
parse_policy(struct span v, enum dmarc_policy *out)
{
	if (span_is(v, "none"))
		*out = DMARC_POLICY_NONE;
	else if (span_is(v, "quarantine"))
		*out = DMARC_POLICY_QUARANTINE;
	else if (span_is(v, "reject"))
		*out = DMARC_POLICY_REJECT;
	else
		return false;
	return true;
}

static bool
parse_pct(struct span v, unsigned *out)
{
	unsigned n = 0;

	if (v.n == 0 || v.n > 5)
		return false;
	for (size_t i = 0; i < v.n; i++) {
		if (!isdigit((unsigned char)v.p[i]))
			return false;
		n = n * 10 + (unsigned)(v.p[i] - '0');
	}
	if (n > 100)
		return false;
	*out = n;
	return true;
}

/* RFC 3986 3.1 scheme ":" and something, optionally "!size" after it. */
static bool
uri_is_valid(struct span u)
{
	size_t i = 0;

	if (u.n == 0 || !isalpha((unsigned char)u.p[0]))
		return false;
	while (i < u.n && (isalnum((unsigned char)u.p[i]) || u.p[i] == '+' ||
	    u.p[i] == '-' || u.p[i] == '.'))
		i++;
	if (i == u.n || u.p[i] != ':' || i + 1 == u.n)
		return false;
	for (i++; i < u.n; i++)
		if ((unsigned char)u.p[i] <= ' ' || (unsigned char)u.p[i] > '~')
			return false;
	return true;
}

/* rua=: at least one syntactically valid URI in the list (6.6.3). */
static bool
rua_is_valid(struct span v)
{
	size_t start = 0;

	for (size_t i = 0; i <= v.n; i++)
		if (i == v.n || v.p[i] == ',') {
			if (uri_is_valid(trim(v.p + start, i - start)))
				return true;
			start = i + 1;
		}
	return false;
}

/* What the tags said; a tag's first occurrence counts. */
struct tags {
	bool	p_seen, p_ok, sp_seen, sp_ok, adkim_seen, aspf_seen, pct_seen;
	bool	rua_ok;
};

static void
take_tag(struct span name, struct span v, struct tags *t, struct dmarc_record *r)
{
	if (span_is(name, "p") && !t->p_seen) {
		t->p_seen = true;
		t->p_ok = parse_policy(v, &r->p);
	} else if (span_is(name, "sp") && !t->sp_seen) {
		t->sp_seen = true;
		t->sp_ok = parse_policy(v, &r->sp);
	} else if (span_is(name, "adkim") && !t->adkim_seen) {
		t->adkim_seen = true;
		r->adkim_strict = span_is(v, "s");
	} else if (span_is(name, "aspf") && !t->aspf_seen) {
		t->aspf_seen = true;
		r->aspf_strict = span_is(v, "s");
	} else if (span_is(name, "pct") && !t->pct_seen) {
		t->pct_seen = true;
		if (!parse_pct(v, &r->pct))
			r->pct = 100;
	} else if (span_is(name, "rua") && rua_is_valid(v))
		t->rua_ok = true;
}

enum dmarc_record_status
dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *r)
{
	struct tags t = { 0 };
	struct span name, value;
	size_t start = 0;
	bool first = true;

	memset(r, 0, sizeof(*r));
	r->pct = 100;
	for (size_t i = 0; i <= len; i++) {
		struct span seg;
		if (i < len && txt[i] != ';')
			continue;
		seg = trim(txt + start, i - start);
		start = i + 1;
		if (first) {	/* "v=DMARC1" first, exactly (6.4) */
			if (!split_tag(seg, &name, &value) || !span_is(name, "v") ||
			    value.n != 6 || memcmp(value.p, "DMARC1", 6) != 0)
				return DMARC_RECORD_NOT_DMARC;
			first = false;
		} else if (seg.n > 0 && split_tag(seg, &name, &value))
			take_tag(name, value, &t, r);
	}
	if (t.p_ok && (!t.sp_seen || t.sp_ok)) {
		if (!t.sp_seen)
			r->sp = r->p;
		return DMARC_RECORD_OK;
	}
	if (!t.rua_ok)
		return DMARC_RECORD_INVALID;
	r->p = r->sp = DMARC_POLICY_NONE;	/* 6.6.3 1. */
	r->p_implied = true;
	return DMARC_RECORD_OK;
}

const char *
dmarc_policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_QUARANTINE:	return "quarantine";
	case DMARC_POLICY_REJECT:	return "reject";
	default:			return "none";
	}
}

/* ---- policy discovery (6.6.3) ------------------------------------------ */

enum lookup {
	LOOKUP_PENDING,		/* a miss was recorded */
	LOOKUP_FOUND,
	LOOKUP_ABSENT,		/* no DMARC record at that name */
	LOOKUP_TEMPFAIL,
	LOOKUP_BROKEN,		/* several records, or one that is invalid */
};

/* The DMARC record at _dmarc.<domain>. */
static enum lookup
lookup_record(struct dns_view *view, const char *domain, struct dmarc_record *r)
{
	char name[DV_NAME_MAX + 2];
	struct dv_answer a;
	size_t found = 0;
	bool broken = false;

	if ((size_t)snprintf(name, sizeof(name), "_dmarc.%s", domain) >= sizeof(name))
		return LOOKUP_ABSENT;	/* no such name can exist */
	switch (dv_lookup(view, name, DV_TXT, &a)) {
	case DV_MISS:		return LOOKUP_PENDING;
	case DV_TEMPFAIL:	return LOOKUP_TEMPFAIL;
	case DV_OK:		break;
	default:		return LOOKUP_ABSENT;
	}
	for (size_t i = 0; i < a.n; i++) {
		struct dmarc_record one;
		enum dmarc_record_status st = dmarc_record_parse(a.rr[i].data,
		    a.rr[i].len, &one);
		if (st == DMARC_RECORD_NOT_DMARC)
			continue;
		if (found++ == 0) {
			*r = one;
			broken = st == DMARC_RECORD_INVALID;
		}
	}
	if (found == 0)
		return LOOKUP_ABSENT;
	return found > 1 || broken ? LOOKUP_BROKEN : LOOKUP_FOUND;
}

/* One From domain's evaluation. */
struct dmarc_eval {
	const char		*domain;
	enum auth_result	 result;	/* NONE: no policy record */
	struct dmarc_record	 rec;
	bool			 from_org;	/* the record is the organizational one */
	bool			 unknown;	/* an aligned result is a temperror */
	bool			 aligned;	/* an aligned pass, record or not */
	enum dmarc_policy	 applied;	/* on fail, after pct */
	const char		*why;		/* for the reason text */
};

/* Returns false while a lookup is pending. */
static bool
discover(struct dns_view *view, struct dmarc_eval *e)
{
	char org[ADDR_DOMAIN_MAX + 1];
	enum lookup l = lookup_record(view, e->domain, &e->rec);

	if (l == LOOKUP_ABSENT && dmarc_org_domain(e->domain, org, sizeof(org)) == 0 &&
	    strcmp(org, e->domain) != 0) {
		l = lookup_record(view, org, &e->rec);
		e->from_org = true;
	}
	switch (l) {
	case LOOKUP_PENDING:
		return false;
	case LOOKUP_FOUND:
		e->result = AUTH_FAIL;	/* until an aligned pass is found */
		break;
	case LOOKUP_ABSENT:
		e->result = AUTH_NONE;
		e->why = "no record";
		break;
	case LOOKUP_TEMPFAIL:
		e->result = AUTH_TEMPERROR;
		e->why = "record lookup failed";
		break;
	case LOOKUP_BROKEN:
		e->result = AUTH_PERMERROR;
		e->why = "broken or several records";
		break;
	}
	return true;
}

/* ---- alignment and policy ---------------------------------------------- */

/* The domain SPF checked: MAIL FROM's, or HELO's for the null sender. */
static const char *
spf_domain(const struct screen_facts *f)
{
	const char *at = strrchr(f->mail_from, '@');

	if ((f->flags & SCREEN_FACT_NULL_SENDER) != 0 || f->mail_from[0] == '\0')
		return f->helo;
	return at != NULL ? at + 1 : "";
}

/* Aligned passes and temperrors, with the record's modes (relaxed
 * without a record: auth_aligned still wants to know). */
static void
align(const struct score *s, const struct screen_facts *f, struct dmarc_eval *e)
{
	bool rec = e->result == AUTH_FAIL;
	bool dkim_strict = rec && e->rec.adkim_strict;
	bool spf_strict = rec && e->rec.aspf_strict;

	if (s->spf_pass_domain[0] != '\0' &&
	    dmarc_aligned(s->spf_pass_domain, e->domain, spf_strict))
		e->aligned = true;
	if (s->spf_unknown && dmarc_aligned(spf_domain(f), e->domain, spf_strict))
		e->unknown = true;
	for (size_t i = 0; i < s->ndkim; i++) {
		if (!dmarc_aligned(s->dkim[i].domain, e->domain, dkim_strict))
			continue;
		if (s->dkim[i].result == AUTH_PASS)
			e->aligned = true;
		else if (s->dkim[i].result == AUTH_TEMPERROR)
			e->unknown = true;
	}
	if (e->aligned)
		e->unknown = false;
	if (rec && e->aligned)
		e->result = AUTH_PASS;
}

/* 0..99 from the Message-ID (else Date and From): the same message
 * always draws the same number. */
static unsigned
sample(const struct screen_message *m)
{
	static const char *const names[] = { "Message-ID", "Date", "From" };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return 0;	/* selected: the policy applies in full */
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct msg_field *f = msg_field_nth(m, names[i], 0);
		size_t len;
		const char *v;
		if (f == NULL)
			continue;
		v = msg_field_value(m, f, &len);
		EVP_DigestUpdate(ctx, v, len);
		if (i == 0)
			break;	/* the Message-ID alone when there is one */
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	return (((unsigned)md[0] << 24 | (unsigned)md[1] << 16 |
	    (unsigned)md[2] << 8 | md[3]) % 100);
}

/* 6.6.4 and 6.3 pct: a message outside the sample gets the next milder
 * policy. */
static void
apply_policy(const struct screen_message *m, struct dmarc_eval *e)
{
	enum dmarc_policy p = e->from_org ? e->rec.sp : e->rec.p;

	if (e->rec.pct < 100 && sample(m) >= e->rec.pct && p != DMARC_POLICY_NONE)
		p = p == DMARC_POLICY_REJECT ? DMARC_POLICY_QUARANTINE : DMARC_POLICY_NONE;
	e->applied = p;
}

/* ---- the contribution -------------------------------------------------- */

/* What one domain adds: a weight range, and whether it rejects. */
struct contribution {
	enum screen_weight_id	id;
	int			best, worst;
	bool			unknown;
	bool			reject;		/* decisive */
	bool			maybe_reject;	/* unknown, reject possible */
};

static enum screen_weight_id
policy_weight(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_REJECT:	return W_DMARC_REJECT;
	case DMARC_POLICY_QUARANTINE:	return W_DMARC_QUARANTINE;
	default:			return W_DMARC_POLICY_NONE;
	}
}

static int
min_i(int a, int b)
{
	return a < b ? a : b;
}

static int
max_i(int a, int b)
{
	return a > b ? a : b;
}

static struct contribution
contribution_of(const struct dmarc_eval *e, const int *w)
{
	struct contribution c = { 0 };
	int lo = w[W_DMARC_PASS], hi = w[W_DMARC_PASS];

	switch (e->result) {
	case AUTH_PASS:		c.id = W_DMARC_PASS; break;
	case AUTH_NONE:		c.id = W_DMARC_NO_RECORD; break;
	case AUTH_PERMERROR:	c.id = W_DMARC_PERMERROR; break;
	case AUTH_FAIL:		c.id = policy_weight(e->applied); break;
	case AUTH_TEMPERROR:	/* the record may say anything */
		for (int id = W_DMARC_PASS; id <= W_DMARC_PERMERROR; id++) {
			lo = min_i(lo, w[id]);
			hi = max_i(hi, w[id]);
		}
		return (struct contribution){ W_DMARC_REJECT, lo, hi, true, false, true };
	}
	c.best = c.worst = w[c.id];
	if (e->result == AUTH_FAIL && e->unknown) {	/* pass or this fail */
		c.best = min_i(w[W_DMARC_PASS], w[c.id]);
		c.worst = max_i(w[W_DMARC_PASS], w[c.id]);
		c.unknown = true;
		c.maybe_reject = e->applied == DMARC_POLICY_REJECT;
	} else
		c.reject = e->result == AUTH_FAIL && e->applied == DMARC_POLICY_REJECT;
	return c;
}

static const char *
result_word(enum auth_result r)
{
	switch (r) {
	case AUTH_PASS:		return "pass";
	case AUTH_FAIL:		return "fail";
	case AUTH_TEMPERROR:	return "temperror";
	case AUTH_PERMERROR:	return "permerror";
	default:		return "none";
	}
}

static void
reason_of(const struct dmarc_eval *e, size_t more, char *buf, size_t size)
{
	int n = snprintf(buf, size, "dmarc=%s from=%s", e->unknown &&
	    e->result == AUTH_FAIL ? "temperror" : result_word(e->result), e->domain);

	if (n < 0 || (size_t)n >= size)
		return;
	if (e->result == AUTH_FAIL || e->result == AUTH_PASS)
		n += snprintf(buf + n, size - (size_t)n, " p=%s%s",
		    dmarc_policy_name(e->from_org ? e->rec.sp : e->rec.p),
		    e->from_org ? " (organizational)" : "");
	if (n >= 0 && (size_t)n < size && e->result == AUTH_FAIL)
		n += snprintf(buf + n, size - (size_t)n, " applied=%s%s",
		    dmarc_policy_name(e->applied), e->rec.pct < 100 ? " (pct)" : "");
	if (n >= 0 && (size_t)n < size && e->why != NULL)
		n += snprintf(buf + n, size - (size_t)n, " (%s)", e->why);
	if (n >= 0 && (size_t)n < size && more > 0)
		snprintf(buf + n, size - (size_t)n, " +%zu more From domain%s", more,
		    more > 1 ? "s" : "");
}

static void
record_result(struct score *s, const struct dmarc_eval *e)
{
	struct score_dmarc *d;

	if (s->ndmarc == SCORE_DMARC_MAX)
		return;
	d = &s->dmarc[s->ndmarc++];
	snprintf(d->from_domain, sizeof(d->from_domain), "%s", e->domain);
	d->result = e->unknown && e->result == AUTH_FAIL ? AUTH_TEMPERROR : e->result;
	snprintf(d->policy, sizeof(d->policy), "%s", e->result == AUTH_FAIL ?
	    dmarc_policy_name(e->applied) : "");
}

/* The strictest domain decides: one item, the highest worst case. */
static void
add_contribution(struct score *s, const struct dmarc_eval *ev, size_t n,
    const int *w)
{
	struct contribution top = { 0 }, c;
	size_t pick = 0;
	bool any_reject = false, any_maybe = false, all_aligned = true;
	char reason[SCORE_REASON_MAX + 1];

	for (size_t i = 0; i < n; i++) {
		c = contribution_of(&ev[i], w);
		if (i == 0 || c.worst > top.worst ||
		    (c.worst == top.worst && c.best > top.best)) {
			top = c;
			pick = i;
		}
		any_reject |= c.reject;
		any_maybe |= c.maybe_reject;
		all_aligned &= ev[i].aligned;
		record_result(s, &ev[i]);
	}
	reason_of(&ev[pick], n - 1, reason, sizeof(reason));
	if (top.unknown)
		score_add_unknown(s, "dmarc_temperror", top.best, top.worst, "%s", reason);
	else
		score_add(s, screen_weight_name(top.id), top.best, "%s", reason);
	s->dmarc_reject = any_reject;
	s->dmarc_unknown = !any_reject && any_maybe;
	s->auth_aligned = all_aligned;
}

void
check_dmarc(const struct screen_env *env, const struct screen_facts *f,
    struct dns_view *view, struct score *s)
{
	const struct screen_message *m = env->msg;
	struct dmarc_eval ev[MSG_FROM_DOMAINS_MAX];
	bool pending = false;

	if (m == NULL || m->from.ndomains == 0)
		return;		/* check_headers scores a message without an author */
	if (m->from.status == MSG_FROM_TOO_MANY) {
		/* the domains past the limit are unknown: one of them may be the
		 * one a reader sees, so none may lift its policy */
		score_add(s, screen_weight_name(W_DMARC_REJECT), env->cfg->screen.weights[W_DMARC_REJECT],
		    "dmarc=fail From names over %d domains: not evaluated", MSG_FROM_DOMAINS_MAX);
		return;
	}
	memset(ev, 0, sizeof(ev));
	for (size_t i = 0; i < m->from.ndomains; i++) {
		ev[i].domain = m->from.domain[i];
		if (!discover(view, &ev[i]))
			pending = true;	/* every domain's lookups go out this round */
	}
	if (pending)
		return;
	for (size_t i = 0; i < m->from.ndomains; i++) {
		align(s, f, &ev[i]);
		if (ev[i].result == AUTH_FAIL)
			apply_policy(m, &ev[i]);
	}
	add_contribution(s, ev, m->from.ndomains, env->cfg->screen.weights);
}
