/*
 * lib/tlspem.c - certificate and key as PEM bytes, for the TLS reload.
 *
 * Owns: the one loader of a chain and key from memory (used by homemxd to
 * check the pair it is about to send, and by smtpd and submission to load
 * it), and the memfd that carries the pair. Why bytes and not paths: after
 * their start smtpd and submission run chrooted into an empty directory as
 * their own users, so they can no longer open the key (root's, 0600) when
 * certbot renews it. homemxd, still root, reads the files at SIGHUP and
 * hands over the bytes; the roles already hold the key in memory, so they
 * learn nothing new. The memfd is sealed (F_SEAL_WRITE and friends): what
 * the role loads is what homemxd checked.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tlspem.h"
#include "util.h"

static int
ossl_fail(char *err, size_t errlen, const char *what)
{
	char reason[256] = "unknown error";
	unsigned long e = ERR_peek_error();

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	snprintf(err, errlen, "%s: %s", what, reason);
	return -1;
}

/* The leaf, then every further certificate as the chain sent to clients. */
static int
load_chain(SSL_CTX *ctx, const char *pem, size_t len, char *err, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x;
	int r = -1;

	if (bio == NULL)
		return ossl_fail(err, errlen, "certificate");
	if ((x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_clear_chain_certs(ctx) != 1) {
		X509_free(x);
		ossl_fail(err, errlen, "certificate");
		goto done;
	}
	X509_free(x);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			ossl_fail(err, errlen, "certificate chain");
			goto done;
		}
	/* The loop ends at the end of the data: that error is no error. */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
		ossl_fail(err, errlen, "certificate chain");
		goto done;
	}
	ERR_clear_error();
	r = 0;
done:
	BIO_free(bio);
	return r;
}

static bool
key_mismatch(unsigned long e)
{
	return ERR_GET_LIB(e) == ERR_LIB_X509 && (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ||
	    ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH);
}

int
tlspem_load(SSL_CTX *ctx, const char *pem, size_t chain_len, size_t len, char *err,
    size_t errlen)
{
	EVP_PKEY *key;
	BIO *bio;

	ERR_clear_error();
	if (chain_len == 0 || chain_len >= len || chain_len > TLSPEM_PART_MAX ||
	    len - chain_len > TLSPEM_PART_MAX) {
		snprintf(err, errlen, "certificate and key: bad lengths");
		return -1;
	}
	if (load_chain(ctx, pem, chain_len, err, errlen) == -1)
		return -1;
	if ((bio = BIO_new_mem_buf(pem + chain_len, (int)(len - chain_len))) == NULL)
		return ossl_fail(err, errlen, "key");
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (key == NULL)
		return ossl_fail(err, errlen, "key");
	/* OpenSSL compares the key with the certificate's already here. */
	int used = SSL_CTX_use_PrivateKey(ctx, key);
	EVP_PKEY_free(key);
	if (used != 1 && !key_mismatch(ERR_peek_last_error()))
		return ossl_fail(err, errlen, "key");
	if (used != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "key does not match the certificate");
		return -1;
	}
	return 0;
}

/* Appends the file at path to buf (at most TLSPEM_PART_MAX bytes). */
static int
read_part(const char *what, const char *path, char *buf, size_t *len, char *err,
    size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;

	if (fd == -1) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t r = read(fd, buf + *len + n, TLSPEM_PART_MAX + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0 || (n += (size_t)r) > TLSPEM_PART_MAX)
			break;
	}
	close(fd);
	if (n == 0 || n > TLSPEM_PART_MAX) {
		snprintf(err, errlen, "%s %s: %s", what, path, n == 0 ? "empty or unreadable" :
		    "larger than 256 KiB");
		return -1;
	}
	*len += n;
	return 0;
}

static int
sealed_memfd(const char *buf, size_t len, char *err, size_t errlen)
{
	int fd = memfd_create("homemx-tls", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd == -1 || write_all(fd, buf, len) == -1 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) == -1) {
		snprintf(err, errlen, "memfd for the certificate: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

int
tlspem_memfd(const char *cert_path, const char *key_path, uint32_t *chain_len,
    char *err, size_t errlen)
{
	char *buf = malloc(2 * TLSPEM_PART_MAX + 2), why[512];
	size_t len = 0;
	SSL_CTX *ctx = NULL;
	int fd = -1;

	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (read_part("tls_certificate", cert_path, buf, &len, err, errlen) == -1)
		goto done;
	*chain_len = (uint32_t)len;
	if (read_part("tls_key", key_path, buf, &len, err, errlen) == -1)
		goto done;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    tlspem_load(ctx, buf, *chain_len, len, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "tls_certificate %s, tls_key %s: %s", cert_path, key_path,
		    ctx == NULL ? "SSL_CTX_new failed" : why);
		goto done;
	}
	fd = sealed_memfd(buf, len, err, errlen);
done:
	SSL_CTX_free(ctx);
	explicit_bzero(buf, 2 * TLSPEM_PART_MAX + 2);
	free(buf);
	return fd;
}

char *
tlspem_read_fd(int fd, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t n = 0;

	if (fstat(fd, &st) == -1 || st.st_size <= 0 ||
	    (size_t)st.st_size > 2 * TLSPEM_PART_MAX) {
		snprintf(err, errlen, "certificate memfd: bad size");
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = pread(fd, buf + n, (size_t)st.st_size - n, (off_t)n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "certificate memfd: %s", r == 0 ? "short" :
			    strerror(errno));
			explicit_bzero(buf, n);
			free(buf);
			return NULL;
		}
		n += (size_t)r;
	}
	*len = n;
	return buf;
}
