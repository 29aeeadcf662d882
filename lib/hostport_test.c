/*
 * lib/hostport_test.c - config_parse_hostport: the forms it accepts
 * (IPv4, [IPv6], the "*" wildcard only when asked) and the ones it refuses
 * (no port, port 0 or 65536, a sign, junk, a host name, missing brackets).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "hostport.h"

static void
test_ipv4(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	(void)state;

	assert_int_equal(config_parse_hostport("192.0.2.7:2525", 0, &ss, &len), HOSTPORT_OK);
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(ntohs(s4->sin_port), 2525);
	assert_int_equal(ntohl(s4->sin_addr.s_addr), 0xc0000207);
	assert_int_equal(config_parse_hostport("127.0.0.1:65535", 0, &ss, &len), HOSTPORT_OK);
	assert_int_equal(ntohs(s4->sin_port), 65535);
	assert_int_equal(config_parse_hostport("127.0.0.1:1", 0, &ss, &len), HOSTPORT_OK);
	assert_int_equal(ntohs(s4->sin_port), 1);
}

static void
test_ipv6(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	struct in6_addr want;
	(void)state;

	assert_int_equal(config_parse_hostport("[2001:db8::1]:25", 0, &ss, &len), HOSTPORT_OK);
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(ntohs(s6->sin6_port), 25);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &want), 1);
	assert_memory_equal(&s6->sin6_addr, &want, sizeof(want));
	assert_int_equal(config_parse_hostport("[::]:587", 0, &ss, &len), HOSTPORT_OK);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr));
}

static void
test_wildcard_only_when_asked(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	(void)state;

	assert_int_equal(config_parse_hostport("*:25", 0, &ss, &len), HOSTPORT_NOT_IP);
	assert_int_equal(config_parse_hostport("*:25", HOSTPORT_ALLOW_ANY, &ss, &len), HOSTPORT_OK);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(((const struct sockaddr_in *)&ss)->sin_addr.s_addr, htonl(INADDR_ANY));
	assert_int_equal(ntohs(((const struct sockaddr_in *)&ss)->sin_port), 25);
	/* the wildcard is IPv4's; IPv6 spells it [::] */
	assert_int_equal(config_parse_hostport("[*]:25", HOSTPORT_ALLOW_ANY, &ss, &len), HOSTPORT_NOT_IP);
}

static void
test_refused(void **state)
{
	static const struct {
		const char		*v;
		enum hostport_result	 want;
	} cases[] = {
		{ "127.0.0.1", HOSTPORT_SYNTAX },		/* no port */
		{ "127.0.0.1:", HOSTPORT_SYNTAX },
		{ "127.0.0.1:0", HOSTPORT_SYNTAX },
		{ "127.0.0.1:65536", HOSTPORT_SYNTAX },
		{ "127.0.0.1:99999999999999999999999", HOSTPORT_SYNTAX },
		{ "127.0.0.1:+25", HOSTPORT_SYNTAX },
		{ "127.0.0.1: 25", HOSTPORT_SYNTAX },
		{ "127.0.0.1:25x", HOSTPORT_SYNTAX },
		{ "127.0.0.1:-1", HOSTPORT_SYNTAX },
		{ "[::1]", HOSTPORT_SYNTAX },
		{ "[::1]25", HOSTPORT_SYNTAX },
		{ "[::1:25", HOSTPORT_SYNTAX },
		{ "[::1]:0", HOSTPORT_SYNTAX },
		{ "[::1]:65536", HOSTPORT_SYNTAX },
		{ "", HOSTPORT_SYNTAX },
		{ ":", HOSTPORT_SYNTAX },
		{ "[0000000000000000000000000000000000000000000000000000000000000000]:25",
		    HOSTPORT_SYNTAX },				/* host too long */
		{ "localhost:25", HOSTPORT_NOT_IP },
		{ ":25", HOSTPORT_NOT_IP },
		{ "::1:25", HOSTPORT_NOT_IP },			/* IPv6 needs brackets */
		{ "[127.0.0.1]:25", HOSTPORT_NOT_IP },
		{ "[localhost]:25", HOSTPORT_NOT_IP },
		{ "256.0.0.1:25", HOSTPORT_NOT_IP },
		{ "127.0.0.1 :25", HOSTPORT_NOT_IP },
	};
	struct sockaddr_storage ss;
	socklen_t len;
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = 0;
		enum hostport_result r = config_parse_hostport(cases[i].v, HOSTPORT_ALLOW_ANY,
		    &ss, &len);
		if (r != cases[i].want)
			fail_msg("'%s': got %d, want %d", cases[i].v, r, cases[i].want);
		assert_int_equal(len, 0);	/* untouched on failure */
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_wildcard_only_when_asked),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
