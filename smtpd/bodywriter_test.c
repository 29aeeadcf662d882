/*
 * smtpd/bodywriter_test.c - buffered spool writes: bytes arrive intact
 * across the 64 KiB boundary, and a failing disk (ENOSPC from /dev/full,
 * EBADF) is remembered, not lost; copying a memfd into the spool.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bodywriter.h"

static void
test_roundtrip(void **state)
{
	static struct body_writer w;
	char path[] = "/tmp/bodywriter_test.XXXXXX";
	size_t total = 3 * BODY_WRITE_BUF + 123, sent = 0;
	uint8_t *want = malloc(total), *got = malloc(total + 1);
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0 && want != NULL && got != NULL);
	unlink(path);
	for (size_t i = 0; i < total; i++)
		want[i] = (uint8_t)(i * 7 + i / 251);
	body_writer_init(&w, fd);
	for (size_t step = 1; sent < total; step = step * 3 % 9973 + 1) {
		size_t n = step < total - sent ? step : total - sent;
		body_writer_put(&w, want + sent, n);
		sent += n;
	}
	assert_int_equal(body_writer_flush(&w), 0);
	assert_int_equal(w.written, total);
	assert_int_equal(pread(fd, got, total + 1, 0), (ssize_t)total);
	assert_memory_equal(got, want, total);
	close(fd);
	free(want);
	free(got);
}

struct fail_case {
	const char	*what;
	int		 fd;		/* -2: open /dev/full */
	int		 want_errno;
};

static void
test_failures(void **state)
{
	static struct body_writer w;
	static const struct fail_case cases[] = {
		{ "disk full", -2, ENOSPC },
		{ "bad fd", 9999, EBADF },
	};
	uint8_t junk[1000];

	(void)state;
	memset(junk, 'j', sizeof(junk));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = cases[i].fd == -2 ? open("/dev/full", O_WRONLY) : cases[i].fd;
		assert_true(fd >= 0);
		body_writer_init(&w, fd);
		for (int k = 0; k < 200; k++)	/* crosses the buffer: first write fails */
			body_writer_put(&w, junk, sizeof(junk));
		if (w.error != cases[i].want_errno)
			fail_msg("%s: got errno %d, want %d", cases[i].what, w.error,
			    cases[i].want_errno);
		assert_int_equal(body_writer_flush(&w), -1);
		assert_int_equal(w.written, 0);
		if (cases[i].fd == -2)
			close(fd);
	}
}

/* Submission: signature fields, then the whole memfd, from offset 0 even
 * if someone moved the shared file offset. */
static void
test_copy_fd(void **state)
{
	static struct body_writer w;
	char path[] = "/tmp/bodywriter_test.XXXXXX";
	size_t total = 2 * BODY_WRITE_BUF + 77;
	uint8_t *want = malloc(total), *got = malloc(total + 16);
	int src = memfd_create("test", 0), dst = mkstemp(path);

	(void)state;
	assert_true(src >= 0 && dst >= 0 && want != NULL && got != NULL);
	unlink(path);
	for (size_t i = 0; i < total; i++)
		want[i] = (uint8_t)(i % 253);
	assert_int_equal(write(src, want, total), (ssize_t)total);	/* offset now at end */
	body_writer_init(&w, dst);
	body_writer_put(&w, "SIG: x\r\n", 8);
	assert_int_equal(body_writer_copy_fd(&w, src), 0);
	assert_int_equal(body_writer_flush(&w), 0);
	assert_int_equal(pread(dst, got, total + 16, 0), (ssize_t)(total + 8));
	assert_memory_equal(got, "SIG: x\r\n", 8);
	assert_memory_equal(got + 8, want, total);
	/* an unreadable source is an error, not a short message */
	body_writer_init(&w, dst);
	assert_int_equal(body_writer_copy_fd(&w, 9999), -1);
	assert_int_equal(w.error, EBADF);
	close(src);
	close(dst);
	free(want);
	free(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_copy_fd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
