/*
 * dkimsign/isolate.c - signatures are made by a small pool of worker
 * processes, each replaced every ISOLATE_RECYCLE messages.
 *
 * Owns: the workers (pid, socket, count, the request each is on, its
 * shared answer area) and the requests waiting for one. Why workers: the
 * signer reads a message an authenticated user (or the network, through
 * a DSN's quoted header) chose; a crash or an endless loop there costs
 * that message (SIGN_FAILED, a new worker), never the role, and a worker
 * that lives for a bounded number of messages takes whatever memory it
 * lost with it. Why a pool, driven by the event loop: dkimsign answers
 * every submission session and the queue, and one synchronous worker made
 * each request wait for all those before it; with one worker per core
 * (ISOLATE_WORKERS) requests are signed side by side, and the role keeps
 * reading frames meanwhile. The keys stay in this process and its
 * children (forked from it, inheriting the signer's parsed keys).
 * Protocol, over a SOCK_SEQPACKET pair per worker: one request datagram
 * (struct isolate_req, then the PEM texts, the message fd attached), one
 * ack byte back once the result sits in that worker's MAP_SHARED area.
 * Keys travel with each request, so a key loaded or replaced after the
 * fork is used at once; the worker's signer parses each text once.
 */
#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "isolate.h"

struct isolate_area {
	int			r;
	struct sign_result	res;
	char			out[ISOLATE_OUT_MAX];
};

struct isolate_req {
	char		domain[ADDR_DOMAIN_MAX + 1];
	char		selector[DKIM_DNS_SELECTOR_MAX + 1];
	uint32_t	pem_len[DKIM_ALG_COUNT];	/* 0 = no key */
	uint32_t	outsize;
};

/* The header, then each PEM text with its NUL. */
#define REQ_MAX	(sizeof(struct isolate_req) + DKIM_ALG_COUNT * (DKIM_KEY_FILE_MAX + 1))

struct job {
	TAILQ_ENTRY(job)	 entry;
	uint8_t			*req;		/* key material: wiped when freed */
	size_t			 reqlen;
	int			 fd;
	size_t			 outsize;
	isolate_done_fn		 done;
	void			*arg;
};

struct worker {
	pid_t			 pid;		/* -1: not running */
	int			 sock;
	unsigned		 served;
	struct isolate_area	*area;
	struct event		*ev_ack;
	struct event		*ev_timeout;
	struct job		*job;		/* NULL: idle */
};

static struct event_base	*base;
static struct worker		 workers[ISOLATE_WORKERS_MAX];
static unsigned			 nworkers;
static TAILQ_HEAD(, job)	 waiting = TAILQ_HEAD_INITIALIZER(waiting);
static unsigned			 nwaiting;
static struct signer		*worker_signer;	/* what a new worker signs with */
static int			 timeout_ms = ISOLATE_TIMEOUT * 1000;

static void	on_ack(evutil_socket_t, short, void *);
static void	on_timeout(evutil_socket_t, short, void *);

int
isolate_init(struct event_base *b, unsigned n)
{
	if (n == 0 || n > ISOLATE_WORKERS_MAX) {
		errno = EINVAL;
		return -1;
	}
	base = b;
	nworkers = n;
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &workers[i];
		void *p = mmap(NULL, sizeof(*w->area), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return -1;
		w->area = p;
		w->pid = -1;
		w->sock = -1;
		if ((w->ev_timeout = evtimer_new(base, on_timeout, w)) == NULL) {
			errno = ENOMEM;
			return -1;
		}
	}
	return 0;
}

/* ---- the worker ---------------------------------------------------------- */

static ssize_t
recv_request(int sock, uint8_t *buf, size_t size, int *fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { buf, size };
	struct msghdr msg = { 0 };
	ssize_t n;

	*fd = -1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) == -1 && errno == EINTR)
		;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); n > 0 && c != NULL;
	    c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return n;
}

/* One request: each PEM text follows the header with its NUL. */
static void
worker_sign(struct isolate_area *area, uint8_t *buf, size_t n, int fd)
{
	struct isolate_req *q = (struct isolate_req *)(void *)buf;
	struct sign_keys k = { q->domain, q->selector, { NULL, NULL } };
	struct sign_input in = { fd, NULL, 0 };
	size_t off = sizeof(*q);

	q->domain[sizeof(q->domain) - 1] = '\0';
	q->selector[sizeof(q->selector) - 1] = '\0';
	for (int a = 0; a < DKIM_ALG_COUNT; a++) {
		if (q->pem_len[a] == 0)
			continue;
		if (q->pem_len[a] >= n - off || buf[off + q->pem_len[a]] != '\0')
			_exit(3);	/* our own parent broke the protocol */
		k.pem[a] = (const char *)buf + off;
		off += q->pem_len[a] + 1;
	}
	area->r = signer_sign(worker_signer, &k, &in, area->out,
	    q->outsize < sizeof(area->out) ? q->outsize : sizeof(area->out), &area->res);
}

