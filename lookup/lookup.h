/*
 * lookup/lookup.h - the lookup role: sole reader of the store in the daemon.
 *
 * Owns: its links to the roles that ask questions (smtpd and delivery now,
 * submission later) and its handle on the Berkeley DB environment.
 */
#ifndef HMX_LOOKUP_H
#define HMX_LOOKUP_H

#include "role.h"

extern const struct role_ops lookup_role_ops;

#endif
