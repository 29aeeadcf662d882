/*
 * admin/doctor_host.c - the doctor's checks of the host itself: each
 * public address's PTR, that the PTR name resolves back (FCrDNS) and is
 * our HELO name, that the HELO name resolves and has SPF for our bounces,
 * IPv6 sending without a PTR, and our addresses on the configured DNS
 * block and allow lists.
 *
 * Owns: nothing between rounds (doctor.h). The lists are checked with the
 * screen's own code: first the RFC 5782 5 probe (a list that refuses our
 * resolver or lists everything says nothing about us), then check_lists
 * for each address, so a listing means here exactly what it means to the
 * screen of anyone running homemx, and what the receivers that use those
 * lists see.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../screen/checks.h"
#include "../screen/dnsbl_health.h"
#include "../screen/ipname.h"
#include "../screen/spf.h"
#include "dnsrecords.h"
#include "doctor.h"
#include "doctor_dns.h"

#define PTR_NAMES_MAX	10	/* as the screen: RFC 7208 5.5 */

enum ptr_state { AP_MISS, AP_TEMPFAIL, AP_NONE, AP_NAMES };

struct addr_ptr {
	enum ptr_state	state;
	size_t		n;
	const char	*name[PTR_NAMES_MAX];
	bool		verified[PTR_NAMES_MAX];
	char		fwd[PTR_NAMES_MAX][96];	/* where each name points, for messages */
	bool		fwd_tempfail;
	bool		fwd_miss;
	const char	*verified_name;		/* the first that resolves back */
	bool		helo_verified;		/* the HELO name is a verified one */
};

