/*
 * screen/memory.c - the screen's Berkeley DB memory: the environment,
 * greylist triplets, passed sources, verdict records, queue ids, and the
 * expiry and size bound of every database (screen/memory.h has the record
 * formats and the reasons; the spam and backscatter records are in
 * screen/memory_recall.c, over the helpers of screen/memory_db.h).
 *
 * Owns: every byte under screen_dir, and the live record count of each
 * database (counted at open, then kept by every insert and delete: this
 * process is the only writer). Records are checked when read: a record with a wrong version or
 * length is treated as absent and removed by the next sweep, never trusted.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bdbenv.h"
#include "log.h"
#include "memory.h"
#include "memory_db.h"
#include "util.h"

#define MEMORY_FIND_MAX		256	/* verdicts one `why` prints */

static const char *const mdb_file[MDB_COUNT] = {
	[MDB_GREYLIST] = "greylist.db",
	[MDB_PASSED] = "passed.db",
	[MDB_VERDICTS] = "verdicts.db",
	[MDB_QIDS] = "qids.db",
	[MDB_SPAM] = "spam.db",
	[MDB_BACKSCATTER] = "backscatter.db",
};

/* ---- small helpers -------------------------------------------------------- */

void
memory_put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

uint64_t
memory_get_be(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

static void
memory_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	struct screen_memory *m = env->app_private;

	(void)pfx;
	if (m != NULL)
		snprintf(m->err, sizeof(m->err), "%s", msg);
}

int
memory_fail(struct screen_memory *m, const char *what, int r)
{
	snprintf(m->err, sizeof(m->err), "%s: %s", what, db_strerror(r));
	log_warnx("screen memory: %s", m->err);
	return -1;
}

const char *
memory_error(const struct screen_memory *m)
{
	return m->err;
}

const char *
grey_decision_name(enum grey_decision d)
{
	switch (d) {
	case GREY_FIRST:	return "first";
	case GREY_EARLY:	return "early";
	case GREY_PASSED:	return "passed";
	case GREY_KNOWN:	return "known";
	case GREY_FULL:		return "full";
	case GREY_ERROR:	return "error";
	}
	return "?";
}

void
memory_source(const char *client_ip, const char *spf_domain, char *out,
    size_t outsize)
{
	uint8_t a[16];
	char net[INET6_ADDRSTRLEN];

	if (spf_domain != NULL) {
		snprintf(out, outsize, "spf:%s", spf_domain);
		return;
	}
	if (inet_pton(AF_INET, client_ip, a) == 1) {
		a[3] = 0;
		inet_ntop(AF_INET, a, net, sizeof(net));
		snprintf(out, outsize, "net:%s/24", net);
	} else if (inet_pton(AF_INET6, client_ip, a) == 1) {
		memset(a + 8, 0, 8);
		inet_ntop(AF_INET6, a, net, sizeof(net));
		snprintf(out, outsize, "net:%s/64", net);
	} else
		snprintf(out, outsize, "ip:%s", client_ip);	/* cannot happen */
}

/* ---- open / close --------------------------------------------------------- */

int
memory_dir(const char *root, char *out, size_t outsize)
{
	size_t len = strlen(root);
	int n = snprintf(out, outsize, "%s%s%s", root,
	    len > 0 && root[len - 1] == '/' ? "" : "/", MEMORY_SUBDIR);

	return n < 0 || (size_t)n >= outsize ? -1 : 0;
}

static int
memory_count_db(struct screen_memory *m, struct mdb *d)
{
	DBC *c;
	DBT k, v;
	int r;

	d->count = 0;
	if ((r = d->db->cursor(d->db, NULL, &c, 0)) != 0)
		return memory_fail(m, "cursor", r);
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	while ((r = c->get(c, &k, &v, DB_NEXT)) == 0)
		d->count++;
	c->close(c);
	return r == DB_NOTFOUND ? 0 : memory_fail(m, "count", r);
}

