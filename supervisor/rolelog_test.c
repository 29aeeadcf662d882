/*
 * supervisor/rolelog_test.c - a role's log pipe as homemxd reads it: lines
 * pass unchanged, a partial line waits for its end, an overlong line is cut
 * and the cut is logged, a dead role's last words (even without a newline)
 * come out before rolelog_release() returns, and a worker that still holds
 * the pipe is read until it closes it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "log.h"
#include "rolelog.h"

/* fd 2 goes to a file for the duration of a test; out() reads it back. */
static int	saved_stderr = -1;
static FILE	*capture;

static int
setup(void **state)
{
	(void)state;
	capture = tmpfile();
	assert_non_null(capture);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(dup2(fileno(capture), STDERR_FILENO) != -1);
	log_init("homemxd", LOG_SINK_STDERR);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	fclose(capture);
	return 0;
}

static char *
out(void)
{
	static char buf[1 << 16];
	ssize_t n = pread(fileno(capture), buf, sizeof(buf) - 1, 0);

	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static void
test_lines_pass_unchanged(void **state)
{
	struct event_base *base = event_base_new();
	int wfd;
	struct rolelog *rl = rolelog_new(base, "homemx-test", &wfd);

	(void)state;
	assert_non_null(rl);
	(void)wfd;
	rolelog_started(rl, 7);		/* closes our copy of the write end */
	const char *first = "2026-01-01T00:00:00.000Z homemx-test[7]: event=a x=1\n\n==7==ERROR: ";
	rolelog_feed(rl, first, strlen(first));
	assert_string_equal(out(), "2026-01-01T00:00:00.000Z homemx-test[7]: event=a x=1\n\n");
	rolelog_feed(rl, "AddressSanitizer\n", strlen("AddressSanitizer\n"));
	assert_string_equal(out(), "2026-01-01T00:00:00.000Z homemx-test[7]: event=a x=1\n\n"
	    "==7==ERROR: AddressSanitizer\n");
	rolelog_release(rl);
	event_base_free(base);
}

static void
test_overlong_line_is_cut_and_said(void **state)
{
	struct event_base *base = event_base_new();
	static char flood[1 << 20];
	char want[ROLELOG_LINE_MAX + 2];
	int wfd;
	struct rolelog *rl = rolelog_new(base, "homemx-test", &wfd);

	(void)state;
	(void)wfd;
	rolelog_started(rl, 7);
	memset(flood, 'x', sizeof(flood));
	/* a megabyte in pieces, then the end of that line and a normal one */
	for (size_t off = 0; off < sizeof(flood); off += 5000)
		rolelog_feed(rl, flood + off, sizeof(flood) - off < 5000 ? sizeof(flood) - off : 5000);
	rolelog_feed(rl, "yy\nnext\n", 8);
	memset(want, 'x', ROLELOG_LINE_MAX);
	want[ROLELOG_LINE_MAX] = '\n';
	want[ROLELOG_LINE_MAX + 1] = '\0';
	const char *o = out();
	assert_memory_equal(o, want, ROLELOG_LINE_MAX + 1);
	o += ROLELOG_LINE_MAX + 1;
	char cut[200];
	snprintf(cut, sizeof(cut), "event=log_line_cut program=homemx-test pid=7 kept=%d "
	    "dropped=%zu\n", ROLELOG_LINE_MAX, sizeof(flood) - ROLELOG_LINE_MAX + 2);
	if (strstr(o, cut) == NULL)
		fail_msg("got after the cut line: %.300s\nwant: %s", o, cut);
	assert_non_null(strstr(o, "]: event=log_line_cut"));	/* homemxd's own line */
	o = strchr(o, '\n') + 1;
	assert_string_equal(o, "next\n");
	rolelog_release(rl);
	event_base_free(base);
}

/* A child that writes two lines and a last one without a newline, then
 * dies: everything is there when rolelog_release() returns. */
static void
test_last_words_come_first(void **state)
{
	struct event_base *base = event_base_new();
	int wfd, status;
	struct rolelog *rl = rolelog_new(base, "homemx-test", &wfd);

	(void)state;
	pid_t pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		static const char msg[] = "one\ntwo\nevent=fatal no newline";
		_exit(write(wfd, msg, sizeof(msg) - 1) == sizeof(msg) - 1 ? 1 : 2);
	}
	rolelog_started(rl, pid);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	rolelog_release(rl);	/* at EOF now: frees itself */
	assert_string_equal(out(), "one\ntwo\nevent=fatal no newline\n");
	event_base_free(base);
}

/* The role died, but a worker it forked still holds the pipe. */
static void
test_reader_outlives_the_role(void **state)
{
	struct event_base *base = event_base_new();
	int wfd;
	struct rolelog *rl = rolelog_new(base, "homemx-test", &wfd);

	(void)state;
	int worker = dup(wfd);
	rolelog_started(rl, getpid());
	assert_int_equal(write(worker, "before\n", 7), 7);
	rolelog_release(rl);
	assert_string_equal(out(), "before\n");
	assert_int_equal(write(worker, "late\n", 5), 5);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_string_equal(out(), "before\nlate\n");
	close(worker);
	event_base_loop(base, EVLOOP_NONBLOCK);	/* EOF: the reader frees itself */
	rolelog_flush_all();			/* and is no longer in the list */
	assert_string_equal(out(), "before\nlate\n");
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lines_pass_unchanged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlong_line_is_cut_and_said, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_words_come_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_outlives_the_role, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
