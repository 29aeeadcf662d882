/*
 * smtpd/lines.c - command lines end at CRLF only; the first bytes of a
 * plaintext session are checked for HTTP and TLS.
 *
 * Owns: the line rule and the probe (see lines.h). Why CRLF only: a server
 * that also ends lines at a bare LF reads "NOOP\nRCPT TO:<x>\r\n" as two
 * commands where a stricter hop reads one; that difference is the SMTP
 * smuggling family of bugs, so a bare CR or LF inside a line makes the
 * whole line one refused command. Why the probe: a browser, a proxy scanner
 * or a TLS client that hit the wrong port is not an SMTP client, and
 * answering it line by line (as postscreen decided not to) only feeds
 * cross-protocol tricks; the session closes at once instead.
 */
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "lines.h"

/* Drops everything but a trailing CR, which may begin the CRLF. */
static void
drain_keeping_cr(struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in);
	unsigned char last = 0;

	if (avail == 0)
		return;
	struct evbuffer_ptr end;
	evbuffer_ptr_set(in, &end, avail - 1, EVBUFFER_PTR_SET);
	evbuffer_copyout_from(in, &end, &last, 1);
	evbuffer_drain(in, last == '\r' ? avail - 1 : avail);
}

enum line_status
line_take(struct evbuffer *in, size_t max, bool *discarding, char *out,
    size_t *outlen)
{
	struct evbuffer_ptr eol = evbuffer_search(in, "\r\n", 2, NULL);
	size_t avail = evbuffer_get_length(in);

	if (eol.pos == -1) {
		if (*discarding) {
			drain_keeping_cr(in);
			return LINE_NONE;
		}
		/* With its CRLF still to come, this line is over max. */
		if (avail >= max) {
			drain_keeping_cr(in);
			*discarding = true;
			return LINE_TOO_LONG;
		}
		return LINE_NONE;
	}
	size_t linelen = (size_t)eol.pos + 2;
	if (*discarding || linelen > max) {
		bool answered = *discarding;
		evbuffer_drain(in, linelen);
		*discarding = false;
		return answered ? LINE_TOO_LONG_END : LINE_TOO_LONG;
	}
	evbuffer_remove(in, out, linelen);
	*outlen = linelen - 2;
	if (memchr(out, '\n', *outlen) != NULL || memchr(out, '\r', *outlen) != NULL)
		return LINE_BARE_NEWLINE;
	return LINE_OK;
}

/* RFC 9110 9.1 methods, and WebDAV's that scanners try. */
static const char *const http_methods[] = {
	"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "CONNECT ", "OPTIONS ",
	"TRACE ", "PATCH ",
};

enum probe_verdict
probe_classify(const uint8_t *buf, size_t len)
{
	bool could_be_http = false;

	if (len == 0)
		return PROBE_NEED_MORE;
	/* RFC 8446 5.1: ContentType handshake(22), legacy version 3.x */
	if (buf[0] == 0x16) {
		if (len < 2)
			return PROBE_NEED_MORE;
		if (buf[1] == 0x03)
			return PROBE_TLS;
	}
	for (size_t i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++) {
		size_t ml = strlen(http_methods[i]);
		size_t n = len < ml ? len : ml;
		if (strncasecmp((const char *)buf, http_methods[i], n) != 0)
			continue;
		if (len >= ml)
			return PROBE_HTTP;
		could_be_http = true;
	}
	return could_be_http ? PROBE_NEED_MORE : PROBE_SMTP;
}

const char *
probe_reason(enum probe_verdict v)
{
	switch (v) {
	case PROBE_HTTP:	return "http";
	case PROBE_TLS:		return "tls_on_plaintext";
	case PROBE_SMTP:	return "smtp";
	case PROBE_NEED_MORE:	break;
	}
	return "unknown";
}
