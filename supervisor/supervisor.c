/*
 * supervisor/supervisor.c - homemxd: start, link, restart and stop roles.
 *
 * Owns: the table of roles (role_specs[]: every role, always started,
 * except a listening role without a listener of its kind), the running
 * children, and the lifecycle signals. It stays tiny and root: it never
 * reads a byte from the network, and from a role only the few control
 * frames of lib/ipc_msgs.h (ready, fatal text, bad peer).
 *
 * Links: for each pair of roles that ipc_roles_linked() names (read off
 * the message table) there is one SOCK_SEQPACKET socketpair; each end is
 * handed to its role as MSG_SUP_LINK over that role's control link. When a
 * role dies, the surviving peers see EOF on their end; after the restart
 * (with backoff) each gets a fresh pair. So a crash of one role never
 * needs the others to restart.
 *
 * Start-up failures: a role that dies before it sent MSG_ROLE_READY failed
 * to start (a bad key directory, an unreadable store, a missing library);
 * restarting it will not help. After STARTUP_FAILURES_MAX such deaths in a
 * row homemxd logs the role's last fatal error (sent as MSG_ROLE_FATAL),
 * closes the listeners so that clients are refused instead of getting 451
 * forever, drains the other roles and exits 1. A role that crashes after
 * a good start is restarted with backoff, forever.
 *
 * Signals: SIGTERM/SIGINT drain (smtpd first, so in-flight commits finish
 * and sessions get 421; then the rest), SIGHUP reloads the config if it
 * parses, and keeps the old one otherwise.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "ipc_decode.h"
#include "log.h"
#include "role.h"
#include "rolelog.h"
#include "setup.h"
#include "supervisor.h"
#include "tlscheck.h"
#include "util.h"

#define BACKOFF_MIN	1	/* seconds before the first restart */
#define BACKOFF_MAX	30
#define STABLE_AFTER	30	/* a role up this long restarts fast again */
#define STOP_GRACE	15	/* seconds before SIGKILL while draining */
/* Deaths before MSG_ROLE_READY, in a row, before homemxd gives up: with
 * the backoff above that is about 15 seconds of trying. */
#define STARTUP_FAILURES_MAX	5

#define LK(k)	(1u << (k))

struct role_spec {
	enum role	 role;
	const char	*binary;
	const char	*user;
	bool		 chroot;
	unsigned	 listen_kinds;	/* LK(LISTEN_...) it serves */
};

/* Every role, started in this order: the roles others ask questions first.
 * Which of them are linked comes from the message table. */
static const struct role_spec role_specs[] = {
	{ ROLE_LOOKUP,     "homemx-lookup",     USER_LOOKUP, false, 0 },
	{ ROLE_DKIMSIGN,   "homemx-dkimsign",   USER_DKIM,   true,  0 },
	{ ROLE_QUEUE,      "homemx-queue",      USER_QUEUE,  false, 0 },
	{ ROLE_DELIVERY,   "homemx-delivery",   USER_MAIL,   false, 0 },
	{ ROLE_RELAY,      "homemx-relay",      USER_RELAY,  true,  0 },
	{ ROLE_SCREEN,     "homemx-screen",     USER_SCREEN, true,  0 },
	{ ROLE_SMTPD,      "homemx-smtpd",      USER_SMTPD,  true,  LK(LISTEN_SMTP) },
	{ ROLE_SUBMISSION, "homemx-submission", USER_SUBMIT, true,
	    LK(LISTEN_SUBMISSION) | LK(LISTEN_SUBMISSIONS) },
};
#define NROLES	(sizeof(role_specs) / sizeof(role_specs[0]))

_Static_assert(NROLES == ROLE_COUNT - 1, "role_specs[] lists every role but the supervisor");

/* CHILD_DISABLED: not needed by this config (submission without a
 * submission listener). */
enum child_state { CHILD_STOPPED, CHILD_RUNNING, CHILD_WAITING, CHILD_DISABLED };

