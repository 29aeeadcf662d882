/*
 * queue/spool_test.c - the commit protocol and the start-up scan, on a
 * temp directory, with injected I/O errors, in both flush modes.
 *
 * Owns: the proof that a batch costs one flush call (syncfs mode), that a
 * failed step never leaves a committed-looking file behind (no .env after
 * a failed write or flush, no .env.tmp ever, the old envelope intact after
 * a failed rewrite), that one failure in a batch does not fail its
 * neighbours unless the shared flush failed, that every state a crash can
 * leave of a commit (each prefix of the envelope, each prefix of the body)
 * is either deleted as torn or loaded whole, and that the scan deletes
 * garbage, moves corrupt envelopes aside and loads the rest.
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

#include "spool_testlib.h"

static int
setup(void **state)
{
	(void)state;
	return spool_test_open("/tmp/hmx-spool-test-XXXXXX");
}

static int
teardown(void **state)
{
	(void)state;
	spool_test_close();
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
write_bytes(const char *sub, const char *name, const char *text, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s/%s", spool_dir, sub, name);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	assert_true(fd != -1);
	assert_int_equal(write_all(fd, text, len), 0);
	close(fd);
}

static void
write_file(const char *sub, const char *name, const char *text)
{
	write_bytes(sub, name, text, strlen(text));
}

/* The whole content of msg/<id><suffix> into buf (NUL-terminated). */
static size_t
read_file(const char *id, const char *suffix, char *buf, size_t size)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/msg/%s%s", spool_dir, id, suffix);
	int fd = open(path, O_RDONLY);
	assert_true(fd != -1);
	ssize_t n = read(fd, buf, size - 1);
	assert_true(n >= 0);
	close(fd);
	buf[n] = '\0';
	return (size_t)n;
}

static struct spool_write *
new_write(const char *id, enum spool_write_kind kind, uint32_t attempts)
{
	struct spool_write *w = calloc(1, sizeof(*w));
	struct envelope e;

	spool_test_envelope(&e, id, attempts, 1700000000);
	assert_int_equal(spool_write_prepare(w, kind, &e), 0);
	envelope_free(&e);
	return w;
}

/* Creates a body (as smtpd would) and a prepared commit write for it. */
static struct spool_write *
new_commit(char id[QUEUE_ID_SIZE])
{
	spool_test_body(id);
	return new_write(id, SPOOL_WRITE_COMMIT, 0);
}

static void
free_write(struct spool_write *w)
{
	spool_write_release(w);
	free(w);
}

/* Runs a batch of one; returns w->error. */
static int
run_one(struct spool_write *w)
{
	struct spool_write_list list = TAILQ_HEAD_INITIALIZER(list);

	TAILQ_INSERT_TAIL(&list, w, entry);
	spool_write_batch(&list);
	return w->error;
}

struct fault_case {
	enum spool_flush_mode	 mode;
	const char		*op;		/* "" = no fault */
	int			 err;
};

static const struct fault_case commit_faults[] = {
	{ SPOOL_FLUSH_SYNCFS, "", 0 },
	{ SPOOL_FLUSH_SYNCFS, "write", ENOSPC },
	{ SPOOL_FLUSH_SYNCFS, "syncfs", EIO },
	{ SPOOL_FLUSH_FSYNC, "", 0 },
	{ SPOOL_FLUSH_FSYNC, "write", ENOSPC },
	{ SPOOL_FLUSH_FSYNC, "fsync", EIO },
	{ SPOOL_FLUSH_FSYNC, "fsync_dir", EIO },
};

/* A commit that fails at any step leaves no envelope: only the body,
 * which the caller discards. */
static void
test_commit_faults(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(commit_faults) / sizeof(commit_faults[0]); i++) {
		const struct fault_case *c = &commit_faults[i];
		char id[QUEUE_ID_SIZE];
		struct spool_write *w = new_commit(id);

		spool_set_flush_mode(c->mode);
		if (c->err != 0)
			spool_inject_fault(c->op, c->err);
		int err = run_one(w);
		if (err != c->err)
			fail_msg("mode %d fault %s: got error %d, want %d", c->mode, c->op,
			    err, c->err);
		if (c->err != 0)
			assert_string_equal(w->failed_op, c->op);
		assert_int_equal(file_exists("msg", id, ".env"), c->err == 0);
		assert_false(file_exists("msg", id, ".env.tmp"));
		assert_true(file_exists("msg", id, ".msg"));
		if (c->err != 0) {
			spool_discard(id);
			assert_false(file_exists("msg", id, ".msg"));
		}
		free_write(w);
	}
}

