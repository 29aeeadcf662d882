/*
 * submission/headers.h - the header section of a submitted message (RFC 5322):
 * a streaming scanner that finds its end and the fields RFC 6409 cares
 * about, the From: address-list parser, the completion fields we add, and
 * the check of the DKIM-Signature fields dkimsign hands back.
 *
 * Owns: where the header section of a submitted message ends, and so
 * where missing Message-ID:/Date: fields go (at its end, like Postfix's
 * cleanup). Pure: bytes in, bytes out through a callback; no I/O of its own.
 */
#ifndef SUBMISSION_HEADERS_H
#define SUBMISSION_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"

#define HEADER_LINE_MAX		1000	/* RFC 5322 2.1.1: 998 + CRLF */
#define HEADER_NAME_MAX		76	/* a field name longer than this is not one we track */
#define FROM_VALUE_MAX		4096	/* unfolded From: value we keep */
#define FROM_ADDRS_MAX		8	/* addresses in one From: we check */
#define MESSAGE_ID_MAX		(ADDR_DOMAIN_MAX + 64)
#define ADDED_HEADERS_MAX	(MESSAGE_ID_MAX + 80)	/* Message-ID: + Date: */

/* Receives the bytes that go on, in order. */
typedef void (*header_emit_fn)(void *arg, const uint8_t *buf, size_t len);
/* Called once, where the header section ends: the place to add fields.
 * body_without_blank: the body started without the empty line, so the
 * caller must write one after its fields. */
typedef void (*header_end_fn)(void *arg, bool body_without_blank);

struct header_scan {
	uint8_t		 line[HEADER_LINE_MAX];
	size_t		 linelen;
	bool		 done;		/* the header section has ended */
	bool		 in_from;	/* the current field is From: (for folding) */
	unsigned	 nfrom;		/* From: fields seen */
	bool		 has_date;
	bool		 has_message_id;
	char		 from[FROM_VALUE_MAX + 1];	/* first From: value, unfolded */
	size_t		 fromlen;
	bool		 from_overflow;
	header_emit_fn	 emit;
	header_end_fn	 end;
	void		*arg;
};

void	header_scan_init(struct header_scan *, header_emit_fn, header_end_fn, void *arg);
/* Feeds the unstuffed message bytes; emits them (held back at most one
 * line) and calls end() once where the header section ends. */
void	header_scan_feed(struct header_scan *, const uint8_t *buf, size_t len);
/* The message is complete: emits what is held back and, if the message
 * had no body at all, calls end() at its very end. */
void	header_scan_finish(struct header_scan *);

enum from_status {
	FROM_OK = 0,
	FROM_MISSING,		/* no From: field */
	FROM_DUPLICATE,		/* more than one From: field (RFC 5322 3.6) */
	FROM_SYNTAX,		/* not a mailbox-list we can read */
	FROM_TOO_MANY,		/* over FROM_ADDRS_MAX addresses */
	FROM_TOO_LONG,		/* the value is over FROM_VALUE_MAX */
};

const char	*from_status_text(enum from_status);

/*
 * Parses an RFC 5322 mailbox-list (the From: value, unfolded): name-addr
 * ("Kim <kim@example.test>") or addr-spec, comma-separated, with comments
 * and quoted strings. For a name-addr only the angle address counts, never
 * the display name. Each address must also be a valid RFC 5321 mailbox;
 * it is written canonical (addr_format) into addrs.
 */
enum from_status header_parse_from(const char *value, size_t len,
		    char addrs[][ADDR_MAX + 1], size_t max, size_t *n);

/* The scan's verdict on From: (field count, length), then the parse. */
enum from_status header_scan_from(const struct header_scan *,
		    char addrs[][ADDR_MAX + 1], size_t max, size_t *n);

/*
 * RFC 6409 8.2/8.3: the fields a submission server adds when missing.
 * id_left is the unique left part of the Message-ID. Returns the length
 * written (CRLF-terminated fields), 0 if nothing is missing or it does
 * not fit.
 */
size_t	header_render_missing(const struct header_scan *, const char *id_left,
	    const char *hostname, time_t now, char *buf, size_t size);

/*
 * True if text (len bytes) is one or more complete header fields: each
 * line CRLF-terminated, no other CR or LF, no NUL, no empty line, at most
 * HEADER_LINE_MAX octets per line, and the first line a "name:" line. For
 * the fields dkimsign asks us to prepend: they must not be able to end
 * the header section or smuggle a body.
 */
bool	header_fields_are_valid(const char *text, size_t len);

#endif
