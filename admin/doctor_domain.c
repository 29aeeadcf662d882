/*
 * admin/doctor_domain.c - the doctor's checks of one mail domain: MX
 * (points at us, its hosts resolve, no CNAME), SPF (one TXT record, it
 * parses, within 10 DNS lookups and 2 void lookups, authorizes every
 * address we send from), DKIM (both published keys equal our private
 * keys, sane sizes) and DMARC (exists, parses, our own mail aligns).
 *
 * Owns: nothing between rounds. SPF is judged by the screen's own RFC 7208
 * evaluator (screen/spf.c): the record is walked with an address no record
 * names (0.0.0.1), so every DNS-querying term is evaluated and counted,
 * and with each of our addresses, as receivers will. DMARC records are
 * read by the screen's parser (screen/dmarc.c) and the organizational
 * domain comes from its PSL. Each fix is the record `mxctl dns` prints.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../screen/dmarc.h"
#include "../screen/ipname.h"
#include "../screen/spf.h"
#include "../screen/spf_record.h"
#include "dnsrecords.h"
#include "doctor.h"
#include "doctor_dns.h"
#include "taglist.h"

#define SPF_PROBE_IP	"0.0.0.1"	/* "this network": no record authorizes it */
#define TXT_SHOW_MAX	120		/* record text quoted in a message */

int
doctor_spf(struct doctor_dns *dd, const char *ip, const char *sender, const char *helo,
    time_t now, struct spf_outcome *out)
{
	struct spf_request req = { ip, helo, sender, helo, now };

	return spf_evaluate(ddns_view(dd), &req, out) == SPF_EVAL_DONE ? 1 : 0;
}

/* ---- MX --------------------------------------------------------------------------- */

struct mx_host {
	const char	*name;
	unsigned	 pref;
	bool		 ours;
};

/* One MX host: resolves, not a CNAME; *ours if it is this host. -1 pending. */
static int
check_mx_host(struct doctor *d, struct dr_domain *dom, struct doctor_dns *dd,
    struct mx_host *h, struct dr_report *r)
{
	struct dv_answer a4, a6;
	const struct dnsraw_answer *cn;
	enum dv_status s4 = ddns_lookup(dd, h->name, DV_A, &a4);
	enum dv_status s6 = ddns_lookup(dd, h->name, DV_AAAA, &a6);
	enum dv_status sc = ddns_raw(dd, h->name, DNSRAW_T_CNAME, &cn);
	char id[DR_ID_MAX + 1], fix[DR_FIX_MAX + 1];

	if (s4 == DV_MISS || s6 == DV_MISS || sc == DV_MISS)
		return -1;
	h->ours = strcasecmp(h->name, d->hostname) == 0;
	for (size_t i = 0; i < d->public.n; i++) {
		struct ip_addr ip, x;
		if (ip_addr_parse(d->public.a[i].text, &ip) == -1)
			continue;
		const struct dv_answer *a = ip.family == AF_INET ? &a4 : &a6;
		if ((ip.family == AF_INET ? s4 : s6) != DV_OK)
			continue;
		for (size_t k = 0; k < a->n; k++)
			if (ip_addr_parse(a->rr[k].data, &x) == 0 && ip_addr_equal(&x, &ip))
				h->ours = true;
	}
	snprintf(id, sizeof(id), "mx_host %s %s", dom->name, h->name);
	if (cn->cname && cn->n > 0) {
		const char *target = cn->rr[cn->n - 1].target;
		snprintf(fix, sizeof(fix), "publish the MX with the canonical name: '%s. IN MX "
		    "%u %s.'", dom->name, h->pref, target[0] ? target : d->hostname);
		dr_add(r, DR_FAIL, id, fix, "%s is a CNAME (to %s): an MX must name a host, "
		    "not an alias (RFC 5321 5.1, RFC 2181 10.3)", h->name, target);
	} else if (s4 == DV_TEMPFAIL || s6 == DV_TEMPFAIL || sc == DV_TEMPFAIL)
		dr_add(r, DR_WARN, id, "check that dns_server answers", "the addresses of %s "
		    "got no answer", h->name);
	else if (s4 != DV_OK && s6 != DV_OK) {
		snprintf(fix, sizeof(fix), "publish '%s. IN A %s'", h->name,
		    d->public.n ? d->public.a[0].text : "<address>");
		dr_add(r, DR_FAIL, id, fix, "the MX host %s has no address: mail for %s cannot "
		    "be delivered to it", h->name, dom->name);
	} else
		dr_add(r, DR_OK, id, NULL, "%s (preference %u) resolves%s", h->name, h->pref,
		    h->ours ? ", this host" : "");
	return 0;
}

