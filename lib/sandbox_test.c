/*
 * lib/sandbox_test.c - the profiles as tables (every name is a real system
 * call, dangerous calls and arguments are refused) and as loaded filters
 * in forked children: allowed calls work, a refused one ends the child
 * with SIGSYS after one event=seccomp_violation line naming the call, and
 * the capability drop leaves nothing behind. The screen's child also does
 * what its Berkeley DB memory and its watchdog do (in a directory of its
 * own under /tmp), so the profile is shown to carry that work.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>
#include <cmocka.h>

#include <linux/capability.h>

#include "log.h"
#include "sandbox.h"

static const struct sandbox_profile *const profiles[] = {
	&sandbox_profile_smtpd, &sandbox_profile_submission, &sandbox_profile_relay,
	&sandbox_profile_screen,
};
#define NPROFILES	(sizeof(profiles) / sizeof(profiles[0]))

static void
test_every_name_is_a_system_call(void **state)
{
	(void)state;
	for (size_t p = 0; p < NPROFILES; p++)
		for (size_t g = 0; profiles[p]->groups[g] != NULL; g++) {
			const struct sandbox_group *grp = profiles[p]->groups[g];
			assert_non_null(grp->why);
			for (size_t i = 0; i < grp->nrules; i++)
				if (sandbox_syscall_number(grp->rules[i].name) == -1)
					fail_msg("profile %s, group \"%s\": got unknown name %s, "
					    "want a system call", profiles[p]->name, grp->why,
					    grp->rules[i].name);
		}
}

struct allow_case {
	const struct sandbox_profile	*p;
	const char			*name;
	uint64_t			 args[6];
	bool				 want;
};

#define SMTPD	&sandbox_profile_smtpd
#define SUBMIT	&sandbox_profile_submission
#define RELAY	&sandbox_profile_relay
#define SCREEN	&sandbox_profile_screen

static const struct allow_case allow_cases[] = {
	/* what the roles do all day */
	{ SMTPD, "accept4", { 5, 0, 0, SOCK_NONBLOCK }, true },
	{ SMTPD, "epoll_wait", { 0 }, true },
	{ SMTPD, "recvmsg", { 0 }, true },
	{ SMTPD, "ioctl", { 7, FIONREAD }, true },
	{ SMTPD, "fcntl", { 7, F_SETFL, O_NONBLOCK }, true },
	{ SMTPD, "mmap", { 0, 4096, PROT_READ | PROT_WRITE }, true },
	{ SMTPD, "openat", { (uint64_t)AT_FDCWD, 0, O_RDONLY | O_CLOEXEC }, true },
	{ SMTPD, "openat", { (uint64_t)AT_FDCWD, 0, O_RDONLY | O_DIRECTORY }, true },
	{ SMTPD, "rt_sigaction", { SIGTERM }, true },
	{ SMTPD, "setsockopt", { 5, IPPROTO_TCP, TCP_NODELAY }, true },
	{ SMTPD, "getsockname", { 5 }, true },
	/* the kernel reads an int: junk above bit 31 changes nothing */
	{ SMTPD, "setsockopt", { 5, 0xdead00000000ULL | IPPROTO_TCP, TCP_NODELAY }, true },
	{ RELAY, "getsockopt", { 5, SOL_SOCKET, SO_ERROR }, true },
	{ RELAY, "setsockopt", { 5, IPPROTO_TCP, TCP_NODELAY }, true },
	{ SUBMIT, "memfd_create", { 0, 0 }, true },
	{ SUBMIT, "fcntl", { 9, F_ADD_SEALS, F_SEAL_WRITE }, true },
	{ RELAY, "socket", { AF_INET, SOCK_STREAM }, true },
	{ RELAY, "socket", { AF_INET6, SOCK_DGRAM }, true },
	{ RELAY, "connect", { 0 }, true },
	{ RELAY, "openat", { 7, 0, O_WRONLY | O_CREAT | O_TRUNC }, true },
	{ RELAY, "renameat", { 7, 0, 7 }, true },
	{ SCREEN, "socket", { AF_INET, SOCK_DGRAM }, true },
	{ SCREEN, "socket", { AF_INET6, SOCK_STREAM }, true },
	{ SCREEN, "connect", { 0 }, true },
	{ SCREEN, "setsockopt", { 5, IPPROTO_TCP, TCP_NODELAY }, true },
	{ SCREEN, "recvmsg", { 0 }, true },
	{ SCREEN, "openat", { (uint64_t)AT_FDCWD, 0, O_RDWR | O_CREAT | O_EXCL }, true },
	{ SCREEN, "pwrite64", { 9 }, true },
	{ SCREEN, "fdatasync", { 9 }, true },
	{ SCREEN, "rename", { 0 }, true },
	{ SCREEN, "unlink", { 0 }, true },
	{ SCREEN, "mmap", { 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 9 }, true },
	{ SCREEN, "fcntl", { 9, F_SETLK }, true },
	{ SCREEN, "fcntl", { 9, F_SETLKW }, true },
	{ SCREEN, "kill", { 4242, 0 }, true },
	{ SCREEN, "rt_sigaction", { SIGALRM }, true },
	{ SCREEN, "alarm", { 5 }, true },
	{ SCREEN, "setitimer", { ITIMER_REAL }, true },
	/* what an attacker would like to do */
	{ SMTPD, "execve", { 0 }, false },
