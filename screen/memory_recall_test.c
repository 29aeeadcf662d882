/*
 * screen/memory_recall_test.c - the spam and backscatter memories on a real
 * Berkeley DB in a temporary directory: records, their lifetime on an
 * explicit clock, "off", the size bound, the sweep, and a reopen.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "memory_testlib.h"

#define DAY	86400
#define NET	"net:192.0.2.0/24"

static int
setup(void **state)
{
	(void)state;
	memory_test_begin("/tmp/hmx-recallmem-XXXXXX");
	cfg.screen.spam_memory_time = 30 * DAY;
	cfg.screen.backscatter_memory_time = 4 * DAY;
	return 0;
}

static int
recall(struct screen_memory *m, const char *sender, const char *rcpt, time_t now,
    char *ref)
{
	return memory_spam_recall(m, &cfg.screen, NET, sender, rcpt, now, ref,
	    SCREEN_REF_MAX + 1);
}

static void
test_backscatter_source(void **state)
{
	char s[MEMORY_SOURCE_MAX + 1];

	(void)state;
	memory_backscatter_source("192.0.2.77", s, sizeof(s));
	assert_string_equal(s, "ip:192.0.2.77");
	memory_backscatter_source("2001:db8:1:2:3:4:5:6", s, sizeof(s));
	assert_string_equal(s, "net:2001:db8:1:2::/64");
	memory_backscatter_source("::ffff:192.0.2.9", s, sizeof(s));
	assert_string_equal(s, "ip:::ffff:192.0.2.9");
}

/* A triple is remembered with its ref, exactly, until its time is up. */
static void
test_spam_cycle(void **state)
{
	struct screen_memory *m = open_mem(1000);
	char ref[SCREEN_REF_MAX + 1];
	time_t t = 1000000;
	size_t counts[MEMORY_KINDS];

	(void)state;
	assert_int_equal(recall(m, "a@spam.example", "kim@h.test", t, ref), 0);
	assert_int_equal(memory_note_spam(m, &cfg.screen, NET, "a@spam.example",
	    "kim@h.test", t, "0badcafe-3"), 0);
	assert_int_equal(memory_note_spam(m, &cfg.screen, NET, "", "kim@h.test", t,
	    "0badcafe-9"), 0);
	assert_int_equal(recall(m, "a@spam.example", "kim@h.test", t + 1, ref), 1);
	assert_string_equal(ref, "0badcafe-3");
	assert_int_equal(recall(m, "", "kim@h.test", t + 1, ref), 1);	/* <> too */
	assert_string_equal(ref, "0badcafe-9");
	/* another sender, recipient or network is not the same triple */
	assert_int_equal(recall(m, "b@spam.example", "kim@h.test", t + 1, ref), 0);
	assert_int_equal(recall(m, "a@spam.example", "ann@h.test", t + 1, ref), 0);
	assert_int_equal(memory_spam_recall(m, &cfg.screen, "net:198.51.100.0/24",
	    "a@spam.example", "kim@h.test", t + 1, ref, sizeof(ref)), 0);
	memory_close(m);
	/* across a reopen, up to the last second of spam_memory_time */
	m = open_mem(1000);
	assert_int_equal(recall(m, "a@spam.example", "kim@h.test", t + 30 * DAY - 1, ref), 1);
	assert_int_equal(recall(m, "a@spam.example", "kim@h.test", t + 30 * DAY, ref), 0);
	memory_counts(m, counts);
	assert_int_equal(counts[4], 2);
	/* the sweep removes it once expired, not before */
	while (memory_sweep(m, &cfg.screen, t + 30 * DAY - 1, 1000) > 0)
		;
	memory_counts(m, counts);
	assert_int_equal(counts[4], 2);
	while (memory_sweep(m, &cfg.screen, t + 30 * DAY, 1000) > 0)
		;
	memory_counts(m, counts);
	assert_int_equal(counts[4], 0);
	memory_close(m);
}

