/*
 * delivery/delivery.h - the delivery role's entry points for role_main
 * (delivery.c).
 */
#ifndef HMX_DELIVERY_DELIVERY_H
#define HMX_DELIVERY_DELIVERY_H

#include <stddef.h>

#include "config.h"
#include "ipc_decode.h"

struct event_base;

void	delivery_init(struct event_base *, const struct config *,
	    const int *listen_fds, size_t nlisten);
void	delivery_on_link(enum role peer, int fd);
void	delivery_on_reload(const struct config *);
void	delivery_on_shutdown(void);

/* What the queue hears for a lookup verdict (RESOLVE_LOCAL: DELIVERY_OK,
 * once the Maildir writes succeed). Pure, for the unit test. */
enum delivery_result	delivery_result_for(enum resolve_verdict);

#endif
