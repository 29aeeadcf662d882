/*
 * supervisor/localstandin.h - homemxd answers sendmail(8)'s local socket
 * while the submission role is down (see localstandin.c).
 */
#ifndef HMX_LOCALSTANDIN_H
#define HMX_LOCALSTANDIN_H

#include <stdbool.h>

#include <event2/event.h>

/* Registers one `listen local` socket (homemxd's copy; not owned). */
void	localstandin_add(struct event_base *, int listen_fd);
/* on: the submission role is not running, homemxd answers "421" on the
 * local sockets; off: the role serves them again. Logs each change. */
void	localstandin_set(bool on);
/* Stops answering for good (before the listeners are closed). */
void	localstandin_stop(void);

#endif
