/*
 * screen/memory_test.c - the screen's memory on a real Berkeley DB in a
 * temporary directory: the greylist life cycle on an explicit clock,
 * passed sources, the size bound, verdict records found by ref, session
 * and queue id, expiry, and persistence across a reopen.
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

static int
setup(void **state)
{
	(void)state;
	memory_test_begin("/tmp/hmx-memory-XXXXXX");
	cfg.screen.greylist_delay = 300;
	cfg.screen.greylist_window = 86400;
	cfg.screen.greylist_pass_memory = 30 * 86400;
	cfg.screen.verdict_memory = 7 * 86400;
	return 0;
}

static enum grey_decision
grey(struct screen_memory *m, const char *src, const char *rcpt, time_t now)
{
	time_t retry;

	return memory_greylist(m, &cfg.screen, src, "a@sender.example", rcpt, now, &retry);
}

static void
test_source(void **state)
{
	char s[MEMORY_SOURCE_MAX + 1];

	(void)state;
	memory_source("192.0.2.77", NULL, s, sizeof(s));
	assert_string_equal(s, "net:192.0.2.0/24");
	memory_source("2001:db8:1:2:3:4:5:6", NULL, s, sizeof(s));
	assert_string_equal(s, "net:2001:db8:1:2::/64");
	memory_source("192.0.2.77", "example.net", s, sizeof(s));
	assert_string_equal(s, "spf:example.net");
}

static void
test_greylist_cycle(void **state)
{
	struct screen_memory *m = open_mem(1000);
	const char *src = "net:192.0.2.0/24";
	time_t t = 1000000, retry;

	(void)state;
	assert_int_equal(memory_greylist(m, &cfg.screen, src, "a@s.example", "kim@h.test",
	    t, &retry), GREY_FIRST);
	assert_int_equal(retry, t + 300);
	assert_int_equal(grey(m, src, "kim@h.test", t + 10), GREY_FIRST);	/* other sender */
	assert_int_equal(memory_greylist(m, &cfg.screen, src, "a@s.example", "kim@h.test",
	    t + 299, &retry), GREY_EARLY);
	assert_int_equal(retry, t + 300);
	assert_int_equal(memory_greylist_peek(m, &cfg.screen, src, "a@s.example",
	    "kim@h.test", t + 300), GREY_PASSED);
	assert_int_equal(memory_greylist(m, &cfg.screen, src, "a@s.example", "kim@h.test",
	    t + 300, &retry), GREY_PASSED);
	/* the whole source is known now, for any sender and recipient */
	assert_int_equal(grey(m, src, "other@h.test", t + 400), GREY_KNOWN);
	assert_int_equal(grey(m, "net:198.51.100.0/24", "kim@h.test", t + 400), GREY_FIRST);
	/* known for pass_memory after the LAST use */
	assert_int_equal(grey(m, src, "x@h.test", t + 400 + 29 * 86400), GREY_KNOWN);
	assert_int_equal(grey(m, src, "y@h.test", t + 400 + 58 * 86400), GREY_KNOWN);
	assert_int_equal(grey(m, src, "z@h.test", t + 400 + 89 * 86400), GREY_FIRST);
	memory_close(m);
}

/* A message that proved itself (aligned DKIM) teaches its source. */
static void
test_note_passed(void **state)
{
	struct screen_memory *m = open_mem(1000);
	time_t t = 4000000;

	(void)state;
	assert_int_equal(memory_note_passed(m, "spf:example.net", t), 0);
	assert_int_equal(grey(m, "spf:example.net", "kim@h.test", t + 10), GREY_KNOWN);
	assert_int_equal(grey(m, "net:192.0.2.0/24", "kim@h.test", t + 10), GREY_FIRST);
	assert_int_equal(memory_note_passed(m, "", t), -1);
	memory_close(m);
}

static void
test_greylist_window_expires(void **state)
{
	struct screen_memory *m = open_mem(1000);
	const char *src = "spf:example.net";
	time_t t = 2000000;

	(void)state;
	assert_int_equal(grey(m, src, "kim@h.test", t), GREY_FIRST);
	/* a retry a day later starts over: the first attempt is too old */
	assert_int_equal(grey(m, src, "kim@h.test", t + 86400), GREY_FIRST);
	assert_int_equal(grey(m, src, "kim@h.test", t + 86400 + 300), GREY_PASSED);
	memory_close(m);
}

