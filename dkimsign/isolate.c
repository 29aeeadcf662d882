/*
 * dkimsign/isolate.c - signatures are made by a worker process that is
 * replaced every ISOLATE_RECYCLE messages.
 *
 * Owns: the worker (its pid, its socket, its count) and the shared answer
 * area. Why a separate, recycled worker: libopendkim 2.11.0~beta2 (Debian
 * 12) leaks the private key object of every Ed25519 signature (an EVP_PKEY
 * and a 64-byte struct, ~550 bytes per message, measured with
 * LeakSanitizer and RSS; RSA does not leak), and dkimsign lives as long as
 * the daemon. The worker takes the leak and is retired, so the process
 * stays flat (~0.5 MB at most). The same wall keeps a libopendkim crash
 * or endless loop on a hostile message to that message (SIGN_FAILED and a
 * new worker), not the whole role. A fork per message did the same but
 * cost ~1 ms (measured); a request to the worker costs two syscalls.
 * Protocol, over a SOCK_SEQPACKET pair: one request datagram (struct
 * isolate_req, then the PEM texts, the message fd attached), one ack byte
 * back once the result sits in the MAP_SHARED area. Keys travel with each
 * request, so a key loaded or replaced after the fork is used at once.
 * The parent waits for the ack (bounded by ISOLATE_TIMEOUT): the caller's
 * contract stays synchronous, as signer_sign()'s is.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static struct isolate_area	*area;
static struct signer		*worker_signer;
static pid_t			 worker_pid = -1;
static int			 worker_sock = -1;
static unsigned			 worker_served;
static int			 timeout_ms = ISOLATE_TIMEOUT * 1000;

int
isolate_init(void)
{
	void *p = mmap(NULL, sizeof(*area), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	area = p;
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
worker_sign(uint8_t *buf, size_t n, int fd)
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
worker_main(int sock)
{
	static uint8_t buf[REQ_MAX];
	const uint8_t ack = 1;
	ssize_t n;
	int fd;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_IGN);
	/* Only its own socket: the role's links stay the parent's. */
	close_range(3, (unsigned)sock - 1, 0);
	close_range((unsigned)sock + 1, ~0U, 0);
	while ((n = recv_request(sock, buf, sizeof(buf), &fd)) > 0) {
		if ((size_t)n < sizeof(struct isolate_req) || fd == -1)
			_exit(3);
		worker_sign(buf, (size_t)n, fd);
		close(fd);
		explicit_bzero(buf, (size_t)n);		/* key material */
		if (send(sock, &ack, 1, MSG_NOSIGNAL) != 1)
			_exit(0);
	}
	_exit(0);	/* the parent closed the socket: retired */
}

static int
worker_start(struct signer *s, struct sign_result *res)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		snprintf(res->why, sizeof(res->why), "socketpair: %s", strerror(errno));
		return -1;
	}
	worker_signer = s;
	if ((worker_pid = fork()) == -1) {
		snprintf(res->why, sizeof(res->why), "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (worker_pid == 0) {
		close(sv[0]);
		worker_main(sv[1]);
	}
	close(sv[1]);
	worker_sock = sv[0];
	worker_served = 0;
	return 0;
}

/* Ends the worker: politely (EOF) when retiring it, SIGKILL when stuck. */
static int
worker_stop(bool kill_it)
{
	int status = 0;

	if (worker_pid == -1)
		return 0;
	if (kill_it)
		(void)kill(worker_pid, SIGKILL);
	close(worker_sock);
	while (waitpid(worker_pid, &status, 0) == -1 && errno == EINTR)
		;
	worker_pid = -1;
	worker_sock = -1;
	return status;
}

void
isolate_shutdown(void)
{
	(void)worker_stop(false);
}

pid_t
isolate_worker_pid(void)
{
	return worker_pid;
}

void
isolate_set_timeout_ms(int ms)
{
	timeout_ms = ms;
}

/* ---- the parent's side ---------------------------------------------------- */

