/*
 * lib/sandbox.c - no way back to privileges, and a system call allow-list
 * for the roles that read the network.
 *
 * Owns: the seccomp profiles (the tables below: one per role, made of
 * groups that each say why their calls are needed), the SIGSYS handler
 * that reports a refused call, and the order of the capability drop.
 * Why: chroot and an unprivileged user keep a compromised smtpd, submission
 * or relay away from files, but not away from the kernel. A role that can
 * only make the calls its event loop, its sockets, TLS and its IPC links
 * need leaves a much smaller kernel surface to an attacker, and it can never
 * gain privileges again (no_new_privs, empty capability sets).
 *
 * How a refused call ends: the filter's default action is SCMP_ACT_TRAP,
 * so the kernel sends SIGSYS; the handler writes one line (event=
 * seccomp_violation role=.. syscall=NAME nr=N) with async-signal-safe code
 * (log_event_signal_safe) and then makes a refused call itself. A second
 * trap while SIGSYS is blocked in its handler makes the kernel reset SIGSYS
 * to its default action and kill the process (kernel/signal.c,
 * force_sig_info_to_task), so the role always dies of SIGSYS and homemxd
 * logs event=seccomp_kill. Changing the action of SIGSYS is itself refused
 * (rt_sigaction is allowed for a few named signals only), so code running
 * in the role can not install its own handler and carry on; blocking or
 * ignoring SIGSYS does not help either (the kernel unblocks it and resets
 * it to the default, which kills). A call from another ABI (i386 int 0x80,
 * x32) kills at once (SCMP_FLTATR_ACT_BADARCH).
 *
 * The lists come from strace -f of each role through the e2e tests (TLS
 * handshakes, STARTTLS, DATA, AUTH, signing, DNS, relaying, reload, SIGTERM
 * drain) against the normal and the sanitizer build, and from a demo run
 * without root or chroot. The screen's come from strace -f and a learning
 * build (below) while it judged mail against a local unbound (PTR, DNSBL,
 * SPF over UDP and TCP, greylisting, IPv4 then IPv6 dns_server after a
 * reload), judged whole messages at the end of DATA (DKIM pass and fail,
 * DMARC, headers), filled its log files until old ones were removed, was
 * killed with SIGKILL and recovered, served mxctl why and mxctl screen
 * test, and drained; in the normal, the sanitizer and the demo build. Arguments are checked where a call can do more than the role
 * needs (socket families, socket options, fcntl commands, ioctl requests,
 * open flags, signals, no new executable memory). Integer arguments are
 * compared on their low 32 bits (the kernel ignores the rest).
 *
 * Adding a role: give it a profile made of the groups below that fit plus
 * new groups for the rest, each with its reason, and point its
 * role_ops.sandbox at it. To find the calls, strace
 * -f the role through its tests, or build it with -DHMX_SANDBOX_LEARN:
 * the default action is then SCMP_ACT_LOG, and the kernel logs each call
 * outside the profile ("type=1326 ... syscall=N" in dmesg, at most about
 * ten lines per five seconds, so repeat until nothing is left) and lets it
 * through. A learning build says so in its log at every start; never ship
 * one. lib/sandbox_test.c checks that every name in the tables is a system
 * call and which dangerous calls each profile refuses.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include <linux/capability.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "log.h"
#include "sandbox.h"

#define LOW32		0xffffffffULL
#define CMP(i, m, v)		{ (i), (uint64_t)(m), (uint64_t)(v) }
#define ANY(n)			{ (n), 0, { CMP(0, 0, 0) } }
#define ARG_IS(n, i, v)		{ (n), 1, { CMP(i, LOW32, v) } }
#define ARG_MASKED(n, i, m, v)	{ (n), 1, { CMP(i, m, v) } }
#define ARGS_ARE(n, i, v, j, w)	{ (n), 2, { CMP(i, LOW32, v), CMP(j, LOW32, w) } }
#define GROUP(why, rules)	{ (why), (rules), sizeof(rules) / sizeof((rules)[0]) }

/* Flags that would let open() create or write a file. O_TMPFILE includes
 * O_DIRECTORY, which a read-only opendir() needs: only its own bit counts. */
