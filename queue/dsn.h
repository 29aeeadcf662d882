/*
 * queue/dsn.h - RFC 3464 delivery status notifications, built in memory
 * (see dsn.c). Pure functions: no I/O, no clock, no randomness, so the unit
 * test and the fuzzer drive them directly.
 */
#ifndef HMX_QUEUE_DSN_H
#define HMX_QUEUE_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DSN_LINE_MAX		998	/* RFC 5322 2.1.1: hard limit, w/o CRLF */
#define DSN_LINE_SOFT		78	/* RFC 5322 2.1.1: should not exceed */
#define DSN_QP_LINE		76	/* RFC 2045 6.7 (5): encoded line */
#define DSN_EW_MAX		75	/* RFC 2047 2: one encoded-word */
#define DSN_EW_BYTES		36	/* UTF-8 bytes per B encoded-word: 48 chars
					 * of base64, a 60-char word, a 69-char first
					 * line (RFC 2047 2: lines <= 76) */
#define DSN_DIAG_MAX		512	/* reply text kept (= IPC_REASON_MAX) */
#define DSN_HOST_MAX		255	/* RFC 5321 4.5.3.1.2 domain */
#define DSN_STATUS_MAX		12	/* RFC 3463: "5.123.123" + NUL */
#define DSN_SUBJECT_MAX		256	/* bytes of the original subject quoted */
#define DSN_HEADERS_MAX		32768	/* bytes of original headers returned */
#define DSN_TEXT_MAX		(1024 * 1024)	/* the whole DSN, worst case ~600K */
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
	bool		 remote;	/* the reply came from a remote server */
};

struct dsn_input {
	const char		*hostname;	/* Reporting-MTA, From domain */
	const char		*orig_id;	/* queue id of the original */
	const char		*orig_sender;	/* gets the DSN; never "" */
	uint64_t		 arrival;	/* unix seconds */
	uint64_t		 now;
	uint32_t		 lifetime;	/* queue_lifetime, for the text */
	const char		*token;		/* [0-9a-f]{1,DSN_TOKEN_MAX} */
	const uint8_t		*headers;	/* original header block, raw */
	size_t			 headers_len;
	const struct dsn_rcpt	*rcpts;
	unsigned		 nrcpt;
};

/* A bounded, growable output buffer. */
struct dsn_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	bool	 overflow;	/* sticky: more than DSN_TEXT_MAX was asked for */
};

void	dsn_buf_free(struct dsn_buf *);

/*
 * A remote reply after cleaning. The relay reports a remote answer as
 * "HOST: REPLY" or "HOST[IP]: REPLY" (HOST = the MX it talked to) or as
 * the bare REPLY; anything else is kept as plain text. REPLY is
 * "NNN[ X.Y.Z] text" (RFC 5321 4.2, RFC 3463 enhanced code optional).
 */
struct dsn_reply {
	unsigned	code;			/* 200..599, 0 if none */
	char		status[DSN_STATUS_MAX];	/* "5.1.1" from the reply, "" */
	char		remote_mta[DSN_HOST_MAX + 1];	/* "" if not given */
	char		text[DSN_DIAG_MAX + 1];	/* printable ASCII, one line,
						 * host prefix removed */
};

void	dsn_parse_reply(const char *reply, size_t len, struct dsn_reply *out);

/* The RFC 3464 Status for a recipient: from the reply when it has a
 * usable enhanced code, else by table. out has DSN_STATUS_MAX bytes. */
void	dsn_status_for(const struct dsn_reply *, enum dsn_reason,
	    char out[DSN_STATUS_MAX]);

/*
 * Builds the whole DSN (header and body, CRLF lines, 7-bit, every line at
 * most DSN_LINE_MAX octets) into out, which must start zeroed. Returns 0,
 * or -1 if the input is unusable (no recipient, bad token, empty sender)
 * or the text would exceed DSN_TEXT_MAX; out is then freed.
 */
int	dsn_build(const struct dsn_input *, struct dsn_buf *out);

/*
 * True if the original must never get a DSN because it is itself an
 * automatic message: "Auto-Submitted:" with any value but "no" (RFC 3834
 * 5), or "Content-Type: multipart/report; report-type=delivery-status"
 * (RFC 3462). The null sender is checked by the caller.
 */
bool	dsn_headers_are_automatic(const uint8_t *headers, size_t len);

/* The header block of a message: up to and including the empty line, at
 * most DSN_HEADERS_MAX bytes (cut after the last whole line). */
size_t	dsn_header_block_len(const uint8_t *msg, size_t len);

/*
 * The unfolded value of the first field called name (case-insensitive) in
 * a header block, without leading/trailing white space, copied into out
 * (NUL-terminated, cut at outsize - 1). Returns false if there is none.
 */
bool	dsn_header_value(const uint8_t *headers, size_t len, const char *name,
	    char *out, size_t outsize);

/*
 * Checks header fields to be prepended (what dkimsign answers): non-empty,
 * every line CRLF-terminated and at most DSN_LINE_MAX octets, printable
 * ASCII or HTAB, the first line a "name:" field, no empty line.
 */
bool	dsn_prepend_headers_are_valid(const char *h, size_t len);

/* "Mon, 24 Nov 2025 10:00:00 +0000" (RFC 5322 3.3); out >= 32 bytes. */
void	dsn_format_date(uint64_t t, char *out, size_t outsize);

#endif
