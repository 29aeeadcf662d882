/*
 * lib/ipc_decode_send.c - the validating decoders and matching encoders of
 * the frames that carry mail out: submission's questions to lookup (AUTH,
 * the owned sender, the local user behind a sendmail socket), dkimsign's
 * questions and answers, the queue's relay orders and their results, and
 * the remembered IPv6->IPv4 fallback (family pins).
 *
 * Owns: those payload layouts, under the rules of lib/ipc_decode.c: fields
 * in order through an ipc_cursor, ranges and syntax checked, the payload
 * ends where the last field ends, output sizes from our own structs. Split
 * from ipc_decode.c only to keep each file one reading's length; the field
 * checks are shared through ipc_decode_priv.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_decode.h"
#include "ipc_decode_priv.h"
#include "ipc_text.h"

/* ---- submission, signing, relay ---------------------------------------- */

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
	ipc_check_kind(&c, m->client_ip, ipc_ip_text_is_valid, "bad client ip");
	return ipc_finish(&c, why);
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
	return ipc_finish(&c, why);
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
	(void)ipc_check_address(&c, m->user, false);
	(void)ipc_take_str(&c, m->address, sizeof(m->address));
	(void)ipc_check_address(&c, m->address, false);
	return ipc_finish(&c, why);
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
ipc_decode_local_user_ask(const struct ipc_frame *f, uint32_t *uid, const char **why)
{
	struct ipc_cursor c;

	ipc_cursor_init(&c, f);
	(void)ipc_take_u32(&c, uid);
	return ipc_finish(&c, why);
}

/* The login becomes the local part of a sender address: it must be one
 * as it is (addr_login_is_valid), and present exactly when FOUND. */
int
ipc_decode_local_user_answer(const struct ipc_frame *f,
    struct msg_local_user_answer *m, const char **why)
{
	struct ipc_cursor c;
	uint8_t v = 0;

	ipc_cursor_init(&c, f);
	(void)ipc_take_u8(&c, &v);
	(void)ipc_take_str(&c, m->login, sizeof(m->login));
	if (c.why == NULL && (v < 1 || v > LOCAL_USER_RESULT_MAX))
		c.why = "bad result";
	if (c.why == NULL && v == LOCAL_USER_FOUND && !addr_login_is_valid(m->login))
		c.why = "bad login";
	if (c.why == NULL && v != LOCAL_USER_FOUND && m->login[0] != '\0')
		c.why = "login without FOUND";
	m->result = (enum local_user_result)v;
	return ipc_finish(&c, why);
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
	return ipc_finish(&c, why);
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
	if (c.why == NULL && s == SIGN_OK)
		ipc_check_kind(&c, m->headers, ipc_header_block_is_valid, "bad header block");
	if (c.why == NULL && s != SIGN_OK && m->headers[0] != '\0')
		c.why = "headers without OK";
	m->status = (enum sign_status)s;
	return ipc_finish(&c, why);
}

int
ipc_decode_relay(const struct ipc_frame *f, struct msg_relay *m,
    const char **why)
{
	struct ipc_cursor c;

	memset(m, 0, sizeof(*m));
	ipc_cursor_init(&c, f);
	(void)ipc_take_str(&c, m->msgid, sizeof(m->msgid));
	(void)ipc_check_msgid(&c, m->msgid);
	(void)ipc_take_str(&c, m->sender, sizeof(m->sender));
	(void)ipc_check_address(&c, m->sender, true);
	ipc_take_rcpt_list(&c, &m->rcpt, &m->nrcpt);
	uint8_t u8 = 0;
	(void)ipc_take_u8(&c, &u8);
	if (c.why == NULL && u8 > 1)
		c.why = "bad smtputf8 flag";
	m->smtputf8 = u8 == 1;
	if (ipc_finish(&c, why) == -1) {
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
		(void)ipc_take_str(&c, m->rcpt[i].reply, RELAY_REPLY_MAX + 1);
		if (c.why == NULL && (r < DELIVERY_OK || r > DELIVERY_RESULT_MAX))
			c.why = "bad result";
		ipc_check_kind(&c, m->rcpt[i].reply, ipc_text_line_is_valid, "bad text line");
		m->rcpt[i].result = (enum delivery_result)r;
		m->n = i + 1;
	}
	if (ipc_finish(&c, why) == -1) {
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
ipc_encode_local_user_ask(struct ipc_builder *b, uint32_t uid)
{
	ipc_build_init(b);
	ipc_put_u32(b, uid);
}

void
ipc_encode_local_user_answer(struct ipc_builder *b, const struct msg_local_user_answer *m)
{
	ipc_build_init(b);
	ipc_put_u8(b, (uint8_t)m->result);
	ipc_put_str(b, m->result == LOCAL_USER_FOUND ? m->login : "");
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
	ipc_put_u8(b, m->smtputf8 ? 1 : 0);
}

void
ipc_encode_relay_result(struct ipc_builder *b, const struct msg_relay_result *m)
{
	ipc_build_init(b);
	ipc_put_u16(b, (uint16_t)m->n);
	for (unsigned i = 0; i < m->n; i++) {
		ipc_put_u8(b, (uint8_t)m->rcpt[i].result);
		ipc_put_text_line(b, m->rcpt[i].reply, RELAY_REPLY_MAX);
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
	return ipc_finish(&c, why);
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
	if (ipc_finish(&c, why) == -1) {
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
