/*
 * lib/addr_test.c - the address grammar, one row per case, hostile ones
 * included (relay tricks, over-long parts, 8-bit, admin typos).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"

struct path_case {
	const char		*in;
	bool			 allow_null;
	enum addr_status	 want;
	const char		*want_addr;	/* canonical, or "" for <> */
};

static const struct path_case path_cases[] = {
	{ "<kim@example.test>",			false, ADDR_OK, "kim@example.test" },
	{ "<Kim@EXAMPLE.Test>",			false, ADDR_OK, "Kim@example.test" },
	{ "<>",					true,  ADDR_OK, "" },
	{ "<>",					false, ADDR_SYNTAX, NULL },
	{ "<kim+tag@example.test>",		false, ADDR_OK, "kim+tag@example.test" },
	{ "<\"kim\"@example.test>",		false, ADDR_OK, "kim@example.test" },
	{ "<\"a b\"@example.test>",		false, ADDR_OK, "\"a b\"@example.test" },
	{ "<\"user@other.test\"@example.test>",	false, ADDR_OK, "\"user@other.test\"@example.test" },
	{ "<user%other.test@example.test>",	false, ADDR_OK, "user%other.test@example.test" },
	{ "<@example.test:user@other.test>",	false, ADDR_OK, "user@other.test" },
	{ "<@a.test,@b.test:user@other.test>",	false, ADDR_OK, "user@other.test" },
	{ "<@:user@other.test>",		false, ADDR_SYNTAX, NULL },
	{ "<example.test!other.test!user>",	false, ADDR_NO_DOMAIN, NULL },
	{ "<user@[127.0.0.1]>",			false, ADDR_OK, "user@[127.0.0.1]" },
	{ "<user@[IPv6:::1]>",			false, ADDR_OK, "user@[ipv6:::1]" },
	{ "<user@[999.0.0.1]>",			false, ADDR_BAD_DOMAIN, NULL },
	{ "<user@-bad.test>",			false, ADDR_BAD_DOMAIN, NULL },
	{ "<user@bad-.test>",			false, ADDR_BAD_DOMAIN, NULL },
	{ "<user@bad..test>",			false, ADDR_BAD_DOMAIN, NULL },
	{ "<.user@example.test>",		false, ADDR_BAD_LOCAL, NULL },
	{ "<us..er@example.test>",		false, ADDR_BAD_LOCAL, NULL },
	{ "<user@>",				false, ADDR_NO_DOMAIN, NULL },
	{ "<@example.test>",			false, ADDR_SYNTAX, NULL },
	{ "kim@example.test",			false, ADDR_SYNTAX, NULL },
	{ "<kim@example.test",			false, ADDR_SYNTAX, NULL },
	/* RFC 6531 3.3: UTF-8 local parts (NFC) and U-labels (to A-labels);
	 * whether SMTP may carry them is smtpd/command.c's question. */
	{ "<k\xc3\xa4m@example.test>",		false, ADDR_OK, "k\xc3\xa4m@example.test" },
	{ "<ka\xcc\x88m@example.test>",		false, ADDR_OK, "k\xc3\xa4m@example.test" },
	{ "<\"k\xc3\xa4m\"@example.test>",	false, ADDR_OK, "k\xc3\xa4m@example.test" },
	{ "<\"k \xc3\xa4m\"@example.test>",	false, ADDR_OK, "\"k \xc3\xa4m\"@example.test" },
	{ "<kim@B\xc3\xbc" "cher.example>",	false, ADDR_OK, "kim@xn--bcher-kva.example" },
	{ "<j\xc3\xbcrgen@b\xc3\xbc" "cher.example>", false, ADDR_OK, "j\xc3\xbcrgen@xn--bcher-kva.example" },
	/* NFC must keep the grammar and the UTF-8 (lib/addr.c local_nfc_checked):
	 * U+037E is ';', U+212A is 'K', a mark joins an escaped 'a' or a '<' */
	{ "<//\xcd\xbe" "er@example.test>",	false, ADDR_BAD_LOCAL, NULL },
	{ "<\"a\xcd\xbe\xc3\xa4\"@example.test>", false, ADDR_OK, "\"a;\xc3\xa4\"@example.test" },
	{ "<\xe2\x84\xaa@example.test>",	false, ADDR_BAD_LOCAL, NULL },
	{ "<\xe2\x84\xaa\xc3\xa4@example.test>", false, ADDR_OK, "K\xc3\xa4@example.test" },
	{ "<\"\\a\xcc\x81\"@example.test>",	false, ADDR_BAD_LOCAL, NULL },
	{ "<\"a<\xcc\xb8\"@example.test>",	false, ADDR_OK, "a\xe2\x89\xae@example.test" },
	{ "<k\xe4m@example.test>",		false, ADDR_NON_ASCII, NULL },	/* Latin-1 */
	{ "<k\xc3m@example.test>",		false, ADDR_NON_ASCII, NULL },	/* cut sequence */
	{ "<k\xc0\xa0m@example.test>",		false, ADDR_NON_ASCII, NULL },	/* overlong */
	{ "<k\xc2\x85m@example.test>",		false, ADDR_BAD_LOCAL, NULL },	/* C1 NEL */
	{ "<kim@ex\xe2\x82\xacmple..test>",	false, ADDR_BAD_DOMAIN, NULL },
	{ "<kim@[127.0.0.\xc3\xa4]>",		false, ADDR_BAD_DOMAIN, NULL },
	{ "<\"unterminated@example.test>",	false, ADDR_SYNTAX, NULL },
	{ "<\"a\\\"b\"@example.test>",		false, ADDR_OK, "\"a\\\"b\"@example.test" },
	{ "<\"ctl\x01\"@example.test>",		false, ADDR_SYNTAX, NULL },
	{ "<a b@example.test>",			false, ADDR_BAD_LOCAL, NULL },
	{ "<kim@exa_mple.test>",		false, ADDR_BAD_DOMAIN, NULL },
};

