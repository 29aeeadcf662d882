/*
 * submission/sasl_test.c - AUTH decoding, one row per case: strict base64
 * (padding, alphabet, non-canonical bits, whitespace, overflow), the PLAIN
 * message (authzid rules, missing fields, NUL smuggling, field bounds),
 * LOGIN steps, cancel and the "=" empty initial response.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sasl.h"

#define S(s)	s, sizeof(s) - 1

struct b64_case {
	const char		*in;
	size_t			 inlen;
	enum sasl_status	 want;
	const char		*out;	/* expected bytes when SASL_OK */
	size_t			 outlen;
};

static const struct b64_case b64_cases[] = {
	{ S(""),		SASL_OK,	S("") },
	{ S("YQ=="),		SASL_OK,	S("a") },
	{ S("YWI="),		SASL_OK,	S("ab") },
	{ S("YWJj"),		SASL_OK,	S("abc") },
	{ S("AGtpbQBzZWNyZXQ="),	SASL_OK,	S("\0kim\0secret") },
	{ S("+/+/"),		SASL_OK,	S("\xfb\xff\xbf") },
	{ S("YQ"),		SASL_BAD_BASE64, S("") },	/* padding required */
	{ S("YQ="),		SASL_BAD_BASE64, S("") },
	{ S("YQ==YQ=="),	SASL_BAD_BASE64, S("") },	/* pad in the middle */
	{ S("Y==="),		SASL_BAD_BASE64, S("") },
	{ S("===="),		SASL_BAD_BASE64, S("") },
	{ S("YR=="),		SASL_BAD_BASE64, S("") },	/* non-zero spare bits */
	{ S("YWJ="),		SASL_BAD_BASE64, S("") },
	{ S("YW I="),		SASL_BAD_BASE64, S("") },	/* whitespace */
	{ S("YWJj\r\n"),	SASL_BAD_BASE64, S("") },
	{ S("YW-_"),		SASL_BAD_BASE64, S("") },	/* URL alphabet */
	{ S("YW\0j"),		SASL_BAD_BASE64, S("") },
	{ S("YW\xc3\xa4"),	SASL_BAD_BASE64, S("") },
	{ S("Y=Jj"),		SASL_BAD_BASE64, S("") },
};

static void
test_base64(void **state)
{
	uint8_t out[64];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(b64_cases) / sizeof(b64_cases[0]); i++) {
		const struct b64_case *c = &b64_cases[i];
		enum sasl_status st = sasl_base64_decode(c->in, c->inlen, out, sizeof(out), &n);
		if (st != c->want)
			fail_msg("case %zu: got status %d, want %d", i, st, c->want);
		if (st == SASL_OK && (n != c->outlen || memcmp(out, c->out, n) != 0))
			fail_msg("case %zu: got %zu bytes, want %zu", i, n, c->outlen);
		if (st != SASL_OK && n != 0)
			fail_msg("case %zu: got length %zu on failure, want 0", i, n);
	}
}

/* The output buffer is ours: a longer input stops at its end. */
static void
test_base64_overflow(void **state)
{
	uint8_t out[4];
	size_t n = 99;

	(void)state;
	assert_int_equal(sasl_base64_decode(S("YWJjZGVm"), out, 3, &n), SASL_TOO_LONG);
	assert_int_equal(n, 0);
	assert_int_equal(sasl_base64_decode(S("YWJjZA=="), out, 4, &n), SASL_OK);
	assert_int_equal(n, 4);
	assert_int_equal(sasl_base64_decode(S("YWJjZGU="), out, 4, &n), SASL_TOO_LONG);
}

