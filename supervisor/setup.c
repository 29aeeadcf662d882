/*
 * supervisor/setup.c - what must happen as root before any role starts.
 *
 * Owns: the system users of the roles, the ownership and modes of the
 * spool, store, Maildir root and the empty chroot, and the listening
 * sockets. Why in the supervisor: these need root once, at start; the roles
 * themselves never hold root after their preinit step.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "setup.h"
#include "util.h"

/* useradd(8) is run directly with execv: no shell, fixed arguments. */
static void
create_system_user(const char *name)
{
	char *const argv[] = { "useradd", "--system", "--no-create-home",
	    "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
	    "--user-group", (char *)name, NULL };
	int status;
	pid_t pid = fork();

	if (pid == -1)
		fatal("fork");
	if (pid == 0) {
		execv("/usr/sbin/useradd", argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) == -1)
		fatal("waitpid useradd");
	if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && getpwnam(name) == NULL))
		fatalx("useradd %s failed (status %d)", name, status);
	log_event("user_created", "user=%s", name);
}

void
setup_user(const char *name)
{
	if (getpwnam(name) == NULL)
		create_system_user(name);
}

static void
prepare_dir(const char *path, const char *owner, mode_t mode, bool as_root)
{
	struct passwd *pw;

	if (mkdir_p(path, 0755) == -1)
		fatal("mkdir %s", path);
	if (!as_root) {
		if (chmod(path, 0700) == -1)
			fatal("chmod %s", path);
		return;
	}
	if ((pw = getpwnam(owner)) == NULL)
		fatalx("no user %s", owner);
	if (chown(path, pw->pw_uid, pw->pw_gid) == -1 || chmod(path, mode) == -1)
		fatal("chown/chmod %s", path);
}

/* The chroot must be root-owned, not writable by anyone else, and empty. */
static void
prepare_chroot(const char *path, bool as_root)
{
	struct stat st;
	DIR *d;
	struct dirent *e;

	if (mkdir_p(path, 0755) == -1)
		fatal("mkdir %s", path);
	if (!as_root)
		return;
	if (chown(path, 0, 0) == -1 || chmod(path, 0755) == -1)
		fatal("chown/chmod %s", path);
	if (stat(path, &st) == -1)
		fatal("stat %s", path);
	if ((d = opendir(path)) == NULL)
		fatal("opendir %s", path);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			fatalx("chroot_dir %s is not empty (found %s)", path, e->d_name);
	closedir(d);
}

void
setup_dirs(const struct config *c, bool as_root)
{
	prepare_dir(c->spool_dir, USER_QUEUE, 0700, as_root);
	prepare_dir(c->store_dir, USER_LOOKUP, 0700, as_root);
	prepare_dir(c->maildir_root, USER_MAIL, 0750, as_root);
	prepare_dir(c->dkim_key_dir, USER_DKIM, 0700, as_root);
	prepare_dir(c->screen.screen_dir, USER_SCREEN, 0700, as_root);
	prepare_dir(c->relay_state_dir, USER_RELAY, 0750, as_root);	/* relay/state.h */
	prepare_chroot(c->chroot_dir, as_root);
}

int
setup_listener(const struct listen_conf *l)
{
	int on = 1;
	int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd == -1)
		fatal("socket for %s", l->text);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		fatal("SO_REUSEADDR");
	if (l->addr.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
		fatal("IPV6_V6ONLY");
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) == -1)
		fatal("bind %s", l->text);
	if (listen(fd, 256) == -1)
		fatal("listen %s", l->text);
	return fd;
}
