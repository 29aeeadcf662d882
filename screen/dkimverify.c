/*
 * screen/dkimverify.c - check_dkim(): every DKIM-Signature of a received
 * message, verified with libopendkim, as per-signature results in the
 * score and one contribution (screen/checks.h).
 *
 * Owns: the process's DKIM_LIB, the key-lookup hook, the mapping from
 * libopendkim's per-signature state to RFC 8601 results, and the weights
 * named dkim_*. Rules:
 *  - The first SCORE_DKIM_MAX DKIM-Signature fields from the top (the most
 *    recently added) are verified; the others are not given to libopendkim
 *    at all, so a message with a thousand signatures costs eight.
 *  - Keys come from the DNS view (TXT at <s>._domainkey.<d>). The hook
 *    answers libopendkim from the view during dkim_eoh(); a key the view
 *    does not have yet is recorded as a miss, and when a round has misses
 *    the handle is dropped before the body is read: every key of the
 *    message is fetched in that one round, and the body is hashed once,
 *    in the round that has them all.
 *  - The result is kept in the message (struct msg_dkim_memo) with a
 *    digest of the key answers it came from; a later round of the same
 *    evaluation (where the view pins those answers) reuses it.
 *  - RFC 8301: rsa-sha1 and RSA keys under 1024 bits are failures.
 *  - l=: a signature with a body length limit counts as failed. Content
 *    after l= is unsigned yet shown as signed (RFC 6376 8.2), and
 *    libopendkim cannot tell whether anything follows the signed part;
 *    senders of real mail do not use l=.
 *  - A key lookup that failed temporarily is a temperror (a range in the
 *    score), NXDOMAIN/NODATA and an empty p= a permerror; several TXT
 *    records at the key name, or one longer than libopendkim's 1024-byte
 *    key buffer (an RSA key over 4096 bits), are permerrors too.
 *  - A failed signature weighs little on its own (mailing lists break
 *    signatures; RFC 6376 6.1 asks verifiers not to treat that as worse
 *    than no signature); only the best outcome of a message counts.
 * Why libopendkim keeps its own parse of the signatures: the d= and s=
 * whose key was fetched must be the ones the verdict reports. Our own
 * small tag reader serves only to match fields to libopendkim's list (by
 * b=) and to name signatures libopendkim discarded as malformed.
 */
#include <opendkim/dkim.h>
#include <openssl/evp.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "dkimverify.h"
#include "dmarc.h"
#include "dnscache.h"
#include "message.h"

#define SIG_FIELD	"DKIM-Signature"
#define B_TAG_MAX	4096	/* b= of a 16384-bit RSA signature: 2732 */

static DKIM_LIB	*lib;

/* One key name a verification asked for, and what the view said. */
struct key {
	char		 name[DV_NAME_MAX + 1];
	enum dv_status	 status;
	const char	*problem;	/* a permerror of ours, else NULL */
};

struct verify_ctx {
	struct dns_view	*view;
	struct key	 key[SCORE_DKIM_MAX];
	size_t		 nkeys;
	bool		 pending;	/* a key was a miss */
};

/* ---- the key-lookup hook ------------------------------------------------ */

/* <s>._domainkey.<d>, normalized; -1 if that is not a DNS name. */
static int
key_name(const char *s, const char *d, char *out, size_t size)
{
	char raw[2 * (DV_NAME_MAX + 1) + 16];

	if (s == NULL || d == NULL ||
	    (size_t)snprintf(raw, sizeof(raw), "%s._domainkey.%s", s, d) >= sizeof(raw))
		return -1;
	return dns_name_normalize(raw, out, size);
}

static struct key *
key_find(struct verify_ctx *ctx, const char *name)
{
	for (size_t i = 0; i < ctx->nkeys; i++)
		if (strcmp(ctx->key[i].name, name) == 0)
			return &ctx->key[i];
	return NULL;
}

/* Copies one TXT answer into libopendkim's buffer, or says why not. */
static const char *
key_copy(const struct dv_answer *a, u_char *buf, size_t buflen)
{
	if (a->n != 1 || a->truncated)
		return "several key records";
	if (a->rr[0].len >= buflen)
		return "key record over 1024 bytes";
	memcpy(buf, a->rr[0].data, a->rr[0].len);
	buf[a->rr[0].len] = '\0';
	return NULL;
}

