/*
 * relay/job.c - the delivery of one message to one domain (see job.h).
 *
 * Owns: every job in the relay, its state (enum job_state, traced by
 * job_set_state); each recipient's result is filled in by jobresult.c.
 * The walk: MX lookup (RFC 5321 5.1: by preference, equal ones shuffled;
 * no MX: the domain itself; null MX: RFC 7505, bounce now) -> A/AAAA of
 * each host (per its destination rule's family) -> for each host in order,
 * a slot in its pool (pool.c), then each address in order until one
 * session carries the transaction.
 * Before the walk each host gets its TLS policy (relay/tlspolicy.h) from
 * its rule, its TLSA records (asked with its addresses when the MX answer
 * was DNSSEC-secure and dns_validating is on) and the domain's MTA-STS
 * policy (relay/mtasts.h, asked alongside the MX); a policy that requires
 * TLS never gets the plaintext retry below, and one that rules a host out
 * skips it with its 4.7.5 as the error.
 * What moves the walk on: a refused connection, a timeout or a 4xx before
 * any recipient was answered -> the next address; a 5xx greeting or EHLO
 * -> the next host (like Postfix's smtp_skip_5xx_greeting). A 5.7.x refusal
 * over IPv6 while the destination has IPv4 -> the IPv6-to-IPv4 fallback:
 * remembered for the MX host and the recipient domain (family.c), logged
 * as event=family_fallback, and the walk restarts over IPv4 at once.
 * What ends it: every recipient has a result. One that the walk could not
 * place gets the last error, TEMPFAIL unless every failure was permanent.
 * Every session that ends (failed, or its transaction done) is one
 * event=relay_attempt line (attempt.c). Each recipient's result, and
 * whether a server said it, is kept by relay/jobresult.c.
 */
#include <arpa/inet.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "attempt.h"
#include "auth.h"
#include "family.h"
#include "headscan.h"
#include "job.h"
#include "jobresult.h"
#include "jobtls.h"
#include "log.h"
#include "mtasts.h"
#include "utf8.h"
#include "util.h"

static struct event_base	*base;
static const struct config	*cfg;
static TAILQ_HEAD(, job)	 jobs = TAILQ_HEAD_INITIALIZER(jobs);
static size_t			 njobs;
static uint64_t			 next_id;

static const char *job_state_names[] = {
	[JOB_MX] = "mx", [JOB_ADDRS] = "addrs", [JOB_WAIT_POOL] = "wait_pool",
	[JOB_CONNECT] = "connect", [JOB_RESET] = "reset", [JOB_TXN] = "txn",
	[JOB_DONE] = "done",
};

static void	job_walk(struct job *);
static void	on_client_event(struct client *, enum client_event, void *);

void
job_setup(struct event_base *b, const struct config *c)
{
	base = b;
	cfg = c;
}

size_t
job_count(void)
{
	return njobs;
}

void
job_foreach(void (*fn)(struct job *))
{
	struct job *j, *next;

	for (j = TAILQ_FIRST(&jobs); j != NULL; j = next) {
		next = TAILQ_NEXT(j, entry);
		fn(j);
	}
}

static struct job *
job_find(uint64_t id)
{
	struct job *j;

	TAILQ_FOREACH(j, &jobs, entry)
		if (j->id == id)
			return j;
	return NULL;
}

static void
job_set_state(struct job *j, enum job_state st)
{
	log_debug("relay job %s: %s -> %s", j->m.msgid, job_state_names[j->state],
	    job_state_names[st]);
	j->state = st;
}

static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the end (results: jobresult.c) ----------------------------------------------- */

static void
job_finish(struct job *j)
{
	job_set_state(j, JOB_DONE);
	j->done(j);	/* sends, logs and frees */
}

/* The walk found no session that took the message. */
static void
job_give_up(struct job *j)
{
	struct smtp_reply r;

	if (!j->have_err)
		smtp_reply_set(&r, 451, "4.4.1", "no MX host of %s could be reached", j->domain);
	else
		r = j->last_err;
	jobresult_set_pending(j, (j->any_temp || !smtp_reply_is_permanent(&r)) ?
	    DELIVERY_TEMPFAIL : DELIVERY_PERMFAIL, &r,
	    j->have_err ? &j->last_err_from : NULL);
	job_finish(j);
}

