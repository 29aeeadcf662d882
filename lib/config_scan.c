/*
 * lib/config_scan.c - the scanner lines of homemx.conf (lib/config_scan.h):
 * rspamd, spamd, clamd (an address or none) and their weights. The
 * timeout and the size caps are rows of lib/config.c's parameter table.
 *
 * Owns: the address rules (a UNIX socket under screen_dir, or an IP
 * literal on loopback: never a host name, which would need DNS before the
 * chroot and would hide where the message goes) and the defaults: every
 * scanner off, weight 1. A socket below screen_dir is only possible for a
 * daemon that binds it as root: homemxd keeps screen_dir 0700 for the
 * screen's user, so clamd, which drops to its User before it binds, must
 * use TCP (TCPSocket/TCPAddr) - the error message says so.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_scan.h"
#include "hostport.h"

static const char *const kind_names[SCAN_KINDS] = {
	[SCAN_RSPAMD] = "rspamd",
	[SCAN_SPAMD] = "spamd",
	[SCAN_CLAMD] = "clamd",
};

/* What a file set: a line given twice is an error, not a silent override. */
static struct {
	bool	addr_seen[SCAN_KINDS];
	bool	weight_seen[SCAN_KINDS];
} parse_state;

_Static_assert(sizeof(((struct sockaddr_un *)0)->sun_path) == SCAN_UNIX_PATH_MAX + 1,
    "SCAN_UNIX_PATH_MAX follows sockaddr_un");

const char *
scan_kind_name(enum scan_kind k)
{
	return k < SCAN_KINDS ? kind_names[k] : "?";
}

static int
cerr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

void
scan_config_defaults(struct scan_config *sc)
{
	/* the size caps are table rows (lib/config.c), set before this runs */
	for (int k = 0; k < SCAN_KINDS; k++) {
		uint64_t max_size = sc->target[k].max_size;
		memset(&sc->target[k], 0, sizeof(sc->target[k]));
		sc->target[k].max_size = max_size;
		sc->target[k].weight = 100;
		snprintf(sc->target[k].text, sizeof(sc->target[k].text), "none");
	}
}

void
scan_config_parse_begin(void)
{
	memset(&parse_state, 0, sizeof(parse_state));
}

bool
scan_config_any(const struct scan_config *sc)
{
	for (int k = 0; k < SCAN_KINDS; k++)
		if (sc->target[k].enabled)
			return true;
	return false;
}

int
scan_parse_weight(const char *v, uint32_t *out)
{
	uint32_t whole = 0, frac = 0;
	const char *p = v;
	int fdigits = 0;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		whole = whole * 10 + (uint32_t)(*p - '0');
		if (whole > SCAN_WEIGHT_MAX / 100)
			return -1;
	}
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++) {
			if (++fdigits > 2)
				return -1;
			frac = frac * 10 + (uint32_t)(*p - '0');
		}
		if (fdigits == 0)
			return -1;
		if (fdigits == 1)
			frac *= 10;
	}
	if (*p != '\0' || whole * 100 + frac > SCAN_WEIGHT_MAX)
		return -1;
	*out = whole * 100 + frac;
	return 0;
}

static bool
ipv4_is_loopback(const struct in_addr *a)
{
	return (ntohl(a->s_addr) >> 24) == 127;
}

/* "127.0.0.1:11333" or "[::1]:11333"; loopback only. 0, or -1 with why. */
static int
parse_ip_port(const char *v, struct scan_target *t, const char **why)
{
	enum hostport_result r = config_parse_hostport(v, 0, &t->addr, &t->addrlen);

	*why = "expected a UNIX socket path, IP:PORT such as 127.0.0.1:11333 "
	    "or [::1]:11333, or none";
	if (r == HOSTPORT_NOT_IP && v[0] != '[')
		*why = "expected an IP address, not a host name (the screen "
		    "resolves nothing for its scanners), such as 127.0.0.1:11333";
	if (r != HOSTPORT_OK)
		return -1;
	bool loopback = t->addr.ss_family == AF_INET6 ?
	    IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&t->addr)->sin6_addr) :
	    ipv4_is_loopback(&((struct sockaddr_in *)&t->addr)->sin_addr);
	if (!loopback) {
		*why = "a scanner must listen on loopback (127.0.0.0/8 or [::1]), since "
		    "the message travels to it unencrypted: run it on this host";
		return -1;
	}
	return 0;
}