static DKIM_CBSTAT
key_lookup(DKIM *d, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	struct verify_ctx *ctx = dkim_get_user_context(d);
	char name[DV_NAME_MAX + 1];
	struct dv_answer a;
	struct key *k;

	if (ctx == NULL || key_name((const char *)dkim_sig_getselector(sig),
	    (const char *)dkim_sig_getdomain(sig), name, sizeof(name)) == -1)
		return DKIM_CBSTAT_NOTFOUND;
	if ((k = key_find(ctx, name)) == NULL) {
		if (ctx->nkeys == SCORE_DKIM_MAX)
			return DKIM_CBSTAT_NOTFOUND;	/* cannot happen: <= 8 signatures */
		k = &ctx->key[ctx->nkeys++];
		snprintf(k->name, sizeof(k->name), "%s", name);
	}
	k->status = dv_lookup(ctx->view, name, DV_TXT, &a);
	k->problem = NULL;
	switch (k->status) {
	case DV_MISS:
		ctx->pending = true;
		return DKIM_CBSTAT_NOTFOUND;	/* this handle is dropped anyway */
	case DV_OK:
		k->problem = key_copy(&a, buf, buflen);
		return k->problem == NULL ? DKIM_CBSTAT_CONTINUE : DKIM_CBSTAT_NOTFOUND;
	default:	/* a temperror is told apart later, from k->status */
		return DKIM_CBSTAT_NOTFOUND;
	}
}

int
dkimverify_init(void)
{
	u_int bits = 1024;	/* RFC 8301 3.2 */
	unsigned flags = DKIM_LIBFLAGS_NONE;

	if (lib != NULL)
		return 0;
	if ((lib = dkim_init(NULL, NULL)) == NULL)
		return -1;
	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags)) != DKIM_STAT_OK ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &bits, sizeof(bits)) != DKIM_STAT_OK ||
	    dkim_set_key_lookup(lib, key_lookup) != DKIM_STAT_OK ||
	    !dkim_libfeature(lib, DKIM_FEATURE_ED25519)) {
		dkim_close(lib);
		lib = NULL;
		return -1;
	}
	return 0;
}

/* ---- our own reading of a signature field ------------------------------- */

/* The value of tag in a tag-list (RFC 6376 3.2), white space removed,
 * cut to size - 1; "" if absent. The first occurrence counts. */
