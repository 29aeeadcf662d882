/*
 * queue/main.c - homemx-queue: only main(); the role lives in queue.c.
 */
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
	};

	return role_main(argc, argv, &ops);
}
