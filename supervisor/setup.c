/*
 * supervisor/setup.c - what must happen as root before any role starts.
 *
 * Owns: the system users of the roles, the group of sendmail(8), the
 * ownership and modes of the spool, store, Maildir root and the empty
 * chroot, and the listening sockets (TCP, and the UNIX socket sendmail(8)
 * connects to: only the group homemx-send may, and sendmail is installed
 * setgid to it, never setuid). Why in the supervisor: these need root once, at start; the roles
 * themselves never hold root after their preinit step.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
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

/* groupadd(8), like useradd above: no shell, fixed arguments. */
void
setup_group(const char *name)
{
	char *const argv[] = { "groupadd", "--system", (char *)name, NULL };
	int status;
	pid_t pid;

	if (getgrnam(name) != NULL)
		return;
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		execv("/usr/sbin/groupadd", argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) == -1)
		fatal("waitpid groupadd");
	if (getgrnam(name) == NULL)
		fatalx("groupadd %s failed (status %d)", name, status);
	log_event("group_created", "group=%s", name);
}

bool
setup_has_local_listener(const struct config *c)
{
	for (size_t i = 0; i < c->nlisten; i++)
		if (c->listen[i].kind == LISTEN_LOCAL)
			return true;
	return false;
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

/*
 * The directory of the local socket: root-owned, the group homemx-send
 * may enter it, nobody else (a mode on the socket alone is not honoured
 * by every system; the directory's is). Not as root (demo): the caller's.
 */
static gid_t
prepare_socket_dir(const char *sock_path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;
	struct group *gr;

	snprintf(dir, sizeof(dir), "%s", sock_path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		fatalx("listen local %s: the socket needs a directory of its own", sock_path);
	*slash = '\0';
	if (mkdir_p(dir, 0750) == -1)
		fatal("mkdir %s", dir);
	if (geteuid() != 0)
		return getegid();
	if ((gr = getgrnam(GROUP_SENDMAIL)) == NULL)
		fatalx("no group %s", GROUP_SENDMAIL);
	if (chown(dir, 0, gr->gr_gid) == -1 || chmod(dir, 0750) == -1)
		fatal("chown/chmod %s", dir);
	return gr->gr_gid;
}

/* A stale socket of an earlier run goes; any other file there stays and
 * stops us (a typo must not delete someone's file). */
static void
remove_stale_socket(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return;
	if (!S_ISSOCK(st.st_mode))
		fatalx("listen local %s: exists and is not a socket", path);
	if (unlink(path) == -1)
		fatal("unlink %s", path);
}

static int
setup_local_listener(const struct listen_conf *l)
{
	const struct sockaddr_un *un = (const struct sockaddr_un *)&l->addr;
	gid_t gid = prepare_socket_dir(un->sun_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	mode_t old;

	if (fd == -1)
		fatal("socket for %s", l->text);
	remove_stale_socket(un->sun_path);
	old = umask(0117);	/* no window where the socket is 0777 */
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) == -1)
		fatal("bind %s", l->text);
	umask(old);
	if (chown(un->sun_path, geteuid() == 0 ? 0 : (uid_t)-1, gid) == -1 ||
	    chmod(un->sun_path, 0660) == -1)
		fatal("chown/chmod %s", un->sun_path);
	if (listen(fd, 256) == -1)
		fatal("listen %s", l->text);
	return fd;
}

int
setup_listener(const struct listen_conf *l)
{
	int on = 1;
	int fd;

	if (l->kind == LISTEN_LOCAL)
		return setup_local_listener(l);
	fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

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
