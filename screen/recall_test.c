/*
 * screen/recall_test.c - the rules of screen/recall.h on a real memory:
 * which facts make an own bounce, backscatter or a backscatter source,
 * what overrides the thresholds (and a virus that stays refused), which
 * end-of-DATA verdicts count as spam, and trusted clients left alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "memory_testlib.h"
#include "recall.h"

#define DAY	86400
#define T0	((time_t)2000000000)

static struct screen_memory *mem;

static int
setup(void **state)
{
	(void)state;
	memory_test_begin("/tmp/hmx-recall-XXXXXX");
	cfg.screen.spam_memory_time = 30 * DAY;
	cfg.screen.backscatter_memory_time = 4 * DAY;
	cfg.screen.ntrusted = 0;
	assert_int_equal(screen_net_parse("203.0.113.0/24", &cfg.screen.trusted[0]), 0);
	cfg.screen.ntrusted = 1;
	mem = open_mem(1000);
	return 0;
}

static int
teardown(void **state)
{
	memory_close(mem);
	return memory_test_end(state);
}

static struct screen_facts
facts(enum screen_stage stage, const char *ip, const char *from, uint8_t tag)
{
	struct screen_facts f;

	memset(&f, 0, sizeof(f));
	f.stage = (uint8_t)stage;
	f.flags = SCREEN_FACT_MAIL_SEEN | (from[0] == '\0' ? SCREEN_FACT_NULL_SENDER : 0);
	f.rcpt_seq = 1;
	snprintf(f.sess, sizeof(f.sess), "0badcafe");
	snprintf(f.client_ip, sizeof(f.client_ip), "%s", ip);
	snprintf(f.mail_from, sizeof(f.mail_from), "%s", from);
	snprintf(f.rcpt, sizeof(f.rcpt), "kim@example.test");
	f.bounce_tag = tag;
	return f;
}

/* "name:+w ..." of the items recall_score added. */
static enum recall_override
scored(const struct screen_facts *f, time_t now, char *out, size_t size)
{
	static struct score s;
	enum recall_override o;

	score_init(&s);
	o = recall_score(&cfg, f, mem, now, &s);
	score_format(&s, out, size);
	return o;
}

static void
test_bounce_senders(void **state)
{
	struct screen_facts f = facts(SCREEN_STAGE_RCPT, "192.0.2.7", "", 0);

	(void)state;
	assert_true(recall_is_bounce_sender(&f));
	f = facts(SCREEN_STAGE_RCPT, "192.0.2.7", "MAILER-DAEMON@mx.example.net", 0);
	assert_true(recall_is_bounce_sender(&f));
	f = facts(SCREEN_STAGE_RCPT, "192.0.2.7", "mailer-daemonx@mx.example.net", 0);
	assert_false(recall_is_bounce_sender(&f));
	f = facts(SCREEN_STAGE_RCPT, "192.0.2.7", "postmaster@mx.example.net", 0);
	assert_false(recall_is_bounce_sender(&f));
}

struct tag_case {
	const char		*from;
	uint8_t			 tag;
	enum recall_override	 want;
	const char		*items;
};

