/*
 * lib/config_test.c - the homemx.conf grammar: good files, and every kind
 * of mistake with the file:line message it must produce.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"

#define L "listen smtp 127.0.0.1:2525\n"

struct conf_case {
	const char	*text;
	const char	*want_err;	/* NULL = must parse */
};

static const struct conf_case cases[] = {
	{ L, NULL },
	{ L "hostname mx.example.test\ndomain example.test\n", NULL },
	{ L "max_message_size 10M\ntimeout_command 5m\nqueue_lifetime 2d\n", NULL },
	{ L "subaddress_delimiters \"+\"\n", NULL },
	{ L "# comment\n\n   \t\nlisten smtp [::1]:25 # trailing\n", NULL },
	{ L "subaddress_delimiters \"\"\n", NULL },
	{ "", "t.conf: no 'listen' line" },
	{ L "bogus 1\n", "t.conf:2: unknown directive 'bogus'" },
	{ L "max_recipients lots\n", "t.conf:2: max_recipients: expected a number from 1 to 200, got 'lots'" },
	{ L "max_recipients 201\n", "t.conf:2: max_recipients: expected a number" },
	{ L "max_recipients 0\n", "t.conf:2: max_recipients" },
	{ L "max_message_size 10X\n", "t.conf:2: max_message_size: expected a size" },
	{ L "max_message_size 99999999999999999999999\n", "t.conf:2: max_message_size" },
	{ L "timeout_command -5\n", "t.conf:2: timeout_command: expected a duration" },
	{ L "spool_dir relative/path\n", "t.conf:2: spool_dir: expected an absolute path" },
	{ L "hostname\n", "t.conf:2: hostname: expected exactly one value" },
	{ L "hostname a b\n", "t.conf:2: hostname: expected exactly one value" },
	{ L "hostname bad_host!\n", "t.conf:2: hostname: expected a host name" },
	{ L "domain kim\xe2\x82\xac" "example.test\n", "t.conf:2: domain:" },
	{ L "domain example.test\ndomain EXAMPLE.test\n", "t.conf:3: domain: 'example.test' listed twice" },
	{ "listen smtp nowhere\n", "t.conf:1: listen: expected ADDRESS:PORT" },
	{ "listen smtp 127.0.0.1:0\n", "t.conf:1: listen: expected ADDRESS:PORT" },
	{ "listen smtp 127.0.0.1:70000\n", "t.conf:1: listen" },
	{ "listen pop3 127.0.0.1:110\n", "t.conf:1: listen: expected 'smtp'" },
	{ L "subaddress_delimiters \"+x\"\n", "t.conf:2: subaddress_delimiters" },
	{ L "subaddress_delimiters \"++\"\n", "t.conf:2: subaddress_delimiters" },
	{ L "hostname \"unterminated\n", "t.conf:2: unterminated quoted value" },
	{ L "max_errors 5\nmax_errors 6\n", "t.conf:3: max_errors: set twice" },
	{ L "retry_min 2h\nretry_max 1h\n", "t.conf: retry_min (7200s) is larger than retry_max" },
	{ L "tls_certificate /etc/c.pem\n", "t.conf: tls_certificate and tls_key must be set together" },
	{ L "hostname a\x01" "b\n", "t.conf:2: control character in line" },
};

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config c;
		char err[CONFIG_ERR_MAX] = "";
		int r = config_parse("t.conf", cases[i].text, strlen(cases[i].text), &c, err, sizeof(err));
		if (cases[i].want_err == NULL && r != 0)
			fail_msg("case %zu: got error '%s', want success", i, err);
		if (cases[i].want_err != NULL &&
		    (r == 0 || strncmp(err, cases[i].want_err, strlen(cases[i].want_err)) != 0))
			fail_msg("case %zu: got '%s' (r=%d), want '%s...'", i, err, r, cases[i].want_err);
	}
}

static void
test_values(void **state)
{
	const char *text = L "hostname MX.Example.Test\nmax_message_size 10M\n"
	    "timeout_data 3m\ndomain B\xc3\xbc" "cher.example\nsubaddress_delimiters \"-\"\n";
	struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(config_parse("t", text, strlen(text), &c, err, sizeof(err)), 0);
	assert_string_equal(c.hostname, "mx.example.test");
	assert_int_equal(c.max_message_size, 10 * 1024 * 1024);
	assert_int_equal(c.timeout_data, 180);
	assert_int_equal(c.max_recipients, 100);	/* default */
	assert_true(config_has_domain(&c, "xn--bcher-kva.example"));
	assert_string_equal(c.subaddress_delimiters, "-");
	assert_int_equal(c.nlisten, 1);
	assert_string_equal(c.listen[0].text, "127.0.0.1:2525");
}

static void
test_failure_leaves_output_alone(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	const char *bad = L "max_errors nope\n";

	(void)state;
	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(config_parse("t", bad, strlen(bad), &c, err, sizeof(err)), -1);
	assert_int_equal(((unsigned char *)&c)[0], 0x5a);
}

static void
test_demo_template_parses(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX], text[4096];
	size_t o = 0;

	(void)state;
	for (const char *t = config_demo_template; *t != '\0' && o < sizeof(text) - 16;) {
		if (strncmp(t, "@DIR@", 5) == 0) {
			memcpy(text + o, "/tmp/demo", 9);
			o += 9;
			t += 5;
		} else
			text[o++] = *t++;
	}
	text[o] = '\0';
	if (config_parse("demo", text, o, &c, err, sizeof(err)) != 0)
		fail_msg("demo template: %s", err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_failure_leaves_output_alone),
		cmocka_unit_test(test_demo_template_parses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
