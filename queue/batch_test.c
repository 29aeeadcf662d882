/*
 * queue/batch_test.c - the group commit with its flushes in threads: every
 * write is answered once, after its envelope is on disk, from the event
 * loop; a write added while a flush runs gets the second flusher at once;
 * a rewrite of an envelope that a running flush is writing waits for it;
 * a failed flush fails its whole batch and only it; batch_run_now()
 * (shutdown) finishes the flushes in flight and the rest without the loop.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "batch.h"
#include "spool_testlib.h"

#define N	8

static struct event_base	*base;

/* One write and what its callback saw. */
struct item {
	struct spool_write	 w;
	char			 id[QUEUE_ID_SIZE];
	int			 calls;
	int			 error;
	bool			 env_on_disk;	/* when the callback ran */
	int			 order;		/* when it was answered */
};

static int answered;

static bool
env_exists(const char *id)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/msg/%s.env", spool_dir, id);
	return access(path, F_OK) == 0;
}

static void
item_done(struct spool_write *w)
{
	struct item *it = w->arg;

	it->calls++;
	it->error = w->error;
	it->env_on_disk = env_exists(it->id);
	it->order = answered++;
	spool_write_release(w);
}

static void	item_prepare_kind(struct item *, enum spool_write_kind, time_t);

/* A body as smtpd leaves it, and its commit write, not yet added. */
static void
item_prepare(struct item *it)
{
	memset(it, 0, sizeof(*it));
	spool_test_body(it->id);
	item_prepare_kind(it, SPOOL_WRITE_COMMIT, 1700000000);
}

/* A rewrite of its envelope (next attempt at `next`), not yet added. */
static void
item_prepare_update(struct item *u, const struct item *it, time_t next)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->id, sizeof(u->id), "%s", it->id);
	item_prepare_kind(u, SPOOL_WRITE_UPDATE, next);
}

static void
item_prepare_kind(struct item *it, enum spool_write_kind kind, time_t next)
{
	struct envelope e;

	spool_test_envelope(&e, it->id, 0, next);
	assert_int_equal(spool_write_prepare(&it->w, kind, &e), 0);
	envelope_free(&e);
	it->w.done = item_done;
	it->w.arg = it;
}

static void
run_until_answered(struct item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		while (items[i].calls == 0)
			assert_int_not_equal(event_base_loop(base, EVLOOP_ONCE), -1);
}

static int
setup(void **state)
{
	(void)state;
	/* In the queue role's order: the batch runner before the spool. */
	if ((base = event_base_new()) == NULL)
		return -1;
	batch_init(base);
	return spool_test_open("/tmp/hmx-batch-test-XXXXXX");
}

static int
teardown(void **state)
{
	(void)state;
	batch_run_now();
	spool_test_close();
	return 0;
}

static void
test_answered_once_after_the_flush(void **state)
{
	static struct item it[N];
	unsigned long flushes = spool_flush_calls();

	(void)state;
	for (int i = 0; i < N; i++)
		item_prepare(&it[i]);
	for (int i = 0; i < N; i++)
		batch_add(&it[i].w);
	assert_false(batch_is_empty());
	for (int i = 0; i < N; i++)
		assert_int_equal(it[i].calls, 0);	/* from the loop, not here */
	run_until_answered(it, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(it[i].calls, 1);
		assert_int_equal(it[i].error, 0);
		assert_true(it[i].env_on_disk);
	}
	/* Added in one turn of the loop: one batch, one syncfs. */
	assert_int_equal(spool_flush_calls() - flushes, 1);
	assert_true(batch_is_empty());
}

/* A write added while a batch is with one flusher gets the other at
 * once: both flushes run side by side. */
static void
test_second_flush_runs_beside_the_first(void **state)
{
	static struct item first, second;
	unsigned long flushes = spool_flush_calls();

	(void)state;
	batch_hold_flushes(true);
	item_prepare(&first);
	item_prepare(&second);
	batch_add(&first.w);
	/* One turn: the batch of `first` is written and with a flusher. */
	assert_int_not_equal(event_base_loop(base, EVLOOP_ONCE), -1);
	assert_true(env_exists(first.id));
	batch_add(&second.w);
	assert_int_not_equal(event_base_loop(base, EVLOOP_ONCE), -1);
	assert_true(env_exists(second.id));	/* not waiting for `first` */
	assert_int_equal(first.calls + second.calls, 0);
	batch_hold_flushes(false);
	run_until_answered(&first, 1);
	run_until_answered(&second, 1);
	assert_int_equal(first.error, 0);
	assert_int_equal(second.error, 0);
	assert_int_equal(spool_flush_calls() - flushes, 2);
	assert_true(batch_is_empty());
}

