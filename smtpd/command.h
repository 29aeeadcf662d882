/*
 * smtpd/command.h - pure parser for one SMTP command line and for the
 * MAIL FROM / RCPT TO arguments and their ESMTP parameters.
 *
 * Owns: the verb table and the parameter grammar (SIZE=, BODY=, AUTH=, SMTPUTF8). No I/O, no
 * session state, no allocation: the session, the unit tests and the fuzzer
 * all call the same functions with (pointer, length) input.
 */
#ifndef SMTPD_COMMAND_H
#define SMTPD_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define SMTP_LINE_MAX		512	/* RFC 5321 4.5.3.1.4: command line incl. CRLF */
#define SMTP_TEXT_LINE_MAX	1000	/* RFC 5321 4.5.3.1.6: text line incl. CRLF */
#define SMTP_HELO_MAX		255	/* RFC 5321 4.5.3.1.2: a domain */
#define SMTP_SIZE_DIGITS_MAX	20	/* RFC 1870: size-value 1*20DIGIT */
#define SMTP_PARAMS_MAX		16	/* more parameters than any real client sends */

enum smtp_verb {
	VERB_NONE = 0,
	VERB_HELO,
	VERB_EHLO,
	VERB_MAIL,
	VERB_RCPT,
	VERB_DATA,
	VERB_RSET,
	VERB_NOOP,
	VERB_QUIT,
	VERB_VRFY,
	VERB_EXPN,
	VERB_HELP,
	VERB_STARTTLS,
	VERB_AUTH,		/* RFC 4954; only the submission ports accept it */
	VERB_COUNT
};

/* Every parse result; the session maps each to one reply (smtpd/reply.c). */
enum cmd_status {
	CMD_OK = 0,
	CMD_UNKNOWN,		/* 500 5.5.1 unknown verb */
	CMD_NUL,		/* 500 5.5.2 NUL byte in the line */
	CMD_SYNTAX,		/* 501 5.5.4 argument missing, or given where none is allowed */
	CMD_BAD_HELO,		/* 501 5.5.4 HELO/EHLO argument is not a host name */
	CMD_ADDR,		/* the path failed: see .addr (501 5.1.7/5.1.3, 553 5.6.7) */
	CMD_PARAM_UNKNOWN,	/* 555 5.5.4 parameter not supported */
	CMD_PARAM_BAD,		/* 501 5.5.4 malformed, duplicated or bad value */
};

struct smtp_command {
	enum smtp_verb	 verb;
	const char	*arg;	/* points into the line; "" if none */
	size_t		 arglen;
};

enum body_type {
	BODY_UNSPECIFIED = 0,
	BODY_7BIT,
	BODY_8BITMIME,
};

struct mail_cmd {
	struct mailaddr		from;
	bool			is_null;	/* MAIL FROM:<> */
	enum addr_status	addr;		/* when CMD_ADDR */
	bool			has_size;
	uint64_t		size;		/* SIZE=, RFC 1870 */
	enum body_type		body;		/* BODY=, RFC 6152 */
	bool			has_auth;	/* AUTH=, RFC 4954 section 5 (ignored) */
	bool			smtputf8;	/* SMTPUTF8, RFC 6531 3.4 */
};

/* command_parse_mail_opts() options */
#define MAIL_OPT_AUTH_PARAM	0x01u	/* accept AUTH= (we advertised AUTH) */
#define MAIL_OPT_SMTPUTF8	0x02u	/* accept SMTPUTF8 (we advertised it after EHLO) */

/* command_parse_rcpt_opts() options */
#define RCPT_OPT_SMTPUTF8	0x01u	/* the transaction's MAIL had SMTPUTF8 */

struct rcpt_cmd {
	struct mailaddr		to;
	bool			is_postmaster;	/* bare <postmaster>, RFC 5321 4.5.1 */
	enum addr_status	addr;		/* when CMD_ADDR */
};

/*
 * Splits one command line (len bytes, without the CRLF or LF) into verb and
 * argument. Trailing blanks are ignored. Checks the argument policy of the
 * verb (none / optional / required) but not the argument itself.
 */
enum cmd_status	command_parse(const char *line, size_t len, struct smtp_command *);

/* "FROM:<path> [params]" of MAIL. */
enum cmd_status	command_parse_mail(const char *arg, size_t len, struct mail_cmd *);
/* The same with MAIL_OPT_* options. */
enum cmd_status	command_parse_mail_opts(const char *arg, size_t len, unsigned opts,
		    struct mail_cmd *);

/* "TO:<path> [params]" of RCPT. No RCPT parameter is supported. A
 * non-ASCII address (RFC 6531 3.3) is CMD_ADDR/ADDR_NON_ASCII (553 5.6.7)
 * unless opts has RCPT_OPT_SMTPUTF8; the same holds for MAIL and its own
 * SMTPUTF8 parameter. */
enum cmd_status	command_parse_rcpt(const char *arg, size_t len, struct rcpt_cmd *);
enum cmd_status	command_parse_rcpt_opts(const char *arg, size_t len, unsigned opts,
		    struct rcpt_cmd *);

/*
 * The HELO/EHLO argument: one word of letters, digits and "-._[]:" (a host
 * name, an address literal, or the common underscore form), at most
 * SMTP_HELO_MAX octets. Copied NUL-terminated into out.
 */
enum cmd_status	command_parse_helo(const char *arg, size_t len, char *out, size_t outsize);

const char	*command_verb_name(enum smtp_verb);

#endif
