/*
 * lookup/lookup.c - the lookup role: answers "who gets this address?".
 *
 * Owns: the open store of the daemon (no other role opens it), the links
 * to the asking roles, and the periodic store chores: failchk (aborts the
 * transaction of an mxctl that died holding locks) and checkpoints (so
 * that old log files go away). Runs as _hmx-lookup, not chrooted: it needs
 * store_dir. Why a separate role: the network-facing smtpd never sees
 * password hashes or database files; it asks and gets a verdict.
 *
 * Each MSG_RESOLVE_ASK is decoded with the validating decoder (the asker
 * may be a compromised smtpd), answered from one snapshot transaction by
 * resolve_address(), and logged at debug level only: smtpd logs the
 * verdict with its session id. Passwords (AUTH from submission) go
 * through auth.h, off the event loop; sender-ownership questions are
 * answered like resolve questions, from one snapshot. The login of a
 * local sendmail(8) client's uid (MSG_LOCAL_USER_ASK) comes from the
 * passwd database here, because submission, which asks, is chrooted.
 *
 * Crashes of mxctl: a writer killed between transactions or holding only
 * locks is harmless (snapshot reads never wait for locks; failchk aborts
 * its transaction). One killed while holding a region mutex can leave a
 * call of ours blocked for good; the watchdog (SIGALRM around every store
 * stretch) then exits, the supervisor restarts us, and our open recovers
 * the store. When the next mxctl runs that recovery first, our handle
 * panics (STORE_PANIC) and is reopened in place.
 */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include <sodium.h>

#include "auth.h"
#include "ipc_decode.h"
#include "log.h"
#include "lookup.h"
#include "resolve.h"
#include "store.h"

#define LOOKUP_CHORE_SECONDS	5	/* failchk + checkpoint interval */
/* A store call takes microseconds; one that takes this long is stuck on a
 * mutex a killed mxctl held. Exiting lets the supervisor restart us, and
 * the restarted open runs recovery (DB_REGISTER + DB_RECOVER). */
#define LOOKUP_WATCHDOG_SECONDS	3

static struct event_base	*lookup_base;
static const struct config	*lookup_cfg;	/* role.c's, updated on reload */
static struct store		*store;
static char			 store_dir[CONFIG_PATH_MAX];
static struct ipc_link		*peers[ROLE_COUNT];
static struct event		*ev_chores;

static void
lookup_watchdog_fired(int sig)
{
	static const char msg[] = "homemx-lookup: event=fatal role=lookup "
	    "reason=store_watchdog detail=\"a store call hung; exiting so that "
	    "the restart recovers the store\"\n";
	ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);

	(void)sig;
	(void)w;
	_exit(1);
}

static void
lookup_watchdog_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = lookup_watchdog_fired;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) == -1)
		fatal("sigaction SIGALRM");
}

/* Brackets every stretch of store calls. */
static void
lookup_watchdog_arm(void)
{
	alarm(LOOKUP_WATCHDOG_SECONDS);
}

static void
lookup_watchdog_disarm(void)
{
	alarm(0);
}

/* Roles that may ask questions: read off the message table. */
static bool
lookup_accepts_peer(enum role peer)
{
	return ipc_roles_linked(ROLE_LOOKUP, peer);
}

static void
lookup_store_reopen(void)
{
	char err[STORE_ERR_MAX + CONFIG_PATH_MAX];

	store_close(store);
	if ((store = store_open(store_dir, err, sizeof(err))) == NULL)
		log_warnx("store reopen failed, answering tempfail: %s", err);
	else
		log_event("store_reopen", "dir=%s", store_dir);
}

static void
lookup_chores(evutil_socket_t fd, short what, void *arg)
{
	enum store_status s;

	(void)fd;
	(void)what;
	(void)arg;
	lookup_watchdog_arm();
	if (store == NULL)
		lookup_store_reopen();
	else {
		/* The first failchk after a crash may say EBUSY once; the
		 * next one cleans up. */
		if ((s = store_failchk(store)) == STORE_OK)
			s = store_checkpoint(store, false);
		if (s == STORE_PANIC)
			lookup_store_reopen();
		else if (s != STORE_OK)
			log_warnx("store chores: %s", store_error(store));
	}
	lookup_watchdog_disarm();
}

