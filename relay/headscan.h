/*
 * relay/headscan.h - is a message's header section all ASCII? The answer
 * decides whether a message that came with SMTPUTF8 may be sent on without
 * it (RFC 6531 3.2: only a message that needs none of its extensions).
 *
 * Owns: nothing beyond the caller's struct headscan; the scan is
 * incremental so the spool file can be read in chunks, and bounded so a
 * huge header section costs a known amount of reading.
 */
#ifndef RELAY_HEADSCAN_H
#define RELAY_HEADSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Header sections larger than this are not read to the end: the message
 * keeps needing SMTPUTF8 (the safe answer). */
#define HEADSCAN_MAX	(256 * 1024)

enum headscan_result {
	HEADSCAN_MORE,		/* give it more bytes */
	HEADSCAN_ASCII,		/* the header section ended, all ASCII */
	HEADSCAN_8BIT,		/* a byte >= 0x80 before the end of the headers */
	HEADSCAN_TOO_LONG,	/* HEADSCAN_MAX bytes and no end of the headers */
};

struct headscan {
	size_t			seen;		/* bytes fed so far */
	size_t			line_len;	/* bytes of the current line, CR not counted */
	enum headscan_result	result;
};

void			headscan_init(struct headscan *);
/* Feeds len more bytes; the result stays once it is not HEADSCAN_MORE. */
enum headscan_result	headscan_feed(struct headscan *, const uint8_t *, size_t len);
/* The end of the file: a message with no empty line is all header. */
enum headscan_result	headscan_finish(struct headscan *);
/* Reads fd with pread from offset 0, at most HEADSCAN_MAX bytes. True if
 * the header section is all ASCII; false on 8-bit, too long, or a read
 * error (the message then keeps its SMTPUTF8 requirement). */
bool			headscan_fd_is_ascii(int fd);

#endif
