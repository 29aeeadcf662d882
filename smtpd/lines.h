/*
 * smtpd/lines.h - cutting the client's command stream into lines, and
 * telling a mail client from an HTTP client or a TLS ClientHello.
 *
 * Owns: the one definition of a command line in homemx: bytes up to CRLF,
 * and only CRLF (RFC 5321 2.3.8). A bare LF or CR never ends a line, so
 * "NOOP\nMAIL FROM:<x>\r\n" is one line - a bad one - and never two
 * commands. Works on the session's input evbuffer; no session state of its
 * own beyond the caller's "discarding" flag, so the unit tests and the
 * fuzzer drive it directly.
 */
#ifndef SMTPD_LINES_H
#define SMTPD_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;

enum line_status {
	LINE_NONE = 0,		/* no complete line yet */
	LINE_OK,		/* out holds one line, without its CRLF */
	LINE_TOO_LONG,		/* a line over max: refuse it once; if *discarding
				 * stays true, its rest is dropped as it comes */
	LINE_TOO_LONG_END,	/* the CRLF of a line already refused */
	LINE_BARE_NEWLINE,	/* a whole line holding a bare CR or LF: refuse */
};

/*
 * Takes at most one line from in. max counts the CRLF (RFC 5321
 * 4.5.3.1.4: 512 for a command line). out must hold max bytes; *outlen is
 * set for LINE_OK and LINE_BARE_NEWLINE. *discarding carries "inside a
 * refused over-long line" from one call to the next.
 */
enum line_status line_take(struct evbuffer *in, size_t max, bool *discarding,
		    char *out, size_t *outlen);

enum probe_verdict {
	PROBE_NEED_MORE = 0,	/* the bytes so far could still be either */
	PROBE_SMTP,		/* not HTTP, not TLS: go on as SMTP */
	PROBE_HTTP,		/* "GET ", "POST ", "CONNECT ", ... */
	PROBE_TLS,		/* a TLS handshake record: 0x16 0x03 */
};

/* The first bytes a client sent on a plaintext port. Methods are matched
 * case-insensitively and must be followed by a space. */
enum probe_verdict probe_classify(const uint8_t *buf, size_t len);
const char	*probe_reason(enum probe_verdict);

/* How many leading bytes probe_classify() ever needs. */
#define PROBE_MAX	8

#endif
