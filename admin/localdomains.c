/*
 * admin/localdomains.c - the list of local domains (see localdomains.h).
 *
 * Owns: the child that reads the store as its owner when we are root. The
 * names come back over a pipe, one per line; the parent accepts only
 * names that pass domain_is_valid(), so a confused child cannot hand us
 * anything else.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "localdomains.h"
#include "mxctl.h"
#include "role.h"
#include "util.h"

#define PIPE_MAX	(LOCAL_DOMAINS_MAX * (ADDR_DOMAIN_MAX + 1))

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

bool
local_domains_has(const struct local_domains *l, const char *domain)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->name[i], domain) == 0)
			return true;
	return false;
}

static void
add_name(struct local_domains *l, const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > ADDR_DOMAIN_MAX || !domain_is_valid(name, len) ||
	    local_domains_has(l, name))
		return;
	if (l->n == LOCAL_DOMAINS_MAX) {
		l->truncated = true;
		return;
	}
	memcpy(l->name[l->n++], name, len + 1);
}

/* ---- reading the store ------------------------------------------------------ */

struct store_walk {
	int	fd;		/* the pipe, or -1: add to list */
	struct local_domains *list;
};

static int
each_domain(const struct store_domain *d, void *arg)
{
	struct store_walk *w = arg;

	if (w->fd == -1) {
		add_name(w->list, d->name);
		return 0;
	}
	if (write_all(w->fd, d->name, strlen(d->name)) == -1 || write_all(w->fd, "\n", 1) == -1)
		return 1;
	return 0;
}

static int
walk_txn(struct mxctl *m, struct store_txn *t, void *arg)
{
	enum store_status s;

	if ((s = store_each_domain(t, each_domain, arg)) != STORE_OK)
		return mx_store_fail(m, s);
	return 0;
}

/* Opens the store here (dropping to its owner first when root: this runs
 * in a child that never regains root) and walks it. */
static int
walk_store_here(struct mxctl *m, struct store_walk *w)
{
	char err[STORE_ERR_MAX + CONFIG_PATH_MAX], name[256];
	struct passwd *pw;
	struct stat st;
	int r;

	if (stat(m->cfg.store_dir, &st) == -1)
		return errno == ENOENT ? 0 : mx_fail(m, "store_dir %s: %s", m->cfg.store_dir,
		    strerror(errno));
	if (geteuid() == 0 && st.st_uid != 0) {
		if ((pw = getpwuid(st.st_uid)) == NULL ||
		    snprintf(name, sizeof(name), "%s", pw->pw_name) >= (int)sizeof(name))
			return mx_fail(m, "store_dir %s: owner uid %ld has no usable passwd entry",
			    m->cfg.store_dir, (long)st.st_uid);
		privdrop(name, NULL);
	}
	if ((m->st = store_open(m->cfg.store_dir, err, sizeof(err))) == NULL)
		return mx_fail(m, "%s", err);
	r = mx_read(m, walk_txn, w);
	store_close(m->st);
	m->st = NULL;
	return r;
}

/* Reads the names the child wrote: one per line. */
static void
read_names(int fd, struct local_domains *l)
{
	static char buf[PIPE_MAX + 1];
	size_t len = 0;
	ssize_t n;

	while (len < PIPE_MAX && ((n = read(fd, buf + len, PIPE_MAX - len)) > 0 ||
	    (n == -1 && errno == EINTR)))
		if (n > 0)
			len += (size_t)n;
	buf[len] = '\0';
	for (char *line = buf, *nl; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			break;		/* a line cut short is no name */
		*nl = '\0';
		add_name(l, line);
	}
}

/* As root: the walk runs in a child that drops to the store owner. Its
 * error message, if any, comes back in the exit status's wake: the child
 * prints it on stderr itself. */
static int
walk_store_in_child(struct mxctl *m, struct local_domains *l)
{
	int pfd[2], status;
	pid_t pid;

	fflush(NULL);
	if (pipe2(pfd, O_CLOEXEC) == -1 || (pid = fork()) == -1)
		return mx_fail(m, "cannot read the store: %s", strerror(errno));
	if (pid == 0) {
		struct store_walk w = { pfd[1], NULL };
		close(pfd[0]);
		if (walk_store_here(m, &w) == 0)
			_exit(0);
		fprintf(stderr, "mxctl: %s\n", m->err);
		_exit(1);
	}
	close(pfd[1]);
	read_names(pfd[0], l);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return mx_fail(m, "cannot read the domains of the store (see above)");
}

int
local_domains_read(struct mxctl *m, struct local_domains *l)
{
	struct store_walk w = { -1, l };
	int r;

	memset(l, 0, sizeof(*l));
	for (size_t i = 0; i < m->cfg.ndomains; i++)
		add_name(l, m->cfg.domains[i]);
	if (m->st != NULL)
		r = mx_read(m, walk_txn, &w);	/* mxctl.c opened it for us */
	else if (geteuid() == 0)
		r = walk_store_in_child(m, l);
	else
		r = walk_store_here(m, &w);
	qsort(l->name, l->n, sizeof(l->name[0]), cmp_names);
	return r;
}