struct child {
	const struct role_spec	*spec;
	enum child_state	 state;
	pid_t			 pid;
	struct ipc_link		*control;
	struct rolelog		*log;		/* the pipe its fd 1 and 2 write to */
	double			 started;
	bool			 term_sent;	/* SIGTERM once per drain: a second one means "die now" */
	unsigned		 backoff;
	struct event		*ev_restart;
	bool			 ready;		/* MSG_ROLE_READY since this start */
	bool			 killed;	/* SIGKILLed by us (bad peer) */
	unsigned		 startup_failures;	/* in a row */
	char			 last_error[IPC_FATAL_TEXT_MAX + 1];	/* MSG_ROLE_FATAL */
};

static struct event_base	*base;
static struct child		 children[NROLES];
static struct config		 cfg;
static char			*cfg_text;
static size_t			 cfg_textlen;
static char			 cfg_path[PATH_MAX];
static char			 bindir[PATH_MAX];
static int			 listen_fds[CONFIG_MAX_LISTEN];
static size_t			 nlisten;
static bool			 as_root;
static bool			 use_syslog;
static bool			 debug;
static bool			 draining;
static struct event		*ev_drain_timeout;
static int			 exit_code;	/* of homemxd, once drained */

static void	child_start(struct child *);

static struct child *
child_for_role(enum role r)
{
	for (size_t i = 0; i < NROLES; i++)
		if (children[i].spec->role == r)
			return &children[i];
	fatalx("no child for role %d", r);
}

/*
 * A peer sent the reporter a frame that failed validation and it dropped
 * the link. The supervisor kills that peer (it may be compromised) and the
 * restart hands both fresh links. A role can only accuse a peer it is
 * linked with.
 */
static void
control_peer_bad(struct ipc_link *l, struct child *reporter, struct ipc_frame *f)
{
	const char *why;
	enum role peer;

	if (ipc_decode_peer_bad(f, &peer, &why) == -1 ||
	    !ipc_roles_linked(reporter->spec->role, peer)) {
		ipc_link_reject(l, f->type, "bad peer role");
		return;
	}
	struct child *c = child_for_role(peer);
	log_event("peer_bad", "reporter=%s role=%s action=%s",
	    role_name(reporter->spec->role), role_name(c->spec->role),
	    c->state == CHILD_RUNNING ? "restart" : "none");
	if (c->state == CHILD_RUNNING) {
		c->killed = true;
		kill(c->pid, SIGKILL);
	}
}

/* The role's last words: kept to explain its exit. */
static void
control_fatal(struct ipc_link *l, struct child *c, struct ipc_frame *f)
{
	static struct msg_role_fatal m;
	const char *why;

	if (ipc_decode_role_fatal(f, &m, &why) == -1) {
		ipc_link_reject(l, f->type, why);
		return;
	}
	snprintf(c->last_error, sizeof(c->last_error), "%s", m.text);
}

static void
control_ready(struct ipc_link *l, struct child *c, struct ipc_frame *f)
{
	const char *why;

	if (ipc_decode_empty(f, &why) == -1) {
		ipc_link_reject(l, f->type, why);
		return;
	}
	c->ready = true;
	c->startup_failures = 0;
	log_debug("role=%s ready", role_name(c->spec->role));
}

/* What a role may tell the supervisor; the table already checked the
 * sender, the length and that no fd came along. */
static void
control_frame(struct ipc_link *l, struct ipc_frame *f, void *arg)
{
	struct child *c = arg;

	switch (f->type) {
	case MSG_ROLE_PEER_BAD:
		control_peer_bad(l, c, f);
		return;
	case MSG_ROLE_FATAL:
		control_fatal(l, c, f);
		return;
	case MSG_ROLE_READY:
		control_ready(l, c, f);
		return;
	default:
		ipc_link_reject(l, f->type, "unexpected");
		return;
	}
}

static void
control_closed(struct ipc_link *l, void *arg)
{
	struct child *c = arg;

	(void)l;
	c->control = NULL;	/* exit is noticed via SIGCHLD */
}

