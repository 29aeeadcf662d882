/*
 * admin/cmd_alias.c - mxctl alias add|del|list.
 *
 * Owns: the life of an alias row. Its targets must be local users or
 * aliases that exist now (remote forwarding comes with the next issue), and
 * the whole expansion is checked inside the same transaction with the same
 * code lookup uses (store_expand): no loop without a mailbox, no chain over
 * STORE_EXPAND_DEPTH, no more mailboxes than one answer can carry.
 */
#include <stdio.h>
#include <string.h>

#include "import.h"
#include "ctlclient.h"
#include "idn_display.h"
#include "jsonout.h"
#include "mxctl.h"

struct alias_op {
	struct store_alias	alias;
	unsigned		dropped;
};

static int
alias_add_txn(struct mxctl *m, struct store_txn *t, void *arg)
{
	struct store_alias *a = &((struct alias_op *)arg)->alias;
	enum store_status s;

	if (mx_check_address_domain(m, t, a->address) == -1 ||
	    mx_check_name_free(m, t, a->address) == -1)
		return -1;
	for (unsigned i = 0; i < a->ntargets; i++) {
		if (strcmp(a->targets[i], a->address) == 0)
			return mx_fail(m, "alias '%s' cannot point at itself", a->address);
		if ((s = store_name_exists(t, a->targets[i])) == STORE_NOTFOUND)
			return mx_fail(m, "target '%s' is neither a local user nor an alias "
			    "(forwarding to other domains is not supported yet)", a->targets[i]);
		if (s != STORE_OK)
			return mx_store_fail(m, s);
	}
	if ((s = store_put_alias(t, a)) != STORE_OK)
		return mx_store_fail(m, s);
	return mx_check_expansion(m, t, a->address);
}

int
cmd_alias_add(struct mxctl *m, int argc, char **argv)
{
	static struct alias_op op;
	char err[IMPORT_ERR_MAX];
	int n;

	(void)argc;
	if (mx_norm_address(m, "alias", argv[0], op.alias.address,
	    sizeof(op.alias.address)) == -1)
		return MX_FAIL;
	if ((n = import_parse_targets(argv[1], op.alias.targets,
	    STORE_ALIAS_TARGETS_MAX, err, sizeof(err))) == -1) {
		mx_fail(m, "alias %s: %s", op.alias.address, err);
		return MX_FAIL;
	}
	op.alias.ntargets = (unsigned)n;
	if (mx_write(m, alias_add_txn, &op) == -1)
		return MX_FAIL;
	printf("alias %s added\n", op.alias.address);
	return MX_OK;
}

static int
alias_del_txn(struct mxctl *m, struct store_txn *t, void *arg)
{
	struct alias_op *op = arg;
	enum store_status s;

	if ((s = store_get_alias(t, op->alias.address, &op->alias)) == STORE_NOTFOUND) {
		if (store_name_exists(t, op->alias.address) == STORE_OK)
			return mx_fail(m, "'%s' is a user, not an alias (see mxctl user)",
			    op->alias.address);
		return mx_fail(m, "no such alias '%s'", op->alias.address);
	}
	if (s != STORE_OK)
		return mx_store_fail(m, s);
	if (mx_check_unreferenced(m, t, op->alias.address) == -1)
		return -1;
	if ((s = store_del_alias(t, op->alias.address)) != STORE_OK)
		return mx_store_fail(m, s);
	return mx_drop_blocks_of(m, t, op->alias.address, &op->dropped);
}

int
cmd_alias_del(struct mxctl *m, int argc, char **argv)
{
	static struct alias_op op;

	(void)argc;
	if (mx_norm_address(m, "alias", argv[0], op.alias.address,
	    sizeof(op.alias.address)) == -1 ||
	    mx_write(m, alias_del_txn, &op) == -1)
		return MX_FAIL;
	printf("alias %s deleted", op.alias.address);
	if (op.dropped > 0)
		printf(", with %u blocked tags", op.dropped);
	printf("\n");
	return MX_OK;
}

/* `alias list` in one domain (NULL: all), text or a JSON array. */
struct alias_list {
	const char	*domain;
	bool		 json;
	unsigned	 n;
};

static void
print_alias_json(struct alias_list *l, const struct store_alias *a)
{
	fputs(l->n++ ? ", {" : "{", stdout);
	json_member(stdout, 1, "address", a->address);
	idn_print_json_member(stdout, "address", a->address, true);
	fputs(", \"targets\": [", stdout);
	for (unsigned i = 0; i < a->ntargets; i++) {
		fputs(i ? ", " : "", stdout);
		json_string(stdout, a->targets[i]);
	}
	fputs("]}", stdout);
}

static int
print_alias(const struct store_alias *a, void *arg)
{
	struct alias_list *l = arg;

	if (!mx_in_domain(a->address, l->domain))
		return 0;
	if (l->json) {
		print_alias_json(l, a);
		return 0;
	}
	idn_print_text(stdout, a->address, true);
	printf("\t");
	for (unsigned i = 0; i < a->ntargets; i++)
		printf("%s%s", i ? "," : "", a->targets[i]);
	printf("\n");
	return 0;
}

static int
alias_list_txn(struct mxctl *m, struct store_txn *t, void *arg)
{
	enum store_status s = store_each_alias(t, print_alias, arg);

	return s == STORE_OK ? 0 : mx_store_fail(m, s);
}

/* mxctl alias list [DOMAIN] [--json]; DOMAIN in either form. The targets
 * stay comma-joined store keys (A-labels) so the text line can be fed back
 * to `mxctl alias add`. */
int
cmd_alias_list(struct mxctl *m, int argc, char **argv)
{
	char domain[ADDR_DOMAIN_MAX + 1];
	struct alias_list l = { NULL, ctl_take_json(&argc, argv), 0 };
	int r;

	if (argc > 1)
		return MX_USAGE;
	if (argc == 1 && mx_norm_domain(m, argv[0], domain, sizeof(domain)) == -1)
		return MX_FAIL;
	l.domain = argc == 1 ? domain : NULL;
	if (l.json)
		fputs("{\"aliases\": [", stdout);
	r = mx_read(m, alias_list_txn, &l);
	if (l.json)
		fputs("]}\n", stdout);
	return r == -1 ? MX_FAIL : MX_OK;
}
