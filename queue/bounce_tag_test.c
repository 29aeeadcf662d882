/*
 * queue/bounce_tag_test.c - the BATV tag maker and checker against known
 * vectors, and the queue's key file: made once (0600), read back, kept
 * across a restart, and the rules for which senders get a tag.
 *
 * The vectors come from Python's hmac (key = bytes 0x00..0x1f):
 *   hmac.new(bytes(range(32)), b"0123kim@example.test", "sha256").hexdigest()[:6]
 *     = "da652d"
 *   hmac.new(bytes(range(32)), b"9999a@b.example", "sha256").hexdigest()[:6]
 *     = "ba1a02"
 */
#include <sys/stat.h>
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

#include "bounce_tag.h"

#define DAY	86400
/* day 19116 (116 mod 1000): a tag made then expires on day 123 */
#define MADE	((time_t)19116 * DAY + 100)

static uint8_t key[BOUNCE_KEY_BYTES];
static char dir[64];
static struct config cfg;

static int
setup(void **state)
{
	(void)state;
	for (int i = 0; i < BOUNCE_KEY_BYTES; i++)
		key[i] = (uint8_t)i;
	snprintf(dir, sizeof(dir), "/tmp/hmx-bounce-XXXXXX");
	assert_non_null(mkdtemp(dir));
	config_defaults(&cfg);
	snprintf(cfg.spool_dir, sizeof(cfg.spool_dir), "%s", dir);
	snprintf(cfg.domains[0], sizeof(cfg.domains[0]), "example.test");
	cfg.ndomains = 1;
	return 0;
}

static int
teardown(void **state)
{
	char *argv[] = { "rm", "-rf", dir, NULL };

	(void)state;
	bounce_tag_close();
	if (fork() == 0) {
		execvp("rm", argv);
		_exit(127);
	}
	while (wait(NULL) == -1)
		;
	return 0;
}

static void
test_vectors(void **state)
{
	struct batv_tag t = { 0, 123, { 0 }, "kim@example.test" };
	uint8_t sig[BATV_SIG_BYTES];
	char out[ADDR_MAX + 1];

	(void)state;
	bounce_tag_hash(key, &t, sig);
	assert_memory_equal(sig, "\xda\x65\x2d", 3);
	t = (struct batv_tag){ 9, 999, { 0 }, "A@B.example" };	/* lowercased */
	bounce_tag_hash(key, &t, sig);
	assert_memory_equal(sig, "\xba\x1a\x02", 3);
	assert_int_equal(bounce_tag_make(key, 0, "kim@example.test", MADE, out, sizeof(out)), 0);
	assert_string_equal(out, "prvs=0123da652d=kim@example.test");
	assert_int_equal(bounce_tag_make(key, 10, "kim@example.test", MADE, out, sizeof(out)), -1);
}

static void
test_verify(void **state)
{
	const char *good = "prvs=0123da652d=kim@example.test";

	(void)state;
	assert_int_equal(bounce_tag_verify(key, 0, good, MADE), BOUNCE_TAG_VALID);
	assert_int_equal(bounce_tag_verify(key, 0, good, MADE + 7 * DAY), BOUNCE_TAG_VALID);
	assert_int_equal(bounce_tag_verify(key, 0, good, MADE + 8 * DAY), BOUNCE_TAG_EXPIRED);
	assert_int_equal(bounce_tag_verify(key, 0, good, MADE - DAY), BOUNCE_TAG_EXPIRED);
	/* case does not matter: some relays change it */
	assert_int_equal(bounce_tag_verify(key, 0, "PRVS=0123DA652D=Kim@Example.test", MADE),
	    BOUNCE_TAG_VALID);
	/* a forged hash, another mailbox, another day, another key number */
	assert_int_equal(bounce_tag_verify(key, 0, "prvs=0123da652e=kim@example.test", MADE),
	    BOUNCE_TAG_BAD);
	assert_int_equal(bounce_tag_verify(key, 0, "prvs=0123da652d=kam@example.test", MADE),
	    BOUNCE_TAG_BAD);
	assert_int_equal(bounce_tag_verify(key, 0, "prvs=0122da652d=kim@example.test", MADE),
	    BOUNCE_TAG_BAD);
	assert_int_equal(bounce_tag_verify(key, 0, "prvs=1123da652d=kim@example.test", MADE),
	    BOUNCE_TAG_BAD);
	assert_int_equal(bounce_tag_verify(key, 0, "kim@example.test", MADE), BOUNCE_TAG_BAD);
	/* another key */
	uint8_t other[BOUNCE_KEY_BYTES];
	memcpy(other, key, sizeof(other));
	other[31] ^= 1;
	assert_int_equal(bounce_tag_verify(other, 0, good, MADE), BOUNCE_TAG_BAD);
}

static void
read_key_file(char *text, size_t size, struct stat *st)
{
	char path[128];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/state/%s", dir, BOUNCE_KEY_FILE);
	assert_int_equal(stat(path, st), 0);
	assert_non_null(f = fopen(path, "r"));
	n = fread(text, 1, size - 1, f);
	fclose(f);
	text[n] = '\0';
}

