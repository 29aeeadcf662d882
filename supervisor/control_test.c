/*
 * supervisor/control_test.c - the filters of `mxctl log -f`: a session or
 * queue id matches only as a whole key=value pair (sess=a1 is not
 * sess=a10), an address anywhere in the line, in any case.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "control.h"

static bool
matches(const char *kind, const char *value, const char *line)
{
	return control_line_matches(kind, value, line, strlen(line));
}

static void
test_filters(void **state)
{
	(void)state;
	assert_true(matches(NULL, "", "event=connect sess=a1 ip=192.0.2.1"));
	assert_true(matches("session", "a1", "event=connect sess=a1 ip=192.0.2.1"));
	assert_true(matches("session", "a1", "event=disconnect sess=a1"));
	assert_true(matches("session", "a1", "event=verdict ref=\"x\" sess=a1\" y"));
	assert_false(matches("session", "a1", "event=connect sess=a10 ip=192.0.2.1"));
	assert_false(matches("session", "a1", "event=connect xsess=a1 ip=192.0.2.1"));
	assert_false(matches("session", "a1", "event=committed qid=a1"));
	assert_true(matches("queue", "6561f0c2a1b2c3d4",
	    "event=delivered qid=6561f0c2a1b2c3d4 to=<kim@example.test>"));
	assert_false(matches("queue", "6561f0c2a1b2c3d4", "event=delivered qid=6561f0c2a1b2c3d"));
	assert_true(matches("address", "Kim@Example.TEST",
	    "event=delivered qid=1 to=<kim@example.test>"));
	assert_false(matches("address", "kim@example.test", "event=delivered to=<lee@example.test>"));
	assert_false(matches("other", "x", "x"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
