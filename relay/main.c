/*
 * relay/main.c - homemx-relay: only main(); the role lives in relay.c.
 */
#include "relay.h"
#include "role.h"

int
main(int argc, char **argv)
{
	static const struct role_ops ops = {
		.role = ROLE_RELAY,
		.preinit = relay_preinit,
		.init = relay_init,
		.on_link = relay_on_link,
		.on_reload = relay_on_reload,
		.on_shutdown = relay_on_shutdown,
		.sandbox = &sandbox_profile_relay,
	};

	return role_main(argc, argv, &ops);
}
