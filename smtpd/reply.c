/*
 * smtpd/reply.c - the reply table.
 *
 * Owns: every code, enhanced status code and text smtpd sends. Why one
 * table: a reader (and fail2ban) finds all outcomes in one place, the
 * enhanced codes follow RFC 3463 consistently, and texts do not drift into
 * telling ones ("You are blacklisted" here, other words there) that teach
 * spammers which check they tripped (README.md: one neutral text, a ref=).
 * Client text is never echoed into a reply.
 */
#include <stdio.h>
#include <string.h>

#include "reply.h"

struct reply_row {
	uint16_t	 code;
	const char	*enh;	/* NULL: no enhanced code (greeting, HELO, 354) */
	const char	*text;
};

static const struct reply_row reply_table[REPLY_COUNT] = {
	[REPLY_GREETING] =		{ 220, NULL,	"%s ESMTP" },
	[REPLY_HELO] =			{ 250, NULL,	"%s" },
	[REPLY_OK] =			{ 250, "2.0.0",	"Ok" },
	[REPLY_MAIL_OK] =		{ 250, "2.1.0",	"Sender ok" },
	[REPLY_RCPT_OK] =		{ 250, "2.1.5",	"Recipient ok" },
	[REPLY_QUEUED] =		{ 250, "2.0.0",	"Ok: queued as %s" },
	[REPLY_VRFY] =			{ 252, "2.5.0",	"Cannot VRFY user, but will accept message and attempt delivery" },
	[REPLY_HELP] =			{ 214, "2.0.0",	"See RFC 5321" },
	[REPLY_BYE] =			{ 221, "2.0.0",	"Bye" },
	/* RFC 3463 defines no class-3 codes, so 354 cannot carry one. */
	[REPLY_DATA_GO] =		{ 354, NULL,	"End data with <CR><LF>.<CR><LF>" },
	[REPLY_TLS_GO] =		{ 220, "2.0.0",	"Ready to start TLS" },
	[REPLY_SHUTDOWN] =		{ 421, "4.3.2",	"Service shutting down" },
	[REPLY_TIMEOUT] =		{ 421, "4.4.2",	"%s Timeout" },
	[REPLY_TOO_MANY_ERRORS] =	{ 421, "4.7.0",	"Too many errors" },
	[REPLY_TOO_MANY_CONNECTIONS] =	{ 421, "4.7.0",	"Too many connections" },
	[REPLY_TEMPFAIL] =		{ 451, "4.3.0",	"Temporary failure, try again later" },
	[REPLY_NOSPACE] =		{ 452, "4.3.1",	"Insufficient system storage" },
	[REPLY_TOO_MANY_RCPTS] =	{ 452, "4.5.3",	"Too many recipients" },
	[REPLY_LINE_TOO_LONG] =		{ 500, "5.5.2",	"Line too long" },
	/* RFC 5321 2.3.8: only CRLF ends a line; the whole line is refused once */
	[REPLY_BARE_NEWLINE] =		{ 500, "5.5.2",	"Bare CR or LF in command, lines must end with CRLF" },
	[REPLY_NUL] =			{ 500, "5.5.2",	"NUL octet in command" },
	[REPLY_UNKNOWN_COMMAND] =	{ 500, "5.5.1",	"Command unrecognized" },
	[REPLY_SYNTAX] =		{ 501, "5.5.4",	"Syntax error in parameters or arguments" },
	[REPLY_BAD_HELO] =		{ 501, "5.5.4",	"Invalid host name" },
	[REPLY_MAIL_SYNTAX] =		{ 501, "5.1.7",	"Bad sender address syntax" },
	[REPLY_RCPT_SYNTAX] =		{ 501, "5.1.3",	"Bad recipient address syntax" },
	[REPLY_RCPT_NO_DOMAIN] =	{ 501, "5.1.3",	"Recipient address must contain a domain" },
	[REPLY_PATH_TOO_LONG] =		{ 501, "5.1.3",	"Path too long" },
	[REPLY_PARAM_BAD] =		{ 501, "5.5.4",	"Invalid parameter" },
	[REPLY_PARAM_UNKNOWN] =		{ 555, "5.5.4",	"Unsupported parameter" },
	[REPLY_NOT_IMPLEMENTED] =	{ 502, "5.5.1",	"Command not implemented" },
	[REPLY_TLS_UNAVAILABLE] =	{ 502, "5.5.1",	"STARTTLS not available" },
	[REPLY_NEED_HELO] =		{ 503, "5.5.1",	"Send HELO/EHLO first" },
	[REPLY_NESTED_MAIL] =		{ 503, "5.5.1",	"Nested MAIL command" },
	[REPLY_NEED_MAIL] =		{ 503, "5.5.1",	"Need MAIL command first" },
	[REPLY_NEED_RCPT] =		{ 503, "5.5.1",	"Need RCPT command first" },
	[REPLY_TLS_ACTIVE] =		{ 503, "5.5.1",	"TLS already active" },
	[REPLY_BAD_SEQUENCE] =		{ 503, "5.5.1",	"Bad sequence of commands" },
	[REPLY_NO_VALID_RCPTS] =	{ 554, "5.5.1",	"No valid recipients" },
	[REPLY_UNKNOWN_USER] =		{ 550, "5.1.1",	"Recipient address rejected: User unknown" },
	[REPLY_RELAY_DENIED] =		{ 554, "5.7.1",	"Relay access denied" },
	[REPLY_SIZE_EXCEEDED] =		{ 552, "5.3.4",	"Message size exceeds fixed limit" },
	[REPLY_MSG_TOO_BIG] =		{ 552, "5.3.4",	"Message size exceeds fixed limit" },
	[REPLY_LINE_LIMIT] =		{ 554, "5.6.0",	"Message contains a line longer than 1000 octets" },
	[REPLY_BARE_LF] =		{ 554, "5.6.0",	"Message contains bare LF, lines must end with CRLF" },
	[REPLY_BARE_CR] =		{ 554, "5.6.0",	"Message contains bare CR, lines must end with CRLF" },
	[REPLY_DATA_NUL] =		{ 554, "5.6.0",	"Message contains NUL octets" },
	[REPLY_NON_ASCII] =		{ 553, "5.6.7",	"Non-ASCII address needs the SMTPUTF8 parameter and UTF-8" },
	/* RFC 4954 section 4: a 334 carries the challenge and nothing else. */
	[REPLY_AUTH_CHALLENGE] =	{ 334, NULL,	"%s" },
	[REPLY_AUTH_OK] =		{ 235, "2.7.0",	"Authentication successful" },
	[REPLY_AUTH_BAD] =		{ 535, "5.7.8",	"Authentication credentials invalid" },
	[REPLY_AUTH_NEED_TLS] =		{ 538, "5.7.11", "Encryption required for requested authentication mechanism" },
	[REPLY_AUTH_REQUIRED] =		{ 530, "5.7.0",	"Authentication required" },
	[REPLY_AUTH_RATELIMITED] =	{ 454, "4.7.0",	"Too many failed authentications, try again later" },
	[REPLY_AUTH_TEMPFAIL] =		{ 454, "4.7.0",	"Temporary authentication failure" },
	[REPLY_AUTH_TOO_MANY] =		{ 421, "4.7.0",	"Too many failed authentications" },
	[REPLY_AUTH_CANCELLED] =	{ 501, "5.0.0",	"Authentication cancelled" },
	[REPLY_AUTH_BAD_BASE64] =	{ 501, "5.5.2",	"Cannot decode response" },
	[REPLY_AUTH_MECH] =		{ 504, "5.5.4",	"Unrecognized authentication type" },
	[REPLY_AUTH_ALREADY] =		{ 503, "5.5.1",	"Already authenticated" },
	[REPLY_SENDER_NOT_OWNED] =	{ 553, "5.7.1",	"Sender address not owned by the authenticated user" },
	[REPLY_FROM_NOT_OWNED] =	{ 550, "5.7.1",	"From: header address not owned by the authenticated user" },
	[REPLY_FROM_INVALID] =		{ 550, "5.6.0",	"Message needs exactly one From: header with valid addresses" },
	[REPLY_SIGN_TEMPFAIL] =		{ 451, "4.7.0",	"Message could not be signed, try again later" },
	/* RFC 5321 3.5.1: a VRFY success names the mailbox */
	[REPLY_LOCAL_SENDER] =		{ 250, "2.1.5",	"<%s>" },
	/* RFC 5321 3.1: 554 instead of the greeting, the client QUITs */
	[REPLY_LOCAL_USER_UNKNOWN] =	{ 554, "5.7.1",	"Local user unknown or without a valid login name" },
	[REPLY_LOCAL_USER_TEMPFAIL] =	{ 421, "4.3.0",	"Local user lookup failed, try again later" },
	/* The screen: one neutral text whatever the reason (a list name or
	 * a rule would teach spammers); the ref leads the admin to the
	 * verdict line and to `mxctl why`. RFC 7372 for the SPF code. */
	[REPLY_SCREEN_REJECT] =		{ 550, "5.7.1",	"Refused by local policy, ref=%s" },
	[REPLY_SCREEN_SPF_REJECT] =	{ 550, "5.7.23", "Refused by local policy, ref=%s" },
	[REPLY_SCREEN_TEMPFAIL] =	{ 451, "4.7.1",	"Try again later, ref=%s" },
	[REPLY_SCREEN_DNS_TEMPFAIL] =	{ 451, "4.4.3",	"Try again later, ref=%s" },
	[REPLY_SCREEN_VIRUS] =		{ 554, "5.7.1",	"Refused by local policy, ref=%s" },
};

