/*
 * dkimsign/signer.c - DKIM-Signature fields (RFC 6376), rsa-sha256 and
 * ed25519-sha256 (RFC 8463), c=relaxed/relaxed, made with libcrypto.
 *
 * Owns: the signed-header policy, the parsed keys of this process (a
 * small cache, keyed by the SHA-256 of each PEM text) and the buffers of
 * one message. Per message: the header section is split by headers.c, so
 * that what we sign is exactly what we validated; the body is
 * canonicalized and hashed once (canon.c), for both signatures; h= lists
 * every present field of signer_sign_headers in message order, then once
 * more each name of signer_oversign_headers (RFC 6376 8.15: a listed name
 * with no instance left stands for "no such field", so nobody can add a
 * From:, Subject:, Reply-To: or MIME header after us). The header hash
 * takes, for each name of h=, the last instance not taken yet (5.4.2, as
 * every verifier does), then this signature's own field with an empty b=
 * (3.7). RSA signs that SHA-256 hash with PKCS#1 v1.5 (3.3.1), Ed25519
 * signs the 32-byte hash itself (RFC 8463 3). Why not libopendkim (which
 * signed here before): it parses the PEM key again for every signature
 * (0.4-0.5 ms each, most of the work for a small message), leaks every
 * Ed25519 key object, and hashes the body twice for two signatures. Its
 * verifier and dkimpy check our fields in the tests. Key material leaves
 * memory through EVP_PKEY_free (OpenSSL clears private key numbers).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "canon.h"
#include "headers.h"
#include "signer.h"

#define SIG_FIELD_NAME		"DKIM-Signature: "
#define SIG_MARGIN		75	/* fold a line of the field before this width */
#define SIG_FIELD_MAX		16000	/* one field, name included */
#define SIGNER_KEYS_CACHED	16
#define HASH_LEN		32	/* SHA-256 */
#define SIG_BYTES_MAX		1024	/* RSA up to 8192 bits */
#define HLIST_MAX		(HDR_FIELDS_MAX + 32)

/* RFC 6376 5.4.1 recommends these; Sender, MIME and List-* added. */
const char *const signer_sign_headers[] = {
	"from", "sender", "reply-to", "to", "cc", "subject", "date",
	"message-id", "in-reply-to", "references",
	"mime-version", "content-type", "content-transfer-encoding",
	"content-id", "content-description", "content-disposition",
	"content-language",
	"resent-date", "resent-from", "resent-sender", "resent-to",
	"resent-cc", "resent-message-id",
	"list-id", "list-help", "list-unsubscribe", "list-unsubscribe-post",
	"list-subscribe", "list-post", "list-owner", "list-archive",
	NULL
};

const char *const signer_oversign_headers[] = {
	"from", "reply-to", "to", "cc", "subject", "date", "message-id",
	"mime-version", "content-type", "content-transfer-encoding",
	NULL
};

#define NAME_FROM	0	/* signer_sign_headers[0] */

static const char test_message[] =
	"From: homemx dkimsign <dkimsign-test@invalid>\r\n"
	"Subject: key test\r\n"
	"\r\n"
	"key test\r\n";

struct cached_key {
	EVP_PKEY		*pkey;		/* NULL: free slot */
	enum dkim_key_alg	 alg;
	uint8_t			 id[HASH_LEN];	/* SHA-256 of the PEM text */
	uint64_t		 last_used;
};

/* A field of the message being signed (points into hbuf). */
struct field_ref {
	const uint8_t	*p;
	size_t		 len;
	int		 name;		/* index in signer_sign_headers, or -1 */
	bool		 taken;		/* in the header hash already */
};

struct signer {
	uint8_t			*hbuf;		/* HDR_SECTION_MAX */
	uint8_t			*bbuf;		/* SIGN_BODY_CHUNK */
	uint8_t			*cbuf;		/* one canonical field */
	struct field_ref	*fields;	/* HDR_FIELDS_MAX */
	size_t			 nfields;
	int			 hlist[HLIST_MAX];	/* h=, as name indices */
	size_t			 nhlist;
	int			 oversign[32];
	size_t			 noversign;
	struct cached_key	 keys[SIGNER_KEYS_CACHED];
	uint64_t		 clock;
};

