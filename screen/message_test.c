/*
 * screen/message_test.c - the header index (exact offsets, folding, the
 * empty line), hostile header sections (no colon, orphan continuation
 * lines, bare LF, NUL and 8-bit bytes, no empty line, over the size and
 * field limits), body reads in chunks, and the From: mailbox parser.
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

#include "message.h"

static int	msg_fd = -1;

static struct screen_message *
open_bytes(const char *text, size_t len)
{
	const char *why = NULL;
	struct screen_message *m;

	if (msg_fd != -1)
		close(msg_fd);
	msg_fd = memfd_create("msg", 0);
	assert_true(msg_fd >= 0);
	assert_int_equal(write(msg_fd, text, len), (ssize_t)len);
	m = screen_message_open(msg_fd, &why);
	if (m == NULL)
		fail_msg("open: %s", why);
	return m;
}

static struct screen_message *
open_text(const char *text)
{
	return open_bytes(text, strlen(text));
}

/* "name" of field i, and its whole raw text, as strings. */
static void
expect_field(const struct screen_message *m, size_t i, const char *name,
    const char *raw)
{
	const struct msg_field *f = &m->field[i];

	assert_true(i < m->nfields);
	if (f->name_len != strlen(name) || memcmp(m->hdr + f->off, name, f->name_len) != 0)
		fail_msg("field %zu: got name '%.*s', want '%s'", i, (int)f->name_len,
		    m->hdr + f->off, name);
	if (f->len != strlen(raw) || memcmp(m->hdr + f->off, raw, f->len) != 0)
		fail_msg("field %zu: got '%.*s', want '%s'", i, (int)f->len, m->hdr + f->off, raw);
}

static void
test_index(void **state)
{
	static const char text[] =
	    "From: a@example.org\r\n"
	    "Subject: folded\r\n\tover two lines\r\n"
	    "X-Odd :  obsolete space before the colon\r\n"
	    "\r\n"
	    "body line\r\n"
	    "From: not a header\r\n";
	struct screen_message *m = open_text(text);
	const struct msg_field *f;
	char body[64];
	size_t vlen;
	const char *v;

	(void)state;
	assert_int_equal(m->nfields, 3);
	expect_field(m, 0, "From", "From: a@example.org");
	expect_field(m, 1, "Subject", "Subject: folded\r\n\tover two lines");
	expect_field(m, 2, "X-Odd", "X-Odd :  obsolete space before the colon");
	assert_int_equal(m->field[0].off, 0);
	assert_int_equal(m->field[0].end, 21);
	assert_int_equal(m->field[1].off, 21);
	assert_int_equal(m->field[1].end, 21 + 17 + 17);
	assert_int_equal(m->field[2].end, m->body_off - 2);
	assert_true(m->has_separator);
	assert_false(m->malformed);
	assert_false(m->oversize);
	assert_false(m->eight_bit);
	assert_int_equal(m->body_off, strlen(text) - 31);
	assert_int_equal(msg_field_count(m, "from"), 1);	/* the body's "From:" is not one */
	f = msg_field_nth(m, "SUBJECT", 0);
	assert_ptr_equal(f, &m->field[1]);
	assert_null(msg_field_nth(m, "Subject", 1));
	v = msg_field_value(m, f, &vlen);
	assert_int_equal(vlen, strlen(" folded\r\n\tover two lines"));
	assert_memory_equal(v, " folded\r\n\tover two lines", vlen);
	assert_int_equal(msg_body_size(m), 31);
	assert_int_equal(msg_body_read(m, 0, body, 9), 9);
	assert_memory_equal(body, "body line", 9);
	assert_int_equal(msg_body_read(m, 11, body, sizeof(body)), 20);
	assert_memory_equal(body, "From: not a header\r\n", 20);
	assert_int_equal(msg_body_read(m, 31, body, sizeof(body)), 0);
	assert_int_equal(m->from.status, MSG_FROM_OK);
	assert_int_equal(m->from.ndomains, 1);
	assert_string_equal(m->from.domain[0], "example.org");
	screen_message_free(m);
}

/* Lines that are not fields are skipped, and what follows is still seen. */
static void
test_hostile_lines(void **state)
{
	static const char text[] =
	    "\tcontinuation of nothing\r\n"
	    "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	    "no colon on this line\r\n"
	    "Bad Name: a space in the name\r\n"
	    ": empty name\r\n"
	    "Authentication-Results: mx.home.test; dkim=pass\r\n"
	    "X-Bare-LF: one\nX-Next: two\n"
	    "\n"
	    "body\r\n";
	struct screen_message *m = open_text(text);

	(void)state;
	assert_true(m->malformed);
	assert_int_equal(m->nfields, 4);
	expect_field(m, 0, "Date", "Date: Mon, 1 Jan 2024 00:00:00 +0000");
	expect_field(m, 1, "Authentication-Results",
	    "Authentication-Results: mx.home.test; dkim=pass");
	expect_field(m, 2, "X-Bare-LF", "X-Bare-LF: one");
	expect_field(m, 3, "X-Next", "X-Next: two");
	assert_true(m->has_separator);
	assert_int_equal(msg_body_size(m), 6);
	assert_int_equal(m->from.status, MSG_FROM_NONE);
	assert_int_equal(m->from.nfields, 0);
	screen_message_free(m);
}

