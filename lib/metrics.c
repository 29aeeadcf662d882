/*
 * lib/metrics.c - the table of a role's series (lib/metrics.h says what
 * and why). A linear table: a role has tens of series, and a lookup is a
 * few string compares next to the work it counts. It writes its records
 * through struct metrics_out and knows nothing of the control protocol:
 * lib/metrics_ctl.c puts them in a control answer, so code that only
 * counts (and its fuzz targets) does not link the IPC codec.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "util.h"

static const double bucket_le[METRICS_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};

struct family {
	char		 name[METRICS_NAME_MAX + 1];
	enum metric_type type;
	unsigned	 flags;
	char		 help[METRICS_HELP_MAX + 1];
};

struct series {
	unsigned	 family;
	char		 labels[METRICS_LABELS_MAX];
	double		 value;		/* counter, gauge; histogram: sum */
	unsigned long long count;	/* histogram */
	unsigned long long bucket[METRICS_BUCKETS];
	long		 day;		/* METRIC_DAILY: the day of value */
};

static struct family	families[METRICS_FAMILIES_MAX];
static unsigned		nfamilies;
static struct series	series[METRICS_SERIES_MAX];
static unsigned		nseries;
static unsigned long long dropped;
static void		(*refresh)(void);

void
metrics_on_write(void (*fn)(void))
{
	refresh = fn;
}

void
metrics_reset(void)
{
	nfamilies = nseries = 0;
	dropped = 0;
}

static int
family_find(const char *name)
{
	for (unsigned i = 0; i < nfamilies; i++)
		if (strcmp(families[i].name, name) == 0)
			return (int)i;
	return -1;
}

void
metrics_family(const char *name, enum metric_type type, unsigned flags,
    const char *help)
{
	if (family_find(name) >= 0 || nfamilies == METRICS_FAMILIES_MAX ||
	    !util_is_snake_name(name, strlen(name), METRICS_NAME_MAX))
		return;
	struct family *f = &families[nfamilies++];
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->help, sizeof(f->help), "%s", help);
	f->type = type;
	f->flags = flags;
}

/* The UTC day: a role under seccomp or in a chroot can not read the
 * local time zone (/etc/localtime), so "today" is the UTC day. */
static long
local_day(void)
{
	return (long)(time(NULL) / 86400);
}

/* The series of (name, labels), made if new; NULL if the family is
 * unknown or the table is full. */
static struct series *
series_get(const char *name, const char *labels)
{
	int f = family_find(name);

	if (f < 0)
		return NULL;
	for (unsigned i = 0; i < nseries; i++)
		if (series[i].family == (unsigned)f && strcmp(series[i].labels, labels) == 0)
			return &series[i];
	if (nseries == METRICS_SERIES_MAX || strlen(labels) >= METRICS_LABELS_MAX) {
		dropped++;
		return NULL;
	}
	struct series *s = &series[nseries++];
	memset(s, 0, sizeof(*s));
	s->family = (unsigned)f;
	snprintf(s->labels, sizeof(s->labels), "%s", labels);
	s->day = local_day();
	return s;
}

static void
roll_day(struct series *s)
{
	long today;

	if (!(families[s->family].flags & METRIC_DAILY) || (today = local_day()) == s->day)
		return;
	s->day = today;
	s->value = 0;
}

void
metrics_add(const char *name, const char *labels, double n)
{
	struct series *s = series_get(name, labels);

	if (s != NULL) {
		roll_day(s);
		s->value += n;
	}
}

void
metrics_set(const char *name, const char *labels, double v)
{
	struct series *s = series_get(name, labels);

	if (s != NULL)
		s->value = v;
}

void
metrics_observe(const char *name, const char *labels, double seconds)
{
	struct series *s = series_get(name, labels);

	if (s == NULL)
		return;
	s->value += seconds;
	s->count++;
	for (unsigned i = 0; i < METRICS_BUCKETS; i++)
		if (seconds <= bucket_le[i])
			s->bucket[i]++;
}

