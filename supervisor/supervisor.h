/*
 * supervisor/supervisor.h - entry point of homemxd, and what the control
 * socket (supervisor/control.c) may know of the roles and ask of homemxd.
 */
#ifndef HMX_SUPERVISOR_H
#define HMX_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ipc.h"

int	supervisor_main(int argc, char **argv);

/* One role as `mxctl status` shows it. */
struct supervisor_role_info {
	enum role	 role;
	const char	*state;		/* running, starting, restarting, stopped, disabled */
	pid_t		 pid;		/* -1 if none */
	double		 uptime;	/* seconds since this start */
	unsigned	 restarts;	/* since homemxd started */
};

size_t		 supervisor_roles(struct supervisor_role_info *, size_t max);
/* The control link of a role that is running and ready, else NULL. */
struct ipc_link	*supervisor_role_link(enum role);
/* SIGHUP's work: 0 if the config was accepted, else -1 with err. */
int		 supervisor_reload(char *err, size_t errlen);
/* homemxd's own uptime, seconds. */
double		 supervisor_uptime(void);

#endif
