/*
 * lib/config_scan_test.c - the scanner lines: off by default, every form
 * of address, the jail rule with the message that says what to do, the
 * weights, and conf/homemx.conf.example held to the defaults.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "config.h"

#define L "listen smtp 127.0.0.1:2525\nscreen_dir /var/lib/homemx/screen\n"

static const struct {
	const char	*text;
	const char	*want_err;	/* NULL = must parse; else a prefix of the error */
} cases[] = {
	{ L "rspamd 127.0.0.1:11333\nspamd [::1]:783\nclamd none\n", NULL },
	{ L "rspamd 127.1.2.3:1\n", NULL },
	{ L "clamd /var/lib/homemx/screen/scanners/clamd.sock\n", NULL },
	{ "listen smtp 127.0.0.1:2525\nclamd /var/lib/homemx/screen/c.sock\n"
	    "screen_dir /var/lib/homemx/screen/\n", NULL },
	{ "listen smtp 127.0.0.1:2525\nclamd /c.sock\nscreen_dir /\n", NULL },
	{ L "rspamd_weight 0.5\nspamd_weight 100\nscanner_timeout 5s\nspamd_max_size 2M\n", NULL },
	{ L "rspamd_weight 0\nspamd_weight 1.25\n", NULL },
	{ L "rspamd 192.0.2.7:11333\n", "t.conf:3: rspamd: a scanner must listen on loopback" },
	{ L "spamd [2001:db8::1]:783\n", "t.conf:3: spamd: a scanner must listen on loopback" },
	{ L "rspamd localhost:11333\n", "t.conf:3: rspamd: expected an IP address, not a host name" },
	{ L "rspamd 127.0.0.1\n", "t.conf:3: rspamd: expected a UNIX socket path, IP:PORT" },
	{ L "rspamd 127.0.0.1:0\n", "t.conf:3: rspamd: expected a UNIX socket path" },
	{ L "rspamd 127.0.0.1:70000\n", "t.conf:3: rspamd: expected a UNIX socket path" },
	{ L "rspamd\n", "t.conf:3: rspamd: expected one address" },
	{ L "rspamd a b\n", "t.conf:3: rspamd: expected one address" },
	{ L "rspamd none\nrspamd none\n", "t.conf:4: rspamd: set twice" },
	{ L "clamd /var/lib/homemx/screen/scanners/a-very-long-name-that-makes-the-path-"
	    "longer-than-a-sockaddr_un-can-hold-which-is-107-bytes.sock\n",
	    "t.conf:3: clamd: socket path longer than 107 bytes" },
	{ L "clamd /run/clamav/clamd.ctl\n", "t.conf: clamd /run/clamav/clamd.ctl: the screen "
	    "runs chrooted into screen_dir (/var/lib/homemx/screen) and cannot reach a socket "
	    "elsewhere: let the scanner listen on a loopback IP:PORT (e.g. 127.0.0.1:3310), or "
	    "on a socket below screen_dir (e.g. /var/lib/homemx/screen/scanners/clamd.sock) if "
	    "it creates its socket before it drops root, as rspamd and spamd do" },
	{ L "spamd /var/lib/homemx/screenx/s.sock\n", "t.conf: spamd /var/lib/homemx/screenx/s.sock: the screen runs chrooted" },
	{ L "spamd /var/lib/homemx/screen/../s.sock\n", "t.conf: spamd /var/lib/homemx/screen/../s.sock: the screen runs chrooted" },
	{ L "spamd /var/lib/homemx/screen//s.sock\n", "t.conf: spamd /var/lib/homemx/screen//s.sock: the screen runs chrooted" },
	{ L "spamd /var/lib/homemx/screen/\n", "t.conf: spamd /var/lib/homemx/screen/: the screen runs chrooted" },
	{ L "rspamd_weight 1.234\n", "t.conf:3: rspamd_weight: expected a number from 0 to 100" },
	{ L "rspamd_weight 101\n", "t.conf:3: rspamd_weight: expected a number from 0 to 100" },
	{ L "rspamd_weight -1\n", "t.conf:3: rspamd_weight: expected a number from 0 to 100" },
	{ L "rspamd_weight 1.\n", "t.conf:3: rspamd_weight: expected a number from 0 to 100" },
	{ L "spamd_weight\n", "t.conf:3: spamd_weight: expected a number from 0 to 100" },
	{ L "spamd_weight 1\nspamd_weight 2\n", "t.conf:4: spamd_weight: set twice" },
	{ L "scanner_timeout 0s\n", "t.conf:3: scanner_timeout: expected a duration from 1s to 300s" },
	{ L "clamd_max_size 10\n", "t.conf:3: clamd_max_size: expected a size from 1024" },
};

