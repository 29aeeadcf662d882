/*
 * admin/certinfo.c - certificate chains as DANE, MTA-STS senders and
 * expiry watchers see them (see certinfo.h).
 *
 * Owns: nothing between calls. Name matching is OpenSSL's
 * X509_check_host() without partial wildcards (RFC 6125 6.4.3: "*" only
 * as the whole left-most label), the way verifying MTAs match.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certinfo.h"

int
cert_chain_load_file(const char *path, struct cert_chain *c, char *err, size_t errsize)
{
	BIO *bio;
	X509 *x;

	memset(c, 0, sizeof(*c));
	if ((bio = BIO_new_file(path, "r")) == NULL) {
		snprintf(err, errsize, "tls_certificate %s: cannot read it (%s)", path,
		    ERR_reason_error_string(ERR_get_error()));
		ERR_clear_error();
		return -1;
	}
	while (c->n < CERT_CHAIN_MAX && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		c->x[c->n++] = x;
	ERR_clear_error();	/* the end of the file reads as an error */
	BIO_free(bio);
	if (c->n == 0) {
		snprintf(err, errsize, "tls_certificate %s: no PEM certificate in it", path);
		return -1;
	}
	return 0;
}

void
cert_chain_from_stack(STACK_OF(X509) *sk, struct cert_chain *c)
{
	memset(c, 0, sizeof(*c));
	for (int i = 0; sk != NULL && i < sk_X509_num(sk) && c->n < CERT_CHAIN_MAX; i++) {
		X509 *x = sk_X509_value(sk, i);
		if (X509_up_ref(x) == 1)
			c->x[c->n++] = x;
	}
}

void
cert_chain_free(struct cert_chain *c)
{
	for (size_t i = 0; i < c->n; i++)
		X509_free(c->x[i]);
	memset(c, 0, sizeof(*c));
}

/* The DER bytes a selector names (RFC 6698 2.1.2); the caller frees. */
static int
selected_der(X509 *x, unsigned selector, unsigned char **der)
{
	*der = NULL;
	if (selector == 0)
		return i2d_X509(x, der);
	if (selector == 1)
		return i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), der);
	return -1;
}

int
tlsa_digest(X509 *x, unsigned selector, unsigned mtype, unsigned char *out, size_t size)
{
	const EVP_MD *md = mtype == 1 ? EVP_sha256() : mtype == 2 ? EVP_sha512() : NULL;
	unsigned char *der;
	unsigned int len = 0;
	int n;

	if (md == NULL || (size_t)EVP_MD_get_size(md) > size ||
	    (n = selected_der(x, selector, &der)) <= 0)
		return -1;
	int ok = EVP_Digest(der, (size_t)n, out, &len, md, NULL);
	OPENSSL_free(der);
	return ok == 1 ? (int)len : -1;
}

bool
tlsa_matches(X509 *x, unsigned selector, unsigned mtype, const unsigned char *data,
    size_t len)
{
	unsigned char buf[TLSA_DATA_MAX], *der;
	int n;
	bool same;

	if (mtype != 0) {
		n = tlsa_digest(x, selector, mtype, buf, sizeof(buf));
		return n > 0 && (size_t)n == len && memcmp(buf, data, len) == 0;
	}
	if ((n = selected_der(x, selector, &der)) <= 0)
		return false;
	same = (size_t)n == len && memcmp(der, data, len) == 0;
	OPENSSL_free(der);
	return same;
}

int
hex_encode(const unsigned char *in, size_t len, char *out, size_t size)
{
	static const char digits[] = "0123456789abcdef";

	if (size < 2 * len + 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
	return 0;
}

int
cert_chain_verify(const struct cert_chain *c, const char *host, char *why, size_t whysize)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int r = -1;

	if (store == NULL || ctx == NULL || untrusted == NULL || c->n == 0 ||
	    X509_STORE_set_default_paths(store) != 1) {
		snprintf(why, whysize, "cannot set up verification");
		goto done;
	}
	for (size_t i = 1; i < c->n; i++)
		(void)sk_X509_push(untrusted, c->x[i]);
	if (X509_STORE_CTX_init(ctx, store, c->x[0], untrusted) != 1) {
		snprintf(why, whysize, "cannot set up verification");
		goto done;
	}
	X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_hostflags(p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	X509_VERIFY_PARAM_set_purpose(p, X509_PURPOSE_SSL_SERVER);
	if (X509_VERIFY_PARAM_set1_host(p, host, 0) != 1) {
		snprintf(why, whysize, "cannot set up verification");
		goto done;
	}
	if (X509_verify_cert(ctx) == 1)
		r = 0;
	else
		snprintf(why, whysize, "%s",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
done:
	ERR_clear_error();
	sk_X509_free(untrusted);	/* the certificates stay the chain's */
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return r;
}

bool
cert_names_host(X509 *x, const char *host)
{
	return X509_check_host(x, host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
}

long
cert_seconds_left(X509 *x, time_t now, bool *not_yet_valid)
{
	ASN1_TIME *t = ASN1_TIME_set(NULL, now);
	int days = 0, secs = 0;

	*not_yet_valid = false;
	if (t == NULL)
		return 0;
	if (ASN1_TIME_compare(X509_get0_notBefore(x), t) > 0)
		*not_yet_valid = true;
	if (ASN1_TIME_diff(&days, &secs, t, X509_get0_notAfter(x)) != 1)
		days = secs = 0;
	ASN1_TIME_free(t);
	return (long)days * 86400 + secs;
}

static void
append(char *out, size_t size, size_t *o, const char *name, int len)
{
	int w = snprintf(out + *o, size - *o, "%s%.*s", *o ? ", " : "", len, name);

	if (w > 0 && (size_t)w < size - *o)
		*o += (size_t)w;
}

void
cert_names_text(X509 *x, char *out, size_t size)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t o = 0;

	out[0] = '\0';
	for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		if (g->type == GEN_DNS)
			append(out, size, &o, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
			    ASN1_STRING_length(g->d.dNSName));
	}
	GENERAL_NAMES_free(names);
	if (o == 0) {
		char cn[256];
		if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
		    sizeof(cn)) > 0)
			append(out, size, &o, cn, (int)strlen(cn));
	}
	/* names come from a certificate: keep them printable */
	for (char *p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
}

bool
cert_equal(X509 *a, X509 *b)
{
	return a != NULL && b != NULL && X509_cmp(a, b) == 0;
}
