/*
 * lib/role.c - start-up, privilege drop, control link and signals of a role.
 *
 * Owns: the role side of the contract in role.h. Why one file for all
 * roles: the order "parse config, preinit, drop the capability bounding
 * set, chroot+setuid, no_new_privs and no capabilities, seccomp filter,
 * init, listen to the supervisor" is security-relevant and must not differ
 * between roles.
 */
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "ipc_decode.h"
#include "log.h"
#include "role.h"
#include "util.h"

static struct event_base	*base;
static struct config		 cfg;
static const struct role_ops	*ops;
static struct ipc_link		*control;
static int			 exit_code;
static enum listen_kind		 listen_kinds[CONFIG_MAX_LISTEN];
static bool			 chrooted;

bool
role_chrooted(void)
{
	return chrooted;
}

enum listen_kind
role_listen_kind(size_t i)
{
	return i < CONFIG_MAX_LISTEN ? listen_kinds[i] : LISTEN_SMTP;
}

/* "-k smtp,submission": the kind of each listening fd, in order. */
static void
parse_listen_kinds(const char *arg)
{
	char buf[CONFIG_MAX_LISTEN * 12];
	char *save = NULL;
	size_t i = 0;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (char *t = strtok_r(buf, ",", &save); t != NULL && i < CONFIG_MAX_LISTEN;
	    t = strtok_r(NULL, ",", &save), i++) {
		if (strcmp(t, "smtp") == 0)
			listen_kinds[i] = LISTEN_SMTP;
		else if (strcmp(t, "submission") == 0)
			listen_kinds[i] = LISTEN_SUBMISSION;
		else if (strcmp(t, "submissions") == 0)
			listen_kinds[i] = LISTEN_SUBMISSIONS;
		else
			fatalx("bad -k %s", arg);
	}
}

struct event_base *
role_base(void)
{
	return base;
}

const struct config *
role_config(void)
{
	return &cfg;
}

void
role_exit(int code)
{
	exit_code = code;
	event_base_loopexit(base, NULL);
}

/* A peer sent garbage: ask the supervisor to restart it (and relink us). */
static void
role_report_bad_peer(enum role peer)
{
	struct ipc_builder b;

	if (control == NULL)
		return;
	ipc_build_init(&b);
	ipc_put_u8(&b, (uint8_t)peer);
	ipc_send(control, MSG_ROLE_PEER_BAD, 0, &b, -1);
}

/* fatal()'s hook: the supervisor learns why we exit, even before our
 * control link exists (MSG_ROLE_FATAL goes straight to the socket). */
static void
role_report_fatal(const char *text)
{
	static struct ipc_builder b;

	ipc_encode_role_fatal(&b, text);
	(void)ipc_send_now(ROLE_FD_CONTROL, ops->role, ROLE_SUPERVISOR,
	    MSG_ROLE_FATAL, &b);
}

/* Start-up is over: a death from now on is a crash, not a failed start. */
static void
role_report_ready(void)
{
	static struct ipc_builder b;

	ipc_encode_role_ready(&b);
	ipc_send(control, MSG_ROLE_READY, 0, &b, -1);
}

static void
role_control_frame(struct ipc_link *l, struct ipc_frame *f, void *arg)
{
	const char *why;

	(void)arg;
	switch (f->type) {
	case MSG_SUP_LINK: {
		struct msg_sup_link m;
		if (ipc_decode_sup_link(f, &m, &why) == -1) {
			close(f->fd);
			fatalx("bad MSG_SUP_LINK from supervisor: %s", why);
		}
		ops->on_link(m.peer, f->fd);
		return;
	}
	case MSG_SUP_RELOAD: {
		char *text, err[CONFIG_ERR_MAX];
		struct config next;
		if (ipc_decode_reload(f, &text, &why) == -1)
			fatalx("bad MSG_SUP_RELOAD from supervisor: %s", why);
		if (config_parse("reload", text, strlen(text), &next, err, sizeof(err)) == -1)
			log_warnx("reload refused: %s", err);
		else {
			cfg = next;
			if (ops->on_reload != NULL)
				ops->on_reload(&cfg);
			log_event("reload", "role=%s", role_name(ops->role));
		}
		free(text);
		return;
	}
	case MSG_SUP_TLS: {
		uint32_t chain_len;
		if (ipc_decode_sup_tls(f, &chain_len, &why) == -1 || ops->on_tls == NULL) {
			close(f->fd);
			fatalx("bad MSG_SUP_TLS from supervisor: %s", ops->on_tls == NULL ?
			    "this role serves no TLS" : why);
		}
		ops->on_tls(f->fd, chain_len);
		return;
	}
	default:
		(void)l;
		fatalx("unexpected %s from supervisor", ipc_msg_name(f->type));
	}
}

