/*
 * lib/dkimkey_test.c - the names in dkim_key_dir (file names, DNS
 * selectors, which directory entries are keys) and the reading of a key's
 * PEM text: right type, wrong type, garbage, encrypted (refused without a
 * prompt), oversize.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dkimkey.h"

static void
test_names(void **state)
{
	char buf[DKIM_KEY_PATH_MAX], tiny[8];

	(void)state;
	assert_string_equal(dkim_alg_suffix(DKIM_ALG_RSA), ".rsa.pem");
	assert_string_equal(dkim_alg_suffix(DKIM_ALG_ED25519), ".ed25519.pem");
	assert_string_equal(dkim_alg_dns_name(DKIM_ALG_ED25519), "ed25519");
	assert_string_equal(dkim_alg_sig_name(DKIM_ALG_RSA), "rsa-sha256");
	assert_string_equal(dkim_alg_sig_name(DKIM_ALG_ED25519), "ed25519-sha256");
	assert_int_equal(dkim_dns_selector(buf, sizeof(buf), "mx1", DKIM_ALG_ED25519), 0);
	assert_string_equal(buf, "mx1-ed25519");
	assert_int_equal(dkim_dns_selector(tiny, sizeof(tiny), "mx1", DKIM_ALG_ED25519), -1);
	assert_int_equal(dkim_key_file_name(buf, sizeof(buf), "mx1", DKIM_ALG_RSA), 0);
	assert_string_equal(buf, "mx1.rsa.pem");
	assert_int_equal(dkim_key_relpath(buf, sizeof(buf), "example.test", "mx1",
	    DKIM_ALG_ED25519), 0);
	assert_string_equal(buf, "example.test/mx1.ed25519.pem");
	assert_int_equal(dkim_key_relpath(tiny, sizeof(tiny), "example.test", "mx1",
	    DKIM_ALG_RSA), -1);
}

struct selector_case {
	const char	*s;
	bool		 valid;
};

static void
test_selector_is_valid(void **state)
{
	static char longest[DKIM_SELECTOR_MAX + 2];
	const struct selector_case cases[] = {
		{ "mx1", true }, { "2026-01", true }, { "a.b", true },
		{ "", false }, { "MX1", false }, { "a/b", false }, { "..", false },
		{ "a..b", false }, { "a b", false }, { longest, true },
	};

	(void)state;
	memset(longest, 'a', DKIM_SELECTOR_MAX);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (dkim_selector_is_valid(cases[i].s) != cases[i].valid)
			fail_msg("selector '%s': got %d, want %d", cases[i].s,
			    !cases[i].valid, cases[i].valid);
	longest[DKIM_SELECTOR_MAX] = 'a';	/* one octet too many */
	assert_false(dkim_selector_is_valid(longest));
}

struct file_case {
	const char	*file;
	const char	*want;	/* NULL: not a key file */
};

static void
test_file_selector(void **state)
{
	const struct file_case cases[] = {
		{ "mx1.rsa.pem", "mx1" }, { "mx1.ed25519.pem", "mx1" },
		{ "2026-01.rsa.pem", "2026-01" },
		{ "mx1.rsa.pem.tmp", NULL }, { ".rsa.pem", NULL }, { "mx1.pem", NULL },
		{ "MX1.rsa.pem", NULL }, { "mx1.dsa.pem", NULL }, { "..", NULL },
	};
	char sel[DKIM_SELECTOR_MAX + 1], tiny[3];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = dkim_key_file_selector(cases[i].file, sel, sizeof(sel));
		if (got != (cases[i].want != NULL))
			fail_msg("%s: got %s, want %s", cases[i].file, got ? "a key" : "no key",
			    cases[i].want ? cases[i].want : "no key");
		if (got)
			assert_string_equal(sel, cases[i].want);
	}
	assert_false(dkim_key_file_selector("mx1.rsa.pem", tiny, sizeof(tiny)));
}

/* ---- PEM -------------------------------------------------------------------- */

/* The key as PEM PKCS#8 text (malloc'd), encrypted with a passphrase if one
 * is given. */
static char *
pem_of(EVP_PKEY *k, const char *passphrase, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, k,
	    passphrase ? EVP_aes_256_cbc() : NULL, passphrase ? (char *)passphrase : NULL,
	    passphrase ? (int)strlen(passphrase) : 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	assert_true(n > 0);
	out = malloc((size_t)n + 1);
	assert_non_null(out);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	*len = (size_t)n;
	BIO_free(bio);
	return out;
}

static void
test_pem_parse(void **state)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), *got;
	char err[200], *pem, *enc, big[DKIM_KEY_FILE_MAX + 1];
	size_t len, enclen;

	(void)state;
	assert_non_null(ed);
	pem = pem_of(ed, NULL, &len);
	enc = pem_of(ed, "secret", &enclen);

	assert_int_equal(dkim_key_pem_parse(pem, len, DKIM_ALG_ED25519, &got, err,
	    sizeof(err)), DKIM_PEM_OK);
	assert_non_null(got);
	assert_int_equal(EVP_PKEY_eq(got, ed), 1);
	EVP_PKEY_free(got);

	assert_int_equal(dkim_key_pem_parse(pem, len, DKIM_ALG_RSA, &got, err, sizeof(err)),
	    DKIM_PEM_WRONG_TYPE);
	assert_null(got);

	assert_int_equal(dkim_key_pem_parse("garbage", 7, DKIM_ALG_RSA, &got, err,
	    sizeof(err)), DKIM_PEM_NOT_PEM);
	assert_null(got);
	assert_true(err[0] != '\0');
	assert_int_equal(ERR_peek_error(), 0);

	/* An encrypted key is refused, and nobody is asked for a passphrase. */
	assert_int_equal(dkim_key_pem_parse(enc, enclen, DKIM_ALG_ED25519, &got, err,
	    sizeof(err)), DKIM_PEM_NOT_PEM);
	assert_null(got);

	memset(big, 'A', sizeof(big));
	assert_int_equal(dkim_key_pem_parse(big, sizeof(big), DKIM_ALG_RSA, &got, err,
	    sizeof(err)), DKIM_PEM_NOT_PEM);
	assert_string_equal(err, "too big for a key");

	free(pem);
	free(enc);
	EVP_PKEY_free(ed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_selector_is_valid),
		cmocka_unit_test(test_file_selector),
		cmocka_unit_test(test_pem_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