static void
test_response(void **state)
{
	uint8_t out[16];
	size_t n;

	(void)state;
	assert_int_equal(sasl_decode_response(S("*"), false, out, sizeof(out), &n), SASL_CANCELLED);
	assert_int_equal(sasl_decode_response(S("*"), true, out, sizeof(out), &n), SASL_CANCELLED);
	assert_int_equal(sasl_decode_response(S("="), true, out, sizeof(out), &n), SASL_OK);
	assert_int_equal(n, 0);
	/* "=" only means "empty" as an initial response */
	assert_int_equal(sasl_decode_response(S("="), false, out, sizeof(out), &n), SASL_BAD_BASE64);
	assert_int_equal(sasl_decode_response(S("**"), false, out, sizeof(out), &n), SASL_BAD_BASE64);
	assert_int_equal(sasl_decode_response(S("YQ=="), false, out, sizeof(out), &n), SASL_OK);
	assert_int_equal(n, 1);
}

struct plain_case {
	const char		*msg;
	size_t			 len;
	enum sasl_status	 want;
	const char		*user;
	const char		*password;
};

static const struct plain_case plain_cases[] = {
	{ S("\0kim@example.test\0secret"),	SASL_OK,	"kim@example.test", "secret" },
	{ S("kim@example.test\0kim@example.test\0pw"), SASL_OK, "kim@example.test", "pw" },
	{ S("\0kim@example.test\0pass word \xc3\xa4"), SASL_OK, "kim@example.test", "pass word \xc3\xa4" },
	{ S("lee@example.test\0kim@example.test\0pw"), SASL_AUTHZID, NULL, NULL },
	{ S("kim@example.tes\0kim@example.test\0pw"), SASL_AUTHZID, NULL, NULL },
	{ S("\0\0secret"),			SASL_MALFORMED,	NULL, NULL },	/* no authcid */
	{ S("\0kim@example.test\0"),		SASL_MALFORMED,	NULL, NULL },	/* no password */
	{ S("\0kim@example.test"),		SASL_MALFORMED,	NULL, NULL },	/* one NUL */
	{ S("kim@example.test secret"),		SASL_MALFORMED,	NULL, NULL },
	{ S(""),				SASL_MALFORMED,	NULL, NULL },
	{ S("\0kim@example.test\0sec\0ret"),	SASL_MALFORMED,	NULL, NULL },	/* NUL in password */
};

static void
test_plain(void **state)
{
	struct sasl_credentials cr;

	(void)state;
	for (size_t i = 0; i < sizeof(plain_cases) / sizeof(plain_cases[0]); i++) {
		const struct plain_case *c = &plain_cases[i];
		enum sasl_status st = sasl_parse_plain((const uint8_t *)c->msg, c->len, &cr);
		if (st != c->want)
			fail_msg("case %zu: got status %d, want %d", i, st, c->want);
		if (st != SASL_OK) {
			/* nothing of a refused message stays behind */
			if (cr.user[0] != '\0' || cr.password[0] != '\0')
				fail_msg("case %zu: credentials kept after failure", i);
			continue;
		}
		assert_string_equal(cr.user, c->user);
		assert_string_equal(cr.password, c->password);
		assert_int_equal(cr.user_len, strlen(c->user));
		assert_int_equal(cr.password_len, strlen(c->password));
		sasl_credentials_wipe(&cr);
		assert_int_equal(cr.password[0], '\0');
	}
}

/* Field bounds come from the IPC contract: 256 user, 512 password. */
static void
test_plain_bounds(void **state)
{
	uint8_t msg[SASL_DECODED_MAX + 600];
	struct sasl_credentials cr;
	size_t n;

	(void)state;
	for (size_t plen = AUTH_PASSWORD_MAX; plen <= AUTH_PASSWORD_MAX + 1; plen++) {
		n = 0;
		msg[n++] = '\0';
		memcpy(msg + n, "kim@example.test", 16);
		n += 16;
		msg[n++] = '\0';
		memset(msg + n, 'p', plen);
		n += plen;
		assert_int_equal(sasl_parse_plain(msg, n, &cr),
		    plen <= AUTH_PASSWORD_MAX ? SASL_OK : SASL_TOO_LONG);
	}
	for (size_t ulen = AUTH_USER_MAX; ulen <= AUTH_USER_MAX + 1; ulen++) {
		n = 0;
		msg[n++] = '\0';
		memset(msg + n, 'u', ulen);
		n += ulen;
		msg[n++] = '\0';
		msg[n++] = 'p';
		assert_int_equal(sasl_parse_plain(msg, n, &cr),
		    ulen <= AUTH_USER_MAX ? SASL_OK : SASL_TOO_LONG);
	}
}

