/*
 * screen/resolver.h - the screen role's DNS fetcher: c-ares inside the
 * role's libevent loop, filling the DNS cache (screen/dnscache.h) with the
 * answers the checks found missing (screen/dnsview.h explains the rounds).
 *
 * Owns: the c-ares channel, the queries in flight and the bounded FIFO of
 * fetches waiting for a slot. One process, one resolver (module state).
 * Why a generic fetcher: the checks only read the cache; the driver hands
 * every (name, type) a round missed to resolver_fetch() and runs the round
 * again when the callbacks came. The resolver never decides anything: it
 * turns DNS answers into the text forms of dnsview.h, nothing more.
 *
 * Servers: only the ones given (dns_server in homemx.conf). An empty list
 * is refused (resolver_init returns -1), so the screen never falls back to
 * /etc/resolv.conf or a default server.
 */
#ifndef SCREEN_RESOLVER_H
#define SCREEN_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsview.h"

struct event_base;
struct dns_cache;

/* Called once per fetch, from the event loop (never inside resolver_fetch),
 * when the cache holds an answer for the key - or without one when the
 * fetch was refused (bounds full, invalid name, resolver not started) or
 * the cache could not store it (full of pinned entries): the caller's
 * budget ends the wait then. The id is the caller's; an id it no longer
 * knows must be ignored. Same shape as eval_fetch_fn (screen/eval.h). */
typedef void (*resolver_cb)(uint64_t id);

struct resolver_limits {
	unsigned	timeout_ms;	/* one try; c-ares doubles it per retry */
	unsigned	tries;
	size_t		inflight_max;	/* queries handed to c-ares at once */
	size_t		waiting_max;	/* fetches queued behind them */
	size_t		waiters_max;	/* callbacks registered in all */
};

#define RESOLVER_TIMEOUT_MS	1500
#define RESOLVER_TRIES		2
#define RESOLVER_INFLIGHT_MAX	64
#define RESOLVER_WAITING_MAX	1024
#define RESOLVER_WAITERS_MAX	8192

/*
 * server_csv is "IP[:PORT],..." (ares_set_servers_ports_csv). Returns -1
 * with *why set if it is empty or does not parse, or c-ares cannot start.
 * limits may be NULL (the RESOLVER_* defaults).
 */
int	resolver_init(struct event_base *, const char *server_csv,
	    struct dns_cache *, const struct resolver_limits *, const char **why);
/* Replaces the servers (SIGHUP). "" or a bad list is refused: -1, the old
 * servers stay. With queries in flight the switch waits until they are
 * answered (c-ares cannot swap servers under them); fetches queue
 * meanwhile and then go to the new servers. */
int	resolver_set_servers(const char *server_csv, const char **why);

/*
 * Fetches (name, type) into the cache and calls cb(id) once. Identical
 * fetches in flight or waiting are merged; a refused one (see resolver_cb)
 * is counted in resolver_stats().refused.
 */
void	resolver_fetch(const char *name, enum dv_type, resolver_cb cb, uint64_t id);
/* Forgets every callback registered with id (its evaluation is gone). */
void	resolver_cancel(uint64_t id);

/*
 * One DNS answer in dnsview.h's text forms: what resolver_fetch() stores.
 * Exposed for the unit tests and the fuzzer, which feed it packets.
 */
struct resolver_answer {
	enum dv_status	status;
	size_t		n;
	bool		truncated;	/* records beyond DV_RR_MAX, a TXT record
					 * cut at DV_TXT_MAX, or PTR/MX names
					 * dropped as invalid */
	uint32_t	ttl;
	struct dv_rr	rr[DV_RR_MAX];
	char		text[DV_RR_MAX][DV_TXT_MAX + 1];	/* rr[i].data */
};

/* ares_status and the packet as c-ares hands them to a query callback. */
void	resolver_parse_answer(enum dv_type, int ares_status,
	    const unsigned char *abuf, int alen, struct resolver_answer *out);

/* Fetches not answered yet (in flight + waiting). */
size_t	resolver_pending(void);

struct resolver_stats {
	uint64_t	fetches;	/* resolver_fetch calls */
	uint64_t	merged;		/* joined a fetch already queued */
	uint64_t	refused;
	uint64_t	queries;	/* handed to c-ares */
	uint64_t	tempfails;	/* answers stored as DV_TEMPFAIL */
};
void	resolver_stats(struct resolver_stats *);
/* Drops every fetch without callbacks and frees the channel. */
void	resolver_shutdown(void);

#endif
