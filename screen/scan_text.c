/*
 * screen/scan_text.c - the small text rules the three scanner parsers
 * share (screen/scan_proto.h): what of a scanner's bytes may reach a log
 * line, and how a score is read.
 *
 * Owns: nothing but those rules. Why strict: a scanner's reply is outside
 * input like any other (a compromised or confused daemon, a wrong port),
 * so a score is a plain decimal within SCAN_SCORE_LIMIT, never "nan",
 * "1e999" or a hex float that strtod() would take, and names are copied
 * byte by byte into bounded, printable buffers.
 */
#include <stdlib.h>
#include <string.h>

#include "scan_proto.h"

void
scan_copy_text(char *dst, size_t size, const uint8_t *src, size_t len)
{
	size_t o = 0;

	if (size == 0)
		return;
	for (size_t i = 0; i < len && o + 1 < size; i++)
		dst[o++] = src[i] >= 0x20 && src[i] < 0x7f && src[i] != '"' &&
		    src[i] != '\\' ? (char)src[i] : '?';
	dst[o] = '\0';
}

size_t
scan_parse_decimal(const uint8_t *p, size_t len, double *out)
{
	char text[64];
	size_t i = 0, digits = 0;

	if (i < len && p[i] == '-')
		i++;
	while (i < len && p[i] >= '0' && p[i] <= '9') {
		i++;
		digits++;
	}
	if (digits == 0)
		return 0;
	if (i < len && p[i] == '.') {
		size_t frac = 0;
		for (i++; i < len && p[i] >= '0' && p[i] <= '9'; i++)
			frac++;
		if (frac == 0)
			return 0;
	}
	if (i >= sizeof(text))
		return 0;
	memcpy(text, p, i);
	text[i] = '\0';
	double v = strtod(text, NULL);
	if (!(v <= SCAN_SCORE_LIMIT && v >= -SCAN_SCORE_LIMIT))
		return 0;
	*out = v;
	return i;
}

static bool
symbol_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

void
scan_symbols_add(char *list, size_t size, const uint8_t *name, size_t len)
{
	static const char more[] = "...";
	size_t o = strlen(list);

	if (len == 0 || size < sizeof(more))
		return;
	if (o >= sizeof(more) - 1 && strcmp(list + o - (sizeof(more) - 1), more) == 0)
		return;		/* already full */
	size_t need = (o > 0 ? 1 : 0) + len;
	if (o + need + sizeof(more) > size) {
		/* no room for this name and a later "...": end the list here */
		size_t at = o + sizeof(more) <= size ? o : size - sizeof(more);
		memcpy(list + at, more, sizeof(more));
		return;
	}
	if (o > 0)
		list[o++] = ',';
	for (size_t i = 0; i < len; i++)
		list[o++] = symbol_char(name[i]) ? (char)name[i] : '?';
	list[o] = '\0';
}
