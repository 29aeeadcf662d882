/*
 * supervisor/ocsp.c - OCSP stapling, homemxd's side: the responses of the
 * configured certificates, cached on disk and refreshed before they
 * expire.
 *
 * Owns: the current response of each pair (tls_certificate and
 * tls_certificate_ecdsa), the schedule of fetches and the pids of the
 * fetcher children. Why here: smtpd and submission never touch the
 * network beyond their clients (chrooted, seccomp), so the role that may
 * is a short-lived child of homemxd (supervisor/ocsp_fetch.c), and homemxd
 * hands the result to them the way it hands a renewed certificate: in the
 * MSG_SUP_TLS memfd (lib/tlspem.h), where each pair carries its staple.
 * A handshake never waits: until a response is in, the roles staple
 * nothing (RFC 6066 8 lets a server omit it).
 *
 * When: a response is fetched at start when the cache (ocsp_dir, one file
 * per certificate, named by the certificate's SHA-256) holds none that is
 * good, then again halfway between its thisUpdate and nextUpdate (Let's
 * Encrypt's responses lasted 7 days and were refreshed after 3: RFC 5019
 * 6 asks clients to fetch before nextUpdate). A failed fetch is retried
 * after 1 minute, doubling up to an hour, while the cached response, if
 * still valid, stays stapled.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <pwd.h>

#include "config.h"
#include "log.h"
#include "ocsp.h"
#include "role.h"
#include "tlsocsp.h"
#include "util.h"

#define RETRY_MIN	60
#define RETRY_MAX	3600
#define REFRESH_MIN	60	/* never fetch more often than this */

struct ocsp_pair {
	X509		*leaf, *issuer;
	char		 uri[TLSOCSP_URI_MAX];
	char		 file[OCSP_FILE_MAX];
	unsigned char	*der;
	size_t		 len;
	time_t		 next_update;
	time_t		 due;	/* the next fetch; 0: never (no URI) */
	unsigned	 failures;
	pid_t		 pid;
};

static struct ocsp_pair	 pairs[TLSPEM_PAIRS_MAX];
static size_t		 npairs;
static const struct config *ocfg;
static struct event	*timer;
static int		 dirfd = -1;
static bool		 ocsp_as_root;
static void		(*staple_cb)(void);

static void
pair_clear(struct ocsp_pair *p)
{
	X509_free(p->leaf);
	X509_free(p->issuer);
	free(p->der);
	memset(p, 0, sizeof(*p));
}

