/*
 * relay/tlsrpt.c - see tlsrpt.h.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/x509_vfy.h>

#include "log.h"
#include "state.h"
#include "tlsrpt.h"
#include "util.h"

#define DAY_SECONDS	86400
#define REPORT_MAX	16384

static const char *result_words[] = {
	[TLSRPT_OK] = "success",
	[TLSRPT_STARTTLS_NOT_SUPPORTED] = "starttls-not-supported",
	[TLSRPT_CERT_HOST_MISMATCH] = "certificate-host-mismatch",
	[TLSRPT_CERT_EXPIRED] = "certificate-expired",
	[TLSRPT_CERT_NOT_TRUSTED] = "certificate-not-trusted",
	[TLSRPT_VALIDATION_FAILURE] = "validation-failure",
	[TLSRPT_TLSA_INVALID] = "tlsa-invalid",
	[TLSRPT_DNSSEC_INVALID] = "dnssec-invalid",
	[TLSRPT_STS_FETCH_ERROR] = "sts-policy-fetch-error",
	[TLSRPT_STS_INVALID] = "sts-policy-invalid",
	[TLSRPT_STS_WEBPKI_INVALID] = "sts-webpki-invalid",
};

static struct tlsrpt_domain	domains[TLSRPT_DOMAINS_MAX];
static size_t			ndomains;
static time_t			day;		/* UTC midnight of the counts */
static char			org[ADDR_DOMAIN_MAX + 1];
static struct event		*ev_flush;

const char *
tlsrpt_result_word(enum tlsrpt_result r)
{
	if ((size_t)r >= sizeof(result_words) / sizeof(result_words[0]))
		return "validation-failure";
	return result_words[r];
}

enum tlsrpt_result
tlsrpt_result_of_verify(long e)
{
	switch (e) {
	case X509_V_OK:
		return TLSRPT_OK;
	case X509_V_ERR_HOSTNAME_MISMATCH:
		return TLSRPT_CERT_HOST_MISMATCH;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return TLSRPT_CERT_EXPIRED;
	case X509_V_ERR_DANE_NO_MATCH:
		return TLSRPT_VALIDATION_FAILURE;
	default:
		return TLSRPT_CERT_NOT_TRUSTED;
	}
}

static time_t
midnight(time_t t)
{
	return t - t % DAY_SECONDS;
}

/* ---- the JSON ---------------------------------------------------------------------------- */

struct out {
	char	*buf;
	size_t	 size, len;
	bool	 full;
};

static void
put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len)
		o->full = true;
	else
		o->len += (size_t)n;
}

/* A JSON string of our own or checked text (host names, IPs, policy
 * lines that lib/sts_policy.c parsed): only '"' and '\\' and controls
 * need care. */