static void __attribute__((noreturn))
worker_main(int sock, struct isolate_area *area)
{
	static uint8_t buf[REQ_MAX];
	const uint8_t ack = 1;
	ssize_t n;
	int fd;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_IGN);
	/* Only its own socket: the role's links and the other workers'
	 * sockets stay the parent's. */
	close_range(3, (unsigned)sock - 1, 0);
	close_range((unsigned)sock + 1, ~0U, 0);
	while ((n = recv_request(sock, buf, sizeof(buf), &fd)) > 0) {
		if ((size_t)n < sizeof(struct isolate_req) || fd == -1)
			_exit(3);
		worker_sign(area, buf, (size_t)n, fd);
		close(fd);
		explicit_bzero(buf, (size_t)n);		/* key material */
		if (send(sock, &ack, 1, MSG_NOSIGNAL) != 1)
			_exit(0);
	}
	_exit(0);	/* the parent closed the socket: retired */
}

static int
worker_start(struct worker *w, struct sign_result *res)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		snprintf(res->why, sizeof(res->why), "socketpair: %s", strerror(errno));
		return -1;
	}
	if ((w->pid = fork()) == -1) {
		snprintf(res->why, sizeof(res->why), "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (w->pid == 0) {
		close(sv[0]);
		worker_main(sv[1], w->area);
	}
	close(sv[1]);
	w->sock = sv[0];
	w->served = 0;
	if ((w->ev_ack = event_new(base, w->sock, EV_READ | EV_PERSIST, on_ack, w)) == NULL ||
	    event_add(w->ev_ack, NULL) == -1) {
		snprintf(res->why, sizeof(res->why), "event_new failed");
		return -1;	/* the caller stops it */
	}
	return 0;
}

/* Ends the worker: politely (EOF) when retiring it, SIGKILL when stuck or
 * broken. Returns its wait status. */
static int
worker_stop(struct worker *w, bool kill_it)
{
	int status = 0;

	if (w->pid <= 0)	/* never kill(0) or kill(-1) */
		return 0;
	if (w->ev_ack != NULL)
		event_free(w->ev_ack);
	w->ev_ack = NULL;
	evtimer_del(w->ev_timeout);
	if (kill_it)
		(void)kill(w->pid, SIGKILL);
	close(w->sock);
	while (waitpid(w->pid, &status, 0) == -1 && errno == EINTR)
		;
	w->pid = -1;
	w->sock = -1;
	return status;
}

pid_t
isolate_worker_pid(unsigned i)
{
	return i < nworkers ? workers[i].pid : -1;
}

void
isolate_set_timeout_ms(int ms)
{
	timeout_ms = ms;
}

unsigned
isolate_busy(void)
{
	unsigned n = nwaiting;

	for (unsigned i = 0; i < nworkers; i++)
		n += workers[i].job != NULL;
	return n;
}

/* ---- the parent's side ---------------------------------------------------- */

static void
describe_death(int status, bool timed_out, struct sign_result *res)
{
	if (timed_out)
		snprintf(res->why, sizeof(res->why), "signing took over %d ms: worker killed",
		    timeout_ms);
	else if (WIFSIGNALED(status))
		snprintf(res->why, sizeof(res->why), "signing process killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(res->why, sizeof(res->why), "signing process exited with status %d",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* The request for k, malloc'd; NULL if k does not fit. */
static uint8_t *
build_request(const struct sign_keys *k, size_t outsize, size_t *lenp)
{
	struct isolate_req q;
	size_t len = sizeof(q), n[DKIM_ALG_COUNT];
	uint8_t *buf;

	memset(&q, 0, sizeof(q));
	if (k->domain == NULL || k->selector == NULL ||
	    snprintf(q.domain, sizeof(q.domain), "%s", k->domain) >= (int)sizeof(q.domain) ||
	    snprintf(q.selector, sizeof(q.selector), "%s", k->selector) >= (int)sizeof(q.selector))
		return NULL;
	q.outsize = (uint32_t)(outsize < ISOLATE_OUT_MAX ? outsize : ISOLATE_OUT_MAX);
	for (int a = 0; a < DKIM_ALG_COUNT; a++) {
		n[a] = k->pem[a] != NULL ? strlen(k->pem[a]) : 0;
		if (n[a] > DKIM_KEY_FILE_MAX)
			return NULL;
		q.pem_len[a] = (uint32_t)n[a];
		len += n[a] > 0 ? n[a] + 1 : 0;
	}
	if ((buf = malloc(len)) == NULL)
		return NULL;
	memcpy(buf, &q, sizeof(q));
	*lenp = sizeof(q);
	for (int a = 0; a < DKIM_ALG_COUNT; a++)
		if (n[a] > 0) {
			memcpy(buf + *lenp, k->pem[a], n[a] + 1);
			*lenp += n[a] + 1;
		}
	return buf;
}

static int
send_request(int sock, const struct job *j)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { j->req, j->reqlen };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;

	memset(&cm, 0, sizeof(cm));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &j->fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)j->reqlen ? 0 : -1;
}

