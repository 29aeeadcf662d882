/*
 * admin/cmd_dkim.c - mxctl dkim keygen|show|list: the DKIM keys on disk
 * and the DNS records that publish them.
 *
 * Owns: the writing of dkim_key_dir (layout in lib/dkimkey.h, the one
 * description shared with homemx-dkimsign, which only reads it). keygen
 * makes a 2048-bit RSA key and an Ed25519 key with OpenSSL's EVP API (no
 * openssl(1)), as PEM PKCS#8, mode 0600, owned by _hmx-dkim when run as
 * root; each file is written under a .tmp name, fsynced and renamed into
 * place, so dkimsign (which re-checks the files before every message)
 * never sees half a key. Existing keys of the selector are replaced only
 * with --force. show prints the TXT records to publish, exactly as a zone
 * file wants them (the encoding is admin/dkimpub.c's, shared with
 * `mxctl dns` and `mxctl doctor`).
 * Privileges: the key directory belongs to _hmx-dkim and the store to
 * _hmx-lookup, so as root these commands stay root (mxctl.c runs them
 * before its usual drop to the store owner) and look at the store only in
 * a child process that has dropped to the store owner, the way every
 * other command does. Run by the store owner or in demo mode they simply
 * use the store mxctl.c already opened.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dkimkey.h"
#include "dkimpub.h"
#include "mxctl.h"
#include "role.h"
#include "util.h"

#ifndef USER_DKIM
#define USER_DKIM	"_hmx-dkim"	/* lib/role.h */
#endif

#define DKIM_SELECTORS_MAX	64	/* per domain, for show and list */
#define DKIM_DOMAINS_MAX	1024	/* for list */

struct dkim_args {
	char	domain[ADDR_DOMAIN_MAX + 1];
	char	selector[DKIM_SELECTOR_MAX + 1];
	bool	selector_given;
	bool	force;
};

struct selector_list {
	size_t	n;
	char	name[DKIM_SELECTORS_MAX][DKIM_SELECTOR_MAX + 1];
};

/* ---- arguments ------------------------------------------------------------ */

static int
set_selector(struct mxctl *m, struct dkim_args *a, const char *s)
{
	bool fits = snprintf(a->selector, sizeof(a->selector), "%s", s) <
	    (int)sizeof(a->selector);

	str_lower(a->selector);
	if (!fits || !dkim_selector_is_valid(a->selector))
		return mx_fail(m, "selector '%.100s': expected a DNS label such as mx1 "
		    "(letters, digits, '-'; at most %d octets, as '-ed25519' is added)", s,
		    DKIM_SELECTOR_MAX);
	return 0;
}

/* DOMAIN [--selector S] [--force]; allow_force says whether --force fits. */
static int
parse_args(struct mxctl *m, int argc, char **argv, bool allow_force,
    struct dkim_args *a)
{
	memset(a, 0, sizeof(*a));
	if (argc < 1 || mx_norm_domain(m, argv[0], a->domain, sizeof(a->domain)) == -1)
		return argc < 1 ? MX_USAGE : MX_FAIL;
	if (set_selector(m, a, m->cfg.dkim_selector) == -1)
		return MX_FAIL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--selector") == 0 && i + 1 < argc) {
			if (set_selector(m, a, argv[++i]) == -1)
				return MX_FAIL;
			a->selector_given = true;
		} else if (strcmp(argv[i], "--force") == 0 && allow_force)
			a->force = true;
		else
			return MX_USAGE;
	}
	return MX_OK;
}

/* ---- is the domain ours? ------------------------------------------------------ */

static int
domain_local_txn(struct mxctl *m, struct store_txn *t, void *arg)
{
	return mx_check_domain_local(m, t, arg);
}

/* Opens the store (as its owner when we are root: this is a child that
 * never regains root) and checks the domain there. */
static int
check_store_here(struct mxctl *m, const char *domain)
{
	char err[STORE_ERR_MAX + CONFIG_PATH_MAX], name[256];
	struct passwd *pw;
	struct stat st;
	int r;

	if (stat(m->cfg.store_dir, &st) == -1)
		return mx_fail(m, "domain '%s' is not local: add it first with 'mxctl domain "
		    "add %s' (store_dir %s: %s)", domain, domain, m->cfg.store_dir,
		    strerror(errno));
	if (geteuid() == 0 && st.st_uid != 0) {
		if ((pw = getpwuid(st.st_uid)) == NULL ||
		    snprintf(name, sizeof(name), "%s", pw->pw_name) >= (int)sizeof(name))
			return mx_fail(m, "store_dir %s: owner uid %ld has no usable passwd "
			    "entry", m->cfg.store_dir, (long)st.st_uid);
		privdrop(name, NULL);
	}
	if ((m->st = store_open(m->cfg.store_dir, err, sizeof(err))) == NULL)
		return mx_fail(m, "%s", err);
	r = mx_read(m, domain_local_txn, (void *)domain);
	store_close(m->st);
	m->st = NULL;
	return r;
}