static void
test_tag_rules(void **state)
{
	static const struct tag_case cases[] = {
		{ "", SCREEN_TAG_VALID, RECALL_OWN_BOUNCE, "bounce_tag_valid:-10" },
		{ "Mailer-Daemon@mx.example.net", SCREEN_TAG_VALID, RECALL_OWN_BOUNCE,
		  "bounce_tag_valid:-10" },
		{ "someone@example.net", SCREEN_TAG_VALID, RECALL_NONE, "" },	/* not a bounce */
		{ "", SCREEN_TAG_BAD, RECALL_NONE, "backscatter:+10" },
		{ "", SCREEN_TAG_UNTAGGED, RECALL_NONE, "backscatter:+10" },
		{ "someone@example.net", SCREEN_TAG_UNTAGGED, RECALL_NONE, "" },
		{ "someone@example.net", SCREEN_TAG_BAD, RECALL_NONE, "" },
		{ "", SCREEN_TAG_NONE, RECALL_NONE, "" },		/* bounce_tags off */
	};
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct screen_facts f = facts(SCREEN_STAGE_RCPT, "192.0.2.7", cases[i].from,
		    cases[i].tag);
		enum recall_override o = scored(&f, T0, out, sizeof(out));
		if (o != cases[i].want || strcmp(out, cases[i].items) != 0)
			fail_msg("<%s> tag %u: got %d \"%s\", want %d \"%s\"", cases[i].from,
			    cases[i].tag, o, out, cases[i].want, cases[i].items);
		assert_int_equal(recall_decides_rcpt(&cfg, &f, mem, T0),
		    cases[i].want == RECALL_OWN_BOUNCE);
	}
	/* a trusted client (a backup MX) is left alone */
	struct screen_facts f = facts(SCREEN_STAGE_RCPT, "203.0.113.5", "", SCREEN_TAG_BAD);
	assert_int_equal(scored(&f, T0, out, sizeof(out)), RECALL_NONE);
	assert_string_equal(out, "");
}

/* A backscatter bounce marks its client for backscatter_memory_time. */
static void
test_backscatter_source(void **state)
{
	struct screen_facts bounce = facts(SCREEN_STAGE_RCPT, "192.0.2.7", "", SCREEN_TAG_BAD);
	struct screen_facts later = facts(SCREEN_STAGE_MESSAGE, "192.0.2.7", "a@example.net",
	    SCREEN_TAG_NONE);
	struct screen_facts other = facts(SCREEN_STAGE_RCPT, "192.0.2.8", "a@example.net", 0);
	char out[256];

	(void)state;
	recall_learn_rcpt(&cfg, &later, mem, T0);	/* not a bounce: nothing */
	assert_int_equal(scored(&later, T0, out, sizeof(out)), RECALL_NONE);
	assert_string_equal(out, "");
	recall_learn_rcpt(&cfg, &bounce, mem, T0);
	(void)scored(&later, T0 + 60, out, sizeof(out));
	assert_string_equal(out, "backscatter_source:+5");
	(void)scored(&other, T0 + 60, out, sizeof(out));
	assert_string_equal(out, "");
	(void)scored(&later, T0 + 4 * DAY, out, sizeof(out));
	assert_string_equal(out, "");
	/* weight 0: the bounce is not backscatter enough to remember */
	cfg.screen.weights[W_BACKSCATTER] = 0;
	recall_learn_rcpt(&cfg, &bounce, mem, T0 + 5 * DAY);
	(void)scored(&later, T0 + 5 * DAY + 1, out, sizeof(out));
	assert_string_equal(out, "");
}

static unsigned
learn(const struct screen_facts *f, enum screen_action a, enum screen_reply r, int score)
{
	static const char rcpt[2][ADDR_MAX + 1] = { "kim@example.test", "ann@example.test" };
	struct screen_verdict v = { (uint8_t)a, (uint8_t)r, score, "0badcafe-3" };

	return recall_learn_message(&cfg, f, mem, &v, rcpt, 2, T0);
}

