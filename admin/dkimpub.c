/*
 * admin/dkimpub.c - a DKIM key's DNS record, from the private key file
 * (see dkimpub.h).
 *
 * Owns: nothing beyond one call; the encoding rules of dkimpub.h. Why here
 * and not in cmd_dkim.c: three commands print or compare the same record,
 * and the zone text `mxctl dkim show` prints must be byte for byte what
 * `mxctl dns` lists and what `mxctl doctor` expects to find in DNS.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "dkimpub.h"

int
dkim_pub_base64(EVP_PKEY *k, enum dkim_key_alg a, char *out, size_t outsize)
{
	unsigned char raw[1024], *der = NULL;
	size_t rawlen = sizeof(raw);
	int n;

	if (a == DKIM_ALG_ED25519) {
		if (EVP_PKEY_get_raw_public_key(k, raw, &rawlen) != 1)
			return -1;
		der = raw;
		n = (int)rawlen;
	} else if ((n = i2d_PUBKEY(k, &der)) <= 0)
		return -1;
	int r = ((size_t)n + 2) / 3 * 4 + 1 <= outsize ? 0 : -1;
	if (r == 0)
		EVP_EncodeBlock((unsigned char *)out, der, n);
	if (der != raw)
		OPENSSL_free(der);
	return r;
}

int
dkim_zone_strings(const char *text, char *out, size_t outsize)
{
	size_t len = strlen(text), o = 0;

	if (outsize == 0)
		return -1;
	out[0] = '\0';
	for (size_t off = 0; off < len; off += DKIM_TXT_STRING_MAX) {
		size_t n = len - off < DKIM_TXT_STRING_MAX ? len - off : DKIM_TXT_STRING_MAX;
		int w = snprintf(out + o, outsize - o, "%s\"%.*s\"", off ? " " : "", (int)n,
		    text + off);
		if (w < 0 || (size_t)w >= outsize - o)
			return -1;
		o += (size_t)w;
	}
	return 0;
}

int
dkim_pub_from_key(EVP_PKEY *k, enum dkim_key_alg a, const char *selector,
    struct dkim_pub *pub)
{
	memset(pub, 0, sizeof(*pub));
	pub->alg = a;
	if (dkim_dns_selector(pub->dns_selector, sizeof(pub->dns_selector), selector, a) == -1 ||
	    dkim_pub_base64(k, a, pub->p, sizeof(pub->p)) == -1 ||
	    snprintf(pub->text, sizeof(pub->text), "v=DKIM1; k=%s; p=%s", dkim_alg_dns_name(a),
	    pub->p) >= (int)sizeof(pub->text) ||
	    dkim_zone_strings(pub->text, pub->zone, sizeof(pub->zone)) == -1) {
		snprintf(pub->err, sizeof(pub->err), "cannot encode the public key");
		return -1;
	}
	pub->bits = (unsigned)EVP_PKEY_get_bits(k);
	pub->present = true;
	return 0;
}

/* Reads and parses one key file of dir (an open directory). */
static void
load_one(int domfd, const char *selector, enum dkim_key_alg a, struct dkim_pub *pub)
{
	char name[DKIM_KEY_NAME_MAX], buf[DKIM_KEY_FILE_MAX + 1], err[200];
	EVP_PKEY *k = NULL;
	ssize_t n;
	int fd;

	memset(pub, 0, sizeof(*pub));
	pub->alg = a;
	(void)dkim_dns_selector(pub->dns_selector, sizeof(pub->dns_selector), selector, a);
	if (dkim_key_file_name(name, sizeof(name), selector, a) == -1)
		return;
	if ((fd = openat(domfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			snprintf(pub->err, sizeof(pub->err), "%s: %s", name, strerror(errno));
		return;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		explicit_bzero(buf, sizeof(buf));
		snprintf(pub->err, sizeof(pub->err), "%s: %s", name,
		    n < 0 ? strerror(errno) : "too big for a key");
		return;
	}
	enum dkim_pem_status st = dkim_key_pem_parse(buf, (size_t)n, a, &k, err, sizeof(err));
	explicit_bzero(buf, sizeof(buf));
	if (st == DKIM_PEM_NOT_PEM) {
		snprintf(pub->err, sizeof(pub->err), "%s: not a PEM private key (%s)", name, err);
		return;
	}
	if (st == DKIM_PEM_WRONG_TYPE) {
		snprintf(pub->err, sizeof(pub->err), "%s: not an %s key", name,
		    a == DKIM_ALG_RSA ? "RSA" : "Ed25519");
		return;
	}
	if (dkim_pub_from_key(k, a, selector, pub) == -1)
		snprintf(pub->err, sizeof(pub->err), "%s: cannot encode the public key", name);
	EVP_PKEY_free(k);
}

int
dkim_pub_load(const char *key_dir, const char *domain, const char *selector,
    struct dkim_pub out[DKIM_ALG_COUNT], char *err, size_t errsize)
{
	int keyfd, domfd;

	for (int i = 0; i < DKIM_ALG_COUNT; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].alg = (enum dkim_key_alg)i;
		(void)dkim_dns_selector(out[i].dns_selector, sizeof(out[i].dns_selector),
		    selector, (enum dkim_key_alg)i);
	}
	if ((keyfd = open(key_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errsize, "dkim_key_dir %s: %s%s", key_dir, strerror(errno),
		    errno == EACCES ? " (run mxctl as root)" : "");
		return -1;
	}
	domfd = openat(keyfd, domain, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(keyfd);
	if (domfd == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errsize, "%s/%s: %s", key_dir, domain, strerror(errno));
		return -1;
	}
	for (int i = 0; i < DKIM_ALG_COUNT; i++)
		load_one(domfd, selector, (enum dkim_key_alg)i, &out[i]);
	close(domfd);
	return 0;
}
