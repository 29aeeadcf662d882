/*
 * admin/cmd_import.c - mxctl import FILE|-: bulk domains, users, aliases
 * and blocked tags, all or nothing.
 *
 * Owns: the order of an import. 1) The whole file is read and parsed
 * (admin/import.c: syntax, normalization, names defined twice); a bad line
 * stops everything before the store is touched. 2) In ONE write
 * transaction: every record is checked against what the store already
 * holds, then written, then every cross-reference (a user's domain, an
 * alias's targets and expansion, a catch-all, a blocked tag's base) is
 * checked against the store plus the file. Any error aborts the
 * transaction, so nothing at all is written, and names the earliest bad
 * line as FILE:LINE.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dovecot_passwd.h"
#include "import.h"
#include "mxctl.h"

struct import_run {
	const char		*name;		/* file name for messages */
	struct import_set	 set;
	unsigned		 bad_line;	/* earliest failing line, 0 = none */
	char			 bad[MXCTL_ERR_MAX];
	unsigned		 count[IMPORT_BLOCK + 1];
};

/* Reads a whole file (or stdin) of at most IMPORT_FILE_MAX bytes. */
static char *
read_all(struct mxctl *m, const char *path, size_t *len)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 65536, n = 0;
	char *buf = NULL;

	if (fd == -1) {
		mx_fail(m, "%s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n == cap || buf == NULL) {
			char *p;
			cap = buf == NULL ? cap : cap * 2;
			if ((p = realloc(buf, cap)) == NULL) {
				mx_fail(m, "%s: out of memory", path);
				goto fail;
			}
			buf = p;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			mx_fail(m, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > IMPORT_FILE_MAX) {
			mx_fail(m, "%s: larger than %u bytes: split it", path, IMPORT_FILE_MAX);
			goto fail;
		}
	}
	if (fd != STDIN_FILENO)
		close(fd);
	*len = n;
	return buf;
fail:
	if (fd != STDIN_FILENO)
		close(fd);
	free(buf);
	return NULL;
}

/* Remembers a rule failure of line; only the earliest line is reported. */
static void
note(struct import_run *run, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (run->bad_line != 0 && run->bad_line <= line)
		return;
	run->bad_line = line;
	va_start(ap, fmt);
	vsnprintf(run->bad, sizeof(run->bad), fmt, ap);
	va_end(ap);
}

/* A rule check failed: note it, unless the store itself failed. */
static int
check_failed(struct mxctl *m, struct import_run *run, unsigned line)
{
	if (m->store_trouble)
		return -1;
	note(run, line, "%s", m->err);
	return 0;
}

/* Pass 1: nothing in the file may exist in the store already. */
static int
check_new(struct mxctl *m, struct store_txn *t, struct import_run *run,
    const struct import_record *r)
{
	struct store_domain d;
	struct store_block b;
	enum store_status s;

	switch (r->kind) {
	case IMPORT_DOMAIN:
		if ((s = store_get_domain(t, r->name, &d)) == STORE_OK)
			note(run, r->line, "domain '%s' already exists", r->name);
		else if (s != STORE_NOTFOUND)
			return mx_store_fail(m, s);
		return 0;
	case IMPORT_USER:
	case IMPORT_ALIAS:
		if (mx_check_name_free(m, t, r->name) == -1)
			return check_failed(m, run, r->line);
		return 0;
	case IMPORT_BLOCK:
		if ((s = store_get_block(t, r->name, &b)) == STORE_OK)
			note(run, r->line, "'%s' is already blocked", r->name);
		else if (s != STORE_NOTFOUND)
			return mx_store_fail(m, s);
		return 0;
	}
	return 0;
}

/* Pass 2: domains, users and aliases go in, so that pass 3 sees them. */
static int
write_record(struct mxctl *m, struct store_txn *t, const struct import_record *r)
{
	static struct store_alias a;
	struct store_domain d = { 0 };
	struct store_user u = { 0 };
	enum store_status s = STORE_OK;

	switch (r->kind) {
	case IMPORT_DOMAIN:
		if (strlen(r->name) >= sizeof(d.name))	/* the parser made it <= 255 */
			return mx_fail(m, "domain '%s' too long", r->name);
		memcpy(d.name, r->name, strlen(r->name) + 1);
		snprintf(d.catchall, sizeof(d.catchall), "%s", r->catchall);
		s = store_put_domain(t, &d);
		break;
	case IMPORT_USER:
		snprintf(u.address, sizeof(u.address), "%s", r->name);
		snprintf(u.hash, sizeof(u.hash), "%s", r->hash);
		s = store_put_user(t, &u);
		break;
	case IMPORT_ALIAS:
		snprintf(a.address, sizeof(a.address), "%s", r->name);
		a.ntargets = r->ntargets;
		memcpy(a.targets, r->targets, r->ntargets * sizeof(a.targets[0]));
		s = store_put_alias(t, &a);
		break;
	case IMPORT_BLOCK:
		break;		/* pass 3, once its base is known */
	}
	return s == STORE_OK ? 0 : mx_store_fail(m, s);
}

