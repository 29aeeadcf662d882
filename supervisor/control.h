/*
 * supervisor/control.h - homemxd's control socket, served for mxctl
 * (supervisor/control.c).
 */
#ifndef HMX_SUPERVISOR_CONTROL_H
#define HMX_SUPERVISOR_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ipc.h"

struct event_base;

/* homemxd -P (outside the systemd sandbox, which keeps /etc read-only):
 * creates the admin group if it is missing. */
void	control_prepare(const struct config *);
/* Binds the socket (root: 0660 root:control_group, the group made if
 * missing) and starts serving; a socket that can not be bound is logged,
 * and homemxd runs without it. */
void	control_init(struct event_base *, const struct config *, bool as_root);
/* Draining: no more requests; the socket file is removed. */
void	control_stop(void);
/* A role's MSG_CTL_ANSWER on its control link. */
void	control_role_answer(enum role from, struct ipc_link *, struct ipc_frame *);

/* Pure, for the unit test: does a log line match a `mxctl log -f` filter
 * (kind "session", "queue" or "address"; NULL kind: every line)? */
bool	control_line_matches(const char *kind, const char *value,
	    const char *line, size_t len);

#endif
