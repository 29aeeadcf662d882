// SOURCES: screen/scan_rspamd.c screen/scan_spamd.c screen/scan_clamd.c screen/scan_text.c
/*
 * tests/fuzz/fuzz_scan_replies.c - the three scanner reply parsers
 * (screen/scan_rspamd.c, scan_spamd.c, scan_clamd.c) on arbitrary replies,
 * and rspamd's request head on arbitrary envelopes.
 * Input: byte 0 picks the parser (0 rspamd, 1 spamd, 2 clamd, 3 the
 * request head); the rest is the reply, or NUL-separated envelope fields.
 * Checks on a parser: the whole reply at EOF is never "more"; a verdict is
 * deterministic; every shorter prefix without EOF is "more" or that same
 * verdict; the result's strings are terminated within their arrays and
 * printable; a score is within SCAN_SCORE_LIMIT; a status is one of three.
 * Checks on the head: its length does not depend on the buffer; it ends
 * with the empty line and no envelope byte can end a header line early
 * (exactly the expected number of CRLFs, no other CR or LF).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../screen/scan_proto.h"

typedef enum scan_parse (*parse_fn)(const uint8_t *, size_t, bool, struct scan_result *);

static const parse_fn parsers[] = { scan_rspamd_parse, scan_spamd_parse, scan_clamd_parse };

static void
check_text(const char *s, size_t size, const char *what)
{
	size_t n = strnlen(s, size);

	if (n == size) {
		fprintf(stderr, "%s not terminated\n", what);
		abort();
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '"') {
			fprintf(stderr, "%s has byte 0x%02x\n", what, (unsigned char)s[i]);
			abort();
		}
}

static void
check_result(enum scan_parse p, const struct scan_result *r)
{
	check_text(r->why, sizeof(r->why), "why");
	check_text(r->action, sizeof(r->action), "action");
	check_text(r->symbols, sizeof(r->symbols), "symbols");
	check_text(r->virus, sizeof(r->virus), "virus");
	if (p == SCAN_PARSE_DONE && r->status > SCAN_STATUS_TEMPFAIL)
		abort();
	if (!(r->score <= SCAN_SCORE_LIMIT && r->score >= -SCAN_SCORE_LIMIT) ||
	    !(r->threshold <= SCAN_SCORE_LIMIT && r->threshold >= -SCAN_SCORE_LIMIT))
		abort();
	if (p == SCAN_PARSE_BAD && r->why[0] == '\0')
		abort();
}

static void
fuzz_parser(parse_fn parse, const uint8_t *data, size_t size)
{
	struct scan_result whole, again, part;

	memset(&whole, 0, sizeof(whole));
	enum scan_parse w = parse(data, size, true, &whole);
	if (w == SCAN_PARSE_MORE)
		abort();
	check_result(w, &whole);
	memset(&again, 0, sizeof(again));
	if (parse(data, size, true, &again) != w || memcmp(&again, &whole, sizeof(whole)) != 0)
		abort();
	/* a few prefixes, not every one: the run stays linear-ish */
	for (size_t cut = 0; cut < size; cut += 1 + cut / 4) {
		memset(&part, 0, sizeof(part));
		enum scan_parse p = parse(data, cut, false, &part);
		check_result(p, &part);
		if (p != SCAN_PARSE_MORE && p != w)
			abort();
	}
}

static void
fuzz_head(const uint8_t *data, size_t size)
{
	char fields[8][512];
	const char *rcpts[3];
	size_t f = 0, o = 0;
	static char buf[8192], small[64];

	memset(fields, 0, sizeof(fields));
	for (size_t i = 0; i < size && f < 8; i++) {
		if (data[i] == '\0' || o == sizeof(fields[0]) - 1) {
			f++;
			o = 0;
			continue;
		}
		fields[f][o++] = (char)data[i];
	}
	rcpts[0] = fields[5];
	rcpts[1] = fields[6];
	rcpts[2] = fields[7];
	struct scan_envelope env = { "s", fields[0], fields[1], fields[2], fields[3], fields[4],
	    rcpts, 3, "mx.example.test" };
	size_t n = scan_rspamd_head(&env, 12345, buf, sizeof(buf));
	if (n >= sizeof(buf) || scan_rspamd_head(&env, 12345, small, sizeof(small)) != n)
		abort();
	if (memcmp(buf, small, sizeof(small) < n ? sizeof(small) : n) != 0)
		abort();
	/* lines: request, Host, Content-Length, Connection, From, 3 Rcpt,
	 * MTA-Name, the empty line; plus one per non-empty optional field */
	size_t want = 10, crlf = 0;
	for (int k = 0; k < 4; k++)
		if (k == 0 ? fields[0][0] != '\0' : fields[k][0] != '\0')
			want++;	/* Queue-Id, IP, Helo, Hostname */
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\r' && i + 1 < n && buf[i + 1] == '\n') {
			crlf++;
			i++;
		} else if (buf[i] == '\r' || buf[i] == '\n')
			abort();
	}
	if (crlf != want || n < 4 || memcmp(buf + n - 4, "\r\n\r\n", 4) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 4 == 3)
		fuzz_head(data + 1, size - 1);
	else
		fuzz_parser(parsers[data[0] % 4], data + 1, size - 1);
	return 0;
}
