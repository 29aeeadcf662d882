/*
 * lib/ipc_ctl_test.c - the control messages: round trips through the
 * writer (records split over frames, text cleaned), who may send them, and
 * what the decoders refuse (a bad verb, an argument with a space, a key
 * outside [a-z0-9_], a control byte in a value, a bad number, counts that
 * do not match the bytes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ipc_decode.h"

static struct msg_ctl_answer answer;	/* 200 KB */

static int
decode_answer(const struct ipc_builder *b, const char **why)
{
	struct ipc_frame f = { MSG_CTL_ANSWER, (uint32_t)b->len, 1, b->buf, -1 };

	*why = NULL;
	return ipc_decode_ctl_answer(&f, &answer, why);
}

static int
decode_ask(const struct ipc_builder *b, struct msg_ctl_ask *m, const char **why)
{
	struct ipc_frame f = { MSG_CTL_ASK, (uint32_t)b->len, 1, b->buf, -1 };

	*why = NULL;
	return ipc_decode_ctl_ask(&f, m, why);
}

static void
test_ask(void **state)
{
	static struct ipc_builder b;
	const char *args[] = { "to", "example.org" }, *why;
	struct msg_ctl_ask m;

	(void)state;
	ipc_encode_ctl_ask(&b, CTL_QUEUE_LIST, 2, args);
	assert_int_equal(decode_ask(&b, &m, &why), 0);
	assert_int_equal(m.verb, CTL_QUEUE_LIST);
	assert_int_equal(m.nargs, 2);
	assert_string_equal(m.arg[1], "example.org");
	/* mxctl speaks in the supervisor's name; a role may not ask. */
	assert_int_equal(ipc_frame_check(ROLE_SUPERVISOR, ROLE_SUPERVISOR, MSG_CTL_ASK,
	    b.len, false, &why), 0);
	assert_int_equal(ipc_frame_check(ROLE_QUEUE, ROLE_SUPERVISOR, MSG_CTL_ASK,
	    b.len, false, &why), 0);
	assert_int_equal(ipc_frame_check(ROLE_SUPERVISOR, ROLE_SMTPD, MSG_CTL_ASK,
	    b.len, false, &why), -1);
	assert_int_equal(ipc_frame_check(ROLE_SUPERVISOR, ROLE_SUPERVISOR, MSG_CTL_ASK,
	    b.len, true, &why), -1);	/* never an fd */

	static const char *const bad_args[] = { "", "a b", "a\r\nb", "\x7f" };
	for (size_t i = 0; i < sizeof(bad_args) / sizeof(bad_args[0]); i++) {
		ipc_encode_ctl_ask(&b, CTL_QUEUE_SHOW, 1, &bad_args[i]);
		if (decode_ask(&b, &m, &why) != -1)
			fail_msg("accepted argument %zu", i);
	}
	ipc_encode_ctl_ask(&b, (enum ctl_verb)0, 0, NULL);
	assert_int_equal(decode_ask(&b, &m, &why), -1);
	ipc_encode_ctl_ask(&b, (enum ctl_verb)(CTL_VERB_MAX + 1), 0, NULL);
	assert_int_equal(decode_ask(&b, &m, &why), -1);
	ipc_build_init(&b);
	ipc_put_u8(&b, CTL_STATUS);
	ipc_put_u8(&b, CTL_ARGS_MAX + 1);
	assert_int_equal(decode_ask(&b, &m, &why), -1);
	assert_string_equal(why, "too many arguments");
	ipc_encode_ctl_ask(&b, CTL_STATUS, 0, NULL);
	ipc_put_u8(&b, 0);	/* trailing byte */
	assert_int_equal(decode_ask(&b, &m, &why), -1);
}

/* Collects every frame a writer sends, decoded. */
static unsigned	nframes;
static unsigned	nrecords;
static enum ctl_status last_status;
static char	last_text[CTL_TEXT_MAX + 1];

static void
collect(const struct ipc_builder *b, void *arg)
{
	const char *why;

	(void)arg;
	assert_false(b->overflow);
	if (decode_answer(b, &why) == -1)
		fail_msg("a frame of the writer does not decode: %s", why);
	assert_int_equal(ipc_frame_check(ROLE_SUPERVISOR, ROLE_QUEUE, MSG_CTL_ANSWER,
	    b->len, false, &why), 0);
	nframes++;
	nrecords += answer.nrec;
	last_status = answer.status;
	snprintf(last_text, sizeof(last_text), "%s", answer.text);
}