#ifndef __SANITIZE_ADDRESS__	/* LeakSanitizer needs these (sandbox.c) */
	{ SMTPD, "ptrace", { 0 }, false },
	{ SMTPD, "clone", { 0 }, false },
	{ SMTPD, "prctl", { PR_SET_DUMPABLE, 1 }, false },
	{ RELAY, "ptrace", { 0 }, false },
#endif
	{ SMTPD, "mount", { 0 }, false },
	{ SMTPD, "unshare", { 0 }, false },
	{ SMTPD, "setns", { 0 }, false },
	{ SMTPD, "bpf", { 0 }, false },
	{ SMTPD, "fork", { 0 }, false },
	{ SMTPD, "vfork", { 0 }, false },
	{ SMTPD, "clone3", { 0 }, false },
	{ SMTPD, "execveat", { 0 }, false },
	{ SMTPD, "setuid", { 0 }, false },
	{ SMTPD, "chroot", { 0 }, false },
	{ SMTPD, "setsockopt", { 5, SOL_SOCKET, SO_ATTACH_FILTER }, false },
	{ SMTPD, "setsockopt", { 5, IPPROTO_TCP, TCP_ULP }, false },
	{ SMTPD, "getsockopt", { 5, SOL_SOCKET, SO_PEERCRED }, false },
	{ SMTPD, "socket", { AF_INET, SOCK_STREAM }, false },
	{ SMTPD, "connect", { 0 }, false },
	{ SMTPD, "memfd_create", { 0 }, false },
	{ SMTPD, "mmap", { 0, 4096, PROT_READ | PROT_EXEC }, false },
	{ SMTPD, "mprotect", { 0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC }, false },
	{ SMTPD, "openat", { (uint64_t)AT_FDCWD, 0, O_WRONLY }, false },
	{ SMTPD, "openat", { (uint64_t)AT_FDCWD, 0, O_RDONLY | O_CREAT }, false },
	{ SMTPD, "openat", { (uint64_t)AT_FDCWD, 0, O_RDWR | O_TMPFILE }, false },
	{ SMTPD, "openat", { (uint64_t)AT_FDCWD, 0, O_APPEND }, false },
	{ SMTPD, "ioctl", { 0, TIOCSTI }, false },
	{ SMTPD, "fcntl", { 7, F_SETOWN, 1 }, false },
	{ SMTPD, "rt_sigaction", { SIGSYS }, false },
	{ SMTPD, "kill", { 1, SIGKILL }, false },
	{ SMTPD, "unlinkat", { 0 }, false },
	{ RELAY, "socket", { AF_UNIX, SOCK_STREAM }, false },
	{ RELAY, "socket", { AF_NETLINK, SOCK_RAW }, false },
	{ RELAY, "socket", { AF_PACKET, SOCK_RAW }, false },
	{ RELAY, "accept4", { 0 }, false },
	{ RELAY, "execve", { 0 }, false },
	{ SUBMIT, "execve", { 0 }, false },
	{ SUBMIT, "socket", { AF_INET, SOCK_STREAM }, false },
	/* the screen: DNS and its memory, nothing more */
	{ SCREEN, "execve", { 0 }, false },
	{ SCREEN, "execveat", { 0 }, false },
	{ SCREEN, "mount", { 0 }, false },
	{ SCREEN, "unshare", { 0 }, false },
