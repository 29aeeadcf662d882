/*
 * relay/headscan_test.c - the header-section scan that decides whether a
 * message flagged SMTPUTF8 may go to a hop without it: where the headers
 * end (CRLF and bare LF), 8-bit in headers versus in the body, the bound,
 * the same answer at every chunk split, and the scan of a real file.
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

#include "headscan.h"

struct scan_case {
	const char		*in;
	enum headscan_result	 want;
};

static const struct scan_case cases[] = {
	{ "",							HEADSCAN_ASCII },
	{ "Subject: hi\r\n",					HEADSCAN_ASCII },
	{ "Subject: hi\r\n\r\nbody\r\n",			HEADSCAN_ASCII },
	{ "Subject: hi\r\n\r\ncaf\xc3\xa9 in the body\r\n",	HEADSCAN_ASCII },
	{ "Subject: hi\n\ncaf\xc3\xa9\n",			HEADSCAN_ASCII },
	{ "\r\nSubject: caf\xc3\xa9\r\n",			HEADSCAN_ASCII },
	{ "Subject: caf\xc3\xa9\r\n\r\nbody\r\n",		HEADSCAN_8BIT },
	{ "From: a@b\r\nSubject: x\r\n y\xc3\xa9\r\n\r\n",	HEADSCAN_8BIT },
	{ "From: a@b\r\n\r",					HEADSCAN_ASCII },
	{ "From: a@b\r\n\r\xff",				HEADSCAN_8BIT },
	{ "To: \xe2\x80\x8b\r\n\r\n",				HEADSCAN_8BIT },
	{ "X: a\rb\r\n\r\n\xff",				HEADSCAN_ASCII },
};

static enum headscan_result
scan_split(const char *in, size_t len, size_t split)
{
	struct headscan h;

	headscan_init(&h);
	headscan_feed(&h, (const uint8_t *)in, split);
	headscan_feed(&h, (const uint8_t *)in + split, len - split);
	return headscan_finish(&h);
}

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in);
		for (size_t split = 0; split <= len; split++) {
			enum headscan_result got = scan_split(cases[i].in, len, split);
			if (got != cases[i].want)
				fail_msg("case %zu split %zu: got %d want %d", i, split,
				    got, cases[i].want);
		}
	}
}

/* The answer does not change once given: later bytes do not matter. */
static void
test_result_sticks(void **state)
{
	struct headscan h;

	(void)state;
	headscan_init(&h);
	assert_int_equal(headscan_feed(&h, (const uint8_t *)"A: b\r\n\r\n", 8), HEADSCAN_ASCII);
	assert_int_equal(headscan_feed(&h, (const uint8_t *)"\xff", 1), HEADSCAN_ASCII);
	assert_int_equal(headscan_finish(&h), HEADSCAN_ASCII);
	headscan_init(&h);
	assert_int_equal(headscan_feed(&h, (const uint8_t *)"A: \xff", 4), HEADSCAN_8BIT);
	assert_int_equal(headscan_feed(&h, (const uint8_t *)"\r\n\r\n", 4), HEADSCAN_8BIT);
	assert_int_equal(headscan_finish(&h), HEADSCAN_8BIT);
}

/* A header section of exactly HEADSCAN_MAX bytes is read; one byte more
 * is not, and the message keeps needing SMTPUTF8. */
static void
test_bound(void **state)
{
	size_t len = HEADSCAN_MAX + 1;
	uint8_t *buf = malloc(len);
	struct headscan h;

	(void)state;
	assert_non_null(buf);
	memset(buf, 'x', len);
	buf[HEADSCAN_MAX - 2] = '\n';
	buf[HEADSCAN_MAX - 1] = '\n';
	headscan_init(&h);
	assert_int_equal(headscan_feed(&h, buf, len), HEADSCAN_ASCII);
	buf[HEADSCAN_MAX - 1] = 'x';
	headscan_init(&h);
	assert_int_equal(headscan_feed(&h, buf, len), HEADSCAN_TOO_LONG);
	assert_int_equal(headscan_finish(&h), HEADSCAN_TOO_LONG);
	free(buf);
}

static int
temp_file_with(const char *text, size_t len, size_t repeat_x)
{
	char path[] = "/tmp/headscan_test.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd != -1);
	unlink(path);
	for (size_t i = 0; i < repeat_x; i++)
		assert_int_equal(write(fd, "X-Pad: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n", 43), 43);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	return fd;
}

/* The file scan reads in chunks from offset 0, whatever the fd's offset. */
static void
test_fd(void **state)
{
	static const char ascii[] = "Subject: hi\r\n\r\ncaf\xc3\xa9\r\n";
	static const char utf8[] = "Subject: caf\xc3\xa9\r\n\r\nbody\r\n";
	int fd;

	(void)state;
	fd = temp_file_with(ascii, sizeof(ascii) - 1, 1000);	/* 43 KB of headers */
	assert_true(headscan_fd_is_ascii(fd));
	close(fd);
	fd = temp_file_with(utf8, sizeof(utf8) - 1, 1000);
	assert_false(headscan_fd_is_ascii(fd));
	close(fd);
	fd = temp_file_with(ascii, sizeof(ascii) - 1, HEADSCAN_MAX / 43 + 1);
	assert_false(headscan_fd_is_ascii(fd));		/* too long: no downgrade */
	close(fd);
	assert_false(headscan_fd_is_ascii(-1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_result_sticks),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
