/*
 * queue/envelope.h - the envelope file: what the queue remembers about one
 * spooled message besides its body.
 *
 * Owns: the in-memory shape of an envelope and its text form on disk. The
 * parser and the writer are pure (no I/O), so the unit test and the fuzzer
 * drive them directly. Format (version 1), one record per line, LF only:
 *
 *	homemx-envelope 1
 *	id 6561f0c2a1b2c3d4
 *	arrival 1700000000
 *	source smtp
 *	client_ip 192.0.2.7
 *	helo mail.example.net
 *	sender <a@example.net>		("sender <>" is the null sender)
 *	rcpt <kim+tag@example.test>	(one line per recipient still pending)
 *	attempts 0
 *	next_attempt 1700000000
 *	end
 *
 * A record is "key" or "key SP value"; the value is the rest of the line,
 * printable ASCII (0x20..0x7e). Every key but rcpt appears at most once
 * (all of the above exactly once), the version line is first and the end
 * record is last, followed by nothing. A file that breaks any of these
 * rules is corrupt, never half-read.
 *
 * Version 2 adds one optional record, before the end record:
 *	hold dkim		not to be delivered until it is DKIM-signed
 *				(a DSN the queue wrote itself: queue/sign.c)
 *
 * Version 3, the only one written now, is what makes the one-flush commit
 * of queue/spool.c provable: the file is created in place, so a crash can
 * leave any prefix of it, and the end record says how much is whole:
 *	size 1234		optional: the byte size of the body (<ID>.msg)
 *				when the envelope was committed
 *	end 321 0a1b2c3d	LEN CRC: the number of bytes before this line,
 *				and their CRC-32C (Castagnoli, RFC 3720
 *				appendix B.4) in 8 lowercase hex digits
 * Version 4 adds one optional record, before the end record, and is
 * written only for a file that has it (others stay version 3):
 *	held 1700000000		held by the administrator (`mxctl queue hold`)
 *				since this unix time: no delivery until
 *				`mxctl queue release`; it survives a restart
 * Version 5 adds one optional record, before the end record, and is
 * written only for a file that has it:
 *	smtputf8		the message came with SMTPUTF8 (RFC 6531 3.4):
 *				sender and rcpt values may be UTF-8 (NFC local
 *				part, A-label domain; lib/addr_intl.h), and the
 *				relay needs a next hop that offers SMTPUTF8
 * Version 6 adds one optional record, before the end record, and is
 * written only for a file that has it:
 *	last_error 451 4.7.1 try later	why the last delivery attempt was
 *				deferred, for `mxctl queue list/show` after a
 *				restart: one line of printable ASCII, at most
 *				IPC_REASON_MAX bytes (envelope_set_last_error()
 *				cleans what a remote server said)
 * Versions 1 and 2 end with a bare "end" and are still read (their files
 * were renamed into place complete). envelope_is_torn() tells a version-3
 * file cut short (no end record that matches) from one that is corrupt.
 */
#ifndef HMX_QUEUE_ENVELOPE_H
#define HMX_QUEUE_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc_decode.h"

#define ENVELOPE_MAGIC		"homemx-envelope"
#define ENVELOPE_VERSION	6	/* the newest: 6 with last_error, 5 with smtputf8, 4 when held, else 3; 1 and 2 are still read */
/* 10 fixed lines plus IPC_MAX_RCPTS lines of "rcpt <" ADDR_MAX ">". */
#define ENVELOPE_TEXT_MAX	65536
#define ENVELOPE_LINE_MAX	(IPC_REASON_MAX + 16)	/* longest legal record: last_error */
_Static_assert(ADDR_MAX + 16 <= ENVELOPE_LINE_MAX, "a rcpt record fits a line");
#define ENVELOPE_TIME_MAX	UINT64_C(253402300799)	/* 9999-12-31 */
#define ENVELOPE_ATTEMPTS_MAX	1000000
#define ENVELOPE_SIZE_MAX	(UINT64_C(1) << 48)	/* bytes: beyond any body */

