/*
 * lib/tlscheck.c - the supervisor's check of the TLS settings, certificates
 * and keys, at start, for `homemxd -n` and at every reload.
 *
 * Owns: nothing but the question. The roles that serve TLS (smtpd,
 * submission) build their SSL_CTX once, in preinit, and a setting or pair
 * they cannot load is fatal for them - after a reload that would surface
 * only at their next start, as a crash loop. homemxd, still root, applies
 * the same settings (lib/tlsconf.c) and loads the same pairs the same way
 * (lib/tlspem.c, which also makes the memfd of a reload) before any role
 * sees the config, so a bad value is refused like any other bad config:
 * with the setting, the path and the reason (the files one by one, so
 * that the message names the one at fault).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"
#include "tlscheck.h"
#include "tlsconf.h"
#include "tlspem.h"

/* "name: setting path: OpenSSL's reason" into err; always -1. */
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

/* Is the key of the type its setting asks for (lib/tlspem.h)? */
static bool
key_type_fits(SSL_CTX *ctx, enum tlspem_key_type want)
{
	EVP_PKEY *k = SSL_CTX_get0_privatekey(ctx);
	bool ec = k != NULL && EVP_PKEY_is_a(k, "EC");

	return want == TLSPEM_KEY_ANY || (want == TLSPEM_KEY_EC) == ec;
}

static int
check_pair(const char *name, const struct tlspem_source *p, enum tlspem_key_type want,
    char *err, size_t errlen)
{
	SSL_CTX *ctx;
	int rc = 0;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return tlscheck_fail(err, errlen, name, "tls:", "SSL_CTX_new");
	/* The key first: loaded alone, only its own trouble can fail it; a
	 * certificate loaded after it drops a key that does not match, which
	 * SSL_CTX_check_private_key() then reports. */
	if (SSL_CTX_use_PrivateKey_file(ctx, p->key_path, SSL_FILETYPE_PEM) != 1)
		rc = tlscheck_fail(err, errlen, name, p->key_setting, p->key_path);
	else if (!key_type_fits(ctx, want)) {
		snprintf(err, errlen, "%s: %s %s: expected %s key", name, p->key_setting,
		    p->key_path, want == TLSPEM_KEY_EC ? "an ECDSA" :
		    "an RSA (ECDSA goes in tls_certificate_ecdsa)");
		rc = -1;
	} else if (SSL_CTX_use_certificate_chain_file(ctx, p->cert_path) != 1)
		rc = tlscheck_fail(err, errlen, name, p->cert_setting, p->cert_path);
	else if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "%s: %s %s: key does not match certificate %s",
		    name, p->key_setting, p->key_path, p->cert_path);
		rc = -1;
	}
	SSL_CTX_free(ctx);
	return rc;
}

int
tlscheck_config(const char *name, const struct config *c, char *err, size_t errlen)
{
	struct tlspem_source src[TLSPEM_PAIRS_MAX];
	size_t npairs = tlspem_config_sources(c, src);

	if (tlsconf_check(name, c, err, errlen) == -1)
		return -1;
	for (size_t i = 0; i < npairs; i++) {
		enum tlspem_key_type want = npairs < 2 ? TLSPEM_KEY_ANY :
		    i == 0 ? TLSPEM_KEY_NOT_EC : TLSPEM_KEY_EC;
		if (check_pair(name, &src[i], want, err, errlen) == -1)
			return -1;
	}
	return 0;
}
