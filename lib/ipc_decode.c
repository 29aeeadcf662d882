/*
 * lib/ipc_decode.c - the validating decoders and matching encoders.
 *
 * Owns: payload layouts. Each decoder reads its fields in order through an
 * ipc_cursor, checks ranges and syntax, and requires the payload to end
 * exactly where the last field ends. Sizes of outputs come from our own
 * structs, never from a count the peer sent. Free-text fields are checked
 * here by their kind (lib/ipc_text.h), once for every receiver. The
 * frames of submission, signing and relay live in ipc_decode_send.c; the
 * field checks both files use are in ipc_decode_priv.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_bounce.h"
#include "ipc_decode.h"
#include "ipc_decode_priv.h"
#include "ipc_screen.h"
#include "ipc_text.h"

_Static_assert(SCREEN_RCPTS_MAX == IPC_MAX_RCPTS, "a message question names every recipient");

bool
queue_id_is_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return i == QUEUE_ID_LEN;
}

/* An address field must be empty (if allowed) or parse as a mailbox. */
int
ipc_check_address(struct ipc_cursor *c, const char *a, bool allow_empty)
{
	struct mailaddr m;

	if (c->why != NULL)
		return -1;
	if (a[0] == '\0' && allow_empty)
		return 0;
	if (addr_parse_mailbox(a, strlen(a), &m) != ADDR_OK) {
		c->why = "invalid address field";
		return -1;
	}
	return 0;
}

/* One field of a free-text kind (lib/ipc_text.h). */
void
ipc_check_kind(struct ipc_cursor *c, const char *s,
    bool (*is_valid)(const char *, size_t), const char *why)
{
	if (c->why == NULL && !is_valid(s, strlen(s)))
		c->why = why;
}

int
ipc_check_msgid(struct ipc_cursor *c, const char *id)
{
	if (c->why != NULL)
		return -1;
	if (!queue_id_is_valid(id)) {
		c->why = "invalid queue id";
		return -1;
	}
	return 0;
}

/* u16 count then that many recipient addresses, into a malloc'd array. */
void
ipc_take_rcpt_list(struct ipc_cursor *c, char (**rcpt)[ADDR_MAX + 1], unsigned *nrcpt)
{
	uint16_t n = 0;

	*rcpt = NULL;
	*nrcpt = 0;
	(void)ipc_take_u16(c, &n);
	if (c->why == NULL && (n == 0 || n > IPC_MAX_RCPTS))
		c->why = "bad recipient count";
	if (c->why == NULL && (*rcpt = calloc(n, sizeof(**rcpt))) == NULL)
		c->why = "out of memory";
	for (unsigned i = 0; c->why == NULL && i < n; i++) {
		(void)ipc_take_str(c, (*rcpt)[i], sizeof((*rcpt)[i]));
		(void)ipc_check_address(c, (*rcpt)[i], false);
		*nrcpt = i + 1;
	}
}

int
ipc_finish(struct ipc_cursor *c, const char **why)
{
	if (ipc_take_end(c) == -1) {
		*why = c->why;
		return -1;
	}
	return 0;
}

int
ipc_decode_sup_link(const struct ipc_frame *f, struct msg_sup_link *m,
    const char **why)
{
	struct ipc_cursor c;
	uint8_t r;

	ipc_cursor_init(&c, f);
	if (ipc_take_u8(&c, &r) == 0 && (r == ROLE_SUPERVISOR || r >= ROLE_COUNT))
		c.why = "bad role";
	m->peer = (enum role)r;
	return ipc_finish(&c, why);
}

int
ipc_decode_reload(const struct ipc_frame *f, char **text, const char **why)
{
	struct ipc_cursor c;

	ipc_cursor_init(&c, f);
	(void)ipc_take_str_alloc(&c, text, CONFIG_TEXT_MAX);
	if (ipc_finish(&c, why) == -1) {
		free(*text);
		*text = NULL;
		return -1;
	}
	return 0;
}

int
ipc_decode_sup_tls(const struct ipc_frame *f, uint32_t *npairs, const char **why)
{
	struct ipc_cursor c;

	ipc_cursor_init(&c, f);
	if (ipc_take_u32(&c, npairs) == 0 && (*npairs == 0 || *npairs > TLSPEM_PAIRS_MAX))
		c.why = "bad number of certificate pairs";
	return ipc_finish(&c, why);
}

