/*
 * admin/dnsrecords.c - the records a domain should publish, and their
 * zone-file and JSON forms (see dnsrecords.h).
 *
 * Owns: the wording of every reason and note, and the MTA-STS policy text.
 * Names are written absolute (with the final dot) so the lines can be
 * pasted into any zone file; TXT values are cut into strings of at most
 * 255 octets (RFC 1035 3.3.14), which receivers join again (RFC 7208 3.3,
 * RFC 6376 3.6.2.2).
 */
#include <arpa/inet.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "../screen/dnsview.h"
#include "../screen/ipname.h"
#include "certinfo.h"
#include "dnsrecords.h"
#include "idn_display.h"
#include "jsonout.h"

/* ---- building ------------------------------------------------------------- */

static struct dnsrec *
rec_new(struct dnsrec_list *l, enum dnsrec_where where, const char *type,
    const char *why_fmt, ...) __attribute__((format(printf, 4, 5)));

static struct dnsrec *
rec_new(struct dnsrec_list *l, enum dnsrec_where where, const char *type,
    const char *why_fmt, ...)
{
	struct dnsrec *r;
	va_list ap;

	if (l->n == DNSREC_MAX)
		return NULL;
	r = &l->r[l->n++];
	memset(r, 0, sizeof(*r));
	r->where = where;
	snprintf(r->type, sizeof(r->type), "%s", type);
	va_start(ap, why_fmt);
	vsnprintf(r->why, sizeof(r->why), why_fmt, ap);
	va_end(ap);
	return r;
}

