/*
 * relay/tls.c - see tls.h.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "addr.h"
#include "log.h"
#include "tls.h"

static SSL_CTX	*ctx;

void
relay_tls_init(void)
{
	char err[256];

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		ERR_error_string_n(ERR_get_error(), err, sizeof(err));
		fatalx("relay tls: SSL_CTX_new: %s", err);
	}
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
}

struct bufferevent *
relay_tls_bev(struct event_base *base, int fd, const char *sni)
{
	struct bufferevent *bev;
	SSL *ssl;

	if (ctx == NULL || (ssl = SSL_new(ctx)) == NULL)
		return NULL;
	/* SNI only for a name: RFC 6066 3 forbids literal addresses. */
	struct in_addr ia;
	if (sni != NULL && sni[0] != '\0' && domain_is_valid(sni, strlen(sni)) &&
	    inet_pton(AF_INET, sni, &ia) != 1)
		(void)SSL_set_tlsext_host_name(ssl, sni);
	bev = bufferevent_openssl_socket_new(base, fd, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

void
relay_tls_describe(struct bufferevent *bev, char *buf, size_t size)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	if (ssl == NULL)
		snprintf(buf, size, "none");
	else
		snprintf(buf, size, "%s/%s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
}

const char *
relay_tls_error(struct bufferevent *bev, char *buf, size_t size)
{
	unsigned long e = bufferevent_get_openssl_error(bev);

	if (e == 0)
		snprintf(buf, size, "connection closed during handshake");
	else
		ERR_error_string_n(e, buf, size);
	return buf;
}
