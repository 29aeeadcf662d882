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
#include <openssl/x509v3.h>

#include "addr.h"
#include "log.h"
#include "tls.h"

static SSL_CTX	*ctx;

static const char *policy_words[] = {
	[TLSP_OPPORTUNISTIC] = "opportunistic",	[TLSP_STS_TESTING] = "mta-sts-testing",
	[TLSP_REQUIRE] = "tls=require",		[TLSP_STS_ENFORCE] = "mta-sts",
	[TLSP_DANE] = "dane",			[TLSP_DANE_ENCRYPT] = "dane-encrypt",
};

const char *
tls_policy_word(enum tls_policy_kind k)
{
	if ((size_t)k >= sizeof(policy_words) / sizeof(policy_words[0]))
		return "opportunistic";
	return policy_words[k];
}

bool
tls_policy_required(enum tls_policy_kind k)
{
	return k != TLSP_OPPORTUNISTIC && k != TLSP_STS_TESTING;
}

bool
tls_policy_verifies(enum tls_policy_kind k)
{
	return k == TLSP_REQUIRE || k == TLSP_STS_ENFORCE || k == TLSP_DANE;
}

void
relay_tls_init(const char *ca_file)
{
	char err[256];

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_dane_enable(ctx) <= 0) {
		ERR_error_string_n(ERR_get_error(), err, sizeof(err));
		fatalx("relay tls: SSL_CTX_new: %s", err);
	}
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* Read now, as root and before the chroot: the store keeps them. */
	if (ca_file[0] != '\0' && SSL_CTX_load_verify_file(ctx, ca_file) != 1) {
		ERR_error_string_n(ERR_get_error(), err, sizeof(err));
		log_warnx("relay tls: cannot read relay_ca_file %s (%s): sessions whose policy "
		    "verifies certificates will fail", ca_file, err);
		ERR_clear_error();
	}
}

/* The MX name as the reference identifier (RFC 6125 6.4, RFC 8461 4.1). */
static int
set_name_check(SSL *ssl, const char *name)
{
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return SSL_set1_host(ssl, name) == 1 ? 0 : -1;
}

/* RFC 7672 3.1.1: DANE-EE matches the key alone, whatever the names. */
static int
set_dane(SSL *ssl, const struct tls_policy *p)
{
	int added = 0;

	if (p->tlsa == NULL || SSL_dane_enable(ssl, p->name) <= 0)
		return -1;
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (size_t i = 0; i < p->tlsa->n; i++) {
		const struct dane_tlsa *t = &p->tlsa->rr[i];
		if (!dane_tlsa_usable(t))
			continue;
		if (SSL_dane_tlsa_add(ssl, t->usage, t->selector, t->mtype,
		    dane_data(p->tlsa, i), t->len) > 0)
			added++;
	}
	return added > 0 ? 0 : -1;
}

static int
configure(SSL *ssl, const struct tls_policy *p)
{
	switch (p->kind) {
	case TLSP_OPPORTUNISTIC:
	case TLSP_STS_TESTING:
	case TLSP_DANE_ENCRYPT:
		/* the check is only reported: a name it refuses is no error */
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
		if (p->name[0] != '\0')
			(void)set_name_check(ssl, p->name);
		return 0;
	case TLSP_REQUIRE:
	case TLSP_STS_ENFORCE:
		SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
		return set_name_check(ssl, p->name);
	case TLSP_DANE:
		SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
		return set_dane(ssl, p);
	}
	return -1;
}

struct bufferevent *
relay_tls_bev(struct event_base *base, int fd, const char *sni, const struct tls_policy *p)
{
	struct bufferevent *bev;
	struct in_addr ia;
	SSL *ssl;

	if (ctx == NULL || (ssl = SSL_new(ctx)) == NULL)
		return NULL;
	/* SNI only for a name: RFC 6066 3 forbids literal addresses. */
	if (sni != NULL && sni[0] != '\0' && domain_is_valid(sni, strlen(sni)) &&
	    inet_pton(AF_INET, sni, &ia) != 1)
		(void)SSL_set_tlsext_host_name(ssl, sni);
	if (configure(ssl, p) == -1) {
		log_warnx("relay tls: cannot set up the %s policy for %s", tls_policy_word(p->kind),
		    p->name);
		SSL_free(ssl);
		return NULL;
	}
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
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	long v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	char ossl[200];

	if (v != X509_V_OK && SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE) {
		snprintf(buf, size, "certificate verification failed: %s",
		    X509_verify_cert_error_string(v));
		return buf;
	}
	if (e == 0)
		snprintf(buf, size, "connection closed during handshake");
	else {
		ERR_error_string_n(e, ossl, sizeof(ossl));
		snprintf(buf, size, "%s", ossl);
	}
	return buf;
}

bool
relay_tls_verified(struct bufferevent *bev, char *why, size_t size)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	long v;

	if (ssl == NULL) {
		snprintf(why, size, "no TLS");
		return false;
	}
	v = SSL_get_verify_result(ssl);
	if (v != X509_V_OK) {
		snprintf(why, size, "%s", X509_verify_cert_error_string(v));
		return false;
	}
	snprintf(why, size, "%s", SSL_get0_dane_authority(ssl, NULL, NULL) >= 0 ? "dane" : "ok");
	return true;
}

long
relay_tls_verify_error(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	return ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
}
