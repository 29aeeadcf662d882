/*
 * smtpd/reputation_test.c - the memory of clients that sent clean mail:
 * a known address is found until its memory runs out, an unknown one is
 * not, a flood of new addresses stays within the table and forgets only
 * the oldest of a set, and the limits a known or unknown client gets.
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

#include "reputation.h"

static struct client_addr
v4(uint32_t host_order)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct client_addr a;

	s4.sin_addr.s_addr = htonl(host_order);
	client_addr_from_sockaddr((struct sockaddr *)&s4, &a);
	return a;
}

static void
test_known_until_memory_runs_out(void **state)
{
	struct client_addr mx = v4(0xC0000211), other = v4(0xC0000212);	/* 192.0.2.17, .18 */

	(void)state;
	reputation_clear();
	assert_false(reputation_is_known(&mx, 1000, 3600));
	reputation_note_clean(&mx, 1000);
	assert_true(reputation_is_known(&mx, 1000, 3600));
	assert_true(reputation_is_known(&mx, 4599, 3600));
	assert_false(reputation_is_known(&mx, 4600, 3600));	/* forgotten */
	assert_false(reputation_is_known(&mx, 1000, 0));	/* memory off */
	assert_false(reputation_is_known(&other, 1000, 3600));	/* the neighbour is not */
	reputation_note_clean(&mx, 5000);			/* clean again: renewed */
	assert_true(reputation_is_known(&mx, 8000, 3600));
}

static void
test_a_flood_of_new_addresses_stays_bounded(void **state)
{
	struct client_addr mx = v4(0xC6336407);		/* 198.51.100.7 */
	size_t remembered = 0;

	(void)state;
	reputation_clear();
	reputation_note_clean(&mx, 10);
	/* ten times the table of newer addresses: each set keeps its newest */
	for (uint32_t i = 0; i < 10 * REPUTATION_SLOTS; i++) {
		struct client_addr a = v4(0x0A000000 + i);
		reputation_note_clean(&a, 100 + i);
	}
	for (uint32_t i = 0; i < 10 * REPUTATION_SLOTS; i++) {
		struct client_addr a = v4(0x0A000000 + i);
		remembered += reputation_is_known(&a, 100 + 10 * REPUTATION_SLOTS, 1000000);
	}
	assert_true(remembered <= REPUTATION_SLOTS);
	assert_true(remembered >= REPUTATION_SLOTS / 2);	/* the table is used */
	assert_false(reputation_is_known(&mx, 200, 1000000));	/* the oldest went */
	/* the newest of all is there */
	struct client_addr last = v4(0x0A000000 + 10 * REPUTATION_SLOTS - 1);
	assert_true(reputation_is_known(&last, 100 + 10 * REPUTATION_SLOTS, 1000000));
}

static void
test_limits_for_known_and_unknown(void **state)
{
	struct config c;
	uint32_t per_ip, per_net;

	(void)state;
	config_defaults(&c);
	reputation_limits(&c, false, &per_ip, &per_net);
	assert_int_equal(per_ip, 10);
	assert_int_equal(per_net, 20);
	reputation_limits(&c, true, &per_ip, &per_net);
	assert_int_equal(per_ip, 30);
	assert_int_equal(per_net, 30);	/* the /24 holds at least the address's own */
	c.max_connections_per_net = 3;	/* an unknown client: the /24 limit as set */
	reputation_limits(&c, false, &per_ip, &per_net);
	assert_int_equal(per_ip, 10);
	assert_int_equal(per_net, 3);
	c.max_connections_per_net = 20;
	c.max_connections_per_known_ip = 5;	/* set below the unknown one: no less */
	reputation_limits(&c, true, &per_ip, &per_net);
	assert_int_equal(per_ip, 10);
	assert_int_equal(per_net, 20);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_until_memory_runs_out),
		cmocka_unit_test(test_a_flood_of_new_addresses_stays_bounded),
		cmocka_unit_test(test_limits_for_known_and_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
