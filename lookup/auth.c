/*
 * lookup/auth.c - the two halves of a password check (see auth.h): the
 * hash fetch, done in the event loop in a snapshot transaction, and the
 * Argon2id verify, which is what a worker thread will run.
 *
 * Owns: nothing long-lived. Why split: the verify is slow on purpose, the
 * fetch must see a consistent store; only the fetch touches BDB.
 */
#include <string.h>

#include <sodium.h>

#include "auth.h"

enum auth_result
auth_fetch_hash(struct store *st, const char *address,
    char hash[STORE_HASH_MAX + 1], enum auth_reason *reason)
{
	struct store_txn *t;
	struct store_user u;
	enum store_status s;

	hash[0] = '\0';
	*reason = AUTH_REASON_NONE;
	if ((s = store_begin_read(st, &t)) != STORE_OK) {
		*reason = AUTH_REASON_STORE;
		return AUTH_TEMPFAIL;
	}
	s = store_get_user(t, address, &u);
	store_abort(t);
	if (s == STORE_NOTFOUND) {
		*reason = AUTH_REASON_NO_USER;
		return AUTH_FAIL;
	}
	if (s != STORE_OK) {
		*reason = AUTH_REASON_STORE;
		return AUTH_TEMPFAIL;
	}
	if (u.hash[0] == '\0') {
		*reason = AUTH_REASON_NO_LOGIN;
		return AUTH_FAIL;
	}
	memcpy(hash, u.hash, sizeof(u.hash));
	sodium_memzero(u.hash, sizeof(u.hash));
	return AUTH_OK;
}

enum auth_result
auth_verify_hash(const char *hash, const char *password, size_t len)
{
	if (len > AUTH_PASSWORD_MAX)
		return AUTH_FAIL;
	return crypto_pwhash_str_verify(hash, password, len) == 0 ?
	    AUTH_OK : AUTH_FAIL;
}
