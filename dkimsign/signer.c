/*
 * dkimsign/signer.c - DKIM signatures with libopendkim: one handle per
 * algorithm, all fed the same bytes.
 *
 * Owns: the DKIM_LIB of the process, the signed-header policy and the
 * order of calls (dkim_sign, dkim_header per field, dkim_eoh, dkim_body
 * per chunk, dkim_eom, dkim_getsighdr_d; doc/libraries.md section 1).
 * c=relaxed/relaxed for both rsa-sha256 (RFC 6376) and ed25519-sha256
 * (RFC 8463), each key under its own selector (lib/dkimkey.h). h= lists every present field of signer_sign_headers, and
 * then once more each name of signer_oversign_headers (RFC 6376 8.15:
 * a listed name with no instance left stands for "no such field", so
 * nobody can add a From:, Subject:, Reply-To: or MIME header after us).
 * The header section is split by headers.c, not by dkim_chunk(), so that
 * what we sign is exactly what we validated. Memory handed out by
 * libopendkim is wiped when freed: it holds a copy of the private key.
 */
#include <sys/stat.h>

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <opendkim/dkim.h>

#include "headers.h"
#include "signer.h"

#define SIG_FIELD_NAME	"DKIM-Signature: "

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

static const char test_message[] =
	"From: homemx dkimsign <dkimsign-test@invalid>\r\n"
	"Subject: key test\r\n"
	"\r\n"
	"key test\r\n";

struct signer {
	DKIM_LIB	*lib;
	uint8_t		*hbuf;	/* HDR_SECTION_MAX */
	uint8_t		*bbuf;	/* SIGN_BODY_CHUNK */
};

/* One message being signed. */
struct feed {
	DKIM		*h[DKIM_ALG_COUNT];
	const char	*hname[DKIM_ALG_COUNT];
	unsigned	 n;
	DKIM_STAT	 st;
	unsigned	 failed;	/* index into h of the first failure */
	const char	*step;
	size_t		 body_bytes;
	uint8_t		 tail[2];	/* the last two body bytes fed */
};

static void *
dkim_alloc(void *closure, size_t n)
{
	(void)closure;
	return malloc(n);
}

/* libopendkim copies the PEM key into its handle: wipe what it frees. */
static void
dkim_wipe_free(void *closure, void *p)
{
	(void)closure;
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

struct signer *
signer_new(const char **why)
{
	struct signer *s;
	uint32_t flags = 0;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->hbuf = malloc(HDR_SECTION_MAX)) == NULL ||
	    (s->bbuf = malloc(SIGN_BODY_CHUNK)) == NULL) {
		*why = "out of memory";
		goto fail;
	}
	if ((s->lib = dkim_init(dkim_alloc, dkim_wipe_free)) == NULL) {
		*why = "dkim_init failed";
		goto fail;
	}
	if (!dkim_libfeature(s->lib, DKIM_FEATURE_ED25519) ||
	    !dkim_libfeature(s->lib, DKIM_FEATURE_OVERSIGN)) {
		*why = "libopendkim lacks Ed25519 or oversigning";
		goto fail;
	}
	if (dkim_options(s->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
	    sizeof(flags)) != DKIM_STAT_OK ||
	    dkim_options(s->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
	    (void *)signer_sign_headers, sizeof(char **)) != DKIM_STAT_OK ||
	    dkim_options(s->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
	    (void *)signer_oversign_headers, sizeof(char **)) != DKIM_STAT_OK) {
		*why = "dkim_options refused our header lists";
		goto fail;
	}
	return s;
fail:
	signer_free(s);
	return NULL;
}

