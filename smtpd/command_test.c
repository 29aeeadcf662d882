/*
 * smtpd/command_test.c - the command grammar, one row per case: verbs,
 * argument policy, MAIL/RCPT paths and parameters, HELO names, and hostile
 * lines (NUL, 8-bit, relay tricks, overflowing SIZE, parameter floods).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "command.h"

#define LINE(s)	s, sizeof(s) - 1

struct line_case {
	const char	*line;
	size_t		 len;
	enum cmd_status	 want;
	enum smtp_verb	 verb;
	const char	*arg;
};

static const struct line_case line_cases[] = {
	{ LINE("EHLO client.example"),		CMD_OK,		VERB_EHLO,	"client.example" },
	{ LINE("ehlo client.example"),		CMD_OK,		VERB_EHLO,	"client.example" },
	{ LINE("HELO x"),			CMD_OK,		VERB_HELO,	"x" },
	{ LINE("EHLO"),				CMD_SYNTAX,	VERB_EHLO,	"" },
	{ LINE("EHLO   "),			CMD_SYNTAX,	VERB_EHLO,	"" },
	{ LINE("MAIL FROM:<a@b.test>"),		CMD_OK,		VERB_MAIL,	"FROM:<a@b.test>" },
	{ LINE("mail from:<a@b.test> "),	CMD_OK,		VERB_MAIL,	"from:<a@b.test>" },
	{ LINE("RCPT TO:<kim@example.test>"),	CMD_OK,		VERB_RCPT,	"TO:<kim@example.test>" },
	{ LINE("DATA"),				CMD_OK,		VERB_DATA,	"" },
	{ LINE("DATA x"),			CMD_SYNTAX,	VERB_DATA,	"x" },
	{ LINE("RSET"),				CMD_OK,		VERB_RSET,	"" },
	{ LINE("RSET now"),			CMD_SYNTAX,	VERB_RSET,	"now" },
	{ LINE("NOOP"),				CMD_OK,		VERB_NOOP,	"" },
	{ LINE("NOOP anything at all"),		CMD_OK,		VERB_NOOP,	"anything at all" },
	{ LINE("QUIT"),				CMD_OK,		VERB_QUIT,	"" },
	{ LINE("quit\t"),			CMD_OK,		VERB_QUIT,	"" },
	{ LINE("VRFY kim"),			CMD_OK,		VERB_VRFY,	"kim" },
	{ LINE("VRFY"),				CMD_SYNTAX,	VERB_VRFY,	"" },
	{ LINE("EXPN list"),			CMD_OK,		VERB_EXPN,	"list" },
	{ LINE("HELP"),				CMD_OK,		VERB_HELP,	"" },
	{ LINE("STARTTLS"),			CMD_OK,		VERB_STARTTLS,	"" },
	{ LINE("STARTTLS x"),			CMD_SYNTAX,	VERB_STARTTLS,	"x" },
	{ LINE(""),				CMD_UNKNOWN,	VERB_NONE,	"" },
	{ LINE(" "),				CMD_UNKNOWN,	VERB_NONE,	"" },
	{ LINE("MAILFROM:<a@b.test>"),		CMD_UNKNOWN,	VERB_NONE,	"" },
	{ LINE("GET / HTTP/1.1"),		CMD_UNKNOWN,	VERB_NONE,	"" },
	{ LINE("BDAT 10 LAST"),			CMD_UNKNOWN,	VERB_NONE,	"" },
	{ LINE("AUTH PLAIN AGFiAGM="),		CMD_OK,		VERB_AUTH,	"PLAIN AGFiAGM=" },
	{ LINE("AUTH"),				CMD_SYNTAX,	VERB_AUTH,	"" },
	{ LINE("EHL"),				CMD_UNKNOWN,	VERB_NONE,	"" },
	{ LINE("EHLOO x"),			CMD_UNKNOWN,	VERB_NONE,	"" },
	{ LINE("\tEHLO x"),			CMD_UNKNOWN,	VERB_NONE,	"" },
	{ LINE("EHLO\tx"),			CMD_UNKNOWN,	VERB_NONE,	"" },
	{ LINE("NOOP \0"),			CMD_NUL,	VERB_NONE,	"" },
	{ LINE("\0QUIT"),			CMD_NUL,	VERB_NONE,	"" },
	{ LINE("QU\xc3\x8fT"),			CMD_UNKNOWN,	VERB_NONE,	"" },
	{ LINE("QUIT\r"),			CMD_UNKNOWN,	VERB_NONE,	"" },
};

static void
test_command_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		const struct line_case *c = &line_cases[i];
		struct smtp_command cmd;
		enum cmd_status got = command_parse(c->line, c->len, &cmd);
		if (got != c->want || cmd.verb != c->verb ||
		    (got != CMD_NUL && got != CMD_UNKNOWN &&
		    (cmd.arglen != strlen(c->arg) || memcmp(cmd.arg, c->arg, cmd.arglen) != 0)))
			fail_msg("case %zu \"%s\": got status %d verb %d arg \"%.*s\", want %d %d \"%s\"",
			    i, c->line, got, cmd.verb, (int)cmd.arglen, cmd.arg, c->want,
			    c->verb, c->arg);
	}
}

struct mail_case {
	const char		*arg;
	size_t			 len;
	enum cmd_status		 want;
	enum addr_status	 addr;
	const char		*from;		/* canonical, "" for <> */
	bool			 has_size;
	uint64_t		 size;
	enum body_type		 body;
};

