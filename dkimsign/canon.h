/*
 * dkimsign/canon.h - the "relaxed" canonicalizations of RFC 6376 (3.4.2
 * for a header field, 3.4.4 for the body), pure and streaming (canon.c).
 */
#ifndef HMX_DKIMSIGN_CANON_H
#define HMX_DKIMSIGN_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The relaxed form of one header field: field is the name, the colon and
 * the value with its folds (CRLF then SP/HTAB), without the CRLF that ends
 * the field, as headers.c hands it out. Writes the lowercase name, ':',
 * and the value unfolded, every run of WSP made one SP, none left at its
 * start or end; then CRLF when crlf. The result is never longer than
 * len + 2, so out needs that much room (outsize); returns its length, or
 * 0 when field has no colon or out is too small.
 */
size_t	canon_header(const uint8_t *field, size_t len, bool crlf, uint8_t *out,
	    size_t outsize);

typedef void (*canon_sink)(void *arg, const uint8_t *p, size_t n);

#define CANON_OUT_BUF	4096

/*
 * The relaxed body, fed in chunks of any size (a CRLF or a run of WSP may
 * straddle two chunks): WSP at the end of a line goes, other runs of WSP
 * become one SP, empty lines at the end go. The body is taken as the
 * relay sends it (relay/dotstuff.c): LF ends a line, with or without its
 * CR; any other CR is an ordinary byte. The canonical bytes go to sink in
 * pieces of up to CANON_OUT_BUF. canon_body_finish() ends the body as it
 * is sent: a last line without its line end gets one; an empty body, or
 * one of empty lines only, is empty.
 */
struct canon_body {
	canon_sink	 sink;
	void		*arg;
	bool		 wsp;		/* WSP seen on this line, not yet written */
	bool		 cr;		/* the last byte was a CR, not yet written */
	bool		 content;	/* this line wrote something */
	uint64_t	 empty_lines;	/* held back: they count only if more follows */
	size_t		 n;
	uint8_t		 buf[CANON_OUT_BUF];
};

void	canon_body_init(struct canon_body *, canon_sink, void *arg);
void	canon_body_feed(struct canon_body *, const uint8_t *p, size_t n);
void	canon_body_finish(struct canon_body *);

#endif