/* Hands one end of a fresh socketpair to each of two running roles. */
static void
link_pair(struct child *a, struct child *b)
{
	struct ipc_builder msg;
	int sv[2];

	if (a->control == NULL || b->control == NULL)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		fatal("socketpair");
	ipc_encode_sup_link(&msg, b->spec->role);
	ipc_send(a->control, MSG_SUP_LINK, 0, &msg, sv[0]);
	ipc_encode_sup_link(&msg, a->spec->role);
	ipc_send(b->control, MSG_SUP_LINK, 0, &msg, sv[1]);
	close(sv[0]);
	close(sv[1]);
}

static void
link_role_to_peers(struct child *c)
{
	for (size_t i = 0; i < NROLES; i++)
		if (ipc_roles_linked(c->spec->role, children[i].spec->role))
			link_pair(c, &children[i]);
}

static int
config_memfd(void)
{
	int fd = memfd_create("homemx.conf", MFD_CLOEXEC);

	if (fd == -1)
		fatal("memfd_create");
	if (write_all(fd, cfg_text, cfg_textlen) == -1)
		fatal("write memfd");
	return fd;
}

/* In the child, when execv failed: say why on the control link (now fd 3),
 * as the role itself would have with MSG_ROLE_FATAL. */
static void __attribute__((noreturn))
exec_failed(enum role r, const char *path)
{
	static struct ipc_builder msg;
	char text[PATH_MAX + 128];

	snprintf(text, sizeof(text), "cannot execute %s: %s", path, strerror(errno));
	ipc_encode_role_fatal(&msg, text);
	(void)ipc_send_now(ROLE_FD_CONTROL, r, ROLE_SUPERVISOR, MSG_ROLE_FATAL, &msg);
	_exit(127);
}

/* In the child: arrange fds 3, 4, 5.. per lib/role.h and exec. */
/*
 * In the child, with every fd already moved to 64 and up: stdin is
 * /dev/null, stdout and stderr the role's log pipe (supervisor/rolelog.c),
 * never homemxd's own stderr.
 */
static int
child_stdio(int log_fd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null == -1 || dup2(null, STDIN_FILENO) == -1 ||
	    dup2(log_fd, STDOUT_FILENO) == -1 || dup2(log_fd, STDERR_FILENO) == -1)
		return -1;
	return 0;
}

/* In the child: arrange fds 0-2 and 3, 4, 5.. per lib/role.h and exec. */
static void __attribute__((noreturn))
child_exec(const struct role_spec *s, int control_fd, int conf_fd, int log_fd)
{
	char path[PATH_MAX + 64], nbuf[16];
	char *argv[20];
	int argc = 0;

	setpgid(0, 0);	/* Ctrl-C reaches only the supervisor, which drains */
	signal(SIGPIPE, SIG_DFL);
	/* Move everything out of the way of the fixed numbers first. */
	int ctl = fcntl(control_fd, F_DUPFD, 64);
	int conf = fcntl(conf_fd, F_DUPFD, 64);
	int logw = fcntl(log_fd, F_DUPFD, 64);
	int lfd[CONFIG_MAX_LISTEN];
	size_t n = 0;
	for (size_t i = 0; i < nlisten; i++)
		if (s->listen_kinds & LK(cfg.listen[i].kind))
			lfd[n++] = fcntl(listen_fds[i], F_DUPFD, 64);
	if (ctl == -1 || conf == -1 || logw == -1 || child_stdio(logw) == -1 ||
	    dup2(ctl, ROLE_FD_CONTROL) == -1 ||
	    dup2(conf, ROLE_FD_CONFIG) == -1)
		_exit(126);
	for (size_t i = 0; i < n; i++)
		if (lfd[i] == -1 || dup2(lfd[i], ROLE_FD_LISTEN0 + (int)i) == -1)
			_exit(126);
	close_range(ROLE_FD_LISTEN0 + (unsigned)n, ~0U, 0);

	snprintf(path, sizeof(path), "%s/%s", bindir, s->binary);
	snprintf(nbuf, sizeof(nbuf), "%zu", n);
	argv[argc++] = (char *)s->binary;
	argv[argc++] = "-n";
	argv[argc++] = nbuf;
	/* which listener is which kind, in fd order: e.g. "submission,submissions" */
	char kinds[CONFIG_MAX_LISTEN * 12] = "";
	for (size_t i = 0, k = 0; i < nlisten; i++) {
		if (!(s->listen_kinds & LK(cfg.listen[i].kind)))
			continue;
		size_t o = strlen(kinds);
		snprintf(kinds + o, sizeof(kinds) - o, "%s%s", k++ ? "," : "",
		    cfg.listen[i].kind == LISTEN_SMTP ? "smtp" :
		    cfg.listen[i].kind == LISTEN_SUBMISSION ? "submission" : "submissions");
	}
	if (n > 0) {
		argv[argc++] = "-k";
		argv[argc++] = kinds;
	}
	if (as_root) {
		argv[argc++] = "-u";
		argv[argc++] = (char *)s->user;
		if (s->chroot) {
			/* dkimsign is jailed in its key directory: it can re-read
			 * keys after `mxctl dkim keygen` and sees nothing else;
			 * screen in its own database directory, likewise. */
			argv[argc++] = "-r";
			argv[argc++] = s->role == ROLE_DKIMSIGN ? cfg.dkim_key_dir :
			    s->role == ROLE_SCREEN ? cfg.screen.screen_dir : cfg.chroot_dir;
		}
	}
	if (use_syslog)
		argv[argc++] = "-S";
	if (debug)
		argv[argc++] = "-D";
	argv[argc] = NULL;
	execv(path, argv);
	exec_failed(s->role, path);
}

