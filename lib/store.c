/*
 * lib/store.c - the Berkeley DB environment, the record formats, and the
 * two questions both mxctl and lookup ask of it (what does this name
 * expand to, which base does this subaddress belong to).
 *
 * Owns: every byte under store_dir; nothing else opens a handle there (the
 * screen role's memory is a separate environment of its own, through the
 * same lib/bdbenv.c settings). Records are decoded and checked here (version byte, lengths,
 * key syntax), so a corrupt row becomes STORE_ERROR, never a bad answer.
 * Why this way: the environment settings in doc/libraries.md section 5 were
 * each learned from a failure (a reader hung on a dead writer's locks, a
 * recovery that panicked the live reader); they are applied in one place
 * so that the writer and the reader can never disagree about them.
 */
#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <db.h>

#include "addr_intl.h"
#include "bdbenv.h"
#include "log.h"
#include "store.h"
#include "util.h"

enum store_db { SDB_DOMAINS, SDB_USERS, SDB_ALIASES, SDB_BLOCKED, SDB_COUNT };

static const char *const store_db_file[SDB_COUNT] = {
	[SDB_DOMAINS] = "domains.db",
	[SDB_USERS] = "users.db",
	[SDB_ALIASES] = "aliases.db",
	[SDB_BLOCKED] = "blocked.db",
};

#define STORE_KEY_MAX		(ADDR_MAX + 1)
/* version byte + 32 targets of up to 256 bytes and their commas */
#define STORE_VALUE_MAX		(2 + STORE_ALIAS_TARGETS_MAX * (ADDR_MAX + 1))
#define STORE_CACHE_BYTES	(8u * 1024 * 1024)	/* MVCC page copies */
#define STORE_LOG_FILE_BYTES	(1u * 1024 * 1024)
#define STORE_LOCKS_MAX		10000	/* page locks: a 20000-user import takes ~320 */
#define STORE_EXPAND_VISITS	64	/* aliases visited in one expansion */
#define STORE_CKP_KBYTES	64	/* reader checkpoints: after 64 KiB of log */
#define STORE_CKP_MINUTES	1

struct store {
	DB_ENV	*env;
	DB	*db[SDB_COUNT];
	char	 err[STORE_ERR_MAX];
};

struct store_txn {
	struct store	*st;
	DB_TXN		*txn;
};

const char *
store_status_text(enum store_status s)
{
	switch (s) {
	case STORE_OK:		return "ok";
	case STORE_NOTFOUND:	return "not found";
	case STORE_BUSY:	return "busy (lock not granted)";
	case STORE_ERROR:	return "error";
	case STORE_PANIC:	return "environment needs recovery";
	}
	return "unknown";
}

const char *
store_error(const struct store *st)
{
	return st->err;
}

static void
store_set_err(struct store *st, const char *what, int r)
{
	snprintf(st->err, sizeof(st->err), "%s: %s", what, db_strerror(r));
}

/* BDB's own messages ("BDB0060 ...") land in the handle, not on stderr. */
static void
store_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	struct store *st = env->app_private;

	(void)pfx;
	if (st != NULL)
		snprintf(st->err, sizeof(st->err), "%s", msg);
}

static enum store_status
store_status_of(struct store *st, int r, const char *what)
{
	switch (r) {
	case 0:
		return STORE_OK;
	case DB_NOTFOUND:
	case DB_KEYEMPTY:
		return STORE_NOTFOUND;
	case DB_LOCK_DEADLOCK:
	case DB_LOCK_NOTGRANTED:
		store_set_err(st, what, r);
		return STORE_BUSY;
	case DB_RUNRECOVERY:
		store_set_err(st, what, r);
		return STORE_PANIC;
	default:
		store_set_err(st, what, r);
		return STORE_ERROR;
	}
}

/* ---- open / close --------------------------------------------------- */

static int
store_open_dbs(struct store *st)
{
	for (int i = 0; i < SDB_COUNT; i++) {
		int r = bdbenv_open_btree(st->env, store_db_file[i], &st->db[i]);
		if (r != 0)
			return r;
	}
	return 0;
}