struct screen_memory *
memory_open(const char *dir, size_t max_entries, char *err, size_t errlen)
{
	static const struct bdbenv_sizes sizes = { 4u * 1024 * 1024, 10000,
	    1024 * 1024 };
	struct screen_memory *m = xcalloc(1, sizeof(*m));
	char why[MEMORY_ERR_MAX];
	int r;

	m->max_entries = max_entries;
	if (bdbenv_open(dir, &sizes, m, memory_errcall, &m->env, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "screen memory %s%s%s%s", why,
		    m->err[0] ? " (" : "", m->err, m->err[0] ? ")" : "");
		free(m);
		return NULL;
	}
	/* see the header: a crash loses nothing, a power cut seconds */
	if ((r = m->env->set_flags(m->env, DB_TXN_WRITE_NOSYNC, 1)) != 0)
		goto fail;
	for (int i = 0; i < MDB_COUNT; i++) {
		if ((r = bdbenv_open_btree(m->env, mdb_file[i], &m->db[i].db)) != 0)
			goto fail;
		if (memory_count_db(m, &m->db[i]) == -1) {
			r = -1;
			goto fail;
		}
	}
	return m;
fail:
	snprintf(err, errlen, "screen memory %s: %s%s%s%s", dir,
	    r == -1 ? "count" : db_strerror(r), m->err[0] ? " (" : "", m->err,
	    m->err[0] ? ")" : "");
	memory_close(m);
	return NULL;
}

void
memory_close(struct screen_memory *m)
{
	if (m == NULL)
		return;
	for (int i = 0; i < MDB_COUNT; i++) {
		if (m->db[i].db != NULL)
			m->db[i].db->close(m->db[i].db, 0);
		free(m->db[i].expiries);
	}
	if (m->env != NULL)
		m->env->close(m->env, 0);
	free(m);
}

void
memory_counts(const struct screen_memory *m, size_t out[MEMORY_KINDS])
{
	for (int i = 0; i < MDB_COUNT; i++)
		out[i] = m->db[i].count;
}

void
memory_checkpoint(struct screen_memory *m)
{
	int r = m->env->txn_checkpoint(m->env, 64, 1, 0);

	if (r != 0)
		memory_fail(m, "checkpoint", r);
}

/* ---- records -------------------------------------------------------------- */

struct grey_rec {
	uint64_t	first, last;
	uint32_t	attempts;
};

struct passed_rec {
	uint64_t	last;
	uint32_t	passes;
};

size_t
memory_make_key(char *key, size_t size, const char *a, const char *b, const char *c)
{
	int n = b == NULL ? snprintf(key, size, "%s", a) :
	    snprintf(key, size, "%s\t%s\t%s", a, b, c);

	return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

/* Returns 0 found, 1 absent (or unreadable), -1 database trouble. */
int
memory_db_read(struct screen_memory *m, DB_TXN *txn, enum mdb_id id, const char *key,
    size_t klen, uint8_t *val, size_t *vlen)
{
	DBT k, v;
	int r;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)(uintptr_t)key;
	k.size = (u_int32_t)klen;
	v.data = val;
	v.ulen = MEMORY_VALUE_MAX;
	v.flags = DB_DBT_USERMEM;
	r = m->db[id].db->get(m->db[id].db, txn, &k, &v, 0);
	if (r == DB_NOTFOUND || r == DB_BUFFER_SMALL)
		return 1;
	if (r != 0)
		return memory_fail(m, mdb_file[id], r);
	*vlen = v.size;
	return val[0] == MEMORY_V1 ? 0 : 1;
}

int
memory_db_write(struct screen_memory *m, DB_TXN *txn, enum mdb_id id, const char *key,
    size_t klen, const uint8_t *val, size_t vlen)
{
	DBT k, v;
	int r;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)(uintptr_t)key;
	k.size = (u_int32_t)klen;
	v.data = (void *)(uintptr_t)val;
	v.size = (u_int32_t)vlen;
	if ((r = m->db[id].db->put(m->db[id].db, txn, &k, &v, 0)) != 0)
		return memory_fail(m, mdb_file[id], r);
	return 0;
}

