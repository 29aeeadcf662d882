/*
 * smtpd/received.h - the Received: trace header smtpd prepends (RFC 5321
 * 4.4, RFC 5322 3.6.7).
 */
#ifndef SMTPD_RECEIVED_H
#define SMTPD_RECEIVED_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define RECEIVED_MAX	1400	/* helo 255 + host 255 + rcpt 256 + TLS + date, folded */
#define RFC5322_DATE_MAX	40	/* "Sun, 23 Nov 2025 13:34:00 +0000" */

struct received_info {
	const char	*helo;		/* validated by command_parse_helo() */
	const char	*client_ip;	/* text form */
	const char	*hostname;
	const char	*tls_version;	/* NULL without TLS */
	const char	*tls_cipher;
	const char	*queue_id;
	const char	*rcpt;		/* the one recipient, or NULL */
	time_t		 when;
	bool		 authenticated;	/* AUTH succeeded: "ESMTPSA" (RFC 3848) */
	bool		 hide_client;	/* submission_hide_client_ip: no IP, no literal */
	bool		 smtputf8;	/* MAIL had SMTPUTF8: "UTF8SMTP" (RFC 6531 3.7.3) */
};

/* Writes the whole header, CRLF line ends, into buf. Returns the length, or
 * 0 if it does not fit. */
size_t	received_render(const struct received_info *, char *buf, size_t size);

/* "Sun, 23 Nov 2025 13:34:00 +0000" (UTC, English names in any locale). */
void	rfc5322_date(time_t, char *buf, size_t size);

#endif
