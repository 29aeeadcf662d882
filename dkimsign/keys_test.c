/*
 * dkimsign/keys_test.c - key files: the PEM check (one row per case, good
 * and hostile) and the keyring on a real directory (missing, loaded,
 * refused for its mode, replaced while cached, one of two deleted, and
 * more domains than the cache holds).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "keys.h"
#include "signer.h"
#include "testkeys.h"

static char	*rsa_pem, *rsa1_pem, *ed_pem, *small_rsa_pem, *ed2_pem;
static char	 encrypted_pem[4096];
static struct signer *signer;

static int
setup(void **state)
{
	const char *why;
	EVP_PKEY *k;
	BIO *bio;
	char *data;
	long n;

	(void)state;
	rsa_pem = test_key_pem("RSA", 2048, false, NULL);
	rsa1_pem = test_key_pem("RSA", 2048, true, NULL);
	small_rsa_pem = test_key_pem("RSA", 768, false, NULL);
	ed_pem = test_key_pem("ED25519", 0, false, &k);
	ed2_pem = test_key_pem("ED25519", 0, false, NULL);
	/* The same Ed25519 key, encrypted: must be refused, never prompted for. */
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, k, EVP_aes_128_cbc(), NULL, 0, NULL,
	    (void *)"secret"), 1);
	n = BIO_get_mem_data(bio, &data);
	assert_true(n > 0 && (size_t)n < sizeof(encrypted_pem));
	memcpy(encrypted_pem, data, (size_t)n);
	BIO_free(bio);
	EVP_PKEY_free(k);
	if ((signer = signer_new(&why)) == NULL)
		fail_msg("signer_new: %s", why);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(rsa_pem);
	free(rsa1_pem);
	free(small_rsa_pem);
	free(ed_pem);
	free(ed2_pem);
	signer_free(signer);
	return 0;
}

/* ---- key_pem_check ------------------------------------------------------ */

struct pem_case {
	const char		*name;
	char			**pem;		/* one of the generated keys */
	const char		*text;		/* or literal text */
	enum dkim_key_alg	 alg;
	enum key_status		 want;
	unsigned		 bits;
};

static struct pem_case pem_cases[] = {
	{ "rsa pkcs8", &rsa_pem, NULL, DKIM_ALG_RSA, KEY_OK, 2048 },
	{ "rsa pkcs1", &rsa1_pem, NULL, DKIM_ALG_RSA, KEY_OK, 2048 },
	{ "ed25519 pkcs8", &ed_pem, NULL, DKIM_ALG_ED25519, KEY_OK, 256 },
	{ "ed25519 in the rsa file", &ed_pem, NULL, DKIM_ALG_RSA, KEY_WRONG_TYPE, 0 },
	{ "rsa in the ed25519 file", &rsa_pem, NULL, DKIM_ALG_ED25519, KEY_WRONG_TYPE, 0 },
	{ "rsa pkcs1 in the ed25519 file", &rsa1_pem, NULL, DKIM_ALG_ED25519, KEY_NOT_PEM, 0 },
	{ "rsa 768", &small_rsa_pem, NULL, DKIM_ALG_RSA, KEY_TOO_SMALL, 0 },
	{ "empty", NULL, "", DKIM_ALG_RSA, KEY_NOT_PEM, 0 },
	{ "garbage", NULL, "hello", DKIM_ALG_ED25519, KEY_NOT_PEM, 0 },
	{ "armor without a key", NULL, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	  DKIM_ALG_RSA, KEY_NOT_PEM, 0 },
	{ "base64 DER, no armor", NULL, "MC4CAQAwBQYDK2VwBCIEIGm5", DKIM_ALG_ED25519, KEY_NOT_PEM, 0 },
	{ "certificate", NULL, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	  DKIM_ALG_RSA, KEY_NOT_PEM, 0 },
	{ "encrypted", NULL, encrypted_pem, DKIM_ALG_ED25519, KEY_NOT_PEM, 0 },
};

