/*
 * lookup/resolve.c - the recipient-resolution rules (see resolve.h).
 *
 * Owns: the order of the rules and the mapping of store results to a
 * verdict. Pure apart from its store reads and its warnings about broken
 * aliases: the unit test runs it against a real temporary store. Why one
 * snapshot per question: the answer is consistent with one committed state
 * of the store, and a reader never waits for mxctl (or for a dead mxctl).
 */
#include <stdio.h>
#include <string.h>

#include "addr_intl.h"
#include "log.h"
#include "resolve.h"
#include "util.h"

const char *
resolve_verdict_name(enum resolve_verdict v)
{
	switch (v) {
	case RESOLVE_LOCAL:		return "local";
	case RESOLVE_UNKNOWN_USER:	return "unknown_user";
	case RESOLVE_NOT_LOCAL:		return "not_local";
	case RESOLVE_BLOCKED:		return "blocked";
	case RESOLVE_TEMPFAIL:		return "tempfail";
	}
	return "invalid";
}

/* One question: the folded address and its two halves. */
struct question {
	char	full[ADDR_MAX + 1];
	char	local[ADDR_MAX + 1];
	char	domain[ADDR_MAX + 1];
};

/*
 * The key of a local part: folded as every store key is (lowercase in any
 * script, NFC: addr_local_fold), so JÜRGEN@ finds jürgen@ as KIM@ finds
 * kim@. A local part that does not fold within bounds (not clean UTF-8, or
 * grown past 64 octets) is only ASCII-lowercased: no key can match it, and
 * the answer is then "unknown user", not "not local".
 */
static void
question_local(struct question *q, const char *local, size_t len)
{
	int n = addr_local_fold(local, len, q->local, sizeof(q->local));

	if (n >= 0 && (size_t)n <= ADDR_LOCAL_MAX)
		return;
	memcpy(q->local, local, len);
	q->local[len] = '\0';
	str_lower(q->local);
}

static int
question_init(struct question *q, const char *address)
{
	size_t n = strlen(address);
	const char *at = strrchr(address, '@');

	if (n > ADDR_MAX || at == NULL || at == address || at[1] == '\0')
		return -1;
	question_local(q, address, (size_t)(at - address));
	memcpy(q->domain, at + 1, n - (size_t)(at - address));	/* incl. NUL */
	str_lower(q->domain);
	int r = snprintf(q->full, sizeof(q->full), "%s@%s", q->local, q->domain);
	return r < 0 || (size_t)r >= sizeof(q->full) ? -1 : 0;
}

static enum resolve_verdict
tempfail(enum store_status s, enum store_status *worst)
{
	*worst = s;
	return RESOLVE_TEMPFAIL;
}

/* Turns the expansion of `name` into the answer. */
static enum resolve_verdict
answer_mailboxes(const char *name, const struct store_mailboxes *m,
    struct msg_resolve_answer *out)
{
	if (m->too_deep)
		log_warnx("alias %s: chain deeper than %d aliases, the rest is ignored",
		    name, STORE_EXPAND_DEPTH);
	if (m->dangling > 0)
		log_warnx("alias %s: %u targets are neither users nor aliases",
		    name, m->dangling);
	if (m->overflow) {
		/* Temporary: no mail is lost while the admin fixes it. */
		log_warnx("alias %s: reaches more than %d mailboxes", name,
		    IPC_MAX_MAILBOXES);
		return RESOLVE_TEMPFAIL;
	}
	if (m->n == 0) {
		log_warnx("alias %s: reaches no mailbox", name);
		return RESOLVE_UNKNOWN_USER;
	}
	for (unsigned i = 0; i < m->n && i < IPC_MAX_MAILBOXES; i++)
		memcpy(out->mailbox[i], m->box[i], sizeof(out->mailbox[i]));
	out->nmailbox = m->n < IPC_MAX_MAILBOXES ? m->n : IPC_MAX_MAILBOXES;
	return RESOLVE_LOCAL;
}

/*
 * Expands name into out. Returns 1 with *v set if name is a user or an
 * alias, 0 if it is neither, -1 on store trouble (*v = TEMPFAIL).
 */
static int
try_name(struct store_txn *t, const char *name, struct msg_resolve_answer *out,
    enum resolve_verdict *v, enum store_status *worst)
{
	struct store_mailboxes m;
	enum store_status s = store_expand(t, name, &m);

	if (s == STORE_NOTFOUND)
		return 0;
	if (s != STORE_OK) {
		*v = tempfail(s, worst);
		return -1;
	}
	*v = answer_mailboxes(name, &m, out);
	return 1;
}

static enum resolve_verdict
resolve_in_txn(struct store_txn *t, const struct config *cfg,
    const struct question *q, struct msg_resolve_answer *out,
    enum store_status *worst)
{
	struct store_domain dom;
	struct store_block blk;
	char base[ADDR_MAX + 1];
	enum resolve_verdict v;
	enum store_status s;

	/* 1. ours at all? */
	s = store_get_domain(t, q->domain, &dom);
	if (s != STORE_OK && s != STORE_NOTFOUND)
		return tempfail(s, worst);
	bool in_store = s == STORE_OK;
	if (!in_store && !config_has_domain(cfg, q->domain))
		return RESOLVE_NOT_LOCAL;
	/* 2. a burnt subaddress */
	if ((s = store_get_block(t, q->full, &blk)) == STORE_OK)
		return RESOLVE_BLOCKED;
	if (s != STORE_NOTFOUND)
		return tempfail(s, worst);
	/* 3. exact user or alias */
	if (try_name(t, q->full, out, &v, worst) != 0)
		return v;
	/* 4. subaddress, longest base first */
	s = store_find_base(t, q->local, q->domain, cfg->subaddress_delimiters,
	    base, sizeof(base));
	if (s == STORE_OK && try_name(t, base, out, &v, worst) != 0)
		return v;
	if (s != STORE_OK && s != STORE_NOTFOUND)
		return tempfail(s, worst);
	/* 5. catch-all */
	if (in_store && dom.catchall[0] != '\0') {
		if (try_name(t, dom.catchall, out, &v, worst) != 0)
			return v;
		log_warnx("domain %s: catch-all %s is neither a user nor an alias",
		    q->domain, dom.catchall);
	}
	/* 6. nobody */
	return RESOLVE_UNKNOWN_USER;
}

enum resolve_verdict
resolve_address(struct store *st, const struct config *cfg,
    const char *address, struct msg_resolve_answer *out,
    enum store_status *store_status)
{
	struct question q;
	struct store_txn *t;
	enum store_status s;

	out->nmailbox = 0;
	*store_status = STORE_OK;
	if (question_init(&q, address) == -1)
		out->verdict = RESOLVE_NOT_LOCAL;	/* not an address of ours */
	else if ((s = store_begin_read(st, &t)) != STORE_OK)
		out->verdict = tempfail(s, store_status);
	else {
		out->verdict = resolve_in_txn(t, cfg, &q, out, store_status);
		store_abort(t);		/* read-only: nothing to commit */
	}
	if (out->verdict != RESOLVE_LOCAL)
		out->nmailbox = 0;
	return out->verdict;
}
