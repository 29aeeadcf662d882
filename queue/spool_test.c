/*
 * queue/spool_test.c - the commit protocol and the start-up scan, on a
 * temp directory, with injected I/O errors.
 *
 * Owns: the proof that a failed step of the group flush never leaves a
 * committed-looking file behind (no .env after a failed write, syncfs or
 * rename; .env.tmp always removed), that one failure in a batch does not
 * fail its neighbours unless the shared flush failed, and that the scan
 * deletes garbage, moves corrupt envelopes aside and loads the rest.
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
#include <unistd.h>

#include <cmocka.h>

#include "spool.h"
#include "util.h"

static char spool_dir[64];

static void
rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *de;
		while (d != NULL && (de = readdir(d)) != NULL) {
			char sub[1024];
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			rm_rf(sub);
		}
		if (d != NULL)
			closedir(d);
		rmdir(path);
	} else
		unlink(path);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(spool_dir, sizeof(spool_dir), "/tmp/hmx-spool-test-XXXXXX");
	if (mkdtemp(spool_dir) == NULL)
		return -1;
	spool_init(spool_dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	spool_close();
	rm_rf(spool_dir);
	return 0;
}

static bool
file_exists(const char *sub, const char *id, const char *suffix)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s/%s%s", spool_dir, sub, id, suffix);
	return access(path, F_OK) == 0;
}

static void
write_file(const char *sub, const char *name, const char *text)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s/%s", spool_dir, sub, name);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	assert_true(fd != -1);
	assert_int_equal(write_all(fd, text, strlen(text)), 0);
	close(fd);
}

static void
sample_envelope(struct envelope *e, const char *id)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->arrival = e->next_attempt = 1700000000;
	e->source = SOURCE_SMTP;
	snprintf(e->client_ip, sizeof(e->client_ip), "127.0.0.1");
	snprintf(e->helo, sizeof(e->helo), "client.example");
	snprintf(e->sender, sizeof(e->sender), "a@example.net");
	e->nrcpt = 1;
	e->rcpt = calloc(1, sizeof(*e->rcpt));
	snprintf(e->rcpt[0], sizeof(e->rcpt[0]), "kim@example.test");
}

/* Creates a body (as smtpd would) and a prepared commit write for it. */
static struct spool_write *
new_commit(char id[QUEUE_ID_SIZE])
{
	struct spool_write *w = calloc(1, sizeof(*w));
	struct envelope e;

	int fd = spool_create_body(id);
	assert_true(fd != -1);
	assert_int_equal(write_all(fd, "Subject: x\r\n\r\nhi\r\n", 18), 0);
	close(fd);
	sample_envelope(&e, id);
	assert_int_equal(spool_write_prepare(w, SPOOL_WRITE_COMMIT, &e), 0);
	envelope_free(&e);
	return w;
}

struct fault_case {
	const char	*op;		/* "" = no fault */
	int		 err;
	bool		 want_env;	/* .env present afterwards */
	bool		 want_renamed;
};

static const struct fault_case fault_cases[] = {
	{ "", 0, true, true },
	{ "write", ENOSPC, false, false },
	{ "syncfs", EIO, false, false },
	{ "rename", EIO, false, false },
	{ "fsync_dir", EIO, true, true },	/* caller must discard */
};

static void
test_commit_faults(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fault_cases) / sizeof(fault_cases[0]); i++) {
		const struct fault_case *c = &fault_cases[i];
		struct spool_write_list list = TAILQ_HEAD_INITIALIZER(list);
		char id[QUEUE_ID_SIZE];
		struct spool_write *w = new_commit(id);

		TAILQ_INSERT_TAIL(&list, w, entry);
		if (c->err != 0)
			spool_inject_fault(c->op, c->err);
		spool_write_batch(&list);
		if (w->error != c->err)
			fail_msg("fault %s: got error %d, want %d", c->op, w->error, c->err);
		if (c->err != 0)
			assert_string_equal(w->failed_op, c->op);
		assert_int_equal(w->renamed, c->want_renamed);
		assert_int_equal(file_exists("msg", id, ".env"), c->want_env);
		assert_false(file_exists("msg", id, ".env.tmp"));
		assert_true(file_exists("msg", id, ".msg"));
		if (c->err != 0) {
			if (w->renamed)
				spool_discard_committed(id);
			else
				spool_discard(id);
			assert_false(file_exists("msg", id, ".msg"));
			assert_false(file_exists("msg", id, ".env"));
		}
		spool_write_release(w);
		free(w);
	}
}

/* One write failing alone does not fail the others; a failed syncfs
 * fails the whole batch. */
