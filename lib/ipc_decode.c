/*
 * lib/ipc_decode.c - the validating decoders and matching encoders.
 *
 * Owns: payload layouts. Each decoder reads its fields in order through an
 * ipc_cursor, checks ranges and syntax, and requires the payload to end
 * exactly where the last field ends. Sizes of outputs come from our own
 * structs, never from a count the peer sent.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_decode.h"

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
static int
check_address(struct ipc_cursor *c, const char *a, bool allow_empty)
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

static int
check_msgid(struct ipc_cursor *c, const char *id)
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
static void
take_rcpt_list(struct ipc_cursor *c, char (**rcpt)[ADDR_MAX + 1], unsigned *nrcpt)
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
		(void)check_address(c, (*rcpt)[i], false);
		*nrcpt = i + 1;
	}
}

static int
finish(struct ipc_cursor *c, const char **why)
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
	return finish(&c, why);
}

int
ipc_decode_reload(const struct ipc_frame *f, char **text, const char **why)
{
	struct ipc_cursor c;

	ipc_cursor_init(&c, f);
	(void)ipc_take_str_alloc(&c, text, IPC_STR_MAX);
	if (finish(&c, why) == -1) {
		free(*text);
		*text = NULL;
		return -1;
	}
	return 0;
}

int
ipc_decode_resolve_ask(const struct ipc_frame *f, struct msg_resolve_ask *m,
    const char **why)
{
	struct ipc_cursor c;

	ipc_cursor_init(&c, f);
	(void)ipc_take_str(&c, m->address, sizeof(m->address));
	(void)check_address(&c, m->address, false);
	return finish(&c, why);
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
		(void)check_address(&c, m->mailbox[i], false);
	}
	return finish(&c, why);
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
		(void)check_msgid(&c, m->msgid);
		if (c.why == NULL && f->fd < 0)
			c.why = "OK without fd";
	}
	if (c.why == NULL && s != QUEUE_OK && f->fd >= 0)
		c.why = "fd without OK";
	return finish(&c, why);
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
	(void)check_msgid(&c, m->msgid);
	(void)ipc_take_str(&c, m->sender, sizeof(m->sender));
	(void)check_address(&c, m->sender, true);
	(void)ipc_take_str(&c, m->helo, sizeof(m->helo));
	(void)ipc_take_str(&c, m->client_ip, sizeof(m->client_ip));
	(void)ipc_take_u8(&c, &src);
	if (c.why == NULL && (src < SOURCE_SMTP || src > SOURCE_MAX))
		c.why = "bad source";
	if (c.why == NULL) {
		for (size_t i = 0; m->helo[i] != '\0'; i++)
			if (m->helo[i] < 0x21 || m->helo[i] > 0x7e)
				c.why = "bad helo bytes";
		for (size_t i = 0; m->client_ip[i] != '\0'; i++)
			if (!isxdigit((unsigned char)m->client_ip[i]) &&
			    m->client_ip[i] != '.' && m->client_ip[i] != ':')
				c.why = "bad client ip";
	}
	m->source = (enum msg_source)src;
	take_rcpt_list(&c, &m->rcpt, &m->nrcpt);
	if (finish(&c, why) == -1) {
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
	(void)check_msgid(&c, m->msgid);
	m->status = (enum queue_status)s;
	return finish(&c, why);
}

int
ipc_decode_abort(const struct ipc_frame *f, struct msg_abort *m,
    const char **why)
{
	struct ipc_cursor c;

	ipc_cursor_init(&c, f);
	(void)ipc_take_str(&c, m->msgid, sizeof(m->msgid));
	(void)check_msgid(&c, m->msgid);
	return finish(&c, why);
}

int
ipc_decode_deliver(const struct ipc_frame *f, struct msg_deliver *m,
    const char **why)
{
	struct ipc_cursor c;

	ipc_cursor_init(&c, f);
	(void)ipc_take_str(&c, m->msgid, sizeof(m->msgid));
	(void)check_msgid(&c, m->msgid);
	(void)ipc_take_str(&c, m->sender, sizeof(m->sender));
	(void)check_address(&c, m->sender, true);
	(void)ipc_take_str(&c, m->rcpt, sizeof(m->rcpt));
	(void)check_address(&c, m->rcpt, false);
	return finish(&c, why);
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
	m->result = (enum delivery_result)r;
	return finish(&c, why);
}

/* ---- encoders ----------------------------------------------------------- */

void
ipc_encode_sup_link(struct ipc_builder *b, enum role peer)
{
	ipc_build_init(b);
	ipc_put_u8(b, (uint8_t)peer);
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
	ipc_put_bytes_str(b, reason, strnlen(reason, IPC_REASON_MAX));
}

/* ---- issue 4: submission, signing, relay -------------------------------- */

