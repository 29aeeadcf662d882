/*
 * screen/resolver.c - c-ares driven by the screen role's libevent loop,
 * turning DNS answers into cache entries (see resolver.h).
 *
 * Owns: the channel, one libevent event per c-ares socket (created and
 * freed from ARES_OPT_SOCK_STATE_CB), one timer re-armed from
 * ares_timeout() after every call into c-ares, the fetches in flight and
 * the FIFO behind them. Same integration as relay/dns.c; the difference is
 * that this one is generic: any (name, type), answers go to the cache.
 *
 * Status mapping (dnsview.h): NXDOMAIN and "no data" are answers; SERVFAIL,
 * REFUSED, a timeout, an unreachable server and a packet that does not
 * parse are DV_TEMPFAIL, never a pass and never a reject. Queries go
 * through ares_query only: ares_gethostbyaddr reports an unreachable
 * server as "not found", which would turn an outage into "no PTR".
 * PTR answers are walked with libresolv's ns_parserr rather than
 * ares_parse_ptr_reply: c-ares 1.18 fails the whole answer when one PTR
 * name holds a byte that is not a host-name byte, and we want to drop that
 * name and keep the others (an answer left with none is DV_NODATA marked
 * truncated, which check_client reports as "bad_ptr_name").
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <sys/queue.h>

#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ares.h>
#include <event2/event.h>

#include "dnscache.h"
#include "log.h"
#include "metrics.h"
#include "resolver.h"
#include "util.h"

#define RESOLVER_SOCKS_MAX	64
#define RESOLVER_SERVERS_MAX	256	/* the "IP:PORT,..." list */
#define RESOLVER_OTHER_TTL	300	/* PTR, TXT, MX and negative answers */

struct waiter {
	struct waiter	*next;
	resolver_cb	 cb;
	uint64_t	 id;
};

struct fetch {
	TAILQ_ENTRY(fetch)	 link;		/* running or waiting */
	char			 name[DV_NAME_MAX + 1];
	enum dv_type		 type;
	struct waiter		*waiters;	/* newest first */
	double			 started;	/* homemx_dns_seconds */
};

TAILQ_HEAD(fetch_list, fetch);

struct resolver_sock {
	ares_socket_t	 fd;
	struct event	*ev;
};

static struct {
	struct event_base	*base;
	struct dns_cache	*cache;
	ares_channel		 channel;
	bool			 ready;
	struct event		*timer;
	struct event		*kick;		/* starts waiting fetches */
	struct resolver_limits	 lim;
	struct fetch_list	 running, waiting;
	size_t			 nrunning, nwaiting, nwaiters;
	struct waiter		*refused;	/* called back by the next kick */
	struct resolver_stats	 stats;
	char			 servers[RESOLVER_SERVERS_MAX];	/* in use */
	char			 next_servers[RESOLVER_SERVERS_MAX];
	bool			 switch_pending;	/* next_servers once idle */
	struct resolver_sock	 socks[RESOLVER_SOCKS_MAX];
	size_t			 nsocks;
	struct resolver_answer	 answer;	/* scratch for one callback */
} R;

/* ---- answers -------------------------------------------------------------- */

static enum dv_status
status_of(int rc)
{
	switch (rc) {
	case ARES_SUCCESS:	return DV_OK;
	case ARES_ENODATA:	return DV_NODATA;
	case ARES_ENOTFOUND:	return DV_NXDOMAIN;
	default:		return DV_TEMPFAIL;	/* ESERVFAIL, EREFUSED,
							 * ETIMEOUT, ECONNREFUSED,
							 * EBADRESP, ... */
	}
}

/* Letters, digits, '-' and '_' (seen in real PTR names, e.g. Windows DHCP). */
static bool
host_byte_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

/*
 * A name we may keep as a PTR target or MX host, lowercased into out: a
 * valid DNS name (dnscache.h) made of host-name bytes only - dnscache
 * takes any visible ASCII for SPF's sake, a host name does not -, no label
 * that starts or ends with '-', and a last label that is not all digits
 * (RFC 1123 2.1): a PTR that holds "192.0.2.1" names no host.
 */