static void
test_bound(void **state)
{
	struct screen_memory *m = open_mem(100);
	size_t counts[MEMORY_KINDS];
	char rcpt[64];
	time_t t = 3000000;

	(void)state;
	for (int i = 0; i < 100; i++) {
		snprintf(rcpt, sizeof(rcpt), "u%d@h.test", i);
		assert_int_equal(grey(m, "net:192.0.2.0/24", rcpt, t + i), GREY_FIRST);
	}
	assert_int_equal(grey(m, "net:192.0.2.0/24", "new@h.test", t + 200), GREY_FULL);
	/* an existing triplet still progresses */
	assert_int_equal(grey(m, "net:192.0.2.0/24", "u5@h.test", t + 1000), GREY_PASSED);
	memory_counts(m, counts);
	assert_int_equal(counts[0], 99);
	assert_int_equal(counts[1], 1);
	/* one pass notices the bound, the next removes the oldest, in chunks */
	for (int i = 0; i < 20; i++)
		memory_sweep(m, &cfg.screen, t + 2000, 30);
	memory_counts(m, counts);
	assert_int_equal(counts[0], 80);
	assert_int_equal(grey(m, "net:192.0.2.0/24", "u99@h.test", t + 2001), GREY_KNOWN);
	assert_int_equal(grey(m, "net:203.0.113.0/24", "u99@h.test", t + 2001), GREY_FIRST);
	assert_int_equal(grey(m, "net:203.0.113.0/24", "u0@h.test", t + 2001), GREY_FIRST);
	memory_close(m);
}

static int
collect_cb(const char *ref, time_t when, const char *text, void *arg)
{
	char *out = arg;
	size_t o = strlen(out);

	snprintf(out + o, 512 - o, "%s@%lld:%s;", ref, (long long)when, text);
	return 0;
}

static void
test_verdicts(void **state)
{
	struct screen_memory *m = open_mem(1000);
	char out[512];

	(void)state;
	assert_int_equal(memory_put_verdict(m, "0badcafe-2", 20, "second"), 0);
	assert_int_equal(memory_put_verdict(m, "0badcafe-1", 10, "first"), 0);
	assert_int_equal(memory_put_verdict(m, "0badcaff-1", 15, "other session"), 0);
	assert_int_equal(memory_put_qid(m, "0123456789abcdef", "0badcafe", 30), 0);
	out[0] = '\0';
	assert_int_equal(memory_find(m, "0badcafe", collect_cb, out), 2);
	assert_string_equal(out, "0badcafe-1@10:first;0badcafe-2@20:second;");
	out[0] = '\0';
	assert_int_equal(memory_find(m, "0badcafe-2", collect_cb, out), 1);
	assert_string_equal(out, "0badcafe-2@20:second;");
	out[0] = '\0';
	assert_int_equal(memory_find(m, "0123456789abcdef", collect_cb, out), 2);
	out[0] = '\0';
	assert_int_equal(memory_find(m, "0badcafe-3", collect_cb, out), 0);
	assert_int_equal(memory_find(m, "fedcba9876543210", collect_cb, out), 0);
	assert_int_equal(memory_find(m, "0badcaf", collect_cb, out), 0);
	memory_close(m);

	/* it all survives a reopen, and expires after verdict_memory */
	m = open_mem(1000);
	out[0] = '\0';
	assert_int_equal(memory_find(m, "0badcafe", collect_cb, out), 2);
	while (memory_sweep(m, &cfg.screen, 7 * 86400 + 12, 1000) > 0)
		;
	out[0] = '\0';
	assert_int_equal(memory_find(m, "0badcafe", collect_cb, out), 1);
	assert_string_equal(out, "0badcafe-2@20:second;");
	size_t counts[MEMORY_KINDS];
	memory_counts(m, counts);
	assert_int_equal(counts[2], 2);	/* 0badcafe-2 and 0badcaff-1 */
	assert_int_equal(counts[3], 1);
	memory_close(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_source),
		cmocka_unit_test_setup_teardown(test_greylist_cycle, setup, memory_test_end),
		cmocka_unit_test_setup_teardown(test_greylist_window_expires, setup, memory_test_end),
		cmocka_unit_test_setup_teardown(test_note_passed, setup, memory_test_end),
		cmocka_unit_test_setup_teardown(test_bound, setup, memory_test_end),
		cmocka_unit_test_setup_teardown(test_verdicts, setup, memory_test_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
