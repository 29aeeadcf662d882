/*
 * relay/mtasts.c - see mtasts.h.
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
};

static struct event_base	*base;
static bool			 enabled;
static struct entry		 cache[MTASTS_CACHE_MAX];
static uint64_t			 next_key;

static void	fetch_next_address(struct entry *);

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
	if (e->bev != NULL)
		bufferevent_free(e->bev);
	e->bev = NULL;
	while (w != NULL) {
		struct waiter *next = w->next;
		w->cb(w->id, p);
		free(w);
		w = next;
	}
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
	if (rc != 1 || (entry_valid(e) && strcmp(e->id, e->new_id) == 0)) {
		/* no (usable) record: a cached policy still holds (RFC 8461 5.1) */
		entry_finish(e);
		return;
	}
	snprintf(host, sizeof(host), "mta-sts.%s", e->domain);
	e->naddrs = 0;
	dns_lookup_addr(host, AF_INET, on_policy_host, e->key, 0, false);
}

/* ---- the interface -------------------------------------------------------------------------- */

void
mtasts_init(struct event_base *b, bool on)
{
	base = b;
	enabled = on;
}

void
mtasts_set_enabled(bool on)
{
	enabled = on;
}

void
mtasts_get(const char *domain, mtasts_cb cb, uint64_t id)
{
	struct entry *e;
	struct waiter *w;
	char name[ADDR_DOMAIN_MAX + 16];

	if (!enabled || !domain_is_valid(domain, strlen(domain)) ||
	    (e = entry_for(domain)) == NULL) {
		cb(id, NULL);
		return;
	}
	entry_load(e);
	w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->id = id;
	w->next = e->waiters;
	e->waiters = w;
	if (e->busy)
		return;
	e->busy = true;
	snprintf(name, sizeof(name), "_mta-sts.%s", domain);
	dns_lookup_txt(name, on_txt, e->key);
}