static bool
host_name_valid(const char *in, char *out, size_t outsize)
{
	const char *label;
	size_t len;
	bool digits = true;

	if (dns_name_normalize(in, out, outsize) == -1)
		return false;
	for (const char *p = out; *p != '\0'; p++)
		if (*p != '.' && !host_byte_ok(*p))
			return false;
	for (label = out; ; ) {
		const char *dot = strchr(label, '.');
		len = dot != NULL ? (size_t)(dot - label) : strlen(label);
		if (label[0] == '-' || label[len - 1] == '-')
			return false;
		if (dot == NULL)
			break;
		label = dot + 1;
	}
	for (size_t i = 0; i < len; i++)
		if (label[i] < '0' || label[i] > '9')
			digits = false;
	return !digits;
}

static void
answer_add(struct resolver_answer *a, const char *text, size_t len, uint16_t pref)
{
	memcpy(a->text[a->n], text, len);
	a->text[a->n][len] = '\0';
	a->rr[a->n].data = a->text[a->n];
	a->rr[a->n].len = len;
	a->rr[a->n].pref = pref;
	a->n++;
}

static void
parse_a(const unsigned char *abuf, int alen, struct resolver_answer *a)
{
	struct ares_addrttl rr[DV_RR_MAX + 1];
	int n = DV_RR_MAX + 1, rc;
	char text[INET6_ADDRSTRLEN];

	if ((rc = ares_parse_a_reply(abuf, alen, NULL, rr, &n)) != ARES_SUCCESS) {
		a->status = status_of(rc);
		return;
	}
	if (n > DV_RR_MAX) {
		n = DV_RR_MAX;
		a->truncated = true;
	}
	for (int i = 0; i < n; i++) {
		if (inet_ntop(AF_INET, &rr[i].ipaddr, text, sizeof(text)) == NULL)
			continue;
		answer_add(a, text, strlen(text), 0);
		if (rr[i].ttl >= 0 && (uint32_t)rr[i].ttl < a->ttl)
			a->ttl = (uint32_t)rr[i].ttl;
	}
}

static void
parse_aaaa(const unsigned char *abuf, int alen, struct resolver_answer *a)
{
	struct ares_addr6ttl rr[DV_RR_MAX + 1];
	int n = DV_RR_MAX + 1, rc;
	char text[INET6_ADDRSTRLEN];

	if ((rc = ares_parse_aaaa_reply(abuf, alen, NULL, rr, &n)) != ARES_SUCCESS) {
		a->status = status_of(rc);
		return;
	}
	if (n > DV_RR_MAX) {
		n = DV_RR_MAX;
		a->truncated = true;
	}
	for (int i = 0; i < n; i++) {
		if (inet_ntop(AF_INET6, &rr[i].ip6addr, text, sizeof(text)) == NULL)
			continue;
		answer_add(a, text, strlen(text), 0);
		if (rr[i].ttl >= 0 && (uint32_t)rr[i].ttl < a->ttl)
			a->ttl = (uint32_t)rr[i].ttl;
	}
}

/* The character-strings of one record are joined (RFC 7208 3.3). */
static void
parse_txt(const unsigned char *abuf, int alen, struct resolver_answer *a)
{
	struct ares_txt_ext *list = NULL;
	int rc;

	if ((rc = ares_parse_txt_reply_ext(abuf, alen, &list)) != ARES_SUCCESS) {
		a->status = status_of(rc);
		return;
	}
	for (struct ares_txt_ext *t = list; t != NULL; t = t->next) {
		if (t->record_start || a->n == 0) {
			if (a->n == DV_RR_MAX) {
				a->truncated = true;
				break;
			}
			answer_add(a, "", 0, 0);
		}
		struct dv_rr *rr = &a->rr[a->n - 1];
		size_t take = t->length;
		if (take > DV_TXT_MAX - rr->len) {
			take = DV_TXT_MAX - rr->len;
			a->truncated = true;
		}
		memcpy(a->text[a->n - 1] + rr->len, t->txt, take);
		rr->len += take;
		a->text[a->n - 1][rr->len] = '\0';
	}
	ares_free_data(list);
}

