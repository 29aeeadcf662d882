/*
 * smtpd/tls.h - the server TLS context and the STARTTLS upgrade of a
 * connection (RFC 3207).
 */
#ifndef SMTPD_TLS_H
#define SMTPD_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct bufferevent;
struct config;
struct event_base;

#define TLS_VERSION_MAX	32
#define TLS_CIPHER_MAX	96

/* Loads certificate chain and key (before chroot). Empty paths: no TLS.
 * A configured but unloadable pair is a setup failure (fatal). */
void			 tls_init(const char *cert_path, const char *key_path);
bool			 tls_available(void);

/* A session role's preinit (smtpd, submission): tls_init() from the config,
 * remembering which certificate was loaded. */
void			 tls_role_preinit(const struct config *);
/* A session role's on_reload: the key cannot be read again after the
 * privilege drop, so a new certificate waits for the next start. */
void			 tls_role_on_reload(const struct config *);

/* A server-side TLS bufferevent on fd, owning fd and the SSL object. */
struct bufferevent	*tls_accept_bev(struct event_base *, int fd);

/* Negotiated protocol and cipher of an established TLS bufferevent. */
void			 tls_describe(struct bufferevent *, char *version, size_t vsize,
			    char *cipher, size_t csize);

/* The last OpenSSL error of this bufferevent, for the log. */
const char		*tls_error_text(struct bufferevent *, char *buf, size_t size);

#endif