int
ipc_decode_peer_bad(const struct ipc_frame *f, enum role *peer, const char **why)
{
	struct ipc_cursor c;
	uint8_t r = 0;

	ipc_cursor_init(&c, f);
	if (ipc_take_u8(&c, &r) == 0 && (r == ROLE_SUPERVISOR || r >= ROLE_COUNT))
		c.why = "bad role";
	*peer = (enum role)r;
	return ipc_finish(&c, why);
}

int
ipc_decode_empty(const struct ipc_frame *f, const char **why)
{
	struct ipc_cursor c;

	ipc_cursor_init(&c, f);
	return ipc_finish(&c, why);
}

int
ipc_decode_role_fatal(const struct ipc_frame *f, struct msg_role_fatal *m,
    const char **why)
{
	struct ipc_cursor c;

	ipc_cursor_init(&c, f);
	(void)ipc_take_str(&c, m->text, sizeof(m->text));
	if (c.why == NULL && m->text[0] == '\0')
		c.why = "empty text";
	ipc_check_kind(&c, m->text, ipc_text_line_is_valid, "bad text line");
	return ipc_finish(&c, why);
}

int
ipc_decode_resolve_ask(const struct ipc_frame *f, struct msg_resolve_ask *m,
    const char **why)
{
	struct ipc_cursor c;

	ipc_cursor_init(&c, f);
	(void)ipc_take_str(&c, m->address, sizeof(m->address));
	(void)ipc_check_address(&c, m->address, false);
	return ipc_finish(&c, why);
}

int
ipc_decode_resolve_answer(const struct ipc_frame *f,
    struct msg_resolve_answer *m, const char **why)
{
	struct ipc_cursor c;
	uint8_t v = 0, n = 0;

	ipc_cursor_init(&c, f);
	(void)ipc_take_u8(&c, &v);
	(void)ipc_take_u8(&c, &n);
	if (c.why == NULL && (v < RESOLVE_LOCAL || v > RESOLVE_VERDICT_MAX))
		c.why = "bad verdict";
	if (c.why == NULL && (n > IPC_MAX_MAILBOXES ||
	    (v == RESOLVE_LOCAL) != (n > 0)))
		c.why = "bad mailbox count";
	m->verdict = (enum resolve_verdict)v;
	m->nmailbox = c.why == NULL ? n : 0;
	for (unsigned i = 0; i < m->nmailbox && c.why == NULL; i++) {
		(void)ipc_take_str(&c, m->mailbox[i], sizeof(m->mailbox[i]));
		(void)ipc_check_address(&c, m->mailbox[i], false);
	}
	return ipc_finish(&c, why);
}

int
ipc_decode_queue_opened(const struct ipc_frame *f, struct msg_queue_opened *m,
    const char **why)
{
	struct ipc_cursor c;
	uint8_t s = 0;

	ipc_cursor_init(&c, f);
	(void)ipc_take_u8(&c, &s);
	(void)ipc_take_str(&c, m->msgid, sizeof(m->msgid));
	if (c.why == NULL && (s < QUEUE_OK || s > QUEUE_STATUS_MAX))
		c.why = "bad status";
	m->status = (enum queue_status)s;
	if (c.why == NULL && s == QUEUE_OK) {
		(void)ipc_check_msgid(&c, m->msgid);
		if (c.why == NULL && f->fd < 0)
			c.why = "OK without fd";
	}
	if (c.why == NULL && s != QUEUE_OK && f->fd >= 0)
		c.why = "fd without OK";
	if (c.why == NULL && s != QUEUE_OK && m->msgid[0] != '\0')
		c.why = "queue id without OK";
	return ipc_finish(&c, why);
}

