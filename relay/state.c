/*
 * relay/state.c - see state.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "state.h"
#include "util.h"

static int	dirfd_state = -1;

void
relay_state_open(const char *dir, const char *user)
{
	struct passwd *pw = user != NULL ? getpwnam(user) : NULL;

	if (dir[0] == '\0')
		return;
	if (mkdir_p(dir, 0750) == -1) {
		log_warnx("relay: relay_state_dir %s: %s (MTA-STS cache and TLS-RPT in memory "
		    "only)", dir, strerror(errno));
		return;
	}
	if (pw != NULL && chown(dir, pw->pw_uid, pw->pw_gid) == -1)
		log_warnx("relay: chown %s: %s", dir, strerror(errno));
	if ((dirfd_state = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		log_warnx("relay: open %s: %s", dir, strerror(errno));
}

int
relay_state_write(const char *name, const char *data, size_t len)
{
	char tmp[300];
	int fd;

	if (dirfd_state == -1)
		return -1;
	if (snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= (int)sizeof(tmp))
		return -1;
	fd = openat(dirfd_state, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0640);
	if (fd == -1) {
		log_warnx("relay: state file %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, data, len) == -1) {
		log_warnx("relay: state file %s: %s", tmp, strerror(errno));
		close(fd);
		(void)unlinkat(dirfd_state, tmp, 0);
		return -1;
	}
	close(fd);
	if (renameat(dirfd_state, tmp, dirfd_state, name) == -1) {
		log_warnx("relay: state file %s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}

ssize_t
relay_state_read(const char *name, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd;

	if (dirfd_state == -1 || size == 0)
		return -1;
	if ((fd = openat(dirfd_state, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}
