/*
 * relay/targets.c - see targets.h.
 */
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "targets.h"

struct mx_sortable {
	struct dns_mx	mx;
	uint32_t	rnd;
};

static int
mx_cmp(const void *a, const void *b)
{
	const struct mx_sortable *x = a, *y = b;

	if (x->mx.pref != y->mx.pref)
		return x->mx.pref < y->mx.pref ? -1 : 1;
	if (x->rnd != y->rnd)
		return x->rnd < y->rnd ? -1 : 1;
	return 0;
}

void
mx_sort(struct dns_mx *mx, size_t n, const uint32_t *rnd)
{
	struct mx_sortable tmp[DNS_MX_MAX];

	if (n > DNS_MX_MAX)
		n = DNS_MX_MAX;
	for (size_t i = 0; i < n; i++) {
		tmp[i].mx = mx[i];
		tmp[i].rnd = rnd[i];
	}
	qsort(tmp, n, sizeof(tmp[0]), mx_cmp);
	for (size_t i = 0; i < n; i++)
		mx[i] = tmp[i].mx;
}

static bool
is_root(const char *host)
{
	return host[0] == '\0' || strcmp(host, ".") == 0;
}

bool
mx_is_null(const struct dns_mx *mx, size_t n)
{
	return n == 1 && is_root(mx[0].host);
}

size_t
mx_drop_null(struct dns_mx *mx, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		if (!is_root(mx[i].host))
			mx[o++] = mx[i];
	return o;
}

static size_t
append(struct sockaddr_storage *out, size_t o, size_t max,
    const struct sockaddr_storage *in, size_t n)
{
	for (size_t i = 0; i < n && o < max; i++)
		out[o++] = in[i];
	return o;
}

size_t
targets_order(const struct addr_set *a, enum dest_family fam, bool ipv4_pinned,
    int source_family, struct sockaddr_storage *out, size_t max)
{
	bool use4 = fam != DEST_FAMILY_IPV6_ONLY;
	bool use6 = fam != DEST_FAMILY_IPV4_ONLY;
	bool v4_first = fam == DEST_FAMILY_PREFER_IPV4;
	size_t o = 0;

	if (ipv4_pinned && use4 && a->n4 > 0) {
		use6 = false;
		v4_first = true;
	}
	if (source_family == AF_INET)
		use6 = false;
	else if (source_family == AF_INET6)
		use4 = false;
	if (v4_first) {
		if (use4)
			o = append(out, o, max, a->v4, a->n4);
		if (use6)
			o = append(out, o, max, a->v6, a->n6);
	} else {
		if (use6)
			o = append(out, o, max, a->v6, a->n6);
		if (use4)
			o = append(out, o, max, a->v4, a->n4);
	}
	return o;
}

const char *
sockaddr_ip_text(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	const void *src = ss->ss_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)ss)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	if (size == 0)
		return buf;
	if ((ss->ss_family != AF_INET && ss->ss_family != AF_INET6) ||
	    inet_ntop(ss->ss_family, src, buf, (socklen_t)size) == NULL)
		buf[0] = '\0';
	return buf;
}

int
address_literal_parse(const char *domain, struct sockaddr_storage *ss)
{
	char inner[64];
	size_t len = strlen(domain);

	memset(ss, 0, sizeof(*ss));
	if (len < 3 || domain[0] != '[' || domain[len - 1] != ']' ||
	    len - 2 >= sizeof(inner))
		return -1;
	memcpy(inner, domain + 1, len - 2);
	inner[len - 2] = '\0';
	if (strncasecmp(inner, "IPv6:", 5) == 0) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, inner + 5, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		return 0;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	if (inet_pton(AF_INET, inner, &s4->sin_addr) != 1)
		return -1;
	s4->sin_family = AF_INET;
	return 0;
}