static enum resolve_verdict
lookup_resolve(const char *address, struct msg_resolve_answer *ans)
{
	enum store_status s = STORE_OK;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (store == NULL) {
			ans->verdict = RESOLVE_TEMPFAIL;
			ans->nmailbox = 0;
			return RESOLVE_TEMPFAIL;
		}
		if (resolve_address(store, lookup_cfg, address, ans, &s) !=
		    RESOLVE_TEMPFAIL)
			break;
		if (s == STORE_PANIC)
			lookup_store_reopen();
		else if (s != STORE_BUSY)
			break;	/* only a lock conflict is worth one retry */
	}
	if (ans->verdict == RESOLVE_TEMPFAIL && s != STORE_OK && store != NULL)
		log_warnx("resolve tempfail: %s: %s", store_status_text(s),
		    store_error(store));
	return ans->verdict;
}

static void
lookup_answer_resolve(struct ipc_link *l, const struct ipc_frame *f)
{
	static struct msg_resolve_answer ans;
	static struct ipc_builder b;
	struct msg_resolve_ask ask;
	char esc[LOG_ESCAPE_MAX];
	const char *why;

	if (ipc_decode_resolve_ask(f, &ask, &why) == -1) {
		ipc_link_reject(l, f->type, why);	/* on_close forgets it */
		return;
	}
	lookup_watchdog_arm();
	lookup_resolve(ask.address, &ans);
	lookup_watchdog_disarm();
	log_debug("resolve peer=%s req=%llu address=<%s> verdict=%s mailboxes=%u",
	    role_name(ipc_link_peer(l)), (unsigned long long)f->req_id,
	    log_escape(esc, sizeof(esc), ask.address, strlen(ask.address)),
	    resolve_verdict_name(ans.verdict), ans.nmailbox);
	ipc_encode_resolve_answer(&b, &ans);
	if (ipc_send(l, MSG_RESOLVE_ANSWER, f->req_id, &b, -1) == -1)
		log_warnx("resolve answer to %s not sent", role_name(ipc_link_peer(l)));
}

/* Submission: a login. The verify runs in auth.c's pool; the answer
 * comes from there, maybe later. */
static void
lookup_answer_auth(struct ipc_link *l, const struct ipc_frame *f)
{
	struct msg_auth_ask ask;
	const char *why;

	if (ipc_decode_auth_ask(f, &ask, &why) == -1) {
		sodium_memzero(&ask, sizeof(ask));
		ipc_link_reject(l, f->type, why);
		return;
	}
	lookup_watchdog_arm();
	auth_start(store, lookup_cfg->auth_failures_per_ip, &ask, l, f->req_id);
	lookup_watchdog_disarm();
	sodium_memzero(&ask, sizeof(ask));
}

/* Submission: may the logged-in user send as this address? */
static void
lookup_answer_sender(struct ipc_link *l, const struct ipc_frame *f)
{
	struct msg_sender_ask ask;
	struct ipc_builder b;
	enum sender_result r = SENDER_TEMPFAIL;
	enum store_status s = STORE_OK;
	const char *why;

	if (ipc_decode_sender_ask(f, &ask, &why) == -1) {
		ipc_link_reject(l, f->type, why);
		return;
	}
	lookup_watchdog_arm();
	for (int attempt = 0; attempt < 2 && store != NULL; attempt++) {
		if ((r = sender_check(store, lookup_cfg, ask.user, ask.address, &s)) !=
		    SENDER_TEMPFAIL)
			break;
		if (s == STORE_PANIC)
			lookup_store_reopen();
		else if (s != STORE_BUSY)
			break;
	}
	lookup_watchdog_disarm();
	if (r == SENDER_TEMPFAIL)
		log_warnx("sender check tempfail: %s", store_status_text(s));
	ipc_encode_u8_answer(&b, (uint8_t)r);
	if (ipc_send(l, MSG_SENDER_ANSWER, f->req_id, &b, -1) == -1)
		log_warnx("sender answer to %s not sent", role_name(ipc_link_peer(l)));
}