#define OPEN_WRITE_FLAGS	(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | \
				 (O_TMPFILE & ~O_DIRECTORY))

/* ---- groups every sandboxed role needs -------------------------------------- */

/* malloc, libevent buffers, OpenSSL: memory that never becomes executable
 * (no injected code can be mapped or made runnable). */
static const struct sandbox_rule memory_rules[] = {
	ANY("brk"),
	ARG_MASKED("mmap", 2, PROT_EXEC, 0),
	ARG_MASKED("mprotect", 2, PROT_EXEC, 0),
	ANY("munmap"),
	ANY("mremap"),
	ANY("madvise"),
};

/* Staying alive and ending: clocks (fallbacks of the vDSO), ids for log
 * lines, the signals role.c handles (SIGTERM drains, SIGINT, SIGHUP is
 * ignored) and nothing else: SIGSYS stays ours (see the top). futex: glibc
 * locks, of which only contended ones sleep. */
static const struct sandbox_rule process_rules[] = {
	ANY("clock_gettime"),
	ANY("clock_getres"),
	ANY("gettimeofday"),
	ANY("time"),
	ANY("getpid"),
	ANY("getuid"),
	ANY("geteuid"),
	ANY("getgid"),
	ANY("getegid"),
	ARG_IS("rt_sigaction", 0, SIGTERM),
	ARG_IS("rt_sigaction", 0, SIGINT),
	ARG_IS("rt_sigaction", 0, SIGHUP),
	ANY("rt_sigprocmask"),
	ANY("rt_sigreturn"),
	ANY("restart_syscall"),
	ANY("futex"),
	ANY("exit"),
	ANY("exit_group"),
};

/* The libevent loop and plain work on fds the role already holds; fstat is
 * newfstatat(fd, "", AT_EMPTY_PATH) in glibc 2.36. FIONREAD: libevent's
 * evbuffer_read() asks how much is there. openat is read-only: glibc's
 * tzset() (strftime in lib/log.c) opens /etc/localtime, which is not in
 * the empty chroot; without a chroot (demo mode) it reads the file and
 * seeks in it. */
static const struct sandbox_rule io_rules[] = {
	ANY("epoll_wait"),
	ANY("epoll_pwait"),
	ANY("epoll_ctl"),
	ANY("read"),
	ANY("readv"),
	ANY("pread64"),
	ANY("write"),
	ANY("writev"),
	ANY("close"),
	ANY("lseek"),
	ANY("newfstatat"),
	ARG_IS("fcntl", 1, F_GETFL),
	ARG_IS("fcntl", 1, F_SETFL),
	ARG_IS("fcntl", 1, F_GETFD),
	ARG_IS("fcntl", 1, F_SETFD),
	ARG_IS("fcntl", 1, F_DUPFD_CLOEXEC),
	ARG_IS("ioctl", 1, FIONREAD),
	ARG_MASKED("openat", 2, OPEN_WRITE_FLAGS, 0),
};

/* The IPC links (lib/ipc.c): frames and fds over SOCK_SEQPACKET. getrandom:
 * session and queue ids, OpenSSL's DRBG. */
static const struct sandbox_rule ipc_rules[] = {
	ANY("recvmsg"),
	ANY("sendmsg"),
	ANY("getrandom"),
};

/* ---- groups by what a role does ---------------------------------------------- */

/* Accepted TCP sessions (smtpd/server.c): accept4 from libevent's
 * listener, TCP_NODELAY, the last reply of a refused session sent with
 * send() and SHUT_WR, our own address of a session for the screen
 * (getsockname, smtpd/inbound.c: a HELO naming it is forged). TLS reads
 * and writes are read()/write() (OpenSSL's socket BIO) and readv()/
 * writev() (libevent). */
