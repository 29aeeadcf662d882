/*
 * queue/dsn.h - RFC 3464 delivery status notifications, and their RFC 6533
 * form for internationalized mail, built in memory (see dsn.c). Pure
 * functions: no I/O, no clock, no randomness, so the unit test and the
 * fuzzer drive them directly.
 */
#ifndef HMX_QUEUE_DSN_H
#define HMX_QUEUE_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mime.h"

#define DSN_DIAG_MAX		512	/* reply text kept (= IPC_REASON_MAX) */
#define DSN_HOST_MAX		255	/* RFC 5321 4.5.3.1.2 domain */
#define DSN_STATUS_MAX		12	/* RFC 3463: "5.123.123" + NUL */
#define DSN_SUBJECT_MAX		256	/* bytes of the original subject quoted */
#define DSN_TOKEN_MAX		32	/* hex for Message-ID and boundary */

/* Why a recipient is in the report. */
enum dsn_reason {
	DSN_PERMANENT = 1,	/* 5xx from the remote, or a local permanent error */
	DSN_EXPIRED,		/* queue_lifetime passed with temporary failures */
};

/* One failed recipient; reply is hostile text (remote server or local). */
struct dsn_rcpt {
	const char	*rcpt;		/* the address as the sender gave it */
	enum dsn_reason	 reason;
	const char	*reply;		/* last reply/reason, may be NULL */
	bool		 remote;	/* it came from the relay (remote delivery);
					 * a server answered only if it is a REPLY */
};

struct dsn_input {
	const char		*hostname;	/* Reporting-MTA, From domain */
	const char		*orig_id;	/* queue id of the original */
	const char		*orig_sender;	/* gets the DSN; never "" */
	/* The original came with SMTPUTF8 (RFC 6531). It, or any UTF-8
	 * address, makes the DSN take the RFC 6533 form (dsn_is_global). */
	bool			 smtputf8;
	uint64_t		 arrival;	/* unix seconds */
	uint64_t		 now;
	uint32_t		 lifetime;	/* queue_lifetime, for the text */
	const char		*token;		/* [0-9a-f]{1,DSN_TOKEN_MAX} */
	const uint8_t		*headers;	/* original header block, raw */
	size_t			 headers_len;
	const struct dsn_rcpt	*rcpts;
	unsigned		 nrcpt;
};

/*
 * A reply or diagnosis after cleaning. The relay reports
 *	"HOST[IP]: REPLY" or "HOST: REPLY"	what the server HOST answered
 *	"REPLY"					a reply, server not named
 *	"X.Y.Z text"				its own diagnosis: no server
 *						answered (null MX, no route,
 *						connection refused, timeout)
 * where REPLY is "NNN[ X.Y.Z] text" (RFC 5321 4.2, RFC 3463 enhanced code
 * optional). Anything else (delivery's local reasons) is plain text. Only
 * a REPLY has a code; only a REPLY can name a remote MTA, so a DSN never
 * claims that a server answered when none did (RFC 3464 2.3.5, 2.3.6).
 */
struct dsn_reply {
	unsigned	code;			/* 200..599, 0 if no reply */
	char		status[DSN_STATUS_MAX];	/* "5.1.1" from either form, "" */
	char		remote_mta[DSN_HOST_MAX + 1];	/* "" if not given */
	char		text[DSN_DIAG_MAX + 1];	/* printable ASCII, one line,
						 * host prefix and a
						 * diagnosis's status removed */
};

void	dsn_parse_reply(const char *reply, size_t len, struct dsn_reply *out);

/* The RFC 3464 Status for a recipient: from the reply or diagnosis when
 * it has a usable enhanced code, else by table; an expired recipient gets
 * 4.4.7, or its diagnosis's 4.4.x when no server could be reached. out has
 * DSN_STATUS_MAX bytes. */
void	dsn_status_for(const struct dsn_reply *, enum dsn_reason,
	    char out[DSN_STATUS_MAX]);

/*
 * True if the DSN for in takes the RFC 6533 form: the original came with
 * SMTPUTF8, or its sender or a recipient has a UTF-8 local part. The
 * report is then message/global-delivery-status (a UTF-8 address as
 * "utf-8; " utf-8-addr-unitext, RFC 6533 3), the returned headers
 * message/global-headers (RFC 6533 6.3), and UTF-8 may appear raw in
 * those parts (Content-Transfer-Encoding 8bit) and in the To field.
 */
bool	dsn_is_global(const struct dsn_input *);

/*
 * Builds the whole DSN (header and body, CRLF lines, every line at most
 * MIME_LINE_MAX octets) into out, which must start zeroed. 7-bit unless
 * dsn_is_global(); then 8-bit only as valid UTF-8 without controls.
 * Returns 0, or -1 if the input is unusable (no recipient, bad token,
 * empty sender, an address that is neither printable ASCII nor, in the
 * global form, clean UTF-8) or the text would exceed TEXTBUF_MAX; out is
 * then freed.
 */
int	dsn_build(const struct dsn_input *, struct textbuf *out);

/*
 * True if the original must never get a DSN because it is itself an
 * automatic message: "Auto-Submitted:" with any value but "no" (RFC 3834
 * 5), or "Content-Type: multipart/report; report-type=delivery-status"
 * (RFC 3462). The null sender is checked by the caller.
 */
bool	dsn_headers_are_automatic(const uint8_t *headers, size_t len);

#endif
