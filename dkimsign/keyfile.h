/*
 * dkimsign/keyfile.h - the layout of dkim_key_dir, written down once for
 * the two programs that touch it: homemx-dkimsign reads it, `mxctl dkim`
 * (admin/cmd_dkim.c) writes it. Header-only on purpose, so that mxctl
 * needs no dkimsign object.
 *
 *	DKIM_KEY_DIR/				0700 _hmx-dkim (the dkimsign chroot)
 *	DKIM_KEY_DIR/<domain>/			0700 _hmx-dkim
 *	DKIM_KEY_DIR/<domain>/<selector>.rsa.pem	0600 _hmx-dkim, RSA 2048
 *	DKIM_KEY_DIR/<domain>/<selector>.ed25519.pem	0600 _hmx-dkim, Ed25519
 *
 * <domain> is the normalized A-label form, lowercase (domain_is_valid());
 * <selector> is a DNS name of at most DKIM_SELECTOR_MAX octets, lowercase.
 * Neither can contain '/' nor be "." or "..", so a path is one level deep.
 * Each key is published under its own DNS selector, "<selector>-rsa" and
 * "<selector>-ed25519": RFC 6376 3.6.2.2 leaves several TXT records at one
 * selector name undefined (verifiers such as dkimpy read only the first),
 * so the two keys of a pair can not share a name.
 * Keys are PEM PKCS#8 ("BEGIN PRIVATE KEY"): libopendkim loads Ed25519
 * keys only in that form (LIBRARIES.md section 1). A key is written to
 * "<name>.tmp" and renamed into place, so dkimsign never reads half a key.
 * dkimsign signs with the selector named by dkim_selector in homemx.conf,
 * with each of the two keys that exists; a missing pair means no signing
 * (the sender answers 451, never sends unsigned).
 */
#ifndef HMX_DKIMSIGN_KEYFILE_H
#define HMX_DKIMSIGN_KEYFILE_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

/* A DNS label is 63 octets (RFC 1035 2.3.4); "-ed25519" must still fit. */
#define DKIM_SELECTOR_MAX	55
#define DKIM_DNS_SELECTOR_MAX	63
#define DKIM_KEY_FILE_MAX	16384	/* a 4096-bit RSA PEM is ~3.3 KB */
#define DKIM_KEY_PATH_MAX	(ADDR_DOMAIN_MAX + 1 + DKIM_SELECTOR_MAX + 16)
#define DKIM_RSA_BITS		2048
#define DKIM_RSA_MIN_BITS	1024	/* RFC 8301 3.2: verifiers may refuse less */

enum dkim_key_alg {
	DKIM_ALG_RSA = 0,
	DKIM_ALG_ED25519,
	DKIM_ALG_COUNT
};

/* File suffix, DNS k= value and a= name of each algorithm. */
static inline const char *
dkim_alg_suffix(enum dkim_key_alg a)
{
	return a == DKIM_ALG_RSA ? ".rsa.pem" : ".ed25519.pem";
}

static inline const char *
dkim_alg_dns_name(enum dkim_key_alg a)
{
	return a == DKIM_ALG_RSA ? "rsa" : "ed25519";
}

static inline const char *
dkim_alg_sig_name(enum dkim_key_alg a)
{
	return a == DKIM_ALG_RSA ? "rsa-sha256" : "ed25519-sha256";
}

/* The selector in s= and in DNS of the key of algorithm a. */
static inline int
dkim_dns_selector(char *buf, size_t size, const char *selector, enum dkim_key_alg a)
{
	int n = snprintf(buf, size, "%s-%s", selector, dkim_alg_dns_name(a));

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* True if s is a selector we agree to use: a lowercase DNS name. */
static inline bool
dkim_selector_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > DKIM_SELECTOR_MAX || !domain_is_valid(s, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return false;
	return true;
}

/* "<domain>/<selector><suffix>" relative to the key directory; -1 if it
 * does not fit (it always does for valid names). */
static inline int
dkim_key_relpath(char *buf, size_t size, const char *domain,
    const char *selector, enum dkim_key_alg a)
{
	int n = snprintf(buf, size, "%s/%s%s", domain, selector, dkim_alg_suffix(a));

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

#endif