static void
test_pem_check_table(void **state)
{
	char why[KEY_WHY_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(pem_cases) / sizeof(pem_cases[0]); i++) {
		const struct pem_case *c = &pem_cases[i];
		const char *text = c->pem != NULL ? *c->pem : c->text;
		unsigned bits = 99;
		enum key_status st = key_pem_check(text, strlen(text), c->alg, &bits, why,
		    sizeof(why));
		if (st != c->want)
			fail_msg("%s: got %s (%s), want %s", c->name, key_status_text(st), why,
			    key_status_text(c->want));
		if (st == KEY_OK && bits != c->bits)
			fail_msg("%s: got %u bits, want %u", c->name, bits, c->bits);
		if (st != KEY_OK && strncmp(why, key_status_text(st), strlen(key_status_text(st))))
			fail_msg("%s: why '%s' does not start with the status", c->name, why);
	}
}

static void
test_pem_check_bytes(void **state)
{
	char why[KEY_WHY_MAX], *buf;
	size_t n = strlen(ed_pem);
	unsigned bits;

	(void)state;
	/* Leading whitespace: libopendkim would take it for DER. */
	buf = malloc(n + 2);
	assert_non_null(buf);
	buf[0] = ' ';
	memcpy(buf + 1, ed_pem, n + 1);
	assert_int_equal(key_pem_check(buf, n + 1, DKIM_ALG_ED25519, &bits, why, sizeof(why)),
	    KEY_NOT_PEM);
	/* A NUL inside: libopendkim reads the key with strlen(). */
	memcpy(buf, ed_pem, n + 1);
	buf[n / 2] = '\0';
	assert_int_equal(key_pem_check(buf, n, DKIM_ALG_ED25519, &bits, why, sizeof(why)),
	    KEY_NOT_PEM);
	assert_non_null(strstr(why, "NUL"));
	/* Truncated. */
	assert_int_equal(key_pem_check(ed_pem, n - 30, DKIM_ALG_ED25519, &bits, why, sizeof(why)),
	    KEY_NOT_PEM);
	free(buf);
	/* Too big, whatever it holds. */
	buf = calloc(1, DKIM_KEY_FILE_MAX + 2);
	assert_non_null(buf);
	memcpy(buf, ed_pem, n);
	memset(buf + n, '\n', DKIM_KEY_FILE_MAX + 1 - n);
	assert_int_equal(key_pem_check(buf, DKIM_KEY_FILE_MAX + 1, DKIM_ALG_ED25519, &bits, why,
	    sizeof(why)), KEY_TOO_BIG);
	assert_int_equal(key_pem_check(buf, DKIM_KEY_FILE_MAX, DKIM_ALG_ED25519, &bits, why,
	    sizeof(why)), KEY_OK);
	free(buf);
}

/* ---- the keyring on disk --------------------------------------------------- */

struct keydir {
	char	path[64];
	int	fd;
};

static void
keydir_make(struct keydir *d)
{
	snprintf(d->path, sizeof(d->path), "/tmp/hmx-keys-test-XXXXXX");
	assert_non_null(mkdtemp(d->path));
	d->fd = open(d->path, O_RDONLY | O_DIRECTORY);
	assert_true(d->fd != -1);
}

