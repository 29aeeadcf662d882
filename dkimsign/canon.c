/*
 * dkimsign/canon.c - RFC 6376 "relaxed" canonicalization, header and body.
 *
 * Owns: nothing beyond the caller's struct canon_body; pure code, driven
 * by the unit tests and a fuzz target. Why our own rather than
 * libopendkim's: signer.c makes the signatures itself with keys parsed
 * once (libopendkim parses the PEM key again for every signature), and
 * the two signatures of a message share one body hash and one header
 * canonicalization here. Both algorithms are the RFC's text, step by step:
 *	header (3.4.2): lowercase the name; unfold (a CRLF inside a field is
 *	always a fold: headers.c refuses a bare CR or LF in the header);
 *	every run of WSP becomes one SP; no WSP at the end of the value, nor
 *	around the colon.
 *	body (3.4.4): no WSP at the end of a line; every other run of WSP
 *	becomes one SP; no empty line at the end; a body that does not end
 *	with CRLF gets one.
 * The body is read the way relay/dotstuff.c puts it on the wire, since
 * that is what the receiver verifies: a bare LF goes out as CRLF, a
 * message that does not end with a line end gets CRLF (a final bare CR
 * just the LF), and a bare CR elsewhere goes out as is, an ordinary byte.
 * WSP is SP or HTAB (RFC 5234), nothing else: libopendkim's verifier
 * also takes VT and FF for whitespace (isspace()), dkimpy does not; we
 * follow the RFC (tests/fuzz/fuzz_dkim_sign.c checks the rest against
 * libopendkim).
 */
#include <string.h>

#include "canon.h"

static bool
is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

/* ---- header -------------------------------------------------------------- */

size_t
canon_header(const uint8_t *field, size_t len, bool crlf, uint8_t *out,
    size_t outsize)
{
	const uint8_t *colon = memchr(field, ':', len);
	size_t o = 0, name_end;
	bool wsp = false, started = false;

	if (colon == NULL || outsize < len + 2)
		return 0;
	name_end = (size_t)(colon - field);
	while (name_end > 0 && is_wsp(field[name_end - 1]))
		name_end--;
	for (size_t i = 0; i < name_end; i++)
		out[o++] = lower(field[i]);
	out[o++] = ':';
	for (const uint8_t *p = colon + 1; p < field + len; p++) {
		if (*p == '\r' || *p == '\n')
			continue;		/* unfold */
		if (is_wsp(*p)) {
			wsp = true;
			continue;
		}
		/* A run of WSP counts only between two value bytes. */
		if (wsp && started)
			out[o++] = ' ';
		wsp = false;
		started = true;
		out[o++] = *p;
	}
	if (crlf) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	return o;
}

/* ---- body ---------------------------------------------------------------- */

void
canon_body_init(struct canon_body *b, canon_sink sink, void *arg)
{
	memset(b, 0, sizeof(*b));
	b->sink = sink;
	b->arg = arg;
}

static void
out_flush(struct canon_body *b)
{
	if (b->n > 0)
		b->sink(b->arg, b->buf, b->n);
	b->n = 0;
}

static void
out_byte(struct canon_body *b, uint8_t c)
{
	if (b->n == sizeof(b->buf))
		out_flush(b);
	b->buf[b->n++] = c;
}

static void
out_crlf(struct canon_body *b)
{
	out_byte(b, '\r');
	out_byte(b, '\n');
}

/* A byte that is neither WSP nor a line end: whatever was held back
 * before it counts now. */
static void
emit(struct canon_body *b, uint8_t c)
{
	for (; b->empty_lines > 0; b->empty_lines--)
		out_crlf(b);
	if (b->wsp)
		out_byte(b, ' ');
	b->wsp = false;
	b->content = true;
	out_byte(b, c);
}

static void
end_line(struct canon_body *b)
{
	b->wsp = false;			/* WSP at the end of a line goes */
	if (b->content)
		out_crlf(b);
	else
		b->empty_lines++;	/* written only if a non-empty line follows */
	b->content = false;
}

void
canon_body_feed(struct canon_body *b, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c == '\n') {		/* CRLF, or a bare LF sent as CRLF */
			b->cr = false;
			end_line(b);
			continue;
		}
		if (b->cr) {
			b->cr = false;
			emit(b, '\r');	/* a bare CR is an ordinary byte */
		}
		if (c == '\r')
			b->cr = true;
		else if (is_wsp(c))
			b->wsp = true;
		else
			emit(b, c);
	}
}

void
canon_body_finish(struct canon_body *b)
{
	/* The line end the relay completes or adds (relay/dotstuff.c). */
	if (b->cr || b->content || b->wsp)
		end_line(b);
	b->cr = b->content = b->wsp = false;
	b->empty_lines = 0;
	out_flush(b);
}
