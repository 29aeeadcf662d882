/*
 * screen/dnscache.c - the screen role's DNS cache and its views.
 *
 * Owns: the cache entries (a chained hash table on (type, name) plus one
 * least-recently-used list) and each view's pins and misses. Why entries
 * are immutable: an answer is replaced by a new entry, never changed in
 * place, so a view that pinned the old one keeps reading the same records
 * until it is freed; the old entry is freed with its last pin.
 * See screen/dnscache.h for the contract, screen/dnsview.h for the rounds.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnscache.h"
#include "log.h"
#include "util.h"

#define HASH_BUCKETS	4096	/* power of two */
#define PIN_GROW	16

struct cache_entry {
	TAILQ_ENTRY(cache_entry) lru;
	struct cache_entry	*next;		/* hash chain */
	char			 name[DV_NAME_MAX + 1];
	enum dv_type		 type;
	enum dv_status		 status;
	double			 expires;
	unsigned		 pins;
	bool			 dead;		/* replaced or evicted while pinned */
	bool			 truncated;
	size_t			 n;
	struct dv_rr		 rr[];		/* n entries, data after them */
};

TAILQ_HEAD(entry_list, cache_entry);

struct dns_cache {
	struct cache_entry	*bucket[HASH_BUCKETS];
	struct entry_list	 lru;		/* live entries, oldest use first */
	size_t			 count;		/* live entries */
	size_t			 max_entries;
	double			(*now)(void);
};

struct view_miss {
	char		name[DV_NAME_MAX + 1];
	enum dv_type	type;
};

struct dns_view {
	struct dns_cache	*cache;
	struct cache_entry	**pinned;
	size_t			 npinned;
	size_t			 pincap;
	struct view_miss	 misses[DV_MISSES_MAX];
	size_t			 nmisses;
	bool			 gave_up;	/* misses are tempfails now */
};

/* ---- names ---------------------------------------------------------------- */

/*
 * DNS labels may hold any octet (RFC 2181 11). Host names are LDH, but SPF
 * macros (RFC 7208 7) build names from client text, and the record they
 * look for may well exist: visible ASCII and space are queried as they
 * are. Not '\\', which c-ares reads as an escape, and nothing outside
 * ASCII, which is never a name we should ask for.
 */
static bool
label_byte_ok(unsigned char ch)
{
	return ch >= 0x20 && ch < 0x7f && ch != '\\';
}

int
dns_name_normalize(const char *in, char *out, size_t outsize)
{
	size_t len = strlen(in), label = 0;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > DV_NAME_MAX || len >= outsize)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (ch == '.') {
			if (label == 0)
				return -1;	/* empty label */
			label = 0;
		} else if (!label_byte_ok(ch) || ++label > 63) {
			return -1;
		}
		out[i] = (char)tolower(ch);
	}
	if (label == 0)
		return -1;
	out[len] = '\0';
	return 0;
}

/* ---- the table ------------------------------------------------------------ */

