/*
 * smtpd/inbound.c - port 25's session policy: mail from anyone, for our
 * domains only, judged by the screen role while the client waits.
 *
 * Owns: what port 25 decides at each hook of smtpd/policy.h, and the
 * per-session facts the screen is told (lib/screen_facts.h). The screen
 * hears a hint at connect, HELO, MAIL and DATA (it starts its DNS lookups
 * early; the DATA hint ties the queue id to the session for `mxctl why`),
 * and is asked at each RCPT that lookup found local, and once more at the
 * end of DATA with the whole message (a read-only fd the queue hands us):
 * each verdict becomes 250, 451, 550 or 554 with a neutral text and a
 * reference id, and an accepted message carries the screen's
 * Authentication-Results (and the forged ones to remove) into the commit,
 * where the queue applies them before anything else reads it. Unknown users
 * keep lookup's 550 5.1.1 (cheaper, and no DNS for them); relaying is
 * denied before the screen is asked.
 * Why the screen's failure is a 451 4.3.0: unscreened mail is never
 * accepted, and our own trouble never refuses mail for good. The engine's
 * answer deadline covers a screen that does not answer; a link that goes
 * down answers every question in flight at once (smtpd/links.c).
 * BATV (lib/batv.h): a recipient "prvs=TAG=kim@example.org" is looked up,
 * delivered and logged as kim@example.org; before the screen is asked,
 * the queue (which alone holds the key) says whether the tag is ours, and
 * the screen hears the tag's state with the question. A screen verdict of
 * "unknown user" (its spam memory) is sent exactly as lookup's unknown
 * user is, without a reference: a spammer must not tell them apart.
 * A verdict that accepts with a score of 0 or less gives the client a good
 * reputation: more connections at once (smtpd/reputation.c).
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batv.h"
#include "inbound.h"
#include "links.h"
#include "log.h"
#include "policy.h"
#include "reputation.h"
#include "session.h"
#include "util.h"

/* What the screen is told about the session beyond the engine's fields. */
struct inbound_state {
	char		local_ip[IP_TEXT_MAX];	/* our end of the connection */
	uint32_t	rcpt_seq;		/* questions asked: the ref's -N */
	/* the RCPT being judged: its BATV tagged form ("" if untagged) and
	 * what the queue said of the tag */
	char		tagged[ADDR_MAX + 1];
	uint8_t		rcpt_tag;		/* enum screen_bounce_tag */
	/* the transaction's accepted recipients: through a valid tag, or not */
	unsigned	tx_valid_tags, tx_others;
};

static struct inbound_state *
state(struct smtp_session *s)
{
	return s->policy_state;
}

/* The facts every message to the screen carries (it keeps no sessions). */
static void
inbound_facts(struct smtp_session *s, enum screen_stage stage,
    struct screen_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->stage = (uint8_t)stage;
	f->errors = s->errors > UINT16_MAX ? UINT16_MAX : (uint16_t)s->errors;
	snprintf(f->sess, sizeof(f->sess), "%s", s->id);
	snprintf(f->client_ip, sizeof(f->client_ip), "%s", s->ip);
	snprintf(f->local_ip, sizeof(f->local_ip), "%s", state(s)->local_ip);
	snprintf(f->helo, sizeof(f->helo), "%s", s->helo);
	if (s->tls_active)
		f->flags |= SCREEN_FACT_TLS;
	if (s->early_talker)
		f->flags |= SCREEN_FACT_EARLY_TALKER;
	if (s->tx != NULL) {
		f->flags |= SCREEN_FACT_MAIL_SEEN;
		if (s->tx->null_sender)
			f->flags |= SCREEN_FACT_NULL_SENDER;
		if (s->tx->smtputf8)
			f->flags |= SCREEN_FACT_SMTPUTF8;
		snprintf(f->mail_from, sizeof(f->mail_from), "%s", s->tx->from);
		if (s->tx->qid[0] != '\0')
			snprintf(f->qid, sizeof(f->qid), "%s", s->tx->qid);
	}
}

static void
inbound_hint(struct smtp_session *s, enum screen_stage stage)
{
	struct screen_facts f;

	inbound_facts(s, stage, &f);
	links_screen_hint(&f);
}

static void
inbound_on_connect(struct smtp_session *s)
{
	struct inbound_state *st = xcalloc(1, sizeof(*st));
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned port;

	s->policy_state = st;
	snprintf(st->local_ip, sizeof(st->local_ip), "0.0.0.0");
	if (getsockname(s->fd, (struct sockaddr *)&ss, &len) == 0)
		sockaddr_to_text((struct sockaddr *)&ss, st->local_ip,
		    sizeof(st->local_ip), &port);
	inbound_hint(s, SCREEN_STAGE_CONNECT);
}

