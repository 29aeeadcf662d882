/*
 * supervisor/control.c - homemxd's control socket: mxctl's questions,
 * checked, answered here or routed to the role that owns the state.
 *
 * Owns: the listening socket (SOCK_SEQPACKET, 0660 root:control_group, in
 * the parent of store_dir: lib/ipc_ctl.h), the connected clients, the
 * requests waiting for roles, and the log followers.
 *
 * Who may ask: the kernel says who connected (SO_PEERCRED); root and the
 * members of the admin group are served, anyone else gets CTL_DENIED and
 * is logged (event=control_refused), whatever the file mode lets through.
 * What they may ask: a client's frames pass the message table and the
 * decoder of lib/ipc_ctl.c like any role's (a client is checked in the
 * supervisor's name: it is not a role), and one that does not is dropped.
 * A client is untrusted input: its arguments are tokens, it has one
 * request at a time, and at most CONTROL_CLIENTS_MAX are connected.
 *
 * Routing: the queue's commands go to the queue role, status and metrics
 * to every running role (homemxd adds the processes it runs), reload and
 * log are homemxd's own. A role's answer frames are decoded here before
 * they are passed on, so a broken role can not reach mxctl's terminal.
 * A role that is not running gets no question: the client hears
 * CTL_ROLE_DOWN at once and nothing was changed; one that does not answer
 * within CONTROL_TIMEOUT seconds likewise.
 *
 * Log following: every line a role writes passes here (rolelog.c's tap)
 * and goes to each follower whose filter it matches, one frame a line.
 * homemxd never waits for a follower: beyond LOG_BACKLOG_MAX frames not
 * yet taken by a client, lines are dropped for it and counted, and the
 * count is sent as a marker ({lost: N}) before its next line.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "control.h"
#include "ipc_decode.h"
#include "log.h"
#include "rolelog.h"
#include "supervisor.h"
#include "util.h"

#define CONTROL_CLIENTS_MAX	16
#define CONTROL_TIMEOUT		10	/* s for the roles to answer */
#define LOG_BACKLOG_MAX		64	/* frames queued to a follower */

struct client {
	struct ipc_link	*link;
	uid_t		 uid;
	bool		 busy;		/* a request is under way */
	bool		 following;
	char		 filter_kind[16];	/* "" = every line */
	char		 filter_value[CTL_ARG_MAX + 1];
	unsigned long	 lost;
};

struct pending {
	bool		 used;
	uint64_t	 id;
	struct client	*client;	/* NULL once it went away */
	enum ctl_verb	 verb;
	uint32_t	 waiting;	/* R() of the roles still to answer */
	bool		 single;	/* one role: its last frame ends it */
	char		 missing[128];	/* the roles that could not answer */
	struct event	*timer;
};

static struct event_base	*base;
static int			 listen_fd = -1;
static struct event		*ev_accept;
static char			 sock_path[CONFIG_PATH_MAX + 16];
static bool			 served_as_root;
static gid_t			 admin_gid = (gid_t)-1;
static char			 group_name[sizeof(((struct config *)0)->control_group)];
static struct client		 clients[CONTROL_CLIENTS_MAX];
static struct pending		 pendings[CONTROL_CLIENTS_MAX];
static uint64_t			 next_id = 1;

/* ---- sending to a client ----------------------------------------------- */

static void
client_send(struct client *c, const struct ipc_builder *b)
{
	if (c != NULL && c->link != NULL)
		(void)ipc_send(c->link, MSG_CTL_ANSWER, 0, b, -1);
}

static void
client_send_bare(struct client *c, enum ctl_status st, const char *text)
{
	struct ipc_builder b;

	ipc_encode_ctl_answer_bare(&b, st, text);
	client_send(c, &b);
}

/* A writer's frames (lib/ipc_ctl.h) go to the client arg. */
static void
writer_to_client(const struct ipc_builder *b, void *arg)
{
	client_send(arg, b);
}

/* ---- requests to roles ------------------------------------------------- */

static struct pending *
pending_new(struct client *c, enum ctl_verb verb)
{
	for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (!pendings[i].used) {
			struct pending *p = &pendings[i];
			p->used = true;
			p->id = next_id++;
			p->client = c;
			p->verb = verb;
			p->waiting = 0;
			p->single = false;
			p->missing[0] = '\0';
			return p;
		}
	return NULL;
}

