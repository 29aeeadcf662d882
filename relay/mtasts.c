/*
 * relay/mtasts.c - see mtasts.h. The background refresh (when, in
 * relay/mtasts_refresh.h) runs from one timer armed for the earliest due
 * domain; it is one more lookup of the entry, with no waiter, so a domain
 * never has two at a time, and a job that arrives meanwhile gets the
 * cached policy at once instead of waiting for the fetch.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "dns.h"
#include "log.h"
#include "mtasts.h"
#include "mtasts_refresh.h"
#include "state.h"
#include "tls.h"
#include "tlsrpt.h"
#include "util.h"

#define STS_HEADER_MAX		8192
#define STS_RESPONSE_MAX	(STS_HEADER_MAX + STS_BODY_MAX)
#define STS_CACHE_FILE_MAX	8192	/* a formatted policy: 16 mx lines at most */
#define STS_ADDRS_MAX		4

struct waiter {
	struct waiter	*next;
	mtasts_cb	 cb;
	uint64_t	 id;
};

struct entry {
	bool			 used;
	uint64_t		 key;		/* this use of the slot (DNS callbacks) */
	char			 domain[ADDR_DOMAIN_MAX + 1];
	/* the cached policy */
	bool			 have;
	char			 id[MTASTS_ID_MAX + 1];
	time_t			 expires;
	struct sts_policy	 policy;
	bool			 disk_read;
	/* a lookup in flight */
	bool			 busy;
	struct waiter		*waiters;
	char			 new_id[MTASTS_ID_MAX + 1];
	struct sockaddr_storage	 addrs[STS_ADDRS_MAX];
	size_t			 naddrs, aidx;
	struct bufferevent	*bev;
	/* the background refresh (relay/mtasts_refresh.h) */
	bool			 background;	/* the lookup in flight is one */
	bool			 force_fetch;	/* fetch even under the same id */
	time_t			 last_used, last_check, last_try;
};

static struct event_base	*base;
static bool			 enabled;
static struct entry		 cache[MTASTS_CACHE_MAX];
static uint64_t			 next_key;
static struct event		*ev_refresh;
/* start times of the last MTASTS_REFRESH_PER_HOUR background refreshes */
static time_t			 refresh_ring[MTASTS_REFRESH_PER_HOUR];
static size_t			 refresh_head;

static void	fetch_next_address(struct entry *);
static void	refresh_schedule(void);

/* ---- the cache ------------------------------------------------------------------------ */

static struct entry *
entry_by_key(uint64_t key)
{
	for (size_t i = 0; i < MTASTS_CACHE_MAX; i++)
		if (cache[i].used && cache[i].key == key)
			return &cache[i];
	return NULL;
}

/* The domain's slot; a new one evicts the idle entry that expires first. */
static struct entry *
entry_for(const char *domain)
{
	struct entry *victim = NULL;

	for (size_t i = 0; i < MTASTS_CACHE_MAX; i++) {
		struct entry *e = &cache[i];
		if (e->used && strcmp(e->domain, domain) == 0)
			return e;
		if (!e->used && victim == NULL)
			victim = e;
	}
	for (size_t i = 0; victim == NULL && i < MTASTS_CACHE_MAX; i++)
		if (!cache[i].busy && (victim == NULL || cache[i].expires < victim->expires))
			victim = &cache[i];
	if (victim == NULL)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	victim->used = true;
	victim->key = ++next_key;
	snprintf(victim->domain, sizeof(victim->domain), "%s", domain);
	return victim;
}

static void
cache_file_name(const struct entry *e, char *name, size_t size)
{
	snprintf(name, size, "mta-sts-%s", e->domain);
}

/* The policy a previous run cached, read once per entry. */
static void
entry_load(struct entry *e)
{
	static char buf[STS_CACHE_FILE_MAX];
	char name[ADDR_DOMAIN_MAX + 16];
	ssize_t n;

	if (e->disk_read)
		return;
	e->disk_read = true;
	cache_file_name(e, name, sizeof(name));
	if ((n = relay_state_read(name, buf, sizeof(buf))) <= 0)
		return;
	if (mtasts_cache_parse(buf, (size_t)n, e->id, &e->expires, &e->policy) == 0)
		e->have = true;
	else
		log_warnx("relay: MTA-STS cache file %s does not parse: ignored", name);
}

static void
entry_save(const struct entry *e)
{
	static char buf[STS_CACHE_FILE_MAX];
	char name[ADDR_DOMAIN_MAX + 16];
	size_t n = mtasts_cache_format(e->id, e->expires, &e->policy, buf, sizeof(buf));

	cache_file_name(e, name, sizeof(name));
	if (n > 0)
		(void)relay_state_write(name, buf, n);
}

