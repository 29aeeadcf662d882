/*
 * lib/addr_intl.c - NFC local parts and IDNA2008 domains (see addr_intl.h).
 *
 * Owns: nothing but the calls into libunistring (u8_check, u8_normalize
 * with UNINORM_NFC, Unicode TR15) and libidn2 (idn2_to_ascii_8z with
 * IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT, idn2_to_unicode_8z8z). Why NFC:
 * RFC 6530 section 10.1 and RFC 6531 section 3.3 leave equivalence to the
 * receiving server; macOS and some web forms send NFD ("u" + U+0308), most
 * others NFC ("ü"), and a user has one mailbox, so both must meet on one
 * key. Bounded: every output has an explicit size and is checked.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>
#include <uninorm.h>
#include <unistr.h>

#include "addr.h"
#include "addr_intl.h"

bool
addr_has_8bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

/* Well-formed UTF-8 (RFC 3629) without C0, DEL or C1 (U+0080..U+009F). */
static bool
utf8_is_clean(const uint8_t *s, size_t len)
{
	if (u8_check(s, len) != NULL)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return false;
		if (s[i] == 0xc2 && i + 1 < len && s[i + 1] < 0xa0)
			return false;
	}
	return true;
}

int
addr_local_nfc(const char *in, size_t len, char *out, size_t outsize)
{
	uint8_t buf[4 * (ADDR_LOCAL_MAX + 3)];
	size_t n = sizeof(buf);
	uint8_t *r;

	if (outsize == 0 || !utf8_is_clean((const uint8_t *)in, len))
		return -1;
	r = u8_normalize(UNINORM_NFC, (const uint8_t *)in, len, buf, &n);
	if (r == NULL)
		return -1;
	if (n + 1 > outsize) {
		if (r != buf)
			free(r);
		return -1;
	}
	memcpy(out, r, n);
	out[n] = '\0';
	if (r != buf)
		free(r);
	return (int)n;
}

int
addr_domain_alabel(const char *in, size_t len, char *out, size_t outsize)
{
	char tmp[ADDR_DOMAIN_MAX * 4 + 1];
	char *ascii = NULL;
	size_t n;

	if (len == 0 || len >= sizeof(tmp) ||
	    !utf8_is_clean((const uint8_t *)in, len))
		return -1;
	memcpy(tmp, in, len);
	tmp[len] = '\0';
	if (idn2_to_ascii_8z(tmp, &ascii, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) !=
	    IDN2_OK)
		return -1;
	n = strlen(ascii);
	for (size_t i = 0; i < n; i++)
		ascii[i] = (char)tolower((unsigned char)ascii[i]);
	if (!domain_is_valid(ascii, n) || n + 1 > outsize) {
		idn2_free(ascii);
		return -1;
	}
	memcpy(out, ascii, n + 1);
	idn2_free(ascii);
	return 0;
}

void
addr_domain_ulabel(const char *alabel, char *out, size_t outsize)
{
	char *u = NULL;
	size_t n = strlen(alabel);

	if (outsize == 0)
		return;
	if (strstr(alabel, "xn--") != NULL &&
	    idn2_to_unicode_8z8z(alabel, &u, 0) == IDN2_OK && strlen(u) < outsize) {
		memcpy(out, u, strlen(u) + 1);
		idn2_free(u);
		return;
	}
	if (u != NULL)
		idn2_free(u);
	if (n >= outsize)
		n = outsize - 1;
	memcpy(out, alabel, n);
	out[n] = '\0';
}