static void
test_login(void **state)
{
	struct sasl_credentials cr;

	(void)state;
	assert_int_equal(sasl_login_user((const uint8_t *)S("kim@example.test"), &cr), SASL_OK);
	assert_int_equal(sasl_login_password((const uint8_t *)S("secret"), &cr), SASL_OK);
	assert_string_equal(cr.user, "kim@example.test");
	assert_string_equal(cr.password, "secret");
	assert_int_equal(sasl_login_user((const uint8_t *)S(""), &cr), SASL_MALFORMED);
	assert_int_equal(sasl_login_user((const uint8_t *)S("k\0m"), &cr), SASL_MALFORMED);
	assert_int_equal(sasl_login_user((const uint8_t *)S("kim@example.test"), &cr), SASL_OK);
	assert_int_equal(sasl_login_password((const uint8_t *)S("se\0cret"), &cr), SASL_MALFORMED);
	assert_int_equal(cr.password[0], '\0');
}

struct arg_case {
	const char	*arg;
	size_t		 len;
	bool		 ok;
	const char	*mech;
	const char	*ir;	/* NULL: none */
};

static const struct arg_case arg_cases[] = {
	{ S("PLAIN"),			true,	"PLAIN",	NULL },
	{ S("PLAIN AGEAYg=="),		true,	"PLAIN",	"AGEAYg==" },
	{ S("login dXNlcg=="),		true,	"login",	"dXNlcg==" },
	{ S("PLAIN ="),			true,	"PLAIN",	"=" },
	{ S("PLAIN a b"),		false,	NULL,		NULL },
	{ S("PLAIN "),			false,	NULL,		NULL },
	{ S(" PLAIN"),			false,	NULL,		NULL },
	{ S(""),			false,	NULL,		NULL },
};

static void
test_split_and_mech(void **state)
{
	const char *mech, *ir;
	size_t mechlen, irlen;

	(void)state;
	for (size_t i = 0; i < sizeof(arg_cases) / sizeof(arg_cases[0]); i++) {
		const struct arg_case *c = &arg_cases[i];
		bool ok = sasl_split_auth_arg(c->arg, c->len, &mech, &mechlen, &ir, &irlen);
		if (ok != c->ok)
			fail_msg("case %zu: got %d, want %d", i, ok, c->ok);
		if (!ok)
			continue;
		assert_int_equal(mechlen, strlen(c->mech));
		assert_memory_equal(mech, c->mech, mechlen);
		if (c->ir == NULL)
			assert_null(ir);
		else {
			assert_int_equal(irlen, strlen(c->ir));
			assert_memory_equal(ir, c->ir, irlen);
		}
	}
	assert_int_equal(sasl_mech_parse(S("PLAIN")), SASL_MECH_PLAIN);
	assert_int_equal(sasl_mech_parse(S("plain")), SASL_MECH_PLAIN);
	assert_int_equal(sasl_mech_parse(S("Login")), SASL_MECH_LOGIN);
	assert_int_equal(sasl_mech_parse(S("CRAM-MD5")), SASL_MECH_UNKNOWN);
	assert_int_equal(sasl_mech_parse(S("PLAINX")), SASL_MECH_UNKNOWN);
	assert_int_equal(sasl_mech_parse(S("PLAI")), SASL_MECH_UNKNOWN);
	assert_string_equal(sasl_mech_name(SASL_MECH_LOGIN), "LOGIN");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_base64_overflow),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_plain_bounds),
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_split_and_mech),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
