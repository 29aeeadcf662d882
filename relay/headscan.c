/*
 * relay/headscan.c - whether a message's header section is all ASCII (see
 * headscan.h).
 *
 * Owns: no state of its own; the caller holds struct headscan.
 * The header section ends at the first empty line (RFC 5322 2.1); the
 * spool holds CRLF, but a bare LF ends a line too, as relay/dotstuff.c
 * treats it, so "\n\n" also ends the headers. A CR does not count toward
 * a line's length: "\r\n" alone is the empty line. Only the header section
 * is looked at: an 8-bit body needs 8BITMIME at most, never SMTPUTF8
 * (RFC 6531 3.2, RFC 6152).
 */
#include <errno.h>
#include <unistd.h>

#include "headscan.h"

#define SCAN_CHUNK	16384

void
headscan_init(struct headscan *h)
{
	h->seen = 0;
	h->line_len = 0;
	h->result = HEADSCAN_MORE;
}

enum headscan_result
headscan_feed(struct headscan *h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len && h->result == HEADSCAN_MORE; i++) {
		if (h->seen++ >= HEADSCAN_MAX) {
			h->result = HEADSCAN_TOO_LONG;
			break;
		}
		if (p[i] >= 0x80)
			h->result = HEADSCAN_8BIT;
		else if (p[i] == '\n' && h->line_len == 0)
			h->result = HEADSCAN_ASCII;
		else if (p[i] == '\n')
			h->line_len = 0;
		else if (p[i] != '\r')
			h->line_len++;
	}
	return h->result;
}

enum headscan_result
headscan_finish(struct headscan *h)
{
	if (h->result == HEADSCAN_MORE)
		h->result = HEADSCAN_ASCII;
	return h->result;
}

bool
headscan_fd_is_ascii(int fd)
{
	uint8_t buf[SCAN_CHUNK];
	struct headscan h;
	off_t off = 0;

	headscan_init(&h);
	while (h.result == HEADSCAN_MORE) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return false;
		if (n == 0) {
			headscan_finish(&h);
			break;
		}
		headscan_feed(&h, buf, (size_t)n);
		off += n;
	}
	return h.result == HEADSCAN_ASCII;
}