/* Only a reject by score or a virus is spam to remember. */
static void
test_spam_memory(void **state)
{
	struct screen_facts msg = facts(SCREEN_STAGE_MESSAGE, "192.0.2.7", "a@spam.example", 0);
	struct screen_facts rcpt = facts(SCREEN_STAGE_RCPT, "192.0.2.99", "a@spam.example", 0);
	struct screen_facts ann = rcpt;
	char out[256];
	enum screen_action a = SCREEN_ACCEPT;
	enum screen_reply r = SCREEN_REPLY_OK;

	(void)state;
	snprintf(ann.rcpt, sizeof(ann.rcpt), "ann@example.test");
	assert_int_equal(learn(&msg, SCREEN_TEMPFAIL, SCREEN_REPLY_DNS_TEMPFAIL, 12), 0);
	assert_int_equal(learn(&msg, SCREEN_REJECT, SCREEN_REPLY_SPF_REJECT, 3), 0);
	assert_int_equal(learn(&msg, SCREEN_REJECT, SCREEN_REPLY_REJECT, 9), 0);	/* dmarc_reject alone */
	assert_false(recall_decides_rcpt(&cfg, &rcpt, mem, T0 + 1));
	assert_int_equal(learn(&msg, SCREEN_REJECT, SCREEN_REPLY_REJECT, 10), 2);
	/* the same /24, sender and recipient: decided without checks */
	assert_true(recall_decides_rcpt(&cfg, &rcpt, mem, T0 + 1));
	assert_true(recall_decides_rcpt(&cfg, &ann, mem, T0 + 1));
	assert_int_equal(scored(&rcpt, T0 + 1, out, sizeof(out)), RECALL_SPAM);
	assert_string_equal(out, "spam_memory:0badcafe-3:+0");
	recall_apply(RECALL_SPAM, &a, &r);
	assert_int_equal(a, SCREEN_REJECT);
	assert_int_equal(r, SCREEN_REPLY_USER_UNKNOWN);
	/* not at the end of DATA, not for another sender, not for long */
	struct screen_facts other = rcpt;
	snprintf(other.mail_from, sizeof(other.mail_from), "b@spam.example");
	assert_false(recall_decides_rcpt(&cfg, &other, mem, T0 + 1));
	struct screen_facts eod = rcpt;
	eod.stage = SCREEN_STAGE_MESSAGE;
	assert_int_equal(scored(&eod, T0 + 1, out, sizeof(out)), RECALL_NONE);
	assert_false(recall_decides_rcpt(&cfg, &rcpt, mem, T0 + 30 * DAY));
	/* a virus counts whatever the score */
	struct screen_facts v = facts(SCREEN_STAGE_MESSAGE, "198.51.100.1", "b@x.example", 0);
	assert_int_equal(learn(&v, SCREEN_REJECT, SCREEN_REPLY_VIRUS, 0), 2);
	/* a trusted client never; the memory off never */
	struct screen_facts t = facts(SCREEN_STAGE_MESSAGE, "203.0.113.5", "c@x.example", 0);
	assert_int_equal(learn(&t, SCREEN_REJECT, SCREEN_REPLY_REJECT, 50), 0);
	cfg.screen.spam_memory_time = 0;
	assert_int_equal(learn(&msg, SCREEN_REJECT, SCREEN_REPLY_REJECT, 50), 0);
	assert_false(recall_decides_rcpt(&cfg, &rcpt, mem, T0 + 1));
}

/* An own bounce is accepted whatever the thresholds said, short of a virus. */
static void
test_apply(void **state)
{
	static const struct { enum screen_action a; enum screen_reply r; } in[] = {
		{ SCREEN_REJECT, SCREEN_REPLY_REJECT },
		{ SCREEN_GREYLIST, SCREEN_REPLY_GREYLIST },
		{ SCREEN_TEMPFAIL, SCREEN_REPLY_DNS_TEMPFAIL },
		{ SCREEN_REJECT, SCREEN_REPLY_SPF_REJECT },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		enum screen_action a = in[i].a;
		enum screen_reply r = in[i].r;
		recall_apply(RECALL_OWN_BOUNCE, &a, &r);
		assert_int_equal(a, SCREEN_ACCEPT);
		assert_int_equal(r, SCREEN_REPLY_OK);
		a = in[i].a;
		r = in[i].r;
		recall_apply(RECALL_NONE, &a, &r);
		assert_int_equal(a, in[i].a);
		assert_int_equal(r, in[i].r);
	}
	enum screen_action a = SCREEN_REJECT;
	enum screen_reply r = SCREEN_REPLY_VIRUS;
	recall_apply(RECALL_OWN_BOUNCE, &a, &r);
	assert_int_equal(a, SCREEN_REJECT);
	assert_int_equal(r, SCREEN_REPLY_VIRUS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bounce_senders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tag_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backscatter_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spam_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
