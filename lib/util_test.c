/*
 * lib/util_test.c - util_replace_file_at: the new content and exactly the
 * mode asked for (whatever the umask), no NAME.tmp left behind, a stale
 * NAME.tmp (or a link planted there) replaced rather than followed, the
 * prepare hook run on the file before it is visible, and a failure that
 * leaves the old file as it was.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

struct dir {
	char	path[64];
	int	fd;
};

static int
dir_setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return -1;
	snprintf(d->path, sizeof(d->path), "/tmp/hmx-util-XXXXXX");
	if (mkdtemp(d->path) == NULL ||
	    (d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	*state = d;
	return 0;
}

static int
dir_teardown(void **state)
{
	struct dir *d = *state;
	char path[128];

	close(d->fd);
	/* the names in it are this test's own: remove them one by one */
	static const char *const names[] = { "f", "f.tmp", "target", "sub/f", "sub" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", d->path, names[i]);
		if (unlink(path) == -1)
			(void)rmdir(path);
	}
	rmdir(d->path);
	free(d);
	return 0;
}

/* The whole content of name in d, NUL-terminated; -1 if absent. */
static ssize_t
read_at(struct dir *d, const char *name, char *buf, size_t size)
{
	int fd = openat(d->fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd == -1)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static bool
exists_at(struct dir *d, const char *name)
{
	struct stat st;

	return fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void
test_content_mode_no_temp(void **state)
{
	struct dir *d = *state;
	struct stat st;
	char buf[64];
	mode_t old = umask(0077);	/* would take 0640's group bit away */

	assert_int_equal(util_replace_file_at(d->fd, "f", "first\n", 6, 0640), 0);
	umask(old);
	assert_int_equal(read_at(d, "f", buf, sizeof(buf)), 6);
	assert_string_equal(buf, "first\n");
	assert_int_equal(fstatat(d->fd, "f", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_false(exists_at(d, "f.tmp"));

	/* replaced whole, a shorter text leaves nothing of the longer one */
	assert_int_equal(util_replace_file_at(d->fd, "f", "2\n", 2, 0600), 0);
	assert_int_equal(read_at(d, "f", buf, sizeof(buf)), 2);
	assert_string_equal(buf, "2\n");
	assert_int_equal(fstatat(d->fd, "f", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_false(exists_at(d, "f.tmp"));
}

static void
test_stale_temp_and_planted_link(void **state)
{
	struct dir *d = *state;
	char buf[64];

	/* a target the link points at: it must not be written through */
	int fd = openat(d->fd, "target", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "untouched", 9), 9);
	close(fd);
	assert_int_equal(symlinkat("target", d->fd, "f.tmp"), 0);

	assert_int_equal(util_replace_file_at(d->fd, "f", "new", 3, 0600), 0);
	assert_int_equal(read_at(d, "f", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "new");
	assert_int_equal(read_at(d, "target", buf, sizeof(buf)), 9);
	assert_string_equal(buf, "untouched");
	assert_false(exists_at(d, "f.tmp"));
}

static int
prepare_fails(int fd, void *arg)
{
	(void)fd;
	*(int *)arg += 1;
	errno = EDQUOT;
	return -1;
}

static int
prepare_stamps(int fd, void *arg)
{
	struct timespec times[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

	*(int *)arg += 1;
	return futimens(fd, times);
}

static void
test_failure_leaves_old_file(void **state)
{
	struct dir *d = *state;
	char buf[64];
	int calls = 0;

	assert_int_equal(util_replace_file_at(d->fd, "f", "old\n", 4, 0600), 0);

	/* the hook fails: the old file stays, the temporary file goes */
	errno = 0;
	assert_int_equal(util_replace_file_at_prepared(d->fd, "f", "new\n", 4, 0600,
	    prepare_fails, &calls), -1);
	assert_int_equal(errno, EDQUOT);
	assert_int_equal(calls, 1);
	assert_int_equal(read_at(d, "f", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "old\n");
	assert_false(exists_at(d, "f.tmp"));

	/* the rename fails (the target is a non-empty directory): same */
	assert_int_equal(mkdirat(d->fd, "sub", 0700), 0);
	int sub = openat(d->fd, "sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(sub >= 0);
	assert_int_equal(mkdirat(sub, "f", 0700), 0);
	int fd = openat(sub, "f/keep", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(util_replace_file_at(sub, "f", "x", 1, 0600), -1);
	assert_false(exists_at(d, "sub/f.tmp"));
	assert_int_equal(unlinkat(sub, "f/keep", 0), 0);
	close(sub);

	/* a path instead of a name is refused before anything is written */
	assert_int_equal(util_replace_file_at(d->fd, "sub/f", "x", 1, 0600), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_prepare_runs_before_visible(void **state)
{
	struct dir *d = *state;
	struct stat st;
	int calls = 0;

	assert_int_equal(util_replace_file_at_prepared(d->fd, "f", "x", 1, 0600,
	    prepare_stamps, &calls), 0);
	assert_int_equal(calls, 1);
	assert_int_equal(fstatat(d->fd, "f", &st, 0), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_content_mode_no_temp, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_stale_temp_and_planted_link, dir_setup,
		    dir_teardown),
		cmocka_unit_test_setup_teardown(test_failure_leaves_old_file, dir_setup,
		    dir_teardown),
		cmocka_unit_test_setup_teardown(test_prepare_runs_before_visible, dir_setup,
		    dir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