static const struct sandbox_rule listener_rules[] = {
	ANY("accept4"),
	ANY("getsockname"),
	ARGS_ARE("setsockopt", 1, IPPROTO_TCP, 2, TCP_NODELAY),
	ANY("sendto"),
	ANY("shutdown"),
};

/* submission keeps each message in a memfd and seals it before dkimsign
 * reads it (smtpd/session.c). */
static const struct sandbox_rule memfd_rules[] = {
	ANY("memfd_create"),
	ARG_IS("fcntl", 1, F_ADD_SEALS),
};

/* submission's local socket (submission/local.c): who connected, as the
 * kernel says (SO_PEERCRED), and nothing else of getsockopt. */
static const struct sandbox_rule peercred_rules[] = {
	ARGS_ARE("getsockopt", 1, SOL_SOCKET, 2, SO_PEERCRED),
};

/* relay: TCP to MX hosts (relay/client.c: non-blocking connect, SO_ERROR,
 * bind to a configured source address) and UDP or TCP to the DNS server
 * (c-ares 1.18: connect, send, recvfrom, TCP_NODELAY), IPv4 and IPv6 only:
 * no AF_UNIX, netlink or packet sockets. */
static const struct sandbox_rule outbound_rules[] = {
	ARG_IS("socket", 0, AF_INET),
	ARG_IS("socket", 0, AF_INET6),
	ANY("connect"),
	ANY("bind"),
	ARGS_ARE("getsockopt", 1, SOL_SOCKET, 2, SO_ERROR),
	ARGS_ARE("setsockopt", 1, IPPROTO_TCP, 2, TCP_NODELAY),
	ANY("sendto"),
	ANY("recvfrom"),
};

/* relay: its state directory (relay/state.c: the MTA-STS policy cache and
 * the TLS-RPT reports), opened in preinit and reached with openat on that
 * fd: a file is written under a temporary name and renamed over the old
 * one (renameat), or removed if the write failed (unlinkat). Only
 * relative to a directory fd below 256 (the relay holds it from preinit):
 * never AT_FDCWD (0xffffff9c), so no path of the chroot can be created or
 * written, and the state directory is the only one the relay's user owns. */
#define DIRFD_MASK	0xffffff00ULL
static const struct sandbox_rule relay_state_rules[] = {
	ARG_MASKED("openat", 0, DIRFD_MASK, 0),
	{ "renameat", 2, { CMP(0, DIRFD_MASK, 0), CMP(2, DIRFD_MASK, 0) } },
	ARG_MASKED("unlinkat", 0, DIRFD_MASK, 0),
};

/* screen: c-ares 1.18 asks dns_server (screen/resolver.c) over UDP, and
 * over TCP when an answer comes back truncated: socket, non-blocking
 * connect, sendto/recvfrom, TCP_NODELAY, writev (event loop group) for
 * the TCP stream. IPv4 and IPv6 only; nothing is bound, nothing accepted.
 * uname: a reload checks the new dns_server list on a scratch channel,
 * whose set-up asks gethostname() for a default search domain. */
static const struct sandbox_rule dns_rules[] = {
	ARG_IS("socket", 0, AF_INET),
	ARG_IS("socket", 0, AF_INET6),
	ANY("connect"),
	ANY("sendto"),
	ANY("recvfrom"),
	ARGS_ARE("setsockopt", 1, IPPROTO_TCP, 2, TCP_NODELAY),
	ANY("uname"),
};

/* screen: the content scanners at the end of DATA (screen/scanner.c): a
 * non-blocking stream connection to rspamd, spamd or clamd, on loopback
 * TCP (the DNS group's AF_INET/AF_INET6, connect, sendto, recvfrom) or a
 * UNIX socket inside screen_dir (only this exact socket type), whose
 * connect result is read with SO_ERROR. The message is read with pread
 * from a dup of the fd the queue passed (event loop group). */
