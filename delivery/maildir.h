/*
 * delivery/maildir.h - the Maildir writer (see maildir.c).
 */
#ifndef HMX_DELIVERY_MAILDIR_H
#define HMX_DELIVERY_MAILDIR_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

/* "<sec>.M<usec>P<pid>Q<n>.<host>,S=<size>": host escaped (up to 4 bytes
 * per byte of a 255-byte name) plus 80 for the numbers. */
#define MAILDIR_HOST_MAX	(ADDR_DOMAIN_MAX * 4)
#define MAILDIR_NAME_MAX	(MAILDIR_HOST_MAX + 80)
#define MAILDIR_WHY_MAX		160

struct maildir_root {
	int		fd;		/* maildir_root, O_DIRECTORY */
	char		host[MAILDIR_HOST_MAX + 1];
	unsigned long	counter;	/* the Q part of unique names */
};

enum maildir_status {
	MAILDIR_OK = 0,
	MAILDIR_TEMPFAIL,	/* disk trouble: try again later */
	MAILDIR_PERMFAIL,	/* a mailbox that can never be a path */
};

/* One message being written into one Maildir. */
struct maildir_file {
	int		dirfd;		/* <root>/<domain>/<user> */
	int		fd;		/* tmp/<name>, -1 once closed */
	dev_t		dev;		/* file system of the Maildir */
	ino_t		ino;		/* the Maildir itself */
	char		name[MAILDIR_NAME_MAX];	/* in tmp/ */
	char		final[MAILDIR_NAME_MAX + 24];	/* in new/, with ,S= */
	uint64_t	size;		/* bytes written */
	bool		published;	/* renamed into new/ */
};

/* Opens root (which must exist); hostname goes into unique names. */
int	maildir_root_open(struct maildir_root *, const char *path,
	    const char *hostname);
void	maildir_root_close(struct maildir_root *);

/*
 * Splits mailbox ("user@domain", as lookup answered) into the two path
 * components, refusing anything that is not one safe directory name:
 * empty, ".", "..", containing '/' or a control byte. Returns false with
 * *why on refusal.
 */
bool	maildir_split_mailbox(const char *mailbox, char user[ADDR_LOCAL_MAX + 3],
	    char domain[ADDR_DOMAIN_MAX + 1], const char **why);

/* Escapes a host name for a unique name: '/' -> \057, ':' -> \072. */
void	maildir_escape_host(const char *host, char *out, size_t outsize);

/*
 * Step 1 of 4: creates the Maildir if missing (tmp/ new/ cur/, 0700), then
 * a new file in tmp/ holding "Return-Path: <sender>", "Delivered-To: rcpt"
 * and the body copied byte-exact from body_fd (pread from offset 0 to
 * EOF). Nothing is fsynced yet. On failure nothing is left behind.
 * Step 2 is the caller's: one syncfs() per file system for a batch
 * (delivery.c), through f->fd.
 */
enum maildir_status maildir_write(struct maildir_root *, const char *mailbox,
	    const char *sender, const char *rcpt, int body_fd,
	    struct maildir_file *, char *why, size_t whysize);

/* Step 3: rename tmp/<name> to new/<name>,S=<size>. */
int	maildir_publish(struct maildir_file *);
/* Step 4: fsync new/ (once per Maildir for a batch). */
int	maildir_sync_new(struct maildir_file *);
/* Closes fds; unlinks the tmp file unless published. */
void	maildir_file_close(struct maildir_file *);

#endif
