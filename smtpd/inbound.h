/*
 * smtpd/inbound.h - port 25's session policy (smtpd/inbound.c).
 */
#ifndef SMTPD_INBOUND_H
#define SMTPD_INBOUND_H

struct session_policy;

extern const struct session_policy inbound_policy;

#endif
