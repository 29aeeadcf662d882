/*
 * admin/doctor_dns.c - the doctor's DNS rounds over one c-ares channel
 * (see doctor_dns.h).
 *
 * Owns: the channel, the answers of the raw types, the misses of a round
 * and the deadline. The five types of screen/dnsview.h are parsed by the
 * screen's own resolver_parse_answer() and stored with dns_cache_put(),
 * exactly as the screen role stores them, so the SPF and DNS-list code
 * reads the same data it reads in production. The channel is set up as
 * screen/resolver.c sets up its own: no server from /etc/resolv.conf, no
 * /etc/hosts, no search list. It is driven with poll() until every query
 * answered or the budget is spent; then the rest is cancelled and counts
 * as a temporary failure.
 */
#include <arpa/nameser.h>
#include <poll.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#include "../screen/resolver.h"
#include "doctor_dns.h"
#include "util.h"

#define DDNS_CACHE_MAX		8192
#define DDNS_RAW_MISSES_MAX	64
#define DDNS_EDNS_SIZE		1232	/* the DNS flag day 2020 size */

struct raw_entry {
	char			name[DV_NAME_MAX + 1];
	uint16_t		qtype;
	struct dnsraw_answer	a;
};

struct raw_miss {
	char		name[DV_NAME_MAX + 1];
	uint16_t	qtype;
};

struct doctor_dns {
	struct dns_cache	*cache;
	bool			 own_cache;
	struct dns_view		*view;
	bool			 offline;
	ares_channel		 ch;
	double			 deadline;
	bool			 gave_up;
	unsigned		 inflight;
	unsigned		 queries;
	size_t			 nraw;
	struct raw_entry	*raw[DDNS_RAW_MAX];
	size_t			 nrawmiss;
	struct raw_miss		 rawmiss[DDNS_RAW_MISSES_MAX];
	struct resolver_answer	*scratch;	/* one parsed answer at a time */
	ddns_fetch_fn		 table;		/* offline: who answers misses */
	void			*table_arg;
};

struct query {
	struct doctor_dns	*dd;
	char			 name[DV_NAME_MAX + 1];
	enum dv_type		 type;		/* view queries */
	uint16_t		 qtype;		/* raw queries (0: a view query) */
};

static const struct dnsraw_answer raw_tempfail = { .status = DV_TEMPFAIL };
static const struct dnsraw_answer raw_nxdomain = { .status = DV_NXDOMAIN };

/* ---- set-up ------------------------------------------------------------------ */

static struct doctor_dns *
ddns_alloc(struct dns_cache *cache)
{
	struct doctor_dns *dd = xcalloc(1, sizeof(*dd));

	dd->cache = cache;
	dd->view = dv_new(cache);
	dd->scratch = xcalloc(1, sizeof(*dd->scratch));
	return dd;
}

struct doctor_dns *
ddns_new_offline(struct dns_cache *cache, ddns_fetch_fn fetch, void *arg)
{
	struct doctor_dns *dd = ddns_alloc(cache);

	dd->offline = true;
	dd->table = fetch;
	dd->table_arg = arg;
	dd->deadline = mono_now() + 3600;
	return dd;
}

struct doctor_dns *
ddns_new(const char *servers, unsigned budget_ms, const char **why)
{
	struct ares_options o;
	struct doctor_dns *dd;
	int rc;

	if (servers == NULL || servers[0] == '\0') {
		*why = "no DNS server";
		return NULL;
	}
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		*why = ares_strerror(rc);
		return NULL;
	}
	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS;
	o.lookups = (char *)"b";	/* DNS only: never /etc/hosts */
	o.timeout = DDNS_TIMEOUT_MS;
	o.tries = 2;
	o.nservers = 0;			/* none from resolv.conf: only ours */
	dd = ddns_alloc(dns_cache_new(DDNS_CACHE_MAX));
	dd->own_cache = true;
	rc = ares_init_options(&dd->ch, &o, ARES_OPT_FLAGS | ARES_OPT_LOOKUPS |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SERVERS);
	if (rc == ARES_SUCCESS && (rc = ares_set_servers_ports_csv(dd->ch, servers)) !=
	    ARES_SUCCESS)
		ares_destroy(dd->ch);
	if (rc != ARES_SUCCESS) {
		*why = ares_strerror(rc);
		dd->offline = true;	/* no channel to destroy */
		ddns_free(dd);
		ares_library_cleanup();
		return NULL;
	}
	dd->deadline = mono_now() + budget_ms / 1000.0;
	return dd;
}

void
ddns_free(struct doctor_dns *dd)
{
	if (dd == NULL)
		return;
	if (!dd->offline) {
		ares_destroy(dd->ch);	/* queries still running get ARES_EDESTRUCTION */
		ares_library_cleanup();
	}
	dv_free(dd->view);
	if (dd->own_cache)
		dns_cache_free(dd->cache);
	for (size_t i = 0; i < dd->nraw; i++)
		free(dd->raw[i]);
	free(dd->scratch);
	free(dd);
}

