/*
 * dkimsign/dkimsign.c - the dkimsign role: MSG_SIGN_ASK in, MSG_SIGN_ANSWER
 * out, for submission and queue.
 *
 * Owns: the links to submission and queue and the requests in progress
 * (each answered once, on the link generation it came in on). This
 * process is the only holder of the DKIM private keys (keys.c). It runs
 * as _hmx-dkim, chrooted into dkim_key_dir, so "/" is the key directory;
 * in demo mode (no privilege drop) it opens dkim_key_dir itself. A
 * request names the d= domain and hands over the whole message as a
 * read-only fd; the answer is SIGN_OK with the DKIM-Signature fields to
 * prepend, SIGN_NO_KEY when the domain has no key for dkim_selector, or
 * SIGN_FAILED. The sender answers 451 to both failures: mail never leaves
 * unsigned by accident.
 * Why asynchronous: a request is one pass over the message with one body
 * hash and two signatures, ~0.3 ms for a small message with both keys
 * (signer_test.c prints it), plus a few ms per MB of body; the signatures
 * are made by a pool of ISOLATE_WORKERS recycled worker processes
 * (isolate.c), which keep a crash to its message. The role hands a
 * request to the first free worker and goes on reading frames, so the
 * sessions of submission and the queue's DSNs are signed side by side
 * and none waits behind another's big message.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "dkimsign.h"
#include "ipc_decode.h"
#include "isolate.h"
#include "keys.h"
#include "log.h"
#include "role.h"
#include "signer.h"
#include "util.h"

#define SHUTDOWN_GRACE		2.0	/* s to flush the last answers */
#define SHUTDOWN_POLL_USEC	50000

static struct event_base	*base;
static const struct config	*cfg;
static struct signer		*signer;
static struct keyring		*keyring;
static struct ipc_link		*links[ROLE_COUNT];	/* submission, queue */
static struct stat		 keydir_st;	/* dkim_key_dir, seen before the chroot */
static char			 selector[DKIM_DNS_SELECTOR_MAX + 1];
static bool			 selector_ok;	/* short enough for "-ed25519" */
static struct event		*ev_shutdown;
static double			 shutdown_deadline;

/* One request, from its frame to its answer and log line. */
struct sign_job {
	enum role		 peer;
	unsigned		 link_gen;	/* answered only on that link */
	uint64_t		 req_id;
	char			 domain[ADDR_DOMAIN_MAX + 1];
	enum sign_status	 status;
	struct sign_result	 res;
	char			 why[SIGN_WHY_MAX + KEY_WHY_MAX];
	double			 started;
};

static unsigned			 link_gens[ROLE_COUNT];

static void
set_selector(const struct config *c)
{
	snprintf(selector, sizeof(selector), "%s", c->dkim_selector);
	str_lower(selector);
	selector_ok = dkim_selector_is_valid(selector);
	if (!selector_ok)
		log_warnx("dkimsign: dkim_selector %s is longer than %d octets: "
		    "nothing can be signed", selector, DKIM_SELECTOR_MAX);
}

/* ---- one request ------------------------------------------------------ */

static void
log_sign(const struct sign_job *j)
{
	static const char *const result[] = {
		[SIGN_OK] = "ok", [SIGN_NO_KEY] = "no_key", [SIGN_FAILED] = "failed",
	};
	char esc[LOG_ESCAPE_MAX];

	log_event("dkim_sign", "peer=%s domain=%s selector=%s algs=%s result=%s "
	    "bytes=%zu ms=%.2f%s%s%s", role_name(j->peer), j->domain, selector,
	    j->res.algs[0] != '\0' ? j->res.algs : "none", result[j->status],
	    j->res.message_bytes, (mono_now() - j->started) * 1000.0,
	    j->why[0] != '\0' ? " reason=\"" : "",
	    j->why[0] != '\0' ? log_escape(esc, sizeof(esc), j->why, strlen(j->why)) : "",
	    j->why[0] != '\0' ? "\"" : "");
}

/* The answer, if the link it came in on is still there, and the log. */
static void
job_answer(struct sign_job *j, const char *fields)
{
	static struct ipc_builder b;			/* 65 KB: not on the stack */
	struct ipc_link *l = links[j->peer];

	if (l != NULL && link_gens[j->peer] == j->link_gen) {
		ipc_encode_sign_answer(&b, j->status, j->status == SIGN_OK ? fields : "");
		(void)ipc_send(l, MSG_SIGN_ANSWER, j->req_id, &b, -1);
	}
	log_sign(j);
	free(j);
}

/* isolate.c's answer. */
static void
on_signed(void *arg, int r, const char *out, const struct sign_result *res)
{
	struct sign_job *j = arg;

	j->res = *res;
	if (r == -1) {
		j->status = SIGN_FAILED;
		snprintf(j->why, sizeof(j->why), "%s", res->why);
	} else
		j->status = SIGN_OK;
	job_answer(j, out);
}

/* The keys of j->domain to a worker (fd is taken over), or the answer
 * now when there is nothing to sign with. */
static void
sign_message(struct sign_job *j, int fd)
{
	struct sign_keys k;

	/* keyring is NULL once the shutdown wiped the keys. */
	if (keyring == NULL || !selector_ok) {
		j->status = SIGN_FAILED;
		snprintf(j->why, sizeof(j->why), "%s", keyring == NULL ?
		    "dkimsign is shutting down" : "dkim_selector too long");
	} else switch (keyring_get(keyring, j->domain, selector, &k, j->why, sizeof(j->why))) {
	case KEYS_NONE:
		j->status = SIGN_NO_KEY;
		snprintf(j->why, sizeof(j->why), "no key for selector %s: "
		    "mxctl dkim keygen %s", selector, j->domain);
		break;
	case KEYS_BROKEN:
		j->status = SIGN_FAILED;
		break;
	case KEYS_FOUND:
		isolate_submit(signer, &k, fd, SIGN_HEADERS_MAX + 1, on_signed, j);
		return;
	}
	close(fd);
	job_answer(j, "");
}

