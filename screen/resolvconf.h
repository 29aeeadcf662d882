/*
 * screen/resolvconf.h - which DNS servers the screen asks.
 *
 * Owns: the rule "dns_server if set, else the nameserver lines of
 * /etc/resolv.conf", read once at start (before the role's chroot hides the
 * file), as a list c-ares takes (screen/resolver.c never reads the file
 * itself). Shared by the role and `mxctl screen test`, so both ask the same
 * servers.
 */
#ifndef SCREEN_RESOLVCONF_H
#define SCREEN_RESOLVCONF_H

#include <stddef.h>

#define RESOLV_CONF		"/etc/resolv.conf"
#define RESOLV_SERVERS_MAX	3	/* as many as resolv(5) uses */

/*
 * Fills csv ("IP:PORT,[IPv6]:PORT") from configured, or from the file at
 * path when configured is "". Returns 1 when the file was used, 0 for the
 * configured list, -1 with *why when neither names a server.
 */
int	screen_dns_servers(const char *configured, const char *path, char *csv,
	    size_t size, const char **why);

#endif
