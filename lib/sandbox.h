/*
 * lib/sandbox.h - what a role gives up after its privilege drop: root's
 * capabilities for good (no_new_privs, empty capability sets) and, for the
 * roles that read the network, every system call they do not need (a
 * seccomp filter built with libseccomp from the tables in sandbox.c).
 *
 * Order in lib/role.c, as started by homemxd:
 *	sandbox_drop_bounding_set()	while still root (needs CAP_SETPCAP)
 *	privdrop()			chroot, setgroups, setresgid, setresuid
 *	sandbox_lock_privileges()	no_new_privs, ambient/inheritable cleared
 *	sandbox_enter(profile)		the syscall filter, when the role has one
 * A system call outside the profile is trapped: the role logs one line
 * (event=seccomp_violation, with the call's name) and dies of SIGSYS,
 * which homemxd reports as event=seccomp_kill role=... signal=31.
 */
#ifndef HMX_SANDBOX_H
#define HMX_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* (argument[arg] & mask) == value; arguments that are C ints are compared
 * on their low 32 bits, which are all the kernel looks at. */
struct sandbox_cmp {
	unsigned	 arg;
	uint64_t	 mask;
	uint64_t	 value;
};

#define SANDBOX_CMP_MAX	2

/*
 * One allowed system call: with any arguments (ncmp 0), or only when every
 * one of its ncmp comparisons holds. Several rules for one call are
 * alternatives (libseccomp ORs them).
 */
struct sandbox_rule {
	const char		*name;	/* as libseccomp spells it: "openat" */
	unsigned		 ncmp;
	struct sandbox_cmp	 cmp[SANDBOX_CMP_MAX];
};

/* The calls one piece of code needs, and why (shown by sandbox_test). */
struct sandbox_group {
	const char			*why;
	const struct sandbox_rule	*rules;
	size_t				 nrules;
};

/* A role's filter: a NULL-terminated list of groups. */
struct sandbox_profile {
	const char			*name;
	const struct sandbox_group	*const *groups;
};

/* The profiles of the network-facing roles (tables in sandbox.c). */
extern const struct sandbox_profile sandbox_profile_smtpd;
extern const struct sandbox_profile sandbox_profile_submission;
extern const struct sandbox_profile sandbox_profile_relay;
extern const struct sandbox_profile sandbox_profile_screen;

/*
 * Empties the capability bounding set, so that nothing this process or an
 * image it executes does can bring a capability back. Needs CAP_SETPCAP:
 * call it as root, before privdrop(). -1 with errno on failure.
 */
int	sandbox_drop_bounding_set(void);

/*
 * After privdrop(): sets no_new_privs (execve can never grant privileges
 * again: set-user-ID bits and file capabilities are ignored) and clears the
 * ambient, inheritable, permitted and effective capability sets. Fatal if
 * any of it does not hold afterwards. A process still running as uid 0 (a
 * role started by hand as root, without -u) keeps its capabilities and
 * only gets no_new_privs.
 */
void	sandbox_lock_privileges(void);

/*
 * Installs the filter of profile p for role role (a name for the log).
 * Fatal if the filter can not be built or loaded. When the environment
 * names this role in HOMEMX_SANDBOX_SELFTEST, the role then calls a system
 * call no profile allows (mount), to show that the filter kills it and
 * that homemxd says so; this can only make the role die, never allow more.
 */
void	sandbox_enter(const struct sandbox_profile *p, const char *role);

/* For the tests: the number of a syscall name on this machine, or -1. */
int	sandbox_syscall_number(const char *name);
/* True if profile p lets call name through with these arguments. */
bool	sandbox_profile_allows(const struct sandbox_profile *p, const char *name,
	    const uint64_t args[6]);

#endif