static const struct mail_case mail_cases[] = {
	{ LINE("FROM:<a@b.test>"),			CMD_OK, ADDR_OK, "a@b.test", false, 0, BODY_UNSPECIFIED },
	{ LINE("from:<A@B.TEST>"),			CMD_OK, ADDR_OK, "A@b.test", false, 0, BODY_UNSPECIFIED },
	{ LINE("FROM: <a@b.test>"),			CMD_OK, ADDR_OK, "a@b.test", false, 0, BODY_UNSPECIFIED },
	{ LINE("FROM:<>"),				CMD_OK, ADDR_OK, "", false, 0, BODY_UNSPECIFIED },
	{ LINE("FROM:<> SIZE=0"),			CMD_OK, ADDR_OK, "", true, 0, BODY_UNSPECIFIED },
	{ LINE("FROM:<a@b.test> SIZE=1000"),		CMD_OK, ADDR_OK, "a@b.test", true, 1000, BODY_UNSPECIFIED },
	{ LINE("FROM:<a@b.test> size=1000 body=8bitmime"), CMD_OK, ADDR_OK, "a@b.test", true, 1000, BODY_8BITMIME },
	{ LINE("FROM:<a@b.test> BODY=7BIT"),		CMD_OK, ADDR_OK, "a@b.test", false, 0, BODY_7BIT },
	{ LINE("FROM:<a@b.test>  SIZE=5   BODY=7BIT"),	CMD_OK, ADDR_OK, "a@b.test", true, 5, BODY_7BIT },
	{ LINE("FROM:<a@b.test> SIZE=18446744073709551615"), CMD_OK, ADDR_OK, "a@b.test", true, UINT64_MAX, BODY_UNSPECIFIED },
	{ LINE("FROM:<\"a b\"@b.test>"),		CMD_OK, ADDR_OK, "\"a b\"@b.test", false, 0, BODY_UNSPECIFIED },
	{ LINE("FROM:<@relay.test:a@b.test>"),		CMD_OK, ADDR_OK, "a@b.test", false, 0, BODY_UNSPECIFIED },
	{ LINE("FROM:<a@[192.0.2.1]>"),			CMD_OK, ADDR_OK, "a@[192.0.2.1]", false, 0, BODY_UNSPECIFIED },
	/* hostile or broken */
	{ LINE("FROM:<a@b.test> SIZE=18446744073709551616"), CMD_PARAM_BAD, ADDR_OK, NULL, false, 0, 0 },
	{ LINE("FROM:<a@b.test> SIZE=99999999999999999999999"), CMD_PARAM_BAD, ADDR_OK, NULL, false, 0, 0 },
	{ LINE("FROM:<a@b.test> SIZE="),		CMD_PARAM_BAD, ADDR_OK, NULL, false, 0, 0 },
	{ LINE("FROM:<a@b.test> SIZE"),			CMD_PARAM_BAD, ADDR_OK, NULL, false, 0, 0 },
	{ LINE("FROM:<a@b.test> SIZE=-1"),		CMD_PARAM_BAD, ADDR_OK, NULL, false, 0, 0 },
	{ LINE("FROM:<a@b.test> SIZE=12x"),		CMD_PARAM_BAD, ADDR_OK, NULL, false, 0, 0 },
	{ LINE("FROM:<a@b.test> SIZE=1 SIZE=2"),	CMD_PARAM_BAD, ADDR_OK, NULL, false, 0, 0 },
	{ LINE("FROM:<a@b.test> BODY=BINARYMIME"),	CMD_PARAM_BAD, ADDR_OK, NULL, false, 0, 0 },
	{ LINE("FROM:<a@b.test> BODY=7BIT BODY=7BIT"),	CMD_PARAM_BAD, ADDR_OK, NULL, false, 0, 0 },
	{ LINE("FROM:<a@b.test> BODY"),			CMD_PARAM_BAD, ADDR_OK, NULL, false, 0, 0 },
	{ LINE("FROM:<a@b.test> SMTPUTF8"),		CMD_PARAM_UNKNOWN, ADDR_OK, NULL, false, 0, 0 },
	{ LINE("FROM:<a@b.test> AUTH=<>"),		CMD_PARAM_UNKNOWN, ADDR_OK, NULL, false, 0, 0 },
	{ LINE("FROM:<a@b.test> X-FOO=bar SIZE=x"),	CMD_PARAM_BAD, ADDR_OK, NULL, false, 0, 0 },
	{ LINE("FROM:<a@b.test> -BAD"),			CMD_PARAM_BAD, ADDR_OK, NULL, false, 0, 0 },
	{ LINE("FROM:<a@b.test> K=v=w"),		CMD_PARAM_BAD, ADDR_OK, NULL, false, 0, 0 },
	{ LINE("FROM:<a@b.test> K=\xff"),		CMD_PARAM_BAD, ADDR_OK, NULL, false, 0, 0 },
	{ LINE("FROM:<a@b.test> A B C D E F G H I J K L M N O P Q"), CMD_PARAM_BAD, ADDR_OK, NULL, false, 0, 0 },
	{ LINE("FROM:<a@b.test>SIZE=1"),		CMD_ADDR, ADDR_SYNTAX, NULL, false, 0, 0 },
	{ LINE("FROM:a@b.test"),			CMD_ADDR, ADDR_SYNTAX, NULL, false, 0, 0 },
	{ LINE("FROM:<a@b.test"),			CMD_ADDR, ADDR_SYNTAX, NULL, false, 0, 0 },
	{ LINE("FROM:<k\xc3\xa4m@b.test>"),		CMD_ADDR, ADDR_NON_ASCII, NULL, false, 0, 0 },
	{ LINE("FROM:<a@b.test\0>"),			CMD_NUL, ADDR_OK, NULL, false, 0, 0 },
	{ LINE("FROM:"),				CMD_ADDR, ADDR_SYNTAX, NULL, false, 0, 0 },
	{ LINE("FROM<a@b.test>"),			CMD_SYNTAX, ADDR_OK, NULL, false, 0, 0 },
	{ LINE("TO:<a@b.test>"),			CMD_SYNTAX, ADDR_OK, NULL, false, 0, 0 },
	{ LINE(""),					CMD_SYNTAX, ADDR_OK, NULL, false, 0, 0 },
};

