/*
 * admin/doctor_watch.c - what changed since the last doctor run, and the
 * mail when a check got worse (see doctor_watch.h).
 *
 * Owns: the state file's format, "STATUS<TAB>ID\n" per check, and the
 * report mail's text: the changes first, then the whole report, every
 * line wrapped at 76 columns (a message line may not exceed 998 octets,
 * RFC 5322 2.1.1, and smtpd refuses longer ones).
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doctor_watch.h"
#include "mxctl.h"
#include "util.h"

#define WATCH_STATE_MAX		(DR_FINDINGS_MAX * (DR_ID_MAX + 8))
#define WATCH_MAIL_MAX		(256 * 1024)
#define WATCH_WRAP		76

int
doctor_watch_open(struct mxctl *m, struct doctor_watch *w, const char *path,
    const char *mail)
{
	struct stat st;
	ssize_t n;
	size_t len = 0;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->path = path;
	w->mail = mail;
	if (path == NULL)
		return 0;
	if ((w->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1)
		return mx_fail(m, "--changes %s: %s", path, strerror(errno));
	if (flock(w->fd, LOCK_EX | LOCK_NB) == -1)
		return mx_fail(m, "--changes %s: another doctor is using it", path);
	if (fstat(w->fd, &st) == -1 || st.st_size > WATCH_STATE_MAX)
		return mx_fail(m, "--changes %s: not a doctor state file", path);
	w->old = xcalloc(1, (size_t)st.st_size + 1);
	while (len < (size_t)st.st_size &&
	    (n = pread(w->fd, w->old + len, (size_t)st.st_size - len, (off_t)len)) > 0)
		len += (size_t)n;
	w->old[len] = '\0';
	return 0;
}

void
doctor_watch_close(struct doctor_watch *w)
{
	if (w->fd != -1)
		close(w->fd);	/* the lock goes with it */
	free(w->old);
	w->old = NULL;
	w->fd = -1;
}

int
doctor_watch_old_status(const char *old, const char *id)
{
	size_t idlen = strlen(id);

	for (const char *line = old; line != NULL && *line != '\0';) {
		const char *nl = strchr(line, '\n'), *tab = strchr(line, '\t');
		size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		if (tab != NULL && tab < line + len && (size_t)(line + len - tab - 1) == idlen &&
		    memcmp(tab + 1, id, idlen) == 0) {
			if (strncmp(line, "FAIL\t", 5) == 0)
				return DR_FAIL;
			if (strncmp(line, "WARN\t", 5) == 0)
				return DR_WARN;
			return DR_OK;
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
	return -1;
}

/* ---- the mail's text ------------------------------------------------------------------ */

struct text {
	char	*buf;
	size_t	 len;
	size_t	 size;
};

static void
text_add(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->size)
		n = t->size > t->len + 1 ? t->size - t->len - 1 : 0;
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

/* Appends line, wrapped at blanks to WATCH_WRAP columns (continuations
 * indented); a word longer than that is cut. */
static void
text_wrapped(struct text *t, const char *line)
{
	size_t len = strlen(line), indent = 0;

	while (len > 0) {
		size_t room = WATCH_WRAP - indent, n = len;
		if (n > room) {
			n = room;
			while (n > room / 2 && line[n] != ' ')
				n--;
			if (line[n] != ' ')
				n = room;
		}
		if (indent > 0)
			text_add(t, "      ", indent);
		text_add(t, line, n);
		text_add(t, "\n", 1);
		line += n;
		len -= n;
		while (len > 0 && *line == ' ') {
			line++;
			len--;
		}
		indent = 6;
	}
}

static void
finding_text(char *out, size_t size, const struct dr_finding *f, const char *note)
{
	snprintf(out, size, "%-4s  %s: %s%s%s%s%s", dr_status_name(f->status), f->id, f->what,
	    note != NULL ? " " : "", note != NULL ? note : "", f->fix[0] ? " -- fix: " : "",
	    f->fix);
}

/* ---- the report -------------------------------------------------------------------------- */

static void
write_state(struct doctor_watch *w, const struct dr_report *r)
{
	struct text t = { xcalloc(1, WATCH_STATE_MAX + 1), 0, WATCH_STATE_MAX + 1 };

	for (size_t i = 0; i < r->n; i++) {
		text_add(&t, dr_status_name(r->f[i].status), strlen(dr_status_name(r->f[i].status)));
		text_add(&t, "\t", 1);
		text_add(&t, r->f[i].id, strlen(r->f[i].id));
		text_add(&t, "\n", 1);
	}
	if (ftruncate(w->fd, 0) == -1 || pwrite(w->fd, t.buf, t.len, 0) != (ssize_t)t.len ||
	    fsync(w->fd) == -1)
		fprintf(stderr, "mxctl: --changes %s: %s\n", w->path, strerror(errno));
	free(t.buf);
}

static void
send_report(struct doctor_watch *w, const struct doctor *d, const struct text *changes,
    const struct dr_report *r)
{
	static char line[DR_ID_MAX + DR_WHAT_MAX + DR_FIX_MAX + 64];
	struct text t = { xcalloc(1, WATCH_MAIL_MAX), 0, WATCH_MAIL_MAX };
	char subject[200], err[300];
	size_t c[3] = { 0, 0, 0 };

	for (size_t i = 0; i < r->n; i++)
		c[r->f[i].status]++;
	snprintf(subject, sizeof(subject), "mxctl doctor on %s: %zu FAIL, %zu WARN", d->hostname,
	    c[DR_FAIL], c[DR_WARN]);
	text_add(&t, "Changed since the last run:\n\n", 29);
	text_add(&t, changes->buf, changes->len);
	text_add(&t, "\nThe whole report:\n\n", 20);
	for (size_t i = 0; i < r->n; i++) {
		finding_text(line, sizeof(line), &r->f[i], NULL);
		text_wrapped(&t, line);
	}
	if (doctor_send_mail(d, w->mail, subject, t.buf, err, sizeof(err)) == -1)
		fprintf(stderr, "mxctl: --mail %s: %s\n", w->mail, err);
	else
		printf("mailed the changes to %s\n", w->mail);
	free(t.buf);
}

void
doctor_watch_report(struct doctor_watch *w, const struct doctor *d,
    const struct dr_report *r, bool json, const char *servers)
{
	static char line[DR_ID_MAX + DR_WHAT_MAX + DR_FIX_MAX + 64];
	struct text changes = { xcalloc(1, WATCH_MAIL_MAX / 2), 0, WATCH_MAIL_MAX / 2 };
	char note[32];
	bool worse = false;
	size_t nchanged = 0;

	for (size_t i = 0; i < r->n; i++) {
		const struct dr_finding *f = &r->f[i];
		int was = doctor_watch_old_status(w->old, f->id);
		if (was == (int)f->status)
			continue;
		worse = worse || (int)f->status > (was < 0 ? DR_OK : was);
		snprintf(note, sizeof(note), "(%s%s)", was < 0 ? "new" : "was ",
		    was < 0 ? "" : dr_status_name((enum dr_status)was));
		if (!json)
			doctor_print_line(stdout, f, note);
		finding_text(line, sizeof(line), f, note);
		text_wrapped(&changes, line);
		nchanged++;
	}
	if (json)
		doctor_print_json(stdout, d, r, servers);
	else if (nchanged == 0)
		printf("mxctl doctor: no change since the last run (%zu checks, worst %s)\n",
		    r->n, dr_status_name(dr_worst(r)));
	if (worse && w->mail != NULL)
		send_report(w, d, &changes, r);
	write_state(w, r);
	free(changes.buf);
}
