/*
 * admin/dkimpub.h - the public half of a domain's DKIM keys, as DNS must
 * publish it: `mxctl dkim show` prints it, `mxctl dns` lists it with the
 * other records, `mxctl doctor` compares it with what DNS serves.
 *
 * Owns: the one encoding of a key's TXT record (RFC 6376 3.6.1 tags,
 * RFC 8463 4.2 for ed25519: the raw 32-byte key; for rsa the
 * SubjectPublicKeyInfo DER), cut into zone-file strings of at most 255
 * octets (RFC 1035 3.3.14). The key files are read from dkim_key_dir
 * (layout in lib/dkimkey.h), which only root or _hmx-dkim may read: load
 * before dropping privileges.
 */
#ifndef HMX_ADMIN_DKIMPUB_H
#define HMX_ADMIN_DKIMPUB_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "dkimkey.h"

#define DKIM_TXT_STRING_MAX	255	/* RFC 1035 3.3.14 character-string */
#define DKIM_TXT_RECORD_MAX	2048	/* "v=DKIM1; k=rsa; p=" + a 4096-bit SPKI */
#define DKIM_ZONE_TXT_MAX	(DKIM_TXT_RECORD_MAX + 64)	/* quoted strings */
#define DKIM_PUB_ERR_MAX	300

/* One key of a selector: what DNS must hold for it. */
struct dkim_pub {
	bool		present;	/* the key file exists and loads */
	enum dkim_key_alg alg;
	char		dns_selector[DKIM_DNS_SELECTOR_MAX + 1];	/* "mx1-rsa" */
	char		p[DKIM_TXT_RECORD_MAX];		/* the p= value, base64 */
	char		text[DKIM_TXT_RECORD_MAX];	/* "v=DKIM1; k=rsa; p=..." */
	char		zone[DKIM_ZONE_TXT_MAX];	/* text as "..." "..." */
	unsigned	bits;		/* RSA modulus size; 256 for ed25519 */
	char		err[DKIM_PUB_ERR_MAX];	/* !present: why ("" = no file) */
};

/* The p= value of a key: base64 of the SPKI DER (rsa) or of the raw key
 * (ed25519). -1 if it does not fit outsize. */
int	dkim_pub_base64(EVP_PKEY *, enum dkim_key_alg, char *out, size_t outsize);

/* Fills pub from a loaded key (the private key: its public half is used). */
int	dkim_pub_from_key(EVP_PKEY *, enum dkim_key_alg, const char *selector,
	    struct dkim_pub *pub);

/* Text to zone-file strings: "abc" "def", each at most 255 octets. */
int	dkim_zone_strings(const char *text, char *out, size_t outsize);

/*
 * Reads both keys of selector for domain below key_dir. Each out[alg] is
 * filled: present with the record, or not present with err ("" when the
 * file does not exist, else why it could not be used). Returns -1 (err
 * set, size errsize) only when the directory itself cannot be read for a
 * reason other than its absence (no permission: run as root).
 */
int	dkim_pub_load(const char *key_dir, const char *domain, const char *selector,
	    struct dkim_pub out[DKIM_ALG_COUNT], char *err, size_t errsize);

#endif
