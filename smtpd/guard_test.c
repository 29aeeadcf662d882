/*
 * smtpd/guard_test.c - who counts as one client or one network (/24,
 * /64), the deadline of each phase with and without stress, and stress
 * mode's hysteresis; one row per case.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "guard.h"

/* "1.2.3.4" or "2001:db8::1" as a client_addr, through a sockaddr as
 * accept() gives it. */
static void
addr(const char *text, struct client_addr *out)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':') == NULL) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
	}
	client_addr_from_sockaddr((struct sockaddr *)&ss, out);
}

static const struct {
	const char	*a, *b;
	bool		 same_ip, same_net;
} pairs[] = {
	{ "192.0.2.1",		"192.0.2.1",		true,	true },
	{ "192.0.2.1",		"192.0.2.254",		false,	true },
	{ "192.0.2.1",		"192.0.3.1",		false,	false },
	{ "192.0.2.1",		"193.0.2.1",		false,	false },
	{ "192.0.2.1",		"::ffff:192.0.2.1",	true,	true },	/* v4-mapped on a [::] listener */
	{ "192.0.2.1",		"::ffff:192.0.2.77",	false,	true },
	{ "2001:db8:1:2::1",	"2001:db8:1:2::1",	true,	true },
	{ "2001:db8:1:2::1",	"2001:db8:1:2:ffff::9",	false,	true },
	{ "2001:db8:1:2::1",	"2001:db8:1:3::1",	false,	false },
	{ "2001:db8::1",	"192.0.2.1",		false,	false },
	/* an IPv4 /24 and the first bytes of an IPv6 /64 never meet */
	{ "0.0.0.1",		"::1",			false,	false },
};

static void
test_same_ip_and_net(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct client_addr a, b;
		addr(pairs[i].a, &a);
		addr(pairs[i].b, &b);
		if (client_same_ip(&a, &b) != pairs[i].same_ip ||
		    client_same_net(&a, &b) != pairs[i].same_net ||
		    client_same_net(&b, &a) != pairs[i].same_net)
			fail_msg("%s vs %s: got ip=%d net=%d, want ip=%d net=%d",
			    pairs[i].a, pairs[i].b, client_same_ip(&a, &b),
			    client_same_net(&a, &b), pairs[i].same_ip, pairs[i].same_net);
	}
}

static void
test_deadlines(void **state)
{
	struct config c = { 0 };
	static const struct {
		enum deadline_kind	kind;
		unsigned		normal, stress;
	} want[] = {
		{ DEADLINE_GREETING,		3,	STRESS_GREETING },
		{ DEADLINE_FIRST_COMMAND,	300,	STRESS_FIRST_COMMAND },
		{ DEADLINE_COMMAND,		300,	STRESS_COMMAND },
		{ DEADLINE_DATA,		180,	STRESS_DATA },
		{ DEADLINE_ANSWER,		ANSWER_TIMEOUT,	ANSWER_TIMEOUT },	/* ours, not the client's */
		{ DEADLINE_EOD_ANSWER,		250,	250 },	/* 2 * 60 + 120 + 10 */
		{ DEADLINE_LINGER,		CLOSE_LINGER,	CLOSE_LINGER },
		{ DEADLINE_NONE,		0,	0 },
	};

	(void)state;
	c.greeting_delay = 3;
	c.timeout_command = 300;
	c.timeout_data = 180;
	c.screen.dns_timeout = 60;
	c.screen.scan.timeout = 120;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		unsigned n = deadline_seconds(want[i].kind, &c, false);
		unsigned st = deadline_seconds(want[i].kind, &c, true);
		if (n != want[i].normal || st != want[i].stress)
			fail_msg("%s: got %u/%u, want %u/%u", deadline_name(want[i].kind), n, st,
			    want[i].normal, want[i].stress);
	}
	/* stress never lengthens a deadline the admin made short */
	c.timeout_command = 2;
	c.timeout_data = 1;
	c.greeting_delay = 1;
	assert_int_equal(deadline_seconds(DEADLINE_COMMAND, &c, true), 2);
	assert_int_equal(deadline_seconds(DEADLINE_FIRST_COMMAND, &c, true), 2);
	assert_int_equal(deadline_seconds(DEADLINE_DATA, &c, true), 1);
	assert_int_equal(deadline_seconds(DEADLINE_GREETING, &c, true), 1);
	/* 64 KiB per timeout_data is a very low minimum rate: < 4 kbit/s */
	assert_true(DATA_BLOCK * 8 / 180 < 4000);
}

static void
test_stress_hysteresis(void **state)
{
	static const struct {
		bool		before;
		size_t		sessions;
		uint32_t	max;
		bool		after;
	} rows[] = {
		{ false, 150, 200, false },	/* 3/4 is not more than 3/4 */
		{ false, 151, 200, true },
		{ true,  151, 200, true },
		{ true,  101, 200, true },	/* stays on down to half */
		{ true,  100, 200, false },
		{ false, 120, 200, false },	/* and does not come back at once */
		{ false, 1,   1,   true },
		{ true,  0,   1,   false },
		{ false, 1951, 2600, true },
		{ false, 1950, 2600, false },
		{ true,  1000, 2600, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (stress_next(rows[i].before, rows[i].sessions, rows[i].max) != rows[i].after)
			fail_msg("row %zu: %zu of %u, stressed=%d: got %d, want %d", i,
			    rows[i].sessions, rows[i].max, rows[i].before, !rows[i].after,
			    rows[i].after);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_ip_and_net),
		cmocka_unit_test(test_deadlines),
		cmocka_unit_test(test_stress_hysteresis),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
