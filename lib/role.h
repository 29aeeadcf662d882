/*
 * lib/role.h - the common life of a role process (smtpd, lookup, queue, ...).
 *
 * Owns: the exec contract between homemxd and a role, written down once:
 *	fd 3	control link to the supervisor (SOCK_SEQPACKET)
 *	fd 4	the validated config text (a memfd, read once)
 *	fd 5..	listening sockets, when the role has any (-n COUNT)
 *	argv	-u USER   drop to this user (root only); absent = demo mode
 *		-r DIR    chroot into DIR before dropping (with -u)
 *		-k KINDS  the kind of each listening fd: "smtp,submission,..."
 *		-S        log for syslog: "<PRIO>text" lines (lib/log.h)
 *		-D        debug logging
 *	fd 0	/dev/null; fd 1, 2: the role's log pipe, read by homemxd
 * After the drop (or at once in demo mode) every role sets no_new_privs
 * and holds no capability; a role with a seccomp profile (role_ops.sandbox)
 * then runs under it from init on (lib/sandbox.h).
 * The supervisor then sends MSG_SUP_LINK frames, one per peer role, each
 * carrying this role's end of a socketpair, and may later send more (after
 * a peer restarted) or MSG_SUP_RELOAD (followed, for smtpd and submission,
 * by MSG_SUP_TLS with the certificate). SIGTERM asks the role to drain.
 */
#ifndef HMX_ROLE_H
#define HMX_ROLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ipc.h"
#include "sandbox.h"

struct event_base;

/* The system user of each role; mxctl uses USER_LOOKUP for the store
 * and USER_DKIM for keys. */
#define USER_SMTPD	"_hmx-smtpd"
#define USER_LOOKUP	"_hmx-lookup"
#define USER_QUEUE	"_hmx-queue"
#define USER_MAIL	"_hmx-mail"
#define USER_SUBMIT	"_hmx-submit"
#define USER_DKIM	"_hmx-dkim"
#define USER_RELAY	"_hmx-relay"
#define USER_SCREEN	"_hmx-screen"

#define ROLE_FD_CONTROL	3
#define ROLE_FD_CONFIG	4
#define ROLE_FD_LISTEN0	5

struct role_ops {
	enum role	role;
	/* As started (maybe root), before chroot/setuid: open what the
	 * unprivileged role can no longer open (TLS keys). May be NULL. */
	void	(*preinit)(struct event_base *, const struct config *);
	/* After the privilege drop. listen_fds has nlisten entries. */
	void	(*init)(struct event_base *, const struct config *,
		    const int *listen_fds, size_t nlisten);
	/* A (new) link to peer: the role creates an ipc_link on fd and
	 * replaces any previous link to that peer. */
	void	(*on_link)(enum role peer, int fd);
	/* The supervisor validated a new config; apply what can change. */
	void	(*on_reload)(const struct config *);
	/* The TLS roles (smtpd, submission): the certificate and key read
	 * again by the supervisor at the reload (MSG_SUP_TLS, lib/tlspem.h);
	 * the role owns fd. NULL for every other role. */
	void	(*on_tls)(int fd, uint32_t chain_len);
	/* SIGTERM: stop taking work, finish what was promised, then call
	 * role_exit(). */
	void	(*on_shutdown)(void);
	/* The system calls the role may make from init on (lib/sandbox.c);
	 * NULL: no filter (the roles that never read the network). */
	const struct sandbox_profile *sandbox;
};

int			 role_main(int argc, char **argv, const struct role_ops *);
void			 role_exit(int code);
struct event_base	*role_base(void);
const struct config	*role_config(void);
/* The kind (smtp, submission, submissions) of listening fd number i. */
enum listen_kind	 role_listen_kind(size_t i);
/* True once the role runs chrooted: its files are then under "/". */
bool			 role_chrooted(void);

/* chroot (if dir) and drop to user, or fatal. */
void	privdrop(const char *user, const char *chroot_dir);

#endif