static bool
file_has(const char *id, const char *suffix, const struct spool_write *w)
{
	char path[256], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/msg/%s%s", spool_dir, id, suffix);
	if ((fd = open(path, O_RDONLY)) == -1)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == (ssize_t)w->len && memcmp(buf, w->text, w->len) == 0;
}

/* Two rewrites of one envelope (<ID>.env.tmp) must not be flushed side
 * by side: the second waits for the first batch, and its text is the one
 * that ends in <ID>.env. A commit added with it does not wait. */
static void
test_rewrite_of_an_envelope_in_flight_waits(void **state)
{
	static struct item msg, u1, u2, other;
	char u2_text[4096];
	size_t u2_len;

	(void)state;
	item_prepare(&msg);
	batch_add(&msg.w);
	run_until_answered(&msg, 1);
	batch_hold_flushes(true);
	item_prepare_update(&u1, &msg, 1700000100);
	item_prepare_update(&u2, &msg, 1700000200);
	item_prepare(&other);
	assert_true(u2.w.len <= sizeof(u2_text));
	memcpy(u2_text, u2.w.text, u2.w.len);
	u2_len = u2.w.len;
	batch_add(&u1.w);
	assert_int_not_equal(event_base_loop(base, EVLOOP_ONCE), -1);
	assert_true(file_has(msg.id, ".env.tmp", &u1.w));
	batch_add(&u2.w);
	batch_add(&other.w);
	assert_int_not_equal(event_base_loop(base, EVLOOP_ONCE), -1);
	assert_true(env_exists(other.id));		/* the second flusher's */
	assert_true(file_has(msg.id, ".env.tmp", &u1.w));	/* u2 not written */
	batch_hold_flushes(false);
	run_until_answered(&u1, 1);
	run_until_answered(&other, 1);
	run_until_answered(&u2, 1);
	assert_true(u1.order < u2.order);
	assert_int_equal(u1.error + u2.error + other.error, 0);
	struct spool_write want = { .text = u2_text, .len = u2_len };
	assert_true(file_has(msg.id, ".env", &want));
	assert_true(batch_is_empty());
}

/* A rewrite whose message was removed while its batch was being flushed
 * is not renamed into place: no envelope without a body comes back. */
static void
test_rewrite_of_a_removed_message_is_dropped(void **state)
{
	static struct item msg, u;

	(void)state;
	item_prepare(&msg);
	batch_add(&msg.w);
	run_until_answered(&msg, 1);
	batch_hold_flushes(true);
	item_prepare_update(&u, &msg, 1700000100);
	batch_add(&u.w);
	assert_int_not_equal(event_base_loop(base, EVLOOP_ONCE), -1);
	assert_int_equal(spool_remove(msg.id), 0);	/* delivered meanwhile */
	batch_hold_flushes(false);
	run_until_answered(&u, 1);
	assert_int_equal(u.error, 0);
	assert_false(env_exists(msg.id));

	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s/msg/%s.env.tmp", spool_dir, msg.id);
	assert_int_equal(access(tmp, F_OK), -1);	/* cleaned up too */
}

static void
test_failed_flush_fails_its_batch_only(void **state)
{
	static struct item bad[3], good;

	(void)state;
	for (int i = 0; i < 3; i++) {
		item_prepare(&bad[i]);
		batch_add(&bad[i].w);
	}
	spool_inject_fault("syncfs", EIO);
	run_until_answered(bad, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(bad[i].error, EIO);
		assert_false(bad[i].env_on_disk);	/* no committed-looking file */
	}
	item_prepare(&good);
	batch_add(&good.w);
	run_until_answered(&good, 1);
	assert_int_equal(good.error, 0);
	assert_true(good.env_on_disk);
}

/* Shutdown: the flush in flight is waited for, the rest flushed here. */
static void
test_run_now_finishes_everything(void **state)
{
	static struct item a, b;

	(void)state;
	item_prepare(&a);
	item_prepare(&b);
	batch_add(&a.w);
	assert_int_not_equal(event_base_loop(base, EVLOOP_ONCE), -1);
	assert_true(env_exists(a.id) && a.calls == 0);	/* with the thread */
	batch_add(&b.w);
	batch_run_now();
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
	assert_true(a.env_on_disk && b.env_on_disk);
	assert_true(batch_is_empty());
	/* The thread's wake-up for `a` arrives later and does nothing. */
	assert_int_not_equal(event_base_loop(base, EVLOOP_NONBLOCK), -1);
	assert_int_equal(a.calls, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answered_once_after_the_flush),
		cmocka_unit_test(test_second_flush_runs_beside_the_first),
		cmocka_unit_test(test_rewrite_of_an_envelope_in_flight_waits),
		cmocka_unit_test(test_rewrite_of_a_removed_message_is_dropped),
		cmocka_unit_test(test_failed_flush_fails_its_batch_only),
		cmocka_unit_test(test_run_now_finishes_everything),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