static void
inbound_on_close(struct smtp_session *s)
{
	free(s->policy_state);
	s->policy_state = NULL;
}

static void
inbound_on_helo(struct smtp_session *s)
{
	inbound_hint(s, SCREEN_STAGE_HELO);
}

static void
inbound_check_mail(struct smtp_session *s)
{
	inbound_hint(s, SCREEN_STAGE_MAIL);
	session_mail_done(s, REPLY_MAIL_OK);
}

static enum reply_id
screen_reply(const struct screen_verdict *v)
{
	switch ((enum screen_reply)v->reply) {
	case SCREEN_REPLY_OK:			return REPLY_RCPT_OK;
	case SCREEN_REPLY_GREYLIST:
	case SCREEN_REPLY_TEMPFAIL:		return REPLY_SCREEN_TEMPFAIL;
	case SCREEN_REPLY_DNS_TEMPFAIL:		return REPLY_SCREEN_DNS_TEMPFAIL;
	case SCREEN_REPLY_REJECT:		return REPLY_SCREEN_REJECT;
	case SCREEN_REPLY_SPF_REJECT:		return REPLY_SCREEN_SPF_REJECT;
	case SCREEN_REPLY_VIRUS:		return REPLY_SCREEN_VIRUS;
	case SCREEN_REPLY_USER_UNKNOWN:		return REPLY_UNKNOWN_USER;
	}
	return REPLY_TEMPFAIL;	/* the decoder lets nothing else through */
}

static const char *
screen_reason(const struct screen_verdict *v)
{
	switch ((enum screen_action)v->action) {
	case SCREEN_ACCEPT:	return "local";
	case SCREEN_GREYLIST:	return "screen_greylist";
	case SCREEN_TEMPFAIL:	return "screen_tempfail";
	case SCREEN_REJECT:	return "screen_reject";
	}
	return "screen_unavailable";
}

static void
on_screen_verdict(void *owner, const struct screen_verdict *v)
{
	struct smtp_session *s = owner;
	struct inbound_state *st = state(s);

	if (v == NULL) {
		session_rcpt_done(s, REPLY_TEMPFAIL, "screen_unavailable");
		return;
	}
	if (v->reply == SCREEN_REPLY_USER_UNKNOWN) {
		/* byte for byte lookup's reply: no ref (smtpd/reply.c) */
		session_rcpt_done(s, REPLY_UNKNOWN_USER, "spam_memory");
		return;
	}
	if (v->action == SCREEN_ACCEPT)
		reputation_learn(session_cfg(), &s->addr, s->ip, v->score);
	if (v->action == SCREEN_ACCEPT && st->rcpt_tag == SCREEN_TAG_VALID)
		st->tx_valid_tags++;
	else if (v->action == SCREEN_ACCEPT)
		st->tx_others++;
	session_rcpt_done_arg(s, screen_reply(v), screen_reason(v), v->ref);
}

/* The recipient's question, with what is known of its tag. */
static void
inbound_ask_screen(struct smtp_session *s)
{
	struct screen_facts f;

	inbound_facts(s, SCREEN_STAGE_RCPT, &f);
	f.rcpt_seq = ++state(s)->rcpt_seq;
	f.bounce_tag = state(s)->rcpt_tag;
	snprintf(f.rcpt, sizeof(f.rcpt), "%s", s->tx->asking);
	if (links_screen_ask(s, &f, screen_answer_seconds(session_cfg()),
	    on_screen_verdict) == 0)
		session_rcpt_done(s, REPLY_TEMPFAIL, "screen_unavailable");
}

/* RCPT TO:<prvs=TAG=kim@example.org> is kim@example.org from here on; the
 * tagged form is kept to ask the queue about its tag. */
static void
inbound_rcpt_address(struct smtp_session *s, char *address, size_t size)
{
	struct inbound_state *st = state(s);
	struct batv_tag t;

	st->tagged[0] = '\0';
	if (!batv_parse(address, &t) || strlen(t.mailbox) >= size)
		return;
	snprintf(st->tagged, sizeof(st->tagged), "%s", address);
	snprintf(address, size, "%s", t.mailbox);
}

static void
on_tag_checked(void *owner, bool ok, enum bounce_tag_result r)
{
	struct smtp_session *s = owner;

	if (!ok) {
		session_rcpt_done(s, REPLY_TEMPFAIL, "queue_unavailable");
		return;
	}
	state(s)->rcpt_tag = r == BOUNCE_TAG_VALID ? SCREEN_TAG_VALID : SCREEN_TAG_BAD;
	log_event("bounce_tag", "sess=%s to=<%s> result=%s", s->id, s->tx->asking,
	    bounce_tag_result_name(r));
	inbound_ask_screen(s);
}

