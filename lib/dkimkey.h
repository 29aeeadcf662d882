/*
 * lib/dkimkey.h - the layout of dkim_key_dir and the form of a key file,
 * written down once for the two programs that touch it: homemx-dkimsign
 * reads it (dkimsign/keys.c), `mxctl dkim` (admin/cmd_dkim.c) writes it.
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
 * Keys are PEM PKCS#8 ("BEGIN PRIVATE KEY"), the form every DKIM tool
 * reads (libopendkim loads Ed25519 keys only in that form). A key is written to "<name>.tmp" and renamed into
 * place, so dkimsign never reads half a key. dkimsign signs with the
 * selector named by dkim_selector in homemx.conf, with each of the two
 * keys that exists; a missing pair means no signing (the sender answers
 * 451, never sends unsigned).
 */
#ifndef HMX_DKIMKEY_H
#define HMX_DKIMKEY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "addr.h"

/* A DNS label is 63 octets (RFC 1035 2.3.4); "-ed25519" must still fit. */
#define DKIM_SELECTOR_MAX	55
#define DKIM_DNS_SELECTOR_MAX	63
#define DKIM_KEY_FILE_MAX	16384	/* a 4096-bit RSA PEM is ~3.3 KB */
#define DKIM_KEY_NAME_MAX	(DKIM_SELECTOR_MAX + 16)	/* "<selector><suffix>" */
#define DKIM_KEY_PATH_MAX	(ADDR_DOMAIN_MAX + 1 + DKIM_SELECTOR_MAX + 16)
#define DKIM_RSA_BITS		2048
#define DKIM_RSA_MIN_BITS	1024	/* RFC 8301 3.2: verifiers may refuse less */

enum dkim_key_alg {
	DKIM_ALG_RSA = 0,
	DKIM_ALG_ED25519,
	DKIM_ALG_COUNT
};

/* File suffix (".rsa.pem"), DNS k= value ("rsa") and a= name
 * ("rsa-sha256") of each algorithm. */
const char	*dkim_alg_suffix(enum dkim_key_alg);
const char	*dkim_alg_dns_name(enum dkim_key_alg);
const char	*dkim_alg_sig_name(enum dkim_key_alg);

/* The selector in s= and in DNS of the key of algorithm a; -1 if it does
 * not fit in size. */
int	dkim_dns_selector(char *buf, size_t size, const char *selector,
	    enum dkim_key_alg a);

/* True if s is a selector we agree to use: a lowercase DNS name. */
bool	dkim_selector_is_valid(const char *s);

/* "<selector><suffix>", the file name inside the domain's directory, and
 * "<domain>/<selector><suffix>" relative to the key directory; -1 if it
 * does not fit (it always does for valid names). */
int	dkim_key_file_name(char *buf, size_t size, const char *selector,
	    enum dkim_key_alg a);
int	dkim_key_relpath(char *buf, size_t size, const char *domain,
	    const char *selector, enum dkim_key_alg a);

/* If file is the name of a key file with a valid selector, true with the
 * selector in sel (size bytes). */
bool	dkim_key_file_selector(const char *file, char *sel, size_t size);

/* What dkim_key_pem_parse() made of a PEM text. */
enum dkim_pem_status {
	DKIM_PEM_OK = 0,
	DKIM_PEM_NOT_PEM,	/* OpenSSL could not read a private key */
	DKIM_PEM_WRONG_TYPE,	/* a key, but not one of algorithm a */
};

/*
 * Reads PEM text (len bytes) as the private key of algorithm a, never
 * asking for a passphrase (an encrypted key is not a key we can use). On
 * DKIM_PEM_OK *out is the key (the caller frees it); on DKIM_PEM_NOT_PEM
 * err holds OpenSSL's reason. OpenSSL's error queue is left empty.
 */
enum dkim_pem_status	dkim_key_pem_parse(const char *pem, size_t len,
			    enum dkim_key_alg a, EVP_PKEY **out, char *err,
			    size_t errsize);

#endif
