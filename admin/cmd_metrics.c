/*
 * admin/cmd_metrics.c - mxctl metrics: every role's counters in the
 * Prometheus text exposition format (version 0.0.4), for a textfile
 * collector or a scrape through a small wrapper.
 *
 * Owns: the merge. Each role answers its own families (lib/metrics.h);
 * one family may come from several roles (homemx_metrics_dropped_total),
 * and the format wants each family's HELP and TYPE once with all its
 * samples after them, so the records are grouped by family here.
 */
#include <stdio.h>
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

/* Prints family f's header and every sample that follows any record of
 * a family with the same name. */
static void
print_family(const struct ctl_result *res, size_t f)
{
	const char *name = get(&res->rec[f], "family");

	printf("# HELP %s %s\n", name, get(&res->rec[f], "help"));
	printf("# TYPE %s %s\n", name, get(&res->rec[f], "type"));
	const char *current = NULL;
	for (size_t i = 0; i < res->nrec; i++) {
		const struct ctl_rec *r = &res->rec[i];
		if (ctl_rec_get(r, "family") != NULL) {
			current = get(r, "family");
			continue;
		}
		if (current == NULL || strcmp(current, name) != 0 ||
		    ctl_rec_get(r, "metric") == NULL)
			continue;
		const char *labels = get(r, "labels");
		printf("%s%s%s%s %s\n", get(r, "metric"), labels[0] != '\0' ? "{" : "",
		    labels, labels[0] != '\0' ? "}" : "", get(r, "value"));
	}
}

static bool
seen_before(const struct ctl_result *res, size_t f)
{
	for (size_t i = 0; i < f; i++)
		if (ctl_rec_get(&res->rec[i], "family") != NULL &&
		    strcmp(get(&res->rec[i], "family"), get(&res->rec[f], "family")) == 0)
			return true;
	return false;
}

static void
print_json(const struct ctl_result *res)
{
	bool first = true;

	printf("{\"ok\": %s, \"status\": ", res->status == CTL_OK ? "true" : "false");
	json_string(stdout, ctl_status_name(res->status));
	printf(", \"message\": ");
	json_string(stdout, res->text);
	printf(", \"samples\": [");
	for (size_t i = 0; i < res->nrec; i++) {
		if (ctl_rec_get(&res->rec[i], "metric") == NULL)
			continue;
		printf("%s", first ? "" : ", ");
		ctl_rec_json(stdout, &res->rec[i]);
		first = false;
	}
	printf("]}\n");
}

int
cmd_metrics(struct mxctl *m, int argc, char **argv)
{
	bool json = ctl_take_json(&argc, argv);
	struct ctl_result res;
	int r;

	if (argc != 0)
		return MX_USAGE;
	if (ctl_ask(m, CTL_METRICS, 0, NULL, &res, NULL, NULL) == -1)
		return MX_FAIL;
	if (json)
		print_json(&res);
	else
		for (size_t i = 0; i < res.nrec; i++)
			if (ctl_rec_get(&res.rec[i], "family") != NULL && !seen_before(&res, i))
				print_family(&res, i);
	r = res.status == CTL_OK ? MX_OK : ctl_finish(m, &res, false);
	ctl_result_free(&res);
	return r;
}
