/*
 * admin/doctor_watch.h - `mxctl doctor --changes FILE [--mail ADDRESS]`,
 * for a timer that runs the doctor every hour or day: print only what
 * changed since the last run, and mail the admin when a check turned bad.
 *
 * Owns: the state file (one line per check: its status and id, written
 * after each run) and the report mail. The file is opened and locked
 * before the doctor drops its privileges, so it may live in a directory
 * only root can write; a second doctor running on the same file at once
 * is refused. The mail goes to our own port 25 on loopback (a trusted
 * network, and the address is local: port 25 never relays), with MAIL FROM
 * <> so that it can never bounce: no sendmail, no credentials.
 */
#ifndef HMX_ADMIN_DOCTOR_WATCH_H
#define HMX_ADMIN_DOCTOR_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "doctor.h"

struct mxctl;

struct doctor_watch {
	int		 fd;		/* -1 without --changes */
	const char	*path;
	const char	*mail;
	char		*old;		/* the previous state, NUL-terminated */
};

/* path NULL: nothing to do (fd -1). 0, or -1 with m->err. */
int	doctor_watch_open(struct mxctl *, struct doctor_watch *, const char *path,
	    const char *mail);
/* Prints the changes (text) or the whole report (json), mails when a check
 * got worse, and stores the new state. */
void	doctor_watch_report(struct doctor_watch *, const struct doctor *,
	    const struct dr_report *, bool json, const char *servers);
void	doctor_watch_close(struct doctor_watch *);

/* One previous status: -1 if the id was not in the old state. */
int	doctor_watch_old_status(const char *old, const char *id);

/* admin/doctor_tls.c: a message to a local address through our own port 25
 * on loopback. 0, or -1 with err. */
int	doctor_send_mail(const struct doctor *, const char *rcpt, const char *subject,
	    const char *body, char *err, size_t errsize);

#endif
