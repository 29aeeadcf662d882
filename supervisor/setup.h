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
/* Creates a system group if it does not exist yet (root only). */
void	setup_group(const char *name);
/* True if the config has a "listen local" line (sendmail's socket). */
bool	setup_has_local_listener(const struct config *);
/* Creates spool/store/maildir/chroot dirs; as root also owners and modes. */
void	setup_dirs(const struct config *, bool as_root);
/* Binds and listens; returns the fd or fatal. A local (UNIX) listener
 * is made root:homemx-send 0660 in a root:homemx-send 0750 directory. */
int	setup_listener(const struct listen_conf *);

#endif
