/*
 * admin/certinfo.h - what mxctl says about a certificate chain: the TLSA
 * association data DANE publishes (RFC 6698 2.1, RFC 7671), whether the
 * chain verifies for a name against the system's CA store (what an
 * MTA-STS sender checks, RFC 8461 4.2), and how long it stays valid.
 *
 * Owns: nothing between calls. Chains are either read from the
 * tls_certificate file (`mxctl dns`) or taken from a handshake with our
 * own listener (`mxctl doctor`, admin/doctor_tls.c). The CA store is
 * OpenSSL's default (/etc/ssl/certs; SSL_CERT_FILE or SSL_CERT_DIR in the
 * environment replace it, which the tests use for their own CA).
 */
#ifndef HMX_ADMIN_CERTINFO_H
#define HMX_ADMIN_CERTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#define CERT_CHAIN_MAX		8
#define CERT_WHY_MAX		200
#define TLSA_DATA_MAX		64	/* SHA-512; selector 0/1 with type 0 is longer */
#define TLSA_HEX_MAX		(2 * TLSA_DATA_MAX + 1)

struct cert_chain {
	size_t	n;
	X509	*x[CERT_CHAIN_MAX];	/* [0] is the leaf */
};

/* Reads a PEM chain (leaf first). 0, or -1 with err. */
int	cert_chain_load_file(const char *path, struct cert_chain *, char *err,
	    size_t errsize);
/* Takes references to the certificates of an OpenSSL stack (leaf first). */
void	cert_chain_from_stack(STACK_OF(X509) *, struct cert_chain *);
void	cert_chain_free(struct cert_chain *);

/*
 * The association data of x for a TLSA selector (0: the whole
 * certificate, 1: its SubjectPublicKeyInfo) and matching type (1: SHA-256,
 * 2: SHA-512; 0, the exact bytes, is compared with tlsa_matches only).
 * Returns the length, or -1.
 */
int	tlsa_digest(X509 *, unsigned selector, unsigned mtype, unsigned char *out,
	    size_t size);
/* True if the record (selector, mtype, data) matches x. */
bool	tlsa_matches(X509 *, unsigned selector, unsigned mtype,
	    const unsigned char *data, size_t len);
/* Lowercase hex of len bytes; -1 if it does not fit. */
int	hex_encode(const unsigned char *in, size_t len, char *out, size_t size);

/* 0 if the chain verifies for host (a DNS name) against the CA store, now;
 * else -1 with why ("certificate has expired", "self-signed ..."). */
int	cert_chain_verify(const struct cert_chain *, const char *host, char *why,
	    size_t whysize);
/* True if the leaf names host (SAN dNSName, wildcards as RFC 6125 6.4.3). */
bool	cert_names_host(X509 *, const char *host);
/* Seconds from now until notAfter (negative once expired), and whether
 * notBefore lies in the future. */
long	cert_seconds_left(X509 *, time_t now, bool *not_yet_valid);
/* The subject's names for a message: "mx.example.org, mail.example.org". */
void	cert_names_text(X509 *, char *out, size_t size);
bool	cert_equal(X509 *, X509 *);

#endif
