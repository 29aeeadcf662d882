/*
 * lib/config_dest.c - the per-destination rules of homemx.conf for
 * outbound delivery, and the answer the relay asks of them.
 *
 * Owns: the grammar of the 'destination' line, the built-in rules that
 * follow the config's own (IPv4 only toward Gmail and Google-hosted MX),
 * and the merge config_destination_for() makes of them. The struct
 * dest_rule and the public calls are declared in lib/config.h, where the
 * relay (relay/job.c) and mxctl (admin/hostaddrs.c) find them with the
 * rest of the config; lib/config.c hands a 'destination' line here.
 *
 * Grammar (homemx.conf(5)):
 *	destination domain|mx PATTERN option=value ...
 * PATTERN is a name, "*" or "*.suffix"; the options are family=,
 * max_connections=, tls=, relay=HOST[:PORT], auth=/PATH, helo=, source=.
 * Why apart from lib/config.c: these rules are a small language of their
 * own (patterns, first match per setting, built-ins last), read by the
 * relay for every destination; the scalar settings are rows of a table.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config_dest.h"

/* Where a message goes: the caller (lib/config.c) adds file:line. */
struct dest_err {
	char	*buf;
	size_t	 len;
};

static int
derr(struct dest_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->buf, e->len, fmt, ap);
	va_end(ap);
	return -1;
}

