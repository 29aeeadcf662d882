/*
 * queue/mime.h - reading and writing Internet message text (see mime.c).
 * Pure functions: no I/O, no clock.
 */
#ifndef HMX_QUEUE_MIME_H
#define HMX_QUEUE_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIME_LINE_MAX		998	/* RFC 5322 2.1.1: hard limit, w/o CRLF */
#define MIME_LINE_SOFT		78	/* RFC 5322 2.1.1: should not exceed */
#define MIME_QP_LINE		76	/* RFC 2045 6.7 (5): encoded line */
#define MIME_EW_MAX		75	/* RFC 2047 2: one encoded-word */
#define MIME_EW_BYTES		36	/* UTF-8 bytes per B encoded-word: 48 chars
					 * of base64, a 60-char word, a 69-char first
					 * line (RFC 2047 2: lines <= 76) */
#define MIME_HEADERS_MAX	32768	/* bytes of a header block we read */
#define TEXTBUF_MAX		(1024 * 1024)	/* the largest text we build */

/* A bounded, growable output buffer. Start it zeroed. */
struct textbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	bool	 overflow;	/* sticky: more than TEXTBUF_MAX was asked for */
};

void	textbuf_free(struct textbuf *);
void	textbuf_put(struct textbuf *, const void *, size_t);
void	textbuf_puts(struct textbuf *, const char *);
void	textbuf_putc(struct textbuf *, char);
/* Only for short, validated arguments: output over 1 KB overflows. */
void	textbuf_printf(struct textbuf *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Hostile bytes to one line of printable ASCII: CR, LF, TAB, NUL and other
 * controls become a space, runs of spaces collapse, 8-bit bytes become
 * '?', no leading/trailing space; at most outsize - 1 bytes.
 */
void	mime_clean_line(const char *in, size_t len, char *out, size_t outsize);

/*
 * Valid UTF-8 without controls: invalid bytes become '?', controls a
 * space, runs of spaces collapse, no leading/trailing space, cut on a
 * character boundary at max bytes. out has max + 1 bytes.
 */
void	mime_clean_utf8(const uint8_t *in, size_t len, char *out, size_t max);

/*
 * Decodes the encoded-words (RFC 2047) of a header value whose charset is
 * utf-8, us-ascii or iso-8859-1 (others stay as they are); white space
 * between two adjacent encoded-words is dropped (RFC 2047 6.2). Returns
 * the bytes written to out (at most outsize; not NUL-terminated).
 */
size_t	mime_decode_2047(const char *in, uint8_t *out, size_t outsize);

/* The header block of a message: up to and including the empty line, at
 * most MIME_HEADERS_MAX bytes (cut after the last whole line). */
size_t	mime_header_block_len(const uint8_t *msg, size_t len);

/*
 * The unfolded value of the first field called name (case-insensitive) in
 * a header block, without leading/trailing white space, copied into out
 * (NUL-terminated, cut at outsize - 1; NUL becomes a space). Returns false
 * if there is none.
 */
bool	mime_header_value(const uint8_t *headers, size_t len, const char *name,
	    char *out, size_t outsize);

/*
 * The header block as LF-terminated lines (CR before LF dropped, the empty
 * line and what follows gone) into out (len + 1 bytes are enough). *plain
 * is true if it can go out as 7bit: printable ASCII or TAB, lines of at
 * most MIME_LINE_MAX octets, no line starting with "--" (a boundary).
 */
size_t	mime_normalize_headers(const uint8_t *h, size_t len, uint8_t *out,
	    bool *plain);

/* "Name: value" folded at spaces before MIME_LINE_SOFT columns; a word too
 * long for MIME_LINE_MAX is split. value is one line of printable ASCII. */
void	mime_put_folded(struct textbuf *, const char *name, const char *value);
/* An unstructured field as B encoded-words of whole UTF-8 characters
 * (RFC 2047 4.1, 5 (3)), one per line. utf8 is clean (mime_clean_utf8). */
void	mime_put_encoded(struct textbuf *, const char *name, const char *utf8);
/* Quoted-printable (RFC 2045 6.7) of text whose lines end in LF, with
 * CRLF lines; never emits "=_", so it can not contain our boundaries. */
void	mime_put_qp(struct textbuf *, const uint8_t *, size_t);

/* "Mon, 24 Nov 2025 10:00:00 +0000" (RFC 5322 3.3); out >= 32 bytes. */
void	mime_format_date(uint64_t t, char *out, size_t outsize);

/*
 * Checks header fields to be prepended (what dkimsign answers): non-empty,
 * every line CRLF-terminated and at most MIME_LINE_MAX octets, printable
 * ASCII or HTAB, each line a "name:" field or a continuation of one, no
 * empty line.
 */
bool	mime_fields_are_clean(const char *h, size_t len);

#endif
