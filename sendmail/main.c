/*
 * sendmail/main.c - homemx-sendmail: only main(). The run is in
 * sendmail/sendmail.c; the unit tests link the rest of the folder.
 */
#include "sendmail.h"

int
main(int argc, char **argv)
{
	return sendmail_main(argc, argv);
}
