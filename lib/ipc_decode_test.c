/*
 * lib/ipc_decode_test.c - every message type, driven by the table.
 *
 * Each type has a sample builder that makes its smallest, a typical and its
 * largest legal message through the real encoders. For every type and
 * every size: the table's sender/receiver accept it, its length lies in
 * [min, max] and ipc_decode_any() accepts it - so a row whose max is below
 * what the encoder can produce fails here (MSG_RESOLVE_ANSWER did: 32
 * mailboxes of 254 bytes are 8194 bytes, the old max was 8000). A new row
 * without a sample fails test_every_type_has_samples.
 *
 * Run as `ipc_decode_test --write-corpus DIR` it writes these samples as
 * the seed corpus of tests/fuzz/fuzz_ipc.c instead (byte 0 = fuzz flags).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "batv.h"
#include "ipc_bounce.h"
#include "ipc_decode.h"
#include "ipc_screen.h"
#include "ipc_text.h"

enum sample_size { SAMPLE_MIN, SAMPLE_TYPICAL, SAMPLE_MAX, SAMPLE_SIZES };
static const char *const size_names[SAMPLE_SIZES] = { "min", "typical", "max" };

#define QID		"0123456789abcdef"
#define MAX_MAILBOX	254	/* RFC 5321 4.5.3.1.3: a path of 256 with <> */

/* ---- field makers ------------------------------------------------------- */

/* A valid domain of exactly len (1..253) characters, labels <= 63. */
static void
make_domain(char *out, size_t len)
{
	size_t o = 0, rem = len;

	while (rem > 63) {
		size_t label = rem - 64 >= 1 ? 63 : 62;
		memset(out + o, 'b', label);
		out[o + label] = '.';
		o += label + 1;
		rem -= label + 1;
	}
	memset(out + o, 'c', rem);
	out[o + rem] = '\0';
}

/* A valid mailbox of exactly len (5..254) bytes; variant makes it unique. */
static void
make_address(char *out, size_t len, unsigned variant)
{
	size_t local = len - 4 > 64 ? 64 : len - 4;

	memset(out, 'a', local);
	out[0] = (char)('a' + variant % 26);
	out[1] = (char)('a' + variant / 26 % 26);
	out[local] = '@';
	make_domain(out + local + 1, len - local - 1);
}

static size_t
address_len(enum sample_size k)
{
	return k == SAMPLE_MAX ? MAX_MAILBOX : k == SAMPLE_TYPICAL ? 17 : 5;
}

/* A header block of exactly len bytes (>= 24): one folded DKIM-Signature. */
static void
make_header_block(char *out, size_t len)
{
	static const char head[] = "DKIM-Signature: v=1;\r\n";
	size_t o = sizeof(head) - 1, rem = len - o;

	memcpy(out, head, o);
	while (rem > 0) {
		/* "\tb=" + body + CRLF: a fold of at most 998 + CRLF */
		size_t line = rem > 1000 ? 1000 : rem;
		if (rem - line > 0 && rem - line < 6)
			line -= 6;
		memset(out + o, 'x', line - 2);
		out[o] = '\t';
		memcpy(out + o + line - 2, "\r\n", 2);
		o += line;
		rem -= line;
	}
	out[o] = '\0';
}

static char *
filled(size_t n, char c)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* ---- one builder per type ----------------------------------------------- */

static int
build_sup_link(struct ipc_builder *b, enum sample_size k)
{
	ipc_encode_sup_link(b, k == SAMPLE_MAX ? ROLE_COUNT - 1 : ROLE_SMTPD);
	return 1;
}

static int
build_reload(struct ipc_builder *b, enum sample_size k)
{
	size_t n = k == SAMPLE_MAX ? CONFIG_TEXT_MAX : k == SAMPLE_TYPICAL ? 18 : 0;
	char *text = filled(n, 'x');

	if (k == SAMPLE_TYPICAL)
		memcpy(text, "hostname mx.test\n\n", 18);
	ipc_encode_reload(b, text, n);
	free(text);
	return -1;
}

static int
build_sup_tls(struct ipc_builder *b, enum sample_size k)
{
	ipc_encode_sup_tls(b, k == SAMPLE_MAX ? TLSPEM_PART_MAX : k == SAMPLE_TYPICAL ? 5812 : 1);
	return 1;
}