static void
tag_value(const char *v, size_t len, const char *tag, char *out, size_t size)
{
	size_t tlen = strlen(tag), i = 0;

	out[0] = '\0';
	while (i < len) {
		size_t end = i, o = 0, j;
		while (end < len && v[end] != ';')
			end++;
		while (i < end && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n'))
			i++;
		j = i + tlen;
		while (j < end && (v[j] == ' ' || v[j] == '\t'))
			j++;
		if (end - i > tlen && memcmp(v + i, tag, tlen) == 0 && j < end && v[j] == '=') {
			for (j++; j < end && o + 1 < size; j++)
				if (v[j] != ' ' && v[j] != '\t' && v[j] != '\r' && v[j] != '\n')
					out[o++] = v[j];
			out[o] = '\0';
			return;
		}
		i = end + 1;
	}
}

/* Printable ASCII only: d= and s= of a signature libopendkim threw out
 * may hold anything. */
static void
copy_printable(char *dst, size_t size, const char *src)
{
	size_t o = 0;

	for (; *src != '\0' && o + 1 < size; src++)
		dst[o++] = (*src > ' ' && *src <= '~') ? *src : '?';
	dst[o] = '\0';
}

/* ---- per-signature results ---------------------------------------------- */

static const char *
text_of(const u_char *p)
{
	return p != NULL ? (const char *)p : "";
}

static void
set_result(struct score_dkim *r, enum auth_result res, const char *reason)
{
	r->result = res;
	snprintf(r->reason, sizeof(r->reason), "%s", reason != NULL ? reason : "");
}

/* A signature libopendkim verified and found wanting. */
static void
map_failure(DKIM_SIGINFO *sig, struct score_dkim *r)
{
	int err = dkim_sig_geterror(sig);

	switch (err) {
	case DKIM_SIGERROR_BADSIG:
		set_result(r, AUTH_FAIL, dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH ?
		    "body hash mismatch" : "signature mismatch");
		return;
	case DKIM_SIGERROR_KEYTOOSMALL:
		set_result(r, AUTH_FAIL, "RSA key under 1024 bits (RFC 8301)");
		return;
	case DKIM_SIGERROR_EXPIRED:
	case DKIM_SIGERROR_FUTURE:
	case DKIM_SIGERROR_TIMESTAMPS:
	case DKIM_SIGERROR_SUBDOMAIN:
	case DKIM_SIGERROR_TOOLARGE_L:
	case DKIM_SIGERROR_MBSFAILED:
		set_result(r, AUTH_FAIL, dkim_sig_geterrorstr(err));
		return;
	case DKIM_SIGERROR_NOKEY:
		set_result(r, AUTH_PERMERROR, "no key");
		return;
	case DKIM_SIGERROR_OK:
	case DKIM_SIGERROR_UNKNOWN:
		set_result(r, AUTH_FAIL, "not valid");
		return;
	default:	/* syntax, key format, revoked key */
		set_result(r, AUTH_PERMERROR, dkim_sig_geterrorstr(err));
		return;
	}
}

static void
map_signature(DKIM *d, DKIM_SIGINFO *sig, struct verify_ctx *ctx,
    struct score_dkim *r)
{
	char name[DV_NAME_MAX + 1];
	struct key *k = NULL;
	dkim_alg_t alg = DKIM_SIGN_UNKNOWN;
	ssize_t signlen = -1;
	const u_char *a = dkim_sig_getalgorithm(sig);

	copy_printable(r->domain, sizeof(r->domain), text_of(dkim_sig_getdomain(sig)));
	copy_printable(r->selector, sizeof(r->selector), text_of(dkim_sig_getselector(sig)));
	copy_printable(r->alg, sizeof(r->alg), text_of(a));
	if (key_name(r->selector, r->domain, name, sizeof(name)) == 0)
		k = key_find(ctx, name);
	(void)dkim_sig_getsignalg(sig, &alg);
	(void)dkim_sig_getcanonlen(d, sig, NULL, NULL, &signlen);
	if (k != NULL && k->status == DV_TEMPFAIL)
		set_result(r, AUTH_TEMPERROR, "key lookup failed");
	else if (k != NULL && k->problem != NULL)
		set_result(r, AUTH_PERMERROR, k->problem);
	else if (!DKIM_SIG_CHECK(sig))
		map_failure(sig, r);
	else if (alg == DKIM_SIGN_RSASHA1)
		set_result(r, AUTH_FAIL, "rsa-sha1 (RFC 8301)");
	else if (signlen != -1)
		set_result(r, AUTH_FAIL, "l= body length limit");
	else
		set_result(r, AUTH_PASS, NULL);
}

/* ---- one verification --------------------------------------------------- */

enum verify_status { VERIFY_DONE, VERIFY_PENDING };

/* The header fields, the first SCORE_DKIM_MAX signatures only. Returns
 * the index of each signature field fed, in fed[]. */
static size_t
feed_headers(DKIM *d, const struct screen_message *m, size_t *fed)
{
	size_t nsig = 0;

	for (size_t i = 0; i < m->nfields; i++) {
		const struct msg_field *f = &m->field[i];
		if (msg_field_is(m, f, SIG_FIELD)) {
			if (nsig == SCORE_DKIM_MAX)
				continue;
			fed[nsig++] = i;
		}
		/* a field libopendkim refuses is left out of its view */
		(void)dkim_header(d, (u_char *)(uintptr_t)(m->hdr + f->off), f->len);
	}
	return nsig;
}

static void
feed_body(DKIM *d, const struct screen_message *m)
{
	static u_char chunk[DKIM_BODY_CHUNK];
	uint64_t off = 0;
	ssize_t n;

	while ((n = msg_body_read(m, off, chunk, sizeof(chunk))) > 0) {
		if (dkim_body(d, chunk, (size_t)n) != DKIM_STAT_OK)
			return;
		off += (uint64_t)n;
	}
}

/* A dkim_eoh()/dkim_eom() status that spoils every signature. */
struct whole_error {
	enum auth_result	 result;	/* AUTH_NONE: no such error */
	const char		*reason;
};

/* eoh: SYNTAX is the message's (dkim_getsender found no From to use);
 * eom reports a chosen signature's syntax error the same way, so only
 * resource trouble counts there. */
static struct whole_error
whole_message_error(DKIM_STAT st, bool at_eoh)
{
	switch (st) {
	case DKIM_STAT_SYNTAX:
		if (at_eoh)
			return (struct whole_error){ AUTH_PERMERROR, "no usable From field" };
		break;
	case DKIM_STAT_NORESOURCE:
	case DKIM_STAT_INTERNAL:
		return (struct whole_error){ AUTH_TEMPERROR, "verifier error" };
	default:
		break;
	}
	return (struct whole_error){ AUTH_NONE, NULL };
}

/* The matching state of result_for_field. */
struct sig_match {
	DKIM			*d;
	DKIM_SIGINFO		**sigs;
	int			 nsigs;
	bool			 used[SCORE_DKIM_MAX];
	struct verify_ctx	*ctx;
};

/* Fills r for signature field f: libopendkim's result when it kept the
 * signature (matched by b=), else the whole message's error or a
 * permerror. */
static void
result_for_field(const struct screen_message *m, const struct msg_field *f,
    struct sig_match *sm, struct whole_error whole, struct score_dkim *r)
{
	static char b[B_TAG_MAX + 1];
	char tmp[ADDR_DOMAIN_MAX + 1];
	size_t vlen;
	const char *v = msg_field_value(m, f, &vlen);

	memset(r, 0, sizeof(*r));
	tag_value(v, vlen, "b", b, sizeof(b));
	snprintf(r->b, sizeof(r->b), "%.8s", b);
	for (int j = 0; j < sm->nsigs && whole.result == AUTH_NONE; j++) {
		const char *sb = text_of(dkim_sig_gettagvalue(sm->sigs[j], false, (u_char *)"b"));
		if (sm->used[j] || b[0] == '\0' || strcmp(sb, b) != 0)
			continue;
		sm->used[j] = true;
		map_signature(sm->d, sm->sigs[j], sm->ctx, r);
		return;
	}
	tag_value(v, vlen, "d", tmp, sizeof(tmp));
	copy_printable(r->domain, sizeof(r->domain), tmp);
	tag_value(v, vlen, "s", tmp, sizeof(tmp));
	copy_printable(r->selector, sizeof(r->selector), tmp);
	tag_value(v, vlen, "a", tmp, sizeof(tmp));
	copy_printable(r->alg, sizeof(r->alg), tmp);
	if (whole.result != AUTH_NONE)
		set_result(r, whole.result, whole.reason);
	else
		set_result(r, AUTH_PERMERROR, "malformed signature");
}

/* SHA-256 over the answers for the key names, in order; false if one is
 * not in the view yet (recorded as a miss). */
static bool
keys_digest(struct dns_view *view, char names[][DV_NAME_MAX + 1], size_t n,
    unsigned char out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool complete = true;
	unsigned len = 0;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		memset(out, 0, 32);	/* out of memory: compares equal to itself */
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		struct dv_answer a;
		uint32_t head[3];
		head[0] = (uint32_t)dv_lookup(view, names[i], DV_TXT, &a);
		if (a.status == DV_MISS)
			complete = false;
		head[1] = (uint32_t)a.n;
		head[2] = a.truncated;
		EVP_DigestUpdate(md, names[i], strlen(names[i]) + 1);
		EVP_DigestUpdate(md, head, sizeof(head));
		for (size_t r = 0; r < a.n && a.status == DV_OK; r++) {
			uint64_t rl = a.rr[r].len;
			EVP_DigestUpdate(md, &rl, sizeof(rl));
			EVP_DigestUpdate(md, a.rr[r].data, a.rr[r].len);
		}
	}
	EVP_DigestFinal_ex(md, out, &len);
	EVP_MD_CTX_free(md);
	return complete;
}