static void
test_mail_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mail_cases) / sizeof(mail_cases[0]); i++) {
		const struct mail_case *c = &mail_cases[i];
		struct mail_cmd m;
		char from[ADDR_MAX + 1] = "";
		enum cmd_status got = command_parse_mail(c->arg, c->len, &m);

		if (got != c->want)
			fail_msg("case %zu \"%s\": got status %d, want %d", i, c->arg, got, c->want);
		if (got == CMD_ADDR && m.addr != c->addr)
			fail_msg("case %zu \"%s\": got addr %d, want %d", i, c->arg, m.addr, c->addr);
		if (got != CMD_OK)
			continue;
		if (!m.is_null)
			assert_int_equal(addr_format(&m.from, from, sizeof(from)), 0);
		if (strcmp(from, c->from) != 0 || m.is_null != (c->from[0] == '\0') ||
		    m.has_size != c->has_size || m.size != c->size || m.body != c->body)
			fail_msg("case %zu \"%s\": got from \"%s\" size %d/%llu body %d, "
			    "want \"%s\" %d/%llu %d", i, c->arg, from, m.has_size,
			    (unsigned long long)m.size, m.body, c->from, c->has_size,
			    (unsigned long long)c->size, c->body);
	}
}

struct rcpt_case {
	const char		*arg;
	size_t			 len;
	enum cmd_status		 want;
	enum addr_status	 addr;
	const char		*to;		/* canonical (domain "" for postmaster) */
	bool			 literal;
	bool			 postmaster;
};

