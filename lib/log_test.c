/*
 * lib/log_test.c - the line formats: the signal-safe time stamp against
 * strftime(gmtime_r()) over leap days and centuries, a line from the
 * signal-safe path next to a normal one, the "<N>" lines a role writes for
 * syslog, and what homemxd does with them (log_take_priority, log_forward).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

static void
test_stamp_matches_gmtime(void **state)
{
	static const time_t fixed[] = {
		0, 59, 86399, 86400, 951782399, 951782400,	/* 2000-02-29 */
		978307199, 1709164800,			/* 2024-02-29 */
		4107542399, 4107542400,			/* 2100-02-28/03-01 */
		253402300799,				/* 9999-12-31T23:59:59 */
	};
	uint64_t x = 88172645463325252ULL;

	(void)state;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) + 2000; i++) {
		struct timespec ts = { 0, 0 };
		if (i < sizeof(fixed) / sizeof(fixed[0]))
			ts.tv_sec = fixed[i];
		else {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;	/* xorshift64 */
			ts.tv_sec = (time_t)(x % 253402300800ULL);
			ts.tv_nsec = (long)(x % 1000000000ULL);
		}
		char want[64], got[64], day[32];
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(want, sizeof(want), "%s.%03ldZ", day, ts.tv_nsec / 1000000);
		log_stamp_signal_safe(got, sizeof(got), &ts);
		if (strcmp(got, want) != 0)
			fail_msg("t=%lld: got %s, want %s", (long long)ts.tv_sec, got, want);
	}
}

/* Runs fn with the log going to a fresh file; returns what it wrote. */
static char *
capture(enum log_sink sink, void (*fn)(void))
{
	static char buf[4096];
	FILE *f = tmpfile();

	assert_non_null(f);
	log_init("homemx-test", sink);
	log_set_output(fileno(f));
	fn();
	log_set_output(STDERR_FILENO);
	ssize_t n = pread(fileno(f), buf, sizeof(buf) - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
two_lines(void)
{
	log_event("normal", "k=v");
	log_event_signal_safe("handler", "k=w");
}

static void
test_signal_safe_line_looks_like_the_others(void **state)
{
	char *o = capture(LOG_SINK_STDERR, two_lines);
	char prefix[64], *nl = strchr(o, '\n');
	int plen = snprintf(prefix, sizeof(prefix), " homemx-test[%ld]: event=",
	    (long)getpid());

	(void)state;
	assert_non_null(nl);
	/* "2026-01-31T23:59:59.123Z" then the same prefix on both lines */
	assert_int_equal(o[4], '-');
	assert_int_equal(o[23], 'Z');
	assert_memory_equal(o + 24, prefix, (size_t)plen);
	assert_memory_equal(nl + 1 + 24, prefix, (size_t)plen);
	assert_string_equal(nl + 1 + 24 + plen, "handler k=w\n");
	assert_memory_equal(o + 24 + plen, "normal k=v\n", 11);
}

static void
parent_lines(void)
{
	log_event("start", "role=smtpd");
	log_warnx("careful");
	log_event_signal_safe("seccomp_violation", "syscall=mount");
}

static void
test_parent_sink_marks_priorities(void **state)
{
	(void)state;
	assert_string_equal(capture(LOG_SINK_PARENT, parent_lines),
	    "<6>event=start role=smtpd\n"
	    "<4>event=warning careful\n"
	    "<3>event=seccomp_violation syscall=mount\n");
}

struct prio_case {
	const char	*line;
	int		 want;
	const char	*rest;
};

static void
test_take_priority(void **state)
{
	static const struct prio_case cases[] = {
		{ "<6>event=x", 6, "event=x" }, { "<0>", 0, "" }, { "<7>a", 7, "a" },
		{ "<8>a", -1, NULL }, { "<>a", -1, NULL }, { "<6a", -1, NULL },
		{ "6>a", -1, NULL }, { "<1234>a", -1, NULL }, { "", -1, NULL },
		{ "<6", -1, NULL }, { "==1==ERROR: AddressSanitizer", -1, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *line = cases[i].line;
		size_t len = strlen(line);
		int got = log_take_priority(&line, &len);
		if (got != cases[i].want)
			fail_msg("\"%s\": got %d, want %d", cases[i].line, got, cases[i].want);
		if (cases[i].rest == NULL)
			assert_ptr_equal(line, cases[i].line);
		else
			assert_string_equal(line, cases[i].rest);
		assert_int_equal(len, strlen(line));
	}
}

static void
forward_lines(void)
{
	log_forward("homemx-smtpd[9]", "2026-01-01T00:00:00.000Z homemx-smtpd[9]: event=x", 49);
	log_forward("homemx-smtpd[9]", "", 0);
}

static void
test_forward_to_stderr_is_unchanged(void **state)
{
	(void)state;
	assert_string_equal(capture(LOG_SINK_STDERR, forward_lines),
	    "2026-01-01T00:00:00.000Z homemx-smtpd[9]: event=x\n\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stamp_matches_gmtime),
		cmocka_unit_test(test_signal_safe_line_looks_like_the_others),
		cmocka_unit_test(test_parent_sink_marks_priorities),
		cmocka_unit_test(test_take_priority),
		cmocka_unit_test(test_forward_to_stderr_is_unchanged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