static const struct reply_row *
reply_row(enum reply_id id)
{
	if ((unsigned)id >= REPLY_COUNT || reply_table[id].code == 0)
		return &reply_table[REPLY_TEMPFAIL];
	return &reply_table[id];
}

uint16_t
reply_code(enum reply_id id)
{
	return reply_row(id)->code;
}

bool
reply_is_error(enum reply_id id)
{
	return reply_row(id)->code >= 400;
}

const char *
reply_status(enum reply_id id, char *buf, size_t size)
{
	const struct reply_row *r = reply_row(id);

	if (r->enh != NULL)
		snprintf(buf, size, "%u %s", r->code, r->enh);
	else
		snprintf(buf, size, "%u", r->code);
	return buf;
}

/* Appends n bytes at *off, truncating; keeps room for CRLF and NUL. */
static void
append(char *buf, size_t size, size_t *off, const char *s, size_t n)
{
	if (size < 3 || *off >= size - 3)
		return;
	if (n > size - 3 - *off)
		n = size - 3 - *off;
	memcpy(buf + *off, s, n);
	*off += n;
}

size_t
reply_render(enum reply_id id, const char *arg, char *buf, size_t size)
{
	const struct reply_row *r = reply_row(id);
	char head[16];
	size_t off = 0;

	if (size < 3)
		return 0;
	if (r->enh != NULL)
		snprintf(head, sizeof(head), "%u %s ", r->code, r->enh);
	else
		snprintf(head, sizeof(head), "%u ", r->code);
	append(buf, size, &off, head, strlen(head));
	const char *pct = strstr(r->text, "%s");
	if (pct == NULL)
		append(buf, size, &off, r->text, strlen(r->text));
	else {
		append(buf, size, &off, r->text, (size_t)(pct - r->text));
		if (arg != NULL)
			append(buf, size, &off, arg, strlen(arg));
		append(buf, size, &off, pct + 2, strlen(pct + 2));
	}
	memcpy(buf + off, "\r\n", 3);
	return off + 2;
}

size_t
reply_render_ehlo_offer(const char *hostname, uint64_t max_size,
    const struct ehlo_offer *o, char *buf, size_t size)
{
	int n = snprintf(buf, size,
	    "250-%s\r\n"
	    "250-PIPELINING\r\n"
	    "250-8BITMIME\r\n"
	    "250-SIZE %llu\r\n"
	    "%s%s"
	    "250-SMTPUTF8\r\n"
	    "250 ENHANCEDSTATUSCODES\r\n",
	    hostname, (unsigned long long)max_size,
	    o->starttls ? "250-STARTTLS\r\n" : "",
	    o->auth ? "250-AUTH PLAIN LOGIN\r\n" : "");
	if (n < 0 || (size_t)n >= size)
		return 0;
	return (size_t)n;
}

size_t
reply_render_ehlo(const char *hostname, uint64_t max_size, bool offer_starttls,
    char *buf, size_t size)
{
	struct ehlo_offer o = { .starttls = offer_starttls, .auth = false };

	return reply_render_ehlo_offer(hostname, max_size, &o, buf, size);
}
