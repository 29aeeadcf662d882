/*
 * screen/scanner_test.c - the scan driver against fake scanners on UNIX
 * sockets served by the same event loop: the bytes a scanner receives (head,
 * prefix, the message without the left-out ranges, clamd's framing), and
 * each way a scan ends (answer, refused, timeout, garbage, over the cap,
 * cancelled); the skip normalization and the score hook.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <event2/event.h>

#include "scanner.h"

#define FAKE_BUF	(1024 * 1024)

enum fake_mode { FAKE_ANSWER, FAKE_SILENT, FAKE_GARBAGE };

struct fake {
	int		 lfd, cfd;
	struct event	*ev_accept, *ev_read;
	uint8_t		*buf;
	size_t		 len;
	enum fake_mode	 mode;
	const char	*reply;
	size_t		 reply_len;
	bool		 framed;	/* clamd: complete at the zero-length chunk */
	unsigned	 accepted;
	char		 path[108];
};

static struct event_base	*base;
static char			 dir[64];
static struct scan_result	 got[SCAN_KINDS];
static size_t			 got_n, callbacks;

/* The request is whole: spamd/rspamd by Content-length, clamd at 0 0 0 0. */
static bool
fake_complete(const struct fake *f)
{
	if (f->framed) {
		size_t o = 10;	/* "zINSTREAM\0" */
		while (o + 4 <= f->len) {
			uint32_t n = (uint32_t)f->buf[o] << 24 | (uint32_t)f->buf[o + 1] << 16 |
			    (uint32_t)f->buf[o + 2] << 8 | f->buf[o + 3];
			if (n == 0)
				return true;
			o += 4 + n;
		}
		return false;
	}
	const uint8_t *end = memmem(f->buf, f->len, "\r\n\r\n", 4);
	const char *cl = memmem(f->buf, f->len, "ength: ", 7);
	return end != NULL && cl != NULL &&
	    f->len - (size_t)(end + 4 - f->buf) == strtoull(cl + 7, NULL, 10);
}

static void
fake_read(evutil_socket_t fd, short what, void *arg)
{
	struct fake *f = arg;
	ssize_t n = read(fd, f->buf + f->len, FAKE_BUF - f->len);

	(void)what;
	if (n > 0)
		f->len += (size_t)n;
	if (f->mode == FAKE_ANSWER && fake_complete(f)) {
		assert_int_equal(write(fd, f->reply, f->reply_len), (ssize_t)f->reply_len);
		event_del(f->ev_read);
	}
	if (n == 0)
		event_del(f->ev_read);
}

static void
fake_accept(evutil_socket_t fd, short what, void *arg)
{
	struct fake *f = arg;

	(void)what;
	f->cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	assert_true(f->cfd >= 0);
	f->accepted++;
	if (f->mode == FAKE_GARBAGE)
		assert_int_equal(write(f->cfd, "HELLO?\r\n", 8), 8);
	f->ev_read = event_new(base, f->cfd, EV_READ | EV_PERSIST, fake_read, f);
	event_add(f->ev_read, NULL);
}

static void
fake_start(struct fake *f, const char *name, enum fake_mode mode, const char *reply,
    size_t reply_len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	memset(f, 0, sizeof(*f));
	f->cfd = -1;
	f->mode = mode;
	f->reply = reply;
	f->reply_len = reply_len;
	f->buf = malloc(FAKE_BUF);
	snprintf(f->path, sizeof(f->path), "%s/%s.sock", dir, name);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	f->ev_accept = event_new(base, f->lfd, EV_READ | EV_PERSIST, fake_accept, f);
	event_add(f->ev_accept, NULL);
}

static void
fake_stop(struct fake *f)
{
	event_free(f->ev_accept);
	if (f->ev_read != NULL)
		event_free(f->ev_read);
	close(f->lfd);
	if (f->cfd != -1)
		close(f->cfd);
	unlink(f->path);
	free(f->buf);
}

static void
target_unix(struct scan_config *cfg, enum scan_kind k, const char *path)
{
	struct scan_target *t = &cfg->target[k];

	memset(t, 0, sizeof(*t));
	t->enabled = t->is_unix = true;
	snprintf(t->path, sizeof(t->path), "%s", path);
	snprintf(t->text, sizeof(t->text), "%s", path);
	t->max_size = 1 << 30;
	t->weight = 100;
}

static void
on_done(const struct scan_result *r, size_t n, void *arg)
{
	(void)arg;
	memcpy(got, r, n * sizeof(*r));
	got_n = n;
	callbacks++;
	event_base_loopexit(base, NULL);
}

