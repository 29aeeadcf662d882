/*
 * screen/ipname.c - client addresses and reversed lookup names (see
 * ipname.h).
 *
 * Owns: nothing beyond the conversions. Why one place: PTR lookups, FCrDNS
 * comparisons, HELO literals and every DNS list query must agree on what
 * "the client's address" is, or a mapped IPv4 client would be looked up
 * as IPv6 by one check and as IPv4 by another.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>

#include "dnsview.h"
#include "ipname.h"

int
ip_addr_parse(const char *text, struct ip_addr *out)
{
	struct in6_addr v6;

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, out->a) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, &v6) != 1)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&v6)) {
		out->family = AF_INET;
		memcpy(out->a, &v6.s6_addr[12], 4);
		return 0;
	}
	out->family = AF_INET6;
	memcpy(out->a, v6.s6_addr, 16);
	return 0;
}

bool
ip_addr_equal(const struct ip_addr *x, const struct ip_addr *y)
{
	size_t len = x->family == AF_INET ? 4 : 16;

	return x->family == y->family && memcmp(x->a, y->a, len) == 0;
}

int
ip_reverse_name(const struct ip_addr *ip, const char *suffix, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t used = 0;
	int w;

	if (ip->family == AF_INET) {
		w = snprintf(out, size, "%u.%u.%u.%u.%s", ip->a[3], ip->a[2], ip->a[1],
		    ip->a[0], suffix);
		if (w < 0 || (size_t)w >= size || (size_t)w > DV_NAME_MAX)
			return -1;
		return 0;
	}
	if (size < 64 + 1)
		return -1;
	for (int i = 15; i >= 0; i--) {	/* low nibble first (RFC 3596 2.5) */
		out[used++] = hex[ip->a[i] & 0x0f];
		out[used++] = '.';
		out[used++] = hex[ip->a[i] >> 4];
		out[used++] = '.';
	}
	w = snprintf(out + used, size - used, "%s", suffix);
	if (w < 0 || (size_t)w >= size - used || used + (size_t)w > DV_NAME_MAX)
		return -1;
	return 0;
}
