/*
 * admin/cmd_user.c - mxctl user add|del|list|passwd.
 *
 * Owns: the life of a user row: created only in a local domain and under a
 * name no alias or blocked tag already holds; its password is hashed
 * (Argon2id) before the transaction starts, so no lock is held during the
 * slow part; deleted only when no alias or catch-all still points at it,
 * together with its blocked tags. After each change, the Dovecot
 * passwd-file is written again from the store (dovecot_passwd.h), so IMAP
 * takes the password submission takes; `user sync-dovecot` does only that.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "ctlclient.h"
#include "dovecot_passwd.h"
#include "idn_display.h"
#include "jsonout.h"
#include "mxctl.h"
#include "password.h"

struct user_op {
	char		address[ADDR_MAX + 1];
	char		hash[STORE_HASH_MAX + 1];	/* "" = no login */
	unsigned	dropped;			/* blocked tags removed */
};

/* "--no-password" or nothing; anything else is a usage error. */
static int
parse_no_password(int argc, char **argv, bool *no_password)
{
	*no_password = false;
	if (argc < 2)
		return 0;
	if (strcmp(argv[1], "--no-password") != 0)
		return -1;
	*no_password = true;
	return 0;
}

/* Reads and hashes a new password into op->hash, unless none is wanted. */
static int
get_hash(struct mxctl *m, bool no_password, struct user_op *op)
{
	char password[PASSWORD_MAX + 1], hash[crypto_pwhash_STRBYTES], err[256];
	int r = 0;

	if (no_password)
		return 0;
	if (password_read(password, sizeof(password), err, sizeof(err)) == -1 ||
	    password_hash(password, hash, sizeof(hash), err, sizeof(err)) == -1)
		r = mx_fail(m, "%s", err);
	else if (strlen(hash) > STORE_HASH_MAX)
		r = mx_fail(m, "password hash longer than %d bytes", STORE_HASH_MAX);
	else
		memcpy(op->hash, hash, strlen(hash) + 1);
	sodium_memzero(password, sizeof(password));
	return r;
}

static int
user_add_check(struct mxctl *m, struct store_txn *t, void *arg)
{
	struct user_op *op = arg;

	if (mx_check_address_domain(m, t, op->address) == -1 ||
	    mx_check_name_free(m, t, op->address) == -1)
		return -1;
	return 0;
}

static int
user_add_txn(struct mxctl *m, struct store_txn *t, void *arg)
{
	struct user_op *op = arg;
	struct store_user u = { 0 };
	enum store_status s;

	if (user_add_check(m, t, arg) == -1)
		return -1;
	memcpy(u.address, op->address, sizeof(u.address));
	memcpy(u.hash, op->hash, sizeof(u.hash));
	if ((s = store_put_user(t, &u)) != STORE_OK)
		return mx_store_fail(m, s);
	return 0;
}

int
cmd_user_add(struct mxctl *m, int argc, char **argv)
{
	struct user_op op = { 0 };
	bool no_password;

	if (parse_no_password(argc, argv, &no_password) == -1)
		return MX_USAGE;
	/* check first: nobody should type a password for a refused name */
	if (mx_norm_address(m, "user", argv[0], op.address, sizeof(op.address)) == -1 ||
	    mx_read(m, user_add_check, &op) == -1 ||
	    get_hash(m, no_password, &op) == -1 ||
	    mx_write(m, user_add_txn, &op) == -1)
		return MX_FAIL;
	printf("user %s added%s\n", op.address, no_password ? " (login disabled)" : "");
	return dovecot_passwd_after_change(m) == 0 ? MX_OK : MX_FAIL;
}

static int
user_must_exist(struct mxctl *m, struct store_txn *t, const char *address,
    struct store_user *u)
{
	enum store_status s = store_get_user(t, address, u);

	if (s == STORE_OK)
		return 0;
	if (s != STORE_NOTFOUND)
		return mx_store_fail(m, s);
	if (store_name_exists(t, address) == STORE_OK)
		return mx_fail(m, "'%s' is an alias, not a user (see mxctl alias)", address);
	return mx_fail(m, "no such user '%s'", address);
}

static int
user_del_txn(struct mxctl *m, struct store_txn *t, void *arg)
{
	struct user_op *op = arg;
	struct store_user u;
	enum store_status s;

	if (user_must_exist(m, t, op->address, &u) == -1 ||
	    mx_check_unreferenced(m, t, op->address) == -1)
		return -1;
	if ((s = store_del_user(t, op->address)) != STORE_OK)
		return mx_store_fail(m, s);
	return mx_drop_blocks_of(m, t, op->address, &op->dropped);
}

