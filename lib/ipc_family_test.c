/*
 * lib/ipc_family_test.c - the two messages of the remembered IPv6->IPv4
 * fallback (MSG_RELAY_FAMILY_LEARNED, MSG_QUEUE_FAMILY_MEMORY): round
 * trips, the table's bounds, and every payload the decoders must refuse,
 * because the queue writes what they let through to disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ipc_decode.h"

static struct ipc_frame
frame_of(const struct ipc_builder *b, uint32_t type)
{
	struct ipc_frame f = { type, (uint32_t)b->len, 1, b->buf, -1 };
	return f;
}

static void
test_learned_round_trip(void **state)
{
	static struct ipc_builder b;
	struct family_pin in = { "gmail-smtp-in.l.google.com", 1700003600 }, out;
	const char *why;

	(void)state;
	ipc_encode_family_learned(&b, &in);
	assert_false(b.overflow);
	assert_int_equal(ipc_frame_check(ROLE_QUEUE, ROLE_RELAY, MSG_RELAY_FAMILY_LEARNED,
	    b.len, false, &why), 0);
	assert_int_not_equal(ipc_frame_check(ROLE_RELAY, ROLE_QUEUE, MSG_RELAY_FAMILY_LEARNED,
	    b.len, false, &why), 0);			/* only relay -> queue */
	struct ipc_frame f = frame_of(&b, MSG_RELAY_FAMILY_LEARNED);
	assert_int_equal(ipc_decode_family_learned(&f, &out, &why), 0);
	assert_string_equal(out.name, in.name);
	assert_int_equal(out.until, in.until);
	/* every truncation is refused */
	for (size_t len = 0; len < b.len; len++) {
		f.len = (uint32_t)len;
		assert_int_equal(ipc_decode_family_learned(&f, &out, &why), -1);
	}
	/* the longest name fits the table's max */
	memset(in.name, 'a', ADDR_DOMAIN_MAX);
	for (int i = 63; i < ADDR_DOMAIN_MAX; i += 64)
		in.name[i] = '.';
	in.name[ADDR_DOMAIN_MAX] = '\0';
	ipc_encode_family_learned(&b, &in);
	assert_int_equal(ipc_frame_check(ROLE_QUEUE, ROLE_RELAY, MSG_RELAY_FAMILY_LEARNED,
	    b.len, false, &why), 0);
}

struct bad_pin {
	const char	*name;
	uint64_t	 until;
	const char	*why;
};

static const struct bad_pin bad_pins[] = {
	{ "Gmail.com", 1700003600, "invalid destination name" },
	{ "", 1700003600, "invalid destination name" },
	{ "a..b", 1700003600, "invalid destination name" },
	{ "[192.0.2.1]", 1700003600, "invalid destination name" },
	{ "x.test\n", 1700003600, "invalid destination name" },
	{ "../../etc", 1700003600, "invalid destination name" },
	{ "x.test", 0, "bad until" },
	{ "x.test", (uint64_t)1 << 40, "bad until" },
	{ "x.test", UINT64_MAX, "bad until" },
};

static void
test_learned_refused(void **state)
{
	static struct ipc_builder b;
	struct family_pin out;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_pins) / sizeof(bad_pins[0]); i++) {
		ipc_build_init(&b);
		ipc_put_str(&b, bad_pins[i].name);
		ipc_put_u64(&b, bad_pins[i].until);
		struct ipc_frame f = frame_of(&b, MSG_RELAY_FAMILY_LEARNED);
		why = NULL;
		if (ipc_decode_family_learned(&f, &out, &why) != -1 || why == NULL ||
		    strcmp(why, bad_pins[i].why) != 0)
			fail_msg("'%s' %llu: got '%s', want '%s'", bad_pins[i].name,
			    (unsigned long long)bad_pins[i].until, why != NULL ? why : "accepted",
			    bad_pins[i].why);
	}
	/* trailing bytes */
	ipc_build_init(&b);
	ipc_put_str(&b, "x.test");
	ipc_put_u64(&b, 1700003600);
	ipc_put_u8(&b, 0);
	struct ipc_frame f = frame_of(&b, MSG_RELAY_FAMILY_LEARNED);
	assert_int_equal(ipc_decode_family_learned(&f, &out, &why), -1);
}

static void
test_memory_round_trip_and_bounds(void **state)
{
	static struct ipc_builder b;
	static struct family_pin pins[FAMILY_PINS_PER_FRAME + 1];
	struct msg_family_memory m;
	const char *why;

	(void)state;
	for (int i = 0; i <= FAMILY_PINS_PER_FRAME; i++) {
		/* the longest names: the frame is as large as it gets */
		memset(pins[i].name, 'a', ADDR_DOMAIN_MAX);
		for (int k = 63; k < ADDR_DOMAIN_MAX; k += 64)
			pins[i].name[k] = '.';
		pins[i].name[ADDR_DOMAIN_MAX] = '\0';
		pins[i].until = 1700000000 + (uint64_t)i;
	}
	ipc_encode_family_memory(&b, pins, FAMILY_PINS_PER_FRAME);
	assert_false(b.overflow);
	assert_int_equal(ipc_frame_check(ROLE_RELAY, ROLE_QUEUE, MSG_QUEUE_FAMILY_MEMORY,
	    b.len, false, &why), 0);
	struct ipc_frame f = frame_of(&b, MSG_QUEUE_FAMILY_MEMORY);
	assert_int_equal(ipc_decode_family_memory(&f, &m, &why), 0);
	assert_int_equal(m.n, FAMILY_PINS_PER_FRAME);
	assert_int_equal(m.pins[199].until, 1700000199);
	msg_family_memory_free(&m);
	/* one more than a frame may hold: refused by count */
	ipc_encode_family_memory(&b, pins, 1);
	b.buf[0] = (uint8_t)((FAMILY_PINS_PER_FRAME + 1) >> 8);
	b.buf[1] = (uint8_t)((FAMILY_PINS_PER_FRAME + 1) & 0xff);
	f = frame_of(&b, MSG_QUEUE_FAMILY_MEMORY);
	assert_int_equal(ipc_decode_family_memory(&f, &m, &why), -1);
	assert_string_equal(why, "bad count");
	assert_null(m.pins);
	/* zero pins, a bad pin in the middle, a count larger than the pins */
	ipc_build_init(&b);
	ipc_put_u16(&b, 0);
	f = frame_of(&b, MSG_QUEUE_FAMILY_MEMORY);
	assert_int_equal(ipc_decode_family_memory(&f, &m, &why), -1);
	snprintf(pins[1].name, sizeof(pins[1].name), "BAD.test");
	ipc_encode_family_memory(&b, pins, 3);
	f = frame_of(&b, MSG_QUEUE_FAMILY_MEMORY);
	assert_int_equal(ipc_decode_family_memory(&f, &m, &why), -1);
	assert_null(m.pins);
	snprintf(pins[1].name, sizeof(pins[1].name), "ok.test");
	ipc_encode_family_memory(&b, pins, 2);
	b.buf[1] = 3;
	f = frame_of(&b, MSG_QUEUE_FAMILY_MEMORY);
	assert_int_equal(ipc_decode_family_memory(&f, &m, &why), -1);
	assert_null(m.pins);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_learned_round_trip),
		cmocka_unit_test(test_learned_refused),
		cmocka_unit_test(test_memory_round_trip_and_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
