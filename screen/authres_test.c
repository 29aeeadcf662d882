/*
 * screen/authres_test.c - the Authentication-Results writer byte for
 * byte (results, the null sender's HELO identity, "none", hostile values
 * quoted or dropped, folding within 78 and never past 998 columns, a
 * buffer too small) and the finder of fields claiming our authserv-id
 * (exact ranges with their continuation lines; look-alike ids left alone).
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

#include "authres.h"
#include "message.h"

static int	msg_fd = -1;

static void
facts(struct screen_facts *f, const char *from, const char *helo)
{
	memset(f, 0, sizeof(*f));
	f->flags = SCREEN_FACT_MAIL_SEEN | (from[0] == '\0' ? SCREEN_FACT_NULL_SENDER : 0);
	snprintf(f->mail_from, sizeof(f->mail_from), "%s", from);
	snprintf(f->helo, sizeof(f->helo), "%s", helo);
}

static void
add_dkim(struct score *s, enum auth_result r, const char *d, const char *sel,
    const char *alg, const char *b, const char *reason)
{
	struct score_dkim *k = &s->dkim[s->ndkim++];

	k->result = r;
	snprintf(k->domain, sizeof(k->domain), "%s", d);
	snprintf(k->selector, sizeof(k->selector), "%s", sel);
	snprintf(k->alg, sizeof(k->alg), "%s", alg);
	snprintf(k->b, sizeof(k->b), "%s", b);
	snprintf(k->reason, sizeof(k->reason), "%s", reason);
	s->dkim_done = true;
}

static void
add_dmarc(struct score *s, enum auth_result r, const char *from, const char *policy)
{
	struct score_dmarc *d = &s->dmarc[s->ndmarc++];

	d->result = r;
	snprintf(d->from_domain, sizeof(d->from_domain), "%s", from);
	snprintf(d->policy, sizeof(d->policy), "%s", policy);
}

static void
expect_text(const struct screen_facts *f, const struct score *s, const char *want)
{
	char buf[AUTHRES_FIELD_MAX];
	int n = authres_format("mx.home.test", f, s, buf, sizeof(buf));

	if (n != (int)strlen(want) || strcmp(buf, want) != 0)
		fail_msg("got (%d)\n%s\nwant (%zu)\n%s", n, buf, strlen(want), want);
}

static void
test_writer(void **state)
{
	struct screen_facts f;
	struct score s;

	(void)state;
	facts(&f, "bounce@lists.example.net", "mail.example.net");
	score_init(&s);
	score_add(&s, "no_ptr", 4, "x");
	score_add(&s, "spf_pass", -2, "spf=pass");
	add_dkim(&s, AUTH_PASS, "example.net", "sel1", "rsa-sha256", "AbCdEfGh", "");
	add_dkim(&s, AUTH_FAIL, "example.net", "sel2", "ed25519-sha256", "zz+/9aQ=", "body hash mismatch");
	add_dmarc(&s, AUTH_PASS, "example.net", "");
	expect_text(&f, &s,
	    "Authentication-Results: mx.home.test;\r\n"
	    "\tspf=pass smtp.mailfrom=lists.example.net;\r\n"
	    "\tdkim=pass header.d=example.net header.s=sel1 header.a=rsa-sha256\r\n"
	    "\theader.b=AbCdEfGh;\r\n"
	    "\tdkim=fail reason=\"body hash mismatch\" header.d=example.net header.s=sel2\r\n"
	    "\theader.a=ed25519-sha256 header.b=\"zz+/9aQ=\";\r\n"
	    "\tdmarc=pass header.from=example.net\r\n");

	/* the null sender: SPF checked the HELO; DMARC failed, unsigned */
	facts(&f, "", "mail.example.net");
	score_init(&s);
	score_add(&s, "spf_temperror", 0, "x");
	s.dkim_done = true;
	add_dmarc(&s, AUTH_FAIL, "example.org", "reject");
	add_dmarc(&s, AUTH_NONE, "other.example", "");
	expect_text(&f, &s,
	    "Authentication-Results: mx.home.test;\r\n"
	    "\tspf=temperror smtp.helo=mail.example.net;\r\n"
	    "\tdkim=none;\r\n"
	    "\tdmarc=fail (policy=reject) header.from=example.org;\r\n"
	    "\tdmarc=none header.from=other.example\r\n");

	/* nothing checked (no MAIL yet, no message) */
	score_init(&s);
	expect_text(&f, &s, "Authentication-Results: mx.home.test; none\r\n");
}

/* Sender bytes that would break the field's syntax are quoted or dropped. */
static void
test_hostile_values(void **state)
{
	struct screen_facts f;
	struct score s;

	(void)state;
	facts(&f, "", "evil; spf=pass (x) \"q\" \\b \xc3\xa9\r\nX: y");
	score_init(&s);
	score_add(&s, "spf_neutral", 0, "x");
	add_dkim(&s, AUTH_PERMERROR, "a;dkim=pass", "s(1)", "", "", "malformed signature");
	expect_text(&f, &s,
	    "Authentication-Results: mx.home.test;\r\n"
	    "\tspf=neutral smtp.helo=\"evil; spf=pass (x) \\\"q\\\" \\\\b X: y\";\r\n"
	    "\tdkim=permerror reason=\"malformed signature\" header.d=\"a;dkim=pass\"\r\n"
	    "\theader.s=\"s(1)\"\r\n");
}

