/*
 * relay/targets.h - the order in which the relay tries MX hosts and
 * addresses. Pure functions: no sockets, no clock, no randomness of their
 * own (the caller passes the random numbers), so the unit tests can pin
 * every case.
 *
 * Owns: RFC 5321 5.1 ordering (lowest preference first, equal preferences
 * in random order; RFC 7505 null MX) and the address-family rules of a
 * destination (ipv4-only, ipv6-only, prefer-ipv4; otherwise IPv6 first),
 * including the remembered IPv6-to-IPv4 fallback.
 */
#ifndef RELAY_TARGETS_H
#define RELAY_TARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "dns.h"

/* Sorts mx[0..n) by preference; rnd[i] breaks ties (RFC 5321 5.1: equal
 * preferences are picked at random, so two MX 10s share the load). */
void	mx_sort(struct dns_mx *mx, size_t n, const uint32_t *rnd);

/* RFC 7505: exactly one MX, preference 0, exchange "." (c-ares gives ""). */
bool	mx_is_null(const struct dns_mx *mx, size_t n);

/* Drops "." entries (a null MX mixed with real ones is ignored) and
 * returns the new count. */
size_t	mx_drop_null(struct dns_mx *mx, size_t n);

struct addr_set {
	struct sockaddr_storage	v4[DNS_ADDR_MAX];
	size_t			n4;
	struct sockaddr_storage	v6[DNS_ADDR_MAX];
	size_t			n6;
};

/*
 * Fills out[] (room for max) with the addresses to try, in order:
 *	ipv4-only: IPv4;  ipv6-only: IPv6;  prefer-ipv4: IPv4 then IPv6;
 *	otherwise (prefer-ipv6, or no rule) IPv6 then IPv4.
 * ipv4_pinned (a remembered or current 5.7.x fallback): IPv4 only, unless
 * the rule is ipv6-only or the host has no IPv4 address.
 * source_family (AF_INET/AF_INET6, or AF_UNSPEC): a bound source address
 * can only reach its own family.
 * Returns the number of addresses written.
 */
size_t	targets_order(const struct addr_set *, enum dest_family, bool ipv4_pinned,
	    int source_family, struct sockaddr_storage *out, size_t max);

/* "192.0.2.1" / "2001:db8::1" into buf. */
const char *sockaddr_ip_text(const struct sockaddr_storage *, char *buf,
	    size_t size);

/* Parses an address literal domain "[192.0.2.1]" or "[IPv6:2001:db8::1]"
 * (RFC 5321 4.1.3). Returns 0 and fills ss (port 0), or -1. */
int	address_literal_parse(const char *domain, struct sockaddr_storage *ss);

#endif