struct store *
store_open(const char *dir, char *err, size_t errlen)
{
	static const struct bdbenv_sizes sizes = { STORE_CACHE_BYTES,
	    STORE_LOCKS_MAX, STORE_LOG_FILE_BYTES };
	char why[STORE_ERR_MAX];
	struct store *st;
	int r;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "store %s: out of memory", dir);
		return NULL;
	}
	if (bdbenv_open(dir, &sizes, st, store_errcall, &st->env, why, sizeof(why)) != 0) {
		if (st->err[0] != '\0')	/* BDB's own words say more */
			snprintf(err, errlen, "store %s (%s)", why, st->err);
		else
			snprintf(err, errlen, "store %s", why);
		free(st);
		return NULL;
	}
	if ((r = store_open_dbs(st)) != 0) {
		snprintf(err, errlen, "store %s: %s%s%s%s", dir, db_strerror(r),
		    st->err[0] ? " (" : "", st->err, st->err[0] ? ")" : "");
		store_close(st);
		return NULL;
	}
	return st;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < SDB_COUNT; i++)
		if (st->db[i] != NULL)
			st->db[i]->close(st->db[i], 0);
	if (st->env != NULL)
		st->env->close(st->env, 0);
	free(st);
}

enum store_status
store_failchk(struct store *st)
{
	return store_status_of(st, st->env->failchk(st->env, 0), "failchk");
}

enum store_status
store_checkpoint(struct store *st, bool force)
{
	int r;

	if (force)
		r = st->env->txn_checkpoint(st->env, 0, 0, 0);
	else
		r = st->env->txn_checkpoint(st->env, STORE_CKP_KBYTES,
		    STORE_CKP_MINUTES, 0);
	return store_status_of(st, r, "checkpoint");
}

/* ---- transactions ----------------------------------------------------- */

static enum store_status
store_begin(struct store *st, struct store_txn **out, u_int32_t flags)
{
	struct store_txn *t;
	int r;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(st->err, sizeof(st->err), "out of memory");
		return STORE_ERROR;
	}
	t->st = st;
	if ((r = st->env->txn_begin(st->env, NULL, &t->txn, flags)) != 0) {
		free(t);
		return store_status_of(st, r, "txn_begin");
	}
	*out = t;
	return STORE_OK;
}

enum store_status
store_begin_read(struct store *st, struct store_txn **out)
{
	return store_begin(st, out, DB_TXN_SNAPSHOT | DB_TXN_NOWAIT);
}

enum store_status
store_begin_write(struct store *st, struct store_txn **out)
{
	return store_begin(st, out, 0);
}

enum store_status
store_commit(struct store_txn *t)
{
	struct store *st = t->st;
	int r = t->txn->commit(t->txn, 0);

	free(t);
	return store_status_of(st, r, "commit");
}

void
store_abort(struct store_txn *t)
{
	if (t == NULL)
		return;
	(void)t->txn->abort(t->txn);
	free(t);
}

/* ---- key checks --------------------------------------------------------- */

static bool
has_upper(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			return true;
	return false;
}

static bool
key_is_domain(const char *s)
{
	return domain_is_valid(s, strlen(s)) && !has_upper(s);
}

/* Normalized: a dot-string local part (UTF-8 allowed, RFC 6531) that is
 * its own fold (lowercase in every script and NFC, addr_local_fold()), a
 * lowercase, valid non-literal domain in A-label form: exactly what
 * addr_normalize_input() gives back, and what lookup folds a recipient
 * into before it asks (lookup/resolve.c). A key spelled "Jürgen@" could
 * never be found, so it is refused here rather than stored. */
static bool
key_is_address(const char *s)
{
	struct mailaddr m;
	char canon[ADDR_MAX + 1];

	return s[0] != '"' && !has_upper(s) &&
	    addr_parse_mailbox(s, strlen(s), &m) == ADDR_OK && !m.is_literal &&
	    !m.u_label && addr_local_is_folded(m.local) &&
	    addr_format(&m, canon, sizeof(canon)) == 0 && strcmp(canon, s) == 0;
}

static enum store_status
store_bad_key(struct store *st, const char *what, const char *key)
{
	snprintf(st->err, sizeof(st->err), "refusing to store %s key '%.300s': not normalized",
	    what, key);
	return STORE_ERROR;
}

static enum store_status
store_corrupt(struct store *st, enum store_db which, const char *key)
{
	snprintf(st->err, sizeof(st->err), "%s: corrupt record for '%.300s'",
	    store_db_file[which], key);
	return STORE_ERROR;
}

/* ---- raw get / put / del ------------------------------------------------ */