static bool
entry_valid(const struct entry *e)
{
	return e->have && e->expires > time(NULL);
}

static const struct sts_policy *
entry_policy(const struct entry *e)
{
	return entry_valid(e) && e->policy.mode != STS_MODE_NONE ? &e->policy : NULL;
}

/* The lookup is over: every waiter hears the policy that applies now. */
static void
entry_finish(struct entry *e)
{
	struct waiter *w = e->waiters;
	struct sts_policy copy = e->policy;
	const struct sts_policy *p = entry_policy(e) != NULL ? &copy : NULL;

	e->waiters = NULL;
	e->busy = false;
	e->background = false;
	e->force_fetch = false;
	if (e->bev != NULL)
		bufferevent_free(e->bev);
	e->bev = NULL;
	while (w != NULL) {
		struct waiter *next = w->next;
		w->cb(w->id, p);
		free(w);
		w = next;
	}
	refresh_schedule();
}

/* The policy text for TLS-RPT's policy-string (RFC 8460 4.4). */
static const char *
policy_text(const struct sts_policy *p, char *buf, size_t size)
{
	const char *body;
	size_t n = mtasts_cache_format("x", 0, p, buf, size);

	if (n == 0 || (body = strstr(buf, "\n\n")) == NULL)
		return NULL;
	return body + 2;
}

static void
fetch_failed(struct entry *e, enum tlsrpt_result why, const char *text)
{
	log_event("mta_sts_fetch", "domain=%s result=failed reason=\"%s\" cached=%s", e->domain,
	    text, entry_valid(e) ? "yes" : "no");
	/* TLS-RPT counts sessions (RFC 8460 4.3): a background try is none */
	if (!e->background)
		tlsrpt_note(e->domain, TLSP_STS_ENFORCE, NULL, "", "", why);
	entry_finish(e);
}

/* ---- the HTTPS fetch --------------------------------------------------------------------- */

static void
fetch_parse(struct entry *e)
{
	static char buf[STS_RESPONSE_MAX + 1];
	struct evbuffer *in = bufferevent_get_input(e->bev);
	size_t len = evbuffer_get_length(in);
	const char *body;
	size_t bodylen;
	struct sts_policy p;
	char why[200], text[1024];
	bool plain;
	int status;

	if (len > STS_RESPONSE_MAX) {
		fetch_failed(e, TLSRPT_STS_FETCH_ERROR, "response larger than 64 KiB");
		return;
	}
	evbuffer_remove(in, buf, len);
	buf[len] = '\0';
	if (sts_http_response(buf, len, &status, &body, &bodylen, &plain, why, sizeof(why)) == -1) {
		fetch_failed(e, TLSRPT_STS_FETCH_ERROR, why);
		return;
	}
	if (status != 200) {
		snprintf(why, sizeof(why), "HTTP status %d", status);
		fetch_failed(e, TLSRPT_STS_FETCH_ERROR, why);
		return;
	}
	if (sts_policy_parse(body, bodylen, &p, why, sizeof(why)) == -1) {
		fetch_failed(e, TLSRPT_STS_INVALID, why);
		return;
	}
	e->policy = p;
	e->have = true;
	memcpy(e->id, e->new_id, sizeof(e->id));
	e->expires = time(NULL) + (time_t)p.max_age;
	log_event("mta_sts_fetch", "domain=%s result=ok id=%s mode=%s mx=%zu max_age=%lu",
	    e->domain, e->id, p.mode == STS_MODE_ENFORCE ? "enforce" :
	    p.mode == STS_MODE_TESTING ? "testing" : "none", p.nmx, p.max_age);
	entry_save(e);
	if (p.mode != STS_MODE_NONE)
		tlsrpt_note(e->domain, p.mode == STS_MODE_ENFORCE ? TLSP_STS_ENFORCE :
		    TLSP_STS_TESTING, policy_text(&p, text, sizeof(text)), NULL, NULL, TLSRPT_OK);
	entry_finish(e);
}

static void
on_fetch_read(struct bufferevent *bev, void *arg)
{
	struct entry *e = arg;

	if (evbuffer_get_length(bufferevent_get_input(bev)) > STS_RESPONSE_MAX)
		fetch_failed(e, TLSRPT_STS_FETCH_ERROR, "response larger than 64 KiB");
}

