/*
 * relay/dns.c - c-ares driven by libevent (see dns.h).
 *
 * Owns: the channel, one libevent event per c-ares socket (created and
 * freed from ARES_OPT_SOCK_STATE_CB) and one timer re-armed from
 * ares_timeout() after every call into c-ares (doc/libraries.md section 4).
 * Status mapping: NXDOMAIN and "no data" are answers; everything else
 * (timeout, SERVFAIL, REFUSED, no server reachable) is a temporary failure,
 * so a broken resolver delays mail and never bounces it.
 */
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <event2/event.h>

#include "dns.h"
#include "log.h"
#include "targets.h"
#include "util.h"

#define DNS_TIMEOUT_MS	3000	/* per try */
#define DNS_TRIES	3
#define DNS_SOCKS_MAX	32

struct dns_sock {
	ares_socket_t	 fd;
	struct event	*ev;
};

#define DNS_QNAME_MAX	(ADDR_DOMAIN_MAX + 16)	/* "_65535._tcp." + a host */
#define DNS_TXT_MAX	8	/* TXT records kept per name */
#define DNS_TXT_LEN	512	/* bytes kept per TXT record (joined strings) */

struct dns_req {
	char		 name[DNS_QNAME_MAX + 1];
	int		 type;		/* ns_t_mx, ns_t_a, ns_t_aaaa, TLSA, ns_t_txt */
	bool		 dnssec;	/* DO and AD bits: the answer says if secure */
	uint64_t	 id;
	uint32_t	 tag;
	dns_mx_cb	 mx_cb;
	dns_addr_cb	 addr_cb;
	dns_tlsa_cb	 tlsa_cb;
	dns_txt_cb	 txt_cb;
};

static struct event_base	*base;
static ares_channel		 channel;
static bool			 channel_ok;
static struct event		*ev_timer;
static struct dns_sock		 socks[DNS_SOCKS_MAX];
static size_t			 nsocks;

static void
dns_rearm(void)
{
	struct timeval tv, *t;

	if (!channel_ok)
		return;
	t = ares_timeout(channel, NULL, &tv);
	if (t == NULL)
		evtimer_del(ev_timer);
	else
		evtimer_add(ev_timer, t);
}

static void
on_sock(evutil_socket_t fd, short what, void *arg)
{
	(void)arg;
	ares_process_fd(channel, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	dns_rearm();
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_rearm();
}

static void
sock_forget(size_t i)
{
	event_free(socks[i].ev);
	socks[i] = socks[--nsocks];
}

/* c-ares tells which sockets to watch for what. */
static void
on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	size_t i;
	short what = (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));

	(void)data;
	for (i = 0; i < nsocks && socks[i].fd != fd; i++)
		;
	if (i < nsocks)
		sock_forget(i);
	if (what == 0)
		return;
	if (nsocks == DNS_SOCKS_MAX)
		fatalx("dns: more than %d resolver sockets", DNS_SOCKS_MAX);
	socks[nsocks].fd = fd;
	socks[nsocks].ev = event_new(base, fd, what | EV_PERSIST, on_sock, NULL);
	if (socks[nsocks].ev == NULL || event_add(socks[nsocks].ev, NULL) == -1)
		fatalx("dns: event_new");
	nsocks++;
}

void
dns_init(struct event_base *b, const char *server_csv)
{
	struct ares_options o;
	int mask = ARES_OPT_FLAGS | ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
	int rc;

	base = b;
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS)
		fatalx("dns: ares_library_init: %s", ares_strerror(rc));
	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS;
	o.sock_state_cb = on_sock_state;
	o.lookups = (char *)"b";	/* DNS only: never /etc/hosts */
	o.timeout = DNS_TIMEOUT_MS;
	o.tries = DNS_TRIES;
	if (server_csv[0] != '\0')
		mask |= ARES_OPT_SERVERS;	/* nservers 0: no resolv.conf servers */
	if ((rc = ares_init_options(&channel, &o, mask)) != ARES_SUCCESS)
		fatalx("dns: ares_init_options: %s", ares_strerror(rc));
	channel_ok = true;
	if (server_csv[0] != '\0' &&
	    (rc = ares_set_servers_ports_csv(channel, server_csv)) != ARES_SUCCESS)
		fatalx("dns: dns_server %s: %s", server_csv, ares_strerror(rc));
	if ((ev_timer = evtimer_new(base, on_timer, NULL)) == NULL)
		fatalx("dns: evtimer_new");
	log_event("dns_ready", "server=%s", server_csv[0] != '\0' ? server_csv : "resolv.conf");
}