static void
test_parse_path(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
		const struct path_case *c = &path_cases[i];
		struct mailaddr a;
		bool is_null;
		size_t used;
		char buf[ADDR_MAX + 1];

		enum addr_status got = addr_parse_path(c->in, strlen(c->in), c->allow_null,
		    &a, &is_null, &used);
		if (got != c->want)
			fail_msg("%s: got %s, want %s", c->in, addr_status_text(got),
			    addr_status_text(c->want));
		if (got != ADDR_OK)
			continue;
		assert_int_equal(used, strlen(c->in));
		if (is_null)
			buf[0] = '\0';
		else
			assert_int_equal(addr_format(&a, buf, sizeof(buf)), 0);
		if (strcmp(buf, c->want_addr) != 0)
			fail_msg("%s: got %s, want %s", c->in, buf, c->want_addr);
	}
}

static void
test_long_parts(void **state)
{
	char in[800], buf[700];
	struct mailaddr a;
	bool is_null;
	size_t used;

	(void)state;
	memset(buf, 'a', 64);
	snprintf(in, sizeof(in), "<%.64s@example.test>", buf);
	assert_int_equal(addr_parse_path(in, strlen(in), false, &a, &is_null, &used), ADDR_OK);
	snprintf(in, sizeof(in), "<%.64sa@example.test>", buf);
	assert_int_equal(addr_parse_path(in, strlen(in), false, &a, &is_null, &used), ADDR_TOO_LONG);
	memset(buf, 'b', 300);
	buf[300] = '\0';
	snprintf(in, sizeof(in), "<kim@%s.test>", buf);
	assert_int_not_equal(addr_parse_path(in, strlen(in), false, &a, &is_null, &used), ADDR_OK);
}

struct norm_case {
	const char	*in;
	bool		 ok;
	const char	*want;
};

