/*
 * relay/auth.h - smarthost credentials (destination ... relay=HOST auth=FILE).
 *
 * Owns: the user names and passwords of the auth= files, read while the
 * role is still root and outside its chroot (preinit): after the drop the
 * files can not be opened again. A file first named by a reloaded config
 * is therefore not available until homemx restarts; that is logged at
 * reload and the destination defers its mail ("451 4.7.0").
 * File format: one line "user password" (the password is the rest of the
 * line, so it may contain blanks).
 */
#ifndef RELAY_AUTH_H
#define RELAY_AUTH_H

#include <stddef.h>

#include "config.h"

#define AUTH_FIELD_MAX	255	/* user or password; RFC 4616 allows more, no
				 * real smarthost needs it */

struct relay_cred {
	char	path[CONFIG_PATH_MAX];
	char	user[AUTH_FIELD_MAX + 1];
	char	password[AUTH_FIELD_MAX + 1];
};

/* Reads every auth= file of cfg; a file that can not be read or parsed is
 * fatal at start-up (preinit) and a warning at reload. */
void	relay_auth_load(const struct config *, int at_start);
/* NULL if path was never loaded. */
const struct relay_cred *relay_auth_find(const char *path);
/* Parses "user password\n" (len bytes). Returns 0, or -1 with *why. */
int	relay_auth_parse(const char *text, size_t len, struct relay_cred *,
	    const char **why);
/* The AUTH PLAIN initial response (RFC 4616): base64("\0user\0password"). */
int	relay_auth_plain(const struct relay_cred *, char *out, size_t size);
void	relay_auth_wipe(void);

#endif
