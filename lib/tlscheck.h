/*
 * lib/tlscheck.h - does the configured TLS certificate and key load?
 */
#ifndef HMX_TLSCHECK_H
#define HMX_TLSCHECK_H

#include <stddef.h>

struct config;

/*
 * Loads tls_certificate (a PEM chain) and tls_key with OpenSSL, as smtpd
 * and submission will, and checks that the key belongs to the
 * certificate. 0 if they load (or TLS is not configured); -1 with err set
 * to "NAME: tls_key PATH: <OpenSSL's reason>" (or tls_certificate), or
 * "NAME: tls_key PATH: key does not match certificate PATH". name is the
 * config file, for the message.
 */
int	tlscheck_config(const char *name, const struct config *, char *err,
	    size_t errlen);

#endif
