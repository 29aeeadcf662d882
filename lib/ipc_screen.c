/*
 * lib/ipc_screen.c - encoders and validating decoders of the screen's
 * messages (lib/ipc_screen.h has the layouts and the reason).
 *
 * Owns: the field checks. A decoder fills its output only through the
 * cursor, checks each field, and fails on trailing bytes.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ctype.h>
#include <string.h>

#include "ipc_decode.h"
#include "ipc_screen.h"
#include "ipc_text.h"

static bool
is_ip(const char *s)
{
	uint8_t a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* Lowercase hex, 1..max digits (a session id) or exactly max (a queue id). */
static bool
is_hex(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* What smtpd's HELO parser lets through: printable ASCII, no blanks. */
static bool
is_helo(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

static bool
is_address_or_empty(const char *s)
{
	struct mailaddr m;

	return s[0] == '\0' || addr_parse_mailbox(s, strlen(s), &m) == ADDR_OK;
}

void
ipc_encode_screen_facts(struct ipc_builder *b, const struct screen_facts *f)
{
	ipc_build_init(b);
	ipc_put_u8(b, f->stage);
	ipc_put_u8(b, f->flags);
	ipc_put_u16(b, f->errors);
	ipc_put_u32(b, f->rcpt_seq);
	ipc_put_str(b, f->sess);
	ipc_put_str(b, f->client_ip);
	ipc_put_str(b, f->local_ip);
	ipc_put_str(b, f->helo);
	ipc_put_str(b, f->mail_from);
	ipc_put_str(b, f->rcpt);
	ipc_put_str(b, f->qid);
	ipc_put_u8(b, f->bounce_tag);
}

static const char *
facts_check(const struct screen_facts *f)
{
	if (f->stage < SCREEN_STAGE_CONNECT || f->stage > SCREEN_STAGE_MAX)
		return "bad stage";
	if ((f->flags & ~SCREEN_FACTS_ALL) != 0)
		return "bad flags";
	if (f->bounce_tag > SCREEN_TAG_MAX)
		return "bad bounce tag state";
	if (!is_hex(f->sess, 1, SCREEN_SESS_MAX))
		return "bad session id";
	if (!is_ip(f->client_ip) || !is_ip(f->local_ip))
		return "bad address";
	if (!is_helo(f->helo))
		return "bad helo";
	if (!is_address_or_empty(f->mail_from) || !is_address_or_empty(f->rcpt))
		return "invalid address field";
	if (f->stage == SCREEN_STAGE_RCPT && (f->rcpt[0] == '\0' || f->rcpt_seq == 0))
		return "rcpt question without a recipient";
	if (f->qid[0] != '\0' && !is_hex(f->qid, SCREEN_QID_MAX, SCREEN_QID_MAX))
		return "invalid queue id";
	if ((f->stage == SCREEN_STAGE_DATA || f->stage == SCREEN_STAGE_MESSAGE) &&
	    f->qid[0] == '\0')
		return "data hint or message question without a queue id";
	return NULL;
}

static void
take_facts(struct ipc_cursor *c, struct screen_facts *f)
{
	memset(f, 0, sizeof(*f));
	(void)ipc_take_u8(c, &f->stage);
	(void)ipc_take_u8(c, &f->flags);
	(void)ipc_take_u16(c, &f->errors);
	(void)ipc_take_u32(c, &f->rcpt_seq);
	(void)ipc_take_str(c, f->sess, sizeof(f->sess));
	(void)ipc_take_str(c, f->client_ip, sizeof(f->client_ip));
	(void)ipc_take_str(c, f->local_ip, sizeof(f->local_ip));
	(void)ipc_take_str(c, f->helo, sizeof(f->helo));
	(void)ipc_take_str(c, f->mail_from, sizeof(f->mail_from));
	(void)ipc_take_str(c, f->rcpt, sizeof(f->rcpt));
	(void)ipc_take_str(c, f->qid, sizeof(f->qid));
	(void)ipc_take_u8(c, &f->bounce_tag);
}

int
ipc_decode_screen_facts(const struct ipc_frame *fr, struct screen_facts *f,
    const char **why)
{
	struct ipc_cursor c;

	ipc_cursor_init(&c, fr);
	take_facts(&c, f);
	if (ipc_take_end(&c) == -1) {
		*why = c.why;
		return -1;
	}
	if ((*why = facts_check(f)) != NULL)
		return -1;
	return 0;
}

void
ipc_encode_screen_message_ask(struct ipc_builder *b, const struct screen_facts *f,
    const char (*rcpt)[ADDR_MAX + 1], unsigned nrcpt)
{
	ipc_encode_screen_facts(b, f);
	ipc_put_u16(b, (uint16_t)nrcpt);
	for (unsigned i = 0; i < nrcpt; i++)
		ipc_put_str(b, rcpt[i]);
}

/* u16 n (1..SCREEN_RCPTS_MAX), n x str rcpt: each a mailbox. */
static void
take_rcpts(struct ipc_cursor *c, char (*rcpt)[ADDR_MAX + 1], unsigned *nrcpt)
{
	uint16_t n = 0;

	*nrcpt = 0;
	(void)ipc_take_u16(c, &n);
	if (c->why == NULL && (n == 0 || n > SCREEN_RCPTS_MAX))
		c->why = "bad recipient count";
	for (unsigned i = 0; c->why == NULL && i < n; i++) {
		(void)ipc_take_str(c, rcpt[i], sizeof(rcpt[i]));
		if (c->why == NULL && !is_address_or_empty(rcpt[i]))
			c->why = "invalid address field";
		if (c->why == NULL && rcpt[i][0] == '\0')
			c->why = "empty recipient";
		*nrcpt = i + 1;
	}
}

int
ipc_decode_screen_message_ask(const struct ipc_frame *fr, struct screen_facts *f,
    char (*rcpt)[ADDR_MAX + 1], unsigned *nrcpt, const char **why)
{
	struct ipc_cursor c;

	ipc_cursor_init(&c, fr);
	take_facts(&c, f);
	take_rcpts(&c, rcpt, nrcpt);
	if (ipc_take_end(&c) == -1) {
		*why = c.why;
		return -1;
	}
	if ((*why = facts_check(f)) != NULL)
		return -1;
	if (f->stage != SCREEN_STAGE_MESSAGE) {
		*why = "message question at another stage";
		return -1;
	}
	return 0;
}

void
ipc_encode_screen_verdict(struct ipc_builder *b, const struct screen_verdict *v)
{
	ipc_build_init(b);
	ipc_put_u8(b, v->action);
	ipc_put_u8(b, v->reply);
	ipc_put_u32(b, (uint32_t)v->score);
	ipc_put_str(b, v->ref);
}

/* The checks a verdict must pass, with or without the message part. */
static const char *
verdict_check(const struct screen_verdict *v)
{
	if (v->action < SCREEN_ACCEPT || v->action > SCREEN_ACTION_MAX ||
	    v->reply < SCREEN_REPLY_OK || v->reply > SCREEN_REPLY_MAX)
		return "bad verdict";
	/* a ref is "SESSION-N": it is echoed to the client, so nothing else */
	if (v->ref[0] == '\0')
		return "bad reference";
	for (const char *p = v->ref; *p != '\0'; p++)
		if (!isxdigit((unsigned char)*p) && *p != '-')
			return "bad reference";
	/* the action and the reply must agree: a reject is never a 4xx */
	bool ok = v->action == SCREEN_ACCEPT ? v->reply == SCREEN_REPLY_OK :
	    v->action == SCREEN_REJECT ? (v->reply == SCREEN_REPLY_REJECT ||
	    v->reply == SCREEN_REPLY_SPF_REJECT || v->reply == SCREEN_REPLY_VIRUS ||
	    v->reply == SCREEN_REPLY_USER_UNKNOWN) :
	    (v->reply == SCREEN_REPLY_GREYLIST || v->reply == SCREEN_REPLY_TEMPFAIL ||
	    v->reply == SCREEN_REPLY_DNS_TEMPFAIL);
	return ok ? NULL : "verdict and reply disagree";
}

int
ipc_decode_screen_verdict(const struct ipc_frame *fr, struct screen_verdict *v,
    const char **why)
{
	struct ipc_cursor c;
	uint32_t score = 0;

	memset(v, 0, sizeof(*v));
	ipc_cursor_init(&c, fr);
	(void)ipc_take_u8(&c, &v->action);
	(void)ipc_take_u8(&c, &v->reply);
	(void)ipc_take_u32(&c, &score);
	(void)ipc_take_str(&c, v->ref, sizeof(v->ref));
	if (ipc_take_end(&c) == -1) {
		*why = c.why;
		return -1;
	}
	v->score = (int32_t)score;
	return (*why = verdict_check(v)) == NULL ? 0 : -1;
}

void
ipc_encode_screen_message_verdict(struct ipc_builder *b,
    const struct screen_message_verdict *m)
{
	ipc_encode_screen_verdict(b, &m->v);
	ipc_put_str(b, m->prepend);
	ipc_put_strip_list(b, m->strip, m->nstrip);
}

int
ipc_decode_screen_message_verdict(const struct ipc_frame *fr,
    struct screen_message_verdict *m, const char **why)
{
	struct ipc_cursor c;
	uint32_t score = 0;

	memset(m, 0, sizeof(*m));
	ipc_cursor_init(&c, fr);
	(void)ipc_take_u8(&c, &m->v.action);
	(void)ipc_take_u8(&c, &m->v.reply);
	(void)ipc_take_u32(&c, &score);
	(void)ipc_take_str(&c, m->v.ref, sizeof(m->v.ref));
	(void)ipc_take_str(&c, m->prepend, sizeof(m->prepend));
	ipc_take_strip_list(&c, m->strip, &m->nstrip);
	if (ipc_take_end(&c) == -1) {
		*why = c.why;
		return -1;
	}
	m->v.score = (int32_t)score;
	if ((*why = verdict_check(&m->v)) != NULL)
		return -1;
	if (m->v.reply == SCREEN_REPLY_USER_UNKNOWN) {
		*why = "an unknown user at the end of DATA";
		return -1;
	}
	if (m->prepend[0] != '\0' && !ipc_header_block_is_valid(m->prepend,
	    strlen(m->prepend))) {
		*why = "bad header block";
		return -1;
	}
	if (m->v.action != SCREEN_ACCEPT && (m->prepend[0] != '\0' || m->nstrip > 0)) {
		*why = "header changes without an accept";
		return -1;
	}
	return 0;
}
