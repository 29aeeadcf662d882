/*
 * queue/admin.c - the queue's answers to `mxctl queue ...`, `mxctl
 * status` and the queue's counters, asked through homemxd (lib/ipc_ctl.h).
 *
 * Owns: the rules of the admin's actions on a message, and nothing else:
 * the messages stay the scheduler's (sched.c), which does each change.
 * A message with a round, a DSN or a signing under way is not idle: every
 * action on it is refused (CTL_BUSY, nothing changed) rather than racing
 * the round; the admin asks again a moment later. A hold or a release is
 * answered only once the envelope is on disk (the group flush of
 * batch.c), so "held" means it survives a restart. Bounce writes the
 * sender a DSN with the existing code (bounce.c), and only where a DSN is
 * allowed at all (submitted mail with a real sender): a port 25 message
 * is never bounced, as everywhere in homemx (it would be backscatter).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "admin.h"
#include "log.h"
#include "metrics.h"
#include "qmsg.h"
#include "role.h"
#include "sched.h"
#include "spool.h"
#include "util.h"

#define STATUS_GROUPS_MAX	64	/* (destination, reason) pairs shown */

static struct ctl_writer	w;	/* 65 KB: not on the stack */

static void
answer(uint64_t req_id, enum ctl_status st, const char *text)
{
	role_ctl_writer(&w, req_id);
	ctl_writer_finish(&w, st, text);
}

static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : addr;
}

static bool
has_rcpt_in(const struct qmsg *m, const char *domain)
{
	for (unsigned i = 0; i < m->env.nrcpt; i++)
		if (strcasecmp(domain_of(m->env.rcpt[i]), domain) == 0)
			return true;
	return false;
}

static const char *
state_of(const struct qmsg *m)
{
	if (m->env.held_since != 0)
		return "held";
	if (!sched_is_idle(m))
		return "active";
	if (m->env.hold == ENVELOPE_HOLD_DKIM)
		return "signing";
	return m->env.attempts > 0 || m->env.last_error[0] != '\0' ? "deferred" : "queued";
}

static bool
is_deferred(const struct qmsg *m)
{
	return strcmp(state_of(m), "deferred") == 0;
}

/* ---- list and show -------------------------------------------------------- */

static void
write_message(const struct qmsg *m, bool details)
{
	off_t size = m->env.has_body_size ? (off_t)m->env.body_size :
	    spool_body_size(m->env.id);

	ctl_rec_begin(&w);
	ctl_field_text(&w, "id", m->env.id);
	ctl_field_text(&w, "state", state_of(m));
	ctl_field_u64(&w, "arrival", m->env.arrival);
	ctl_field_u64(&w, "size", size > 0 ? (uint64_t)size : 0);
	ctl_field_text(&w, "sender", m->env.sender);
	ctl_field_u64(&w, "attempts", m->env.attempts);
	ctl_field_u64(&w, "next_attempt", m->env.held_since != 0 ? 0 : m->env.next_attempt);
	ctl_field_text(&w, "last_error", m->env.last_error);
	if (details) {
		ctl_field_text(&w, "source", envelope_source_name(m->env.source));
		ctl_field_text(&w, "client_ip", m->env.client_ip);
		ctl_field_text(&w, "helo", m->env.helo);
		ctl_field_u64(&w, "held_since", m->env.held_since);
	}
	for (unsigned i = 0; i < m->env.nrcpt; i++) {
		ctl_rec_begin(&w);
		ctl_field_text(&w, "rcpt", m->env.rcpt[i]);
	}
}

static void
do_list(const struct msg_ctl_ask *ask, uint64_t req_id)
{
	const char *filter = ask->nargs > 0 ? ask->arg[0] : "";
	unsigned n = 0;

	if ((ask->nargs == 1 && strcmp(filter, "deferred") != 0 &&
	    strcmp(filter, "held") != 0) ||
	    (ask->nargs == 2 && strcmp(filter, "to") != 0) || ask->nargs > 2) {
		answer(req_id, CTL_REFUSED, "queue list [deferred|held|to DOMAIN]");
		return;
	}
	role_ctl_writer(&w, req_id);
	for (struct qmsg *m = sched_first(); m != NULL; m = sched_next(m)) {
		if ((strcmp(filter, "deferred") == 0 && !is_deferred(m)) ||
		    (strcmp(filter, "held") == 0 && m->env.held_since == 0) ||
		    (strcmp(filter, "to") == 0 && !has_rcpt_in(m, ask->arg[1])))
			continue;
		write_message(m, false);
		n++;
	}
	char text[64];
	snprintf(text, sizeof(text), "%u message%s", n, n == 1 ? "" : "s");
	ctl_writer_finish(&w, CTL_OK, text);
}

/* The message named by the first argument, idle unless any_state; else
 * answered (not found, busy) and NULL. */