/* A message file of size bytes: line numbers, so every offset is distinct. */
static int
message_fd(size_t size, uint8_t **copy)
{
	char path[96];
	uint8_t *m = malloc(size);
	int fd;

	for (size_t i = 0; i < size; i++)
		m[i] = (uint8_t)("0123456789abcdef\r\n"[(i * 7 + i / 97) % 18]);
	snprintf(path, sizeof(path), "%s/msg", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, m, size), (ssize_t)size);
	unlink(path);
	*copy = m;
	return fd;
}

static struct scanner_job *
start(const struct scan_config *cfg, int fd, const char *prefix,
    const struct authres_range *skip, size_t nskip)
{
	static const char *const rcpts[] = { "kim@example.test" };
	struct scanner_params p = { base, cfg, false };
	struct scan_request rq = { fd, prefix, prefix != NULL ? strlen(prefix) : 0, skip, nskip,
	    { "s1", "Q1", "192.0.2.1", "mx.example.net", "", "a@example.net", rcpts, 1,
	    "mx.example.test" } };
	const char *why = NULL;
	struct scanner_job *j;

	got_n = callbacks = 0;
	memset(got, 0, sizeof(got));
	j = scanner_start(&p, &rq, on_done, NULL, &why);
	if (j == NULL)
		fail_msg("scanner_start: %s", why);
	assert_int_equal(callbacks, 0);		/* never from inside start */
	return j;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hmx-scanner-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	base = event_base_new();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	event_base_free(base);
	rmdir(dir);
	return 0;
}

static const char spamd_ok[] =
    "SPAMD/1.1 0 EX_OK\r\nContent-length: 9\r\nSpam: True ; 7.5 / 5.0\r\n\r\nHMX_CHEAP";

/* spamd gets the prefix, then the message without the ranges, and a
 * Content-length that counts exactly those bytes. */
static void
test_prefix_and_skips(void **state)
{
	static const char prefix[] = "Authentication-Results: mx.example.test; none\r\n";
	/* out of order, overlapping, one past the end: normalized */
	struct authres_range skip[] = { { 100000, 5000 }, { 10, 20 }, { 25, 10 },
	    { 199990, 100 } };
	struct scan_config cfg = { .timeout = 10 };
	struct fake f;
	uint8_t *m;
	int fd = message_fd(200000, &m);

	(void)state;
	fake_start(&f, "spamd", FAKE_ANSWER, spamd_ok, sizeof(spamd_ok) - 1);
	target_unix(&cfg, SCAN_SPAMD, f.path);
	start(&cfg, fd, prefix, skip, 4);
	close(fd);
	event_base_dispatch(base);
	assert_int_equal(callbacks, 1);
	assert_int_equal(got_n, 1);
	assert_int_equal(got[0].kind, SCAN_SPAMD);
	assert_int_equal(got[0].status, SCAN_STATUS_OK);
	assert_true(got[0].score == 7.5);
	/* what the fake received: the head, then the body */
	size_t want_len = sizeof(prefix) - 1 + 200000 - 25 - 5000 - 10;
	char head[128];
	snprintf(head, sizeof(head), "SYMBOLS SPAMC/1.5\r\nContent-length: %zu\r\n\r\n", want_len);
	assert_int_equal(f.len, strlen(head) + want_len);
	assert_memory_equal(f.buf, head, strlen(head));
	const uint8_t *b = f.buf + strlen(head);
	assert_memory_equal(b, prefix, sizeof(prefix) - 1);
	b += sizeof(prefix) - 1;
	assert_memory_equal(b, m, 10);
	assert_memory_equal(b + 10, m + 35, 100000 - 35);
	assert_memory_equal(b + 10 + 100000 - 35, m + 105000, 199990 - 105000);
	assert_int_equal(got[0].sent, want_len);
	fake_stop(&f);
	free(m);
}

