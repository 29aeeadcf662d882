/*
 * admin/doctor_policy.c - the doctor's checks of the TLS promises a domain
 * makes in DNS: MTA-STS (RFC 8461: one _mta-sts record with a valid id, a
 * policy that can be fetched, covers every MX host and is kept by our
 * certificate), TLS-RPT (RFC 8460: one record, usable rua= URIs) and the
 * host's TLSA records (RFC 7672: one usable record matches what port 25
 * serves, and the resolver validated it).
 *
 * Owns: nothing between rounds. A published promise we cannot keep is
 * worse than none: senders that honour MTA-STS enforce or DANE defer mail
 * to us rather than deliver it without TLS, so these are FAILs, while a
 * missing record is fine (all three are optional).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "doctor.h"
#include "doctor_dns.h"
#include "taglist.h"

#define STS_ID_MAX		32	/* RFC 8461 3.1: 1*32(ALPHA / DIGIT) */
#define STS_MAX_AGE_SHORT	86400

/* The TXT records at name whose first tag is v=version: -1 pending,
 * -2 no answer, else how many (the first in *first). */
static int
versioned_records(struct doctor_dns *dd, const char *name, const char *version,
    struct dv_answer *a, size_t *first)
{
	char tag[8], value[16];
	int n = 0;

	switch (ddns_lookup(dd, name, DV_TXT, a)) {
	case DV_MISS:
		return -1;
	case DV_TEMPFAIL:
		return -2;
	case DV_OK:
		break;
	default:
		return 0;
	}
	for (size_t i = 0; i < a->n; i++)
		if (taglist_first(a->rr[i].data, a->rr[i].len, tag, sizeof(tag), value,
		    sizeof(value)) == 1 && strcmp(tag, "v") == 0 && strcmp(value, version) == 0) {
			if (n++ == 0)
				*first = i;
		}
	return n;
}

static bool
sts_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > STS_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]))
			return false;
	return true;
}

/* The addresses of mta-sts.DOMAIN into f: 1 done, 0 none, -1 pending. */
static int
sts_host_addresses(struct doctor_dns *dd, const char *domain, struct sts_fetch *f)
{
	char host[DR_NAME_BUF];
	struct dv_answer a4, a6;
	enum dv_status s4, s6;

	snprintf(host, sizeof(host), "mta-sts.%s", domain);
	s4 = ddns_lookup(dd, host, DV_A, &a4);
	s6 = ddns_lookup(dd, host, DV_AAAA, &a6);
	if (s4 == DV_MISS || s6 == DV_MISS)
		return -1;
	f->naddrs = 0;
	for (size_t i = 0; s4 == DV_OK && i < a4.n && f->naddrs < STS_ADDRS_MAX; i++)
		snprintf(f->addrs[f->naddrs++], sizeof(f->addrs[0]), "%s", a4.rr[i].data);
	for (size_t i = 0; s6 == DV_OK && i < a6.n && f->naddrs < STS_ADDRS_MAX; i++)
		snprintf(f->addrs[f->naddrs++], sizeof(f->addrs[0]), "%s", a6.rr[i].data);
	return f->naddrs > 0 ? 1 : 0;
}

/* Every MX host of the domain matches an mx: line; the rest into missing. */
static int
sts_covers_mx(struct doctor_dns *dd, const char *domain, const struct sts_policy *p,
    char *missing, size_t size)
{
	struct dv_answer a;

	missing[0] = '\0';
	switch (ddns_lookup(dd, domain, DV_MX, &a)) {
	case DV_MISS:
		return -1;
	case DV_OK:
		break;
	default:
		return 0;
	}
	for (size_t i = 0; i < a.n; i++) {
		size_t len = strlen(missing);
		if (a.rr[i].data[0] != '\0' && !sts_policy_mx_matches(p, a.rr[i].data))
			snprintf(missing + len, size - len, "%s%s", len ? ", " : "", a.rr[i].data);
	}
	return 0;
}

static void
judge_sts_policy(struct doctor *d, struct dr_domain *dom, struct doctor_dns *dd,
    const char *id, struct dr_report *r)
{
	const struct sts_policy *p = &dom->sts.policy;
	const struct dr_listener *l = doctor_smtp_listener(d);
	char missing[300], fix[DR_FIX_MAX + 1];
	bool enforce = p->mode == STS_MODE_ENFORCE;

	if (sts_covers_mx(dd, dom->name, p, missing, sizeof(missing)) == -1)
		return;
	if (p->mode == STS_MODE_NONE) {
		dr_add(r, DR_WARN, id, "publish mode testing or enforce (mxctl dns), or remove "
		    "the _mta-sts record once max_age has passed", "mode: none: the policy is "
		    "being withdrawn");
		return;
	}
	if (missing[0] != '\0') {
		snprintf(fix, sizeof(fix), "add 'mx: %s' to the policy file (and change the id "
		    "of the _mta-sts record)", missing);
		dr_add(r, enforce ? DR_FAIL : DR_WARN, id, fix, "the MX host%s %s %s in no mx: "
		    "line: %s", strchr(missing, ',') ? "s" : "", missing,
		    strchr(missing, ',') ? "are" : "is", enforce ?
		    "senders that enforce the policy will not deliver to it" :
		    "senders will report failures");
		return;
	}
	if (enforce && l != NULL && (!l->handshake || !l->verifies)) {
		dr_add(r, DR_FAIL, id, "use a certificate from a public CA for the host name "
		    "(e.g. certbot), or set mode: testing in the policy and change its id",
		    "mode: enforce, but port 25's certificate does not verify (%s): senders that "
		    "enforce MTA-STS will not deliver", l->handshake ? l->verify_why :
		    "no TLS");
		return;
	}
	if (p->max_age < STS_MAX_AGE_SHORT)
		dr_add(r, DR_WARN, id, "set max_age to a week or more (604800)", "max_age %lu "
		    "seconds: senders forget the policy within a day (RFC 8461 3.2 suggests "
		    "weeks)", p->max_age);
	else
		dr_add(r, DR_OK, id, NULL, "mode %s, max_age %lu, covers every MX host%s",
		    enforce ? "enforce" : "testing", p->max_age, enforce ? "" :
		    " (testing: senders only report)");
}