static void
check_mx(struct doctor *d, struct dr_domain *dom, struct doctor_dns *dd, struct dr_report *r)
{
	char id[DR_ID_MAX + 1], fix[DR_FIX_MAX + 1], others[300] = "";
	struct mx_host h[DV_RR_MAX];
	struct dv_answer a;
	bool pending = false, any_ours = false;
	size_t best = 0;

	snprintf(id, sizeof(id), "mx %s", dom->name);
	snprintf(fix, sizeof(fix), "publish '%s. IN MX 10 %s.'", dom->name, d->hostname);
	switch (ddns_lookup(dd, dom->name, DV_MX, &a)) {
	case DV_MISS:
		return;
	case DV_TEMPFAIL:
		dr_add(r, DR_WARN, id, "check that dns_server answers", "the MX lookup got no "
		    "answer");
		return;
	case DV_NXDOMAIN:
		dr_add(r, DR_FAIL, id, fix, "%s does not exist in DNS", dom->name);
		return;
	case DV_NODATA:
		dr_add(r, DR_FAIL, id, fix, "no MX record: senders fall back to the domain's "
		    "own address, or give up");
		return;
	default:
		break;
	}
	if (a.n == 1 && a.rr[0].data[0] == '\0') {
		dr_add(r, DR_FAIL, id, fix, "a null MX: %s says it receives no mail (RFC 7505)",
		    dom->name);
		return;
	}
	for (size_t i = 0; i < a.n; i++) {
		h[i] = (struct mx_host){ a.rr[i].data, a.rr[i].pref, false };
		if (h[i].name[0] == '\0' || check_mx_host(d, dom, dd, &h[i], r) == -1) {
			pending = pending || h[i].name[0] != '\0';
			continue;
		}
		if (h[i].pref < h[best].pref)
			best = i;
		any_ours = any_ours || h[i].ours;
		if (!h[i].ours) {
			size_t len = strlen(others);
			snprintf(others + len, sizeof(others) - len, "%s%s", len ? ", " : "",
			    h[i].name);
		}
	}
	if (pending)
		return;
	if (!any_ours)
		dr_add(r, DR_FAIL, id, fix, "the MX points at %s, not at this host (%s)", others,
		    d->hostname);
	else if (!h[best].ours)
		dr_add(r, DR_WARN, id, fix, "the lowest preference (tried first) is %s, not this "
		    "host: fine for a backup MX of yours, not otherwise", h[best].name);
	else
		dr_add(r, DR_OK, id, NULL, "points at this host%s%s%s", others[0] ? " (and " : "",
		    others, others[0] ? ")" : "");
}

/* ---- SPF ------------------------------------------------------------------------------- */

/* The SPF records among the TXT records of a name. */
static size_t
spf_records(const struct dv_answer *a, size_t *first)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n; i++)
		if (spf_record_is_spf(a->rr[i].data, a->rr[i].len)) {
			if (n++ == 0)
				*first = i;
		}
	return n;
}

/* Every term parses (RFC 7208 4.6: one bad term makes the record a permerror). */
static int
spf_syntax(const struct dv_rr *rr, const char **why)
{
	struct spf_cursor c;
	struct spf_term t;
	int k;

	spf_cursor_init(&c, rr->data, rr->len);
	while ((k = spf_term_next(&c, &t, why)) == 1)
		;
	return k;
}

/* "exists once, is a TXT, parses": 1 when a usable record is there, -2
 * when DNS did not answer, else 0. */
static int
check_spf_record(struct doctor *d, struct dr_domain *dom, struct doctor_dns *dd,
    struct dr_report *r)
{
	char id[DR_ID_MAX + 1], fix[DR_FIX_MAX + 1], want[DR_SPF_TEXT_MAX];
	const struct dnsraw_answer *old;
	const char *why = NULL;
	struct dv_answer a;
	enum dv_status st = ddns_lookup(dd, dom->name, DV_TXT, &a);
	enum dv_status so = ddns_raw(dd, dom->name, DNSRAW_T_SPF, &old);
	size_t n = 0, first = 0;

