/*
 * smtpd/tls.c - OpenSSL for STARTTLS (RFC 3207) and implicit TLS (RFC
 * 8314), in smtpd and submission.
 *
 * Owns: the SSL_CTX new sessions get. It is built in preinit, while the
 * key file is still readable; after chroot and setuid the role cannot open
 * the key again, so at a reload homemxd reads the renewed pair as root and
 * sends its bytes (MSG_SUP_TLS, lib/tlspem.h). A new SSL_CTX then replaces
 * the old one for the sessions that start from then on; a session already
 * running keeps the context it was made from (every SSL object holds a
 * reference to its SSL_CTX), so a certificate renewal drops nobody. TLS
 * 1.2 is the floor; SSL_OP_IGNORE_UNEXPECTED_EOF because a client that
 * drops the connection without close_notify is an EOF, not an error
 * (OpenSSL 3 reports it as "unexpected eof while reading"). Renegotiation
 * is off: nothing needs it, and it has a history of abuse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config.h"
#include "log.h"
#include "role.h"
#include "tls.h"
#include "tlspem.h"

static SSL_CTX	*tls_ctx;
static char	 loaded_cert[CONFIG_PATH_MAX];

static void
tls_fatal(const char *what, const char *path)
{
	char err[256];

	ERR_error_string_n(ERR_get_error(), err, sizeof(err));
	fatalx("tls: %s %s: %s", what, path, err);
}

/* A context with our protocol floor and options, without certificate. */
static SSL_CTX *
tls_ctx_new(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	return ctx;
}

/* serial=HEX not_after="..." of the leaf, for the log lines. */
static void
describe_certificate(SSL_CTX *ctx, char *out, size_t size)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	BIGNUM *bn = x != NULL ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL) : NULL;
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	char after[64] = "?";
	BIO *bio = BIO_new(BIO_s_mem());

	if (x != NULL && bio != NULL && ASN1_TIME_print(bio, X509_get0_notAfter(x)) == 1) {
		int n = BIO_read(bio, after, sizeof(after) - 1);
		after[n > 0 ? n : 1] = '\0';
	}
	snprintf(out, size, "serial=%s not_after=\"%s\"", hex != NULL ? hex : "?", after);
	BIO_free(bio);
	OPENSSL_free(hex);
	BN_free(bn);
}

void
tls_init(const char *cert_path, const char *key_path)
{
	char what[160];

	if (cert_path[0] == '\0' || key_path[0] == '\0')
		return;
	if ((tls_ctx = tls_ctx_new()) == NULL)
		tls_fatal("SSL_CTX_new", "");
	if (SSL_CTX_use_certificate_chain_file(tls_ctx, cert_path) != 1)
		tls_fatal("cannot load certificate", cert_path);
	if (SSL_CTX_use_PrivateKey_file(tls_ctx, key_path, SSL_FILETYPE_PEM) != 1)
		tls_fatal("cannot load key", key_path);
	if (SSL_CTX_check_private_key(tls_ctx) != 1)
		tls_fatal("key does not match certificate", key_path);
	describe_certificate(tls_ctx, what, sizeof(what));
	log_event("tls_ready", "certificate=%s %s", cert_path, what);
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
	/* Limits, timeouts and names are read per use; a certificate comes
	 * with MSG_SUP_TLS right after this, when one is configured. */
	if (c->tls_certificate[0] == '\0' && tls_ctx != NULL)
		log_warnx("tls_certificate removed: TLS stays offered until a restart");
}

/* Builds a context from the bytes homemxd sent; NULL (logged) if they do
 * not load, and the old context stays. */
static SSL_CTX *
ctx_from_memfd(int fd, uint32_t chain_len)
{
	char err[512] = "";
	size_t len = 0;
	char *pem = tlspem_read_fd(fd, &len, err, sizeof(err));
	SSL_CTX *ctx = pem != NULL ? tls_ctx_new() : NULL;

	if (ctx != NULL && tlspem_load(ctx, pem, chain_len, len, err, sizeof(err)) == -1) {
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
	if (pem != NULL) {
		explicit_bzero(pem, len);
		free(pem);
	}
	if (ctx == NULL)
		log_event("tls_reload_failed", "error=\"%s\" action=keep_old_certificate",
		    err[0] != '\0' ? err : "SSL_CTX_new failed");
	return ctx;
}

void
tls_role_on_tls(int fd, uint32_t chain_len)
{
	const struct config *c = role_config();
	SSL_CTX *ctx = ctx_from_memfd(fd, chain_len);
	char what[160];

	close(fd);
	if (ctx == NULL)
		return;
	SSL_CTX_free(tls_ctx);	/* sessions still using it hold a reference */
	tls_ctx = ctx;
	memcpy(loaded_cert, c->tls_certificate, sizeof(loaded_cert));
	describe_certificate(tls_ctx, what, sizeof(what));
	log_event("tls_reload", "certificate=%s %s", loaded_cert, what);
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
