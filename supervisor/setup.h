/*
 * supervisor/setup.h - root-only preparation done once by homemxd.
 */
#ifndef HMX_SETUP_H
#define HMX_SETUP_H

#include <stdbool.h>

#include "config.h"
#include "role.h"	/* USER_* */


/* Creates the system user of a role if it does not exist yet (root only). */
void	setup_user(const char *name);
/* Creates spool/store/maildir/chroot dirs; as root also owners and modes. */
void	setup_dirs(const struct config *, bool as_root);
/* Binds and listens; returns the fd or fatal. */
int	setup_listener(const struct listen_conf *);

#endif
