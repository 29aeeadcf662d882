/*
 * admin/cmd_doctor.c - `mxctl doctor [DOMAIN] [--json] [--changes FILE]
 * [--mail ADDRESS]`: every check of admin/doctor.h, one line each, and an
 * exit status that is the worst finding (0 OK, 1 WARN, 2 FAIL, 3 could
 * not run).
 *
 * Owns: the order of a run and its privileges. As root: read the DKIM
 * keys (root or _hmx-dkim only), the certificate file and the domain list
 * (the store in a child as its owner, admin/localdomains.c), open the
 * --changes file, load the Public Suffix List; then drop to "nobody" for
 * good before the first packet, since everything after parses what the
 * network sends. Then probe our listeners, run the DNS checks in rounds
 * against dns_server (or, without it, the nameservers of /etc/resolv.conf,
 * the screen's rule, screen/resolvconf.h) through c-ares only, fetch the
 * MTA-STS policies they found, and run the rounds once more.
 * --changes and --mail are for a timer (conf/systemd/homemx-doctor.timer):
 * admin/doctor_watch.c.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../screen/dmarc.h"
#include "../screen/resolvconf.h"
#include "doctor.h"
#include "doctor_dns.h"
#include "doctor_watch.h"
#include "localdomains.h"
#include "mxctl.h"
#include "role.h"

#define DOCTOR_DNS_BUDGET_MS	30000	/* all DNS of one run */
#define DOCTOR_STS_TIMEOUT_MS	10000
#define DOCTOR_DROP_USER	"nobody"

struct doctor_args {
	char		 domain[ADDR_DOMAIN_MAX + 1];	/* "" = all local domains */
	bool		 json;
	const char	*changes;	/* state file, or NULL */
	const char	*mail;		/* address, or NULL */
};

static int
parse_args(struct mxctl *m, int argc, char **argv, struct doctor_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			a->json = true;
		else if (strcmp(argv[i], "--changes") == 0 && i + 1 < argc)
			a->changes = argv[++i];
		else if (strcmp(argv[i], "--mail") == 0 && i + 1 < argc)
			a->mail = argv[++i];
		else if (argv[i][0] != '-' && a->domain[0] == '\0') {
			if (mx_norm_domain(m, argv[i], a->domain, sizeof(a->domain)) == -1)
				return MX_FAIL;
		} else
			return MX_USAGE;
	}
	if (a->mail != NULL && a->changes == NULL) {
		mx_fail(m, "--mail needs --changes FILE (mail is sent when a check turns bad)");
		return MX_FAIL;
	}
	return MX_OK;
}

/* ---- the local facts (as root) -------------------------------------------------------- */

static int
pick_domains(struct mxctl *m, struct doctor *d, const char *only)
{
	static struct local_domains l;
	size_t n;

	if (local_domains_read(m, &l) == -1)
		return -1;
	if (only[0] != '\0' && !local_domains_has(&l, only))
		return mx_fail(m, "domain '%s' is not local: add it first with 'mxctl domain "
		    "add %s' (or a 'domain' line in %s)", only, only, m->config_path);
	n = only[0] != '\0' ? 1 : l.n;
	if (n > DOCTOR_DOMAINS_MAX) {
		d->ndomains_skipped = n - DOCTOR_DOMAINS_MAX;
		n = DOCTOR_DOMAINS_MAX;
	}
	d->dom = calloc(n > 0 ? n : 1, sizeof(*d->dom));
	if (d->dom == NULL)
		return mx_fail(m, "out of memory");
	for (size_t i = 0; i < n; i++)
		snprintf(d->dom[i].name, sizeof(d->dom[i].name), "%s",
		    only[0] != '\0' ? only : l.name[i]);
	d->ndomains = n;
	return 0;
}

static int
read_facts(struct mxctl *m, struct doctor *d, const char *only)
{
	const struct config *c = &m->cfg;
	char err[DKIM_PUB_ERR_MAX + CONFIG_PATH_MAX];

	d->cfg = c;
	d->hostname = c->hostname;
	d->now = time(NULL);
	host_public_addrs(c, &d->public);
	host_sending_addrs(c, &d->public, &d->sending);
	d->sends_ipv6 = host_sends_ipv6(c);
	(void)host_smarthost(c, d->smarthost, sizeof(d->smarthost));
	if (pick_domains(m, d, only) == -1)
		return -1;
	for (size_t i = 0; i < d->ndomains; i++)
		if (dkim_pub_load(c->dkim_key_dir, d->dom[i].name, c->dkim_selector,
		    d->dom[i].dkim, err, sizeof(err)) == -1)
			return mx_fail(m, "%s", err);
	if (c->tls_certificate[0] != '\0')
		(void)cert_chain_load_file(c->tls_certificate, &d->configured, d->cert_err,
		    sizeof(d->cert_err));
	return 0;
}

