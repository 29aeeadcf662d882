/*
 * smtpd/reply.h - every reply smtpd can send, as one table.
 *
 * Owns: the mapping outcome -> reply code, enhanced status code (RFC 3463)
 * and text. Sessions name an outcome; they never write a reply string, so
 * codes and texts stay consistent (and neutral: no product name).
 */
#ifndef SMTPD_REPLY_H
#define SMTPD_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPLY_MAX	600	/* one rendered reply incl. CRLF (RFC 5321 4.5.3.1.5: 512) */
#define REPLY_EHLO_MAX	1024

enum reply_id {
	REPLY_GREETING = 0,	/* 220 <hostname> ESMTP */
	REPLY_HELO,		/* 250 <hostname> */
	REPLY_OK,
	REPLY_MAIL_OK,
	REPLY_RCPT_OK,
	REPLY_QUEUED,		/* arg: queue id */
	REPLY_VRFY,
	REPLY_HELP,
	REPLY_BYE,
	REPLY_DATA_GO,
	REPLY_TLS_GO,
	REPLY_SHUTDOWN,
	REPLY_TIMEOUT,		/* arg: hostname */
	REPLY_TOO_MANY_ERRORS,
	REPLY_TOO_MANY_CONNECTIONS,
	REPLY_TEMPFAIL,
	REPLY_NOSPACE,
	REPLY_TOO_MANY_RCPTS,
	REPLY_LINE_TOO_LONG,
	REPLY_BARE_NEWLINE,	/* a bare CR or LF inside a command line */
	REPLY_NUL,
	REPLY_UNKNOWN_COMMAND,
	REPLY_SYNTAX,
	REPLY_BAD_HELO,
	REPLY_MAIL_SYNTAX,
	REPLY_RCPT_SYNTAX,
	REPLY_RCPT_NO_DOMAIN,
	REPLY_PATH_TOO_LONG,
	REPLY_PARAM_BAD,
	REPLY_PARAM_UNKNOWN,
	REPLY_NOT_IMPLEMENTED,
	REPLY_TLS_UNAVAILABLE,
	REPLY_NEED_HELO,
	REPLY_NESTED_MAIL,
	REPLY_NEED_MAIL,
	REPLY_NEED_RCPT,
	REPLY_TLS_ACTIVE,
	REPLY_BAD_SEQUENCE,
	REPLY_NO_VALID_RCPTS,
	REPLY_UNKNOWN_USER,
	REPLY_RELAY_DENIED,
	REPLY_SIZE_EXCEEDED,
	REPLY_MSG_TOO_BIG,
	REPLY_LINE_LIMIT,
	REPLY_BARE_LF,
	REPLY_BARE_CR,
	REPLY_DATA_NUL,
	REPLY_NON_ASCII,
	/* submission (587/465): AUTH, sender ownership, signing */
	REPLY_AUTH_CHALLENGE,	/* 334 arg: base64 challenge ("" for PLAIN) */
	REPLY_AUTH_OK,
	REPLY_AUTH_BAD,
	REPLY_AUTH_NEED_TLS,
	REPLY_AUTH_REQUIRED,
	REPLY_AUTH_RATELIMITED,
	REPLY_AUTH_TEMPFAIL,
	REPLY_AUTH_TOO_MANY,	/* then close */
	REPLY_AUTH_CANCELLED,
	REPLY_AUTH_BAD_BASE64,
	REPLY_AUTH_MECH,
	REPLY_AUTH_ALREADY,
	REPLY_SENDER_NOT_OWNED,
	REPLY_FROM_NOT_OWNED,
	REPLY_FROM_INVALID,
	REPLY_SIGN_TEMPFAIL,
	/* the local socket of sendmail(8) (submission/local.c) */
	REPLY_LOCAL_SENDER,		/* VRFY: arg is the caller's own sender address */
	REPLY_LOCAL_USER_UNKNOWN,	/* instead of the greeting */
	REPLY_LOCAL_USER_TEMPFAIL,	/* instead of the greeting */
	/* port 25, the screen's verdicts: arg is the reference id */
	REPLY_SCREEN_REJECT,
	REPLY_SCREEN_SPF_REJECT,
	REPLY_SCREEN_TEMPFAIL,
	REPLY_SCREEN_DNS_TEMPFAIL,
	REPLY_SCREEN_VIRUS,
	REPLY_COUNT
};

/* "CODE ENH TEXT\r\n" into buf; arg replaces a "%s" in the text (or is
 * ignored). Returns the length, truncating the text to fit. */
size_t		 reply_render(enum reply_id, const char *arg, char *buf, size_t size);

/* "550 5.1.1" (or "220") for logs. */
const char	*reply_status(enum reply_id, char *buf, size_t size);

uint16_t	 reply_code(enum reply_id);

/* True for 4xx/5xx replies. */
bool		 reply_is_error(enum reply_id);

/*
 * The multi-line EHLO answer. RFC 2034 section 3 exempts it (and the
 * greeting, and HELO) from enhanced codes: a "250-2.0.0 PIPELINING" line
 * would hide the keyword from clients.
 */
size_t		 reply_render_ehlo(const char *hostname, uint64_t max_size,
		    bool offer_starttls, char *buf, size_t size);

/* What an EHLO answer offers beyond the fixed keywords. */
struct ehlo_offer {
	bool	starttls;
	bool	auth;		/* "AUTH PLAIN LOGIN": submission, under TLS only */
};
size_t		 reply_render_ehlo_offer(const char *hostname, uint64_t max_size,
		    const struct ehlo_offer *, char *buf, size_t size);

#endif
