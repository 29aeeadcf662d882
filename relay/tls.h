/*
 * relay/tls.h - OpenSSL for outbound STARTTLS (RFC 3207, client side).
 *
 * Owns: the relay's one client SSL_CTX, built in preinit (before the
 * chroot hides the OpenSSL configuration). TLS 1.2 is the floor.
 * Certificates are not verified, not even with tls=require: opportunistic
 * TLS against MX hosts has no trustworthy name to check (RFC 7672 DANE
 * and MTA-STS RFC 8461 are the ways to get one).
 * TODO: verify the chain and the name for tls=require (load the CA bundle
 * into memory in preinit, SSL_set1_host with the MX or relay host name).
 */
#ifndef RELAY_TLS_H
#define RELAY_TLS_H

#include <stddef.h>

struct bufferevent;
struct event_base;

void			 relay_tls_init(void);
/* A TLS bufferevent that connects over fd (BEV_OPT_CLOSE_ON_FREE). */
struct bufferevent	*relay_tls_bev(struct event_base *, int fd, const char *sni);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384"-style description for logs. */
void			 relay_tls_describe(struct bufferevent *, char *buf, size_t size);
const char		*relay_tls_error(struct bufferevent *, char *buf, size_t size);

#endif
