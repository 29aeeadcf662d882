/*
 * delivery/main.c - homemx-delivery: only main(); the role lives in
 * delivery.c.
 */
#include "delivery.h"
#include "role.h"

int
main(int argc, char **argv)
{
	static const struct role_ops ops = {
		.role = ROLE_DELIVERY,
		.init = delivery_init,
		.on_link = delivery_on_link,
		.on_reload = delivery_on_reload,
		.on_shutdown = delivery_on_shutdown,
	};

	return role_main(argc, argv, &ops);
}
