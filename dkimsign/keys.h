/*
 * dkimsign/keys.h - the private keys of dkim_key_dir, loaded on demand and
 * reloaded when their files change (keys.c).
 */
#ifndef HMX_DKIMSIGN_KEYS_H
#define HMX_DKIMSIGN_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "dkimkey.h"
#include "signer.h"

#define KEYRING_DOMAINS_MAX	256	/* cached (domain, selector) pairs */
#define KEY_WHY_MAX		256

enum key_status {
	KEY_OK = 0,
	KEY_MISSING,		/* no such file: not an error */
	KEY_UNREADABLE,		/* open/read failed (permissions?) */
	KEY_NOT_REGULAR,
	KEY_BAD_MODE,		/* readable or writable by group or others */
	KEY_TOO_BIG,		/* > DKIM_KEY_FILE_MAX */
	KEY_NOT_PEM,		/* not a PEM private key, or a NUL inside */
	KEY_WRONG_TYPE,		/* RSA in the .ed25519.pem file or the reverse */
	KEY_TOO_SMALL,		/* RSA under DKIM_RSA_MIN_BITS */
	KEY_TEST_SIGN_FAILED,	/* the test signature failed */
};

const char	*key_status_text(enum key_status);

/*
 * Checks PEM text (len bytes, not necessarily NUL-terminated) as a private
 * key of algorithm a: PEM (PKCS#8, or PKCS#1 for RSA), no NUL, the right
 * type, RSA of at least DKIM_RSA_MIN_BITS. *bits gets the RSA size (256
 * for Ed25519). Pure apart from OpenSSL: the unit tests drive it.
 */
enum key_status	 key_pem_check(const char *pem, size_t len, enum dkim_key_alg a,
		    unsigned *bits, char *why, size_t whysize);

/* What keyring_get() found for one (domain, selector). */
enum keys_found {
	KEYS_FOUND,		/* at least one usable key, none broken */
	KEYS_NONE,		/* neither file exists */
	KEYS_BROKEN,		/* a key file exists but can not be used */
};

struct keyring;

/* dirfd: the key directory (the chroot's "/" in production); the ring
 * takes it over. The signer test-signs each key once on load. */
struct keyring	*keyring_new(int dirfd, struct signer *);
void		 keyring_free(struct keyring *);

/*
 * The keys of domain (lowercase, valid) and selector. Re-checks the two
 * files (one fstatat each) on every call and reloads a file that changed
 * (inode, size or mtime), so `mxctl dkim keygen` and --force take effect
 * on the next message without a restart. On KEYS_FOUND, k points into the
 * ring until the next keyring_get()/keyring_flush(). On KEYS_BROKEN, why
 * says which file and what is wrong.
 */
enum keys_found	 keyring_get(struct keyring *, const char *domain,
		    const char *selector, struct sign_keys *k, char *why, size_t whysize);

/* Forgets (and wipes) every cached key: on reload. */
void		 keyring_flush(struct keyring *);

#endif
