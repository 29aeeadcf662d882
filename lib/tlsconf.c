/*
 * lib/tlsconf.c - the TLS settings of a listener kind applied to an
 * SSL_CTX: protocol floor, TLS 1.2 cipher list, TLS 1.3 suites, groups.
 *
 * Owns: the one place where homemx.conf's smtpd_tls_* and submission_tls_*
 * meet OpenSSL, used by smtpd and submission to build their contexts and by
 * homemxd to check a config (`homemxd -n`, start, reload), so that a value
 * the check accepted is exactly one the roles can use.
 *
 * Why each name is tried on its own: OpenSSL 3.0's SSL_CTX_set_cipher_list()
 * and SSL_CTX_set_ciphersuites() skip names they do not know as long as the
 * whole list still selects something, so a typo in a list would silently
 * weaken or change it. A term of a cipher list (ciphers(1): "ECDHE+AESGCM",
 * "!aNULL", "@SECLEVEL=2") is known when it selects a cipher at security
 * level 0; a few aliases select nothing in Debian's build (eNULL, RC4, ...)
 * and may still be removed with "!" or "-". Groups: SSL_CTX_set1_groups_list()
 * refuses an unknown name, but says not which; we say.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"
#include "tlsconf.h"

#define TERM_MAX	128	/* one name of a list */

const char *
tlsconf_prefix(enum tlsconf_kind kind)
{
	return kind == TLSCONF_SMTP ? "smtpd" : "submission";
}

const struct tls_settings *
tlsconf_settings(const struct config *c, enum tlsconf_kind kind)
{
	return kind == TLSCONF_SMTP ? &c->tls_smtp : &c->tls_submission;
}

/* Aliases of ciphers(1) that select nothing in a build without them; they
 * are known names, and removing them is what a careful list does. */
static bool
known_empty_alias(const char *term)
{
	static const char *const aliases[] = { "eNULL", "NULL", "EXP", "EXPORT",
		"EXPORT40", "EXPORT56", "LOW", "RC4", "DES", "3DES", "MD5", "RC2",
		"IDEA", "SEED", "aDSS", "DSS", "aFZA", "eFZA", "kFZA", "SSLv2",
		"kDHr", "kDHd", "kDH", "kECDHr", "kECDHe", "aGOST", "kGOST", "GOST94",
		"GOST89MAC" };

	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(term, aliases[i]) == 0)
			return true;
	return false;
}

/* "@STRENGTH", "@SECLEVEL=0".."@SECLEVEL=5" */
static bool
cipher_command_valid(const char *term)
{
	return strcmp(term, "@STRENGTH") == 0 || (strncmp(term, "@SECLEVEL=", 10) == 0 &&
	    term[10] >= '0' && term[10] <= '5' && term[11] == '\0');
}

/* Does the cipher-list term select anything at all? */
static bool
cipher_term_known(SSL_CTX *scratch, const char *term, bool removing)
{
	char probe[TERM_MAX + 16];

	if (term[0] == '@')
		return cipher_command_valid(term);
	if (removing && known_empty_alias(term))
		return true;
	snprintf(probe, sizeof(probe), "%s:@SECLEVEL=0", term);
	bool ok = SSL_CTX_set_cipher_list(scratch, probe) == 1;
	ERR_clear_error();
	return ok;
}

/* Calls check(term) for each name of a list separated by any of seps;
 * the first term it refuses is copied to bad. */
static bool
each_term(const char *list, const char *seps, bool (*check)(SSL_CTX *, const char *, void *),
    SSL_CTX *scratch, void *arg, char *bad, size_t badsize)
{
	char term[TERM_MAX];
	const char *s = list;

	while (*s != '\0') {
		size_t n = strcspn(s, seps);
		if (n > 0) {
			snprintf(term, sizeof(term), "%.*s", (int)(n < TERM_MAX ? n : TERM_MAX - 1), s);
			if (n >= TERM_MAX || !check(scratch, term, arg)) {
				snprintf(bad, badsize, "%.*s", (int)n, s);
				return false;
			}
		}
		s += n;
		if (*s != '\0')
			s++;
	}
	return true;
}