static void
child_start(struct child *c)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		fatal("socketpair");
	int conf = config_memfd();
	int log_fd;
	if ((c->log = rolelog_new(base, c->spec->binary, &log_fd)) == NULL)
		fatal("pipe for the log of %s", c->spec->binary);
	pid_t pid = fork();
	if (pid == -1)
		fatal("fork");
	if (pid == 0)
		child_exec(c->spec, sv[1], conf, log_fd);
	close(sv[1]);
	close(conf);
	rolelog_started(c->log, pid);
	c->pid = pid;
	c->state = CHILD_RUNNING;
	c->term_sent = false;
	c->ready = false;
	c->killed = false;
	c->last_error[0] = '\0';
	c->started = mono_now();
	c->control = ipc_link_new(base, sv[0], ROLE_SUPERVISOR, c->spec->role,
	    control_frame, control_closed, c);
	log_event("role_start", "role=%s pid=%ld", role_name(c->spec->role), (long)pid);
	link_role_to_peers(c);
}

static void
restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;

	(void)fd;
	(void)what;
	if (!draining && c->state == CHILD_WAITING)
		child_start(c);
}

static bool
all_stopped(void)
{
	for (size_t i = 0; i < NROLES; i++)
		if (children[i].state == CHILD_RUNNING)
			return false;
	return true;
}

static void
signal_role(enum role r, int sig)
{
	struct child *c = child_for_role(r);

	if (c->state == CHILD_RUNNING) {
		c->term_sent = c->term_sent || sig == SIGTERM;
		kill(c->pid, sig);
	}
}

/* Draining order: the session roles first (their in-flight commits get
 * answered), then everyone else once they are gone. */
static bool
sessions_running(void)
{
	return child_for_role(ROLE_SMTPD)->state == CHILD_RUNNING ||
	    child_for_role(ROLE_SUBMISSION)->state == CHILD_RUNNING;
}

static void
drain_step(void)
{
	if (sessions_running())
		return;
	for (size_t i = 0; i < NROLES; i++)
		if (children[i].state == CHILD_RUNNING && !children[i].term_sent) {
			children[i].term_sent = true;
			kill(children[i].pid, SIGTERM);
		}
	if (all_stopped()) {
		rolelog_flush_all();
		log_event("shutdown", "role=supervisor state=done");
		event_base_loopexit(base, NULL);
	}
}

static void	drain_start(const char *cause);

/* The role's frames still queued when it exited (MSG_ROLE_READY, its fatal
 * text) are read before the control link goes: SIGCHLD may come first. */
static void
child_read_last_words(struct child *c)
{
	if (c->control != NULL)
		ipc_link_drain(c->control);
	if (c->control != NULL) {
		ipc_link_free(c->control);
		c->control = NULL;
	}
}