	if (st == DV_MISS || so == DV_MISS)
		return 0;
	snprintf(id, sizeof(id), "spf %s", dom->name);
	dnsrec_spf_text(&d->sending, want, sizeof(want));
	snprintf(fix, sizeof(fix), "publish '%s. IN TXT \"%s\"'", dom->name, want);
	if (st == DV_TEMPFAIL) {
		dr_add(r, DR_WARN, id, "check that dns_server answers", "the TXT lookup got no "
		    "answer");
		return -2;
	}
	if (st == DV_OK)
		n = spf_records(&a, &first);
	if (n == 0 && so == DV_OK) {
		dr_add(r, DR_FAIL, id, fix, "SPF is published only as the old SPF type (99): "
		    "receivers read TXT records only (RFC 7208 3.1, 14.1)");
		return 0;
	}
	if (n == 0) {
		dr_add(r, DR_FAIL, id, fix, "no SPF record: receivers cannot tell our mail from "
		    "forgeries, many junk it");
		return 0;
	}
	if (n > 1) {
		snprintf(fix, sizeof(fix), "merge them into one: '%s. IN TXT \"%s\"'", dom->name,
		    want);
		dr_add(r, DR_FAIL, id, fix, "%zu SPF records: receivers treat that as a "
		    "permerror (RFC 7208 4.5)", n);
		return 0;
	}
	if (spf_syntax(&a.rr[first], &why) == -1) {
		dr_add(r, DR_FAIL, id, fix, "the record does not parse (%s): a permerror for "
		    "every receiver (\"%.*s\")", why != NULL ? why : "?", TXT_SHOW_MAX,
		    a.rr[first].data);
		return 0;
	}
	dr_add(r, DR_OK, id, NULL, "one TXT record, it parses: \"%.*s\"%s", TXT_SHOW_MAX,
	    a.rr[first].data, so == DV_OK ? " (an old type-99 copy is there too, harmless)" :
	    "");
	return 1;
}

/* RFC 7208 4.6.4 over the whole record: the walk with an address no term
 * matches evaluates and counts every DNS-querying term. */
static void
check_spf_limits(struct doctor *d, struct dr_domain *dom, struct doctor_dns *dd,
    struct dr_report *r)
{
	char id[DR_ID_MAX + 1], sender[ADDR_DOMAIN_MAX + 16];
	struct spf_outcome o;

	snprintf(sender, sizeof(sender), "postmaster@%s", dom->name);
	if (doctor_spf(dd, SPF_PROBE_IP, sender, d->hostname, d->now, &o) == 0)
		return;
	snprintf(id, sizeof(id), "spf_limits %s", dom->name);
	if (o.result == SPF_TEMPERROR)
		dr_add(r, DR_WARN, id, "check that dns_server answers, then run the doctor "
		    "again", "a lookup of the SPF walk got no answer (%s)", o.problem);
	else if (o.result == SPF_PERMERROR)
		dr_add(r, DR_FAIL, id, "replace include:, a, mx, ptr and exists terms by ip4:/ip6: "
		    "ranges, or flatten the includes, until at most 10 lookups and 2 empty ones "
		    "remain (RFC 7208 4.6.4)", "the SPF walk is a permerror: %s", o.problem);
	else
		dr_add(r, DR_OK, id, NULL, "%u DNS lookups (at most %d), %u void (at most %d)",
		    o.lookups, SPF_LOOKUP_LIMIT, o.void_lookups, SPF_VOID_LIMIT);
}

/* 1 if SPF passes for every sending address, 0 if not, -1 pending, -2 not
 * known (a temporary DNS failure). */
static int
check_spf_auth(struct doctor *d, struct dr_domain *dom, struct doctor_dns *dd,
    struct dr_report *r)
{
	char id[DR_ID_MAX + 1], sender[ADDR_DOMAIN_MAX + 16], fix[DR_FIX_MAX + 1], want[DR_SPF_TEXT_MAX];
	struct spf_outcome o;
	int all = 1;

