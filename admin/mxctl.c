/*
 * admin/mxctl.c - mxctl: the command table, start-up and the rules every
 * command shares.
 *
 * Owns: the order of start-up (parse the arguments, read homemx.conf, drop
 * to the owner of store_dir, open the store), the command dispatcher, the
 * transaction helpers (every write is one transaction, retried on a lock
 * conflict, followed by a checkpoint so old logs can go) and the
 * consistency rules of mxctl.h. Why drop to the store owner: the files the
 * store creates must stay readable by the lookup role (_hmx-lookup); a
 * root-owned log file would stop it. In demo mode (not root) mxctl simply
 * runs as the invoking user, like the daemon.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "dovecot_passwd.h"
#include "log.h"
#include "mxctl.h"
#include "role.h"
#include "util.h"

#define MX_WRITE_ATTEMPTS	5	/* deadlock victims retry this often */

/* Ctrl-C and friends: noted, acted upon between store calls (a process
 * killed inside BDB can leave a region mutex held, see lookup.c). */
static volatile sig_atomic_t interrupted;

/* To add a command: one row here, one function in a cmd_*.c file. */
static const struct mx_command commands[] = {
	{ "domain", "add",     1, 3, cmd_domain_add,      "domain add NAME [--catchall USER]" },
	{ "domain", "del",     1, 1, cmd_domain_del,      "domain del NAME" },
	{ "domain", "list",    0, 1, cmd_domain_list,     "domain list [--json]" },
	{ "domain", "catchall", 2, 2, cmd_domain_catchall, "domain catchall NAME USER|none" },
	{ "user",   "add",     1, 2, cmd_user_add,        "user add ADDRESS [--no-password]" },
	{ "user",   "del",     1, 1, cmd_user_del,        "user del ADDRESS" },
	{ "user",   "list",    0, 2, cmd_user_list,       "user list [DOMAIN] [--json]" },
	{ "user",   "passwd",  1, 2, cmd_user_passwd,     "user passwd ADDRESS [--no-password]" },
	{ "user",   "sync-dovecot", 0, 0, cmd_user_sync_dovecot, "user sync-dovecot   (rewrite dovecot_passwd_file from the store)" },
	{ "alias",  "add",     2, 2, cmd_alias_add,       "alias add ALIAS TARGET[,TARGET...]" },
	{ "alias",  "del",     1, 1, cmd_alias_del,       "alias del ALIAS" },
	{ "alias",  "list",    0, 2, cmd_alias_list,      "alias list [DOMAIN] [--json]" },
	{ "tag",    "block",   1, 1, cmd_tag_block,       "tag block ADDRESS+TAG" },
	{ "tag",    "unblock", 1, 1, cmd_tag_unblock,     "tag unblock ADDRESS+TAG" },
	{ "tag",    "list",    0, 1, cmd_tag_list,        "tag list [DOMAIN]" },
	{ "import", NULL,      1, 1, cmd_import,          "import FILE|-" },
	{ "dkim",   NULL,      1, 5, cmd_dkim,            "dkim keygen DOMAIN [--selector S] [--force] | show DOMAIN [--selector S] | list", true },
	{ "why",    NULL,      1, 1, cmd_why,             "why REF|SESSION|QUEUEID   (a screen verdict, e.g. why 7f3a09c2-1)", true },
	{ "screen", "test",    4, 6, cmd_screen_test,     "screen test [--file MESSAGE] IP HELO FROM|<> RCPT   (every check live, no mail sent)", true },
	{ "setup",  NULL,      2, 7, cmd_setup,           "setup DOMAIN HOSTNAME [--force] [--cert FILE --key FILE]   (writes the config)", true, true },
	{ "dns",    NULL,      1, 2, cmd_dns,             "dns DOMAIN [--json | --mta-sts-policy]   (the records to publish)", true },
	{ "queue",  "list",    0, 3, cmd_queue_list,      "queue list [--deferred|--held|--to DOMAIN] [--json]   (like mailq)", true },
	{ "queue",  "show",    1, 2, cmd_queue_show,      "queue show ID [--json]   (envelope, attempts, last error, next try)", true },
	{ "queue",  "flush",   0, 2, cmd_queue_flush,     "queue flush [ID|DOMAIN] [--json]   (try now)", true },
	{ "queue",  "delete",  1, 2, cmd_queue_delete,    "queue delete ID [--json]", true },
	{ "queue",  "hold",    1, 2, cmd_queue_hold,      "queue hold ID [--json]   (no delivery until released; kept over restarts)", true },
	{ "queue",  "release", 1, 2, cmd_queue_release,   "queue release ID [--json]", true },
	{ "queue",  "bounce",  1, 2, cmd_queue_bounce,    "queue bounce ID [--json]   (return to the sender with a DSN)", true },
	{ "status", NULL,      0, 1, cmd_status,          "status [--json]   (processes, queue, connections, verdicts today)", true },
	{ "reload", NULL,      0, 1, cmd_reload,          "reload [--json]   (read the config and certificate again)", true },
	{ "log",    NULL,      1, 4, cmd_log,             "log -f [--session ID|--queue ID|--address A] [--json]", true },
	{ "metrics", NULL,     0, 1, cmd_metrics,         "metrics [--json]   (Prometheus text format)", true },
	{ "doctor", NULL,      0, 6, cmd_doctor,          "doctor [DOMAIN] [--json] [--changes FILE [--mail ADDRESS]]   (check DNS, TLS, relay; exit 0 OK, 1 WARN, 2 FAIL, 3 error)", true },
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

static void
usage(const char *noun)
{
	fprintf(stderr, "usage: mxctl [-f CONFIG] COMMAND ...    (default config %s)\n",
	    MXCTL_DEFAULT_CONFIG);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (noun == NULL || strcmp(noun, commands[i].noun) == 0)
			fprintf(stderr, "       mxctl %s\n", commands[i].usage);
	if (noun == NULL)
		fprintf(stderr,
		    "Passwords are read from stdin (first line) when it is not a terminal,\n"
		    "else prompted twice; never from the command line. Subaddress delimiters\n"
		    "come from subaddress_delimiters in the config (default \"+-\").\n"
		    "import: lines 'domain NAME [catchall ADDRESS]', 'user ADDRESS [HASH]',\n"
		    "'alias ADDRESS TARGET[,TARGET...]', 'block ADDRESS', '# comment';\n"
		    "all or nothing (see admin/README.import).\n");
}

/* ---- messages and transactions ------------------------------------------- */

int
mx_fail(struct mxctl *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
	return -1;
}

int
mx_store_fail(struct mxctl *m, enum store_status s)
{
	m->busy = s == STORE_BUSY;
	m->panic = s == STORE_PANIC;
	m->store_trouble = true;
	return mx_fail(m, "store: %s (%s)", store_status_text(s), store_error(m->st));
}

static void
on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* No SA_RESTART: a password prompt returns EINTR and gives up. */
static void
catch_interrupts(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaction(sigs[i], &sa, NULL);
}

/* Another process ran recovery under us: reopen once and try again. */
static int
reopen_store(struct mxctl *m)
{
	char err[STORE_ERR_MAX + CONFIG_PATH_MAX];

	store_close(m->st);
	if ((m->st = store_open(m->cfg.store_dir, err, sizeof(err))) == NULL)
		return mx_fail(m, "%s", err);
	return 0;
}

int
mx_write(struct mxctl *m, mx_txn_fn fn, void *arg)
{
	for (int attempt = 0; attempt < MX_WRITE_ATTEMPTS; attempt++) {
		struct store_txn *t;
		enum store_status s;

		m->busy = false;
		m->panic = false;
		m->store_trouble = false;
		if ((s = store_begin_write(m->st, &t)) == STORE_PANIC) {
			if (reopen_store(m) == -1)
				return -1;
			continue;
		}
		if (s != STORE_OK)
			return mx_store_fail(m, s);
		if (fn(m, t, arg) == -1) {
			store_abort(t);
			if (m->busy)
				continue;
			if (m->panic && reopen_store(m) == 0)
				continue;
			return -1;
		}
		if (interrupted) {
			store_abort(t);
			return mx_fail(m, "interrupted: nothing was written");
		}
		if ((s = store_commit(t)) == STORE_OK) {
			(void)store_checkpoint(m->st, true);
			return 0;
		}
		if (s == STORE_PANIC)	/* recovery decides whether it landed */
			return mx_fail(m, "store: recovery ran during the commit (%s): "
			    "check with 'list' whether the change is there",
			    store_error(m->st));
		if (mx_store_fail(m, s) == -1 && !m->busy)
			return -1;
	}
	return -1;
}

int
mx_read(struct mxctl *m, mx_txn_fn fn, void *arg)
{
	struct store_txn *t;
	enum store_status s;
	int r;

	if ((s = store_begin_read(m->st, &t)) == STORE_PANIC &&
	    reopen_store(m) == 0)
		s = store_begin_read(m->st, &t);
	if (s != STORE_OK)
		return mx_store_fail(m, s);
	r = fn(m, t, arg);
	store_abort(t);
	return r;
}

/* ---- names ------------------------------------------------------------------ */

int
mx_norm_address(struct mxctl *m, const char *what, const char *in, char *out,
    size_t outsize)
{
	const char *why;

	if (addr_normalize_input(in, out, outsize, &why) != ADDR_OK)
		return mx_fail(m, "%s '%.200s': %s", what, in, why);
	return 0;
}

int
mx_norm_domain(struct mxctl *m, const char *in, char *out, size_t outsize)
{
	const char *why;

	if (domain_normalize_input(in, out, outsize, &why) == -1)
		return mx_fail(m, "domain '%.200s': %s", in, why);
	return 0;
}

int
mx_norm_catchall(struct mxctl *m, const char *in, const char *domain,
    char *out, size_t outsize)
{
	char full[ADDR_MAX + 2];

	if (strchr(in, '@') != NULL)
		return mx_norm_address(m, "catch-all", in, out, outsize);
	if (snprintf(full, sizeof(full), "%s@%s", in, domain) >= (int)sizeof(full))
		return mx_fail(m, "catch-all '%.200s': address too long", in);
	return mx_norm_address(m, "catch-all", full, out, outsize);
}

bool
mx_in_domain(const char *address, const char *domain)
{
	const char *at = strrchr(address, '@');

	return domain == NULL || (at != NULL && strcmp(at + 1, domain) == 0);
}

/* ---- rules --------------------------------------------------------------------- */

int
mx_check_domain_local(struct mxctl *m, struct store_txn *t, const char *domain)
{
	struct store_domain d;
	enum store_status s;

	if (config_has_domain(&m->cfg, domain))
		return 0;
	if ((s = store_get_domain(t, domain, &d)) == STORE_OK)
		return 0;
	if (s != STORE_NOTFOUND)
		return mx_store_fail(m, s);
	return mx_fail(m, "domain '%s' is not local: add it first with 'mxctl domain add %s' "
	    "(or a 'domain' line in %s)", domain, domain, m->config_path);
}

int
mx_check_address_domain(struct mxctl *m, struct store_txn *t, const char *address)
{
	return mx_check_domain_local(m, t, strrchr(address, '@') + 1);
}

/* A new user or alias may not shadow (or be shadowed by) another name. */
int
mx_check_name_free(struct mxctl *m, struct store_txn *t, const char *address)
{
	struct store_user u;
	struct store_alias *a;
	struct store_block b;
	enum store_status s;

	if ((s = store_get_user(t, address, &u)) == STORE_OK)
		return mx_fail(m, "'%s' already exists as a user", address);
	if (s != STORE_NOTFOUND)
		return mx_store_fail(m, s);
	if ((a = malloc(sizeof(*a))) == NULL)
		return mx_fail(m, "out of memory");
	s = store_get_alias(t, address, a);
	free(a);
	if (s == STORE_OK)
		return mx_fail(m, "'%s' already exists as an alias", address);
	if (s != STORE_NOTFOUND)
		return mx_store_fail(m, s);
	if ((s = store_get_block(t, address, &b)) == STORE_OK)
		return mx_fail(m, "'%s' is a blocked subaddress of %s: "
		    "'mxctl tag unblock %s' first", address, b.base, address);
	if (s != STORE_NOTFOUND)
		return mx_store_fail(m, s);
	return 0;
}

struct ref_search {
	const char	*address;
	char		 found[ADDR_MAX + 64];
};

static int
ref_in_alias(const struct store_alias *a, void *arg)
{
	struct ref_search *r = arg;

	for (unsigned i = 0; i < a->ntargets; i++)
		if (strcmp(a->targets[i], r->address) == 0) {
			snprintf(r->found, sizeof(r->found), "alias %s", a->address);
			return 1;
		}
	return 0;
}

static int
ref_in_domain(const struct store_domain *d, void *arg)
{
	struct ref_search *r = arg;

	if (strcmp(d->catchall, r->address) != 0)
		return 0;
	snprintf(r->found, sizeof(r->found), "the catch-all of %s", d->name);
	return 1;
}

/* Nothing may point at a name that is about to go. */
int
mx_check_unreferenced(struct mxctl *m, struct store_txn *t, const char *address)
{
	struct ref_search r = { address, "" };
	enum store_status s;

	if ((s = store_each_alias(t, ref_in_alias, &r)) != STORE_OK ||
	    (r.found[0] == '\0' &&
	    (s = store_each_domain(t, ref_in_domain, &r)) != STORE_OK))
		return mx_store_fail(m, s);
	if (r.found[0] != '\0')
		return mx_fail(m, "'%s' is still a target of %s: change that first",
		    address, r.found);
	return 0;
}

int
mx_check_expansion(struct mxctl *m, struct store_txn *t, const char *address)
{
	struct store_mailboxes *mb;
	enum store_status s;
	int r = 0;

	if ((mb = malloc(sizeof(*mb))) == NULL)
		return mx_fail(m, "out of memory");
	if ((s = store_expand(t, address, mb)) != STORE_OK)
		r = mx_store_fail(m, s);
	else if (mb->overflow)
		r = mx_fail(m, "'%s' would reach more than %d mailboxes", address,
		    STORE_EXPAND_MAX);
	else if (mb->too_deep)
		r = mx_fail(m, "'%s' would be a chain of more than %d aliases", address,
		    STORE_EXPAND_DEPTH);
	else if (mb->n == 0)
		r = mx_fail(m, "'%s' would reach no mailbox (a loop of aliases?)", address);
	free(mb);
	return r;
}

struct block_list {
	const char	*base;
	unsigned	 n;
	unsigned	 cap;
	bool		 oom;
	char		(*addr)[ADDR_MAX + 1];
};

static int
collect_block(const struct store_block *b, void *arg)
{
	struct block_list *l = arg;

	if (strcmp(b->base, l->base) != 0)
		return 0;
	if (l->n == l->cap) {
		unsigned cap = l->cap ? l->cap * 2 : 16;
		void *p = realloc(l->addr, cap * sizeof(*l->addr));
		if (p == NULL) {
			l->oom = true;
			return 1;
		}
		l->addr = p;
		l->cap = cap;
	}
	memcpy(l->addr[l->n++], b->address, sizeof(l->addr[0]));
	return 0;
}

int
mx_drop_blocks_of(struct mxctl *m, struct store_txn *t, const char *address,
    unsigned *count)
{
	struct block_list l = { address, 0, 0, false, NULL };
	enum store_status s;
	int r = 0;

	*count = 0;
	if ((s = store_each_block(t, collect_block, &l)) != STORE_OK)
		r = mx_store_fail(m, s);
	else if (l.oom)
		r = mx_fail(m, "out of memory");
	for (unsigned i = 0; r == 0 && i < l.n; i++)
		if ((s = store_del_block(t, l.addr[i])) != STORE_OK)
			r = mx_store_fail(m, s);
	if (r == 0)
		*count = l.n;
	free(l.addr);
	return r;
}

/* ---- start-up -------------------------------------------------------------------- */

/* Creates store_dir for _hmx-lookup, or finds who owns it. */
static int
store_owner(struct mxctl *m, struct passwd **owner)
{
	const char *dir = m->cfg.store_dir;
	struct stat st;

	*owner = NULL;
	if (stat(dir, &st) == 0) {
		if (st.st_uid == 0)
			return 0;	/* a root-run demo store: stay root */
		if ((*owner = getpwuid(st.st_uid)) == NULL)
			return mx_fail(m, "store_dir %s belongs to uid %ld, which has no "
			    "passwd entry", dir, (long)st.st_uid);
		return 0;
	}
	if (errno != ENOENT)
		return mx_fail(m, "store_dir %s: %s", dir, strerror(errno));
	if ((*owner = getpwnam(MXCTL_STORE_USER)) == NULL)
		return mx_fail(m, "store_dir %s does not exist and there is no user %s yet: "
		    "start homemxd once as root (it creates both)", dir, MXCTL_STORE_USER);
	if (mkdir_p(dir, 0755) == -1 || chmod(dir, 0700) == -1 ||
	    chown(dir, (*owner)->pw_uid, (*owner)->pw_gid) == -1)
		return mx_fail(m, "store_dir %s: cannot create: %s", dir, strerror(errno));
	return 0;
}

/*
 * As root, become the owner of dir (the screen's memory is _hmx-screen's):
 * the files a command opens or creates stay readable for the role. A
 * root-owned dir (a root-run demo) keeps us root. -1 with m->err if dir is
 * missing or its owner has no passwd entry.
 */
int
mx_become_owner_of(struct mxctl *m, const char *dir)
{
	struct passwd *pw;
	struct stat st;
	char name[256];

	if (stat(dir, &st) == -1)
		return mx_fail(m, "%s: %s (has homemxd run with this config?)", dir,
		    strerror(errno));
	if (geteuid() != 0 || st.st_uid == 0)
		return 0;
	if ((pw = getpwuid(st.st_uid)) == NULL ||
	    snprintf(name, sizeof(name), "%s", pw->pw_name) >= (int)sizeof(name))
		return mx_fail(m, "%s: owner uid %ld has no usable passwd entry", dir,
		    (long)st.st_uid);
	privdrop(name, NULL);
	return 0;
}

/* As root, become the owner of store_dir before touching any store file. */
static int
become_store_owner(struct mxctl *m)
{
	struct passwd *pw;
	char name[256];

	if (geteuid() != 0)
		return 0;
	if (store_owner(m, &pw) == -1)
		return -1;
	/* the last chance to make what only root can: Dovecot's directory */
	if (dovecot_passwd_prepare(m, pw != NULL ? pw->pw_uid : 0,
	    pw != NULL ? pw->pw_gid : 0) == -1)
		return -1;
	if (pw == NULL)
		return 0;
	/* privdrop() calls getpwnam() again, which reuses pw's buffer */
	if (snprintf(name, sizeof(name), "%s", pw->pw_name) >= (int)sizeof(name))
		return mx_fail(m, "user name of the store owner too long");
	privdrop(name, NULL);
	return 0;
}

static const struct mx_command *
find_command(int argc, char **argv, int *nargs)
{
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const struct mx_command *c = &commands[i];
		if (strcmp(argv[0], c->noun) != 0)
			continue;
		if (c->verb == NULL) {
			*nargs = argc - 1;
			return c;
		}
		if (argc >= 2 && strcmp(argv[1], c->verb) == 0) {
			*nargs = argc - 2;
			return c;
		}
	}
	return NULL;
}