/* Closes our copies of the listening sockets; smtpd frees its own when it
 * drains, and then a client's connect() is refused instead of hanging. */
static void
close_listeners(void)
{
	for (size_t i = 0; i < nlisten; i++)
		if (listen_fds[i] != -1) {
			close(listen_fds[i]);
			listen_fds[i] = -1;
		}
}

static void
give_up(struct child *c, const char *how)
{
	char esc[LOG_ESCAPE_MAX];

	c->state = CHILD_STOPPED;
	log_event("role_failed", "role=%s %s failures=%u error=\"%s\" action=stop",
	    role_name(c->spec->role), how, c->startup_failures,
	    log_escape(esc, sizeof(esc), c->last_error, strlen(c->last_error)));
	close_listeners();
	exit_code = 1;
	drain_start("reason=role_failed");
}

/*
 * Counts a death before MSG_ROLE_READY (that we did not cause) as a failed
 * start. Returns true if it was one too many: homemxd is giving up.
 */
static bool
startup_failure_is_fatal(struct child *c, int status, const char *how)
{
	char esc[LOG_ESCAPE_MAX];

	if (c->ready || c->killed || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
		return false;
	c->startup_failures++;
	log_event("role_start_failed", "role=%s %s attempt=%u/%u error=\"%s\"",
	    role_name(c->spec->role), how, c->startup_failures, STARTUP_FAILURES_MAX,
	    log_escape(esc, sizeof(esc), c->last_error, strlen(c->last_error)));
	if (c->startup_failures < STARTUP_FAILURES_MAX)
		return false;
	give_up(c, how);
	return true;
}

/* SIGSYS is how lib/sandbox.c ends a role that made a system call outside
 * its profile: say so in words an admin can search for. */
static void
log_if_seccomp(const struct child *c, int status)
{
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		log_event("seccomp_kill", "role=%s pid=%ld signal=%d reason=\"system call "
		    "outside the role's seccomp profile (lib/sandbox.c); the role's "
		    "event=seccomp_violation line names it\"", role_name(c->spec->role),
		    (long)c->pid, SIGSYS);
}

static void
child_exited(struct child *c, int status)
{
	char how[64];

	/* What the role wrote before it died comes before the news. */
	rolelog_release(c->log);
	c->log = NULL;
	log_if_seccomp(c, status);
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "signal=%d", WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "status=%d", WEXITSTATUS(status));
	child_read_last_words(c);
	c->pid = -1;
	if (draining) {
		c->state = CHILD_STOPPED;
		log_event("role_exit", "role=%s %s", role_name(c->spec->role), how);
		drain_step();
		return;
	}
	if (startup_failure_is_fatal(c, status, how))
		return;
	if (mono_now() - c->started >= STABLE_AFTER)
		c->backoff = BACKOFF_MIN;
	else
		c->backoff = c->backoff == 0 ? BACKOFF_MIN :
		    (c->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : c->backoff * 2);
	c->state = CHILD_WAITING;
	log_event("role_exit", "role=%s %s restart_in=%us", role_name(c->spec->role),
	    how, c->backoff);
	struct timeval tv = { c->backoff, 0 };
	evtimer_add(c->ev_restart, &tv);
}

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	int status;
	pid_t pid;

	(void)sig;
	(void)what;
	(void)arg;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (size_t i = 0; i < NROLES; i++)
			if (children[i].pid == pid && children[i].state == CHILD_RUNNING)
				child_exited(&children[i], status);
}

static void
drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	for (size_t i = 0; i < NROLES; i++)
		if (children[i].state == CHILD_RUNNING) {
			log_event("shutdown", "role=%s action=kill reason=grace_expired",
			    role_name(children[i].spec->role));
			kill(children[i].pid, SIGKILL);
		}
}

/* Stops every role: sessions first (see drain_step), no more restarts. */
static void
drain_start(const char *cause)
{
	draining = true;
	log_event("shutdown", "role=supervisor %s state=draining", cause);
	for (size_t i = 0; i < NROLES; i++)
		if (children[i].state == CHILD_WAITING) {
			evtimer_del(children[i].ev_restart);
			children[i].state = CHILD_STOPPED;
		}
	signal_role(ROLE_SMTPD, SIGTERM);
	signal_role(ROLE_SUBMISSION, SIGTERM);
	struct timeval tv = { STOP_GRACE, 0 };
	ev_drain_timeout = evtimer_new(base, drain_timeout, NULL);
	evtimer_add(ev_drain_timeout, &tv);
	drain_step();
}