/* RFC 7505: a null MX is the root name, which c-ares expands to "". */
static void
parse_mx(const unsigned char *abuf, int alen, struct resolver_answer *a)
{
	struct ares_mx_reply *list = NULL;
	char host[DV_NAME_MAX + 1];
	bool dropped = false;
	int rc;

	if ((rc = ares_parse_mx_reply(abuf, alen, &list)) != ARES_SUCCESS) {
		a->status = status_of(rc);
		return;
	}
	for (struct ares_mx_reply *m = list; m != NULL; m = m->next) {
		if (m->host[0] != '\0' && !host_name_valid(m->host, host, sizeof(host))) {
			dropped = true;
			continue;
		}
		if (a->n == DV_RR_MAX) {
			a->truncated = true;
			break;
		}
		if (m->host[0] == '\0')
			host[0] = '\0';
		answer_add(a, host, strlen(host), m->priority);
	}
	ares_free_data(list);
	if (a->n == 0 && dropped)
		a->truncated = true;
}

/*
 * PTR records of the question's name, following a CNAME chain in the
 * answer section (RFC 2317 classless delegation). Names that are not host
 * names are dropped.
 */
static void
parse_ptr(const unsigned char *abuf, int alen, struct resolver_answer *a)
{
	char owner[NS_MAXDNAME], target[NS_MAXDNAME], host[DV_NAME_MAX + 1];
	bool dropped = false;
	ns_msg msg;
	ns_rr rr;

	if (ns_initparse(abuf, alen, &msg) == -1 ||
	    ns_parserr(&msg, ns_s_qd, 0, &rr) == -1)
		goto malformed;
	snprintf(owner, sizeof(owner), "%s", ns_rr_name(rr));
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) == -1)
			goto malformed;
		if (ns_rr_class(rr) != ns_c_in || strcasecmp(ns_rr_name(rr), owner) != 0)
			continue;
		if (ns_rr_type(rr) != ns_t_ptr && ns_rr_type(rr) != ns_t_cname)
			continue;
		if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr),
		    target, sizeof(target)) == -1)
			goto malformed;
		if (ns_rr_type(rr) == ns_t_cname) {
			snprintf(owner, sizeof(owner), "%s", target);
		} else if (!host_name_valid(target, host, sizeof(host))) {
			dropped = true;
		} else if (a->n == DV_RR_MAX) {
			a->truncated = true;
		} else {
			answer_add(a, host, strlen(host), 0);
		}
	}
	if (a->n == 0 && dropped)
		a->truncated = true;
	return;
malformed:
	a->status = DV_TEMPFAIL;
	a->n = 0;
}

void
resolver_parse_answer(enum dv_type type, int ares_status,
    const unsigned char *abuf, int alen, struct resolver_answer *a)
{
	a->status = status_of(ares_status);
	a->n = 0;
	a->truncated = false;
	a->ttl = type == DV_A || type == DV_AAAA ? DNS_CACHE_TTL_MAX : RESOLVER_OTHER_TTL;
	if (a->status != DV_OK || abuf == NULL || alen <= 0) {
		if (a->status == DV_OK)
			a->status = DV_TEMPFAIL;
		a->ttl = RESOLVER_OTHER_TTL;
		return;
	}
	switch (type) {
	case DV_A:	parse_a(abuf, alen, a);		break;
	case DV_AAAA:	parse_aaaa(abuf, alen, a);	break;
	case DV_TXT:	parse_txt(abuf, alen, a);	break;
	case DV_MX:	parse_mx(abuf, alen, a);	break;
	case DV_PTR:	parse_ptr(abuf, alen, a);	break;
	default:	a->status = DV_TEMPFAIL;	break;
	}
	if (a->status == DV_OK && a->n == 0)
		a->status = DV_NODATA;
	if (a->status != DV_OK) {
		a->n = 0;
		a->ttl = RESOLVER_OTHER_TTL;
	}
}

/* ---- the event loop side -------------------------------------------------- */

static int	servers_apply(const char *, const char **);

static void
resolver_rearm(void)
{
	struct timeval tv, *t;

	if (!R.ready)
		return;
	t = ares_timeout(R.channel, NULL, &tv);
	if (t == NULL)
		evtimer_del(R.timer);
	else
		evtimer_add(R.timer, t);
}

