/*
 * relay/reply.h - parsing what a remote SMTP server answers.
 *
 * Owns: the grammar of server replies (RFC 5321 4.2: "ddd-text" lines, then
 * one "ddd text" line), enhanced status codes (RFC 3463, RFC 2034) and the
 * EHLO keywords the relay acts on (RFC 5321 4.1.1.1, RFC 1870 SIZE, RFC 6152
 * 8BITMIME, RFC 2920 PIPELINING, RFC 3207 STARTTLS, RFC 4954 AUTH).
 * Why a pure parser on its own: remote replies are hostile input; keeping
 * the parsing free of sockets lets the unit tests and the fuzzer
 * (tests/fuzz/fuzz_smtp_reply.c) feed it anything.
 */
#ifndef RELAY_REPLY_H
#define RELAY_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 5321 4.5.3.1.5 says a reply line is at most 512 octets incl. CRLF;
 * real servers exceed it, so we accept up to 4 times that and refuse more. */
#define REPLY_LINE_MAX		2048
#define REPLY_LINES_MAX		100	/* a reply longer than this is hostile */
#define REPLY_TEXT_MAX		512	/* kept for logs and DSNs (IPC_REASON_MAX) */
#define REPLY_ESC_MAX		12	/* "5.123.123" (RFC 3463: 1-3 digit parts) */

struct smtp_reply {
	int		code;		/* 200..599 once a line parsed */
	char		esc[REPLY_ESC_MAX];	/* enhanced code or "" */
	char		text[REPLY_TEXT_MAX + 1];	/* printable, one line */
	size_t		nlines;
	bool		complete;
	bool		truncated;	/* text ends in "..." */
	bool		local;		/* smtp_reply_set: no server said it */
};

enum reply_parse {
	REPLY_PARSE_MORE = 0,	/* a "ddd-" line: feed the next line */
	REPLY_PARSE_DONE,	/* the last line: the reply is complete */
	REPLY_PARSE_SYNTAX,	/* not "ddd", "ddd text" or "ddd-text" */
	REPLY_PARSE_MISMATCH,	/* a continuation line with another code */
	REPLY_PARSE_TOO_LONG,	/* line over REPLY_LINE_MAX */
	REPLY_PARSE_TOO_MANY,	/* more than REPLY_LINES_MAX lines */
};

void		 smtp_reply_init(struct smtp_reply *);
/* Feeds one line without its CRLF (a trailing CR is ignored). */
enum reply_parse smtp_reply_feed(struct smtp_reply *, const uint8_t *line,
		    size_t len);
const char	*smtp_reply_parse_text(enum reply_parse);

/* Reply classes (first digit). */
bool	smtp_reply_is_positive(const struct smtp_reply *);	/* 2xx */
bool	smtp_reply_is_temporary(const struct smtp_reply *);	/* 4xx */
bool	smtp_reply_is_permanent(const struct smtp_reply *);	/* 5xx */
/* A 5xx whose enhanced code is 5.7.x (policy/security), e.g. Gmail's
 * "550-5.7.1 ... IPv6 sending guidelines". */
bool	smtp_reply_is_policy_reject(const struct smtp_reply *);
/* Fills r in the shape of a reply ("451 4.4.1 text"), marked local: for
 * failures the relay detects itself (connection refused, timeouts, DNS).
 * The code only classes it (4xx: try again, 5xx: give up); the queue gets
 * such a diagnosis without it (smtp_reply_diagnosis), so that no DSN
 * claims a server answered. */
void	smtp_reply_set(struct smtp_reply *, int code, const char *esc,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The text of a local reply without its code: "4.4.1 text". For a
 * server's reply, the whole text. */
const char	*smtp_reply_diagnosis(const struct smtp_reply *);
/* The same for a reply text as stored ("451 4.4.1 text"). */
const char	*smtp_reply_text_without_code(const char *text);

/* What an EHLO reply offers. */
#define EHLO_AUTH_PLAIN	0x01
#define EHLO_AUTH_LOGIN	0x02

struct ehlo_caps {
	bool		starttls;
	bool		pipelining;
	bool		eightbitmime;
	bool		enhancedstatuscodes;
	bool		smtputf8;
	bool		size;
	uint64_t	size_max;	/* 0 = no limit announced */
	unsigned	auth;		/* EHLO_AUTH_* */
};

/* Parses one line of a 250 EHLO reply into caps; the first line (the
 * server's name) is skipped by the caller passing first = true. */
void	ehlo_caps_feed(struct ehlo_caps *, const uint8_t *line, size_t len,
	    bool first);

#endif