static void
on_fetch_event(struct bufferevent *bev, short what, void *arg)
{
	struct entry *e = arg;
	char req[ADDR_DOMAIN_MAX + 160], why[200];
	SSL *ssl;
	int n;

	if (what & BEV_EVENT_CONNECTED) {
		n = snprintf(req, sizeof(req), "GET /.well-known/mta-sts.txt HTTP/1.0\r\n"
		    "Host: mta-sts.%s\r\nUser-Agent: homemx\r\nConnection: close\r\n\r\n",
		    e->domain);
		if (n > 0 && (size_t)n < sizeof(req))
			bufferevent_write(bev, req, (size_t)n);
		bufferevent_enable(bev, EV_READ);
		return;
	}
	if ((what & BEV_EVENT_EOF) && e->bev != NULL &&
	    evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
		fetch_parse(e);
		return;
	}
	ssl = bufferevent_openssl_get_ssl(bev);
	if (ssl != NULL && SSL_get_verify_result(ssl) != X509_V_OK) {
		/* RFC 8460 4.3.2.1: the policy host's certificate did not verify */
		char text[ADDR_DOMAIN_MAX + 240];
		(void)relay_tls_verified(bev, why, sizeof(why));
		snprintf(text, sizeof(text), "certificate of mta-sts.%s: %s", e->domain, why);
		fetch_failed(e, TLSRPT_STS_WEBPKI_INVALID, text);
		return;
	}
	bufferevent_free(e->bev);
	e->bev = NULL;
	e->aidx++;
	fetch_next_address(e);
}

static void
fetch_next_address(struct entry *e)
{
	struct tls_policy tp;
	char host[ADDR_DOMAIN_MAX + 16];
	struct timeval tv = { MTASTS_FETCH_TIMEOUT, 0 };
	struct sockaddr_storage *a;
	socklen_t len;

	if (e->aidx >= e->naddrs) {
		fetch_failed(e, TLSRPT_STS_FETCH_ERROR, e->naddrs == 0 ?
		    "no address for the policy host" : "no policy host answered");
		return;
	}
	a = &e->addrs[e->aidx];
	len = a->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	if (a->ss_family == AF_INET)
		((struct sockaddr_in *)a)->sin_port = htons(443);
	else
		((struct sockaddr_in6 *)a)->sin6_port = htons(443);
	snprintf(host, sizeof(host), "mta-sts.%s", e->domain);
	memset(&tp, 0, sizeof(tp));
	tp.kind = TLSP_REQUIRE;		/* RFC 8461 3.3: a valid certificate for host */
	if (strlen(host) >= sizeof(tp.name)) {
		fetch_failed(e, TLSRPT_STS_FETCH_ERROR, "policy host name too long");
		return;
	}
	memcpy(tp.name, host, strlen(host) + 1);
	if ((e->bev = relay_tls_bev(base, -1, host, &tp)) == NULL ||
	    bufferevent_socket_connect(e->bev, (struct sockaddr *)a, (int)len) == -1) {
		if (e->bev != NULL)
			bufferevent_free(e->bev);
		e->bev = NULL;
		e->aidx++;
		fetch_next_address(e);
		return;
	}
	bufferevent_setcb(e->bev, on_fetch_read, NULL, on_fetch_event, e);
	bufferevent_set_timeouts(e->bev, &tv, &tv);
	bufferevent_enable(e->bev, EV_READ | EV_WRITE);
}

static void
on_policy_host(uint64_t key, uint32_t tag, int family, enum dns_status st,
    const struct sockaddr_storage *addrs, size_t n, const char *err, bool secure)
{
	struct entry *e = entry_by_key(key);
	char host[ADDR_DOMAIN_MAX + 16];

	(void)tag;
	(void)err;
	(void)secure;	/* the policy rests on the HTTPS certificate (RFC 8461 3.3) */
	if (e == NULL || !e->busy)
		return;
	for (size_t i = 0; st == DNS_OK && i < n && e->naddrs < STS_ADDRS_MAX; i++)
		e->addrs[e->naddrs++] = addrs[i];
	if (e->naddrs == 0 && family == AF_INET) {
		snprintf(host, sizeof(host), "mta-sts.%s", e->domain);
		dns_lookup_addr(host, AF_INET6, on_policy_host, e->key, 0, false);
		return;
	}
	e->aidx = 0;
	fetch_next_address(e);
}

