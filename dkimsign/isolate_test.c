/*
 * dkimsign/isolate_test.c - signing in a child: the answer comes back
 * whole, the parent does not grow with libopendkim's Ed25519 leak, and a
 * child that dies only fails its own message.
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

#include "isolate.h"
#include "signer.h"
#include "testkeys.h"

static struct signer	*signer;
static char		*rsa_pem, *ed_pem;

static const char message[] =
	"From: kim@example.test\r\n"
	"Subject: isolated\r\n"
	"\r\n"
	"body\r\n";

static int
setup(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(isolate_init(), 0);
	if ((signer = signer_new(&why)) == NULL)
		fail_msg("signer_new: %s", why);
	rsa_pem = test_key_pem("RSA", 2048, false, NULL);
	ed_pem = test_key_pem("ED25519", 0, false, NULL);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	signer_free(signer);
	free(rsa_pem);
	free(ed_pem);
	return 0;
}

static long
rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, resident = 0;

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld %ld", &size, &resident), 2);
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void
test_same_answer_as_in_process(void **state)
{
	static char out[ISOLATE_OUT_MAX];
	struct sign_keys k = { "example.test", "t1", { rsa_pem, ed_pem } };
	struct sign_input in = { -1, (const uint8_t *)message, sizeof(message) - 1 };
	struct sign_result res;

	(void)state;
	if (isolate_sign(signer, &k, &in, out, sizeof(out), &res) == -1)
		fail_msg("isolate_sign: %s", res.why);
	assert_int_equal(res.nsigs, 2);
	assert_string_equal(res.algs, "rsa-sha256,ed25519-sha256");
	assert_int_equal(res.message_bytes, sizeof(message) - 1);
	assert_true(strncmp(out, "DKIM-Signature: v=1; a=rsa-sha256;", 34) == 0);
	assert_non_null(strstr(out, "\r\nDKIM-Signature: v=1; a=ed25519-sha256;"));
	/* Failures come back with their reason. */
	in.mem = (const uint8_t *)"Subject: no from\r\n\r\n";
	in.size = strlen((const char *)in.mem);
	assert_int_equal(isolate_sign(signer, &k, &in, out, sizeof(out), &res), -1);
	assert_true(res.why[0] != '\0');
	assert_string_equal(out, "");
	/* An answer buffer too small. */
	in.mem = (const uint8_t *)message;
	in.size = sizeof(message) - 1;
	assert_int_equal(isolate_sign(signer, &k, &in, out, 100, &res), -1);
}

static void
test_parent_does_not_grow(void **state)
{
	static char out[ISOLATE_OUT_MAX];
	struct sign_keys k = { "example.test", "t1", { NULL, ed_pem } };
	struct sign_input in = { -1, (const uint8_t *)message, sizeof(message) - 1 };
	struct sign_result res;
	long before;

	(void)state;
	for (int i = 0; i < 20; i++)
		assert_int_equal(isolate_sign(signer, &k, &in, out, sizeof(out), &res), 0);
	before = rss_kb();
	for (int i = 0; i < 1000; i++)
		assert_int_equal(isolate_sign(signer, &k, &in, out, sizeof(out), &res), 0);
	/* In process this leaks ~550 bytes a message: ~540 KB here. */
	if (rss_kb() - before > 100)
		fail_msg("parent grew by %ld KB over 1000 signatures", rss_kb() - before);
}

static void
test_a_dying_child_fails_one_message(void **state)
{
	static char out[ISOLATE_OUT_MAX];
	/* libopendkim asserts on a NULL domain: the child aborts. */
	struct sign_keys k = { NULL, "t1", { NULL, ed_pem } };
	struct sign_input in = { -1, (const uint8_t *)message, sizeof(message) - 1 };
	struct sign_result res;

	(void)state;
	assert_int_equal(isolate_sign(signer, &k, &in, out, sizeof(out), &res), -1);
	assert_non_null(strstr(res.why, "signing process killed by signal"));
	k.domain = "example.test";
	assert_int_equal(isolate_sign(signer, &k, &in, out, sizeof(out), &res), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_answer_as_in_process),
		cmocka_unit_test(test_parent_does_not_grow),
		cmocka_unit_test(test_a_dying_child_fails_one_message),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
