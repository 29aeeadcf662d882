/*
 * lib/ipc_bounce_test.c - the bounce-tag messages: round trips, who may
 * send them to whom, and the fields the decoders must refuse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"
#include "ipc_bounce.h"

static int
decode_check(const struct ipc_builder *b, char *out, size_t size, const char **why)
{
	struct ipc_frame f = { MSG_SMTPD_TAG_CHECK, (uint32_t)b->len, 1, b->buf, -1 };

	*why = NULL;
	return ipc_decode_tag_check(&f, out, size, why);
}

static void
test_check(void **state)
{
	static struct ipc_builder b;
	char out[ADDR_MAX + 1];
	const char *why;

	(void)state;
	ipc_encode_tag_check(&b, "prvs=0123da652d=kim@example.test");
	assert_int_equal(decode_check(&b, out, sizeof(out), &why), 0);
	assert_string_equal(out, "prvs=0123da652d=kim@example.test");
	assert_int_equal(ipc_frame_check(ROLE_QUEUE, ROLE_SMTPD, MSG_SMTPD_TAG_CHECK,
	    b.len, false, &why), 0);
	assert_int_equal(ipc_frame_check(ROLE_QUEUE, ROLE_SUBMISSION, MSG_SMTPD_TAG_CHECK,
	    b.len, false, &why), -1);	/* only port 25 asks */
	assert_int_equal(ipc_frame_check(ROLE_SMTPD, ROLE_QUEUE, MSG_SMTPD_TAG_CHECK,
	    b.len, false, &why), -1);	/* wrong direction */
	static const char *const bad[] = { "kim@example.test", "prvs=0123da652d=kim",
	    "prvs=0123da652d=.kim@example.test", "prvs=0123da652d=kim@exa mple.test",
	    "prvs=0123da652d=k\r\nim@example.test" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ipc_encode_tag_check(&b, bad[i]);
		if (decode_check(&b, out, sizeof(out), &why) != -1)
			fail_msg("accepted '%s'", bad[i]);
		assert_string_equal(why, "not a tagged address");
	}
	ipc_encode_tag_check(&b, "prvs=0123da652d=kim@example.test");
	b.len++;	/* a trailing byte */
	assert_int_equal(decode_check(&b, out, sizeof(out), &why), -1);
}

static void
test_checked(void **state)
{
	static struct ipc_builder b;
	enum bounce_tag_result r;
	const char *why;

	(void)state;
	for (int v = BOUNCE_TAG_VALID; v <= BOUNCE_TAG_RESULT_MAX; v++) {
		ipc_encode_tag_checked(&b, (enum bounce_tag_result)v);
		struct ipc_frame f = { MSG_QUEUE_TAG_CHECKED, (uint32_t)b.len, 1, b.buf, -1 };
		assert_int_equal(ipc_decode_tag_checked(&f, &r, &why), 0);
		assert_int_equal(r, v);
		assert_string_not_equal(bounce_tag_result_name(r), "?");
	}
	for (int v = 0; v < 256; v += BOUNCE_TAG_RESULT_MAX + 1) {
		ipc_encode_tag_checked(&b, (enum bounce_tag_result)v);
		struct ipc_frame f = { MSG_QUEUE_TAG_CHECKED, (uint32_t)b.len, 1, b.buf, -1 };
		assert_int_equal(ipc_decode_tag_checked(&f, &r, &why), -1);
		assert_string_equal(why, "bad tag result");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