int
ipc_decode_commit(const struct ipc_frame *f, struct msg_commit *m,
    const char **why)
{
	struct ipc_cursor c;
	uint8_t src = 0;

	memset(m, 0, sizeof(*m));
	ipc_cursor_init(&c, f);
	(void)ipc_take_str(&c, m->msgid, sizeof(m->msgid));
	(void)ipc_check_msgid(&c, m->msgid);
	(void)ipc_take_str(&c, m->sender, sizeof(m->sender));
	(void)ipc_check_address(&c, m->sender, true);
	(void)ipc_take_str(&c, m->helo, sizeof(m->helo));
	(void)ipc_take_str(&c, m->client_ip, sizeof(m->client_ip));
	(void)ipc_take_u8(&c, &src);
	if (c.why == NULL && (src < SOURCE_SMTP || src > SOURCE_MAX))
		c.why = "bad source";
	ipc_check_kind(&c, m->helo, ipc_token_is_valid, "bad helo bytes");
	ipc_check_kind(&c, m->client_ip, ipc_ip_text_is_valid, "bad client ip");
	m->source = (enum msg_source)src;
	ipc_take_rcpt_list(&c, &m->rcpt, &m->nrcpt);
	(void)ipc_take_str(&c, m->prepend, sizeof(m->prepend));
	if (m->prepend[0] != '\0')
		ipc_check_kind(&c, m->prepend, ipc_header_block_is_valid, "bad header block");
	ipc_take_strip_list(&c, m->strip, &m->nstrip);
	uint8_t u8 = 0;
	(void)ipc_take_u8(&c, &u8);
	if (c.why == NULL && u8 > 1)
		c.why = "bad smtputf8 flag";
	m->smtputf8 = u8 == 1;
	if (c.why == NULL && m->source != SOURCE_SMTP &&
	    (m->prepend[0] != '\0' || m->nstrip > 0))
		c.why = "header changes outside port 25";
	if (ipc_finish(&c, why) == -1) {
		msg_commit_free(m);
		return -1;
	}
	return 0;
}

void
msg_commit_free(struct msg_commit *m)
{
	free(m->rcpt);
	m->rcpt = NULL;
	m->nrcpt = 0;
}

int
ipc_decode_committed(const struct ipc_frame *f, struct msg_committed *m,
    const char **why)
{
	struct ipc_cursor c;
	uint8_t s = 0;

	ipc_cursor_init(&c, f);
	(void)ipc_take_u8(&c, &s);
	(void)ipc_take_str(&c, m->msgid, sizeof(m->msgid));
	if (c.why == NULL && (s < QUEUE_OK || s > QUEUE_STATUS_MAX))
		c.why = "bad status";
	(void)ipc_check_msgid(&c, m->msgid);
	m->status = (enum queue_status)s;
	return ipc_finish(&c, why);
}

int
ipc_decode_abort(const struct ipc_frame *f, struct msg_abort *m,
    const char **why)
{
	struct ipc_cursor c;

	ipc_cursor_init(&c, f);
	(void)ipc_take_str(&c, m->msgid, sizeof(m->msgid));
	(void)ipc_check_msgid(&c, m->msgid);
	return ipc_finish(&c, why);
}

int
ipc_decode_deliver(const struct ipc_frame *f, struct msg_deliver *m,
    const char **why)
{
	struct ipc_cursor c;

	ipc_cursor_init(&c, f);
	(void)ipc_take_str(&c, m->msgid, sizeof(m->msgid));
	(void)ipc_check_msgid(&c, m->msgid);
	(void)ipc_take_str(&c, m->sender, sizeof(m->sender));
	(void)ipc_check_address(&c, m->sender, true);
	(void)ipc_take_str(&c, m->rcpt, sizeof(m->rcpt));
	(void)ipc_check_address(&c, m->rcpt, false);
	return ipc_finish(&c, why);
}

int
ipc_decode_delivery_result(const struct ipc_frame *f,
    struct msg_delivery_result *m, const char **why)
{
	struct ipc_cursor c;
	uint8_t r = 0;

	ipc_cursor_init(&c, f);
	(void)ipc_take_u8(&c, &r);
	(void)ipc_take_str(&c, m->reason, sizeof(m->reason));
	if (c.why == NULL && (r < DELIVERY_OK || r > DELIVERY_RESULT_MAX))
		c.why = "bad result";
	ipc_check_kind(&c, m->reason, ipc_text_line_is_valid, "bad text line");
	m->result = (enum delivery_result)r;
	return ipc_finish(&c, why);
}

/* ---- encoders ----------------------------------------------------------- */

