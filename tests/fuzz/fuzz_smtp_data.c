// SOURCES: smtpd/data.c
// LIBS:
/*
 * tests/fuzz/fuzz_smtp_data.c - the DATA scanner. The first input byte
 * picks a chunk size; the rest is fed once in such chunks and once whole,
 * and the two runs must agree exactly (bytes out, flags, size, where the
 * data ended): a scanner whose verdict depends on TCP segmentation is how
 * SMTP smuggling happens. A clean message must also survive re-stuffing:
 * stuff it again, scan it, get the same bytes back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/data.h"

#define MAX_SIZE	2048	/* small, so the size limit is exercised */

struct out {
	uint8_t	buf[8192];
	size_t	len;
};

static void
sink(void *arg, const uint8_t *p, size_t n)
{
	struct out *o = arg;

	if (n > sizeof(o->buf) - o->len)
		abort();	/* the scanner emitted past max_size */
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

/* Feeds in chunks of `chunk` bytes (0 = whole); returns bytes consumed. */
static size_t
scan(const uint8_t *in, size_t len, size_t chunk, struct data_scanner *d,
    struct out *o)
{
	size_t off = 0;

	o->len = 0;
	data_scanner_init(d, MAX_SIZE, sink, o);
	while (off < len) {
		size_t n = chunk == 0 || chunk > len - off ? len - off : chunk;
		size_t used = data_scanner_feed(d, in + off, n);
		off += used;
		if (used < n) {
			if (!data_scanner_done(d))
				abort();
			break;
		}
	}
	return off;
}

/* Invariants of a message the scanner calls clean. */
static void
check_clean(const struct out *o)
{
	size_t line = 0;

	for (size_t i = 0; i < o->len; i++) {
		uint8_t c = o->buf[i];
		if (c == '\0')
			abort();
		if (c == '\r' && (i + 1 >= o->len || o->buf[i + 1] != '\n'))
			abort();
		if (c == '\n' && (i == 0 || o->buf[i - 1] != '\r'))
			abort();
		if (c == '\n')
			line = 0;
		else if (c != '\r' && ++line > 998)
			abort();
	}
	if (o->len > 0 && (o->len < 2 || memcmp(o->buf + o->len - 2, "\r\n", 2) != 0))
		abort();
}

static void
check_restuff(const struct out *o)
{
	static uint8_t stuffed[2 * 8192 + 8];
	static struct out again;
	struct data_scanner d;
	size_t n = 0;
	bool bol = true;

	for (size_t i = 0; i < o->len; i++) {
		if (bol && o->buf[i] == '.')
			stuffed[n++] = '.';
		stuffed[n++] = o->buf[i];
		bol = o->buf[i] == '\n';
	}
	memcpy(stuffed + n, ".\r\n", 3);
	n += 3;
	if (scan(stuffed, n, 0, &d, &again) != n || !data_scanner_done(&d) ||
	    d.flags != 0 || again.len != o->len || memcmp(again.buf, o->buf, o->len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct out whole, pieces;
	struct data_scanner dw, dp;

	if (size == 0)
		return 0;
	size_t chunk = 1 + data[0] % 17;
	const uint8_t *in = data + 1;
	size_t len = size - 1;

	size_t cw = scan(in, len, 0, &dw, &whole);
	size_t cp = scan(in, len, chunk, &dp, &pieces);
	if (cw != cp || dw.flags != dp.flags || dw.size != dp.size ||
	    data_scanner_done(&dw) != data_scanner_done(&dp) ||
	    whole.len != pieces.len || memcmp(whole.buf, pieces.buf, whole.len) != 0)
		abort();
	if (whole.len != ((dw.flags & DATA_TOO_BIG) ? MAX_SIZE : dw.size))
		abort();
	if (data_scanner_done(&dw) && dw.flags == 0) {
		check_clean(&whole);
		check_restuff(&whole);
	}
	return 0;
}