static const struct sandbox_rule scanner_rules[] = {
	ARGS_ARE("socket", 0, AF_UNIX, 1, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC),
	ARGS_ARE("getsockopt", 1, SOL_SOCKET, 2, SO_ERROR),
};

/*
 * screen: its Berkeley DB environment (screen/memory.c, lib/bdbenv.c), the
 * only thing in its chroot (screen_dir, seen as /memory). So open may
 * create and write here, unlike every other profile: there is nothing but
 * the memory to reach (in demo mode, without a chroot, the role runs as
 * the invoking user and the filter does not stand in for one). What the
 * environment does:
 *  - mkdir of /memory at first start; region files __db.00N created,
 *    read and written and mapped MAP_SHARED (memory group: never
 *    executable); databases written with pwrite, log files with write;
 *    fdatasync at commit and checkpoint (fsync, its equal, not seen: this
 *    build of the library uses fdatasync);
 *  - rename of a new database into place, unlink of region files at
 *    recovery (DB_RECOVER) and of old log files (DB_LOG_AUTO_REMOVE);
 *    getdents64 to list log and region files; getcwd before it opens its
 *    log files; ftruncate, not seen, for a recovery that cuts a torn log
 *    tail (a power cut, not a SIGKILL) or a file whose last pages are
 *    freed: refusing it would turn that recovery into a restart loop;
 *  - DB_REGISTER's byte locks on __db.register (fcntl F_SETLK/F_SETLKW);
 *  - its isalive callback (lib/bdbenv.c), not seen: kill(pid, 0), which
 *    only asks whether a process lives; any real signal is refused;
 *  - mutexes that spin, then yield (sched_yield), sized by the number of
 *    CPUs (glibc's get_nprocs: sched_getaffinity); qsort of the dirty
 *    buffers at a checkpoint asks the machine's memory size (sysinfo).
 */
static const struct sandbox_rule db_memory_rules[] = {
	ANY("openat"),
	ANY("mkdir"),
	ANY("pwrite64"),
	ANY("fdatasync"),
	ANY("fsync"),
	ANY("ftruncate"),
	ANY("rename"),
	ANY("unlink"),
	ANY("getdents64"),
	ANY("getcwd"),
	ARG_IS("fcntl", 1, F_SETLK),
	ARG_IS("fcntl", 1, F_SETLKW),
	ARG_IS("kill", 1, 0),
	ANY("sched_yield"),
	ANY("sched_getaffinity"),
	ANY("sysinfo"),
};

/* screen: a Berkeley DB call that hangs for good is cut by a SIGALRM
 * watchdog (screen/screen.c): its handler, the alarm around each call
 * (setitimer is alarm() where the kernel has no alarm call); the handler
 * itself only writes and exits. */
static const struct sandbox_rule watchdog_rules[] = {
	ARG_IS("rt_sigaction", 0, SIGALRM),
	ANY("alarm"),
	ARG_IS("setitimer", 0, ITIMER_REAL),
};

#ifdef __SANITIZE_ADDRESS__
/*
 * Only in the AddressSanitizer/UBSan build (make SAN=1), never in a
 * production binary: what the sanitizer runtime does on its own. Reports
 * and stack traces (sigaltstack, readlink of /proc/self/exe, the
 * synchronous signals it handles while it reports) and, at exit,
 * LeakSanitizer: it stops the process with a tracer thread (clone,
 * ptrace, wait4, prctl PR_SET_PTRACER/PR_SET_DUMPABLE) to scan its memory.
 * That is why a sanitizer build's profile is weaker; tests that need a
 * call refused in every build use mount or unshare, not ptrace.
 */