/*
 * c-ares 1.18 refuses new servers while a query is pending (ARES_ENOTIMP):
 * those queries are cancelled, asked again from the event loop (on_answer
 * sees requeue_cancelled) and so go to the new servers like every later one.
 */
static bool	requeue_cancelled;

void
dns_set_servers(const char *server_csv)
{
	int rc;

	if (!channel_ok || server_csv[0] == '\0')
		return;
	rc = ares_set_servers_ports_csv(channel, server_csv);
	if (rc == ARES_ENOTIMP) {
		requeue_cancelled = true;
		ares_cancel(channel);
		requeue_cancelled = false;
		rc = ares_set_servers_ports_csv(channel, server_csv);
	}
	if (rc != ARES_SUCCESS)
		log_warnx("dns: dns_server %s refused: %s", server_csv, ares_strerror(rc));
	dns_rearm();
}

static enum dns_status
status_of(int rc)
{
	switch (rc) {
	case ARES_SUCCESS:	return DNS_OK;
	case ARES_ENODATA:	return DNS_NODATA;
	case ARES_ENOTFOUND:	return DNS_NXDOMAIN;
	default:		return DNS_TEMPFAIL;
	}
}

/* The AD bit of a response header (RFC 4035 3.2.3). */
static bool
answer_ad(const unsigned char *abuf, int alen)
{
	return abuf != NULL && alen >= NS_HFIXEDSZ && (abuf[3] & 0x20) != 0;
}

/* ares_send hands back SERVFAIL & co. as a packet: the same words as ares_query. */
static int
rcode_status(int rc, const unsigned char *abuf, int alen)
{
	if (rc != ARES_SUCCESS || abuf == NULL || alen < NS_HFIXEDSZ)
		return rc;
	switch (abuf[3] & 0x0f) {
	case ns_r_noerror:	return (abuf[6] | abuf[7]) == 0 ? ARES_ENODATA : ARES_SUCCESS;
	case ns_r_nxdomain:	return ARES_ENOTFOUND;
	case ns_r_servfail:	return ARES_ESERVFAIL;
	case ns_r_refused:	return ARES_EREFUSED;
	default:		return ARES_EFORMERR;
	}
}

static void
answer_mx(struct dns_req *q, int rc, const unsigned char *abuf, int alen)
{
	struct dns_mx mx[DNS_MX_MAX];
	uint32_t rnd[DNS_MX_MAX];
	struct ares_mx_reply *list = NULL;
	bool secure = answer_ad(abuf, alen);
	size_t n = 0;

	rc = rcode_status(rc, abuf, alen);
	if (rc == ARES_SUCCESS)
		rc = ares_parse_mx_reply(abuf, alen, &list);
	if (rc != ARES_SUCCESS) {
		q->mx_cb(q->id, status_of(rc), NULL, 0, ares_strerror(rc), secure);
		return;
	}
	for (struct ares_mx_reply *m = list; m != NULL && n < DNS_MX_MAX; m = m->next) {
		size_t hl = strlen(m->host);
		/* A name we could not query or log safely is no MX. */
		if (hl >= sizeof(mx[n].host) || (hl > 0 && !domain_is_valid(m->host, hl)))
			continue;
		memcpy(mx[n].host, m->host, strlen(m->host) + 1);
		str_lower(mx[n].host);
		mx[n].pref = m->priority;
		n++;
	}
	ares_free_data(list);
	if (mx_is_null(mx, n)) {
		q->mx_cb(q->id, DNS_NULL_MX, NULL, 0, "null MX", secure);
		return;
	}
	n = mx_drop_null(mx, n);
	if (n == 0) {
		q->mx_cb(q->id, DNS_NODATA, NULL, 0, "no usable MX", secure);
		return;
	}
	random_bytes(rnd, sizeof(rnd));
	mx_sort(mx, n, rnd);
	q->mx_cb(q->id, DNS_OK, mx, n, NULL, secure);
}