/* Where a signature field is being written: the line width so far
 * decides where it folds (CRLF TAB). */
struct sigbuf {
	char	*p;
	size_t	 size;
	size_t	 len;
	size_t	 line;
	bool	 overflow;
};

static int
sign_name_index(const char *name, size_t len)
{
	for (int i = 0; signer_sign_headers[i] != NULL; i++)
		if (strlen(signer_sign_headers[i]) == len &&
		    strncasecmp(signer_sign_headers[i], name, len) == 0)
			return i;
	return -1;
}

struct signer *
signer_new(const char **why)
{
	struct signer *s;

	/* Before the chroot: OpenSSL reads its configuration now. */
	if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1) {
		*why = "OpenSSL did not initialize";
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->hbuf = malloc(HDR_SECTION_MAX)) == NULL ||
	    (s->bbuf = malloc(SIGN_BODY_CHUNK)) == NULL ||
	    (s->cbuf = malloc(SIG_FIELD_MAX + HDR_FIELD_MAX + 2)) == NULL ||
	    (s->fields = calloc(HDR_FIELDS_MAX, sizeof(*s->fields))) == NULL) {
		*why = "out of memory";
		goto fail;
	}
	for (size_t i = 0; signer_oversign_headers[i] != NULL; i++) {
		const char *n = signer_oversign_headers[i];
		int k = sign_name_index(n, strlen(n));
		if (k == -1 || s->noversign == sizeof(s->oversign) / sizeof(s->oversign[0])) {
			*why = "an oversigned header is not in the signed list";
			goto fail;
		}
		s->oversign[s->noversign++] = k;
	}
	return s;
fail:
	signer_free(s);
	return NULL;
}

void
signer_forget_keys(struct signer *s)
{
	for (size_t i = 0; s != NULL && i < SIGNER_KEYS_CACHED; i++) {
		EVP_PKEY_free(s->keys[i].pkey);
		memset(&s->keys[i], 0, sizeof(s->keys[i]));
	}
}

void
signer_free(struct signer *s)
{
	if (s == NULL)
		return;
	signer_forget_keys(s);
	free(s->hbuf);
	free(s->bbuf);
	free(s->cbuf);
	free(s->fields);
	explicit_bzero(s, sizeof(*s));
	free(s);
}

/* ---- keys ------------------------------------------------------------------ */

/* The parsed key of pem: from the cache, or parsed once and cached (the
 * least recently used entry makes room). NULL with res->why. */
static EVP_PKEY *
key_get(struct signer *s, enum dkim_key_alg a, const char *pem,
    struct sign_result *res)
{
	uint8_t id[HASH_LEN];
	char err[160];
	size_t victim = 0;
	EVP_PKEY *k;

	if (EVP_Digest(pem, strlen(pem), id, NULL, EVP_sha256(), NULL) != 1) {
		snprintf(res->why, sizeof(res->why), "SHA-256 failed");
		return NULL;
	}
	for (size_t i = 0; i < SIGNER_KEYS_CACHED; i++) {
		struct cached_key *c = &s->keys[i];
		if (c->pkey != NULL && c->alg == a && memcmp(c->id, id, sizeof(id)) == 0) {
			c->last_used = ++s->clock;
			return c->pkey;
		}
		if (c->pkey == NULL || (s->keys[victim].pkey != NULL &&
		    c->last_used < s->keys[victim].last_used))
			victim = i;
	}
	switch (dkim_key_pem_parse(pem, strlen(pem), a, &k, err, sizeof(err))) {
	case DKIM_PEM_OK:
		break;
	case DKIM_PEM_WRONG_TYPE:
		snprintf(res->why, sizeof(res->why), "%s: not a key of that type",
		    dkim_alg_sig_name(a));
		return NULL;
	case DKIM_PEM_NOT_PEM:
	default:
		snprintf(res->why, sizeof(res->why), "%s: cannot read the key: %s",
		    dkim_alg_sig_name(a), err);
		return NULL;
	}
	if (a == DKIM_ALG_RSA && EVP_PKEY_get_bits(k) < DKIM_RSA_MIN_BITS) {
		snprintf(res->why, sizeof(res->why), "rsa-sha256: key of %d bits",
		    EVP_PKEY_get_bits(k));
		EVP_PKEY_free(k);
		return NULL;
	}
	EVP_PKEY_free(s->keys[victim].pkey);
	s->keys[victim] = (struct cached_key){ k, a, { 0 }, ++s->clock };
	memcpy(s->keys[victim].id, id, sizeof(id));
	return k;
}