static void
test_edges(void **state)
{
	static const char nul_8bit[] = "X-Nul: a\0b\r\nX-8bit: caf\xc3\xa9\r\n\r\n";
	struct screen_message *m;

	(void)state;
	m = open_text("");	/* empty */
	assert_int_equal(m->nfields, 0);
	assert_false(m->has_separator);
	assert_int_equal(msg_body_size(m), 0);
	screen_message_free(m);

	m = open_text("\r\n");	/* only the empty line: all body */
	assert_int_equal(m->nfields, 0);
	assert_true(m->has_separator);
	assert_int_equal(m->body_off, 2);
	screen_message_free(m);

	m = open_text("Subject: no empty line, no final CRLF");
	assert_int_equal(m->nfields, 1);
	expect_field(m, 0, "Subject", "Subject: no empty line, no final CRLF");
	assert_false(m->has_separator);
	assert_int_equal(msg_body_size(m), 0);
	assert_false(m->oversize);
	screen_message_free(m);

	m = open_text("Subject: ends with a fold\r\n \r\n\r\nbody");
	assert_int_equal(m->nfields, 1);
	expect_field(m, 0, "Subject", "Subject: ends with a fold\r\n ");
	assert_int_equal(msg_body_size(m), 4);
	screen_message_free(m);

	m = open_bytes(nul_8bit, sizeof(nul_8bit) - 1);
	assert_int_equal(m->nfields, 2);
	assert_int_equal(m->field[0].len, 10);
	assert_true(m->eight_bit);
	screen_message_free(m);

	m = open_text("Subject: x\r\n\r\nbody \xff is not the header\r\n");
	assert_false(m->eight_bit);
	screen_message_free(m);
}

/* Past MSG_HEADER_MAX: the fields that fit, nothing cut in half. */
static void
test_oversize_bytes(void **state)
{
	size_t size = MSG_HEADER_MAX + 4096, o = 0, want = 0;
	char *text = malloc(size);
	struct screen_message *m;

	(void)state;
	while (o + 300 < size) {
		int n = snprintf(text + o, size - o, "X-Filler: %0280zu\r\n", want);
		if (o + (size_t)n <= MSG_HEADER_MAX)
			want++;
		o += (size_t)n;
	}
	memcpy(text + o, "\r\nbody\r\n", 8);
	m = open_bytes(text, o + 8);
	assert_true(m->oversize);
	assert_int_equal(m->nfields, want);
	assert_true(m->field[m->nfields - 1].end <= MSG_HEADER_MAX);
	assert_int_equal(msg_body_size(m), 0);	/* unknown: no body is read */
	screen_message_free(m);

	/* a field folded across the limit is not indexed either */
	o = 0;
	o += (size_t)snprintf(text, size, "From: a@example.org\r\nX-Long: x");
	while (o + 10 < size)
		o += (size_t)snprintf(text + o, size - o, "\r\n folded");
	m = open_bytes(text, o);
	assert_true(m->oversize);
	assert_int_equal(m->nfields, 1);
	assert_int_equal(m->from.status, MSG_FROM_OK);
	screen_message_free(m);
	free(text);
}

static void
test_oversize_fields(void **state)
{
	size_t size = (MSG_FIELDS_MAX + 10) * 8 + 16, o = 0;
	char *text = malloc(size);
	struct screen_message *m;

	(void)state;
	for (size_t i = 0; i < MSG_FIELDS_MAX + 10; i++)
		o += (size_t)snprintf(text + o, size - o, "X: %03zu\r\n", i % 1000);
	o += (size_t)snprintf(text + o, size - o, "\r\nbody");
	m = open_bytes(text, o);
	assert_true(m->oversize);
	assert_int_equal(m->nfields, MSG_FIELDS_MAX);
	screen_message_free(m);

	o = 0;	/* exactly the limit is fine */
	for (size_t i = 0; i < MSG_FIELDS_MAX; i++)
		o += (size_t)snprintf(text + o, size - o, "X: %03zu\r\n", i % 1000);
	o += (size_t)snprintf(text + o, size - o, "\r\nbody");
	m = open_bytes(text, o);
	assert_false(m->oversize);
	assert_int_equal(m->nfields, MSG_FIELDS_MAX);
	assert_int_equal(msg_body_size(m), 4);
	screen_message_free(m);
	free(text);
}

