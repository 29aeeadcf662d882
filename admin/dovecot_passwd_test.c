/*
 * admin/dovecot_passwd_test.c - the passwd-file lines: a password behind
 * Dovecot's {ARGON2ID} prefix, no login as an empty field, and addresses
 * the format cannot hold left out.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dovecot_passwd.h"

#define HASH	"$argon2id$v=19$m=65536,t=2,p=1$nW7QqKO3Nit7XrvizFEgkA$" \
		"YVEwD5RLFkz1FsbOruPMQ6b6gyUTL29FsLBy2vh1HBg"

static int
line_for(const char *address, const char *hash, char *out, size_t size, bool *login)
{
	struct store_user u;

	memset(&u, 0, sizeof(u));
	snprintf(u.address, sizeof(u.address), "%s", address);
	snprintf(u.hash, sizeof(u.hash), "%s", hash);
	return dovecot_passwd_line(&u, out, size, login);
}

static void
test_password_and_no_login(void **state)
{
	char out[512];
	bool login;

	(void)state;
	assert_int_equal(line_for("kim@example.test", HASH, out, sizeof(out), &login),
	    (int)strlen("kim@example.test:{ARGON2ID}" HASH "\n"));
	assert_string_equal(out, "kim@example.test:{ARGON2ID}" HASH "\n");
	assert_true(login);
	assert_true(line_for("shop@example.test", "", out, sizeof(out), &login) > 0);
	assert_string_equal(out, "shop@example.test:\n");
	assert_false(login);
}

static void
test_what_dovecot_would_misread(void **state)
{
	char out[512];
	bool login;

	(void)state;
	/* a field separator or a line break in the address: left out */
	assert_int_equal(line_for("a:b@example.test", HASH, out, sizeof(out), &login), -1);
	assert_int_equal(line_for("a\nb@example.test", HASH, out, sizeof(out), &login), -1);
	assert_int_equal(line_for("", HASH, out, sizeof(out), &login), -1);
	/* a hash that is not crypto_pwhash_str's: written as no login */
	assert_true(line_for("kim@example.test", "$2y$10$abc", out, sizeof(out), &login) > 0);
	assert_string_equal(out, "kim@example.test:\n");
	assert_false(login);
	assert_true(line_for("kim@example.test", "$argon2id$x:y", out, sizeof(out), &login) > 0);
	assert_false(login);
	/* too small a buffer: 0, never a cut line */
	assert_int_equal(line_for("kim@example.test", HASH, out, 20, &login), 0);
}

/* An IDN domain: the stored A-label line, then the U-label login that
 * Dovecot maps back to the stored name (extra field user=). */
static void
test_unicode_login(void **state)
{
	char out[1024];
	bool login;

	(void)state;
	assert_true(line_for("kim@xn--bcher-kva.example", HASH, out, sizeof(out), &login) > 0);
	assert_true(login);
	assert_string_equal(out, "kim@xn--bcher-kva.example:{ARGON2ID}" HASH "\n"
	    "kim@b\xc3\xbc" "cher.example:{ARGON2ID}" HASH
	    "::::::user=kim@xn--bcher-kva.example\n");
	/* no password: known for delivery only, no second name */
	assert_true(line_for("kim@xn--bcher-kva.example", "", out, sizeof(out), &login) > 0);
	assert_string_equal(out, "kim@xn--bcher-kva.example:\n");
	/* room for the first line only: 0, never half of the pair */
	assert_int_equal(line_for("kim@xn--bcher-kva.example", HASH, out,
	    strlen("kim@xn--bcher-kva.example:{ARGON2ID}" HASH "\n") + 8, &login), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_and_no_login),
		cmocka_unit_test(test_what_dovecot_would_misread),
		cmocka_unit_test(test_unicode_login),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