int
memory_db_delete(struct screen_memory *m, DB_TXN *txn, enum mdb_id id, const char *key,
    size_t klen)
{
	DBT k;
	int r;

	memset(&k, 0, sizeof(k));
	k.data = (void *)(uintptr_t)key;
	k.size = (u_int32_t)klen;
	r = m->db[id].db->del(m->db[id].db, txn, &k, 0);
	if (r == 0 && m->db[id].count > 0)
		m->db[id].count--;
	return r == 0 || r == DB_NOTFOUND ? 0 : memory_fail(m, mdb_file[id], r);
}

static bool
grey_decode(const uint8_t *v, size_t n, struct grey_rec *g)
{
	if (n != 1 + 8 + 8 + 4)
		return false;
	g->first = memory_get_be(v + 1, 8);
	g->last = memory_get_be(v + 9, 8);
	g->attempts = (uint32_t)memory_get_be(v + 17, 4);
	return true;
}

static size_t
grey_encode(uint8_t *v, const struct grey_rec *g)
{
	v[0] = MEMORY_V1;
	memory_put_be(v + 1, g->first, 8);
	memory_put_be(v + 9, g->last, 8);
	memory_put_be(v + 17, g->attempts, 4);
	return 21;
}

static bool
passed_decode(const uint8_t *v, size_t n, struct passed_rec *p)
{
	if (n != 1 + 8 + 4)
		return false;
	p->last = memory_get_be(v + 1, 8);
	p->passes = (uint32_t)memory_get_be(v + 9, 4);
	return true;
}

static size_t
passed_encode(uint8_t *v, const struct passed_rec *p)
{
	v[0] = MEMORY_V1;
	memory_put_be(v + 1, p->last, 8);
	memory_put_be(v + 9, p->passes, 4);
	return 13;
}

/* ---- greylisting ---------------------------------------------------------- */

struct grey_ctx {
	const struct screen_config	*cfg;
	const char			*source;
	char				 key[MEMORY_KEY_MAX];
	size_t				 klen;
	uint64_t			 now;
	bool				 write;		/* false: peek */
	time_t				*retry_at;
};

static enum grey_decision
grey_known_source(struct screen_memory *m, DB_TXN *txn, struct grey_ctx *c,
    bool *known)
{
	uint8_t v[MEMORY_VALUE_MAX];
	size_t n = 0;
	struct passed_rec p;
	int r;

	*known = false;
	r = memory_db_read(m, txn, MDB_PASSED, c->source, strlen(c->source), v, &n);
	if (r == -1)
		return GREY_ERROR;
	if (r != 0 || !passed_decode(v, n, &p) ||
	    p.last + c->cfg->greylist_pass_memory <= c->now)
		return GREY_KNOWN;	/* not known: *known says so */
	*known = true;
	if (!c->write)
		return GREY_KNOWN;
	p.last = c->now;	/* remembered for pass_memory after the last use */
	p.passes++;
	n = passed_encode(v, &p);
	return memory_db_write(m, txn, MDB_PASSED, c->source, strlen(c->source), v, n) == -1 ?
	    GREY_ERROR : GREY_KNOWN;
}

static enum grey_decision
grey_pass(struct screen_memory *m, DB_TXN *txn, struct grey_ctx *c)
{
	uint8_t v[MEMORY_VALUE_MAX];
	size_t n = 0;
	struct passed_rec p = { c->now, 1 };
	int r;

	if (memory_db_delete(m, txn, MDB_GREYLIST, c->key, c->klen) == -1)
		return GREY_ERROR;
	r = memory_db_read(m, txn, MDB_PASSED, c->source, strlen(c->source), v, &n);
	if (r == -1)
		return GREY_ERROR;
	if (r == 0 && passed_decode(v, n, &p)) {
		p.last = c->now;
		p.passes++;
	} else if (m->db[MDB_PASSED].count >= m->max_entries)
		return GREY_PASSED;	/* it passed; only the memory of it is lost */
	else
		m->db[MDB_PASSED].count++;
	n = passed_encode(v, &p);
	return memory_db_write(m, txn, MDB_PASSED, c->source, strlen(c->source), v, n) == -1 ?
	    GREY_ERROR : GREY_PASSED;
}