static void
on_sock(evutil_socket_t fd, short what, void *arg)
{
	(void)arg;
	ares_process_fd(R.channel, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	resolver_rearm();
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	ares_process_fd(R.channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolver_rearm();
}

static void
sock_forget(size_t i)
{
	event_free(R.socks[i].ev);
	R.socks[i] = R.socks[--R.nsocks];
}

/* c-ares tells which sockets to watch for what. */
static void
on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	short what = (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));
	size_t i;

	(void)data;
	for (i = 0; i < R.nsocks && R.socks[i].fd != fd; i++)
		;
	if (i < R.nsocks)
		sock_forget(i);
	if (what == 0)
		return;
	if (R.nsocks == RESOLVER_SOCKS_MAX)
		fatalx("resolver: more than %d sockets", RESOLVER_SOCKS_MAX);
	R.socks[R.nsocks].fd = fd;
	R.socks[R.nsocks].ev = event_new(R.base, fd, what | EV_PERSIST, on_sock, NULL);
	if (R.socks[R.nsocks].ev == NULL || event_add(R.socks[R.nsocks].ev, NULL) == -1)
		fatalx("resolver: event_new");
	R.nsocks++;
}

static void
fetch_free(struct fetch *f)
{
	struct waiter *w, *next;

	for (w = f->waiters; w != NULL; w = next) {
		next = w->next;
		free(w);
		R.nwaiters--;
	}
	free(f);
}

/* Calls every waiter of a finished fetch, oldest first, then frees it. */
static void
fetch_deliver(struct fetch *f)
{
	struct waiter *w = f->waiters, *rev = NULL, *next;

	f->waiters = NULL;
	for (; w != NULL; w = next) {	/* reverse: the list is newest first */
		next = w->next;
		w->next = rev;
		rev = w;
	}
	for (w = rev; w != NULL; w = next) {
		next = w->next;
		R.nwaiters--;
		w->cb(w->id);
		free(w);
	}
	free(f);
}

static void
resolver_kick(void)
{
	event_active(R.kick, EV_TIMEOUT, 0);
}

static void
on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct fetch *f = arg;
	struct resolver_answer *a = &R.answer;

	(void)timeouts;
	TAILQ_REMOVE(&R.running, f, link);
	R.nrunning--;
	if (status == ARES_EDESTRUCTION) {	/* resolver_shutdown() */
		fetch_free(f);
		return;
	}
	metrics_observe("homemx_dns_seconds", status == ARES_SUCCESS || status == ARES_ENODATA ||
	    status == ARES_ENOTFOUND ? "result=\"answer\"" : "result=\"failure\"",
	    mono_now() - f->started);
	resolver_parse_answer(f->type, status, abuf, alen, a);
	if (a->status == DV_TEMPFAIL)
		R.stats.tempfails++;
	if (status != ARES_SUCCESS && a->status == DV_TEMPFAIL)
		log_debug("resolver: %s %s: %s", f->name, dv_type_name(f->type),
		    ares_strerror(status));
	if (dns_cache_put(R.cache, f->name, f->type, a->status, a->rr, a->n,
	    a->truncated, a->ttl) == -1)
		log_warnx("resolver: cache refused %s %s (full of pinned entries)",
		    f->name, dv_type_name(f->type));
	fetch_deliver(f);
	resolver_kick();
}

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

/* Calls back the refused fetches, oldest first. */
static void
refused_deliver(void)
{
	struct waiter *w = R.refused, *rev = NULL, *next;

	R.refused = NULL;
	for (; w != NULL; w = next) {
		next = w->next;
		w->next = rev;
		rev = w;
	}
	for (w = rev; w != NULL; w = next) {
		next = w->next;
		w->cb(w->id);
		free(w);
	}
}

/* Answers refusals, then moves waiting fetches into c-ares while there
 * are free slots. */
static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct fetch *f;

	(void)fd;
	(void)what;
	(void)arg;
	refused_deliver();
	if (R.ready && R.switch_pending) {
		const char *why;
		if (R.nrunning > 0) {
			resolver_rearm();
			return;		/* the last answer kicks again */
		}
		R.switch_pending = false;
		if (servers_apply(R.next_servers, &why) == -1)
			log_warnx("resolver: dns_server %s: %s; keeping %s", R.next_servers, why,
			    R.servers);
	}
	while (R.ready && R.nrunning < R.lim.inflight_max &&
	    (f = TAILQ_FIRST(&R.waiting)) != NULL) {
		TAILQ_REMOVE(&R.waiting, f, link);
		R.nwaiting--;
		TAILQ_INSERT_TAIL(&R.running, f, link);
		R.nrunning++;
		R.stats.queries++;
		f->started = mono_now();
		/* may call on_answer at once (no server): f is gone then */
		ares_query(R.channel, f->name, ns_c_in, qtype_of(f->type), on_answer, f);
	}
	resolver_rearm();
}

/* ---- the interface -------------------------------------------------------- */