static const struct rcpt_case rcpt_cases[] = {
	{ LINE("TO:<kim@example.test>"),		CMD_OK, ADDR_OK, "kim@example.test", false, false },
	{ LINE("to:<Kim@Example.Test>"),		CMD_OK, ADDR_OK, "Kim@example.test", false, false },
	{ LINE("TO: <kim@example.test>"),		CMD_OK, ADDR_OK, "kim@example.test", false, false },
	{ LINE("TO:<kim+tag@example.test>"),		CMD_OK, ADDR_OK, "kim+tag@example.test", false, false },
	{ LINE("TO:<postmaster>"),			CMD_OK, ADDR_OK, "postmaster@", false, true },
	{ LINE("TO:<PostMaster>"),			CMD_OK, ADDR_OK, "postmaster@", false, true },
	{ LINE("TO:<postmaster@example.test>"),		CMD_OK, ADDR_OK, "postmaster@example.test", false, false },
	/* nmap smtp-open-relay patterns: each parses to (local, domain) once */
	{ LINE("TO:<user%other.test@example.test>"),	CMD_OK, ADDR_OK, "user%other.test@example.test", false, false },
	{ LINE("TO:<@example.test:user@other.test>"),	CMD_OK, ADDR_OK, "user@other.test", false, false },
	{ LINE("TO:<\"user@other.test\"@example.test>"), CMD_OK, ADDR_OK, "\"user@other.test\"@example.test", false, false },
	{ LINE("TO:<\"user%other.test\"@example.test>"), CMD_OK, ADDR_OK, "user%other.test@example.test", false, false },
	{ LINE("TO:<user@[127.0.0.1]>"),		CMD_OK, ADDR_OK, "user@[127.0.0.1]", true, false },
	{ LINE("TO:<user@[IPv6:::1]>"),			CMD_OK, ADDR_OK, "user@[ipv6:::1]", true, false },
	{ LINE("TO:<example.test!other.test!user>"),	CMD_ADDR, ADDR_NO_DOMAIN, NULL, false, false },
	{ LINE("TO:<user>"),				CMD_ADDR, ADDR_NO_DOMAIN, NULL, false, false },
	{ LINE("TO:<user@other.test@example.test>"),	CMD_ADDR, ADDR_BAD_DOMAIN, NULL, false, false },
	{ LINE("TO:<>"),				CMD_ADDR, ADDR_SYNTAX, NULL, false, false },
	{ LINE("TO:<postmaster> NOTIFY=NEVER"),		CMD_PARAM_UNKNOWN, ADDR_OK, NULL, false, false },
	{ LINE("TO:<kim@example.test> NOTIFY=NEVER"),	CMD_PARAM_UNKNOWN, ADDR_OK, NULL, false, false },
	{ LINE("TO:<kim@example.test> =x"),		CMD_PARAM_BAD, ADDR_OK, NULL, false, false },
	{ LINE("TO:<postmasterx>"),			CMD_ADDR, ADDR_NO_DOMAIN, NULL, false, false },
	{ LINE("TO:<k\xc3\xa4m@example.test>"),		CMD_ADDR, ADDR_NON_ASCII, NULL, false, false },
	{ LINE("TO:<kim@example.test\0>"),		CMD_NUL, ADDR_OK, NULL, false, false },
	{ LINE("TO:kim@example.test"),			CMD_ADDR, ADDR_SYNTAX, NULL, false, false },
	{ LINE("FROM:<kim@example.test>"),		CMD_SYNTAX, ADDR_OK, NULL, false, false },
	{ LINE("TO:<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.test>"),
							CMD_ADDR, ADDR_TOO_LONG, NULL, false, false },
};