static enum grey_decision
grey_decide(struct screen_memory *m, DB_TXN *txn, struct grey_ctx *c)
{
	const struct screen_config *cfg = c->cfg;
	uint8_t v[MEMORY_VALUE_MAX];
	struct grey_rec g;
	enum grey_decision d;
	size_t n = 0;
	bool known;
	int r;

	if ((d = grey_known_source(m, txn, c, &known)) == GREY_ERROR || known)
		return d;
	if ((r = memory_db_read(m, txn, MDB_GREYLIST, c->key, c->klen, v, &n)) == -1)
		return GREY_ERROR;
	bool fresh = r == 0 && grey_decode(v, n, &g) &&
	    g.first + cfg->greylist_window > c->now;
	if (!fresh) {
		if (r != 0 && m->db[MDB_GREYLIST].count >= m->max_entries)
			return GREY_FULL;
		*c->retry_at = (time_t)(c->now + cfg->greylist_delay);
		if (!c->write)
			return GREY_FIRST;
		if (r != 0)
			m->db[MDB_GREYLIST].count++;
		g = (struct grey_rec){ c->now, c->now, 1 };
		n = grey_encode(v, &g);
		return memory_db_write(m, txn, MDB_GREYLIST, c->key, c->klen, v, n) == -1 ?
		    GREY_ERROR : GREY_FIRST;
	}
	if (c->now < g.first + cfg->greylist_delay) {
		*c->retry_at = (time_t)(g.first + cfg->greylist_delay);
		if (!c->write)
			return GREY_EARLY;
		g.last = c->now;
		g.attempts++;
		n = grey_encode(v, &g);
		return memory_db_write(m, txn, MDB_GREYLIST, c->key, c->klen, v, n) == -1 ?
		    GREY_ERROR : GREY_EARLY;
	}
	return c->write ? grey_pass(m, txn, c) : GREY_PASSED;
}

static enum grey_decision
grey_run(struct screen_memory *m, const struct screen_config *cfg,
    const char *source, const char *sender, const char *rcpt, time_t now,
    bool write, time_t *retry_at)
{
	struct grey_ctx c = { cfg, source, "", 0, (uint64_t)now, write, retry_at };
	enum grey_decision d;
	DB_TXN *txn;
	int r;

	*retry_at = 0;
	if ((c.klen = memory_make_key(c.key, sizeof(c.key), source, sender, rcpt)) == 0)
		return GREY_ERROR;
	r = m->env->txn_begin(m->env, NULL, &txn, write ? 0 : DB_TXN_SNAPSHOT | DB_TXN_NOWAIT);
	if (r != 0) {
		memory_fail(m, "txn_begin", r);
		return GREY_ERROR;
	}
	d = grey_decide(m, txn, &c);
	if (d == GREY_ERROR || d == GREY_FULL || !write)
		txn->abort(txn);
	else if ((r = txn->commit(txn, 0)) != 0) {
		memory_fail(m, "commit", r);
		d = GREY_ERROR;
	}
	return d;
}

enum grey_decision
memory_greylist(struct screen_memory *m, const struct screen_config *cfg,
    const char *source, const char *sender, const char *rcpt, time_t now,
    time_t *retry_at)
{
	size_t before[MDB_COUNT];
	enum grey_decision d;

	memory_counts(m, before);	/* an aborted write must not count */
	d = grey_run(m, cfg, source, sender, rcpt, now, true, retry_at);
	if (d == GREY_ERROR)
		for (int i = 0; i < MDB_COUNT; i++)
			m->db[i].count = before[i];
	return d;
}