static const struct sandbox_rule sanitizer_rules[] = {
	ANY("sigaltstack"),
	ARG_IS("ioctl", 1, TCGETS),	/* isatty(2): colours in a report */
	ANY("sched_getaffinity"),
	ANY("sched_yield"),
	ANY("gettid"),
	ANY("getppid"),
	ANY("tgkill"),
	ANY("readlink"),
	ANY("readlinkat"),
	ANY("prlimit64"),
	ANY("mincore"),
	ARG_MASKED("open", 1, OPEN_WRITE_FLAGS, 0),	/* /proc/self/task, maps */
	ANY("getdents"),
	ANY("getdents64"),
	ANY("clone"),
	ANY("ptrace"),
	ANY("wait4"),
	ANY("prctl"),
	ARG_IS("rt_sigaction", 0, SIGSEGV),
	ARG_IS("rt_sigaction", 0, SIGBUS),
	ARG_IS("rt_sigaction", 0, SIGFPE),
	ARG_IS("rt_sigaction", 0, SIGILL),
	ARG_IS("rt_sigaction", 0, SIGABRT),
	ARG_IS("rt_sigaction", 0, SIGXCPU),
	ARG_IS("rt_sigaction", 0, SIGXFSZ),
};
#endif

static const struct sandbox_group grp_memory = GROUP("memory", memory_rules);
static const struct sandbox_group grp_process = GROUP("process", process_rules);
static const struct sandbox_group grp_io = GROUP("event loop and fds", io_rules);
static const struct sandbox_group grp_ipc = GROUP("ipc links", ipc_rules);
static const struct sandbox_group grp_listener = GROUP("accepted sessions", listener_rules);
static const struct sandbox_group grp_memfd = GROUP("sealed message copies", memfd_rules);
static const struct sandbox_group grp_peercred = GROUP("local client credentials", peercred_rules);
static const struct sandbox_group grp_outbound = GROUP("outbound TCP and DNS", outbound_rules);
static const struct sandbox_group grp_dns = GROUP("DNS to dns_server", dns_rules);
static const struct sandbox_group grp_relay_state = GROUP("relay state directory",
    relay_state_rules);
static const struct sandbox_group grp_db_memory = GROUP("Berkeley DB memory in the chroot",
    db_memory_rules);
static const struct sandbox_group grp_watchdog = GROUP("SIGALRM watchdog", watchdog_rules);
static const struct sandbox_group grp_scanners = GROUP("content scanners", scanner_rules);
#ifdef __SANITIZE_ADDRESS__
static const struct sandbox_group grp_sanitizer = GROUP("sanitizer runtime", sanitizer_rules);
#define SANITIZER_GROUP	&grp_sanitizer,
#else
#define SANITIZER_GROUP
#endif

/* ---- the profiles ---------------------------------------------------------------- */

static const struct sandbox_group *const smtpd_groups[] = {
	&grp_memory, &grp_process, &grp_io, &grp_ipc, &grp_listener,
	SANITIZER_GROUP NULL
};
static const struct sandbox_group *const submission_groups[] = {
	&grp_memory, &grp_process, &grp_io, &grp_ipc, &grp_listener, &grp_memfd,
	&grp_peercred, SANITIZER_GROUP NULL
};
static const struct sandbox_group *const relay_groups[] = {
	&grp_memory, &grp_process, &grp_io, &grp_ipc, &grp_outbound, &grp_relay_state,
	SANITIZER_GROUP NULL
};

static const struct sandbox_group *const screen_groups[] = {
	&grp_memory, &grp_process, &grp_io, &grp_ipc, &grp_dns, &grp_db_memory,
	&grp_watchdog, &grp_scanners, SANITIZER_GROUP NULL
};

const struct sandbox_profile sandbox_profile_smtpd = { "smtpd", smtpd_groups };
const struct sandbox_profile sandbox_profile_submission = { "submission", submission_groups };
const struct sandbox_profile sandbox_profile_relay = { "relay", relay_groups };
const struct sandbox_profile sandbox_profile_screen = { "screen", screen_groups };

/* ---- capabilities ------------------------------------------------------------------ */