#ifndef __SANITIZE_ADDRESS__
	{ SCREEN, "ptrace", { 0 }, false },
	{ SCREEN, "clone", { 0 }, false },
	{ SCREEN, "rt_sigaction", { SIGSEGV }, false },
	{ SCREEN, "tgkill", { 4242, 4242, SIGKILL }, false },
#endif
	{ SCREEN, "fork", { 0 }, false },
	{ SCREEN, "socket", { AF_UNIX, SOCK_STREAM }, false },
	/* a content scanner's socket: this exact type only */
	{ SCREEN, "socket", { AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC }, true },
	{ SCREEN, "socket", { AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC }, false },
	{ SCREEN, "getsockopt", { 5, SOL_SOCKET, SO_ERROR }, true },
	{ SCREEN, "socket", { AF_NETLINK, SOCK_RAW }, false },
	{ SCREEN, "socket", { AF_PACKET, SOCK_RAW }, false },
	{ SCREEN, "accept4", { 0 }, false },
	{ SCREEN, "bind", { 0 }, false },
	{ SCREEN, "listen", { 0 }, false },
	{ SCREEN, "setsockopt", { 5, SOL_SOCKET, SO_ATTACH_FILTER }, false },
	{ SCREEN, "getsockopt", { 5, SOL_SOCKET, SO_PEERCRED }, false },
	{ SCREEN, "mmap", { 0, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, 9 }, false },
	{ SCREEN, "mprotect", { 0, 4096, PROT_READ | PROT_EXEC }, false },
	{ SCREEN, "memfd_create", { 0 }, false },
	{ SCREEN, "kill", { 1, SIGKILL }, false },
	{ SCREEN, "kill", { 4242, SIGTERM }, false },
	{ SCREEN, "rt_sigaction", { SIGSYS }, false },
	{ SCREEN, "setitimer", { ITIMER_PROF }, false },
	{ SCREEN, "fcntl", { 9, F_SETOWN, 1 }, false },
	{ SCREEN, "ioctl", { 0, TIOCSTI }, false },
	{ SCREEN, "symlink", { 0 }, false },
	{ SCREEN, "link", { 0 }, false },
	{ SCREEN, "chmod", { 0 }, false },
	{ SCREEN, "fchmod", { 0 }, false },
	{ SCREEN, "chown", { 0 }, false },
	{ SCREEN, "setuid", { 0 }, false },
	{ SCREEN, "chroot", { 0 }, false },
	/* what the screen may do, the others may not */
	{ SMTPD, "openat", { (uint64_t)AT_FDCWD, 0, O_RDWR | O_CREAT }, false },
	{ SMTPD, "pwrite64", { 9 }, false },
	{ SMTPD, "rename", { 0 }, false },
	{ SMTPD, "kill", { 4242, 0 }, false },
	{ SMTPD, "rt_sigaction", { SIGALRM }, false },
	{ RELAY, "openat", { (uint64_t)AT_FDCWD, 0, O_RDWR | O_CREAT }, false },
	{ RELAY, "unlink", { 0 }, false },
	{ RELAY, "renameat", { (uint64_t)AT_FDCWD, 0, 7 }, false },
	{ RELAY, "unlinkat", { (uint64_t)AT_FDCWD, 0, 0 }, false },
	{ SUBMIT, "fcntl", { 9, F_SETLK }, false },
};

