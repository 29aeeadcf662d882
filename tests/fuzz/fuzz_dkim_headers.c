// SOURCES: dkimsign/headers.c
// LIBS:
/*
 * tests/fuzz/fuzz_dkim_headers.c - dkimsign's header splitter
 * (dkimsign/headers.c) on arbitrary bytes. The first byte picks eof (the
 * buffer is the whole message) or not; the rest is the message. Checks:
 * no crash or UB; every field handed out lies inside the buffer, starts
 * with a valid name and a colon, holds no NUL and no CR or LF except the
 * CRLF of a fold (CRLF then SP/HTAB); the fields, each followed by CRLF,
 * are exactly the header section the splitter claims (so nothing was
 * skipped, reordered or invented); and without eof the result is either
 * the same or HDR_TOO_BIG.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../dkimsign/headers.h"

struct walk {
	const uint8_t	*buf;
	size_t		 len;
	size_t		 pos;	/* where the next field must start */
	size_t		 n;
};

static void
check_field(const uint8_t *f, size_t n)
{
	const uint8_t *colon = memchr(f, ':', n);

	if (n == 0 || n > HDR_FIELD_MAX || colon == NULL || colon == f)
		abort();
	for (const uint8_t *p = f; p < colon; p++)
		if (*p < 33 || *p > 126)
			abort();
	for (size_t i = 0; i < n; i++) {
		if (f[i] == '\0')
			abort();
		if (f[i] == '\r' && !(i + 2 < n && f[i + 1] == '\n' &&
		    (f[i + 2] == ' ' || f[i + 2] == '\t')))
			abort();
		if (f[i] == '\n' && (i == 0 || f[i - 1] != '\r'))
			abort();
	}
}

static int
on_field(const uint8_t *f, size_t n, void *arg)
{
	struct walk *w = arg;

	if (f < w->buf || f + n > w->buf + w->len)
		abort();
	if (f != w->buf + w->pos)	/* contiguous, in order */
		abort();
	check_field(f, n);
	w->pos += n;
	/* A CRLF follows, unless this is the last line of an eof buffer. */
	if (w->pos + 2 <= w->len && w->buf[w->pos] == '\r' && w->buf[w->pos + 1] == '\n')
		w->pos += 2;
	else if (w->pos != w->len)
		abort();
	w->n++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct walk w;
	size_t off = 0, nf = 0, off2 = 0, nf2 = 0;
	enum hdr_status st, st2;
	bool eof;

	if (size == 0)
		return 0;
	eof = data[0] & 1;
	data++;
	size--;
	w = (struct walk){ data, size, 0, 0 };
	st = hdr_split(data, size, eof, on_field, &w, &off, &nf);
	if (st == HDR_CALLBACK)
		abort();
	if (st == HDR_OK) {
		if (off > size || nf != w.n || nf > HDR_FIELDS_MAX)
			abort();
		/* The fields cover the section: then the empty line, or the end. */
		if (off == size && w.pos == size)
			;
		else if (!(w.pos + 2 == off && data[w.pos] == '\r' && data[w.pos + 1] == '\n'))
			abort();
		if (!eof && off > size)
			abort();
	}
	if (eof) {
		st2 = hdr_split(data, size, false, NULL, NULL, &off2, &nf2);
		if (st == HDR_OK && st2 == HDR_OK && (off2 != off || nf2 != nf))
			abort();
		if (st2 != st && st2 != HDR_TOO_BIG)
			abort();
	}
	return 0;
}