static struct qmsg *
target(const struct msg_ctl_ask *ask, uint64_t req_id, bool any_state)
{
	struct qmsg *m;
	char text[96];

	if (ask->nargs != 1) {
		answer(req_id, CTL_REFUSED, "a queue id is needed");
		return NULL;
	}
	if ((m = sched_find(ask->arg[0])) == NULL) {
		snprintf(text, sizeof(text), "no message %.20s in the queue", ask->arg[0]);
		answer(req_id, CTL_NOT_FOUND, text);
		return NULL;
	}
	if (!any_state && !sched_is_idle(m)) {
		snprintf(text, sizeof(text), "%s is being delivered or written now: "
		    "nothing was changed, try again", m->env.id);
		answer(req_id, CTL_BUSY, text);
		return NULL;
	}
	return m;
}

static void
do_show(const struct msg_ctl_ask *ask, uint64_t req_id)
{
	struct qmsg *m = target(ask, req_id, true);

	if (m == NULL)
		return;
	role_ctl_writer(&w, req_id);
	write_message(m, true);
	ctl_writer_finish(&w, CTL_OK, "");
}

/* ---- changes -------------------------------------------------------------- */

struct persist_ctx {
	uint64_t	req_id;
	char		text[80];
};

static void
persisted(struct spool_write *sw)
{
	struct persist_ctx *ctx = sw->arg;
	char text[160];

	sched_persisted(sw->id);
	if (sw->error != 0) {
		snprintf(text, sizeof(text), "%s in memory, but not on disk (%s: %s): "
		    "it will not survive a restart", ctx->text, sw->failed_op,
		    strerror(sw->error));
		answer(ctx->req_id, CTL_FAILED, text);
	} else
		answer(ctx->req_id, CTL_OK, ctx->text);
	spool_write_release(sw);
	free(sw);
	free(ctx);
}

static void
persist_then_answer(struct qmsg *m, uint64_t req_id, const char *text)
{
	struct persist_ctx *ctx = xcalloc(1, sizeof(*ctx));

	ctx->req_id = req_id;
	snprintf(ctx->text, sizeof(ctx->text), "%s", text);
	sched_persist(m, persisted, ctx);
}

static void
do_hold(const struct msg_ctl_ask *ask, uint64_t req_id, bool hold)
{
	struct qmsg *m = target(ask, req_id, false);
	char text[80];

	if (m == NULL)
		return;
	if (hold == (m->env.held_since != 0)) {
		snprintf(text, sizeof(text), "%s is %s held", m->env.id, hold ? "already" : "not");
		answer(req_id, hold ? CTL_OK : CTL_REFUSED, text);
		return;
	}
	sched_set_held(m, hold ? (uint64_t)time(NULL) : 0);
	log_event(hold ? "admin_hold" : "admin_release", "qid=%s", m->env.id);
	snprintf(text, sizeof(text), "%s %s", m->env.id, hold ? "held" :
	    "released: delivery is tried now");
	persist_then_answer(m, req_id, text);
}

static void
do_delete(const struct msg_ctl_ask *ask, uint64_t req_id)
{
	struct qmsg *m = target(ask, req_id, false);
	char text[64];

	if (m == NULL)
		return;
	snprintf(text, sizeof(text), "%s deleted", m->env.id);
	sched_delete(m);
	answer(req_id, CTL_OK, text);
}

static void
do_bounce(const struct msg_ctl_ask *ask, uint64_t req_id)
{
	struct qmsg *m = target(ask, req_id, false);
	char text[ADDR_MAX + 96];

	if (m == NULL)
		return;
	snprintf(text, sizeof(text), "%s bounced: a DSN to <%s> is queued", m->env.id,
	    m->env.sender);
	log_event("admin_bounce", "qid=%s", m->env.id);
	if (!sched_bounce(m, "returned by the postmaster without delivery")) {
		answer(req_id, CTL_REFUSED, "no DSN for this message: mail that came in "
		    "on port 25 and bounces themselves are never bounced (queue delete "
		    "removes it)");
		return;
	}
	answer(req_id, CTL_OK, text);
}

static bool
flushable(struct qmsg *m, const char *domain)
{
	return m->env.held_since == 0 && sched_is_idle(m) &&
	    (domain == NULL || has_rcpt_in(m, domain));
}

static void
do_flush(const struct msg_ctl_ask *ask, uint64_t req_id)
{
	const char *domain = NULL;
	unsigned n = 0;
	char text[64];

	if (ask->nargs == 1 && strchr(ask->arg[0], '.') == NULL) {
		struct qmsg *m = target(ask, req_id, false);
		if (m == NULL)
			return;
		if (m->env.held_since != 0) {
			answer(req_id, CTL_REFUSED, "the message is held: release it first");
			return;
		}
		sched_flush_now(m);
		answer(req_id, CTL_OK, "1 message flushed");
		return;
	}
	if (ask->nargs == 1)
		domain = ask->arg[0];
	for (struct qmsg *m = sched_first(); m != NULL; m = sched_next(m))
		if (flushable(m, domain)) {
			sched_flush_now(m);
			n++;
		}
	snprintf(text, sizeof(text), "%u message%s flushed", n, n == 1 ? "" : "s");
	answer(req_id, CTL_OK, text);
}