static int
build_peer_bad(struct ipc_builder *b, enum sample_size k)
{
	ipc_encode_peer_bad(b, k == SAMPLE_MAX ? ROLE_COUNT - 1 : ROLE_QUEUE);
	return -1;
}

static int
build_role_ready(struct ipc_builder *b, enum sample_size k)
{
	(void)k;
	ipc_encode_role_ready(b);
	return -1;
}

static int
build_role_fatal(struct ipc_builder *b, enum sample_size k)
{
	char *text = filled(k == SAMPLE_MAX ? IPC_FATAL_TEXT_MAX : 1, 'x');

	ipc_encode_role_fatal(b, k == SAMPLE_TYPICAL ?
	    "store /var/lib/homemx/store: Permission denied" : text);
	free(text);
	return -1;
}

static int
build_resolve_ask(struct ipc_builder *b, enum sample_size k)
{
	char a[ADDR_MAX + 1];

	make_address(a, address_len(k), 0);
	ipc_encode_resolve_ask(b, a);
	return -1;
}

static int
build_resolve_answer(struct ipc_builder *b, enum sample_size k)
{
	static struct msg_resolve_answer m;

	memset(&m, 0, sizeof(m));
	m.verdict = k == SAMPLE_MIN ? RESOLVE_UNKNOWN_USER : RESOLVE_LOCAL;
	m.nmailbox = k == SAMPLE_MAX ? IPC_MAX_MAILBOXES : k == SAMPLE_TYPICAL ? 2 : 0;
	for (unsigned i = 0; i < m.nmailbox; i++)
		make_address(m.mailbox[i], address_len(k), i);
	ipc_encode_resolve_answer(b, &m);
	return -1;
}

static int
build_msg_open(struct ipc_builder *b, enum sample_size k)
{
	(void)k;
	ipc_build_init(b);
	return -1;
}

static int
build_queue_opened(struct ipc_builder *b, enum sample_size k)
{
	if (k == SAMPLE_MIN) {
		ipc_encode_queue_opened(b, QUEUE_NOSPACE, "");
		return -1;
	}
	ipc_encode_queue_opened(b, QUEUE_OK, QID);
	return 1;
}

/* The most ranges a COMMIT or a message verdict carries. */
static void
make_strips(struct byte_range *r, unsigned *n)
{
	for (unsigned i = 0; i < SCREEN_STRIP_MAX; i++)
		r[i] = (struct byte_range){ i * 1000u, 500u + i };
	*n = SCREEN_STRIP_MAX;
}

/* COMMIT and RELAY: n recipients of one size. */
static char (*make_rcpts(enum sample_size k, unsigned *n))[ADDR_MAX + 1]
{
	char (*r)[ADDR_MAX + 1];

	*n = k == SAMPLE_MAX ? IPC_MAX_RCPTS : k == SAMPLE_TYPICAL ? 2 : 1;
	r = calloc(*n, sizeof(*r));
	assert_non_null(r);
	for (unsigned i = 0; i < *n; i++)
		make_address(r[i], address_len(k), i);
	return r;
}