/* Digits only, as lib/config.c reads a count (no sign, no blank). */
static int
parse_count(const char *v, unsigned long long *out)
{
	char *end;

	if (!isdigit((unsigned char)v[0]))
		return -1;
	errno = 0;
	*out = strtoull(v, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

static void
str_lower_ascii(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

static bool
dest_pattern_valid(const char *pat)
{
	if (strcmp(pat, "*") == 0)
		return true;
	if (strncmp(pat, "*.", 2) == 0)
		pat += 2;
	return domain_is_valid(pat, strlen(pat));
}

bool
dest_pattern_matches(const char *pattern, const char *name)
{
	if (strcmp(pattern, "*") == 0)
		return true;
	if (strncmp(pattern, "*.", 2) == 0) {
		size_t pl = strlen(pattern + 1), nl = strlen(name);
		return nl > pl && strcasecmp(name + nl - pl, pattern + 1) == 0;
	}
	return strcasecmp(pattern, name) == 0;
}

static int
dest_option(struct dest_err *e, struct dest_rule *r, const char *opt)
{
	const char *eq = strchr(opt, '=');
	const char *v = eq != NULL ? eq + 1 : "";
	size_t kl = eq != NULL ? (size_t)(eq - opt) : strlen(opt);
	unsigned long long n;

#define KEY(s)	(kl == sizeof(s) - 1 && strncmp(opt, s, kl) == 0)
	if (KEY("family")) {
		static const char *names[] = { NULL, "ipv4-only", "ipv6-only", "prefer-ipv4",
		    "prefer-ipv6" };
		for (int i = 1; i < (int)(sizeof(names) / sizeof(names[0])); i++)
			if (strcmp(v, names[i]) == 0) {
				r->family = (enum dest_family)i;
				return 0;
			}
		return derr(e, "destination: family: expected ipv4-only, ipv6-only, prefer-ipv4 or prefer-ipv6, got '%s'", v);
	}
	if (KEY("max_connections")) {
		if (parse_count(v, &n) == -1 || n < 1 || n > 100)
			return derr(e, "destination: max_connections: expected a number from 1 to 100, got '%s'", v);
		r->max_connections = (uint32_t)n;
		return 0;
	}
	if (KEY("tls")) {
		if (strcmp(v, "require") != 0 && strcmp(v, "opportunistic") != 0)
			return derr(e, "destination: tls: expected require or opportunistic, got '%s'", v);
		r->tls_require = strcmp(v, "require") == 0;
		return 0;
	}
	if (KEY("relay")) {
		/* [host]:port or host:port */
		char host[ADDR_DOMAIN_MAX + 3];
		const char *colon = strrchr(v, ':');
		size_t hl = colon != NULL ? (size_t)(colon - v) : strlen(v);
		char *end;
		if (hl == 0 || hl >= sizeof(host))
			return derr(e, "destination: relay: expected HOST[:PORT], got '%s'", v);
		memcpy(host, v, hl);
		host[hl] = '\0';
		if (host[0] == '[' && host[hl - 1] == ']') {
			memmove(host, host + 1, hl - 2);
			host[hl - 2] = '\0';
		}
		unsigned long port = 25;
		if (colon != NULL) {
			errno = 0;
			port = strtoul(colon + 1, &end, 10);
			if (errno != 0 || *end != '\0' || port == 0 || port > 65535)
				return derr(e, "destination: relay: bad port in '%s'", v);
		}
		if (!domain_is_valid(host, strlen(host)) || strlen(host) >= sizeof(r->relay_host))
			return derr(e, "destination: relay: expected a host name, got '%s'", host);
		memcpy(r->relay_host, host, strlen(host) + 1);
		r->relay_port = (uint16_t)port;
		return 0;
	}
	if (KEY("auth")) {
		if (v[0] != '/' || strlen(v) >= sizeof(r->auth_file))
			return derr(e, "destination: auth: expected the absolute path of a file holding 'user password', got '%s'", v);
		snprintf(r->auth_file, sizeof(r->auth_file), "%s", v);
		return 0;
	}
	if (KEY("helo")) {
		if (!domain_is_valid(v, strlen(v)))
			return derr(e, "destination: helo: expected a host name, got '%s'", v);
		snprintf(r->helo, sizeof(r->helo), "%s", v);
		return 0;
	}
	if (KEY("source")) {
		unsigned char tmp[16];
		if (inet_pton(AF_INET, v, tmp) != 1 && inet_pton(AF_INET6, v, tmp) != 1)
			return derr(e, "destination: source: expected an IP address, got '%s'", v);
		snprintf(r->source_ip, sizeof(r->source_ip), "%s", v);
		return 0;
	}
#undef KEY
	return derr(e, "destination: unknown option '%s' (expected family=, max_connections=, tls=, relay=, auth=, helo=, source=)", opt);
}

int
config_dest_directive(struct config *c, char **w, int nw, char *err, size_t errlen)
{
	struct dest_err e = { err, errlen };
	struct dest_rule r = { 0 };

	if (nw < 4)
		return derr(&e, "destination: expected 'destination domain|mx PATTERN option=value ...'");
	if (strcmp(w[1], "domain") == 0)
		r.match = DEST_MATCH_DOMAIN;
	else if (strcmp(w[1], "mx") == 0)
		r.match = DEST_MATCH_MX;
	else
		return derr(&e, "destination: expected 'domain' or 'mx', got '%s'", w[1]);
	if (!dest_pattern_valid(w[2]) || strlen(w[2]) >= sizeof(r.pattern))
		return derr(&e, "destination: expected a name, '*' or '*.suffix', got '%s'", w[2]);
	snprintf(r.pattern, sizeof(r.pattern), "%s", w[2]);
	str_lower_ascii(r.pattern);
	for (int i = 3; i < nw; i++)
		if (dest_option(&e, &r, w[i]) == -1)
			return -1;
	if (c->ndestinations == CONFIG_MAX_DESTINATIONS)
		return derr(&e, "destination: more than %d rules", CONFIG_MAX_DESTINATIONS);
	c->destinations[c->ndestinations++] = r;
	return 0;
}

/*
 * Built-in rules, consulted after the config's own: a family only where no
 * `destination` line set one, and never on a route through a relay= host
 * (that host is not Google). Why: Google refuses mail over IPv6 from a
 * sender without a matching PTR and reputation ("550-5.7.1 ... does not
 * meet IPv6 sending guidelines", Google's email sender guidelines), which
 * a small server rarely has for its IPv6 address, while IPv4 with a PTR
 * works. Gmail's MX hosts are *.google.com (gmail-smtp-in.l.google.com),
 * and domains hosted at Google point to aspmx.l.google.com and friends.
 * Override with a line of your own, e.g.
 *	destination mx *.google.com family=prefer-ipv6
 */
static const struct {
	enum dest_match		 match;
	const char		*pattern;
	enum dest_family	 family;
} builtin_destinations[] = {
	{ DEST_MATCH_DOMAIN,	"gmail.com",		DEST_FAMILY_IPV4_ONLY },
	{ DEST_MATCH_DOMAIN,	"googlemail.com",	DEST_FAMILY_IPV4_ONLY },
	{ DEST_MATCH_MX,	"*.google.com",		DEST_FAMILY_IPV4_ONLY },
	{ DEST_MATCH_MX,	"*.googlemail.com",	DEST_FAMILY_IPV4_ONLY },
};

static void
builtin_family_for(const char *rcpt_domain, const char *mx_host,
    struct dest_rule *out)
{
	if (out->family != DEST_FAMILY_ANY || out->relay_host[0] != '\0')
		return;
	for (size_t i = 0; i < sizeof(builtin_destinations) /
	    sizeof(builtin_destinations[0]); i++) {
		const char *name = builtin_destinations[i].match == DEST_MATCH_DOMAIN ?
		    rcpt_domain : mx_host;
		if (name != NULL && dest_pattern_matches(builtin_destinations[i].pattern, name)) {
			out->family = builtin_destinations[i].family;
			return;
		}
	}
}

void
config_destination_for(const struct config *c, const char *rcpt_domain,
    const char *mx_host, struct dest_rule *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < c->ndestinations; i++) {
		const struct dest_rule *r = &c->destinations[i];
		const char *name = r->match == DEST_MATCH_DOMAIN ? rcpt_domain : mx_host;
		if (name == NULL || !dest_pattern_matches(r->pattern, name))
			continue;
		if (out->family == DEST_FAMILY_ANY)
			out->family = r->family;
		if (out->max_connections == 0)
			out->max_connections = r->max_connections;
		out->tls_require = out->tls_require || r->tls_require;
		if (out->relay_host[0] == '\0' && r->relay_host[0] != '\0') {
			memcpy(out->relay_host, r->relay_host, sizeof(out->relay_host));
			out->relay_port = r->relay_port;
			memcpy(out->auth_file, r->auth_file, sizeof(out->auth_file));
		}
		if (out->helo[0] == '\0')
			memcpy(out->helo, r->helo, sizeof(out->helo));
		if (out->source_ip[0] == '\0')
			memcpy(out->source_ip, r->source_ip, sizeof(out->source_ip));
	}
	builtin_family_for(rcpt_domain, mx_host, out);
	if (out->max_connections == 0)
		out->max_connections = c->max_connections_per_destination;
	if (out->helo[0] == '\0')
		memcpy(out->helo, c->hostname, sizeof(out->helo));
}
