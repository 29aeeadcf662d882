/*
 * relay/targets_test.c - MX ordering (preference, ties broken by the given
 * random numbers, null MX), address order per family rule (ipv4-only,
 * ipv6-only, prefer-ipv4, default IPv6 first), the remembered IPv4 pin,
 * source-address families, address literals, and the fallback memory.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "family.h"
#include "targets.h"

static void
set_mx(struct dns_mx *m, const char *host, uint16_t pref)
{
	snprintf(m->host, sizeof(m->host), "%s", host);
	m->pref = pref;
}

static void
test_mx_sort_preference_and_ties(void **state)
{
	struct dns_mx mx[4];
	const uint32_t rnd_a[4] = { 5, 1, 9, 0 };
	const uint32_t rnd_b[4] = { 1, 5, 9, 0 };

	(void)state;
	set_mx(&mx[0], "b.test", 10);
	set_mx(&mx[1], "c.test", 10);
	set_mx(&mx[2], "z.test", 20);
	set_mx(&mx[3], "a.test", 5);
	mx_sort(mx, 4, rnd_a);
	assert_string_equal(mx[0].host, "a.test");
	assert_string_equal(mx[1].host, "c.test");	/* rnd 1 before 5 */
	assert_string_equal(mx[2].host, "b.test");
	assert_string_equal(mx[3].host, "z.test");

	set_mx(&mx[0], "b.test", 10);
	set_mx(&mx[1], "c.test", 10);
	set_mx(&mx[2], "z.test", 20);
	set_mx(&mx[3], "a.test", 5);
	mx_sort(mx, 4, rnd_b);
	assert_string_equal(mx[1].host, "b.test");	/* the other draw */
	assert_string_equal(mx[2].host, "c.test");
}

static void
test_null_mx(void **state)
{
	struct dns_mx mx[3];

	(void)state;
	set_mx(&mx[0], "", 0);
	assert_true(mx_is_null(mx, 1));
	set_mx(&mx[0], ".", 0);
	assert_true(mx_is_null(mx, 1));
	set_mx(&mx[1], "mx.test", 10);
	assert_false(mx_is_null(mx, 2));
	assert_int_equal(mx_drop_null(mx, 2), 1);
	assert_string_equal(mx[0].host, "mx.test");
	set_mx(&mx[0], "mx.test", 0);
	assert_false(mx_is_null(mx, 1));
	assert_false(mx_is_null(mx, 0));
}

static void
add4(struct addr_set *a, const char *ip)
{
	struct sockaddr_in *s = (struct sockaddr_in *)&a->v4[a->n4++];

	memset(s, 0, sizeof(*s));
	s->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &s->sin_addr), 1);
}

static void
add6(struct addr_set *a, const char *ip)
{
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a->v6[a->n6++];

	memset(s, 0, sizeof(*s));
	s->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
}

struct order_case {
	enum dest_family	 fam;
	bool			 pinned;
	int			 source;
	bool			 with_v4;
	const char		*want;	/* space separated */
};

static const struct order_case order_cases[] = {
	{ DEST_FAMILY_ANY,		false, AF_UNSPEC, true,  "2001:db8::1 2001:db8::2 192.0.2.1 192.0.2.2" },
	{ DEST_FAMILY_PREFER_IPV4,	false, AF_UNSPEC, true,  "192.0.2.1 192.0.2.2 2001:db8::1 2001:db8::2" },
	{ DEST_FAMILY_PREFER_IPV6,	false, AF_UNSPEC, true,  "2001:db8::1 2001:db8::2 192.0.2.1 192.0.2.2" },
	{ DEST_FAMILY_PREFER_IPV6,	true,  AF_UNSPEC, true,  "192.0.2.1 192.0.2.2" },
	{ DEST_FAMILY_IPV4_ONLY,	false, AF_UNSPEC, true,  "192.0.2.1 192.0.2.2" },
	{ DEST_FAMILY_IPV6_ONLY,	false, AF_UNSPEC, true,  "2001:db8::1 2001:db8::2" },
	{ DEST_FAMILY_ANY,		true,  AF_UNSPEC, true,  "192.0.2.1 192.0.2.2" },
	{ DEST_FAMILY_IPV6_ONLY,	true,  AF_UNSPEC, true,  "2001:db8::1 2001:db8::2" },
	{ DEST_FAMILY_ANY,		true,  AF_UNSPEC, false, "2001:db8::1 2001:db8::2" },
	{ DEST_FAMILY_IPV4_ONLY,	false, AF_UNSPEC, false, "" },
	{ DEST_FAMILY_ANY,		false, AF_INET,   true,  "192.0.2.1 192.0.2.2" },
	{ DEST_FAMILY_ANY,		false, AF_INET6,  true,  "2001:db8::1 2001:db8::2" },
	{ DEST_FAMILY_IPV4_ONLY,	false, AF_INET6,  true,  "" },
};