static void
check_mta_sts(struct doctor *d, struct dr_domain *dom, struct doctor_dns *dd,
    struct dr_report *r)
{
	char name[DR_NAME_BUF], id[DR_ID_MAX + 1], fix[DR_FIX_MAX + 1], sts_id[64];
	struct dv_answer a;
	size_t first = 0;
	int n, k;

	snprintf(id, sizeof(id), "mta_sts %s", dom->name);
	snprintf(name, sizeof(name), "_mta-sts.%s", dom->name);
	dom->sts.wanted = false;
	if ((n = versioned_records(dd, name, "STSv1", &a, &first)) == -1)
		return;
	snprintf(fix, sizeof(fix), "publish the _mta-sts record 'mxctl dns %s' prints", dom->name);
	if (n == -2)
		dr_add(r, DR_WARN, id, "check that dns_server answers", "the _mta-sts lookup got "
		    "no answer");
	else if (n == 0)
		dr_add(r, DR_OK, id, NULL, "no MTA-STS policy (optional; 'mxctl dns %s' "
		    "prints one)", dom->name);
	else if (n > 1)
		dr_add(r, DR_FAIL, id, fix, "%d v=STSv1 records at %s: senders ignore them all "
		    "(RFC 8461 3.1)", n, name);
	else if ((k = taglist_get(a.rr[first].data, a.rr[first].len, "id", sts_id,
	    sizeof(sts_id))) != 1 || !sts_id_valid(sts_id))
		dr_add(r, DR_FAIL, id, fix, "the record has no valid id= (1 to 32 letters and "
		    "digits, RFC 8461 3.1)");
	else {
		if ((k = sts_host_addresses(dd, dom->name, &dom->sts)) == -1)
			return;
		if (k == 0) {
			snprintf(fix, sizeof(fix), "publish an address for mta-sts.%s (the web "
			    "server that serves the policy file)", dom->name);
			dr_add(r, DR_FAIL, id, fix, "mta-sts.%s has no address: the policy cannot "
			    "be fetched, the record promises one", dom->name);
			return;
		}
		dom->sts.wanted = true;
		if (!dom->sts.done)
			dr_add(r, DR_WARN, id, NULL, "the policy was not fetched");
		else if (!dom->sts.ok) {
			snprintf(fix, sizeof(fix), "serve the output of 'mxctl dns %s "
			    "--mta-sts-policy' as text/plain at https://mta-sts.%s/.well-known/"
			    "mta-sts.txt, with a certificate for mta-sts.%s", dom->name, dom->name,
			    dom->name);
			dr_add(r, DR_FAIL, id, fix, "the policy cannot be used: %s", dom->sts.error);
		} else
			judge_sts_policy(d, dom, dd, id, r);
	}
}

/* rua=: a comma-separated list of mailto: or https: URIs (RFC 8460 3). */
static bool
tls_rpt_rua_ok(const char *rua)
{
	const char *p = rua;

	if (rua[0] == '\0')
		return false;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (strncasecmp(p, "mailto:", 7) != 0 && strncasecmp(p, "https:", 6) != 0)
			return false;
		if ((p = strchr(p, ',')) == NULL)
			break;
		p++;
	}
	return true;
}

static void
check_tls_rpt(struct doctor *d, struct dr_domain *dom, struct doctor_dns *dd,
    struct dr_report *r)
{
	char name[DR_NAME_BUF], id[DR_ID_MAX + 1], fix[DR_FIX_MAX + 1], rua[512];
	struct dv_answer a;
	size_t first = 0;
	int n;

