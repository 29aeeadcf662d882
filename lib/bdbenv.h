/*
 * lib/bdbenv.h - opening a Berkeley DB environment the way every homemx
 * database needs it: transactions, MVCC for readers that never wait, dead
 * processes detected, logs removed once checkpointed.
 *
 * Owns: the environment settings, each learned from a failure measured on
 * BDB 5.3 (lib/store.h explains them: DB_REGISTER|DB_RECOVER without
 * DB_FAILCHK, set_isalive, snapshot readers). Two environments use it: the
 * store (lookup and mxctl) and the screen's memory (screen/memory.c, read
 * by `mxctl why`).
 */
#ifndef HMX_BDBENV_H
#define HMX_BDBENV_H

#include <stddef.h>
#include <stdint.h>

#include <db.h>

#define BDBENV_FILE_MODE	0600

struct bdbenv_sizes {
	uint32_t	cache_bytes;	/* MVCC page copies live here */
	uint32_t	locks_max;
	uint32_t	log_file_bytes;
};

/* errcall gets BDB's own messages; app_private is stored in the env. */
typedef void (*bdbenv_errcall)(const DB_ENV *, const char *pfx, const char *msg);

/*
 * Creates dir (0700) if missing and opens the environment in it. Returns 0,
 * or a BDB/errno code with err filled ("DIR: reason (BDB's words)").
 */
int	bdbenv_open(const char *dir, const struct bdbenv_sizes *, void *app_private,
	    bdbenv_errcall, DB_ENV **out, char *err, size_t errlen);

/* Opens (creating) one btree in env for transactional, MVCC use. */
int	bdbenv_open_btree(DB_ENV *env, const char *file, DB **out);

#endif
