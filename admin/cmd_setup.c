/*
 * admin/cmd_setup.c - mxctl setup DOMAIN HOSTNAME: the first config of a
 * new server, its DKIM keys, and what to do next.
 *
 * Owns: the config file it writes (the -f path, /etc/homemx/homemx.conf by
 * default) and the order of a first start:
 *	1. check the names (each error names its field) and refuse to replace
 *	   an existing config unless --force (the old one is kept as .old);
 *	2. a certificate: --cert/--key, else certbot's for HOSTNAME if it
 *	   exists, else a self-signed placeholder next to the config
 *	   (admin/setup_tls.c says why);
 *	3. the config, written to a .tmp file, fsynced and renamed, then
 *	   loaded back as homemxd will (a file it would refuse is an error
 *	   here, not at the first start);
 *	4. homemxd -P: the roles' users and state directories, as the first
 *	   start would make them, so that the keys below get their owner;
 *	5. the DKIM keys (mxctl dkim keygen, unless the selector has them);
 *	6. the DNS records (admin/setup_dns.c) and the next steps.
 * Why in mxctl: the admin already has it in PATH, and it shares the key
 * generation and the record printer with `mxctl dkim`. It runs before any
 * config exists, so mxctl.c starts it without loading one.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dkimkey.h"
#include "setup.h"
#include "tlscheck.h"
#include "util.h"

#define LETSENCRYPT_LIVE	"/etc/letsencrypt/live"
#define CONFIG_TEXT_SIZE	4096

struct setup_args {
	char		 domain[ADDR_DOMAIN_MAX + 1];
	char		 hostname[ADDR_DOMAIN_MAX + 1];
	char		 cert[CONFIG_PATH_MAX];
	char		 key[CONFIG_PATH_MAX];
	bool		 force;
	bool		 self_signed;	/* made (or kept) a placeholder */
};

/* ---- arguments --------------------------------------------------------------- */

static int
norm_name(struct mxctl *m, const char *field, const char *in, char *out, size_t size)
{
	const char *why;

	if (domain_normalize_input(in, out, size, &why) == -1)
		return mx_fail(m, "%s '%.200s': %s", field, in, why);
	return 0;
}

static int
set_path(struct mxctl *m, const char *opt, const char *in, char *out)
{
	if (in[0] != '/' || snprintf(out, CONFIG_PATH_MAX, "%s", in) >= CONFIG_PATH_MAX)
		return mx_fail(m, "%s '%.200s': expected an absolute path", opt, in);
	return 0;
}

static int
parse_setup_args(struct mxctl *m, int argc, char **argv, struct setup_args *a)
{
	int npos = 0;

	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			a->force = true;
		else if ((strcmp(argv[i], "--cert") == 0 || strcmp(argv[i], "--key") == 0) &&
		    i + 1 < argc) {
			bool cert = strcmp(argv[i], "--cert") == 0;
			if (set_path(m, argv[i], argv[i + 1], cert ? a->cert : a->key) == -1)
				return MX_FAIL;
			i++;
		} else if (argv[i][0] == '-' || npos == 2)
			return MX_USAGE;
		else if (norm_name(m, npos == 0 ? "domain" : "hostname", argv[i],
		    npos == 0 ? a->domain : a->hostname, sizeof(a->domain)) == -1)
			return MX_FAIL;
		else
			npos++;
	}
	if (npos != 2)
		return MX_USAGE;
	if ((a->cert[0] == '\0') != (a->key[0] == '\0')) {
		mx_fail(m, "--cert and --key go together");
		return MX_FAIL;
	}
	/* Other servers look the name up (HELO, PTR, MX): a bare "mx" is none. */
	if (strchr(a->hostname, '.') == NULL) {
		mx_fail(m, "hostname '%s': expected a fully qualified name such as "
		    "mx.%s", a->hostname, a->domain);
		return MX_FAIL;
	}
	return MX_OK;
}

/* ---- the certificate ------------------------------------------------------------ */

