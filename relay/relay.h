/*
 * relay/relay.h - the relay role's entry points for role_main (relay.c).
 */
#ifndef RELAY_RELAY_H
#define RELAY_RELAY_H

#include <stddef.h>

#include "config.h"
#include "ipc.h"

struct event_base;

void	relay_preinit(struct event_base *, const struct config *);
void	relay_init(struct event_base *, const struct config *,
	    const int *listen_fds, size_t nlisten);
void	relay_on_link(enum role peer, int fd);
void	relay_on_reload(const struct config *);
void	relay_on_shutdown(void);

#endif