static void
role_control_closed(struct ipc_link *l, void *arg)
{
	(void)l;
	(void)arg;
	/* Without a supervisor nobody restarts us or hands us links. */
	control = NULL;
	log_event("shutdown", "role=%s reason=supervisor_gone", role_name(ops->role));
	if (ops->on_shutdown != NULL)
		ops->on_shutdown();
	else
		role_exit(0);
}

static void
role_on_signal(evutil_socket_t sig, short what, void *arg)
{
	static int count;

	(void)what;
	(void)arg;
	if (++count > 1) {
		log_event("shutdown", "role=%s reason=second_signal", role_name(ops->role));
		exit(1);
	}
	log_event("shutdown", "role=%s signal=%d", role_name(ops->role), (int)sig);
	if (ops->on_shutdown != NULL)
		ops->on_shutdown();
	else
		role_exit(0);
}

static char *
read_config_fd(int fd, size_t *len)
{
	char *buf = xmalloc(CONFIG_TEXT_MAX + 1);
	size_t n = 0;

	for (;;) {
		ssize_t r = pread(fd, buf + n, CONFIG_TEXT_MAX - n, (off_t)n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			fatal("read config fd");
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == CONFIG_TEXT_MAX)
			break;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

int
role_main(int argc, char **argv, const struct role_ops *role_ops)
{
	const char *user = NULL, *chroot_dir = NULL;
	enum log_sink sink = LOG_SINK_STDERR;
	int nlisten = 0, ch, debug = 0;
	char err[CONFIG_ERR_MAX];
	static char progname[64];

	ops = role_ops;
	snprintf(progname, sizeof(progname), "homemx-%s", role_name(ops->role));
	for (size_t i = 0; i < CONFIG_MAX_LISTEN; i++)
		listen_kinds[i] = LISTEN_SMTP;
	while ((ch = getopt(argc, argv, "u:r:n:k:SD")) != -1) {
		switch (ch) {
		case 'u': user = optarg; break;
		case 'r': chroot_dir = optarg; break;
		case 'n': nlisten = atoi(optarg); break;
		case 'k': parse_listen_kinds(optarg); break;
		case 'S': sink = LOG_SINK_PARENT; break;
		case 'D': debug = 1; break;
		default:
			fprintf(stderr, "%s is started by homemxd, not by hand\n", progname);
			exit(2);
		}
	}
	log_init(progname, sink);
	log_set_debug(debug);
	if (nlisten < 0 || nlisten > CONFIG_MAX_LISTEN)
		fatalx("bad -n");
	struct stat st;
	if (fstat(ROLE_FD_CONTROL, &st) == -1 || !S_ISSOCK(st.st_mode))
		fatalx("fd %d is not the control socket: start homemxd instead", ROLE_FD_CONTROL);
	log_set_fatal_hook(role_report_fatal);

	size_t len;
	char *text = read_config_fd(ROLE_FD_CONFIG, &len);
	close(ROLE_FD_CONFIG);
	if (config_parse("homemx.conf", text, len, &cfg, err, sizeof(err)) == -1)
		fatalx("config: %s", err);
	free(text);

	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if (ops->preinit != NULL)
		ops->preinit(base, &cfg);
	if (user != NULL) {
		/* Needs CAP_SETPCAP, so before the drop takes it away. */
		if (sandbox_drop_bounding_set() == -1)
			fatal("role=%s: dropping the capability bounding set",
			    role_name(ops->role));
		privdrop(user, chroot_dir);
	} else if (getuid() == 0)
		log_warnx("role=%s running as root without privilege drop (demo mode)",
		    role_name(ops->role));
	chrooted = user != NULL && chroot_dir != NULL;
	sandbox_lock_privileges();
	if (ops->sandbox != NULL)
		sandbox_enter(ops->sandbox, role_name(ops->role));

	int listen_fds[CONFIG_MAX_LISTEN];
	for (int i = 0; i < nlisten; i++)
		listen_fds[i] = ROLE_FD_LISTEN0 + i;
	ops->init(base, &cfg, listen_fds, (size_t)nlisten);

	control = ipc_link_new(base, ROLE_FD_CONTROL, ops->role, ROLE_SUPERVISOR,
	    role_control_frame, role_control_closed, NULL);
	ipc_set_reject_hook(role_report_bad_peer);
	role_report_ready();
	struct event *ev_term = evsignal_new(base, SIGTERM, role_on_signal, NULL);
	struct event *ev_int = evsignal_new(base, SIGINT, role_on_signal, NULL);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	signal(SIGHUP, SIG_IGN);	/* the supervisor reloads and tells us */

	log_event("start", "role=%s uid=%ld", role_name(ops->role), (long)getuid());
	event_base_dispatch(base);
	log_event("exit", "role=%s code=%d", role_name(ops->role), exit_code);
	return exit_code;
}