/* Root gives way to nobody before the first packet. */
static int
drop_privileges(struct mxctl *m)
{
	if (geteuid() != 0)
		return 0;
	if (getpwnam(DOCTOR_DROP_USER) == NULL)
		return mx_fail(m, "no user '%s' to run the network checks as",
		    DOCTOR_DROP_USER);
	privdrop(DOCTOR_DROP_USER, NULL);
	return 0;
}

/* A domain surely not ours, for the relay self-test. */
static const char *
outside_domain(const struct doctor *d)
{
	static const char *candidates[] = { "example.com", "example.net", "example.org" };

	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		bool ours = false;
		for (size_t k = 0; k < d->ndomains; k++)
			ours = ours || strcmp(d->dom[k].name, candidates[i]) == 0;
		if (!ours && !config_has_domain(d->cfg, candidates[i]))
			return candidates[i];
	}
	return "relay-test.invalid";
}

/* ---- the run --------------------------------------------------------------------------- */

struct run {
	struct doctor		*d;
	struct dr_report	*r;
};

static void
round_cb(void *arg, struct doctor_dns *dd)
{
	struct run *run = arg;

	doctor_round(run->d, dd, run->r);
}

static void
fetch_policies(struct doctor *d)
{
	for (size_t i = 0; i < d->ndomains; i++)
		if (d->dom[i].sts.wanted && !d->dom[i].sts.done)
			sts_fetch(d->dom[i].name, &d->dom[i].sts, DOCTOR_STS_TIMEOUT_MS);
}

static int
run_checks(struct mxctl *m, struct doctor *d, struct dr_report *r, const char *servers)
{
	struct run run = { d, r };
	struct doctor_dns *dd;
	const char *why;

	doctor_probe_listeners(d, outside_domain(d));
	if ((dd = ddns_new(servers, DOCTOR_DNS_BUDGET_MS, &why)) == NULL)
		return mx_fail(m, "dns_server %s: %s", servers, why);
	(void)ddns_settle(dd, round_cb, &run);
	fetch_policies(d);
	(void)ddns_settle(dd, round_cb, &run);
	if (ddns_gave_up(dd))
		dr_add(r, DR_WARN, "dns", "check that dns_server answers quickly, then run the "
		    "doctor again", "the DNS time budget (%d s) ran out: the checks that waited "
		    "are marked as unanswered", DOCTOR_DNS_BUDGET_MS / 1000);
	ddns_free(dd);
	return 0;
}

static void
doctor_free(struct doctor *d)
{
	for (size_t i = 0; i < d->nlisteners; i++)
		cert_chain_free(&d->listener[i].chain);
	cert_chain_free(&d->configured);
	free(d->dom);
}

int
cmd_doctor(struct mxctl *m, int argc, char **argv)
{
	static struct dr_report report;
	static struct doctor d;
	struct doctor_args a;
	struct doctor_watch w;
	char servers[256];
	const char *why;
	int rc;

	if ((rc = parse_args(m, argc, argv, &a)) != MX_OK)
		return rc;
	if (screen_dns_servers(m->cfg.dns_server, RESOLV_CONF, servers, sizeof(servers),
	    &why) == -1) {
		mx_fail(m, "doctor: %s (%s)", why, m->config_path);
		return DR_EXIT_ERROR;
	}
	memset(&d, 0, sizeof(d));
	if (read_facts(m, &d, a.domain) == -1 ||
	    doctor_watch_open(m, &w, a.changes, a.mail) == -1) {
		doctor_free(&d);
		return DR_EXIT_ERROR;
	}
	(void)dmarc_psl_init(NULL);	/* before the drop; read-only afterwards */
	if (drop_privileges(m) == -1 || run_checks(m, &d, &report, servers) == -1) {
		doctor_watch_close(&w);
		doctor_free(&d);
		return DR_EXIT_ERROR;
	}
	if (a.changes != NULL)
		doctor_watch_report(&w, &d, &report, a.json, servers);
	else if (a.json)
		doctor_print_json(stdout, &d, &report, servers);
	else
		doctor_print_text(stdout, &d, &report, servers);
	doctor_watch_close(&w);
	doctor_free(&d);
	m->verdict_exit = true;
	return (int)dr_worst(&report);
}