static void
on_sigterm(evutil_socket_t sig, short what, void *arg)
{
	char cause[32];

	(void)what;
	(void)arg;
	if (draining) {
		if (sig == SIGINT)	/* a second Ctrl-C: stop waiting */
			drain_timeout(-1, 0, NULL);
		return;
	}
	snprintf(cause, sizeof(cause), "signal=%d", (int)sig);
	drain_start(cause);
}

static bool
listen_changed(const struct config *a, const struct config *b)
{
	if (a->nlisten != b->nlisten)
		return true;
	for (size_t i = 0; i < a->nlisten; i++)
		if (strcmp(a->listen[i].text, b->listen[i].text) != 0 ||
		    a->listen[i].kind != b->listen[i].kind)
			return true;
	return false;
}

static void
on_sighup(evutil_socket_t sig, short what, void *arg)
{
	char err[CONFIG_ERR_MAX], *text;
	struct config next;
	size_t len;

	(void)sig;
	(void)what;
	(void)arg;
	if (config_load(cfg_path, &next, &text, &len, err, sizeof(err)) == -1 ||
	    tlscheck_config(cfg_path, &next, err, sizeof(err)) == -1) {
		char esc[LOG_ESCAPE_MAX];
		free(text);	/* NULL unless only the TLS check failed */
		log_event("reload_failed", "error=\"%s\" action=keep_old_config",
		    log_escape(esc, sizeof(esc), err, strlen(err)));
		return;
	}
	if (listen_changed(&cfg, &next))
		log_warnx("reload: listen addresses changed; they take effect at the next restart");
	free(cfg_text);
	cfg_text = text;
	cfg_textlen = len;
	next.nlisten = cfg.nlisten;	/* the bound sockets stay what they are */
	memcpy(next.listen, cfg.listen, sizeof(next.listen));
	cfg = next;
	struct ipc_builder *msg = xmalloc(sizeof(*msg));
	ipc_encode_reload(msg, cfg_text, cfg_textlen);
	for (size_t i = 0; i < NROLES; i++)
		if (children[i].control != NULL)
			ipc_send(children[i].control, MSG_SUP_RELOAD, 0, msg, -1);
	free(msg);
	log_event("reload", "role=supervisor config=%s", cfg_path);
}

/* A listening role without a listener of its kind is not needed. */
static bool
role_wanted(const struct role_spec *s)
{
	bool has_listener = false;

	for (size_t i = 0; i < nlisten; i++)
		if (s->listen_kinds & LK(cfg.listen[i].kind))
			has_listener = true;
	return s->listen_kinds == 0 || has_listener;
}

/* Every role binary sits next to homemxd: an install without one is broken,
 * and running without it would refuse mail forever. */
static void
check_role_binaries(void)
{
	char path[PATH_MAX + 64];

	for (size_t i = 0; i < NROLES; i++) {
		snprintf(path, sizeof(path), "%s/%s", bindir, role_specs[i].binary);
		if (access(path, X_OK) == -1)
			fatal("role=%s: cannot execute %s", role_name(role_specs[i].role), path);
	}
}

static void
find_bindir(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		fatal("readlink /proc/self/exe");
	self[n] = '\0';
	snprintf(bindir, sizeof(bindir), "%s", dirname(self));
}

