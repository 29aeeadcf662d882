/*
 * sendmail/options_test.c - the command line of sendmail(8): what cron,
 * mail(1) and PHP pass, the modes, and the usage errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sendmail.h"

#define ARGV(...)	((char *[]){ __VA_ARGS__, NULL })
#define ARGC(...)	((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, ...)	sm_options_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o), err, sizeof(err))

static char err[256];

static void
test_what_programs_pass(void **state)
{
	struct sm_options o;

	(void)state;
	/* Debian cron */
	assert_int_equal(PARSE(&o, "sendmail", "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"), 0);
	assert_true(o.has_fullname);
	assert_string_equal(o.fullname, "CronDaemon");
	assert_true(o.ignore_dots);
	assert_true(o.body_8bit);
	assert_int_equal(o.nrcpt_args, 1);
	assert_string_equal(o.rcpt_args[0], "root");
	assert_int_equal(o.mode, SM_MODE_DELIVER);
	/* PHP's mail(): sendmail -t -i, plus -f */
	assert_int_equal(PARSE(&o, "/usr/sbin/sendmail", "-t", "-i", "-f", "web@example.test"), 0);
	assert_true(o.from_headers);
	assert_true(o.has_sender);
	assert_string_equal(o.sender, "web@example.test");
	assert_int_equal(o.nrcpt_args, 0);
	/* -oi is -i; -r is -f; -odb -oQ/x -N never -R hdrs -U -v are taken */
	assert_int_equal(PARSE(&o, "sendmail", "-oi", "-odb", "-oQ/var/x", "-N", "never", "-R",
	    "hdrs", "-U", "-v", "-rme@example.test", "a@example.test", "b@example.test"), 0);
	assert_true(o.ignore_dots);
	assert_true(o.verbose);
	assert_string_equal(o.sender, "me@example.test");
	assert_int_equal(o.nrcpt_args, 2);
	/* -- ends the options: a recipient may start with '-' */
	assert_int_equal(PARSE(&o, "sendmail", "--", "-odd@example.test"), 0);
	assert_int_equal(o.nrcpt_args, 1);
	assert_string_equal(o.rcpt_args[0], "-odd@example.test");
	/* the empty -f is the null sender, kept as given */
	assert_int_equal(PARSE(&o, "sendmail", "-f", "", "x@example.test"), 0);
	assert_true(o.has_sender);
	assert_string_equal(o.sender, "");
}

static void
test_modes(void **state)
{
	struct sm_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "sendmail", "-bs"), 0);
	assert_int_equal(o.mode, SM_MODE_SMTP);
	assert_int_equal(PARSE(&o, "sendmail", "-bp"), 0);
	assert_int_equal(o.mode, SM_MODE_QUEUE_LIST);
	assert_int_equal(PARSE(&o, "/usr/bin/mailq"), 0);
	assert_int_equal(o.mode, SM_MODE_QUEUE_LIST);
	assert_null(o.config);
	assert_int_equal(PARSE(&o, "mailq", "-C", "/etc/homemx/test.conf"), 0);
	assert_int_equal(o.mode, SM_MODE_QUEUE_LIST);
	assert_string_equal(o.config, "/etc/homemx/test.conf");
	assert_int_equal(PARSE(&o, "newaliases"), 0);
	assert_int_equal(o.mode, SM_MODE_NEWALIASES);
	assert_int_equal(PARSE(&o, "sendmail", "-I"), 0);
	assert_int_equal(o.mode, SM_MODE_NEWALIASES);
	assert_int_equal(PARSE(&o, "sendmail", "-bm", "x@example.test"), 0);
	assert_int_equal(o.mode, SM_MODE_DELIVER);
}

static void
test_usage_errors(void **state)
{
	struct sm_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "sendmail", "-bd"), -1);
	assert_non_null(strstr(err, "-bd is not supported"));
	assert_int_equal(PARSE(&o, "sendmail", "-bv", "x"), -1);
	assert_int_equal(PARSE(&o, "sendmail", "-q"), -1);
	assert_non_null(strstr(err, "mxctl queue flush"));
	assert_int_equal(PARSE(&o, "sendmail", "-q30m"), -1);
	assert_int_equal(PARSE(&o, "sendmail", "-f"), -1);
	assert_non_null(strstr(err, "-f needs an argument"));
	assert_int_equal(PARSE(&o, "sendmail", "-Z"), -1);
	assert_non_null(strstr(err, "unknown option -Z"));
	assert_int_equal(PARSE(&o, "sendmail", "-B", "BINARYMIME"), -1);
	char longname[SM_FULLNAME_MAX + 8];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(PARSE(&o, "sendmail", "-F", longname), -1);
	assert_non_null(strstr(err, "-F is too long"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_what_programs_pass),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_usage_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
