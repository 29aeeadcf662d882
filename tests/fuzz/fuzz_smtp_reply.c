// SOURCES: relay/reply.c relay/dotstuff.c
// LIBS:
/*
 * tests/fuzz/fuzz_smtp_reply.c - what a hostile remote server can send to
 * the relay: the input is split into lines and fed to the reply parser and
 * the EHLO keyword parser, as relay/client.c does. Beyond "no crash": a
 * parsed code is 200..599, an enhanced code matches its class, the kept
 * text is bounded and printable, and a reply is never marked as the
 * relay's own (local) diagnosis. The same bytes as a message body go
 * through the DATA encoder: the output may hold the terminator only at its
 * very end, and removing the transparency dots gives the input back (with
 * bare LFs made CRLF).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../relay/dotstuff.h"
#include "../../relay/reply.h"

static void
check_reply(const struct smtp_reply *r)
{
	size_t len = strlen(r->text);

	if (r->code < 200 || r->code > 599 || len > REPLY_TEXT_MAX)
		abort();
	for (size_t i = 0; i < len; i++)
		if (r->text[i] < 0x20 || r->text[i] > 0x7e)
			abort();
	if (r->esc[0] != '\0' && r->esc[0] != '0' + r->code / 100)
		abort();
	if (r->text[0] != '0' + r->code / 100)
		abort();
	/* What a server said is never taken for the relay's own diagnosis. */
	if (r->local || smtp_reply_diagnosis(r) != r->text)
		abort();
	const char *t = smtp_reply_text_without_code(r->text);
	if (t != r->text && t != r->text + 4)
		abort();
}

static void
fuzz_replies(const uint8_t *data, size_t size)
{
	struct smtp_reply r;
	struct ehlo_caps caps;
	size_t start = 0;

	smtp_reply_init(&r);
	memset(&caps, 0, sizeof(caps));
	for (size_t i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		const uint8_t *line = data + start;
		size_t len = i - start;
		start = i + 1;
		enum reply_parse p = smtp_reply_feed(&r, line, len);
		ehlo_caps_feed(&caps, line, len, r.nlines == 1);
		if (p == REPLY_PARSE_DONE) {
			check_reply(&r);
			smtp_reply_init(&r);
		} else if (p != REPLY_PARSE_MORE)
			smtp_reply_init(&r);
		else
			check_reply(&r);
	}
	if (caps.auth & ~(unsigned)(EHLO_AUTH_PLAIN | EHLO_AUTH_LOGIN))
		abort();
}

/* Undoes the DATA encoding of out (without its terminator) into back. */
static size_t
unstuff(const uint8_t *out, size_t n, uint8_t *back)
{
	size_t b = 0;
	int at_start = 1;

	for (size_t i = 0; i < n; i++) {
		if (at_start && out[i] == '.') {
			if (i + 1 >= n || out[i + 1] != '.')
				abort();	/* a lone dot at a line start */
			i++;
		}
		back[b++] = out[i];
		at_start = out[i] == '\n';
	}
	return b;
}

static void
fuzz_dotstuff(const uint8_t *data, size_t size)
{
	struct dotstuff d;
	uint8_t *out = malloc(DOTSTUFF_OUT_MAX(size) + DOTSTUFF_FINISH_MAX + 1);
	uint8_t *back = malloc(2 * size + 8);
	uint8_t *want = malloc(2 * size + 8);
	size_t split = size > 0 ? data[0] % (size + 1) : 0, n, w = 0;
	int last_cr = 0;

	if (out == NULL || back == NULL || want == NULL)
		abort();
	dotstuff_init(&d);
	n = dotstuff_chunk(&d, data, split, out);
	n += dotstuff_chunk(&d, data + split, size - split, out + n);
	if (n > DOTSTUFF_OUT_MAX(size))
		abort();
	size_t body = n;
	n += dotstuff_finish(&d, out + n);
	/* the terminator, and only at the end */
	if (n < 3 || memcmp(out + n - 3, ".\r\n", 3) != 0)
		abort();
	if (memmem(out, n - 3, "\r\n.\r\n", 5) != NULL || (body > 0 &&
	    memcmp(out + n - 5, "\r\n", 2) != 0))
		abort();
	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\n' && !last_cr)
			want[w++] = '\r';
		want[w++] = data[i];
		last_cr = data[i] == '\r';
	}
	size_t b = unstuff(out, body, back);
	if (b != w || memcmp(back, want, w) != 0)
		abort();
	free(out);
	free(back);
	free(want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_replies(data, size);
	fuzz_dotstuff(data, size);
	return 0;
}
