/*
 * relay/family_test.c - the remembered IPv6->IPv4 fallbacks
 * (relay/family.c): what is learned here goes to the hook (and so to the
 * queue), what the queue hands back is cut to family_fallback_memory and
 * never goes back, and the memory stays bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "family.h"

#define NOW	1700000000

static char	hook_name[300];
static time_t	hook_until;
static int	hook_calls;

static void
hook(const char *name, time_t until)
{
	snprintf(hook_name, sizeof(hook_name), "%s", name);
	hook_until = until;
	hook_calls++;
}

static int
setup(void **state)
{
	(void)state;
	family_forget_all();
	family_set_learn_hook(hook);
	hook_calls = 0;
	return 0;
}

static void
test_remember_tells_the_hook(void **state)
{
	(void)state;
	family_remember("MX.Strict.TEST", NOW, 3600);
	assert_true(family_is_pinned("mx.strict.test", NOW + 3599));
	assert_false(family_is_pinned("mx.strict.test", NOW + 3600));
	assert_int_equal(hook_calls, 1);
	assert_string_equal(hook_name, "mx.strict.test");	/* lowercase for the queue */
	assert_int_equal(hook_until, NOW + 3600);
	/* learned again later: the pin grows, the queue hears the new until */
	family_remember("mx.strict.test", NOW + 100, 3600);
	assert_int_equal(hook_calls, 2);
	assert_int_equal(hook_until, NOW + 3700);
	assert_int_equal(family_count(NOW), 1);
	/* nothing for an empty name or no memory */
	family_remember("", NOW, 3600);
	family_remember("x.test", NOW, 0);
	assert_int_equal(hook_calls, 2);
}

static void
test_load_from_the_queue(void **state)
{
	(void)state;
	family_load("gmail.com", NOW + 600, NOW, 3600);
	family_load("far.test", NOW + 999999, NOW, 3600);	/* memory shortened since */
	family_load("old.test", NOW - 1, NOW, 3600);		/* expired */
	assert_int_equal(hook_calls, 0);			/* never sent back */
	assert_true(family_is_pinned("gmail.com", NOW + 599));
	assert_false(family_is_pinned("gmail.com", NOW + 600));
	assert_true(family_is_pinned("far.test", NOW + 3599));
	assert_false(family_is_pinned("far.test", NOW + 3600));
	assert_false(family_is_pinned("old.test", NOW));
	assert_int_equal(family_count(NOW), 2);
	/* a pin never shrinks */
	family_load("gmail.com", NOW + 10, NOW, 3600);
	assert_true(family_is_pinned("gmail.com", NOW + 599));
}

static void
test_bounded(void **state)
{
	char name[32];

	(void)state;
	for (int i = 0; i < FAMILY_MEMORY_MAX + 10; i++) {
		snprintf(name, sizeof(name), "d%d.test", i);
		family_load(name, NOW + 1000 + i, NOW, 100000);
	}
	assert_int_equal(family_count(NOW), FAMILY_MEMORY_MAX);
	assert_false(family_is_pinned("d0.test", NOW));		/* expired first: gone */
	assert_true(family_is_pinned("d1033.test", NOW));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_remember_tells_the_hook, setup),
		cmocka_unit_test_setup(test_load_from_the_queue, setup),
		cmocka_unit_test_setup(test_bounded, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