static void
test_rcpt_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rcpt_cases) / sizeof(rcpt_cases[0]); i++) {
		const struct rcpt_case *c = &rcpt_cases[i];
		struct rcpt_cmd r;
		char to[ADDR_MAX + 1] = "";
		enum cmd_status got = command_parse_rcpt(c->arg, c->len, &r);

		if (got != c->want)
			fail_msg("case %zu \"%s\": got status %d, want %d", i, c->arg, got, c->want);
		if (got == CMD_ADDR && r.addr != c->addr)
			fail_msg("case %zu \"%s\": got addr %d, want %d", i, c->arg, r.addr, c->addr);
		if (got != CMD_OK)
			continue;
		assert_int_equal(addr_format(&r.to, to, sizeof(to)), 0);
		if (strcmp(to, c->to) != 0 || r.to.is_literal != c->literal ||
		    r.is_postmaster != c->postmaster)
			fail_msg("case %zu \"%s\": got \"%s\" literal %d postmaster %d, want \"%s\" %d %d",
			    i, c->arg, to, r.to.is_literal, r.is_postmaster, c->to,
			    c->literal, c->postmaster);
	}
}

/* RFC 6531 3.4: SMTPUTF8 on MAIL (once, no value, only when offered), and
 * UTF-8 in MAIL/RCPT paths only inside such a transaction (553 5.6.7). */
struct utf8_case {
	const char		*arg;
	size_t			 len;
	bool			 rcpt;		/* else MAIL */
	unsigned		 opts;
	enum cmd_status		 want;
	enum addr_status	 addr;
	const char		*addr_text;	/* canonical, when CMD_OK */
	bool			 smtputf8;
};