enum grey_decision
memory_greylist_peek(struct screen_memory *m, const struct screen_config *cfg,
    const char *source, const char *sender, const char *rcpt, time_t now)
{
	time_t retry_at;

	return grey_run(m, cfg, source, sender, rcpt, now, false, &retry_at);
}

int
memory_note_passed(struct screen_memory *m, const char *source, time_t now)
{
	uint8_t v[MEMORY_VALUE_MAX];
	struct passed_rec p = { (uint64_t)now, 1 };
	size_t n = 0, klen = strlen(source);
	int r;

	if (klen == 0 || klen >= MEMORY_KEY_MAX)
		return -1;
	if ((r = memory_db_read(m, NULL, MDB_PASSED, source, klen, v, &n)) == -1)
		return -1;
	if (r == 0 && passed_decode(v, n, &p)) {
		p.last = (uint64_t)now;
		p.passes++;
	} else if (m->db[MDB_PASSED].count >= m->max_entries)
		return -1;
	n = passed_encode(v, &p);
	if (memory_db_write(m, NULL, MDB_PASSED, source, klen, v, n) == -1)
		return -1;
	if (r != 0)
		m->db[MDB_PASSED].count++;
	return 0;
}

/* ---- verdict records ------------------------------------------------------ */

static int
memory_put_text(struct screen_memory *m, enum mdb_id id, const char *key,
    time_t now, const char *text)
{
	uint8_t v[MEMORY_VALUE_MAX];
	size_t tlen = strnlen(text, MEMORY_TEXT_MAX), klen = strlen(key);
	uint8_t probe[MEMORY_VALUE_MAX];
	size_t plen;
	int r;

	if (klen == 0 || klen >= MEMORY_KEY_MAX)
		return -1;
	r = memory_db_read(m, NULL, id, key, klen, probe, &plen);
	if (r == -1)
		return -1;
	if (r == 1 && m->db[id].count >= m->max_entries)
		return -1;
	v[0] = MEMORY_V1;
	memory_put_be(v + 1, (uint64_t)now, 8);
	memcpy(v + 9, text, tlen);
	if (memory_db_write(m, NULL, id, key, klen, v, 9 + tlen) == -1)
		return -1;
	if (r == 1)
		m->db[id].count++;
	return 0;
}

int
memory_put_verdict(struct screen_memory *m, const char *ref, time_t now,
    const char *text)
{
	return memory_put_text(m, MDB_VERDICTS, ref, now, text);
}

int
memory_put_qid(struct screen_memory *m, const char *qid, const char *sess,
    time_t now)
{
	return memory_put_text(m, MDB_QIDS, qid, now, sess);
}

struct found {
	char	ref[SCREEN_REF_MAX + 1];
	time_t	when;
	char	*text;
};

static int
found_cmp(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	return strcmp(x->ref, y->ref);
}

static bool
is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/* The session a queue id came from, or "" if unknown. */
static int
qid_session(struct screen_memory *m, const char *qid, char *sess, size_t size)
{
	uint8_t v[MEMORY_VALUE_MAX];
	size_t n = 0;
	int r = memory_db_read(m, NULL, MDB_QIDS, qid, strlen(qid), v, &n);

	sess[0] = '\0';
	if (r != 0)
		return r;
	if (n < 9 || n - 9 >= size)
		return 1;
	memcpy(sess, v + 9, n - 9);
	sess[n - 9] = '\0';
	return 0;
}

/* Collects the verdicts whose ref starts with prefix (or equals it). */
static int
collect(struct screen_memory *m, const char *prefix, bool exact,
    struct found *out, size_t max, size_t *nout)
{
	size_t plen = strlen(prefix);
	DBC *c;
	DBT k, v;
	int r;