static enum store_status
db_get(struct store_txn *t, enum store_db which, const char *key,
    uint8_t *val, size_t valsize, size_t *vallen)
{
	DBT k, v;
	int r;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)(uintptr_t)key;
	k.size = (u_int32_t)strlen(key);
	v.data = val;
	v.ulen = (u_int32_t)valsize;
	v.flags = DB_DBT_USERMEM;
	r = t->st->db[which]->get(t->st->db[which], t->txn, &k, &v, 0);
	if (r == DB_BUFFER_SMALL)
		return store_corrupt(t->st, which, key);
	*vallen = v.size;
	return store_status_of(t->st, r, store_db_file[which]);
}

static enum store_status
db_put(struct store_txn *t, enum store_db which, const char *key,
    const uint8_t *val, size_t vallen)
{
	DBT k, v;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)(uintptr_t)key;
	k.size = (u_int32_t)strlen(key);
	v.data = (void *)(uintptr_t)val;
	v.size = (u_int32_t)vallen;
	return store_status_of(t->st, t->st->db[which]->put(t->st->db[which],
	    t->txn, &k, &v, 0), store_db_file[which]);
}

static enum store_status
db_del(struct store_txn *t, enum store_db which, const char *key)
{
	DBT k;

	memset(&k, 0, sizeof(k));
	k.data = (void *)(uintptr_t)key;
	k.size = (u_int32_t)strlen(key);
	return store_status_of(t->st, t->st->db[which]->del(t->st->db[which],
	    t->txn, &k, 0), store_db_file[which]);
}

/* Copies n bytes to a NUL-terminated field; false if it does not fit. */
static bool
copy_field(char *dst, size_t dstsize, const uint8_t *src, size_t n)
{
	if (n >= dstsize || memchr(src, '\0', n) != NULL)
		return false;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return true;
}

static bool
copy_key(char *dst, size_t dstsize, const char *key)
{
	return copy_field(dst, dstsize, (const uint8_t *)key, strlen(key));
}

/* ---- record codecs ------------------------------------------------------ */

static bool
decode_domain(const char *key, const uint8_t *v, size_t n, struct store_domain *d)
{
	return n >= 2 && v[0] == STORE_RECORD_V1 &&
	    copy_key(d->name, sizeof(d->name), key) &&
	    copy_field(d->catchall, sizeof(d->catchall), v + 2, n - 2) &&
	    (d->catchall[0] == '\0' || key_is_address(d->catchall));
}

static bool
decode_user(const char *key, const uint8_t *v, size_t n, struct store_user *u)
{
	return n >= 2 && v[0] == STORE_RECORD_V1 &&
	    copy_key(u->address, sizeof(u->address), key) &&
	    copy_field(u->hash, sizeof(u->hash), v + 2, n - 2);
}

static bool
decode_alias(const char *key, const uint8_t *v, size_t n, struct store_alias *a)
{
	size_t i = 1;

	a->ntargets = 0;
	if (n < 2 || v[0] != STORE_RECORD_V1 ||
	    !copy_key(a->address, sizeof(a->address), key))
		return false;
	while (i < n) {
		const uint8_t *comma = memchr(v + i, ',', n - i);
		size_t len = comma != NULL ? (size_t)(comma - (v + i)) : n - i;
		if (a->ntargets == STORE_ALIAS_TARGETS_MAX ||
		    !copy_field(a->targets[a->ntargets], sizeof(a->targets[0]), v + i, len) ||
		    !key_is_address(a->targets[a->ntargets]))
			return false;
		a->ntargets++;
		i += len + 1;
		if (comma != NULL && i == n)
			return false;	/* trailing comma */
	}
	return a->ntargets > 0;
}

static bool
decode_block(const char *key, const uint8_t *v, size_t n, struct store_block *b)
{
	return n >= 2 && v[0] == STORE_RECORD_V1 &&
	    copy_key(b->address, sizeof(b->address), key) &&
	    copy_field(b->base, sizeof(b->base), v + 1, n - 1) &&
	    key_is_address(b->base);
}

/* Builds V1, [flags,] text into buf; returns the length or 0 on overflow. */
static size_t
encode_text(uint8_t *buf, size_t size, bool with_flags, const char *text)
{
	size_t hdr = with_flags ? 2 : 1, n = strlen(text);

	if (hdr + n > size)
		return 0;
	buf[0] = STORE_RECORD_V1;
	if (with_flags)
		buf[1] = 0;
	memcpy(buf + hdr, text, n);
	return hdr + n;
}

/* ---- typed get ------------------------------------------------------------ */

enum store_status
store_get_domain(struct store_txn *t, const char *name, struct store_domain *d)
{
	uint8_t v[STORE_VALUE_MAX];
	size_t n;
	enum store_status s = db_get(t, SDB_DOMAINS, name, v, sizeof(v), &n);

	if (s == STORE_OK && !decode_domain(name, v, n, d))
		return store_corrupt(t->st, SDB_DOMAINS, name);
	return s;
}