static uint32_t
entry_hash(const char *name, enum dv_type type)
{
	uint32_t h = 2166136261u ^ (uint32_t)type;	/* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return h & (HASH_BUCKETS - 1);
}

static struct cache_entry *
table_find(struct dns_cache *c, const char *name, enum dv_type type)
{
	struct cache_entry *e = c->bucket[entry_hash(name, type)];

	for (; e != NULL; e = e->next)
		if (e->type == type && strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static void
table_unlink(struct dns_cache *c, struct cache_entry *e)
{
	struct cache_entry **pp = &c->bucket[entry_hash(e->name, e->type)];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	e->next = NULL;
	TAILQ_REMOVE(&c->lru, e, lru);
	c->count--;
}

/* Takes e out of the table; frees it now or with its last pin. */
static void
entry_retire(struct dns_cache *c, struct cache_entry *e)
{
	table_unlink(c, e);
	if (e->pins == 0)
		free(e);
	else
		e->dead = true;
}

static double
cache_now(const struct dns_cache *c)
{
	return c->now();
}

/* Evicts unpinned entries, oldest use first, until there is room. */
static void
cache_make_room(struct dns_cache *c)
{
	struct cache_entry *e, *next;

	for (e = TAILQ_FIRST(&c->lru); e != NULL && c->count >= c->max_entries; e = next) {
		next = TAILQ_NEXT(e, lru);
		if (e->pins == 0)
			entry_retire(c, e);
	}
}

struct dns_cache *
dns_cache_new(size_t max_entries)
{
	struct dns_cache *c = xcalloc(1, sizeof(*c));

	TAILQ_INIT(&c->lru);
	c->max_entries = max_entries > 0 ? max_entries : 1;
	c->now = mono_now;
	return c;
}

void
dns_cache_free(struct dns_cache *c)
{
	struct cache_entry *e;

	if (c == NULL)
		return;
	while ((e = TAILQ_FIRST(&c->lru)) != NULL)
		entry_retire(c, e);	/* views must be freed first */
	free(c);
}

void
dns_cache_set_clock(struct dns_cache *c, double (*now)(void))
{
	c->now = now;
}

size_t
dns_cache_size(const struct dns_cache *c)
{
	return c->count;
}

static uint32_t
clamp_ttl(enum dv_status st, uint32_t ttl)
{
	if (st == DV_TEMPFAIL)
		return DNS_CACHE_TEMPFAIL_TTL;
	if (ttl < DNS_CACHE_TTL_MIN)
		return DNS_CACHE_TTL_MIN;
	return ttl > DNS_CACHE_TTL_MAX ? DNS_CACHE_TTL_MAX : ttl;
}

/* One allocation: the header, n dv_rr, then each record's bytes + NUL. */
static struct cache_entry *
entry_build(const char *name, enum dv_type type, enum dv_status st,
    const struct dv_rr *rr, size_t n, bool truncated)
{
	size_t data = 0;

	if (st != DV_OK)
		n = 0;
	if (n > DV_RR_MAX) {
		n = DV_RR_MAX;
		truncated = true;
	}
	for (size_t i = 0; i < n; i++)
		data += (rr[i].len > DV_TXT_MAX ? DV_TXT_MAX : rr[i].len) + 1;
	struct cache_entry *e = xcalloc(1, sizeof(*e) + n * sizeof(e->rr[0]) + data);
	char *p = (char *)&e->rr[n];
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->type = type;
	e->status = st == DV_OK && n == 0 ? DV_NODATA : st;
	e->n = n;
	e->truncated = truncated;
	for (size_t i = 0; i < n; i++) {
		size_t len = rr[i].len;
		if (len > DV_TXT_MAX) {
			len = DV_TXT_MAX;
			e->truncated = true;
		}
		memcpy(p, rr[i].data, len);
		p[len] = '\0';
		e->rr[i].data = p;
		e->rr[i].len = len;
		e->rr[i].pref = rr[i].pref;
		p += len + 1;
	}
	return e;
}

int
dns_cache_put(struct dns_cache *c, const char *name, enum dv_type type,
    enum dv_status st, const struct dv_rr *rr, size_t n, bool truncated,
    uint32_t ttl)
{
	char key[DV_NAME_MAX + 1];
	struct cache_entry *e, *old;

	if (dns_name_normalize(name, key, sizeof(key)) == -1 ||
	    type < DV_A || type > DV_TYPE_MAX || st == DV_MISS)
		return -1;
	if ((old = table_find(c, key, type)) != NULL)
		entry_retire(c, old);
	cache_make_room(c);
	if (c->count >= 2 * c->max_entries)
		return -1;	/* everything is pinned: refuse to grow further */
	e = entry_build(key, type, st, rr, n, truncated);
	e->expires = cache_now(c) + clamp_ttl(st, ttl);
	uint32_t h = entry_hash(key, type);
	e->next = c->bucket[h];
	c->bucket[h] = e;
	TAILQ_INSERT_TAIL(&c->lru, e, lru);
	c->count++;
	return 0;
}

static struct cache_entry *
cache_fresh(struct dns_cache *c, const char *key, enum dv_type type)
{
	struct cache_entry *e = table_find(c, key, type);

	if (e == NULL)
		return NULL;
	if (e->expires <= cache_now(c)) {
		entry_retire(c, e);
		return NULL;
	}
	TAILQ_REMOVE(&c->lru, e, lru);	/* used: youngest now */
	TAILQ_INSERT_TAIL(&c->lru, e, lru);
	return e;
}

bool
dns_cache_has(struct dns_cache *c, const char *name, enum dv_type type)
{
	char key[DV_NAME_MAX + 1];

	return dns_name_normalize(name, key, sizeof(key)) == 0 &&
	    cache_fresh(c, key, type) != NULL;
}

/* ---- views ---------------------------------------------------------------- */

struct dns_view *
dv_new(struct dns_cache *c)
{
	struct dns_view *v = xcalloc(1, sizeof(*v));

	v->cache = c;
	return v;
}

static void
entry_unpin(struct cache_entry *e)
{
	if (--e->pins == 0 && e->dead)
		free(e);
}

void
dv_free(struct dns_view *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->npinned; i++)
		entry_unpin(v->pinned[i]);
	free(v->pinned);
	free(v);
}

