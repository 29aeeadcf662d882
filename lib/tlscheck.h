/*
 * lib/tlscheck.h - do the configured TLS settings, certificates and keys
 * load?
 */
#ifndef HMX_TLSCHECK_H
#define HMX_TLSCHECK_H

#include <stddef.h>

struct config;

/*
 * Applies smtpd_tls_* and submission_tls_* to scratch contexts
 * (lib/tlsconf.h), then loads tls_certificate/tls_key and, when set,
 * tls_certificate_ecdsa/tls_key_ecdsa as smtpd and submission will
 * (lib/tlspem.h), checking that each key belongs to its certificate and
 * is of its type. 0 if all loads; -1 with err set to "NAME: <setting>
 * PATH: <reason>", e.g. "NAME: tls_key_ecdsa PATH: <OpenSSL's reason>",
 * "NAME: tls_key_ecdsa PATH: key does not match certificate PATH",
 * "NAME: submission_tls_ciphers: OpenSSL knows no cipher or alias 'FOO'".
 * name is the config file, for the message.
 */
int	tlscheck_config(const char *name, const struct config *, char *err,
	    size_t errlen);

#endif