static void
answer_addr(struct dns_req *q, int rc, const unsigned char *abuf, int alen)
{
	struct sockaddr_storage out[DNS_ADDR_MAX];
	int n = DNS_ADDR_MAX, family = q->type == ns_t_a ? AF_INET : AF_INET6;
	bool secure = answer_ad(abuf, alen);

	memset(out, 0, sizeof(out));
	rc = rcode_status(rc, abuf, alen);	/* a DNSSEC query went by ares_send */
	if (rc == ARES_SUCCESS && family == AF_INET) {
		struct ares_addrttl a[DNS_ADDR_MAX];
		rc = ares_parse_a_reply(abuf, alen, NULL, a, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++) {
			struct sockaddr_in *s = (struct sockaddr_in *)&out[i];
			s->sin_family = AF_INET;
			s->sin_addr = a[i].ipaddr;
		}
	} else if (rc == ARES_SUCCESS) {
		struct ares_addr6ttl a[DNS_ADDR_MAX];
		rc = ares_parse_aaaa_reply(abuf, alen, NULL, a, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++) {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out[i];
			s->sin6_family = AF_INET6;
			memcpy(&s->sin6_addr, &a[i].ip6addr, sizeof(s->sin6_addr));
		}
	}
	if (rc == ARES_SUCCESS && n == 0)
		rc = ARES_ENODATA;
	if (rc != ARES_SUCCESS) {
		q->addr_cb(q->id, q->tag, family, status_of(rc), NULL, 0, ares_strerror(rc),
		    secure);
		return;
	}
	q->addr_cb(q->id, q->tag, family, DNS_OK, out, (size_t)n, NULL, secure);
}

static void
answer_tlsa(struct dns_req *q, int rc, const unsigned char *abuf, int alen)
{
	static struct dane_set set;
	bool ad = false;
	enum dane_rcode drc = DANE_RC_FAIL;

	if (rc == ARES_SUCCESS)
		drc = dane_parse_answer(abuf, (size_t)alen, &ad, &set);
	else if (rc == ARES_ENOTFOUND || rc == ARES_ENODATA)
		drc = DANE_RC_NONE;
	if (drc != DANE_RC_RECORDS)
		memset(&set, 0, sizeof(set));
	q->tlsa_cb(q->id, q->tag, drc, ad, &set);
}

static void
answer_txt(struct dns_req *q, int rc, const unsigned char *abuf, int alen)
{
	static char text[DNS_TXT_MAX][DNS_TXT_LEN];
	const char *ptr[DNS_TXT_MAX];
	struct ares_txt_ext *list = NULL;
	size_t n = 0, used = 0;

	if (rc == ARES_SUCCESS)
		rc = ares_parse_txt_reply_ext(abuf, alen, &list);
	if (rc != ARES_SUCCESS) {
		q->txt_cb(q->id, status_of(rc), NULL, 0, ares_strerror(rc));
		return;
	}
	/* each record's strings joined (RFC 7208 3.3, RFC 8461 3.1) */
	for (struct ares_txt_ext *t = list; t != NULL; t = t->next) {
		if (t->record_start) {
			if (n == DNS_TXT_MAX)
				break;
			ptr[n] = text[n];
			text[n][0] = '\0';
			used = 0;
			n++;
		}
		if (n == 0)
			continue;
		if (used + t->length < DNS_TXT_LEN && memchr(t->txt, '\0', t->length) == NULL) {
			memcpy(text[n - 1] + used, t->txt, t->length);
			used += t->length;
			text[n - 1][used] = '\0';
		}
	}
	ares_free_data(list);
	q->txt_cb(q->id, n > 0 ? DNS_OK : DNS_NODATA, ptr, n, NULL);
}

static void	dns_start(struct dns_req *);

