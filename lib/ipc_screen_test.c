/*
 * lib/ipc_screen_test.c - the screen's messages: round trips, the table's
 * size bounds, and every kind of hostile field the decoders must refuse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ipc_screen.h"

static struct screen_facts
good_facts(void)
{
	struct screen_facts f;

	memset(&f, 0, sizeof(f));
	f.stage = SCREEN_STAGE_RCPT;
	f.flags = SCREEN_FACT_TLS | SCREEN_FACT_MAIL_SEEN;
	f.errors = 2;
	f.rcpt_seq = 3;
	snprintf(f.sess, sizeof(f.sess), "0badcafe");
	snprintf(f.client_ip, sizeof(f.client_ip), "2001:db8::25");
	snprintf(f.local_ip, sizeof(f.local_ip), "192.0.2.1");
	snprintf(f.helo, sizeof(f.helo), "mail.example.net");
	snprintf(f.mail_from, sizeof(f.mail_from), "a.b@example.net");
	snprintf(f.rcpt, sizeof(f.rcpt), "kim@example.test");
	return f;
}

static int
decode_facts(const struct ipc_builder *b, struct screen_facts *out, const char **why)
{
	struct ipc_frame fr = { MSG_SCREEN_ASK, (uint32_t)b->len, 1, b->buf, -1 };

	*why = NULL;
	return ipc_decode_screen_facts(&fr, out, why);
}

static void
test_facts_round_trip(void **state)
{
	static struct ipc_builder b;
	struct screen_facts f = good_facts(), g;
	const char *why;

	(void)state;
	ipc_encode_screen_facts(&b, &f);
	assert_false(b.overflow);
	assert_true(b.len >= IPC_SCREEN_FACTS_MIN && b.len <= IPC_SCREEN_FACTS_MAX);
	assert_int_equal(decode_facts(&b, &g, &why), 0);
	assert_memory_equal(&f, &g, sizeof(f));
	assert_int_equal(ipc_frame_check(ROLE_SCREEN, ROLE_SMTPD, MSG_SCREEN_ASK,
	    b.len, false, &why), 0);
	assert_int_equal(ipc_frame_check(ROLE_SMTPD, ROLE_SCREEN, MSG_SCREEN_ASK,
	    b.len, false, &why), -1);	/* wrong direction */
	assert_int_equal(ipc_frame_check(ROLE_QUEUE, ROLE_SMTPD, MSG_SCREEN_ASK,
	    b.len, false, &why), -1);	/* wrong receiver */
}

