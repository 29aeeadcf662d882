/*
 * admin/dovecot_passwd.c - writes the Dovecot passwd-file from the store
 * (see dovecot_passwd.h for the format and why it is rewritten whole).
 *
 * Owns: the lock file (FILE.lock, held with flock while the store is read
 * and the new file written), the temporary file (FILE.tmp, created with
 * O_EXCL under that lock by util_replace_file_at_prepared, lib/util.h),
 * the file's group and mtime, and the directory's owner, group and mode.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dovecot_passwd.h"
#include "idn_display.h"
#include "util.h"

#define ARGON2ID_PREFIX	"$argon2id$"

/* ---- the lines ------------------------------------------------------------- */

/* The passwd-file separates fields with ':' and records with '\n'. */
static bool
field_is_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == ':' || (unsigned char)*s < 0x21 || *s == 0x7f)
			return false;
	return true;
}

/*
 * A user of an internationalized domain (stored as A-labels) may also log
 * in with the U-label form a person types, kim@bücher.example: a second
 * line with the same password whose passdb extra field "user=" turns the
 * login back into the stored name, so the static userdb's %d/%n still
 * name the Maildir homemx delivers to (maildir_root/xn--.../kim).
 * Fields: user:password:uid:gid:gecos:home:shell:extra_fields
 * (https://doc.dovecot.org/configuration_manual/authentication/passwd_file/).
 * Appends to out after its first len bytes; the total length, or 0 if
 * out is too small.
 */
static int
add_unicode_login(const struct store_user *u, bool login, char *out,
    size_t outsize, size_t len)
{
	char unicode[4 * (ADDR_MAX + 1)];
	int n;

	if (!login || !idn_address_unicode(u->address, unicode, sizeof(unicode)) ||
	    !field_is_safe(unicode))
		return (int)len;
	n = snprintf(out + len, outsize - len, "%s:{ARGON2ID}%s::::::user=%s\n",
	    unicode, u->hash, u->address);
	if (n < 0 || (size_t)n >= outsize - len)
		return 0;
	return (int)(len + (size_t)n);
}

int
dovecot_passwd_line(const struct store_user *u, char *out, size_t outsize,
    bool *login)
{
	int n;

	*login = false;
	if (!field_is_safe(u->address) || u->address[0] == '\0')
		return -1;
	/* the store only holds crypto_pwhash_str strings (mxctl and import
	 * check that); anything else would be a password Dovecot never
	 * matches, so it is written as no login at all */
	*login = strncmp(u->hash, ARGON2ID_PREFIX, strlen(ARGON2ID_PREFIX)) == 0 &&
	    field_is_safe(u->hash);
	n = snprintf(out, outsize, "%s:%s%s\n", u->address,
	    *login ? "{ARGON2ID}" : "", *login ? u->hash : "");
	if (n < 0 || (size_t)n >= outsize)
		return 0;
	return add_unicode_login(u, *login, out, outsize, (size_t)n);
}

struct text {
	char		*buf;
	size_t		 len, size;
	unsigned	 nusers, nlogin, skipped;
	bool		 oom;
};

static int
add_user_line(const struct store_user *u, void *arg)
{
	struct text *t = arg;
	char line[2 * (4 * (ADDR_MAX + 1) + STORE_HASH_MAX + 32)];
	bool login;
	int n = dovecot_passwd_line(u, line, sizeof(line), &login);

	if (n <= 0) {
		t->skipped++;
		return 0;
	}
	if (t->len + (size_t)n > t->size) {
		size_t size = (t->size + (size_t)n) * 2;
		char *b = realloc(t->buf, size);
		if (b == NULL) {
			t->oom = true;
			return -1;
		}
		t->buf = b;
		t->size = size;
	}
	memcpy(t->buf + t->len, line, (size_t)n);
	t->len += (size_t)n;
	t->nusers++;
	t->nlogin += login;
	return 0;
}

static int
collect_users(struct mxctl *m, struct store_txn *txn, void *arg)
{
	struct text *t = arg;
	enum store_status s = store_each_user(txn, add_user_line, t);

	if (t->oom)
		return mx_fail(m, "out of memory");
	return s == STORE_OK ? 0 : mx_store_fail(m, s);
}

/* ---- the files ------------------------------------------------------------- */

/* Group dovecot when Dovecot is installed, else -1 (keep the default). */
static gid_t
dovecot_gid(void)
{
	struct group *gr = getgrnam(DOVECOT_GROUP);

	return gr != NULL ? gr->gr_gid : (gid_t)-1;
}

static int
path_with_suffix(struct mxctl *m, const char *suffix, char *out, size_t outsize)
{
	if (snprintf(out, outsize, "%s%s", m->cfg.dovecot_passwd_file, suffix) >=
	    (int)outsize)
		return mx_fail(m, "dovecot_passwd_file: path too long");
	return 0;
}

/*
 * Dovecot reads the file again only when its mtime, in whole seconds, or
 * its size changed (passwd-file's stat check). A new password has the
 * same length as the old one, so a second change within the same second
 * would go unseen, and the old password would keep opening IMAP: the new
 * file's mtime is made later than the old one's whenever the clock alone
 * would not do it.
 */
