/*
 * admin/doctor_net.h - the doctor's few TCP and TLS connections: to our
 * own listeners (admin/doctor_tls.c) and to the MTA-STS policy host
 * (admin/doctor_sts.c).
 *
 * Owns: one connection at a time, blocking with timeouts on every
 * operation (SO_RCVTIMEO/SO_SNDTIMEO after a connect bounded by poll), so
 * a silent peer costs at most the timeout. Addresses are literal IPs: the
 * names were resolved through the doctor's own resolver, never
 * getaddrinfo().
 */
#ifndef HMX_ADMIN_DOCTOR_NET_H
#define HMX_ADMIN_DOCTOR_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#define DNET_TIMEOUT_MS	10000

struct dnet {
	int	fd;
	SSL	*ssl;		/* after dnet_tls */
	SSL_CTX	*ctx;
};

/* Connects to ip:port; 0, or -1 with err. */
int	dnet_connect(struct dnet *, const char *ip, unsigned port, unsigned timeout_ms,
	    char *err, size_t errsize);
/* A TLS handshake with SNI sni; verify_host non-NULL: the certificate must
 * verify for it against the CA store (else the handshake fails). */
int	dnet_tls(struct dnet *, const char *sni, const char *verify_host, char *err,
	    size_t errsize);
int	dnet_write(struct dnet *, const char *buf, size_t len);
/* Up to size bytes; 0 at EOF, -1 on error or timeout. */
ssize_t	dnet_read(struct dnet *, char *buf, size_t size);
void	dnet_close(struct dnet *);

#endif
