/*
 * lib/tlsocsp_test.c - OCSP stapling's checks: the responder URI of a
 * certificate, the request, and responses made here with OpenSSL - good,
 * revoked, expired, signed by a stranger, garbage - and the staple that a
 * context hands to a handshake only while it is current.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "tlsocsp.h"

struct pki {
	EVP_PKEY	*ca_key, *leaf_key, *stranger;
	X509		*ca, *leaf;
};

static EVP_PKEY *
p256(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	assert_non_null(k);
	return k;
}

static X509 *
cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, const char *aia)
{
	X509 *x = X509_new();
	X509V3_CTX v3;

	ASN1_INTEGER_set(X509_get_serialNumber(x), issuer != NULL ? 0x1001 : 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(issuer != NULL ? issuer : x));
	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if (aia != NULL) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, NID_info_access, aia);
		assert_non_null(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) > 0);
	return x;
}

static void
pki_make(struct pki *p)
{
	p->ca_key = p256();
	p->leaf_key = p256();
	p->stranger = p256();
	p->ca = cert(p->ca_key, "test CA", NULL, NULL, NULL);
	p->leaf = cert(p->leaf_key, "mx.example.test", p->ca, p->ca_key,
	    "OCSP;URI:http://ocsp.example.test:8080/");
}

static void
pki_free(struct pki *p)
{
	X509_free(p->ca);
	X509_free(p->leaf);
	EVP_PKEY_free(p->ca_key);
	EVP_PKEY_free(p->leaf_key);
	EVP_PKEY_free(p->stranger);
}

/* A DER response for the leaf: status, validity from now, signer key. */
static unsigned char *
response(struct pki *p, int status, long this_off, long next_off, EVP_PKEY *signer_key,
    size_t *len)
{
	/* a stranger signs with a certificate of the CA's name, its own key */
	X509 *signer = signer_key == p->ca_key ? p->ca : cert(signer_key, "test CA", NULL, NULL,
	    NULL);
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, p->leaf, p->ca);
	ASN1_TIME *thisupd = X509_gmtime_adj(NULL, this_off), *nextupd = X509_gmtime_adj(NULL, next_off);
	ASN1_TIME *rev = X509_gmtime_adj(NULL, -3600);
	unsigned char *der = NULL;

	assert_non_null(OCSP_basic_add1_status(bs, id, status, OCSP_REVOKED_STATUS_KEYCOMPROMISE,
	    status == V_OCSP_CERTSTATUS_REVOKED ? rev : NULL, thisupd, nextupd));
	assert_int_equal(OCSP_basic_sign(bs, signer, signer_key, EVP_sha256(), NULL,
	    OCSP_NOCERTS), 1);
	if (signer != p->ca)
		X509_free(signer);
	OCSP_RESPONSE *r = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
	int n = i2d_OCSP_RESPONSE(r, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	OCSP_RESPONSE_free(r);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(id);
	ASN1_TIME_free(thisupd);
	ASN1_TIME_free(nextupd);
	ASN1_TIME_free(rev);
	return der;
}

static void
test_uri_issuer_and_request(void **state)
{
	struct pki p;
	char uri[TLSOCSP_URI_MAX];
	size_t len = 0;

	(void)state;
	pki_make(&p);
	assert_int_equal(tlsocsp_uri(p.leaf, uri, sizeof(uri)), 0);
	assert_string_equal(uri, "http://ocsp.example.test:8080/");
	assert_int_equal(tlsocsp_uri(p.ca, uri, sizeof(uri)), -1);	/* none */
	STACK_OF(X509) *chain = sk_X509_new_null();
	assert_null(tlsocsp_issuer(p.leaf, chain));
	sk_X509_push(chain, p.ca);
	assert_ptr_equal(tlsocsp_issuer(p.leaf, chain), p.ca);
	sk_X509_free(chain);
	unsigned char *req = tlsocsp_request(p.leaf, p.ca, &len);
	assert_non_null(req);
	const unsigned char *q = req;
	OCSP_REQUEST *r = d2i_OCSP_REQUEST(NULL, &q, (long)len);
	assert_non_null(r);
	assert_int_equal(OCSP_request_onereq_count(r), 1);
	OCSP_REQUEST_free(r);
	free(req);
	pki_free(&p);
}

static void
test_responses_are_checked(void **state)
{
	struct pki p;
	char err[256];
	time_t now = time(NULL), t1, t2;
	size_t len;
	unsigned char *der;

	(void)state;
	pki_make(&p);
	der = response(&p, V_OCSP_CERTSTATUS_GOOD, -60, 3600, p.ca_key, &len);
	assert_int_equal(tlsocsp_check(der, len, p.leaf, p.ca, now, &t1, &t2, err, sizeof(err)), 0);
	assert_true(t2 > now && t2 <= now + 3600 + 5 && t1 <= now);
	/* the same response an hour and a bit later: past nextUpdate */
	assert_int_equal(tlsocsp_check(der, len, p.leaf, p.ca, now + 3700, &t1, &t2, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "nextUpdate has passed");
	assert_int_equal(tlsocsp_check(der, len - 1, p.leaf, p.ca, now, &t1, &t2, err,
	    sizeof(err)), -1);
	assert_int_equal(tlsocsp_check(der, len, p.ca, p.ca, now, &t1, &t2, err, sizeof(err)), -1);
	OPENSSL_free(der);

	der = response(&p, V_OCSP_CERTSTATUS_REVOKED, -60, 3600, p.ca_key, &len);
	assert_int_equal(tlsocsp_check(der, len, p.leaf, p.ca, now, &t1, &t2, err, sizeof(err)), -1);
	assert_string_equal(err, "certificate status revoked");
	OPENSSL_free(der);

	der = response(&p, V_OCSP_CERTSTATUS_GOOD, -60, 3600, p.stranger, &len);
	assert_int_equal(tlsocsp_check(der, len, p.leaf, p.ca, now, &t1, &t2, err, sizeof(err)), -1);
	assert_string_equal(err, "not signed by the issuer or its responder");
	OPENSSL_free(der);

	der = response(&p, V_OCSP_CERTSTATUS_GOOD, 3600, 7200, p.ca_key, &len);
	assert_int_equal(tlsocsp_check(der, len, p.leaf, p.ca, now, &t1, &t2, err, sizeof(err)), -1);
	assert_string_equal(err, "thisUpdate is in the future");
	OPENSSL_free(der);

	assert_int_equal(tlsocsp_check((const unsigned char *)"garbage", 7, p.leaf, p.ca, now,
	    &t1, &t2, err, sizeof(err)), -1);
	assert_string_equal(err, "not an OCSP response");
	pki_free(&p);
}

static void
test_attach_keeps_a_copy(void **state)
{
	struct pki p;
	size_t len;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	unsigned char *der;

	(void)state;
	pki_make(&p);
	der = response(&p, V_OCSP_CERTSTATUS_GOOD, -60, 3600, p.ca_key, &len);
	assert_int_equal(tlsocsp_attach(ctx, p.leaf, der, len, time(NULL) + 3600), 0);
	OPENSSL_free(der);	/* the context has its own */
	assert_int_equal(tlsocsp_attach(ctx, p.leaf, (const unsigned char *)"x", 1, 0), 0);
	assert_int_equal(tlsocsp_attach(ctx, p.leaf, (const unsigned char *)"x", 1, 0), -1);
	SSL_CTX_free(ctx);	/* frees the staples (ASan checks) */
	pki_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri_issuer_and_request),
		cmocka_unit_test(test_responses_are_checked),
		cmocka_unit_test(test_attach_keeps_a_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
