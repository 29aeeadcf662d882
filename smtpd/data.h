/*
 * smtpd/data.h - the incremental DATA-stream scanner (pure).
 *
 * Owns: the one definition of "end of data" in homemx: CRLF "." CRLF, and
 * nothing else (RFC 5321 4.1.1.4). Bare LF and bare CR are data, never a
 * line end, and are reported so that the session can refuse the message
 * (the SMTP smuggling defence: a downstream MTA that treats them as line
 * ends would see a different message boundary than we did).
 */
#ifndef SMTPD_DATA_H
#define SMTPD_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Problems found in a message; the session refuses it if any is set. */
#define DATA_TOO_BIG		0x01u	/* over max_message_size: 552 5.3.4 */
#define DATA_LINE_TOO_LONG	0x02u	/* a line over 1000 octets incl. CRLF: 554 5.6.0 */
#define DATA_BARE_CR		0x04u	/* CR not followed by LF: 554 5.6.0 */
#define DATA_BARE_LF		0x08u	/* LF not preceded by CR: 554 5.6.0 */
#define DATA_NUL		0x10u	/* NUL octet: 554 5.6.0 */

enum data_state {
	DATA_BOL = 0,	/* at the start of a line (after CRLF, or after DATA) */
	DATA_DOT,	/* a line that began with "." */
	DATA_DOT_CR,	/* "." CR at the start of a line */
	DATA_TEXT,	/* inside a line */
	DATA_CR,	/* after a CR inside a line */
	DATA_DONE,	/* CRLF "." CRLF seen */
};

/* Receives the unstuffed message bytes, in order, in arbitrary pieces. */
typedef void (*data_sink_fn)(void *arg, const uint8_t *buf, size_t len);

struct data_scanner {
	enum data_state	 state;
	uint64_t	 max_size;
	uint64_t	 size;		/* unstuffed octets seen so far */
	size_t		 line_len;	/* octets of this line, without CRLF and stuffing */
	unsigned	 flags;		/* DATA_* */
	data_sink_fn	 sink;
	void		*sink_arg;
};

void	data_scanner_init(struct data_scanner *, uint64_t max_size,
	    data_sink_fn sink, void *sink_arg);

/*
 * Feeds len bytes. Returns how many were consumed: all of them, or fewer
 * when the end-of-data marker ends inside buf (the rest belongs to the next
 * command, e.g. a pipelined QUIT). The sink gets the first max_size
 * octets of the message; beyond that they are only counted.
 */
size_t	data_scanner_feed(struct data_scanner *, const uint8_t *buf, size_t len);

bool	data_scanner_done(const struct data_scanner *);

#endif
