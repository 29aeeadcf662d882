/*
 * admin/cmd_status.c - mxctl status: what homemx is doing now.
 *
 * Owns: the output only. homemxd answers for the processes it runs (pid,
 * uptime, restarts) and asks every role for its part: the queue its size
 * and its deferred mail by destination and reason, smtpd and submission
 * their connections, the screen its verdicts of the day (lib/metrics.h,
 * the METRIC_STATUS series). A role that is down is shown as such and
 * makes the exit status 1, so a monitoring script notices.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlclient.h"
#include "jsonout.h"
#include "mxctl.h"

static const char *
get(const struct ctl_rec *r, const char *key)
{
	const char *v = ctl_rec_get(r, key);

	return v != NULL ? v : "";
}

static bool
in_section(const struct ctl_rec *r, const char *section)
{
	return strcmp(get(r, "section"), section) == 0;
}

static void
format_uptime(char *buf, size_t size, unsigned long long s)
{
	if (s >= 86400)
		snprintf(buf, size, "%llud%02lluh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, size, "%lluh%02llum", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, size, "%llum%02llus", s / 60, s % 60);
}

static void
print_processes(const struct ctl_result *res)
{
	char up[32];

	printf("%-12s %-11s %8s %10s %8s\n", "PROCESS", "STATE", "PID", "UPTIME", "RESTARTS");
	for (size_t i = 0; i < res->nrec; i++) {
		const struct ctl_rec *r = &res->rec[i];
		if (!in_section(r, "process"))
			continue;
		format_uptime(up, sizeof(up), strtoull(get(r, "uptime"), NULL, 10));
		printf("%-12s %-11s %8s %10s %8s\n", get(r, "role"), get(r, "state"),
		    strcmp(get(r, "pid"), "0") == 0 ? "-" : get(r, "pid"),
		    strcmp(get(r, "pid"), "0") == 0 ? "-" : up, get(r, "restarts"));
	}
}

static void
print_queue(const struct ctl_result *res)
{
	bool header = false;

	for (size_t i = 0; i < res->nrec; i++) {
		const struct ctl_rec *r = &res->rec[i];
		if (in_section(r, "queue"))
			printf("\nqueue: %s messages, %s deferred, %s held, %s deliveries "
			    "in flight\n", get(r, "messages"), get(r, "deferred"),
			    get(r, "held"), get(r, "inflight"));
		if (!in_section(r, "deferred"))
			continue;
		if (!header)
			printf("deferred by destination and reason:\n");
		header = true;
		printf("  %6s  %-30s %s\n", get(r, "recipients"), get(r, "destination"),
		    get(r, "reason")[0] != '\0' ? get(r, "reason") : "-");
	}
}

/* The roles' METRIC_STATUS series: "name{labels} value", by role. */
static void
print_counters(const struct ctl_result *res)
{
	for (size_t i = 0; i < res->nrec; i++) {
		const struct ctl_rec *r = &res->rec[i];
		const char *name = ctl_rec_get(r, "name");
		if (name == NULL)
			continue;
		const char *labels = get(r, "labels");
		printf("%-10s %s%s%s%s %s\n", get(r, "section"), name,
		    labels[0] != '\0' ? "{" : "", labels, labels[0] != '\0' ? "}" : "",
		    get(r, "value"));
	}
}

/* Also when a role is down: the others' part is there. */
static void
print_json(const struct ctl_result *res)
{
	printf("{\"ok\": %s, \"status\": ", res->status == CTL_OK ? "true" : "false");
	json_string(stdout, ctl_status_name(res->status));
	printf(", \"message\": ");
	json_string(stdout, res->text);
	printf(", \"records\": [");
	for (size_t i = 0; i < res->nrec; i++) {
		printf("%s", i > 0 ? ", " : "");
		ctl_rec_json(stdout, &res->rec[i]);
	}
	printf("]}\n");
}

int
cmd_status(struct mxctl *m, int argc, char **argv)
{
	bool json = ctl_take_json(&argc, argv);
	struct ctl_result res;
	int r;

	if (argc != 0)
		return MX_USAGE;
	if (ctl_ask(m, CTL_STATUS, 0, NULL, &res, NULL, NULL) == -1)
		return MX_FAIL;
	if (json)
		print_json(&res);
	else {
		print_processes(&res);
		print_queue(&res);
		printf("\nnow and today:\n");
		print_counters(&res);
	}
	r = res.status == CTL_OK ? MX_OK : ctl_finish(m, &res, false);
	ctl_result_free(&res);
	return r;
}
