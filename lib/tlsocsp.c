/*
 * lib/tlsocsp.c - OCSP stapling with OpenSSL: the request, the check of
 * a response, and the status callback of the server contexts.
 *
 * Owns: the staples of an SSL_CTX (ex_data of the context, freed with
 * it). Why the check lives here and is run twice: the fetcher (a child
 * of homemxd, supervisor/ocsp_fetch.c) checks what the responder sent
 * before it is cached, and smtpd and submission check it again when they
 * load it from the memfd (lib/tlspem.c), against the certificate they
 * actually serve - a renewal without a reload, or a cache of another
 * certificate, then simply staples nothing. Why the callback never waits:
 * the staple is in memory or there is none (RFC 6066 8: the server may
 * omit it); a response past its nextUpdate is dropped rather than sent,
 * since a client would reject the handshake for it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "tlsocsp.h"

#define SKEW_SECONDS	300	/* clock skew allowed on thisUpdate */
#define STAPLES_MAX	2	/* RSA and ECDSA (lib/tlspem.h) */

struct staple {
	X509		*leaf;
	unsigned char	*der;
	size_t		 len;
	time_t		 next_update;
};

struct staples {
	struct staple	s[STAPLES_MAX];
	int		n;
};

int
tlsocsp_uri(X509 *leaf, char *out, size_t size)
{
	STACK_OF(OPENSSL_STRING) *uris = X509_get1_ocsp(leaf);
	int rc = -1;

	for (int i = 0; uris != NULL && i < sk_OPENSSL_STRING_num(uris) && rc == -1; i++) {
		const char *u = sk_OPENSSL_STRING_value(uris, i);
		if (strncasecmp(u, "http://", 7) == 0 && strlen(u) < size) {
			snprintf(out, size, "%s", u);
			rc = 0;
		}
	}
	X509_email_free(uris);
	return rc;
}

X509 *
tlsocsp_issuer(X509 *leaf, STACK_OF(X509) *chain)
{
	for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++)
		if (X509_check_issued(sk_X509_value(chain, i), leaf) == X509_V_OK)
			return sk_X509_value(chain, i);
	return NULL;
}

unsigned char *
tlsocsp_request(X509 *leaf, X509 *issuer, size_t *len)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf, issuer);	/* SHA-1 */
	unsigned char *der = NULL, *p;
	int n;

	if (req == NULL || id == NULL || OCSP_request_add0_id(req, id) == NULL) {
		OCSP_CERTID_free(id);
		goto done;
	}
	if ((n = i2d_OCSP_REQUEST(req, NULL)) <= 0 || (der = malloc((size_t)n)) == NULL)
		goto done;
	p = der;
	i2d_OCSP_REQUEST(req, &p);
	*len = (size_t)n;
done:
	OCSP_REQUEST_free(req);
	ERR_clear_error();
	return der;
}

static int
fail(char *err, size_t errlen, const char *what)
{
	ERR_clear_error();
	snprintf(err, errlen, "%s", what);
	return -1;
}

static bool
to_time(const ASN1_GENERALIZEDTIME *t, time_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return false;
	*out = timegm(&tm);
	return true;
}

/* Signed by the issuer, or by a responder the issuer delegated. */
static bool
signature_ok(OCSP_BASICRESP *bs, X509 *issuer)
{
	STACK_OF(X509) *trusted = sk_X509_new_null();
	X509_STORE *store = X509_STORE_new();
	bool ok = false;

	if (trusted != NULL && store != NULL && sk_X509_push(trusted, issuer) > 0 &&
	    X509_STORE_add_cert(store, issuer) == 1 &&
	    X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN) == 1)
		ok = OCSP_basic_verify(bs, trusted, store, OCSP_TRUSTOTHER) > 0;
	X509_STORE_free(store);
	sk_X509_free(trusted);
	return ok;
}

