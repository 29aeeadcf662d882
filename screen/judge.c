/*
 * screen/judge.c - one verdict per recipient: evaluate, apply the
 * thresholds, greylist the grey zone, log and remember.
 *
 * Owns: the questions in flight (req_id -> evaluation) and the verdict
 * line, whose format is stable: fail2ban (conf/fail2ban/) and `mxctl why`
 * read it. Why greylisting lives here and not in a check: it is not a sign
 * of spam but a consequence of the score, and the only step with a side
 * effect (the memory), so it runs once, after the last round.
 *
 * At the end of DATA a message the checks accept is handed to the content
 * scanners when any is configured (screen/scanner.h), with the
 * Authentication-Results it will get and without the forged ones, and
 * their findings enter the same score: a virus answers 554 5.7.1, a
 * scanner that failed 451 4.7.1 - never accepted unscanned.
 *
 * The reply text smtpd sends is the same for every reason; only the ref
 * in it leads an admin to this line. A DNSWL-listed client and a sender
 * whose SPF passed are greylisted by what identifies them best: a listed
 * client is never delayed, and an SPF-passing sender is greylisted by its
 * domain, so a big provider that retries from another address of its SPF
 * set is not sent back to the start.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authres.h"
#include "config.h"
#include "judge.h"
#include "message.h"
#include "log.h"
#include "recall.h"
#include "role.h"
#include "scanner.h"
#include "util.h"

const screen_check_fn judge_checks[] = {
	check_behaviour, check_client, check_helo, check_lists, check_sender,
	check_spf,
};
const size_t judge_nchecks = sizeof(judge_checks) / sizeof(judge_checks[0]);

/* At the end of DATA: the same, then the message's own (check_spf first:
 * DMARC aligns on its result). */
const screen_check_fn judge_message_checks[] = {
	check_behaviour, check_client, check_helo, check_lists, check_sender,
	check_spf, check_dkim, check_dmarc, check_headers,
};
const size_t judge_message_nchecks =
    sizeof(judge_message_checks) / sizeof(judge_message_checks[0]);

struct question {
	TAILQ_ENTRY(question)	 entry;
	uint64_t		 req_id;	/* 0 for a hint */
	struct screen_facts	 facts;
	struct eval		*eval;
	struct screen_env	 env;		/* its own: a message's env has msg */
	struct screen_message	*msg;		/* end of DATA only */
	int			 fd;		/* the message, -1 if none */
	struct scanner_job	*scan;		/* scanners asked, or NULL */
	struct eval_result	*checked;	/* while scanning: the checks' result */
	char			(*rcpt)[ADDR_MAX + 1];	/* end of DATA: every
						 * recipient (malloc'd) */
	unsigned		 nrcpt;
};

static TAILQ_HEAD(, question)	questions = TAILQ_HEAD_INITIALIZER(questions);
static size_t			nhints;
static struct judge_setup	J;
static struct dnsbl_health	health;
static struct screen_env	env = { NULL, &health };

void
judge_init(const struct judge_setup *s)
{
	J = *s;
	dnsbl_health_init(&health);
}

const struct screen_env *
judge_env(void)
{
	env.cfg = role_config();	/* a reload replaces it */
	return &env;
}

void
judge_reload(void)
{
	dnsbl_health_init(&health);
}

void
judge_log_list_changes(void)
{
	const struct screen_config *sc = &role_config()->screen;
	enum list_state from, to;
	size_t i;
	bool ipv6;

	while (dnsbl_health_change(&health, &i, &ipv6, &from, &to))
		if (i < sc->nlists)
			log_event("dnsbl_state", "zone=%s points=%s from=%s to=%s%s",
			    sc->lists[i].zone, ipv6 ? "ipv6" : "ipv4",
			    list_state_name(from), list_state_name(to),
			    to == LIST_HEALTHY || to == LIST_UNKNOWN ? "" :
			    " action=ignored");
}

