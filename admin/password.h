/*
 * admin/password.h - getting a new password from the admin, and hashing it.
 *
 * Owns: the rule that a password never comes from argv: it is the first
 * line of stdin when stdin is not a terminal (scripts, tests), otherwise it
 * is typed twice at a prompt with echo off. Buffers are wiped with
 * sodium_memzero as soon as the hash exists.
 */
#ifndef HMX_ADMIN_PASSWORD_H
#define HMX_ADMIN_PASSWORD_H

#include <stddef.h>

#include "ipc_decode.h"	/* AUTH_PASSWORD_MAX */

#define PASSWORD_MAX	AUTH_PASSWORD_MAX	/* 512 bytes, what AUTH can carry; longer is refused, not cut */

/* Reads a password into buf (PASSWORD_MAX + 1 bytes). 0, or -1 with err. */
int	password_read(char *buf, size_t size, char *err, size_t errlen);

/* Argon2id with INTERACTIVE limits into hash (crypto_pwhash_STRBYTES).
 * Wipes password. 0, or -1 with err. */
int	password_hash(char *password, char *hash, size_t hashsize, char *err,
	    size_t errlen);

#endif
