/*
 * admin/cmd_log.c - mxctl log -f: the log as it is written, filtered by a
 * session id, a queue id or an address.
 *
 * Owns: the output only. homemxd already reads every role's log lines
 * (supervisor/rolelog.c) and passes on those that match to each follower
 * (supervisor/control.c); it never waits for us, so a slow terminal loses
 * lines, and the count lost is printed where they were. Past lines are in
 * syslog or the journal (journalctl -u homemx): there is no log file of
 * our own to read back.
 */
#include <stdio.h>
#include <string.h>

#include "ctlclient.h"
#include "jsonout.h"
#include "mxctl.h"

static bool
print_frame(const struct msg_ctl_answer *a, void *arg)
{
	bool json = *(bool *)arg;

	if (a->status == CTL_MORE && strcmp(a->text, "following") == 0) {
		fprintf(stderr, "mxctl: following the log (Ctrl-C ends)\n");
		fflush(stderr);
	}
	for (unsigned r = 0; r < a->nrec; r++) {
		const char *line = ctl_record_get(a, r, "line");
		const char *lost = ctl_record_get(a, r, "lost");
		const char *program = ctl_record_get(a, r, "program");
		if (json) {
			printf("{");
			if (lost != NULL)
				printf("\"lost\": %s", lost);
			else {
				json_member(stdout, 1, "program", program != NULL ? program : "");
				json_member(stdout, 0, "line", line != NULL ? line : "");
			}
			printf("}\n");
		} else if (lost != NULL)
			printf("-- %s lines lost: mxctl read too slowly --\n", lost);
		else if (line != NULL)
			printf("%s: %s\n", program != NULL ? program : "?", line);
	}
	fflush(stdout);
	return true;
}

int
cmd_log(struct mxctl *m, int argc, char **argv)
{
	static const struct { const char *opt, *kind; } filters[] = {
		{ "--session", "session" }, { "--queue", "queue" }, { "--address", "address" },
	};
	bool json = ctl_take_json(&argc, argv);
	const char *args[2];
	unsigned n = 0;
	struct ctl_result res;

	if (argc < 1 || strcmp(argv[0], "-f") != 0) {
		mx_fail(m, "log needs -f (past lines are in syslog: journalctl -u homemx)");
		return MX_USAGE;
	}
	if (argc == 3) {
		for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
			if (strcmp(argv[1], filters[i].opt) == 0)
				args[0] = filters[i].kind, n = 2;
		args[1] = argv[2];
	}
	if ((argc == 3 && n == 0) || (argc != 1 && argc != 3))
		return MX_USAGE;
	if (ctl_ask(m, CTL_LOG_FOLLOW, n, args, &res, print_frame, &json) == -1)
		return MX_FAIL;
	int r = ctl_finish(m, &res, false);
	ctl_result_free(&res);
	return r;
}
