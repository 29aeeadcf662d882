/*
 * admin/hostaddrs.c - finding this host's public and sending addresses
 * (see hostaddrs.h).
 *
 * Owns: nothing between calls. The probe name for "a domain no rule
 * names" is under .invalid (RFC 6761 6.4), which no rule can mean.
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include <ifaddrs.h>
#include <stdio.h>
#include <string.h>

#include "hostaddrs.h"

#define UNNAMED_DOMAIN	"no-rule-names-this.invalid"

static bool
v4_in(const unsigned char *a, unsigned n0, unsigned n1, unsigned plen)
{
	uint32_t addr = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
	uint32_t net = (uint32_t)n0 << 24 | (uint32_t)n1 << 16;
	uint32_t mask = plen == 0 ? 0 : 0xffffffffu << (32 - plen);

	return (addr & mask) == (net & mask);
}

bool
host_addr_is_global(int family, const unsigned char *a)
{
	if (family == AF_INET)
		return !(v4_in(a, 0, 0, 8) || v4_in(a, 10, 0, 8) || v4_in(a, 100, 64, 10) ||
		    v4_in(a, 127, 0, 8) || v4_in(a, 169, 254, 16) || v4_in(a, 172, 16, 12) ||
		    v4_in(a, 192, 168, 16) || a[0] >= 224);
	/* 2000::/3 is the global unicast space (RFC 4291 2.4) */
	return family == AF_INET6 && (a[0] & 0xe0) == 0x20;
}

const char *
host_addr_origin_text(enum host_addr_origin o)
{
	switch (o) {
	case HOST_ADDR_CONFIG:		return "public_address";
	case HOST_ADDR_LISTEN:		return "listen";
	case HOST_ADDR_INTERFACE:	return "interface";
	case HOST_ADDR_SOURCE_RULE:	return "destination source=";
	}
	return "?";
}

bool
host_addrs_has(const struct host_addrs *l, const char *text)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->a[i].text, text) == 0)
			return true;
	return false;
}

static int
add_bin(struct host_addrs *l, int family, const void *bin, enum host_addr_origin o)
{
	struct host_addr h = { .family = family, .origin = o };

	if (inet_ntop(family, bin, h.text, sizeof(h.text)) == NULL)
		return -1;
	if (host_addrs_has(l, h.text))
		return 0;
	if (l->n == HOST_ADDRS_MAX)
		return -1;
	l->a[l->n++] = h;
	return 0;
}

int
host_addrs_add(struct host_addrs *l, const char *text, enum host_addr_origin o)
{
	unsigned char bin[16];
	int family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;

	if (inet_pton(family, text, bin) != 1)
		return -1;
	return add_bin(l, family, bin, o);
}

static void
from_listen(const struct config *c, struct host_addrs *out)
{
	for (size_t i = 0; i < c->nlisten; i++) {
		const struct listen_conf *l = &c->listen[i];
		const void *bin;
		int family = l->addr.ss_family;

		if (l->kind != LISTEN_SMTP)
			continue;
		if (family == AF_INET)
			bin = &((const struct sockaddr_in *)&l->addr)->sin_addr;
		else if (family == AF_INET6)
			bin = &((const struct sockaddr_in6 *)&l->addr)->sin6_addr;
		else
			continue;
		if (host_addr_is_global(family, bin))
			(void)add_bin(out, family, bin, HOST_ADDR_LISTEN);
	}
}

static void
from_interfaces(struct host_addrs *out)
{
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa) == -1)
		return;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		const void *bin;
		int family;

		if (i->ifa_addr == NULL)
			continue;
		family = i->ifa_addr->sa_family;
		if (family == AF_INET)
			bin = &((const struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr;
		else if (family == AF_INET6)
			bin = &((const struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr;
		else
			continue;
		if (host_addr_is_global(family, bin))
			(void)add_bin(out, family, bin, HOST_ADDR_INTERFACE);
	}
	freeifaddrs(ifa);
}

void
host_public_addrs(const struct config *c, struct host_addrs *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < c->npublic_address; i++)
		(void)host_addrs_add(out, c->public_address[i], HOST_ADDR_CONFIG);
	if (out->n == 0)
		from_listen(c, out);
	if (out->n == 0)
		from_interfaces(out);
}

void
host_sending_addrs(const struct config *c, const struct host_addrs *pub,
    struct host_addrs *out)
{
	*out = *pub;
	for (size_t i = 0; i < c->ndestinations; i++) {
		const struct dest_rule *r = &c->destinations[i];
		if (r->source_ip[0] != '\0' && r->relay_host[0] == '\0')
			(void)host_addrs_add(out, r->source_ip, HOST_ADDR_SOURCE_RULE);
	}
}

bool
host_sends_ipv6(const struct config *c)
{
	struct dest_rule r;

	config_destination_for(c, UNNAMED_DOMAIN, NULL, &r);
	return r.family != DEST_FAMILY_IPV4_ONLY && r.relay_host[0] == '\0';
}

bool
host_smarthost(const struct config *c, char *out, size_t size)
{
	struct dest_rule r;

	config_destination_for(c, UNNAMED_DOMAIN, NULL, &r);
	snprintf(out, size, "%s", r.relay_host);
	return r.relay_host[0] != '\0';
}