static int
build_commit(struct ipc_builder *b, enum sample_size k)
{
	static struct msg_commit m;

	memset(&m, 0, sizeof(m));
	memcpy(m.msgid, QID, sizeof(m.msgid));
	if (k != SAMPLE_MIN)
		make_address(m.sender, address_len(k), 99);
	if (k == SAMPLE_MAX) {
		memset(m.helo, 'h', HELO_MAX);
		snprintf(m.client_ip, sizeof(m.client_ip), "%s",
		    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
	} else if (k == SAMPLE_TYPICAL) {
		snprintf(m.helo, sizeof(m.helo), "client.example");
		snprintf(m.client_ip, sizeof(m.client_ip), "192.0.2.1");
	}
	m.source = k == SAMPLE_TYPICAL ? SOURCE_SUBMISSION : SOURCE_SMTP;
	m.rcpt = make_rcpts(k, &m.nrcpt);
	if (k == SAMPLE_MAX) {	/* the screen's fields and ranges, at their bounds */
		make_header_block(m.prepend, SCREEN_PREPEND_MAX);
		make_strips(m.strip, &m.nstrip);
	}
	ipc_encode_commit(b, &m);
	free(m.rcpt);
	return -1;
}

static int
build_committed(struct ipc_builder *b, enum sample_size k)
{
	ipc_encode_committed(b, k == SAMPLE_MIN ? QUEUE_TEMPFAIL : QUEUE_OK, QID);
	return -1;
}

static int
build_abort(struct ipc_builder *b, enum sample_size k)
{
	(void)k;
	ipc_encode_abort(b, QID);
	return -1;
}

static int
build_deliver(struct ipc_builder *b, enum sample_size k)
{
	struct msg_deliver m = { QID, "", "" };

	if (k != SAMPLE_MIN)
		make_address(m.sender, address_len(k), 1);
	make_address(m.rcpt, address_len(k), 2);
	ipc_encode_deliver(b, &m);
	return 1;
}

static int
build_delivery_result(struct ipc_builder *b, enum sample_size k)
{
	char *reason = filled(k == SAMPLE_MAX ? IPC_REASON_MAX : 0, 'r');

	ipc_encode_delivery_result(b, k == SAMPLE_MIN ? DELIVERY_OK : DELIVERY_TEMPFAIL,
	    k == SAMPLE_TYPICAL ? "maildir: No space left on device" : reason);
	free(reason);
	return -1;
}

static int
build_auth_ask(struct ipc_builder *b, enum sample_size k)
{
	static struct msg_auth_ask m;

	memset(&m, 0, sizeof(m));
	if (k == SAMPLE_MAX) {
		memset(m.user, 'u', AUTH_USER_MAX);
		memset(m.password, 'p', AUTH_PASSWORD_MAX);
		snprintf(m.client_ip, sizeof(m.client_ip), "%s",
		    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
	} else if (k == SAMPLE_TYPICAL) {
		snprintf(m.user, sizeof(m.user), "kim@example.test");
		snprintf(m.password, sizeof(m.password), "secret");
		snprintf(m.client_ip, sizeof(m.client_ip), "2001:db8::1");
	} else
		m.user[0] = 'u';
	ipc_encode_auth_ask(b, &m);
	return -1;
}

static int
build_u8_answer(struct ipc_builder *b, enum sample_size k)
{
	ipc_encode_u8_answer(b, k == SAMPLE_MAX ? 3 : 1);	/* both enums go to 3 */
	return -1;
}

static int
build_sender_ask(struct ipc_builder *b, enum sample_size k)
{
	char u[ADDR_MAX + 1], a[ADDR_MAX + 1];

	make_address(u, address_len(k), 1);
	make_address(a, address_len(k), 2);
	ipc_encode_sender_ask(b, u, a);
	return -1;
}

static int
build_sign_ask(struct ipc_builder *b, enum sample_size k)
{
	char d[ADDR_DOMAIN_MAX + 1];

	make_domain(d, k == SAMPLE_MAX ? 253 : k == SAMPLE_TYPICAL ? 12 : 1);
	ipc_encode_sign_ask(b, d);
	return 1;
}

static int
build_sign_answer(struct ipc_builder *b, enum sample_size k)
{
	static char h[SIGN_HEADERS_MAX + 1];

	if (k == SAMPLE_MIN) {
		ipc_encode_sign_answer(b, SIGN_NO_KEY, "");
		return -1;
	}
	make_header_block(h, k == SAMPLE_MAX ? SIGN_HEADERS_MAX : 60);
	ipc_encode_sign_answer(b, SIGN_OK, h);
	return -1;
}

static int
build_relay(struct ipc_builder *b, enum sample_size k)
{
	static struct msg_relay m;

	memset(&m, 0, sizeof(m));
	memcpy(m.msgid, QID, sizeof(m.msgid));
	if (k != SAMPLE_MIN)
		make_address(m.sender, address_len(k), 99);
	m.rcpt = make_rcpts(k, &m.nrcpt);
	ipc_encode_relay(b, &m);
	free(m.rcpt);
	return 1;
}

static int
build_relay_result(struct ipc_builder *b, enum sample_size k)
{
	struct msg_relay_result m;

	m.n = k == SAMPLE_MAX ? IPC_MAX_RCPTS : k == SAMPLE_TYPICAL ? 2 : 1;
	m.rcpt = calloc(m.n, sizeof(*m.rcpt));
	assert_non_null(m.rcpt);
	for (unsigned i = 0; i < m.n; i++) {
		m.rcpt[i].result = DELIVERY_PERMFAIL;
		if (k == SAMPLE_MAX)	/* longer than fits: the encoder cuts */
			memset(m.rcpt[i].reply, 'y', IPC_REASON_MAX);
		else if (k == SAMPLE_TYPICAL)
			snprintf(m.rcpt[i].reply, sizeof(m.rcpt[i].reply),
			    "mx.example.net[192.0.2.25]: 550 5.1.1 no such user");
	}
	ipc_encode_relay_result(b, &m);
	free(m.rcpt);
	return -1;
}

static void
make_pin(struct family_pin *p, enum sample_size k, unsigned variant)
{
	make_domain(p->name, k == SAMPLE_MAX ? ADDR_DOMAIN_MAX - 2 : k == SAMPLE_TYPICAL ? 14 : 1);
	p->name[0] = (char)('a' + variant % 26);
	p->name[1 < strlen(p->name) ? 1 : 0] = (char)('a' + variant / 26 % 26);
	p->until = 1800000000;
}

static int
build_family_learned(struct ipc_builder *b, enum sample_size k)
{
	struct family_pin p;

	make_pin(&p, k, 0);
	ipc_encode_family_learned(b, &p);
	return -1;
}

static int
build_family_memory(struct ipc_builder *b, enum sample_size k)
{
	static struct family_pin pins[FAMILY_PINS_PER_FRAME];
	unsigned n = k == SAMPLE_MAX ? FAMILY_PINS_PER_FRAME : k == SAMPLE_TYPICAL ? 3 : 1;

	for (unsigned i = 0; i < n; i++)
		make_pin(&pins[i], k, i);
	ipc_encode_family_memory(b, pins, n);
	return -1;
}

static void
make_facts(struct screen_facts *f, enum sample_size k, uint8_t stage)
{
	memset(f, 0, sizeof(*f));
	f->stage = stage;
	f->rcpt_seq = stage == SCREEN_STAGE_RCPT ? 1 : 0;
	snprintf(f->sess, sizeof(f->sess), "%s", k == SAMPLE_MAX ? "0123456789abcdef" : "0badcafe");
	snprintf(f->client_ip, sizeof(f->client_ip), "%s", k == SAMPLE_MAX ?
	    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" : "192.0.2.7");
	snprintf(f->local_ip, sizeof(f->local_ip), "%s", f->client_ip);
	if (k == SAMPLE_MIN && stage != SCREEN_STAGE_RCPT)
		return;
	f->flags = SCREEN_FACT_MAIL_SEEN | (k == SAMPLE_MAX ? SCREEN_FACT_TLS : 0);
	if (k == SAMPLE_MAX)
		memset(f->helo, 'h', SCREEN_HELO_MAX);
	else
		snprintf(f->helo, sizeof(f->helo), "mail.example.net");
	make_address(f->mail_from, address_len(k), 1);
	if (stage == SCREEN_STAGE_RCPT || k == SAMPLE_MAX)
		make_address(f->rcpt, address_len(k), 2);
}

static int
build_screen_hint(struct ipc_builder *b, enum sample_size k)
{
	struct screen_facts f;

	make_facts(&f, k, k == SAMPLE_MAX ? SCREEN_STAGE_DATA : SCREEN_STAGE_CONNECT);
	if (f.stage == SCREEN_STAGE_DATA)
		memcpy(f.qid, QID, sizeof(f.qid));
	ipc_encode_screen_facts(b, &f);
	return -1;
}

static int
build_screen_ask(struct ipc_builder *b, enum sample_size k)
{
	struct screen_facts f;

	make_facts(&f, k, SCREEN_STAGE_RCPT);
	ipc_encode_screen_facts(b, &f);
	return -1;
}

static int
build_screen_verdict(struct ipc_builder *b, enum sample_size k)
{
	struct screen_verdict v = { SCREEN_REJECT, SCREEN_REPLY_REJECT, -12, "0badcafe-1" };

	if (k == SAMPLE_MAX)
		snprintf(v.ref, sizeof(v.ref), "%s", "0123456789abcdef-4294967295");
	ipc_encode_screen_verdict(b, &v);
	return -1;
}

static int
build_msg_read(struct ipc_builder *b, enum sample_size k)
{
	(void)k;
	ipc_encode_abort(b, QID);	/* the same shape: str msgid */
	return -1;
}

static int
build_screen_message_ask(struct ipc_builder *b, enum sample_size k)
{
	static char rcpt[SCREEN_RCPTS_MAX][ADDR_MAX + 1];
	unsigned n = k == SAMPLE_MAX ? SCREEN_RCPTS_MAX : k == SAMPLE_TYPICAL ? 3 : 1;
	struct screen_facts f;

	make_facts(&f, k, SCREEN_STAGE_MESSAGE);
	memcpy(f.qid, QID, sizeof(f.qid));
	if (k == SAMPLE_MAX)
		f.bounce_tag = SCREEN_TAG_MAX;
	for (unsigned i = 0; i < n; i++)
		make_address(rcpt[i], address_len(k), i);
	ipc_encode_screen_message_ask(b, &f, (const char (*)[ADDR_MAX + 1])rcpt, n);
	return 1;
}

/* A tagged recipient: "prvs=KDDDSSSSSS=" and a mailbox of the size. */
static int
build_tag_check(struct ipc_builder *b, enum sample_size k)
{
	struct batv_tag t = { 0, 123, { 0xab, 0xcd, 0xef }, "" };
	char tagged[ADDR_MAX + 1];
	size_t len = k == SAMPLE_MAX ? MAX_MAILBOX - BATV_OVERHEAD : address_len(k);

	make_address(t.mailbox, len, 3);
	if (len > 64 + 4 - BATV_OVERHEAD) {	/* the local part must stay <= 64 */
		memset(t.mailbox, 'a', 64 - BATV_OVERHEAD);
		t.mailbox[64 - BATV_OVERHEAD] = '@';
		make_domain(t.mailbox + 64 - BATV_OVERHEAD + 1, len - (64 - BATV_OVERHEAD) - 1);
	}
	if (batv_format(&t, tagged, sizeof(tagged)) == -1)
		fail_msg("tag sample does not format: %s", t.mailbox);
	ipc_encode_tag_check(b, tagged);
	return -1;
}

static int
build_tag_checked(struct ipc_builder *b, enum sample_size k)
{
	ipc_encode_tag_checked(b, k == SAMPLE_MIN ? BOUNCE_TAG_VALID : k == SAMPLE_TYPICAL ?
	    BOUNCE_TAG_BAD : BOUNCE_TAG_RESULT_MAX);
	return -1;
}

static int
build_screen_message_verdict(struct ipc_builder *b, enum sample_size k)
{
	static struct screen_message_verdict m;

	memset(&m, 0, sizeof(m));
	m.v = (struct screen_verdict){ SCREEN_ACCEPT, SCREEN_REPLY_OK, 3, "0badcafe-2" };
	if (k == SAMPLE_MIN)
		m.v = (struct screen_verdict){ SCREEN_REJECT, SCREEN_REPLY_VIRUS, 0, "1-1" };
	if (k == SAMPLE_TYPICAL)
		snprintf(m.prepend, sizeof(m.prepend), "Authentication-Results: mx.example.test;"
		    "\r\n\tspf=pass smtp.mailfrom=example.net\r\n");
	if (k == SAMPLE_MAX) {
		snprintf(m.v.ref, sizeof(m.v.ref), "%s", "0123456789abcdef-4294967295");
		make_header_block(m.prepend, SCREEN_PREPEND_MAX);
		make_strips(m.strip, &m.nstrip);
	}
	ipc_encode_screen_message_verdict(b, &m);
	return -1;
}

/* Returns the fd the frame carries: 1 = one, -1 = none. */
typedef int (*sample_builder)(struct ipc_builder *, enum sample_size);

static const sample_builder samples[MSG_TYPE_COUNT] = {
	[MSG_SUP_LINK] = build_sup_link,
	[MSG_SUP_RELOAD] = build_reload,
	[MSG_SUP_TLS] = build_sup_tls,
	[MSG_ROLE_PEER_BAD] = build_peer_bad,
	[MSG_ROLE_READY] = build_role_ready,
	[MSG_ROLE_FATAL] = build_role_fatal,
	[MSG_RESOLVE_ASK] = build_resolve_ask,
	[MSG_RESOLVE_ANSWER] = build_resolve_answer,
	[MSG_SMTPD_MSG_OPEN] = build_msg_open,
	[MSG_QUEUE_MSG_OPENED] = build_queue_opened,
	[MSG_SMTPD_MSG_COMMIT] = build_commit,
	[MSG_QUEUE_MSG_COMMITTED] = build_committed,
	[MSG_SMTPD_MSG_ABORT] = build_abort,
	[MSG_QUEUE_DELIVER] = build_deliver,
	[MSG_DELIVERY_RESULT] = build_delivery_result,
	[MSG_AUTH_ASK] = build_auth_ask,
	[MSG_AUTH_ANSWER] = build_u8_answer,
	[MSG_SENDER_ASK] = build_sender_ask,
	[MSG_SENDER_ANSWER] = build_u8_answer,
	[MSG_SIGN_ASK] = build_sign_ask,
	[MSG_SIGN_ANSWER] = build_sign_answer,
	[MSG_QUEUE_RELAY] = build_relay,
	[MSG_RELAY_RESULT] = build_relay_result,
	[MSG_RELAY_FAMILY_LEARNED] = build_family_learned,
	[MSG_QUEUE_FAMILY_MEMORY] = build_family_memory,
	[MSG_SCREEN_HINT] = build_screen_hint,
	[MSG_SCREEN_ASK] = build_screen_ask,
	[MSG_SCREEN_VERDICT] = build_screen_verdict,
	[MSG_SMTPD_MSG_READ] = build_msg_read,
	[MSG_QUEUE_MSG_READER] = build_queue_opened,	/* the same shape */
	[MSG_SCREEN_MESSAGE_ASK] = build_screen_message_ask,
	[MSG_SCREEN_MESSAGE_VERDICT] = build_screen_message_verdict,
	[MSG_SMTPD_TAG_CHECK] = build_tag_check,
	[MSG_QUEUE_TAG_CHECKED] = build_tag_checked,
};

/* The lowest role set in a mask: a legal sender or receiver of a row. */
static enum role
first_role(uint32_t mask)
{
	for (int r = 0; r < ROLE_COUNT; r++)
		if (mask & (1u << r))
			return (enum role)r;
	return ROLE_COUNT;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_every_type_has_samples(void **state)
{
	(void)state;
	for (uint32_t t = MSG_NONE + 1; t < MSG_TYPE_COUNT; t++)
		if (samples[t] == NULL)
			fail_msg("%s has no sample builder in lib/ipc_decode_test.c",
			    ipc_msg_name(t));
}

static void
test_samples_fit_the_table_and_decode(void **state)
{
	static struct ipc_builder b;

	(void)state;
	for (uint32_t t = MSG_NONE + 1; t < MSG_TYPE_COUNT; t++) {
		const struct ipc_msg_spec *spec = ipc_msg_spec(t);
		for (int k = 0; k < SAMPLE_SIZES; k++) {
			const char *why = NULL;
			int fd = samples[t](&b, (enum sample_size)k) == 1 ? 0 : -1;
			struct ipc_frame f = { t, (uint32_t)b.len, 1, b.buf, fd };

			assert_false(b.overflow);
			if (b.len < spec->min || b.len > spec->max)
				fail_msg("%s %s: %zu bytes, table says [%u, %u]", spec->name,
				    size_names[k], b.len, spec->min, spec->max);
			if (ipc_frame_check(first_role(spec->receivers),
			    first_role(spec->senders), t, b.len, fd != -1, &why) == -1)
				fail_msg("%s %s: table refuses: %s", spec->name, size_names[k], why);
			if (ipc_decode_any(&f, &why) == -1)
				fail_msg("%s %s: decoder refuses: %s", spec->name, size_names[k], why);
		}
	}
}

/* The rows with no field of variable syntax are tight: max is reachable. */
static void
test_worst_cases_are_exact(void **state)
{
	static const uint32_t tight[] = { MSG_SUP_RELOAD, MSG_ROLE_FATAL,
	    MSG_QUEUE_MSG_OPENED, MSG_QUEUE_MSG_COMMITTED, MSG_SMTPD_MSG_ABORT,
	    MSG_DELIVERY_RESULT, MSG_SIGN_ANSWER, MSG_RELAY_RESULT };
	static struct ipc_builder b;

	(void)state;
	for (size_t i = 0; i < sizeof(tight) / sizeof(tight[0]); i++) {
		(void)samples[tight[i]](&b, SAMPLE_MAX);
		if (b.len != ipc_msg_spec(tight[i])->max)
			fail_msg("%s: largest message %zu bytes, table max %u",
			    ipc_msg_name(tight[i]), b.len, ipc_msg_spec(tight[i])->max);
	}
}

/* The regression: a legal alias with 32 mailboxes of 254 bytes. */
static void
test_resolve_answer_32_long_mailboxes(void **state)
{
	static struct ipc_builder b;
	static struct msg_resolve_answer in, out;
	const char *why = NULL;

	(void)state;
	(void)build_resolve_answer(&b, SAMPLE_MAX);
	assert_int_equal(b.len, 2 + 32 * (2 + 254));
	assert_int_equal(ipc_frame_check(ROLE_SMTPD, ROLE_LOOKUP, MSG_RESOLVE_ANSWER,
	    b.len, false, &why), 0);
	struct ipc_frame f = { MSG_RESOLVE_ANSWER, (uint32_t)b.len, 1, b.buf, -1 };
	assert_int_equal(ipc_decode_resolve_answer(&f, &out, &why), 0);
	assert_int_equal(out.nmailbox, 32);
	make_address(in.mailbox[31], MAX_MAILBOX, 31);
	assert_int_equal(strlen(out.mailbox[31]), 254);
	assert_string_equal(out.mailbox[31], in.mailbox[31]);
}

/* A remote reply longer than a relay result holds is cut, not refused. */
static void
test_relay_reply_is_cut_to_fit(void **state)
{
	static struct ipc_builder b;
	struct msg_relay_result out;
	const char *why = NULL;

	(void)state;
	(void)build_relay_result(&b, SAMPLE_MAX);
	struct ipc_frame f = { MSG_RELAY_RESULT, (uint32_t)b.len, 1, b.buf, -1 };
	assert_int_equal(ipc_decode_relay_result(&f, &out, &why), 0);
	assert_int_equal(out.n, IPC_MAX_RCPTS);
	assert_int_equal(strlen(out.rcpt[0].reply), RELAY_REPLY_MAX);
	msg_relay_result_free(&out);
}

/* Free text is cleaned by the encoder and checked by the decoder. */
static void
test_free_text_fields(void **state)
{
	static struct ipc_builder b;
	static struct msg_sign_answer sa;
	struct msg_delivery_result dr;
	struct msg_commit cm;
	const char *why = NULL;

	(void)state;
	ipc_encode_delivery_result(&b, DELIVERY_PERMFAIL, "550 no\r\nX-Injected: 1\x1b");
	struct ipc_frame f = { MSG_DELIVERY_RESULT, (uint32_t)b.len, 1, b.buf, -1 };
	assert_int_equal(ipc_decode_delivery_result(&f, &dr, &why), 0);
	assert_string_equal(dr.reason, "550 no??X-Injected: 1?");

	/* A hand-made frame with CR LF in the reason is refused. */
	ipc_build_init(&b);
	ipc_put_u8(&b, DELIVERY_PERMFAIL);
	ipc_put_str(&b, "550 no\r\nX-Injected: 1");
	f.len = (uint32_t)b.len;
	assert_int_equal(ipc_decode_delivery_result(&f, &dr, &why), -1);
	assert_string_equal(why, "bad text line");

	/* Signature fields must be a header block, and only with OK. */
	ipc_encode_sign_answer(&b, SIGN_OK, "DKIM-Signature: v=1;\nX: y\r\n");
	f = (struct ipc_frame){ MSG_SIGN_ANSWER, (uint32_t)b.len, 1, b.buf, -1 };
	assert_int_equal(ipc_decode_sign_answer(&f, &sa, &why), -1);
	assert_string_equal(why, "bad header block");
	ipc_encode_sign_answer(&b, SIGN_FAILED, "DKIM-Signature: v=1;\r\n");
	f.len = (uint32_t)b.len;
	assert_int_equal(ipc_decode_sign_answer(&f, &sa, &why), -1);
	assert_string_equal(why, "headers without OK");

	/* HELO is a token, the client IP an address. */
	char rcpt[1][ADDR_MAX + 1] = { "kim@example.test" };
	struct msg_commit in = { QID, "", "bad helo", "192.0.2.1", SOURCE_SMTP, 1, rcpt };
	ipc_encode_commit(&b, &in);
	f = (struct ipc_frame){ MSG_SMTPD_MSG_COMMIT, (uint32_t)b.len, 1, b.buf, -1 };
	assert_int_equal(ipc_decode_commit(&f, &cm, &why), -1);
	assert_string_equal(why, "bad helo bytes");
	snprintf(in.helo, sizeof(in.helo), "ok.example");
	snprintf(in.client_ip, sizeof(in.client_ip), "1.2.3");
	ipc_encode_commit(&b, &in);
	f.len = (uint32_t)b.len;
	assert_int_equal(ipc_decode_commit(&f, &cm, &why), -1);
	assert_string_equal(why, "bad client ip");
}

/* ---- the fuzzer's seed corpus ------------------------------------------- */

#define FUZZ_FLAG_FD		0x80	/* tests/fuzz/fuzz_ipc.c: byte 0 */
#define FUZZ_FLAG_TABLE_ROLES	0x40
#define FUZZ_MAX_LEN		4096	/* scripts/run-fuzz -max_len */

static int
write_seed(const char *dir, uint32_t t, int k, const struct ipc_builder *b, bool fd)
{
	uint8_t frame[1 + IPC_HEADER_SIZE];
	char path[512];
	FILE *fp;

	frame[0] = FUZZ_FLAG_TABLE_ROLES | (fd ? FUZZ_FLAG_FD : 0);
	for (int i = 0; i < 4; i++) {
		frame[1 + i] = (uint8_t)(t >> (24 - 8 * i));
		frame[5 + i] = (uint8_t)(b->len >> (24 - 8 * i));
		frame[9 + i] = 0;
		frame[13 + i] = (uint8_t)(i == 3 ? 7 : 0);
	}
	snprintf(path, sizeof(path), "%s/%s-%s", dir, ipc_msg_name(t), size_names[k]);
	if ((fp = fopen(path, "wb")) == NULL ||
	    fwrite(frame, sizeof(frame), 1, fp) != 1 ||
	    (b->len > 0 && fwrite(b->buf, b->len, 1, fp) != 1) || fclose(fp) != 0) {
		perror(path);
		return -1;
	}
	return 0;
}

static int
write_corpus(const char *dir)
{
	static struct ipc_builder b;
	int n = 0;

	for (uint32_t t = MSG_NONE + 1; t < MSG_TYPE_COUNT; t++)
		for (int k = 0; k < SAMPLE_SIZES; k++) {
			bool fd = samples[t](&b, (enum sample_size)k) == 1;
			if (1 + IPC_HEADER_SIZE + b.len > FUZZ_MAX_LEN)
				continue;	/* libFuzzer would cut it */
			if (write_seed(dir, t, k, &b, fd) == -1)
				return 1;
			n++;
		}
	printf("%d seeds for %d types in %s\n", n, MSG_TYPE_COUNT - 1, dir);
	return 0;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_type_has_samples),
		cmocka_unit_test(test_samples_fit_the_table_and_decode),
		cmocka_unit_test(test_worst_cases_are_exact),
		cmocka_unit_test(test_resolve_answer_32_long_mailboxes),
		cmocka_unit_test(test_relay_reply_is_cut_to_fit),
		cmocka_unit_test(test_free_text_fields),
	};

	if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
		return write_corpus(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
