/*
 * lib/ipc_text.c - checkers (and one cleaner) for free-text IPC fields.
 *
 * Owns: what "a text line", "a header block", "a token" and "an ip text"
 * mean on the wire between roles (see ipc_text.h). Why one place: each kind
 * ends up somewhere that breaks on a stray byte - a log line (fail2ban
 * reads it), a DSN, a message header - and a check per receiver would drift.
 * UTF-8 is checked by RFC 3629's table: no overlong forms, no surrogates,
 * nothing above U+10FFFF.
 */
#include <arpa/inet.h>

#include <stdint.h>
#include <string.h>

#include "ipc_text.h"

/* Length of the valid UTF-8 sequence of two or more bytes at p, or 0. */
static size_t
utf8_multibyte_len(const uint8_t *p, size_t left)
{
	uint8_t lo = 0x80, hi = 0xbf;
	size_t n;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (p[0] == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;	/* overlong */
		else if (p[0] == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else
		return 0;
	if (n > left || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	/* U+0080..U+009F are the C1 controls. */
	if (n == 2 && p[0] == 0xc2 && p[1] <= 0x9f)
		return 0;
	return n;
}

/* Length of the text character at p (HTAB, SP..~ or UTF-8), or 0. */
static size_t
text_char_len(const uint8_t *p, size_t left)
{
	if (p[0] == '\t' || (p[0] >= 0x20 && p[0] <= 0x7e))
		return 1;
	return p[0] >= 0x80 ? utf8_multibyte_len(p, left) : 0;
}

bool
ipc_text_line_is_valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;

	for (size_t i = 0, n; i < len; i += n)
		if ((n = text_char_len(p + i, len - i)) == 0)
			return false;
	return true;
}

size_t
ipc_text_line_clean(char *dst, size_t dstsize, const char *src, size_t srclen)
{
	const uint8_t *p = (const uint8_t *)src;
	size_t out = 0;

	if (dstsize == 0)
		return 0;
	for (size_t i = 0; i < srclen;) {
		size_t n = text_char_len(p + i, srclen - i);
		size_t put = n == 0 ? 1 : n;
		if (out + put > dstsize - 1)
			break;
		if (n == 0)
			dst[out] = '?';
		else
			memcpy(dst + out, p + i, n);
		out += put;
		i += put;
	}
	dst[out] = '\0';
	return out;
}

/* RFC 5322 3.6.8: ftext is %d33-57 / %d59-126. Returns the name's length
 * if the line starts with "name:", else 0. */
static size_t
field_name_len(const uint8_t *line, size_t len)
{
	size_t i = 0;

	while (i < len && line[i] >= 33 && line[i] <= 126 && line[i] != ':')
		i++;
	return i > 0 && i < len && line[i] == ':' ? i : 0;
}

/* One header line without its CRLF: a new field, or (not first) a fold
 * that starts with WSP and holds something besides WSP (RFC 5322 3.2.2). */
static bool
header_line_is_valid(const uint8_t *line, size_t len, bool first)
{
	if (len == 0 || len > IPC_HEADER_LINE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (line[i] != '\t' && (line[i] < 0x20 || line[i] > 0x7e))
			return false;	/* DKIM fields are ASCII (RFC 6376 3.2) */
	if (line[0] != ' ' && line[0] != '\t')
		return field_name_len(line, len) > 0;
	if (first)
		return false;
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t')
			return true;
	return false;
}

bool
ipc_header_block_is_valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;

	if (len == 0)
		return false;
	while (i < len) {
		const uint8_t *cr = memchr(p + i, '\r', len - i);
		if (cr == NULL || (size_t)(cr - p) + 1 >= len || cr[1] != '\n')
			return false;	/* unterminated, or a bare CR */
		size_t linelen = (size_t)(cr - (p + i));
		/* A bare LF inside is no text character: caught here. */
		if (!header_line_is_valid(p + i, linelen, i == 0))
			return false;
		i += linelen + 2;
	}
	return true;
}

bool
ipc_token_is_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

bool
ipc_ip_text_is_valid(const char *s, size_t len)
{
	char copy[INET6_ADDRSTRLEN];
	uint8_t addr[sizeof(struct in6_addr)];

	if (len == 0)
		return true;
	if (len >= sizeof(copy) || memchr(s, '\0', len) != NULL)
		return false;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return inet_pton(AF_INET, copy, addr) == 1 ||
	    inet_pton(AF_INET6, copy, addr) == 1;
}