static void
test_profiles_allow_and_refuse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(allow_cases) / sizeof(allow_cases[0]); i++) {
		const struct allow_case *c = &allow_cases[i];
		bool got = sandbox_profile_allows(c->p, c->name, c->args);
		if (got != c->want)
			fail_msg("profile %s, %s(%llu, %llu, %llu): got %s, want %s",
			    c->p->name, c->name, (unsigned long long)c->args[0],
			    (unsigned long long)c->args[1], (unsigned long long)c->args[2],
			    got ? "allowed" : "refused", c->want ? "allowed" : "refused");
	}
}

/* ---- loaded filters, in children ------------------------------------------------- */

enum child_act { ACT_ALLOWED_ONLY, ACT_UNSHARE, ACT_UNIX_SOCKET, ACT_EXEC_MEMORY,
	ACT_SIGSYS_HANDLER, ACT_SELFTEST, ACT_SIGNAL_SELF };

/* The screen child's directory (made by the test, before the fork). */
static char	screen_dir[64];

static void
on_alarm(int sig)
{
	(void)sig;
}

/* What the screen's memory and watchdog do, under its filter: a file
 * created, written, locked, mapped shared, synced, cut, renamed and
 * removed, a directory made and listed, a process asked whether it lives,
 * SIGALRM armed and disarmed. An exit code 3x names the step that failed. */
static void
screen_memory_calls(void)
{
	char a[128], b[128], d[128], cwd[64];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1 };
	struct sigaction sa;

	snprintf(a, sizeof(a), "%s/__db.001", screen_dir);
	snprintf(b, sizeof(b), "%s/log.0000000001", screen_dir);
	snprintf(d, sizeof(d), "%s/memory", screen_dir);
	int fd = open(a, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd == -1 || pwrite(fd, "region", 6, 4090) != 6 || fdatasync(fd) == -1)
		_exit(30);
	if (fcntl(fd, F_SETLK, &fl) == -1 || ftruncate(fd, 8192) == -1)
		_exit(31);
	void *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED || munmap(m, 8192) == -1)
		_exit(32);
	close(fd);
	if (rename(a, b) == -1 || unlink(b) == -1 || mkdir(d, 0700) == -1)
		_exit(33);
	DIR *dir = opendir(screen_dir);
	if (dir == NULL || readdir(dir) == NULL || closedir(dir) == -1)
		_exit(34);
	if (getcwd(cwd, sizeof(cwd)) == NULL || kill(getpid(), 0) == -1)
		_exit(35);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) == -1)
		_exit(36);
	alarm(5);
	alarm(0);
}

/* In the child: the calls a role makes, then maybe one it must not. */
static void __attribute__((noreturn))
child_body(const struct sandbox_profile *p, enum child_act act)
{
	struct rlimit nocore = { 0, 0 };
	char buf[16];

	setrlimit(RLIMIT_CORE, &nocore);
	log_init("sandbox_test", LOG_SINK_STDERR);
	sandbox_lock_privileges();
	sandbox_enter(p, p->name);
	/* allowed everywhere: memory, time, fds */
	void *m = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		_exit(10);
	munmap(m, 65536);
	if (write(STDERR_FILENO, "alive\n", 6) != 6 || getpid() <= 0)
		_exit(11);
	if (p == &sandbox_profile_relay || p == &sandbox_profile_screen) {
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s == -1)
			_exit(12);
		close(s);
	}
	if (p == &sandbox_profile_screen)
		screen_memory_calls();
	switch (act) {
	case ACT_ALLOWED_ONLY:
		break;
	case ACT_UNSHARE:
		syscall(SYS_unshare, 0);	/* a no-op, had it been allowed */
		break;
	case ACT_UNIX_SOCKET:
		socket(AF_UNIX, SOCK_STREAM, 0);
		break;
	case ACT_EXEC_MEMORY:
		mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		break;
	case ACT_SIGSYS_HANDLER: {
		/* what an intruder would try first: take over SIGSYS */
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigaction(SIGSYS, &sa, NULL);
		break;
	}
	case ACT_SELFTEST:
		break;	/* sandbox_enter() already did it */
	case ACT_SIGNAL_SELF:
		kill(getpid(), SIGUSR1);	/* had it been allowed: death by SIGUSR1 */
		break;
	}
	snprintf(buf, sizeof(buf), "survived\n");
	if (write(STDERR_FILENO, buf, strlen(buf)) < 0)
		_exit(13);
	_exit(0);
}

