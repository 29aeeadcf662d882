/*
 * admin/mxctl.h - what the mxctl commands share: the run context, the
 * transaction helpers and the consistency rules of the store.
 *
 * Owns: the rules that keep the store consistent across commands (a name
 * is a user or an alias, never both; only local domains get names; nothing
 * is deleted while an alias or a catch-all still points at it). Each
 * cmd_*.c file adds the verbs of one noun; the table in mxctl.c lists them.
 */
#ifndef HMX_ADMIN_MXCTL_H
#define HMX_ADMIN_MXCTL_H

#include <stdbool.h>

#include "config.h"
#include "store.h"

#define MXCTL_ERR_MAX		1024
#include "role.h"

#define MXCTL_STORE_USER	USER_LOOKUP	/* lib/role.h */
#define MXCTL_DEFAULT_CONFIG	"/etc/homemx/homemx.conf"

/* Exit codes. */
#define MX_OK		0
#define MX_FAIL		1	/* refused or failed: a message was printed */
#define MX_USAGE	2	/* bad arguments: usage was printed */

struct mxctl {
	const char	*config_path;
	struct config	 cfg;
	struct store	*st;
	char		 err[MXCTL_ERR_MAX];
	bool		 busy;	/* the failure was a lock conflict: retry */
	bool		 panic;	/* another process ran recovery: reopen, retry */
	bool		 store_trouble;	/* the failure was the store's, not a rule's */
	bool		 verdict_exit;	/* the command's return value is its exit
					 * status as it is (doctor: 0 OK, 1 WARN,
					 * 2 FAIL): no usage, no error line */
};

/* One command: "mxctl NOUN VERB ARGS". */
struct mx_command {
	const char	*noun;
	const char	*verb;		/* NULL: the noun is the whole command */
	int		 min_args;
	int		 max_args;
	int		(*run)(struct mxctl *, int argc, char **argv);
	const char	*usage;
	/* Runs with only the config loaded: no store, no drop to the store
	 * owner. For commands that need root for something else (dkim: the
	 * key directory belongs to _hmx-dkim); they open the store themselves. */
	bool		 own_privileges;
	/* Runs before any config exists (setup writes it): nothing is loaded,
	 * m->config_path is where the config goes. */
	bool		 no_config;
};

/* Sets m->err; returns -1 so that callers can `return mx_fail(...)`. */
int	mx_fail(struct mxctl *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Store trouble: m->err from the store, m->busy on a lock conflict. */
int	mx_store_fail(struct mxctl *, enum store_status);

/* Runs fn in one write transaction, retried on lock conflicts, then
 * checkpoints. fn returns 0 or -1 (m->err set); -1 aborts everything. */
typedef int (*mx_txn_fn)(struct mxctl *, struct store_txn *, void *arg);
int	mx_write(struct mxctl *, mx_txn_fn, void *arg);
/* Runs fn in one snapshot read transaction. */
int	mx_read(struct mxctl *, mx_txn_fn, void *arg);

/* Normalizers that fill m->err with "what 'input': why". */
int	mx_norm_address(struct mxctl *, const char *what, const char *in,
	    char *out, size_t outsize);
int	mx_norm_domain(struct mxctl *, const char *in, char *out, size_t outsize);

/* The rules. Each returns 0 when satisfied, -1 with m->err otherwise. */
int	mx_check_domain_local(struct mxctl *, struct store_txn *, const char *domain);
int	mx_check_address_domain(struct mxctl *, struct store_txn *, const char *address);
int	mx_check_name_free(struct mxctl *, struct store_txn *, const char *address);
int	mx_check_unreferenced(struct mxctl *, struct store_txn *, const char *address);
int	mx_check_expansion(struct mxctl *, struct store_txn *, const char *address);
/* Removes the blocked subaddresses whose base is address; counts them. */
int	mx_drop_blocks_of(struct mxctl *, struct store_txn *, const char *address,
	    unsigned *count);
/* "kim" at domain d, or a full address: the catch-all argument. */
int	mx_norm_catchall(struct mxctl *, const char *in, const char *domain,
	    char *out, size_t outsize);
/* True if the domain part of address equals domain (or domain is NULL). */
bool	mx_in_domain(const char *address, const char *domain);

/* The commands (cmd_*.c). */
int	cmd_domain_add(struct mxctl *, int, char **);
int	cmd_domain_del(struct mxctl *, int, char **);
int	cmd_domain_list(struct mxctl *, int, char **);
int	cmd_domain_catchall(struct mxctl *, int, char **);
int	cmd_user_add(struct mxctl *, int, char **);
int	cmd_user_del(struct mxctl *, int, char **);
int	cmd_user_list(struct mxctl *, int, char **);
int	cmd_user_passwd(struct mxctl *, int, char **);
int	cmd_alias_add(struct mxctl *, int, char **);
int	cmd_alias_del(struct mxctl *, int, char **);
int	cmd_alias_list(struct mxctl *, int, char **);
int	cmd_tag_block(struct mxctl *, int, char **);
int	cmd_tag_unblock(struct mxctl *, int, char **);
int	cmd_tag_list(struct mxctl *, int, char **);
int	cmd_import(struct mxctl *, int, char **);
int	mx_become_owner_of(struct mxctl *, const char *dir);
int	cmd_why(struct mxctl *, int, char **);
int	cmd_screen_test(struct mxctl *, int, char **);
int	cmd_dkim(struct mxctl *, int, char **);
int	cmd_setup(struct mxctl *, int, char **);
int	cmd_dns(struct mxctl *, int, char **);
int	cmd_doctor(struct mxctl *, int, char **);

int	mxctl_main(int argc, char **argv);

#endif
