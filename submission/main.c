/*
 * submission/main.c - homemx-submission: only main(). The role is in
 * submission/role.c; the Makefile links it with smtpd's session engine
 * (every smtpd object but port 25's own).
 */
#include "submission.h"

int
main(int argc, char **argv)
{
	return role_main(argc, argv, &submission_role_ops);
}
