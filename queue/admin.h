/*
 * queue/admin.h - the queue's side of the control socket (queue/admin.c):
 * `mxctl queue`, the queue's part of `mxctl status`, its counters.
 */
#ifndef HMX_QUEUE_ADMIN_H
#define HMX_QUEUE_ADMIN_H

#include <stdint.h>

#include "ipc_ctl.h"

/* Declares the queue's metric families (at init). */
void	queue_admin_init(void);
/* role_ops.on_ctl of the queue. */
void	queue_admin_ask(const struct msg_ctl_ask *, uint64_t req_id);
/* One recipient's result of a round (delivered, deferred, bounced,
 * expired), counted by destination domain. */
void	queue_admin_delivery(const char *rcpt, const char *result);

#endif