/* ---- reading ----------------------------------------------------------------- */

enum dv_status
ddns_lookup(struct doctor_dns *dd, const char *name, enum dv_type type,
    struct dv_answer *out)
{
	return dv_lookup(dd->view, name, type, out);
}

struct dns_view *
ddns_view(struct doctor_dns *dd)
{
	return dd->view;
}

static struct raw_entry *
raw_find(struct doctor_dns *dd, const char *name, uint16_t qtype)
{
	for (size_t i = 0; i < dd->nraw; i++)
		if (dd->raw[i]->qtype == qtype && strcmp(dd->raw[i]->name, name) == 0)
			return dd->raw[i];
	return NULL;
}

static void
raw_miss_add(struct doctor_dns *dd, const char *name, uint16_t qtype)
{
	for (size_t i = 0; i < dd->nrawmiss; i++)
		if (dd->rawmiss[i].qtype == qtype && strcmp(dd->rawmiss[i].name, name) == 0)
			return;
	if (dd->nrawmiss == DDNS_RAW_MISSES_MAX)
		return;		/* asked again next round */
	snprintf(dd->rawmiss[dd->nrawmiss].name, sizeof(dd->rawmiss[0].name), "%s", name);
	dd->rawmiss[dd->nrawmiss++].qtype = qtype;
}

enum dv_status
ddns_raw(struct doctor_dns *dd, const char *name, uint16_t qtype,
    const struct dnsraw_answer **out)
{
	char norm[DV_NAME_MAX + 1];
	struct raw_entry *e;

	if (dns_name_normalize(name, norm, sizeof(norm)) == -1) {
		*out = &raw_nxdomain;
		return DV_NXDOMAIN;
	}
	if ((e = raw_find(dd, norm, qtype)) != NULL) {
		*out = &e->a;
		return e->a.status;
	}
	if (dd->gave_up || dd->nraw == DDNS_RAW_MAX) {
		*out = &raw_tempfail;
		return DV_TEMPFAIL;
	}
	raw_miss_add(dd, norm, qtype);
	*out = NULL;
	return DV_MISS;
}

void
ddns_put_raw(struct doctor_dns *dd, const char *name, uint16_t qtype,
    const struct dnsraw_answer *a)
{
	char norm[DV_NAME_MAX + 1];
	struct raw_entry *e;

	if (dns_name_normalize(name, norm, sizeof(norm)) == -1)
		return;
	if ((e = raw_find(dd, norm, qtype)) == NULL) {
		if (dd->nraw == DDNS_RAW_MAX)
			return;
		e = dd->raw[dd->nraw++] = xcalloc(1, sizeof(*e));
		snprintf(e->name, sizeof(e->name), "%s", norm);
		e->qtype = qtype;
	}
	e->a = *a;
}

size_t
ddns_misses(struct doctor_dns *dd)
{
	return dv_misses(dd->view) + dd->nrawmiss;
}

bool
ddns_gave_up(const struct doctor_dns *dd)
{
	return dd->gave_up;
}

unsigned
ddns_queries(const struct doctor_dns *dd)
{
	return dd->queries;
}

/* ---- fetching ------------------------------------------------------------------ */

static int
qtype_of(enum dv_type t)
{
	switch (t) {
	case DV_A:	return ns_t_a;
	case DV_AAAA:	return ns_t_aaaa;
	case DV_PTR:	return ns_t_ptr;
	case DV_TXT:	return ns_t_txt;
	case DV_MX:	return ns_t_mx;
	}
	return ns_t_a;
}

static void
on_view_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct query *q = arg;
	struct doctor_dns *dd = q->dd;
	struct resolver_answer *a = dd->scratch;

	(void)timeouts;
	dd->inflight--;
	if (status != ARES_ECANCELLED && status != ARES_EDESTRUCTION) {
		resolver_parse_answer(q->type, status, abuf, alen, a);
		(void)dns_cache_put(dd->cache, q->name, q->type, a->status, a->rr, a->n,
		    a->truncated, a->ttl);
	}
	free(q);
}

static void
on_raw_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct query *q = arg;
	struct doctor_dns *dd = q->dd;
	struct dnsraw_answer *a;

	(void)timeouts;
	dd->inflight--;
	if (status != ARES_ECANCELLED && status != ARES_EDESTRUCTION) {
		a = xcalloc(1, sizeof(*a));
		dnsraw_parse(status, abuf, alen > 0 ? (size_t)alen : 0, q->qtype, a);
		ddns_put_raw(dd, q->name, q->qtype, a);
		free(a);
	}
	free(q);
}