static void
test_writer_splits_and_cleans(void **state)
{
	static struct ctl_writer w;
	char value[CTL_VALUE_MAX + 100];

	(void)state;
	nframes = nrecords = 0;
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	value[3] = '\n';	/* cleaned to '?' */
	ctl_writer_init(&w, collect, NULL);
	for (unsigned i = 0; i < 400; i++) {
		ctl_rec_begin(&w);
		ctl_field_text(&w, "line", value);
		ctl_field_u64(&w, "n", i);
		ctl_field_number(&w, "bad", "1e9");	/* not ours: sent as 0 */
		ctl_field_text(&w, "Bad Key", "dropped");
	}
	ctl_rec_begin(&w);	/* an empty record is not sent */
	ctl_writer_finish(&w, CTL_OK, "400 records\r\n");
	assert_true(nframes > 1);
	assert_int_equal(nrecords, 400);
	assert_int_equal(last_status, CTL_OK);
	assert_string_equal(last_text, "400 records??");
	/* The last frame's fields, as the reader sees them. */
	assert_int_equal(answer.rec[answer.nrec - 1].n, 3);
	assert_string_equal(ctl_record_get(&answer, answer.nrec - 1, "n"), "399");
	assert_string_equal(ctl_record_get(&answer, answer.nrec - 1, "bad"), "0");
	const char *line = ctl_record_get(&answer, 0, "line");
	assert_int_equal(strlen(line), CTL_VALUE_MAX);
	assert_int_equal(line[3], '?');
	assert_null(ctl_record_get(&answer, 0, "missing"));
}

static void
test_answer_refusals(void **state)
{
	static struct ipc_builder b;
	const char *why;

	(void)state;
	ipc_encode_ctl_answer_bare(&b, CTL_ROLE_DOWN, "queue: not running");
	assert_int_equal(decode_answer(&b, &why), 0);
	assert_int_equal(answer.status, CTL_ROLE_DOWN);

	struct { const char *name, *key; uint8_t kind; const char *value; } bad[] = {
		{ "key upper", "Key", 0, "x" },
		{ "key empty", "", 0, "x" },
		{ "key long", "abcdefghijklmnopqrstuvwxyz0123456", 0, "x" },
		{ "value escape", "k", 0, "a\x1b[2Jb" },
		{ "value newline", "k", 0, "a\nb" },
		{ "number text", "k", 1, "12a" },
		{ "number dot", "k", 1, "1." },
		{ "number empty", "k", 1, "" },
		{ "kind", "k", 2, "1" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ipc_build_init(&b);
		ipc_put_u8(&b, CTL_OK);
		ipc_put_str(&b, "");
		ipc_put_u16(&b, 1);
		ipc_put_u8(&b, 1);
		ipc_put_str(&b, bad[i].key);
		ipc_put_u8(&b, bad[i].kind);
		ipc_put_str(&b, bad[i].value);
		if (decode_answer(&b, &why) != -1)
			fail_msg("accepted %s", bad[i].name);
	}
	/* Counts that promise more than the bytes hold. */
	ipc_build_init(&b);
	ipc_put_u8(&b, CTL_OK);
	ipc_put_str(&b, "");
	ipc_put_u16(&b, 2);
	ipc_put_u8(&b, 1);
	ipc_put_str(&b, "k");
	ipc_put_u8(&b, 0);
	ipc_put_str(&b, "v");
	assert_int_equal(decode_answer(&b, &why), -1);
	/* A bad status, a record of no field. */
	ipc_encode_ctl_answer_bare(&b, CTL_OK, "");
	b.buf[0] = CTL_STATUS_MAX + 1;
	assert_int_equal(decode_answer(&b, &why), -1);
	ipc_build_init(&b);
	ipc_put_u8(&b, CTL_OK);
	ipc_put_str(&b, "");
	ipc_put_u16(&b, 1);
	ipc_put_u8(&b, 0);
	assert_int_equal(decode_answer(&b, &why), -1);
	/* Only the supervisor receives answers. */
	assert_int_equal(ipc_frame_check(ROLE_SMTPD, ROLE_QUEUE, MSG_CTL_ANSWER,
	    CTL_ANSWER_MIN, false, &why), -1);
}

static void
test_numbers_and_keys(void **state)
{
	(void)state;
	assert_true(ctl_number_is_valid("0", 1));
	assert_true(ctl_number_is_valid("-12.5", 5));
	assert_false(ctl_number_is_valid("+1", 2));
	assert_false(ctl_number_is_valid(".5", 2));
	assert_false(ctl_number_is_valid("NaN", 3));
	assert_true(ctl_key_is_valid("homemx_dns_seconds", 18));
	assert_false(ctl_key_is_valid("a-b", 3));
}

static void
test_socket_path(void **state)
{
	struct config c;
	char path[CONFIG_PATH_MAX + 16];

	(void)state;
	memset(&c, 0, sizeof(c));
	snprintf(c.store_dir, sizeof(c.store_dir), "/var/lib/homemx/store");
	assert_int_equal(ctl_socket_path(&c, path, sizeof(path)), 0);
	assert_string_equal(path, "/var/lib/homemx/control");
	assert_int_equal(ctl_socket_path(&c, path, 10), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ask),
		cmocka_unit_test(test_writer_splits_and_cleans),
		cmocka_unit_test(test_answer_refusals),
		cmocka_unit_test(test_numbers_and_keys),
		cmocka_unit_test(test_socket_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