static const struct fault_case update_faults[] = {
	{ SPOOL_FLUSH_SYNCFS, "", 0 },
	{ SPOOL_FLUSH_SYNCFS, "write", ENOSPC },
	{ SPOOL_FLUSH_SYNCFS, "syncfs", EIO },
	{ SPOOL_FLUSH_SYNCFS, "rename", EIO },
	{ SPOOL_FLUSH_FSYNC, "", 0 },
	{ SPOOL_FLUSH_FSYNC, "fsync", EIO },
	{ SPOOL_FLUSH_FSYNC, "fsync_dir", EIO },
	{ SPOOL_FLUSH_FSYNC, "rename", EIO },
};

/* A rewrite replaces the envelope whole, or leaves the old one whole. */
static void
test_update_faults(void **state)
{
	static char before[ENVELOPE_TEXT_MAX], after[ENVELOPE_TEXT_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(update_faults) / sizeof(update_faults[0]); i++) {
		const struct fault_case *c = &update_faults[i];
		char id[QUEUE_ID_SIZE];
		struct spool_write *w = new_commit(id);

		spool_set_flush_mode(SPOOL_FLUSH_SYNCFS);
		assert_int_equal(run_one(w), 0);
		free_write(w);
		read_file(id, ".env", before, sizeof(before));
		w = new_write(id, SPOOL_WRITE_UPDATE, 1);
		spool_set_flush_mode(c->mode);
		if (c->err != 0)
			spool_inject_fault(c->op, c->err);
		int err = run_one(w);
		if (err != c->err)
			fail_msg("mode %d fault %s: got error %d, want %d", c->mode, c->op,
			    err, c->err);
		read_file(id, ".env", after, sizeof(after));
		assert_false(file_exists("msg", id, ".env.tmp"));
		if (c->err == 0) {
			assert_non_null(strstr(after, "\nattempts 1\n"));
		} else {
			assert_string_equal(w->failed_op, c->op);
			assert_string_equal(after, before);
		}
		free_write(w);
		assert_int_equal(spool_remove(id), 0);
	}
}

/* One syncfs() for a whole batch of commits and rewrites; the fallback
 * mode pays one fsync per file and one for the directory. */
static void
test_one_flush_per_batch(void **state)
{
	struct spool_write_list list = TAILQ_HEAD_INITIALIZER(list);
	const enum spool_flush_mode modes[] = { SPOOL_FLUSH_SYNCFS, SPOOL_FLUSH_FSYNC };
	const unsigned long want[] = { 1, 5 * 2 + 3 + 1 };
	struct spool_write *w[8];
	char ids[8][QUEUE_ID_SIZE];

	(void)state;
	for (size_t m = 0; m < 2; m++) {
		spool_set_flush_mode(SPOOL_FLUSH_SYNCFS);
		for (int i = 5; i < 8; i++) {	/* three messages to rewrite */
			w[i] = new_commit(ids[i]);
			assert_int_equal(run_one(w[i]), 0);
			free_write(w[i]);
		}
		for (int i = 0; i < 8; i++) {
			w[i] = i < 5 ? new_commit(ids[i]) :
			    new_write(ids[i], SPOOL_WRITE_UPDATE, 2);
			TAILQ_INSERT_TAIL(&list, w[i], entry);
		}
		spool_set_flush_mode(modes[m]);
		unsigned long before = spool_flush_calls();
		spool_write_batch(&list);
		unsigned long got = spool_flush_calls() - before;
		if (got != want[m])
			fail_msg("mode %d: got %lu flush calls, want %lu", modes[m], got,
			    want[m]);
		for (int i = 0; i < 8; i++) {
			assert_int_equal(w[i]->error, 0);
			TAILQ_REMOVE(&list, w[i], entry);
			free_write(w[i]);
			assert_int_equal(spool_remove(ids[i]), 0);
		}
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

	/* The same messages again, as rewrites: syncfs fails for everybody. */
	for (int i = 0; i < 5; i++)
		w[i]->kind = SPOOL_WRITE_UPDATE;
	spool_inject_fault("syncfs", EIO);
	spool_write_batch(&list);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(w[i]->error, EIO);
		assert_false(file_exists("msg", ids[i], ".env.tmp"));
	}
	/* The old envelopes stay in place after a failed rewrite. */
	for (int i = 1; i < 5; i++)
		assert_true(file_exists("msg", ids[i], ".env"));
	for (int i = 0; i < 5; i++)
		free_write(w[i]);
}

