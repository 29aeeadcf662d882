/*
 * relay/client_txn.c - one transaction over an open outbound SMTP session
 * (see client.h, client_priv.h): MAIL FROM with SIZE, BODY=8BITMIME and
 * SMTPUTF8, every RCPT, DATA, the dot-stuffed body read from the spool
 * file, the final dot; and the local refusals that never reach the wire
 * (over the server's SIZE; SMTPUTF8 needed but not offered).
 *
 * Owns: the transaction's progress inside struct client (txn, txn_idx,
 * pipelined, mail_ok, discard_dot, body_off, ds) and the reading of the
 * body. STANDARDS: RFC 5321 3.3, RFC 2920 PIPELINING (MAIL, every RCPT and
 * DATA in one write; a DATA accepted with no recipient gets an empty
 * message, RFC 2920 3.1), RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 6531
 * SMTPUTF8. Kept apart from client.c, which runs the session around it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "client_priv.h"
#include "log.h"

#define BODY_CHUNK	65536	/* read from the spool file at a time */
#define BODY_HIGH	262144	/* stop filling the output buffer above this */
#define BODY_LOWAT	65536	/* refill when the output drains below this */

/* stage: the command whose reply ended the transaction. */
static void
client_txn_finish(struct client *c, enum txn_outcome o, const char *stage)
{
	struct client_txn *t = c->txn;

	c->txn = NULL;
	t->outcome = o;
	t->end_stage = stage;
	c->ntxn++;
	client_set_state(c, CS_READY);
	client_emit(c, CLIENT_TXN_DONE);
}

static void
client_send_rcpt(struct client *c, size_t i)
{
	client_send(c, "RCPT TO:<%s>", c->txn->rcpt[i]);
}

void
client_fill_body(struct client *c)
{
	static uint8_t in[BODY_CHUNK];
	static uint8_t enc[DOTSTUFF_OUT_MAX(BODY_CHUNK) + DOTSTUFF_FINISH_MAX];
	struct evbuffer *out = bufferevent_get_output(c->bev);

	while (evbuffer_get_length(out) < BODY_HIGH) {
		ssize_t n = pread(c->txn->body_fd, in, sizeof(in), (off_t)c->body_off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			/* Half a message is out: only closing discards it. */
			client_fail_local(c, CLIENT_FAIL_LOCAL, 451, "4.3.0", "cannot read the message: %s",
			    strerror(errno));
			return;
		}
		if (n == 0) {
			size_t k = dotstuff_finish(&c->ds, enc);
			evbuffer_add(out, enc, k);
			client_set_state(c, CS_DOT);
			return;
		}
		size_t k = dotstuff_chunk(&c->ds, in, (size_t)n, enc);
		evbuffer_add(out, enc, k);
		c->body_off += (uint64_t)n;
	}
}

static void
client_start_body(struct client *c)
{
	dotstuff_init(&c->ds);
	c->body_off = 0;
	bufferevent_setwatermark(c->bev, EV_WRITE, BODY_LOWAT, 0);
	client_set_state(c, CS_BODY);
	client_fill_body(c);
}

/* The reply to DATA: 354 starts the body, anything else ends the txn. */
static void
client_data_reply(struct client *c, const struct smtp_reply *r)
{
	struct client_txn *t = c->txn;

	if (r->code == 354 && c->mail_ok && t->naccepted > 0) {
		client_start_body(c);
		return;
	}
	if (r->code == 354) {
		/* RFC 2920 3.1: pipelined DATA accepted with no recipient:
		 * send an empty message; its reply is meaningless. */
		c->discard_dot = true;
		c->discard_outcome = c->mail_ok ? TXN_NO_RCPT : TXN_MAIL_REJECTED;
		client_send(c, ".");
		client_set_state(c, CS_DOT);
		return;
	}
	if (!c->mail_ok)
		client_txn_finish(c, TXN_MAIL_REJECTED, "mail");
	else if (t->naccepted == 0)
		client_txn_finish(c, TXN_NO_RCPT, "rcpt");
	else {
		t->data = *r;
		client_txn_finish(c, TXN_COMPLETE, "data");
	}
}