int
cmd_user_del(struct mxctl *m, int argc, char **argv)
{
	struct user_op op = { 0 };

	(void)argc;
	if (mx_norm_address(m, "user", argv[0], op.address, sizeof(op.address)) == -1 ||
	    mx_write(m, user_del_txn, &op) == -1)
		return MX_FAIL;
	printf("user %s deleted", op.address);
	if (op.dropped > 0)
		printf(", with %u blocked tags", op.dropped);
	printf("\n");
	return dovecot_passwd_after_change(m) == 0 ? MX_OK : MX_FAIL;
}

/* `user list` in one domain (NULL: all), text or a JSON array. */
struct user_list {
	const char	*domain;
	bool		 json;
	unsigned	 n;
};

static int
print_user(const struct store_user *u, void *arg)
{
	struct user_list *l = arg;

	if (!mx_in_domain(u->address, l->domain))
		return 0;
	if (!l->json) {
		idn_print_text(stdout, u->address, true);
		printf("\t%s\n", u->hash[0] ? "password" : "no-login");
		return 0;
	}
	fputs(l->n++ ? ", {" : "{", stdout);
	json_member(stdout, 1, "address", u->address);
	idn_print_json_member(stdout, "address", u->address, true);
	fprintf(stdout, ", \"login\": %s}", u->hash[0] ? "true" : "false");
	return 0;
}

static int
user_list_txn(struct mxctl *m, struct store_txn *t, void *arg)
{
	enum store_status s = store_each_user(t, print_user, arg);

	return s == STORE_OK ? 0 : mx_store_fail(m, s);
}

/* mxctl user list [DOMAIN] [--json]; DOMAIN in either form. */
int
cmd_user_list(struct mxctl *m, int argc, char **argv)
{
	char domain[ADDR_DOMAIN_MAX + 1];
	struct user_list l = { NULL, ctl_take_json(&argc, argv), 0 };
	int r;

	if (argc > 1)
		return MX_USAGE;
	if (argc == 1 && mx_norm_domain(m, argv[0], domain, sizeof(domain)) == -1)
		return MX_FAIL;
	l.domain = argc == 1 ? domain : NULL;
	if (l.json)
		fputs("{\"users\": [", stdout);
	r = mx_read(m, user_list_txn, &l);
	if (l.json)
		fputs("]}\n", stdout);
	return r == -1 ? MX_FAIL : MX_OK;
}

static int
user_passwd_check(struct mxctl *m, struct store_txn *t, void *arg)
{
	struct user_op *op = arg;
	struct store_user u;

	return user_must_exist(m, t, op->address, &u);
}

static int
user_passwd_txn(struct mxctl *m, struct store_txn *t, void *arg)
{
	struct user_op *op = arg;
	struct store_user u;
	enum store_status s;

	if (user_must_exist(m, t, op->address, &u) == -1)
		return -1;
	memcpy(u.hash, op->hash, sizeof(u.hash));
	if ((s = store_put_user(t, &u)) != STORE_OK)
		return mx_store_fail(m, s);
	return 0;
}

int
cmd_user_passwd(struct mxctl *m, int argc, char **argv)
{
	struct user_op op = { 0 };
	bool no_password;

	if (parse_no_password(argc, argv, &no_password) == -1)
		return MX_USAGE;
	if (mx_norm_address(m, "user", argv[0], op.address, sizeof(op.address)) == -1 ||
	    mx_read(m, user_passwd_check, &op) == -1 ||
	    get_hash(m, no_password, &op) == -1 ||
	    mx_write(m, user_passwd_txn, &op) == -1)
		return MX_FAIL;
	printf("user %s: %s\n", op.address, no_password ? "login disabled" : "password changed");
	return dovecot_passwd_after_change(m) == 0 ? MX_OK : MX_FAIL;
}

/* The passwd-file from the store, for an install that predates it or a
 * file someone edited by hand. */
int
cmd_user_sync_dovecot(struct mxctl *m, int argc, char **argv)
{
	unsigned nusers, nlogin;

	(void)argc;
	(void)argv;
	if (m->cfg.dovecot_passwd_file[0] == '\0') {
		mx_fail(m, "dovecot_passwd_file is not set in %s (mxctl setup writes "
		    "'dovecot_passwd_file /var/lib/homemx/dovecot/passwd')", m->config_path);
		return MX_FAIL;
	}
	if (dovecot_passwd_sync(m, &nusers, &nlogin) == -1)
		return MX_FAIL;
	printf("%s: %u users, %u with a password\n", m->cfg.dovecot_passwd_file,
	    nusers, nlogin);
	return MX_OK;
}
