/*
 * smtpd/main.c - homemx-smtpd: only main(); the role lives in smtpd.c.
 */
#include "smtpd.h"

int
main(int argc, char **argv)
{
	return role_main(argc, argv, &smtpd_role_ops);
}
