/*
 * dkimsign/main.c - homemx-dkimsign: only main(); the role lives in
 * dkimsign.c.
 */
#include "dkimsign.h"
#include "role.h"

int
main(int argc, char **argv)
{
	static const struct role_ops ops = {
		.role = ROLE_DKIMSIGN,
		.preinit = dkimsign_preinit,
		.init = dkimsign_init,
		.on_link = dkimsign_on_link,
		.on_reload = dkimsign_on_reload,
		.on_shutdown = dkimsign_on_shutdown,
	};

	return role_main(argc, argv, &ops);
}
