/*
 * admin/dovecot_passwd.h - the Dovecot passwd-file mxctl keeps in sync with
 * the users of the store, so that IMAP takes the same password as
 * submission and `mxctl user add|passwd|del` stays the one place where
 * passwords change.
 *
 * Owns: the file named by dovecot_passwd_file (homemx.conf) and its
 * directory. Each line is "ADDRESS:{ARGON2ID}HASH", the libsodium
 * crypto_pwhash_str string the store holds behind Dovecot's scheme prefix
 * (https://doc.dovecot.org/configuration_manual/authentication/password_schemes/;
 * Debian 12's Dovecot 2.3.19 is built with libsodium and verifies these).
 * A user without a login gets an empty password field: Dovecot knows the
 * user (LMTP delivery, static userdb) but no password matches.
 *
 * Why a whole rewrite from the store every time, under a lock: the store
 * is the truth and tens of users fit in one small file; the lock makes the
 * last writer the one that read the newest store, so two mxctl runs side
 * by side cannot leave an older snapshot behind. The file is written to a
 * temporary name, fsync'd and renamed over the old one, so Dovecot reads
 * either the old or the new file, never half of one.
 */
#ifndef HMX_ADMIN_DOVECOT_PASSWD_H
#define HMX_ADMIN_DOVECOT_PASSWD_H

#include <sys/types.h>

#include "mxctl.h"

#define DOVECOT_GROUP	"dovecot"	/* Debian's dovecot-core: its auth process */

/* The line for u into out, with its '\n', and for a user of an IDN domain
 * with a password a second line for the U-label login (kim@bücher.example,
 * mapped to the stored name by the extra field user=); *login: it has a
 * password.
 * Returns the length, or -1 for an address the format cannot hold (a
 * ':' or a control character) and 0 if out is too small. */
int	dovecot_passwd_line(const struct store_user *u, char *out, size_t outsize,
	    bool *login);

/*
 * As root, before mxctl becomes the store owner (owner_uid/owner_gid):
 * creates the directory of dovecot_passwd_file if needed and gives it to
 * the store owner with group dovecot (or the owner's group when Dovecot
 * is not installed), mode 02750: set-group-ID, so the files mxctl writes
 * there as the store owner belong to group dovecot. Nothing to do (0)
 * when the setting is empty or mxctl is not root. -1 with m->err.
 */
int	dovecot_passwd_prepare(struct mxctl *m, uid_t owner_uid, gid_t owner_gid);

/* Rewrites the file from the store (nothing when the setting is empty).
 * *nusers, *nlogin: lines written, and those with a password.
 * -1 with m->err; the old file is then left as it was. */
int	dovecot_passwd_sync(struct mxctl *m, unsigned *nusers, unsigned *nlogin);

/* After a user change: sync, and on failure say what to run. 0 or -1. */
int	dovecot_passwd_after_change(struct mxctl *m);

#endif