/* lookup's verdict stands unless the recipient is local: then the queue
 * for a tag, then the screen. */
static void
inbound_check_rcpt(struct smtp_session *s, enum resolve_verdict v,
    enum reply_id r, const char *reason)
{
	struct inbound_state *st = state(s);

	if (v != RESOLVE_LOCAL || r != REPLY_RCPT_OK) {
		session_rcpt_done(s, r, reason);
		return;
	}
	st->rcpt_tag = session_cfg()->bounce_tags ? SCREEN_TAG_UNTAGGED : SCREEN_TAG_NONE;
	if (st->tagged[0] == '\0') {
		inbound_ask_screen(s);
		return;
	}
	if (links_tag_check(s, st->tagged, on_tag_checked) == 0)
		session_rcpt_done(s, REPLY_TEMPFAIL, "queue_unavailable");
}

static void
inbound_on_tx_end(struct smtp_session *s)
{
	struct inbound_state *st = state(s);

	if (st == NULL)
		return;
	st->tx_valid_tags = st->tx_others = 0;
}

/* The body goes straight into the spool file; the screen learns the qid. */
static int
inbound_data_start(struct smtp_session *s, const char **why)
{
	(void)why;
	inbound_hint(s, SCREEN_STAGE_DATA);
	return s->tx->fd;
}

/* The screen judged the whole message: accept with its header changes
 * (the queue applies them before the commit), or refuse with its ref. */
static void
on_message_verdict(void *owner, const struct screen_message_verdict *mv)
{
	struct smtp_session *s = owner;
	struct transaction *tx = s->tx;

	if (tx == NULL)
		return;
	if (mv == NULL) {
		session_message_refuse(s, REPLY_TEMPFAIL, "screen_unavailable");
		return;
	}
	if (mv->v.action != SCREEN_ACCEPT) {
		session_message_refuse_arg(s, screen_reply(&mv->v), screen_reason(&mv->v),
		    mv->v.ref);
		return;
	}
	reputation_learn(session_cfg(), &s->addr, s->ip, mv->v.score);
	memcpy(tx->prepend, mv->prepend, sizeof(tx->prepend));
	tx->nstrip = mv->nstrip;
	memcpy(tx->strip, mv->strip, sizeof(tx->strip));
	session_message_accept(s);
}

static void
on_reader(void *owner, enum queue_status st, int fd)
{
	struct smtp_session *s = owner;
	struct screen_facts f;

	if (s->tx == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	if (st != QUEUE_OK) {
		session_message_refuse(s, st == QUEUE_NOSPACE ? REPLY_NOSPACE : REPLY_TEMPFAIL,
		    "queue_read");
		return;
	}
	inbound_facts(s, SCREEN_STAGE_MESSAGE, &f);
	f.rcpt_seq = ++state(s)->rcpt_seq;
	snprintf(f.rcpt, sizeof(f.rcpt), "%s", s->tx->nrcpt > 0 ? s->tx->rcpt[0] : "");
	/* a bounce of our own mail only if every recipient came by a valid tag */
	if (state(s)->tx_valid_tags > 0 && state(s)->tx_others == 0)
		f.bounce_tag = SCREEN_TAG_VALID;
	uint64_t id = links_screen_message_ask(s, &f,
	    (const char (*)[ADDR_MAX + 1])s->tx->rcpt, s->tx->nrcpt, fd, on_message_verdict);
	close(fd);		/* the send took its own copy */
	if (id == 0)
		session_message_refuse(s, REPLY_TEMPFAIL, "screen_unavailable");
}

/* The whole message is in the spool file: the screen reads it (through a
 * read-only fd the queue gives) before anything is committed. */
static void
inbound_end_of_data(struct smtp_session *s)
{
	if (!session_spool_finish(s))
		return;		/* refused already */
	if (links_msg_read(s, s->tx->qid, on_reader) == 0)
		session_message_refuse(s, REPLY_TEMPFAIL, "queue_unavailable");
}

const struct session_policy inbound_policy = {
	.name = "smtp",
	.source = SOURCE_SMTP,
	.greeting_delay = true,
	.mail_options = 0,
	.on_connect = inbound_on_connect,
	.on_close = inbound_on_close,
	.on_helo = inbound_on_helo,
	.check_mail = inbound_check_mail,
	.rcpt_address = inbound_rcpt_address,
	.check_rcpt = inbound_check_rcpt,
	.data_start = inbound_data_start,
	.end_of_data = inbound_end_of_data,
	.on_tx_end = inbound_on_tx_end,
};
