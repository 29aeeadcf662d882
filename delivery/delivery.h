/*
 * delivery/delivery.h - the delivery role's entry points for role_main
 * (delivery.c).
 */
#ifndef HMX_DELIVERY_DELIVERY_H
#define HMX_DELIVERY_DELIVERY_H

#include <stddef.h>

#include "config.h"
#include "ipc.h"

struct event_base;

void	delivery_init(struct event_base *, const struct config *,
	    const int *listen_fds, size_t nlisten);
void	delivery_on_link(enum role peer, int fd);
void	delivery_on_reload(const struct config *);
void	delivery_on_shutdown(void);

#endif
