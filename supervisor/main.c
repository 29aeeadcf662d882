/*
 * supervisor/main.c - homemxd. Everything lives in supervisor.c; main() is
 * alone here so unit tests can link the rest of the folder.
 */
#include "supervisor.h"

int
main(int argc, char **argv)
{
	return supervisor_main(argc, argv);
}