/* As root: the store check runs in a child that drops to the store owner,
 * so that we keep root for the key directory. */
static int
check_store_in_child(struct mxctl *m, const char *domain)
{
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	fflush(NULL);
	if (pipe2(pfd, O_CLOEXEC) == -1 || (pid = fork()) == -1)
		return mx_fail(m, "cannot check the store: %s", strerror(errno));
	if (pid == 0) {
		close(pfd[0]);
		if (check_store_here(m, domain) == 0)
			_exit(0);
		(void)write_all(pfd[1], m->err, strlen(m->err));
		_exit(1);
	}
	close(pfd[1]);
	n = read(pfd[0], m->err, sizeof(m->err) - 1);
	m->err[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (m->err[0] == '\0')
		return mx_fail(m, "cannot check the store (the check exited with status %d)",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return -1;
}

/* A local domain is listed in the config or in the store. */
static int
check_domain_local(struct mxctl *m, const char *domain)
{
	if (config_has_domain(&m->cfg, domain))
		return 0;
	if (m->st != NULL)		/* mxctl.c opened the store for us */
		return mx_read(m, domain_local_txn, (void *)domain);
	if (geteuid() == 0)
		return check_store_in_child(m, domain);
	return check_store_here(m, domain);
}

/* ---- the key directory --------------------------------------------------------- */

/* The owner that key files and directories get when we are root. */
static int
key_owner(uid_t *uid, gid_t *gid, bool *chown_needed)
{
	struct passwd *pw;

	*chown_needed = false;
	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam(USER_DKIM)) == NULL)
		return -1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	*chown_needed = true;
	return 0;
}

static int
own_fd(struct mxctl *m, int fd, const char *what)
{
	uid_t uid = 0;
	gid_t gid = 0;
	bool needed;

	if (key_owner(&uid, &gid, &needed) == -1 || !needed)
		return 0;
	if (fchown(fd, uid, gid) == -1)
		return mx_fail(m, "%s: chown to %s: %s", what, USER_DKIM, strerror(errno));
	return 0;
}