/* ---- reading the message ------------------------------------------------ */

/* n bytes at off, or -1 (I/O error or the file shrank under us). */
static int
input_read(const struct sign_input *in, size_t off, uint8_t *buf, size_t n)
{
	if (in->mem != NULL) {
		if (off > in->size || n > in->size - off)
			return -1;
		memcpy(buf, in->mem + off, n);
		return 0;
	}
	while (n > 0) {
		ssize_t r = pread(in->fd, buf, n, (off_t)off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		buf += r;
		off += (size_t)r;
		n -= (size_t)r;
	}
	return 0;
}

static int
input_size(const struct sign_input *in, size_t *size, struct sign_result *res)
{
	struct stat st;

	if (in->mem != NULL) {
		*size = in->size;
		return 0;
	}
	if (fstat(in->fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(res->why, sizeof(res->why), "message fd is not a regular file");
		return -1;
	}
	if ((uintmax_t)st.st_size > SIGN_MESSAGE_MAX) {
		snprintf(res->why, sizeof(res->why), "message of %jd bytes is over the "
		    "%u byte limit", (intmax_t)st.st_size, SIGN_MESSAGE_MAX);
		return -1;
	}
	*size = (size_t)st.st_size;
	return 0;
}

/* ---- the message: fields and body hash ------------------------------------ */

static int
collect_field(const uint8_t *field, size_t len, void *arg)
{
	struct signer *s = arg;
	const uint8_t *colon = memchr(field, ':', len);
	struct field_ref *f;

	if (colon == NULL || s->nfields == HDR_FIELDS_MAX)
		return -1;	/* headers.c guarantees neither */
	f = &s->fields[s->nfields++];
	f->p = field;
	f->len = len;
	f->name = sign_name_index((const char *)field, (size_t)(colon - field));
	f->taken = false;
	return 0;
}

static void
hash_sink(void *arg, const uint8_t *p, size_t n)
{
	(void)EVP_DigestUpdate(arg, p, n);
}

/* Splits the header into s->fields and hashes the canonical body into
 * bh (base64, NUL-terminated). */
static int
read_message(struct signer *s, const struct sign_input *in, size_t size,
    char bh[64], struct sign_result *res)
{
	size_t hn = size < HDR_SECTION_MAX ? size : HDR_SECTION_MAX;
	size_t body_off, nfields;
	uint8_t digest[HASH_LEN];
	struct canon_body cb;
	EVP_MD_CTX *md = NULL;
	enum hdr_status hs;
	int r = -1;

	s->nfields = 0;
	if (input_read(in, 0, s->hbuf, hn) == -1) {
		snprintf(res->why, sizeof(res->why), "cannot read the message");
		return -1;
	}
	hs = hdr_split(s->hbuf, hn, hn == size, collect_field, s, &body_off, &nfields);
	if (hs != HDR_OK) {
		snprintf(res->why, sizeof(res->why), "%s", hdr_status_text(hs));
		return -1;
	}
	if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		snprintf(res->why, sizeof(res->why), "SHA-256 failed");
		goto done;
	}
	canon_body_init(&cb, hash_sink, md);
	canon_body_feed(&cb, s->hbuf + body_off, hn - body_off);
	for (size_t off = hn; off < size;) {
		size_t n = size - off < SIGN_BODY_CHUNK ? size - off : SIGN_BODY_CHUNK;
		if (input_read(in, off, s->bbuf, n) == -1) {
			snprintf(res->why, sizeof(res->why), "cannot read the message");
			goto done;
		}
		canon_body_feed(&cb, s->bbuf, n);
		off += n;
	}
	canon_body_finish(&cb);
	if (EVP_DigestFinal_ex(md, digest, NULL) != 1) {
		snprintf(res->why, sizeof(res->why), "SHA-256 failed");
		goto done;
	}
	EVP_EncodeBlock((unsigned char *)bh, digest, HASH_LEN);
	r = 0;
done:
	EVP_MD_CTX_free(md);
	return r;
}

/* h=: every field we sign, in message order, then the oversigned names.
 * RFC 6376 5.4: From is required. */
static int
build_hlist(struct signer *s, struct sign_result *res)
{
	bool from = false;

	s->nhlist = 0;
	for (size_t i = 0; i < s->nfields; i++)
		if (s->fields[i].name != -1) {
			from |= s->fields[i].name == NAME_FROM;
			s->hlist[s->nhlist++] = s->fields[i].name;
		}
	if (!from) {
		snprintf(res->why, sizeof(res->why), "no From: field to sign");
		return -1;
	}
	for (size_t i = 0; i < s->noversign; i++)
		s->hlist[s->nhlist++] = s->oversign[i];
	return 0;
}

/* The fields h= names, canonical, into md: for each name the last
 * instance not taken yet; a name with none left adds nothing. */
static int
hash_signed_fields(struct signer *s, EVP_MD_CTX *md)
{
	for (size_t i = 0; i < s->nfields; i++)
		s->fields[i].taken = false;
	for (size_t h = 0; h < s->nhlist; h++) {
		for (size_t i = s->nfields; i-- > 0;) {
			struct field_ref *f = &s->fields[i];
			if (f->taken || f->name != s->hlist[h])
				continue;
			f->taken = true;
			size_t n = canon_header(f->p, f->len, true, s->cbuf,
			    SIG_FIELD_MAX + HDR_FIELD_MAX + 2);
			if (n == 0 || EVP_DigestUpdate(md, s->cbuf, n) != 1)
				return -1;
			break;
		}
	}
	return 0;
}

/* ---- the DKIM-Signature field ----------------------------------------------- */

static void
sb_raw(struct sigbuf *b, const char *p, size_t n)
{
	if (b->overflow || n >= b->size - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	b->line += n;
}

static void
sb_fold(struct sigbuf *b)
{
	sb_raw(b, "\r\n\t", 3);
	b->line = 1;
}

/* A tag (or a piece of one) that stays on one line: folded before it if
 * it would cross the margin; sep is what separates it otherwise. */
static void
sb_token(struct sigbuf *b, const char *sep, const char *tok, size_t n)
{
	if (b->line + strlen(sep) + n > SIG_MARGIN && b->line > 1)
		sb_fold(b);
	else
		sb_raw(b, sep, strlen(sep));
	sb_raw(b, tok, n);
}

/* A base64 value: any byte may start a new line (FWS is allowed inside
 * b= and bh=, RFC 6376 3.5). */
static void
sb_base64(struct sigbuf *b, const char *tag, const char *v)
{
	size_t n = strlen(v);

	sb_token(b, " ", tag, strlen(tag));
	while (n > 0) {
		if (b->line >= SIG_MARGIN)
			sb_fold(b);
		size_t room = SIG_MARGIN - b->line, k = n < room ? n : room;
		sb_raw(b, v, k);
		v += k;
		n -= k;
	}
}

/* Everything but the b= value: "DKIM-Signature: v=1; ...; b=". */
static void
sb_field_head(struct sigbuf *b, const struct signer *s, enum dkim_key_alg a,
    const char *domain, const char *sel, const char *bh, time_t now)
{
	char tag[160];
	int n;

	sb_raw(b, SIG_FIELD_NAME, strlen(SIG_FIELD_NAME));
	sb_raw(b, "v=1;", 4);
	n = snprintf(tag, sizeof(tag), "a=%s;", dkim_alg_sig_name(a));
	sb_token(b, " ", tag, (size_t)n);
	sb_token(b, " ", "c=relaxed/relaxed;", 18);
	n = snprintf(tag, sizeof(tag), "d=%s;", domain);
	sb_token(b, " ", tag, (size_t)n);
	n = snprintf(tag, sizeof(tag), "s=%s;", sel);
	sb_token(b, " ", tag, (size_t)n);
	n = snprintf(tag, sizeof(tag), "t=%lld;", (long long)now);
	sb_token(b, " ", tag, (size_t)n);
	sb_base64(b, "bh=", bh);
	sb_raw(b, ";", 1);
	for (size_t i = 0; i < s->nhlist; i++) {
		const char *name = signer_sign_headers[s->hlist[i]];
		bool last = i + 1 == s->nhlist;
		n = snprintf(tag, sizeof(tag), "%s%s%s", i == 0 ? "h=" : "", name,
		    last ? ";" : ":");
		sb_token(b, i == 0 ? " " : "", tag, (size_t)n);
	}
	sb_token(b, " ", "b=", 2);
}

/* The signature of the header hash, base64 into out (NUL-terminated). */
static int
sign_digest(EVP_PKEY *k, enum dkim_key_alg a, const uint8_t digest[HASH_LEN],
    char *out, size_t outsize)
{
	uint8_t sig[SIG_BYTES_MAX];
	size_t siglen = sizeof(sig);
	int ok;

	if (a == DKIM_ALG_RSA) {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
		ok = c != NULL && EVP_PKEY_sign_init(c) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 &&
		    EVP_PKEY_sign(c, sig, &siglen, digest, HASH_LEN) == 1;
		EVP_PKEY_CTX_free(c);
	} else {
		/* RFC 8463 3: PureEdDSA over the SHA-256 hash. */
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		ok = m != NULL && EVP_DigestSignInit(m, NULL, NULL, NULL, k) == 1 &&
		    EVP_DigestSign(m, sig, &siglen, digest, HASH_LEN) == 1;
		EVP_MD_CTX_free(m);
	}
	ERR_clear_error();
	if (!ok || (siglen + 2) / 3 * 4 + 1 > outsize)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, sig, (int)siglen);
	return 0;
}

/* One complete field, CRLF-ended, appended to b. */
static int
sign_one(struct signer *s, const struct sign_keys *k, enum dkim_key_alg a,
    EVP_PKEY *pkey, const EVP_MD_CTX *fields_md, const char *bh, time_t now,
    struct sigbuf *b, struct sign_result *res)
{
	char sel[DKIM_DNS_SELECTOR_MAX + 1], b64[SIG_BYTES_MAX * 4 / 3 + 8];
	uint8_t digest[HASH_LEN];
	size_t start = b->len, n;
	EVP_MD_CTX *md;
	int ok;

	if (dkim_dns_selector(sel, sizeof(sel), k->selector, a) == -1 ||
	    !domain_is_valid(sel, strlen(sel))) {
		snprintf(res->why, sizeof(res->why), "selector '%.80s' too long or "
		    "invalid", k->selector);
		return -1;
	}
	b->line = 0;
	sb_field_head(b, s, a, k->domain, sel, bh, now);
	if (b->overflow || b->len - start > SIG_FIELD_MAX) {
		snprintf(res->why, sizeof(res->why), "%s: signature header "
		    "malformed or too long", dkim_alg_sig_name(a));
		return -1;
	}
	/* This field, b= empty, ends the header hash (RFC 6376 3.7). */
	n = canon_header((const uint8_t *)b->p + start, b->len - start, false,
	    s->cbuf, SIG_FIELD_MAX + HDR_FIELD_MAX + 2);
	md = EVP_MD_CTX_new();
	ok = md != NULL && n > 0 && EVP_MD_CTX_copy_ex(md, fields_md) == 1 &&
	    EVP_DigestUpdate(md, s->cbuf, n) == 1 &&
	    EVP_DigestFinal_ex(md, digest, NULL) == 1;
	EVP_MD_CTX_free(md);
	if (!ok || sign_digest(pkey, a, digest, b64, sizeof(b64)) == -1) {
		snprintf(res->why, sizeof(res->why), "%s: signing failed",
		    dkim_alg_sig_name(a));
		return -1;
	}
	size_t room = SIG_MARGIN > b->line ? SIG_MARGIN - b->line : 0;
	size_t first = strlen(b64) < room ? strlen(b64) : room;
	sb_raw(b, b64, first);
	for (const char *p = b64 + first; *p != '\0';) {
		size_t k2 = strlen(p) < SIG_MARGIN - 1 ? strlen(p) : SIG_MARGIN - 1;
		sb_fold(b);
		sb_raw(b, p, k2);
		p += k2;
	}
	sb_raw(b, "\r\n", 2);
	if (b->overflow) {
		snprintf(res->why, sizeof(res->why), "%s: signature header "
		    "malformed or too long", dkim_alg_sig_name(a));
		return -1;
	}
	return 0;
}

/* Every key's field into out, RSA first; res->algs names them. */
static int
sign_all(struct signer *s, const struct sign_keys *k, EVP_PKEY *const pkeys[],
    const char *bh, char *out, size_t outsize, struct sign_result *res)
{
	struct sigbuf b = { out, outsize, 0, 0, false };
	EVP_MD_CTX *fields_md = EVP_MD_CTX_new();
	time_t now = time(NULL);
	size_t alen = 0;
	int r = -1;

	out[0] = '\0';
	if (fields_md == NULL || EVP_DigestInit_ex(fields_md, EVP_sha256(), NULL) != 1 ||
	    hash_signed_fields(s, fields_md) == -1) {
		snprintf(res->why, sizeof(res->why), "SHA-256 failed");
		goto done;
	}
	for (int a = 0; a < DKIM_ALG_COUNT; a++) {
		if (pkeys[a] == NULL)
			continue;
		if (sign_one(s, k, (enum dkim_key_alg)a, pkeys[a], fields_md, bh, now,
		    &b, res) == -1)
			goto done;
		alen += (size_t)snprintf(res->algs + alen, sizeof(res->algs) - alen,
		    "%s%s", res->nsigs > 0 ? "," : "", dkim_alg_sig_name((enum dkim_key_alg)a));
		if (alen >= sizeof(res->algs))
			alen = sizeof(res->algs) - 1;
		res->nsigs++;
	}
	r = 0;
done:
	EVP_MD_CTX_free(fields_md);
	return r;
}

int
signer_sign(struct signer *s, const struct sign_keys *k,
    const struct sign_input *in, char *out, size_t outsize,
    struct sign_result *res)
{
	EVP_PKEY *pkeys[DKIM_ALG_COUNT] = { NULL };
	size_t size = 0;
	char bh[64];
	bool any = false;
	int r = -1;

	memset(res, 0, sizeof(*res));
	if (outsize == 0)
		return -1;
	out[0] = '\0';
	if (input_size(in, &size, res) == -1)
		return -1;
	res->message_bytes = size;
	for (int a = 0; a < DKIM_ALG_COUNT; a++) {
		if (k->pem[a] == NULL)
			continue;
		if ((pkeys[a] = key_get(s, (enum dkim_key_alg)a, k->pem[a], res)) == NULL)
			goto done;
		any = true;
	}
	if (!any) {
		snprintf(res->why, sizeof(res->why), "no key to sign with");
		goto done;
	}
	if (read_message(s, in, size, bh, res) == -1 || build_hlist(s, res) == -1)
		goto done;
	r = sign_all(s, k, pkeys, bh, out, outsize, res);
done:
	if (r == -1) {
		out[0] = '\0';
		res->nsigs = 0;
		res->algs[0] = '\0';
	}
	return r;
}

int
signer_test_key(struct signer *s, const char *domain, const char *selector,
    enum dkim_key_alg a, const char *pem, char *why, size_t whysize)
{
	struct sign_keys k = { domain, selector, { NULL, NULL } };
	struct sign_input in = { -1, (const uint8_t *)test_message,
	    sizeof(test_message) - 1 };
	struct sign_result res;
	char out[4096];

	k.pem[a] = pem;
	if (signer_sign(s, &k, &in, out, sizeof(out), &res) == -1) {
		snprintf(why, whysize, "%s", res.why);
		return -1;
	}
	return 0;
}