/* clamd: length-framed chunks of at most 64 KiB, then a zero length. */
static void
test_clamd_framing(void **state)
{
	static const char clamd_virus[] = "stream: Eicar-Test FOUND";
	struct scan_config cfg = { .timeout = 10 };
	struct fake f;
	uint8_t *m;
	int fd = message_fd(150001, &m);

	(void)state;
	fake_start(&f, "clamd", FAKE_ANSWER, clamd_virus, sizeof(clamd_virus));
	f.framed = true;
	target_unix(&cfg, SCAN_CLAMD, f.path);
	start(&cfg, fd, "P\r\n", NULL, 0);
	close(fd);
	event_base_dispatch(base);
	assert_int_equal(got[0].status, SCAN_STATUS_OK);
	assert_true(got[0].virus_found);
	assert_string_equal(got[0].virus, "Eicar-Test");
	assert_memory_equal(f.buf, "zINSTREAM\0", 10);
	uint8_t *body = malloc(150004);
	size_t blen = 0, o = 10, chunks = 0;
	for (;;) {
		uint32_t n = (uint32_t)f.buf[o] << 24 | (uint32_t)f.buf[o + 1] << 16 |
		    (uint32_t)f.buf[o + 2] << 8 | f.buf[o + 3];
		o += 4;
		if (n == 0)
			break;
		assert_true(n <= 65536);
		memcpy(body + blen, f.buf + o, n);
		blen += n;
		o += n;
		chunks++;
	}
	assert_int_equal(o, f.len);
	assert_true(chunks >= 3);
	assert_int_equal(blen, 150004);
	assert_memory_equal(body, "P\r\n", 3);
	assert_memory_equal(body + 3, m, 150001);
	free(body);
	fake_stop(&f);
	free(m);
}

/* All three at once, each ending its own way; one report, in kind order. */
static void
test_failures(void **state)
{
	struct scan_config cfg = { .timeout = 1 };
	struct fake silent, garbage;
	char nowhere[128];
	uint8_t *m;
	int fd = message_fd(1000, &m);

	(void)state;
	fake_start(&silent, "silent", FAKE_SILENT, NULL, 0);
	fake_start(&garbage, "garbage", FAKE_GARBAGE, NULL, 0);
	snprintf(nowhere, sizeof(nowhere), "%s/none.sock", dir);
	target_unix(&cfg, SCAN_RSPAMD, silent.path);
	target_unix(&cfg, SCAN_SPAMD, garbage.path);
	target_unix(&cfg, SCAN_CLAMD, nowhere);
	start(&cfg, fd, NULL, NULL, 0);
	close(fd);
	event_base_dispatch(base);
	assert_int_equal(callbacks, 1);
	assert_int_equal(got_n, 3);
	assert_int_equal(got[0].kind, SCAN_RSPAMD);
	assert_int_equal(got[0].status, SCAN_STATUS_TEMPFAIL);
	assert_non_null(strstr(got[0].why, "timeout after 1s (waiting for the answer)"));
	assert_int_equal(got[1].status, SCAN_STATUS_TEMPFAIL);
	assert_non_null(strstr(got[1].why, "bad reply"));
	assert_int_equal(got[2].status, SCAN_STATUS_TEMPFAIL);
	assert_non_null(strstr(got[2].why, "No such file"));
	assert_int_equal(scanner_count(), 0);
	fake_stop(&silent);
	fake_stop(&garbage);
	free(m);
}

/* Over the cap: not sent, not even connected. */
static void
test_over_cap(void **state)
{
	struct scan_config cfg = { .timeout = 5 };
	struct fake f;
	uint8_t *m;
	int fd = message_fd(5000, &m);

	(void)state;
	fake_start(&f, "capped", FAKE_ANSWER, spamd_ok, sizeof(spamd_ok) - 1);
	target_unix(&cfg, SCAN_SPAMD, f.path);
	cfg.target[SCAN_SPAMD].max_size = 5000;		/* 5000 + the prefix is over */
	start(&cfg, fd, "X: y\r\n", NULL, 0);
	close(fd);
	event_base_dispatch(base);
	assert_int_equal(got[0].status, SCAN_STATUS_SKIPPED);
	assert_string_equal(got[0].why, "over spamd_max_size (5006 > 5000 bytes)");
	assert_int_equal(f.accepted, 0);
	fake_stop(&f);
	free(m);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopexit(base, NULL);
}

