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
 *
 * Why u8_tolower and not u8_casefold for keys: case folding (Unicode
 * CaseFolding.txt, full) maps "ß" to "ss" and would merge two mailboxes a
 * German admin may well keep apart ("strauß@" and "strauss@" are different
 * names, as RFC 6530 section 10.1 lets the server decide). The full
 * lowercase mapping folds exactly what a user perceives as "the same name
 * in capitals" (Ü to ü, Σ to σ) and leaves ß alone. No language is given:
 * a Turkish or Lithuanian tailoring would make the key depend on who asks.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>
#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

#include "addr.h"
#include "addr_intl.h"
#include "utf8.h"

/*
 * Moves a libunistring result of n bytes into out as a C string. r is
 * either the caller's stack buffer buf or, when that was too small, a
 * malloc'd one that is freed here. -1 if it does not fit in outsize - 1.
 */
static int
take_result(uint8_t *r, const uint8_t *buf, size_t n, char *out, size_t outsize)
{
	int len = -1;

	if (n + 1 <= outsize) {
		memcpy(out, r, n);
		out[n] = '\0';
		len = (int)n;
	}
	if (r != buf)
		free(r);
	return len;
}

int
addr_local_nfc(const char *in, size_t len, char *out, size_t outsize)
{
	uint8_t buf[4 * (ADDR_LOCAL_MAX + 3)];
	size_t n = sizeof(buf);
	uint8_t *r;

	if (outsize == 0 || !utf8_is_clean((const uint8_t *)in, len, false))
		return -1;
	r = u8_normalize(UNINORM_NFC, (const uint8_t *)in, len, buf, &n);
	if (r == NULL)
		return -1;
	return take_result(r, buf, n, out, outsize);
}

/* The ASCII fast path: byte-wise lowercase, controls refused as for UTF-8. */
static int
fold_ascii(const char *in, size_t len, char *out, size_t outsize)
{
	if (len + 1 > outsize)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c < 0x20 || c == 0x7f)
			return -1;
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	out[len] = '\0';
	return (int)len;
}

int
addr_local_fold(const char *in, size_t len, char *out, size_t outsize)
{
	uint8_t buf[4 * (ADDR_LOCAL_MAX + 3)];
	size_t n = sizeof(buf);
	uint8_t *r;

	if (outsize == 0)
		return -1;
	if (!utf8_has_8bit(in, len))
		return fold_ascii(in, len, out, outsize);
	if (!utf8_is_clean((const uint8_t *)in, len, false))
		return -1;
	/* NFC after the mapping: lowercasing can decompose or reorder marks. */
	r = u8_tolower((const uint8_t *)in, len, NULL, UNINORM_NFC, buf, &n);
	if (r == NULL)
		return -1;
	return take_result(r, buf, n, out, outsize);
}

bool
addr_local_is_folded(const char *local)
{
	char key[4 * (ADDR_LOCAL_MAX + 3)];
	size_t len = strlen(local);
	int n = addr_local_fold(local, len, key, sizeof(key));

	return n >= 0 && (size_t)n == len && memcmp(key, local, len) == 0;
}

int
addr_domain_alabel(const char *in, size_t len, char *out, size_t outsize)
{
	char tmp[ADDR_DOMAIN_MAX * 4 + 1];
	char *ascii = NULL;
	size_t n;

	if (len == 0 || len >= sizeof(tmp) ||
	    !utf8_is_clean((const uint8_t *)in, len, false))
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