static bool
noun_exists(const char *noun)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(noun, commands[i].noun) == 0)
			return true;
	return false;
}

static int
open_config(struct mxctl *m)
{
	char err[CONFIG_ERR_MAX + CONFIG_PATH_MAX], *text;
	size_t len;

	if (sodium_init() < 0)
		return mx_fail(m, "libsodium failed to initialize");
	if (config_load(m->config_path, &m->cfg, &text, &len, err, sizeof(err)) == -1)
		return mx_fail(m, "%s", err);
	free(text);
	return 0;
}

static int
open_everything(struct mxctl *m)
{
	char err[CONFIG_ERR_MAX + CONFIG_PATH_MAX];

	if (open_config(m) == -1)
		return -1;
	if (become_store_owner(m) == -1)
		return -1;
	if ((m->st = store_open(m->cfg.store_dir, err, sizeof(err))) == NULL)
		return mx_fail(m, "%s", err);
	return 0;
}

int
mxctl_main(int argc, char **argv)
{
	static struct mxctl m;
	const struct mx_command *c;
	int ch, nargs, r;

	m.config_path = MXCTL_DEFAULT_CONFIG;
	log_init("mxctl", LOG_SINK_STDERR);
	catch_interrupts();
	/* '+': options stop at the command, so its own --flags stay its own */
	while ((ch = getopt(argc, argv, "+f:h")) != -1) {
		switch (ch) {
		case 'f':
			m.config_path = optarg;
			break;
		default:
			usage(NULL);
			return ch == 'h' ? MX_OK : MX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(NULL);
		return MX_USAGE;
	}
	if ((c = find_command(argc, argv, &nargs)) == NULL) {
		if (noun_exists(argv[0]))
			fprintf(stderr, "mxctl: unknown %s command '%s'\n", argv[0],
			    argc > 1 ? argv[1] : "");
		else
			fprintf(stderr, "mxctl: unknown command '%s'\n", argv[0]);
		usage(noun_exists(argv[0]) ? argv[0] : NULL);
		return MX_USAGE;
	}
	if (nargs < c->min_args || nargs > c->max_args) {
		fprintf(stderr, "mxctl: wrong number of arguments\n");
		usage(c->noun);
		return MX_USAGE;
	}
	if (!c->no_config &&
	    (c->own_privileges ? open_config(&m) : open_everything(&m)) == -1) {
		fprintf(stderr, "mxctl: %s\n", m.err);
		store_close(m.st);
		return MX_FAIL;
	}
	r = c->run(&m, nargs, argv + (argc - nargs));
	if (m.verdict_exit)
		;	/* r is a verdict, already reported */
	else if (r == MX_USAGE)
		usage(c->noun);
	else if (r != MX_OK)
		fprintf(stderr, "mxctl: %s\n", m.err);
	store_close(m.st);
	return r;
}
