/*
 * relay/tls.h - OpenSSL for outbound STARTTLS (RFC 3207, client side) and
 * the TLS policy of one session: how much the certificate must prove.
 *
 * Owns: the relay's one client SSL_CTX, built in preinit (before the
 * chroot hides the files): TLS 1.2 is the floor, the CA bundle
 * relay_ca_file is read into its store then (OpenSSL never opens a file
 * again after that), and DANE is enabled on it (SSL_CTX_dane_enable).
 * Each session gets an SSL configured from its struct tls_policy:
 *
 *	opportunistic, mta-sts testing	no check that can fail the handshake;
 *		the chain and the MX name are still checked and the result
 *		logged (TLS-RPT counts it for a testing policy, RFC 8461 5)
 *	tls=require, mta-sts		SSL_VERIFY_PEER against relay_ca_file
 *		with the MX (or relay=) host name: SSL_set1_host, no partial
 *		wildcards (RFC 6125 6.4.3, RFC 8461 4.1)
 *	dane				SSL_dane_enable with the MX host as base
 *		domain and the usable TLSA records (RFC 7672 3: DANE-EE 3 x x
 *		ignores names and dates, DANE-TA 2 x x checks the chain up to
 *		the matching trust anchor and the name)
 *	dane-encrypt			a secure TLSA RRset without a usable
 *		record: TLS is mandatory, nothing is authenticated (RFC 7672 2.2)
 *
 * Why policies and not "always verify": most MX certificates do not verify
 * against the public CAs for the MX name (RFC 7672 1.3); only a policy the
 * receiving domain published (DANE, MTA-STS) or the admin set (tls=require)
 * says that a failed check means an attacker and not a lazy admin.
 */
#ifndef RELAY_TLS_H
#define RELAY_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "dane.h"

struct bufferevent;
struct event_base;

enum tls_policy_kind {
	TLSP_OPPORTUNISTIC = 0,
	TLSP_STS_TESTING,
	TLSP_REQUIRE,
	TLSP_STS_ENFORCE,
	TLSP_DANE,
	TLSP_DANE_ENCRYPT,
};

struct tls_policy {
	enum tls_policy_kind	kind;
	char			name[ADDR_DOMAIN_MAX + 1];	/* MX or relay= host */
	char			domain[ADDR_DOMAIN_MAX + 1];	/* the policy domain (TLS-RPT) */
	/* TLSP_DANE only, else NULL: the job host's set (relay/job.h); a
	 * session holds its own copy (relay/client.c) */
	const struct dane_set	*tlsa;
};

/* "opportunistic", "mta-sts-testing", "tls=require", "mta-sts", "dane",
 * "dane-encrypt": the policy= word of the logs. */
const char	*tls_policy_word(enum tls_policy_kind);
/* No plaintext, no fallback: the session fails (4.7.x) instead. */
bool		 tls_policy_required(enum tls_policy_kind);
/* A failed certificate check fails the handshake. */
bool		 tls_policy_verifies(enum tls_policy_kind);

/* ca_file: PEM bundle of trusted CAs, "" for none. */
void			 relay_tls_init(const char *ca_file);
/* A TLS bufferevent that connects over fd (BEV_OPT_CLOSE_ON_FREE), set up
 * for policy p (copied where OpenSSL needs it). NULL on failure. */
struct bufferevent	*relay_tls_bev(struct event_base *, int fd, const char *sni,
			    const struct tls_policy *p);
/* "TLSv1.3/TLS_AES_256_GCM_SHA384"-style description for logs. */
void			 relay_tls_describe(struct bufferevent *, char *buf, size_t size);
const char		*relay_tls_error(struct bufferevent *, char *buf, size_t size);
/* After the handshake: did the certificate pass the policy's check (or, for
 * the policies that do not enforce one, would it have)? why gets "ok",
 * "dane" or OpenSSL's verify error ("hostname mismatch", ...). */
bool			 relay_tls_verified(struct bufferevent *, char *why, size_t size);
/* The X509_V_ERR_* of that check (X509_V_OK: none). */
long			 relay_tls_verify_error(struct bufferevent *);

#endif
