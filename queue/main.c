/*
 * queue/main.c - homemx-queue: only main(); the role lives in queue.c.
 */
#include "admin.h"
#include "queue.h"
#include "role.h"

int
main(int argc, char **argv)
{
	static const struct role_ops ops = {
		.role = ROLE_QUEUE,
		.init = queue_init,
		.on_link = queue_on_link,
		.on_reload = queue_on_reload,
		.on_shutdown = queue_on_shutdown,
		.on_ctl = queue_admin_ask,	/* mxctl queue, status (admin.c) */
	};

	return role_main(argc, argv, &ops);
}