static int
check_alias_targets(struct mxctl *m, struct store_txn *t, struct import_run *run,
    const struct import_record *r)
{
	enum store_status s;

	for (unsigned i = 0; i < r->ntargets; i++) {
		if (strcmp(r->targets[i], r->name) == 0) {
			note(run, r->line, "alias '%s' cannot point at itself", r->name);
			return 0;
		}
		if ((s = store_name_exists(t, r->targets[i])) == STORE_NOTFOUND) {
			note(run, r->line, "alias %s: target '%s' is neither a local user nor "
			    "an alias (in the store or in this file)", r->name, r->targets[i]);
			return 0;
		}
		if (s != STORE_OK)
			return mx_store_fail(m, s);
	}
	if (mx_check_expansion(m, t, r->name) == -1)
		return check_failed(m, run, r->line);
	return 0;
}

static int
check_and_write_block(struct mxctl *m, struct store_txn *t, struct import_run *run,
    const struct import_record *r)
{
	struct store_block b = { 0 };
	char local[ADDR_MAX + 1];
	const char *at = strrchr(r->name, '@');
	enum store_status s;

	if ((s = store_name_exists(t, r->name)) == STORE_OK) {
		note(run, r->line, "'%s' is a user or an alias itself, not a subaddress", r->name);
		return 0;
	}
	if (s != STORE_NOTFOUND)
		return mx_store_fail(m, s);
	snprintf(local, sizeof(local), "%.*s", (int)(at - r->name), r->name);
	s = store_find_base(t, local, at + 1, m->cfg.subaddress_delimiters,
	    b.base, sizeof(b.base));
	if (s == STORE_NOTFOUND) {
		note(run, r->line, "'%s' is not a subaddress of a user or an alias "
		    "(subaddress delimiters: \"%s\")", r->name, m->cfg.subaddress_delimiters);
		return 0;
	}
	if (s != STORE_OK)
		return mx_store_fail(m, s);
	snprintf(b.address, sizeof(b.address), "%s", r->name);
	if ((s = store_put_block(t, &b)) != STORE_OK)
		return mx_store_fail(m, s);
	return 0;
}

/* Pass 3: every reference, against the store plus the file. */
static int
check_references(struct mxctl *m, struct store_txn *t, struct import_run *run,
    const struct import_record *r)
{
	enum store_status s;

	if (r->kind != IMPORT_DOMAIN && mx_check_address_domain(m, t, r->name) == -1)
		return check_failed(m, run, r->line);
	switch (r->kind) {
	case IMPORT_DOMAIN:
		if (r->catchall[0] == '\0')
			return 0;
		if ((s = store_name_exists(t, r->catchall)) == STORE_NOTFOUND)
			note(run, r->line, "domain %s: catch-all '%s' is neither a user nor "
			    "an alias (in the store or in this file)", r->name, r->catchall);
		else if (s != STORE_OK)
			return mx_store_fail(m, s);
		return 0;
	case IMPORT_USER:
		return 0;
	case IMPORT_ALIAS:
		return check_alias_targets(m, t, run, r);
	case IMPORT_BLOCK:
		return check_and_write_block(m, t, run, r);
	}
	return 0;
}

static int
import_txn(struct mxctl *m, struct store_txn *t, void *arg)
{
	struct import_run *run = arg;
	const struct import_set *set = &run->set;

	run->bad_line = 0;
	for (size_t i = 0; i < set->n; i++)
		if (check_new(m, t, run, &set->rec[i]) == -1)
			return -1;
	/* Even after a failure: the transaction is aborted anyway, and the
	 * later checks may find an earlier bad line. */
	for (size_t i = 0; i < set->n; i++)
		if (write_record(m, t, &set->rec[i]) == -1)
			return -1;
	for (size_t i = 0; i < set->n; i++)
		if (check_references(m, t, run, &set->rec[i]) == -1)
			return -1;
	if (run->bad_line != 0)
		return mx_fail(m, "%s:%u: %s (nothing was imported)", run->name,
		    run->bad_line, run->bad);
	return 0;
}

int
cmd_import(struct mxctl *m, int argc, char **argv)
{
	static struct import_run run;
	char err[IMPORT_ERR_MAX];
	unsigned line;
	size_t len;
	char *text;
	int r = MX_FAIL;

	(void)argc;
	run.name = strcmp(argv[0], "-") == 0 ? "<stdin>" : argv[0];
	if ((text = read_all(m, argv[0], &len)) == NULL)
		return MX_FAIL;
	if (import_parse(text, len, &run.set, &line, err, sizeof(err)) == -1) {
		if (line > 0)
			mx_fail(m, "%s:%u: %s (nothing was imported)", run.name, line, err);
		else
			mx_fail(m, "%s: %s (nothing was imported)", run.name, err);
		goto done;
	}
	if (run.set.n == 0) {
		printf("%s: nothing to import\n", run.name);
		r = MX_OK;
		goto done;
	}
	/* A large import takes a while: say what is going on. The interrupt
	 * handler is installed by now (mxctl_main), so from this line on
	 * Ctrl-C ends the import with nothing written; tests wait for it. */
	fprintf(stderr, "mxctl: importing %zu records from %s in one transaction\n",
	    run.set.n, run.name);
	if (mx_write(m, import_txn, &run) == -1)
		goto done;
	for (size_t i = 0; i < run.set.n; i++)
		run.count[run.set.rec[i].kind]++;
	printf("imported from %s: %u domains, %u users, %u aliases, %u blocked tags\n",
	    run.name, run.count[IMPORT_DOMAIN], run.count[IMPORT_USER],
	    run.count[IMPORT_ALIAS], run.count[IMPORT_BLOCK]);
	r = dovecot_passwd_after_change(m) == 0 ? MX_OK : MX_FAIL;
done:
	import_free(&run.set);
	free(text);
	return r;
}
