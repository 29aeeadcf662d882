/*
 * lib/store.h - the Berkeley DB store: domains, users, aliases, blocked tags.
 *
 * Owns: the on-disk layout of the store and the one rule every key obeys:
 * it was normalized with addr_normalize_input()/domain_normalize_input()
 * (lowercase, IDNA A-labels) before it was written. Two programs use it:
 * mxctl writes (short transactions, one per command, one for a whole
 * import) and the lookup role reads (one snapshot transaction per
 * question), at the same time, each through its own environment handle.
 * Why this way: BDB transactions make an mxctl change visible to lookup at
 * commit, without a restart, and a writer killed mid-transaction leaves
 * nothing behind (doc/libraries.md section 5: every setting below comes
 * from a failure measured there).
 *
 * Environment (store_dir): DB_CREATE|DB_INIT_TXN|DB_INIT_LOCK|DB_INIT_LOG|
 * DB_INIT_MPOOL|DB_THREAD, opened with DB_REGISTER|DB_RECOVER, with
 * set_thread_count + set_isalive so that the lookup role's periodic
 * store_failchk() aborts the transaction of a dead mxctl and frees its
 * locks. Databases are opened DB_MULTIVERSION; readers use DB_TXN_SNAPSHOT
 * (they never wait for a writer's locks, dead or alive) and DB_TXN_NOWAIT.
 *
 * Deviation from the first design (doc/libraries.md section 5):
 * DB_FAILCHK is NOT passed to open. In BDB 5.3, an open with
 * DB_REGISTER|DB_FAILCHK that finds a dead process runs failchk inside
 * open, and when the dead process held the thread-table
 * mutex (likely: every API call takes it once set_thread_count is on) that
 * open spins forever (measured: about 1 kill -9 of mxctl mid-import in 10;
 * __envreg_register -> __env_attach_regions -> __env_set_state ->
 * __db_pthread_mutex_lock). Without it, an open that finds a dead process
 * runs full recovery; other live handles then get DB_RUNRECOVERY
 * (STORE_PANIC) and must reopen. A call that was already blocked on a
 * mutex of the dead process stays blocked: the lookup role has a watchdog
 * for that (lookup/lookup.c), and mxctl catches SIGINT/SIGTERM so that it
 * never dies inside BDB except by SIGKILL.
 * Log files are removed automatically once a checkpoint no longer needs
 * them (no catastrophic recovery from archived logs: back up with
 * db_hotbackup or db_dump instead). Files are created mode 0600; every
 * process that opens the store runs as the owner of store_dir.
 *
 * Databases (one btree file each, keys without NUL, values start with a
 * record version byte, STORE_RECORD_V1):
 *
 *   domains.db   key "example.org"
 *                value V1, u8 flags (0), catch-all address bytes (may be
 *                empty: no catch-all). A domain is local if it is here or
 *                in a `domain` line of homemx.conf; a config domain needs a
 *                row here only to carry a catch-all.
 *   users.db     key "kim@example.org"
 *                value V1, u8 flags (0), Argon2id hash string from
 *                crypto_pwhash_str (INTERACTIVE limits), no NUL. An empty
 *                hash means "receives mail, cannot log in".
 *   aliases.db   key "team@example.org"
 *                value V1, targets "a@example.org,b@example.org" (',' can
 *                not occur in a normalized dot-string address). Targets
 *                are users or aliases; remote targets come with forwarding.
 *   blocked.db   key "kim-leaked@example.org" (the full subaddress)
 *                value V1, base address it belongs to ("kim@example.org").
 *
 * A name is a user or an alias, never both (mxctl enforces it).
 */
#ifndef HMX_STORE_H
#define HMX_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

#define STORE_RECORD_V1		1
#define STORE_HASH_MAX		127	/* crypto_pwhash_STRBYTES - 1 */
#define STORE_ALIAS_TARGETS_MAX	32	/* = IPC_MAX_MAILBOXES */
#define STORE_EXPAND_MAX	32	/* mailboxes one address may reach */
#define STORE_EXPAND_DEPTH	8	/* aliases of aliases, at most */
#define STORE_ERR_MAX		512

/* Every store call returns one of these. */
enum store_status {
	STORE_OK = 0,
	STORE_NOTFOUND,		/* no such key */
	STORE_BUSY,		/* lock not granted / deadlock: retry the txn */
	STORE_ERROR,		/* I/O error or corrupt record: store_error() */
	STORE_PANIC,		/* DB_RUNRECOVERY: close and reopen the store */
};

const char	*store_status_text(enum store_status);

struct store;
struct store_txn;

struct store_domain {
	char	name[ADDR_DOMAIN_MAX + 1];
	char	catchall[ADDR_MAX + 1];		/* "" = none */
};

