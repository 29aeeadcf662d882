/*
 * dkimsign/signer.h - one message in, DKIM-Signature fields out (signer.c:
 * relaxed/relaxed, rsa-sha256 and ed25519-sha256, libcrypto).
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

/* A signer with its buffers and an empty key cache; NULL with *why on
 * failure. Call it before the chroot: it initializes OpenSSL. */
struct signer	*signer_new(const char **why);
void		 signer_free(struct signer *);
/* Frees the parsed keys the signer keeps between messages (on reload). */
void		 signer_forget_keys(struct signer *);

/*
 * Signs the message with every key in k: writes one "DKIM-Signature: ..."
 * field per key (folded with CRLF TAB, CRLF-ended) into out,
 * NUL-terminated, RSA first. Returns 0, or -1 with res->why. Each PEM
 * text is parsed once and kept (by its SHA-256) for the next messages.
 * Synchronous: a message of a few MB takes milliseconds (see the note in
 * dkimsign.c); the size is bounded by SIGN_MESSAGE_MAX.
 */
int	signer_sign(struct signer *, const struct sign_keys *k,
	    const struct sign_input *in, char *out, size_t outsize,
	    struct sign_result *res);

/* Signs a small fixed message with one key: every key is tried once on
 * load, so that a key that can not sign is refused then, not per message. */
int	signer_test_key(struct signer *, const char *domain, const char *selector,
	    enum dkim_key_alg, const char *pem, char *why, size_t whysize);

/* The header fields we sign and oversign (exposed for the unit tests). */
extern const char *const signer_sign_headers[];
extern const char *const signer_oversign_headers[];

#endif
