// SOURCES: smtpd/command.c smtpd/lines.c lib/addr.c lib/addr_intl.c lib/utf8.c
// LIBS: -lidn2 -levent -lunistring
/*
 * tests/fuzz/fuzz_smtp_command.c - the SMTP command grammar on arbitrary
 * bytes: command_parse() on the whole input, then the argument parser of
 * the verb it found (MAIL, RCPT, HELO/EHLO), and both path parsers on the
 * raw input too. Beyond "no crash": an accepted path must format within
 * its bounds and parse again to the same canonical address, and an
 * address that needs SMTPUTF8 (RFC 6531 3.4) is accepted only in a
 * transaction that has it (MAIL's parameter, or RCPT_OPT_SMTPUTF8).
 * The same bytes as a client's stream: cut into lines by line_take(), fed
 * once whole and once in pieces whose size the first byte picks - the
 * lines (and refusals) must not depend on TCP segmentation, no accepted
 * line may hold a CR or LF or exceed the limit, and every line goes
 * through command_parse(). The HTTP/TLS probe must never change its mind
 * once it has decided.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "../../smtpd/command.h"
#include "../../smtpd/lines.h"

#define LINES_MAX	256	/* lines compared per input */

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
	static const unsigned opts[] = { 0, MAIL_OPT_SMTPUTF8 | MAIL_OPT_AUTH_PARAM };

	for (size_t i = 0; i < 2; i++) {
		struct mail_cmd m;
		enum cmd_status st = command_parse_mail_opts(arg, len, opts[i], &m);

		if (st != CMD_OK)
			continue;
		if (!m.is_null)
			check_canonical(&m.from);
		if (m.body > BODY_8BITMIME || (m.smtputf8 && opts[i] == 0))
			abort();
		if (!m.is_null && ADDR_NEEDS_SMTPUTF8(&m.from) && !m.smtputf8)
			abort();
	}
}

static void
fuzz_rcpt(const char *arg, size_t len)
{
	struct rcpt_cmd r;

	if (command_parse_rcpt(arg, len, &r) == CMD_OK) {
		check_canonical(&r.to);
		if (ADDR_NEEDS_SMTPUTF8(&r.to))
			abort();
	}
	if (command_parse_rcpt_opts(arg, len, RCPT_OPT_SMTPUTF8, &r) == CMD_OK)
		check_canonical(&r.to);
}

/* What the line cutter made of a stream: statuses and a hash of lines. */
struct cut {
	size_t		n;
	int		status[LINES_MAX];
	uint32_t	hash[LINES_MAX];
};

static uint32_t
fnv1a(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 16777619u;
	return h;
}

/* A too-long line is one refusal, whether its CRLF came with it or later. */
static void
cut_add(struct cut *c, enum line_status st, const char *line, size_t len)
{
	if (st == LINE_TOO_LONG_END)
		return;
	if (c->n == LINES_MAX)
		return;
	c->status[c->n] = st;
	c->hash[c->n] = st == LINE_OK || st == LINE_BARE_NEWLINE ? fnv1a(line, len) : 0;
	c->n++;
}

static void
cut_take_all(struct evbuffer *in, bool *discarding, struct cut *c)
{
	static char line[SMTP_LINE_MAX];
	enum line_status st;
	size_t len;

	while ((st = line_take(in, SMTP_LINE_MAX, discarding, line, &len)) != LINE_NONE) {
		if (st == LINE_OK) {
			struct smtp_command cmd;
			if (len > SMTP_LINE_MAX - 2 || memchr(line, '\n', len) != NULL ||
			    memchr(line, '\r', len) != NULL)
				abort();
			(void)command_parse(line, len, &cmd);
		}
		cut_add(c, st, line, len);
	}
}

static void
cut_stream(const uint8_t *data, size_t size, size_t piece, struct cut *c)
{
	struct evbuffer *in = evbuffer_new();
	bool discarding = false;

	memset(c, 0, sizeof(*c));
	for (size_t off = 0; off < size; off += piece) {
		evbuffer_add(in, data + off, size - off < piece ? size - off : piece);
		cut_take_all(in, &discarding, c);
		if (evbuffer_get_length(in) > SMTP_LINE_MAX + piece)
			abort();	/* a refused line is never hoarded */
	}
	evbuffer_free(in);
}

static void
fuzz_lines(const uint8_t *data, size_t size)
{
	static struct cut whole, pieces;

	if (size == 0)
		return;
	cut_stream(data + 1, size - 1, size, &whole);
	cut_stream(data + 1, size - 1, (size_t)data[0] % 16 + 1, &pieces);
	if (whole.n != pieces.n ||
	    memcmp(whole.status, pieces.status, whole.n * sizeof(whole.status[0])) != 0 ||
	    memcmp(whole.hash, pieces.hash, whole.n * sizeof(whole.hash[0])) != 0)
		abort();
}

static void
fuzz_probe(const uint8_t *data, size_t size)
{
	enum probe_verdict first = PROBE_NEED_MORE;

	for (size_t n = 0; n <= size && n <= PROBE_MAX + 1; n++) {
		enum probe_verdict v = probe_classify(data, n);
		if (first != PROBE_NEED_MORE && v != first)
			abort();	/* more bytes never change a decision */
		first = v;
	}
	if (size >= PROBE_MAX && first == PROBE_NEED_MORE)
		abort();	/* PROBE_MAX bytes always decide */
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
	fuzz_lines(data, size);
	fuzz_probe(data, size);
	return 0;
}
