/*
 * screen/headercheck_test.c - check_headers: the items each header
 * section gives (From/Date/Message-ID counts, unparseable and
 * multi-domain From, 8-bit bytes with and without SMTPUTF8, malformed and
 * oversize sections) and the forgery of our own domains (outside, not
 * trusted, no aligned DKIM pass).
 */
#include <sys/mman.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "checks.h"
#include "dnscache.h"
#include "message.h"

#define OK_HDR	"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <1@x>\r\n"

static struct config	cfg;
static int		msg_fd = -1;

static struct screen_message *
open_bytes(const char *text, size_t len)
{
	const char *why;

	if (msg_fd != -1)
		close(msg_fd);
	msg_fd = memfd_create("msg", 0);
	assert_int_equal(write(msg_fd, text, len), (ssize_t)len);
	return screen_message_open(msg_fd, &why);
}

/* The item names of s, space-separated. */
static void
names(const struct score *s, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->n; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? " " : "", s->item[i].name);
}

/* Runs check_headers; dkim_d: a passing signature's d= ("" none). */
static void
run(const char *text, size_t len, uint8_t flags, const char *ip, const char *dkim_d,
    struct score *s)
{
	struct screen_message *m = open_bytes(text, len);
	struct screen_env env = { &cfg, NULL, m };
	struct screen_facts f;
	struct dns_cache *c = dns_cache_new(8);
	struct dns_view *v = dv_new(c);

	memset(&f, 0, sizeof(f));
	f.flags = flags;
	snprintf(f.client_ip, sizeof(f.client_ip), "%s", ip);
	score_init(s);
	if (dkim_d[0] != '\0') {
		s->ndkim = 1;
		s->dkim[0].result = AUTH_PASS;
		snprintf(s->dkim[0].domain, sizeof(s->dkim[0].domain), "%s", dkim_d);
	}
	check_headers(&env, &f, v, s);
	assert_int_equal(dv_misses(v), 0);	/* no DNS at all */
	dv_free(v);
	dns_cache_free(c);
	screen_message_free(m);
}

static void
test_rows(void **state)
{
	static const struct {
		const char	*text;
		uint8_t		 flags;
		const char	*ip, *dkim_d;
		const char	*want;
	} rows[] = {
		{ "From: a@ext.example\r\n" OK_HDR "\r\n", 0, "192.0.2.7", "", "" },
		{ OK_HDR "\r\n", 0, "192.0.2.7", "", "header_no_from" },
		{ "From: undisclosed:;\r\n" OK_HDR "\r\n", 0, "192.0.2.7", "", "header_no_from" },
		{ "From: a@ext.example\r\nFrom: b@ext.example\r\n" OK_HDR "\r\n", 0, "192.0.2.7", "",
		  "header_from_multiple" },
		{ "From: a@one.example, b@two.example\r\n" OK_HDR "\r\n", 0, "192.0.2.7", "",
		  "header_from_multiple" },
		{ "From: a@one.example, a@ONE.example\r\n" OK_HDR "\r\n", 0, "192.0.2.7", "", "" },
		{ "From: <broken\r\n" OK_HDR "\r\n", 0, "192.0.2.7", "", "header_from_invalid" },
		{ "From: a@[192.0.2.1]\r\n" OK_HDR "\r\n", 0, "192.0.2.7", "", "header_from_invalid" },
		{ "From: a@ext.example\r\nMessage-ID: <1@x>\r\n\r\n", 0, "192.0.2.7", "", "header_no_date" },
		{ "From: a@ext.example\r\n" OK_HDR "Date: Tue, 2 Jan 2024 10:00:00 +0000\r\n\r\n", 0,
		  "192.0.2.7", "", "header_date_multiple" },
		{ "From: a@ext.example\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n", 0,
		  "192.0.2.7", "", "header_no_message_id" },
		{ "From: a@ext.example\r\n" OK_HDR "message-id: <2@x>\r\n\r\n", 0, "192.0.2.7", "",
		  "header_message_id_multiple" },
		{ "Subject: caf\xc3\xa9\r\nFrom: a@ext.example\r\n" OK_HDR "\r\n", 0, "192.0.2.7", "",
		  "header_8bit" },
		{ "Subject: caf\xc3\xa9\r\nFrom: a@ext.example\r\n" OK_HDR "\r\n", SCREEN_FACT_SMTPUTF8,
		  "192.0.2.7", "", "" },
		{ "From: a@ext.example\r\n" OK_HDR "\r\nbody caf\xc3\xa9\r\n", 0, "192.0.2.7", "", "" },
		{ "From: a@ext.example\r\n" OK_HDR "not a field\r\n\r\n", 0, "192.0.2.7", "",
		  "header_malformed" },
		{ "Subject: nothing\r\n\r\n", 0, "192.0.2.7", "",
		  "header_no_from header_no_date header_no_message_id" },
		/* our own domain */
		{ "From: kim@home.test\r\n" OK_HDR "\r\n", 0, "192.0.2.7", "", "forged_local_from" },
		{ "From: Kim <KIM@Home.Test>\r\n" OK_HDR "\r\n", 0, "192.0.2.7", "other.example",
		  "forged_local_from" },
		{ "From: kim@home.test\r\n" OK_HDR "\r\n", 0, "192.0.2.7", "home.test", "" },
		{ "From: kim@home.test\r\n" OK_HDR "\r\n", 0, "192.0.2.7", "mail.home.test", "" },
		{ "From: kim@home.test\r\n" OK_HDR "\r\n", 0, "127.0.0.1", "", "" },	/* trusted */
		{ "From: x@ext.example, kim@home.test\r\n" OK_HDR "\r\n", 0, "192.0.2.7", "ext.example",
		  "header_from_multiple forged_local_from" },
		{ "From: kim@sub.home.test\r\n" OK_HDR "\r\n", 0, "192.0.2.7", "", "" },	/* not ours */
		{ "From: \"kim@home.test\" <x@ext.example>\r\n" OK_HDR "\r\n", 0, "192.0.2.7", "", "" },
	};
	char got[512];
	struct score s;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		run(rows[i].text, strlen(rows[i].text), rows[i].flags, rows[i].ip, rows[i].dkim_d, &s);
		names(&s, got, sizeof(got));
		if (strcmp(got, rows[i].want) != 0)
			fail_msg("row %zu: got '%s', want '%s'", i, got, rows[i].want);
	}
}