static void
memo_store(struct msg_dkim_memo *memo, const struct verify_ctx *ctx,
    struct dns_view *view)
{
	memo->nkeys = ctx->nkeys;
	for (size_t i = 0; i < ctx->nkeys; i++)
		snprintf(memo->key[i], sizeof(memo->key[i]), "%s", ctx->key[i].name);
	(void)keys_digest(view, memo->key, memo->nkeys, memo->digest);
	memo->valid = true;
	memo->verifications++;
}

/* The first SCORE_DKIM_MAX signature fields, when libopendkim is out. */
static size_t
list_signatures(const struct screen_message *m, size_t *fed)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nfields && n < SCORE_DKIM_MAX; i++)
		if (msg_field_is(m, &m->field[i], SIG_FIELD))
			fed[n++] = i;
	return n;
}

/* Verifies m's signatures into memo, or records the missing keys. */
static enum verify_status
verify(const struct screen_message *m, struct dns_view *view,
    struct msg_dkim_memo *memo)
{
	struct verify_ctx ctx = { .view = view };
	struct sig_match sm = { .ctx = &ctx };
	struct whole_error whole = { AUTH_TEMPERROR, "verifier error" };
	size_t fed[SCORE_DKIM_MAX], nfed;
	DKIM_STAT st;

	if (dkimverify_init() == -1 ||
	    (sm.d = dkim_verify(lib, (const u_char *)"screen", NULL, &st)) == NULL)
		nfed = list_signatures(m, fed);
	else {
		dkim_set_user_context(sm.d, &ctx);
		nfed = feed_headers(sm.d, m, fed);
		st = dkim_eoh(sm.d);
		if (ctx.pending) {
			dkim_free(sm.d);
			return VERIFY_PENDING;
		}
		whole = whole_message_error(st, true);
		if (st == DKIM_STAT_OK) {
			feed_body(sm.d, m);
			whole = whole_message_error(dkim_eom(sm.d, NULL), false);
		}
		if (dkim_getsiglist(sm.d, &sm.sigs, &sm.nsigs) != DKIM_STAT_OK ||
		    sm.sigs == NULL)
			sm.nsigs = 0;
		if (sm.nsigs > SCORE_DKIM_MAX)
			sm.nsigs = SCORE_DKIM_MAX;
	}
	memo->nsigs = nfed;
	for (size_t i = 0; i < nfed; i++)
		result_for_field(m, &m->field[fed[i]], &sm, whole, &memo->sig[i]);
	memo_store(memo, &ctx, view);
	if (sm.d != NULL)
		dkim_free(sm.d);
	return VERIFY_DONE;
}

