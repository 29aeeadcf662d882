/*
 * lib/hostport.h - one parser for the "IP:PORT" and "[IPv6]:PORT" values of
 * homemx.conf (listen, dns_server, the scanner addresses).
 *
 * Owns nothing: a pure function. Why one: every such line must accept and
 * refuse the same spellings; each caller keeps its own rules around it
 * (lib/config.c allows "*:PORT" for a listener, lib/config_scan.c wants
 * loopback only) and its own error message.
 */
#ifndef HOMEMX_HOSTPORT_H
#define HOMEMX_HOSTPORT_H

#include <sys/socket.h>

/* What config_parse_hostport returns. */
enum hostport_result {
	HOSTPORT_OK = 0,
	HOSTPORT_SYNTAX = -1,	/* no ":PORT", bad brackets, port not 1-65535 */
	HOSTPORT_NOT_IP = -2,	/* the host part is not an IP literal (a name?) */
};

/* "*:PORT" is accepted as the IPv4 wildcard (INADDR_ANY). */
#define HOSTPORT_ALLOW_ANY	0x1

/* "192.0.2.1:25" or "[2001:db8::1]:25" into *out (zeroed first) and
 * *outlen. The host is a literal, never resolved: a name is
 * HOSTPORT_NOT_IP. The port is checked before the host. */
enum hostport_result config_parse_hostport(const char *v, unsigned flags,
    struct sockaddr_storage *out, socklen_t *outlen);

#endif
