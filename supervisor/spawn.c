/*
 * supervisor/spawn.c - the child's side of starting a role: fds 0-2 and
 * 3, 4, 5.. as lib/role.h numbers them, the command line, execv.
 *
 * Owns no state: it runs in the forked child only, from a plan homemxd
 * filled before fork() (supervisor/supervisor.c decides which role, which
 * listeners, which user and jail). Kept apart so that what a role receives
 * across exec can be read in one place.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "ipc_decode.h"
#include "spawn.h"

/* When execv failed: say why on the control link (now fd 3), as the role
 * itself would have with MSG_ROLE_FATAL. */
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

/*
 * With every fd already moved to 64 and up: stdin is /dev/null, stdout
 * and stderr the role's log pipe (supervisor/rolelog.c), never homemxd's
 * own stderr.
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

/* Moves everything out of the way of the fixed numbers first, then puts
 * each fd on its number and closes the rest; _exit(126) on failure. */
static void
arrange_fds(const struct spawn_plan *p)
{
	int ctl = fcntl(p->control_fd, F_DUPFD, 64);
	int conf = fcntl(p->conf_fd, F_DUPFD, 64);
	int logw = fcntl(p->log_fd, F_DUPFD, 64);
	int lfd[CONFIG_MAX_LISTEN];

	for (size_t i = 0; i < p->nlisten; i++)
		lfd[i] = fcntl(p->listen_fds[i], F_DUPFD, 64);
	if (ctl == -1 || conf == -1 || logw == -1 || child_stdio(logw) == -1 ||
	    dup2(ctl, ROLE_FD_CONTROL) == -1 ||
	    dup2(conf, ROLE_FD_CONFIG) == -1)
		_exit(126);
	for (size_t i = 0; i < p->nlisten; i++)
		if (lfd[i] == -1 || dup2(lfd[i], ROLE_FD_LISTEN0 + (int)i) == -1)
			_exit(126);
	close_range(ROLE_FD_LISTEN0 + (unsigned)p->nlisten, ~0U, 0);
}

static const char *
listen_kind_word(enum listen_kind k)
{
	return k == LISTEN_SMTP ? "smtp" : k == LISTEN_SUBMISSION ? "submission" :
	    k == LISTEN_LOCAL ? "local" : "submissions";
}

void
spawn_exec(const struct spawn_plan *p)
{
	char path[PATH_MAX + 64], nbuf[16];
	/* which listener is which kind, in fd order: e.g. "submission,submissions" */
	char kinds[CONFIG_MAX_LISTEN * 12] = "";
	char *argv[20];
	int argc = 0;

	setpgid(0, 0);	/* Ctrl-C reaches only the supervisor, which drains */
	signal(SIGPIPE, SIG_DFL);
	arrange_fds(p);

	snprintf(path, sizeof(path), "%s/%s", p->bindir, p->binary);
	snprintf(nbuf, sizeof(nbuf), "%zu", p->nlisten);
	argv[argc++] = (char *)p->binary;
	argv[argc++] = "-n";
	argv[argc++] = nbuf;
	for (size_t i = 0; i < p->nlisten; i++) {
		size_t o = strlen(kinds);
		snprintf(kinds + o, sizeof(kinds) - o, "%s%s", i > 0 ? "," : "",
		    listen_kind_word(p->listen_kinds[i]));
	}
	if (p->nlisten > 0) {
		argv[argc++] = "-k";
		argv[argc++] = kinds;
	}
	if (p->user != NULL) {
		argv[argc++] = "-u";
		argv[argc++] = (char *)p->user;
	}
	if (p->jail != NULL) {
		argv[argc++] = "-r";
		argv[argc++] = (char *)p->jail;
	}
	if (p->syslog)
		argv[argc++] = "-S";
	if (p->debug)
		argv[argc++] = "-D";
	argv[argc] = NULL;
	execv(path, argv);
	exec_failed(p->role, path);
}