/* Longest values: folded at token boundaries, no line over 998. */
static void
test_folding(void **state)
{
	char longd[ADDR_DOMAIN_MAX + 1], buf[AUTHRES_FIELD_MAX];
	struct screen_facts f;
	struct score s;
	int n;

	(void)state;
	memset(longd, 'a', sizeof(longd) - 1);
	longd[sizeof(longd) - 1] = '\0';
	for (size_t i = 60; i < sizeof(longd) - 1; i += 61)
		longd[i] = '.';
	facts(&f, "x@example.net", "h");
	score_init(&s);
	score_add(&s, "spf_pass", -2, "x");
	for (int i = 0; i < SCORE_DKIM_MAX; i++)
		add_dkim(&s, AUTH_FAIL, longd, longd, "rsa-sha256", "\"\"\"\"\"\"\"\"",
		    "0123456789012345678901234567890123456789012345678901234567890\"\\");
	for (int i = 0; i < SCORE_DMARC_MAX; i++)
		add_dmarc(&s, AUTH_FAIL, longd, "quarantine");
	n = authres_format("mx.home.test", &f, &s, buf, sizeof(buf));
	assert_true(n > 0);
	for (char *line = buf, *end; *line != '\0'; line = end + 2) {
		size_t len;
		end = strstr(line, "\r\n");
		assert_non_null(end);
		len = (size_t)(end - line);
		assert_true(len <= AUTHRES_LINE_HARD);
		/* over 78 only when one token alone is longer */
		if (len > AUTHRES_LINE_SOFT)
			assert_null(memchr(line + 1, ' ', len - 1));
		assert_true(line == buf || line[0] == '\t');	/* every fold has WSP */
	}
	/* too small a buffer: an error, never a cut field */
	assert_int_equal(authres_format("mx.home.test", &f, &s, buf, 200), -1);
	assert_string_equal(buf, "");
}

static struct screen_message *
open_text(const char *text)
{
	const char *why;

	if (msg_fd != -1)
		close(msg_fd);
	msg_fd = memfd_create("msg", 0);
	assert_int_equal(write(msg_fd, text, strlen(text)), (ssize_t)strlen(text));
	return screen_message_open(msg_fd, &why);
}

static void
test_finder(void **state)
{
	static const char text[] =
	    "Authentication-Results: mx.home.test; dkim=pass header.d=bank.example\r\n"
	    "Received: from x\r\n"
	    "authentication-results: MX.Home.Test.;\r\n\tspf=pass\r\n smtp.mailfrom=bank.example\r\n"
	    "Authentication-Results: mx.home.test.evil; dkim=pass\r\n"
	    "Authentication-Results: mx.home.testing; dkim=pass\r\n"
	    "Authentication-Results: (forged) \"mx.home.test\" 1; none\r\n"
	    "Authentication-Results: other.example; dkim=pass header.d=mx.home.test\r\n"
	    "Authentication-Results:\r\n mx.home.test; dmarc=pass\r\n"
	    "Authentication-Results : mx.home.test(c); arc=pass\r\n"
	    "Authentication-Results: \"mx.home.test; none\r\n"
	    "Subject: s\r\n"
	    "\r\n"
	    "Authentication-Results: mx.home.test; in the body\r\n";
	static const char *const want[] = {
	    "Authentication-Results: mx.home.test; dkim=pass header.d=bank.example\r\n",
	    "authentication-results: MX.Home.Test.;\r\n\tspf=pass\r\n smtp.mailfrom=bank.example\r\n",
	    "Authentication-Results: (forged) \"mx.home.test\" 1; none\r\n",
	    "Authentication-Results:\r\n mx.home.test; dmarc=pass\r\n",
	    "Authentication-Results : mx.home.test(c); arc=pass\r\n",
	    "Authentication-Results: \"mx.home.test; none\r\n",	/* never closed */
	};
	struct screen_message *m = open_text(text);
	struct authres_range r[8];
	size_t n = authres_find_ours(m, "mx.home.test", r, 8);

	(void)state;
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++)
		if (r[i].len != strlen(want[i]) || memcmp(text + r[i].off, want[i], r[i].len) != 0)
			fail_msg("range %zu: got '%.*s', want '%s'", i, (int)r[i].len,
			    text + r[i].off, want[i]);
	assert_int_equal(authres_find_ours(m, "mx.home.test", r, 2), 6);	/* counted past max */
	assert_int_equal(authres_find_ours(m, "other.example", r, 8), 1);
	assert_int_equal(authres_find_ours(m, "nobody.example", r, 8), 0);
	screen_message_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_hostile_values),
		cmocka_unit_test(test_folding),
		cmocka_unit_test(test_finder),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	if (msg_fd != -1)
		close(msg_fd);
	return rc;
}
