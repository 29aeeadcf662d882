/*
 * screen/ipname.h - a client address as the checks see it, and the
 * reversed names DNS lookups by address use (RFC 1035 3.5 in-addr.arpa,
 * RFC 3596 2.5 ip6.arpa, RFC 5782 2.1/2.4 DNS lists).
 *
 * Owns: the rule that an IPv4-mapped IPv6 address ("::ffff:192.0.2.1")
 * is the IPv4 address: a dual-stack listener reports IPv4 clients that
 * way, and PTR, FCrDNS and DNS lists must treat them as IPv4.
 */
#ifndef SCREEN_IPNAME_H
#define SCREEN_IPNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ip_addr {
	int	family;		/* AF_INET or AF_INET6 */
	uint8_t	a[16];		/* network order; AF_INET uses a[0..3] */
};

/* Parses IPv4 or IPv6 text; -1 if it is neither. */
int	ip_addr_parse(const char *text, struct ip_addr *);
bool	ip_addr_equal(const struct ip_addr *, const struct ip_addr *);

/*
 * "7.100.51.198.<suffix>" for IPv4, 32 reversed nibbles + "." + suffix for
 * IPv6 ("in-addr.arpa", "ip6.arpa" or a DNS list's zone). Returns -1 if
 * the name does not fit size or DNS's 253 octets.
 */
int	ip_reverse_name(const struct ip_addr *, const char *suffix, char *out,
	    size_t size);

#endif