static const struct utf8_case utf8_cases[] = {
	{ LINE("FROM:<a@b.test> SMTPUTF8"), false, MAIL_OPT_SMTPUTF8, CMD_OK, ADDR_OK, "a@b.test", true },
	{ LINE("FROM:<a@b.test> smtputf8 BODY=8BITMIME"), false, MAIL_OPT_SMTPUTF8, CMD_OK, ADDR_OK, "a@b.test", true },
	{ LINE("FROM:<a@b.test> SMTPUTF8"), false, 0, CMD_PARAM_UNKNOWN, ADDR_OK, NULL, false },
	{ LINE("FROM:<a@b.test> SMTPUTF8=yes"), false, MAIL_OPT_SMTPUTF8, CMD_PARAM_BAD, ADDR_OK, NULL, false },
	{ LINE("FROM:<a@b.test> SMTPUTF8 SMTPUTF8"), false, MAIL_OPT_SMTPUTF8, CMD_PARAM_BAD, ADDR_OK, NULL, false },
	{ LINE("FROM:<d\xc3\xabmo@b.test> SMTPUTF8"), false, MAIL_OPT_SMTPUTF8, CMD_OK, ADDR_OK, "d\xc3\xabmo@b.test", true },
	{ LINE("FROM:<de\xcc\x88mo@b.test> SMTPUTF8"), false, MAIL_OPT_SMTPUTF8, CMD_OK, ADDR_OK, "d\xc3\xabmo@b.test", true },
	{ LINE("FROM:<a@b\xc3\xbc" "cher.test> SMTPUTF8"), false, MAIL_OPT_SMTPUTF8, CMD_OK, ADDR_OK, "a@xn--bcher-kva.test", true },
	{ LINE("FROM:<d\xc3\xabmo@b.test>"), false, MAIL_OPT_SMTPUTF8, CMD_ADDR, ADDR_NON_ASCII, NULL, false },
	{ LINE("FROM:<a@b\xc3\xbc" "cher.test>"), false, MAIL_OPT_SMTPUTF8, CMD_ADDR, ADDR_NON_ASCII, NULL, false },
	{ LINE("FROM:<d\xc3\xabmo@b.test> SMTPUTF8"), false, 0, CMD_PARAM_UNKNOWN, ADDR_OK, NULL, false },	/* after HELO */
	{ LINE("FROM:<d\xc3\xabmo@b.test> BODY=8BITMIME"), false, MAIL_OPT_SMTPUTF8, CMD_ADDR, ADDR_NON_ASCII, NULL, false },
	/* a broken UTF-8 path: 553 without SMTPUTF8, the grammar's error with */
	{ LINE("FROM:<d\xc3\xabmo@@b.test>"), false, MAIL_OPT_SMTPUTF8, CMD_ADDR, ADDR_NON_ASCII, NULL, false },
	{ LINE("FROM:<d\xc3\xabmo@@b.test> SMTPUTF8"), false, MAIL_OPT_SMTPUTF8, CMD_ADDR, ADDR_BAD_DOMAIN, NULL, false },
	{ LINE("FROM:<d\xebmo@b.test> SMTPUTF8"), false, MAIL_OPT_SMTPUTF8, CMD_ADDR, ADDR_NON_ASCII, NULL, false },
	{ LINE("FROM:<> SMTPUTF8"), false, MAIL_OPT_SMTPUTF8, CMD_OK, ADDR_OK, "", true },
	{ LINE("TO:<j\xc3\xbcrgen@example.test>"), true, RCPT_OPT_SMTPUTF8, CMD_OK, ADDR_OK, "j\xc3\xbcrgen@example.test", false },
	{ LINE("TO:<ju\xcc\x88rgen@example.test>"), true, RCPT_OPT_SMTPUTF8, CMD_OK, ADDR_OK, "j\xc3\xbcrgen@example.test", false },
	{ LINE("TO:<j\xc3\xbcrgen@example.test>"), true, 0, CMD_ADDR, ADDR_NON_ASCII, NULL, false },
	{ LINE("TO:<kim@b\xc3\xbc" "cher.test>"), true, 0, CMD_ADDR, ADDR_NON_ASCII, NULL, false },
	{ LINE("TO:<kim@xn--bcher-kva.test>"), true, 0, CMD_OK, ADDR_OK, "kim@xn--bcher-kva.test", false },
	{ LINE("TO:<j\xc3\xbcrgen@example.test> SMTPUTF8"), true, RCPT_OPT_SMTPUTF8, CMD_PARAM_UNKNOWN, ADDR_OK, NULL, false },
	{ LINE("TO:<j\xc2\x85rgen@example.test>"), true, RCPT_OPT_SMTPUTF8, CMD_ADDR, ADDR_BAD_LOCAL, NULL, false },
};