/* spam_memory_time 0: nothing written, nothing recalled, old records go. */
static void
test_spam_off(void **state)
{
	struct screen_memory *m = open_mem(1000);
	char ref[SCREEN_REF_MAX + 1];
	size_t counts[MEMORY_KINDS];

	(void)state;
	assert_int_equal(memory_note_spam(m, &cfg.screen, NET, "a@x.example", "kim@h.test",
	    100, "1-1"), 0);
	cfg.screen.spam_memory_time = 0;
	assert_int_equal(recall(m, "a@x.example", "kim@h.test", 101, ref), 0);
	assert_int_equal(memory_note_spam(m, &cfg.screen, NET, "a@x.example", "ann@h.test",
	    101, "1-2"), -1);
	while (memory_sweep(m, &cfg.screen, 102, 1000) > 0)
		;
	memory_counts(m, counts);
	assert_int_equal(counts[4], 0);
	memory_close(m);
}

/* At screen_memory_max a new triple is not recorded; a known one renews. */
static void
test_spam_bound(void **state)
{
	struct screen_memory *m = open_mem(100);
	char rcpt[64], ref[SCREEN_REF_MAX + 1];
	size_t counts[MEMORY_KINDS];

	(void)state;
	for (int i = 0; i < 100; i++) {
		snprintf(rcpt, sizeof(rcpt), "u%d@h.test", i);
		assert_int_equal(memory_note_spam(m, &cfg.screen, NET, "a@x.example", rcpt,
		    1000 + i, "1-1"), 0);
	}
	assert_int_equal(memory_note_spam(m, &cfg.screen, NET, "a@x.example", "new@h.test",
	    2000, "1-2"), -1);
	assert_int_equal(memory_note_spam(m, &cfg.screen, NET, "a@x.example", "u0@h.test",
	    2000, "1-3"), 0);
	assert_int_equal(recall(m, "a@x.example", "u0@h.test", 2001, ref), 1);
	assert_string_equal(ref, "1-3");
	memory_counts(m, counts);
	assert_int_equal(counts[4], 100);
	/* near the bound, the sweep makes room: the oldest go first */
	for (int i = 0; i < 20; i++)
		memory_sweep(m, &cfg.screen, 3000, 40);
	memory_counts(m, counts);
	assert_int_equal(counts[4], 80);
	assert_int_equal(recall(m, "a@x.example", "u1@h.test", 3001, ref), 0);
	assert_int_equal(recall(m, "a@x.example", "u0@h.test", 3001, ref), 1);
	memory_close(m);
}

static void
test_backscatter_cycle(void **state)
{
	struct screen_memory *m = open_mem(1000);
	size_t counts[MEMORY_KINDS];
	time_t t = 5000000;

	(void)state;
	assert_int_equal(memory_backscatter_recall(m, &cfg.screen, "ip:192.0.2.7", t), 0);
	assert_int_equal(memory_note_backscatter(m, &cfg.screen, "ip:192.0.2.7", t), 0);
	assert_int_equal(memory_backscatter_recall(m, &cfg.screen, "ip:192.0.2.7", t + 1), 1);
	assert_int_equal(memory_backscatter_recall(m, &cfg.screen, "ip:192.0.2.8", t + 1), 0);
	/* each new bounce starts the 4 days again */
	assert_int_equal(memory_note_backscatter(m, &cfg.screen, "ip:192.0.2.7", t + 3 * DAY), 0);
	assert_int_equal(memory_backscatter_recall(m, &cfg.screen, "ip:192.0.2.7",
	    t + 7 * DAY - 1), 1);
	assert_int_equal(memory_backscatter_recall(m, &cfg.screen, "ip:192.0.2.7",
	    t + 7 * DAY), 0);
	memory_counts(m, counts);
	assert_int_equal(counts[5], 1);
	while (memory_sweep(m, &cfg.screen, t + 7 * DAY, 1000) > 0)
		;
	memory_counts(m, counts);
	assert_int_equal(counts[5], 0);
	/* off */
	cfg.screen.backscatter_memory_time = 0;
	assert_int_equal(memory_note_backscatter(m, &cfg.screen, "ip:192.0.2.7", t), -1);
	assert_int_equal(memory_backscatter_recall(m, &cfg.screen, "ip:192.0.2.7", t), 0);
	memory_close(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backscatter_source),
		cmocka_unit_test_setup_teardown(test_spam_cycle, setup, memory_test_end),
		cmocka_unit_test_setup_teardown(test_spam_off, setup, memory_test_end),
		cmocka_unit_test_setup_teardown(test_spam_bound, setup, memory_test_end),
		cmocka_unit_test_setup_teardown(test_backscatter_cycle, setup, memory_test_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