void
metrics_label(char *buf, size_t size, const char *key, const char *value)
{
	size_t o = strlen(buf);

	if (o + 1 >= size)
		return;
	int n = snprintf(buf + o, size - o, "%s%s=\"", o > 0 ? "," : "", key);
	if (n < 0 || (size_t)n >= size - o) {
		buf[o] = '\0';
		return;
	}
	o += (size_t)n;
	for (const char *p = value; *p != '\0' && o + 4 < size; p++) {
		if (*p == '\\' || *p == '"' || *p == '\n') {
			buf[o++] = '\\';
			buf[o++] = *p == '\n' ? 'n' : *p;
		} else if ((unsigned char)*p >= 0x20)
			buf[o++] = *p;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

/* ---- the answer --------------------------------------------------------- */

static void
sample(const struct metrics_out *w, const char *metric, const char *labels, double v)
{
	char num[48];

	if (v == (double)(unsigned long long)v && v < 1e18)
		snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	else
		snprintf(num, sizeof(num), "%.6f", v);
	w->record(w->arg);
	w->text(w->arg, "metric", metric);
	w->text(w->arg, "labels", labels);
	w->number(w->arg, "value", num);
}

static void
histogram_samples(const struct metrics_out *w, const struct family *f, const struct series *s)
{
	char metric[METRICS_NAME_MAX + 16], labels[METRICS_LABELS_MAX + 32], le[16];

	snprintf(metric, sizeof(metric), "%.32s_bucket", f->name);
	for (unsigned i = 0; i <= METRICS_BUCKETS; i++) {
		snprintf(labels, sizeof(labels), "%s", s->labels);
		if (i < METRICS_BUCKETS)
			snprintf(le, sizeof(le), "%g", bucket_le[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		metrics_label(labels, sizeof(labels), "le", le);
		sample(w, metric, labels, (double)(i < METRICS_BUCKETS ? s->bucket[i] : s->count));
	}
	snprintf(metric, sizeof(metric), "%.32s_sum", f->name);
	sample(w, metric, s->labels, s->value);
	snprintf(metric, sizeof(metric), "%.32s_count", f->name);
	sample(w, metric, s->labels, (double)s->count);
}

static const char *
type_name(enum metric_type t)
{
	return t == METRIC_COUNTER ? "counter" : t == METRIC_GAUGE ? "gauge" : "histogram";
}

static void
write_family(const struct metrics_out *w, unsigned fi, const char *role)
{
	const struct family *f = &families[fi];
	char labels[METRICS_LABELS_MAX + 32];

	w->record(w->arg);
	w->text(w->arg, "family", f->name);
	w->text(w->arg, "type", type_name(f->type));
	w->text(w->arg, "help", f->help);
	for (unsigned i = 0; i < nseries; i++) {
		struct series *s = &series[i];
		if (s->family != fi)
			continue;
		roll_day(s);
		if (f->type == METRIC_HISTOGRAM) {
			histogram_samples(w, f, s);
			continue;
		}
		snprintf(labels, sizeof(labels), "%s", s->labels);
		(void)role;
		sample(w, f->name, labels, s->value);
	}
}

static void
write_status(const struct metrics_out *w, const char *role)
{
	char num[48];

	for (unsigned i = 0; i < nseries; i++) {
		struct series *s = &series[i];
		const struct family *f = &families[s->family];
		if (!(f->flags & METRIC_STATUS) || f->type == METRIC_HISTOGRAM)
			continue;
		roll_day(s);
		snprintf(num, sizeof(num), "%.0f", s->value);
		w->record(w->arg);
		w->text(w->arg, "section", role);
		w->text(w->arg, "name", f->name);
		w->text(w->arg, "labels", s->labels);
		w->number(w->arg, "value", num);
	}
}

void
metrics_write_to(const struct metrics_out *w, const char *role, bool status_only)
{
	char labels[METRICS_LABELS_MAX] = "";

	if (refresh != NULL)
		refresh();
	if (status_only) {
		write_status(w, role);
		return;
	}
	for (unsigned i = 0; i < nfamilies; i++)
		write_family(w, i, role);
	metrics_label(labels, sizeof(labels), "role", role);
	w->record(w->arg);
	w->text(w->arg, "family", "homemx_metrics_dropped_total");
	w->text(w->arg, "type", "counter");
	w->text(w->arg, "help", "Series not kept because the role's table was full.");
	sample(w, "homemx_metrics_dropped_total", labels, (double)dropped);
}