void
signer_free(struct signer *s)
{
	if (s == NULL)
		return;
	if (s->lib != NULL)
		dkim_close(s->lib);
	free(s->hbuf);
	free(s->bbuf);
	free(s);
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

/* ---- feeding libopendkim ------------------------------------------------- */

static void
feed_fail(struct feed *f, unsigned i, DKIM_STAT st, const char *step)
{
	if (f->st != DKIM_STAT_OK)
		return;
	f->st = st;
	f->failed = i;
	f->step = step;
}

static int
feed_header(const uint8_t *field, size_t len, void *arg)
{
	struct feed *f = arg;

	for (unsigned i = 0; i < f->n; i++) {
		DKIM_STAT st = dkim_header(f->h[i], (u_char *)(uintptr_t)field, len);
		if (st != DKIM_STAT_OK) {
			feed_fail(f, i, st, "header");
			return -1;
		}
	}
	return 0;
}

static int
feed_body(struct feed *f, const uint8_t *p, size_t n)
{
	if (n == 0)
		return 0;
	if (n >= 2)
		memcpy(f->tail, p + n - 2, 2);
	else {
		f->tail[0] = f->tail[1];
		f->tail[1] = p[0];
	}
	f->body_bytes += n;
	for (unsigned i = 0; i < f->n; i++) {
		DKIM_STAT st = dkim_body(f->h[i], (u_char *)(uintptr_t)p, n);
		if (st != DKIM_STAT_OK) {
			feed_fail(f, i, st, "body");
			return -1;
		}
	}
	return 0;
}

static int
feed_eoh(struct feed *f)
{
	for (unsigned i = 0; i < f->n; i++) {
		DKIM_STAT st = dkim_eoh(f->h[i]);
		if (st != DKIM_STAT_OK) {
			feed_fail(f, i, st, "end of header");
			return -1;
		}
	}
	return 0;
}

/* RFC 5321 4.1.1.4: a message goes out ending with CRLF, whatever the
 * file holds; sign it the way it will be sent (libopendkim refuses a
 * body without a final CRLF). */
static int
feed_final_crlf(struct feed *f)
{
	static const uint8_t crlf[2] = { '\r', '\n' };

	if (f->body_bytes == 0 || memcmp(f->tail, crlf, 2) == 0)
		return 0;
	return feed_body(f, crlf, 2);
}

static int
feed_eom(struct feed *f)
{
	if (feed_final_crlf(f) == -1)
		return -1;
	for (unsigned i = 0; i < f->n; i++) {
		DKIM_STAT st = dkim_eom(f->h[i], NULL);
		if (st != DKIM_STAT_OK) {
			feed_fail(f, i, st, "end of message");
			return -1;
		}
	}
	return 0;
}

/* Describes f's failure in res->why (libopendkim's text is ours, not the
 * client's, but it may quote a header name: the caller escapes it). */
static void
feed_explain(const struct feed *f, struct sign_result *res)
{
	const char *detail = NULL;

	if (f->st == DKIM_STAT_OK)
		return;
	if (f->failed < f->n)
		detail = dkim_geterror(f->h[f->failed]);
	snprintf(res->why, sizeof(res->why), "%s: %s at %s%s%s",
	    f->failed < f->n ? f->hname[f->failed] : "?",
	    dkim_getresultstr(f->st), f->step,
	    detail != NULL ? ": " : "", detail != NULL ? detail : "");
}

static int
open_handles(struct signer *s, const struct sign_keys *k, struct feed *f,
    struct sign_result *res)
{
	static const dkim_alg_t alg_codes[DKIM_ALG_COUNT] = {
		[DKIM_ALG_RSA] = DKIM_SIGN_RSASHA256,
		[DKIM_ALG_ED25519] = DKIM_SIGN_ED25519SHA256,
	};

	for (int a = 0; a < DKIM_ALG_COUNT; a++) {
		char sel[DKIM_DNS_SELECTOR_MAX + 1];
		DKIM_STAT st = DKIM_STAT_OK;
		DKIM *h;

		if (k->pem[a] == NULL)
			continue;
		if (dkim_dns_selector(sel, sizeof(sel), k->selector, (enum dkim_key_alg)a) == -1 ||
		    !domain_is_valid(sel, strlen(sel))) {
			snprintf(res->why, sizeof(res->why), "selector '%.80s' too long or "
			    "invalid", k->selector);
			return -1;
		}
		h = dkim_sign(s->lib, (const u_char *)"homemx", NULL,
		    (dkim_sigkey_t)(uintptr_t)k->pem[a], (const u_char *)sel,
		    (const u_char *)k->domain, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED,
		    alg_codes[a], -1, &st);
		if (h == NULL) {
			snprintf(res->why, sizeof(res->why), "%s: dkim_sign: %s",
			    dkim_alg_sig_name((enum dkim_key_alg)a), dkim_getresultstr(st));
			return -1;
		}
		f->hname[f->n] = dkim_alg_sig_name((enum dkim_key_alg)a);
		f->h[f->n++] = h;
	}
	if (f->n == 0) {
		snprintf(res->why, sizeof(res->why), "no key to sign with");
		return -1;
	}
	return 0;
}

/* Feeds the whole message to every handle of f. */
static int
feed_message(struct signer *s, const struct sign_input *in, size_t size,
    struct feed *f, struct sign_result *res)
{
	size_t hn = size < HDR_SECTION_MAX ? size : HDR_SECTION_MAX;
	size_t body_off, nfields;
	enum hdr_status hs;

	if (input_read(in, 0, s->hbuf, hn) == -1) {
		snprintf(res->why, sizeof(res->why), "cannot read the message");
		return -1;
	}
	hs = hdr_split(s->hbuf, hn, hn == size, feed_header, f, &body_off, &nfields);
	if (hs == HDR_CALLBACK || (hs == HDR_OK && feed_eoh(f) == -1))
		return -1;
	if (hs != HDR_OK) {
		snprintf(res->why, sizeof(res->why), "%s", hdr_status_text(hs));
		return -1;
	}
	if (feed_body(f, s->hbuf + body_off, hn - body_off) == -1)
		return -1;
	for (size_t off = hn; off < size;) {
		size_t n = size - off < SIGN_BODY_CHUNK ? size - off : SIGN_BODY_CHUNK;
		if (input_read(in, off, s->bbuf, n) == -1) {
			snprintf(res->why, sizeof(res->why), "cannot read the message");
			return -1;
		}
		if (feed_body(f, s->bbuf, n) == -1)
			return -1;
		off += n;
	}
	return feed_eom(f);
}

/* A signature value must be CRLF-folded text: no NUL, no bare LF or CR. */
static bool
sighdr_is_clean(const u_char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\0')
			return false;
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return false;
		if (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n'))
			return false;
	}
	return true;
}

static int
append(char *out, size_t outsize, size_t *len, const void *p, size_t n)
{
	if (n >= outsize - *len)
		return -1;
	memcpy(out + *len, p, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

static int
collect_signatures(struct feed *f, char *out, size_t outsize,
    struct sign_result *res)
{
	size_t len = 0, alen = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < f->n; i++) {
		u_char *sig = NULL;
		size_t siglen = 0;
		DKIM_STAT st = dkim_getsighdr_d(f->h[i], strlen(SIG_FIELD_NAME), &sig, &siglen);

		if (st != DKIM_STAT_OK) {
			feed_fail(f, i, st, "signature header");
			feed_explain(f, res);
			return -1;
		}
		if (!sighdr_is_clean(sig, siglen) ||
		    append(out, outsize, &len, SIG_FIELD_NAME, strlen(SIG_FIELD_NAME)) == -1 ||
		    append(out, outsize, &len, sig, siglen) == -1 ||
		    append(out, outsize, &len, "\r\n", 2) == -1) {
			snprintf(res->why, sizeof(res->why), "%s: signature header "
			    "malformed or too long", f->hname[i]);
			return -1;
		}
		alen += (size_t)snprintf(res->algs + alen, sizeof(res->algs) - alen,
		    "%s%s", i > 0 ? "," : "", f->hname[i]);
		if (alen >= sizeof(res->algs))
			alen = sizeof(res->algs) - 1;
	}
	res->nsigs = f->n;
	return 0;
}

int
signer_sign(struct signer *s, const struct sign_keys *k,
    const struct sign_input *in, char *out, size_t outsize,
    struct sign_result *res)
{
	struct feed f;
	size_t size = 0;
	int r = -1;

	memset(res, 0, sizeof(*res));
	memset(&f, 0, sizeof(f));
	if (outsize == 0)
		return -1;
	out[0] = '\0';
	if (input_size(in, &size, res) == -1)
		return -1;
	res->message_bytes = size;
	if (open_handles(s, k, &f, res) == -1)
		goto done;
	if (feed_message(s, in, size, &f, res) == -1) {
		feed_explain(&f, res);
		goto done;
	}
	r = collect_signatures(&f, out, outsize, res);
done:
	for (unsigned i = 0; i < f.n; i++)
		dkim_free(f.h[i]);
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
