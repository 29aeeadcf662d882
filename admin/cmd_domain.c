/*
 * admin/cmd_domain.c - mxctl domain add|del|list|catchall.
 *
 * Owns: the domains the store knows (the config's `domain` lines are read
 * only) and their catch-all (off unless set). A domain is deleted only when
 * no user, alias or blocked tag would be left behind in it, unless the
 * config still lists it as local.
 */
#include <stdio.h>
#include <string.h>

#include "ctlclient.h"
#include "idn_display.h"
#include "jsonout.h"
#include "mxctl.h"

struct domain_op {
	char	name[ADDR_DOMAIN_MAX + 1];
	char	catchall[ADDR_MAX + 1];
	bool	clear;		/* catchall none */
};

/* The catch-all must be a user or an alias that exists now. */
static int
check_catchall_target(struct mxctl *m, struct store_txn *t, const char *target)
{
	enum store_status s = store_name_exists(t, target);

	if (s == STORE_NOTFOUND)
		return mx_fail(m, "catch-all '%s' is neither a user nor an alias "
		    "(add it first)", target);
	return s == STORE_OK ? 0 : mx_store_fail(m, s);
}

static int
domain_add_txn(struct mxctl *m, struct store_txn *t, void *arg)
{
	struct domain_op *op = arg;
	struct store_domain d = { 0 };
	enum store_status s;

	if ((s = store_get_domain(t, op->name, &d)) == STORE_OK)
		return mx_fail(m, "domain '%s' already exists", op->name);
	if (s != STORE_NOTFOUND)
		return mx_store_fail(m, s);
	if (op->catchall[0] != '\0' && check_catchall_target(m, t, op->catchall) == -1)
		return -1;
	snprintf(d.name, sizeof(d.name), "%s", op->name);
	snprintf(d.catchall, sizeof(d.catchall), "%s", op->catchall);
	if ((s = store_put_domain(t, &d)) != STORE_OK)
		return mx_store_fail(m, s);
	return 0;
}

int
cmd_domain_add(struct mxctl *m, int argc, char **argv)
{
	struct domain_op op = { 0 };

	if (argc == 2 || (argc == 3 && strcmp(argv[1], "--catchall") != 0))
		return MX_USAGE;
	if (mx_norm_domain(m, argv[0], op.name, sizeof(op.name)) == -1 ||
	    (argc == 3 && mx_norm_catchall(m, argv[2], op.name, op.catchall,
	    sizeof(op.catchall)) == -1) ||
	    mx_write(m, domain_add_txn, &op) == -1)
		return MX_FAIL;
	printf("domain %s added%s%s\n", op.name, op.catchall[0] ? ", catch-all " : "",
	    op.catchall);
	return MX_OK;
}

struct domain_usage {
	const char	*domain;
	unsigned	 n;
	char		 example[ADDR_MAX + 1];
};

static void
count_in_domain(struct domain_usage *u, const char *address)
{
	if (!mx_in_domain(address, u->domain))
		return;
	if (u->n++ == 0)
		snprintf(u->example, sizeof(u->example), "%s", address);
}

static int
usage_user(const struct store_user *x, void *arg)
{
	count_in_domain(arg, x->address);
	return 0;
}

static int
usage_alias(const struct store_alias *x, void *arg)
{
	count_in_domain(arg, x->address);
	return 0;
}

static int
usage_block(const struct store_block *x, void *arg)
{
	count_in_domain(arg, x->address);
	return 0;
}

static int
domain_del_txn(struct mxctl *m, struct store_txn *t, void *arg)
{
	struct domain_op *op = arg;
	struct domain_usage u = { op->name, 0, "" };
	enum store_status s;

	if ((s = store_del_domain(t, op->name)) == STORE_NOTFOUND) {
		if (config_has_domain(&m->cfg, op->name))
			return mx_fail(m, "domain '%s' is listed in %s, not in the store: "
			    "remove its 'domain' line there", op->name, m->config_path);
		return mx_fail(m, "no such domain '%s'", op->name);
	}
	if (s != STORE_OK)
		return mx_store_fail(m, s);
	if (config_has_domain(&m->cfg, op->name))
		return 0;	/* still local through the config */
	if ((s = store_each_user(t, usage_user, &u)) != STORE_OK ||
	    (s = store_each_alias(t, usage_alias, &u)) != STORE_OK ||
	    (s = store_each_block(t, usage_block, &u)) != STORE_OK)
		return mx_store_fail(m, s);
	if (u.n > 0)
		return mx_fail(m, "domain '%s' still has %u users, aliases or blocked tags "
		    "(such as %s): delete them first", op->name, u.n, u.example);
	return 0;
}

