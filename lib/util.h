/*
 * lib/util.h - small helpers every role needs: checked allocation, whole
 * writes, directory fsync, random ids, monotonic time.
 */
#ifndef HMX_UTIL_H
#define HMX_UTIL_H

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
/* Fills buf with n random bytes (getrandom), fatal on failure. */
void	 random_bytes(void *buf, size_t n);
/* 16 lowercase hex digits + NUL: time-ordered high half, random low half. */
void	 make_queue_id(char out[17]);
/* Seconds on the monotonic clock, as double. */
double	 mono_now(void);
/* Lowercase in place. */
void	 str_lower(char *);
/* mkdir -p with mode for each created component; -1 with errno. */
int	 mkdir_p(const char *path, mode_t mode);

#endif
