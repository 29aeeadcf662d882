/*
 * lib/tlspem_test.c - the certificate pair carried as bytes: a chain and
 * its key load from memory (the extra certificates become the chain sent
 * to clients), a key of another certificate, garbage and bad lengths are
 * refused with the part named, and the memfd homemxd makes holds exactly
 * the two files, sealed against writes, with errors naming the file.
 * Certificates are made here with OpenSSL (EC P-256, fast).
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tlspem.h"
#include "util.h"

struct pem {
	char	text[8192];
	size_t	len;
};

static EVP_PKEY *
new_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	assert_non_null(k);
	return k;
}

static X509 *
self_signed(EVP_PKEY *key, const char *cn)
{
	X509 *x = X509_new();

	assert_non_null(x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

/* Appends the PEM of a certificate (key NULL) or of a key (x NULL). */
static void
append_pem(struct pem *p, X509 *x, EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;

	assert_non_null(bio);
	assert_int_equal(x != NULL ? PEM_write_bio_X509(bio, x) :
	    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	assert_true(n > 0 && p->len + (size_t)n < sizeof(p->text));
	memcpy(p->text + p->len, data, (size_t)n);
	p->len += (size_t)n;
	BIO_free(bio);
}

/* leaf + one more certificate, then the leaf's key; *chain_len set. */
static void
make_pair(struct pem *p, size_t *chain_len, bool wrong_key)
{
	EVP_PKEY *key = new_key(), *other = new_key();
	X509 *leaf = self_signed(key, "mx.example.test");
	X509 *extra = self_signed(other, "intermediate.example.test");

	memset(p, 0, sizeof(*p));
	append_pem(p, leaf, NULL);
	append_pem(p, extra, NULL);
	*chain_len = p->len;
	append_pem(p, NULL, wrong_key ? other : key);
	X509_free(leaf);
	X509_free(extra);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

static void
test_chain_and_key_load_from_memory(void **state)
{
	struct pem p;
	size_t chain_len;
	char err[512] = "";
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	STACK_OF(X509) *chain = NULL;

	(void)state;
	make_pair(&p, &chain_len, false);
	assert_int_equal(tlspem_load(ctx, p.text, chain_len, p.len, err, sizeof(err)), 0);
	assert_non_null(SSL_CTX_get0_certificate(ctx));
	assert_int_equal(SSL_CTX_get0_chain_certs(ctx, &chain), 1);
	assert_int_equal(sk_X509_num(chain), 1);
	SSL_CTX_free(ctx);
}

static void
test_bad_pairs_are_refused_by_part(void **state)
{
	struct pem p;
	size_t chain_len;
	char err[512];
	SSL_CTX *ctx;

	(void)state;
	make_pair(&p, &chain_len, true);
	ctx = SSL_CTX_new(TLS_server_method());
	assert_int_equal(tlspem_load(ctx, p.text, chain_len, p.len, err, sizeof(err)), -1);
	assert_string_equal(err, "key does not match the certificate");
	SSL_CTX_free(ctx);

	make_pair(&p, &chain_len, false);
	ctx = SSL_CTX_new(TLS_server_method());
	assert_int_equal(tlspem_load(ctx, "not a certificate\n", 18, 18 + 10, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "certificate: "));
	SSL_CTX_free(ctx);

	ctx = SSL_CTX_new(TLS_server_method());
	/* the chain alone, and "key" bytes that are the chain's tail */
	assert_int_equal(tlspem_load(ctx, p.text, chain_len / 2 + 1, chain_len, err,
	    sizeof(err)), -1);
	SSL_CTX_free(ctx);

	ctx = SSL_CTX_new(TLS_server_method());
	assert_int_equal(tlspem_load(ctx, p.text, 0, p.len, err, sizeof(err)), -1);
	assert_string_equal(err, "certificate and key: bad lengths");
	assert_int_equal(tlspem_load(ctx, p.text, p.len, p.len, err, sizeof(err)), -1);
	SSL_CTX_free(ctx);
}

static void
write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, data, len), 0);
	close(fd);
}

static void
test_memfd_holds_both_files_sealed(void **state)
{
	char dir[] = "/tmp/tlspem-test-XXXXXX", cert[64], key[64], err[512];
	struct pem p;
	size_t chain_len, len;
	uint32_t got_chain = 0;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cert, sizeof(cert), "%s/fullchain.pem", dir);
	snprintf(key, sizeof(key), "%s/privkey.pem", dir);
	make_pair(&p, &chain_len, false);
	write_file(cert, p.text, chain_len);
	write_file(key, p.text + chain_len, p.len - chain_len);

	fd = tlspem_memfd(cert, key, &got_chain, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(got_chain, chain_len);
	int seals = fcntl(fd, F_GET_SEALS);
	assert_true((seals & F_SEAL_WRITE) && (seals & F_SEAL_SHRINK) && (seals & F_SEAL_GROW));
	assert_int_equal(write(fd, "x", 1), -1);
	char *back = tlspem_read_fd(fd, &len, err, sizeof(err));
	assert_non_null(back);
	assert_int_equal(len, p.len);
	assert_memory_equal(back, p.text, p.len);
	free(back);
	close(fd);

	/* A key of another certificate, a missing file: named, no fd. */
	make_pair(&p, &chain_len, true);
	write_file(key, p.text + chain_len, p.len - chain_len);
	assert_int_equal(tlspem_memfd(cert, key, &got_chain, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "key does not match"));
	unlink(key);
	assert_int_equal(tlspem_memfd(cert, key, &got_chain, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "tls_key "));
	assert_non_null(strstr(err, "No such file"));

	/* Over the size bound: refused before OpenSSL sees it. */
	char *big = calloc(1, TLSPEM_PART_MAX + 1);
	assert_non_null(big);
	write_file(cert, big, TLSPEM_PART_MAX + 1);
	free(big);
	assert_int_equal(tlspem_memfd(cert, key, &got_chain, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "tls_certificate "));
	assert_non_null(strstr(err, "larger than"));
	unlink(cert);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_and_key_load_from_memory),
		cmocka_unit_test(test_bad_pairs_are_refused_by_part),
		cmocka_unit_test(test_memfd_holds_both_files_sealed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
