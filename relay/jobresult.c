/*
 * relay/jobresult.c - the results side of a job (see jobresult.h).
 *
 * Owns: nothing of its own; it fills the job's per-recipient results
 * (struct job_rcpt) and its last error. A result records whether a
 * server said it (and which: struct job_origin) or the relay found it out
 * itself (a refused connection, DNS, null MX): the queue's DSN must not
 * claim a server answered when none did (RFC 3464 2.3.5, 2.3.6).
 */
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>

#include "attempt.h"
#include "jobresult.h"
#include "log.h"

enum delivery_result
jobresult_of(const struct smtp_reply *r)
{
	if (smtp_reply_is_positive(r))
		return DELIVERY_OK;
	return smtp_reply_is_permanent(r) ? DELIVERY_PERMFAIL : DELIVERY_TEMPFAIL;
}

void
jobresult_origin(const struct client *c, struct job_origin *o)
{
	memset(o, 0, sizeof(*o));
	if (c == NULL)
		return;
	snprintf(o->mx, sizeof(o->mx), "%s", client_host(c));
	snprintf(o->ip, sizeof(o->ip), "%s", client_ip(c));
	o->family = client_family(c);
	o->tls = client_tls_active(c);
}

/*
 * Recipient i is decided by reply r; from (may be NULL) is the session it
 * came from. A server's reply is kept whole and marked answered; our own
 * diagnosis (r->local) loses its made-up reply code, so that the queue
 * and its DSN never mistake it for something a server said.
 */
void
jobresult_set(struct job *j, size_t i, enum delivery_result res,
    const struct smtp_reply *r, const struct job_origin *from)
{
	struct job_rcpt *jr = &j->rcpt[i];

	if (jr->final)
		return;
	jr->final = true;
	jr->result = res;
	snprintf(jr->reply, sizeof(jr->reply), "%s", smtp_reply_diagnosis(r));
	jr->answered = !r->local && from != NULL && from->mx[0] != '\0';
	if (from != NULL)
		jr->from = *from;
	j->npending--;
}

void
jobresult_set_pending(struct job *j, enum delivery_result res, const struct smtp_reply *r,
    const struct job_origin *from)
{
	for (size_t i = 0; i < j->m.nrcpt; i++)
		jobresult_set(j, i, res, r, from);
}

/* r ended an attempt on the session from; the walk goes on. */
void
jobresult_note_error(struct job *j, const struct smtp_reply *r, const struct job_origin *from)
{
	j->last_err = *r;
	j->last_err_from = *from;
	j->have_err = true;
	if (!smtp_reply_is_permanent(r))
		j->any_temp = true;
}

bool
jobresult_v6_policy_reject(const struct client *c, const struct smtp_reply *r)
{
	return client_family(c) == AF_INET6 && smtp_reply_is_policy_reject(r);
}

/* Per recipient: the RCPT reply, then the reply to the message. Returns
 * true if some recipient was refused over IPv6 with 5.7.x and the job can
 * fall back (that recipient stays pending). */
bool
jobresult_from_txn(struct job *j, struct client *c, bool can_fall_back)
{
	struct client_txn *t = &j->txn;
	bool fall_back = false;
	struct job_origin from;

	jobresult_origin(c, &from);
	for (size_t k = 0; k < t->nrcpt; k++) {
		size_t i = j->txn_map[k];
		const struct smtp_reply *r = &t->rcpt_reply[k];
		if (!smtp_reply_is_positive(r)) {
			if (r->code == 0)
				continue;	/* never answered: stays pending */
			if (can_fall_back && jobresult_v6_policy_reject(c, r))
				fall_back = true;
			else
				jobresult_set(j, i, jobresult_of(r), r, &from);
			continue;
		}
		if (t->outcome == TXN_UNKNOWN) {
			/* The reply to the dot never came: maybe delivered,
			 * so a retry may duplicate (RFC 5321 6.1 prefers that). */
			jobresult_set(j, i, DELIVERY_TEMPFAIL, client_error(c, NULL), &from);
		} else if (can_fall_back && jobresult_v6_policy_reject(c, &t->data))
			fall_back = true;
		else
			jobresult_set(j, i, jobresult_of(&t->data), &t->data, &from);
	}
	return fall_back;
}

/* The reply to the first refused RCPT of a transaction where none got
 * through. */
static const struct smtp_reply *
first_rcpt_refusal(const struct client_txn *t)
{
	for (size_t k = 0; k < t->nrcpt; k++)
		if (t->rcpt_reply[k].code != 0 && !smtp_reply_is_positive(&t->rcpt_reply[k]))
			return &t->rcpt_reply[k];
	return &t->mail;
}

/* One event=relay_attempt line for a transaction that ended on c (and one
 * event=relay_smtputf8_downgrade if it went without SMTPUTF8). */
void
jobresult_log_txn(const struct job *j, const struct client *c)
{
	const struct client_txn *t = &j->txn;
	const char *qid = j->m.msgid;
	bool reused = j->client_reused;

	if (t->downgraded)
		log_event("relay_smtputf8_downgrade", "qid=%s mx=%s ip=%s reason=\"ASCII "
		    "envelope and headers, the server does not offer SMTPUTF8\"",
		    qid, client_host(c), client_ip(c));
	switch (t->outcome) {
	case TXN_BROKEN:
	case TXN_UNKNOWN:
		attempt_log_failed(qid, c, reused, t->end_stage != NULL ? t->end_stage :
		    client_error_stage(c), client_failure(c),
		    smtp_reply_diagnosis(client_error(c, NULL)));
		return;
	case TXN_MAIL_REJECTED:
		if (t->mail.local)	/* over SIZE, or no SMTPUTF8: never sent */
			attempt_log_failed(qid, c, reused, t->end_stage, CLIENT_FAIL_POLICY,
			    smtp_reply_diagnosis(&t->mail));
		else
			attempt_log_refused(qid, c, reused, "mail", &t->mail);
		return;
	case TXN_NO_RCPT:
		attempt_log_refused(qid, c, reused, "rcpt", first_rcpt_refusal(t));
		return;
	case TXN_COMPLETE:
		if (smtp_reply_is_positive(&t->data))
			attempt_log_delivered(qid, c, reused, &t->data, t->naccepted, t->nrcpt);
		else
			attempt_log_refused(qid, c, reused, t->end_stage != NULL ?
			    t->end_stage : "dot", &t->data);
		return;
	}
}
