/*
 * admin/doctor_net.c - blocking TCP and TLS with timeouts (see
 * doctor_net.h).
 *
 * Owns: the socket, SSL and SSL_CTX of one connection. TLS 1.2 is the
 * floor, as for our own listeners (smtpd/tls.c); the CA store is
 * OpenSSL's default (SSL_CERT_FILE / SSL_CERT_DIR may replace it).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "doctor_net.h"

static int
fill_addr(const char *ip, unsigned port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

int
dnet_connect(struct dnet *c, const char *ip, unsigned port, unsigned timeout_ms, char *err,
    size_t errsize)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct sockaddr_storage ss;
	struct pollfd pfd;
	socklen_t len, elen = sizeof(int);
	int e = 0;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (fill_addr(ip, port, &ss, &len) == -1) {
		snprintf(err, errsize, "'%s' is not an address", ip);
		return -1;
	}
	if ((c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1) {
		snprintf(err, errsize, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(c->fd, (struct sockaddr *)&ss, len) == -1 && errno != EINPROGRESS)
		e = errno;
	else {
		pfd = (struct pollfd){ .fd = c->fd, .events = POLLOUT };
		if (poll(&pfd, 1, (int)timeout_ms) != 1)
			e = ETIMEDOUT;
		else if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
			e = errno;
	}
	if (e == 0 && (fcntl(c->fd, F_SETFL, 0) == -1 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1))
		e = errno;
	if (e != 0) {
		snprintf(err, errsize, "connect to %s port %u: %s", ip, port, strerror(e));
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static const char *
ssl_reason(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, size, "%s", errno != 0 ? strerror(errno) : "closed");
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
	return buf;
}

int
dnet_tls(struct dnet *c, const char *sni, const char *verify_host, char *err, size_t errsize)
{
	char why[200];

	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION) != 1 ||
	    (verify_host != NULL && SSL_CTX_set_default_verify_paths(c->ctx) != 1) ||
	    (c->ssl = SSL_new(c->ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		snprintf(err, errsize, "TLS set-up: %s", ssl_reason(why, sizeof(why)));
		return -1;
	}
	SSL_set_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (sni != NULL)
		(void)SSL_set_tlsext_host_name(c->ssl, sni);
	if (verify_host != NULL) {
		SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(c->ssl, verify_host) != 1) {
			snprintf(err, errsize, "TLS set-up: bad host name");
			return -1;
		}
		SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
	}
	errno = 0;
	if (SSL_connect(c->ssl) != 1) {
		long v = SSL_get_verify_result(c->ssl);
		if (verify_host != NULL && v != X509_V_OK)
			snprintf(err, errsize, "the certificate does not verify for %s: %s",
			    verify_host, X509_verify_cert_error_string(v));
		else
			snprintf(err, errsize, "TLS handshake failed: %s",
			    ssl_reason(why, sizeof(why)));
		ERR_clear_error();
		return -1;
	}
	return 0;
}

int
dnet_write(struct dnet *c, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n;
		if (c->ssl != NULL) {
			int k = SSL_write(c->ssl, buf, (int)len);
			n = k > 0 ? k : -1;
		} else
			n = write(c->fd, buf, len);
		if (n <= 0) {
			ERR_clear_error();
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t
dnet_read(struct dnet *c, char *buf, size_t size)
{
	if (c->ssl != NULL) {
		int k = SSL_read(c->ssl, buf, (int)size);
		if (k > 0)
			return k;
		k = SSL_get_error(c->ssl, k);
		ERR_clear_error();
		return k == SSL_ERROR_ZERO_RETURN ? 0 : -1;
	}
	return read(c->fd, buf, size);
}

void
dnet_close(struct dnet *c)
{
	if (c->ssl != NULL) {
		(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ctx);
	if (c->fd != -1)
		close(c->fd);
	ERR_clear_error();
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}
