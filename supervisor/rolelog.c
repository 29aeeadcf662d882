/*
 * supervisor/rolelog.c - homemxd reads what its roles log and passes it on.
 *
 * Owns: one pipe per running role (fd 1 and 2 of the role are its write
 * end), the partial line read from it, and the list of pipes still open.
 * Why: a role that held homemxd's stderr, or its own syslog socket, could
 * write anywhere homemxd writes; now it only has a pipe, and homemxd alone
 * decides where lines go (stderr, or syslog under the role's name and pid).
 * Lines pass unchanged, so fail2ban, the tests and sanitizer reports read
 * the same text as before. Bounded: a line longer than ROLELOG_LINE_MAX is
 * cut (the first part passed on, the rest counted and dropped, and an
 * event=log_line_cut line says so); a role that writes faster than homemxd
 * reads blocks in write() on the full pipe instead of growing homemxd's
 * memory, and one read callback takes at most READS_PER_WAKEUP chunks so
 * that a flood can not starve the rest of the event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "rolelog.h"
#include "util.h"

#define READ_CHUNK		4096
#define READS_PER_WAKEUP	16
#define DRAIN_MAX		(1024 * 1024)	/* bytes read at exit of a role */

struct rolelog {
	struct rolelog	*next;		/* every reader not yet freed */
	struct event	*ev;
	int		 fd;		/* read end; -1 after EOF */
	int		 child_fd;	/* write end, until the fork */
	bool		 released;	/* the role exited */
	bool		 cutting;	/* dropping the rest of a long line */
	size_t		 dropped;
	pid_t		 pid;
	char		 name[48];	/* "homemx-smtpd" */
	char		 tag[72];	/* "homemx-smtpd[123]" for syslog */
	size_t		 len;
	char		 line[ROLELOG_LINE_MAX];
};

static struct rolelog	*readers;
static rolelog_tap_fn	*tap;	/* supervisor/control.c: `mxctl log -f` */

static void	rolelog_readable(evutil_socket_t, short, void *);

struct rolelog *
rolelog_new(struct event_base *base, const char *name, int *child_fd)
{
	struct rolelog *rl;
	int p[2];

	if (pipe2(p, O_CLOEXEC) == -1)
		return NULL;
	rl = xcalloc(1, sizeof(*rl));
	rl->fd = p[0];
	rl->child_fd = p[1];
	rl->pid = -1;
	snprintf(rl->name, sizeof(rl->name), "%s", name);
	snprintf(rl->tag, sizeof(rl->tag), "%s", name);
	if (fcntl(rl->fd, F_SETFL, O_NONBLOCK) == -1)
		fatal("rolelog: O_NONBLOCK");
	rl->ev = event_new(base, rl->fd, EV_READ | EV_PERSIST, rolelog_readable, rl);
	if (rl->ev == NULL)
		fatalx("rolelog: event_new");
	rl->next = readers;
	readers = rl;
	*child_fd = p[1];
	return rl;
}

void
rolelog_set_tap(rolelog_tap_fn *fn)
{
	tap = fn;
}

void
rolelog_started(struct rolelog *rl, pid_t pid)
{
	if (rl->child_fd != -1) {
		close(rl->child_fd);
		rl->child_fd = -1;
	}
	rl->pid = pid;
	snprintf(rl->tag, sizeof(rl->tag), "%s[%ld]", rl->name, (long)pid);
	event_add(rl->ev, NULL);
}

/* ---- lines ----------------------------------------------------------------- */

static void
end_cut(struct rolelog *rl)
{
	log_event("log_line_cut", "program=%s pid=%ld kept=%zu dropped=%zu", rl->name,
	    (long)rl->pid, sizeof(rl->line), rl->dropped);
	rl->cutting = false;
	rl->dropped = 0;
}

/* Passes on every whole line in rl->line and keeps the partial rest. */
static void
emit_lines(struct rolelog *rl)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(rl->line + start, '\n', rl->len - start)) != NULL) {
		size_t end = (size_t)(nl - rl->line);
		log_forward(rl->tag, rl->line + start, end - start);
		if (tap != NULL)
			tap(rl->tag, rl->line + start, end - start);
		start = end + 1;
	}
	memmove(rl->line, rl->line + start, rl->len - start);
	rl->len -= start;
	if (rl->len == sizeof(rl->line)) {	/* a full buffer and no newline */
		log_forward(rl->tag, rl->line, rl->len);
		rl->len = 0;
		rl->cutting = true;
	}
}

void
rolelog_feed(struct rolelog *rl, const char *buf, size_t n)
{
	while (n > 0) {
		if (rl->cutting) {
			const char *nl = memchr(buf, '\n', n);
			size_t skip = nl != NULL ? (size_t)(nl - buf) + 1 : n;

			rl->dropped += nl != NULL ? skip - 1 : skip;
			if (nl != NULL)
				end_cut(rl);
			buf += skip;
			n -= skip;
			continue;
		}
		size_t take = sizeof(rl->line) - rl->len;
		if (take > n)
			take = n;
		memcpy(rl->line + rl->len, buf, take);
		rl->len += take;
		buf += take;
		n -= take;
		emit_lines(rl);
	}
}

/* The pipe is closed: a last line without a newline still counts. */
static void
at_eof(struct rolelog *rl)
{
	if (rl->len > 0)
		log_forward(rl->tag, rl->line, rl->len);
	rl->len = 0;
	if (rl->cutting)
		end_cut(rl);
	event_del(rl->ev);
	close(rl->fd);
	rl->fd = -1;
}

static void
rolelog_free(struct rolelog *rl)
{
	for (struct rolelog **p = &readers; *p != NULL; p = &(*p)->next)
		if (*p == rl) {
			*p = rl->next;
			break;
		}
	if (rl->fd != -1)
		close(rl->fd);
	if (rl->child_fd != -1)
		close(rl->child_fd);
	event_free(rl->ev);
	free(rl);
}

/* Reads at most max bytes; false once the pipe is at EOF. */
static bool
read_some(struct rolelog *rl, size_t max)
{
	char chunk[READ_CHUNK];
	size_t total = 0;

	while (rl->fd != -1 && total < max) {
		ssize_t r = read(rl->fd, chunk, sizeof(chunk));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return true;	/* EAGAIN: nothing more for now */
		if (r == 0) {
			at_eof(rl);
			return false;
		}
		rolelog_feed(rl, chunk, (size_t)r);
		total += (size_t)r;
	}
	return rl->fd != -1;
}

static void
rolelog_readable(evutil_socket_t fd, short what, void *arg)
{
	struct rolelog *rl = arg;

	(void)fd;
	(void)what;
	if (!read_some(rl, READ_CHUNK * READS_PER_WAKEUP) && rl->released)
		rolelog_free(rl);
}

void
rolelog_release(struct rolelog *rl)
{
	if (rl == NULL)
		return;
	rl->released = true;
	/* The role is dead: what it wrote is all in the pipe now. */
	if (!read_some(rl, DRAIN_MAX))
		rolelog_free(rl);
}

void
rolelog_flush_all(void)
{
	for (struct rolelog *rl = readers; rl != NULL; rl = rl->next) {
		if (rl->fd == -1)
			continue;
		read_some(rl, DRAIN_MAX);
		if (rl->len > 0) {
			log_forward(rl->tag, rl->line, rl->len);
			rl->len = 0;
		}
	}
}
