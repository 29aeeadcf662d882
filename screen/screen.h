/*
 * screen/screen.h - the screen role: inbound checks for smtpd.
 */
#ifndef SCREEN_SCREEN_H
#define SCREEN_SCREEN_H

#include "role.h"

extern const struct role_ops screen_role_ops;

#endif
