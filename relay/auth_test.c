/*
 * relay/auth_test.c - the auth= file format and the AUTH PLAIN response
 * (RFC 4616): good lines, blanks in passwords, missing fields, several
 * lines, NUL bytes, over-long fields.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "auth.h"

#define TEXT(s)	s, sizeof(s) - 1

struct auth_case {
	const char	*text;
	size_t		 len;
	int		 rc;
	const char	*user;
	const char	*password;
};

static const struct auth_case cases[] = {
	{ TEXT("kim secret\n"),			0,  "kim", "secret" },
	{ TEXT("kim secret"),			0,  "kim", "secret" },
	{ TEXT("kim@example.test pass word with blanks\r\n"), 0, "kim@example.test", "pass word with blanks" },
	{ TEXT("  kim\tsecret\n\n"),		0,  "kim", "secret" },
	{ TEXT("kim\n"),			-1, NULL, NULL },
	{ TEXT(""),				-1, NULL, NULL },
	{ TEXT("kim secret\nbob other\n"),	-1, NULL, NULL },
	{ TEXT("kim sec\0ret\n"),		-1, NULL, NULL },
};

static void
test_auth_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct relay_cred c;
		const char *why = NULL;
		int rc;

		memset(&c, 0, sizeof(c));
		rc = relay_auth_parse(cases[i].text, cases[i].len, &c, &why);
		if (rc != cases[i].rc)
			fail_msg("case %zu: got rc %d (%s), want %d", i, rc, why ? why : "", cases[i].rc);
		if (rc == 0 && (strcmp(c.user, cases[i].user) != 0 ||
		    strcmp(c.password, cases[i].password) != 0))
			fail_msg("case %zu: got '%s'/'%s'", i, c.user, c.password);
		if (rc == -1 && why == NULL)
			fail_msg("case %zu: no reason", i);
	}
}

static void
test_auth_too_long(void **state)
{
	char text[2 * AUTH_FIELD_MAX + 8];
	struct relay_cred c;
	const char *why = NULL;

	(void)state;
	memset(text, 'u', AUTH_FIELD_MAX + 1);
	memcpy(text + AUTH_FIELD_MAX + 1, " pw", 3);
	assert_int_equal(relay_auth_parse(text, AUTH_FIELD_MAX + 4, &c, &why), -1);
	memset(text, 'u', AUTH_FIELD_MAX);
	memcpy(text + AUTH_FIELD_MAX, " pw", 3);
	assert_int_equal(relay_auth_parse(text, AUTH_FIELD_MAX + 3, &c, &why), 0);
	assert_int_equal(strlen(c.user), AUTH_FIELD_MAX);
}

static void
test_auth_plain(void **state)
{
	struct relay_cred c;
	char out[64], small[8];

	(void)state;
	memset(&c, 0, sizeof(c));
	snprintf(c.user, sizeof(c.user), "tim");
	snprintf(c.password, sizeof(c.password), "tanstaaftanstaaf");
	/* RFC 4616 4: "\0tim\0tanstaaftanstaaf" */
	assert_int_equal(relay_auth_plain(&c, out, sizeof(out)), 0);
	assert_string_equal(out, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	assert_int_equal(relay_auth_plain(&c, small, sizeof(small)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_parse),
		cmocka_unit_test(test_auth_too_long),
		cmocka_unit_test(test_auth_plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
