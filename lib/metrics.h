/*
 * lib/metrics.h - a role's own counters, gauges and latency histograms,
 * answered to homemxd's CTL_METRICS and CTL_STATUS (lib/ipc_ctl.h), which
 * `mxctl metrics` prints in the Prometheus text format.
 *
 * Owns: the process's table of series (a family name and a label set).
 * Each role counts only what it alone sees (smtpd its connections, screen
 * its verdicts and DNS latency, queue commits and delivery results), so
 * no counter needs a lock or a round trip; homemxd only concatenates.
 * The table is bounded (METRICS_SERIES_MAX): a series beyond it is not
 * kept and counted in homemx_metrics_dropped_total instead, so a flood of
 * new label values (destinations) can not grow a role's memory.
 * Labels are written by the caller as Prometheus label pairs
 * (`result="ok",domain="example.org"`); metrics_label() quotes a value.
 */
#ifndef HMX_METRICS_H
#define HMX_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#define METRICS_FAMILIES_MAX	32
#define METRICS_NAME_MAX	32	/* a family name; fits CTL_KEY_MAX */
#define METRICS_HELP_MAX	512	/* its help text; fits CTL_VALUE_MAX */
#define METRICS_SERIES_MAX	256
#define METRICS_LABELS_MAX	160
#define METRICS_BUCKETS		13

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

/* Flags of a family. */
#define METRIC_STATUS	0x1	/* also shown by `mxctl status` */
#define METRIC_DAILY	0x2	/* starts again from 0 each local day */

/* Declares a family once (at init); name is [a-z_0-9]. */
void	metrics_family(const char *name, enum metric_type, unsigned flags,
	    const char *help);
void	metrics_add(const char *name, const char *labels, double n);
void	metrics_set(const char *name, const char *labels, double v);
/* One latency, in seconds, into a histogram family. */
void	metrics_observe(const char *name, const char *labels, double seconds);
/* key="value" with the value quoted as Prometheus wants (\\, \", \n) and
 * cut to fit; appended to buf after a comma if buf is not empty. */
void	metrics_label(char *buf, size_t size, const char *key, const char *value);

/* Where the records go: record() starts one, text() and number() add a
 * field to it (a number is already formatted as text). */
struct metrics_out {
	void	(*record)(void *arg);
	void	(*text)(void *arg, const char *key, const char *value);
	void	(*number)(void *arg, const char *key, const char *value);
	void	*arg;
};

/*
 * Writes every series as records: one {family, type, help} per family,
 * then one {metric, labels, value} per sample (a histogram gives its
 * _bucket, _sum and _count samples). status_only: only METRIC_STATUS
 * families, as {name, labels, value}.
 */
void	metrics_write_to(const struct metrics_out *, const char *role, bool status_only);

/* The same into a control answer (lib/metrics_ctl.c; links the codec). */
struct ctl_writer;
void	metrics_write(struct ctl_writer *, const char *role, bool status_only);
/* fn runs before every metrics_write: a role sets its gauges there
 * (the queue its size) instead of at every change. */
void	metrics_on_write(void (*fn)(void));
/* For the unit test: forget everything. */
void	metrics_reset(void);

#endif