void
dv_round_reset(struct dns_view *v)
{
	v->nmisses = 0;
}

void
dv_give_up(struct dns_view *v)
{
	v->gave_up = true;
	v->nmisses = 0;
}

size_t
dv_misses(const struct dns_view *v)
{
	return v->nmisses;
}

void
dv_miss(const struct dns_view *v, size_t i, const char **name, enum dv_type *type)
{
	if (i >= v->nmisses)
		fatalx("dv_miss: %zu of %zu", i, v->nmisses);
	*name = v->misses[i].name;
	*type = v->misses[i].type;
}

static void
view_pin(struct dns_view *v, struct cache_entry *e)
{
	if (v->npinned == v->pincap) {
		size_t cap = v->pincap + PIN_GROW;
		void *p = reallocarray(v->pinned, cap, sizeof(*v->pinned));
		if (p == NULL)
			fatal("view_pin");
		v->pinned = p;
		v->pincap = cap;
	}
	e->pins++;
	v->pinned[v->npinned++] = e;
}

static struct cache_entry *
view_find(const struct dns_view *v, const char *key, enum dv_type type)
{
	for (size_t i = 0; i < v->npinned; i++)
		if (v->pinned[i]->type == type && strcmp(v->pinned[i]->name, key) == 0)
			return v->pinned[i];
	return NULL;
}

static void
view_record_miss(struct dns_view *v, const char *key, enum dv_type type)
{
	for (size_t i = 0; i < v->nmisses; i++)
		if (v->misses[i].type == type && strcmp(v->misses[i].name, key) == 0)
			return;
	if (v->nmisses == DV_MISSES_MAX)
		return;		/* the round is incomplete anyway */
	snprintf(v->misses[v->nmisses].name, sizeof(v->misses[0].name), "%s", key);
	v->misses[v->nmisses++].type = type;
}

static enum dv_status
answer_fill(const struct cache_entry *e, struct dv_answer *out)
{
	out->status = e->status;
	out->n = e->n;
	out->truncated = e->truncated;
	for (size_t i = 0; i < e->n; i++)
		out->rr[i] = e->rr[i];
	return out->status;
}

enum dv_status
dv_lookup(struct dns_view *v, const char *name, enum dv_type type,
    struct dv_answer *out)
{
	char key[DV_NAME_MAX + 1];
	struct cache_entry *e;

	memset(out, 0, offsetof(struct dv_answer, rr));
	if (dns_name_normalize(name, key, sizeof(key)) == -1 ||
	    type < DV_A || type > DV_TYPE_MAX) {
		out->status = DV_NXDOMAIN;
		return out->status;
	}
	if ((e = view_find(v, key, type)) != NULL)
		return answer_fill(e, out);
	if ((e = cache_fresh(v->cache, key, type)) != NULL) {
		view_pin(v, e);
		return answer_fill(e, out);
	}
	if (v->gave_up) {
		out->status = DV_TEMPFAIL;
		return out->status;
	}
	view_record_miss(v, key, type);
	out->status = DV_MISS;
	return out->status;
}

const char *
dv_type_name(enum dv_type t)
{
	switch (t) {
	case DV_A:	return "A";
	case DV_AAAA:	return "AAAA";
	case DV_PTR:	return "PTR";
	case DV_TXT:	return "TXT";
	case DV_MX:	return "MX";
	}
	return "?";
}

const char *
dv_status_name(enum dv_status s)
{
	switch (s) {
	case DV_OK:		return "ok";
	case DV_NXDOMAIN:	return "nxdomain";
	case DV_NODATA:		return "nodata";
	case DV_TEMPFAIL:	return "tempfail";
	case DV_MISS:		return "miss";
	}
	return "?";
}