/* ---- the contribution --------------------------------------------------- */

/* The outcome order: the best signature decides. */
enum outcome { OUT_PERMERROR, OUT_FAIL, OUT_PASS, OUT_PASS_ALIGNED, OUT_COUNT };

static const enum screen_weight_id outcome_weight[OUT_COUNT] = {
	W_DKIM_PERMERROR, W_DKIM_FAIL, W_DKIM_PASS, W_DKIM_PASS_ALIGNED,
};

static enum outcome
outcome_of(const struct score_dkim *r)
{
	if (r->result == AUTH_PASS)
		return r->aligned ? OUT_PASS_ALIGNED : OUT_PASS;
	return r->result == AUTH_FAIL ? OUT_FAIL : OUT_PERMERROR;
}

static bool
aligned_with_from(const struct screen_message *m, const char *d)
{
	for (size_t i = 0; i < m->from.ndomains; i++)
		if (dmarc_aligned(d, m->from.domain[i], false))
			return true;
	return false;
}

static void
reason_of(const struct score *s, size_t pick, char *buf, size_t size)
{
	const struct score_dkim *r = &s->dkim[pick];
	static const char *const words[] = { "none", "pass", "fail", "temperror", "permerror" };
	int n = snprintf(buf, size, "dkim=%s d=%s s=%s a=%s", words[r->result],
	    r->domain[0] != '\0' ? r->domain : "-", r->selector[0] != '\0' ? r->selector : "-",
	    r->alg[0] != '\0' ? r->alg : "-");

	if (n >= 0 && (size_t)n < size && r->reason[0] != '\0')
		n += snprintf(buf + n, size - (size_t)n, " (%s)", r->reason);
	if (n >= 0 && (size_t)n < size && s->ndkim > 1)
		snprintf(buf + n, size - (size_t)n, " +%zu more signature%s", s->ndkim - 1,
		    s->ndkim > 2 ? "s" : "");
}

