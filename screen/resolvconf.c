/*
 * screen/resolvconf.c - dns_server, or resolv.conf's nameservers
 * (screen/resolvconf.h says why it is read once, up front).
 *
 * Owns: nothing; a pure reader. Only "nameserver ADDRESS" lines count, an
 * address must parse as IPv4 or IPv6 (a zone index or anything else is
 * skipped), and at most RESOLV_SERVERS_MAX are taken, like the C library.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "resolvconf.h"

/* "nameserver ADDR" -> csv entry; false for any other line. */
static bool
nameserver_entry(const char *line, char *entry, size_t size)
{
	char word[16], addr[64];
	struct in6_addr a6;
	struct in_addr a4;

	if (sscanf(line, "%15s %63s", word, addr) != 2 || strcmp(word, "nameserver") != 0)
		return false;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return snprintf(entry, size, "%s:53", addr) < (int)size;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return snprintf(entry, size, "[%s]:53", addr) < (int)size;
	return false;
}

int
screen_dns_servers(const char *configured, const char *path, char *csv,
    size_t size, const char **why)
{
	char line[512], entry[80];
	size_t n = 0, o = 0;
	FILE *f;

	if (size == 0)
		return -1;
	csv[0] = '\0';
	if (configured[0] != '\0') {
		if (snprintf(csv, size, "%s", configured) >= (int)size) {
			*why = "dns_server is too long";
			return -1;
		}
		return 0;
	}
	if ((f = fopen(path, "re")) == NULL) {
		*why = "dns_server is not set and resolv.conf cannot be read";
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL && n < RESOLV_SERVERS_MAX) {
		if (!nameserver_entry(line, entry, sizeof(entry)))
			continue;
		int w = snprintf(csv + o, size - o, "%s%s", n ? "," : "", entry);
		if (w < 0 || (size_t)w >= size - o)
			break;
		o += (size_t)w;
		n++;
	}
	fclose(f);
	if (n == 0) {
		csv[0] = '\0';
		*why = "dns_server is not set and resolv.conf names no server";
		return -1;
	}
	return 1;
}