int
sandbox_drop_bounding_set(void)
{
	/* Capability numbers are dense; PR_CAPBSET_READ says EINVAL past the
	 * last one this kernel knows. */
	for (unsigned long cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == -1)
			return errno == EINVAL ? 0 : -1;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1)
			return -1;
	}
	return 0;
}

void
sandbox_lock_privileges(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_NO_NEW_PRIVS)");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		fatalx("no_new_privs did not stick");
	/* EINVAL: a kernel before 4.3 has no ambient set to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		fatal("prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
	/* Still uid 0: a role started by hand as root (demo, tests), which is
	 * meant to act as root; empty sets would only break it. */
	if (geteuid() == 0)
		return;
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) == -1)
		fatal("capset: clearing every capability set");
	/* Trust, but verify: the drop is the point of this function. */
	memset(data, 0xff, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) == -1)
		fatal("capget");
	for (size_t i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (data[i].effective != 0 || data[i].permitted != 0 ||
		    data[i].inheritable != 0)
			fatalx("capabilities still held after the drop");
}

/* ---- names of system calls ------------------------------------------------------------- */

/* Numbers to names, resolved before the filter is loaded: the SIGSYS
 * handler may not allocate (libseccomp's resolver does). */
#define SYSCALL_NAMES_MAX	640
#define SYSCALL_NAME_LEN	28
static char	syscall_names[SYSCALL_NAMES_MAX][SYSCALL_NAME_LEN];

static void
resolve_syscall_names(void)
{
	for (int nr = 0; nr < SYSCALL_NAMES_MAX; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		if (name != NULL)
			snprintf(syscall_names[nr], SYSCALL_NAME_LEN, "%s", name);
		free(name);
	}
}

int
sandbox_syscall_number(const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	return nr == __NR_SCMP_ERROR ? -1 : nr;
}

/* ---- the SIGSYS handler ------------------------------------------------------------------ */

static char	sigsys_role[32];

static void
append(char *buf, size_t size, size_t *len, const char *s)
{
	while (*s != '\0' && *len < size - 1)
		buf[(*len)++] = *s++;
	buf[*len] = '\0';
}

static void
append_uint(char *buf, size_t size, size_t *len, unsigned n)
{
	char digits[12];
	int i = 0;

	do {
		digits[i++] = (char)('0' + n % 10);
		n /= 10;
	} while (n != 0);
	while (i > 0 && *len < size - 1)
		buf[(*len)++] = digits[--i];
	buf[*len] = '\0';
}

/* Async-signal-safe: no stdio, no allocation. */
static void
on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	char text[160];
	size_t len = 0;
	int nr = si->si_syscall;

	(void)sig;
	(void)ctx;
	text[0] = '\0';
	append(text, sizeof(text), &len, "role=");
	append(text, sizeof(text), &len, sigsys_role);
	append(text, sizeof(text), &len, " syscall=");
	append(text, sizeof(text), &len, nr >= 0 && nr < SYSCALL_NAMES_MAX &&
	    syscall_names[nr][0] != '\0' ? syscall_names[nr] : "unknown");
	append(text, sizeof(text), &len, " nr=");
	append_uint(text, sizeof(text), &len, (unsigned)nr);
	append(text, sizeof(text), &len, " action=kill");
	log_event_signal_safe("seccomp_violation", text);
	/* Refused too: with SIGSYS blocked in here, the kernel kills. */
	syscall(SYS_rt_sigaction, SIGSYS, NULL, NULL, sizeof(sigset_t));
	_exit(128 + SIGSYS);	/* not reached */
}

static void
install_sigsys_handler(const char *role)
{
	struct sigaction sa;

	snprintf(sigsys_role, sizeof(sigsys_role), "%s", role);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		fatal("sigaction SIGSYS");
}

/* ---- building the filter ------------------------------------------------------------------- */

