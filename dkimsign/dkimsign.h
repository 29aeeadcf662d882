/*
 * dkimsign/dkimsign.h - the dkimsign role's entry points for role_main
 * (dkimsign.c).
 */
#ifndef HMX_DKIMSIGN_DKIMSIGN_H
#define HMX_DKIMSIGN_DKIMSIGN_H

#include <stddef.h>

#include "config.h"
#include "ipc.h"

struct event_base;

void	dkimsign_preinit(struct event_base *, const struct config *);
void	dkimsign_init(struct event_base *, const struct config *,
	    const int *listen_fds, size_t nlisten);
void	dkimsign_on_link(enum role peer, int fd);
void	dkimsign_on_reload(const struct config *);
void	dkimsign_on_shutdown(void);

#endif