static int
stamp_after_previous(int fd, const char *path)
{
	struct stat old;
	struct timespec now, times[2];

	if (stat(path, &old) == -1)
		return errno == ENOENT ? 0 : -1;
	if (clock_gettime(CLOCK_REALTIME, &now) == -1)
		return -1;
	if (now.tv_sec > old.st_mtim.tv_sec)
		return 0;
	times[0].tv_sec = times[1].tv_sec = old.st_mtim.tv_sec + 1;
	times[0].tv_nsec = times[1].tv_nsec = 0;
	return futimens(fd, times);
}

/* What the file needs besides its lines and mode 0640 (set by
 * util_replace_file_at_prepared, lib/util.h): group dovecot, so that
 * Dovecot's auth process may read it, and an mtime Dovecot notices. */
static int
prepare_passwd(int fd, void *path)
{
	gid_t gid = dovecot_gid();
	struct stat st;

	if (fstat(fd, &st) == -1 ||
	    (gid != (gid_t)-1 && st.st_gid != gid && fchown(fd, (uid_t)-1, gid) == -1))
		return -1;
	return stamp_after_previous(fd, path);
}

/* FILE.tmp written whole, then renamed over FILE; the lock is held (so no
 * other mxctl writes FILE.tmp) and it proved the directory is there. */
static int
sync_locked(struct mxctl *m, struct text *t)
{
	const char *path = m->cfg.dovecot_passwd_file;
	char dir[CONFIG_PATH_MAX], name[CONFIG_PATH_MAX];
	int dirfd, r, e;

	if (mx_read(m, collect_users, t) == -1)
		return -1;
	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(name, sizeof(name), "%s", path);
	if ((dirfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return mx_fail(m, "%s: its directory: %s", path, strerror(errno));
	r = util_replace_file_at_prepared(dirfd, basename(name), t->buf, t->len, 0640,
	    prepare_passwd, (void *)path);
	e = errno;
	close(dirfd);
	if (r == -1)
		return mx_fail(m, "%s: %s", path, strerror(e));
	return 0;
}

int
dovecot_passwd_sync(struct mxctl *m, unsigned *nusers, unsigned *nlogin)
{
	struct text t = { 0 };
	char lock[CONFIG_PATH_MAX + 8];
	int fd, r;

	*nusers = *nlogin = 0;
	if (m->cfg.dovecot_passwd_file[0] == '\0')
		return 0;
	if (path_with_suffix(m, ".lock", lock, sizeof(lock)) == -1)
		return -1;
	if ((fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return mx_fail(m, "%s: %s (has mxctl run as root since "
		    "dovecot_passwd_file was set? it creates the directory)", lock,
		    strerror(errno));
	while ((r = flock(fd, LOCK_EX)) == -1 && errno == EINTR)
		;
	if (r == -1)
		r = mx_fail(m, "%s: %s", lock, strerror(errno));
	else
		r = sync_locked(m, &t);
	close(fd);	/* releases the lock */
	free(t.buf);
	if (r == 0) {
		*nusers = t.nusers;
		*nlogin = t.nlogin;
		if (t.skipped > 0)
			fprintf(stderr, "mxctl: %s: left out %u address(es) with ':' or "
			    "control characters\n", m->cfg.dovecot_passwd_file, t.skipped);
	}
	return r;
}

int
dovecot_passwd_after_change(struct mxctl *m)
{
	unsigned nusers, nlogin;

	char why[MXCTL_ERR_MAX];

	if (dovecot_passwd_sync(m, &nusers, &nlogin) == 0)
		return 0;
	/* the store has the change; only Dovecot's copy lags */
	snprintf(why, sizeof(why), "%s", m->err);
	return mx_fail(m, "the store has the change, but Dovecot's passwd-file does "
	    "not: %.800s; fix that, then run 'mxctl user sync-dovecot'", why);
}

/* ---- the directory (as root) --------------------------------------------- */

int
dovecot_passwd_prepare(struct mxctl *m, uid_t owner_uid, gid_t owner_gid)
{
	char buf[CONFIG_PATH_MAX];
	const char *dir;
	gid_t gid = dovecot_gid();
	int fd, r = 0;

	if (m->cfg.dovecot_passwd_file[0] == '\0' || geteuid() != 0)
		return 0;
	snprintf(buf, sizeof(buf), "%s", m->cfg.dovecot_passwd_file);
	dir = dirname(buf);
	/* parents Dovecot's auth process can traverse, then its own */
	if (mkdir_p(dir, 0755) == -1)
		return mx_fail(m, "dovecot_passwd_file: cannot create %s: %s", dir,
		    strerror(errno));
	/* O_NOFOLLOW: the last component is ours to chown, not a link's target */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return mx_fail(m, "dovecot_passwd_file: %s: %s", dir, strerror(errno));
	if (fchown(fd, owner_uid, gid != (gid_t)-1 ? gid : owner_gid) == -1 ||
	    fchmod(fd, 02750) == -1)
		r = mx_fail(m, "dovecot_passwd_file: %s: %s", dir, strerror(errno));
	close(fd);
	return r;
}