static void
note_missing(struct pending *p, enum role r)
{
	size_t o = strlen(p->missing);

	snprintf(p->missing + o, sizeof(p->missing) - o, "%s%s", o > 0 ? " " : "",
	    role_name(r));
}

/* The last frame of a request with several roles, or a missing role's. */
static void
pending_finish(struct pending *p)
{
	char text[CTL_TEXT_MAX];

	evtimer_del(p->timer);
	if (p->missing[0] != '\0') {
		snprintf(text, sizeof(text), "%s: not running or not answering: %s%s",
		    ctl_verb_name(p->verb), p->missing,
		    p->single ? " (nothing was changed)" : " (their part is missing)");
		client_send_bare(p->client, CTL_ROLE_DOWN, text);
	} else
		client_send_bare(p->client, CTL_OK, "");
	if (p->client != NULL)
		p->client->busy = false;
	p->used = false;
}

static void
pending_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;

	(void)fd;
	(void)what;
	for (enum role r = 0; r < ROLE_COUNT; r++)
		if (p->waiting & (1u << r))
			note_missing(p, r);
	p->waiting = 0;
	log_event("control_timeout", "verb=%s missing=\"%s\"", ctl_verb_name(p->verb),
	    p->missing);
	pending_finish(p);
}

/* The roles this config does not need (submission without a listener):
 * not asked, and not missing. */
static uint32_t
disabled_roles(void)
{
	struct supervisor_role_info info[ROLE_COUNT];
	size_t n = supervisor_roles(info, ROLE_COUNT);
	uint32_t mask = 0;

	for (size_t i = 0; i < n; i++)
		if (strcmp(info[i].state, "disabled") == 0)
			mask |= 1u << info[i].role;
	return mask;
}

/* Sends the question to each role in mask that runs; notes the others. */
static void
ask_roles(struct pending *p, uint32_t mask, const struct msg_ctl_ask *ask)
{
	const char *args[CTL_ARGS_MAX];
	struct ipc_builder b;
	struct timeval tv = { CONTROL_TIMEOUT, 0 };

	for (unsigned i = 0; i < ask->nargs; i++)
		args[i] = ask->arg[i];
	ipc_encode_ctl_ask(&b, ask->verb, ask->nargs, args);
	mask &= ~disabled_roles();
	for (enum role r = 1; r < ROLE_COUNT; r++) {
		if (!(mask & (1u << r)))
			continue;
		struct ipc_link *l = supervisor_role_link(r);
		if (l == NULL || ipc_send(l, MSG_CTL_ASK, p->id, &b, -1) == -1)
			note_missing(p, r);
		else
			p->waiting |= 1u << r;
	}
	if (p->waiting == 0) {
		pending_finish(p);
		return;
	}
	evtimer_add(p->timer, &tv);
}

void
control_role_answer(enum role from, struct ipc_link *l, struct ipc_frame *f)
{
	static struct msg_ctl_answer a;		/* 200 KB: not on the stack */
	static struct ipc_builder b;
	struct pending *p = NULL;
	const char *why;

	if (ipc_decode_ctl_answer(f, &a, &why) == -1) {
		ipc_link_reject(l, f->type, why);
		return;
	}
	for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (pendings[i].used && pendings[i].id == f->req_id &&
		    (pendings[i].waiting & (1u << from)))
			p = &pendings[i];
	if (p == NULL)
		return;		/* after its timeout: the client heard already */
	ipc_build_init(&b);
	memcpy(b.buf, f->payload, f->len);
	b.len = f->len;
	if (a.status == CTL_MORE || p->single) {
		client_send(p->client, &b);
		if (a.status == CTL_MORE)
			return;
		p->waiting = 0;
		evtimer_del(p->timer);
		if (p->client != NULL)
			p->client->busy = false;
		p->used = false;
		return;
	}
	b.buf[0] = CTL_MORE;	/* one role's part of a longer answer */
	client_send(p->client, &b);
	p->waiting &= ~(1u << from);
	if (p->waiting == 0)
		pending_finish(p);
}

/* ---- homemxd's own answers -------------------------------------------- */

