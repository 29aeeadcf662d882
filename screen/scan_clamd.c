/*
 * screen/scan_clamd.c - ClamAV's clamd: the INSTREAM command (clamd(8)).
 *
 *	zINSTREAM\0
 *	<4-byte big-endian length><that many bytes> ...	(screen/scanner.c frames)
 *	\0\0\0\0					(the end)
 * answered by one NUL-terminated line:
 *	stream: OK
 *	stream: Eicar-Signature FOUND
 *	INSTREAM size limit exceeded. ERROR
 *	<anything else> ERROR
 *
 * Owns: that format. Why the 'z' form: the NUL ends the reply, so a reply
 * is complete without waiting for clamd to close. A size-limit error
 * means the message is over clamd's own StreamMaxLength: the same case as
 * over clamd_max_size, so "skipped" (screen/scanner.h says why); any other
 * ERROR is clamd in trouble, a tempfail.
 */
#include <stdio.h>
#include <string.h>

#include "scan_proto.h"

#define CLAMD_LINE_MAX	1024

static const char head[] = "zINSTREAM";	/* with its NUL */

size_t
scan_clamd_head(char *buf, size_t size)
{
	if (size > 0)
		memcpy(buf, head, sizeof(head) < size ? sizeof(head) : size);
	return sizeof(head);
}

static bool
ends_with(const uint8_t *p, size_t len, const char *s)
{
	size_t n = strlen(s);

	return len >= n && memcmp(p + len - n, s, n) == 0;
}

static enum scan_parse
bad(struct scan_result *r, const char *why)
{
	snprintf(r->why, sizeof(r->why), "bad reply: %s", why);
	return SCAN_PARSE_BAD;
}

enum scan_parse
scan_clamd_parse(const uint8_t *buf, size_t len, bool eof, struct scan_result *r)
{
	static const char prefix[] = "stream: ";
	const uint8_t *nul = memchr(buf, '\0', len < CLAMD_LINE_MAX ? len : CLAMD_LINE_MAX);
	size_t n;

	if (nul == NULL) {
		if (len >= CLAMD_LINE_MAX)
			return bad(r, "line too long");
		if (!eof)
			return SCAN_PARSE_MORE;
		n = len;	/* an old clamd without the NUL: the line up to EOF */
	} else
		n = (size_t)(nul - buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n == 0)
		return bad(r, eof && len == 0 ? "no answer" : "empty line");
	if (ends_with(buf, n, " ERROR")) {
		char text[80];
		scan_copy_text(text, sizeof(text), buf, n - 6);
		if (strstr(text, "size limit exceeded") != NULL) {
			r->status = SCAN_STATUS_SKIPPED;
			snprintf(r->why, sizeof(r->why), "over clamd's StreamMaxLength");
		} else {
			r->status = SCAN_STATUS_TEMPFAIL;
			snprintf(r->why, sizeof(r->why), "clamd error: %s", text);
		}
		return SCAN_PARSE_DONE;
	}
	if (n < sizeof(prefix) - 1 || memcmp(buf, prefix, sizeof(prefix) - 1) != 0)
		return bad(r, "not 'stream: ...'");
	const uint8_t *v = buf + sizeof(prefix) - 1;
	size_t vlen = n - (sizeof(prefix) - 1);
	if (vlen == 2 && memcmp(v, "OK", 2) == 0) {
		r->status = SCAN_STATUS_OK;
		r->virus_found = false;
		r->why[0] = '\0';
		return SCAN_PARSE_DONE;
	}
	if (!ends_with(v, vlen, " FOUND") || vlen == 6)
		return bad(r, "neither OK nor FOUND");
	r->status = SCAN_STATUS_OK;
	r->virus_found = true;
	r->why[0] = '\0';
	scan_copy_text(r->virus, sizeof(r->virus), v, vlen - 6);
	return SCAN_PARSE_DONE;
}