static void
on_sign_ask(struct ipc_link *l, enum role peer, struct ipc_frame *f)
{
	struct msg_sign_ask m;
	struct sign_job *j;
	const char *why;
	int fd;

	/* A lying peer: logged, its link closed, the supervisor told. */
	if (ipc_decode_sign_ask(f, &m, &why) == -1) {
		ipc_link_reject(l, f->type, why);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->peer = peer;
	j->link_gen = link_gens[peer];
	j->req_id = f->req_id;
	j->started = mono_now();
	snprintf(j->domain, sizeof(j->domain), "%s", m.domain);
	str_lower(j->domain);
	fd = f->fd;
	f->fd = -1;		/* the job's now */
	sign_message(j, fd);
}

static void
on_frame(struct ipc_link *l, struct ipc_frame *f, void *arg)
{
	enum role peer = (enum role)(intptr_t)arg;

	if (f->type == MSG_SIGN_ASK)
		on_sign_ask(l, peer, f);
	else
		ipc_link_reject(l, f->type, "unexpected");
	if (f->fd != -1)
		close(f->fd);
}

static void
on_close(struct ipc_link *l, void *arg)
{
	enum role peer = (enum role)(intptr_t)arg;

	if (links[peer] != l)
		return;
	links[peer] = NULL;
	log_event("link_down", "peer=%s", role_name(peer));
}

/* ---- role ------------------------------------------------------------------ */

void
dkimsign_preinit(struct event_base *b, const struct config *c)
{
	const char *why;

	/* Before the chroot: signer_new() initializes OpenSSL, and this is
	 * the last chance to see dkim_key_dir from outside. */
	if ((signer = signer_new(&why)) == NULL)
		fatalx("dkimsign: %s", why);
	if (stat(c->dkim_key_dir, &keydir_st) == -1)
		fatal("dkim_key_dir %s", c->dkim_key_dir);
	if (isolate_init(b, ISOLATE_WORKERS) == -1)
		fatal("dkimsign: the signing workers' memory");
}

/* The key directory: "/" when we were chrooted into it, else its path. */
static int
open_key_dir(const struct config *c, bool *chrooted)
{
	struct stat root;

	*chrooted = stat("/", &root) == 0 && root.st_dev == keydir_st.st_dev &&
	    root.st_ino == keydir_st.st_ino;
	return open(*chrooted ? "/" : c->dkim_key_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

void
dkimsign_init(struct event_base *b, const struct config *c,
    const int *listen_fds, size_t nlisten)
{
	bool chrooted;
	int dirfd;

	(void)listen_fds;
	(void)nlisten;
	base = b;
	cfg = c;
	set_selector(c);
	if ((dirfd = open_key_dir(c, &chrooted)) == -1)
		fatal("dkimsign: cannot open the key directory %s", c->dkim_key_dir);
	if ((keyring = keyring_new(dirfd, signer)) == NULL)
		fatalx("dkimsign: out of memory");
	log_event("dkim_ready", "keydir=%s chroot=%s selector=%s", c->dkim_key_dir,
	    chrooted ? "yes" : "no", selector);
}

void
dkimsign_on_link(enum role peer, int fd)
{
	if (!ipc_roles_linked(ROLE_DKIMSIGN, peer)) {
		log_warnx("dkimsign: no link expected to %s", role_name(peer));
		close(fd);
		return;
	}
	if (links[peer] != NULL)
		ipc_link_free(links[peer]);
	link_gens[peer]++;	/* answers to the old link's requests are dropped */
	links[peer] = ipc_link_new(base, fd, ROLE_DKIMSIGN, peer, on_frame, on_close,
	    (void *)(intptr_t)peer);
}

void
dkimsign_on_reload(const struct config *c)
{
	if (strcmp(c->dkim_key_dir, cfg->dkim_key_dir) != 0)
		log_warnx("dkimsign: dkim_key_dir changed to %s: takes effect when "
		    "homemxd restarts", c->dkim_key_dir);
	cfg = c;
	set_selector(c);
	/* Every key is read, checked and test-signed again on its next use. */
	keyring_flush(keyring);
}

static bool
answers_pending(void)
{
	for (int r = 0; r < ROLE_COUNT; r++)
		if (links[r] != NULL && ipc_link_pending(links[r]) > 0)
			return true;
	return false;
}

static void
on_shutdown_poll(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { 0, SHUTDOWN_POLL_USEC };

	(void)fd;
	(void)what;
	(void)arg;
	if ((isolate_busy() == 0 && !answers_pending()) || mono_now() > shutdown_deadline) {
		isolate_shutdown();
		keyring_free(keyring);
		keyring = NULL;
		signer_free(signer);
		signer = NULL;
		role_exit(0);
		return;
	}
	evtimer_add(ev_shutdown, &tv);
}

/* The requests with a worker, and the answers being sent, may finish
 * within SHUTDOWN_GRACE; then the workers go and the keys are wiped. */
void
dkimsign_on_shutdown(void)
{
	if (ev_shutdown != NULL)
		return;
	shutdown_deadline = mono_now() + SHUTDOWN_GRACE;
	if ((ev_shutdown = evtimer_new(base, on_shutdown_poll, NULL)) == NULL)
		fatalx("dkimsign: evtimer_new");
	on_shutdown_poll(-1, 0, NULL);
}
