/*
 * submission/main.c - homemx-submission: only main(). The role is the
 * smtpd session engine in submission mode (smtpd/smtpd.c,
 * submission_role_ops): the Makefile links every smtpd object but
 * smtpd/main.o into this binary.
 */
#include "../smtpd/smtpd.h"

int
main(int argc, char **argv)
{
	return role_main(argc, argv, &submission_role_ops);
}