int
cmd_domain_del(struct mxctl *m, int argc, char **argv)
{
	struct domain_op op = { 0 };

	(void)argc;
	if (mx_norm_domain(m, argv[0], op.name, sizeof(op.name)) == -1 ||
	    mx_write(m, domain_del_txn, &op) == -1)
		return MX_FAIL;
	printf("domain %s deleted\n", op.name);
	return MX_OK;
}

/* One row of `domain list`, text or one JSON object of the array. */
struct domain_list {
	struct mxctl	*m;
	bool		 json;
	unsigned	 n;
};

static void
print_domain_row(struct domain_list *l, const char *name, const char *source,
    const char *catchall)
{
	if (!l->json) {
		idn_print_text(stdout, name, false);
		printf("\t%s%s", source, catchall[0] ? "\tcatchall=" : "");
		if (catchall[0])
			idn_print_text(stdout, catchall, true);
		printf("\n");
		return;
	}
	fputs(l->n++ ? ", {" : "{", stdout);
	json_member(stdout, 1, "domain", name);
	idn_print_json_member(stdout, "domain", name, false);
	json_member(stdout, 0, "source", source);
	json_member(stdout, 0, "catchall", catchall);
	fputs("}", stdout);
}

static int
print_store_domain(const struct store_domain *d, void *arg)
{
	struct domain_list *l = arg;
	bool conf = config_has_domain(&l->m->cfg, d->name);

	print_domain_row(l, d->name, conf ? "config,store" : "store", d->catchall);
	return 0;
}

static int
domain_list_txn(struct mxctl *m, struct store_txn *t, void *arg)
{
	struct domain_list *l = arg;
	struct store_domain d;
	enum store_status s;

	/* config-only domains first; store rows (maybe also in config) next */
	for (size_t i = 0; i < m->cfg.ndomains; i++) {
		if ((s = store_get_domain(t, m->cfg.domains[i], &d)) == STORE_NOTFOUND)
			print_domain_row(l, m->cfg.domains[i], "config", "");
		else if (s != STORE_OK)
			return mx_store_fail(m, s);
	}
	if ((s = store_each_domain(t, print_store_domain, l)) != STORE_OK)
		return mx_store_fail(m, s);
	return 0;
}

/* mxctl domain list [--json]: a domain in A-labels is followed by its
 * U-label form, "(bücher.example)" or "domain_unicode". */
int
cmd_domain_list(struct mxctl *m, int argc, char **argv)
{
	struct domain_list l = { m, ctl_take_json(&argc, argv), 0 };
	int r;

	if (argc != 0)
		return MX_USAGE;
	if (l.json)
		fputs("{\"domains\": [", stdout);
	r = mx_read(m, domain_list_txn, &l);
	if (l.json)
		fputs("]}\n", stdout);
	return r == -1 ? MX_FAIL : MX_OK;
}

static int
domain_catchall_txn(struct mxctl *m, struct store_txn *t, void *arg)
{
	struct domain_op *op = arg;
	struct store_domain d = { 0 };
	enum store_status s;

	if (mx_check_domain_local(m, t, op->name) == -1)
		return -1;
	s = store_get_domain(t, op->name, &d);
	if (s == STORE_NOTFOUND)	/* a config domain gets a row for it */
		snprintf(d.name, sizeof(d.name), "%s", op->name);
	else if (s != STORE_OK)
		return mx_store_fail(m, s);
	if (!op->clear && check_catchall_target(m, t, op->catchall) == -1)
		return -1;
	snprintf(d.catchall, sizeof(d.catchall), "%s", op->catchall);
	if ((s = store_put_domain(t, &d)) != STORE_OK)
		return mx_store_fail(m, s);
	return 0;
}

int
cmd_domain_catchall(struct mxctl *m, int argc, char **argv)
{
	struct domain_op op = { 0 };

	(void)argc;
	op.clear = strcmp(argv[1], "none") == 0;
	if (mx_norm_domain(m, argv[0], op.name, sizeof(op.name)) == -1 ||
	    (!op.clear && mx_norm_catchall(m, argv[1], op.name, op.catchall,
	    sizeof(op.catchall)) == -1) ||
	    mx_write(m, domain_catchall_txn, &op) == -1)
		return MX_FAIL;
	if (op.clear)
		printf("domain %s: catch-all off\n", op.name);
	else
		printf("domain %s: catch-all %s\n", op.name, op.catchall);
	return MX_OK;
}