static void
keydir_remove(struct keydir *d)
{
	DIR *top = opendir(d->path);
	struct dirent *e;

	/* Two levels at most: <domain>/<file>. */
	while (top != NULL && (e = readdir(top)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		int sub = openat(dirfd(top), e->d_name, O_RDONLY | O_DIRECTORY);
		DIR *sd = sub == -1 ? NULL : fdopendir(sub);
		struct dirent *f;
		while (sd != NULL && (f = readdir(sd)) != NULL)
			if (f->d_name[0] != '.')
				unlinkat(dirfd(sd), f->d_name, 0);
		if (sd != NULL)
			closedir(sd);
		unlinkat(dirfd(top), e->d_name, AT_REMOVEDIR);
	}
	if (top != NULL)
		closedir(top);
	rmdir(d->path);
}

static void
put_key(struct keydir *d, const char *domain, const char *file, const char *pem, mode_t mode)
{
	char path[DKIM_KEY_PATH_MAX];

	mkdirat(d->fd, domain, 0700);
	snprintf(path, sizeof(path), "%s/%s", domain, file);
	test_write_file(d->fd, path, pem, mode);
}

static void
test_keyring_life(void **state)
{
	struct keydir d;
	struct keyring *r;
	struct sign_keys k;
	char why[512], path[256];

	(void)state;
	keydir_make(&d);
	r = keyring_new(dup(d.fd), signer);
	assert_non_null(r);
	/* Nothing there. */
	assert_int_equal(keyring_get(r, "example.test", "mx1", &k, why, sizeof(why)), KEYS_NONE);
	/* Both keys. */
	put_key(&d, "example.test", "mx1.rsa.pem", rsa_pem, 0600);
	put_key(&d, "example.test", "mx1.ed25519.pem", ed_pem, 0600);
	assert_int_equal(keyring_get(r, "example.test", "mx1", &k, why, sizeof(why)), KEYS_FOUND);
	assert_string_equal(k.pem[DKIM_ALG_RSA], rsa_pem);
	assert_string_equal(k.pem[DKIM_ALG_ED25519], ed_pem);
	assert_string_equal(k.domain, "example.test");
	assert_string_equal(k.selector, "mx1");
	/* Another selector of the same domain is another entry. */
	assert_int_equal(keyring_get(r, "example.test", "mx2", &k, why, sizeof(why)), KEYS_NONE);
	/* Group-readable: refused, with the file named. */
	snprintf(path, sizeof(path), "%s/example.test/mx1.rsa.pem", d.path);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(keyring_get(r, "example.test", "mx1", &k, why, sizeof(why)), KEYS_BROKEN);
	assert_non_null(strstr(why, "example.test/mx1.rsa.pem: readable or writable by group"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(keyring_get(r, "example.test", "mx1", &k, why, sizeof(why)), KEYS_FOUND);
	/* Replaced while cached (a new inode, as keygen --force renames). */
	put_key(&d, "example.test", "new.tmp", ed2_pem, 0600);
	snprintf(path, sizeof(path), "%s/example.test/new.tmp", d.path);
	char dst[256];
	snprintf(dst, sizeof(dst), "%s/example.test/mx1.ed25519.pem", d.path);
	assert_int_equal(rename(path, dst), 0);
	assert_int_equal(keyring_get(r, "example.test", "mx1", &k, why, sizeof(why)), KEYS_FOUND);
	assert_string_equal(k.pem[DKIM_ALG_ED25519], ed2_pem);
	/* One deleted: the other still signs. */
	snprintf(path, sizeof(path), "%s/example.test/mx1.rsa.pem", d.path);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(keyring_get(r, "example.test", "mx1", &k, why, sizeof(why)), KEYS_FOUND);
	assert_null(k.pem[DKIM_ALG_RSA]);
	assert_non_null(k.pem[DKIM_ALG_ED25519]);
	/* A key that fails the test-sign, and a symlink, are refused. */
	put_key(&d, "example.test", "mx1.rsa.pem",
	    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 0600);
	assert_int_equal(keyring_get(r, "example.test", "mx1", &k, why, sizeof(why)), KEYS_BROKEN);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink(dst, path), 0);
	assert_int_equal(keyring_get(r, "example.test", "mx1", &k, why, sizeof(why)), KEYS_BROKEN);
	assert_non_null(strstr(why, "mx1.rsa.pem"));
	/* Flushed (reload): loaded again from disk. */
	assert_int_equal(unlink(path), 0);
	keyring_flush(r);
	assert_int_equal(keyring_get(r, "example.test", "mx1", &k, why, sizeof(why)), KEYS_FOUND);
	keyring_free(r);
	keydir_remove(&d);
	close(d.fd);
}

static void
test_keyring_evicts_beyond_its_size(void **state)
{
	struct keydir d;
	struct keyring *r;
	struct sign_keys k;
	char why[512], domain[64];

	(void)state;
	keydir_make(&d);
	r = keyring_new(dup(d.fd), signer);
	for (int i = 0; i < KEYRING_DOMAINS_MAX + 10; i++) {
		snprintf(domain, sizeof(domain), "d%d.example.test", i);
		put_key(&d, domain, "mx1.ed25519.pem", ed_pem, 0600);
		assert_int_equal(keyring_get(r, domain, "mx1", &k, why, sizeof(why)), KEYS_FOUND);
		assert_string_equal(k.domain, domain);
	}
	/* The first ones were evicted; they load again. */
	assert_int_equal(keyring_get(r, "d0.example.test", "mx1", &k, why, sizeof(why)), KEYS_FOUND);
	assert_string_equal(k.domain, "d0.example.test");
	keyring_free(r);
	keydir_remove(&d);
	close(d.fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pem_check_table),
		cmocka_unit_test(test_pem_check_bytes),
		cmocka_unit_test(test_keyring_life),
		cmocka_unit_test(test_keyring_evicts_beyond_its_size),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