/* A user name is an address (user@domain) as stored by mxctl. */
int
ipc_decode_auth_ask(const struct ipc_frame *f, struct msg_auth_ask *m,
    const char **why)
{
	struct ipc_cursor c;

	ipc_cursor_init(&c, f);
	(void)ipc_take_str(&c, m->user, sizeof(m->user));
	(void)ipc_take_str(&c, m->password, sizeof(m->password));
	(void)ipc_take_str(&c, m->client_ip, sizeof(m->client_ip));
	if (c.why == NULL && m->user[0] == '\0')
		c.why = "empty user";
	return finish(&c, why);
}

static int
decode_u8_answer(const struct ipc_frame *f, uint8_t max, uint8_t *out,
    const char **why)
{
	struct ipc_cursor c;

	ipc_cursor_init(&c, f);
	(void)ipc_take_u8(&c, out);
	if (c.why == NULL && (*out < 1 || *out > max))
		c.why = "bad result";
	return finish(&c, why);
}

int
ipc_decode_auth_answer(const struct ipc_frame *f, enum auth_result *r,
    const char **why)
{
	uint8_t v = 0;
	int ret = decode_u8_answer(f, AUTH_RESULT_MAX, &v, why);

	*r = (enum auth_result)v;
	return ret;
}

int
ipc_decode_sender_ask(const struct ipc_frame *f, struct msg_sender_ask *m,
    const char **why)
{
	struct ipc_cursor c;

	ipc_cursor_init(&c, f);
	(void)ipc_take_str(&c, m->user, sizeof(m->user));
	(void)check_address(&c, m->user, false);
	(void)ipc_take_str(&c, m->address, sizeof(m->address));
	(void)check_address(&c, m->address, false);
	return finish(&c, why);
}

int
ipc_decode_sender_answer(const struct ipc_frame *f, enum sender_result *r,
    const char **why)
{
	uint8_t v = 0;
	int ret = decode_u8_answer(f, SENDER_RESULT_MAX, &v, why);

	*r = (enum sender_result)v;
	return ret;
}

int
ipc_decode_sign_ask(const struct ipc_frame *f, struct msg_sign_ask *m,
    const char **why)
{
	struct ipc_cursor c;

	ipc_cursor_init(&c, f);
	(void)ipc_take_str(&c, m->domain, sizeof(m->domain));
	if (c.why == NULL && !domain_is_valid(m->domain, strlen(m->domain)))
		c.why = "invalid domain";
	return finish(&c, why);
}

int
ipc_decode_sign_answer(const struct ipc_frame *f, struct msg_sign_answer *m,
    const char **why)
{
	struct ipc_cursor c;
	uint8_t s = 0;

	ipc_cursor_init(&c, f);
	(void)ipc_take_u8(&c, &s);
	(void)ipc_take_str(&c, m->headers, sizeof(m->headers));
	if (c.why == NULL && (s < SIGN_OK || s > SIGN_STATUS_MAX))
		c.why = "bad status";
	if (c.why == NULL && s == SIGN_OK && m->headers[0] == '\0')
		c.why = "OK without headers";
	m->status = (enum sign_status)s;
	return finish(&c, why);
}

int
ipc_decode_relay(const struct ipc_frame *f, struct msg_relay *m,
    const char **why)
{
	struct ipc_cursor c;

	memset(m, 0, sizeof(*m));
	ipc_cursor_init(&c, f);
	(void)ipc_take_str(&c, m->msgid, sizeof(m->msgid));
	(void)check_msgid(&c, m->msgid);
	(void)ipc_take_str(&c, m->sender, sizeof(m->sender));
	(void)check_address(&c, m->sender, true);
	take_rcpt_list(&c, &m->rcpt, &m->nrcpt);
	if (finish(&c, why) == -1) {
		msg_relay_free(m);
		return -1;
	}
	return 0;
}

void
msg_relay_free(struct msg_relay *m)
{
	free(m->rcpt);
	m->rcpt = NULL;
	m->nrcpt = 0;
}

int
ipc_decode_relay_result(const struct ipc_frame *f, struct msg_relay_result *m,
    const char **why)
{
	struct ipc_cursor c;
	uint16_t n = 0;

	memset(m, 0, sizeof(*m));
	ipc_cursor_init(&c, f);
	(void)ipc_take_u16(&c, &n);
	if (c.why == NULL && (n == 0 || n > IPC_MAX_RCPTS))
		c.why = "bad recipient count";
	if (c.why == NULL && (m->rcpt = calloc(n, sizeof(*m->rcpt))) == NULL)
		c.why = "out of memory";
	for (unsigned i = 0; c.why == NULL && i < n; i++) {
		uint8_t r = 0;
		(void)ipc_take_u8(&c, &r);
		(void)ipc_take_str(&c, m->rcpt[i].reply, sizeof(m->rcpt[i].reply));
		if (c.why == NULL && (r < DELIVERY_OK || r > DELIVERY_RESULT_MAX))
			c.why = "bad result";
		m->rcpt[i].result = (enum delivery_result)r;
		m->n = i + 1;
	}
	if (finish(&c, why) == -1) {
		msg_relay_result_free(m);
		return -1;
	}
	return 0;
}

