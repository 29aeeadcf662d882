// SOURCES: smtpd/command.c lib/addr.c
// LIBS: -lidn2
/*
 * tests/fuzz/fuzz_smtp_command.c - the SMTP command grammar on arbitrary
 * bytes: command_parse() on the whole input, then the argument parser of
 * the verb it found (MAIL, RCPT, HELO/EHLO), and both path parsers on the
 * raw input too. Beyond "no crash": an accepted path must format within
 * its bounds and parse again to the same canonical address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/command.h"

/* A canonical address is a fixed point: parse(format(a)) == a. */
static void
check_canonical(const struct mailaddr *a)
{
	char text[ADDR_MAX + 1], again[ADDR_MAX + 1];
	struct mailaddr b;

	if (a->domain[0] == '\0')	/* bare <postmaster> */
		return;
	if (addr_format(a, text, sizeof(text)) == -1)
		abort();
	if (addr_parse_mailbox(text, strlen(text), &b) != ADDR_OK)
		abort();
	if (addr_format(&b, again, sizeof(again)) == -1 || strcmp(text, again) != 0 ||
	    a->is_literal != b.is_literal)
		abort();
}

static void
fuzz_mail(const char *arg, size_t len)
{
	struct mail_cmd m;
	enum cmd_status st = command_parse_mail(arg, len, &m);

	if (st == CMD_OK && !m.is_null)
		check_canonical(&m.from);
	if (st == CMD_OK && m.body > BODY_8BITMIME)
		abort();
}

static void
fuzz_rcpt(const char *arg, size_t len)
{
	struct rcpt_cmd r;

	if (command_parse_rcpt(arg, len, &r) == CMD_OK)
		check_canonical(&r.to);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct smtp_command cmd;
	char helo[SMTP_HELO_MAX + 1];

	if (command_parse(s, size, &cmd) == CMD_OK) {
		if (cmd.arg < s || cmd.arg + cmd.arglen > s + size)
			abort();
		switch (cmd.verb) {
		case VERB_MAIL:
			fuzz_mail(cmd.arg, cmd.arglen);
			break;
		case VERB_RCPT:
			fuzz_rcpt(cmd.arg, cmd.arglen);
			break;
		case VERB_HELO:
		case VERB_EHLO:
			if (command_parse_helo(cmd.arg, cmd.arglen, helo, sizeof(helo)) == CMD_OK &&
			    (strlen(helo) != cmd.arglen || strlen(helo) > SMTP_HELO_MAX))
				abort();
			break;
		default:
			break;
		}
	}
	fuzz_mail(s, size);
	fuzz_rcpt(s, size);
	return 0;
}
