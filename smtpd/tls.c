/*
 * smtpd/tls.c - OpenSSL for STARTTLS (RFC 3207) and implicit TLS (RFC
 * 8314), in smtpd and submission.
 *
 * Owns: the one SSL_CTX of the process. It is built in preinit, while the
 * key file is still readable; after chroot and setuid nothing can reload
 * it (homemxd checks a new pair at reload: lib/tlscheck.c). TLS 1.2 is the
 * floor; SSL_OP_IGNORE_UNEXPECTED_EOF because a client that drops the
 * connection without close_notify is an EOF, not an error (OpenSSL 3
 * reports it as "unexpected eof while reading"). Renegotiation is off:
 * nothing needs it, and it has a history of abuse.
 */
#include <stdio.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"
#include "log.h"
#include "tls.h"

static SSL_CTX	*tls_ctx;
static char	 loaded_cert[CONFIG_PATH_MAX];

static void
tls_fatal(const char *what, const char *path)
{
	char err[256];

	ERR_error_string_n(ERR_get_error(), err, sizeof(err));
	fatalx("tls: %s %s: %s", what, path, err);
}

void
tls_init(const char *cert_path, const char *key_path)
{
	if (cert_path[0] == '\0' || key_path[0] == '\0')
		return;
	if ((tls_ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		tls_fatal("SSL_CTX_new", "");
	if (SSL_CTX_set_min_proto_version(tls_ctx, TLS1_2_VERSION) != 1)
		tls_fatal("min protocol", "");
	SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(tls_ctx, cert_path) != 1)
		tls_fatal("cannot load certificate", cert_path);
	if (SSL_CTX_use_PrivateKey_file(tls_ctx, key_path, SSL_FILETYPE_PEM) != 1)
		tls_fatal("cannot load key", key_path);
	if (SSL_CTX_check_private_key(tls_ctx) != 1)
		tls_fatal("key does not match certificate", key_path);
	log_event("tls_ready", "certificate=%s", cert_path);
}

bool
tls_available(void)
{
	return tls_ctx != NULL;
}

void
tls_role_preinit(const struct config *c)
{
	tls_init(c->tls_certificate, c->tls_key);
	memcpy(loaded_cert, c->tls_certificate, sizeof(loaded_cert));
}

void
tls_role_on_reload(const struct config *c)
{
	/* Limits, timeouts and names are read per use; the key is not. */
	if (strcmp(c->tls_certificate, loaded_cert) != 0)
		log_warnx("a new tls_certificate takes effect after a restart");
}

struct bufferevent *
tls_accept_bev(struct event_base *base, int fd)
{
	SSL *ssl;
	struct bufferevent *bev;

	if (tls_ctx == NULL || (ssl = SSL_new(tls_ctx)) == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

void
tls_describe(struct bufferevent *bev, char *version, size_t vsize,
    char *cipher, size_t csize)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	snprintf(version, vsize, "%s", ssl != NULL ? SSL_get_version(ssl) : "unknown");
	snprintf(cipher, csize, "%s", ssl != NULL ? SSL_get_cipher_name(ssl) : "unknown");
}

const char *
tls_error_text(struct bufferevent *bev, char *buf, size_t size)
{
	unsigned long e = bufferevent_get_openssl_error(bev);

	if (e == 0)
		snprintf(buf, size, "no TLS error");
	else
		ERR_error_string_n(e, buf, size);
	return buf;
}
