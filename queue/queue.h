/*
 * queue/queue.h - the queue role's entry points for role_main (queue.c).
 */
#ifndef HMX_QUEUE_QUEUE_H
#define HMX_QUEUE_QUEUE_H

#include <stddef.h>

#include "config.h"
#include "ipc.h"

struct event_base;

void	queue_init(struct event_base *, const struct config *,
	    const int *listen_fds, size_t nlisten);
void	queue_on_link(enum role peer, int fd);
void	queue_on_reload(const struct config *);
void	queue_on_shutdown(void);

#endif
