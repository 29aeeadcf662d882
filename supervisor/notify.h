/*
 * supervisor/notify.h - telling systemd how homemxd is doing (sd_notify).
 */
#ifndef HMX_NOTIFY_H
#define HMX_NOTIFY_H

/* Reads and removes NOTIFY_SOCKET from the environment (the roles must not
 * inherit it). Without it (not started by systemd) notify_send does nothing. */
void	notify_init(void);
/* Sends state ("READY=1", "STOPPING=1", newline-separated assignments) as
 * one datagram; a failure is logged once and otherwise ignored. */
void	notify_send(const char *state);

#endif