struct store_user {
	char	address[ADDR_MAX + 1];
	char	hash[STORE_HASH_MAX + 1];	/* "" = login disabled */
};

struct store_alias {
	char		address[ADDR_MAX + 1];
	unsigned	ntargets;
	char		targets[STORE_ALIAS_TARGETS_MAX][ADDR_MAX + 1];
};

struct store_block {
	char	address[ADDR_MAX + 1];		/* the burnt subaddress */
	char	base[ADDR_MAX + 1];		/* the user or alias it reaches */
};

/*
 * Opens (creating if needed) the environment and the four databases in
 * dir, which is created mode 0700 if missing. NULL on failure with err
 * filled ("store /x: Permission denied ...").
 */
struct store	*store_open(const char *dir, char *err, size_t errlen);
void		 store_close(struct store *);
/* The last error text of this handle (BDB's own message when it gave one). */
const char	*store_error(const struct store *);
/* Aborts the transactions of processes that died; call every few seconds. */
enum store_status store_failchk(struct store *);
/* Checkpoint so that old log files can be removed; force for writers. */
enum store_status store_checkpoint(struct store *, bool force);

/* A snapshot read transaction: never waits, sees the last commit. */
enum store_status store_begin_read(struct store *, struct store_txn **);
/* A write transaction (mxctl). */
enum store_status store_begin_write(struct store *, struct store_txn **);
enum store_status store_commit(struct store_txn *);
void		  store_abort(struct store_txn *);

/* Lookups. STORE_NOTFOUND when absent; out is filled on STORE_OK. */
enum store_status store_get_domain(struct store_txn *, const char *name, struct store_domain *);
enum store_status store_get_user(struct store_txn *, const char *address, struct store_user *);
enum store_status store_get_alias(struct store_txn *, const char *address, struct store_alias *);
enum store_status store_get_block(struct store_txn *, const char *address, struct store_block *);
/* STORE_OK if address is a user or an alias, else STORE_NOTFOUND. */
enum store_status store_name_exists(struct store_txn *, const char *address);

/* Writes replace an existing row. Keys must already be normalized; the
 * store re-checks the syntax and refuses anything else (STORE_ERROR). */
enum store_status store_put_domain(struct store_txn *, const struct store_domain *);
enum store_status store_put_user(struct store_txn *, const struct store_user *);
enum store_status store_put_alias(struct store_txn *, const struct store_alias *);
enum store_status store_put_block(struct store_txn *, const struct store_block *);
/* Deletes: STORE_NOTFOUND if there was nothing to delete. */
enum store_status store_del_domain(struct store_txn *, const char *name);
enum store_status store_del_user(struct store_txn *, const char *address);
enum store_status store_del_alias(struct store_txn *, const char *address);
enum store_status store_del_block(struct store_txn *, const char *address);

/* Iteration in key order. The callback returns 0 to go on, non-zero to
 * stop (store_each_* then returns STORE_OK). */
typedef int (*store_domain_cb)(const struct store_domain *, void *);
typedef int (*store_user_cb)(const struct store_user *, void *);
typedef int (*store_alias_cb)(const struct store_alias *, void *);
typedef int (*store_block_cb)(const struct store_block *, void *);
enum store_status store_each_domain(struct store_txn *, store_domain_cb, void *);
enum store_status store_each_user(struct store_txn *, store_user_cb, void *);
enum store_status store_each_alias(struct store_txn *, store_alias_cb, void *);
enum store_status store_each_block(struct store_txn *, store_block_cb, void *);

/* The local mailboxes an exact user or alias reaches. */
struct store_mailboxes {
	unsigned	n;
	char		box[STORE_EXPAND_MAX][ADDR_MAX + 1];
	bool		overflow;	/* more than STORE_EXPAND_MAX */
	bool		too_deep;	/* a chain longer than STORE_EXPAND_DEPTH */
	unsigned	dangling;	/* targets that are neither user nor alias */
};

/*
 * Expands address: a user gives itself; an alias gives its targets,
 * recursively (depth STORE_EXPAND_DEPTH), loop-safe, each mailbox once, in
 * first-seen order. STORE_NOTFOUND if address is neither user nor alias.
 * Shared by lookup (resolution) and mxctl (checking an alias before it is
 * written), so both agree on what an alias means.
 */
enum store_status store_expand(struct store_txn *, const char *address,
		    struct store_mailboxes *out);

/*
 * Subaddress base: for local part `local` at `domain`, tries the bases cut
 * at each delimiter occurrence (a character of delims) from the rightmost
 * to the leftmost, so the longest base wins, and returns the first that is
 * a user or an alias in base ("kim@example.org"). STORE_NOTFOUND if none.
 */
enum store_status store_find_base(struct store_txn *, const char *local,
		    const char *domain, const char *delims, char *base,
		    size_t basesize);

#endif