/* Writes DIR/homemx.conf from the embedded template; returns its path. */
static void
write_demo_config(const char *dir, char *path, size_t pathsize)
{
	char absdir[PATH_MAX];
	const char *t = config_demo_template;
	int fd;

	if (mkdir_p(dir, 0755) == -1 || realpath(dir, absdir) == NULL)
		fatal("demo dir %s", dir);
	if (snprintf(path, pathsize, "%s/homemx.conf", absdir) >= (int)pathsize)
		fatalx("demo dir path too long");
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) == -1)
		fatal("open %s", path);
	while (*t != '\0') {
		const char *at = strstr(t, "@DIR@");
		size_t n = at != NULL ? (size_t)(at - t) : strlen(t);
		if (write_all(fd, t, n) == -1)
			fatal("write %s", path);
		t += n;
		if (at != NULL) {
			if (write_all(fd, absdir, strlen(absdir)) == -1)
				fatal("write %s", path);
			t += 5;
		}
	}
	close(fd);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: homemxd [-f CONFIG] [-n | -P] [-S] [-D]\n"
	    "       homemxd -d DIR [-n | -P] [-D]   (demo: embedded config, state in DIR)\n"
	    "  -f CONFIG  config file (default /etc/homemx/homemx.conf)\n"
	    "  -n         check the config and exit\n"
	    "  -P         prepare: create the role users and state directories, exit\n"
	    "             (so that mxctl can add users before the first start)\n"
	    "  -S         log to syslog instead of stderr\n"
	    "  -D         debug logging\n");
	exit(2);
}

int
supervisor_main(int argc, char **argv)
{
	const char *demo_dir = NULL;
	bool check_only = false, prepare_only = false;
	char err[CONFIG_ERR_MAX];
	int ch;

	snprintf(cfg_path, sizeof(cfg_path), "/etc/homemx/homemx.conf");
	while ((ch = getopt(argc, argv, "f:d:nPSD")) != -1) {
		switch (ch) {
		case 'f': snprintf(cfg_path, sizeof(cfg_path), "%s", optarg); break;
		case 'd': demo_dir = optarg; break;
		case 'n': check_only = true; break;
		case 'P': prepare_only = true; break;
		case 'S': use_syslog = true; break;
		case 'D': debug = true; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (demo_dir != NULL)
		write_demo_config(demo_dir, cfg_path, sizeof(cfg_path));
	if (config_load(cfg_path, &cfg, &cfg_text, &cfg_textlen, err, sizeof(err)) == -1 ||
	    tlscheck_config(cfg_path, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "homemxd: %s\n", err);
		return 1;
	}
	if (check_only) {
		printf("%s: OK\n", cfg_path);
		return 0;
	}
	log_init("homemxd", use_syslog ? LOG_SINK_SYSLOG : LOG_SINK_STDERR);
	log_set_debug(debug);
	find_bindir();
	check_role_binaries();
	as_root = geteuid() == 0;
	if (as_root)
		for (size_t i = 0; i < NROLES; i++)
			setup_user(role_specs[i].user);
	else
		log_warnx("not running as root: roles run as uid %ld without chroot (demo mode)",
		    (long)getuid());
	setup_dirs(&cfg, as_root);
	if (prepare_only) {
		log_event("prepared", "role=supervisor config=%s root=%s", cfg_path,
		    as_root ? "yes" : "no");
		return 0;
	}
	nlisten = cfg.nlisten;
	for (size_t i = 0; i < nlisten; i++)
		listen_fds[i] = setup_listener(&cfg.listen[i]);

	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	struct event *ev[4] = {
		evsignal_new(base, SIGCHLD, on_sigchld, NULL),
		evsignal_new(base, SIGTERM, on_sigterm, NULL),
		evsignal_new(base, SIGINT, on_sigterm, NULL),
		evsignal_new(base, SIGHUP, on_sighup, NULL),
	};
	for (size_t i = 0; i < 4; i++)
		event_add(ev[i], NULL);
	for (size_t i = 0; i < NROLES; i++) {
		children[i].spec = &role_specs[i];
		children[i].pid = -1;
		children[i].ev_restart = evtimer_new(base, restart_cb, &children[i]);
		children[i].state = role_wanted(&role_specs[i]) ? CHILD_STOPPED : CHILD_DISABLED;
	}
	log_event("start", "role=supervisor config=%s root=%s pid=%ld", cfg_path,
	    as_root ? "yes" : "no", (long)getpid());
	for (size_t i = 0; i < NROLES; i++)
		if (children[i].state != CHILD_DISABLED)
			child_start(&children[i]);
	event_base_dispatch(base);
	return exit_code;
}
