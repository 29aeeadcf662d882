/*
 * lookup/main.c - entry point of homemx-lookup; everything is in lookup.c.
 */
#include "lookup.h"

int
main(int argc, char **argv)
{
	return role_main(argc, argv, &lookup_role_ops);
}
