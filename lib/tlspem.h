/*
 * lib/tlspem.h - a TLS certificate chain and key carried as PEM bytes: read
 * by homemxd (root) at a reload, handed to smtpd and submission in a sealed
 * memfd (MSG_SUP_TLS), loaded there into a fresh SSL_CTX.
 */
#ifndef HMX_TLSPEM_H
#define HMX_TLSPEM_H

#include <stddef.h>
#include <stdint.h>

/* Each of the two files, at most; a chain of a few certificates is ~6 KB. */
#define TLSPEM_PART_MAX		(256 * 1024)

struct ssl_ctx_st;

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

/*
 * Reads cert_path then key_path (each at most TLSPEM_PART_MAX bytes), checks
 * the pair with tlspem_load() and returns a sealed memfd holding both (the
 * chain first, *chain_len bytes of it), or -1 with err naming the file.
 * What the memfd holds is exactly what was checked, even if certbot renews
 * the files again meanwhile.
 */
int	tlspem_memfd(const char *cert_path, const char *key_path, uint32_t *chain_len,
	    char *err, size_t errlen);

/* Reads a memfd made by tlspem_memfd() into a malloc'd buffer (*len bytes);
 * NULL with err. The caller clears it (explicit_bzero) before free(). */
char	*tlspem_read_fd(int fd, size_t *len, char *err, size_t errlen);

#endif
