/*
 * lib/tlspem.h - a TLS certificate chain and key carried as PEM bytes: read
 * by homemxd (root) at a reload, handed to smtpd and submission in a sealed
 * memfd (MSG_SUP_TLS), loaded there into a fresh SSL_CTX.
 */
#ifndef HMX_TLSPEM_H
#define HMX_TLSPEM_H

#include <stddef.h>
#include <stdint.h>

/* Each file, at most; a chain of a few certificates is ~6 KB. */
#define TLSPEM_PART_MAX		(256 * 1024)
/* tls_certificate (RSA) and tls_certificate_ecdsa */
#define TLSPEM_PAIRS_MAX	2
/* The memfd's header: three big-endian u32 lengths (chain, key, OCSP
 * staple: 0 for none) per pair. */
#define TLSPEM_HEADER(npairs)	((size_t)(npairs) * 12)
#define TLSPEM_MEMFD_MAX	(TLSPEM_HEADER(TLSPEM_PAIRS_MAX) + \
				 3 * TLSPEM_PAIRS_MAX * (size_t)TLSPEM_PART_MAX)

struct config;
struct ssl_ctx_st;

/* What a pair's key must be: with two pairs side by side the first is
 * RSA and the second ECDSA (one slot per key type in an SSL_CTX). */
enum tlspem_key_type { TLSPEM_KEY_ANY = 0, TLSPEM_KEY_NOT_EC, TLSPEM_KEY_EC };

/* A pair's OCSP response (DER) to staple, as homemxd's fetcher cached it
 * (supervisor/ocsp.h); len 0: none. */
struct tlspem_staple {
	const unsigned char	*der;
	size_t			 len;
};

/* One pair's files and the names of their settings, for messages. */
struct tlspem_source {
	const char	*cert_setting;
	const char	*cert_path;
	const char	*key_setting;
	const char	*key_path;
};

/*
 * Loads a PEM chain (pem[0..chain_len), leaf first, as certbot's
 * fullchain.pem) and a PEM private key (pem[chain_len..len)) into ctx and
 * checks that they belong together, as SSL_CTX_use_certificate_chain_file()
 * and SSL_CTX_use_PrivateKey_file() would from the files. 0, or -1 with err
 * ("certificate: <OpenSSL's reason>", "key: ...", "key does not match the
 * certificate").
 */
int	tlspem_load(struct ssl_ctx_st *ctx, const char *pem, size_t chain_len,
	    size_t len, char *err, size_t errlen);
/* The same, refusing a key that is not of the type want ("key: expected an
 * ECDSA key, got RSA"). */
int	tlspem_load_typed(struct ssl_ctx_st *ctx, const char *pem, size_t chain_len,
	    size_t len, enum tlspem_key_type want, char *err, size_t errlen);

/* The configured pairs, RSA first: 0 (no TLS), 1 or 2. Points into c. */
size_t	tlspem_config_sources(const struct config *c,
	    struct tlspem_source out[TLSPEM_PAIRS_MAX]);

/*
 * Reads every file of the npairs pairs of src (each at most TLSPEM_PART_MAX
 * bytes), adds staples[i] (NULL: none; not checked here), checks each pair with tlspem_load_typed() (two pairs: RSA, then
 * ECDSA) and returns a sealed memfd holding the header and the files, or -1
 * with err naming the setting and the file ("tls_key_ecdsa /x.pem: No such
 * file or directory", "tls_certificate_ecdsa /c.pem, tls_key_ecdsa /k.pem:
 * key does not match the certificate"). What the memfd holds is exactly
 * what was checked, even if certbot renews the files again meanwhile.
 * homemxd sends it with the number of pairs (MSG_SUP_TLS).
 */
int	tlspem_memfd(const struct tlspem_source *src, size_t npairs,
	    const struct tlspem_staple *staples, char *err, size_t errlen);

/* Loads every pair of a memfd's bytes (tlspem_read_fd()) into ctx: 0, or
 * -1 with err. A pair's staple is attached (lib/tlsocsp.h) when it is a
 * good, current response for that certificate and its issuer is in the
 * chain; otherwise it is left out. *stapled (may be NULL): how many were
 * attached. */
int	tlspem_load_pairs(struct ssl_ctx_st *ctx, const char *buf, size_t len,
	    uint32_t npairs, int *stapled, char *err, size_t errlen);

/* Reads a memfd made by tlspem_memfd() into a malloc'd buffer (*len bytes);
 * NULL with err. The caller clears it (explicit_bzero) before free(). */
char	*tlspem_read_fd(int fd, size_t *len, char *err, size_t errlen);

#endif