/* Tells the requester and forgets the job (its key texts wiped). */
static void
job_finish(struct job *j, int r, const char *out, const struct sign_result *res)
{
	if (j->fd != -1)
		close(j->fd);
	if (j->req != NULL) {
		explicit_bzero(j->req, j->reqlen);
		free(j->req);
	}
	j->done(j->arg, r, r == 0 ? out : "", res);
	free(j);
}

static void
job_fail(struct job *j, const char *why)
{
	struct sign_result res;

	memset(&res, 0, sizeof(res));
	snprintf(res.why, sizeof(res.why), "%s", why);
	job_finish(j, -1, "", &res);
}

/* Hands j to w: a worker that died since its last message (killed, or
 * out of memory) is replaced once, silently. */
static void
dispatch(struct worker *w, struct job *j)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct sign_result res;

	memset(&res, 0, sizeof(res));
	for (int attempt = 0; attempt < 2; attempt++) {
		if (w->pid == -1 && worker_start(w, &res) == -1) {
			(void)worker_stop(w, true);
			break;
		}
		memset(w->area, 0, offsetof(struct isolate_area, out) + 1);
		w->area->r = -1;
		if (send_request(w->sock, j) == 0) {
			w->job = j;
			evtimer_add(w->ev_timeout, &tv);
			return;
		}
		describe_death(worker_stop(w, true), false, &res);
	}
	job_fail(j, res.why);
}

/* An idle worker, a running one first (no needless fork); NULL if none. */
static struct worker *
idle_worker(void)
{
	struct worker *stopped = NULL;

	for (unsigned i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];
		if (w->job != NULL)
			continue;
		if (w->pid != -1)
			return w;
		if (stopped == NULL)
			stopped = w;
	}
	return stopped;
}

static void
pump(void)
{
	struct worker *w;
	struct job *j;

	while ((j = TAILQ_FIRST(&waiting)) != NULL && (w = idle_worker()) != NULL) {
		TAILQ_REMOVE(&waiting, j, entry);
		nwaiting--;
		dispatch(w, j);
	}
}

/* The result in w's area, bounded and NUL-terminated, to its job. */
static void
worker_answered(struct worker *w)
{
	struct job *j = w->job;
	struct sign_result res = w->area->res;
	int r = -1;

	w->job = NULL;
	evtimer_del(w->ev_timeout);
	res.why[sizeof(res.why) - 1] = '\0';
	res.algs[sizeof(res.algs) - 1] = '\0';
	w->area->out[sizeof(w->area->out) - 1] = '\0';
	if (w->area->r == 0 && strlen(w->area->out) < j->outsize)
		r = 0;
	else if (w->area->r == 0)
		snprintf(res.why, sizeof(res.why), "signature fields too long");
	if (r == -1)
		res.nsigs = 0;
	job_finish(j, r, w->area->out, &res);
	if (++w->served >= ISOLATE_RECYCLE)
		(void)worker_stop(w, false);
}

static void
on_ack(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct sign_result res;
	struct job *j;
	uint8_t ack;
	ssize_t n;

	(void)what;
	while ((n = recv(fd, &ack, 1, MSG_DONTWAIT)) == -1 && errno == EINTR)
		;
	if (n == -1 && errno == EAGAIN)
		return;
	if (n == 1 && w->job != NULL) {
		worker_answered(w);
	} else {
		/* Dead (EOF), or talking out of turn: either way, gone. */
		memset(&res, 0, sizeof(res));
		j = w->job;
		w->job = NULL;
		describe_death(worker_stop(w, n == 1), false, &res);
		if (j != NULL)
			job_fail(j, res.why);
	}
	pump();
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct sign_result res;
	struct job *j = w->job;

	(void)fd;
	(void)what;
	memset(&res, 0, sizeof(res));
	w->job = NULL;
	describe_death(worker_stop(w, true), true, &res);
	if (j != NULL)
		job_fail(j, res.why);
	pump();
}

void
isolate_submit(struct signer *s, const struct sign_keys *k, int fd, size_t outsize,
    isolate_done_fn done, void *arg)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		struct sign_result res = { .why = "out of memory" };
		close(fd);
		done(arg, -1, "", &res);
		return;
	}
	j->fd = fd;
	j->outsize = outsize;
	j->done = done;
	j->arg = arg;
	if (outsize == 0 || (j->req = build_request(k, outsize, &j->reqlen)) == NULL) {
		job_fail(j, "bad signing request");
		return;
	}
	if (nwaiting >= ISOLATE_QUEUE_MAX) {
		job_fail(j, "too many signing requests waiting");
		return;
	}
	worker_signer = s;
	TAILQ_INSERT_TAIL(&waiting, j, entry);
	nwaiting++;
	pump();
}

void
isolate_shutdown(void)
{
	struct job *j;

	while ((j = TAILQ_FIRST(&waiting)) != NULL) {
		TAILQ_REMOVE(&waiting, j, entry);
		nwaiting--;
		job_fail(j, "dkimsign is shutting down");
	}
	for (unsigned i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];
		j = w->job;
		w->job = NULL;
		(void)worker_stop(w, j != NULL);
		if (j != NULL)
			job_fail(j, "dkimsign is shutting down");
	}
}