static void
write_processes(struct ctl_writer *w)
{
	struct supervisor_role_info info[ROLE_COUNT];
	size_t n = supervisor_roles(info, ROLE_COUNT);

	ctl_rec_begin(w);
	ctl_field_text(w, "section", "process");
	ctl_field_text(w, "role", "supervisor");
	ctl_field_text(w, "state", "running");
	ctl_field_u64(w, "pid", (uint64_t)getpid());
	ctl_field_u64(w, "uptime", (uint64_t)supervisor_uptime());
	ctl_field_u64(w, "restarts", 0);
	for (size_t i = 0; i < n; i++) {
		ctl_rec_begin(w);
		ctl_field_text(w, "section", "process");
		ctl_field_text(w, "role", role_name(info[i].role));
		ctl_field_text(w, "state", info[i].state);
		ctl_field_u64(w, "pid", info[i].pid > 0 ? (uint64_t)info[i].pid : 0);
		ctl_field_u64(w, "uptime", (uint64_t)info[i].uptime);
		ctl_field_u64(w, "restarts", info[i].restarts);
	}
}

static void
do_reload(struct client *c)
{
	char err[CONFIG_ERR_MAX], text[CTL_TEXT_MAX];

	if (supervisor_reload(err, sizeof(err)) == -1) {
		snprintf(text, sizeof(text), "config refused, the old one stays: %.400s", err);
		client_send_bare(c, CTL_REFUSED, text);
		return;
	}
	client_send_bare(c, CTL_OK, "config accepted and sent to every role");
}

static void
do_follow(struct client *c, const struct msg_ctl_ask *ask)
{
	static const char *const kinds[] = { "session", "queue", "address" };
	struct ipc_builder b;

	c->filter_kind[0] = '\0';
	if (ask->nargs == 2) {
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (strcmp(ask->arg[0], kinds[i]) == 0)
				snprintf(c->filter_kind, sizeof(c->filter_kind), "%s", kinds[i]);
		snprintf(c->filter_value, sizeof(c->filter_value), "%s", ask->arg[1]);
	}
	if ((ask->nargs != 0 && ask->nargs != 2) ||
	    (ask->nargs == 2 && c->filter_kind[0] == '\0')) {
		client_send_bare(c, CTL_REFUSED, "log: filter is session|queue|address VALUE");
		return;
	}
	c->following = true;
	c->busy = true;		/* until it hangs up */
	ipc_encode_ctl_answer_bare(&b, CTL_MORE, "following");
	client_send(c, &b);
}

/* ---- a client's question ----------------------------------------------- */

static uint32_t
roles_for(enum ctl_verb v)
{
	switch (v) {
	case CTL_STATUS:
	case CTL_METRICS:
		return R_ANYROLE;
	case CTL_RELOAD:
	case CTL_LOG_FOLLOW:
		return 0;
	default:
		return R(QUEUE);
	}
}

static void
client_ask(struct client *c, const struct msg_ctl_ask *ask)
{
	static struct ctl_writer w;
	struct pending *p;

	log_event("control", "uid=%ld verb=%s", (long)c->uid, ctl_verb_name(ask->verb));
	if (ask->verb == CTL_RELOAD) {
		do_reload(c);
		return;
	}
	if (ask->verb == CTL_LOG_FOLLOW) {
		do_follow(c, ask);
		return;
	}
	if ((p = pending_new(c, ask->verb)) == NULL) {
		client_send_bare(c, CTL_BUSY, "homemxd is busy: try again");
		return;
	}
	c->busy = true;
	p->single = roles_for(ask->verb) == R(QUEUE);
	if (ask->verb == CTL_STATUS) {
		ctl_writer_init(&w, writer_to_client, c);
		write_processes(&w);
		ctl_writer_finish(&w, CTL_MORE, "");
	}
	ask_roles(p, roles_for(ask->verb), ask);
}

static void
on_client_frame(struct ipc_link *l, struct ipc_frame *f, void *arg)
{
	struct client *c = arg;
	struct msg_ctl_ask ask;
	const char *why;

	if (f->type != MSG_CTL_ASK) {
		ipc_link_reject(l, f->type, "unexpected from a control client");
		return;
	}
	if (ipc_decode_ctl_ask(f, &ask, &why) == -1) {
		ipc_link_reject(l, f->type, why);
		return;
	}
	if (c->busy) {
		client_send_bare(c, CTL_BUSY, "one request at a time");
		return;
	}
	client_ask(c, &ask);
}