static struct envelope
env_of(const char *sender, enum msg_source src)
{
	struct envelope e;

	memset(&e, 0, sizeof(e));
	snprintf(e.sender, sizeof(e.sender), "%s", sender);
	e.source = src;
	return e;
}

/* Off: no key, nothing tagged; on: a key of its own, 0600, kept. */
static void
test_key_file(void **state)
{
	char text[256], again[256], out[ADDR_MAX + 1];
	struct envelope e = env_of("kim@example.test", SOURCE_SUBMISSION);
	struct stat st;
	char path[128];

	(void)state;
	bounce_tag_init(&cfg);
	snprintf(path, sizeof(path), "%s/state/%s", dir, BOUNCE_KEY_FILE);
	assert_int_equal(access(path, F_OK), -1);
	assert_false(bounce_tag_sender(&e, MADE, out, sizeof(out)));
	assert_string_equal(out, "kim@example.test");
	assert_int_equal(bounce_tag_check("prvs=0123da652d=kim@example.test", MADE),
	    BOUNCE_TAG_NO_KEY);
	/* switched on by a reload: the key is made now */
	cfg.bounce_tags = 1;
	bounce_tag_reload(&cfg);
	read_key_file(text, sizeof(text), &st);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(strncmp(text, "homemx-bounce-key 1\n0 ", 22), 0);
	assert_int_equal(strlen(text), 20 + 2 + 64 + 1);
	assert_true(bounce_tag_sender(&e, MADE, out, sizeof(out)));
	assert_int_equal(strncmp(out, "prvs=0123", 9), 0);
	assert_int_equal(bounce_tag_check(out, MADE + DAY), BOUNCE_TAG_VALID);
	/* a restart reads the same key: old tags stay good */
	bounce_tag_close();
	bounce_tag_init(&cfg);
	read_key_file(again, sizeof(again), &st);
	assert_string_equal(text, again);
	assert_int_equal(bounce_tag_check(out, MADE + 2 * DAY), BOUNCE_TAG_VALID);
	assert_int_equal(bounce_tag_check(out, MADE + 9 * DAY), BOUNCE_TAG_EXPIRED);
}

/* Only submitted mail from our domains, never <>, never twice. */
static void
test_which_senders(void **state)
{
	static const struct { const char *sender; enum msg_source src; bool tagged; } cases[] = {
		{ "kim@example.test", SOURCE_SUBMISSION, true },
		{ "Kim@EXAMPLE.test", SOURCE_SUBMISSION, true },
		{ "kim+shop@example.test", SOURCE_SUBMISSION, true },
		{ "", SOURCE_SUBMISSION, false },			/* our own null sender */
		{ "", SOURCE_LOCAL, false },				/* a DSN */
		{ "kim@example.test", SOURCE_SMTP, false },		/* forwarded port-25 mail */
		{ "someone@elsewhere.example", SOURCE_SUBMISSION, false },
		{ "prvs=0123da652d=kim@example.test", SOURCE_SUBMISSION, false },
		{ "llllllllllllllllllllllllllllllllllllllllllllllllll@example.test",
		  SOURCE_SUBMISSION, false },				/* 50 + 16 > 64 */
	};
	char out[ADDR_MAX + 1];

	(void)state;
	cfg.bounce_tags = 1;
	bounce_tag_init(&cfg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct envelope e = env_of(cases[i].sender, cases[i].src);
		bool got = bounce_tag_sender(&e, MADE, out, sizeof(out));
		if (got != cases[i].tagged)
			fail_msg("<%s> source %d: got %s, want %s", cases[i].sender,
			    cases[i].src, got ? "tagged" : "untagged",
			    cases[i].tagged ? "tagged" : "untagged");
		if (!got)
			assert_string_equal(out, cases[i].sender);
		else
			assert_int_equal(bounce_tag_check(out, MADE), BOUNCE_TAG_VALID);
	}
	/* switched off: nothing new is tagged, old tags still check */
	struct envelope e = env_of("kim@example.test", SOURCE_SUBMISSION);
	assert_true(bounce_tag_sender(&e, MADE, out, sizeof(out)));
	cfg.bounce_tags = 0;
	bounce_tag_reload(&cfg);
	char plain[ADDR_MAX + 1];
	assert_false(bounce_tag_sender(&e, MADE, plain, sizeof(plain)));
	assert_int_equal(bounce_tag_check(out, MADE), BOUNCE_TAG_VALID);
}

/* A key file that does not read stops the queue rather than starting over. */
static void
test_broken_key_is_fatal(void **state)
{
	char path[128];
	FILE *f;
	int status;
	pid_t pid;

	(void)state;
	snprintf(path, sizeof(path), "%s/state", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/state/%s", dir, BOUNCE_KEY_FILE);
	assert_non_null(f = fopen(path, "w"));
	fputs("homemx-bounce-key 1\n0 not-hex\n", f);
	fclose(f);
	if ((pid = fork()) == 0) {
		fclose(stderr);		/* the fatal line is expected */
		bounce_tag_init(&cfg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_which_senders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_key_is_fatal, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
