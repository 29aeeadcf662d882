/*
 * lib/privdrop.c - chroot and drop to a user for good (declared in role.h).
 *
 * Owns: nothing; the one sequence every process that gives up root uses:
 * the roles (lib/role.c) and mxctl, which works as the store owner
 * (admin/mxctl.c, admin/cmd_dkim.c). Why a file of its own: mxctl needs
 * this and nothing else of role.c, so it does not pull in the role's event
 * loop and seccomp code (and their libraries) with it.
 */
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "log.h"
#include "role.h"

void
privdrop(const char *user, const char *chroot_dir)
{
	struct passwd *pw;

	if ((pw = getpwnam(user)) == NULL)
		fatalx("privdrop: no such user '%s'", user);
	if (chroot_dir != NULL) {
		if (chroot(chroot_dir) == -1)
			fatal("chroot %s", chroot_dir);
		if (chdir("/") == -1)
			fatal("chdir /");
	}
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("privdrop: cannot drop to %s", user);
	/* A drop that can be undone is no drop. */
	if (pw->pw_uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
		fatalx("privdrop: could regain root");
}