static void
test_targets_order(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(order_cases) / sizeof(order_cases[0]); i++) {
		const struct order_case *c = &order_cases[i];
		struct addr_set a;
		struct sockaddr_storage out[8];
		char got[256] = "", ip[64];

		memset(&a, 0, sizeof(a));
		add6(&a, "2001:db8::1");
		add6(&a, "2001:db8::2");
		if (c->with_v4) {
			add4(&a, "192.0.2.1");
			add4(&a, "192.0.2.2");
		}
		size_t n = targets_order(&a, c->fam, c->pinned, c->source, out, 8);
		for (size_t k = 0; k < n; k++) {
			size_t o = strlen(got);
			snprintf(got + o, sizeof(got) - o, "%s%s", k ? " " : "",
			    sockaddr_ip_text(&out[k], ip, sizeof(ip)));
		}
		if (strcmp(got, c->want) != 0)
			fail_msg("order case %zu: got '%s', want '%s'", i, got, c->want);
	}
}

static void
test_targets_order_bounded(void **state)
{
	struct addr_set a;
	struct sockaddr_storage out[3];

	(void)state;
	memset(&a, 0, sizeof(a));
	add6(&a, "2001:db8::1");
	add6(&a, "2001:db8::2");
	add4(&a, "192.0.2.1");
	add4(&a, "192.0.2.2");
	assert_int_equal(targets_order(&a, DEST_FAMILY_ANY, false, AF_UNSPEC, out, 3), 3);
}

struct literal_case {
	const char	*in;
	int		 family;	/* 0: invalid */
	const char	*ip;
};

static const struct literal_case literal_cases[] = {
	{ "[192.0.2.1]",		AF_INET,  "192.0.2.1" },
	{ "[IPv6:2001:db8::25]",	AF_INET6, "2001:db8::25" },
	{ "[ipv6:::1]",			AF_INET6, "::1" },
	{ "192.0.2.1",			0, NULL },
	{ "[192.0.2.256]",		0, NULL },
	{ "[2001:db8::1]",		0, NULL },
	{ "[]",				0, NULL },
	{ "[",				0, NULL },
	{ "example.test",		0, NULL },
	{ "[IPv6:2001:db8::1",		0, NULL },
	{ "[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26.27]", 0, NULL },
};

static void
test_address_literals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(literal_cases) / sizeof(literal_cases[0]); i++) {
		const struct literal_case *c = &literal_cases[i];
		struct sockaddr_storage ss;
		char ip[64];
		int rc = address_literal_parse(c->in, &ss);

		if (c->family == 0) {
			if (rc != -1)
				fail_msg("literal case %zu '%s': accepted", i, c->in);
			continue;
		}
		if (rc != 0 || ss.ss_family != c->family ||
		    strcmp(sockaddr_ip_text(&ss, ip, sizeof(ip)), c->ip) != 0)
			fail_msg("literal case %zu '%s': got rc %d family %d", i, c->in, rc,
			    ss.ss_family);
	}
}

static void
test_family_memory(void **state)
{
	char name[64];

	(void)state;
	family_forget_all();
	assert_false(family_is_pinned("mx.google.com", 1000));
	family_remember("mx.google.com", 1000, 60);
	assert_true(family_is_pinned("mx.google.com", 1000));
	assert_true(family_is_pinned("MX.Google.COM", 1059));
	assert_false(family_is_pinned("mx.google.com", 1060));	/* expired */
	family_remember("mx.google.com", 2000, 60);			/* renewed */
	assert_true(family_is_pinned("mx.google.com", 2001));
	family_remember("", 2000, 60);
	assert_false(family_is_pinned("", 2000));
	family_remember("zero.test", 2000, 0);
	assert_false(family_is_pinned("zero.test", 2000));
	/* Full: the entry that expires first makes room; the rest stay. */
	family_forget_all();
	for (int i = 0; i < FAMILY_MEMORY_MAX; i++) {
		snprintf(name, sizeof(name), "h%d.test", i);
		family_remember(name, 100, (uint32_t)(1000 + i));
	}
	family_remember("new.test", 100, 5000);
	assert_true(family_is_pinned("new.test", 101));
	assert_false(family_is_pinned("h0.test", 101));
	assert_true(family_is_pinned("h1.test", 101));
	assert_true(family_is_pinned("h1023.test", 101));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mx_sort_preference_and_ties),
		cmocka_unit_test(test_null_mx),
		cmocka_unit_test(test_targets_order),
		cmocka_unit_test(test_targets_order_bounded),
		cmocka_unit_test(test_address_literals),
		cmocka_unit_test(test_family_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
