/*
 * lib/tlsconf.h - the TLS settings of one kind of listener (protocol
 * floor, TLS 1.2 ciphers, TLS 1.3 suites, groups) applied to an SSL_CTX,
 * and checked the same way by `homemxd -n`.
 */
#ifndef HMX_TLSCONF_H
#define HMX_TLSCONF_H

#include <stddef.h>

struct config;
struct ssl_ctx_st;
struct tls_settings;

/* Which listeners a set of settings is for. */
enum tlsconf_kind {
	TLSCONF_SMTP = 0,	/* port 25: smtpd_tls_* */
	TLSCONF_SUBMISSION,	/* 587 and 465: submission_tls_* */
	TLSCONF_KINDS
};

/* "smtpd" or "submission": the prefix of the kind's settings. */
const char			*tlsconf_prefix(enum tlsconf_kind);
const struct tls_settings	*tlsconf_settings(const struct config *, enum tlsconf_kind);

/*
 * Sets min_version, ciphers, ciphersuites and groups on ctx, and the
 * server options every context of ours has (no renegotiation, no
 * compression, the server's order of preference). Stricter than OpenSSL
 * itself: OpenSSL skips a name it does not know as long as one of the
 * list is left ("ECDHE+AESGCM:CBC" is accepted and "CBC" silently does
 * nothing), so every name is checked on its own. 0, or -1 with err
 * naming the setting and the name: "submission_tls_ciphers: no cipher
 * matches 'CBC'".
 */
int	tlsconf_apply(struct ssl_ctx_st *ctx, const struct tls_settings *,
	    enum tlsconf_kind, char *err, size_t errlen);

/* tlsconf_apply() for both kinds on scratch contexts: the config check.
 * name is the config file, prefixed to err. */
int	tlsconf_check(const char *name, const struct config *, char *err, size_t errlen);

#endif
