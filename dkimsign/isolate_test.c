/*
 * dkimsign/isolate_test.c - signing in the worker: the answer comes back
 * whole, the parent does not grow with libopendkim's Ed25519 leak, the
 * worker is replaced after ISOLATE_RECYCLE messages, and a worker that
 * dies or hangs costs at most the message it was on.
 */
#include <signal.h>
#include <sys/wait.h>

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
	isolate_shutdown();
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

static int
sign_once(const char *rsa, const char *ed, struct sign_result *res)
{
	static char out[ISOLATE_OUT_MAX];
	struct sign_keys k = { "example.test", "t1", { rsa, ed } };
	struct sign_input in = { -1, (const uint8_t *)message, sizeof(message) - 1 };

	return isolate_sign(signer, &k, &in, out, sizeof(out), res);
}

static void
test_worker_is_recycled(void **state)
{
	struct sign_result res;
	pid_t first;

	(void)state;
	assert_int_equal(sign_once(NULL, ed_pem, &res), 0);
	first = isolate_worker_pid();
	assert_true(first > 0);
	for (int i = 0; i < ISOLATE_RECYCLE; i++)
		assert_int_equal(sign_once(NULL, ed_pem, &res), 0);
	assert_true(isolate_worker_pid() != first);
	/* The retired one was reaped, not left a zombie. */
	assert_int_equal(waitpid(first, NULL, WNOHANG), -1);
}

static void
test_dead_or_stuck_worker(void **state)
{
	struct sign_result res;
	pid_t w;

	(void)state;
	assert_int_equal(sign_once(rsa_pem, ed_pem, &res), 0);
	/* Killed between messages: replaced, the next message is signed. */
	w = isolate_worker_pid();
	assert_int_equal(kill(w, SIGKILL), 0);
	usleep(20000);
	assert_int_equal(sign_once(rsa_pem, ed_pem, &res), 0);
	assert_true(isolate_worker_pid() != w);
	/* Stuck on a message: that message fails, the next one does not. */
	isolate_set_timeout_ms(300);
	w = isolate_worker_pid();
	assert_int_equal(kill(w, SIGSTOP), 0);
	assert_int_equal(sign_once(rsa_pem, ed_pem, &res), -1);
	assert_non_null(strstr(res.why, "worker killed"));
	isolate_set_timeout_ms(ISOLATE_TIMEOUT * 1000);
	assert_int_equal(sign_once(rsa_pem, ed_pem, &res), 0);
	/* A request that can not be built never reaches the worker. */
	struct sign_keys k = { NULL, "t1", { NULL, ed_pem } };
	struct sign_input in = { -1, (const uint8_t *)message, sizeof(message) - 1 };
	static char out[ISOLATE_OUT_MAX];
	w = isolate_worker_pid();
	assert_int_equal(isolate_sign(signer, &k, &in, out, sizeof(out), &res), -1);
	assert_string_equal(res.why, "bad signing request");
	assert_int_equal(isolate_worker_pid(), w);
	isolate_shutdown();
	assert_int_equal(isolate_worker_pid(), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_answer_as_in_process),
		cmocka_unit_test(test_parent_does_not_grow),
		cmocka_unit_test(test_worker_is_recycled),
		cmocka_unit_test(test_dead_or_stuck_worker),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