/* The status of leaf in bs: good, with both update times. */
static int
status_good(OCSP_BASICRESP *bs, X509 *leaf, X509 *issuer, time_t now, time_t *this_update,
    time_t *next_update, char *err, size_t errlen)
{
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf, issuer);
	ASN1_GENERALIZEDTIME *thisupd = NULL, *nextupd = NULL, *rev = NULL;
	int status = -1, reason = 0;
	int found = id != NULL && OCSP_resp_find_status(bs, id, &status, &reason, &rev,
	    &thisupd, &nextupd) == 1;

	OCSP_CERTID_free(id);
	if (!found)
		return fail(err, errlen, "no status for this certificate in the response");
	if (status != V_OCSP_CERTSTATUS_GOOD) {
		snprintf(err, errlen, "certificate status %s", OCSP_cert_status_str(status));
		return -1;
	}
	if (!to_time(thisupd, this_update) || !to_time(nextupd, next_update))
		return fail(err, errlen, "no thisUpdate or nextUpdate");
	if (*this_update > now + SKEW_SECONDS)
		return fail(err, errlen, "thisUpdate is in the future");
	if (*next_update <= now)
		return fail(err, errlen, "nextUpdate has passed");
	return 0;
}

int
tlsocsp_check(const unsigned char *der, size_t len, X509 *leaf, X509 *issuer, time_t now,
    time_t *this_update, time_t *next_update, char *err, size_t errlen)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs = NULL;
	int rc = -1;

	if (len == 0 || len > TLSOCSP_RESPONSE_MAX)
		return fail(err, errlen, "empty or oversized response");
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	if (resp == NULL || p != der + len)
		fail(err, errlen, "not an OCSP response");
	else if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		snprintf(err, errlen, "responder says %s",
		    OCSP_response_status_str(OCSP_response_status(resp)));
	} else if ((bs = OCSP_response_get1_basic(resp)) == NULL)
		fail(err, errlen, "not a basic OCSP response");
	else if (!signature_ok(bs, issuer))
		fail(err, errlen, "not signed by the issuer or its responder");
	else
		rc = status_good(bs, leaf, issuer, now, this_update, next_update, err, errlen);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	ERR_clear_error();
	return rc;
}

/* ---- the server side ---------------------------------------------------- */

static void
staples_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct staples *st = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (st == NULL)
		return;
	for (int i = 0; i < st->n; i++) {
		X509_free(st->s[i].leaf);
		free(st->s[i].der);
	}
	free(st);
}

static int
staples_index(void)
{
	static int idx = -1;

	if (idx == -1)
		idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, staples_free);
	return idx;
}

/* A client asked for the status (RFC 6066 8): the staple of the
 * certificate OpenSSL chose for it, if we have a current one. */
static int
status_cb(SSL *ssl, void *arg)
{
	struct staples *st = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), staples_index());
	X509 *chosen = SSL_get_certificate(ssl);
	time_t now = time(NULL);

	(void)arg;
	for (int i = 0; st != NULL && chosen != NULL && i < st->n; i++) {
		if (X509_cmp(chosen, st->s[i].leaf) != 0 || now >= st->s[i].next_update)
			continue;
		unsigned char *copy = OPENSSL_memdup(st->s[i].der, st->s[i].len);
		if (copy == NULL)
			break;
		SSL_set_tlsext_status_ocsp_resp(ssl, copy, (long)st->s[i].len);
		return SSL_TLSEXT_ERR_OK;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

int
tlsocsp_attach(SSL_CTX *ctx, X509 *leaf, const unsigned char *der, size_t len,
    time_t next_update)
{
	int idx = staples_index();
	struct staples *st = idx == -1 ? NULL : SSL_CTX_get_ex_data(ctx, idx);
	unsigned char *copy;

	if (idx == -1)
		return -1;
	if (st == NULL) {
		if ((st = calloc(1, sizeof(*st))) == NULL)
			return -1;
		if (SSL_CTX_set_ex_data(ctx, idx, st) != 1) {
			free(st);
			return -1;
		}
		SSL_CTX_set_tlsext_status_cb(ctx, status_cb);
	}
	if (st->n == STAPLES_MAX || (copy = malloc(len)) == NULL)
		return -1;
	memcpy(copy, der, len);
	X509_up_ref(leaf);
	st->s[st->n++] = (struct staple){ leaf, copy, len, next_update };
	return 0;
}