	(void)d;
	snprintf(id, sizeof(id), "tls_rpt %s", dom->name);
	snprintf(name, sizeof(name), "_smtp._tls.%s", dom->name);
	snprintf(fix, sizeof(fix), "publish the _smtp._tls record 'mxctl dns %s' prints",
	    dom->name);
	if ((n = versioned_records(dd, name, "TLSRPTv1", &a, &first)) == -1)
		return;
	if (n == -2)
		dr_add(r, DR_WARN, id, "check that dns_server answers", "the TLS-RPT lookup got "
		    "no answer");
	else if (n == 0 && dom->sts.wanted)
		dr_add(r, DR_WARN, id, fix, "no TLS-RPT record: with MTA-STS published you will "
		    "not hear when senders fail to reach you over TLS");
	else if (n == 0)
		dr_add(r, DR_OK, id, NULL, "no TLS-RPT record (optional)");
	else if (n > 1)
		dr_add(r, DR_FAIL, id, fix, "%d v=TLSRPTv1 records: senders ignore them all "
		    "(RFC 8460 3)", n);
	else if (taglist_get(a.rr[first].data, a.rr[first].len, "rua", rua, sizeof(rua)) != 1 ||
	    !tls_rpt_rua_ok(rua))
		dr_add(r, DR_FAIL, id, fix, "no usable rua= (mailto: or https: URIs, RFC 8460 3)");
	else
		dr_add(r, DR_OK, id, NULL, "reports go to %s", rua);
}

void
doctor_check_policies(struct doctor *d, struct dr_domain *dom, struct doctor_dns *dd,
    struct dr_report *r)
{
	check_mta_sts(d, dom, dd, r);
	check_tls_rpt(d, dom, dd, r);
}

/* ---- TLSA -------------------------------------------------------------------------- */

/* usage 3 matches the leaf, usage 2 a CA certificate the chain carries. */
static bool
tlsa_record_matches(const struct cert_chain *c, unsigned usage, unsigned sel,
    unsigned mtype, const unsigned char *data, size_t len)
{
	if (usage == 3)
		return tlsa_matches(c->x[0], sel, mtype, data, len);
	for (size_t i = 1; usage == 2 && i < c->n; i++)
		if (tlsa_matches(c->x[i], sel, mtype, data, len))
			return true;
	return false;
}

void
doctor_check_tlsa(struct doctor *d, struct doctor_dns *dd, struct dr_report *r)
{
	const struct dr_listener *l = doctor_smtp_listener(d);
	const struct cert_chain *c = l != NULL && l->handshake ? &l->chain : &d->configured;
	char name[DR_NAME_BUF], fix[DR_FIX_MAX + 1], hex[TLSA_HEX_MAX] = "";
	unsigned char md[TLSA_DATA_MAX];
	const struct dnsraw_answer *a;
	size_t usable = 0, matching = 0;
	int n;

	snprintf(name, sizeof(name), "_25._tcp.%s", d->hostname);
	switch (ddns_raw(dd, name, DNSRAW_T_TLSA, &a)) {
	case DV_MISS:
		return;
	case DV_TEMPFAIL:
		dr_add(r, DR_WARN, "tlsa", "check that dns_server answers", "the TLSA lookup "
		    "got no answer");
		return;
	case DV_OK:
		break;
	default:
		dr_add(r, DR_OK, "tlsa", NULL, "no TLSA record at %s (DANE is optional and "
		    "needs DNSSEC)", name);
		return;
	}
	if (c->n > 0 && (n = tlsa_digest(c->x[0], 1, 1, md, sizeof(md))) > 0)
		(void)hex_encode(md, (size_t)n, hex, sizeof(hex));
	snprintf(fix, sizeof(fix), "publish '%s. IN TLSA 3 1 1 %s' and remove the stale "
	    "records (mxctl dns)", name, hex[0] ? hex : "<hash>");
	if (l != NULL && !l->tls_offered) {
		dr_add(r, DR_FAIL, "tlsa", "set tls_certificate and tls_key, or remove the TLSA "
		    "records", "TLSA records are published but port 25 offers no STARTTLS: DANE "
		    "senders will not deliver");
		return;
	}
	if (c->n == 0) {
		dr_add(r, DR_WARN, "tlsa", NULL, "TLSA records are published but no certificate "
		    "is known to compare them with");
		return;
	}
	for (size_t i = 0; i < a->n; i++) {
		unsigned usage, sel, mtype;
		const unsigned char *data;
		size_t len;
		if (dnsraw_tlsa(&a->rr[i], &usage, &sel, &mtype, &data, &len) == -1 ||
		    (usage != 2 && usage != 3))
			continue;	/* PKIX usages do not apply to SMTP (RFC 7672 3.1.3) */
		usable++;
		if (tlsa_record_matches(c, usage, sel, mtype, data, len))
			matching++;
	}
	if (matching == 0)
		dr_add(r, DR_FAIL, "tlsa", fix, "%s: none of %zu usable TLSA record%s matches "
		    "the certificate port 25 serves: DANE senders defer all mail to us", name,
		    usable, usable == 1 ? "" : "s");
	else if (!a->ad)
		dr_add(r, DR_WARN, "tlsa", "sign the zone with DNSSEC (and check that dns_server "
		    "validates)", "a TLSA record matches, but the answer is not DNSSEC-validated "
		    "(no AD bit from dns_server): DANE senders ignore it");
	else
		dr_add(r, DR_OK, "tlsa", NULL, "%zu of %zu TLSA records match the certificate, "
		    "DNSSEC-validated", matching, usable);
}
