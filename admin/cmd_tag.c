/*
 * admin/cmd_tag.c - mxctl tag block|unblock|list: burnt subaddresses.
 *
 * Owns: the blocked list. A tag can be blocked only if the address really
 * is a subaddress (a configured delimiter, and the base found the same way
 * lookup finds it: store_find_base, longest base first) of an existing user
 * or alias, and is not itself the name of one. Why: a leaked
 * kim-shop@ gets 550 while kim@ and every other tag keep working
 * (README.md, "mxctl": subaddresses).
 */
#include <stdio.h>
#include <string.h>

#include "idn_display.h"
#include "mxctl.h"

static int
tag_block_txn(struct mxctl *m, struct store_txn *t, void *arg)
{
	struct store_block *b = arg;
	struct store_block old;
	char local[ADDR_MAX + 1];
	const char *at = strrchr(b->address, '@');
	enum store_status s;

	if (mx_check_address_domain(m, t, b->address) == -1)
		return -1;
	if ((s = store_name_exists(t, b->address)) == STORE_OK)
		return mx_fail(m, "'%s' is a user or an alias itself, not a subaddress",
		    b->address);
	if (s != STORE_NOTFOUND)
		return mx_store_fail(m, s);
	if ((s = store_get_block(t, b->address, &old)) == STORE_OK)
		return mx_fail(m, "'%s' is already blocked", b->address);
	if (s != STORE_NOTFOUND)
		return mx_store_fail(m, s);
	snprintf(local, sizeof(local), "%.*s", (int)(at - b->address), b->address);
	s = store_find_base(t, local, at + 1, m->cfg.subaddress_delimiters,
	    b->base, sizeof(b->base));
	if (s == STORE_NOTFOUND)
		return mx_fail(m, "'%s' is not a subaddress of a user or an alias "
		    "(subaddress delimiters: \"%s\")", b->address,
		    m->cfg.subaddress_delimiters);
	if (s != STORE_OK)
		return mx_store_fail(m, s);
	if ((s = store_put_block(t, b)) != STORE_OK)
		return mx_store_fail(m, s);
	return 0;
}

int
cmd_tag_block(struct mxctl *m, int argc, char **argv)
{
	struct store_block b = { 0 };

	(void)argc;
	if (mx_norm_address(m, "address", argv[0], b.address, sizeof(b.address)) == -1 ||
	    mx_write(m, tag_block_txn, &b) == -1)
		return MX_FAIL;
	printf("%s blocked (other tags of %s still work)\n", b.address, b.base);
	return MX_OK;
}

static int
tag_unblock_txn(struct mxctl *m, struct store_txn *t, void *arg)
{
	enum store_status s = store_del_block(t, arg);

	if (s == STORE_NOTFOUND)
		return mx_fail(m, "'%s' is not blocked", (const char *)arg);
	return s == STORE_OK ? 0 : mx_store_fail(m, s);
}

int
cmd_tag_unblock(struct mxctl *m, int argc, char **argv)
{
	char address[ADDR_MAX + 1];

	(void)argc;
	if (mx_norm_address(m, "address", argv[0], address, sizeof(address)) == -1 ||
	    mx_write(m, tag_unblock_txn, address) == -1)
		return MX_FAIL;
	printf("%s unblocked\n", address);
	return MX_OK;
}

static int
print_block(const struct store_block *b, void *arg)
{
	if (!mx_in_domain(b->address, arg))
		return 0;
	idn_print_text(stdout, b->address, true);	/* as the other lists */
	printf("\t%s\n", b->base);
	return 0;
}

static int
tag_list_txn(struct mxctl *m, struct store_txn *t, void *arg)
{
	enum store_status s = store_each_block(t, print_block, arg);

	return s == STORE_OK ? 0 : mx_store_fail(m, s);
}

int
cmd_tag_list(struct mxctl *m, int argc, char **argv)
{
	char domain[ADDR_DOMAIN_MAX + 1];

	if (argc == 1 && mx_norm_domain(m, argv[0], domain, sizeof(domain)) == -1)
		return MX_FAIL;
	return mx_read(m, tag_list_txn, argc == 1 ? domain : NULL) == -1 ?
	    MX_FAIL : MX_OK;
}
