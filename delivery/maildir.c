/*
 * delivery/maildir.c - writes one message into one Maildir.
 *
 * Owns: the file names and the write order under maildir_root
 * (<root>/<domain>/<user>/{tmp,new,cur}, the layout Dovecot reads as
 * maildir:<root>/%d/%n). Only the delivery role, as _hmx-mail, writes
 * there. Order (https://cr.yp.to/proto/maildir.html): create a unique
 * name in tmp/ with O_EXCL, write, fsync, rename into new/, fsync new/.
 * Readers never see a partial file, and a crash leaves at most a stale
 * file in tmp/. The unique name is "<sec>.M<usec>P<pid>Q<n>.<host>" and
 * the name in new/ adds ",S=<size>", the exact file size, which Dovecot
 * trusts (a wrong value breaks FETCH). Every directory is opened with
 * O_NOFOLLOW relative to the root, so a symlink planted in the tree can
 * not redirect a write, and a path component from lookup must be one
 * plain name: "", ".", ".." and '/' are refused even though lookup
 * validated the mailbox. The body is copied byte-exact: the spool keeps
 * CRLF line endings, and Dovecot reads CRLF Maildir files as they are.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "maildir.h"
#include "util.h"

#define MAILDIR_COPY_BUF	65536
#define MAILDIR_HEADER_MAX	(2 * ADDR_MAX + 64)
#define MAILDIR_CREATE_TRIES	8

int
maildir_root_open(struct maildir_root *r, const char *path,
    const char *hostname)
{
	memset(r, 0, sizeof(*r));
	r->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->fd == -1)
		return -1;
	maildir_escape_host(hostname, r->host, sizeof(r->host));
	return 0;
}

void
maildir_root_close(struct maildir_root *r)
{
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
}

void
maildir_escape_host(const char *host, char *out, size_t outsize)
{
	size_t o = 0;

	for (const char *p = host; *p != '\0'; p++) {
		const char *rep = *p == '/' ? "\\057" : *p == ':' ? "\\072" : NULL;
		size_t n = rep != NULL ? 4 : 1;
		if (o + n >= outsize)
			break;
		if (rep != NULL)
			memcpy(out + o, rep, 4);
		else
			out[o] = *p;
		o += n;
	}
	out[o] = '\0';
}

static bool
component_is_safe(const char *s, const char **why)
{
	if (s[0] == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
		*why = "empty, \".\" or \"..\" path component";
		return false;
	}
	for (const char *p = s; *p != '\0'; p++)
		if (*p == '/' || (unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f) {
			*why = "'/' or control byte in path component";
			return false;
		}
	return true;
}

bool
maildir_split_mailbox(const char *mailbox, char user[ADDR_LOCAL_MAX + 3],
    char domain[ADDR_DOMAIN_MAX + 1], const char **why)
{
	struct mailaddr a;

	if (addr_parse_mailbox(mailbox, strlen(mailbox), &a) != ADDR_OK) {
		*why = "mailbox is not an address";
		return false;
	}
	if (!component_is_safe(a.local, why) || !component_is_safe(a.domain, why))
		return false;
	memcpy(user, a.local, sizeof(a.local));
	memcpy(domain, a.domain, sizeof(a.domain));
	return true;
}

/* Opens dir name under parent, creating it (0700) if missing. */
static int
open_or_create_dir(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd != -1 || errno != ENOENT)
		return fd;
	if (mkdirat(parent, name, 0700) == -1 && errno != EEXIST)
		return -1;
	if (fsync(parent) == -1)	/* the new name must survive a crash */
		return -1;
	return openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Makes sure tmp/ new/ cur/ exist in the Maildir dirfd. */
static int
ensure_subdirs(int dirfd)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	bool created = false;

	for (size_t i = 0; i < 3; i++) {
		if (mkdirat(dirfd, sub[i], 0700) == 0)
			created = true;
		else if (errno != EEXIST)
			return -1;
	}
	if (created && fsync(dirfd) == -1)
		return -1;
	return 0;
}

static int
open_maildir(struct maildir_root *r, const char *user, const char *domain)
{
	int dfd, ufd, saved;

	if ((dfd = open_or_create_dir(r->fd, domain)) == -1)
		return -1;
	ufd = open_or_create_dir(dfd, user);
	saved = errno;
	close(dfd);
	errno = saved;
	if (ufd == -1)
		return -1;
	if (ensure_subdirs(ufd) == -1) {
		saved = errno;
		close(ufd);
		errno = saved;
		return -1;
	}
	return ufd;
}