static void
send_raw(struct doctor_dns *dd, const char *name, uint16_t qtype)
{
	struct query *q;
	unsigned char *buf = NULL;
	int len = 0;

	if (ares_create_query(name, ns_c_in, qtype, 0, 1, &buf, &len, DDNS_EDNS_SIZE) !=
	    ARES_SUCCESS || len < 4) {
		ddns_put_raw(dd, name, qtype, &raw_tempfail);
		if (buf != NULL)
			ares_free_string(buf);
		return;
	}
	buf[3] |= 0x20;		/* AD: tell us whether you validated (RFC 6840 5.7) */
	q = xcalloc(1, sizeof(*q));
	q->dd = dd;
	q->qtype = qtype;
	snprintf(q->name, sizeof(q->name), "%s", name);
	dd->inflight++;
	dd->queries++;
	ares_send(dd->ch, buf, len, on_raw_answer, q);
	ares_free_string(buf);
}

/* Offline: the table answers every miss at once. */
static void
fetch_from_table(struct doctor_dns *dd)
{
	size_t n = dv_misses(dd->view);
	const char *name;
	enum dv_type type;

	for (size_t i = 0; i < n; i++) {
		dv_miss(dd->view, i, &name, &type);
		dd->queries++;
		dd->table(dd, name, type, 0, dd->table_arg);
	}
	for (size_t i = 0; i < dd->nrawmiss; i++) {
		dd->queries++;
		dd->table(dd, dd->rawmiss[i].name, DV_A, dd->rawmiss[i].qtype, dd->table_arg);
	}
}

static void
fetch_misses(struct doctor_dns *dd)
{
	size_t n = dv_misses(dd->view);
	const char *name;
	enum dv_type type;

	if (dd->table != NULL) {
		fetch_from_table(dd);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct query *q = xcalloc(1, sizeof(*q));
		dv_miss(dd->view, i, &name, &type);
		q->dd = dd;
		q->type = type;
		snprintf(q->name, sizeof(q->name), "%s", name);
		dd->inflight++;
		dd->queries++;
		ares_query(dd->ch, q->name, ns_c_in, qtype_of(type), on_view_answer, q);
	}
	for (size_t i = 0; i < dd->nrawmiss; i++)
		send_raw(dd, dd->rawmiss[i].name, dd->rawmiss[i].qtype);
}

static void
give_up(struct doctor_dns *dd)
{
	dd->gave_up = true;
	dv_give_up(dd->view);
	if (!dd->offline)
		ares_cancel(dd->ch);
}

/* Drives c-ares until every query answered or the deadline passed. */
static void
pump(struct doctor_dns *dd)
{
	while (dd->inflight > 0) {
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		struct timeval maxtv, tv, *t;
		double left = dd->deadline - mono_now();
		nfds_t n = 0;
		int bits, ms;

		if (left <= 0) {
			give_up(dd);
			return;
		}
		maxtv.tv_sec = (time_t)left;
		maxtv.tv_usec = (suseconds_t)((left - (double)maxtv.tv_sec) * 1e6);
		t = ares_timeout(dd->ch, &maxtv, &tv);
		ms = (int)(t->tv_sec * 1000 + t->tv_usec / 1000) + 1;
		bits = ares_getsock(dd->ch, socks, ARES_GETSOCK_MAXNUM);
		for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			short ev = (short)((ARES_GETSOCK_READABLE(bits, i) ? POLLIN : 0) |
			    (ARES_GETSOCK_WRITABLE(bits, i) ? POLLOUT : 0));
			if (ev != 0)
				pfd[n++] = (struct pollfd){ .fd = socks[i], .events = ev };
		}
		if (poll(pfd, n, ms) <= 0) {
			ares_process_fd(dd->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (nfds_t i = 0; i < n; i++)
			if (pfd[i].revents != 0)
				ares_process_fd(dd->ch,
				    pfd[i].revents & (POLLIN | POLLERR | POLLHUP) ? pfd[i].fd :
				    ARES_SOCKET_BAD,
				    pfd[i].revents & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD);
	}
}

unsigned
ddns_settle(struct doctor_dns *dd, void (*round)(void *, struct doctor_dns *), void *arg)
{
	unsigned rounds = 0;

	for (;;) {
		dv_round_reset(dd->view);
		dd->nrawmiss = 0;
		round(arg, dd);
		rounds++;
		if (ddns_misses(dd) == 0 || (dd->gave_up && rounds > DDNS_ROUNDS_MAX + 1))
			return rounds;
		if ((dd->offline && dd->table == NULL) || dd->gave_up ||
		    rounds >= DDNS_ROUNDS_MAX || mono_now() >= dd->deadline) {
			give_up(dd);
			continue;
		}
		fetch_misses(dd);
		if (!dd->offline)
			pump(dd);
	}
}
