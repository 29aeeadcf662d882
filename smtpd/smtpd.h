/*
 * smtpd/smtpd.h - the smtpd and submission roles as seen by role_main().
 */
#ifndef SMTPD_SMTPD_H
#define SMTPD_SMTPD_H

#include "role.h"

extern const struct role_ops smtpd_role_ops;
/* homemx-submission (submission/main.c): the same engine, 587/465. */
extern const struct role_ops submission_role_ops;

#endif