/* "a, b, c" of an answer's records. */
static void
answer_text(const struct dv_answer *a, char *out, size_t size)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < a->n && o < size; i++) {
		int w = snprintf(out + o, size - o, "%s%s", i ? ", " : "", a->rr[i].data);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

static bool
answer_has(const struct dv_answer *a, const struct ip_addr *ip)
{
	struct ip_addr x;

	for (size_t i = 0; i < a->n; i++)
		if (ip_addr_parse(a->rr[i].data, &x) == 0 && ip_addr_equal(&x, ip))
			return true;
	return false;
}

static void
ptr_confirm(struct doctor_dns *dd, const struct ip_addr *ip, const char *hostname,
    struct addr_ptr *p)
{
	enum dv_type fwd = ip->family == AF_INET ? DV_A : DV_AAAA;
	struct dv_answer a;

	for (size_t i = 0; i < p->n; i++) {
		switch (ddns_lookup(dd, p->name[i], fwd, &a)) {
		case DV_MISS:
			p->fwd_miss = true;
			break;
		case DV_TEMPFAIL:
			p->fwd_tempfail = true;
			snprintf(p->fwd[i], sizeof(p->fwd[i]), "no answer");
			break;
		case DV_OK:
			p->verified[i] = answer_has(&a, ip);
			answer_text(&a, p->fwd[i], sizeof(p->fwd[i]));
			if (p->verified[i] && p->verified_name == NULL)
				p->verified_name = p->name[i];
			if (p->verified[i] && strcasecmp(p->name[i], hostname) == 0)
				p->helo_verified = true;
			break;
		default:
			snprintf(p->fwd[i], sizeof(p->fwd[i]), "no address");
			break;
		}
	}
}

static void
ptr_read(struct doctor_dns *dd, const char *text, const char *hostname, struct addr_ptr *p)
{
	char rev[DV_NAME_MAX + 1];
	struct dv_answer a;
	struct ip_addr ip;

	memset(p, 0, sizeof(*p));
	p->state = AP_NONE;
	if (ip_addr_parse(text, &ip) == -1 ||
	    ip_reverse_name(&ip, ip.family == AF_INET ? "in-addr.arpa" : "ip6.arpa", rev,
	    sizeof(rev)) == -1)
		return;
	switch (ddns_lookup(dd, rev, DV_PTR, &a)) {
	case DV_MISS:
		p->state = AP_MISS;
		return;
	case DV_TEMPFAIL:
		p->state = AP_TEMPFAIL;
		return;
	case DV_OK:
		break;
	default:
		return;
	}
	p->state = AP_NAMES;
	for (size_t i = 0; i < a.n && p->n < PTR_NAMES_MAX; i++)
		p->name[p->n++] = a.rr[i].data;
	if (p->n == 0) {
		p->state = AP_NONE;	/* only names that are no host names */
		return;
	}
	ptr_confirm(dd, &ip, hostname, p);
	if (p->fwd_miss)
		p->state = AP_MISS;
}

/* ---- PTR, FCrDNS, PTR = HELO ---------------------------------------------------- */

static void
report_no_ptr(struct doctor *d, const struct host_addr *h, struct dr_report *r)
{
	char id[DR_ID_MAX + 1], fix[DR_FIX_MAX + 1];

	snprintf(id, sizeof(id), "ptr %s", h->text);
	if (h->family == AF_INET6 && !d->sends_ipv6) {
		dr_add(r, DR_OK, id, NULL, "no PTR; not needed while mail leaves over IPv4 "
		    "only (a destination rule)");
		return;
	}
	snprintf(fix, sizeof(fix), "ask the provider of %s (your hosting company or ISP) "
	    "to set its PTR to %s; %s must resolve back to %s", h->text, d->hostname,
	    d->hostname, h->text);
	dr_add(r, DR_FAIL, id, fix, "no PTR record: most receivers refuse or junk mail "
	    "from an address without one");
}

static void
report_ptr(struct doctor *d, const struct host_addr *h, const struct addr_ptr *p,
    struct dr_report *r)
{
	char id[DR_ID_MAX + 1], fix[DR_FIX_MAX + 1];
	const char *name = p->verified_name != NULL ? p->verified_name : p->name[0];

	snprintf(id, sizeof(id), "ptr %s", h->text);
	dr_add(r, DR_OK, id, NULL, "PTR %s%s", name, p->n > 1 ? " (and others)" : "");
	snprintf(id, sizeof(id), "fcrdns %s", h->text);
	if (p->verified_name != NULL)
		dr_add(r, DR_OK, id, NULL, "%s resolves back to %s", p->verified_name, h->text);
	else {
		snprintf(fix, sizeof(fix), "publish '%s. IN %s %s' (or have the PTR of %s "
		    "set to %s, which does)", name, h->family == AF_INET ? "A" : "AAAA",
		    h->text, h->text, d->hostname);
		dr_add(r, p->fwd_tempfail ? DR_WARN : DR_FAIL, id, fix, "the PTR name %s does "
		    "not resolve back to %s (it points to: %s); receivers check this "
		    "(forward-confirmed reverse DNS)", name, h->text,
		    p->fwd[0][0] != '\0' ? p->fwd[0] : "nothing");
	}
	snprintf(id, sizeof(id), "ptr_helo %s", h->text);
	if (p->helo_verified)
		dr_add(r, DR_OK, id, NULL, "the PTR is our HELO name %s", d->hostname);
	else {
		snprintf(fix, sizeof(fix), "ask the provider of %s to set its PTR to %s, or set "
		    "'hostname %s' in homemx.conf (then %s must resolve to %s)", h->text,
		    d->hostname, name, name, h->text);
		dr_add(r, DR_WARN, id, fix, "the PTR %s is not our HELO name %s: receivers "
		    "compare them", name, d->hostname);
	}
}

/* *v6 gets worse: 0 verified, 1 unknown, 2 no verified PTR (IPv6 only). */
static void
check_addr_ptr(struct doctor *d, struct doctor_dns *dd, const struct host_addr *h,
    struct dr_report *r, int *v6)
{
	struct addr_ptr p;
	char id[DR_ID_MAX + 1];

	ptr_read(dd, h->text, d->hostname, &p);
	switch (p.state) {
	case AP_MISS:
		return;
	case AP_TEMPFAIL:
		snprintf(id, sizeof(id), "ptr %s", h->text);
		dr_add(r, DR_WARN, id, "check that dns_server answers, then run the doctor "
		    "again", "the PTR lookup got no answer");
		if (h->family == AF_INET6 && *v6 < 1)
			*v6 = 1;
		return;
	case AP_NONE:
		report_no_ptr(d, h, r);
		break;
	case AP_NAMES:
		report_ptr(d, h, &p, r);
		break;
	}
	if (h->family == AF_INET6 && p.verified_name == NULL)
		*v6 = p.fwd_tempfail && *v6 < 1 ? 1 : 2;
}

/* IPv6 sending without PTR: the receivers that care refuse it. */
static void
check_ipv6_sending(struct doctor *d, bool v6_any, int v6, struct dr_report *r)
{
	if (!v6_any)
		dr_add(r, DR_OK, "ipv6_sending", NULL, "no IPv6 sending address");
	else if (!d->sends_ipv6)
		dr_add(r, DR_OK, "ipv6_sending", NULL, "mail leaves over IPv4 only "
		    "(destination rule)");
	else if (v6 == 0)
		dr_add(r, DR_OK, "ipv6_sending", NULL, "every IPv6 sending address has a PTR "
		    "that resolves back");
	else if (v6 == 1)
		dr_add(r, DR_WARN, "ipv6_sending", "check that dns_server answers", "the PTR of "
		    "an IPv6 sending address could not be checked");
	else
		dr_add(r, DR_WARN, "ipv6_sending", "add 'destination domain * family=ipv4-only' "
		    "to homemx.conf (and reload) until the provider sets the PTR of the IPv6 "
		    "address", "mail leaves over IPv6 from an address without a verified PTR: "
		    "Gmail (IPv4 for it is built in), Microsoft and others refuse it");
}

/* ---- the HELO name ---------------------------------------------------------------- */

static void
check_helo_resolves(struct doctor *d, struct doctor_dns *dd, struct dr_report *r)
{
	struct dv_answer a4, a6;
	enum dv_status s4, s6;
	char fix[DR_FIX_MAX + 1], got[256] = "", g6[128] = "";
	bool ours = false;

	if (strchr(d->hostname, '.') == NULL || strcasecmp(d->hostname, "localhost") == 0) {
		dr_add(r, DR_FAIL, "helo", "set 'hostname' in homemx.conf to this host's full "
		    "name (the name of its PTR), e.g. mx.example.org", "the HELO name %s is "
		    "not a full domain name: receivers refuse it", d->hostname);
		return;
	}
	s4 = ddns_lookup(dd, d->hostname, DV_A, &a4);
	s6 = ddns_lookup(dd, d->hostname, DV_AAAA, &a6);
	if (s4 == DV_MISS || s6 == DV_MISS)
		return;
	if (s4 == DV_TEMPFAIL || s6 == DV_TEMPFAIL) {
		dr_add(r, DR_WARN, "helo", "check that dns_server answers", "the address of the "
		    "HELO name %s got no answer", d->hostname);
		return;
	}
	if (s4 == DV_OK)
		answer_text(&a4, got, sizeof(got));
	if (s6 == DV_OK)
		answer_text(&a6, g6, sizeof(g6));
	for (size_t i = 0; i < d->public.n; i++) {
		struct ip_addr ip;
		if (ip_addr_parse(d->public.a[i].text, &ip) == 0 &&
		    ((s4 == DV_OK && answer_has(&a4, &ip)) || (s6 == DV_OK && answer_has(&a6, &ip))))
			ours = true;
	}
	if (s4 != DV_OK && s6 != DV_OK) {
		snprintf(fix, sizeof(fix), "publish '%s. IN A %s'", d->hostname,
		    d->public.n ? d->public.a[0].text : "<your address>");
		dr_add(r, DR_FAIL, "helo", fix, "the HELO name %s has no address: receivers "
		    "refuse such a HELO", d->hostname);
	} else if (!ours && d->public.n > 0) {
		snprintf(fix, sizeof(fix), "point %s at %s (mxctl dns prints the records)",
		    d->hostname, d->public.a[0].text);
		dr_add(r, DR_WARN, "helo", fix, "the HELO name %s resolves to %s%s%s, none of "
		    "them our address", d->hostname, got, got[0] && g6[0] ? ", " : "", g6);
	} else
		dr_add(r, DR_OK, "helo", NULL, "the HELO name %s resolves to %s%s%s",
		    d->hostname, got, got[0] && g6[0] ? ", " : "", g6);
}

/* Our bounces are sent with MAIL FROM <>: SPF checks the HELO identity. */
static void
check_helo_spf(struct doctor *d, struct doctor_dns *dd, struct dr_report *r)
{
	char spf[DR_SPF_TEXT_MAX], fix[DR_FIX_MAX + 1], bad[256] = "";
	enum dr_status st = DR_OK;
	struct spf_outcome o;
	bool pending = false;

	for (size_t i = 0; i < d->sending.n; i++) {
		if (doctor_spf(dd, d->sending.a[i].text, "", d->hostname, d->now, &o) == 0) {
			pending = true;
			continue;
		}
		if (o.result == SPF_PASS)
			continue;
		enum dr_status s = o.result == SPF_NONE || o.result == SPF_TEMPERROR ? DR_WARN :
		    DR_FAIL;
		if (s > st)
			st = s;
		size_t len = strlen(bad);
		snprintf(bad + len, sizeof(bad) - len, "%s%s: %s", len ? ", " : "",
		    d->sending.a[i].text, spf_result_name(o.result));
	}
	if (pending)
		return;
	dnsrec_spf_text(&d->sending, spf, sizeof(spf));
	snprintf(fix, sizeof(fix), "publish '%s. IN TXT \"%s\"'", d->hostname, spf);
	if (d->sending.n == 0)
		dr_add(r, DR_WARN, "helo_spf", fix, "no sending address known to check");
	else if (st == DR_OK)
		dr_add(r, DR_OK, "helo_spf", NULL, "SPF of %s passes our addresses (bounces, "
		    "MAIL FROM <>)", d->hostname);
	else
		dr_add(r, st, "helo_spf", fix, "SPF of the HELO name %s (%s): our bounces "
		    "(MAIL FROM <>) are judged by it", d->hostname, bad);
}

/* ---- DNS block and allow lists ------------------------------------------------------- */

static void
report_list_health(const struct screen_config *sc, const struct dnsbl_health *h,
    struct dr_report *r)
{
	char id[DR_ID_MAX + 1];

	for (size_t i = 0; i < sc->nlists && i < SCREEN_LISTS_MAX; i++) {
		const struct screen_list *l = &sc->lists[i];
		enum list_state st = h->state[i];
		snprintf(id, sizeof(id), "%s %s", l->allow ? "dnswl" : "dnsbl", l->zone);
		if (st == LIST_HEALTHY)
			dr_add(r, DR_OK, id, NULL, "answers its test points (RFC 5782 5)");
		else if (st == LIST_REFUSING)
			dr_add(r, DR_WARN, id, "run a resolver of your own (unbound on 127.0.0.1) "
			    "and point dns_server at it: public lists refuse big public resolvers",
			    "refuses queries from dns_server (127.255.255.x): it says nothing "
			    "about anyone, for the screen neither");
		else if (st == LIST_LISTS_EVERYTHING)
			dr_add(r, DR_WARN, id, "remove its line from homemx.conf", "lists "
			    "everything, 127.0.0.1 included: the screen ignores it");
		else
			dr_add(r, DR_WARN, id, "check the zone name, or remove its line from "
			    "homemx.conf", "does not list its test point 127.0.0.2 or does not "
			    "answer (RFC 5782 5): the screen ignores it");
	}
}

/* One address on every usable list, through the screen's check_lists. */
static void
check_addr_lists(struct doctor *d, struct doctor_dns *dd, struct dnsbl_health *h,
    size_t usable, const struct host_addr *a, struct dr_report *r)
{
	struct screen_env env = { d->cfg, h, NULL };
	struct screen_facts f;
	static struct score s;
	char id[DR_ID_MAX + 1], listed[DR_WHAT_MAX / 2] = "", allowed[DR_WHAT_MAX / 4] = "";
	size_t before = ddns_misses(dd);
	bool unknown = false;

	memset(&f, 0, sizeof(f));
	snprintf(f.client_ip, sizeof(f.client_ip), "%s", a->text);
	score_init(&s);
	check_lists(&env, &f, ddns_view(dd), &s);
	if (ddns_misses(dd) > before)
		return;
	for (size_t i = 0; i < s.n; i++) {
		const struct score_item *it = &s.item[i];
		bool allow = strncmp(it->name, "dnswl:", 6) == 0;
		char *buf = allow ? allowed : listed;
		size_t size = allow ? sizeof(allowed) : sizeof(listed), len = strlen(buf);
		if (it->unknown) {
			unknown = true;
			continue;
		}
		if (!allow && it->weight <= 0)
			continue;	/* "ignored: outside 127/8" and the like */
		snprintf(buf + len, size - len, "%s%s (%s)", len ? ", " : "", it->name + 6,
		    it->reason);
	}
	snprintf(id, sizeof(id), "dnsbl %s", a->text);
	if (listed[0] != '\0')
		dr_add(r, DR_FAIL, id, "find out why first (an open relay? a hacked account "
		    "sending spam?), then ask each list for removal on its web site (Spamhaus: "
		    "https://check.spamhaus.org/)", "listed on %s%s%s", listed,
		    allowed[0] ? "; allow-listed on " : "", allowed);
	else if (unknown)
		dr_add(r, DR_WARN, id, "check that dns_server answers", "some lists did not "
		    "answer%s%s", allowed[0] ? "; allow-listed on " : "", allowed);
	else if (usable == 0)
		dr_add(r, DR_WARN, id, "see the dnsbl findings above", "no usable block list "
		    "to look at");
	else
		dr_add(r, DR_OK, id, NULL, "on no block list%s%s", allowed[0] ?
		    "; allow-listed on " : "", allowed);
}

static void
check_lists_all(struct doctor *d, struct doctor_dns *dd, struct dr_report *r)
{
	const struct screen_config *sc = &d->cfg->screen;
	static struct dnsbl_health h;
	struct dnsbl_probe p;

	if (sc->nlists == 0) {
		dr_add(r, DR_OK, "dnsbl", NULL, "no DNS lists configured (dnsbl none)");
		return;
	}
	if (!dnsbl_probe(sc, ddns_view(dd), &p))
		return;		/* misses recorded */
	dnsbl_health_init(&h);
	dnsbl_health_apply(&h, sc, &p);
	report_list_health(sc, &h, r);
	size_t usable = 0;
	for (size_t i = 0; i < sc->nlists && i < SCREEN_LISTS_MAX; i++)
		usable += !sc->lists[i].allow && dnsbl_list_usable(&h, i);
	for (size_t i = 0; i < d->sending.n; i++)
		check_addr_lists(d, dd, &h, usable, &d->sending.a[i], r);
}

void
doctor_check_host(struct doctor *d, struct doctor_dns *dd, struct dr_report *r)
{
	bool v6_any = false;
	int v6 = 0;

	if (d->public.n == 0)
		dr_add(r, DR_FAIL, "addresses", "set 'public_address IP ...' in homemx.conf "
		    "(behind NAT the public address is on no interface)", "no public address "
		    "known: PTR, SPF and the lists cannot be checked");
	else
		dr_add(r, DR_OK, "addresses", NULL, "%zu public address%s (%s)", d->public.n,
		    d->public.n == 1 ? "" : "es", host_addr_origin_text(d->public.a[0].origin));
	for (size_t i = 0; i < d->sending.n; i++) {
		check_addr_ptr(d, dd, &d->sending.a[i], r, &v6);
		if (d->sending.a[i].family == AF_INET6)
			v6_any = true;
	}
	check_ipv6_sending(d, v6_any, v6, r);
	check_helo_resolves(d, dd, r);
	check_helo_spf(d, dd, r);
	check_lists_all(d, dd, r);
}