	*nout = 0;
	if ((r = m->db[MDB_VERDICTS].db->cursor(m->db[MDB_VERDICTS].db, NULL, &c, 0)) != 0)
		return memory_fail(m, "cursor", r);
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)(uintptr_t)prefix;
	k.size = (u_int32_t)plen;
	for (r = c->get(c, &k, &v, DB_SET_RANGE); r == 0 && *nout < max;
	    r = c->get(c, &k, &v, DB_NEXT)) {
		if (k.size < plen || memcmp(k.data, prefix, plen) != 0 ||
		    (exact && k.size != plen))
			break;
		const uint8_t *val = v.data;
		if (v.size < 9 || val[0] != MEMORY_V1 || k.size > SCREEN_REF_MAX)
			continue;
		struct found *f = &out[(*nout)++];
		memcpy(f->ref, k.data, k.size);
		f->ref[k.size] = '\0';
		f->when = (time_t)memory_get_be(val + 1, 8);
		f->text = xmalloc(v.size - 9 + 1);
		memcpy(f->text, val + 9, v.size - 9);
		f->text[v.size - 9] = '\0';
	}
	c->close(c);
	return r == 0 || r == DB_NOTFOUND ? 0 : memory_fail(m, "find", r);
}

int
memory_find(struct screen_memory *m, const char *what, memory_verdict_cb cb,
    void *arg)
{
	static struct found found[MEMORY_FIND_MAX];
	char prefix[SCREEN_REF_MAX + 2];
	bool exact = strchr(what, '-') != NULL;
	size_t n = 0;
	int rc;

	if (is_hex(what, SCREEN_QID_MAX)) {
		char sess[SCREEN_SESS_MAX + 1];
		if ((rc = qid_session(m, what, sess, sizeof(sess))) != 0)
			return rc == -1 ? -1 : 0;
		snprintf(prefix, sizeof(prefix), "%s-", sess);
	} else if (exact)
		snprintf(prefix, sizeof(prefix), "%s", what);
	else
		snprintf(prefix, sizeof(prefix), "%s-", what);
	if (collect(m, prefix, exact, found, MEMORY_FIND_MAX, &n) == -1)
		rc = -1;
	else {
		qsort(found, n, sizeof(found[0]), found_cmp);
		for (size_t i = 0; i < n; i++)
			if (cb(found[i].ref, found[i].when, found[i].text, arg) != 0)
				break;
		rc = (int)n;
	}
	for (size_t i = 0; i < n; i++)
		free(found[i].text);
	return rc;
}

/* ---- expiry --------------------------------------------------------------- */

static uint32_t
mdb_lifetime(enum mdb_id id, const struct screen_config *cfg)
{
	switch (id) {
	case MDB_GREYLIST:	return cfg->greylist_window;
	case MDB_PASSED:	return cfg->greylist_pass_memory;
	case MDB_SPAM:		return cfg->spam_memory_time;
	case MDB_BACKSCATTER:	return cfg->backscatter_memory_time;
	default:		return cfg->verdict_memory;
	}
}