static void
test_weights_and_reasons(void **state)
{
	static const char text[] = "From: kim@home.test\r\nFrom: a@b.example\r\n\r\n";
	const int *w = cfg.screen.weights;
	struct score s;

	(void)state;
	run(text, sizeof(text) - 1, 0, "198.51.100.9", "", &s);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.item[0].name, "header_from_multiple");
	assert_string_equal(s.item[0].reason, "2 From fields");
	assert_int_equal(s.item[0].weight, w[W_HEADER_FROM_MULTIPLE]);
	assert_string_equal(s.item[3].name, "forged_local_from");
	assert_int_equal(s.item[3].weight, 12);
	assert_string_equal(s.item[3].reason,
	    "From: our domain home.test, not signed by it, from 198.51.100.9");
}

static void
test_oversize(void **state)
{
	static const char head[] = "From: a@ext.example\r\n" OK_HDR "X: ";
	size_t size = MSG_HEADER_MAX + 1000;
	char *text = malloc(size);
	struct score s;
	char got[256];

	(void)state;
	memset(text, 'x', size);
	memcpy(text, head, sizeof(head) - 1);
	run(text, size, 0, "192.0.2.7", "", &s);
	names(&s, got, sizeof(got));
	assert_string_equal(got, "header_oversize");
	assert_int_equal(s.item[0].weight, 10);
	free(text);
}

static void
test_no_message(void **state)
{
	struct screen_env env = { &cfg, NULL, NULL };
	struct screen_facts f;
	struct score s;

	(void)state;
	memset(&f, 0, sizeof(f));
	score_init(&s);
	check_headers(&env, &f, NULL, &s);
	assert_int_equal(s.n, 0);
}

static int
setup(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.hostname, sizeof(cfg.hostname), "mx.home.test");
	snprintf(cfg.domains[0], sizeof(cfg.domains[0]), "home.test");
	snprintf(cfg.domains[1], sizeof(cfg.domains[1]), "other-home.test");
	cfg.ndomains = 2;
	screen_config_defaults(&cfg.screen);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_weights_and_reasons),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_no_message),
	};
	int rc = cmocka_run_group_tests(tests, setup, NULL);

	if (msg_fd != -1)
		close(msg_fd);
	return rc;
}
