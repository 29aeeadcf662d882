/*
 * admin/cmd_queue.c - mxctl queue list|show|flush|delete|hold|release|bounce:
 * the queue role's messages, through homemxd's control socket.
 *
 * Owns: the output. `queue list` prints what Postfix's mailq prints (one
 * block per message: id, size, arrival, sender, then the last error and
 * the recipients; '!' after the id of a held message, '*' of one being
 * delivered), because that is what a Debian admin reads without a manual;
 * --json prints the same as one object for scripts. The queue role does
 * the work and says what happened (queue/admin.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include "ctlclient.h"
#include "jsonout.h"
#include "mxctl.h"

#define BUSY_RETRIES	40
#define BUSY_PAUSE_USEC	50000	/* 2 s in all */

static const char *
rec_str(const struct ctl_rec *r, const char *key)
{
	const char *v = ctl_rec_get(r, key);

	return v != NULL ? v : "";
}

static unsigned long long
rec_num(const struct ctl_rec *r, const char *key)
{
	return strtoull(rec_str(r, key), NULL, 10);
}

static void
print_time(const char *label, unsigned long long t)
{
	char when[64];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || localtime_r(&tt, &tm) == NULL ||
	    strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		snprintf(when, sizeof(when), "-");
	printf("%s%s\n", label, when);
}

/* ---- mailq-style text ---------------------------------------------------- */

static void
print_mailq_head(const struct ctl_rec *r)
{
	char when[32] = "-";
	time_t t = (time_t)rec_num(r, "arrival");
	struct tm tm;
	const char *st = rec_str(r, "state");
	const char *sender = rec_str(r, "sender");

	if (localtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm);
	printf("%s%c %9llu %-20s %s\n", rec_str(r, "id"),
	    strcmp(st, "held") == 0 ? '!' : strcmp(st, "active") == 0 ? '*' : ' ',
	    rec_num(r, "size"), when, sender[0] != '\0' ? sender : "MAILER-DAEMON");
	if (rec_str(r, "last_error")[0] != '\0')
		printf("%45s(%s)\n", "", rec_str(r, "last_error"));
}

static void
print_mailq(const struct ctl_result *res)
{
	unsigned long long bytes = 0;
	size_t msgs = 0;

	if (res->nrec == 0) {
		printf("Mail queue is empty\n");
		return;
	}
	printf("-Queue ID-        --Size-- ----Arrival Time---- -Sender/Recipient-------\n");
	for (size_t i = 0; i < res->nrec; i++) {
		const struct ctl_rec *r = &res->rec[i];
		if (ctl_rec_get(r, "id") != NULL) {
			if (msgs > 0)
				printf("\n");
			print_mailq_head(r);
			bytes += rec_num(r, "size");
			msgs++;
		} else if (ctl_rec_get(r, "rcpt") != NULL)
			printf("%45s%s\n", "", rec_str(r, "rcpt"));
	}
	printf("\n-- %llu Kbytes in %zu Request%s.\n", (bytes + 1023) / 1024, msgs,
	    msgs == 1 ? "" : "s");
}

/* ---- JSON ------------------------------------------------------------------ */

/* Each message record with the recipient records after it, as one
 * object: {...fields..., "recipients": [...]}. */
static void
print_json_list(const struct ctl_result *res)
{
	bool open = false, first_msg = true, first_rcpt = true;

	for (size_t i = 0; i < res->nrec; i++) {
		const struct ctl_rec *r = &res->rec[i];
		const char *rc = ctl_rec_get(r, "rcpt");
		if (ctl_rec_get(r, "id") != NULL) {
			printf("%s%s{", open ? "]}" : "", first_msg ? "" : ", ");
			ctl_rec_json_fields(stdout, r);
			printf(", \"recipients\": [");
			open = true;
			first_msg = false;
			first_rcpt = true;
		} else if (rc != NULL && open) {
			printf("%s", first_rcpt ? "" : ", ");
			json_string(stdout, rc);
			first_rcpt = false;
		}
	}
	if (open)
		printf("]}");
}

/* ---- the commands ------------------------------------------------------- */

/* Asks and ends the command: JSON or text by print when OK. */
static int
run(struct mxctl *m, enum ctl_verb verb, unsigned nargs, const char *const *args,
    bool json, void (*print)(const struct ctl_result *, bool json))
{
	struct ctl_result res;
	int r;

	/* Busy means nothing was changed and the message is between two
	 * steps (a round's envelope being written): ask again, briefly. */
	for (int tries = 0;; tries++) {
		if (ctl_ask(m, verb, nargs, args, &res, NULL, NULL) == -1)
			return MX_FAIL;
		if (res.status != CTL_BUSY || tries == BUSY_RETRIES)
			break;
		ctl_result_free(&res);
		usleep(BUSY_PAUSE_USEC);
	}
	if (res.status == CTL_OK && print != NULL) {
		print(&res, json);
		r = MX_OK;
	} else
		r = ctl_finish(m, &res, json);
	ctl_result_free(&res);
	return r;
}

