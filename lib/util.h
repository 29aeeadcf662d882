/*
 * lib/util.h - small helpers every role needs: checked allocation, whole
 * writes, directory fsync, replacing a file whole, random ids, monotonic
 * time.
 */
#ifndef HMX_UTIL_H
#define HMX_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

void	*xcalloc(size_t n, size_t size);
void	*xmalloc(size_t size);
char	*xstrdup(const char *);

/* write() until done or error; -1 with errno. */
int	 write_all(int fd, const void *buf, size_t len);
/* open(dir, O_DIRECTORY) + fsync + close. */
int	 fsync_dir(const char *dir);
/*
 * Replaces dirfd/name with data, whole or not at all: NAME.tmp is made
 * afresh (O_EXCL, so a link planted there is not followed), given exactly
 * mode, written, passed to prepare (if not NULL: owner, times - what else
 * the file needs before it is visible; -1 with errno), fsynced, renamed
 * over name, and the directory fsynced. A crash leaves the old file or
 * the new one. -1 with errno: before the rename the temporary file is
 * removed and the old file untouched; after it (the directory's fsync)
 * the new file is in place but may not survive a crash.
 */
int	 util_replace_file_at(int dirfd, const char *name, const void *data,
	    size_t len, mode_t mode);
int	 util_replace_file_at_prepared(int dirfd, const char *name,
	    const void *data, size_t len, mode_t mode,
	    int (*prepare)(int fd, void *arg), void *arg);
/* Fills buf with n random bytes (getrandom), fatal on failure. */
void	 random_bytes(void *buf, size_t n);
/* 16 lowercase hex digits + NUL: time-ordered high half, random low half. */
void	 make_queue_id(char out[17]);
/* Seconds on the monotonic clock, as double. */
double	 mono_now(void);
/* True for 1..max bytes of [a-z0-9_]: a control record's key
 * (lib/ipc_ctl.c), a metric family's name (lib/metrics.c). Inline, so
 * that checking a name links nothing. */
static inline bool
util_is_snake_name(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_'))
			return false;
	return true;
}
/* Lowercase in place. */
void	 str_lower(char *);
/* mkdir -p with mode for each created component; -1 with errno. */
int	 mkdir_p(const char *path, mode_t mode);

#endif
