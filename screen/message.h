/*
 * screen/message.h - one received message as the end-of-DATA checks see
 * it: an index of its header fields, its From: domains, and its body read
 * in chunks.
 *
 * Owns: the rules for splitting a message (CRLF lines as received,
 * dot-unstuffed: the spool file smtpd wrote) into header fields and body,
 * the limits of that index, and the results a check keeps across the
 * rounds of one evaluation (the DKIM memo). The checks (screen/checks.h)
 * read a message only through this file.
 *
 * Why an index of offsets over one read-only copy of the header section:
 * the checks need the exact bytes (DKIM hashes them, the
 * Authentication-Results finder returns byte ranges to remove), they run
 * again every round, and a hostile message must cost bounded memory. So
 * the header section is read once, up to MSG_HEADER_MAX bytes and
 * MSG_FIELDS_MAX fields; the body is never held, it is read with pread()
 * in chunks when DKIM needs it.
 *
 * Beyond the limits: indexing stops, `oversize` is set, and the fields
 * that did not fit are not seen by any check. check_headers scores that
 * (header_oversize) and check_dkim verifies nothing in such a message: a
 * header section of that size is not mail that needs the benefit of the
 * doubt. A line of the header section that is not a field (no colon, a
 * name with a space, a continuation line with nothing to continue) is
 * skipped and sets `malformed`; indexing goes on after it, so that a field
 * hidden behind such a line (a forged Authentication-Results) is still
 * found.
 */
#ifndef SCREEN_MESSAGE_H
#define SCREEN_MESSAGE_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "dnsview.h"
#include "score.h"

#define MSG_HEADER_MAX		(256 * 1024)	/* header section bytes indexed */
#define MSG_FIELDS_MAX		1000		/* header fields indexed */
#define MSG_FROM_DOMAINS_MAX	SCORE_DMARC_MAX	/* distinct From: domains kept */
#define MSG_MAILBOX_MAX		512		/* one From: mailbox, comments removed */

/* One header field. Offsets count from the first byte of the message,
 * which is also the first byte of the header section. */
struct msg_field {
	size_t	off;		/* the first byte of the name */
	size_t	name_len;	/* the name, without WSP before the colon */
	size_t	value_off;	/* the first byte after the colon */
	size_t	len;		/* name to the end of the last line, without
				 * that line's CRLF; folds stay inside */
	size_t	end;		/* the first byte after the final CRLF */
};

enum msg_from_status {
	MSG_FROM_OK = 0,
	MSG_FROM_NONE,		/* no From field, or no address in any (a group) */
	MSG_FROM_INVALID,	/* an address that does not parse, or whose
				 * domain is not a domain name (a literal) */
	MSG_FROM_TOO_MANY,	/* more than MSG_FROM_DOMAINS_MAX domains */
};

/* RFC 5322 3.6.2's author: the domains of every mailbox of every From
 * field, lowercase A-labels, each once, in order of appearance. A mailbox
 * that does not parse adds every "@domain" in its bytes instead (status
 * MSG_FROM_INVALID): a lenient mail reader may show any of them, so DMARC
 * and the forgery check look at all. */
struct msg_from {
	enum msg_from_status	status;
	size_t			nfields;
	size_t			nmailboxes;
	size_t			ndomains;
	char			domain[MSG_FROM_DOMAINS_MAX][ADDR_DOMAIN_MAX + 1];
};

/*
 * check_dkim's result, kept so that a later round of the same evaluation
 * does not verify again (screen/dkimverify.c). Valid while the key
 * answers it was computed from are the same: their names and a digest of
 * the answers.
 */
struct msg_dkim_memo {
	bool			valid;
	unsigned		verifications;	/* libopendkim runs (tests read it) */
	size_t			nkeys;
	char			key[SCORE_DKIM_MAX][DV_NAME_MAX + 1];
	unsigned char		digest[32];	/* SHA-256 of the key answers */
	size_t			nsigs;
	struct score_dkim	sig[SCORE_DKIM_MAX];
};

struct screen_message {
	int			 fd;		/* borrowed: the caller closes it */
	uint64_t		 size;		/* the whole message */
	char			*hdr;		/* the header section as read */
	size_t			 hdr_len;
	struct msg_field	*field;
	size_t			 nfields;
	uint64_t		 body_off;	/* the first body byte (== size
						 * when there is no body) */
	bool			 has_separator;	/* an empty line ended the header */
	bool			 oversize;	/* a limit stopped the index */
	bool			 malformed;	/* a line that is not a field */
	bool			 eight_bit;	/* a byte >= 0x80 in the header */
	struct msg_from		 from;
	/* Mutable through a const message: the checks get the message as
	 * const (screen_env.msg) but keep their memo here. */
	struct msg_dkim_memo	*dkim_memo;
};

/*
 * Reads and indexes the message in fd (read-only; the offset is not
 * used: pread only). Returns NULL with *why set when the file cannot be
 * read or memory runs out; any content, however broken, gives a message.
 */
struct screen_message	*screen_message_open(int fd, const char **why);
void			 screen_message_free(struct screen_message *);

/* True if field f is named name (ASCII, case-insensitive). */
bool	msg_field_is(const struct screen_message *, const struct msg_field *,
	    const char *name);
size_t	msg_field_count(const struct screen_message *, const char *name);
/* The nth (0-based) field named name, top down; NULL if fewer. */
const struct msg_field *msg_field_nth(const struct screen_message *,
	    const char *name, size_t nth);
/* The field's value: the bytes after the colon, folds included. */
const char *msg_field_value(const struct screen_message *,
	    const struct msg_field *, size_t *len);

uint64_t msg_body_size(const struct screen_message *);
/* Up to len body bytes from body offset off; 0 at the end, -1 on error. */
ssize_t	msg_body_read(const struct screen_message *, uint64_t off, void *buf,
	    size_t len);

/* Adds the mailboxes of one From field value to from (exposed for the
 * unit tests and the fuzzer; screen_message_open calls it per field). */
void	msg_from_parse(const char *value, size_t len, struct msg_from *);

#endif