static void
test_cases(void **state)
{
	static struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = config_parse("t.conf", cases[i].text, strlen(cases[i].text), &c, err,
		    sizeof(err));
		if (cases[i].want_err == NULL && rc != 0)
			fail_msg("case %zu: got error '%s', want none", i, err);
		if (cases[i].want_err != NULL && (rc == 0 ||
		    strncmp(err, cases[i].want_err, strlen(cases[i].want_err)) != 0))
			fail_msg("case %zu: got '%s', want '%s...'", i, rc == 0 ? "(parsed)" : err,
			    cases[i].want_err);
	}
}

static void
test_defaults_and_values(void **state)
{
	static struct config c;
	static const char text[] = L "rspamd 127.0.0.1:11333\nspamd [::1]:783\n"
	    "clamd /var/lib/homemx/screen/scanners/clamd.sock\nspamd_weight 2.5\n"
	    "rspamd_max_size 1M\n";
	char err[CONFIG_ERR_MAX];

	(void)state;
	config_defaults(&c);
	assert_false(scan_config_any(&c.screen.scan));
	assert_int_equal(c.screen.scan.timeout, 30);
	assert_int_equal(c.screen.scan.target[SCAN_RSPAMD].max_size, 10 * 1024 * 1024);
	assert_int_equal(c.screen.scan.target[SCAN_SPAMD].max_size, 500 * 1024);
	assert_int_equal(c.screen.scan.target[SCAN_CLAMD].max_size, 25 * 1024 * 1024);
	for (int k = 0; k < SCAN_KINDS; k++)
		assert_int_equal(c.screen.scan.target[k].weight, 100);

	assert_int_equal(config_parse("t.conf", text, strlen(text), &c, err, sizeof(err)), 0);
	assert_true(scan_config_any(&c.screen.scan));
	const struct scan_target *r = &c.screen.scan.target[SCAN_RSPAMD];
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&r->addr;
	assert_true(r->enabled && !r->is_unix);
	assert_int_equal(s4->sin_family, AF_INET);
	assert_int_equal(ntohs(s4->sin_port), 11333);
	assert_int_equal(r->max_size, 1024 * 1024);
	const struct scan_target *s = &c.screen.scan.target[SCAN_SPAMD];
	assert_int_equal(s->addr.ss_family, AF_INET6);
	assert_int_equal(s->weight, 250);
	const struct scan_target *k = &c.screen.scan.target[SCAN_CLAMD];
	assert_true(k->enabled && k->is_unix);
	assert_string_equal(k->path, "/var/lib/homemx/screen/scanners/clamd.sock");
	assert_string_equal(k->path_in_jail, "/scanners/clamd.sock");
	assert_int_equal(k->max_size, 25 * 1024 * 1024);
	assert_string_equal(scan_kind_name(SCAN_CLAMD), "clamd");
}

static void
test_weight_parser(void **state)
{
	static const struct { const char *text; int want; } rows[] = {
		{ "1", 100 }, { "0", 0 }, { "0.5", 50 }, { "0.05", 5 }, { "2.25", 225 },
		{ "100", 10000 }, { "100.00", 10000 }, { "100.01", -1 }, { "", -1 },
		{ ".5", -1 }, { "1.", -1 }, { "1.000", -1 }, { "1e2", -1 }, { "+1", -1 },
		{ "99999999999", -1 },
	};
	uint32_t w;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int rc = scan_parse_weight(rows[i].text, &w);
		if (rows[i].want < 0 ? rc != -1 : rc != 0 || (int)w != rows[i].want)
			fail_msg("'%s': got rc %d w %u, want %d", rows[i].text, rc, w, rows[i].want);
	}
}

/*
 * conf/homemx.conf.example documents each scanner setting's default as a
 * commented line: uncommented, they must give the built-in settings.
 */
static void
test_example_documents_defaults(void **state)
{
	static const char *const keys[] = { "rspamd ", "spamd ", "clamd ", "rspamd_weight ",
	    "spamd_weight ", "rspamd_max_size ", "spamd_max_size ", "clamd_max_size ",
	    "scanner_timeout " };
	static char text[CONFIG_TEXT_MAX], out[CONFIG_TEXT_MAX];
	static struct config doc, def;
	size_t n, o = 0, uncommented = 0;
	FILE *f = fopen("conf/homemx.conf.example", "r");
	char err[CONFIG_ERR_MAX];

	(void)state;
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	if (config_parse("example", text, n, &def, err, sizeof(err)) != 0)
		fail_msg("example: %s", err);
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		bool take = false;
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (line[0] == '#' && strncmp(line + 1, keys[k], strlen(keys[k])) == 0)
				take = true;
		uncommented += take;
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s\n", take ? line + 1 : line);
	}
	assert_int_equal(uncommented, sizeof(keys) / sizeof(keys[0]));
	if (config_parse("example", out, o, &doc, err, sizeof(err)) != 0)
		fail_msg("uncommented example: %s", err);
	assert_memory_equal(&doc.screen.scan, &def.screen.scan, sizeof(doc.screen.scan));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_defaults_and_values),
		cmocka_unit_test(test_weight_parser),
		cmocka_unit_test(test_example_documents_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
