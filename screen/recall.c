/*
 * screen/recall.c - the spam memory, own bounces and backscatter around
 * the checks (screen/recall.h has the rules and the reasons).
 *
 * Owns: the decisions only; the records are screen/memory_recall.c's.
 * Why not a check of screen/checks.h: a check is a pure function of the
 * facts and DNS, run again every round; these read (and after the verdict
 * write) the memory, once per question.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "recall.h"

#define DSN_LOCAL	"mailer-daemon@"	/* RFC 5321 4.5.5 asks for <>, some use this */

static bool
trusted(const struct config *c, const struct screen_facts *f)
{
	return screen_ip_trusted(&c->screen, f->client_ip);
}

bool
recall_is_bounce_sender(const struct screen_facts *f)
{
	return (f->flags & SCREEN_FACT_NULL_SENDER) || f->mail_from[0] == '\0' ||
	    strncasecmp(f->mail_from, DSN_LOCAL, sizeof(DSN_LOCAL) - 1) == 0;
}

static bool
own_bounce(const struct screen_facts *f)
{
	return f->bounce_tag == SCREEN_TAG_VALID && recall_is_bounce_sender(f);
}

static bool
backscatter(const struct screen_facts *f)
{
	return (f->bounce_tag == SCREEN_TAG_BAD || f->bounce_tag == SCREEN_TAG_UNTAGGED) &&
	    recall_is_bounce_sender(f);
}

/* 1 remembered spam (ref filled), 0 not, -1 trouble (logged, not fatal). */
static int
spam_recalled(const struct config *c, const struct screen_facts *f,
    struct screen_memory *m, time_t now, char *ref, size_t refsize)
{
	char net[MEMORY_SOURCE_MAX + 1];

	if (m == NULL || f->stage != SCREEN_STAGE_RCPT || c->screen.spam_memory_time == 0)
		return 0;
	memory_source(f->client_ip, NULL, net, sizeof(net));
	return memory_spam_recall(m, &c->screen, net, f->mail_from, f->rcpt, now, ref,
	    refsize);
}

bool
recall_decides_rcpt(const struct config *c, const struct screen_facts *f,
    struct screen_memory *m, time_t now)
{
	char ref[SCREEN_REF_MAX + 1];

	if (f->stage != SCREEN_STAGE_RCPT || trusted(c, f))
		return false;
	return own_bounce(f) || spam_recalled(c, f, m, now, ref, sizeof(ref)) == 1;
}

enum recall_override
recall_score(const struct config *c, const struct screen_facts *f,
    struct screen_memory *m, time_t now, struct score *s)
{
	const int *w = c->screen.weights;
	char ref[SCREEN_REF_MAX + 1], bsource[MEMORY_SOURCE_MAX + 1];

	if (trusted(c, f))
		return RECALL_NONE;
	if (own_bounce(f)) {
		score_add(s, screen_weight_name(W_BOUNCE_TAG_VALID), w[W_BOUNCE_TAG_VALID],
		    "a bounce to a tag we made");
		return RECALL_OWN_BOUNCE;
	}
	if (spam_recalled(c, f, m, now, ref, sizeof(ref)) == 1) {
		char name[SCORE_NAME_MAX + 1];
		snprintf(name, sizeof(name), "spam_memory:%s", ref[0] ? ref : "-");
		score_add(s, name, 0, "this client network, sender and recipient sent spam");
		return RECALL_SPAM;
	}
	if (backscatter(f))
		score_add(s, screen_weight_name(W_BACKSCATTER), w[W_BACKSCATTER],
		    f->bounce_tag == SCREEN_TAG_BAD ? "a bounce to a tag we did not make" :
		    "a bounce to an untagged address");
	memory_backscatter_source(f->client_ip, bsource, sizeof(bsource));
	if (m != NULL && memory_backscatter_recall(m, &c->screen, bsource, now) == 1)
		score_add(s, screen_weight_name(W_BACKSCATTER_SOURCE),
		    w[W_BACKSCATTER_SOURCE], "%s sent backscatter lately", bsource);
	return RECALL_NONE;
}

void
recall_apply(enum recall_override o, enum screen_action *a, enum screen_reply *r)
{
	switch (o) {
	case RECALL_NONE:
		return;
	case RECALL_SPAM:
		*a = SCREEN_REJECT;
		*r = SCREEN_REPLY_USER_UNKNOWN;
		return;
	case RECALL_OWN_BOUNCE:
		if (*r == SCREEN_REPLY_VIRUS)
			return;		/* a virus is refused even in a bounce */
		*a = SCREEN_ACCEPT;
		*r = SCREEN_REPLY_OK;
		return;
	}
}

void
recall_learn_rcpt(const struct config *c, const struct screen_facts *f,
    struct screen_memory *m, time_t now)
{
	char bsource[MEMORY_SOURCE_MAX + 1];

	if (m == NULL || f->stage != SCREEN_STAGE_RCPT || trusted(c, f) ||
	    !backscatter(f) || c->screen.weights[W_BACKSCATTER] <= 0)
		return;
	memory_backscatter_source(f->client_ip, bsource, sizeof(bsource));
	if (memory_note_backscatter(m, &c->screen, bsource, now) == 0)
		log_event("backscatter_source", "sess=%s source=%s until=%lld", f->sess,
		    bsource, (long long)now + c->screen.backscatter_memory_time);
}

/* Spam by the screen's own measure: the score, or a virus. */
static bool
refused_as_spam(const struct config *c, int total, enum screen_action a,
    enum screen_reply r)
{
	if (a != SCREEN_REJECT)
		return false;
	return r == SCREEN_REPLY_VIRUS ||
	    (r == SCREEN_REPLY_REJECT && total >= c->screen.reject_score);
}

unsigned
recall_learn_message(const struct config *c, const struct screen_facts *f,
    struct screen_memory *m, const struct screen_verdict *v,
    const char (*rcpt)[ADDR_MAX + 1], unsigned nrcpt, time_t now)
{
	char net[MEMORY_SOURCE_MAX + 1], esc[LOG_ESCAPE_MAX];
	unsigned n = 0;

	if (m == NULL || c->screen.spam_memory_time == 0 || trusted(c, f) ||
	    !refused_as_spam(c, v->score, (enum screen_action)v->action,
	    (enum screen_reply)v->reply))
		return 0;
	memory_source(f->client_ip, NULL, net, sizeof(net));
	for (unsigned i = 0; i < nrcpt; i++)
		if (memory_note_spam(m, &c->screen, net, f->mail_from, rcpt[i], now,
		    v->ref) == 0)
			n++;
	log_event("spam_memory", "sess=%s ref=%s source=%s from=<%s> recipients=%u "
	    "remembered=%u until=%lld", f->sess, v->ref, net,
	    log_escape(esc, sizeof(esc), f->mail_from, strlen(f->mail_from)), nrcpt, n,
	    (long long)now + c->screen.spam_memory_time);
	return n;
}