	snprintf(sender, sizeof(sender), "postmaster@%s", dom->name);
	dnsrec_spf_text(&d->sending, want, sizeof(want));
	for (size_t i = 0; i < d->sending.n; i++) {
		const struct host_addr *h = &d->sending.a[i];
		if (doctor_spf(dd, h->text, sender, d->hostname, d->now, &o) == 0) {
			all = -1;
			continue;
		}
		snprintf(id, sizeof(id), "spf_auth %s %s", dom->name, h->text);
		if (o.result == SPF_PASS) {
			dr_add(r, DR_OK, id, NULL, "SPF passes %s (%s)", h->text, o.term);
			continue;
		}
		if (all == 1 || (all == -2 && o.result != SPF_TEMPERROR))
			all = o.result == SPF_TEMPERROR ? -2 : 0;
		snprintf(fix, sizeof(fix), "add %s:%s before the final term, e.g. '%s. IN TXT "
		    "\"%s\"'", h->family == AF_INET6 ? "ip6" : "ip4", h->text, dom->name, want);
		dr_add(r, o.result == SPF_TEMPERROR ? DR_WARN : DR_FAIL, id, fix, "SPF gives %s "
		    "for %s%s%s: receivers may refuse our mail from it", spf_result_name(o.result),
		    h->text, o.term[0] ? " at " : "", o.term);
	}
	return d->sending.n == 0 ? 0 : all;
}

/* ---- DKIM ------------------------------------------------------------------------------- */

int
dkim_record_key(const char *txt, size_t len, char *p, size_t psize, char *k, size_t ksize,
    char *why, size_t whysize)
{
	char name[8], value[16], raw[DKIM_TXT_RECORD_MAX];
	size_t o = 0;

	if (taglist_valid(txt, len) == -1) {
		snprintf(why, whysize, "not a tag=value list");
		return -1;
	}
	if (taglist_first(txt, len, name, sizeof(name), value, sizeof(value)) == 1 &&
	    strcmp(name, "v") == 0 && strcmp(value, "DKIM1") != 0) {
		snprintf(why, whysize, "v= is not DKIM1");
		return -1;
	}
	if (taglist_get(txt, len, "v", value, sizeof(value)) == 1 &&
	    (taglist_first(txt, len, name, sizeof(name), value, sizeof(value)) != 1 ||
	    strcmp(name, "v") != 0)) {
		snprintf(why, whysize, "v= is not the first tag (RFC 6376 3.6.1)");
		return -1;
	}
	switch (taglist_get(txt, len, "k", k, ksize)) {
	case 0:
		snprintf(k, ksize, "rsa");
		break;
	case -1:
		snprintf(why, whysize, "k= too long");
		return -1;
	}
	if (taglist_get(txt, len, "p", raw, sizeof(raw)) != 1) {
		snprintf(why, whysize, "no p= tag");
		return -1;
	}
	for (size_t i = 0; raw[i] != '\0'; i++)
		if (raw[i] != ' ' && raw[i] != '\t' && raw[i] != '\r' && raw[i] != '\n') {
			if (o + 1 >= psize) {
				snprintf(why, whysize, "p= too long");
				return -1;
			}
			p[o++] = raw[i];
		}
	p[o] = '\0';
	return 0;
}

/* 1 if the published key equals ours, 0 if not, -1 pending, -2 not known. */
static int
check_dkim_key(struct doctor *d, struct dr_domain *dom, const struct dkim_pub *pub,
    struct doctor_dns *dd, struct dr_report *r)
{
	char id[DR_ID_MAX + 1], name[DKIM_DNS_SELECTOR_MAX + ADDR_DOMAIN_MAX + 16];
	char fix[DR_FIX_MAX + 1], p[DKIM_TXT_RECORD_MAX], k[16], why[80] = "";
	size_t nkeys = 0, nsame = 0;
	bool k_wrong = false, revoked = false;
	struct dv_answer a;

