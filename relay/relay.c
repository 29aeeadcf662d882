/*
 * relay/relay.c - the relay role: MSG_QUEUE_RELAY in, MSG_RELAY_RESULT out.
 *
 * Owns: the link to the queue, the bound on jobs held at once, the result
 * frames, the event=relay log lines (one per recipient), reload and the
 * drain at SIGTERM. The role runs as _hmx-relay, chrooted into the empty
 * chroot_dir: everything that needs a file (resolver set-up, the OpenSSL
 * context, smarthost credentials) happens in relay_preinit, as root; the
 * one directory it writes, relay_state_dir (MTA-STS cache, TLS-RPT), is
 * opened there too and used through that fd (relay/state.h).
 * If the queue link goes away, its jobs are dropped: their sessions close
 * before the final dot where possible (the remote server then discards
 * the message) and the new queue process sends the work again.
 * The remembered IPv6->IPv4 fallbacks (family.c) live in the queue, which
 * has a disk: each new one goes there (MSG_RELAY_FAMILY_LEARNED), and the
 * queue sends them all back when the link comes up
 * (MSG_QUEUE_FAMILY_MEMORY), so a restarted relay does not pay again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "auth.h"
#include "dns.h"
#include "family.h"
#include "job.h"
#include "log.h"
#include "mtasts.h"
#include "pool.h"
#include "relay.h"
#include "role.h"
#include "state.h"
#include "tls.h"
#include "tlsrpt.h"
#include "util.h"

#define RELAY_JOBS_MAX		2000	/* more at once: "busy", the queue retries */
#define SHUTDOWN_GRACE		10.0	/* s for sessions in flight (homemxd waits 15) */
#define SHUTDOWN_POLL_USEC	100000
#define RESULT_FIXED		3	/* per recipient: u8 result + u16 length */
#define RESULT_PAYLOAD_MAX	60000	/* MSG_RELAY_RESULT's max in lib/ipc_msgs.h */
/* A job that walked this long gives up (temporarily): well below the
 * queue's own RELAY_TIMEOUT (queue/relay.c, 1 h), so the queue always
 * hears an answer. Each wait is bounded (client.c), but 10 MX hosts with
 * 16 addresses that all time out would add up to more. */
#define JOB_DEADLINE		1500.0	/* s */
#define SWEEP_INTERVAL		30	/* s between deadline checks */

static struct event_base	*base;
static const struct config	*cfg;
static struct ipc_link		*qlink;
static unsigned			 queue_gen;
static bool			 shutting_down;
static double			 shutdown_deadline;
static bool			 shutdown_cancelled;
static struct event		*ev_shutdown;
static struct event		*ev_sweep;

static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
result_word(enum delivery_result r)
{
	return r == DELIVERY_OK ? "ok" : r == DELIVERY_TEMPFAIL ? "deferred" : "failed";
}

static const char *
family_word(int family)
{
	return family == AF_INET ? "ipv4" : family == AF_INET6 ? "ipv6" : "-";
}

static void
log_relay(const struct job *j, size_t i)
{
	const struct job_rcpt *r = &j->rcpt[i];
	char to[LOG_ESCAPE_MAX], reply[LOG_ESCAPE_MAX];
	double delay = wall_now() - j->queued_at;

	log_event("relay", "qid=%s to=<%s> mx=%s ip=%s family=%s tls=%s reply=\"%s\" "
	    "result=%s delay=%.2fs", j->m.msgid,
	    log_escape(to, sizeof(to), j->m.rcpt[i], strlen(j->m.rcpt[i])),
	    r->from.mx[0] != '\0' ? r->from.mx : "-", r->from.ip[0] != '\0' ? r->from.ip : "-",
	    family_word(r->from.family), r->from.tls ? "yes" : "no",
	    log_escape(reply, sizeof(reply), r->reply, strlen(r->reply)),
	    result_word(r->result), delay < 0 ? 0.0 : delay);
}

/*
 * One frame must hold every recipient: long replies are cut to fit.
 * The reply text tells the queue who said it (its DSN depends on that):
 *	"mx.example.net[192.0.2.1]: 550 5.1.1 text"	what that server answered
 *	"4.4.1 connect to ...: Connection refused"	our own diagnosis: an
 *		RFC 3463 status and no reply code, because no server answered
 */