enum store_status
store_get_user(struct store_txn *t, const char *address, struct store_user *u)
{
	uint8_t v[STORE_VALUE_MAX];
	size_t n;
	enum store_status s = db_get(t, SDB_USERS, address, v, sizeof(v), &n);

	if (s == STORE_OK && !decode_user(address, v, n, u))
		return store_corrupt(t->st, SDB_USERS, address);
	return s;
}

enum store_status
store_get_alias(struct store_txn *t, const char *address, struct store_alias *a)
{
	uint8_t v[STORE_VALUE_MAX];
	size_t n;
	enum store_status s = db_get(t, SDB_ALIASES, address, v, sizeof(v), &n);

	if (s == STORE_OK && !decode_alias(address, v, n, a))
		return store_corrupt(t->st, SDB_ALIASES, address);
	return s;
}

enum store_status
store_get_block(struct store_txn *t, const char *address, struct store_block *b)
{
	uint8_t v[STORE_VALUE_MAX];
	size_t n;
	enum store_status s = db_get(t, SDB_BLOCKED, address, v, sizeof(v), &n);

	if (s == STORE_OK && !decode_block(address, v, n, b))
		return store_corrupt(t->st, SDB_BLOCKED, address);
	return s;
}

enum store_status
store_name_exists(struct store_txn *t, const char *address)
{
	struct store_user u;
	struct store_alias a;
	enum store_status s = store_get_user(t, address, &u);

	if (s != STORE_NOTFOUND)
		return s;
	return store_get_alias(t, address, &a);
}

/* ---- typed put / del ------------------------------------------------------ */

enum store_status
store_put_domain(struct store_txn *t, const struct store_domain *d)
{
	uint8_t v[STORE_VALUE_MAX];
	size_t n;

	if (!key_is_domain(d->name))
		return store_bad_key(t->st, "domain", d->name);
	if (d->catchall[0] != '\0' && !key_is_address(d->catchall))
		return store_bad_key(t->st, "catch-all", d->catchall);
	if ((n = encode_text(v, sizeof(v), true, d->catchall)) == 0)
		return store_bad_key(t->st, "catch-all", d->catchall);
	return db_put(t, SDB_DOMAINS, d->name, v, n);
}

static bool
hash_is_printable(const char *h)
{
	for (; *h != '\0'; h++)
		if (*h <= 0x20 || *h >= 0x7f)
			return false;
	return true;
}

enum store_status
store_put_user(struct store_txn *t, const struct store_user *u)
{
	uint8_t v[STORE_VALUE_MAX];
	size_t n;

	if (!key_is_address(u->address))
		return store_bad_key(t->st, "user", u->address);
	if (strnlen(u->hash, sizeof(u->hash)) > STORE_HASH_MAX ||
	    !hash_is_printable(u->hash)) {
		snprintf(t->st->err, sizeof(t->st->err), "refusing a malformed password hash for '%s'",
		    u->address);
		return STORE_ERROR;
	}
	n = encode_text(v, sizeof(v), true, u->hash);
	return db_put(t, SDB_USERS, u->address, v, n);
}

enum store_status
store_put_alias(struct store_txn *t, const struct store_alias *a)
{
	uint8_t v[STORE_VALUE_MAX];
	size_t n = 1;

	if (!key_is_address(a->address))
		return store_bad_key(t->st, "alias", a->address);
	if (a->ntargets == 0 || a->ntargets > STORE_ALIAS_TARGETS_MAX) {
		snprintf(t->st->err, sizeof(t->st->err), "alias '%s': %u targets (1 to %d allowed)",
		    a->address, a->ntargets, STORE_ALIAS_TARGETS_MAX);
		return STORE_ERROR;
	}
	v[0] = STORE_RECORD_V1;
	for (unsigned i = 0; i < a->ntargets; i++) {
		size_t tl = strnlen(a->targets[i], sizeof(a->targets[i]));
		if (!key_is_address(a->targets[i]))
			return store_bad_key(t->st, "alias target", a->targets[i]);
		if (i > 0)
			v[n++] = ',';
		memcpy(v + n, a->targets[i], tl);	/* fits: STORE_VALUE_MAX */
		n += tl;
	}
	return db_put(t, SDB_ALIASES, a->address, v, n);
}