static const char *
action_name(enum screen_action a)
{
	switch (a) {
	case SCREEN_ACCEPT:	return "accept";
	case SCREEN_GREYLIST:	return "greylist";
	case SCREEN_TEMPFAIL:	return "tempfail";
	case SCREEN_REJECT:	return "reject";
	}
	return "?";
}

static const char *
reply_code(enum screen_reply r)
{
	switch (r) {
	case SCREEN_REPLY_OK:		return "250 2.1.5";
	case SCREEN_REPLY_GREYLIST:	return "451 4.7.1";
	case SCREEN_REPLY_TEMPFAIL:	return "451 4.7.1";
	case SCREEN_REPLY_DNS_TEMPFAIL:	return "451 4.4.3";
	case SCREEN_REPLY_REJECT:	return "550 5.7.1";
	case SCREEN_REPLY_SPF_REJECT:	return "550 5.7.23";
	case SCREEN_REPLY_VIRUS:	return "554 5.7.1";
	case SCREEN_REPLY_USER_UNKNOWN:	return "550 5.1.1";
	}
	return "?";
}

static struct score_thresholds
thresholds(const struct screen_config *sc)
{
	return (struct score_thresholds){ sc->greylist_score, sc->tempfail_score,
	    sc->reject_score, sc->spf_fail_reject != 0, sc->dmarc_reject != 0 };
}

/* The grey zone: delay the first attempt, unless the client is known. */
static const char *
judge_greylist(const struct config *c, const struct screen_facts *f,
    const struct score *s, struct screen_memory *m, bool peek, time_t now,
    enum screen_action *a, enum screen_reply *r)
{
	char source[MEMORY_SOURCE_MAX + 1];
	enum grey_decision d;
	time_t retry;

	if (s->allow_listed) {
		*a = SCREEN_ACCEPT;
		*r = SCREEN_REPLY_OK;
		return "dnswl";
	}
	if (m == NULL)
		return "error";	/* stays a 451: we cannot tell a retry */
	memory_source(f->client_ip, s->spf_pass_domain[0] ? s->spf_pass_domain : NULL,
	    source, sizeof(source));
	alarm(MEMORY_WATCHDOG_SECONDS);	/* screen.c: a hung call ends the role */
	d = peek ? memory_greylist_peek(m, &c->screen, source, f->mail_from, f->rcpt, now) :
	    memory_greylist(m, &c->screen, source, f->mail_from, f->rcpt, now, &retry);
	alarm(0);
	if (d == GREY_PASSED || d == GREY_KNOWN) {
		*a = SCREEN_ACCEPT;
		*r = SCREEN_REPLY_OK;
	}
	return grey_decision_name(d);
}

/* What the verdict line says besides the score. */
struct judge_outcome {
	enum screen_action	 action;
	enum screen_reply	 reply;
	const char		*grey;		/* greylist= */
	const char		*dns;		/* dns= */
	char			 override[160];	/* "" or "override=... " */
};

/* The memory's items (screen/recall.h), read under the watchdog. */
static enum recall_override
judge_recall_score(const struct config *c, const struct screen_facts *f,
    struct screen_memory *m, time_t now, struct score *s)
{
	enum recall_override o;

	alarm(MEMORY_WATCHDOG_SECONDS);
	o = recall_score(c, f, m, now, s);
	alarm(0);
	return o;
}

/* The thresholds, DNS trouble, the memory (remembered spam, a bounce of
 * our own mail) and the greylist decide the action; s starts as the
 * checks' score and gets the memory's items. */