/* A free-text field, cleaned to a valid text line of at most max bytes. */
void
ipc_put_text_line(struct ipc_builder *b, const char *s, size_t max)
{
	char clean[IPC_FATAL_TEXT_MAX + 1];
	_Static_assert(IPC_REASON_MAX <= IPC_FATAL_TEXT_MAX &&
	    RELAY_REPLY_MAX <= IPC_FATAL_TEXT_MAX, "text lines fit clean[]");

	size_t dstsize = max + 1 < sizeof(clean) ? max + 1 : sizeof(clean);
	/* A few bytes past max, so a character cut at max is seen whole. */
	size_t n = ipc_text_line_clean(clean, dstsize, s, strnlen(s, max + 3));
	ipc_put_bytes_str(b, clean, n);
}

void
ipc_encode_sup_link(struct ipc_builder *b, enum role peer)
{
	ipc_build_init(b);
	ipc_put_u8(b, (uint8_t)peer);
}

void
ipc_encode_reload(struct ipc_builder *b, const char *text, size_t len)
{
	ipc_build_init(b);
	ipc_put_bytes_str(b, text, len);
}

void
ipc_encode_sup_tls(struct ipc_builder *b, uint32_t npairs)
{
	ipc_build_init(b);
	ipc_put_u32(b, npairs);
}

void
ipc_encode_peer_bad(struct ipc_builder *b, enum role peer)
{
	ipc_build_init(b);
	ipc_put_u8(b, (uint8_t)peer);
}

void
ipc_encode_role_ready(struct ipc_builder *b)
{
	ipc_build_init(b);
}

void
ipc_encode_role_fatal(struct ipc_builder *b, const char *text)
{
	ipc_build_init(b);
	ipc_put_text_line(b, text, IPC_FATAL_TEXT_MAX);
}

void
ipc_encode_resolve_ask(struct ipc_builder *b, const char *address)
{
	ipc_build_init(b);
	ipc_put_str(b, address);
}

void
ipc_encode_resolve_answer(struct ipc_builder *b,
    const struct msg_resolve_answer *m)
{
	ipc_build_init(b);
	ipc_put_u8(b, (uint8_t)m->verdict);
	ipc_put_u8(b, (uint8_t)m->nmailbox);
	for (unsigned i = 0; i < m->nmailbox; i++)
		ipc_put_str(b, m->mailbox[i]);
}

void
ipc_encode_queue_opened(struct ipc_builder *b, enum queue_status s,
    const char *msgid)
{
	ipc_build_init(b);
	ipc_put_u8(b, (uint8_t)s);
	ipc_put_str(b, msgid);
}

void
ipc_encode_commit(struct ipc_builder *b, const struct msg_commit *m)
{
	ipc_build_init(b);
	ipc_put_str(b, m->msgid);
	ipc_put_str(b, m->sender);
	ipc_put_str(b, m->helo);
	ipc_put_str(b, m->client_ip);
	ipc_put_u8(b, (uint8_t)m->source);
	ipc_put_u16(b, (uint16_t)m->nrcpt);
	for (unsigned i = 0; i < m->nrcpt; i++)
		ipc_put_str(b, m->rcpt[i]);
	ipc_put_str(b, m->prepend);
	ipc_put_strip_list(b, m->strip, m->nstrip);
	ipc_put_u8(b, m->smtputf8 ? 1 : 0);
}

void
ipc_put_strip_list(struct ipc_builder *b, const struct byte_range *r, unsigned n)
{
	ipc_put_u16(b, (uint16_t)n);
	for (unsigned i = 0; i < n; i++) {
		ipc_put_u32(b, r[i].off);
		ipc_put_u32(b, r[i].len);
	}
}

void
ipc_take_strip_list(struct ipc_cursor *c, struct byte_range *r, unsigned *n)
{
	uint16_t count = 0;
	uint64_t end = 0;

	*n = 0;
	(void)ipc_take_u16(c, &count);
	if (c->why == NULL && count > SCREEN_STRIP_MAX)
		c->why = "too many ranges";
	for (unsigned i = 0; c->why == NULL && i < count; i++) {
		(void)ipc_take_u32(c, &r[i].off);
		(void)ipc_take_u32(c, &r[i].len);
		if (c->why != NULL)
			break;
		if (r[i].len == 0 || r[i].off < end)
			c->why = "ranges empty, unsorted or overlapping";
		end = (uint64_t)r[i].off + r[i].len;
		*n = i + 1;
	}
}