static const struct norm_case norm_cases[] = {
	{ "Kim@Example.TEST",		true,  "kim@example.test" },
	{ "kim\xe2\x82\xac" "example.test", false, NULL },	/* '€' typed for '@' */
	{ "kim@b\xc3\xbc" "cher.example", true, "kim@xn--bcher-kva.example" },
	{ "kim@",			false, NULL },
	{ "@example.test",		false, NULL },
	{ "k im@example.test",		false, NULL },
	{ "K\xc3\xa4m@example.test",	true,  "k\xc3\xa4m@example.test" },
	{ "ju\xcc\x88rgen@B\xc3\xbc" "cher.example", true, "j\xc3\xbcrgen@xn--bcher-kva.example" },
	{ "k\xe4m@example.test",		false, NULL },	/* Latin-1, not UTF-8 */
	{ "k\xc2\x85m@example.test",	false, NULL },	/* C1 control */
	{ "kim@example..test",		false, NULL },
	{ "anne-marie@example.test",	true,  "anne-marie@example.test" },
	/* the local part is folded in every script, ß stays ß */
	{ "J\xc3\x9cRGEN@example.test",	true,  "j\xc3\xbcrgen@example.test" },
	{ "JU\xcc\x88RGEN@example.test",	true,  "j\xc3\xbcrgen@example.test" },
	{ "STRAU\xc3\x9f@example.test",	true,  "strau\xc3\x9f@example.test" },
	{ "k\x01m@example.test",		false, NULL },
	{ "kim@xn--bcher-kva.example",	true,  "kim@xn--bcher-kva.example" },
	{ "kim@XN--BCHER-KVA.example",	true,  "kim@xn--bcher-kva.example" },
};

static void
test_normalize_input(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
		char out[ADDR_MAX + 1];
		const char *why = NULL;
		enum addr_status st = addr_normalize_input(norm_cases[i].in, out, sizeof(out), &why);
		if ((st == ADDR_OK) != norm_cases[i].ok)
			fail_msg("%s: got %s (%s), want %s", norm_cases[i].in,
			    addr_status_text(st), why ? why : "", norm_cases[i].ok ? "ok" : "error");
		if (st == ADDR_OK && strcmp(out, norm_cases[i].want) != 0)
			fail_msg("%s: got %s, want %s", norm_cases[i].in, out, norm_cases[i].want);
		if (st != ADDR_OK)
			assert_non_null(why);
	}
}

/* What the SMTP layer reads: which addresses need SMTPUTF8 to travel. */
static void
test_needs_smtputf8(void **state)
{
	static const struct {
		const char	*in;
		bool		 utf8_local, u_label;
	} cases[] = {
		{ "kim@example.test",				false, false },
		{ "kim@xn--bcher-kva.example",			false, false },
		{ "kim@b\xc3\xbc" "cher.example",		false, true },
		{ "k\xc3\xa4m@example.test",			true,  false },
		{ "k\xc3\xa4m@b\xc3\xbc" "cher.example",	true,  true },
	};
	struct mailaddr a;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(addr_parse_mailbox(cases[i].in, strlen(cases[i].in), &a),
		    ADDR_OK);
		assert_int_equal(a.utf8_local, cases[i].utf8_local);
		assert_int_equal(a.u_label, cases[i].u_label);
		assert_int_equal(ADDR_NEEDS_SMTPUTF8(&a), cases[i].utf8_local || cases[i].u_label);
	}
	/* A login is ASCII: sendmail(8) builds LOGIN@host from it. */
	assert_false(addr_login_is_valid("j\xc3\xbcrgen"));
	assert_true(addr_login_is_valid("juergen"));
}

/* NFC never grows a local part past what the grammar allows, and a
 * 64-octet UTF-8 local part still fits. */
static void
test_utf8_lengths(void **state)
{
	char in[400], local[200];
	struct mailaddr a;

	(void)state;
	size_t n = 0;
	for (int i = 0; i < 32; i++) {		/* 32 x "ä" = 64 octets */
		local[n++] = '\xc3';
		local[n++] = '\xa4';
	}
	local[n] = '\0';
	snprintf(in, sizeof(in), "%s@example.test", local);
	assert_int_equal(addr_parse_mailbox(in, strlen(in), &a), ADDR_OK);
	assert_string_equal(a.local, local);
	snprintf(in, sizeof(in), "a%s@example.test", local);
	assert_int_equal(addr_parse_mailbox(in, strlen(in), &a), ADDR_TOO_LONG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_path),
		cmocka_unit_test(test_long_parts),
		cmocka_unit_test(test_normalize_input),
		cmocka_unit_test(test_needs_smtputf8),
		cmocka_unit_test(test_utf8_lengths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
