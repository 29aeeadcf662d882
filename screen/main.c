/*
 * screen/main.c - homemx-screen: only main() (screen/screen.c is the role).
 */
#include "screen.h"

int
main(int argc, char **argv)
{
	return role_main(argc, argv, &screen_role_ops);
}