void
ipc_encode_committed(struct ipc_builder *b, enum queue_status s,
    const char *msgid)
{
	ipc_build_init(b);
	ipc_put_u8(b, (uint8_t)s);
	ipc_put_str(b, msgid);
}

void
ipc_encode_abort(struct ipc_builder *b, const char *msgid)
{
	ipc_build_init(b);
	ipc_put_str(b, msgid);
}

void
ipc_encode_deliver(struct ipc_builder *b, const struct msg_deliver *m)
{
	ipc_build_init(b);
	ipc_put_str(b, m->msgid);
	ipc_put_str(b, m->sender);
	ipc_put_str(b, m->rcpt);
}

void
ipc_encode_delivery_result(struct ipc_builder *b, enum delivery_result r,
    const char *reason)
{
	ipc_build_init(b);
	ipc_put_u8(b, (uint8_t)r);
	ipc_put_text_line(b, reason, IPC_REASON_MAX);
}

/* ---- every type --------------------------------------------------------- */

/* Room for any one decoded message; heap-allocated by ipc_decode_any. */
union any_msg {
	struct msg_sup_link		sup_link;
	struct msg_role_fatal		role_fatal;
	struct msg_resolve_ask		resolve_ask;
	struct msg_resolve_answer	resolve_answer;
	struct msg_queue_opened		queue_opened;
	struct msg_commit		commit;
	struct msg_committed		committed;
	struct msg_abort		abort;
	struct msg_deliver		deliver;
	struct msg_delivery_result	delivery_result;
	struct msg_auth_ask		auth_ask;
	struct msg_sender_ask		sender_ask;
	struct msg_sign_ask		sign_ask;
	struct msg_sign_answer		sign_answer;
	struct msg_local_user_answer	local_user;
	struct msg_relay		relay;
	struct msg_relay_result		relay_result;
	struct family_pin		family_pin;
	struct msg_family_memory	family_memory;
	struct screen_facts		screen_facts;
	struct screen_verdict		screen_verdict;
	struct screen_message_verdict	screen_mverdict;
	struct {
		struct screen_facts	facts;
		char			rcpt[SCREEN_RCPTS_MAX][ADDR_MAX + 1];
	}				screen_mask;
	char				tagged[ADDR_MAX + 1];
	struct msg_ctl_ask		ctl_ask;
};

/* An answer decodes into about 200 KB: its own allocation, not the union's. */
static int
decode_ctl_answer(const struct ipc_frame *f, const char **why)
{
	struct msg_ctl_answer *a = malloc(sizeof(*a));
	int r;

	if (a == NULL) {
		*why = "out of memory";
		return -1;
	}
	r = ipc_decode_ctl_answer(f, a, why);
	free(a);
	return r;
}

