/*
 * lib/tlsconf_test.c - the TLS settings of a listener kind: the defaults
 * load and give submission forward-secret AEAD ciphers only; every name
 * OpenSSL does not know is refused with the setting and the name, even
 * where OpenSSL itself would skip it; the floor reaches the context.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/ssl.h>

#include "config.h"
#include "tlsconf.h"

static int
apply(const struct tls_settings *t, enum tlsconf_kind kind, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int rc;

	assert_non_null(ctx);
	rc = tlsconf_apply(ctx, t, kind, err, errlen);
	SSL_CTX_free(ctx);
	return rc;
}

static void
test_defaults_load_and_submission_is_aead_ecdhe_only(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX] = "";
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	(void)state;
	config_defaults(&c);
	assert_int_equal(tlsconf_check("t.conf", &c, err, sizeof(err)), 0);
	assert_int_equal(tlsconf_apply(ctx, &c.tls_submission, TLSCONF_SUBMISSION, err,
	    sizeof(err)), 0);
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	STACK_OF(SSL_CIPHER) *all = SSL_CTX_get_ciphers(ctx);
	int tls12 = 0;
	for (int i = 0; i < sk_SSL_CIPHER_num(all); i++) {
		const SSL_CIPHER *ci = sk_SSL_CIPHER_value(all, i);
		if (strncmp(SSL_CIPHER_get_name(ci), "TLS_", 4) == 0)	/* TLS 1.3 suites */
			continue;
		tls12++;
		assert_int_equal(SSL_CIPHER_get_kx_nid(ci), NID_kx_ecdhe);
		assert_true(SSL_CIPHER_is_aead(ci));
	}
	assert_int_equal(tls12, 6);
	SSL_CTX_free(ctx);
}

static void
test_unknown_names_are_refused_by_setting(void **state)
{
	static const struct { const char *ciphers, *suites, *groups, *want; } cases[] = {
		{ "ECDHE+AESGCM:FOO", NULL, NULL, "submission_tls_ciphers: OpenSSL knows no cipher or alias 'FOO'" },
		{ "!ALL", NULL, NULL, "submission_tls_ciphers: OpenSSL selects no cipher from '!ALL'" },
		{ "TLS_AES_128_GCM_SHA256", NULL, NULL, "'TLS_AES_128_GCM_SHA256'" },
		{ "HIGH:@SECLEVEL=9", NULL, NULL, "'@SECLEVEL=9'" },
		{ NULL, "TLS_AES_128_GCM_SHA256:TLS_BOGUS", NULL, "submission_tls_ciphersuites: OpenSSL knows no TLS 1.3 suite 'TLS_BOGUS'" },
		{ NULL, "ECDHE-RSA-AES128-GCM-SHA256", NULL, "submission_tls_ciphersuites:" },
		{ NULL, NULL, "X25519:P-999", "submission_tls_groups: OpenSSL knows no group 'P-999'" },
		/* known names OpenSSL accepts as a whole: must pass */
		{ "HIGH:!aNULL:!eNULL:!RC4:-CBC:@STRENGTH:@SECLEVEL=2", "TLS_AES_256_GCM_SHA384",
		  "P-384", NULL },
	};
	struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_defaults(&c);
		struct tls_settings *t = &c.tls_submission;
		if (cases[i].ciphers != NULL)
			snprintf(t->ciphers, sizeof(t->ciphers), "%s", cases[i].ciphers);
		if (cases[i].suites != NULL)
			snprintf(t->ciphersuites, sizeof(t->ciphersuites), "%s", cases[i].suites);
		if (cases[i].groups != NULL)
			snprintf(t->groups, sizeof(t->groups), "%s", cases[i].groups);
		err[0] = '\0';
		int rc = apply(t, TLSCONF_SUBMISSION, err, sizeof(err));
		if (cases[i].want == NULL) {
			assert_int_equal(rc, 0);
			continue;
		}
		assert_int_equal(rc, -1);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: got '%s', want '%s'", i, err, cases[i].want);
	}
	/* the check names the file and finds the bad kind */
	config_defaults(&c);
	snprintf(c.tls_smtp.groups, sizeof(c.tls_smtp.groups), "nope");
	assert_int_equal(tlsconf_check("t.conf", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf: smtpd_tls_groups: OpenSSL knows no group 'nope'");
}

static void
test_floor_and_versions(void **state)
{
	char err[CONFIG_ERR_MAX];
	struct config c;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	(void)state;
	assert_int_equal(tls_version_number("TLSv1.3"), TLS1_3_VERSION);
	assert_int_equal(tls_version_number("TLSv1"), TLS1_VERSION);
	assert_int_equal(tls_version_number("SSLv3"), 0);
	assert_string_equal(tls_version_name(TLS1_2_VERSION), "TLSv1.2");
	config_defaults(&c);
	c.tls_smtp.min_version = TLS1_3_VERSION;
	assert_int_equal(tlsconf_apply(ctx, &c.tls_smtp, TLSCONF_SMTP, err, sizeof(err)), 0);
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_3_VERSION);
	SSL_CTX_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_load_and_submission_is_aead_ecdhe_only),
		cmocka_unit_test(test_unknown_names_are_refused_by_setting),
		cmocka_unit_test(test_floor_and_versions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
