/*
 * delivery/lmtp_test.c - the LMTP client against a scripted server: a
 * child process that answers each command with the reply the test chose
 * and keeps what the client sent, so that the statuses per recipient
 * (RFC 2033 4.2: one reply per accepted recipient after the dot) and the
 * bytes on the wire can be checked.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "lmtp.h"

struct rig {
	char		 dir[64];
	char		 sock[96];
	char		 wire[96];	/* what the client sent, written by the child */
	int		 listen_fd;
	pid_t		 child;
	bool		 done;
};

static void
on_done(void *arg)
{
	((struct rig *)arg)->done = true;
}

/* Reads one line (up to LF) from fd into buf; 0 at EOF. */
static size_t
read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size && read(fd, &buf[n], 1) == 1)
		if (buf[n++] == '\n')
			break;
	buf[n] = '\0';
	return n;
}

/*
 * The child: the greeting, then for each command line one reply of
 * replies[] (NULL: close the connection instead); after a 354 it reads the
 * body up to the dot and answers with the next nfinal replies at once.
 */
static void
serve(struct rig *r, const char *const *replies, int nfinal)
{
	int fd = accept(r->listen_fd, NULL, NULL);
	FILE *wire = fopen(r->wire, "w");
	char line[4096];
	size_t i = 0;

	if (fd == -1 || wire == NULL)
		_exit(2);
	signal(SIGPIPE, SIG_IGN);	/* the client may be gone after QUIT */
	dprintf(fd, "220 test LMTP ready\r\n");
	while (read_line(fd, line, sizeof(line)) > 0) {
		fputs(line, wire);
		if (replies[i] == NULL)
			break;
		dprintf(fd, "%s\r\n", replies[i]);
		if (strncmp(replies[i++], "354", 3) != 0)
			continue;
		while (read_line(fd, line, sizeof(line)) > 0) {
			fputs(line, wire);
			if (strcmp(line, ".\r\n") == 0)
				break;
		}
		for (int k = 0; k < nfinal; k++)
			dprintf(fd, "%s\r\n", replies[i++]);
		if (replies[i] == NULL)
			break;
	}
	fclose(wire);
	close(fd);
	_exit(0);
}

