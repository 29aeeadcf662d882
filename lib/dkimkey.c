/*
 * lib/dkimkey.c - names and parsing of DKIM key files (layout in
 * dkimkey.h).
 *
 * Owns: nothing at run time; the rules for names in dkim_key_dir and for
 * reading a key file's PEM text, shared by dkimsign/keys.c (the reader) and
 * admin/cmd_dkim.c (the writer). Why in lib/: the two must agree byte for
 * byte on where a key lives and what counts as a key, and neither program
 * may link the other's objects.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "dkimkey.h"

const char *
dkim_alg_suffix(enum dkim_key_alg a)
{
	return a == DKIM_ALG_RSA ? ".rsa.pem" : ".ed25519.pem";
}

const char *
dkim_alg_dns_name(enum dkim_key_alg a)
{
	return a == DKIM_ALG_RSA ? "rsa" : "ed25519";
}

const char *
dkim_alg_sig_name(enum dkim_key_alg a)
{
	return a == DKIM_ALG_RSA ? "rsa-sha256" : "ed25519-sha256";
}

int
dkim_dns_selector(char *buf, size_t size, const char *selector, enum dkim_key_alg a)
{
	int n = snprintf(buf, size, "%s-%s", selector, dkim_alg_dns_name(a));

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

bool
dkim_selector_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > DKIM_SELECTOR_MAX || !domain_is_valid(s, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return false;
	return true;
}

int
dkim_key_file_name(char *buf, size_t size, const char *selector, enum dkim_key_alg a)
{
	int n = snprintf(buf, size, "%s%s", selector, dkim_alg_suffix(a));

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
dkim_key_relpath(char *buf, size_t size, const char *domain,
    const char *selector, enum dkim_key_alg a)
{
	int n = snprintf(buf, size, "%s/%s%s", domain, selector, dkim_alg_suffix(a));

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

bool
dkim_key_file_selector(const char *file, char *sel, size_t size)
{
	for (int i = 0; i < DKIM_ALG_COUNT; i++) {
		const char *suf = dkim_alg_suffix((enum dkim_key_alg)i);
		size_t n = strlen(file), sn = strlen(suf);
		if (n <= sn || strcmp(file + n - sn, suf) != 0 || n - sn >= size)
			continue;
		memcpy(sel, file, n - sn);
		sel[n - sn] = '\0';
		return dkim_selector_is_valid(sel);
	}
	return false;
}

/* Never prompt for a passphrase: an encrypted key is simply refused. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

enum dkim_pem_status
dkim_key_pem_parse(const char *pem, size_t len, enum dkim_key_alg a,
    EVP_PKEY **out, char *err, size_t errsize)
{
	BIO *bio;

	*out = NULL;
	if (errsize > 0)
		err[0] = '\0';
	if (len > DKIM_KEY_FILE_MAX) {
		snprintf(err, errsize, "too big for a key");
		return DKIM_PEM_NOT_PEM;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		snprintf(err, errsize, "out of memory");
		return DKIM_PEM_NOT_PEM;
	}
	*out = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (*out == NULL) {
		ERR_error_string_n(ERR_get_error(), err, errsize);
		ERR_clear_error();
		return DKIM_PEM_NOT_PEM;
	}
	ERR_clear_error();
	if (!EVP_PKEY_is_a(*out, a == DKIM_ALG_RSA ? "RSA" : "ED25519")) {
		EVP_PKEY_free(*out);
		*out = NULL;
		return DKIM_PEM_WRONG_TYPE;
	}
	return DKIM_PEM_OK;
}