static void
describe_death(int status, bool timed_out, struct sign_result *res)
{
	if (timed_out)
		snprintf(res->why, sizeof(res->why), "signing took over %d s: worker killed",
		    ISOLATE_TIMEOUT);
	else if (WIFSIGNALED(status))
		snprintf(res->why, sizeof(res->why), "signing process killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(res->why, sizeof(res->why), "signing process exited with status %d",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* The message as an fd: the caller's, or a memfd holding its bytes. */
static int
input_fd(const struct sign_input *in, bool *owned)
{
	int fd;

	*owned = false;
	if (in->mem == NULL)
		return in->fd;
	if ((fd = memfd_create("hmx-sign", MFD_CLOEXEC)) == -1)
		return -1;
	for (size_t off = 0; off < in->size;) {
		ssize_t w = write(fd, in->mem + off, in->size - off);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	*owned = true;
	return fd;
}

/* The request for k in buf; its length, or 0 if k does not fit. */
static size_t
build_request(uint8_t *buf, const struct sign_keys *k, size_t outsize)
{
	struct isolate_req *q = (struct isolate_req *)(void *)buf;
	size_t len = sizeof(*q);

	memset(q, 0, sizeof(*q));
	if (k->domain == NULL || k->selector == NULL ||
	    snprintf(q->domain, sizeof(q->domain), "%s", k->domain) >= (int)sizeof(q->domain) ||
	    snprintf(q->selector, sizeof(q->selector), "%s", k->selector) >= (int)sizeof(q->selector))
		return 0;
	q->outsize = (uint32_t)(outsize < ISOLATE_OUT_MAX ? outsize : ISOLATE_OUT_MAX);
	for (int a = 0; a < DKIM_ALG_COUNT; a++) {
		size_t n = k->pem[a] != NULL ? strlen(k->pem[a]) : 0;
		if (n == 0)
			continue;
		if (n > DKIM_KEY_FILE_MAX)
			return 0;
		q->pem_len[a] = (uint32_t)n;
		memcpy(buf + len, k->pem[a], n + 1);
		len += n + 1;
	}
	return len;
}

static int
send_request(const uint8_t *buf, size_t len, int fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { (void *)(uintptr_t)buf, len };
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
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(worker_sock, &msg, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* Hands the request to a live worker: one that died since the last
 * message (killed, or out of memory) is replaced once, silently. */
static int
deliver_request(struct signer *s, const uint8_t *buf, size_t len, int fd,
    struct sign_result *res)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (worker_pid == -1 && worker_start(s, res) == -1)
			return -1;
		if (send_request(buf, len, fd) == 0)
			return 0;
		describe_death(worker_stop(true), false, res);
	}
	return -1;
}

/* 0 when the worker acked; -1 when it died or hung (then it is gone). */
static int
wait_ack(struct sign_result *res)
{
	struct pollfd p = { worker_sock, POLLIN, 0 };
	uint8_t ack;
	int n;

	while ((n = poll(&p, 1, timeout_ms)) == -1 && errno == EINTR)
		;
	if (n == 1 && recv(worker_sock, &ack, 1, 0) == 1)
		return 0;
	describe_death(worker_stop(n != 1), n != 1, res);
	return -1;
}

int
isolate_sign(struct signer *s, const struct sign_keys *k, const struct sign_input *in,
    char *out, size_t outsize, struct sign_result *res)
{
	static uint8_t buf[REQ_MAX];
	size_t len;
	bool owned = false;
	int fd = -1, r = -1;

	memset(res, 0, sizeof(*res));
	if (outsize == 0)
		return -1;
	out[0] = '\0';
	if ((len = build_request(buf, k, outsize)) == 0) {
		snprintf(res->why, sizeof(res->why), "bad signing request");
		return -1;
	}
	if ((fd = input_fd(in, &owned)) == -1) {
		snprintf(res->why, sizeof(res->why), "cannot hand the message over");
		goto done;
	}
	memset(area, 0, offsetof(struct isolate_area, out) + 1);
	area->r = -1;
	if (deliver_request(s, buf, len, fd, res) == -1 || wait_ack(res) == -1)
		goto done;
	*res = area->res;
	res->why[sizeof(res->why) - 1] = '\0';
	res->algs[sizeof(res->algs) - 1] = '\0';
	area->out[sizeof(area->out) - 1] = '\0';
	if (area->r == 0 && strlen(area->out) < outsize) {
		memcpy(out, area->out, strlen(area->out) + 1);
		r = 0;
	} else if (area->r == 0)
		snprintf(res->why, sizeof(res->why), "signature fields too long");
	if (++worker_served >= ISOLATE_RECYCLE)
		(void)worker_stop(false);
done:
	explicit_bzero(buf, len);	/* key material */
	if (owned)
		close(fd);
	if (r == -1)
		res->nsigs = 0;
	return r;
}