enum store_status
store_put_block(struct store_txn *t, const struct store_block *b)
{
	uint8_t v[STORE_VALUE_MAX];
	size_t n;

	if (!key_is_address(b->address))
		return store_bad_key(t->st, "blocked", b->address);
	if (!key_is_address(b->base))
		return store_bad_key(t->st, "base", b->base);
	n = encode_text(v, sizeof(v), false, b->base);
	return db_put(t, SDB_BLOCKED, b->address, v, n);
}

enum store_status
store_del_domain(struct store_txn *t, const char *name)
{
	return db_del(t, SDB_DOMAINS, name);
}

enum store_status
store_del_user(struct store_txn *t, const char *address)
{
	return db_del(t, SDB_USERS, address);
}

enum store_status
store_del_alias(struct store_txn *t, const char *address)
{
	return db_del(t, SDB_ALIASES, address);
}

enum store_status
store_del_block(struct store_txn *t, const char *address)
{
	return db_del(t, SDB_BLOCKED, address);
}

/* ---- iteration ------------------------------------------------------------ */

/* One row handed to a typed visitor: key (NUL-terminated) and raw value. */
typedef int (*row_cb)(struct store_txn *, const char *key, const uint8_t *v,
    size_t n, void *arg, enum store_status *err);

static enum store_status
db_each(struct store_txn *t, enum store_db which, row_cb cb, void *arg)
{
	char key[STORE_KEY_MAX + 1];
	uint8_t val[STORE_VALUE_MAX];
	enum store_status s = STORE_OK;
	DBC *c;
	DBT k, v;
	int r;

	if ((r = t->st->db[which]->cursor(t->st->db[which], t->txn, &c, 0)) != 0)
		return store_status_of(t->st, r, store_db_file[which]);
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = key;
	k.ulen = sizeof(key) - 1;
	k.flags = DB_DBT_USERMEM;
	v.data = val;
	v.ulen = sizeof(val);
	v.flags = DB_DBT_USERMEM;
	while ((r = c->get(c, &k, &v, DB_NEXT)) == 0) {
		if (memchr(key, '\0', k.size) != NULL) {
			s = store_corrupt(t->st, which, "(key with NUL)");
			break;
		}
		key[k.size] = '\0';
		if (cb(t, key, val, v.size, arg, &s) != 0)
			break;
	}
	if (r == DB_BUFFER_SMALL)
		s = store_corrupt(t->st, which, "(oversized row)");
	else if (r != 0 && r != DB_NOTFOUND)
		s = store_status_of(t->st, r, store_db_file[which]);
	if ((r = c->close(c)) != 0 && s == STORE_OK)
		s = store_status_of(t->st, r, store_db_file[which]);
	return s;
}

struct each_ctx {
	union {
		store_domain_cb	domain;
		store_user_cb	user;
		store_alias_cb	alias;
		store_block_cb	block;
	}	 cb;
	void	*arg;
};

static int
row_domain(struct store_txn *t, const char *key, const uint8_t *v, size_t n,
    void *arg, enum store_status *err)
{
	struct each_ctx *e = arg;
	struct store_domain d;

	if (!decode_domain(key, v, n, &d)) {
		*err = store_corrupt(t->st, SDB_DOMAINS, key);
		return 1;
	}
	return e->cb.domain(&d, e->arg);
}

static int
row_user(struct store_txn *t, const char *key, const uint8_t *v, size_t n,
    void *arg, enum store_status *err)
{
	struct each_ctx *e = arg;
	struct store_user u;

	if (!decode_user(key, v, n, &u)) {
		*err = store_corrupt(t->st, SDB_USERS, key);
		return 1;
	}
	return e->cb.user(&u, e->arg);
}

static int
row_alias(struct store_txn *t, const char *key, const uint8_t *v, size_t n,
    void *arg, enum store_status *err)
{
	struct each_ctx *e = arg;
	struct store_alias *a;
	int stop;

	if ((a = malloc(sizeof(*a))) == NULL) {
		snprintf(t->st->err, sizeof(t->st->err), "out of memory");
		*err = STORE_ERROR;
		return 1;
	}
	if (!decode_alias(key, v, n, a)) {
		free(a);
		*err = store_corrupt(t->st, SDB_ALIASES, key);
		return 1;
	}
	stop = e->cb.alias(a, e->arg);
	free(a);
	return stop;
}

static int
row_block(struct store_txn *t, const char *key, const uint8_t *v, size_t n,
    void *arg, enum store_status *err)
{
	struct each_ctx *e = arg;
	struct store_block b;

	if (!decode_block(key, v, n, &b)) {
		*err = store_corrupt(t->st, SDB_BLOCKED, key);
		return 1;
	}
	return e->cb.block(&b, e->arg);
}