enum envelope_hold {
	ENVELOPE_HOLD_NONE = 0,
	ENVELOPE_HOLD_DKIM,	/* sign first (queue/sign.c), then deliver */
};

struct envelope {
	char		 id[QUEUE_ID_SIZE];
	uint64_t	 arrival;		/* unix seconds */
	enum msg_source	 source;
	char		 client_ip[IP_TEXT_MAX];
	char		 helo[HELO_MAX + 1];
	char		 sender[ADDR_MAX + 1];	/* "" = null sender */
	unsigned	 nrcpt;			/* 1..IPC_MAX_RCPTS */
	char		(*rcpt)[ADDR_MAX + 1];	/* malloc'd, nrcpt entries */
	uint32_t	 attempts;
	uint64_t	 next_attempt;		/* unix seconds */
	enum envelope_hold hold;		/* version 2 */
	bool		 has_body_size;		/* version 3 "size" */
	uint64_t	 body_size;		/* bytes, if has_body_size */
	uint64_t	 held_since;		/* version 4 "held": 0 = not held */
	bool		 smtputf8;		/* version 5 "smtputf8" */
	char		 last_error[IPC_REASON_MAX + 1];	/* version 6: "" = none */
};

enum envelope_status {
	ENVELOPE_OK = 0,
	ENVELOPE_TOO_LONG,	/* file larger than ENVELOPE_TEXT_MAX */
	ENVELOPE_BAD_VERSION,	/* first line is not "homemx-envelope 1|2" */
	ENVELOPE_NO_END,	/* truncated: no final "end" record */
	ENVELOPE_BAD_END,	/* version 3: length or checksum does not match */
	ENVELOPE_TRAILING,	/* bytes after "end" */
	ENVELOPE_BAD_LINE,	/* control byte, CR, empty line, "key " */
	ENVELOPE_UNKNOWN_KEY,
	ENVELOPE_DUPLICATE,	/* a once-only key seen twice */
	ENVELOPE_MISSING,	/* a required key absent */
	ENVELOPE_BAD_VALUE,	/* a value that does not parse */
	ENVELOPE_TOO_MANY_RCPTS,
	ENVELOPE_NOMEM,
};

const char		*envelope_status_text(enum envelope_status);
const char		*envelope_source_name(enum msg_source);

/*
 * Parses len bytes. On ENVELOPE_OK *out is filled (free with
 * envelope_free); otherwise *out holds nothing to free and *errline is the
 * 1-based line of the first problem (0 if not tied to a line).
 */
enum envelope_status	 envelope_parse(const char *buf, size_t len,
			    struct envelope *out, unsigned *errline);

/*
 * Writes the text form of e into buf (size bytes, not NUL-terminated) and
 * sets *outlen. Returns -1 if a field is invalid (a value with a byte
 * outside 0x20..0x7e, an id that is not a queue id, no recipient) or the
 * text does not fit.
 */
int			 envelope_format(const struct envelope *e, char *buf,
			    size_t size, size_t *outlen);

/*
 * True if buf is what a crash can leave of a version-3 envelope that was
 * being written: empty, a prefix of the version line, or a version-3 file
 * whose last line is not an end record matching the bytes before it. A
 * version-1/2 file or junk is never "torn": it is corrupt.
 */
bool			 envelope_is_torn(const char *buf, size_t len);

/* CRC-32C of len bytes (the end record's checksum). */
uint32_t		 envelope_crc32c(const char *buf, size_t len);

/*
 * Sets e->last_error to reason made fit for the file: one line of
 * printable ASCII (a control byte, CR, LF, TAB or a byte over 0x7e becomes
 * a space, runs of spaces become one, none at either end), cut to
 * IPC_REASON_MAX bytes. NULL or nothing left: no last error.
 */
void			 envelope_set_last_error(struct envelope *, const char *reason);

/* Copies src into dst with its own recipient array; -1 on ENOMEM. */
int			 envelope_copy(struct envelope *dst, const struct envelope *src);
/* Removes recipient i (order of the others is kept). */
void			 envelope_remove_rcpt(struct envelope *, unsigned i);
void			 envelope_free(struct envelope *);

#endif