/* A commit never overwrites an envelope that exists. */
static void
test_commit_is_exclusive(void **state)
{
	char id[QUEUE_ID_SIZE];
	struct spool_write *w = new_commit(id);

	(void)state;
	assert_int_equal(run_one(w), 0);
	assert_int_equal(run_one(w), EEXIST);
	assert_string_equal(w->failed_op, "create");
	free_write(w);
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

struct release_case {
	const char	*release;
	bool		 want;
};

static const struct release_case release_cases[] = {
	{ "5.8.0", true },
	{ "5.8", true },
	{ "5.10.0-28-amd64", true },
	{ "6.1.0-18-amd64", true },
	{ "6.18.44-fc-v1272", true },
	{ "10.0.0", true },
	{ "5.7.19", false },
	{ "4.19.0-26-amd64", false },
	{ "3.10.0-1160.el7.x86_64", false },
	{ "", false },
	{ "linux", false },
	{ "5", false },
	{ "5.", false },
	{ "99999999999999999999999.1", false },
	{ "-6.1", false },
	{ " 6.1", false },
	{ "6.-1", false },
	{ "5.99999999999999999999999", false },
};

static void
test_release_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(release_cases) / sizeof(release_cases[0]); i++) {
		const struct release_case *c = &release_cases[i];
		bool got = spool_release_has_syncfs_errors(c->release);
		if (got != c->want)
			fail_msg("\"%s\": got %d, want %d", c->release, got, c->want);
	}
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

/* The text of a whole envelope of id (body of len bytes) in buf. */
static size_t
envelope_text(const char *id, uint64_t body_len, char *buf, size_t size)
{
	struct envelope e;
	size_t len;

	spool_test_envelope(&e, id, 0, 1700000000);
	e.body_size = body_len;
	assert_int_equal(envelope_format(&e, buf, size, &len), 0);
	envelope_free(&e);
	return len;
}

/*
 * Every state a power cut can leave of one commit: the envelope cut
 * after any number of bytes with the whole body, and the whole envelope
 * with the body cut anywhere. Anything short is torn: deleted, both files;
 * only the whole pair is loaded.
 */
static void
test_every_crash_state(void **state)
{
	static char env[ENVELOPE_TEXT_MAX];
	const char *id = "00000000c0ffee00";
	size_t blen = strlen(BODY);
	size_t elen = envelope_text(id, blen, env, sizeof(env));
	struct spool_scan_stats st;
	char name[32];

	(void)state;
	for (size_t cut = 0; cut <= elen + blen; cut++) {
		size_t ecut = cut < elen ? cut : elen;
		size_t bcut = cut < elen ? blen : cut - elen;
		snprintf(name, sizeof(name), "%s.msg", id);
		write_bytes("msg", name, BODY, bcut);
		snprintf(name, sizeof(name), "%s.env", id);
		write_bytes("msg", name, env, ecut);
		nloaded = 0;
		spool_scan(count_load, NULL, &st);
		bool whole = ecut == elen && bcut == blen;
		if (st.loaded != whole || st.torn != !whole || st.corrupt != 0 ||
		    st.garbage != 0)
			fail_msg("envelope %zu/%zu body %zu/%zu: loaded %u torn %u corrupt %u "
			    "garbage %u", ecut, elen, bcut, blen, st.loaded, st.torn,
			    st.corrupt, st.garbage);
		assert_int_equal(file_exists("msg", id, ".env"), whole);
		assert_int_equal(file_exists("msg", id, ".msg"), whole);
	}
	assert_int_equal(spool_remove(id), 0);
}