static void
judge_action(const struct config *c, const struct screen_facts *f,
    const struct eval_result *res, struct score *s, struct screen_memory *m,
    bool peek, time_t now, struct judge_outcome *o)
{
	struct score_thresholds t = thresholds(&c->screen);
	enum recall_override recalled;

	memset(o, 0, sizeof(*o));
	o->grey = "-";
	o->dns = "complete";
	recalled = judge_recall_score(c, f, m, now, s);
	score_verdict(s, &t, &o->action, &o->reply);
	if (!res->complete) {
		/* the rounds ran out: we do not know enough, come back later */
		o->action = SCREEN_TEMPFAIL;
		o->reply = SCREEN_REPLY_DNS_TEMPFAIL;
		o->dns = "incomplete";
	} else if (res->gave_up)
		o->dns = "gave_up";
	recall_apply(recalled, &o->action, &o->reply);
	if (o->action == SCREEN_GREYLIST && f->stage == SCREEN_STAGE_MESSAGE) {
		/* greylisting happened at RCPT; a grey message is delivered */
		o->action = SCREEN_ACCEPT;
		o->reply = SCREEN_REPLY_OK;
		o->grey = "at_rcpt";
	} else if (o->action == SCREEN_GREYLIST)
		o->grey = judge_greylist(c, f, s, m, peek, now, &o->action, &o->reply);
}

/* Replaces the action; why (a few key=value words) goes into the line. */
static void
judge_override(struct judge_outcome *o, enum screen_action a, enum screen_reply r,
    const char *why)
{
	o->action = a;
	o->reply = r;
	snprintf(o->override, sizeof(o->override), "override=%s ", why);
}

static void
judge_format(const struct screen_facts *f, const struct score *s,
    const struct judge_outcome *o, struct screen_verdict *v, char *line,
    size_t linesize)
{
	char checks[1024], esc_from[LOG_ESCAPE_MAX], esc_to[LOG_ESCAPE_MAX];
	char esc_helo[LOG_ESCAPE_MAX];

	memset(v, 0, sizeof(*v));
	v->action = (uint8_t)o->action;
	v->reply = (uint8_t)o->reply;
	v->score = score_total(s);
	snprintf(v->ref, sizeof(v->ref), "%s-%u", f->sess, f->rcpt_seq);
	score_format(s, checks, sizeof(checks));
	/* ip= last: fail2ban anchors on the end of the line, where no client
	 * text can follow it */
	snprintf(line, linesize, "sess=%s ref=%s stage=%s from=<%s> to=<%s> helo=\"%s\" "
	    "ptr=%s score=%d verdict=%s reply=\"%s\" greylist=%s dns=%s checks=\"%s\" "
	    "%sip=%s",
	    f->sess, v->ref, f->stage == SCREEN_STAGE_MESSAGE ? "message" : "rcpt",
	    log_escape(esc_from, sizeof(esc_from), f->mail_from, strlen(f->mail_from)),
	    log_escape(esc_to, sizeof(esc_to), f->rcpt, strlen(f->rcpt)),
	    log_escape(esc_helo, sizeof(esc_helo), f->helo, strlen(f->helo)),
	    s->ptr[0] ? s->ptr : "-", v->score, action_name(o->action), reply_code(o->reply),
	    o->grey, o->dns, checks, o->override, f->client_ip);
}

void
judge_decide(const struct config *c, const struct screen_facts *f,
    const struct eval_result *res, struct screen_memory *m, bool peek,
    time_t now, struct screen_verdict *v, char *line, size_t linesize)
{
	static struct score s;	/* 13 KiB: the checks' score and the memory's */
	struct judge_outcome o;

	s = res->score;
	judge_action(c, f, res, &s, m, peek, now, &o);
	judge_format(f, &s, &o, v, line, linesize);
}

/* ---- questions in flight ------------------------------------------------- */

static void
question_free(struct question *q)
{
	TAILQ_REMOVE(&questions, q, entry);
	if (q->req_id == 0)
		nhints--;
	eval_cancel(q->eval);
	scanner_cancel(q->scan);
	free(q->checked);
	screen_message_free(q->msg);
	if (q->fd != -1)
		close(q->fd);
	free(q->rcpt);
	free(q);
}

