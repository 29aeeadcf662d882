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
	{ L "listen submission 127.0.0.1:587\nlisten submissions [::1]:465\n"
	    "tls_certificate /c.pem\ntls_key /k.pem\n", NULL },
	{ L "listen submission 127.0.0.1:587\n", "t.conf: 'listen submission 127.0.0.1:587' needs tls_certificate" },
	{ L "destination domain gmail.com family=ipv4-only\n", NULL },
	{ L "destination mx *.google.com family=ipv4-only max_connections=1 tls=require\n", NULL },
	{ L "destination domain * relay=[smtp.example.net]:587 auth=/etc/r.secret helo=mx.example.org source=192.0.2.1\n", NULL },
	{ L "destination domain gmail.com\n", "t.conf:2: destination: expected 'destination domain|mx PATTERN" },
	{ L "destination host gmail.com family=ipv4-only\n", "t.conf:2: destination: expected 'domain' or 'mx'" },
	{ L "destination domain gm@il.com family=ipv4-only\n", "t.conf:2: destination: expected a name" },
	{ L "destination domain gmail.com family=ipv5\n", "t.conf:2: destination: family: expected" },
	{ L "destination domain gmail.com family=prefer-ipv6\n", NULL },
	{ L "destination domain gmail.com max_connections=0\n", "t.conf:2: destination: max_connections" },
	{ L "destination domain gmail.com colour=blue\n", "t.conf:2: destination: unknown option 'colour=blue'" },
	{ L "destination domain * relay=host:99999\n", "t.conf:2: destination: relay: bad port" },
	{ L "destination domain * auth=relative\n", "t.conf:2: destination: auth:" },
	{ L "destination domain * source=not-an-ip\n", "t.conf:2: destination: source:" },
	{ L "dns_server nowhere\n", "t.conf:2: dns_server: expected IP:PORT" },
	{ L "dkim_selector bad_sel\n", "t.conf:2: dkim_selector: expected a DNS label" },
	{ L "submission_hide_client_ip maybe\n", "t.conf:2: submission_hide_client_ip: expected yes or no" },
	{ L "public_address 192.0.2.1 2001:db8::1\npublic_address 198.51.100.7\n", NULL },
	{ L "public_address\n", "t.conf:2: public_address: expected 'public_address IP" },
	{ L "public_address mx.example.org\n", "t.conf:2: public_address: expected an IPv4 or IPv6 address" },
	{ L "public_address 192.0.2.300\n", "t.conf:2: public_address: expected an IPv4" },
	{ L "public_address 1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5\n"
	    "public_address 1.1.1.6 1.1.1.7 1.1.1.8 1.1.1.9\n", "t.conf:3: public_address: more than 8" },
	{ L "report_address dmarc@example.org\n", NULL },
	{ L "report_address nobody\n", "t.conf:2: report_address: 'nobody'" },
	{ L "report_address a@example.org\nreport_address b@example.org\n", "t.conf:3: report_address: set twice" },
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
	assert_int_equal(c.npublic_address, 0);
	assert_string_equal(c.report_address, "");
}