static void
on_client_close(struct ipc_link *l, void *arg)
{
	struct client *c = arg;

	(void)l;
	for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (pendings[i].used && pendings[i].client == c)
			pendings[i].client = NULL;
	memset(c, 0, sizeof(*c));
}

/* ---- who is calling ---------------------------------------------------- */

static bool
uid_in_admin_group(uid_t uid, gid_t gid)
{
	gid_t groups[64];
	int n = 64;
	struct passwd *pw;

	if (admin_gid == (gid_t)-1)
		return false;
	if (gid == admin_gid)
		return true;
	if ((pw = getpwuid(uid)) == NULL)
		return false;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] == admin_gid)
			return true;
	return false;
}

static bool
peer_allowed(int fd, struct ucred *cred)
{
	socklen_t len = sizeof(*cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) == -1)
		return false;
	if (cred->uid == 0)
		return true;
	if (!served_as_root)	/* demo mode: homemxd's own user */
		return cred->uid == getuid();
	return uid_in_admin_group(cred->uid, cred->gid);
}

/* The refused client's question (or its hang-up, or a time limit) came:
 * closing now leaves nothing unread, so the kernel does not reset the
 * connection before the client has read why it was refused. */
static void
refused_closed(evutil_socket_t fd, short what, void *arg)
{
	uint8_t junk[IPC_HEADER_SIZE + CTL_ASK_MAX];

	(void)what;
	(void)arg;
	(void)recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
	close(fd);
}

static void
refuse(int fd, const char *text)
{
	struct ipc_builder b;
	struct timeval tv = { CONTROL_TIMEOUT, 0 };

	ipc_encode_ctl_answer_bare(&b, CTL_DENIED, text);
	(void)ipc_send_now(fd, ROLE_SUPERVISOR, ROLE_SUPERVISOR, MSG_CTL_ANSWER, &b);
	if (event_base_once(base, fd, EV_READ | EV_TIMEOUT, refused_closed, NULL, &tv) == -1)
		close(fd);
}

static struct client *
client_slot(void)
{
	for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (clients[i].link == NULL)
			return &clients[i];
	return NULL;
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct ucred cred;
	struct client *c;
	int fd;

	(void)what;
	(void)arg;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		return;
	if (!peer_allowed(fd, &cred)) {
		log_event("control_refused", "uid=%ld pid=%ld reason=not_admin",
		    (long)cred.uid, (long)cred.pid);
		char text[96];
		snprintf(text, sizeof(text), "permission denied: root or the %s group only",
		    group_name);
		refuse(fd, text);
		return;
	}
	if ((c = client_slot()) == NULL) {
		refuse(fd, "too many control clients");
		return;
	}
	c->uid = cred.uid;
	c->link = ipc_link_new(base, fd, ROLE_SUPERVISOR, ROLE_SUPERVISOR,
	    on_client_frame, on_client_close, c);
}

/* ---- log following ------------------------------------------------------ */

/* True if line has "key=value" ending at a space, a quote or the end. */
static bool
has_pair(const char *line, size_t len, const char *key, const char *value)
{
	char want[CTL_ARG_MAX + 16];
	int n = snprintf(want, sizeof(want), " %s=%s", key, value);

	if (n <= 0 || (size_t)n >= sizeof(want))
		return false;
	for (const char *p = line; (p = memmem(p, len - (size_t)(p - line), want + 1,
	    (size_t)n - 1)) != NULL; p++) {
		bool starts = p == line || p[-1] == ' ';
		size_t end = (size_t)(p - line) + (size_t)n - 1;
		if (starts && (end == len || line[end] == ' ' || line[end] == '"'))
			return true;
	}
	return false;
}

static bool
has_text_nocase(const char *line, size_t len, const char *value)
{
	size_t vlen = strlen(value);

	for (size_t i = 0; vlen > 0 && i + vlen <= len; i++)
		if (strncasecmp(line + i, value, vlen) == 0)
			return true;
	return false;
}

bool
control_line_matches(const char *kind, const char *value, const char *line,
    size_t len)
{
	if (kind == NULL || kind[0] == '\0')
		return true;
	if (strcmp(kind, "session") == 0)
		return has_pair(line, len, "sess", value);
	if (strcmp(kind, "queue") == 0)
		return has_pair(line, len, "qid", value);
	if (strcmp(kind, "address") == 0)
		return has_text_nocase(line, len, value);
	return false;
}

