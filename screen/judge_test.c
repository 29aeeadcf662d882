/*
 * screen/judge_test.c - the end-of-DATA verdict of judge_decide_message:
 * an accepted message carries our Authentication-Results and the ranges
 * of the forged ones; one forged field more than a verdict can carry
 * turns it into a refusal, and the verdict line (which `mxctl why` and
 * fail2ban read) says so: verdict=reject, the reply the client got, the
 * override named, and ip= still last.
 */
#include <sys/mman.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "judge.h"
#include "message.h"

#define FORGED	"Authentication-Results: mx.home.test; dkim=pass header.d=bank.example\r\n"

static struct config		cfg;
static struct screen_facts	facts;
static struct eval_result	res;
static struct screen_message_verdict mv;
static char			line[JUDGE_LINE_MAX];

/* A message with n forged Authentication-Results fields. */
static struct screen_message *
message_with(unsigned n, int *fd)
{
	static const char head[] = "From: <a@example.net>\r\nDate: Sat, 5 Dec 2026 10:00:00 +0000\r\n";
	static const char tail[] = "Message-ID: <1@example.net>\r\n\r\nhello\r\n";
	struct screen_message *m;
	const char *why;

	*fd = memfd_create("judge_test", 0);
	assert_true(*fd != -1);
	assert_int_equal(write(*fd, head, sizeof(head) - 1), (ssize_t)sizeof(head) - 1);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(write(*fd, FORGED, sizeof(FORGED) - 1), (ssize_t)sizeof(FORGED) - 1);
	assert_int_equal(write(*fd, tail, sizeof(tail) - 1), (ssize_t)sizeof(tail) - 1);
	m = screen_message_open(*fd, &why);
	assert_non_null(m);
	return m;
}

static void
setup_facts(void)
{
	config_defaults(&cfg);
	snprintf(cfg.hostname, sizeof(cfg.hostname), "mx.home.test");
	memset(&facts, 0, sizeof(facts));
	facts.stage = SCREEN_STAGE_MESSAGE;
	facts.flags = SCREEN_FACT_MAIL_SEEN;
	facts.rcpt_seq = 3;
	snprintf(facts.sess, sizeof(facts.sess), "5e55");
	snprintf(facts.client_ip, sizeof(facts.client_ip), "198.51.100.7");
	snprintf(facts.mail_from, sizeof(facts.mail_from), "a@example.net");
	snprintf(facts.rcpt, sizeof(facts.rcpt), "kim@home.test");
	snprintf(facts.helo, sizeof(facts.helo), "mail.example.net");
	memset(&res, 0, sizeof(res));
	score_init(&res.score);
	res.complete = true;
}

static void
decide(unsigned nforged)
{
	int fd;
	struct screen_message *m = message_with(nforged, &fd);

	judge_decide_message(&cfg, &facts, m, &res, NULL, true, 0, &mv, line, sizeof(line));
	screen_message_free(m);
	close(fd);
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void
test_forged_fields_are_stripped(void **state)
{
	(void)state;
	setup_facts();
	decide(SCREEN_STRIP_MAX);
	assert_int_equal(mv.v.action, SCREEN_ACCEPT);
	assert_int_equal(mv.nstrip, SCREEN_STRIP_MAX);
	for (unsigned i = 0; i < mv.nstrip; i++)
		assert_int_equal(mv.strip[i].len, sizeof(FORGED) - 1);
	assert_true(strncmp(mv.prepend, "Authentication-Results: mx.home.test;", 37) == 0);
	assert_non_null(strstr(line, " verdict=accept reply=\"250 2.1.5\" "));
	assert_null(strstr(line, "override="));
	assert_true(ends_with(line, " ip=198.51.100.7"));
}

static void
test_one_more_is_a_logged_refusal(void **state)
{
	(void)state;
	setup_facts();
	decide(SCREEN_STRIP_MAX + 1);
	assert_int_equal(mv.v.action, SCREEN_REJECT);
	assert_int_equal(mv.v.reply, SCREEN_REPLY_REJECT);
	assert_string_equal(mv.v.ref, "5e55-3");
	assert_int_equal(mv.nstrip, 0);
	assert_string_equal(mv.prepend, "");
	assert_non_null(strstr(line, "sess=5e55 ref=5e55-3 stage=message "));
	assert_non_null(strstr(line, " verdict=reject reply=\"550 5.7.1\" "));
	assert_non_null(strstr(line, " override=authres_flood ip="));
	assert_true(ends_with(line, " ip=198.51.100.7"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forged_fields_are_stripped),
		cmocka_unit_test(test_one_more_is_a_logged_refusal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
