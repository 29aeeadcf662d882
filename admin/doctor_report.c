/*
 * admin/doctor_report.c - the doctor's findings: collecting them, one
 * round of every check, and printing them (one line each, or JSON).
 *
 * Owns: the report of the current round and its output format. A line is
 *	STATUS  ID: what was found -- fix: what to do
 * where ID is stable between runs ("spf example.org", "ptr 192.0.2.1"),
 * so scripts and `--changes` can follow a check over time.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "doctor.h"
#include "doctor_dns.h"
#include "jsonout.h"

void
dr_reset(struct dr_report *r)
{
	r->n = 0;
	r->overflow = false;
}

void
dr_add(struct dr_report *r, enum dr_status st, const char *id, const char *fix,
    const char *what_fmt, ...)
{
	struct dr_finding *f;
	va_list ap;

	if (r->n == DR_FINDINGS_MAX) {
		r->overflow = true;
		return;
	}
	f = &r->f[r->n++];
	f->status = st;
	snprintf(f->id, sizeof(f->id), "%s", id);
	snprintf(f->fix, sizeof(f->fix), "%s", fix != NULL && st != DR_OK ? fix : "");
	va_start(ap, what_fmt);
	vsnprintf(f->what, sizeof(f->what), what_fmt, ap);
	va_end(ap);
}

enum dr_status
dr_worst(const struct dr_report *r)
{
	enum dr_status w = DR_OK;

	for (size_t i = 0; i < r->n; i++)
		if (r->f[i].status > w)
			w = r->f[i].status;
	return w;
}

const char *
dr_status_name(enum dr_status s)
{
	return s == DR_FAIL ? "FAIL" : s == DR_WARN ? "WARN" : "OK";
}

const struct dr_finding *
dr_find(const struct dr_report *r, const char *id)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->f[i].id, id) == 0)
			return &r->f[i];
	return NULL;
}

void
doctor_round(struct doctor *d, struct doctor_dns *dd, struct dr_report *r)
{
	dr_reset(r);
	doctor_check_listeners(d, r);
	doctor_check_host(d, dd, r);
	doctor_check_tlsa(d, dd, r);
	for (size_t i = 0; i < d->ndomains; i++) {
		doctor_check_domain(d, &d->dom[i], dd, r);
		doctor_check_policies(d, &d->dom[i], dd, r);
	}
	if (d->ndomains_skipped > 0)
		dr_add(r, DR_WARN, "domains", "run 'mxctl doctor DOMAIN' for the others",
		    "%zu more domains were not checked (at most %d at once)",
		    d->ndomains_skipped, DOCTOR_DOMAINS_MAX);
}

/* ---- output ---------------------------------------------------------------------- */

void
doctor_print_line(FILE *out, const struct dr_finding *f, const char *note)
{
	fprintf(out, "%-4s  %s: %s%s%s", dr_status_name(f->status), f->id, f->what,
	    note != NULL ? " " : "", note != NULL ? note : "");
	if (f->fix[0] != '\0')
		fprintf(out, " -- fix: %s", f->fix);
	fputc('\n', out);
}

static void
counts(const struct dr_report *r, size_t c[3])
{
	c[0] = c[1] = c[2] = 0;
	for (size_t i = 0; i < r->n; i++)
		c[r->f[i].status]++;
}

void
doctor_print_text(FILE *out, const struct doctor *d, const struct dr_report *r,
    const char *servers)
{
	size_t c[3];

	fprintf(out, "mxctl doctor: %s, %zu address%s, %zu domain%s, dns_server %s\n",
	    d->hostname, d->public.n, d->public.n == 1 ? "" : "es", d->ndomains,
	    d->ndomains == 1 ? "" : "s", servers);
	for (size_t i = 0; i < r->n; i++)
		doctor_print_line(out, &r->f[i], NULL);
	counts(r, c);
	fprintf(out, "%zu OK, %zu WARN, %zu FAIL%s\n", c[0], c[1], c[2],
	    r->overflow ? " (more findings than the report holds)" : "");
}

void
doctor_print_json(FILE *out, const struct doctor *d, const struct dr_report *r,
    const char *servers)
{
	size_t c[3];

	fputs("{", out);
	json_member(out, 1, "hostname", d->hostname);
	json_member(out, 0, "dns_server", servers);
	fputs(", \"addresses\": [", out);
	for (size_t i = 0; i < d->public.n; i++) {
		fputs(i ? ", " : "", out);
		json_string(out, d->public.a[i].text);
	}
	fputs("], \"domains\": [", out);
	for (size_t i = 0; i < d->ndomains; i++) {
		fputs(i ? ", " : "", out);
		json_string(out, d->dom[i].name);
	}
	fputs("], \"checks\": [", out);
	for (size_t i = 0; i < r->n; i++) {
		const struct dr_finding *f = &r->f[i];
		fputs(i ? ", {" : "{", out);
		json_member(out, 1, "status", dr_status_name(f->status));
		json_member(out, 0, "id", f->id);
		json_member(out, 0, "what", f->what);
		json_member(out, 0, "fix", f->fix);
		fputs("}", out);
	}
	counts(r, c);
	fprintf(out, "], \"ok\": %zu, \"warn\": %zu, \"fail\": %zu, ", c[0], c[1], c[2]);
	json_member(out, 1, "worst", dr_status_name(dr_worst(r)));
	fputs("}\n", out);
}
