/*
 * screen/screen.c - the screen role: smtpd's link, the DNS resolver and
 * cache, the memory, and the timers that keep them in shape.
 *
 * Owns: the order of start-up, the link to smtpd, and the health of the
 * DNS lists (probed at start, after a reload and every few minutes, each
 * change logged once). preinit (as started, root in production) sets up
 * c-ares and loads the Public Suffix List while /etc and /usr are still
 * visible; the role then runs as _hmx-screen chrooted into screen_dir,
 * where its Berkeley DB memory is the only thing it can see. It never sees the store, the spool,
 * password hashes or keys, and it talks to nobody but smtpd and the DNS
 * server. Questions are answered in the order their evaluations finish;
 * smtpd matches answers by request id (smtpd/links.c).
 * Why a watchdog around the memory: a Berkeley DB call can block for good
 * on a mutex of a process that died holding it (an `mxctl why` killed with
 * SIGKILL, lib/store.h explains it); then the role exits and the
 * supervisor restarts it into recovery, instead of hanging every session.
 */
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "dkimverify.h"
#include "dmarc.h"
#include "dnscache.h"
#include "dynptr.h"
#include "ipc_screen.h"
#include "judge.h"
#include "log.h"
#include "memory.h"
#include "resolvconf.h"
#include "resolver.h"
#include "screen.h"

#define SCREEN_CACHE_ENTRIES	20000
#define SWEEP_SECONDS		10
#define SWEEP_WORK		2000	/* records visited per sweep tick */
#define CHECKPOINT_TICKS	6	/* sweep ticks per checkpoint */
#define PROBE_SECONDS		300	/* RFC 5782 health probe of the lists */

static struct ipc_link		*smtpd_link;
static struct dns_cache		*cache;
static struct screen_memory	*memory;
static struct event		*ev_sweep;
static struct event		*ev_probe;
static struct eval		*probe_eval;

static time_t
wall_now(void)
{
	return time(NULL);
}

static void
screen_answer(uint64_t req_id, const struct screen_verdict *v)
{
	static struct ipc_builder b;

	if (smtpd_link == NULL)
		return;		/* smtpd restarted: it failed the question itself */
	ipc_encode_screen_verdict(&b, v);
	if (ipc_send(smtpd_link, MSG_SCREEN_VERDICT, req_id, &b, -1) == -1)
		log_debug("screen: cannot send verdict %s", v->ref);
}

static void
screen_answer_message(uint64_t req_id, const struct screen_message_verdict *mv)
{
	static struct ipc_builder b;

	if (smtpd_link == NULL)
		return;
	ipc_encode_screen_message_verdict(&b, mv);
	if (ipc_send(smtpd_link, MSG_SCREEN_MESSAGE_VERDICT, req_id, &b, -1) == -1)
		log_debug("screen: cannot send verdict %s", mv->v.ref);
}

/* The end-of-DATA question: its facts and every recipient. */
static void
screen_message_frame(struct ipc_link *l, struct ipc_frame *f)
{
	static char rcpt[SCREEN_RCPTS_MAX][ADDR_MAX + 1];	/* 51 KiB */
	struct screen_facts facts;
	unsigned nrcpt = 0;
	const char *why;

	if (ipc_decode_screen_message_ask(f, &facts, rcpt, &nrcpt, &why) == -1 ||
	    f->fd == -1) {
		if (f->fd != -1)
			close(f->fd);
		ipc_link_reject(l, f->type, f->fd == -1 ? "no message" : why);
		return;
	}
	judge_ask_message(&facts, (const char (*)[ADDR_MAX + 1])rcpt, nrcpt, f->fd,
	    f->req_id);	/* takes fd */
}

