/*
 * screen/memory_db.h - the inside of the screen's memory, shared by the
 * two files that implement it: screen/memory.c (the environment, greylist,
 * verdicts, expiry and the size bound) and screen/memory_recall.c (the
 * spam and backscatter memories). Nothing else includes it.
 *
 * Owns: the database table and the record helpers. Why a split and not one
 * file: each memory is a few small functions over the same helpers, and
 * one file holding all of them grew past what a reader takes in at once.
 */
#ifndef SCREEN_MEMORY_DB_H
#define SCREEN_MEMORY_DB_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <db.h>

#include "memory.h"

#define MEMORY_V1		1
#define MEMORY_KEY_MAX		(MEMORY_SOURCE_MAX + 2 * (ADDR_MAX + 1) + 2)
#define MEMORY_VALUE_MAX	(1 + 8 + MEMORY_TEXT_MAX)

/* The order of the counts memory_counts() gives (MEMORY_KINDS of them). */
enum mdb_id { MDB_GREYLIST, MDB_PASSED, MDB_VERDICTS, MDB_QIDS, MDB_SPAM,
	MDB_BACKSCATTER, MDB_COUNT };

struct mdb {
	DB		*db;
	size_t		 count;		/* live records */
	/* the sweep pass in progress */
	bool		 in_pass;
	char		 last_key[MEMORY_KEY_MAX];
	size_t		 last_len;
	uint64_t	*expiries;	/* of the live records seen this pass */
	size_t		 nexp, capexp;
	time_t		 cutoff;	/* also remove what expires before this */
};

struct screen_memory {
	DB_ENV		*env;
	struct mdb	 db[MDB_COUNT];
	size_t		 max_entries;
	int		 sweep_db;
	char		 err[MEMORY_ERR_MAX];
};

void		memory_put_be(uint8_t *p, uint64_t v, int bytes);
uint64_t	memory_get_be(const uint8_t *p, int bytes);
/* Logs and keeps what failed; returns -1. */
int		memory_fail(struct screen_memory *, const char *what, int r);
/* "a" or "a\tb\tc" into key; its length, or 0 if it does not fit. */
size_t		memory_make_key(char *key, size_t size, const char *a, const char *b,
		    const char *c);
/* 0 found (val, *vlen: at most MEMORY_VALUE_MAX bytes), 1 absent or not a
 * V1 record, -1 database trouble. */
int		memory_db_read(struct screen_memory *, DB_TXN *, enum mdb_id, const char *key,
		    size_t klen, uint8_t *val, size_t *vlen);
/* Writes, without counting: the caller keeps db[id].count. */
int		memory_db_write(struct screen_memory *, DB_TXN *, enum mdb_id, const char *key,
		    size_t klen, const uint8_t *val, size_t vlen);
/* Deletes and counts the record gone; absent is fine. */
int		memory_db_delete(struct screen_memory *, DB_TXN *, enum mdb_id, const char *key,
		    size_t klen);

#endif
