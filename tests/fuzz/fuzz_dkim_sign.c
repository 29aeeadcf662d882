// SOURCES: dkimsign/signer.c dkimsign/canon.c dkimsign/headers.c lib/dkimkey.c lib/addr.c lib/addr_intl.c lib/util.c lib/log.c lib/utf8.c
// LIBS: -lidn2 -lopendkim -lcrypto -lunistring
/*
 * tests/fuzz/fuzz_dkim_sign.c - dkimsign's own DKIM signer (signer.c,
 * canon.c) on arbitrary messages, checked against libopendkim's verifier.
 * The input is the message. Checks: no crash or UB; the relaxed body
 * canonicalization gives the same bytes whatever the chunks it is fed in
 * (the split point comes from the input's length); and every message the
 * signer agrees to sign verifies (both signatures, rsa-sha256 and
 * ed25519-sha256) in libopendkim once it is put on the wire the way
 * relay/dotstuff.c sends it. Left out of the verification, where
 * libopendkim departs from RFC 6376: a bare CR inside a line (an ordinary
 * byte for the RFC; submission refuses such messages anyway) and VT or FF
 * anywhere (libopendkim takes them for whitespace, isspace(); the RFC's
 * WSP is SP and HTAB only, as for dkimpy); and a message libopendkim
 * itself refuses to parse.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../../dkimsign/canon.h"
#include "../../dkimsign/signer.h"

#define OUT_MAX	16000

static struct signer	*signer;
static DKIM_LIB		*vlib;
static char		*pem[2];
static char		 rec[2][1024];

static char *
key_pem(EVP_PKEY *k)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	if (bio == NULL || PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) != 1)
		abort();
	n = BIO_get_mem_data(bio, &data);
	if ((out = malloc((size_t)n + 1)) == NULL)
		abort();
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(bio);
	return out;
}

/* "v=DKIM1; k=...; p=..." for the public half of k. */
static void
key_record(EVP_PKEY *k, bool ed, char *buf, size_t size)
{
	unsigned char der[1024], *p = der, b64[1400];
	int n = i2d_PUBKEY(k, &p);

	if (n <= 0)
		abort();
	if (ed)		/* RFC 8463: the raw 32-byte key, the end of the SPKI */
		EVP_EncodeBlock(b64, der + n - 32, 32);
	else
		EVP_EncodeBlock(b64, der, n);
	snprintf(buf, size, "v=DKIM1; k=%s; p=%s", ed ? "ed25519" : "rsa", b64);
}

static DKIM_CBSTAT
key_lookup(DKIM *d, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	const char *sel = (const char *)dkim_sig_getselector(sig);

	(void)d;
	if (strcmp(sel, "f-rsa") == 0)
		snprintf((char *)buf, buflen, "%s", rec[0]);
	else if (strcmp(sel, "f-ed25519") == 0)
		snprintf((char *)buf, buflen, "%s", rec[1]);
	else
		return DKIM_CBSTAT_NOTFOUND;
	return DKIM_CBSTAT_CONTINUE;
}

static void
init(void)
{
	const char *why;
	EVP_PKEY *k;

	if ((signer = signer_new(&why)) == NULL)
		abort();
	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	pem[0] = key_pem(k);
	key_record(k, false, rec[0], sizeof(rec[0]));
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	pem[1] = key_pem(k);
	key_record(k, true, rec[1], sizeof(rec[1]));
	EVP_PKEY_free(k);
	if ((vlib = dkim_init(NULL, NULL)) == NULL ||
	    dkim_set_key_lookup(vlib, key_lookup) != DKIM_STAT_OK)
		abort();
}

/* ---- chunking never changes the canonical body ----------------------------- */

struct digest_sink {
	EVP_MD_CTX	*md;
};

static void
digest_sink(void *arg, const uint8_t *p, size_t n)
{
	EVP_DigestUpdate(((struct digest_sink *)arg)->md, p, n);
}

static void
canon_digest(const uint8_t *p, size_t n, size_t split, unsigned char out[32])
{
	struct digest_sink d = { EVP_MD_CTX_new() };
	struct canon_body b;

	EVP_DigestInit_ex(d.md, EVP_sha256(), NULL);
	canon_body_init(&b, digest_sink, &d);
	canon_body_feed(&b, p, split);
	canon_body_feed(&b, p + split, n - split);
	canon_body_finish(&b);
	EVP_DigestFinal_ex(d.md, out, NULL);
	EVP_MD_CTX_free(d.md);
}

static void
check_chunking(const uint8_t *data, size_t size)
{
	unsigned char a[32], b[32];

	canon_digest(data, size, 0, a);
	canon_digest(data, size, size > 0 ? (data[0] * 7919u) % (size + 1) : 0, b);
	if (memcmp(a, b, sizeof(a)) != 0)
		abort();
}

/* ---- signed here, verified by libopendkim --------------------------------- */

/* Bytes libopendkim canonicalizes otherwise than RFC 6376 (see above). */
static bool
verifiers_disagree(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\v' || p[i] == '\f')
			return true;
		if (p[i] == '\r' && i + 1 < n && p[i + 1] != '\n')
			return true;
	}
	return false;
}

/* fields + the message as relay/dotstuff.c sends it (without the
 * dot-stuffing, which the receiver undoes). */
static uint8_t *
on_the_wire(const char *fields, const uint8_t *m, size_t n, size_t *len)
{
	size_t fl = strlen(fields), o = fl;
	uint8_t *w = malloc(fl + 2 * n + 3);

	if (w == NULL)
		abort();
	memcpy(w, fields, fl);
	for (size_t i = 0; i < n; i++) {
		if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r'))
			w[o++] = '\r';
		w[o++] = m[i];
	}
	if (n > 0 && m[n - 1] != '\n') {
		if (m[n - 1] != '\r')
			w[o++] = '\r';
		w[o++] = '\n';
	}
	*len = o;
	return w;
}

static void
check_verifies(const uint8_t *data, size_t size)
{
	static char out[OUT_MAX];
	struct sign_keys k = { "example.test", "f", { pem[0], pem[1] } };
	struct sign_input in = { -1, data, size };
	struct sign_result res;
	DKIM_SIGINFO **sigs;
	DKIM_STAT st;
	size_t len;
	int nsigs = 0;

	if (signer_sign(signer, &k, &in, out, sizeof(out), &res) == -1 ||
	    verifiers_disagree(data, size))
		return;
	uint8_t *wire = on_the_wire(out, data, size, &len);
	DKIM *d = dkim_verify(vlib, (const u_char *)"fuzz", NULL, &st);
	if (d == NULL)
		abort();
	if (dkim_chunk(d, wire, len) == DKIM_STAT_OK &&
	    dkim_chunk(d, NULL, 0) == DKIM_STAT_OK &&
	    dkim_eom(d, NULL) != DKIM_STAT_SYNTAX &&
	    dkim_getsiglist(d, &sigs, &nsigs) == DKIM_STAT_OK) {
		if (nsigs < 2)
			abort();
		for (int i = 0; i < 2; i++)
			if (!DKIM_SIG_CHECK(sigs[i])) {
				fprintf(stderr, "signature %d does not verify:\n%.*s\n", i,
				    (int)len, (const char *)wire);
				abort();
			}
	}
	dkim_free(d);
	free(wire);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (signer == NULL)
		init();
	check_chunking(data, size);
	check_verifies(data, size);
	return 0;
}
