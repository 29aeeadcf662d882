/*
 * lib/util.c - see util.h. Nothing here knows about mail.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		fatal("calloc");
	return p;
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size);

	if (p == NULL)
		fatal("malloc");
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal("strdup");
	return p;
}

int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1)
		return -1;
	int r = fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return r;
}

/* Writes tmp in dirfd completely; -1 with errno and tmp removed. */
static int
write_temp_at(int dirfd, const char *tmp, const void *data, size_t len, mode_t mode,
    int (*prepare)(int fd, void *arg), void *arg)
{
	int fd, err;

	if (unlinkat(dirfd, tmp, 0) == -1 && errno != ENOENT)
		return -1;		/* left by a write a crash cut short */
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd == -1)
		return -1;
	/* fchmod: the umask must not decide who may read the file */
	if (fchmod(fd, mode) == -1 || write_all(fd, data, len) == -1 ||
	    (prepare != NULL && prepare(fd, arg) == -1) || fsync(fd) == -1) {
		err = errno;
		close(fd);
		(void)unlinkat(dirfd, tmp, 0);
		errno = err;
		return -1;
	}
	if (close(fd) == -1) {
		err = errno;
		(void)unlinkat(dirfd, tmp, 0);
		errno = err;
		return -1;
	}
	return 0;
}

int
util_replace_file_at_prepared(int dirfd, const char *name, const void *data, size_t len,
    mode_t mode, int (*prepare)(int fd, void *arg), void *arg)
{
	char tmp[NAME_MAX + 1];
	int err;

	if (strchr(name, '/') != NULL) {
		errno = EINVAL;		/* one name in dirfd, never a path */
		return -1;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", name) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (write_temp_at(dirfd, tmp, data, len, mode, prepare, arg) == -1)
		return -1;
	if (renameat(dirfd, tmp, dirfd, name) == -1) {
		err = errno;
		(void)unlinkat(dirfd, tmp, 0);
		errno = err;
		return -1;
	}
	return fsync(dirfd);
}

int
util_replace_file_at(int dirfd, const char *name, const void *data, size_t len,
    mode_t mode)
{
	return util_replace_file_at_prepared(dirfd, name, data, len, mode, NULL, NULL);
}

void
random_bytes(void *buf, size_t n)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			fatal("getrandom");
		}
		p += r;
		n -= (size_t)r;
	}
}

void
make_queue_id(char out[17])
{
	struct timespec ts;
	uint32_t rnd;

	clock_gettime(CLOCK_REALTIME, &ts);
	random_bytes(&rnd, sizeof(rnd));
	/* Time first so that ids sort roughly by arrival in a listing. */
	snprintf(out, 17, "%08x%08x", (uint32_t)ts.tv_sec, rnd);
}

double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
str_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

int
mkdir_p(const char *path, mode_t mode)
{
	char tmp[1024];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		char c = tmp[i];
		tmp[i] = '\0';
		if (mkdir(tmp, mode) == -1 && errno != EEXIST)
			return -1;
		tmp[i] = c;
	}
	return 0;
}
