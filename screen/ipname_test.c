/*
 * screen/ipname_test.c - client address parsing (IPv4-mapped IPv6 is
 * IPv4) and the reversed names: in-addr.arpa, ip6.arpa nibbles, a DNS
 * list's zone, and names that would not fit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "dnsview.h"
#include "ipname.h"

static void
test_reverse_names(void **state)
{
	static const struct { const char *ip, *suffix, *want; } rows[] = {
		{ "198.51.100.7", "in-addr.arpa", "7.100.51.198.in-addr.arpa" },
		{ "0.0.0.0", "in-addr.arpa", "0.0.0.0.in-addr.arpa" },
		{ "255.255.255.255", "zen.spamhaus.org", "255.255.255.255.zen.spamhaus.org" },
		{ "::ffff:192.0.2.1", "in-addr.arpa", "1.2.0.192.in-addr.arpa" },
		{ "2001:db8::567:89ab", "ip6.arpa",	/* RFC 3596 2.5's example shape */
		    "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa" },
		{ "::1", "ip6.arpa",
		    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa" },
		{ "2001:DB8::FFFF", "bl.example",
		    "f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example" },
	};
	char out[DV_NAME_MAX + 1];
	struct ip_addr ip;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(ip_addr_parse(rows[i].ip, &ip), 0);
		assert_int_equal(ip_reverse_name(&ip, rows[i].suffix, out, sizeof(out)), 0);
		if (strcmp(out, rows[i].want) != 0)
			fail_msg("%s: got %s, want %s", rows[i].ip, out, rows[i].want);
	}
}

static void
test_parse_and_equal(void **state)
{
	struct ip_addr a, b;

	(void)state;
	assert_int_equal(ip_addr_parse("192.0.2.1", &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(ip_addr_parse("::ffff:192.0.2.1", &b), 0);
	assert_int_equal(b.family, AF_INET);
	assert_true(ip_addr_equal(&a, &b));
	assert_int_equal(ip_addr_parse("2001:db8::1", &b), 0);
	assert_int_equal(b.family, AF_INET6);
	assert_false(ip_addr_equal(&a, &b));
	assert_int_equal(ip_addr_parse("2001:0db8:0000::0001", &a), 0);
	assert_true(ip_addr_equal(&a, &b));
	static const char *const bad[] = { "", "192.0.2", "192.0.2.256", "1.2.3.4 ", "[::1]",
	    "example.net", "::ffff:1.2.3" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ip_addr_parse(bad[i], &a), -1);
}

/* A zone so long the query name would pass 253 octets, or a small buffer. */
static void
test_too_long(void **state)
{
	char zone[250], out[DV_NAME_MAX + 1], small[16];
	struct ip_addr ip;

	(void)state;
	memset(zone, 'a', sizeof(zone) - 1);
	zone[sizeof(zone) - 1] = '\0';
	for (size_t i = 50; i < sizeof(zone) - 1; i += 50)
		zone[i] = '.';
	assert_int_equal(ip_addr_parse("198.51.100.7", &ip), 0);
	assert_int_equal(ip_reverse_name(&ip, zone, out, sizeof(out)), -1);
	assert_int_equal(ip_reverse_name(&ip, "in-addr.arpa", small, sizeof(small)), -1);
	assert_int_equal(ip_addr_parse("2001:db8::1", &ip), 0);
	assert_int_equal(ip_reverse_name(&ip, zone + 20, out, sizeof(out)), -1);	/* 64 + 229 */
	assert_int_equal(ip_reverse_name(&ip, zone + 151, out, sizeof(out)), 0);	/* 64 + 98 */
	assert_int_equal(ip_reverse_name(&ip, "ip6.arpa", small, sizeof(small)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reverse_names),
		cmocka_unit_test(test_parse_and_equal),
		cmocka_unit_test(test_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
