/*
 * lookup/auth.h - password verification for AUTH (submission, next issue).
 *
 * Owns: the one place where a password meets its Argon2id hash. Only the
 * lookup role ever holds hashes; submission sends (user, password) and gets
 * a yes or no.
 *
 * Design (the pool is the next issue's work; the pieces below exist and
 * are tested):
 *  - The event loop reads the hash in a snapshot transaction
 *    (auth_fetch_hash) and hands (hash, password) to a fixed pool of
 *    AUTH_WORKERS threads, because one verify costs ~75 ms and 64 MiB
 *    (INTERACTIVE, LIBRARIES.md section 6) and must not stall the loop
 *    that answers RESOLVE questions. At most AUTH_WORKERS verifies run at
 *    once (2 cores); at most AUTH_QUEUE_MAX wait; a full queue answers
 *    "try later" at once instead of piling up CPU debt.
 *  - A worker runs only auth_verify_hash(): no store access, no logging.
 *    The result goes back to the loop through a pipe/eventfd and the
 *    password buffer is wiped (sodium_memzero) by whoever owns it last.
 *  - Unknown users and users without a password are verified against a
 *    dummy hash computed once at start, so the time taken does not tell
 *    which addresses exist. The answer to the client is the same for all
 *    three (AUTH_FAIL); only our log says which it was.
 *  - Rate limits per client IP and per user sit in front of the queue.
 */
#ifndef HMX_LOOKUP_AUTH_H
#define HMX_LOOKUP_AUTH_H

#include <stddef.h>

#include "store.h"

#define AUTH_WORKERS		2	/* concurrent Argon2id verifies, at most */
#define AUTH_QUEUE_MAX		32	/* waiting verifies before "try later" */
#define AUTH_PASSWORD_MAX	1024	/* = PASSWORD_MAX in admin/password.h */

enum auth_result {
	AUTH_OK = 1,
	AUTH_FAIL,		/* wrong password, unknown user or login disabled */
	AUTH_TEMPFAIL,		/* store trouble or overload: 454 4.7.0 */
};

enum auth_reason {		/* for our log only, never for the client */
	AUTH_REASON_NONE = 0,
	AUTH_REASON_BAD_PASSWORD,
	AUTH_REASON_NO_USER,
	AUTH_REASON_NO_LOGIN,
	AUTH_REASON_STORE,
};

/*
 * Loop side: copies the hash of address (normalized) into hash. Returns
 * AUTH_OK with the hash, AUTH_FAIL with *reason when there is nothing to
 * verify against, AUTH_TEMPFAIL on store trouble.
 */
enum auth_result auth_fetch_hash(struct store *, const char *address,
		    char hash[STORE_HASH_MAX + 1], enum auth_reason *reason);

/* Worker side: constant work for a given hash; password of len bytes. */
enum auth_result auth_verify_hash(const char *hash, const char *password,
		    size_t len);

#endif