static void
send_result(const struct job *j)
{
	static struct ipc_builder b;
	struct msg_relay_result res;
	size_t n = j->m.nrcpt;
	size_t cap = (RESULT_PAYLOAD_MAX - 2) / n - RESULT_FIXED;

	if (cap > IPC_REASON_MAX)
		cap = IPC_REASON_MAX;
	res.n = (unsigned)n;
	res.rcpt = xcalloc(n, sizeof(*res.rcpt));
	for (size_t i = 0; i < n; i++) {
		const struct job_rcpt *r = &j->rcpt[i];
		res.rcpt[i].result = r->result;
		int w;
		if (r->answered && r->from.ip[0] != '\0')
			w = snprintf(res.rcpt[i].reply, cap + 1, "%s[%s]: %s", r->from.mx,
			    r->from.ip, r->reply);
		else
			w = snprintf(res.rcpt[i].reply, cap + 1, "%s", r->reply);
		if (w < 0)	/* cutting a long reply is intended; an error is not */
			res.rcpt[i].reply[0] = '\0';
	}
	ipc_encode_relay_result(&b, &res);
	if (ipc_send(qlink, MSG_RELAY_RESULT, j->queue_req, &b, -1) == -1)
		log_warnx("relay: result for %s not sent", j->m.msgid);
	msg_relay_result_free(&res);
}

static void
on_job_done(struct job *j)
{
	for (size_t i = 0; i < j->m.nrcpt; i++)
		log_relay(j, i);
	if (qlink != NULL && j->queue_gen == queue_gen)
		send_result(j);
	job_free(j);
}

/* Answers a request the relay will not work on; reply is a diagnosis
 * ("4.3.2 text", see send_result). */
static void
refuse(uint64_t req, unsigned n, const char *reply)
{
	static struct ipc_builder b;
	struct msg_relay_result res;

	res.n = n;
	res.rcpt = xcalloc(n, sizeof(*res.rcpt));
	for (unsigned i = 0; i < n; i++) {
		res.rcpt[i].result = DELIVERY_TEMPFAIL;
		snprintf(res.rcpt[i].reply, sizeof(res.rcpt[i].reply), "%s", reply);
	}
	ipc_encode_relay_result(&b, &res);
	(void)ipc_send(qlink, MSG_RELAY_RESULT, req, &b, -1);
	msg_relay_result_free(&res);
}

static void
on_queue_relay(struct ipc_frame *f)
{
	struct msg_relay m;
	const char *why;
	struct job *j;

	if (ipc_decode_relay(f, &m, &why) == -1) {
		ipc_link_reject(qlink, f->type, why);
		return;
	}
	if (shutting_down || job_count() >= RELAY_JOBS_MAX) {
		refuse(f->req_id, m.nrcpt, shutting_down ? "4.3.2 relay shutting down" :
		    "4.3.2 relay busy");
		msg_relay_free(&m);
		return;
	}
	j = job_new(&m, f->fd, f->req_id, queue_gen, on_job_done);
	f->fd = -1;
	job_start(j);
}

/* The queue's copy of the fallback memory (after a restart of either). */
static void
on_family_memory(struct ipc_frame *f)
{
	struct msg_family_memory m;
	const char *why;
	time_t now = time(NULL);

	if (ipc_decode_family_memory(f, &m, &why) == -1) {
		ipc_link_reject(qlink, f->type, why);
		return;
	}
	for (unsigned i = 0; i < m.n; i++)
		family_load(m.pins[i].name, (time_t)m.pins[i].until, now,
		    cfg->family_fallback_memory);
	log_event("family_memory", "received=%u remembered=%zu", m.n, family_count(now));
	msg_family_memory_free(&m);
}

/* family.c learned a pin: the queue keeps it across our restarts. */
static void
on_family_learned(const char *name, time_t until)
{
	static struct ipc_builder b;
	struct family_pin p;

	if (qlink == NULL || !family_name_is_valid(name) ||
	    strlen(name) >= sizeof(p.name) || until <= 0)
		return;		/* an address literal: kept here only */
	memcpy(p.name, name, strlen(name) + 1);
	p.until = (uint64_t)until;
	ipc_encode_family_learned(&b, &p);
	if (ipc_send(qlink, MSG_RELAY_FAMILY_LEARNED, 0, &b, -1) == -1)
		log_warnx("relay: fallback for %s not sent to the queue", name);
}