	(void)d;
	snprintf(id, sizeof(id), "dkim %s %s", dom->name, pub->dns_selector);
	snprintf(name, sizeof(name), "%s._domainkey.%s", pub->dns_selector, dom->name);
	if (!pub->present) {
		snprintf(fix, sizeof(fix), "'mxctl dkim keygen %s%s', then publish what 'mxctl "
		    "dns %s' prints", dom->name, pub->err[0] ? " --force" : "", dom->name);
		dr_add(r, DR_FAIL, id, fix, "%s: mail from %s is refused with 451 until both "
		    "keys exist", pub->err[0] ? pub->err : "no private key", dom->name);
		return 0;
	}
	snprintf(fix, sizeof(fix), "publish '%s. IN TXT %s' (mxctl dns %s)", name, pub->zone,
	    dom->name);
	switch (ddns_lookup(dd, name, DV_TXT, &a)) {
	case DV_MISS:
		return -1;
	case DV_TEMPFAIL:
		dr_add(r, DR_WARN, id, "check that dns_server answers", "the key lookup got no "
		    "answer");
		return -2;
	case DV_OK:
		break;
	default:
		dr_add(r, DR_FAIL, id, fix, "not published: receivers see a DKIM permerror");
		return 0;
	}
	for (size_t i = 0; i < a.n; i++) {
		if (dkim_record_key(a.rr[i].data, a.rr[i].len, p, sizeof(p), k, sizeof(k), why,
		    sizeof(why)) == -1)
			continue;
		nkeys++;
		revoked = revoked || p[0] == '\0';
		k_wrong = k_wrong || strcmp(k, dkim_alg_dns_name(pub->alg)) != 0;
		if (strcmp(p, pub->p) == 0 && strcmp(k, dkim_alg_dns_name(pub->alg)) == 0)
			nsame++;
	}
	if (nkeys == 0)
		dr_add(r, DR_FAIL, id, fix, "no DKIM key record at %s%s%s", name, why[0] ? ": " :
		    "", why);
	else if (nsame == 0)
		dr_add(r, DR_FAIL, id, fix, "the published key is not ours (%s): receivers "
		    "see a DKIM fail", revoked ? "revoked, p= is empty" : k_wrong ?
		    "another algorithm" : "an old key?");
	else if (nkeys > 1)
		dr_add(r, DR_WARN, id, fix, "%zu key records at %s: verifiers may read the wrong "
		    "one (RFC 6376 3.6.2.2)", nkeys, name);
	else if (pub->alg == DKIM_ALG_RSA && pub->bits < DKIM_RSA_MIN_BITS)
		dr_add(r, DR_FAIL, id, "make a new key pair with 'mxctl dkim keygen --selector NEW' "
		    "(RSA 2048), publish it, then set dkim_selector", "RSA %u bits: receivers "
		    "refuse keys under 1024 bits (RFC 8301 3.2)", pub->bits);
	else if (pub->alg == DKIM_ALG_RSA && pub->bits < DKIM_RSA_BITS)
		dr_add(r, DR_WARN, id, "make a new key pair with 'mxctl dkim keygen --selector NEW' "
		    "(RSA 2048), publish it, then set dkim_selector", "RSA %u bits: weak, "
		    "2048 is usual", pub->bits);
	else
		dr_add(r, DR_OK, id, NULL, "the published key equals our private key (%s %u)",
		    pub->alg == DKIM_ALG_RSA ? "RSA" : "Ed25519", pub->bits);
	return nsame > 0 ? 1 : 0;
}

/* ---- DMARC ------------------------------------------------------------------------------ */

/* The DMARC records at name: -1 pending, else how many (first in *rec). */
static int
dmarc_at(struct doctor_dns *dd, const char *domain, struct dmarc_record *rec, int *invalid,
    bool *tempfail, bool *rua)
{
	char name[DR_NAME_BUF], v[8];
	struct dv_answer a;
	int n = 0;

	*invalid = 0;
	*tempfail = false;
	*rua = false;
	if (snprintf(name, sizeof(name), "_dmarc.%s", domain) >= (int)sizeof(name))
		return 0;
	switch (ddns_lookup(dd, name, DV_TXT, &a)) {
	case DV_MISS:
		return -1;
	case DV_TEMPFAIL:
		*tempfail = true;
		return 0;
	case DV_OK:
		break;
	default:
		return 0;
	}
	for (size_t i = 0; i < a.n; i++) {
		struct dmarc_record one;
		enum dmarc_record_status s = dmarc_record_parse(a.rr[i].data, a.rr[i].len, &one);
		if (s == DMARC_RECORD_NOT_DMARC)
			continue;
		if (n++ == 0) {
			*rec = one;
			*invalid = s == DMARC_RECORD_INVALID;
			*rua = taglist_get(a.rr[i].data, a.rr[i].len, "rua", v, sizeof(v)) != 0;
		}
	}
	return n;
}

