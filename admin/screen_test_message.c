/*
 * admin/screen_test_message.c - `mxctl screen test --file MESSAGE ...`:
 * the end-of-DATA stage on a message file, as the screen role would run
 * it for that transaction (screen/judge.c): DKIM, DMARC and header sanity
 * on top of the network checks, then the content scanners when any is
 * configured, and the verdict with the Authentication-Results an accepted
 * message would get and the forged ones it would lose.
 *
 * Owns: the copy of the file (an anonymous memfd, CRLF lines) and one
 * scan. Why a copy: a file saved from a mail client has bare LFs, while
 * the wire, the spool and DKIM's hashes use CRLF; and mxctl drops to the
 * screen's user, who may not read the admin's file.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "../screen/judge.h"
#include "../screen/message.h"
#include "../screen/scanner.h"
#include "screen_test.h"
#include "util.h"

#define SCREEN_TEST_FILE_MAX	(64ULL * 1024 * 1024)	/* a message file */

int
screen_test_file_open(struct mxctl *m, const char *path)
{
	unsigned char buf[16384];
	char out[2 * sizeof(buf)];
	unsigned long long total = 0;
	bool last_cr = false;
	struct stat st;
	ssize_t n;
	int in, fd;

	if ((in = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return mx_fail(m, "screen test: --file %s: %s", path, strerror(errno));
	if (fstat(in, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (unsigned long long)st.st_size > SCREEN_TEST_FILE_MAX) {
		close(in);
		return mx_fail(m, "screen test: --file %s: not a regular file of at most "
		    "%llu bytes", path, SCREEN_TEST_FILE_MAX);
	}
	if ((fd = memfd_create("mxctl-message", MFD_CLOEXEC)) == -1) {
		close(in);
		return mx_fail(m, "screen test: memfd_create: %s", strerror(errno));
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		size_t o = 0;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' && !last_cr)
				out[o++] = '\r';
			out[o++] = (char)buf[i];
			last_cr = buf[i] == '\r';
		}
		total += o;
		if (total > 2 * SCREEN_TEST_FILE_MAX || write_all(fd, out, o) == -1) {
			n = -1;
			break;
		}
	}
	close(in);
	if (n == -1) {
		close(fd);
		return mx_fail(m, "screen test: --file %s: cannot be copied", path);
	}
	return fd;
}

/* ---- the scanners ------------------------------------------------------------ */

struct scan_run {
	struct event_base	*base;
	struct scan_result	 res[SCAN_KINDS];
	size_t			 n;
	bool			 done;
};

static void
on_scanned(const struct scan_result *r, size_t n, void *arg)
{
	struct scan_run *run = arg;

	run->n = n < SCAN_KINDS ? n : SCAN_KINDS;
	memcpy(run->res, r, run->n * sizeof(*r));
	run->done = true;
	event_base_loopexit(run->base, NULL);
}

static void
print_scan(const struct scan_result *r)
{
	printf("  %-7s %s", scan_kind_name(r->kind), scan_status_name(r->status));
	if (r->status != SCAN_STATUS_OK)
		printf(" (%s)", r->why);
	else if (r->kind == SCAN_CLAMD)
		printf(", %s", r->virus_found ? r->virus : "clean");
	else
		printf(", score %.2f of %.2f%s%s", r->score, r->threshold,
		    r->symbols[0] ? ", " : "", r->symbols);
	printf(", %.3f s\n", r->elapsed);
}

/* As the role does (screen/judge.c judge_scan): the message as it would
 * be delivered - our Authentication-Results first, forged ones left out.
 * Not chrooted: a UNIX socket is reached by its path outside the jail. */
static int
scan_message(struct mxctl *m, struct event_base *base, int fd,
    const struct screen_facts *f, const struct screen_message_verdict *mv,
    struct eval_result *res, struct scan_findings *fnd)
{
	struct scanner_params p = { base, &m->cfg.screen.scan, false };
	struct authres_range skip[SCREEN_STRIP_MAX];
	const char *rcpts[1] = { f->rcpt }, *why;
	struct scan_run run = { .base = base };

	for (unsigned i = 0; i < mv->nstrip && i < SCREEN_STRIP_MAX; i++)
		skip[i] = (struct authres_range){ mv->strip[i].off, mv->strip[i].len };
	struct scan_request rq = { fd, mv->prepend, strlen(mv->prepend), skip, mv->nstrip,
	    { f->sess, f->qid, f->client_ip, f->helo, res->score.ptr, f->mail_from, rcpts,
	    1, m->cfg.hostname } };
	if (scanner_start(&p, &rq, on_scanned, &run, &why) == NULL)
		return mx_fail(m, "screen test: the scanners cannot be asked: %s", why);
	event_base_dispatch(base);
	if (!run.done)
		return mx_fail(m, "screen test: the scan did not finish");
	printf("content scanners:\n");
	for (size_t i = 0; i < run.n; i++)
		print_scan(&run.res[i]);
	scanner_score(&m->cfg.screen.scan, run.res, run.n, &res->score, fnd);
	return 0;
}

/* ---- the verdict -------------------------------------------------------------- */

static void
print_message_verdict(const struct config *cfg, const struct screen_message_verdict *mv,
    const char *line)
{
	printf("verdict at end of DATA: %s (%s)\n", action_text(mv->v.action),
	    reply_text(mv->v.reply));
	printf("log line: event=verdict %s\n", line);
	if (mv->v.action != SCREEN_ACCEPT)
		return;
	printf("added first:\n%s", mv->prepend[0] ? mv->prepend : "  (nothing)\n");
	for (unsigned i = 0; i < mv->nstrip; i++)
		printf("left out: %u bytes at offset %u (an Authentication-Results "
		    "claiming to be %s)\n", mv->strip[i].len, mv->strip[i].off,
		    cfg->hostname);
}

/* Checks done: decide; an accepted message goes to the scanners (if any)
 * and is decided again with their findings, as in the role. */
static int
decide_message(struct mxctl *m, struct event_base *base, int fd,
    const struct screen_facts *f, const struct screen_message *msg,
    struct eval_result *res, struct screen_memory *mem)
{
	static struct screen_message_verdict mv;
	struct scan_findings fnd;
	char line[JUDGE_LINE_MAX];
	time_t now = time(NULL);

	judge_decide_message(&m->cfg, f, msg, res, mem, true, now, NULL, &mv, line,
	    sizeof(line));
	if (mv.v.action == SCREEN_ACCEPT && scan_config_any(&m->cfg.screen.scan)) {
		if (scan_message(m, base, fd, f, &mv, res, &fnd) == -1)
			return -1;
		printf("with the scanners:\n");
		print_score(&res->score);
		judge_decide_message(&m->cfg, f, msg, res, mem, true, now, &fnd, &mv, line,
		    sizeof(line));
	}
	print_message_verdict(&m->cfg, &mv, line);
	return 0;
}

int
screen_test_message(struct mxctl *m, struct eval_params *p, struct screen_env *env,
    const struct screen_facts *rcpt_facts, int fd, struct screen_memory *mem)
{
	struct screen_run run = { .base = p->base };
	struct screen_facts f = *rcpt_facts;
	struct screen_message *msg;
	const char *why;
	int rc;

	if ((msg = screen_message_open(fd, &why)) == NULL)
		return mx_fail(m, "screen test: the message cannot be read: %s", why);
	f.stage = SCREEN_STAGE_MESSAGE;
	snprintf(f.qid, sizeof(f.qid), "mxctl");
	env->msg = msg;
	p->checks = judge_message_checks;
	p->nchecks = judge_message_nchecks;
	rc = screen_evaluate(m, p, &f, &run);
	env->msg = NULL;
	if (rc == 0) {
		printf("end of DATA (%u rounds, %u lookups, %.2f s):\n",
		    run.result.rounds, run.result.fetches, run.result.elapsed);
		print_score(&run.result.score);
		rc = decide_message(m, p->base, fd, &f, msg, &run.result, mem);
	}
	screen_message_free(msg);
	return rc;
}