static void
screen_frame(struct ipc_link *l, struct ipc_frame *f, void *arg)
{
	struct screen_facts facts;
	const char *why;
	int fd = f->fd;

	(void)arg;
	if (f->type == MSG_SCREEN_MESSAGE_ASK) {
		screen_message_frame(l, f);
		return;
	}
	if (ipc_decode_screen_facts(f, &facts, &why) == -1) {
		if (fd != -1)
			close(fd);
		ipc_link_reject(l, f->type, why);
		return;
	}
	if (fd != -1)
		close(fd);
	if (f->type == MSG_SCREEN_ASK && facts.stage == SCREEN_STAGE_RCPT)
		judge_ask(&facts, f->req_id);
	else if (f->type == MSG_SCREEN_HINT && facts.stage != SCREEN_STAGE_RCPT &&
	    facts.stage != SCREEN_STAGE_MESSAGE)
		judge_hint(&facts);
	else
		ipc_link_reject(l, f->type, "stage does not fit the message");
}

static void
screen_link_closed(struct ipc_link *l, void *arg)
{
	(void)arg;
	if (l != smtpd_link)
		return;
	smtpd_link = NULL;
	judge_forget_all();
	log_event("link_down", "peer=smtpd");
}

static void
screen_on_link(enum role peer, int fd)
{
	if (peer != ROLE_SMTPD) {
		log_warnx("screen: ignoring a link to %s", role_name(peer));
		close(fd);
		return;
	}
	if (smtpd_link != NULL) {
		struct ipc_link *old = smtpd_link;
		smtpd_link = NULL;
		judge_forget_all();
		ipc_link_free(old);
	}
	smtpd_link = ipc_link_new(role_base(), fd, ROLE_SCREEN, ROLE_SMTPD,
	    screen_frame, screen_link_closed, NULL);
	log_event("link_up", "peer=smtpd");
}

/* ---- the memory's upkeep ---------------------------------------------------- */

static void
screen_watchdog_fired(int sig)
{
	static const char msg[] = "homemx-screen: event=fatal role=screen "
	    "reason=memory_watchdog detail=\"a database call hung; exiting so that "
	    "the restart recovers the memory\"\n";
	ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);

	(void)sig;
	(void)w;
	_exit(1);
}

static void
screen_sweep(evutil_socket_t fd, short what, void *arg)
{
	static unsigned ticks;
	size_t removed, counts[MEMORY_KINDS];

	(void)fd;
	(void)what;
	(void)arg;
	alarm(MEMORY_WATCHDOG_SECONDS);
	removed = memory_sweep(memory, &role_config()->screen, time(NULL), SWEEP_WORK);
	if (++ticks % CHECKPOINT_TICKS == 0)
		memory_checkpoint(memory);
	alarm(0);
	if (removed > 0) {
		memory_counts(memory, counts);
		log_event("screen_memory", "removed=%zu greylist=%zu passed=%zu "
		    "verdicts=%zu qids=%zu spam=%zu backscatter=%zu", removed, counts[0],
		    counts[1], counts[2], counts[3], counts[4], counts[5]);
	}
}

/* ---- role life ------------------------------------------------------------ */

/* ---- the DNS lists' health ------------------------------------------------ */

static void
screen_probe_done(const struct eval_result *r, void *arg)
{
	(void)arg;
	probe_eval = NULL;
	if (!r->complete)
		log_debug("screen: the list probe did not complete");
	judge_log_list_changes();
}

static void
screen_probe(evutil_socket_t fd, short what, void *arg)
{
	static const screen_check_fn probe[] = { dnsbl_probe_check };
	static struct screen_facts facts = { .stage = SCREEN_STAGE_CONNECT, .sess = "probe" };
	struct eval_params p = { judge_env(), probe, 1, cache, resolver_fetch,
	    role_base(), role_config()->screen.dns_timeout * 1000 };

	(void)fd;
	(void)what;
	(void)arg;
	if (probe_eval == NULL && role_config()->screen.nlists > 0)
		probe_eval = eval_start(&p, &facts, screen_probe_done, NULL);
}

/* ---- role life ------------------------------------------------------------ */

