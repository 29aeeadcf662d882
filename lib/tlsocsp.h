/*
 * lib/tlsocsp.h - OCSP stapling (RFC 6960, RFC 6066 section 8): the
 * request homemxd's fetcher sends, the check of a response, and the staple
 * smtpd and submission hand to clients that ask (status_request).
 */
#ifndef HMX_TLSOCSP_H
#define HMX_TLSOCSP_H

#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#define TLSOCSP_RESPONSE_MAX	(64 * 1024)	/* a response is ~1-4 KB */
#define TLSOCSP_URI_MAX		512

/* The first http:// OCSP URI of the leaf's Authority Information Access
 * (RFC 5280 4.2.2.1): 0, or -1 when it has none. */
int	tlsocsp_uri(X509 *leaf, char *out, size_t size);

/* The certificate of chain that issued leaf (its subject and key), or
 * NULL. Not a new reference. */
X509	*tlsocsp_issuer(X509 *leaf, STACK_OF(X509) *chain);

/* A DER OCSP request for leaf (SHA-1 CertID, no nonce: RFC 5019 2.1.1,
 * what CAs' responders cache); malloc'd, *len bytes; NULL on failure. */
unsigned char	*tlsocsp_request(X509 *leaf, X509 *issuer, size_t *len);

/*
 * Is der a response we may staple for leaf at time now: successful, signed
 * by the issuer or a responder it delegated (id-kp-OCSPSigning), status
 * good, thisUpdate not in the future and nextUpdate not passed (5 minutes
 * of clock skew)? 0 with *this_update and *next_update, or -1 with err.
 */
int	tlsocsp_check(const unsigned char *der, size_t len, X509 *leaf, X509 *issuer,
	    time_t now, time_t *this_update, time_t *next_update, char *err, size_t errlen);

/*
 * Staples der (already checked) for leaf, one of ctx's certificates: a
 * handshake that asks for status and gets leaf gets der, until
 * next_update; every other handshake goes on without. The context keeps
 * its own copy. 0, or -1 (out of memory).
 */
int	tlsocsp_attach(SSL_CTX *ctx, X509 *leaf, const unsigned char *der, size_t len,
	    time_t next_update);

#endif
