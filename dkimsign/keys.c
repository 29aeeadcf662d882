/*
 * dkimsign/keys.c - the keyring: private keys read from dkim_key_dir (see
 * lib/dkimkey.h for the layout), checked, test-signed and kept in memory.
 *
 * Owns: the only in-memory copies of the private keys, and the rule that
 * a key is used only after it parsed as the right type and signed a test
 * message (a bad key otherwise shows up only at dkim_eom(), doc/libraries.md
 * section 1). Why look at the files on every request: two fstatat() calls
 * cost microseconds, and a key created or replaced by `mxctl dkim keygen`
 * is then used for the next message, with no restart and no reload. A
 * file is re-read only when its identity (inode, size, mtime, ctime)
 * changed, so a broken key is logged once, not once per message. A key
 * file readable by group or others is refused, as ssh refuses one: the
 * point of this process is that nobody else can read the keys. Key text
 * is wiped (explicit_bzero) before its memory is freed. The test-sign
 * runs in this process, not in the signing worker (isolate.c): it happens
 * once per key file version, and leaves the parsed key in this process's
 * signer cache (signer.c), which the workers forked later inherit. A
 * reload empties that cache too.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "keys.h"
#include "log.h"

#define PEM_PKCS8	"-----BEGIN PRIVATE KEY-----"
#define PEM_PKCS1_RSA	"-----BEGIN RSA PRIVATE KEY-----"
#define PEM_ENCRYPTED	"-----BEGIN ENCRYPTED PRIVATE KEY-----"

struct key_slot {
	bool		 present;	/* the file existed at the last look */
	enum key_status	 status;
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
	struct timespec	 ctime;
	char		*pem;		/* NUL-terminated; only when KEY_OK */
	size_t		 pemlen;
	unsigned	 bits;
	char		 why[KEY_WHY_MAX];
};

struct key_entry {
	bool		 used;
	uint64_t	 last_used;
	char		 domain[ADDR_DOMAIN_MAX + 1];
	char		 selector[DKIM_SELECTOR_MAX + 1];
	struct key_slot	 slot[DKIM_ALG_COUNT];
};

struct keyring {
	int		 dirfd;
	struct signer	*signer;
	uint64_t	 clock;
	struct key_entry entries[KEYRING_DOMAINS_MAX];
};

static const char *const status_text[] = {
	[KEY_OK] = "ok",
	[KEY_MISSING] = "no such file",
	[KEY_UNREADABLE] = "cannot read the file",
	[KEY_NOT_REGULAR] = "not a regular file",
	[KEY_BAD_MODE] = "readable or writable by group or others (must be 0600)",
	[KEY_TOO_BIG] = "file too big for a key",
	[KEY_NOT_PEM] = "not a PEM private key",
	[KEY_WRONG_TYPE] = "wrong key type for this file name",
	[KEY_TOO_SMALL] = "RSA key too small",
	[KEY_TEST_SIGN_FAILED] = "could not sign with it",
};

const char *
key_status_text(enum key_status s)
{
	if ((size_t)s >= sizeof(status_text) / sizeof(status_text[0]))
		return "unknown";
	return status_text[s];
}

/* ---- one PEM text ----------------------------------------------------- */

static bool
starts_with(const char *p, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(p, prefix, n) == 0;
}

static enum key_status
key_fail(enum key_status st, char *why, size_t whysize, const char *detail)
{
	/* A long detail is cut: the status text comes first. */
	if (snprintf(why, whysize, "%s%s%s", key_status_text(st),
	    detail != NULL ? ": " : "", detail != NULL ? detail : "") < 0)
		why[0] = '\0';
	return st;
}

/* Only the PEM forms `mxctl dkim keygen` writes (and PKCS#1 for RSA),
 * and no NUL: the key travels to the worker as a C string. */
static enum key_status
check_armor(const char *pem, size_t len, enum dkim_key_alg a, char *why,
    size_t whysize)
{
	if (len > DKIM_KEY_FILE_MAX)
		return key_fail(KEY_TOO_BIG, why, whysize, NULL);
	if (memchr(pem, '\0', len) != NULL)
		return key_fail(KEY_NOT_PEM, why, whysize, "NUL byte inside");
	if (starts_with(pem, len, PEM_ENCRYPTED))
		return key_fail(KEY_NOT_PEM, why, whysize, "encrypted keys are not supported");
	if (starts_with(pem, len, PEM_PKCS8))
		return KEY_OK;
	if (a == DKIM_ALG_RSA && starts_with(pem, len, PEM_PKCS1_RSA))
		return KEY_OK;
	return key_fail(KEY_NOT_PEM, why, whysize, a == DKIM_ALG_RSA ?
	    "expected '" PEM_PKCS8 "' or '" PEM_PKCS1_RSA "' at the start" :
	    "expected '" PEM_PKCS8 "' at the start (PKCS#8)");
}