/* A cancelled job never calls back; no scanner at all still calls back later. */
static void
test_cancel_and_none(void **state)
{
	struct scan_config cfg = { .timeout = 5 };
	struct timeval tv = { 0, 200000 };
	struct event *tick = evtimer_new(base, on_tick, NULL);
	struct fake f;
	struct scanner_job *j;
	uint8_t *m;
	int fd = message_fd(100, &m);

	(void)state;
	fake_start(&f, "slow", FAKE_SILENT, NULL, 0);
	target_unix(&cfg, SCAN_RSPAMD, f.path);
	j = start(&cfg, fd, NULL, NULL, 0);
	assert_int_equal(scanner_count(), 1);
	scanner_cancel(j);
	assert_int_equal(scanner_count(), 0);
	evtimer_add(tick, &tv);
	event_base_dispatch(base);
	assert_int_equal(callbacks, 0);

	memset(&cfg, 0, sizeof(cfg));
	start(&cfg, fd, NULL, NULL, 0);
	event_base_dispatch(base);
	assert_int_equal(callbacks, 1);
	assert_int_equal(got_n, 0);
	event_free(tick);
	close(fd);
	fake_stop(&f);
	free(m);
}

static void
test_bad_requests(void **state)
{
	struct scan_config cfg = { .timeout = 5 };
	struct scanner_params p = { base, &cfg, false };
	struct authres_range skip[SCAN_SKIPS_MAX + 1] = { { 0, 1 } };
	struct scan_request rq = { .fd = -1 };
	const char *why = NULL;
	int pfd[2];

	(void)state;
	assert_null(scanner_start(&p, &rq, on_done, NULL, &why));
	assert_string_equal(why, "the message fd is not a regular file");
	assert_int_equal(pipe(pfd), 0);
	rq.fd = pfd[0];
	assert_null(scanner_start(&p, &rq, on_done, NULL, &why));
	close(pfd[0]);
	close(pfd[1]);
	rq.skip = skip;
	rq.nskip = SCAN_SKIPS_MAX + 1;
	assert_null(scanner_start(&p, &rq, on_done, NULL, &why));
	assert_non_null(strstr(why, "SCAN_SKIPS_MAX"));
	assert_int_equal(scanner_count(), 0);
}

static void
test_normalize_skips(void **state)
{
	struct authres_range r[] = { { 50, 10 }, { 0, 0 }, { 5, 10 }, { 12, 3 }, { 15, 5 },
	    { 95, 50 }, { 200, 1 } };
	size_t n;

	(void)state;
	n = scanner_normalize_skips(r, sizeof(r) / sizeof(r[0]), 100);
	assert_int_equal(n, 3);
	assert_int_equal(r[0].off, 5);
	assert_int_equal(r[0].len, 15);		/* 5..20: touching ranges merge */
	assert_int_equal(r[1].off, 50);
	assert_int_equal(r[1].len, 10);
	assert_int_equal(r[2].off, 95);
	assert_int_equal(r[2].len, 5);		/* clipped at the end */
}

static void
test_score_hook(void **state)
{
	struct scan_config cfg = { .timeout = 5 };
	struct scan_result r[3] = {
		{ .kind = SCAN_RSPAMD, .status = SCAN_STATUS_OK, .score = 7.5, .threshold = 15,
		    .action = "add header", .spam = true },
		{ .kind = SCAN_SPAMD, .status = SCAN_STATUS_TEMPFAIL, .why = "timeout after 30s" },
		{ .kind = SCAN_CLAMD, .status = SCAN_STATUS_OK, .virus_found = true,
		    .virus = "Eicar-Test" },
	};
	struct scan_findings f;
	struct score s;
	char line[512];

	(void)state;
	cfg.target[SCAN_RSPAMD].weight = 150;
	score_init(&s);
	scanner_score(&cfg, r, 3, &s, &f);
	score_format(&s, line, sizeof(line));
	assert_string_equal(line, "rspamd:+11 spamd:+0 virus:+0");
	assert_string_equal(s.item[0].reason, "score=7.50/15.00 action=add header spam");
	assert_string_equal(s.item[1].reason, "tempfail: timeout after 30s");
	assert_string_equal(s.item[2].reason, "Eicar-Test");
	assert_true(f.virus);
	assert_string_equal(f.virus_name, "Eicar-Test");
	assert_true(f.tempfail);
	assert_string_equal(f.tempfail_scanners, "spamd");

	/* ham bonuses add nothing; rounding; the cap */
	assert_int_equal(scanner_contribution(-5, 100), 0);
	assert_int_equal(scanner_contribution(2.5, 100), 3);
	assert_int_equal(scanner_contribution(2.49, 100), 2);
	assert_int_equal(scanner_contribution(3.5, 50), 2);
	assert_int_equal(scanner_contribution(10, 0), 0);
	assert_int_equal(scanner_contribution(1e6, 10000), SCREEN_WEIGHT_LIMIT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prefix_and_skips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clamd_framing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_over_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_and_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test(test_normalize_skips),
		cmocka_unit_test(test_score_hook),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