static int
add_rule(scmp_filter_ctx ctx, const struct sandbox_rule *r, const char **why)
{
	struct scmp_arg_cmp cmp[SANDBOX_CMP_MAX];
	int nr = seccomp_syscall_resolve_name(r->name);
	int rc;

	if (nr == __NR_SCMP_ERROR) {
		*why = "unknown system call name";
		return -1;
	}
	if (nr < 0)
		return 0;	/* not a call on this architecture */
	if (r->ncmp > SANDBOX_CMP_MAX) {
		*why = "too many argument checks";
		return -1;
	}
	for (unsigned i = 0; i < r->ncmp; i++)
		cmp[i] = SCMP_CMP((unsigned)r->cmp[i].arg, SCMP_CMP_MASKED_EQ,
		    r->cmp[i].mask, r->cmp[i].value);
	rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, r->ncmp, cmp);
	if (rc < 0 && rc != -EEXIST) {
		*why = strerror(-rc);
		return -1;
	}
	return 0;
}

static scmp_filter_ctx
build_filter(const struct sandbox_profile *p, size_t *nrules)
{
#ifdef HMX_SANDBOX_LEARN
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_LOG);
#else
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
#endif
	const char *why = NULL;

	if (ctx == NULL)
		fatalx("seccomp_init failed");
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0)
		fatalx("seccomp: cannot set the action for foreign ABIs");
	*nrules = 0;
	for (size_t g = 0; p->groups[g] != NULL; g++)
		for (size_t i = 0; i < p->groups[g]->nrules; i++, (*nrules)++)
			if (add_rule(ctx, &p->groups[g]->rules[i], &why) == -1)
				fatalx("sandbox profile %s, group \"%s\": %s: %s", p->name,
				    p->groups[g]->why, p->groups[g]->rules[i].name, why);
	return ctx;
}

/* A call no profile allows, harmless had it been allowed: mount(2) with
 * no arguments fails with EFAULT or EPERM. */
static void
selftest_if_asked(const char *role)
{
	const char *want = getenv("HOMEMX_SANDBOX_SELFTEST");

	if (want == NULL || strcmp(want, role) != 0)
		return;
	log_event("sandbox_selftest", "role=%s syscall=mount", role);
	syscall(SYS_mount, NULL, NULL, NULL, 0UL, NULL);
	log_warnx("role=%s sandbox self-test: mount was not refused", role);
}

void
sandbox_enter(const struct sandbox_profile *p, const char *role)
{
	size_t nrules;
	int rc;

	resolve_syscall_names();
	scmp_filter_ctx ctx = build_filter(p, &nrules);
	install_sigsys_handler(role);
	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("seccomp_load for %s: %s", role, strerror(-rc));
	seccomp_release(ctx);
#ifdef HMX_SANDBOX_LEARN
	log_warnx("role=%s sandbox=learn: calls outside profile %s are only logged "
	    "by the kernel; this build is for finding profiles, never for use", role,
	    p->name);
#endif
#ifdef HMX_SANDBOX_LEARN
	const char *action = "log";
#else
	const char *action = "kill";
#endif
	log_event("sandbox", "role=%s profile=%s rules=%zu action=%s", role, p->name,
	    nrules, action);
	selftest_if_asked(role);
}

/* ---- for the tests ------------------------------------------------------------------------------ */

static bool
rule_matches(const struct sandbox_rule *r, const uint64_t args[6])
{
	for (unsigned i = 0; i < r->ncmp && i < SANDBOX_CMP_MAX; i++)
		if ((args[r->cmp[i].arg] & r->cmp[i].mask) != r->cmp[i].value)
			return false;
	return true;
}

bool
sandbox_profile_allows(const struct sandbox_profile *p, const char *name,
    const uint64_t args[6])
{
	for (size_t g = 0; p->groups[g] != NULL; g++)
		for (size_t i = 0; i < p->groups[g]->nrules; i++) {
			const struct sandbox_rule *r = &p->groups[g]->rules[i];
			if (strcmp(r->name, name) == 0 && rule_matches(r, args))
				return true;
		}
	return false;
}