static bool
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* --cert/--key, certbot's pair for the host name, or a placeholder. */
static int
choose_certificate(struct mxctl *m, struct setup_args *a, const char *confdir)
{
	char dir[CONFIG_PATH_MAX - 16];	/* room for "/fullchain.pem" */

	if (a->cert[0] != '\0')
		return 0;
	snprintf(a->cert, sizeof(a->cert), "%s/%s/fullchain.pem", LETSENCRYPT_LIVE, a->hostname);
	snprintf(a->key, sizeof(a->key), "%s/%s/privkey.pem", LETSENCRYPT_LIVE, a->hostname);
	if (file_exists(a->cert) && file_exists(a->key))
		return 0;
	a->self_signed = true;
	if (snprintf(dir, sizeof(dir), "%s/tls", confdir) >= (int)sizeof(dir))
		return mx_fail(m, "%s: path too long", confdir);
	snprintf(a->cert, sizeof(a->cert), "%s/fullchain.pem", dir);
	snprintf(a->key, sizeof(a->key), "%s/privkey.pem", dir);
	if (file_exists(a->cert) && file_exists(a->key))
		return 0;	/* made by an earlier setup: keep it */
	if (mkdir_p(dir, 0755) == -1)
		return mx_fail(m, "%s: cannot create: %s", dir, strerror(errno));
	return setup_self_signed(m, a->hostname, a->cert, a->key);
}

/* ---- the config ----------------------------------------------------------------- */

/* IPv6 may be switched off in the kernel (ipv6.disable=1): then a [::]
 * listener would stop homemxd at start. */
static bool
ipv6_available(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return false;
	close(fd);
	return true;
}

static int
config_text(char *buf, size_t size, const struct setup_args *a, const char *path)
{
	int n = snprintf(buf, size,
	    "# %s - written by \"mxctl setup %s %s\".\n"
	    "# Every setting and its default: homemx.conf(5), and the commented\n"
	    "# homemx.conf.example beside this file. Check an edit with\n"
	    "# \"homemxd -n\", apply it with \"systemctl reload homemx\".\n"
	    "\n"
	    "hostname %s\n"
	    "\n"
	    "listen smtp *:25\n"
	    "%s"
	    "listen submission *:587\n"
	    "listen submissions *:465\n"
	    "\n"
	    "domain %s\n"
	    "\n"
	    "%s"
	    "tls_certificate %s\n"
	    "tls_key %s\n"
	    "\n"
	    "# DNS for outbound mail and the screen's checks; unset, the servers of\n"
	    "# /etc/resolv.conf. DNS block lists refuse queries from big public\n"
	    "# resolvers: run a resolver here (apt install unbound) and use it:\n"
	    "#dns_server 127.0.0.1:53\n",
	    path, a->domain, a->hostname, a->hostname,
	    ipv6_available() ? "listen smtp [::]:25\n" : "", a->domain,
	    a->self_signed ? "# A self-signed placeholder made by mxctl setup. Once certbot has a\n"
	    "# certificate for the host name, \"mxctl setup ... --force\" uses it.\n" : "",
	    a->cert, a->key);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* Writes text to path through path.tmp; with --force an old file becomes
 * path.old first. */
static int
write_config(struct mxctl *m, const char *path, const char *text)
{
	char tmp[PATH_MAX], old[PATH_MAX];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) ||
	    snprintf(old, sizeof(old), "%s.old", path) >= (int)sizeof(old))
		return mx_fail(m, "%s: path too long", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644)) == -1)
		return mx_fail(m, "%s: %s", tmp, strerror(errno));
	if (fchmod(fd, 0644) == -1 || write_all(fd, text, strlen(text)) == -1 ||
	    fsync(fd) == -1 || close(fd) == -1) {
		int e = errno;
		unlink(tmp);
		return mx_fail(m, "%s: %s", tmp, strerror(e));
	}
	if ((file_exists(path) && rename(path, old) == -1) || rename(tmp, path) == -1) {
		int e = errno;
		unlink(tmp);
		return mx_fail(m, "%s: %s", path, strerror(e));
	}
	return 0;
}