static void
screen_preinit(struct event_base *base, const struct config *c)
{
	char servers[256];
	const char *why;

	if (dynptr_init() == -1)
		log_warnx("screen: no Public Suffix List: dynamic-PTR names are judged on "
		    "their first labels only");
	/* DMARC's organizational domains and libopendkim, before the chroot */
	if (dmarc_psl_init(NULL) == -1)
		log_warnx("screen: no Public Suffix List for DMARC: organizational "
		    "domains are unknown: relaxed alignment needs equal domains");
	if (dkimverify_init() == -1)
		fatalx("screen: libopendkim does not start");
	/* dns_server "" means the system's resolvers, like relay: read here,
	 * before the chroot hides resolv.conf (screen/resolvconf.h) */
	int from_file = screen_dns_servers(c->dns_server, RESOLV_CONF, servers,
	    sizeof(servers), &why);
	if (from_file == -1)
		fatalx("screen: %s: set dns_server to your resolver, e.g. 127.0.0.1:53", why);
	if (from_file == 1)
		log_warnx("screen: dns_server is not set: asking %s from %s; public DNS "
		    "lists refuse the big public resolvers, so run one of your own "
		    "(unbound) and set dns_server", servers, RESOLV_CONF);
	cache = dns_cache_new(SCREEN_CACHE_ENTRIES);
	if (resolver_init(base, servers, cache, NULL, &why) == -1)
		fatalx("screen: dns_server %s: %s", servers, why);
}

static void
screen_init(struct event_base *base, const struct config *c, const int *fds,
    size_t nfds)
{
	struct timeval tick = { SWEEP_SECONDS, 0 }, probe = { PROBE_SECONDS, 0 };
	char err[MEMORY_ERR_MAX], dir[CONFIG_PATH_MAX + 16];
	struct sigaction sa;

	(void)fds;
	(void)nfds;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = screen_watchdog_fired;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) == -1)
		fatal("sigaction SIGALRM");
	if (memory_dir(role_chrooted() ? "/" : c->screen.screen_dir, dir, sizeof(dir)) == -1)
		fatalx("screen: screen_dir too long");
	alarm(MEMORY_WATCHDOG_SECONDS * 4);	/* an open may run recovery */
	memory = memory_open(dir, c->screen.memory_max_entries, err, sizeof(err));
	alarm(0);
	if (memory == NULL)
		fatalx("%s", err);
	judge_init(&(struct judge_setup){ base, cache, resolver_fetch, memory,
	    screen_answer, screen_answer_message, wall_now });
	if ((ev_sweep = event_new(base, -1, EV_PERSIST, screen_sweep, NULL)) == NULL ||
	    (ev_probe = event_new(base, -1, EV_PERSIST, screen_probe, NULL)) == NULL)
		fatalx("screen: event_new");
	event_add(ev_sweep, &tick);
	event_add(ev_probe, &probe);
	event_active(ev_probe, EV_TIMEOUT, 0);	/* the first probe now */
}

static void
screen_on_reload(const struct config *c)
{
	const char *why;

	/* the lists may have changed: forget their health and probe again */
	judge_reload();
	if (c->dns_server[0] != '\0' && resolver_set_servers(c->dns_server, &why) == -1)
		log_warnx("screen: dns_server %s: %s (the old servers stay)", c->dns_server, why);
	eval_cancel(probe_eval);
	probe_eval = NULL;
	event_active(ev_probe, EV_TIMEOUT, 0);
}

static void
screen_shutdown(void)
{
	judge_forget_all();
	eval_cancel(probe_eval);
	probe_eval = NULL;
	if (ev_sweep != NULL)
		event_del(ev_sweep);
	if (ev_probe != NULL)
		event_del(ev_probe);
	alarm(MEMORY_WATCHDOG_SECONDS);
	memory_close(memory);
	memory = NULL;
	alarm(0);
	role_exit(0);
}

const struct role_ops screen_role_ops = {
	.role = ROLE_SCREEN,
	.preinit = screen_preinit,
	.init = screen_init,
	.on_link = screen_on_link,
	.on_reload = screen_on_reload,
	.on_shutdown = screen_shutdown,
	.sandbox = &sandbox_profile_screen,
};
