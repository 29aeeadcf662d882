/*
 * dkimsign/testkeys.h - helpers shared by the dkimsign unit tests: fresh
 * keys as PEM text, the DNS record of a key, a key directory on disk.
 * Header-only so that it never links into homemx-dkimsign itself.
 */
#ifndef HMX_DKIMSIGN_TESTKEYS_H
#define HMX_DKIMSIGN_TESTKEYS_H

#include <sys/mman.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dkimkey.h"

/*
 * libopendkim 2.11.0~beta2 leaks the key object of every Ed25519
 * signature (see isolate.c, which is why the role signs in a child). The
 * tests sign in process on purpose, so LeakSanitizer is told about it
 * here; any other leak still fails the ASan build. The slow unwinder is
 * needed to see dkim_privkey_load through libcrypto's frames.
 */
#ifndef TESTKEYS_ASAN_OPTIONS	/* a test may need more (isolate_test.c) */
#define TESTKEYS_ASAN_OPTIONS "fast_unwind_on_malloc=0"
#endif
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return TESTKEYS_ASAN_OPTIONS;
}

const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:dkim_privkey_load\n";
}

/* A new key as PEM text (malloc'd): PKCS#8, or PKCS#1 with traditional. */
static inline char *
test_key_pem(const char *type, size_t bits, bool traditional, EVP_PKEY **keep)
{
	EVP_PKEY *k = bits ? EVP_PKEY_Q_keygen(NULL, NULL, type, bits) :
	    EVP_PKEY_Q_keygen(NULL, NULL, type);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	assert_non_null(k);
	assert_non_null(bio);
	if (traditional)
		assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, k, NULL, NULL, 0,
		    NULL, NULL), 1);
	else
		assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, k, NULL, NULL, 0, NULL,
		    NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	assert_true(n > 0);
	out = malloc((size_t)n + 1);
	assert_non_null(out);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(bio);
	if (keep != NULL)
		*keep = k;
	else
		EVP_PKEY_free(k);
	return out;
}

/* "v=DKIM1; k=...; p=..." for the public half of k (as mxctl prints it). */
static inline void
test_key_record(EVP_PKEY *k, bool ed25519, char *out, size_t size)
{
	unsigned char raw[64], *der = NULL, b64[1024];
	size_t rawlen = sizeof(raw);
	int n;

	if (ed25519) {
		assert_int_equal(EVP_PKEY_get_raw_public_key(k, raw, &rawlen), 1);
		EVP_EncodeBlock(b64, raw, (int)rawlen);
	} else {
		n = i2d_PUBKEY(k, &der);
		assert_true(n > 0 && n < 700);
		EVP_EncodeBlock(b64, der, n);
		OPENSSL_free(der);
	}
	assert_true(snprintf(out, size, "v=DKIM1; k=%s; p=%s", ed25519 ? "ed25519" : "rsa",
	    b64) < (int)size);
}

static inline void
test_write_file(int dirfd, const char *path, const char *text, mode_t mode)
{
	int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* A memfd holding the message, for the signer's fd path. */
static inline int
test_message_fd(const void *msg, size_t len)
{
	int fd = memfd_create("msg", MFD_CLOEXEC);

	assert_true(fd != -1);
	assert_int_equal(write(fd, msg, len), (ssize_t)len);
	return fd;
}

#endif
