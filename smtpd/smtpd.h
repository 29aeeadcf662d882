/*
 * smtpd/smtpd.h - the smtpd role as seen by role_main() (smtpd/main.c).
 */
#ifndef SMTPD_SMTPD_H
#define SMTPD_SMTPD_H

#include "role.h"

extern const struct role_ops smtpd_role_ops;

#endif
