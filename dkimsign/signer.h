/*
 * dkimsign/signer.h - one message in, DKIM-Signature fields out, with
 * libopendkim (signer.c).
 */
#ifndef HMX_DKIMSIGN_SIGNER_H
#define HMX_DKIMSIGN_SIGNER_H

#include <stddef.h>
#include <stdint.h>

#include "dkimkey.h"

#define SIGN_MESSAGE_MAX	(64u * 1024 * 1024)	/* bytes we agree to read */
#define SIGN_BODY_CHUNK		(64 * 1024)
#define SIGN_WHY_MAX		256

struct signer;

/* What to sign with: the PEM text of each key (NULL = no key of that
 * algorithm; at least one must be set). selector is the base name of the
 * pair: s= is "<selector>-rsa" / "<selector>-ed25519" (lib/dkimkey.h). */
struct sign_keys {
	const char	*domain;
	const char	*selector;
	const char	*pem[DKIM_ALG_COUNT];
};

/* The message: an fd read with pread() from offset 0 (mem == NULL), or
 * bytes in memory (for the test-sign of a freshly loaded key). */
struct sign_input {
	int		 fd;
	const uint8_t	*mem;
	size_t		 size;
};

struct sign_result {
	size_t		 message_bytes;
	unsigned	 nsigs;
	char		 algs[64];	/* "rsa-sha256,ed25519-sha256" */
	char		 why[SIGN_WHY_MAX];	/* on failure */
};

/* dkim_init() with our header lists; NULL with *why on failure. Call it
 * before the chroot: it initializes OpenSSL. */
struct signer	*signer_new(const char **why);
void		 signer_free(struct signer *);

/*
 * Signs the message with every key in k: writes one "DKIM-Signature: ..."
 * field per key (folded with CRLF TAB by libopendkim, CRLF-ended) into
 * out, NUL-terminated, RSA first. Returns 0, or -1 with res->why.
 * Synchronous: a message of a few MB takes milliseconds (see the note in
 * dkimsign.c); the size is bounded by SIGN_MESSAGE_MAX.
 */
int	signer_sign(struct signer *, const struct sign_keys *k,
	    const struct sign_input *in, char *out, size_t outsize,
	    struct sign_result *res);

/* Signs a small fixed message with one key: a key libopendkim can not
 * use shows up only at dkim_eom(), so every key is tried once on load. */
int	signer_test_key(struct signer *, const char *domain, const char *selector,
	    enum dkim_key_alg, const char *pem, char *why, size_t whysize);

/* The header fields we sign and oversign (exposed for the unit tests). */
extern const char *const signer_sign_headers[];
extern const char *const signer_oversign_headers[];

#endif
