/*
 * admin/cmd_dns.c - `mxctl dns DOMAIN [--json] [--mta-sts-policy]`: the
 * records to publish for a local domain, as zone-file lines with a reason
 * each (or JSON, or only the MTA-STS policy file), from the live config,
 * DKIM keys and certificate.
 *
 * Owns: gathering the inputs of admin/dnsrecords.h (dnsrec_facts_read),
 * which `mxctl doctor` uses too, so that what doctor expects in DNS is
 * what this command told the admin to publish. Privileges: the DKIM keys
 * are readable by root (or _hmx-dkim) only, so this runs before mxctl's
 * drop to the store owner (own_privileges in the command table); the
 * store is read in a child as its owner (admin/localdomains.c).
 */
#include <stdio.h>
#include <string.h>

#include "dnsrecords.h"
#include "idn_display.h"
#include "localdomains.h"
#include "mxctl.h"

static void
read_certificate(const struct config *c, struct dnsrec_facts *f)
{
	unsigned char md[TLSA_DATA_MAX];
	int n;

	if (c->tls_certificate[0] == '\0')
		return;
	if (cert_chain_load_file(c->tls_certificate, &f->chain, f->cert_err,
	    sizeof(f->cert_err)) == -1)
		return;
	if ((n = tlsa_digest(f->chain.x[0], 1, 1, md, sizeof(md))) > 0)
		(void)hex_encode(md, (size_t)n, f->tlsa_hex, sizeof(f->tlsa_hex));
	if (cert_chain_verify(&f->chain, c->hostname, f->cert_why, sizeof(f->cert_why)) == 0)
		f->cert_why[0] = '\0';
}

int
dnsrec_facts_read(struct mxctl *m, const char *domain, struct dnsrec_facts *f)
{
	const struct config *c = &m->cfg;
	char err[DKIM_PUB_ERR_MAX + CONFIG_PATH_MAX];

	memset(f, 0, sizeof(*f));
	host_public_addrs(c, &f->public);
	host_sending_addrs(c, &f->public, &f->sending);
	(void)host_smarthost(c, f->smarthost, sizeof(f->smarthost));
	if (dkim_pub_load(c->dkim_key_dir, domain, c->dkim_selector, f->dkim, err,
	    sizeof(err)) == -1)
		return mx_fail(m, "%s", err);
	read_certificate(c, f);
	f->in.domain = domain;
	f->in.hostname = c->hostname;
	f->in.public = &f->public;
	f->in.sending = &f->sending;
	f->in.dkim = f->dkim;
	f->in.selector = c->dkim_selector;
	f->in.report_address = c->report_address;
	f->in.tls = f->chain.n > 0;
	f->in.tlsa_hex = f->tlsa_hex[0] != '\0' ? f->tlsa_hex : NULL;
	f->in.cert_verifies = f->chain.n > 0 && f->cert_why[0] == '\0';
	f->in.cert_why = f->cert_why;
	f->in.smarthost = f->smarthost;
	return 0;
}

void
dnsrec_facts_free(struct dnsrec_facts *f)
{
	cert_chain_free(&f->chain);
}

/* The domain must be ours: records for a stranger's domain help nobody. */
static int
check_local(struct mxctl *m, const char *domain)
{
	static struct local_domains l;

	if (local_domains_read(m, &l) == -1)
		return -1;
	if (!local_domains_has(&l, domain))
		return mx_fail(m, "domain '%s' is not local: add it first with 'mxctl domain "
		    "add %s' (or a 'domain' line in %s)", domain, domain, m->config_path);
	return 0;
}

/* DNS holds A-labels only (RFC 5890 2.3.2.1): every name below stays in
 * that form, and a comment says which domain a person knows it as. */
static void
print_unicode_note(FILE *out, const char *domain)
{
	char u[4 * ADDR_DOMAIN_MAX + 1];

	if (idn_domain_unicode(domain, u, sizeof(u)))
		fprintf(out, "; %s is %s: DNS names are written in this A-label "
		    "form\n", domain, u);
}

int
dnsrecords_print(struct mxctl *m, const char *domain, bool json, FILE *out)
{
	static struct dnsrec_facts f;
	static struct dnsrec_list l;
	int r = MX_FAIL;

	if (dnsrec_facts_read(m, domain, &f) == -1)
		return MX_FAIL;
	if (dnsrec_build(&f.in, &l) == -1)
		mx_fail(m, "%s: a record name is longer than DNS allows", domain);
	else {
		if (f.cert_err[0] != '\0')
			fprintf(stderr, "mxctl: %s\n", f.cert_err);
		if (json)
			dnsrec_print_json(out, &f.in, &l);
		else {
			print_unicode_note(out, domain);
			dnsrec_print_zone(out, &f.in, &l);
		}
		r = MX_OK;
	}
	dnsrec_facts_free(&f);
	return r;
}

/* Only the policy file, to redirect into the web server's directory. */
static int
print_policy(struct mxctl *m, const char *domain)
{
	static struct dnsrec_facts f;
	static struct dnsrec_list l;
	int r = MX_FAIL;

	if (dnsrec_facts_read(m, domain, &f) == -1)
		return MX_FAIL;
	if (dnsrec_build(&f.in, &l) == -1)
		mx_fail(m, "%s: a record name is longer than DNS allows", domain);
	else if (l.sts_mode == STS_OFF)
		mx_fail(m, "no MTA-STS policy without a certificate: set tls_certificate and "
		    "tls_key in %s%s%s", m->config_path, f.cert_err[0] ? " (" : "",
		    f.cert_err[0] ? f.cert_err : "");
	else {
		fputs(l.sts_policy, stdout);
		r = MX_OK;
	}
	dnsrec_facts_free(&f);
	return r;
}

/* mxctl dns DOMAIN [--json] [--mta-sts-policy] */
int
cmd_dns(struct mxctl *m, int argc, char **argv)
{
	char domain[ADDR_DOMAIN_MAX + 1];
	bool json = false, policy = false;

	if (argc < 1)
		return MX_USAGE;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--mta-sts-policy") == 0)
			policy = true;
		else
			return MX_USAGE;
	}
	if (json && policy)
		return MX_USAGE;
	if (mx_norm_domain(m, argv[0], domain, sizeof(domain)) == -1 ||
	    check_local(m, domain) == -1)
		return MX_FAIL;
	return policy ? print_policy(m, domain) : dnsrecords_print(m, domain, json, stdout);
}
