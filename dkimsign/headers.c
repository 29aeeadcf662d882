/*
 * dkimsign/headers.c - the header splitter: header section in, one field
 * at a time out, for the signer (signer.c).
 *
 * Owns: the rule for what header section dkimsign agrees to sign. A
 * field is a line that starts with a name (printable ASCII but ':', RFC
 * 5322 3.6.8) and a colon, and every following line that starts with SP
 * or HTAB (a fold, RFC 5322 2.2.3). The section ends at the first empty
 * line. Everything else is refused rather than guessed at: a bare CR or
 * LF, a NUL, a line without a colon, a fold before the first field, and
 * the obsolete WSP between name and colon (RFC 5322 4.5.8: libopendkim
 * signs "From :" as From, dkimpy does not see a From in it; measured).
 * Why refuse: the signature is computed
 * over what we think the fields are; a receiver that splits the same bytes
 * differently sees a broken signature, or worse, a signed header we never
 * meant to sign. Mail from our own smtpd/submission is CRLF-clean anyway.
 * This file is pure (no I/O, no crypto) so the fuzzer can drive it.
 */
#include <string.h>

#include "headers.h"

struct hdr_scan {
	const uint8_t	*buf;
	hdr_field_cb	 cb;
	void		*arg;
	size_t		 start;		/* of the pending field */
	size_t		 end;		/* of its last line, before CRLF */
	bool		 pending;
	size_t		 nfields;
};

static const char *const status_text[] = {
	[HDR_OK] = "ok",
	[HDR_BAD_EOL] = "bare CR or LF in the header",
	[HDR_NUL] = "NUL byte in the header",
	[HDR_NO_COLON] = "header line without a colon",
	[HDR_BAD_NAME] = "bad header field name",
	[HDR_LEADING_FOLD] = "folded line before the first header field",
	[HDR_FIELD_TOO_LONG] = "header field too long",
	[HDR_TOO_MANY] = "too many header fields",
	[HDR_TOO_BIG] = "header section too big",
	[HDR_CALLBACK] = "stopped by the signer",
};

const char *
hdr_status_text(enum hdr_status s)
{
	if ((size_t)s >= sizeof(status_text) / sizeof(status_text[0]))
		return "unknown";
	return status_text[s];
}

static bool
is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* The bytes of one line, CRLF excluded: no CR, LF or NUL may remain. */
static enum hdr_status
check_line_bytes(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\0')
			return HDR_NUL;
		if (p[i] == '\r' || p[i] == '\n')
			return HDR_BAD_EOL;
	}
	return HDR_OK;
}

static enum hdr_status
check_field_name(const uint8_t *line, size_t n)
{
	const uint8_t *colon = memchr(line, ':', n);
	size_t name_len;

	if (colon == NULL)
		return HDR_NO_COLON;
	name_len = (size_t)(colon - line);
	if (name_len == 0)
		return HDR_BAD_NAME;
	for (size_t i = 0; i < name_len; i++)
		if (line[i] < 33 || line[i] > 126)
			return HDR_BAD_NAME;
	return HDR_OK;
}

static enum hdr_status
emit_pending(struct hdr_scan *s)
{
	if (!s->pending)
		return HDR_OK;
	s->pending = false;
	if (s->cb != NULL && s->cb(s->buf + s->start, s->end - s->start, s->arg) == -1)
		return HDR_CALLBACK;
	return HDR_OK;
}

/* One line [pos, pos + n) of the header section, known not to be empty. */
static enum hdr_status
take_line(struct hdr_scan *s, size_t pos, size_t n)
{
	enum hdr_status st;

	if ((st = check_line_bytes(s->buf + pos, n)) != HDR_OK)
		return st;
	if (is_wsp(s->buf[pos])) {
		if (!s->pending)
			return HDR_LEADING_FOLD;
		if (pos + n - s->start > HDR_FIELD_MAX)
			return HDR_FIELD_TOO_LONG;
		s->end = pos + n;
		return HDR_OK;
	}
	if ((st = emit_pending(s)) != HDR_OK)
		return st;
	if ((st = check_field_name(s->buf + pos, n)) != HDR_OK)
		return st;
	if (n > HDR_FIELD_MAX)
		return HDR_FIELD_TOO_LONG;
	if (++s->nfields > HDR_FIELDS_MAX)
		return HDR_TOO_MANY;
	s->pending = true;
	s->start = pos;
	s->end = pos + n;
	return HDR_OK;
}

enum hdr_status
hdr_split(const uint8_t *buf, size_t len, bool eof, hdr_field_cb cb, void *arg,
    size_t *body_off, size_t *nfields)
{
	struct hdr_scan s = { buf, cb, arg, 0, 0, false, 0 };
	enum hdr_status st;
	size_t pos = 0;

	for (;;) {
		const uint8_t *lf = pos < len ? memchr(buf + pos, '\n', len - pos) : NULL;
		size_t n;

		if (lf == NULL) {
			/* The last line of a message that has no body. */
			if (!eof)
				return HDR_TOO_BIG;
			if (pos < len && (st = take_line(&s, pos, len - pos)) != HDR_OK)
				return st;
			pos = len;
			break;
		}
		n = (size_t)(lf - (buf + pos));
		if (n == 0 || buf[pos + n - 1] != '\r')
			return HDR_BAD_EOL;
		n--;			/* without the CR */
		if (n == 0) {		/* the empty line: the body follows */
			pos += 2;
			break;
		}
		if ((st = take_line(&s, pos, n)) != HDR_OK)
			return st;
		pos += n + 2;
	}
	if ((st = emit_pending(&s)) != HDR_OK)
		return st;
	*body_off = pos;
	*nfields = s.nfields;
	return HDR_OK;
}