/* When a record expires; 0 for an unreadable one (remove it). */
static uint64_t
record_expiry(enum mdb_id id, const DBT *v, uint32_t lifetime)
{
	const uint8_t *p = v->data;

	if (v->size < 9 || p[0] != MEMORY_V1)
		return 0;
	if (id == MDB_GREYLIST && v->size != 21)
		return 0;
	if ((id == MDB_PASSED || id == MDB_BACKSCATTER) && v->size != 13)
		return 0;
	return memory_get_be(p + 1, 8) + lifetime;	/* first_seen, last_pass, when */
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
sweep_note_live(struct mdb *d, uint64_t expiry)
{
	if (d->nexp == d->capexp) {
		size_t cap = d->capexp == 0 ? 1024 : d->capexp * 2;
		void *p = reallocarray(d->expiries, cap, sizeof(*d->expiries));
		if (p == NULL)
			fatal("sweep");
		d->expiries = p;
		d->capexp = cap;
	}
	d->expiries[d->nexp++] = expiry;
}

static void
sweep_reset(struct mdb *d)
{
	d->in_pass = false;
	d->nexp = 0;
}

/*
 * The end of a pass: if the database is near its bound, the next pass also
 * removes the records that would expire first, down to 80%.
 */
static void
sweep_pass_done(struct screen_memory *m, struct mdb *d)
{
	size_t high = m->max_entries / 10 * 9, keep = m->max_entries / 10 * 8;

	d->cutoff = 0;
	if (d->nexp > high && d->nexp > keep) {
		qsort(d->expiries, d->nexp, sizeof(d->expiries[0]), u64_cmp);
		d->cutoff = (time_t)d->expiries[d->nexp - keep - 1] + 1;
	}
	sweep_reset(d);
	if (d->capexp > 4096) {		/* do not keep a big array between passes */
		free(d->expiries);
		d->expiries = NULL;
		d->capexp = 0;
	}
}

/* Visits up to budget records of d; *done at the end of the database. */
static size_t
sweep_chunk(struct screen_memory *m, enum mdb_id id, const struct screen_config *cfg,
    time_t now, size_t budget, size_t *removed, bool *done)
{
	struct mdb *d = &m->db[id];
	uint32_t lifetime = mdb_lifetime(id, cfg);
	size_t visited = 0;
	DB_TXN *txn;
	DBC *c;
	DBT k, v;
	int r;

	*done = false;
	if ((r = m->env->txn_begin(m->env, NULL, &txn, 0)) != 0) {
		memory_fail(m, "sweep txn", r);
		*done = true;
		return 1;
	}
	if ((r = d->db->cursor(d->db, txn, &c, 0)) != 0) {
		txn->abort(txn);
		memory_fail(m, "sweep cursor", r);
		*done = true;
		return 1;
	}
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	if (d->in_pass) {
		k.data = d->last_key;
		k.size = (u_int32_t)d->last_len;
		r = c->get(c, &k, &v, DB_SET_RANGE);
		if (r == 0 && k.size == d->last_len && memcmp(k.data, d->last_key, k.size) == 0)
			r = c->get(c, &k, &v, DB_NEXT);	/* that one was visited */
	} else {
		d->in_pass = true;
		r = c->get(c, &k, &v, DB_FIRST);
	}
	for (; r == 0 && visited < budget; r = c->get(c, &k, &v, DB_NEXT)) {
		uint64_t expiry = record_expiry(id, &v, lifetime);
		visited++;
		if (k.size <= sizeof(d->last_key)) {
			memcpy(d->last_key, k.data, k.size);
			d->last_len = k.size;
		}
		if (expiry <= (uint64_t)now || (d->cutoff != 0 && expiry < (uint64_t)d->cutoff)) {
			if (c->del(c, 0) == 0) {
				(*removed)++;
				if (d->count > 0)
					d->count--;
			}
			continue;
		}
		sweep_note_live(d, expiry);
	}
	c->close(c);
	if ((r != 0 && r != DB_NOTFOUND) || txn->commit(txn, 0) != 0) {
		if (r != 0 && r != DB_NOTFOUND)
			memory_fail(m, "sweep", r);
		sweep_reset(d);	/* start over next time */
		*done = true;
		return visited + 1;
	}
	if (r == DB_NOTFOUND) {
		sweep_pass_done(m, d);
		*done = true;
	}
	return visited;
}

size_t
memory_sweep(struct screen_memory *m, const struct screen_config *cfg,
    time_t now, size_t max_work)
{
	size_t work = 0, removed = 0;
	int dbs_done = 0;
	bool done;

	while (work < max_work && dbs_done < MDB_COUNT) {
		work += sweep_chunk(m, (enum mdb_id)m->sweep_db, cfg, now,
		    max_work - work, &removed, &done);
		if (done) {
			m->sweep_db = (m->sweep_db + 1) % MDB_COUNT;
			dbs_done++;
		}
	}
	return removed;
}