void
msg_relay_result_free(struct msg_relay_result *m)
{
	free(m->rcpt);
	m->rcpt = NULL;
	m->n = 0;
}

void
ipc_encode_auth_ask(struct ipc_builder *b, const struct msg_auth_ask *m)
{
	ipc_build_init(b);
	ipc_put_str(b, m->user);
	ipc_put_str(b, m->password);
	ipc_put_str(b, m->client_ip);
}

void
ipc_encode_u8_answer(struct ipc_builder *b, uint8_t v)
{
	ipc_build_init(b);
	ipc_put_u8(b, v);
}

void
ipc_encode_sender_ask(struct ipc_builder *b, const char *user,
    const char *address)
{
	ipc_build_init(b);
	ipc_put_str(b, user);
	ipc_put_str(b, address);
}

void
ipc_encode_sign_ask(struct ipc_builder *b, const char *domain)
{
	ipc_build_init(b);
	ipc_put_str(b, domain);
}

void
ipc_encode_sign_answer(struct ipc_builder *b, enum sign_status s,
    const char *headers)
{
	ipc_build_init(b);
	ipc_put_u8(b, (uint8_t)s);
	ipc_put_str(b, headers);
}

void
ipc_encode_relay(struct ipc_builder *b, const struct msg_relay *m)
{
	ipc_build_init(b);
	ipc_put_str(b, m->msgid);
	ipc_put_str(b, m->sender);
	ipc_put_u16(b, (uint16_t)m->nrcpt);
	for (unsigned i = 0; i < m->nrcpt; i++)
		ipc_put_str(b, m->rcpt[i]);
}

void
ipc_encode_relay_result(struct ipc_builder *b, const struct msg_relay_result *m)
{
	ipc_build_init(b);
	ipc_put_u16(b, (uint16_t)m->n);
	for (unsigned i = 0; i < m->n; i++) {
		ipc_put_u8(b, (uint8_t)m->rcpt[i].result);
		ipc_put_bytes_str(b, m->rcpt[i].reply,
		    strnlen(m->rcpt[i].reply, IPC_REASON_MAX));
	}
}

/* ---- the remembered IPv6->IPv4 fallback ------------------------------------ */

bool
family_name_is_valid(const char *name)
{
	size_t len = strnlen(name, ADDR_DOMAIN_MAX + 1);

	if (!domain_is_valid(name, len))
		return false;
	for (size_t i = 0; i < len; i++)
		if (isupper((unsigned char)name[i]))
			return false;
	return true;
}

static void
take_family_pin(struct ipc_cursor *c, struct family_pin *p)
{
	(void)ipc_take_str(c, p->name, sizeof(p->name));
	(void)ipc_take_u64(c, &p->until);
	if (c->why == NULL && !family_name_is_valid(p->name))
		c->why = "invalid destination name";
	if (c->why == NULL && (p->until == 0 || p->until >= FAMILY_UNTIL_MAX))
		c->why = "bad until";
}

int
ipc_decode_family_learned(const struct ipc_frame *f, struct family_pin *p,
    const char **why)
{
	struct ipc_cursor c;

	memset(p, 0, sizeof(*p));
	ipc_cursor_init(&c, f);
	take_family_pin(&c, p);
	return finish(&c, why);
}

int
ipc_decode_family_memory(const struct ipc_frame *f, struct msg_family_memory *m,
    const char **why)
{
	struct ipc_cursor c;
	uint16_t n = 0;

	memset(m, 0, sizeof(*m));
	ipc_cursor_init(&c, f);
	(void)ipc_take_u16(&c, &n);
	if (c.why == NULL && (n == 0 || n > FAMILY_PINS_PER_FRAME))
		c.why = "bad count";
	if (c.why == NULL && (m->pins = calloc(n, sizeof(*m->pins))) == NULL)
		c.why = "out of memory";
	for (unsigned i = 0; c.why == NULL && i < n; i++) {
		take_family_pin(&c, &m->pins[i]);
		m->n = i + 1;
	}
	if (finish(&c, why) == -1) {
		msg_family_memory_free(m);
		return -1;
	}
	return 0;
}

void
msg_family_memory_free(struct msg_family_memory *m)
{
	free(m->pins);
	m->pins = NULL;
	m->n = 0;
}

void
ipc_encode_family_learned(struct ipc_builder *b, const struct family_pin *p)
{
	ipc_build_init(b);
	ipc_put_str(b, p->name);
	ipc_put_u64(b, p->until);
}

void
ipc_encode_family_memory(struct ipc_builder *b, const struct family_pin *p,
    unsigned n)
{
	ipc_build_init(b);
	ipc_put_u16(b, (uint16_t)n);
	for (unsigned i = 0; i < n; i++) {
		ipc_put_str(b, p[i].name);
		ipc_put_u64(b, p[i].until);
	}
}