/* Logs the verdict line and keeps it for `mxctl why`. */
static void
judge_record(const struct screen_verdict *v, const char *line, time_t now)
{
	log_event("verdict", "%s", line);
	alarm(MEMORY_WATCHDOG_SECONDS);
	if (J.memory != NULL && memory_put_verdict(J.memory, v->ref, now, line) == -1)
		log_debug("screen: verdict %s not recorded", v->ref);
	alarm(0);
}

static void
judge_answer(const struct screen_facts *f, uint64_t req_id,
    const struct eval_result *res)
{
	const struct config *c = role_config();
	struct screen_verdict v;
	char line[JUDGE_LINE_MAX];
	time_t now = J.now();

	judge_decide(c, f, res, J.memory, false, now, &v, line, sizeof(line));
	judge_record(&v, line, now);
	alarm(MEMORY_WATCHDOG_SECONDS);
	recall_learn_rcpt(c, f, J.memory, now);	/* a backscatter source */
	alarm(0);
	J.answer(req_id, &v);
}

/*
 * An accepted message gets our Authentication-Results first and loses
 * the fields that claim to be ours (RFC 8601 5); the queue does both
 * before anything else reads it. A message with more such fields than a
 * verdict can carry is refused instead: nobody sends that many honestly.
 */
static bool
message_extras(const struct config *c, const struct screen_facts *f,
    const struct screen_message *msg, const struct eval_result *res,
    struct screen_message_verdict *mv)
{
	struct authres_range r[SCREEN_STRIP_MAX + 1];
	size_t n;

	if (authres_format(c->hostname, f, &res->score, mv->prepend,
	    sizeof(mv->prepend)) < 0)
		mv->prepend[0] = '\0';	/* cannot happen: it fits by design */
	n = authres_find_ours(msg, c->hostname, r, SCREEN_STRIP_MAX + 1);
	if (n > SCREEN_STRIP_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (r[i].off > UINT32_MAX || r[i].len > UINT32_MAX)
			return false;
		mv->strip[i] = (struct byte_range){ (uint32_t)r[i].off, (uint32_t)r[i].len };
	}
	mv->nstrip = (unsigned)n;
	return true;
}

/* A message that passed with an aligned signature or SPF: its source need
 * not be greylisted again (screen/memory.h, passed sources). */
static void
judge_learn(const struct question *q, const struct score *s, time_t now)
{
	char source[MEMORY_SOURCE_MAX + 1];

	if (!s->auth_aligned || J.memory == NULL)
		return;
	memory_source(q->facts.client_ip, s->spf_pass_domain[0] ? s->spf_pass_domain :
	    NULL, source, sizeof(source));
	alarm(MEMORY_WATCHDOG_SECONDS);
	if (memory_note_passed(J.memory, source, now) == -1)
		log_debug("screen: source %s not remembered", source);
	alarm(0);
}

/* A scanner's finding overrides the score: a virus is refused whatever the
 * total, and a message that would be accepted but was not fully scanned
 * waits for a retry (never accepted unscanned). */
static void
scan_override(const struct scan_findings *fnd, struct judge_outcome *o)
{
	char why[140], esc[LOG_ESCAPE_MAX];

	if (fnd->virus) {
		snprintf(why, sizeof(why), "virus virus=\"%.100s\"",
		    log_escape(esc, sizeof(esc), fnd->virus_name, strlen(fnd->virus_name)));
		judge_override(o, SCREEN_REJECT, SCREEN_REPLY_VIRUS, why);
	} else if (fnd->tempfail && o->action == SCREEN_ACCEPT) {
		snprintf(why, sizeof(why), "tempfail scanners=%s", fnd->tempfail_scanners);
		judge_override(o, SCREEN_TEMPFAIL, SCREEN_REPLY_TEMPFAIL, why);
	}
}

