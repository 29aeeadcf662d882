/*
 * admin/main.c - entry point of mxctl; everything is in mxctl.c.
 */
#include "mxctl.h"

int
main(int argc, char **argv)
{
	return mxctl_main(argc, argv);
}
