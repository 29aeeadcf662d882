/*
 * smtpd/received.c - formats the Received: header.
 *
 * Owns: the trace line that ties a message in a Maildir to the session
 * (client IP, HELO, TLS parameters) and to the queue id in the logs. Pure:
 * time comes in as an argument so tests can pin it. Day and month names
 * come from our own tables, not strftime, so the locale cannot change them.
 */
#include <stdio.h>
#include <string.h>

#include "received.h"

#define SMTP_FROM_TEXT_MAX	(255 + 80 + 8)	/* helo + " ([IPv6:...])" */

void
rfc5322_date(time_t t, char *buf, size_t size)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11) {
		snprintf(buf, size, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/*
 * RFC 3848: ESMTP, ESMTPS (TLS), ESMTPA (AUTH), ESMTPSA (both); a
 * transaction with the SMTPUTF8 parameter says UTF8SMTP, UTF8SMTPS,
 * UTF8SMTPA or UTF8SMTPSA instead (RFC 6531 3.7.3 and 4.3).
 */
static const char *
received_protocol(const struct received_info *r)
{
	static const char *const names[2][2][2] = {
		{ { "ESMTP", "ESMTPS" }, { "ESMTPA", "ESMTPSA" } },
		{ { "UTF8SMTP", "UTF8SMTPS" }, { "UTF8SMTPA", "UTF8SMTPSA" } },
	};

	return names[r->smtputf8][r->authenticated][r->tls_version != NULL];
}

/*
 * "helo ([ip])", or with hide_client just the HELO name: RFC 6409 lets a
 * submission server keep the client's address private, and a HELO that is
 * an address literal would tell it too, so that becomes "unknown".
 */
static void
received_from(const struct received_info *r, char *buf, size_t size)
{
	char ip[80];

	if (r->hide_client) {
		snprintf(buf, size, "%s", r->helo[0] == '[' ? "unknown" : r->helo);
		return;
	}
	if (strchr(r->client_ip, ':') != NULL)
		snprintf(ip, sizeof(ip), "IPv6:%s", r->client_ip);
	else
		snprintf(ip, sizeof(ip), "%s", r->client_ip);
	snprintf(buf, size, "%s ([%s])", r->helo, ip);
}

size_t
received_render(const struct received_info *r, char *buf, size_t size)
{
	char date[RFC5322_DATE_MAX], tls[160] = "", from[SMTP_FROM_TEXT_MAX];
	int n;

	rfc5322_date(r->when, date, sizeof(date));
	received_from(r, from, sizeof(from));
	if (r->tls_version != NULL)
		snprintf(tls, sizeof(tls), " (%s:%s)", r->tls_version,
		    r->tls_cipher != NULL ? r->tls_cipher : "unknown");
	if (r->rcpt != NULL)
		n = snprintf(buf, size,
		    "Received: from %s\r\n"
		    "\tby %s with %s%s id %s\r\n"
		    "\tfor <%s>; %s\r\n",
		    from, r->hostname, received_protocol(r), tls, r->queue_id,
		    r->rcpt, date);
	else
		n = snprintf(buf, size,
		    "Received: from %s\r\n"
		    "\tby %s with %s%s id %s;\r\n"
		    "\t%s\r\n",
		    from, r->hostname, received_protocol(r), tls, r->queue_id, date);
	if (n < 0 || (size_t)n >= size)
		return 0;
	return (size_t)n;
}