void
judge_decide_message(const struct config *c, const struct screen_facts *f,
    const struct screen_message *msg, const struct eval_result *res,
    struct screen_memory *mem, bool peek, time_t now, const struct scan_findings *fnd,
    struct screen_message_verdict *mv, char *line, size_t linesize)
{
	static struct score s;	/* the checks' score and the memory's */
	struct judge_outcome o;

	memset(mv, 0, sizeof(*mv));
	s = res->score;
	judge_action(c, f, res, &s, mem, peek, now, &o);
	if (o.action == SCREEN_ACCEPT && msg != NULL && !message_extras(c, f, msg, res, mv))
		judge_override(&o, SCREEN_REJECT, SCREEN_REPLY_REJECT, "reject reason=authres_flood");
	if (fnd != NULL)
		scan_override(fnd, &o);
	if (o.action != SCREEN_ACCEPT) {
		mv->prepend[0] = '\0';		/* nothing is added to a refused message */
		mv->nstrip = 0;
	}
	judge_format(f, &s, &o, &mv->v, line, linesize);
}

/* The verdict is final: log it, remember it, teach the greylist, answer. */
static void
judge_send_message_verdict(const struct question *q, const struct eval_result *res,
    struct screen_message_verdict *mv, const char *line, time_t now)
{
	const struct config *c = role_config();

	if (mv->v.action == SCREEN_ACCEPT)
		judge_learn(q, &res->score, now);
	judge_record(&mv->v, line, now);
	alarm(MEMORY_WATCHDOG_SECONDS);
	(void)recall_learn_message(c, &q->facts, J.memory, &mv->v,
	    (const char (*)[ADDR_MAX + 1])q->rcpt, q->nrcpt, now);	/* spam memory */
	alarm(0);
	J.answer_message(q->req_id, mv);
}

static void
judge_scanned(const struct scan_result *results, size_t n, void *arg)
{
	static struct screen_message_verdict mv;
	struct question *q = arg;
	const struct config *c = role_config();
	struct scan_findings fnd;
	char line[JUDGE_LINE_MAX];
	time_t now = J.now();

	q->scan = NULL;		/* the driver frees the job after we return */
	scanner_score(&c->screen.scan, results, n, &q->checked->score, &fnd);
	judge_decide_message(c, &q->facts, q->msg, q->checked, J.memory, false, now, &fnd,
	    &mv, line, sizeof(line));
	judge_send_message_verdict(q, q->checked, &mv, line, now);
	question_free(q);
}

/* Hands an accepted message to the scanners: true if they were started
 * (the question then waits for judge_scanned). */
static bool
judge_scan(struct question *q, const struct eval_result *res,
    const struct screen_message_verdict *mv)
{
	const struct config *c = role_config();
	struct scanner_params p = { J.base, &c->screen.scan, role_chrooted() };
	struct authres_range skip[SCREEN_STRIP_MAX];
	const char *rcpts[SCAN_RCPTS_MAX];
	size_t nrcpts = 0;
	const char *why;

	for (unsigned i = 0; i < mv->nstrip && i < SCREEN_STRIP_MAX; i++)
		skip[i] = (struct authres_range){ mv->strip[i].off, mv->strip[i].len };
	for (unsigned i = 0; i < q->nrcpt && nrcpts < SCAN_RCPTS_MAX; i++)
		rcpts[nrcpts++] = q->rcpt[i];
	if (nrcpts == 0 && q->facts.rcpt[0] != '\0')
		rcpts[nrcpts++] = q->facts.rcpt;
	struct scan_request rq = { q->fd, mv->prepend, strlen(mv->prepend), skip,
	    mv->nstrip, { q->facts.sess, q->facts.qid, q->facts.client_ip, q->facts.helo,
	    res->score.ptr, q->facts.mail_from, rcpts, nrcpts, c->hostname } };
	q->checked = xmalloc(sizeof(*q->checked));
	*q->checked = *res;
	if ((q->scan = scanner_start(&p, &rq, judge_scanned, q, &why)) == NULL) {
		log_warnx("screen: sess=%s qid=%s: the scanners cannot be asked: %s",
		    q->facts.sess, q->facts.qid, why);
		free(q->checked);
		q->checked = NULL;
		return false;
	}
	return true;
}