static void
note(struct dnsrec_list *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(struct dnsrec_list *l, const char *fmt, ...)
{
	va_list ap;

	if (l->nnotes == DNSREC_NOTES_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(l->note[l->nnotes++], sizeof(l->note[0]), fmt, ap);
	va_end(ap);
}

/* name "." (absolute); -1 if it does not fit */
static int
set_name(struct dnsrec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
set_name(struct dnsrec *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(r->name, sizeof(r->name) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(r->name) - 1)
		return -1;
	r->name[n] = '.';
	r->name[n + 1] = '\0';
	return 0;
}

static void
set_txt(struct dnsrec *r, const char *text)
{
	snprintf(r->text, sizeof(r->text), "%s", text);
	if (dkim_zone_strings(text, r->value, sizeof(r->value)) == -1)
		r->value[0] = '\0';
}

void
dnsrec_spf_text(const struct host_addrs *sending, char *out, size_t size)
{
	size_t o;

	o = (size_t)snprintf(out, size, "v=spf1");
	for (size_t i = 0; sending != NULL && i < sending->n && o < size; i++)
		o += (size_t)snprintf(out + o, size - o, " %s:%s",
		    sending->a[i].family == AF_INET6 ? "ip6" : "ip4", sending->a[i].text);
	if (o < size)
		snprintf(out + o, size - o, "%s", sending == NULL || sending->n == 0 ?
		    " mx -all" : " -all");
}

void
dnsrec_report_address(const char *domain, const char *configured, char *out, size_t size)
{
	if (configured != NULL && configured[0] != '\0')
		snprintf(out, size, "%s", configured);
	else
		snprintf(out, size, "postmaster@%s", domain);
}

const struct dnsrec *
dnsrec_find(const struct dnsrec_list *l, const char *type, const char *name)
{
	size_t len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	for (size_t i = 0; i < l->n; i++) {
		const struct dnsrec *r = &l->r[i];
		if (strcmp(r->type, type) == 0 && strlen(r->name) == len + 1 &&
		    strncasecmp(r->name, name, len) == 0)
			return r;
	}
	return NULL;
}

static int
add_mx(const struct dnsrec_input *in, struct dnsrec_list *l)
{
	struct dnsrec *r = rec_new(l, DNSREC_ZONE, "MX", "mail for %s is delivered to %s "
	    "(RFC 5321 5.1); the target must be a name with addresses, not a CNAME",
	    in->domain, in->hostname);

	if (r == NULL || set_name(r, "%s", in->domain) == -1)
		return -1;
	snprintf(r->value, sizeof(r->value), "10 %s.", in->hostname);
	return 0;
}

/* A and AAAA of name pointing at every public address. */
static int
add_addresses(const struct dnsrec_input *in, struct dnsrec_list *l, const char *name,
    const char *why)
{
	for (size_t i = 0; i < in->public->n; i++) {
		const struct host_addr *a = &in->public->a[i];
		struct dnsrec *r = rec_new(l, DNSREC_ZONE, a->family == AF_INET6 ? "AAAA" : "A",
		    "%s", why);
		if (r == NULL || set_name(r, "%s", name) == -1)
			return -1;
		snprintf(r->value, sizeof(r->value), "%s", a->text);
	}
	return 0;
}

static int
add_ptrs(const struct dnsrec_input *in, struct dnsrec_list *l)
{
	for (size_t i = 0; i < in->public->n; i++) {
		const struct host_addr *a = &in->public->a[i];
		char rev[DV_NAME_MAX + 1];
		struct ip_addr ip;
		struct dnsrec *r;

		if (ip_addr_parse(a->text, &ip) == -1 ||
		    ip_reverse_name(&ip, ip.family == AF_INET6 ? "ip6.arpa" : "in-addr.arpa",
		    rev, sizeof(rev)) == -1)
			continue;
		r = rec_new(l, DNSREC_PROVIDER, "PTR", "not in your zone: ask the provider of "
		    "%s to set it; receivers refuse mail from an address whose PTR does not "
		    "name a host that resolves back to it (FCrDNS), and compare it with our "
		    "HELO %s", a->text, in->hostname);
		if (r == NULL || set_name(r, "%s", rev) == -1)
			return -1;
		snprintf(r->value, sizeof(r->value), "%s.", in->hostname);
	}
	return 0;
}

static int
add_spf(const struct dnsrec_input *in, struct dnsrec_list *l)
{
	char text[1024];
	struct dnsrec *r;

	dnsrec_spf_text(in->sending, text, sizeof(text));
	r = rec_new(l, DNSREC_ZONE, "TXT", "SPF (RFC 7208): only %s send%s mail for %s; "
	    "-all asks receivers to refuse the rest; exactly one such record",
	    in->sending->n ? "these addresses" : "the MX hosts", in->sending->n ? "" : "s",
	    in->domain);
	if (r == NULL || set_name(r, "%s", in->domain) == -1)
		return -1;
	set_txt(r, text);
	if (strcmp(in->hostname, in->domain) == 0)
		return 0;
	r = rec_new(l, DNSREC_ZONE, "TXT", "SPF for the HELO name %s: our bounces (MAIL "
	    "FROM <>) are checked against it (RFC 7208 2.3); in the zone that holds %s",
	    in->hostname, in->hostname);
	if (r == NULL || set_name(r, "%s", in->hostname) == -1)
		return -1;
	set_txt(r, text);
	return 0;
}

static int
add_dkim(const struct dnsrec_input *in, struct dnsrec_list *l)
{
	unsigned present = 0;

	for (int i = 0; in->dkim != NULL && i < DKIM_ALG_COUNT; i++) {
		const struct dkim_pub *k = &in->dkim[i];
		struct dnsrec *r;
		if (!k->present)
			continue;
		r = rec_new(l, DNSREC_ZONE, "TXT", "DKIM (RFC 6376%s): the %s key every message "
		    "from %s is signed with (selector %s)", k->alg == DKIM_ALG_ED25519 ?
		    ", RFC 8463" : "", k->alg == DKIM_ALG_ED25519 ? "Ed25519" : "RSA",
		    in->domain, k->dns_selector);
		if (r == NULL || set_name(r, "%s._domainkey.%s", k->dns_selector, in->domain) == -1)
			return -1;
		snprintf(r->text, sizeof(r->text), "%s", k->text);
		snprintf(r->value, sizeof(r->value), "%s", k->zone);
		present++;
	}
	if (present < DKIM_ALG_COUNT)
		note(l, "%s DKIM key%s for %s (selector %s): run 'mxctl dkim keygen %s', then "
		    "this command again; until then mail from %s is refused with 451",
		    present == 0 ? "no" : "only one", present == 0 ? "s" : "", in->domain,
		    in->selector != NULL ? in->selector : "?", in->domain, in->domain);
	return 0;
}

static int
add_dmarc(const struct dnsrec_input *in, struct dnsrec_list *l)
{
	const char *at = strrchr(l->report_address, '@');
	char text[ADDR_MAX + 128];
	struct dnsrec *r;

	snprintf(text, sizeof(text), "v=DMARC1; p=reject; adkim=s; aspf=s; rua=mailto:%s",
	    l->report_address);
	r = rec_new(l, DNSREC_ZONE, "TXT", "DMARC (RFC 7489): mail From: %s without an "
	    "aligned DKIM signature or SPF pass is refused; daily reports go to %s",
	    in->domain, l->report_address);
	if (r == NULL || set_name(r, "_dmarc.%s", in->domain) == -1)
		return -1;
	set_txt(r, text);
	if (at == NULL || strcasecmp(at + 1, in->domain) == 0)
		return 0;
	r = rec_new(l, DNSREC_ZONE, "TXT", "in the zone of %s: it agrees to receive the "
	    "DMARC reports of %s (RFC 7489 7.1)", at + 1, in->domain);
	if (r == NULL || set_name(r, "%s._report._dmarc.%s", in->domain, at + 1) == -1)
		return -1;
	set_txt(r, "v=DMARC1");
	return 0;
}

/* The policy text and an id derived from it (see dnsrecords.h). */
static void
sts_policy(const struct dnsrec_input *in, struct dnsrec_list *l)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	snprintf(l->sts_policy, sizeof(l->sts_policy),
	    "version: STSv1\r\nmode: %s\r\nmx: %s\r\nmax_age: %d\r\n",
	    l->sts_mode == STS_ENFORCE ? "enforce" : "testing", in->hostname,
	    l->sts_mode == STS_ENFORCE ? STS_MAX_AGE_ENFORCE : STS_MAX_AGE_TESTING);
	snprintf(l->sts_url, sizeof(l->sts_url), "https://mta-sts.%s/.well-known/mta-sts.txt",
	    in->domain);
	if (EVP_Digest(l->sts_policy, strlen(l->sts_policy), md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen < STS_ID_HEX_BYTES ||
	    hex_encode(md, STS_ID_HEX_BYTES, l->sts_id, sizeof(l->sts_id)) == -1)
		snprintf(l->sts_id, sizeof(l->sts_id), "1");
}

static int
add_mta_sts(const struct dnsrec_input *in, struct dnsrec_list *l)
{
	char text[64 + sizeof(l->sts_id)], host[ADDR_DOMAIN_MAX + 16];
	struct dnsrec *r;

	if (!in->tls) {
		l->sts_mode = STS_OFF;
		note(l, "no tls_certificate: no MTA-STS and no TLSA records (both promise TLS)");
		return 0;
	}
	l->sts_mode = in->cert_verifies ? STS_ENFORCE : STS_TESTING;
	if (!in->cert_verifies)
		note(l, "the certificate does not verify for %s (%s): MTA-STS is in mode testing, "
		    "senders only report; with a certificate from a public CA this command "
		    "prints mode enforce and a new id", in->hostname,
		    in->cert_why != NULL ? in->cert_why : "?");
	sts_policy(in, l);
	snprintf(text, sizeof(text), "v=STSv1; id=%s", l->sts_id);
	r = rec_new(l, DNSREC_ZONE, "TXT", "MTA-STS (RFC 8461): senders fetch the policy file "
	    "below and then deliver only over TLS with a valid certificate; the id changes "
	    "with the policy");
	if (r == NULL || set_name(r, "_mta-sts.%s", in->domain) == -1)
		return -1;
	set_txt(r, text);
	snprintf(host, sizeof(host), "mta-sts.%s", in->domain);
	return add_addresses(in, l, host, "the host that serves the MTA-STS policy over "
	    "HTTPS with a certificate for this name: a web server here, or point the name "
	    "at yours");
}

static int
add_tls_rpt(const struct dnsrec_input *in, struct dnsrec_list *l)
{
	char text[ADDR_MAX + 64];
	struct dnsrec *r;

	snprintf(text, sizeof(text), "v=TLSRPTv1; rua=mailto:%s", l->report_address);
	r = rec_new(l, DNSREC_ZONE, "TXT", "TLS-RPT (RFC 8460): senders report failed TLS "
	    "toward %s to %s, daily", in->domain, l->report_address);
	if (r == NULL || set_name(r, "_smtp._tls.%s", in->domain) == -1)
		return -1;
	set_txt(r, text);
	return 0;
}

static int
add_tlsa(const struct dnsrec_input *in, struct dnsrec_list *l)
{
	struct dnsrec *r;

	if (in->tlsa_hex == NULL)
		return 0;
	r = rec_new(l, DNSREC_ZONE, "TLSA", "DANE (RFC 7672): pins the certificate's key "
	    "(3 1 1); works only in a DNSSEC-signed zone; renew with the same key (certbot "
	    "--reuse-key) or publish the new key's record before the switch");
	if (r == NULL || set_name(r, "_25._tcp.%s", in->hostname) == -1)
		return -1;
	snprintf(r->value, sizeof(r->value), "3 1 1 %s", in->tlsa_hex);
	return 0;
}

int
dnsrec_build(const struct dnsrec_input *in, struct dnsrec_list *l)
{
	char relay[ADDR_DOMAIN_MAX + 1];

	memset(l, 0, sizeof(*l));
	dnsrec_report_address(in->domain, in->report_address, l->report_address,
	    sizeof(l->report_address));
	snprintf(relay, sizeof(relay), "%s", in->smarthost != NULL ? in->smarthost : "");
	if (in->public->n == 0)
		note(l, "no public address known: set 'public_address IP ...' in homemx.conf "
		    "(behind NAT the public one is on no interface); the A/AAAA and PTR "
		    "records are left out and SPF falls back to \"mx\"");
	else if (in->public->a[0].origin == HOST_ADDR_INTERFACE)
		note(l, "the addresses come from the interfaces (no public_address line): "
		    "check that they are the ones the Internet sees");
	if (relay[0] != '\0')
		note(l, "mail leaves through the relay %s: add what its provider documents "
		    "(usually an include:) to the SPF record", relay);
	if (add_mx(in, l) == -1 ||
	    add_addresses(in, l, in->hostname, "the mail host's address: senders connect "
	    "here, receivers compare it with the PTR (FCrDNS)") == -1 ||
	    add_ptrs(in, l) == -1 || add_spf(in, l) == -1 || add_dkim(in, l) == -1 ||
	    add_dmarc(in, l) == -1 || add_mta_sts(in, l) == -1 || add_tls_rpt(in, l) == -1 ||
	    add_tlsa(in, l) == -1)
		return -1;
	return 0;
}

/* ---- printing --------------------------------------------------------------- */

void
dnsrec_print_zone(FILE *f, const struct dnsrec_input *in, const struct dnsrec_list *l)
{
	fprintf(f, "; DNS records for %s, mail host %s (mxctl dns %s)\n", in->domain,
	    in->hostname, in->domain);
	for (size_t i = 0; i < l->nnotes; i++)
		fprintf(f, "; NOTE: %s\n", l->note[i]);
	for (size_t i = 0; i < l->n; i++) {
		const struct dnsrec *r = &l->r[i];
		fprintf(f, "\n; %s\n%s%s IN %s %s\n", r->why,
		    r->where == DNSREC_PROVIDER ? "; " : "", r->name, r->type, r->value);
	}
	if (l->sts_mode == STS_OFF)
		return;
	fprintf(f, "\n; The MTA-STS policy file: serve it as text/plain at\n;   %s\n"
	    "; (mxctl dns %s --mta-sts-policy prints it alone)\n", l->sts_url, in->domain);
	for (const char *p = l->sts_policy; *p != '\0';) {
		const char *e = strstr(p, "\r\n");
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
		fprintf(f, ";   %.*s\n", (int)n, p);
		p += n + (e != NULL ? 2 : 0);
	}
}

static const char *
where_name(enum dnsrec_where w)
{
	return w == DNSREC_PROVIDER ? "provider" : "zone";
}

void
dnsrec_print_json(FILE *f, const struct dnsrec_input *in, const struct dnsrec_list *l)
{
	fputs("{", f);
	json_member(f, 1, "domain", in->domain);
	idn_print_json_member(f, "domain", in->domain, false);
	json_member(f, 0, "hostname", in->hostname);
	fputs(", \"records\": [", f);
	for (size_t i = 0; i < l->n; i++) {
		const struct dnsrec *r = &l->r[i];
		fputs(i ? ", {" : "{", f);
		json_member(f, 1, "name", r->name);
		json_member(f, 0, "type", r->type);
		json_member(f, 0, "value", r->value);
		if (strcmp(r->type, "TXT") == 0)
			json_member(f, 0, "text", r->text);
		json_member(f, 0, "why", r->why);
		json_member(f, 0, "where", where_name(r->where));
		fputs("}", f);
	}
	fputs("], \"notes\": [", f);
	for (size_t i = 0; i < l->nnotes; i++) {
		fputs(i ? ", " : "", f);
		json_string(f, l->note[i]);
	}
	fputs("], \"mta_sts\": ", f);
	if (l->sts_mode == STS_OFF)
		fputs("null", f);
	else {
		fputs("{", f);
		json_member(f, 1, "mode", l->sts_mode == STS_ENFORCE ? "enforce" : "testing");
		json_member(f, 0, "id", l->sts_id);
		json_member(f, 0, "url", l->sts_url);
		json_member(f, 0, "policy", l->sts_policy);
		fputs("}", f);
	}
	fputs("}\n", f);
}