static int
servers_apply(const char *server_csv, const char **why)
{
	int rc;

	if ((rc = ares_set_servers_ports_csv(R.channel, server_csv)) != ARES_SUCCESS) {
		*why = ares_strerror(rc);
		return -1;
	}
	snprintf(R.servers, sizeof(R.servers), "%s", server_csv);
	return 0;
}

/* Refuses what c-ares would refuse, on a scratch channel: set_servers
 * cannot be tried on the live one while queries run. */
static int
servers_check(const char *server_csv, const char **why)
{
	struct ares_options o;
	ares_channel scratch;
	int rc;

	if (server_csv == NULL || server_csv[0] == '\0') {
		*why = "no dns_server (the screen never uses /etc/resolv.conf)";
		return -1;
	}
	if (strlen(server_csv) >= RESOLVER_SERVERS_MAX) {
		*why = "dns_server list too long";
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.lookups = (char *)"b";
	o.nservers = 0;
	if ((rc = ares_init_options(&scratch, &o, ARES_OPT_LOOKUPS | ARES_OPT_SERVERS)) !=
	    ARES_SUCCESS) {
		*why = ares_strerror(rc);
		return -1;
	}
	rc = ares_set_servers_ports_csv(scratch, server_csv);
	ares_destroy(scratch);
	if (rc != ARES_SUCCESS) {
		*why = ares_strerror(rc);
		return -1;
	}
	return 0;
}

static void
limits_apply(const struct resolver_limits *lim)
{
	static const struct resolver_limits defaults = {
		RESOLVER_TIMEOUT_MS, RESOLVER_TRIES, RESOLVER_INFLIGHT_MAX,
		RESOLVER_WAITING_MAX, RESOLVER_WAITERS_MAX,
	};

	R.lim = lim != NULL ? *lim : defaults;
	if (R.lim.timeout_ms == 0)
		R.lim.timeout_ms = defaults.timeout_ms;
	if (R.lim.tries == 0)
		R.lim.tries = 1;
	if (R.lim.inflight_max == 0)
		R.lim.inflight_max = 1;
	if (R.lim.waiting_max == 0)
		R.lim.waiting_max = 1;
	if (R.lim.waiters_max == 0)
		R.lim.waiters_max = 1;
}

int
resolver_init(struct event_base *base, const char *server_csv,
    struct dns_cache *cache, const struct resolver_limits *lim, const char **why)
{
	struct ares_options o;
	int rc, mask = ARES_OPT_FLAGS | ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SERVERS;

	metrics_family("homemx_dns_seconds", METRIC_HISTOGRAM, 0,
	    "Time of one DNS query of the screen, from the send to the answer.");

	if (R.ready) {
		*why = "resolver already started";
		return -1;
	}
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		*why = ares_strerror(rc);
		return -1;
	}
	if (servers_check(server_csv, why) == -1) {
		ares_library_cleanup();
		return -1;
	}
	limits_apply(lim);
	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS;
	o.sock_state_cb = on_sock_state;
	o.lookups = (char *)"b";	/* DNS only: never /etc/hosts */
	o.timeout = (int)R.lim.timeout_ms;
	o.tries = (int)R.lim.tries;
	o.nservers = 0;			/* none from resolv.conf: only ours */
	if ((rc = ares_init_options(&R.channel, &o, mask)) != ARES_SUCCESS) {
		*why = ares_strerror(rc);
		ares_library_cleanup();
		return -1;
	}
	if (servers_apply(server_csv, why) == -1) {
		ares_destroy(R.channel);
		ares_library_cleanup();
		return -1;
	}
	R.base = base;
	R.cache = cache;
	TAILQ_INIT(&R.running);
	TAILQ_INIT(&R.waiting);
	R.nrunning = R.nwaiting = R.nwaiters = R.nsocks = 0;
	R.refused = NULL;
	R.switch_pending = false;
	memset(&R.stats, 0, sizeof(R.stats));
	if ((R.timer = evtimer_new(base, on_timer, NULL)) == NULL ||
	    (R.kick = event_new(base, -1, 0, on_kick, NULL)) == NULL)
		fatalx("resolver: event_new");
	R.ready = true;
	return 0;
}