static void
on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_req *q = arg;

	(void)timeouts;
	if (status == ARES_EDESTRUCTION) {
		free(q);
		return;
	}
	if (status == ARES_ECANCELLED && requeue_cancelled) {
		dns_start(q);		/* to the new servers (dns_set_servers) */
		return;
	}
	if (q->type == ns_t_mx)
		answer_mx(q, status, abuf, alen);
	else if (q->type == DNS_T_TLSA)
		answer_tlsa(q, status, abuf, alen);
	else if (q->type == ns_t_txt)
		answer_txt(q, status, abuf, alen);
	else
		answer_addr(q, status, abuf, alen);
	free(q);
}

/*
 * A query with the DO bit in its OPT record (RFC 3225) and AD in its
 * header (RFC 6840 5.7): a validating resolver then says in AD whether it
 * validated the answer. c-ares 1.18 builds the OPT record but has no DO
 * flag: the record is the last 11 octets (root name, TYPE 41, CLASS, TTL,
 * RDLENGTH 0), DO is the top bit of the TTL's third octet.
 */
static int
dnssec_query(struct dns_req *q)
{
	unsigned char *buf = NULL;
	int len = 0;

	if (ares_create_query(q->name, ns_c_in, q->type, 0, 1, &buf, &len, 1232) != ARES_SUCCESS)
		return -1;
	if (len < NS_HFIXEDSZ + 11 || buf[len - 11] != 0 || buf[len - 10] != 0 ||
	    buf[len - 9] != ns_t_opt) {
		ares_free_string(buf);
		return -1;
	}
	buf[3] |= 0x20;			/* AD */
	buf[len - 4] |= 0x80;		/* DO */
	ares_send(channel, buf, len, on_answer, q);
	ares_free_string(buf);
	return 0;
}

/* Runs from the event loop, never inside the caller's call. */
static void
on_start(evutil_socket_t fd, short what, void *arg)
{
	struct dns_req *q = arg;

	(void)fd;
	(void)what;
	if (!q->dnssec || dnssec_query(q) == -1)
		ares_query(channel, q->name, ns_c_in, q->type, on_answer, q);
	dns_rearm();
}

static void
dns_start(struct dns_req *q)
{
	static const struct timeval now = { 0, 0 };

	if (event_base_once(base, -1, EV_TIMEOUT, on_start, q, &now) == -1)
		fatalx("dns: event_base_once");
}

void
dns_lookup_mx(const char *domain, dns_mx_cb cb, uint64_t id)
{
	struct dns_req *q = xcalloc(1, sizeof(*q));

	snprintf(q->name, sizeof(q->name), "%s", domain);
	q->type = ns_t_mx;
	q->dnssec = true;
	q->id = id;
	q->mx_cb = cb;
	dns_start(q);
}

void
dns_lookup_addr(const char *host, int family, dns_addr_cb cb, uint64_t id,
    uint32_t tag, bool dnssec)
{
	struct dns_req *q = xcalloc(1, sizeof(*q));

	snprintf(q->name, sizeof(q->name), "%s", host);
	q->type = family == AF_INET ? ns_t_a : ns_t_aaaa;
	q->dnssec = dnssec;
	q->id = id;
	q->tag = tag;
	q->addr_cb = cb;
	dns_start(q);
}

void
dns_lookup_tlsa(const char *host, uint16_t port, dns_tlsa_cb cb, uint64_t id, uint32_t tag)
{
	struct dns_req *q = xcalloc(1, sizeof(*q));

	snprintf(q->name, sizeof(q->name), "_%u._tcp.%s", (unsigned)port, host);
	q->type = DNS_T_TLSA;
	q->dnssec = true;
	q->id = id;
	q->tag = tag;
	q->tlsa_cb = cb;
	dns_start(q);
}

void
dns_lookup_txt(const char *name, dns_txt_cb cb, uint64_t id)
{
	struct dns_req *q = xcalloc(1, sizeof(*q));

	snprintf(q->name, sizeof(q->name), "%s", name);
	q->type = ns_t_txt;
	q->id = id;
	q->txt_cb = cb;
	dns_start(q);
}

void
dns_shutdown(void)
{
	if (!channel_ok)
		return;
	channel_ok = false;
	ares_destroy(channel);	/* pending callbacks get ARES_EDESTRUCTION */
	while (nsocks > 0)
		sock_forget(nsocks - 1);
	if (ev_timer != NULL)
		event_free(ev_timer);
	ev_timer = NULL;
	ares_library_cleanup();
}
