/*
 * relay/dotstuff.h - the DATA encoding of a message body (RFC 5321 4.5.2).
 *
 * Owns: transparency (a line that starts with "." gets one more), line
 * ends (a bare LF becomes CRLF: RFC 5321 2.3.8 forbids it on the wire) and
 * the terminator (CRLF "." CRLF, with a CRLF added first if the body did
 * not end with one). Streaming: the state carries across chunks, so the
 * body is never held in memory whole.
 */
#ifndef RELAY_DOTSTUFF_H
#define RELAY_DOTSTUFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Worst case: every byte a bare LF or a leading dot doubles. */
#define DOTSTUFF_OUT_MAX(n)	(2 * (n))
#define DOTSTUFF_FINISH_MAX	5	/* "\r\n.\r\n" */

struct dotstuff {
	bool	at_line_start;
	bool	last_was_cr;
	bool	empty;		/* nothing fed yet */
};

void	dotstuff_init(struct dotstuff *);
/* Encodes len bytes of in into out (room for DOTSTUFF_OUT_MAX(len));
 * returns the bytes written. */
size_t	dotstuff_chunk(struct dotstuff *, const uint8_t *in, size_t len,
	    uint8_t *out);
/* Writes the terminator into out (room for DOTSTUFF_FINISH_MAX). */
size_t	dotstuff_finish(const struct dotstuff *, uint8_t *out);

#endif