/* The largest legal facts fit the table's bound exactly. */
static void
test_facts_worst_case(void **state)
{
	static struct ipc_builder b;
	struct screen_facts f = good_facts(), g;
	const char *why;
	char local[65];

	(void)state;
	f.stage = SCREEN_STAGE_DATA;
	memset(f.sess, 'f', SCREEN_SESS_MAX);
	snprintf(f.client_ip, sizeof(f.client_ip), "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
	snprintf(f.local_ip, sizeof(f.local_ip), "%s", f.client_ip);
	memset(f.helo, 'h', SCREEN_HELO_MAX);
	memset(local, 'l', 64);
	local[64] = '\0';
	/* 64 + 1 + 191: a 256-byte path fits the 254/256 limits as addr.c has them */
	snprintf(f.mail_from, sizeof(f.mail_from), "%s@%s", local, "example.net");
	snprintf(f.rcpt, sizeof(f.rcpt), "%s", f.mail_from);
	memset(f.qid, 'a', SCREEN_QID_MAX);
	ipc_encode_screen_facts(&b, &f);
	assert_true(b.len <= IPC_SCREEN_FACTS_MAX);
	assert_int_equal(decode_facts(&b, &g, &why), 0);
}

static void
test_facts_hostile(void **state)
{
	static struct ipc_builder b;
	struct screen_facts f, g;
	const char *why;

	(void)state;
#define BAD(stmt, want) do { \
		f = good_facts(); stmt; ipc_encode_screen_facts(&b, &f); \
		if (decode_facts(&b, &g, &why) != -1) fail_msg("accepted: %s", #stmt); \
		if (strcmp(why, want) != 0) fail_msg("%s: got '%s', want '%s'", #stmt, why, want); \
	} while (0)
	BAD(f.stage = 0, "bad stage");
	BAD(f.stage = SCREEN_STAGE_MAX + 1, "bad stage");
	BAD(f.flags = 0x80, "bad flags");
	BAD(f.bounce_tag = SCREEN_TAG_MAX + 1, "bad bounce tag state");
	BAD(f.sess[0] = '\0', "bad session id");
	BAD(snprintf(f.sess, sizeof(f.sess), "0BADCAFE"), "bad session id");
	BAD(snprintf(f.sess, sizeof(f.sess), "0bad cafe"), "bad session id");
	BAD(snprintf(f.client_ip, sizeof(f.client_ip), "192.0.2.300"), "bad address");
	BAD(snprintf(f.local_ip, sizeof(f.local_ip), "mx.example"), "bad address");
	BAD(snprintf(f.helo, sizeof(f.helo), "a b"), "bad helo");
	BAD(snprintf(f.helo, sizeof(f.helo), "a\r\nMAIL"), "bad helo");
	BAD(snprintf(f.helo, sizeof(f.helo), "\xc3\xa4"), "bad helo");
	BAD(snprintf(f.mail_from, sizeof(f.mail_from), "no-at-sign"), "invalid address field");
	BAD(snprintf(f.rcpt, sizeof(f.rcpt), "kim@exa\xe2\x82\xacmple.test"), "invalid address field");
	BAD(f.rcpt[0] = '\0', "rcpt question without a recipient");
	BAD(f.rcpt_seq = 0, "rcpt question without a recipient");
	BAD(snprintf(f.qid, sizeof(f.qid), "0123"), "invalid queue id");
	BAD((f.stage = SCREEN_STAGE_DATA, f.qid[0] = '\0'),
	    "data hint or message question without a queue id");
	BAD((f.stage = SCREEN_STAGE_MESSAGE, f.qid[0] = '\0'),
	    "data hint or message question without a queue id");
#undef BAD
	/* truncated and trailing bytes */
	f = good_facts();
	ipc_encode_screen_facts(&b, &f);
	b.len--;
	assert_int_equal(decode_facts(&b, &g, &why), -1);
	b.len += 2;
	assert_int_equal(decode_facts(&b, &g, &why), -1);
	/* a string with an embedded NUL */
	ipc_build_init(&b);
	ipc_put_u8(&b, SCREEN_STAGE_CONNECT);
	ipc_put_u8(&b, 0);
	ipc_put_u16(&b, 0);
	ipc_put_u32(&b, 0);
	ipc_put_bytes_str(&b, "ab\0cd", 5);
	assert_int_equal(decode_facts(&b, &g, &why), -1);
}

static int
decode_verdict(const struct ipc_builder *b, struct screen_verdict *out, const char **why)
{
	struct ipc_frame fr = { MSG_SCREEN_VERDICT, (uint32_t)b->len, 1, b->buf, -1 };

	*why = NULL;
	return ipc_decode_screen_verdict(&fr, out, why);
}

static void
test_verdict(void **state)
{
	static struct ipc_builder b;
	struct screen_verdict v = { SCREEN_REJECT, SCREEN_REPLY_SPF_REJECT, -12, "0badcafe-3" }, w;
	const char *why;

	(void)state;
	ipc_encode_screen_verdict(&b, &v);
	assert_true(b.len >= IPC_SCREEN_VERDICT_MIN && b.len <= IPC_SCREEN_VERDICT_MAX);
	assert_int_equal(decode_verdict(&b, &w, &why), 0);
	assert_int_equal(w.score, -12);
	assert_string_equal(w.ref, "0badcafe-3");
#define BADV(stmt, want) do { \
		struct screen_verdict x = v; stmt; ipc_encode_screen_verdict(&b, &x); \
		if (decode_verdict(&b, &w, &why) != -1) fail_msg("accepted: %s", #stmt); \
		if (strcmp(why, want) != 0) fail_msg("%s: got '%s', want '%s'", #stmt, why, want); \
	} while (0)
	BADV(x.action = 0, "bad verdict");
	BADV(x.reply = SCREEN_REPLY_MAX + 1, "bad verdict");
	BADV(x.reply = SCREEN_REPLY_TEMPFAIL, "verdict and reply disagree");
	BADV((x.action = SCREEN_ACCEPT, x.reply = SCREEN_REPLY_REJECT), "verdict and reply disagree");
	BADV((x.action = SCREEN_GREYLIST, x.reply = SCREEN_REPLY_OK), "verdict and reply disagree");
	BADV(snprintf(x.ref, sizeof(x.ref), "a\r\n550 x"), "bad reference");
	BADV(x.ref[0] = '\0', "bad reference");
	BADV((x.action = SCREEN_TEMPFAIL, x.reply = SCREEN_REPLY_USER_UNKNOWN),
	    "verdict and reply disagree");
#undef BADV
	/* the spam memory's "unknown user" is a reject at RCPT */
	v.reply = SCREEN_REPLY_USER_UNKNOWN;
	ipc_encode_screen_verdict(&b, &v);
	assert_int_equal(decode_verdict(&b, &w, &why), 0);
	assert_int_equal(w.reply, SCREEN_REPLY_USER_UNKNOWN);
}

static int
decode_mverdict(const struct ipc_builder *b, struct screen_message_verdict *out,
    const char **why)
{
	struct ipc_frame fr = { MSG_SCREEN_MESSAGE_VERDICT, (uint32_t)b->len, 1, b->buf, -1 };

	*why = NULL;
	return ipc_decode_screen_message_verdict(&fr, out, why);
}

/* The end-of-DATA verdict: fields and ranges only with an accept, fields
 * that are real header lines, ranges in order. */
static void
test_message_verdict(void **state)
{
	static struct ipc_builder b;
	static struct screen_message_verdict m, got;
	const char *why;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.v = (struct screen_verdict){ SCREEN_ACCEPT, SCREEN_REPLY_OK, 1, "0badcafe-4" };
	snprintf(m.prepend, sizeof(m.prepend), "Authentication-Results: mx.example.test;\r\n"
	    "\tdkim=pass header.d=example.net\r\n");
	m.nstrip = 2;
	m.strip[0] = (struct byte_range){ 10, 40 };
	m.strip[1] = (struct byte_range){ 50, 7 };
	ipc_encode_screen_message_verdict(&b, &m);
	assert_int_equal(decode_mverdict(&b, &got, &why), 0);
	assert_memory_equal(&m, &got, sizeof(m));
#define BADM(stmt, want) do { \
		static struct screen_message_verdict x; x = m; stmt; \
		ipc_encode_screen_message_verdict(&b, &x); \
		if (decode_mverdict(&b, &got, &why) != -1) fail_msg("accepted: %s", #stmt); \
		if (strcmp(why, want) != 0) fail_msg("%s: got '%s', want '%s'", #stmt, why, want); \
	} while (0)
	BADM((x.v.action = SCREEN_REJECT, x.v.reply = SCREEN_REPLY_REJECT),
	    "header changes without an accept");
	BADM(snprintf(x.prepend, sizeof(x.prepend), "X-Bad: a\nb\r\n"), "bad header block");
	BADM(snprintf(x.prepend, sizeof(x.prepend), "X-Bad: \xc3\xa4\r\n"), "bad header block");
	BADM(x.strip[1].off = 49, "ranges empty, unsorted or overlapping");
	BADM(x.strip[1].len = 0, "ranges empty, unsorted or overlapping");
	BADM(x.strip[0].off = 0xffffffffu, "ranges empty, unsorted or overlapping");
	BADM((x.v.action = SCREEN_REJECT, x.v.reply = SCREEN_REPLY_VIRUS, x.prepend[0] = 0,
	    x.nstrip = 0, x.v.reply = SCREEN_REPLY_GREYLIST), "verdict and reply disagree");
#undef BADM
	/* a virus is a reject */
	memset(&m, 0, sizeof(m));
	m.v = (struct screen_verdict){ SCREEN_REJECT, SCREEN_REPLY_VIRUS, 0, "0badcafe-5" };
	ipc_encode_screen_message_verdict(&b, &m);
	assert_int_equal(decode_mverdict(&b, &got, &why), 0);
	/* an unknown user is a RCPT answer only */
	m.v.reply = SCREEN_REPLY_USER_UNKNOWN;
	ipc_encode_screen_message_verdict(&b, &m);
	assert_int_equal(decode_mverdict(&b, &got, &why), -1);
	assert_string_equal(why, "an unknown user at the end of DATA");
}

static int
decode_mask(const struct ipc_builder *b, struct screen_facts *f,
    char (*rcpt)[ADDR_MAX + 1], unsigned *n, const char **why)
{
	struct ipc_frame fr = { MSG_SCREEN_MESSAGE_ASK, (uint32_t)b->len, 1, b->buf, 3 };

	*why = NULL;
	return ipc_decode_screen_message_ask(&fr, f, rcpt, n, why);
}

/* The end-of-DATA question carries every recipient, each a mailbox. */
static void
test_message_ask(void **state)
{
	static struct ipc_builder b;
	static char rcpt[SCREEN_RCPTS_MAX + 1][ADDR_MAX + 1], got[SCREEN_RCPTS_MAX][ADDR_MAX + 1];
	struct screen_facts f = good_facts(), g;
	unsigned n = 0;
	const char *why;

	(void)state;
	f.stage = SCREEN_STAGE_MESSAGE;
	f.bounce_tag = SCREEN_TAG_VALID;
	snprintf(f.qid, sizeof(f.qid), "0123456789abcdef");
	for (unsigned i = 0; i <= SCREEN_RCPTS_MAX; i++)
		snprintf(rcpt[i], sizeof(rcpt[i]), "user%u@example.test", i);
	ipc_encode_screen_message_ask(&b, &f, (const char (*)[ADDR_MAX + 1])rcpt, 3);
	assert_true(b.len >= IPC_SCREEN_MESSAGE_ASK_MIN && b.len <= IPC_SCREEN_MESSAGE_ASK_MAX);
	assert_int_equal(decode_mask(&b, &g, got, &n, &why), 0);
	assert_memory_equal(&f, &g, sizeof(f));
	assert_int_equal(n, 3);
	assert_string_equal(got[2], "user2@example.test");
	ipc_encode_screen_message_ask(&b, &f, (const char (*)[ADDR_MAX + 1])rcpt,
	    SCREEN_RCPTS_MAX);
	assert_true(b.len <= IPC_SCREEN_MESSAGE_ASK_MAX);
	assert_int_equal(decode_mask(&b, &g, got, &n, &why), 0);
	assert_int_equal(n, SCREEN_RCPTS_MAX);
#define BADQ(stmt, count, want) do { \
		struct screen_facts x = f; stmt; \
		ipc_encode_screen_message_ask(&b, &x, (const char (*)[ADDR_MAX + 1])rcpt, count); \
		if (decode_mask(&b, &g, got, &n, &why) != -1) fail_msg("accepted: %s", #stmt); \
		if (strcmp(why, want) != 0) fail_msg("%s: got '%s', want '%s'", #stmt, why, want); \
	} while (0)
	BADQ((void)0, 0, "bad recipient count");
	BADQ((void)0, SCREEN_RCPTS_MAX + 1, "bad recipient count");
	BADQ(snprintf(rcpt[1], sizeof(rcpt[1]), "no-at"), 2, "invalid address field");
	BADQ(rcpt[1][0] = '\0', 2, "empty recipient");
	BADQ((snprintf(rcpt[1], sizeof(rcpt[1]), "u@example.test"), x.stage = SCREEN_STAGE_RCPT), 2, "message question at another stage");
#undef BADQ
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_facts_round_trip),
		cmocka_unit_test(test_facts_worst_case),
		cmocka_unit_test(test_facts_hostile),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_message_verdict),
		cmocka_unit_test(test_message_ask),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
