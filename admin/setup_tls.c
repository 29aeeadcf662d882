/*
 * admin/setup_tls.c - the self-signed certificate `mxctl setup` makes when
 * no real one exists yet.
 *
 * Owns: nothing after it returns. Why a placeholder at all: submission
 * (587/465) offers AUTH only under TLS and homemxd refuses a submission
 * listener without a certificate, so a server set up before certbot ran
 * would have to start without its users' ports. A self-signed certificate
 * lets it start complete; other MTAs use STARTTLS on port 25 without
 * verifying certificates (RFC 7435, opportunistic security), and the
 * README says how to swap in a certificate from certbot. Made with
 * OpenSSL's EVP and X509 API in-process: no openssl(1), no shell.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "setup.h"
#include "util.h"

#define CERT_DAYS	3650	/* a placeholder; nobody verifies it anyway */
#define CERT_RSA_BITS	2048

static const char *
ossl_reason(void)
{
	static char buf[200];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

/* subjectAltName DNS:hostname (RFC 6125: names are matched there). */
static int
add_san(X509 *x, const char *hostname)
{
	char value[ADDR_DOMAIN_MAX + 8];
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	snprintf(value, sizeof(value), "DNS:%s", hostname);
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, value)) == NULL)
		return -1;
	int r = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return r;
}

static X509 *
make_cert(EVP_PKEY *key, const char *hostname)
{
	unsigned char serial[16];
	X509 *x = X509_new();
	X509_NAME *name;
	BIGNUM *bn = NULL;

	if (x == NULL)
		return NULL;
	random_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;	/* a positive serial (RFC 5280 4.1.2.2) */
	if (X509_set_version(x, 2) != 1 ||
	    (bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), (long)CERT_DAYS * 86400) == NULL ||
	    X509_set_pubkey(x, key) != 1 || (name = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)hostname, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || add_san(x, hostname) == -1 ||
	    X509_sign(x, key, EVP_sha256()) <= 0) {
		BN_free(bn);
		X509_free(x);
		return NULL;
	}
	BN_free(bn);
	return x;
}

/* Writes the BIO's bytes to path through path.tmp, mode mode, fsynced. */
static int
write_file(struct mxctl *m, const char *path, BIO *bio, mode_t mode)
{
	char tmp[CONFIG_PATH_MAX + 8];
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return mx_fail(m, "%s: path too long", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode)) == -1)
		return mx_fail(m, "%s: %s", tmp, strerror(errno));
	if (fchmod(fd, mode) == -1 || len <= 0 || write_all(fd, data, (size_t)len) == -1 ||
	    fsync(fd) == -1) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return mx_fail(m, "%s: %s", tmp, strerror(e));
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		int e = errno;
		unlink(tmp);
		return mx_fail(m, "%s: %s", path, strerror(e));
	}
	return 0;
}

int
setup_self_signed(struct mxctl *m, const char *hostname, const char *cert_path,
    const char *key_path)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)CERT_RSA_BITS);
	X509 *cert = key != NULL ? make_cert(key, hostname) : NULL;
	BIO *kbio = BIO_new(BIO_s_secmem()), *cbio = BIO_new(BIO_s_mem());
	int r = -1;

	if (key == NULL || cert == NULL || kbio == NULL || cbio == NULL ||
	    PEM_write_bio_PrivateKey(kbio, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_X509(cbio, cert) != 1)
		mx_fail(m, "self-signed certificate for %s: %s", hostname, ossl_reason());
	else if (write_file(m, key_path, kbio, 0600) == 0 &&
	    write_file(m, cert_path, cbio, 0644) == 0)
		r = 0;
	BIO_free(kbio);		/* secure memory: cleared on free */
	BIO_free(cbio);
	X509_free(cert);
	EVP_PKEY_free(key);
	return r;
}