/* public_address keeps inet_ntop's form; report_address is normalized */
static void
test_public_address(void **state)
{
	const char *text = L "public_address 192.0.2.1 2001:DB8:0::25\n"
	    "report_address Reports@Example.ORG\n";
	struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(config_parse("t", text, strlen(text), &c, err, sizeof(err)), 0);
	assert_int_equal(c.npublic_address, 2);
	assert_string_equal(c.public_address[0], "192.0.2.1");
	assert_string_equal(c.public_address[1], "2001:db8::25");
	assert_string_equal(c.report_address, "reports@example.org");
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

static void
test_destination_rules(void **state)
{
	const char *text = L
	    "destination domain gmail.com family=ipv4-only\n"
	    "destination mx *.google.com family=ipv4-only max_connections=1\n"
	    "destination domain * helo=out.example.org max_connections=3\n";
	struct config c;
	struct dest_rule r;
	char err[CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(config_parse("t", text, strlen(text), &c, err, sizeof(err)), 0);
	config_destination_for(&c, "gmail.com", "gmail-smtp-in.l.google.com", &r);
	assert_int_equal(r.family, DEST_FAMILY_IPV4_ONLY);
	assert_int_equal(r.max_connections, 1);	/* first rule that sets it */
	assert_string_equal(r.helo, "out.example.org");
	config_destination_for(&c, "example.net", "mx.example.net", &r);
	assert_int_equal(r.family, DEST_FAMILY_ANY);
	assert_int_equal(r.max_connections, 3);
	config_destination_for(&c, "corp.example", "aspmx.l.GOOGLE.com", &r);
	assert_int_equal(r.family, DEST_FAMILY_IPV4_ONLY);	/* Google-hosted domain */
	assert_false(dest_pattern_matches("*.google.com", "google.com"));
	assert_true(dest_pattern_matches("*", "anything.example"));
	/* no rules: the global default applies */
	assert_int_equal(config_parse("t", L, strlen(L), &c, err, sizeof(err)), 0);
	config_destination_for(&c, "x.example", "mx.x.example", &r);
	assert_int_equal(r.max_connections, 2);
	assert_string_equal(r.helo, "localhost");
}

/* IPv4 toward Gmail is built in: no destination line needed. */
static const struct builtin_case {
	const char		*conf;		/* after L */
	const char		*domain;
	const char		*mx;		/* NULL: not known yet */
	enum dest_family	 want;
} builtin_cases[] = {
	{ "", "gmail.com", NULL, DEST_FAMILY_IPV4_ONLY },
	{ "", "GMail.com", "gmail-smtp-in.l.google.com", DEST_FAMILY_IPV4_ONLY },
	{ "", "googlemail.com", NULL, DEST_FAMILY_IPV4_ONLY },
	{ "", "corp.example", "aspmx.l.google.com", DEST_FAMILY_IPV4_ONLY },
	{ "", "corp.example", "alt1.aspmx.l.GOOGLE.com", DEST_FAMILY_IPV4_ONLY },
	{ "", "corp.example", "mx.googlemail.com", DEST_FAMILY_IPV4_ONLY },
	{ "", "corp.example", "mx.corp.example", DEST_FAMILY_ANY },
	{ "", "corp.example", "google.com", DEST_FAMILY_ANY },	/* *.suffix only */
	{ "", "notgmail.com", "mx.notgmail.com", DEST_FAMILY_ANY },
	{ "", "corp.example", "evilgoogle.com", DEST_FAMILY_ANY },
	/* a rule of the config that sets a family wins */
	{ "destination domain gmail.com family=prefer-ipv6\n", "gmail.com",
	    "gmail-smtp-in.l.google.com", DEST_FAMILY_PREFER_IPV6 },
	{ "destination mx *.google.com family=ipv6-only\n", "corp.example",
	    "aspmx.l.google.com", DEST_FAMILY_IPV6_ONLY },
	{ "destination domain * family=prefer-ipv4\n", "gmail.com", NULL,
	    DEST_FAMILY_PREFER_IPV4 },
	/* a rule that sets something else leaves the built-in family */
	{ "destination mx *.google.com max_connections=1\n", "gmail.com",
	    "gmail-smtp-in.l.google.com", DEST_FAMILY_IPV4_ONLY },
	/* through a smarthost the built-in rules do not apply */
	{ "destination domain * relay=smtp.example.net:587\n", "gmail.com", NULL,
	    DEST_FAMILY_ANY },
	{ "destination domain * relay=smtp.example.net:587\n", "gmail.com",
	    "smtp.example.net", DEST_FAMILY_ANY },
};

static void
test_builtin_gmail_rules(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(builtin_cases) / sizeof(builtin_cases[0]); i++) {
		const struct builtin_case *bc = &builtin_cases[i];
		char text[512], err[CONFIG_ERR_MAX];
		struct config c;
		struct dest_rule r;
		snprintf(text, sizeof(text), "%s%s", L, bc->conf);
		if (config_parse("t", text, strlen(text), &c, err, sizeof(err)) != 0)
			fail_msg("case %zu: %s", i, err);
		config_destination_for(&c, bc->domain, bc->mx, &r);
		if (r.family != bc->want)
			fail_msg("case %zu (%s, %s): got family %d, want %d", i, bc->domain,
			    bc->mx != NULL ? bc->mx : "-", (int)r.family, (int)bc->want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_public_address),
		cmocka_unit_test(test_failure_leaves_output_alone),
		cmocka_unit_test(test_demo_template_parses),
		cmocka_unit_test(test_destination_rules),
		cmocka_unit_test(test_builtin_gmail_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
