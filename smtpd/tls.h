/*
 * smtpd/tls.h - the server TLS context and the STARTTLS upgrade of a
 * connection (RFC 3207).
 */
#ifndef SMTPD_TLS_H
#define SMTPD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
/* A session role's on_reload: nothing TLS until MSG_SUP_TLS comes. */
void			 tls_role_on_reload(const struct config *);
/* A session role's on_tls: the renewed pair homemxd read at the reload
 * (fd: the sealed memfd of lib/tlspem.h, closed here). New sessions get
 * it; running ones keep theirs. A pair that does not load is logged
 * (event=tls_reload_failed) and the old one stays. */
void			 tls_role_on_tls(int fd, uint32_t chain_len);

/* A server-side TLS bufferevent on fd, owning fd and the SSL object. */
struct bufferevent	*tls_accept_bev(struct event_base *, int fd);

/* Negotiated protocol and cipher of an established TLS bufferevent. */
void			 tls_describe(struct bufferevent *, char *version, size_t vsize,
			    char *cipher, size_t csize);

/* The last OpenSSL error of this bufferevent, for the log. */
const char		*tls_error_text(struct bufferevent *, char *buf, size_t size);

#endif
