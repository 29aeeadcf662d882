/*
 * supervisor/spawn.h - the child's side of starting a role: the fds it
 * receives (lib/role.h) and the command line it is executed with.
 */
#ifndef HMX_SPAWN_H
#define HMX_SPAWN_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "role.h"

/* Everything the child needs, gathered by homemxd before fork(). */
struct spawn_plan {
	enum role	 role;
	const char	*bindir;
	const char	*binary;	/* a file name in bindir */
	const char	*user;		/* -u USER (as root), or NULL */
	const char	*jail;		/* -r DIR (as root, jailed roles), or NULL */
	int		 control_fd;	/* becomes ROLE_FD_CONTROL */
	int		 conf_fd;	/* becomes ROLE_FD_CONFIG */
	int		 log_fd;	/* becomes stdout and stderr */
	int		 listen_fds[CONFIG_MAX_LISTEN];	/* ROLE_FD_LISTEN0 and up */
	enum listen_kind listen_kinds[CONFIG_MAX_LISTEN];
	size_t		 nlisten;
	bool		 syslog;	/* -S */
	bool		 debug;		/* -D */
};

/* In the child after fork(): arranges the fds and executes the role; if
 * that fails, says why on the control link and exits 126 or 127. */
void	spawn_exec(const struct spawn_plan *) __attribute__((noreturn));

#endif