enum key_status
key_pem_check(const char *pem, size_t len, enum dkim_key_alg a, unsigned *bits,
    char *why, size_t whysize)
{
	enum key_status st;
	EVP_PKEY *pkey = NULL;
	char err[160];

	*bits = 0;
	if ((st = check_armor(pem, len, a, why, whysize)) != KEY_OK)
		return st;
	switch (dkim_key_pem_parse(pem, len, a, &pkey, err, sizeof(err))) {
	case DKIM_PEM_NOT_PEM:
		return key_fail(KEY_NOT_PEM, why, whysize, err);
	case DKIM_PEM_WRONG_TYPE:
		return key_fail(KEY_WRONG_TYPE, why, whysize, a == DKIM_ALG_RSA ?
		    "expected an RSA key" : "expected an Ed25519 key");
	case DKIM_PEM_OK:
		break;
	}
	if ((*bits = (unsigned)EVP_PKEY_get_bits(pkey)) < DKIM_RSA_MIN_BITS &&
	    a == DKIM_ALG_RSA)
		st = key_fail(KEY_TOO_SMALL, why, whysize, "RFC 8301 wants 1024 bits or more");
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return st;
}

/* ---- one file ------------------------------------------------------------ */

static void
slot_forget(struct key_slot *s)
{
	if (s->pem != NULL) {
		explicit_bzero(s->pem, s->pemlen);
		free(s->pem);
	}
	memset(s, 0, sizeof(*s));
	s->status = KEY_MISSING;
}