static void
rig_start(struct rig *r, const char *const *replies, int nfinal)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	snprintf(r->dir, sizeof(r->dir), "/tmp/lmtp-test-XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->sock, sizeof(r->sock), "%s/lmtp", r->dir);
	snprintf(r->wire, sizeof(r->wire), "%s/wire", r->dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", r->sock);
	r->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(r->listen_fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(r->listen_fd, 4), 0);
	r->child = fork();
	assert_true(r->child != -1);
	if (r->child == 0)
		serve(r, replies, nfinal);
}

static char *
rig_finish(struct rig *r)
{
	static char wire[8192];
	FILE *f;
	size_t n;
	int status;

	waitpid(r->child, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(f = fopen(r->wire, "r"));
	n = fread(wire, 1, sizeof(wire) - 1, f);
	wire[n] = '\0';
	fclose(f);
	close(r->listen_fd);
	unlink(r->wire);
	unlink(r->sock);
	rmdir(r->dir);
	return wire;
}

/* A body file holding text. */
static int
body_fd(const char *text)
{
	FILE *f = tmpfile();
	int fd;

	assert_non_null(f);
	fputs(text, f);
	fflush(f);
	fd = dup(fileno(f));
	fclose(f);
	return fd;
}

static void
run(struct rig *r, struct lmtp_rcpt *rc, size_t n, const char *body)
{
	struct event_base *base = event_base_new();
	int fd = body_fd(body);

	r->done = false;
	assert_non_null(lmtp_start(base, r->sock, "mx.example.test", "a@example.org",
	    "Delivered-To: team@example.test\r\n", rc, n, fd, on_done, r));
	while (!r->done)
		assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
	close(fd);
	event_base_free(base);
}

static void
rcpts(struct lmtp_rcpt *rc, size_t n)
{
	static const char *const names[] = { "kim@example.test", "lee@example.test",
	    "ann@example.test" };

	memset(rc, 0, n * sizeof(*rc));
	for (size_t i = 0; i < n; i++)
		snprintf(rc[i].address, sizeof(rc[i].address), "%s", names[i]);
}

/* 250, 450 and 550 to the RCPTs; the two final replies go to the
 * accepted ones in order; the body is dot-stuffed with CRLF ends. */
static void
test_one_reply_per_accepted_recipient(void **state)
{
	static const char *const replies[] = { "250-test\r\n250 PIPELINING",
	    "250 2.1.0 OK", "250 2.1.5 OK", "450 4.2.0 busy", "250 2.1.5 OK",
	    "354 go", "250 2.0.0 <kim> saved", "552 5.2.2 <ann> over quota",
	    "221 bye" };
	struct lmtp_rcpt rc[3];
	struct rig r;
	char *wire;

	(void)state;
	rcpts(rc, 3);
	rig_start(&r, replies, 2);
	run(&r, rc, 3, "Subject: x\n\n.dot\nend");
	wire = rig_finish(&r);
	assert_int_equal(rc[0].status, LMTP_OK);
	assert_int_equal(rc[1].status, LMTP_TEMPFAIL);
	assert_string_equal(rc[1].why, "LMTP RCPT: 450 4.2.0 busy");
	assert_int_equal(rc[2].status, LMTP_PERMFAIL);
	assert_string_equal(rc[2].why, "LMTP DATA: 552 5.2.2 <ann> over quota");
	assert_string_equal(wire, "LHLO mx.example.test\r\n"
	    "MAIL FROM:<a@example.org>\r\n"
	    "RCPT TO:<kim@example.test>\r\nRCPT TO:<lee@example.test>\r\n"
	    "RCPT TO:<ann@example.test>\r\nDATA\r\n"
	    "Delivered-To: team@example.test\r\nSubject: x\r\n\r\n..dot\r\nend\r\n.\r\n"
	    "QUIT\r\n");
}

/* No recipient accepted: no DATA; a 5xx to MAIL fails them all. */
static void
test_refusals_before_data(void **state)
{
	static const char *const all_refused[] = { "250 test", "250 OK",
	    "550 5.1.1 no", "550 5.1.1 no", "221 bye" };
	static const char *const mail_refused[] = { "250 test", "451 4.3.0 later",
	    "221 bye" };
	struct lmtp_rcpt rc[2];
	struct rig r;

	(void)state;
	rcpts(rc, 2);
	rig_start(&r, all_refused, 0);
	run(&r, rc, 2, "x\r\n");
	assert_null(strstr(rig_finish(&r), "DATA"));
	assert_int_equal(rc[0].status, LMTP_PERMFAIL);
	assert_int_equal(rc[1].status, LMTP_PERMFAIL);

	rcpts(rc, 2);
	rig_start(&r, mail_refused, 0);
	run(&r, rc, 2, "x\r\n");
	rig_finish(&r);
	assert_int_equal(rc[0].status, LMTP_TEMPFAIL);
	assert_string_equal(rc[1].why, "LMTP MAIL: 451 4.3.0 later");
}

/* The server goes away after the dot: whoever has no final reply is
 * deferred, the one that has keeps it. */
static void
test_a_broken_session_defers_the_open_ones(void **state)
{
	static const char *const replies[] = { "250 test", "250 OK", "250 OK",
	    "250 OK", "354 go", "250 2.0.0 saved", NULL };
	struct lmtp_rcpt rc[2];
	struct rig r;

	(void)state;
	rcpts(rc, 2);
	rig_start(&r, replies, 1);
	run(&r, rc, 2, "x\r\n");
	rig_finish(&r);
	assert_int_equal(rc[0].status, LMTP_OK);
	assert_int_equal(rc[1].status, LMTP_TEMPFAIL);
	assert_string_equal(rc[1].why, "LMTP: connection closed by the server");
}

/* No socket: NULL at once, every recipient deferred with the reason. */
static void
test_no_socket(void **state)
{
	struct event_base *base = event_base_new();
	struct lmtp_rcpt rc[2];

	(void)state;
	rcpts(rc, 2);
	assert_null(lmtp_start(base, "/nonexistent/lmtp", "mx", "a@example.org", "",
	    rc, 2, -1, on_done, NULL));
	assert_int_equal(rc[1].status, LMTP_TEMPFAIL);
	assert_non_null(strstr(rc[1].why, "cannot connect to /nonexistent/lmtp"));
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_reply_per_accepted_recipient),
		cmocka_unit_test(test_refusals_before_data),
		cmocka_unit_test(test_a_broken_session_defers_the_open_ones),
		cmocka_unit_test(test_no_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
