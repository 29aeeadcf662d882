/*
 * lib/tlscheck.c - the supervisor's check of the TLS certificate and key,
 * at start, for `homemxd -n` and at every reload.
 *
 * Owns: nothing but the question. The roles that serve TLS (smtpd,
 * submission) load the pair once, in preinit, and a pair they cannot load
 * is fatal for them - after a reload that would surface only at their next
 * start, as a crash loop. homemxd, still root, loads the pair the same way
 * (OpenSSL 3: SSL_CTX_use_certificate_chain_file, SSL_CTX_use_PrivateKey_file,
 * SSL_CTX_check_private_key) before any role sees the config, so a bad pair
 * is refused like any other bad config: with file, path and reason.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"
#include "tlscheck.h"

/* "name: what path: OpenSSL's reason" into err; always -1. */
static int
tlscheck_fail(char *err, size_t errlen, const char *name, const char *what,
    const char *path)
{
	char reason[256] = "unknown error";
	unsigned long e = ERR_peek_error();	/* the first is the cause: "No such file" */

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	snprintf(err, errlen, "%s: %s %s: %s", name, what, path, reason);
	return -1;
}

int
tlscheck_config(const char *name, const struct config *c, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	int rc = 0;

	if (c->tls_certificate[0] == '\0' && c->tls_key[0] == '\0')
		return 0;
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return tlscheck_fail(err, errlen, name, "tls:", "SSL_CTX_new");
	/* The key first: loaded alone, only its own trouble can fail it; a
	 * certificate loaded after it drops a key that does not match, which
	 * SSL_CTX_check_private_key() then reports. */
	if (SSL_CTX_use_PrivateKey_file(ctx, c->tls_key, SSL_FILETYPE_PEM) != 1)
		rc = tlscheck_fail(err, errlen, name, "tls_key", c->tls_key);
	else if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_certificate) != 1)
		rc = tlscheck_fail(err, errlen, name, "tls_certificate", c->tls_certificate);
	else if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "%s: tls_key %s: key does not match certificate %s",
		    name, c->tls_key, c->tls_certificate);
		rc = -1;
	}
	SSL_CTX_free(ctx);
	return rc;
}