static void
test_scan(void **state)
{
	static char text[ENVELOPE_TEXT_MAX];
	struct spool_scan_stats st;
	char good[QUEUE_ID_SIZE];
	struct spool_write *w = new_commit(good);

	(void)state;
	assert_int_equal(run_one(w), 0);
	free_write(w);
	/* garbage: body without envelope, leftover tmp */
	write_file("msg", "1111111111111111.msg", "uncommitted");
	write_file("msg", "2222222222222222.env.tmp", "half");
	write_file("msg", "2222222222222222.msg", "uncommitted");
	/* corrupt: truncated old envelope, envelope without body, wrong id */
	write_file("msg", "3333333333333333.msg", "body");
	write_file("msg", "3333333333333333.env", "homemx-envelope 1\nid 3333333333333333\n");
	write_file("msg", "4444444444444444.env", "homemx-envelope 1\n");
	write_file("msg", "5555555555555555.msg", "body");
	snprintf(text, sizeof(text), "homemx-envelope 1\nid 6666666666666666\narrival 1\n"
	    "source smtp\nclient_ip\nhelo\nsender <>\nrcpt <k@example.test>\n"
	    "attempts 0\nnext_attempt 1\nend\n");
	write_file("msg", "5555555555555555.env", text);
	/* corrupt: a whole version-3 envelope whose body grew */
	write_file("msg", "7777777777777777.msg", BODY "more");
	envelope_text("7777777777777777", strlen(BODY), text, sizeof(text));
	write_file("msg", "7777777777777777.env", text);
	/* torn: an empty envelope, one cut short, a body cut short */
	write_file("msg", "8888888888888888.msg", BODY);
	write_file("msg", "8888888888888888.env", "");
	write_file("msg", "9999999999999999.msg", BODY);
	size_t n = envelope_text("9999999999999999", strlen(BODY), text, sizeof(text));
	text[n - 3] = '\0';
	write_file("msg", "9999999999999999.env", text);
	write_file("msg", "aaaaaaaaaaaaaaaa.msg", "Subj");
	envelope_text("aaaaaaaaaaaaaaaa", strlen(BODY), text, sizeof(text));
	write_file("msg", "aaaaaaaaaaaaaaaa.env", text);
	/* garbage: a body rewrite cut short */
	write_file("msg", "bbbbbbbbbbbbbbbb.msg.tmp", "Authentication-Results: x\r\n");
	/* unknown: left alone */
	write_file("msg", "README", "hello");

	nloaded = 0;
	spool_scan(count_load, NULL, &st);
	assert_int_equal(nloaded, 1);
	assert_string_equal(loaded_id, good);
	assert_int_equal(st.loaded, 1);
	assert_int_equal(st.garbage, 4);
	assert_false(file_exists("msg", "bbbbbbbbbbbbbbbb", ".msg.tmp"));
	assert_int_equal(st.corrupt, 4);
	assert_int_equal(st.torn, 3);
	assert_int_equal(st.unknown, 1);
	assert_false(file_exists("msg", "1111111111111111", ".msg"));
	assert_false(file_exists("msg", "2222222222222222", ".env.tmp"));
	assert_false(file_exists("msg", "2222222222222222", ".msg"));
	assert_true(file_exists("corrupt", "3333333333333333", ".env"));
	assert_true(file_exists("corrupt", "3333333333333333", ".msg"));
	assert_true(file_exists("corrupt", "4444444444444444", ".env"));
	assert_true(file_exists("corrupt", "5555555555555555", ".env"));
	assert_true(file_exists("corrupt", "7777777777777777", ".env"));
	assert_true(file_exists("corrupt", "7777777777777777", ".msg"));
	const char *torn[] = { "8888888888888888", "9999999999999999", "aaaaaaaaaaaaaaaa" };
	for (size_t i = 0; i < 3; i++) {
		assert_false(file_exists("msg", torn[i], ".env"));
		assert_false(file_exists("msg", torn[i], ".msg"));
		assert_false(file_exists("corrupt", torn[i], ".env"));
	}
	assert_true(file_exists("msg", good, ".env"));
	assert_true(file_exists("msg", good, ".msg"));
	assert_true(file_exists("msg", "README", ""));

	/* Removal: .env goes first, then the body. */
	assert_int_equal(spool_remove(good), 0);
	assert_false(file_exists("msg", good, ".env"));
	assert_false(file_exists("msg", good, ".msg"));
}

/* The screen's fields go first, the forged ones go, the rest is exact. */
static void
test_rewrite_body(void **state)
{
	static const char body[] =
	    "Authentication-Results: mx.example.test; dkim=pass\r\n"	/* 0..51: forged */
	    "From: a@example.net\r\n"					/* 52..72 */
	    "Authentication-Results: mx.example.test;\r\n\tspf=pass\r\n"	/* 73..125 */
	    "Subject: hi\r\n\r\nbody\r\n";
	static const char prepend[] = "Authentication-Results: mx.example.test; spf=none\r\n";
	const struct byte_range strip[] = { { 0, 52 }, { 73, 53 } };
	char id[QUEUE_ID_SIZE], got[1024], want[1024];
	int fd;

	(void)state;
	assert_true((fd = spool_create_body(id)) != -1);
	assert_int_equal(write_all(fd, body, sizeof(body) - 1), 0);
	close(fd);
	assert_int_equal(spool_rewrite_body(id, prepend, strlen(prepend), strip, 2), 0);
	read_file(id, ".msg", got, sizeof(got));
	snprintf(want, sizeof(want), "%sFrom: a@example.net\r\nSubject: hi\r\n\r\nbody\r\n",
	    prepend);
	assert_string_equal(got, want);
	assert_false(file_exists("msg", id, ".msg.tmp"));
	assert_int_equal(spool_body_size(id), (off_t)strlen(want));
	/* a range past the end is refused, and the body stays as it was */
	const struct byte_range bad[] = { { 10, 5000 } };
	assert_int_equal(spool_rewrite_body(id, "", 0, bad, 1), -1);
	assert_int_equal(errno, EINVAL);
	read_file(id, ".msg", got, sizeof(got));
	assert_string_equal(got, want);
	assert_false(file_exists("msg", id, ".msg.tmp"));
	/* nothing to do is a copy of the same bytes */
	assert_int_equal(spool_rewrite_body(id, "", 0, NULL, 0), 0);
	read_file(id, ".msg", got, sizeof(got));
	assert_string_equal(got, want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_flush_per_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_isolation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_is_exclusive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_fault_and_ids, setup, teardown),
		cmocka_unit_test(test_release_parse),
		cmocka_unit_test_setup_teardown(test_every_crash_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_body, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