static int
decode_into(const struct ipc_frame *f, union any_msg *m, const char **why)
{
	enum auth_result auth;
	enum sender_result sender;
	enum bounce_tag_result tag;
	enum role peer;
	unsigned nrcpt;
	uint32_t npairs, uid;
	char *text = NULL;
	int r = -1;

	*why = "unknown type";
	switch ((enum ipc_msg_type)f->type) {
	case MSG_NONE:
	case MSG_TYPE_COUNT:
		return -1;
	case MSG_SUP_LINK:
		return ipc_decode_sup_link(f, &m->sup_link, why);
	case MSG_SUP_RELOAD:
		r = ipc_decode_reload(f, &text, why);
		free(text);
		return r;
	case MSG_SUP_TLS:
		return ipc_decode_sup_tls(f, &npairs, why);
	case MSG_ROLE_PEER_BAD:
		return ipc_decode_peer_bad(f, &peer, why);
	case MSG_ROLE_READY:
		return ipc_decode_empty(f, why);
	case MSG_ROLE_FATAL:
		return ipc_decode_role_fatal(f, &m->role_fatal, why);
	case MSG_RESOLVE_ASK:
		return ipc_decode_resolve_ask(f, &m->resolve_ask, why);
	case MSG_RESOLVE_ANSWER:
		return ipc_decode_resolve_answer(f, &m->resolve_answer, why);
	case MSG_SMTPD_MSG_OPEN:
		return ipc_decode_empty(f, why);
	case MSG_QUEUE_MSG_OPENED:
		return ipc_decode_queue_opened(f, &m->queue_opened, why);
	case MSG_SMTPD_MSG_COMMIT:
		if ((r = ipc_decode_commit(f, &m->commit, why)) == 0)
			msg_commit_free(&m->commit);
		return r;
	case MSG_QUEUE_MSG_COMMITTED:
		return ipc_decode_committed(f, &m->committed, why);
	case MSG_SMTPD_MSG_ABORT:
		return ipc_decode_abort(f, &m->abort, why);
	case MSG_QUEUE_DELIVER:
		return ipc_decode_deliver(f, &m->deliver, why);
	case MSG_DELIVERY_RESULT:
		return ipc_decode_delivery_result(f, &m->delivery_result, why);
	case MSG_AUTH_ASK:
		return ipc_decode_auth_ask(f, &m->auth_ask, why);
	case MSG_AUTH_ANSWER:
		return ipc_decode_auth_answer(f, &auth, why);
	case MSG_SENDER_ASK:
		return ipc_decode_sender_ask(f, &m->sender_ask, why);
	case MSG_SENDER_ANSWER:
		return ipc_decode_sender_answer(f, &sender, why);
	case MSG_LOCAL_USER_ASK:
		return ipc_decode_local_user_ask(f, &uid, why);
	case MSG_LOCAL_USER_ANSWER:
		return ipc_decode_local_user_answer(f, &m->local_user, why);
	case MSG_SIGN_ASK:
		return ipc_decode_sign_ask(f, &m->sign_ask, why);
	case MSG_SIGN_ANSWER:
		return ipc_decode_sign_answer(f, &m->sign_answer, why);
	case MSG_QUEUE_RELAY:
		if ((r = ipc_decode_relay(f, &m->relay, why)) == 0)
			msg_relay_free(&m->relay);
		return r;
	case MSG_RELAY_RESULT:
		if ((r = ipc_decode_relay_result(f, &m->relay_result, why)) == 0)
			msg_relay_result_free(&m->relay_result);
		return r;
	case MSG_RELAY_FAMILY_LEARNED:
		return ipc_decode_family_learned(f, &m->family_pin, why);
	case MSG_QUEUE_FAMILY_MEMORY:
		if ((r = ipc_decode_family_memory(f, &m->family_memory, why)) == 0)
			msg_family_memory_free(&m->family_memory);
		return r;
	case MSG_SCREEN_HINT:
	case MSG_SCREEN_ASK:
		return ipc_decode_screen_facts(f, &m->screen_facts, why);
	case MSG_SCREEN_VERDICT:
		return ipc_decode_screen_verdict(f, &m->screen_verdict, why);
	case MSG_SMTPD_MSG_READ:
		return ipc_decode_abort(f, &m->abort, why);	/* same shape: str msgid */
	case MSG_QUEUE_MSG_READER:
		return ipc_decode_queue_opened(f, &m->queue_opened, why);	/* same shape */
	case MSG_SCREEN_MESSAGE_ASK:
		return ipc_decode_screen_message_ask(f, &m->screen_mask.facts,
		    m->screen_mask.rcpt, &nrcpt, why);
	case MSG_SMTPD_TAG_CHECK:
		return ipc_decode_tag_check(f, m->tagged, sizeof(m->tagged), why);
	case MSG_QUEUE_TAG_CHECKED:
		return ipc_decode_tag_checked(f, &tag, why);
	case MSG_SCREEN_MESSAGE_VERDICT:
		return ipc_decode_screen_message_verdict(f, &m->screen_mverdict, why);
	case MSG_CTL_ASK:
		return ipc_decode_ctl_ask(f, &m->ctl_ask, why);
	case MSG_CTL_ANSWER:
		return decode_ctl_answer(f, why);
	}
	return -1;
}

int
ipc_decode_any(const struct ipc_frame *f, const char **why)
{
	union any_msg *m;
	int r;

	if ((m = malloc(sizeof(*m))) == NULL) {
		*why = "out of memory";
		return -1;
	}
	r = decode_into(f, m, why);
	explicit_bzero(m, sizeof(*m));	/* an AUTH_ASK holds a password */
	free(m);
	return r;
}
