/*
 * admin/hostaddrs.h - the addresses this host is reached at and sends
 * from, as `mxctl dns` publishes them (A/AAAA, PTR, SPF) and `mxctl
 * doctor` checks them (PTR, FCrDNS, SPF, block lists).
 *
 * Owns: the rule that finds them. `public_address` lines win; without
 * them, the global addresses of the `listen smtp` lines; without those
 * (a wildcard listener), the global addresses of the interfaces. Global
 * means not loopback, link-local, private (RFC 1918, RFC 6598, RFC 4193)
 * or multicast: behind NAT the public address is on no interface, and
 * the admin must write it down (the output says so). Mail leaves from
 * those addresses and from the source= of destination rules.
 */
#ifndef HMX_ADMIN_HOSTADDRS_H
#define HMX_ADMIN_HOSTADDRS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define HOST_ADDRS_MAX	16

enum host_addr_origin {
	HOST_ADDR_CONFIG = 1,	/* public_address */
	HOST_ADDR_LISTEN,	/* a listen smtp line */
	HOST_ADDR_INTERFACE,	/* getifaddrs() */
	HOST_ADDR_SOURCE_RULE,	/* a destination rule's source= */
};

struct host_addr {
	char			text[INET6_ADDRSTRLEN];	/* inet_ntop form */
	int			family;			/* AF_INET, AF_INET6 */
	enum host_addr_origin	origin;
};

struct host_addrs {
	size_t			n;
	struct host_addr	a[HOST_ADDRS_MAX];
};

void	host_public_addrs(const struct config *, struct host_addrs *out);
/* pub plus the source= addresses of rules that do not go through a relay. */
void	host_sending_addrs(const struct config *, const struct host_addrs *pub,
	    struct host_addrs *out);
/* Adds text (any form inet_pton takes) once; -1 if it is no address or
 * the list is full. */
int	host_addrs_add(struct host_addrs *, const char *text, enum host_addr_origin);
bool	host_addrs_has(const struct host_addrs *, const char *text);
/* bin is 4 or 16 bytes in network order. */
bool	host_addr_is_global(int family, const unsigned char *bin);
const char *host_addr_origin_text(enum host_addr_origin);

/*
 * How most mail leaves (the rules for a domain no rule names): false when
 * a rule makes it IPv4 only or sends it through a relay= host.
 */
bool	host_sends_ipv6(const struct config *);
/* True with the host in out when most mail goes through a relay= host. */
bool	host_smarthost(const struct config *, char *out, size_t size);

#endif
