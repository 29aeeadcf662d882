/*
 * screen/resolvconf_test.c - dns_server wins; resolv.conf's nameserver
 * lines otherwise, the odd ones skipped, at most three.
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

#include "resolvconf.h"

static char path[64];

static void
write_file(const char *text)
{
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/hmx-resolv-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
}

static void
test_servers(void **state)
{
	static const struct { const char *configured, *file, *want; int rc; } rows[] = {
		{ "127.0.0.1:5353", "nameserver 192.0.2.1\n", "127.0.0.1:5353", 0 },
		{ "", "# comment\nsearch example.net\nnameserver 192.0.2.1\n"
		    "nameserver  2001:db8::53\n", "192.0.2.1:53,[2001:db8::53]:53", 1 },
		{ "", "nameserver fe80::1%eth0\nnameserver bogus\nnameserver 192.0.2.9\n"
		    "options ndots:2\n", "192.0.2.9:53", 1 },
		{ "", "nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\n"
		    "nameserver 192.0.2.4\n", "192.0.2.1:53,192.0.2.2:53,192.0.2.3:53", 1 },
		{ "", "domain example.net\n", "", -1 },
		{ "", "", "", -1 },
	};
	char csv[256];
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		write_file(rows[i].file);
		int rc = screen_dns_servers(rows[i].configured, path, csv, sizeof(csv), &why);
		unlink(path);
		if (rc != rows[i].rc || strcmp(csv, rows[i].want) != 0)
			fail_msg("row %zu: got %d '%s', want %d '%s'", i, rc, csv, rows[i].rc,
			    rows[i].want);
	}
	assert_int_equal(screen_dns_servers("", "/nonexistent/resolv.conf", csv,
	    sizeof(csv), &why), -1);
	assert_non_null(strstr(why, "cannot be read"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_servers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