static bool
same_file(const struct key_slot *s, const struct stat *st)
{
	return s->present && s->dev == st->st_dev && s->ino == st->st_ino &&
	    s->size == st->st_size &&
	    s->mtime.tv_sec == st->st_mtim.tv_sec && s->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	    s->ctime.tv_sec == st->st_ctim.tv_sec && s->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static void
slot_note_identity(struct key_slot *s, const struct stat *st)
{
	s->present = true;
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtime = st->st_mtim;
	s->ctime = st->st_ctim;
}

/* Reads the open key file into a fresh NUL-terminated buffer. */
static enum key_status
read_key_file(int fd, const struct stat *st, char **out, size_t *outlen,
    char *why, size_t whysize)
{
	size_t n = 0, want;
	char *buf;

	if (!S_ISREG(st->st_mode))
		return key_fail(KEY_NOT_REGULAR, why, whysize, NULL);
	if (st->st_mode & (S_IRWXG | S_IRWXO))
		return key_fail(KEY_BAD_MODE, why, whysize, NULL);
	if (st->st_size > DKIM_KEY_FILE_MAX)
		return key_fail(KEY_TOO_BIG, why, whysize, NULL);
	want = (size_t)st->st_size;
	if ((buf = malloc(want + 1)) == NULL)
		return key_fail(KEY_UNREADABLE, why, whysize, "out of memory");
	while (n < want) {
		ssize_t r = pread(fd, buf + n, want - n, (off_t)n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	if (n != want) {
		explicit_bzero(buf, n);
		free(buf);
		return key_fail(KEY_UNREADABLE, why, whysize, "short read");
	}
	*out = buf;
	*outlen = n;
	return KEY_OK;
}

static void
log_key(const struct key_entry *e, enum dkim_key_alg a, const struct key_slot *s)
{
	char esc[LOG_ESCAPE_MAX];

	if (s->status == KEY_OK)
		log_event("dkim_key", "domain=%s selector=%s alg=%s bits=%u result=loaded",
		    e->domain, e->selector, dkim_alg_dns_name(a), s->bits);
	else
		log_event("dkim_key", "domain=%s selector=%s alg=%s result=refused reason=\"%s\"",
		    e->domain, e->selector, dkim_alg_dns_name(a),
		    log_escape(esc, sizeof(esc), s->why, strlen(s->why)));
}

/* (Re)loads slot a of e from the file at path: read, check, test-sign. */
static void
slot_load(struct keyring *r, struct key_entry *e, enum dkim_key_alg a,
    const char *path)
{
	struct key_slot *s = &e->slot[a];
	struct stat st;
	int fd;

	slot_forget(s);
	fd = openat(r->dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1 || fstat(fd, &st) == -1) {
		s->status = key_fail(KEY_UNREADABLE, s->why, sizeof(s->why), strerror(errno));
		if (fd != -1)
			close(fd);
		return;
	}
	slot_note_identity(s, &st);
	s->status = read_key_file(fd, &st, &s->pem, &s->pemlen, s->why, sizeof(s->why));
	close(fd);
	if (s->status == KEY_OK)
		s->status = key_pem_check(s->pem, s->pemlen, a, &s->bits, s->why, sizeof(s->why));
	if (s->status == KEY_OK) {
		char why[SIGN_WHY_MAX];
		if (signer_test_key(r->signer, e->domain, e->selector, a, s->pem,
		    why, sizeof(why)) == -1)
			s->status = key_fail(KEY_TEST_SIGN_FAILED, s->why, sizeof(s->why), why);
	}
	if (s->status != KEY_OK && s->pem != NULL) {
		explicit_bzero(s->pem, s->pemlen);
		free(s->pem);
		s->pem = NULL;
		s->pemlen = 0;
	}
	log_key(e, a, s);
}

/* ---- the ring -------------------------------------------------------------- */

struct keyring *
keyring_new(int dirfd, struct signer *signer)
{
	struct keyring *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->dirfd = dirfd;
	r->signer = signer;
	for (size_t i = 0; i < KEYRING_DOMAINS_MAX; i++)
		for (int a = 0; a < DKIM_ALG_COUNT; a++)
			r->entries[i].slot[a].status = KEY_MISSING;
	return r;
}

static void
entry_forget(struct key_entry *e)
{
	for (int a = 0; a < DKIM_ALG_COUNT; a++)
		slot_forget(&e->slot[a]);
	memset(e, 0, sizeof(*e));
	for (int a = 0; a < DKIM_ALG_COUNT; a++)
		e->slot[a].status = KEY_MISSING;
}

void
keyring_flush(struct keyring *r)
{
	for (size_t i = 0; i < KEYRING_DOMAINS_MAX; i++)
		if (r->entries[i].used)
			entry_forget(&r->entries[i]);
	signer_forget_keys(r->signer);
}

void
keyring_free(struct keyring *r)
{
	if (r == NULL)
		return;
	keyring_flush(r);
	if (r->dirfd != -1)
		close(r->dirfd);
	free(r);
}

static struct key_entry *
entry_find(struct keyring *r, const char *domain, const char *selector)
{
	for (size_t i = 0; i < KEYRING_DOMAINS_MAX; i++) {
		struct key_entry *e = &r->entries[i];
		if (e->used && strcmp(e->domain, domain) == 0 &&
		    strcmp(e->selector, selector) == 0)
			return e;
	}
	return NULL;
}

/* A free entry, or the least recently used one, emptied. */
static struct key_entry *
entry_new(struct keyring *r, const char *domain, const char *selector)
{
	struct key_entry *victim = &r->entries[0];

	for (size_t i = 0; i < KEYRING_DOMAINS_MAX; i++) {
		struct key_entry *e = &r->entries[i];
		if (!e->used) {
			victim = e;
			break;
		}
		if (e->last_used < victim->last_used)
			victim = e;
	}
	if (victim->used)
		entry_forget(victim);
	victim->used = true;
	snprintf(victim->domain, sizeof(victim->domain), "%s", domain);
	snprintf(victim->selector, sizeof(victim->selector), "%s", selector);
	return victim;
}

/* Brings slot a up to date with the file; false if there is no file. */
static bool
slot_refresh(struct keyring *r, struct key_entry *e, enum dkim_key_alg a)
{
	char path[DKIM_KEY_PATH_MAX];
	struct stat st;

	if (dkim_key_relpath(path, sizeof(path), e->domain, e->selector, a) == -1)
		return false;
	if (fstatat(r->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (e->slot[a].present)
			log_event("dkim_key", "domain=%s selector=%s alg=%s result=removed",
			    e->domain, e->selector, dkim_alg_dns_name(a));
		slot_forget(&e->slot[a]);
		if (errno == ENOENT || errno == ENOTDIR)
			return false;
		/* Something is there but we may not even look at it. */
		e->slot[a].status = key_fail(KEY_UNREADABLE, e->slot[a].why,
		    sizeof(e->slot[a].why), strerror(errno));
		return true;
	}
	if (!same_file(&e->slot[a], &st))
		slot_load(r, e, a, path);
	return true;
}

enum keys_found
keyring_get(struct keyring *r, const char *domain, const char *selector,
    struct sign_keys *k, char *why, size_t whysize)
{
	struct key_entry *e;
	bool any = false;

	memset(k, 0, sizeof(*k));
	why[0] = '\0';
	if ((e = entry_find(r, domain, selector)) == NULL)
		e = entry_new(r, domain, selector);
	e->last_used = ++r->clock;
	for (int a = 0; a < DKIM_ALG_COUNT; a++)
		any |= slot_refresh(r, e, (enum dkim_key_alg)a);
	if (!any) {
		entry_forget(e);	/* cache only domains that have keys */
		return KEYS_NONE;
	}
	for (int a = 0; a < DKIM_ALG_COUNT; a++) {
		const struct key_slot *s = &e->slot[a];
		if (s->status == KEY_MISSING)
			continue;
		if (s->status != KEY_OK) {
			snprintf(why, whysize, "%s/%s%s: %s", domain, selector,
			    dkim_alg_suffix((enum dkim_key_alg)a), s->why);
			return KEYS_BROKEN;
		}
		k->pem[a] = s->pem;
	}
	k->domain = e->domain;
	k->selector = e->selector;
	return KEYS_FOUND;
}