struct child_result {
	int	status;
	char	log[8192];
};

static void
make_screen_dir(void)
{
	snprintf(screen_dir, sizeof(screen_dir), "/tmp/hmx-sandbox-test-XXXXXX");
	assert_non_null(mkdtemp(screen_dir));
}

/* What screen_memory_calls() may leave, however far it got. */
static void
remove_screen_dir(void)
{
	static const char *const left[] = { "__db.001", "log.0000000001" };
	char path[128];

	for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", screen_dir, left[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/memory", screen_dir);
	rmdir(path);
	assert_int_equal(rmdir(screen_dir), 0);
}

static void
run_child(const struct sandbox_profile *p, enum child_act act, struct child_result *r)
{
	int pfd[2];
	size_t n = 0;

	if (p == &sandbox_profile_screen)
		make_screen_dir();

	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		close(pfd[0]);
		dup2(pfd[1], STDERR_FILENO);
		child_body(p, act);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t got = read(pfd[0], r->log + n, sizeof(r->log) - 1 - n);
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	r->log[n] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &r->status, 0), pid);
	if (p == &sandbox_profile_screen)
		remove_screen_dir();
}

/* Died of SIGSYS with want_line logged; after the allowed calls, unless
 * the refused call came first (the self-test, inside sandbox_enter). */
static void
assert_killed(const struct child_result *r, const char *want_line, bool after_allowed)
{
	if (!WIFSIGNALED(r->status) || WTERMSIG(r->status) != SIGSYS)
		fail_msg("got status 0x%x, want death by SIGSYS; log:\n%s", r->status, r->log);
	if (strstr(r->log, want_line) == NULL)
		fail_msg("got log:\n%s\nwant a line with: %s", r->log, want_line);
	assert_true((strstr(r->log, "alive\n") != NULL) == after_allowed);
	assert_null(strstr(r->log, "survived"));
}

static void
assert_killed_after(const struct child_result *r, const char *want_line)
{
	assert_killed(r, want_line, true);
}

static void
test_allowed_calls_keep_the_role_alive(void **state)
{
	struct child_result r;

	(void)state;
	for (size_t i = 0; i < NPROFILES; i++) {
		run_child(profiles[i], ACT_ALLOWED_ONLY, &r);
		if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
			fail_msg("profile %s: got status 0x%x, want exit 0; log:\n%s",
			    profiles[i]->name, r.status, r.log);
		assert_non_null(strstr(r.log, "event=sandbox role="));
		assert_non_null(strstr(r.log, "survived\n"));
	}
}

static void
test_refused_call_is_logged_then_kills(void **state)
{
	struct child_result r;

	(void)state;
	run_child(&sandbox_profile_smtpd, ACT_UNSHARE, &r);
	assert_killed_after(&r, "event=seccomp_violation role=smtpd syscall=unshare nr=");
	run_child(&sandbox_profile_relay, ACT_UNIX_SOCKET, &r);
	assert_killed_after(&r, "event=seccomp_violation role=relay syscall=socket nr=");
	run_child(&sandbox_profile_screen, ACT_UNIX_SOCKET, &r);
	assert_killed_after(&r, "event=seccomp_violation role=screen syscall=socket nr=");
	/* kill(pid, 0) is the screen's; a real signal is not */
	run_child(&sandbox_profile_screen, ACT_SIGNAL_SELF, &r);
	assert_killed_after(&r, "event=seccomp_violation role=screen syscall=kill nr=");
	run_child(&sandbox_profile_submission, ACT_EXEC_MEMORY, &r);
	assert_killed_after(&r, "event=seccomp_violation role=submission syscall=mmap nr=");
	/* The line has the role's usual prefix: time stamp, name[pid]. */
	const char *l = strstr(r.log, "event=seccomp_violation");
	assert_true(l - r.log >= 24);
	assert_memory_equal(l - 3, "]: ", 3);
}