void
client_txn_reply(struct client *c, const struct smtp_reply *r)
{
	struct client_txn *t = c->txn;
	size_t idx = c->txn_idx++, n = t->nrcpt;

	if (idx == 0) {
		t->mail = *r;
		c->mail_ok = smtp_reply_is_positive(r);
		if (c->pipelined)
			return;
		if (!c->mail_ok)
			client_txn_finish(c, TXN_MAIL_REJECTED, "mail");
		else
			client_send_rcpt(c, 0);
		return;
	}
	if (idx <= n) {
		t->rcpt_reply[idx - 1] = *r;
		if (smtp_reply_is_positive(r))
			t->naccepted++;
		if (c->pipelined)
			return;
		if (idx < n)
			client_send_rcpt(c, idx);
		else if (t->naccepted == 0)
			client_txn_finish(c, TXN_NO_RCPT, "rcpt");
		else
			client_send(c, "DATA");
		return;
	}
	client_data_reply(c, r);
}

void
client_start_txn(struct client *c, struct client_txn *t)
{
	char size[40] = "";

	if (c->state != CS_READY)
		fatalx("client_start_txn in state %s", client_state_name(c->state));
	c->txn = t;
	c->txn_idx = 0;
	c->mail_ok = false;
	c->discard_dot = false;
	c->pipelined = c->caps.pipelining;
	t->naccepted = 0;
	t->downgraded = false;
	t->end_stage = NULL;
	smtp_reply_init(&t->mail);
	smtp_reply_init(&t->data);
	for (size_t i = 0; i < t->nrcpt; i++)
		smtp_reply_init(&t->rcpt_reply[i]);
	if (c->caps.size && c->caps.size_max > 0 && t->body_size > c->caps.size_max) {
		smtp_reply_set(&t->mail, 552, "5.3.4", "message of %llu bytes exceeds the "
		    "limit of %llu bytes of %s", (unsigned long long)t->body_size,
		    (unsigned long long)c->caps.size_max, c->p.host);
		c->txn = NULL;
		t->outcome = TXN_MAIL_REJECTED;
		t->end_stage = "size";
		client_defer(c, CLIENT_TXN_DONE);
		return;
	}
	/* RFC 6531 3.2/3.4: a message that came with SMTPUTF8 goes on with it
	 * to a hop that offers it. Without it, only a message that needs none
	 * of it (ASCII envelope and header section; domains are A-labels
	 * already, lib/addr.c) goes on, without the parameter; the others get
	 * a 5xx that becomes the DSN's reason, as Postfix words it. */
	bool utf8_param = t->smtputf8 && c->caps.smtputf8;
	if (t->smtputf8 && !c->caps.smtputf8 && !t->ascii_only) {
		smtp_reply_set(&t->mail, 553, "5.6.7", "SMTPUTF8 is required, but was "
		    "not offered by %s", c->p.host);
		c->txn = NULL;
		t->outcome = TXN_MAIL_REJECTED;
		t->end_stage = "smtputf8";
		client_defer(c, CLIENT_TXN_DONE);
		return;
	}
	t->downgraded = t->smtputf8 && !utf8_param;
	if (c->caps.size)
		snprintf(size, sizeof(size), " SIZE=%llu", (unsigned long long)t->body_size);
	client_send(c, "MAIL FROM:<%s>%s%s%s", t->sender, size,
	    c->caps.eightbitmime ? " BODY=8BITMIME" : "", utf8_param ? " SMTPUTF8" : "");
	if (c->pipelined) {
		for (size_t i = 0; i < t->nrcpt; i++)
			client_send_rcpt(c, i);
		client_send(c, "DATA");
	}
	client_set_state(c, CS_TXN);
}

/* A reply before the end of the body: the server gave up on it. It is
 * the answer to the message; the session is over. */
void
client_body_reply(struct client *c, const struct smtp_reply *r)
{
	c->txn->data = *r;
	c->discard_dot = true;
	c->discard_outcome = smtp_reply_is_positive(r) ? TXN_BROKEN : TXN_COMPLETE;
	client_set_state(c, CS_DOT);
	c->txn->end_stage = "data";
	client_lost(c, CLIENT_FAIL_CLOSED, "reply before the end of the message");
}

/* The reply to the final dot (or to the empty message sent after a
 * pipelined DATA that had no recipient). */
void
client_dot_reply(struct client *c, const struct smtp_reply *r)
{
	if (c->discard_dot)
		client_txn_finish(c, c->discard_outcome,
		    c->discard_outcome == TXN_MAIL_REJECTED ? "mail" : "rcpt");
	else {
		c->txn->data = *r;
		client_txn_finish(c, TXN_COMPLETE, "dot");
	}
}