static void
send_log_record(struct client *c, const char *key, const char *value, const char *tag)
{
	static struct ctl_writer w;

	ctl_writer_init(&w, writer_to_client, c);
	ctl_rec_begin(&w);
	if (tag != NULL)
		ctl_field_text(&w, "program", tag);
	ctl_field_text(&w, key, value);
	ctl_writer_finish(&w, CTL_MORE, "");
}

static void
log_tap(const char *tag, const char *line, size_t len)
{
	char text[CTL_VALUE_MAX + 1], num[24];

	/* syslog mode: "<PRIO>text" (lib/log.h) */
	if (len > 0 && line[0] == '<') {
		const char *gt = memchr(line, '>', len < 5 ? len : 5);
		if (gt != NULL) {
			len -= (size_t)(gt + 1 - line);
			line = gt + 1;
		}
	}
	for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		struct client *c = &clients[i];
		if (c->link == NULL || !c->following ||
		    !control_line_matches(c->filter_kind, c->filter_value, line, len))
			continue;
		if (ipc_link_pending(c->link) >= LOG_BACKLOG_MAX) {
			c->lost++;
			continue;
		}
		if (c->lost > 0) {
			snprintf(num, sizeof(num), "%lu", c->lost);
			send_log_record(c, "lost", num, NULL);
			c->lost = 0;
		}
		snprintf(text, sizeof(text), "%.*s", (int)(len < CTL_VALUE_MAX ? len :
		    CTL_VALUE_MAX), line);
		send_log_record(c, "line", text, tag);
	}
}

/* ---- the socket ---------------------------------------------------------- */

static gid_t
admin_group(void)
{
	char *const argv[] = { "groupadd", "--system", group_name, NULL };
	struct group *g;
	int status;

	if ((g = getgrnam(group_name)) != NULL)
		return g->gr_gid;
	pid_t pid = fork();
	if (pid == 0) {
		execv("/usr/sbin/groupadd", argv);
		_exit(127);
	}
	if (pid > 0)
		(void)waitpid(pid, &status, 0);
	if ((g = getgrnam(group_name)) == NULL)
		return (gid_t)-1;
	log_event("group_created", "group=%s", group_name);
	return g->gr_gid;
}

static int
bind_socket(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(sock_path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	if (lstat(sock_path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(sock_path);	/* left by a homemxd that died */
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	mode_t old = umask(0177);	/* never a moment with a wider mode */
	int r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r == -1 || listen(fd, 16) == -1 ||
	    (served_as_root && (chown(sock_path, 0, admin_gid == (gid_t)-1 ? 0 :
	    admin_gid) == -1 || chmod(sock_path, 0660) == -1))) {
		close(fd);
		return -1;
	}
	return fd;
}

void
control_prepare(const struct config *cfg)
{
	snprintf(group_name, sizeof(group_name), "%s", cfg->control_group);
	(void)admin_group();
}

void
control_init(struct event_base *b, const struct config *cfg, bool as_root)
{
	base = b;
	served_as_root = as_root;
	snprintf(group_name, sizeof(group_name), "%s", cfg->control_group);
	for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if ((pendings[i].timer = evtimer_new(base, pending_timeout, &pendings[i])) == NULL)
			fatalx("control: evtimer_new");
	if (as_root)
		admin_gid = admin_group();
	if (ctl_socket_path(cfg, sock_path, sizeof(sock_path)) == -1 ||
	    (listen_fd = bind_socket()) == -1) {
		log_event("control_error", "path=%s errno=\"%s\" action=no_control_socket",
		    sock_path, strerror(errno));
		return;
	}
	ev_accept = event_new(base, listen_fd, EV_READ | EV_PERSIST, on_accept, NULL);
	event_add(ev_accept, NULL);
	rolelog_set_tap(log_tap);
	log_event("control_ready", "path=%s group=%s", sock_path, group_name);
}

void
control_stop(void)
{
	if (listen_fd == -1)
		return;
	event_free(ev_accept);
	close(listen_fd);
	listen_fd = -1;
	(void)unlink(sock_path);
	for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (clients[i].link != NULL && clients[i].following)
			client_send_bare(&clients[i], CTL_OK, "homemxd is stopping");
}