/* ---- status ------------------------------------------------------------- */

struct group {
	char		domain[ADDR_DOMAIN_MAX + 1];
	char		reason[80];
	unsigned	n;
};

static void
count_deferred(struct group *g, unsigned *ng, const struct qmsg *m)
{
	for (unsigned i = 0; i < m->env.nrcpt; i++) {
		const char *d = domain_of(m->env.rcpt[i]);
		unsigned k;
		for (k = 0; k < *ng; k++)
			if (strcasecmp(g[k].domain, d) == 0 &&
			    strncmp(g[k].reason, m->env.last_error, sizeof(g[k].reason) - 1) == 0)
				break;
		if (k == *ng) {
			if (*ng == STATUS_GROUPS_MAX)
				continue;
			snprintf(g[k].domain, sizeof(g[k].domain), "%s", d);
			snprintf(g[k].reason, sizeof(g[k].reason), "%.79s", m->env.last_error);
			g[k].n = 0;
			(*ng)++;
		}
		g[k].n++;
	}
}

static void
do_status(uint64_t req_id)
{
	static struct group groups[STATUS_GROUPS_MAX];
	unsigned total = 0, deferred = 0, held = 0, ng = 0;

	for (struct qmsg *m = sched_first(); m != NULL; m = sched_next(m)) {
		total++;
		held += m->env.held_since != 0;
		if (is_deferred(m)) {
			deferred++;
			count_deferred(groups, &ng, m);
		}
	}
	role_ctl_writer(&w, req_id);
	ctl_rec_begin(&w);
	ctl_field_text(&w, "section", "queue");
	ctl_field_u64(&w, "messages", total);
	ctl_field_u64(&w, "deferred", deferred);
	ctl_field_u64(&w, "held", held);
	ctl_field_u64(&w, "inflight", sched_inflight());
	for (unsigned k = 0; k < ng; k++) {
		ctl_rec_begin(&w);
		ctl_field_text(&w, "section", "deferred");
		ctl_field_text(&w, "destination", groups[k].domain);
		ctl_field_text(&w, "reason", groups[k].reason);
		ctl_field_u64(&w, "recipients", groups[k].n);
	}
	metrics_write(&w, "queue", true);
	ctl_writer_finish(&w, CTL_OK, "");
}

/* ---- entry points ------------------------------------------------------- */

static void
refresh_gauges(void)
{
	unsigned deferred = 0, held = 0;

	for (struct qmsg *m = sched_first(); m != NULL; m = sched_next(m)) {
		held += m->env.held_since != 0;
		deferred += is_deferred(m);
	}
	metrics_set("homemx_queue_messages", "", sched_queued());
	metrics_set("homemx_queue_messages", "state=\"deferred\"", deferred);
	metrics_set("homemx_queue_messages", "state=\"held\"", held);
}

void
queue_admin_init(void)
{
	metrics_family("homemx_queue_messages", METRIC_GAUGE, 0,
	    "Messages in the queue (no label: all of them).");
	metrics_family("homemx_deliveries_total", METRIC_COUNTER, 0,
	    "Recipients by result of a delivery attempt and destination domain.");
	metrics_family("homemx_commit_seconds", METRIC_HISTOGRAM, 0,
	    "Time from COMMIT to the envelope on disk (the group flush).");
	metrics_on_write(refresh_gauges);
}

void
queue_admin_ask(const struct msg_ctl_ask *ask, uint64_t req_id)
{
	switch (ask->verb) {
	case CTL_STATUS:	do_status(req_id); return;
	case CTL_QUEUE_LIST:	do_list(ask, req_id); return;
	case CTL_QUEUE_SHOW:	do_show(ask, req_id); return;
	case CTL_QUEUE_FLUSH:	do_flush(ask, req_id); return;
	case CTL_QUEUE_DELETE:	do_delete(ask, req_id); return;
	case CTL_QUEUE_HOLD:	do_hold(ask, req_id, true); return;
	case CTL_QUEUE_RELEASE:	do_hold(ask, req_id, false); return;
	case CTL_QUEUE_BOUNCE:	do_bounce(ask, req_id); return;
	case CTL_METRICS:
	case CTL_RELOAD:
	case CTL_LOG_FOLLOW:
		break;
	}
	answer(req_id, CTL_REFUSED, "the queue does not answer that");
}

void
queue_admin_delivery(const char *rcpt, const char *result)
{
	char labels[METRICS_LABELS_MAX] = "";

	metrics_label(labels, sizeof(labels), "result", result);
	metrics_label(labels, sizeof(labels), "destination", domain_of(rcpt));
	metrics_add("homemx_deliveries_total", labels, 1);
}
