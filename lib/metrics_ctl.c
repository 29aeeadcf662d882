/*
 * lib/metrics_ctl.c - a role's metrics (lib/metrics.c) as the records of
 * a control answer (lib/ipc_ctl.h), for homemxd's CTL_METRICS and
 * CTL_STATUS.
 *
 * Owns no state. Apart from lib/metrics.c so that counting does not need
 * the control codec: only what answers homemxd links this file.
 */
#include "ipc_ctl.h"
#include "metrics.h"

_Static_assert(METRICS_NAME_MAX <= CTL_KEY_MAX, "a family name fits a record key");
_Static_assert(METRICS_HELP_MAX <= CTL_VALUE_MAX, "a help text fits a record value");

static void
out_record(void *w)
{
	ctl_rec_begin(w);
}

static void
out_text(void *w, const char *key, const char *value)
{
	ctl_field_text(w, key, value);
}

static void
out_number(void *w, const char *key, const char *value)
{
	ctl_field_number(w, key, value);
}

void
metrics_write(struct ctl_writer *w, const char *role, bool status_only)
{
	const struct metrics_out out = { out_record, out_text, out_number, w };

	metrics_write_to(&out, role, status_only);
}
