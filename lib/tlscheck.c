/*
 * lib/tlscheck.c - the supervisor's check of the TLS settings, certificates
 * and keys, at start, for `homemxd -n` and at every reload.
 *
 * Owns: nothing but the question. The roles that serve TLS (smtpd,
 * submission) build their SSL_CTX once, in preinit, and a setting or pair
 * they cannot load is fatal for them - after a reload that would surface
 * only at their next start, as a crash loop. homemxd, still root, applies
 * the same settings (lib/tlsconf.c) and loads the same pairs the same way
 * (lib/tlspem.c, which also makes the memfd of a reload) before any role
 * sees the config, so a bad value is refused like any other bad config:
 * with the setting, the path and the reason.
 */
#include <stdio.h>
#include <unistd.h>

#include "config.h"
#include "tlscheck.h"
#include "tlsconf.h"
#include "tlspem.h"

int
tlscheck_config(const char *name, const struct config *c, char *err, size_t errlen)
{
	struct tlspem_source src[TLSPEM_PAIRS_MAX];
	size_t npairs = tlspem_config_sources(c, src);
	char why[CONFIG_ERR_MAX];
	int fd;

	if (tlsconf_check(name, c, err, errlen) == -1)
		return -1;
	if (npairs == 0)
		return 0;
	if ((fd = tlspem_memfd(src, npairs, NULL, why, sizeof(why))) == -1) {
		snprintf(err, errlen, "%s: %s", name, why);
		return -1;
	}
	close(fd);
	return 0;
}