static void
check_dmarc(struct doctor *d, struct dr_domain *dom, struct doctor_dns *dd, int dkim_ok,
    int spf_ok, struct dr_report *r)
{
	char id[DR_ID_MAX + 1], fix[DR_FIX_MAX + 1], org[ADDR_DOMAIN_MAX + 1], rua_addr[ADDR_MAX + 1];
	struct dmarc_record rec;
	const char *where = dom->name;
	int n, invalid;
	bool tempfail, rua, inherited = false;

	snprintf(id, sizeof(id), "dmarc %s", dom->name);
	dnsrec_report_address(dom->name, d->cfg->report_address, rua_addr, sizeof(rua_addr));
	snprintf(fix, sizeof(fix), "publish '_dmarc.%s. IN TXT \"v=DMARC1; p=reject; adkim=s; "
	    "aspf=s; rua=mailto:%s\"'", dom->name, rua_addr);
	if ((n = dmarc_at(dd, dom->name, &rec, &invalid, &tempfail, &rua)) == -1)
		return;
	if (n == 0 && !tempfail && dmarc_org_domain(dom->name, org, sizeof(org)) == 0 &&
	    strcmp(org, dom->name) != 0) {
		if ((n = dmarc_at(dd, org, &rec, &invalid, &tempfail, &rua)) == -1)
			return;
		where = org;
		inherited = n > 0;
		if (inherited)
			rec.p = rec.sp;	/* a subdomain gets sp= (RFC 7489 6.6.3) */
	}
	if (tempfail)
		dr_add(r, DR_WARN, id, "check that dns_server answers", "the DMARC lookup got no "
		    "answer");
	else if (n == 0)
		dr_add(r, DR_FAIL, id, fix, "no DMARC record: big receivers (Gmail, Yahoo) "
		    "expect one from every sender, and forgeries of %s are not refused", dom->name);
	else if (n > 1)
		dr_add(r, DR_FAIL, id, fix, "%d DMARC records at _dmarc.%s: receivers apply none "
		    "(RFC 7489 6.6.3)", n, where);
	else if (invalid)
		dr_add(r, DR_FAIL, id, fix, "the record at _dmarc.%s does not parse (no valid p=)",
		    where);
	else if (rec.p == DMARC_POLICY_NONE)
		dr_add(r, DR_WARN, id, fix, "p=none%s: forgeries of %s are reported, not refused; "
		    "p=reject once the reports show only your own mail", inherited ?
		    " (the organizational domain's sp=)" : "", dom->name);
	else if (rec.pct < 100)
		dr_add(r, DR_WARN, id, fix, "pct=%u: the policy applies to part of the mail only",
		    rec.pct);
	else
		dr_add(r, DR_OK, id, NULL, "p=%s%s%s%s", dmarc_policy_name(rec.p), inherited ?
		    " (from the organizational domain " : "", inherited ? where : "",
		    inherited ? ")" : rua ? ", reports requested" : ", no rua= (no reports)");
	if (dkim_ok == -1 || spf_ok == -1)
		return;
	snprintf(id, sizeof(id), "dmarc_align %s", dom->name);
	if (dkim_ok != 1 && spf_ok != 1 && (dkim_ok == -2 || spf_ok == -2))
		dr_add(r, DR_WARN, id, "check that dns_server answers", "cannot tell whether "
		    "our mail aligns: DNS did not answer");
	else if (dkim_ok == 1 && spf_ok == 1)
		dr_add(r, DR_OK, id, NULL, "our mail aligns twice: DKIM d=%s and SPF for MAIL "
		    "FROM @%s (strict and relaxed)", dom->name, dom->name);
	else if (dkim_ok == 1 || spf_ok == 1) {
		snprintf(fix, sizeof(fix), "fix the %s findings above", dkim_ok == 1 ? "spf" :
		    "dkim");
		dr_add(r, DR_WARN, id, fix, "our mail aligns by %s only: one broken record away "
		    "from failing DMARC", dkim_ok == 1 ? "DKIM" : "SPF");
	}
	else
		dr_add(r, DR_FAIL, id, "fix the dkim and spf_auth findings above", "our own mail "
		    "fails DMARC: neither DKIM nor SPF passes for %s", dom->name);
}

void
doctor_check_domain(struct doctor *d, struct dr_domain *dom, struct doctor_dns *dd,
    struct dr_report *r)
{
	int dkim_ok = 0, spf_ok = 0;

	check_mx(d, dom, dd, r);
	switch (check_spf_record(d, dom, dd, r)) {
	case 1:
		check_spf_limits(d, dom, dd, r);
		spf_ok = check_spf_auth(d, dom, dd, r);
		break;
	case -2:
		spf_ok = -2;
		break;
	}
	for (int i = 0; i < DKIM_ALG_COUNT; i++) {
		int k = check_dkim_key(d, dom, &dom->dkim[i], dd, r);
		if (k == -1 || dkim_ok == -1)
			dkim_ok = -1;
		else if (k == 1 || dkim_ok == 1)
			dkim_ok = 1;
		else if (k == -2)
			dkim_ok = -2;
	}
	check_dmarc(d, dom, dd, dkim_ok, spf_ok, r);
}