/* Returns true if the question waits for the scanners (not answered yet). */
static bool
judge_answer_message(struct question *q, const struct eval_result *res)
{
	static struct screen_message_verdict mv;	/* 5 KiB */
	const struct config *c = role_config();
	char line[JUDGE_LINE_MAX];
	time_t now = J.now();

	judge_decide_message(c, &q->facts, q->msg, res, J.memory, false, now, NULL, &mv,
	    line, sizeof(line));
	if (mv.v.action == SCREEN_ACCEPT && q->msg != NULL &&
	    scan_config_any(&c->screen.scan)) {
		if (judge_scan(q, res, &mv))
			return true;
		struct scan_findings fnd = { .tempfail = true };
		snprintf(fnd.tempfail_scanners, sizeof(fnd.tempfail_scanners), "all");
		judge_decide_message(c, &q->facts, q->msg, res, J.memory, false, now, &fnd,
		    &mv, line, sizeof(line));
	}
	judge_send_message_verdict(q, res, &mv, line, now);
	return false;
}

static void
question_done(const struct eval_result *res, void *arg)
{
	struct question *q = arg;

	q->eval = NULL;	/* finishing: eval frees itself */
	if (q->req_id != 0 && q->facts.stage == SCREEN_STAGE_MESSAGE) {
		if (judge_answer_message(q, res))
			return;		/* the scanners have it now */
	} else if (q->req_id != 0)
		judge_answer(&q->facts, q->req_id, res);
	question_free(q);
	judge_log_list_changes();	/* a list may have refused us just now */
}

/* Mail from our own networks skips every network check. */
static bool
judge_trusted(const struct screen_facts *f, struct eval_result *res)
{
	const struct config *c = role_config();

	if (!screen_ip_trusted(&c->screen, f->client_ip))
		return false;
	memset(res, 0, sizeof(*res));
	score_add(&res->score, screen_weight_name(W_TRUSTED_NETWORK),
	    c->screen.weights[W_TRUSTED_NETWORK], "trusted_networks");
	res->complete = true;
	return true;
}

/* The message's recipients stay with its question (the spam memory). */
static void
question_keep_rcpts(struct question *q, const char (*rcpt)[ADDR_MAX + 1],
    unsigned nrcpt)
{
	if (nrcpt == 0)
		return;
	q->rcpt = xcalloc(nrcpt, sizeof(*q->rcpt));
	memcpy(q->rcpt, rcpt, nrcpt * sizeof(*q->rcpt));
	q->nrcpt = nrcpt;
}

/* Takes fd (the message, or -1) and msg: the question owns them now; the
 * recipients (end of DATA) are copied. The evaluation may finish (and free
 * the question) before this returns. */
static void
question_start(const struct screen_facts *f, uint64_t req_id, int fd,
    struct screen_message *msg, const char (*rcpt)[ADDR_MAX + 1], unsigned nrcpt)
{
	const struct config *c = role_config();
	struct question *q = xcalloc(1, sizeof(*q));
	struct eval_params p = { &q->env, judge_checks, judge_nchecks, J.cache,
	    J.fetch, J.base, c->screen.dns_timeout * 1000 };

	q->req_id = req_id;
	q->facts = *f;
	q->fd = fd;
	q->msg = msg;
	q->env = *judge_env();
	q->env.msg = msg;
	if (msg != NULL) {
		p.checks = judge_message_checks;
		p.nchecks = judge_message_nchecks;
	}
	question_keep_rcpts(q, rcpt, nrcpt);
	TAILQ_INSERT_TAIL(&questions, q, entry);
	if (req_id == 0)
		nhints++;
	q->eval = eval_start(&p, f, question_done, q);
}