static bool
check_cipher_term(SSL_CTX *scratch, const char *term, void *arg)
{
	bool removing = term[0] == '!' || term[0] == '-';

	(void)arg;
	if (term[0] == '!' || term[0] == '-' || term[0] == '+')
		term++;
	return term[0] != '\0' && cipher_term_known(scratch, term, removing);
}

/* A TLS 1.3 suite name OpenSSL knows (TLS_AES_128_GCM_SHA256, ...). */
static bool
check_suite_name(SSL_CTX *scratch, const char *name, void *arg)
{
	bool found = false;

	(void)arg;
	if (SSL_CTX_set_ciphersuites(scratch, name) == 1) {
		STACK_OF(SSL_CIPHER) *all = SSL_CTX_get_ciphers(scratch);
		for (int i = 0; all != NULL && i < sk_SSL_CIPHER_num(all); i++)
			if (strcmp(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(all, i)), name) == 0)
				found = true;
	}
	ERR_clear_error();
	return found;
}

static bool
check_group_name(SSL_CTX *scratch, const char *name, void *arg)
{
	(void)arg;
	bool ok = SSL_CTX_set1_groups_list(scratch, name) == 1;
	ERR_clear_error();
	return ok;
}

static int
refuse(char *err, size_t errlen, enum tlsconf_kind kind, const char *setting,
    const char *why, const char *name)
{
	ERR_clear_error();
	snprintf(err, errlen, "%s_tls_%s: %s '%s'", tlsconf_prefix(kind), setting, why, name);
	return -1;
}

/* Each name on its own, then the whole list as OpenSSL takes it. */
static int
apply_lists(SSL_CTX *ctx, const struct tls_settings *t, enum tlsconf_kind kind,
    char *err, size_t errlen)
{
	SSL_CTX *scratch = SSL_CTX_new(TLS_server_method());
	char bad[TERM_MAX + 1] = "";
	int rc = -1;

	if (scratch == NULL) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		return -1;
	}
	if (!each_term(t->ciphers, ":, ", check_cipher_term, scratch, NULL, bad, sizeof(bad)))
		refuse(err, errlen, kind, "ciphers", "OpenSSL knows no cipher or alias", bad);
	else if (SSL_CTX_set_cipher_list(ctx, t->ciphers) != 1)
		refuse(err, errlen, kind, "ciphers", "OpenSSL selects no cipher from", t->ciphers);
	else if (!each_term(t->ciphersuites, ":", check_suite_name, scratch, NULL, bad, sizeof(bad)))
		refuse(err, errlen, kind, "ciphersuites", "OpenSSL knows no TLS 1.3 suite", bad);
	else if (SSL_CTX_set_ciphersuites(ctx, t->ciphersuites) != 1)
		refuse(err, errlen, kind, "ciphersuites", "OpenSSL refuses", t->ciphersuites);
	else if (!each_term(t->groups, ":", check_group_name, scratch, NULL, bad, sizeof(bad)))
		refuse(err, errlen, kind, "groups", "OpenSSL knows no group", bad);
	else if (SSL_CTX_set1_groups_list(ctx, t->groups) != 1)
		refuse(err, errlen, kind, "groups", "OpenSSL refuses", t->groups);
	else
		rc = 0;
	SSL_CTX_free(scratch);
	return rc;
}

int
tlsconf_apply(SSL_CTX *ctx, const struct tls_settings *t, enum tlsconf_kind kind,
    char *err, size_t errlen)
{
	/* OpenSSL's numbers are the wire numbers config.c parses to */
	if (SSL_CTX_set_min_proto_version(ctx, (int)t->min_version) != 1)
		return refuse(err, errlen, kind, "min_version", "OpenSSL refuses",
		    tls_version_name(t->min_version));
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	return apply_lists(ctx, t, kind, err, errlen);
}

int
tlsconf_check(const char *name, const struct config *c, char *err, size_t errlen)
{
	char why[CONFIG_ERR_MAX];

	for (int k = 0; k < TLSCONF_KINDS; k++) {
		SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
		int rc = ctx == NULL ? -1 : tlsconf_apply(ctx, tlsconf_settings(c, k), k, why,
		    sizeof(why));
		SSL_CTX_free(ctx);
		if (rc == -1) {
			snprintf(err, errlen, "%s: %s", name, ctx == NULL ? "SSL_CTX_new failed" : why);
			return -1;
		}
	}
	return 0;
}