static void
test_from_parser(void **state)
{
	static const struct {
		const char		*value;
		enum msg_from_status	 status;
		const char		*domains;	/* space-separated */
	} rows[] = {
		{ " a@example.org", MSG_FROM_OK, "example.org" },
		{ " Kim <kim@Example.ORG>", MSG_FROM_OK, "example.org" },
		{ " \"ceo@bank.example\" <x@evil.example>", MSG_FROM_OK, "evil.example" },
		{ " ceo@bank.example <x@evil.example>", MSG_FROM_OK, "evil.example" },
		{ " x@evil.example (ceo@bank.example)", MSG_FROM_OK, "evil.example" },
		{ " (c (nested) <a@b.example>) real@ok.example", MSG_FROM_OK, "ok.example" },
		{ " \"a@b\"@quoted.example", MSG_FROM_OK, "quoted.example" },
		{ " \"a\\\"@b\" <z@esc.example>", MSG_FROM_OK, "esc.example" },
		{ " <@route.example,@r2.example:u@target.example>", MSG_FROM_OK, "target.example" },
		{ " a@one.example, b@two.example", MSG_FROM_OK, "one.example two.example" },
		{ " a@one.example, B@ONE.example", MSG_FROM_OK, "one.example" },
		{ " team: a@one.example, b@two.example;", MSG_FROM_OK, "one.example two.example" },
		{ " undisclosed-recipients:;", MSG_FROM_NONE, "" },
		{ " ", MSG_FROM_NONE, "" },
		{ " a@b.example,,", MSG_FROM_OK, "b.example" },
		{ " kim\r\n\t<kim@folded.example>", MSG_FROM_OK, "folded.example" },
		{ " k@b\xc3\xbc" "cher.example", MSG_FROM_OK, "xn--bcher-kva.example" },
		{ " no-at-sign", MSG_FROM_INVALID, "" },
		{ " @nolocal.example", MSG_FROM_INVALID, "nolocal.example" },
		{ " a@", MSG_FROM_INVALID, "" },
		{ " a@[192.0.2.1]", MSG_FROM_INVALID, "" },
		{ " a@b@c.example", MSG_FROM_INVALID, "b c.example" },
		{ " <a@b.example", MSG_FROM_INVALID, "b.example" },
		{ " a@b.example>", MSG_FROM_INVALID, "b.example" },
		{ " <a@b.example> <c@d.example>", MSG_FROM_INVALID, "b.example d.example" },
		{ " <a@b.example> c@d.example", MSG_FROM_INVALID, "b.example d.example" },
		{ " \"unterminated <a@b.example>", MSG_FROM_INVALID, "b.example" },
		{ " (unterminated a@b.example", MSG_FROM_INVALID, "b.example" },
		{ " a@bad_domain.example", MSG_FROM_INVALID, "" },
		{ " <>", MSG_FROM_INVALID, "" },
		/* what does not parse still names its domains, display name and all */
		{ " \"Bank\" <ceo@bank.example", MSG_FROM_INVALID, "bank.example" },
		{ " x@evil.example <ceo@bank.example", MSG_FROM_INVALID, "evil.example bank.example" },
		{ " a@b.example, <ceo@bank.example.", MSG_FROM_INVALID, "b.example bank.example" },
		{ " ok@good.example, broken", MSG_FROM_INVALID, "good.example" },
		{ " a@d1.example, a@d2.example, a@d3.example, a@d4.example, a@d5.example",
		  MSG_FROM_TOO_MANY, "d1.example d2.example d3.example d4.example" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct msg_from from = { .status = MSG_FROM_NONE };
		char got[5 * (ADDR_DOMAIN_MAX + 1)] = "";
		size_t o = 0;

		msg_from_parse(rows[i].value, strlen(rows[i].value), &from);
		for (size_t d = 0; d < from.ndomains; d++)
			o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s", d ? " " : "",
			    from.domain[d]);
		if (from.status != rows[i].status || strcmp(got, rows[i].domains) != 0)
			fail_msg("'%s': got status %d domains '%s', want %d '%s'", rows[i].value,
			    from.status, got, rows[i].status, rows[i].domains);
	}
}

/* Two From fields: the domains of both count. */
static void
test_from_fields(void **state)
{
	struct screen_message *m = open_text(
	    "From: x@attacker.example\r\nSubject: s\r\nfrom: ceo@home.example\r\n\r\n");

	(void)state;
	assert_int_equal(m->from.nfields, 2);
	assert_int_equal(m->from.status, MSG_FROM_OK);
	assert_int_equal(m->from.ndomains, 2);
	assert_string_equal(m->from.domain[1], "home.example");
	screen_message_free(m);
}

static void
test_not_a_file(void **state)
{
	int p[2];
	const char *why = NULL;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_null(screen_message_open(p[0], &why));
	assert_non_null(why);
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_hostile_lines),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_oversize_bytes),
		cmocka_unit_test(test_oversize_fields),
		cmocka_unit_test(test_from_parser),
		cmocka_unit_test(test_from_fields),
		cmocka_unit_test(test_not_a_file),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	if (msg_fd != -1)
		close(msg_fd);
	return rc;
}