static void
print_list(const struct ctl_result *res, bool json)
{
	if (!json) {
		print_mailq(res);
		return;
	}
	printf("{\"ok\": true, \"messages\": [");
	print_json_list(res);
	printf("]}\n");
}

static void
print_show(const struct ctl_result *res, bool json)
{
	if (json) {
		print_json_list(res);
		printf("\n");
		return;
	}
	for (size_t i = 0; i < res->nrec; i++) {
		const struct ctl_rec *r = &res->rec[i];
		if (ctl_rec_get(r, "rcpt") != NULL) {
			printf("recipient:    %s\n", rec_str(r, "rcpt"));
			continue;
		}
		printf("id:           %s\n", rec_str(r, "id"));
		printf("state:        %s\n", rec_str(r, "state"));
		print_time("arrival:      ", rec_num(r, "arrival"));
		printf("size:         %llu\n", rec_num(r, "size"));
		printf("source:       %s (client %s, helo %s)\n", rec_str(r, "source"),
		    rec_str(r, "client_ip")[0] != '\0' ? rec_str(r, "client_ip") : "-",
		    rec_str(r, "helo")[0] != '\0' ? rec_str(r, "helo") : "-");
		printf("sender:       <%s>\n", rec_str(r, "sender"));
		printf("attempts:     %llu\n", rec_num(r, "attempts"));
		printf("last error:   %s\n", rec_str(r, "last_error")[0] != '\0' ?
		    rec_str(r, "last_error") : "-");
		if (rec_num(r, "held_since") != 0)
			print_time("held since:   ", rec_num(r, "held_since"));
		else
			print_time("next try:     ", rec_num(r, "next_attempt"));
	}
}

int
cmd_queue_list(struct mxctl *m, int argc, char **argv)
{
	bool json = ctl_take_json(&argc, argv);
	const char *args[2];
	unsigned n = 0;

	if (argc == 1 && strcmp(argv[0], "--deferred") == 0)
		args[n++] = "deferred";
	else if (argc == 1 && strcmp(argv[0], "--held") == 0)
		args[n++] = "held";
	else if (argc == 2 && strcmp(argv[0], "--to") == 0) {
		args[n++] = "to";
		args[n++] = argv[1];
	} else if (argc != 0)
		return MX_USAGE;
	return run(m, CTL_QUEUE_LIST, n, args, json, print_list);
}

int
cmd_queue_show(struct mxctl *m, int argc, char **argv)
{
	bool json = ctl_take_json(&argc, argv);

	if (argc != 1)
		return MX_USAGE;
	return run(m, CTL_QUEUE_SHOW, 1, (const char *const *)argv, json, print_show);
}

/* flush, delete, hold, release, bounce: one line of what happened. */
static int
action(struct mxctl *m, enum ctl_verb verb, int argc, char **argv, int min)
{
	bool json = ctl_take_json(&argc, argv);

	if (argc < min || argc > 1)
		return MX_USAGE;
	return run(m, verb, (unsigned)argc, (const char *const *)argv, json, NULL);
}

int
cmd_queue_flush(struct mxctl *m, int argc, char **argv)
{
	return action(m, CTL_QUEUE_FLUSH, argc, argv, 0);
}

int
cmd_queue_delete(struct mxctl *m, int argc, char **argv)
{
	return action(m, CTL_QUEUE_DELETE, argc, argv, 1);
}

int
cmd_queue_hold(struct mxctl *m, int argc, char **argv)
{
	return action(m, CTL_QUEUE_HOLD, argc, argv, 1);
}

int
cmd_queue_release(struct mxctl *m, int argc, char **argv)
{
	return action(m, CTL_QUEUE_RELEASE, argc, argv, 1);
}

int
cmd_queue_bounce(struct mxctl *m, int argc, char **argv)
{
	return action(m, CTL_QUEUE_BOUNCE, argc, argv, 1);
}

int
cmd_reload(struct mxctl *m, int argc, char **argv)
{
	bool json = ctl_take_json(&argc, argv);

	if (argc != 0)
		return MX_USAGE;
	return run(m, CTL_RELOAD, 0, NULL, json, NULL);
}