int
resolver_set_servers(const char *server_csv, const char **why)
{
	if (!R.ready) {
		*why = "resolver not started";
		return -1;
	}
	if (servers_check(server_csv, why) == -1)
		return -1;
	if (R.nrunning == 0 && !R.switch_pending)
		return servers_apply(server_csv, why);
	/* c-ares 1.18 refuses new servers while queries run (ARES_ENOTIMP):
	 * hold new queries, switch when the last answer is in */
	snprintf(R.next_servers, sizeof(R.next_servers), "%s", server_csv);
	R.switch_pending = true;
	return 0;
}

static struct fetch *
fetch_find(const char *key, enum dv_type type)
{
	struct fetch *f;

	TAILQ_FOREACH(f, &R.running, link)
		if (f->type == type && strcmp(f->name, key) == 0)
			return f;
	TAILQ_FOREACH(f, &R.waiting, link)
		if (f->type == type && strcmp(f->name, key) == 0)
			return f;
	return NULL;
}

static void
fetch_refuse(resolver_cb cb, uint64_t id)
{
	struct waiter *w;

	R.stats.refused++;
	if (!R.ready || cb == NULL)
		return;		/* no loop to call back from */
	w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->id = id;
	w->next = R.refused;
	R.refused = w;
	resolver_kick();
}

void
resolver_fetch(const char *name, enum dv_type type, resolver_cb cb, uint64_t id)
{
	char key[DV_NAME_MAX + 1];
	struct fetch *f;
	struct waiter *w;

	R.stats.fetches++;
	if (!R.ready || cb == NULL || type < DV_A || type > DV_TYPE_MAX ||
	    dns_name_normalize(name, key, sizeof(key)) == -1 ||
	    R.nwaiters >= R.lim.waiters_max) {
		fetch_refuse(cb, id);
		return;
	}
	if ((f = fetch_find(key, type)) != NULL) {
		R.stats.merged++;
	} else {
		if (R.nwaiting >= R.lim.waiting_max) {
			fetch_refuse(cb, id);
			return;
		}
		f = xcalloc(1, sizeof(*f));
		memcpy(f->name, key, strlen(key) + 1);
		f->type = type;
		TAILQ_INSERT_TAIL(&R.waiting, f, link);
		R.nwaiting++;
		resolver_kick();
	}
	w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->id = id;
	w->next = f->waiters;
	f->waiters = w;
	R.nwaiters++;
}

static void
waiters_drop_id(struct fetch *f, uint64_t id)
{
	struct waiter **pp = &f->waiters, *w;

	while ((w = *pp) != NULL) {
		if (w->id == id) {
			*pp = w->next;
			free(w);
			R.nwaiters--;
		} else {
			pp = &w->next;
		}
	}
}

void
resolver_cancel(uint64_t id)
{
	struct fetch *f, *next;

	if (!R.ready)
		return;
	for (struct waiter **pp = &R.refused, *w; (w = *pp) != NULL; ) {
		if (w->id == id) {
			*pp = w->next;
			free(w);
		} else {
			pp = &w->next;
		}
	}
	TAILQ_FOREACH(f, &R.running, link)
		waiters_drop_id(f, id);		/* the query runs on: it fills the cache */
	for (f = TAILQ_FIRST(&R.waiting); f != NULL; f = next) {
		next = TAILQ_NEXT(f, link);
		waiters_drop_id(f, id);
		if (f->waiters == NULL) {	/* nobody wants it any more */
			TAILQ_REMOVE(&R.waiting, f, link);
			R.nwaiting--;
			free(f);
		}
	}
}

size_t
resolver_pending(void)
{
	return R.nrunning + R.nwaiting;
}

void
resolver_stats(struct resolver_stats *out)
{
	*out = R.stats;
}

void
resolver_shutdown(void)
{
	struct fetch *f;

	if (!R.ready)
		return;
	R.ready = false;
	ares_destroy(R.channel);	/* running fetches get ARES_EDESTRUCTION */
	while ((f = TAILQ_FIRST(&R.waiting)) != NULL) {
		TAILQ_REMOVE(&R.waiting, f, link);
		fetch_free(f);
	}
	R.nwaiting = 0;
	for (struct waiter *w = R.refused, *next; w != NULL; w = next) {
		next = w->next;
		free(w);
	}
	R.refused = NULL;
	while (R.nsocks > 0)
		sock_forget(R.nsocks - 1);
	event_free(R.timer);
	event_free(R.kick);
	R.timer = R.kick = NULL;
	ares_library_cleanup();
}
