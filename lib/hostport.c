/*
 * lib/hostport.c - "IP:PORT" and "[IPv6]:PORT" (lib/hostport.h).
 *
 * Owns no state. Split by hand rather than with getaddrinfo(3): that would
 * accept host names and service names and could ask DNS, and a config
 * value must name an address by itself. The IPv6 form needs brackets
 * because the address holds colons (the convention of RFC 3986, 3.2.2).
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hostport.h"

#define HOST_TEXT_MAX	64	/* longer than any IPv6 literal (INET6_ADDRSTRLEN) */

/* Copies the host part into host and points *port_colon at the ':' that
 * starts the port; -1 if there is none or the host is too long. */
static int
split_hostport(const char *v, char host[HOST_TEXT_MAX], const char **port_colon)
{
	const char *start = v, *end;

	if (v[0] == '[') {
		end = strchr(v, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		start = v + 1;
		*port_colon = end + 1;
	} else {
		end = strrchr(v, ':');
		if (end == NULL)
			return -1;
		*port_colon = end;
	}
	if ((size_t)(end - start) >= HOST_TEXT_MAX)
		return -1;
	memcpy(host, start, (size_t)(end - start));
	host[end - start] = '\0';
	return 0;
}

/* Decimal 1-65535, digits only (no sign, no blank), or -1. */
static long
parse_port(const char *s)
{
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	unsigned long port = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || port == 0 || port > 65535)
		return -1;
	return (long)port;
}

enum hostport_result
config_parse_hostport(const char *v, unsigned flags, struct sockaddr_storage *out,
    socklen_t *outlen)
{
	char host[HOST_TEXT_MAX];
	const char *colon;
	long port;

	if (split_hostport(v, host, &colon) == -1 || (port = parse_port(colon + 1)) == -1)
		return HOSTPORT_SYNTAX;
	memset(out, 0, sizeof(*out));
	if (v[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return HOSTPORT_NOT_IP;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*outlen = sizeof(*s6);
		return HOSTPORT_OK;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)out;
	if ((flags & HOSTPORT_ALLOW_ANY) && strcmp(host, "*") == 0)
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return HOSTPORT_NOT_IP;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	*outlen = sizeof(*s4);
	return HOSTPORT_OK;
}