/* The leaf of a PEM chain file and its issuer from the same file. */
static bool
read_chain(const char *path, X509 **leaf, X509 **issuer)
{
	BIO *bio = BIO_new_file(path, "r");
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *x;

	*leaf = *issuer = NULL;
	if (bio != NULL && chain != NULL && (*leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
			if (sk_X509_push(chain, x) <= 0)
				X509_free(x);
	if (*leaf != NULL && (*issuer = tlsocsp_issuer(*leaf, chain)) != NULL)
		X509_up_ref(*issuer);
	sk_X509_pop_free(chain, X509_free);
	BIO_free(bio);
	ERR_clear_error();
	return *leaf != NULL && *issuer != NULL;
}

/* "ocsp-" and the first 8 bytes of the certificate's SHA-256, in hex. */
static void
cache_name(X509 *leaf, char *out, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	X509_digest(leaf, EVP_sha256(), md, &n);
	snprintf(out, size, "ocsp-%02x%02x%02x%02x%02x%02x%02x%02x.der", md[0], md[1], md[2],
	    md[3], md[4], md[5], md[6], md[7]);
}

/* Takes the cached response when it is good for the leaf now. */
static bool
load_cache(struct ocsp_pair *p)
{
	unsigned char *buf = malloc(TLSOCSP_RESPONSE_MAX + 1);
	int fd = dirfd == -1 ? -1 : openat(dirfd, p->file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	time_t this_update, next_update;
	char why[256];
	size_t len = 0;

	if (buf == NULL || fd == -1) {
		free(buf);
		if (fd != -1)
			close(fd);
		return false;
	}
	for (ssize_t n; len <= TLSOCSP_RESPONSE_MAX &&
	    (n = read(fd, buf + len, TLSOCSP_RESPONSE_MAX + 1 - len)) != 0;)
		if (n > 0)
			len += (size_t)n;
		else if (errno != EINTR)
			break;
	close(fd);
	if (tlsocsp_check(buf, len, p->leaf, p->issuer, time(NULL), &this_update, &next_update,
	    why, sizeof(why)) == -1) {
		free(buf);
		return false;
	}
	free(p->der);
	p->der = buf;
	p->len = len;
	p->next_update = next_update;
	/* halfway to nextUpdate, and not in a tight loop */
	p->due = this_update + (next_update - this_update) / 2;
	if (p->due < time(NULL) + REFRESH_MIN)
		p->due = time(NULL) + REFRESH_MIN;
	return true;
}

static void
schedule(void)
{
	time_t now = time(NULL), next = 0;

	for (size_t i = 0; i < npairs; i++)
		if (pairs[i].due != 0 && pairs[i].pid == 0 && (next == 0 || pairs[i].due < next))
			next = pairs[i].due;
	evtimer_del(timer);
	if (next != 0) {
		struct timeval tv = { next > now ? next - now : 0, 0 };
		evtimer_add(timer, &tv);
	}
}

static void
fetch(struct ocsp_pair *p)
{
	size_t req_len = 0;
	unsigned char *req = tlsocsp_request(p->leaf, p->issuer, &req_len);
	pid_t pid;

	if (req == NULL || (pid = fork()) == -1) {
		log_warnx("ocsp: cannot start a fetch for %s: %s", p->uri,
		    req == NULL ? "no request" : strerror(errno));
		free(req);
		p->due = time(NULL) + RETRY_MIN;
		return;
	}
	if (pid == 0) {
		struct ocsp_job job = { p->uri, p->file, dirfd, req, req_len, p->leaf, p->issuer,
			ocfg->dns_server, ocfg->chroot_dir, ocsp_as_root };
		ocsp_fetch_run(&job);
	}
	free(req);
	p->pid = pid;
	log_event("ocsp_fetch", "uri=%s pid=%ld", p->uri, (long)pid);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	time_t now = time(NULL);

	(void)fd;
	(void)what;
	(void)arg;
	for (size_t i = 0; i < npairs; i++)
		if (pairs[i].due != 0 && pairs[i].pid == 0 && pairs[i].due <= now)
			fetch(&pairs[i]);
	schedule();
}

/* ocsp_dir, made only once a certificate has a responder: owned by the
 * relay's user, whom the fetcher runs as; open for the fetcher's writes
 * (openat) and our reads. */
static bool
open_cache_dir(const struct config *c)
{
	struct passwd *pw;

	if (dirfd != -1)
		return true;
	if (mkdir_p(c->ocsp_dir, 0700) == -1 ||
	    (ocsp_as_root && ((pw = getpwnam(USER_RELAY)) == NULL ||
	    chown(c->ocsp_dir, pw->pw_uid, pw->pw_gid) == -1 || chmod(c->ocsp_dir, 0700) == -1)) ||
	    (dirfd = open(c->ocsp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warnx("ocsp: ocsp_dir %s: %s: no stapling", c->ocsp_dir, strerror(errno));
		return false;
	}
	return true;
}

/* The pairs of the config: those with a responder get a schedule. */
static void
load_pairs(const struct config *c)
{
	struct tlspem_source src[TLSPEM_PAIRS_MAX];

	for (size_t i = 0; i < npairs; i++)
		if (pairs[i].pid == 0)	/* a running fetch is reaped later */
			pair_clear(&pairs[i]);
	npairs = c->tls_ocsp_stapling ? tlspem_config_sources(c, src) : 0;
	for (size_t i = 0; i < npairs; i++) {
		struct ocsp_pair *p = &pairs[i];
		pid_t running = p->pid;
		pair_clear(p);
		p->pid = running;
		if (!read_chain(src[i].cert_path, &p->leaf, &p->issuer) ||
		    tlsocsp_uri(p->leaf, p->uri, sizeof(p->uri)) == -1 || !open_cache_dir(c))
			continue;	/* no issuer in the chain, or no responder */
		cache_name(p->leaf, p->file, sizeof(p->file));
		if (!load_cache(p))
			p->due = time(NULL);
		log_event("ocsp", "certificate=%s uri=%s cached=%s", src[i].cert_path, p->uri,
		    p->der != NULL ? "yes" : "no");
	}
	schedule();
}

void
ocsp_start(struct event_base *base, const struct config *c, bool as_root,
    void (*on_staple)(void))
{
	ocfg = c;
	ocsp_as_root = as_root;
	staple_cb = on_staple;
	if ((timer = evtimer_new(base, on_timer, NULL)) == NULL)
		fatalx("ocsp: evtimer_new");
	load_pairs(c);
}

void
ocsp_reconfigure(const struct config *c)
{
	load_pairs(c);
}

bool
ocsp_child_exited(pid_t pid, int status)
{
	for (size_t i = 0; i < TLSPEM_PAIRS_MAX; i++) {
		struct ocsp_pair *p = &pairs[i];
		if (p->pid != pid || pid <= 0)
			continue;
		p->pid = 0;
		if (i >= npairs || p->leaf == NULL)
			return true;	/* the config changed meanwhile */
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && load_cache(p)) {
			p->failures = 0;
			log_event("ocsp_fetched", "uri=%s next_update=%lld", p->uri,
			    (long long)p->next_update);
			if (staple_cb != NULL)
				staple_cb();
		} else {
			unsigned shift = p->failures < 6 ? p->failures : 6;
			time_t wait = (time_t)RETRY_MIN << shift;
			p->failures++;
			p->due = time(NULL) + (wait < RETRY_MAX ? wait : RETRY_MAX);
			log_event("ocsp_retry", "uri=%s in=%llds failures=%u", p->uri,
			    (long long)(p->due - time(NULL)), p->failures);
		}
		schedule();
		return true;
	}
	return false;
}

bool
ocsp_have_staple(void)
{
	struct tlspem_staple st[TLSPEM_PAIRS_MAX];

	ocsp_staples(st);
	for (size_t i = 0; i < TLSPEM_PAIRS_MAX; i++)
		if (st[i].len > 0)
			return true;
	return false;
}

void
ocsp_staples(struct tlspem_staple out[TLSPEM_PAIRS_MAX])
{
	time_t now = time(NULL);

	for (size_t i = 0; i < TLSPEM_PAIRS_MAX; i++) {
		bool good = i < npairs && pairs[i].der != NULL && pairs[i].next_update > now;
		out[i] = (struct tlspem_staple){ good ? pairs[i].der : NULL, good ? pairs[i].len : 0 };
	}
}
