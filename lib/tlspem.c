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
 *
 * Two pairs side by side (tls_certificate and tls_certificate_ecdsa): one
 * SSL_CTX holds a certificate per key type, and OpenSSL picks the one the
 * client's signature algorithms and ciphers can use (SSL_CTX_use_certificate
 * fills the slot of the key's type). So the RSA pair must not be ECDSA and
 * the ECDSA pair must be ECDSA, or the second would replace the first.
 * The memfd starts with the lengths of the parts (big-endian u32 each:
 * certificate, key and OCSP staple of each pair), then the parts in that
 * order. A staple is homemxd's cached OCSP response (supervisor/ocsp.c);
 * the roles check it against the certificate they load (lib/tlsocsp.c).
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config.h"
#include "tlsocsp.h"
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

/* Is the key of the type its setting asks for? */
static bool
key_type_fits(EVP_PKEY *key, enum tlspem_key_type want)
{
	bool ec = EVP_PKEY_is_a(key, "EC");

	return want == TLSPEM_KEY_ANY || (want == TLSPEM_KEY_EC) == ec;
}

int
tlspem_load(SSL_CTX *ctx, const char *pem, size_t chain_len, size_t len, char *err,
    size_t errlen)
{
	return tlspem_load_typed(ctx, pem, chain_len, len, TLSPEM_KEY_ANY, err, errlen);
}

int
tlspem_load_typed(SSL_CTX *ctx, const char *pem, size_t chain_len, size_t len,
    enum tlspem_key_type want, char *err, size_t errlen)
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
	if (!key_type_fits(key, want)) {
		const char *type = EVP_PKEY_get0_type_name(key);
		snprintf(err, errlen, "key: expected %s key, got %s", want == TLSPEM_KEY_EC ?
		    "an ECDSA" : "a non-ECDSA (RSA)", type != NULL ? type : "an unknown type");
		EVP_PKEY_free(key);
		return -1;
	}
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

size_t
tlspem_config_sources(const struct config *c, struct tlspem_source out[TLSPEM_PAIRS_MAX])
{
	size_t n = 0;

	if (c->tls_certificate[0] != '\0')
		out[n++] = (struct tlspem_source){ "tls_certificate", c->tls_certificate,
		    "tls_key", c->tls_key };
	if (c->tls_certificate_ecdsa[0] != '\0')
		out[n++] = (struct tlspem_source){ "tls_certificate_ecdsa",
		    c->tls_certificate_ecdsa, "tls_key_ecdsa", c->tls_key_ecdsa };
	return n;
}

/* With two pairs, the first is RSA and the second ECDSA (see above). */
static enum tlspem_key_type
pair_key_type(size_t i, size_t npairs)
{
	if (npairs < 2)
		return TLSPEM_KEY_ANY;
	return i == 0 ? TLSPEM_KEY_NOT_EC : TLSPEM_KEY_EC;
}

static void
put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads the files of src into buf after the header and checks each pair. */
static int
read_and_check(const struct tlspem_source *src, size_t npairs,
    const struct tlspem_staple *staples, char *buf, size_t *len, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char why[512];
	int rc = -1;

	if (ctx == NULL) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		return -1;
	}
	*len = TLSPEM_HEADER(npairs);
	for (size_t i = 0; i < npairs; i++) {
		size_t start = *len, ocsp_len = staples != NULL ? staples[i].len : 0;
		unsigned char *head = (unsigned char *)buf + 12 * i;
		if (read_part(src[i].cert_setting, src[i].cert_path, buf, len, err, errlen) == -1)
			goto done;
		size_t chain_len = *len - start;
		if (read_part(src[i].key_setting, src[i].key_path, buf, len, err, errlen) == -1)
			goto done;
		put_be32(head, (uint32_t)chain_len);
		put_be32(head + 4, (uint32_t)(*len - start - chain_len));
		if (tlspem_load_typed(ctx, buf + start, chain_len, *len - start,
		    pair_key_type(i, npairs), why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s %s, %s %s: %s", src[i].cert_setting,
			    src[i].cert_path, src[i].key_setting, src[i].key_path, why);
			goto done;
		}
		if (ocsp_len > TLSPEM_PART_MAX)
			ocsp_len = 0;	/* never: the cache holds at most 64 KiB */
		if (ocsp_len > 0)
			memcpy(buf + *len, staples[i].der, ocsp_len);
		*len += ocsp_len;
		put_be32(head + 8, (uint32_t)ocsp_len);
	}
	rc = 0;