static void
on_queue_frame(struct ipc_link *l, struct ipc_frame *f, void *arg)
{
	(void)arg;
	if (f->type == MSG_QUEUE_RELAY)
		on_queue_relay(f);
	else if (f->type == MSG_QUEUE_FAMILY_MEMORY)
		on_family_memory(f);
	else
		ipc_link_reject(l, f->type, "unexpected message");
	if (f->fd != -1)
		close(f->fd);
}

static void
drop_old_jobs(struct job *j)
{
	if (j->queue_gen != queue_gen)
		job_free(j);
}

/* Jobs of a queue that is gone can not be answered. */
static void
drop_queue_work(void)
{
	size_t before = job_count();

	queue_gen++;
	job_foreach(drop_old_jobs);
	if (before > 0)
		log_event("relay_dropped", "jobs=%zu reason=queue_gone", before);
}

static void
on_queue_close(struct ipc_link *l, void *arg)
{
	(void)arg;
	if (l != qlink)
		return;
	qlink = NULL;
	log_event("link_down", "peer=queue");
	drop_queue_work();
}

void
relay_on_link(enum role peer, int fd)
{
	/* Linked per the message table, and the one peer handled here. */
	if (!ipc_roles_linked(ROLE_RELAY, peer) || peer != ROLE_QUEUE) {
		log_warnx("relay: no link expected to %s", role_name(peer));
		close(fd);
		return;
	}
	if (qlink != NULL) {
		ipc_link_free(qlink);
		qlink = NULL;
		drop_queue_work();
	}
	qlink = ipc_link_new(base, fd, ROLE_RELAY, ROLE_QUEUE, on_queue_frame,
	    on_queue_close, NULL);
}

void
relay_preinit(struct event_base *b, const struct config *c)
{
	dns_init(b, c->dns_server);
	relay_tls_init(c->relay_ca_file);
	relay_auth_load(c, 1);
	relay_state_open(c->relay_state_dir, role_user());
}

static void
expire_job(struct job *j)
{
	struct smtp_reply r;

	if (j->state != JOB_DONE && mono_now() - j->started > JOB_DEADLINE) {
		smtp_reply_set(&r, 451, "4.4.7", "delivery attempt took too long");
		job_cancel(j, &r);
	}
}

static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	job_foreach(expire_job);
}

void
relay_init(struct event_base *b, const struct config *c, const int *listen_fds,
    size_t nlisten)
{
	struct timeval tv = { SWEEP_INTERVAL, 0 };

	(void)listen_fds;
	(void)nlisten;
	base = b;
	cfg = c;
	pool_init(b);
	job_setup(b, c);
	mtasts_init(b, c->mta_sts != 0);
	tlsrpt_init(b, c->hostname);
	family_set_learn_hook(on_family_learned);
	if ((ev_sweep = event_new(base, -1, EV_PERSIST, on_sweep, NULL)) == NULL ||
	    event_add(ev_sweep, &tv) == -1)
		fatalx("relay: event_new");
}

void
relay_on_reload(const struct config *c)
{
	cfg = c;
	dns_set_servers(c->dns_server);
	relay_auth_load(c, 0);
	mtasts_set_enabled(c->mta_sts != 0);
}

static void
cancel_job(struct job *j)
{
	struct smtp_reply r;

	smtp_reply_set(&r, 451, "4.3.2", "relay shutting down");
	job_cancel(j, &r);
}

static void
on_shutdown_poll(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { 0, SHUTDOWN_POLL_USEC };
	double now = mono_now();

	(void)fd;
	(void)what;
	(void)arg;
	if (now > shutdown_deadline && !shutdown_cancelled) {
		shutdown_cancelled = true;
		job_foreach(cancel_job);
	}
	bool flushed = qlink == NULL || ipc_link_pending(qlink) == 0;
	if ((job_count() == 0 && pool_open_sessions() == 0 && flushed) ||
	    now > shutdown_deadline + 2) {
		tlsrpt_flush();
		dns_shutdown();
		relay_auth_wipe();
		role_exit(0);
		return;
	}
	evtimer_add(ev_shutdown, &tv);
}

/* Finish what is in flight (bounded), QUIT idle sessions, then exit. */
void
relay_on_shutdown(void)
{
	if (shutting_down)
		return;
	shutting_down = true;
	pool_drain();
	shutdown_deadline = mono_now() + SHUTDOWN_GRACE;
	if ((ev_shutdown = evtimer_new(base, on_shutdown_poll, NULL)) == NULL)
		fatalx("relay: evtimer_new");
	on_shutdown_poll(-1, 0, NULL);
}
