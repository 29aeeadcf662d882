/*
 * lib/utf8.c - byte-level UTF-8 tests (see utf8.h).
 */
#include <string.h>

#include <unistr.h>

#include "utf8.h"

bool
utf8_has_8bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

bool
utf8_str_has_8bit(const char *s)
{
	return utf8_has_8bit(s, strlen(s));
}

bool
utf8_is_clean(const uint8_t *s, size_t len, bool tab_and_lf)
{
	if (u8_check(s, len) != NULL)
		return false;
	for (size_t i = 0; i < len;) {
		ucs4_t uc;
		int k = u8_mbtouc(&uc, s + i, len - i);

		if ((uc < 0x20 && !(tab_and_lf && (uc == '\t' || uc == '\n'))) ||
		    (uc >= 0x7f && uc <= 0x9f))
			return false;
		i += (size_t)k;
	}
	return true;
}