done:
	SSL_CTX_free(ctx);
	return rc;
}

int
tlspem_memfd(const struct tlspem_source *src, size_t npairs,
    const struct tlspem_staple *staples, char *err, size_t errlen)
{
	size_t size = TLSPEM_MEMFD_MAX + 2, len = 0;
	char *buf;
	int fd = -1;

	if (npairs == 0 || npairs > TLSPEM_PAIRS_MAX) {
		snprintf(err, errlen, "tls: bad number of certificate pairs");
		return -1;
	}
	if ((buf = malloc(size)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (read_and_check(src, npairs, staples, buf, &len, err, errlen) == 0)
		fd = sealed_memfd(buf, len, err, errlen);
	explicit_bzero(buf, size);
	free(buf);
	return fd;
}

/* Attaches a pair's staple to the slot just loaded when it checks out. */
static bool
attach_staple(SSL_CTX *ctx, const unsigned char *der, size_t len)
{
	X509 *leaf = SSL_CTX_get0_certificate(ctx);
	STACK_OF(X509) *chain = NULL;
	time_t this_update, next_update;
	char why[256];
	X509 *issuer;

	if (leaf == NULL || SSL_CTX_get0_chain_certs(ctx, &chain) != 1 ||
	    (issuer = tlsocsp_issuer(leaf, chain)) == NULL)
		return false;
	return tlsocsp_check(der, len, leaf, issuer, time(NULL), &this_update, &next_update,
	    why, sizeof(why)) == 0 && tlsocsp_attach(ctx, leaf, der, len, next_update) == 0;
}

int
tlspem_load_pairs(SSL_CTX *ctx, const char *buf, size_t len, uint32_t npairs, int *stapled,
    char *err, size_t errlen)
{
	size_t off = TLSPEM_HEADER(npairs);
	char why[512];

	if (stapled != NULL)
		*stapled = 0;
	if (npairs == 0 || npairs > TLSPEM_PAIRS_MAX || len < off) {
		snprintf(err, errlen, "certificate memfd: bad header");
		return -1;
	}
	for (uint32_t i = 0; i < npairs; i++) {
		const unsigned char *head = (const unsigned char *)buf + 12 * i;
		size_t chain_len = get_be32(head), key_len = get_be32(head + 4);
		size_t ocsp_len = get_be32(head + 8);
		if (chain_len > TLSPEM_PART_MAX || key_len > TLSPEM_PART_MAX ||
		    ocsp_len > TLSPEM_PART_MAX || chain_len + key_len + ocsp_len > len - off) {
			snprintf(err, errlen, "certificate memfd: bad lengths");
			return -1;
		}
		if (tlspem_load_typed(ctx, buf + off, chain_len, chain_len + key_len,
		    pair_key_type(i, npairs), why, sizeof(why)) == -1) {
			snprintf(err, errlen, "pair %u: %s", i + 1, why);
			return -1;
		}
		off += chain_len + key_len;
		if (ocsp_len > 0 && attach_staple(ctx, (const unsigned char *)buf + off, ocsp_len) &&
		    stapled != NULL)
			(*stapled)++;
		off += ocsp_len;
	}
	if (off != len) {
		snprintf(err, errlen, "certificate memfd: bad lengths");
		return -1;
	}
	return 0;
}

char *
tlspem_read_fd(int fd, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t n = 0;

	if (fstat(fd, &st) == -1 || st.st_size <= 0 ||
	    (size_t)st.st_size > TLSPEM_MEMFD_MAX) {
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