/* dkim_key_dir, created (0700, for _hmx-dkim) when create is set. */
static int
open_key_dir(struct mxctl *m, bool create, int *fd)
{
	const char *dir = m->cfg.dkim_key_dir;

	if ((*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1)
		return 0;
	if (errno != ENOENT || !create)
		return mx_fail(m, "dkim_key_dir %s: %s%s", dir, strerror(errno),
		    errno == EACCES ? " (run mxctl as root)" : "");
	if (mkdir_p(dir, 0755) == -1 || chmod(dir, 0700) == -1)
		return mx_fail(m, "dkim_key_dir %s: cannot create: %s", dir, strerror(errno));
	if ((*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return mx_fail(m, "dkim_key_dir %s: %s", dir, strerror(errno));
	if (own_fd(m, *fd, dir) == -1) {
		close(*fd);
		return -1;
	}
	return 0;
}

/* The domain's directory below the key directory, maybe created. */
static int
open_domain_dir(struct mxctl *m, int keyfd, const char *domain, bool create, int *fd)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

	if ((*fd = openat(keyfd, domain, flags)) != -1)
		return 0;
	if (errno != ENOENT || !create)
		return mx_fail(m, "%s/%s: %s", m->cfg.dkim_key_dir, domain, strerror(errno));
	if (mkdirat(keyfd, domain, 0700) == -1 ||
	    (*fd = openat(keyfd, domain, flags)) == -1)
		return mx_fail(m, "%s/%s: cannot create: %s", m->cfg.dkim_key_dir, domain,
		    strerror(errno));
	if (own_fd(m, *fd, domain) == -1) {
		close(*fd);
		return -1;
	}
	return 0;
}

/* ---- reading a key and its DNS record ---------------------------------------------- */

static const char *
openssl_error(void)
{
	static char buf[200];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

/* Loads the private key of alg a from the file name in domfd. */
static int
load_key(struct mxctl *m, int domfd, const char *name, enum dkim_key_alg a,
    EVP_PKEY **out)
{
	char buf[DKIM_KEY_FILE_MAX + 1], err[200];
	enum dkim_pem_status st;
	ssize_t n;
	int fd;

	*out = NULL;
	if ((fd = openat(domfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return mx_fail(m, "%s: %s", name, strerror(errno));
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		explicit_bzero(buf, sizeof(buf));
		return mx_fail(m, "%s: %s", name, n < 0 ? strerror(errno) : "too big for a key");
	}
	st = dkim_key_pem_parse(buf, (size_t)n, a, out, err, sizeof(err));
	explicit_bzero(buf, sizeof(buf));
	if (st == DKIM_PEM_NOT_PEM)
		return mx_fail(m, "%s: not a PEM private key (%s)", name, err);
	if (st == DKIM_PEM_WRONG_TYPE)
		return mx_fail(m, "%s: not an %s key", name, a == DKIM_ALG_RSA ? "RSA" : "Ed25519");
	return 0;
}

/* Prints the records of one selector; *printed counts them. */
static int
show_selector(struct mxctl *m, int domfd, const char *domain, const char *selector,
    unsigned *printed)
{
	static struct dkim_pub pub;
	char name[DKIM_KEY_NAME_MAX];
	struct stat st;

	for (int i = 0; i < DKIM_ALG_COUNT; i++) {
		enum dkim_key_alg a = (enum dkim_key_alg)i;
		EVP_PKEY *k;

		dkim_key_file_name(name, sizeof(name), selector, a);
		if (fstatat(domfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT)
			continue;
		if (load_key(m, domfd, name, a, &k) == -1)
			return -1;
		int r = dkim_pub_from_key(k, a, selector, &pub);
		EVP_PKEY_free(k);
		if (r == -1)
			return mx_fail(m, "%s: %s", name, pub.err);
		printf("%s._domainkey.%s. IN TXT %s\n", pub.dns_selector, domain, pub.zone);
		(*printed)++;
	}
	return 0;
}

/* ---- listing the directory ------------------------------------------------------------ */

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

static bool
list_has(const struct selector_list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->name[i], s) == 0)
			return true;
	return false;
}

static int
collect_selectors(struct mxctl *m, int domfd, struct selector_list *l)
{
	int fd = fcntl(domfd, F_DUPFD_CLOEXEC, 3);
	struct dirent *e;
	DIR *d;

	l->n = 0;
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return mx_fail(m, "cannot list keys: %s", strerror(errno));
	}
	while ((e = readdir(d)) != NULL) {
		char sel[DKIM_SELECTOR_MAX + 1];
		if (!dkim_key_file_selector(e->d_name, sel, sizeof(sel)) || list_has(l, sel))
			continue;
		if (l->n == DKIM_SELECTORS_MAX)
			break;
		memcpy(l->name[l->n++], sel, sizeof(sel));
	}
	closedir(d);
	qsort(l->name, l->n, sizeof(l->name[0]), cmp_names);
	return 0;
}

/* ---- dkim show ------------------------------------------------------------------------- */

static int
dkim_show(struct mxctl *m, const struct dkim_args *a)
{
	static struct selector_list l;
	unsigned printed = 0;
	int keyfd = -1, domfd = -1, r = -1;

	if ((keyfd = open(m->cfg.dkim_key_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 &&
	    errno == ENOENT)
		goto none;
	if (keyfd == -1 && open_key_dir(m, false, &keyfd) == -1)
		return MX_FAIL;
	domfd = openat(keyfd, a->domain, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (domfd == -1 && errno == ENOENT)
		goto none;
	if (domfd == -1) {
		mx_fail(m, "%s/%s: %s", m->cfg.dkim_key_dir, a->domain, strerror(errno));
		goto fail;
	}
	if (a->selector_given) {
		l.n = 1;
		snprintf(l.name[0], sizeof(l.name[0]), "%s", a->selector);
	} else if (collect_selectors(m, domfd, &l) == -1)
		goto fail;
	for (size_t i = 0; i < l.n; i++)
		if (show_selector(m, domfd, a->domain, l.name[i], &printed) == -1)
			goto fail;
none:
	if (printed == 0)
		mx_fail(m, "no DKIM keys for %s%s%s in %s: create them with 'mxctl dkim "
		    "keygen %s'", a->domain, a->selector_given ? " with selector " : "",
		    a->selector_given ? a->selector : "", m->cfg.dkim_key_dir, a->domain);
	else
		r = 0;
fail:
	if (domfd != -1)
		close(domfd);
	if (keyfd != -1)
		close(keyfd);
	return r == 0 ? MX_OK : MX_FAIL;
}

/* ---- dkim keygen ----------------------------------------------------------------------- */

static EVP_PKEY *
generate_key(enum dkim_key_alg a)
{
	if (a == DKIM_ALG_RSA)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)DKIM_RSA_BITS);
	return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
}

/* Writes data to name.tmp (0600, owned by _hmx-dkim) and fsyncs it. */
static int
write_tmp(struct mxctl *m, int domfd, const char *tmp, const void *data, size_t len)
{
	int fd = openat(domfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd == -1)
		return mx_fail(m, "%s: %s", tmp, strerror(errno));
	if (fchmod(fd, 0600) == -1 || own_fd(m, fd, tmp) == -1 ||
	    write_all(fd, data, len) == -1 || fsync(fd) == -1) {
		int e = errno;
		close(fd);
		(void)unlinkat(domfd, tmp, 0);
		return m->err[0] != '\0' ? -1 : mx_fail(m, "%s: %s", tmp, strerror(e));
	}
	if (close(fd) == -1) {
		(void)unlinkat(domfd, tmp, 0);
		return mx_fail(m, "%s: %s", tmp, strerror(errno));
	}
	return 0;
}

/* Makes one key and puts it in place as selector<suffix>. */
static int
make_key(struct mxctl *m, int domfd, const struct dkim_args *a, enum dkim_key_alg alg)
{
	char name[DKIM_KEY_NAME_MAX], tmp[DKIM_SELECTOR_MAX + 24];
	EVP_PKEY *k = generate_key(alg);
	BIO *bio = BIO_new(BIO_s_secmem());
	char *pem = NULL;
	long len;
	int r = -1;

	m->err[0] = '\0';
	dkim_key_file_name(name, sizeof(name), a->selector, alg);
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	if (k == NULL || bio == NULL ||
	    PEM_write_bio_PKCS8PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (len = BIO_get_mem_data(bio, &pem)) <= 0) {
		mx_fail(m, "%s: key generation failed (%s)", name, openssl_error());
		goto done;
	}
	if (write_tmp(m, domfd, tmp, pem, (size_t)len) == -1)
		goto done;
	if (renameat2(domfd, tmp, domfd, name, a->force ? 0 : RENAME_NOREPLACE) == -1) {
		mx_fail(m, "%s: %s", name, errno == EEXIST ?
		    "appeared while we were writing it: nothing replaced" : strerror(errno));
		(void)unlinkat(domfd, tmp, 0);
		goto done;
	}
	r = 0;
done:
	BIO_free(bio);		/* secure memory: cleared on free */
	EVP_PKEY_free(k);
	return r;
}

static int
refuse_existing(struct mxctl *m, int domfd, const struct dkim_args *a)
{
	char name[DKIM_KEY_NAME_MAX];
	struct stat st;

	for (int i = 0; i < DKIM_ALG_COUNT; i++) {
		dkim_key_file_name(name, sizeof(name), a->selector, (enum dkim_key_alg)i);
		if (fstatat(domfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return mx_fail(m, "%s/%s/%s exists already: use --force to replace the "
			    "keys of selector %s (then publish the new records)",
			    m->cfg.dkim_key_dir, a->domain, name, a->selector);
	}
	return 0;
}

static void
print_keygen_notes(struct mxctl *m, const struct dkim_args *a)
{
	uid_t uid;
	gid_t gid;
	bool chown_needed;

	printf("created %s/%s/%s.{rsa,ed25519}.pem (RSA %d, Ed25519); dkimsign uses "
	    "them from the next message on; publish:\n",
	    m->cfg.dkim_key_dir, a->domain, a->selector, DKIM_RSA_BITS);
	if (strcmp(a->selector, m->cfg.dkim_selector) != 0)
		fprintf(stderr, "mxctl: note: %s signs with dkim_selector %s; set "
		    "'dkim_selector %s' there to sign with these keys\n",
		    m->config_path, m->cfg.dkim_selector, a->selector);
	if (key_owner(&uid, &gid, &chown_needed) == -1)
		fprintf(stderr, "mxctl: note: user %s does not exist yet, the keys belong "
		    "to root: start homemxd once, then 'chown -R %s %s'\n", USER_DKIM,
		    USER_DKIM, m->cfg.dkim_key_dir);
}

static int
dkim_keygen(struct mxctl *m, const struct dkim_args *a)
{
	int keyfd = -1, domfd = -1, r = MX_FAIL;
	unsigned printed = 0;

	if (check_domain_local(m, a->domain) == -1 ||
	    open_key_dir(m, true, &keyfd) == -1)
		goto done;
	if (open_domain_dir(m, keyfd, a->domain, true, &domfd) == -1 ||
	    (!a->force && refuse_existing(m, domfd, a) == -1))
		goto done;
	for (int i = 0; i < DKIM_ALG_COUNT; i++)
		if (make_key(m, domfd, a, (enum dkim_key_alg)i) == -1)
			goto done;
	if (fsync(domfd) == -1) {
		mx_fail(m, "%s/%s: fsync: %s", m->cfg.dkim_key_dir, a->domain, strerror(errno));
		goto done;
	}
	print_keygen_notes(m, a);
	if (show_selector(m, domfd, a->domain, a->selector, &printed) == 0)
		r = MX_OK;
done:
	if (domfd != -1)
		close(domfd);
	if (keyfd != -1)
		close(keyfd);
	return r;
}

/* ---- dkim list ---------------------------------------------------------------------------- */

static void
list_domain(struct mxctl *m, int keyfd, const char *domain)
{
	static struct selector_list l;
	char name[DKIM_KEY_NAME_MAX];
	struct stat st;
	int domfd;

	if ((domfd = openat(keyfd, domain, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return;
	if (collect_selectors(m, domfd, &l) == 0)
		for (size_t i = 0; i < l.n; i++) {
			printf("%s %s", domain, l.name[i]);
			for (int a = 0; a < DKIM_ALG_COUNT; a++) {
				dkim_key_file_name(name, sizeof(name), l.name[i], (enum dkim_key_alg)a);
				if (fstatat(domfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
					printf(" %s", dkim_alg_dns_name((enum dkim_key_alg)a));
			}
			printf("%s\n", strcmp(l.name[i], m->cfg.dkim_selector) == 0 ?
			    " (signing)" : "");
		}
	close(domfd);
}

static int
dkim_list(struct mxctl *m)
{
	static char domains[DKIM_DOMAINS_MAX][ADDR_DOMAIN_MAX + 1];
	size_t n = 0;
	struct dirent *e;
	int keyfd, fd;
	DIR *d;

	if (open_key_dir(m, false, &keyfd) == -1)
		return MX_FAIL;
	if ((fd = fcntl(keyfd, F_DUPFD_CLOEXEC, 3)) == -1 || (d = fdopendir(fd)) == NULL) {
		mx_fail(m, "%s: %s", m->cfg.dkim_key_dir, strerror(errno));
		close(keyfd);
		return MX_FAIL;
	}
	while ((e = readdir(d)) != NULL && n < DKIM_DOMAINS_MAX)
		if (domain_is_valid(e->d_name, strlen(e->d_name)) &&
		    strlen(e->d_name) < sizeof(domains[0]))
			memcpy(domains[n++], e->d_name, strlen(e->d_name) + 1);
	closedir(d);
	qsort(domains, n, sizeof(domains[0]), cmp_names);
	for (size_t i = 0; i < n; i++)
		list_domain(m, keyfd, domains[i]);
	close(keyfd);
	return MX_OK;
}

/* ---- dispatch ------------------------------------------------------------------------------- */

int	cmd_dkim(struct mxctl *, int, char **);

/* mxctl dkim keygen DOMAIN [--selector S] [--force] | show DOMAIN [--selector S] | list */
int
cmd_dkim(struct mxctl *m, int argc, char **argv)
{
	struct dkim_args a;
	int r;

	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return dkim_list(m);
	if (argc >= 2 && strcmp(argv[0], "keygen") == 0) {
		if ((r = parse_args(m, argc - 1, argv + 1, true, &a)) != MX_OK)
			return r;
		return dkim_keygen(m, &a);
	}
	if (argc >= 2 && strcmp(argv[0], "show") == 0) {
		if ((r = parse_args(m, argc - 1, argv + 1, false, &a)) != MX_OK)
			return r;
		return dkim_show(m, &a);
	}
	return MX_USAGE;
}