static void
put_string(struct out *o, const char *s, size_t n)
{
	put(o, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			put(o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			put(o, "\\u%04x", c);
		else
			put(o, "%c", c);
	}
	put(o, "\"");
}

static void
put_date(struct out *o, const char *key, time_t t)
{
	struct tm tm;
	char text[32];

	gmtime_r(&t, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
	put(o, "\"%s\": \"%s\"", key, text);
}

static void
put_policy(struct out *o, const struct tlsrpt_domain *d)
{
	const char *p = d->policy;
	size_t lines = 0;

	put(o, "\"policy\": {\"policy-type\": \"%s\", \"policy-string\": [",
	    d->sts ? "sts" : "tlsa");
	while (*p != '\0') {
		size_t n = strcspn(p, "\n");
		if (n > 0) {
			put(o, "%s", lines++ == 0 ? "" : ", ");
			put_string(o, p, n);
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	put(o, "], \"policy-domain\": ");
	put_string(o, d->domain, strlen(d->domain));
	put(o, "}");
}

static void
put_detail(struct out *o, const struct tlsrpt_detail *x, bool first)
{
	put(o, "%s{\"result-type\": \"%s\"", first ? "" : ", ", tlsrpt_result_word(x->result));
	if (x->ip[0] != '\0') {
		put(o, ", \"receiving-ip\": ");
		put_string(o, x->ip, strlen(x->ip));
	}
	if (x->mx[0] != '\0') {
		put(o, ", \"receiving-mx-hostname\": ");
		put_string(o, x->mx, strlen(x->mx));
	}
	put(o, ", \"failed-session-count\": %" PRIu64 "}", x->count);
}

size_t
tlsrpt_format(const struct tlsrpt_domain *d, time_t start, const char *organization,
    char *buf, size_t size)
{
	struct out o = { buf, size, 0, false };
	struct tm tm;
	char date[16];

	gmtime_r(&start, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	put(&o, "{\"organization-name\": ");
	put_string(&o, organization, strlen(organization));
	put(&o, ", \"date-range\": {");
	put_date(&o, "start-datetime", start);
	put(&o, ", ");
	put_date(&o, "end-datetime", start + DAY_SECONDS - 1);
	put(&o, "}, \"contact-info\": \"postmaster@%s\", \"report-id\": \"%s-%s@%s\", "
	    "\"policies\": [{", organization, date, d->domain, organization);
	put_policy(&o, d);
	put(&o, ", \"summary\": {\"total-successful-session-count\": %" PRIu64 ", "
	    "\"total-failure-session-count\": %" PRIu64 "}", d->ok, d->failed);
	if (d->ndetails > 0) {
		put(&o, ", \"failure-details\": [");
		for (size_t i = 0; i < d->ndetails; i++)
			put_detail(&o, &d->details[i], i == 0);
		put(&o, "]");
	}
	put(&o, "}]}\n");
	return o.full ? 0 : o.len;
}

/* ---- the counts ------------------------------------------------------------------------- */

static void
write_domain(struct tlsrpt_domain *d)
{
	static char buf[REPORT_MAX];
	char name[ADDR_DOMAIN_MAX + 32], date[16];
	struct tm tm;
	size_t n;

	gmtime_r(&day, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	snprintf(name, sizeof(name), "tlsrpt-%s-%s.json", date, d->domain);
	if ((n = tlsrpt_format(d, day, org, buf, sizeof(buf))) == 0) {
		log_warnx("relay: TLS-RPT report for %s does not fit", d->domain);
		return;
	}
	if (relay_state_write(name, buf, n) == 0)
		d->dirty = false;
}

void
tlsrpt_flush(void)
{
	for (size_t i = 0; i < ndomains; i++)
		if (domains[i].dirty)
			write_domain(&domains[i]);
}

/* A new UTC day: yesterday's files are complete, today starts at zero. */
static void
roll_day(time_t now)
{
	if (midnight(now) == day)
		return;
	tlsrpt_flush();
	ndomains = 0;
	day = midnight(now);
}

static struct tlsrpt_domain *
domain_for(const char *name, bool sts)
{
	for (size_t i = 0; i < ndomains; i++)
		if (domains[i].sts == sts && strcmp(domains[i].domain, name) == 0)
			return &domains[i];
	if (ndomains == TLSRPT_DOMAINS_MAX)
		return NULL;
	struct tlsrpt_domain *d = &domains[ndomains++];
	memset(d, 0, sizeof(*d));
	snprintf(d->domain, sizeof(d->domain), "%s", name);
	d->sts = sts;
	return d;
}

static void
add_detail(struct tlsrpt_domain *d, enum tlsrpt_result r, const char *mx, const char *ip)
{
	for (size_t i = 0; i < d->ndetails; i++) {
		struct tlsrpt_detail *x = &d->details[i];
		if (x->result == r && strcmp(x->mx, mx) == 0 && strcmp(x->ip, ip) == 0) {
			x->count++;
			return;
		}
	}
	if (d->ndetails == TLSRPT_DETAILS_MAX)
		return;		/* counted in the summary only */
	struct tlsrpt_detail *x = &d->details[d->ndetails++];
	x->result = r;
	snprintf(x->mx, sizeof(x->mx), "%s", mx);
	snprintf(x->ip, sizeof(x->ip), "%s", ip);
	x->count = 1;
}

void
tlsrpt_note(const char *domain, enum tls_policy_kind kind, const char *policy_text,
    const char *mx, const char *ip, enum tlsrpt_result r)
{
	bool sts = kind == TLSP_STS_ENFORCE || kind == TLSP_STS_TESTING;
	struct tlsrpt_domain *d;

	if (!sts && kind != TLSP_DANE && kind != TLSP_DANE_ENCRYPT)
		return;		/* no policy the receiving domain published */
	roll_day(time(NULL));
	if ((d = domain_for(domain, sts)) == NULL)
		return;
	if (policy_text != NULL)
		snprintf(d->policy, sizeof(d->policy), "%s", policy_text);
	d->dirty = true;
	if (mx == NULL)		/* the policy only (a successful fetch) */
		return;
	if (r == TLSRPT_OK)
		d->ok++;
	else {
		d->failed++;
		add_detail(d, r, mx, ip != NULL ? ip : "");
	}
}

const char *
tlsrpt_tlsa_text(const struct dane_set *set, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < set->n; i++) {
		const struct dane_tlsa *t = &set->rr[i];
		int n = snprintf(buf + o, size - o, "%u %u %u ", t->usage, t->selector, t->mtype);
		if (n < 0 || (size_t)n >= size - o)
			break;
		o += (size_t)n;
		for (size_t k = 0; k < t->len && o + 3 < size; k++, o += 2)
			snprintf(buf + o, size - o, "%02x", dane_data(set, i)[k]);
		if (o + 2 >= size)
			break;
		buf[o++] = '\n';
		buf[o] = '\0';
	}
	return buf;
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	roll_day(time(NULL));
	tlsrpt_flush();
}

void
tlsrpt_init(struct event_base *b, const char *organization)
{
	struct timeval tv = { TLSRPT_FLUSH_SECONDS, 0 };

	snprintf(org, sizeof(org), "%s", organization);
	day = midnight(time(NULL));
	if (b == NULL)
		return;
	if ((ev_flush = event_new(b, -1, EV_PERSIST, on_flush, NULL)) == NULL ||
	    event_add(ev_flush, &tv) == -1)
		fatalx("relay: tlsrpt event_new");
}