static void
test_batch_isolation(void **state)
{
	struct spool_write_list list = TAILQ_HEAD_INITIALIZER(list);
	char ids[5][QUEUE_ID_SIZE];
	struct spool_write *w[5];

	(void)state;
	for (int i = 0; i < 5; i++) {
		w[i] = new_commit(ids[i]);
		TAILQ_INSERT_TAIL(&list, w[i], entry);
	}
	spool_inject_fault("write", EIO);	/* hits the first one only */
	spool_write_batch(&list);
	assert_int_equal(w[0]->error, EIO);
	for (int i = 1; i < 5; i++) {
		assert_int_equal(w[i]->error, 0);
		assert_true(file_exists("msg", ids[i], ".env"));
	}
	assert_false(file_exists("msg", ids[0], ".env"));

	/* Same batch again (rewrites): syncfs fails for everybody. */
	spool_inject_fault("syncfs", EIO);
	spool_write_batch(&list);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(w[i]->error, EIO);
		assert_false(file_exists("msg", ids[i], ".env.tmp"));
	}
	/* The old envelopes stay in place after a failed rewrite. */
	for (int i = 1; i < 5; i++)
		assert_true(file_exists("msg", ids[i], ".env"));
	for (int i = 0; i < 5; i++) {
		spool_write_release(w[i]);
		free(w[i]);
	}
}

static void
test_create_fault_and_ids(void **state)
{
	char a[QUEUE_ID_SIZE], b[QUEUE_ID_SIZE];

	(void)state;
	spool_inject_fault("create", ENOSPC);
	assert_int_equal(spool_create_body(a), -1);
	assert_int_equal(errno, ENOSPC);
	int fa = spool_create_body(a), fb = spool_create_body(b);
	assert_true(fa != -1 && fb != -1);
	assert_true(queue_id_is_valid(a) && queue_id_is_valid(b));
	assert_string_not_equal(a, b);
	struct stat st;
	assert_int_equal(fstat(fa, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* The fd handed to smtpd is write-only. */
	char c;
	assert_int_equal(read(fa, &c, 1), -1);
	close(fa);
	close(fb);
	assert_int_equal(spool_body_size(a), 0);
	assert_int_equal(spool_body_size("0000000000000000"), -1);
}

static unsigned nloaded;
static char loaded_id[QUEUE_ID_SIZE];

static void
count_load(struct envelope *e, void *arg)
{
	(void)arg;
	nloaded++;
	memcpy(loaded_id, e->id, sizeof(loaded_id));
	envelope_free(e);
}

static void
test_scan(void **state)
{
	struct spool_write_list list = TAILQ_HEAD_INITIALIZER(list);
	struct spool_scan_stats st;
	char good[QUEUE_ID_SIZE];
	struct spool_write *w = new_commit(good);

	(void)state;
	TAILQ_INSERT_TAIL(&list, w, entry);
	spool_write_batch(&list);
	assert_int_equal(w->error, 0);
	spool_write_release(w);
	free(w);
	/* garbage: body without envelope, leftover tmp */
	write_file("msg", "1111111111111111.msg", "uncommitted");
	write_file("msg", "2222222222222222.env.tmp", "half");
	write_file("msg", "2222222222222222.msg", "uncommitted");
	/* corrupt: truncated envelope, envelope without body, wrong id */
	write_file("msg", "3333333333333333.msg", "body");
	write_file("msg", "3333333333333333.env", "homemx-envelope 1\nid 3333333333333333\n");
	write_file("msg", "4444444444444444.env", "homemx-envelope 1\n");
	write_file("msg", "5555555555555555.msg", "body");
	char text[1024];
	snprintf(text, sizeof(text), "homemx-envelope 1\nid 6666666666666666\narrival 1\n"
	    "source smtp\nclient_ip\nhelo\nsender <>\nrcpt <k@example.test>\n"
	    "attempts 0\nnext_attempt 1\nend\n");
	write_file("msg", "5555555555555555.env", text);
	/* unknown: left alone */
	write_file("msg", "README", "hello");

	nloaded = 0;
	spool_scan(count_load, NULL, &st);
	assert_int_equal(nloaded, 1);
	assert_string_equal(loaded_id, good);
	assert_int_equal(st.loaded, 1);
	assert_int_equal(st.corrupt, 3);
	assert_int_equal(st.unknown, 1);
	assert_false(file_exists("msg", "1111111111111111", ".msg"));
	assert_false(file_exists("msg", "2222222222222222", ".env.tmp"));
	assert_false(file_exists("msg", "2222222222222222", ".msg"));
	assert_true(file_exists("corrupt", "3333333333333333", ".env"));
	assert_true(file_exists("corrupt", "3333333333333333", ".msg"));
	assert_true(file_exists("corrupt", "4444444444444444", ".env"));
	assert_true(file_exists("corrupt", "5555555555555555", ".env"));
	assert_true(file_exists("msg", good, ".env"));
	assert_true(file_exists("msg", good, ".msg"));
	assert_true(file_exists("msg", "README", ""));

	/* Removal: .env goes first, then the body. */
	assert_int_equal(spool_remove(good), 0);
	assert_false(file_exists("msg", good, ".env"));
	assert_false(file_exists("msg", good, ".msg"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_isolation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_fault_and_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