static int
directive_address(struct scan_config *sc, enum scan_kind k, char **w, int nw,
    char *err, size_t errlen)
{
	struct scan_target *t = &sc->target[k];
	const char *why;

	if (nw != 2)
		return cerr(err, errlen, "%s: expected one address (a UNIX socket path "
		    "under screen_dir, or IP:PORT on loopback) or none", w[0]);
	if (parse_state.addr_seen[k])
		return cerr(err, errlen, "%s: set twice", w[0]);
	parse_state.addr_seen[k] = true;
	if (strlen(w[1]) >= sizeof(t->text))
		return cerr(err, errlen, "%s: value longer than %zu bytes", w[0],
		    sizeof(t->text) - 1);
	uint32_t weight = t->weight;
	uint64_t max_size = t->max_size;
	memset(t, 0, sizeof(*t));
	t->weight = weight;
	t->max_size = max_size;
	snprintf(t->text, sizeof(t->text), "%s", w[1]);
	if (strcmp(w[1], "none") == 0)
		return 0;
	if (w[1][0] == '/') {
		if (strlen(w[1]) > SCAN_UNIX_PATH_MAX)
			return cerr(err, errlen, "%s: socket path longer than %d bytes",
			    w[0], SCAN_UNIX_PATH_MAX);
		snprintf(t->path, sizeof(t->path), "%s", w[1]);
		t->is_unix = true;
		t->enabled = true;
		return 0;	/* under screen_dir? checked when the file is read */
	}
	if (parse_ip_port(w[1], t, &why) == -1)
		return cerr(err, errlen, "%s: %s (got '%s')", w[0], why, w[1]);
	t->enabled = true;
	return 0;
}

static int
directive_weight(struct scan_config *sc, enum scan_kind k, char **w, int nw,
    char *err, size_t errlen)
{
	if (nw != 2 || scan_parse_weight(w[1], &sc->target[k].weight) == -1)
		return cerr(err, errlen, "%s: expected a number from 0 to 100 with at "
		    "most two decimals, such as 1 or 0.5, got '%s'", w[0],
		    nw >= 2 ? w[1] : "");
	if (parse_state.weight_seen[k])
		return cerr(err, errlen, "%s: set twice", w[0]);
	parse_state.weight_seen[k] = true;
	return 0;
}

int
scan_config_directive(struct scan_config *sc, char **w, int nw, char *err,
    size_t errlen)
{
	for (int k = 0; k < SCAN_KINDS; k++)
		if (strcmp(w[0], kind_names[k]) == 0)
			return directive_address(sc, (enum scan_kind)k, w, nw, err, errlen);
	if (strcmp(w[0], "rspamd_weight") == 0)
		return directive_weight(sc, SCAN_RSPAMD, w, nw, err, errlen);
	if (strcmp(w[0], "spamd_weight") == 0)
		return directive_weight(sc, SCAN_SPAMD, w, nw, err, errlen);
	return 1;
}

/* True if path has no empty, "." or ".." component: what it names does not
 * depend on a prefix being taken off. */
static bool
path_is_plain(const char *path)
{
	const char *p = path;

	while (*p == '/') {
		const char *c = ++p;
		while (*p != '\0' && *p != '/')
			p++;
		size_t len = (size_t)(p - c);
		if (len == 0 || (len == 1 && c[0] == '.') ||
		    (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
	}
	return *p == '\0';
}

/* Sets path_in_jail, or -1: the socket is not below screen_dir. */
static int
jail_path(struct scan_target *t, const char *screen_dir)
{
	size_t dl = strlen(screen_dir);

	while (dl > 1 && screen_dir[dl - 1] == '/')
		dl--;		/* "/var/lib/homemx/screen/" */
	if (dl == 1 && screen_dir[0] == '/')
		dl = 0;		/* screen_dir / : every path is inside */
	if (!path_is_plain(t->path) || strncmp(t->path, screen_dir, dl) != 0 ||
	    t->path[dl] != '/' || t->path[dl + 1] == '\0')
		return -1;
	size_t len = strlen(t->path + dl);	/* shorter than path: fits */
	memmove(t->path_in_jail, t->path + dl, len + 1);
	return 0;
}

int
scan_config_finish(struct scan_config *sc, const char *screen_dir, char *err,
    size_t errlen)
{
	static const char *const loopback[SCAN_KINDS] = {
		[SCAN_RSPAMD] = "127.0.0.1:11333",
		[SCAN_SPAMD] = "127.0.0.1:783",
		[SCAN_CLAMD] = "127.0.0.1:3310",
	};

	for (int k = 0; k < SCAN_KINDS; k++) {
		struct scan_target *t = &sc->target[k];
		if (!t->is_unix || jail_path(t, screen_dir) == 0)
			continue;
		return cerr(err, errlen, "%s %s: the screen runs chrooted into screen_dir "
		    "(%s) and cannot reach a socket elsewhere: let the scanner listen on a "
		    "loopback IP:PORT (e.g. %s), or on a socket below screen_dir (e.g. "
		    "%s/scanners/%s.sock) if it creates its socket before it drops root, "
		    "as rspamd and spamd do", kind_names[k], t->path, screen_dir, loopback[k],
		    screen_dir, kind_names[k]);
	}
	return 0;
}