static void
on_txt(uint64_t key, enum dns_status st, const char *const *txt, size_t n, const char *err)
{
	struct entry *e = entry_by_key(key);
	char host[ADDR_DOMAIN_MAX + 16];
	int rc;

	(void)err;
	if (e == NULL || !e->busy)
		return;
	rc = st == DNS_OK ? mtasts_txt_id(txt, n, e->new_id) : 0;
	if (rc != 1 || (entry_valid(e) && strcmp(e->id, e->new_id) == 0 && !e->force_fetch)) {
		/* no (usable) record: a cached policy still holds (RFC 8461 5.1) */
		entry_finish(e);
		return;
	}
	snprintf(host, sizeof(host), "mta-sts.%s", e->domain);
	e->naddrs = 0;
	dns_lookup_addr(host, AF_INET, on_policy_host, e->key, 0, false);
}

/* The TXT record first, as a job's lookup does (RFC 8461 5.1). */
static void
lookup_start(struct entry *e)
{
	char name[ADDR_DOMAIN_MAX + 16];

	e->busy = true;
	e->last_check = time(NULL);
	snprintf(name, sizeof(name), "_mta-sts.%s", e->domain);
	dns_lookup_txt(name, on_txt, e->key);
}

/* ---- the background refresh ------------------------------------------------------------------ */

static time_t
entry_refresh_due(const struct entry *e, bool *fetch)
{
	struct mtasts_times t = {
		.expires = e->have ? e->expires : 0, .max_age = e->policy.max_age,
		.last_used = e->last_used, .last_check = e->last_check, .last_try = e->last_try,
	};

	*fetch = false;
	if (!e->used || e->busy)
		return 0;
	return mtasts_refresh_due(&t, fetch);
}

/* The earliest time the hourly budget allows one more refresh. */
static time_t
refresh_budget_at(void)
{
	time_t oldest = refresh_ring[refresh_head];

	return oldest == 0 ? 0 : oldest + 3600;
}

static void
refresh_start(struct entry *e, time_t now, bool fetch)
{
	refresh_ring[refresh_head] = now;
	refresh_head = (refresh_head + 1) % MTASTS_REFRESH_PER_HOUR;
	e->last_try = now;
	e->background = true;
	e->force_fetch = fetch;
	log_event("mta_sts_refresh", "domain=%s id=%s expires_in=%lld fetch=%s", e->domain,
	    e->id, (long long)(e->expires - now), fetch ? "yes" : "if_new_id");
	lookup_start(e);
}

static void
on_refresh_timer(evutil_socket_t fd, short what, void *arg)
{
	time_t now = time(NULL), due;
	bool fetch;

	(void)fd;
	(void)what;
	(void)arg;
	for (size_t i = 0; enabled && i < MTASTS_CACHE_MAX; i++) {
		if (refresh_budget_at() > now)
			break;
		due = entry_refresh_due(&cache[i], &fetch);
		if (due != 0 && due <= now)
			refresh_start(&cache[i], now, fetch);
	}
	refresh_schedule();
}

/* Arms the timer for the earliest due domain, within the hourly budget. */
static void
refresh_schedule(void)
{
	time_t now = time(NULL), next = 0, due, budget;
	struct timeval tv = { 1, 0 };
	bool fetch;

	if (ev_refresh == NULL)
		return;
	evtimer_del(ev_refresh);
	if (!enabled)
		return;
	for (size_t i = 0; i < MTASTS_CACHE_MAX; i++) {
		due = entry_refresh_due(&cache[i], &fetch);
		if (due != 0 && (next == 0 || due < next))
			next = due;
	}
	if (next == 0)
		return;
	budget = refresh_budget_at();
	if (budget > next)
		next = budget;
	if (next > now + 1)
		tv.tv_sec = next - now;
	evtimer_add(ev_refresh, &tv);
}

/* ---- the interface -------------------------------------------------------------------------- */

void
mtasts_init(struct event_base *b, bool on)
{
	base = b;
	enabled = on;
	if ((ev_refresh = evtimer_new(base, on_refresh_timer, NULL)) == NULL)
		fatalx("relay: evtimer_new");
}

void
mtasts_set_enabled(bool on)
{
	enabled = on;
	refresh_schedule();
}

void
mtasts_get(const char *domain, mtasts_cb cb, uint64_t id)
{
	struct entry *e;
	struct waiter *w;
	struct sts_policy copy;

	if (!enabled || !domain_is_valid(domain, strlen(domain)) ||
	    (e = entry_for(domain)) == NULL) {
		cb(id, NULL);
		return;
	}
	entry_load(e);
	e->last_used = time(NULL);
	if (e->busy && e->background && entry_valid(e)) {
		/* never wait for a background refresh: the cache still holds */
		copy = e->policy;
		cb(id, entry_policy(e) != NULL ? &copy : NULL);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->id = id;
	w->next = e->waiters;
	e->waiters = w;
	if (e->busy)
		return;
	lookup_start(e);
}
