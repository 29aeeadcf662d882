/*
 * admin/localdomains.h - every local domain, for the commands that work on
 * all of them (`mxctl doctor` without a DOMAIN) or must refuse a domain
 * that is not ours (`mxctl dns DOMAIN`).
 *
 * Owns: nothing that lives on; one read of the config's `domain` lines and
 * the store's domains. The store belongs to _hmx-lookup: a command that
 * stays root for something else (the DKIM keys are _hmx-dkim's) reads it
 * in a child that drops to the store owner, as admin/cmd_dkim.c does, so
 * root never opens the store's files.
 */
#ifndef HMX_ADMIN_LOCALDOMAINS_H
#define HMX_ADMIN_LOCALDOMAINS_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

struct mxctl;

#define LOCAL_DOMAINS_MAX	512

struct local_domains {
	size_t	n;
	bool	truncated;	/* more than LOCAL_DOMAINS_MAX: the rest left out */
	char	name[LOCAL_DOMAINS_MAX][ADDR_DOMAIN_MAX + 1];	/* sorted, unique */
};

/* The config's domains and the store's (a missing store_dir holds none).
 * 0, or -1 with m->err when the store cannot be read. */
int	local_domains_read(struct mxctl *, struct local_domains *out);
bool	local_domains_has(const struct local_domains *, const char *domain);

#endif