static int
create_tmp(struct maildir_root *r, struct maildir_file *f)
{
	char path[MAILDIR_NAME_MAX + 8];
	struct timeval tv;

	for (int i = 0; i < MAILDIR_CREATE_TRIES; i++) {
		gettimeofday(&tv, NULL);
		int n = snprintf(f->name, sizeof(f->name), "%lld.M%06ldP%ldQ%lu.%s",
		    (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(),
		    ++r->counter, r->host);
		if (n < 0 || (size_t)n >= sizeof(f->name)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		snprintf(path, sizeof(path), "tmp/%s", f->name);
		f->fd = openat(f->dirfd, path,
		    O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (f->fd != -1 || errno != EEXIST)
			return f->fd;
	}
	return -1;
}

static int
copy_body(int out, int body_fd, uint64_t *written)
{
	static char buf[MAILDIR_COPY_BUF];
	off_t off = 0;

	for (;;) {
		ssize_t n = pread(body_fd, buf, sizeof(buf), off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			return 0;
		if (write_all(out, buf, (size_t)n) == -1)
			return -1;
		off += n;
		*written += (uint64_t)n;
	}
}

static int
write_content(struct maildir_file *f, const char *sender, const char *rcpt,
    int body_fd)
{
	char hdr[MAILDIR_HEADER_MAX];

	int n = snprintf(hdr, sizeof(hdr), "Return-Path: <%s>\r\nDelivered-To: %s\r\n",
	    sender, rcpt);
	if (n < 0 || (size_t)n >= sizeof(hdr)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (write_all(f->fd, hdr, (size_t)n) == -1)
		return -1;
	f->size = (uint64_t)n;
	return copy_body(f->fd, body_fd, &f->size);
}

static void
set_why(char *why, size_t whysize, const char *what, int err)
{
	snprintf(why, whysize, "%s: %s", what, strerror(err));
}

enum maildir_status
maildir_write(struct maildir_root *r, const char *mailbox, const char *sender,
    const char *rcpt, int body_fd, struct maildir_file *f, char *why,
    size_t whysize)
{
	char user[ADDR_LOCAL_MAX + 3], domain[ADDR_DOMAIN_MAX + 1];
	const char *bad;
	struct stat st;

	memset(f, 0, sizeof(*f));
	f->dirfd = f->fd = -1;
	if (!maildir_split_mailbox(mailbox, user, domain, &bad)) {
		snprintf(why, whysize, "refused mailbox: %s", bad);
		return MAILDIR_PERMFAIL;
	}
	if ((f->dirfd = open_maildir(r, user, domain)) == -1) {
		set_why(why, whysize, "cannot open Maildir", errno);
		goto fail;
	}
	if (fstat(f->dirfd, &st) == -1) {
		set_why(why, whysize, "cannot stat Maildir", errno);
		goto fail;
	}
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	if (create_tmp(r, f) == -1) {
		set_why(why, whysize, "cannot create file in tmp/", errno);
		goto fail;
	}
	if (write_content(f, sender, rcpt, body_fd) == -1) {
		set_why(why, whysize, "cannot write message", errno);
		goto fail;
	}
	snprintf(f->final, sizeof(f->final), "%s,S=%llu", f->name,
	    (unsigned long long)f->size);
	return MAILDIR_OK;
fail:
	maildir_file_close(f);
	return MAILDIR_TEMPFAIL;
}

int
maildir_publish(struct maildir_file *f)
{
	char from[MAILDIR_NAME_MAX + 8], to[MAILDIR_NAME_MAX + 32];

	snprintf(from, sizeof(from), "tmp/%s", f->name);
	snprintf(to, sizeof(to), "new/%s", f->final);
	if (renameat(f->dirfd, from, f->dirfd, to) == -1)
		return -1;
	f->published = true;
	return 0;
}

int
maildir_sync_new(struct maildir_file *f)
{
	int fd = openat(f->dirfd, "new", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd == -1)
		return -1;
	int r = fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return r;
}

void
maildir_file_close(struct maildir_file *f)
{
	char path[MAILDIR_NAME_MAX + 8];

	if (f->fd != -1) {
		close(f->fd);
		f->fd = -1;
	}
	if (f->dirfd != -1) {
		if (!f->published && f->name[0] != '\0') {
			snprintf(path, sizeof(path), "tmp/%s", f->name);
			(void)unlinkat(f->dirfd, path, 0);
		}
		close(f->dirfd);
		f->dirfd = -1;
	}
}
