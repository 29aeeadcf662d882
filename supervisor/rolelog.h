/*
 * supervisor/rolelog.h - the log pipe of each role: the role's stdout and
 * stderr are the write end, homemxd reads the lines and passes them on to
 * its own sink (stderr or syslog) unchanged (rolelog.c).
 */
#ifndef HMX_ROLELOG_H
#define HMX_ROLELOG_H

#include <stddef.h>
#include <sys/types.h>

#include "log.h"

struct event_base;
struct rolelog;

/* Longest line passed on; the rest of a longer line is dropped and
 * homemxd says how much (event=log_line_cut). */
#define ROLELOG_LINE_MAX	(LOG_LINE_MAX - 1)

/*
 * A new pipe for a role about to be forked; name is its program name
 * ("homemx-smtpd"). *child_fd is the write end, to become the child's fd 1
 * and 2; it is close-on-exec, so no other child inherits it. NULL with
 * errno if the pipe can not be made.
 */
struct rolelog	*rolelog_new(struct event_base *, const char *name, int *child_fd);

/* In homemxd after the fork: closes the write end, starts reading. */
void		 rolelog_started(struct rolelog *, pid_t pid);

/*
 * The role exited: passes on everything it wrote (call it before logging
 * the exit, so a fatal line comes first). The reader then lives on until
 * the last writer (a worker the role forked) closes the pipe, and frees
 * itself; the caller forgets the pointer.
 */
void		 rolelog_release(struct rolelog *);

/* homemxd is about to exit: pass on what every pipe still holds. */
void		 rolelog_flush_all(void);

/* Also hands every whole line to fn (the followers of `mxctl log -f`,
 * supervisor/control.c); fn must not block. */
typedef void	rolelog_tap_fn(const char *tag, const char *line, size_t len);
void		 rolelog_set_tap(rolelog_tap_fn *fn);

/* For the unit test: feed bytes as if read from the pipe. */
void		 rolelog_feed(struct rolelog *, const char *buf, size_t len);

#endif