/* ---- slots and sessions ---------------------------------------------------------- */

static void
job_drop_slot(struct job *j)
{
	if (j->has_slot)
		pool_release(j->pool);
	j->has_slot = false;
	j->pool = NULL;
}

/* The session goes back to the pool with the slot (or is closed). */
static void
job_return_client(struct job *j, bool keep)
{
	struct client *c = j->client;

	j->client = NULL;
	if (c == NULL)
		return;
	if (client_is_ready(c)) {
		pool_put(j->pool, c, keep);
		j->has_slot = false;
		j->pool = NULL;
		return;
	}
	client_free(c);
	job_drop_slot(j);
}

static void
job_on_wake(struct pool_waiter *w)
{
	struct job *j = (struct job *)((char *)w - offsetof(struct job, waiter));

	j->pool = NULL;
	job_walk(j);
}

static bool
job_ipv4_pinned(const struct job *j, const struct job_host *h)
{
	time_t now = time(NULL);

	return family_is_pinned(h->name, now) || family_is_pinned(j->domain, now);
}

static int
source_family(const struct job_host *h, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (h->rule.source_ip[0] == '\0')
		return AF_UNSPEC;
	if (inet_pton(AF_INET, h->rule.source_ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		return AF_INET;
	}
	if (inet_pton(AF_INET6, h->rule.source_ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		return AF_INET6;
	}
	return AF_UNSPEC;
}

/* "[192.0.2.1]", "[IPv6:2001:db8::1]", or a bare address as a relay= host. */
static int
host_literal(const char *name, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	if (address_literal_parse(name, ss) == 0)
		return 0;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, name, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		return 0;
	}
	return -1;
}

static void
job_order_host(struct job *j, struct job_host *h)
{
	struct sockaddr_storage src;
	enum dest_family fam = j->ipv4_mode ? DEST_FAMILY_IPV4_ONLY : h->rule.family;

	j->norder = targets_order(&h->addrs, fam, job_ipv4_pinned(j, h),
	    source_family(h, &src), j->order, JOB_ORDER_MAX);
	j->aidx = 0;
	j->order_ready = true;
}

static unsigned
order_families(const struct job *j)
{
	unsigned f = 0;

	for (size_t i = j->aidx; i < j->norder; i++)
		f |= j->order[i].ss_family == AF_INET ? POOL_FAMILY_V4 : POOL_FAMILY_V6;
	return f;
}

static void
pool_key(const struct job_host *h, char *key, size_t size)
{
	snprintf(key, size, "%s:%u helo=%s source=%s tls=%s auth=%s", h->name,
	    (unsigned)h->port, h->rule.helo, h->rule.source_ip,
	    tls_policy_word(h->tlsp.kind), h->rule.auth_file);
}

static void
job_connect(struct job *j, struct job_host *h)
{
	struct client_params p;
	struct sockaddr_storage *a = &j->order[j->aidx];

	memset(&p, 0, sizeof(p));
	snprintf(p.host, sizeof(p.host), "%s", h->name);
	p.addr = *a;
	if (a->ss_family == AF_INET)
		((struct sockaddr_in *)&p.addr)->sin_port = htons(h->port);
	else
		((struct sockaddr_in6 *)&p.addr)->sin6_port = htons(h->port);
	snprintf(p.helo, sizeof(p.helo), "%s", h->rule.helo);
	(void)source_family(h, &p.source);
	p.tls = j->tls_off ? CLIENT_TLS_OFF :
	    tls_policy_required(h->tlsp.kind) ? CLIENT_TLS_REQUIRE : CLIENT_TLS_OPPORTUNISTIC;
	p.policy = h->tlsp;
	if (h->rule.auth_file[0] != '\0' &&
	    (p.cred = relay_auth_find(h->rule.auth_file)) == NULL) {
		struct smtp_reply r;
		smtp_reply_set(&r, 451, "4.7.0", "credentials %s are not loaded "
		    "(restart homemx to read a new auth file)", h->rule.auth_file);
		job_drop_slot(j);
		jobresult_set_pending(j, DELIVERY_TEMPFAIL, &r, NULL);
		job_finish(j);
		return;
	}
	job_set_state(j, JOB_CONNECT);
	j->client_reused = false;
	j->client = client_connect(base, &p, on_client_event, j);
}

static void
job_next_host(struct job *j)
{
	job_drop_slot(j);
	j->hidx++;
	j->order_ready = false;
	j->tls_off = false;
}

/* The TLS policy rules this host out (relay/jobtls.h): its 4.7.5 stands
 * for the recipients if no other host takes the message. */
static void
job_skip_host(struct job *j, struct job_host *h)
{
	struct smtp_reply r;
	struct job_origin none;

	memset(&none, 0, sizeof(none));
	jobtls_skip(j, h, &r);
	jobresult_note_error(j, &r, &none);
	job_next_host(j);
}

/* One step of the walk: a session for the current host and address. */
static void
job_walk(struct job *j)
{
	for (;;) {
		if (j->npending == 0) {
			job_drop_slot(j);
			job_finish(j);
			return;
		}
		if (j->hidx >= j->nhosts) {
			job_give_up(j);
			return;
		}
		struct job_host *h = &j->hosts[j->hidx];
		if (h->skip != TLSPOLICY_USE) {
			job_skip_host(j, h);
			continue;
		}
		if (!j->order_ready)
			job_order_host(j, h);
		if (j->aidx >= j->norder) {
			job_next_host(j);
			continue;
		}
		if (!j->has_slot) {
			char key[POOL_KEY_MAX];
			struct client *idle = NULL;
			pool_key(h, key, sizeof(key));
			j->pool = pool_get(key, h->rule.max_connections);
			switch (pool_acquire(j->pool, &j->waiter, order_families(j), &idle)) {
			case POOL_WAIT:
				job_set_state(j, JOB_WAIT_POOL);
				return;
			case POOL_IDLE:
				j->has_slot = true;
				j->client = idle;
				j->client_reused = true;
				client_set_owner(idle, on_client_event, j);
				job_set_state(j, JOB_RESET);
				client_reset(idle);
				return;
			case POOL_SLOT:
				j->has_slot = true;
				break;
			}
		}
		job_connect(j, h);
		return;
	}
}

/* ---- the IPv6 -> IPv4 fallback ------------------------------------------------------ */

static bool
job_can_fall_back(const struct job *j)
{
	if (j->ipv4_mode)
		return false;
	for (size_t i = 0; i < j->nhosts; i++) {
		const struct job_host *h = &j->hosts[i];
		struct sockaddr_storage src;
		if (h->addrs.n4 > 0 && h->rule.family != DEST_FAMILY_IPV6_ONLY &&
		    source_family(h, &src) != AF_INET6)
			return true;
	}
	return false;
}

/* Logs, remembers and restarts the walk over IPv4. The session is gone. */
static void
job_fall_back(struct job *j, const char *host, const char *ip,
    const struct smtp_reply *r)
{
	char esc[LOG_ESCAPE_MAX];
	time_t now = time(NULL);

	family_remember(host, now, cfg->family_fallback_memory);
	family_remember(j->domain, now, cfg->family_fallback_memory);
	log_event("family_fallback", "qid=%s domain=%s mx=%s ip=%s from=ipv6 to=ipv4 "
	    "reply=\"%s\" remember=%us", j->m.msgid, j->domain, host, ip,
	    log_escape(esc, sizeof(esc), r->text, strlen(r->text)),
	    (unsigned)cfg->family_fallback_memory);
	job_drop_slot(j);
	j->ipv4_mode = true;
	j->hidx = 0;
	j->order_ready = false;
	j->tls_off = false;
	job_walk(j);
}

/* ---- session events ------------------------------------------------------------------ */

/* The sender and the first n recipients of txn_rcpt (this transaction). */
static bool
txn_envelope_is_ascii(const struct job *j, size_t n)
{
	if (utf8_str_has_8bit(j->m.sender))
		return false;
	for (size_t k = 0; k < n; k++)
		if (utf8_str_has_8bit(j->txn_rcpt[k]))
			return false;
	return true;
}

static void
job_start_txn(struct job *j)
{
	size_t k = 0;

	for (size_t i = 0; i < j->m.nrcpt; i++)
		if (!j->rcpt[i].final) {
			j->txn_rcpt[k] = j->m.rcpt[i];
			j->txn_map[k] = i;
			k++;
		}
	memset(&j->txn, 0, sizeof(j->txn));
	j->txn.sender = j->m.sender;
	j->txn.smtputf8 = j->m.smtputf8;
	j->txn.ascii_only = j->headers_ascii && txn_envelope_is_ascii(j, k);
	j->txn.nrcpt = k;
	j->txn.rcpt = j->txn_rcpt;
	j->txn.body_fd = j->body_fd;
	j->txn.body_size = j->body_size;
	j->txn.rcpt_reply = j->txn_replies;
	job_set_state(j, JOB_TXN);
	client_start_txn(j->client, &j->txn);
}

static void
job_session_failed(struct job *j, struct client *c)
{
	bool remote, was_reset = j->state == JOB_RESET;
	struct smtp_reply err = *client_error(c, &remote);
	char host[ADDR_DOMAIN_MAX + 1], ip[INET6_ADDRSTRLEN];
	bool tls_failed = client_tls_handshake_failed(c);
	bool v6_policy = remote && jobresult_v6_policy_reject(c, &err);
	const char *stage = client_error_stage(c);
	struct job_origin from;

	if (client_failure(c) == CLIENT_FAIL_REPLY)
		attempt_log_refused(j->m.msgid, c, j->client_reused, stage, &err);
	else
		attempt_log_failed(j->m.msgid, c, j->client_reused, stage,
		    client_failure(c), smtp_reply_diagnosis(&err));
	snprintf(host, sizeof(host), "%s", client_host(c));
	snprintf(ip, sizeof(ip), "%s", client_ip(c));
	jobresult_origin(c, &from);
	client_free(c);
	j->client = NULL;
	if (was_reset) {
		/* An idle session died under us: open a fresh one in its slot. */
		job_walk(j);
		return;
	}
	if (v6_policy && job_can_fall_back(j)) {
		job_fall_back(j, host, ip, &err);
		return;
	}
	if (tls_failed && !j->tls_off && !tls_policy_required(j->hosts[j->hidx].tlsp.kind)) {
		/* Opportunistic TLS that does not work: the same address in
		 * plaintext, as RFC 3207 4.1 leaves to the client. */
		char esc[LOG_ESCAPE_MAX];
		const char *why = smtp_reply_diagnosis(&err);
		log_event("relay_tls_fallback", "qid=%s mx=%s ip=%s reason=\"%s\"",
		    j->m.msgid, host, ip, log_escape(esc, sizeof(esc), why, strlen(why)));
		j->tls_off = true;
		job_walk(j);
		return;
	}
	jobresult_note_error(j, &err, &from);
	/* A refused login is our configuration, not the message's fault. */
	if (strcmp(stage, "auth") == 0)
		j->any_temp = true;
	j->tls_off = false;
	if (remote && smtp_reply_is_permanent(&err))
		j->aidx = j->norder;	/* 5xx greeting/EHLO: next MX */
	else
		j->aidx++;
	job_walk(j);
}

static void
job_txn_done(struct job *j, struct client *c)
{
	struct client_txn *t = &j->txn;
	bool can_fall_back = job_can_fall_back(j);
	char host[ADDR_DOMAIN_MAX + 1], ip[INET6_ADDRSTRLEN];
	struct smtp_reply why;
	struct job_origin from;

	snprintf(host, sizeof(host), "%s", client_host(c));
	snprintf(ip, sizeof(ip), "%s", client_ip(c));
	jobresult_origin(c, &from);
	jobresult_log_txn(j, c);
	switch (t->outcome) {
	case TXN_BROKEN:
		jobresult_note_error(j, client_error(c, NULL), &from);
		job_return_client(j, false);
		j->aidx++;
		job_walk(j);
		return;
	case TXN_MAIL_REJECTED:
		if (can_fall_back && jobresult_v6_policy_reject(c, &t->mail)) {
			why = t->mail;
			job_return_client(j, false);
			job_fall_back(j, host, ip, &why);
			return;
		}
		if (!smtp_reply_is_permanent(&t->mail)) {
			/* A 4xx for the whole session: another address may do. */
			jobresult_note_error(j, &t->mail, &from);
			job_return_client(j, false);
			j->aidx++;
			job_walk(j);
			return;
		}
		jobresult_set_pending(j, DELIVERY_PERMFAIL, &t->mail, &from);
		job_return_client(j, true);
		job_walk(j);
		return;
	case TXN_NO_RCPT:
	case TXN_COMPLETE:
	case TXN_UNKNOWN:
		break;
	}
	why = t->data;
	for (size_t k = 0; k < t->nrcpt; k++)
		if (jobresult_v6_policy_reject(c, &t->rcpt_reply[k]))
			why = t->rcpt_reply[k];
	if (jobresult_from_txn(j, c, can_fall_back)) {
		job_return_client(j, false);
		job_fall_back(j, host, ip, &why);
		return;
	}
	job_return_client(j, t->outcome != TXN_UNKNOWN);
	job_walk(j);
}

static void
on_client_event(struct client *c, enum client_event ev, void *arg)
{
	struct job *j = arg;

	switch (ev) {
	case CLIENT_READY:
		job_start_txn(j);
		break;
	case CLIENT_FAILED:
		job_session_failed(j, c);
		break;
	case CLIENT_TXN_DONE:
		job_txn_done(j, c);
		break;
	case CLIENT_CLOSED:
		client_free(c);
		j->client = NULL;
		job_drop_slot(j);
		job_walk(j);
		break;
	}
}

/* ---- DNS --------------------------------------------------------------------------- */

static void
job_dns_done(struct job *j)
{
	bool any = false, tempfail = false;
	const char *err = NULL, *who = NULL;
	struct smtp_reply r;

	if (j->sts_waiting) {
		j->dns_waits_sts = true;	/* on_sts comes back here */
		return;
	}
	for (size_t i = 0; i < j->nhosts; i++) {
		struct job_host *h = &j->hosts[i];
		any = any || h->addrs.n4 > 0 || h->addrs.n6 > 0;
		if (h->dns_tempfail) {
			tempfail = true;
			err = h->dns_err;
			who = h->name;
		}
	}
	if (any) {
		jobtls_choose(j);
		job_walk(j);
		return;
	}
	if (tempfail)
		smtp_reply_set(&r, 451, "4.4.3", "DNS lookup of the address of %s failed: %s",
		    who, err);
	else if (j->implicit_mx)	/* RFC 3463 X.4.4: unable to route */
		smtp_reply_set(&r, 550, "5.4.4", "%s has no MX and no address record", j->domain);
	else
		smtp_reply_set(&r, 451, "4.4.4", "no MX host of %s has an address", j->domain);
	jobresult_set_pending(j, jobresult_of(&r), &r, NULL);
	job_finish(j);
}

static void
on_addr(uint64_t id, uint32_t tag, int family, enum dns_status st,
    const struct sockaddr_storage *addrs, size_t n, const char *err, bool secure)
{
	struct job *j = job_find(id);
	struct job_host *h;

	if (j == NULL || j->state != JOB_ADDRS || tag >= j->nhosts)
		return;
	h = &j->hosts[tag];
	/* addresses the relay would connect to, from an unvalidated answer */
	if (st == DNS_OK && !secure)
		h->addrs_insecure = true;
	if (st == DNS_OK && family == AF_INET) {
		memcpy(h->addrs.v4, addrs, n * sizeof(*addrs));
		h->addrs.n4 = n;
	} else if (st == DNS_OK) {
		memcpy(h->addrs.v6, addrs, n * sizeof(*addrs));
		h->addrs.n6 = n;
	} else if (st == DNS_TEMPFAIL) {
		h->dns_tempfail = true;
		snprintf(h->dns_err, sizeof(h->dns_err), "%s", err != NULL ? err : "error");
	}
	log_debug("relay job %s: %s %s: %zu (%s)", j->m.msgid, h->name,
	    family == AF_INET ? "A" : "AAAA", n, err != NULL ? err : "ok");
	h->dns_pending--;
	if (--j->dns_pending == 0)
		job_dns_done(j);
}

static void
on_tlsa(uint64_t id, uint32_t tag, enum dane_rcode rc, bool ad, const struct dane_set *set)
{
	struct job *j = job_find(id);
	struct job_host *h;

	if (j == NULL || j->state != JOB_ADDRS || tag >= j->nhosts)
		return;
	h = &j->hosts[tag];
	h->dane = dane_decide(cfg->dns_validating, j->mx_secure, rc, ad, set);
	if (h->dane == DANE_AUTH) {
		h->tlsa = xmalloc(sizeof(*h->tlsa));
		*h->tlsa = *set;
		h->tlsp.tlsa = h->tlsa;
	}
	if (set->nseen > set->n)
		jobtls_note_dropped(h->name, set);
	log_debug("relay job %s: TLSA of %s: %zu records, ad=%d, dane=%d", j->m.msgid, h->name,
	    set->nseen, ad, (int)h->dane);
	h->dns_pending--;
	if (--j->dns_pending == 0)
		job_dns_done(j);
}

/* A/AAAA for every host, as its rule allows; literal addresses need none. */
static void
job_resolve_hosts(struct job *j)
{
	job_set_state(j, JOB_ADDRS);
	for (size_t i = 0; i < j->nhosts; i++) {
		struct job_host *h = &j->hosts[i];
		struct sockaddr_storage lit, src;
		int sf = source_family(h, &src);
		config_destination_for(cfg, j->domain, h->name, &h->rule);
		if (host_literal(h->name, &lit) == 0) {
			if (lit.ss_family == AF_INET)
				h->addrs.v4[h->addrs.n4++] = lit;
			else
				h->addrs.v6[h->addrs.n6++] = lit;
			continue;
		}
		if (jobtls_wants_tlsa(j, h, cfg)) {
			h->dnssec_addrs = true;
			h->dns_pending++;
			j->dns_pending++;
			dns_lookup_tlsa(h->name, h->port, on_tlsa, j->id, (uint32_t)i);
		}
		bool want4 = h->rule.family != DEST_FAMILY_IPV6_ONLY && sf != AF_INET6;
		bool want6 = h->rule.family != DEST_FAMILY_IPV4_ONLY && sf != AF_INET;
		if (want4) {
			h->dns_pending++;
			j->dns_pending++;
			dns_lookup_addr(h->name, AF_INET, on_addr, j->id, (uint32_t)i,
			    h->dnssec_addrs);
		}
		if (want6) {
			h->dns_pending++;
			j->dns_pending++;
			dns_lookup_addr(h->name, AF_INET6, on_addr, j->id, (uint32_t)i,
			    h->dnssec_addrs);
		}
	}
	if (j->dns_pending == 0)
		job_dns_done(j);
}

static void
job_add_host(struct job *j, const char *name, uint16_t port)
{
	struct job_host *h = &j->hosts[j->nhosts++];

	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->port = port;
}

static void
on_mx(uint64_t id, enum dns_status st, const struct dns_mx *mx, size_t n,
    const char *err, bool secure)
{
	struct job *j = job_find(id);
	struct smtp_reply r;

	if (j == NULL || j->state != JOB_MX)
		return;
	j->mx_secure = secure && cfg->dns_validating;
	switch (st) {
	case DNS_OK:
		for (size_t i = 0; i < n && j->nhosts < JOB_HOSTS_MAX; i++)
			job_add_host(j, mx[i].host, 25);
		log_debug("relay job %s: %zu MX for %s, first %s", j->m.msgid, n,
		    j->domain, j->hosts[0].name);
		job_resolve_hosts(j);
		return;
	case DNS_NODATA:
		/* RFC 5321 5.1: no MX, the domain is its own implicit MX. */
		j->implicit_mx = true;
		job_add_host(j, j->domain, 25);
		job_resolve_hosts(j);
		return;
	case DNS_NULL_MX:
		smtp_reply_set(&r, 556, "5.1.10", "%s does not accept mail (null MX, RFC 7505)",
		    j->domain);
		break;
	case DNS_NXDOMAIN:
		smtp_reply_set(&r, 550, "5.1.2", "domain %s does not exist", j->domain);
		break;
	case DNS_TEMPFAIL:
		smtp_reply_set(&r, 451, "4.4.3", "DNS lookup of the MX of %s failed: %s",
		    j->domain, err != NULL ? err : "error");
		break;
	}
	jobresult_set_pending(j, jobresult_of(&r), &r, NULL);
	job_finish(j);
}

/* The domain's MTA-STS policy, or NULL (relay/mtasts.h). */
static void
on_sts(uint64_t id, const struct sts_policy *p)
{
	struct job *j = job_find(id);

	if (j == NULL || !j->sts_waiting)
		return;
	j->sts_waiting = false;
	if (p != NULL) {
		j->sts = *p;
		j->have_sts = true;
	}
	if (j->dns_waits_sts) {
		j->dns_waits_sts = false;
		job_dns_done(j);
	}
}

/* ---- life cycle ------------------------------------------------------------------------ */

struct job *
job_new(struct msg_relay *m, int body_fd, uint64_t queue_req, unsigned queue_gen,
    job_done_cb done)
{
	struct job *j = xcalloc(1, sizeof(*j));
	struct stat st;
	const char *at;

	j->id = ++next_id;
	j->m = *m;
	memset(m, 0, sizeof(*m));	/* the rcpt array is ours now */
	j->body_fd = body_fd;
	j->queue_req = queue_req;
	j->queue_gen = queue_gen;
	j->done = done;
	j->waiter.wake = job_on_wake;
	j->queued_at = wall_now();
	j->started = mono_now();
	if (fstat(body_fd, &st) == 0) {
		j->body_size = (uint64_t)st.st_size;
		j->queued_at = (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9;
	}
	/* Only a message that came with SMTPUTF8 needs the scan (RFC 6531 3.2). */
	j->headers_ascii = j->m.smtputf8 && headscan_fd_is_ascii(body_fd);
	j->rcpt = xcalloc(j->m.nrcpt, sizeof(*j->rcpt));
	j->txn_rcpt = xcalloc(j->m.nrcpt, sizeof(*j->txn_rcpt));
	j->txn_map = xcalloc(j->m.nrcpt, sizeof(*j->txn_map));
	j->txn_replies = xcalloc(j->m.nrcpt, sizeof(*j->txn_replies));
	j->npending = j->m.nrcpt;
	at = strrchr(j->m.rcpt[0], '@');
	snprintf(j->domain, sizeof(j->domain), "%s", at != NULL ? at + 1 : "");
	str_lower(j->domain);
	TAILQ_INSERT_TAIL(&jobs, j, entry);
	njobs++;
	return j;
}

/* The queue sends one domain per job; anything else is its bug, and the
 * odd recipients are deferred rather than sent to the wrong MX. */
static void
job_check_domains(struct job *j)
{
	for (size_t i = 1; i < j->m.nrcpt; i++) {
		const char *at = strrchr(j->m.rcpt[i], '@');
		if (at == NULL || strcasecmp(at + 1, j->domain) != 0) {
			struct smtp_reply r;
			smtp_reply_set(&r, 451, "4.3.0", "recipient not in the domain of this job");
			jobresult_set(j, i, DELIVERY_TEMPFAIL, &r, NULL);
		}
	}
}

void
job_start(struct job *j)
{
	struct dest_rule drule;
	struct sockaddr_storage lit;

	job_check_domains(j);
	config_destination_for(cfg, j->domain, NULL, &drule);
	if (drule.relay_host[0] != '\0') {
		job_add_host(j, drule.relay_host, drule.relay_port);
		job_resolve_hosts(j);
		return;
	}
	if (address_literal_parse(j->domain, &lit) == 0) {
		job_add_host(j, j->domain, 25);
		job_resolve_hosts(j);
		return;
	}
	job_set_state(j, JOB_MX);
	j->sts_waiting = true;
	mtasts_get(j->domain, on_sts, j->id);
	dns_lookup_mx(j->domain, on_mx, j->id);
}

void
job_free(struct job *j)
{
	if (j->waiter.queued)
		pool_cancel(j->pool, &j->waiter);
	if (j->client != NULL) {
		client_free(j->client);
		j->client = NULL;
	}
	job_drop_slot(j);
	TAILQ_REMOVE(&jobs, j, entry);
	njobs--;
	if (j->body_fd != -1)
		close(j->body_fd);
	msg_relay_free(&j->m);
	free(j->rcpt);
	free(j->txn_rcpt);
	free(j->txn_map);
	free(j->txn_replies);
	for (size_t i = 0; i < j->nhosts; i++)
		free(j->hosts[i].tlsa);
	free(j);
}

void
job_cancel(struct job *j, const struct smtp_reply *r)
{
	if (j->waiter.queued)
		pool_cancel(j->pool, &j->waiter);
	if (j->client != NULL) {
		/* the attempt in flight ends here, by our hand */
		attempt_log_failed(j->m.msgid, j->client, j->client_reused,
		    client_stage(j->client), CLIENT_FAIL_LOCAL, smtp_reply_diagnosis(r));
		client_free(j->client);
		j->client = NULL;
	}
	job_drop_slot(j);
	jobresult_set_pending(j, jobresult_of(r), r, NULL);
	job_finish(j);
}