static void
test_sigsys_can_not_be_taken_over(void **state)
{
	struct child_result r;

	(void)state;
	run_child(&sandbox_profile_smtpd, ACT_SIGSYS_HANDLER, &r);
	assert_killed_after(&r, "syscall=rt_sigaction");
}

static void
test_selftest_variable_kills_only_the_named_role(void **state)
{
	struct child_result r;

	(void)state;
	setenv("HOMEMX_SANDBOX_SELFTEST", "relay", 1);
	run_child(&sandbox_profile_relay, ACT_SELFTEST, &r);
	assert_killed(&r, "event=seccomp_violation role=relay syscall=mount", false);
	assert_non_null(strstr(r.log, "event=sandbox_selftest role=relay syscall=mount"));
	run_child(&sandbox_profile_smtpd, ACT_SELFTEST, &r);
	assert_true(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	setenv("HOMEMX_SANDBOX_SELFTEST", "screen", 1);
	run_child(&sandbox_profile_screen, ACT_SELFTEST, &r);
	unsetenv("HOMEMX_SANDBOX_SELFTEST");
	assert_killed(&r, "event=seccomp_violation role=screen syscall=mount", false);
}

/* ---- capabilities ------------------------------------------------------------------- */

/* As role.c does it: bounding set while root, setresuid, then the lock. */
static void __attribute__((noreturn))
lock_child(bool drop_uid)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	bool root = geteuid() == 0;
	const uid_t nobody = 65534;

	log_init("sandbox_test", LOG_SINK_STDERR);
	if (root && drop_uid) {
		if (sandbox_drop_bounding_set() == -1)
			_exit(20);
		if (setgroups(0, NULL) == -1 || setresgid(nobody, nobody, nobody) == -1 ||
		    setresuid(nobody, nobody, nobody) == -1)
			_exit(21);
	}
	sandbox_lock_privileges();
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		_exit(22);
	if (syscall(SYS_capget, &hdr, data) == -1)
		_exit(23);
	bool any = false;
	for (size_t i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		any |= data[i].effective || data[i].permitted || data[i].inheritable;
	if (root && !drop_uid)
		_exit(any ? 0 : 24);	/* root by hand keeps root's powers */
	if (any)
		_exit(25);
	if (root && (prctl(PR_CAPBSET_READ, CAP_SETUID, 0, 0, 0) != 0 ||
	    prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0))
		_exit(26);
	/* And there is no way back to uid 0. */
	if (root && (setuid(0) != -1 || setresuid(0, 0, 0) != -1))
		_exit(27);
	_exit(0);
}

static void
run_lock_child(bool drop_uid)
{
	int status;

	pid_t pid = fork();
	assert_true(pid != -1);
	if (pid == 0)
		lock_child(drop_uid);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("drop_uid=%d: got child status 0x%x, want exit 0 (exit codes: "
		    "2x = check failed, see lock_child)", drop_uid, status);
}

static void
test_lock_privileges_leaves_nothing(void **state)
{
	(void)state;
	run_lock_child(true);
	run_lock_child(false);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_name_is_a_system_call),
		cmocka_unit_test(test_profiles_allow_and_refuse),
		cmocka_unit_test(test_allowed_calls_keep_the_role_alive),
		cmocka_unit_test(test_refused_call_is_logged_then_kills),
		cmocka_unit_test(test_sigsys_can_not_be_taken_over),
		cmocka_unit_test(test_selftest_variable_kills_only_the_named_role),
		cmocka_unit_test(test_lock_privileges_leaves_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