/*
 * One item for the message: the best known outcome, or, when a signature
 * is a temperror and nothing better is known, the range of what its key
 * could have made of the message.
 */
static void
add_contribution(struct score *s, const int *w)
{
	int known = -1, best = INT_MAX, worst = INT_MIN;
	size_t pick_known = 0, pick_temp = SIZE_MAX;
	char reason[SCORE_REASON_MAX + 1];

	for (size_t i = 0; i < s->ndkim; i++) {
		if (s->dkim[i].result == AUTH_TEMPERROR) {
			if (pick_temp == SIZE_MAX ||
			    (s->dkim[i].aligned && !s->dkim[pick_temp].aligned))
				pick_temp = i;
		} else if ((int)outcome_of(&s->dkim[i]) > known) {
			known = (int)outcome_of(&s->dkim[i]);
			pick_known = i;
		}
	}
	if (pick_temp != SIZE_MAX && known != OUT_PASS_ALIGNED) {
		int could = s->dkim[pick_temp].aligned ? OUT_PASS_ALIGNED : OUT_PASS;
		for (int o = OUT_PERMERROR; o <= could; o++) {
			int x = w[outcome_weight[known > o ? known : o]];
			best = x < best ? x : best;
			worst = x > worst ? x : worst;
		}
		reason_of(s, pick_temp, reason, sizeof(reason));
		score_add_unknown(s, "dkim_temperror", best, worst, "%s", reason);
		return;
	}
	reason_of(s, pick_known, reason, sizeof(reason));
	score_add(s, screen_weight_name(outcome_weight[known]), w[outcome_weight[known]],
	    "%s", reason);
}

static void
publish(const struct screen_message *m, const struct msg_dkim_memo *memo,
    struct score *s, const int *w)
{
	s->dkim_done = true;
	s->ndkim = memo->nsigs;
	for (size_t i = 0; i < memo->nsigs; i++) {
		s->dkim[i] = memo->sig[i];
		s->dkim[i].aligned = s->dkim[i].domain[0] != '\0' &&
		    aligned_with_from(m, s->dkim[i].domain);
	}
	if (s->ndkim > 0)
		add_contribution(s, w);
}

/* The memo still holds for this view's answers? false: misses recorded,
 * or the memo is gone. */
static bool
memo_holds(struct msg_dkim_memo *memo, struct dns_view *view, bool *pending)
{
	unsigned char now[32];

	*pending = false;
	if (!memo->valid)
		return false;
	if (!keys_digest(view, memo->key, memo->nkeys, now)) {
		*pending = true;
		return false;
	}
	if (memcmp(now, memo->digest, sizeof(now)) != 0) {
		memo->valid = false;	/* other answers: verify again */
		return false;
	}
	return true;
}

void
check_dkim(const struct screen_env *env, const struct screen_facts *f,
    struct dns_view *view, struct score *s)
{
	const struct screen_message *m = env->msg;
	const int *w = env->cfg->screen.weights;
	bool pending;

	(void)f;
	if (m == NULL)
		return;
	if (m->oversize) {
		s->dkim_done = true;
		score_add(s, screen_weight_name(W_DKIM_PERMERROR), w[W_DKIM_PERMERROR],
		    "header section over the limits: not verified");
		return;
	}
	if (msg_field_count(m, SIG_FIELD) == 0) {
		s->dkim_done = true;
		score_add(s, screen_weight_name(W_DKIM_NONE), w[W_DKIM_NONE], "dkim=none");
		return;
	}
	if (!memo_holds(m->dkim_memo, view, &pending)) {
		if (pending || verify(m, view, m->dkim_memo) == VERIFY_PENDING)
			return;
	}
	publish(m, m->dkim_memo, s, w);
}