/* Too much in flight: come back later (our trouble, so a 451). */
static bool
judge_overloaded(const struct screen_facts *f, struct screen_verdict *v)
{
	if (eval_count() < JUDGE_EVALS_MAX)
		return false;
	*v = (struct screen_verdict){ SCREEN_TEMPFAIL, SCREEN_REPLY_TEMPFAIL, 0, "" };
	snprintf(v->ref, sizeof(v->ref), "%s-%u", f->sess, f->rcpt_seq);
	log_event("verdict", "sess=%s ref=%s verdict=tempfail reply=\"451 4.7.1\" "
	    "reason=overloaded evaluations=%zu ip=%s", f->sess, v->ref,
	    eval_count(), f->client_ip);
	return true;
}

/* Remembered spam and bounces of our own mail need no checks (no DNS):
 * the verdict comes from the memory and the tag alone. */
static bool
judge_recalled(const struct screen_facts *f, struct eval_result *res)
{
	bool decided;

	alarm(MEMORY_WATCHDOG_SECONDS);
	decided = recall_decides_rcpt(role_config(), f, J.memory, J.now());
	alarm(0);
	if (!decided)
		return false;
	memset(res, 0, sizeof(*res));
	res->complete = true;
	return true;
}

void
judge_ask(const struct screen_facts *f, uint64_t req_id)
{
	static struct eval_result res;	/* a score is 13 KiB */
	struct screen_verdict v;

	if (judge_trusted(f, &res) || judge_recalled(f, &res)) {
		judge_answer(f, req_id, &res);
		return;
	}
	if (judge_overloaded(f, &v)) {
		J.answer(req_id, &v);
		return;
	}
	question_start(f, req_id, -1, NULL, NULL, 0);
}

void
judge_ask_message(const struct screen_facts *f, const char (*rcpt)[ADDR_MAX + 1],
    unsigned nrcpt, int fd, uint64_t req_id)
{
	static struct screen_message_verdict mv;
	static struct eval_result res;
	struct screen_message *msg;
	const char *why;

	memset(&mv, 0, sizeof(mv));
	if (judge_trusted(f, &res)) {
		close(fd);
		struct question q = { .facts = *f, .req_id = req_id, .fd = -1 };
		(void)judge_answer_message(&q, &res);	/* accept, nothing added */
		return;
	}
	if (judge_overloaded(f, &mv.v)) {
		close(fd);
		J.answer_message(req_id, &mv);
		return;
	}
	if ((msg = screen_message_open(fd, &why)) == NULL) {
		close(fd);
		log_warnx("screen: sess=%s qid=%s: cannot read the message: %s", f->sess,
		    f->qid, why);
		mv.v = (struct screen_verdict){ SCREEN_TEMPFAIL, SCREEN_REPLY_TEMPFAIL, 0, "" };
		snprintf(mv.v.ref, sizeof(mv.v.ref), "%s-%u", f->sess, f->rcpt_seq);
		J.answer_message(req_id, &mv);
		return;
	}
	question_start(f, req_id, fd, msg, rcpt, nrcpt);
}

void
judge_hint(const struct screen_facts *f)
{
	const struct config *c = role_config();

	if (f->stage == SCREEN_STAGE_DATA) {
		alarm(MEMORY_WATCHDOG_SECONDS);
		if (J.memory != NULL && memory_put_qid(J.memory, f->qid, f->sess, J.now()) == -1)
			log_debug("screen: queue id %s not recorded", f->qid);
		alarm(0);
		return;
	}
	/* prefetching is a favour: never at the cost of a question */
	if (screen_ip_trusted(&c->screen, f->client_ip) || nhints >= JUDGE_HINTS_MAX ||
	    eval_count() >= JUDGE_EVALS_MAX / 2)
		return;
	question_start(f, 0, -1, NULL, NULL, 0);
}

void
judge_forget_all(void)
{
	struct question *q;

	while ((q = TAILQ_FIRST(&questions)) != NULL)
		question_free(q);
}