/* Loads the new file as homemxd will: the grammar and the TLS pair. */
static int
load_back(struct mxctl *m, const char *path)
{
	char err[CONFIG_ERR_MAX + CONFIG_PATH_MAX], *text;
	size_t len;

	if (config_load(path, &m->cfg, &text, &len, err, sizeof(err)) == -1 ||
	    tlscheck_config(path, &m->cfg, err, sizeof(err)) == -1)
		return mx_fail(m, "the new config does not load: %s", err);
	free(text);
	return 0;
}

/* ---- homemxd -P and the keys ------------------------------------------------------ */

/* Runs argv with its stdout and stderr in a pipe: shown (the first 2 KB)
 * only when the program fails. */
static int
run_program(struct mxctl *m, const char *path, char *const argv[])
{
	char out[2048], rest[512];
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	fflush(NULL);
	if (pipe2(pfd, O_CLOEXEC) == -1 || (pid = fork()) == -1)
		return mx_fail(m, "%s: %s", path, strerror(errno));
	if (pid == 0) {
		if (dup2(pfd[1], STDOUT_FILENO) == -1 || dup2(pfd[1], STDERR_FILENO) == -1)
			_exit(127);
		execv(path, argv);
		_exit(127);
	}
	close(pfd[1]);
	n = read(pfd[0], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	while (n > 0 && read(pfd[0], rest, sizeof(rest)) > 0)
		;	/* the rest, so that the child never blocks on a full pipe */
	close(pfd[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return mx_fail(m, "%s failed (status %d): %s", path,
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
}

/* homemxd sits next to mxctl: both are built into one directory and
 * installed into one (SBINDIR). */
static int
prepare_with_homemxd(struct mxctl *m, const char *config_path)
{
	char self[PATH_MAX], path[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return mx_fail(m, "readlink /proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	snprintf(path, sizeof(path), "%s/homemxd", dirname(self));
	char *const argv[] = { "homemxd", "-P", "-f", (char *)config_path, NULL };
	return run_program(m, path, argv);
}

static bool
dkim_keys_exist(const struct mxctl *m, const char *domain)
{
	char rel[DKIM_KEY_PATH_MAX], path[CONFIG_PATH_MAX + DKIM_KEY_PATH_MAX + 2];

	for (int i = 0; i < DKIM_ALG_COUNT; i++) {
		if (dkim_key_relpath(rel, sizeof(rel), domain, m->cfg.dkim_selector,
		    (enum dkim_key_alg)i) == -1)
			return false;
		snprintf(path, sizeof(path), "%s/%s", m->cfg.dkim_key_dir, rel);
		if (!file_exists(path))
			return false;
	}
	return true;
}

/* `mxctl dkim keygen DOMAIN` in a child whose stdout goes nowhere: the
 * records it prints come again, with the others, from setup_dns_print. */
static int
make_dkim_keys(struct mxctl *m, const char *domain)
{
	char *argv[] = { "keygen", (char *)domain, NULL };
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	fflush(NULL);
	if (pipe2(pfd, O_CLOEXEC) == -1 || (pid = fork()) == -1)
		return mx_fail(m, "dkim keygen: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null == -1 || dup2(null, STDOUT_FILENO) == -1)
			_exit(MX_FAIL);
		if (cmd_dkim(m, 2, argv) == MX_OK)
			_exit(MX_OK);
		(void)write_all(pfd[1], m->err, strlen(m->err));
		_exit(MX_FAIL);
	}
	close(pfd[1]);
	n = read(pfd[0], m->err, sizeof(m->err) - 1);
	m->err[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == MX_OK)
		return 0;
	if (m->err[0] == '\0')
		mx_fail(m, "dkim keygen exited with status %d",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return -1;
}

/* ---- what to do next ----------------------------------------------------------------- */

static void
print_summary(const struct mxctl *m, const struct setup_args *a, bool keys_kept)
{
	printf("homemx is set up for %s on %s:\n", a->domain, a->hostname);
	printf("  config       %s\n", m->config_path);
	printf("  certificate  %s%s\n", a->cert, a->self_signed ?
	    " (self-signed placeholder, see step 4)" : "");
	printf("  DKIM keys    %s/%s/%s.{rsa,ed25519}.pem%s\n", m->cfg.dkim_key_dir,
	    a->domain, m->cfg.dkim_selector, keys_kept ? " (kept: they existed)" : "");
	printf("  users and state directories of the roles: made (homemxd -P)\n\n");
}

static void
print_next_steps(const struct setup_args *a, const char *maildir_root)
{
	printf("\nNext steps:\n"
	    "  1. Start homemx now and at every boot:\n"
	    "       systemctl enable --now homemx\n"
	    "  2. A mailbox (the password is asked for), and postmaster@ (RFC 5321):\n"
	    "       mxctl user add you@%s\n"
	    "       mxctl alias add postmaster@%s you@%s\n"
	    "  3. Publish the DNS records above; your provider sets the PTR records.\n"
	    "     Open ports 25, 587 and 465; outgoing port 25 must be allowed too.\n",
	    a->domain, a->domain, a->domain);
	if (a->self_signed)
		printf("  4. A real certificate, renewed by certbot (port 80 must be free):\n"
		    "       certbot certonly --standalone -d %s \\\n"
		    "           --deploy-hook \"systemctl reload homemx\"\n"
		    "     then \"mxctl setup %s %s --force\" picks it up (your keys stay),\n"
		    "     or point tls_certificate and tls_key at it by hand.\n",
		    a->hostname, a->domain, a->hostname);
	printf("Mail programs send through %s, port 587 (STARTTLS) or 465 (TLS), with\n"
	    "the full address as the user name; mail is delivered to Maildirs below\n"
	    "%s, which Dovecot serves over IMAP.\n", a->hostname, maildir_root);
}

/* ---- the command ------------------------------------------------------------------------ */

int	cmd_setup(struct mxctl *, int, char **);

int
cmd_setup(struct mxctl *m, int argc, char **argv)
{
	static char text[CONFIG_TEXT_SIZE];
	char confdir[PATH_MAX], pathcopy[PATH_MAX];
	struct setup_args a;
	bool keys_kept;
	int r;

	if ((r = parse_setup_args(m, argc, argv, &a)) != MX_OK)
		return r;
	if (file_exists(m->config_path) && !a.force) {
		mx_fail(m, "%s exists already: use --force to replace it (the old "
		    "file is kept as %s.old)", m->config_path, m->config_path);
		return MX_FAIL;
	}
	snprintf(pathcopy, sizeof(pathcopy), "%s", m->config_path);
	snprintf(confdir, sizeof(confdir), "%s", dirname(pathcopy));
	if (mkdir_p(confdir, 0755) == -1) {
		mx_fail(m, "%s: cannot create: %s", confdir, strerror(errno));
		return MX_FAIL;
	}
	if (choose_certificate(m, &a, confdir) == -1)
		return MX_FAIL;
	if (config_text(text, sizeof(text), &a, m->config_path) == -1) {
		mx_fail(m, "config text too long");
		return MX_FAIL;
	}
	if (write_config(m, m->config_path, text) == -1 || load_back(m, m->config_path) == -1 ||
	    prepare_with_homemxd(m, m->config_path) == -1)
		return MX_FAIL;
	if (!(keys_kept = dkim_keys_exist(m, a.domain)) && make_dkim_keys(m, a.domain) == -1)
		return MX_FAIL;
	print_summary(m, &a, keys_kept);
	if (setup_dns_print(m, a.domain, a.hostname) == -1)
		return MX_FAIL;
	print_next_steps(&a, m->cfg.maildir_root);
	return MX_OK;
}
