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
 * reference to its SSL_CTX), so a certificate renewal drops nobody.
 * The protocol floor, ciphers, suites and groups are the listener kind's
 * (smtpd_tls_* for port 25, submission_tls_* for 587/465), applied by
 * lib/tlsconf.c, which homemxd used to check them; it also sets
 * SSL_OP_IGNORE_UNEXPECTED_EOF (a client that drops the connection without
 * close_notify is an EOF, not an error) and switches renegotiation off.
 * Both pairs go into the one context, an RSA and an ECDSA one when both
 * are configured: OpenSSL keeps one certificate per key type and picks
 * the one the client's signature algorithms and ciphers allow. OCSP
 * staples come the same way as a renewed pair: homemxd fetches them
 * (supervisor/ocsp.c) and sends the pairs again with them; a context
 * without one simply staples nothing (lib/tlsocsp.c).
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
#include "tlsconf.h"
#include "tlspem.h"

static SSL_CTX		*tls_ctx;
static char		 loaded_cert[CONFIG_PATH_MAX];
static enum tlsconf_kind tls_kind;	/* whose settings this role serves */

/* A context with the listener kind's settings, without certificate;
 * NULL with err. */
static SSL_CTX *
tls_ctx_new(const struct config *c, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		return NULL;
	}
	if (tlsconf_apply(ctx, tlsconf_settings(c, tls_kind), tls_kind, err, errlen) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* serial=HEX not_after="..." of a leaf, for the log lines. */
static void
describe_leaf(X509 *x, char *out, size_t size)
{
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

/* One log line per certificate of ctx (RSA, ECDSA): event=NAME. */
static void
log_certificates(SSL_CTX *ctx, const char *event, const struct config *c)
{
	static const char *const types[] = { "rsa", "ecdsa" };
	const char *paths[] = { c->tls_certificate, c->tls_certificate_ecdsa };
	char what[160];
	int n = 0;

	/* SSL_CTX_set_current_cert() walks the slots of the context */
	for (int rc = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST); rc == 1;
	    rc = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT)) {
		X509 *x = SSL_CTX_get0_certificate(ctx);
		EVP_PKEY *k = x != NULL ? X509_get0_pubkey(x) : NULL;
		int ec = k != NULL && EVP_PKEY_is_a(k, "EC");
		describe_leaf(x, what, sizeof(what));
		log_event(event, "certificate=%s type=%s kind=%s %s", paths[ec], types[ec],
		    tlsconf_prefix(tls_kind), what);
		n++;
	}
	if (n == 0)
		log_event(event, "certificate=none kind=%s", tlsconf_prefix(tls_kind));
}

/* The configured pairs as one memfd's bytes, read like a reload's. */
static SSL_CTX *
ctx_from_files(const struct config *c, char *err, size_t errlen)
{
	struct tlspem_source src[TLSPEM_PAIRS_MAX];
	size_t npairs = tlspem_config_sources(c, src);
	int fd = tlspem_memfd(src, npairs, NULL, err, errlen);
	SSL_CTX *ctx = NULL;
	size_t len = 0;
	char *pem = fd != -1 ? tlspem_read_fd(fd, &len, err, errlen) : NULL;

	if (fd != -1)
		close(fd);
	if (pem != NULL && (ctx = tls_ctx_new(c, err, errlen)) != NULL &&
	    tlspem_load_pairs(ctx, pem, len, (uint32_t)npairs, NULL, err, errlen) == -1) {
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
	if (pem != NULL) {
		explicit_bzero(pem, len);
		free(pem);
	}
	return ctx;
}

void
tls_init(const struct config *c, enum tlsconf_kind kind)
{
	char err[CONFIG_ERR_MAX];

	tls_kind = kind;
	if (c->tls_certificate[0] == '\0' || c->tls_key[0] == '\0')
		return;
	if ((tls_ctx = ctx_from_files(c, err, sizeof(err))) == NULL)
		fatalx("tls: %s", err);
	log_certificates(tls_ctx, "tls_ready", c);
}

bool
tls_available(void)
{
	return tls_ctx != NULL;
}

void
tls_role_preinit(const struct config *c, enum tlsconf_kind kind)
{
	tls_init(c, kind);
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
ctx_from_memfd(const struct config *c, int fd, uint32_t npairs, int *stapled)
{
	char err[CONFIG_ERR_MAX] = "";
	size_t len = 0;
	char *pem = tlspem_read_fd(fd, &len, err, sizeof(err));
	SSL_CTX *ctx = pem != NULL ? tls_ctx_new(c, err, sizeof(err)) : NULL;

	if (ctx != NULL && tlspem_load_pairs(ctx, pem, len, npairs, stapled, err,
	    sizeof(err)) == -1) {
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
tls_role_on_tls(int fd, uint32_t npairs)
{
	const struct config *c = role_config();
	int stapled = 0;
	SSL_CTX *ctx = ctx_from_memfd(c, fd, npairs, &stapled);

	close(fd);
	if (ctx == NULL)
		return;
	SSL_CTX_free(tls_ctx);	/* sessions still using it hold a reference */
	tls_ctx = ctx;
	memcpy(loaded_cert, c->tls_certificate, sizeof(loaded_cert));
	log_certificates(tls_ctx, "tls_reload", c);
	if (stapled > 0)	/* homemxd fetched them: supervisor/ocsp.c */
		log_event("ocsp_staple", "kind=%s stapled=%d", tlsconf_prefix(tls_kind), stapled);
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
