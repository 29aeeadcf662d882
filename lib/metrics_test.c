/*
 * lib/metrics_test.c - a role's series: counters add, gauges set,
 * histograms fill cumulative buckets, label values are quoted, unknown
 * families are ignored, the table's bound holds (and the overflow is
 * counted), and status_only writes only the METRIC_STATUS families.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ipc_decode.h"
#include "metrics.h"

static struct msg_ctl_answer answer;	/* 200 KB */
static char out[65536];		/* "metric{labels} value" lines of the last frame */

static void
collect(const struct ipc_builder *b, void *arg)
{
	struct ipc_frame f = { MSG_CTL_ANSWER, (uint32_t)b->len, 1, b->buf, -1 };
	const char *why;
	size_t o = 0;

	(void)arg;
	if (ipc_decode_ctl_answer(&f, &answer, &why) == -1)
		fail_msg("metrics frame does not decode: %s", why);
	out[0] = '\0';
	for (unsigned r = 0; r < answer.nrec; r++) {
		const char *m = ctl_record_get(&answer, r, "metric");
		const char *n = ctl_record_get(&answer, r, "name");
		const char *l = ctl_record_get(&answer, r, "labels");
		const char *v = ctl_record_get(&answer, r, "value");
		if ((m == NULL && n == NULL) || v == NULL)
			continue;
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s{%s} %s\n",
		    m != NULL ? m : n, l != NULL ? l : "", v);
	}
}

static void
write_all_metrics(bool status_only)
{
	static struct ctl_writer w;

	ctl_writer_init(&w, collect, NULL);
	metrics_write(&w, "test", status_only);
	ctl_writer_finish(&w, CTL_OK, "");
}

static void
test_counter_gauge_histogram(void **state)
{
	char labels[METRICS_LABELS_MAX] = "";

	(void)state;
	metrics_reset();
	metrics_family("c_total", METRIC_COUNTER, 0, "c");
	metrics_family("g", METRIC_GAUGE, METRIC_STATUS, "g");
	metrics_family("h_seconds", METRIC_HISTOGRAM, 0, "h");
	metrics_label(labels, sizeof(labels), "domain", "ex\"am\\ple\n.org");
	metrics_add("c_total", labels, 1);
	metrics_add("c_total", labels, 2);
	metrics_add("nobody_declared", "", 5);
	metrics_set("g", "", 7);
	metrics_set("g", "", 4);
	metrics_observe("h_seconds", "", 0.004);
	metrics_observe("h_seconds", "", 3);
	metrics_observe("h_seconds", "", 100);
	write_all_metrics(false);
	assert_non_null(strstr(out, "c_total{domain=\"ex\\\"am\\\\ple\\n.org\"} 3\n"));
	assert_non_null(strstr(out, "g{} 4\n"));
	assert_non_null(strstr(out, "h_seconds_bucket{le=\"0.001\"} 0\n"));
	assert_non_null(strstr(out, "h_seconds_bucket{le=\"0.005\"} 1\n"));
	assert_non_null(strstr(out, "h_seconds_bucket{le=\"5\"} 2\n"));
	assert_non_null(strstr(out, "h_seconds_bucket{le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(out, "h_seconds_count{} 3\n"));
	assert_non_null(strstr(out, "h_seconds_sum{} 103.004000\n"));
	assert_null(strstr(out, "nobody_declared"));
	assert_non_null(strstr(out, "homemx_metrics_dropped_total{role=\"test\"} 0\n"));

	write_all_metrics(true);
	assert_string_equal(out, "g{} 4\n");
}

static void
test_table_is_bounded(void **state)
{
	char labels[METRICS_LABELS_MAX];

	(void)state;
	metrics_reset();
	metrics_family("d_total", METRIC_COUNTER, 0, "d");
	for (unsigned i = 0; i < METRICS_SERIES_MAX + 10; i++) {
		labels[0] = '\0';
		char v[16];
		snprintf(v, sizeof(v), "%u", i);
		metrics_label(labels, sizeof(labels), "n", v);
		metrics_add("d_total", labels, 1);
	}
	write_all_metrics(false);
	assert_non_null(strstr(out, "homemx_metrics_dropped_total{role=\"test\"} 10\n"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_gauge_histogram),
		cmocka_unit_test(test_table_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
