/*
 * supervisor/ocsp_fetch.c - the short-lived child of homemxd that fetches
 * one OCSP response: resolve the responder with c-ares, POST the request
 * over HTTP, check the answer, write it to the cache.
 *
 * Owns: nothing that outlives it. Why a child and not homemxd itself:
 * the answer comes from the network, and homemxd is root; the child sets
 * up c-ares (which reads resolv.conf when no dns_server is set) and then
 * drops to the relay role's user, chrooted into the empty chroot_dir, with
 * no_new_privs, before it sends a byte. It writes the response through a
 * directory fd homemxd opened for it (ocsp_dir, owned by that user), so it
 * needs no path. Why c-ares and never getaddrinfo(): homemx never uses the
 * system resolver (nsswitch, /etc/hosts); it asks dns_server, like the
 * relay role. A deadline (alarm, OCSP_FETCH_SECONDS) bounds the whole
 * fetch: a responder that hangs costs a child, never a handshake, which
 * only ever sees the staple that is already in memory.
 */
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ares.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "ocsp.h"
#include "ocsp_http.h"
#include "role.h"
#include "tlsocsp.h"
#include "util.h"

#define OCSP_FETCH_SECONDS	30
#define OCSP_ADDRS_MAX		8
#define OCSP_READ_MAX		(TLSOCSP_RESPONSE_MAX + 16 * 1024)	/* body + head */

struct addrs {
	struct sockaddr_storage	a[OCSP_ADDRS_MAX];
	socklen_t		len[OCSP_ADDRS_MAX];
	int			n;
	int			status;
	bool			done;
};

static void __attribute__((noreturn))
give_up(const struct ocsp_job *job, const char *why)
{
	log_event("ocsp_fetch_failed", "uri=%s error=\"%s\"", job->uri, why);
	_exit(1);
}

static void
on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct addrs *out = arg;

	(void)timeouts;
	out->status = status;
	out->done = true;
	for (struct ares_addrinfo_node *n = res != NULL ? res->nodes : NULL;
	    n != NULL && out->n < OCSP_ADDRS_MAX; n = n->ai_next) {
		if ((size_t)n->ai_addrlen > sizeof(out->a[0]))
			continue;
		memcpy(&out->a[out->n], n->ai_addr, n->ai_addrlen);
		out->len[out->n++] = (socklen_t)n->ai_addrlen;
	}
	ares_freeaddrinfo(res);
}

/* The channel is made before the privilege drop: it may read resolv.conf. */
static ares_channel
channel_new(const struct ocsp_job *job)
{
	struct ares_options o;
	ares_channel ch;
	int mask = ARES_OPT_FLAGS | ARES_OPT_LOOKUPS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;

	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	o.lookups = (char *)"b";	/* DNS only: never /etc/hosts */
	o.timeout = 3000;
	o.tries = 2;
	if (job->dns_server[0] != '\0')
		mask |= ARES_OPT_SERVERS;	/* none from resolv.conf */
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS ||
	    ares_init_options(&ch, &o, mask) != ARES_SUCCESS)
		give_up(job, "c-ares init failed");
	if (job->dns_server[0] != '\0' &&
	    ares_set_servers_ports_csv(ch, job->dns_server) != ARES_SUCCESS)
		give_up(job, "dns_server refused by c-ares");
	return ch;
}

static void
resolve(const struct ocsp_job *job, ares_channel ch, const char *host, uint16_t port,
    struct addrs *out)
{
	struct ares_addrinfo_hints hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	char service[8];
	struct sockaddr_in *s4 = (struct sockaddr_in *)&out->a[0];
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->a[0];

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		out->len[out->n++] = sizeof(*s4);
		return;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		out->len[out->n++] = sizeof(*s6);
		return;
	}
	snprintf(service, sizeof(service), "%u", (unsigned)port);
	ares_getaddrinfo(ch, host, service, &hints, on_addrinfo, out);
	while (!out->done) {
		fd_set r, w;
		struct timeval tv, *tvp;
		FD_ZERO(&r);
		FD_ZERO(&w);
		int nfds = ares_fds(ch, &r, &w);
		tvp = ares_timeout(ch, NULL, &tv);
		if (select(nfds, &r, &w, NULL, tvp) == -1 && errno != EINTR)
			give_up(job, "select failed");
		ares_process(ch, &r, &w);
	}
	if (out->n == 0)
		give_up(job, ares_strerror(out->status));
}

/* Sends head + body on a new connection to one of the addresses and reads
 * until the server closes; the bytes read. */
static size_t
exchange(const struct ocsp_job *job, const struct addrs *to, const char *head, size_t head_len,
    char *buf, size_t size)
{
	for (int i = 0; i < to->n; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&to->a[i];
		int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		size_t got = 0;
		if (fd == -1 || connect(fd, sa, to->len[i]) == -1 ||
		    write_all(fd, head, head_len) == -1 ||
		    write_all(fd, job->request, job->request_len) == -1) {
			if (fd != -1)
				close(fd);
			continue;
		}
		for (;;) {
			ssize_t n = read(fd, buf + got, size - got);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0 || (got += (size_t)n) == size)
				break;
		}
		close(fd);
		return got;
	}
	give_up(job, "no address of the responder answered");
}

/* Checks the response and puts it in place: a temporary file renamed over
 * the old one, so homemxd never reads half of one. */
static void
store(const struct ocsp_job *job, const unsigned char *der, size_t len)
{
	char tmp[OCSP_FILE_MAX + 8], why[256];
	time_t this_update, next_update;
	int fd;

	if (tlsocsp_check(der, len, job->leaf, job->issuer, time(NULL), &this_update,
	    &next_update, why, sizeof(why)) == -1)
		give_up(job, why);
	snprintf(tmp, sizeof(tmp), "%s.tmp", job->file);
	if ((fd = openat(job->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1 ||
	    write_all(fd, der, len) == -1 || fsync(fd) == -1 || close(fd) == -1 ||
	    renameat(job->dirfd, tmp, job->dirfd, job->file) == -1)
		give_up(job, strerror(errno));
}

void
ocsp_fetch_run(const struct ocsp_job *job)
{
	char host[OCSP_HOST_MAX], path[OCSP_PATH_MAX], head[1024];
	const char *why, *body;
	size_t body_len;
	uint16_t port;
	struct addrs to;
	char *buf;
	int head_len;

	alarm(OCSP_FETCH_SECONDS);
	if (ocsp_uri_parse(job->uri, host, &port, path, &why) == -1)
		give_up(job, why);
	ares_channel ch = channel_new(job);
	if (job->as_root)
		privdrop(USER_RELAY, job->chroot_dir);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		give_up(job, "no_new_privs");
	resolve(job, ch, host, port, &to);
	if ((head_len = ocsp_http_request_head(host, port, path, job->request_len, head,
	    sizeof(head))) == -1 || (buf = malloc(OCSP_READ_MAX)) == NULL)
		give_up(job, "request too large");
	size_t got = exchange(job, &to, head, (size_t)head_len, buf, OCSP_READ_MAX);
	if (ocsp_http_response(buf, got, &body, &body_len, &why) == -1)
		give_up(job, why);
	store(job, (const unsigned char *)body, body_len);
	_exit(0);
}