static void
test_smtputf8(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
		const struct utf8_case *c = &utf8_cases[i];
		char text[ADDR_MAX + 1] = "";
		enum cmd_status got;
		enum addr_status addr;
		struct mailaddr a;
		bool is_null = false, smtputf8 = false;

		if (c->rcpt) {
			struct rcpt_cmd r;
			got = command_parse_rcpt_opts(c->arg, c->len, c->opts, &r);
			addr = r.addr;
			a = r.to;
		} else {
			struct mail_cmd m;
			got = command_parse_mail_opts(c->arg, c->len, c->opts, &m);
			addr = m.addr;
			a = m.from;
			is_null = m.is_null;
			smtputf8 = m.smtputf8;
		}
		if (got != c->want)
			fail_msg("case %zu \"%s\": got status %d, want %d", i, c->arg, got, c->want);
		if (got == CMD_ADDR && addr != c->addr)
			fail_msg("case %zu \"%s\": got addr %d, want %d", i, c->arg, addr, c->addr);
		if (got != CMD_OK)
			continue;
		if (!is_null)
			assert_int_equal(addr_format(&a, text, sizeof(text)), 0);
		if (strcmp(text, c->addr_text) != 0 || smtputf8 != c->smtputf8)
			fail_msg("case %zu \"%s\": got \"%s\" smtputf8 %d", i, c->arg, text, smtputf8);
	}
}

struct helo_case {
	const char	*arg;
	size_t		 len;
	enum cmd_status	 want;
};

static const struct helo_case helo_cases[] = {
	{ LINE("client.example"),	CMD_OK },
	{ LINE("localhost"),		CMD_OK },
	{ LINE("my_pc.local"),		CMD_OK },
	{ LINE("[192.0.2.1]"),		CMD_OK },
	{ LINE("[IPv6:2001:db8::1]"),	CMD_OK },
	{ LINE("a b"),			CMD_BAD_HELO },
	{ LINE("host(evil)"),		CMD_BAD_HELO },
	{ LINE("host;rm"),		CMD_BAD_HELO },
	{ LINE("h\xc3\xb6st"),		CMD_BAD_HELO },
	{ LINE("h\x01st"),		CMD_BAD_HELO },
	{ LINE("h\0st"),		CMD_BAD_HELO },
	{ LINE(""),			CMD_BAD_HELO },
};

static void
test_helo_parse(void **state)
{
	char out[SMTP_HELO_MAX + 1], longname[SMTP_HELO_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(helo_cases) / sizeof(helo_cases[0]); i++) {
		const struct helo_case *c = &helo_cases[i];
		enum cmd_status got = command_parse_helo(c->arg, c->len, out, sizeof(out));
		if (got != c->want)
			fail_msg("case %zu \"%s\": got %d, want %d", i, c->arg, got, c->want);
		if (got == CMD_OK && (strlen(out) != c->len || memcmp(out, c->arg, c->len) != 0))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, out, c->arg);
	}
	memset(longname, 'a', sizeof(longname));
	assert_int_equal(command_parse_helo(longname, SMTP_HELO_MAX, out, sizeof(out)), CMD_OK);
	assert_int_equal(command_parse_helo(longname, SMTP_HELO_MAX + 1, out, sizeof(out)),
	    CMD_BAD_HELO);
	/* an output buffer too small is a refusal, never an overflow */
	assert_int_equal(command_parse_helo("abcdef", 6, out, 4), CMD_BAD_HELO);
}

static void
test_verb_names(void **state)
{
	(void)state;
	assert_string_equal(command_verb_name(VERB_STARTTLS), "STARTTLS");
	assert_string_equal(command_verb_name(VERB_NONE), "UNKNOWN");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_parse),
		cmocka_unit_test(test_mail_parse),
		cmocka_unit_test(test_rcpt_parse),
		cmocka_unit_test(test_smtputf8),
		cmocka_unit_test(test_helo_parse),
		cmocka_unit_test(test_verb_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