/* Submission, for sendmail(8): the login of the uid SO_PEERCRED gave. */
static void
lookup_answer_local_user(struct ipc_link *l, const struct ipc_frame *f)
{
	struct msg_local_user_answer ans = { .result = LOCAL_USER_UNKNOWN };
	struct passwd pw, *found = NULL;
	struct ipc_builder b;
	char buf[4096];
	const char *why;
	uint32_t uid;
	int err;

	if (ipc_decode_local_user_ask(f, &uid, &why) == -1) {
		ipc_link_reject(l, f->type, why);
		return;
	}
	err = getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &found);
	if (found != NULL && addr_login_is_valid(pw.pw_name)) {
		ans.result = LOCAL_USER_FOUND;
		snprintf(ans.login, sizeof(ans.login), "%s", pw.pw_name);
	} else if (found == NULL && err != 0 && err != ENOENT && err != ESRCH &&
	    err != EBADF && err != EPERM)
		ans.result = LOCAL_USER_TEMPFAIL;	/* getpwuid_r(3): not found is these */
	log_debug("local_user uid=%u result=%d login=%s", uid, (int)ans.result, ans.login);
	ipc_encode_local_user_answer(&b, &ans);
	if (ipc_send(l, MSG_LOCAL_USER_ANSWER, f->req_id, &b, -1) == -1)
		log_warnx("local user answer to %s not sent", role_name(ipc_link_peer(l)));
}

static void
lookup_on_frame(struct ipc_link *l, struct ipc_frame *f, void *arg)
{
	(void)arg;
	if (f->fd != -1)
		close(f->fd);	/* the table allows none; belt and braces */
	switch (f->type) {
	case MSG_RESOLVE_ASK:
		lookup_answer_resolve(l, f);
		return;
	case MSG_AUTH_ASK:
		lookup_answer_auth(l, f);
		return;
	case MSG_SENDER_ASK:
		lookup_answer_sender(l, f);
		return;
	case MSG_LOCAL_USER_ASK:
		lookup_answer_local_user(l, f);
		return;
	default:
		ipc_link_reject(l, f->type, "unexpected");
	}
}

static void
lookup_on_close(struct ipc_link *l, void *arg)
{
	enum role peer = ipc_link_peer(l);

	(void)arg;
	if (peers[peer] == l)
		peers[peer] = NULL;
	auth_forget_link(l);
}

static void
lookup_on_link(enum role peer, int fd)
{
	if (!lookup_accepts_peer(peer)) {
		log_warnx("lookup: no link expected to %s", role_name(peer));
		close(fd);
		return;
	}
	/* A restarted peer: the old link is dead, replace it. */
	if (peers[peer] != NULL) {
		auth_forget_link(peers[peer]);
		ipc_link_free(peers[peer]);
	}
	peers[peer] = ipc_link_new(lookup_base, fd, ROLE_LOOKUP, peer,
	    lookup_on_frame, lookup_on_close, NULL);
}

static void
lookup_init(struct event_base *base, const struct config *cfg,
    const int *listen_fds, size_t nlisten)
{
	char err[STORE_ERR_MAX + CONFIG_PATH_MAX];
	struct timeval every = { LOOKUP_CHORE_SECONDS, 0 };

	(void)listen_fds;
	(void)nlisten;
	lookup_base = base;
	lookup_cfg = cfg;
	snprintf(store_dir, sizeof(store_dir), "%s", cfg->store_dir);
	lookup_watchdog_install();
	lookup_watchdog_arm();
	if ((store = store_open(store_dir, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	lookup_watchdog_disarm();
	auth_init(base);
	ev_chores = event_new(base, -1, EV_PERSIST, lookup_chores, NULL);
	if (ev_chores == NULL || event_add(ev_chores, &every) == -1)
		fatalx("lookup: cannot arm the store timer");
}

static void
lookup_on_reload(const struct config *cfg)
{
	/* Domains and delimiters are read from it per question. */
	lookup_cfg = cfg;
	if (strcmp(cfg->store_dir, store_dir) != 0)
		log_warnx("store_dir changed to %s: restart homemxd to use it",
		    cfg->store_dir);
}

static void
lookup_on_shutdown(void)
{
	auth_shutdown();
	for (int r = 0; r < ROLE_COUNT; r++) {
		ipc_link_free(peers[r]);
		peers[r] = NULL;
	}
	if (ev_chores != NULL)
		event_free(ev_chores);
	ev_chores = NULL;
	store_close(store);
	store = NULL;
	role_exit(0);
}

const struct role_ops lookup_role_ops = {
	.role = ROLE_LOOKUP,
	.preinit = NULL,
	.init = lookup_init,
	.on_link = lookup_on_link,
	.on_reload = lookup_on_reload,
	.on_shutdown = lookup_on_shutdown,
};