enum store_status
store_each_domain(struct store_txn *t, store_domain_cb cb, void *arg)
{
	struct each_ctx e = { .cb.domain = cb, .arg = arg };

	return db_each(t, SDB_DOMAINS, row_domain, &e);
}

enum store_status
store_each_user(struct store_txn *t, store_user_cb cb, void *arg)
{
	struct each_ctx e = { .cb.user = cb, .arg = arg };

	return db_each(t, SDB_USERS, row_user, &e);
}

enum store_status
store_each_alias(struct store_txn *t, store_alias_cb cb, void *arg)
{
	struct each_ctx e = { .cb.alias = cb, .arg = arg };

	return db_each(t, SDB_ALIASES, row_alias, &e);
}

enum store_status
store_each_block(struct store_txn *t, store_block_cb cb, void *arg)
{
	struct each_ctx e = { .cb.block = cb, .arg = arg };

	return db_each(t, SDB_BLOCKED, row_block, &e);
}

/* ---- expansion -------------------------------------------------------------- */

struct expand_state {
	struct store_mailboxes	*out;
	unsigned		 nvisited;
	char			 visited[STORE_EXPAND_VISITS][ADDR_MAX + 1];
};

static bool
expand_seen(char (*list)[ADDR_MAX + 1], unsigned n, const char *a)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(list[i], a) == 0)
			return true;
	return false;
}

static void
expand_add_box(struct store_mailboxes *out, const char *address)
{
	if (expand_seen(out->box, out->n, address))
		return;
	if (out->n == STORE_EXPAND_MAX) {
		out->overflow = true;
		return;
	}
	memcpy(out->box[out->n++], address, strlen(address) + 1);
}

static enum store_status
expand_one(struct store_txn *t, const char *address, unsigned depth,
    struct expand_state *x)
{
	struct store_user u;
	struct store_alias *a;
	enum store_status s;

	if ((s = store_get_user(t, address, &u)) != STORE_NOTFOUND) {
		if (s == STORE_OK)
			expand_add_box(x->out, address);
		return s;
	}
	if (depth >= STORE_EXPAND_DEPTH) {
		/* Whatever it is, it is too far down the chain to follow. */
		x->out->too_deep = true;
		return STORE_OK;
	}
	if (expand_seen(x->visited, x->nvisited, address))
		return STORE_OK;	/* a loop: this alias is already expanded */
	if ((a = malloc(sizeof(*a))) == NULL) {
		snprintf(t->st->err, sizeof(t->st->err), "out of memory");
		return STORE_ERROR;
	}
	if ((s = store_get_alias(t, address, a)) != STORE_OK) {
		free(a);
		return s;
	}
	if (x->nvisited == STORE_EXPAND_VISITS) {
		x->out->overflow = true;
		free(a);
		return STORE_OK;
	}
	memcpy(x->visited[x->nvisited++], address, strlen(address) + 1);
	for (unsigned i = 0; i < a->ntargets && s == STORE_OK; i++) {
		s = expand_one(t, a->targets[i], depth + 1, x);
		if (s == STORE_NOTFOUND) {
			x->out->dangling++;
			s = STORE_OK;
		}
	}
	free(a);
	return s;
}

enum store_status
store_expand(struct store_txn *t, const char *address, struct store_mailboxes *out)
{
	struct expand_state *x;
	enum store_status s;

	memset(out, 0, sizeof(*out));
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		snprintf(t->st->err, sizeof(t->st->err), "out of memory");
		return STORE_ERROR;
	}
	x->out = out;
	s = expand_one(t, address, 0, x);
	free(x);
	return s;
}

enum store_status
store_find_base(struct store_txn *t, const char *local, const char *domain,
    const char *delims, char *base, size_t basesize)
{
	size_t len = strlen(local);

	/* i > 0: a leading delimiter leaves no base to try. */
	for (size_t i = len; i-- > 1;) {
		if (strchr(delims, local[i]) == NULL)
			continue;
		int n = snprintf(base, basesize, "%.*s@%s", (int)i, local, domain);
		if (n < 0 || (size_t)n >= basesize)
			continue;
		enum store_status s = store_name_exists(t, base);
		if (s != STORE_NOTFOUND)
			return s;
	}
	if (basesize > 0)
		base[0] = '\0';
	return STORE_NOTFOUND;
}
