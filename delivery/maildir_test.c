/*
 * delivery/maildir_test.c - the Maildir writer against a temp directory.
 *
 * Owns: the proof that delivered files are byte-exact (headers + body,
 * 8-bit, CRLF, NUL, bare CR, bodies larger than the copy buffer), that
 * names are unique and carry the true ,S= size, that nothing is left in
 * tmp/, and that hostile mailboxes and planted symlinks never lead a
 * write outside <root>/<domain>/<user>/.
 */
#include <sys/stat.h>

#include <dirent.h>
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

#include "maildir.h"
#include "util.h"

struct fixture {
	char			dir[64];
	struct maildir_root	root;
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/hmx-maildir-test-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	if (maildir_root_open(&fx->root, fx->dir, "mx.example.test") == -1)
		return -1;
	*state = fx;
	return 0;
}

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
teardown(void **state)
{
	struct fixture *fx = *state;

	maildir_root_close(&fx->root);
	rm_rf(fx->dir);
	free(fx);
	return 0;
}

/* A body file in the temp dir holding len bytes of data. */
static int
make_body(struct fixture *fx, const void *data, size_t len)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/body", fx->dir);
	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	assert_true(fd != -1);
	assert_int_equal(write_all(fd, data, len), 0);
	unlink(path);
	/* Leave the offset at the end: the writer must pread from 0. */
	return fd;
}

/* One message into one Maildir, the steps in delivery.c's order for a
 * batch of one: write into tmp/, syncfs, rename into new/, fsync new/. */
static enum maildir_status
deliver(struct maildir_root *root, const char *mailbox, const char *sender,
    const char *rcpt, int body_fd, char *why, size_t whysize)
{
	struct maildir_file f;
	enum maildir_status st;

	st = maildir_write(root, mailbox, sender, rcpt, body_fd, &f, why, whysize);
	if (st != MAILDIR_OK)
		return st;
	assert_int_equal(syncfs(f.fd), 0);
	assert_int_equal(maildir_publish(&f), 0);
	assert_int_equal(maildir_sync_new(&f), 0);
	maildir_file_close(&f);
	return MAILDIR_OK;
}

/* Lists the files of dir; returns how many (names in names[]). */
static size_t
list_dir(const char *dir, char names[][512], size_t max)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n < max)
			snprintf(names[n], 512, "%s", de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static char *
read_file(const char *path, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);

	assert_true(fd != -1);
	assert_int_equal(fstat(fd, &st), 0);
	char *buf = malloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

struct body_case {
	const char	*name;
	const char	*data;
	size_t		 len;
};

#define BODY(name, lit)	{ name, lit, sizeof(lit) - 1 }

static const struct body_case body_cases[] = {
	BODY("plain", "Subject: hi\r\n\r\nhello\r\n"),
	BODY("8-bit", "Subject: caf\xc3\xa9\r\n\r\n\xff\xfe\x80 gr\xc3\xbc\xc3\x9f\r\n"),
	BODY("leading dot kept as unstuffed", "Subject: x\r\n\r\n.hidden line\r\n..\r\n"),
	BODY("NUL and bare CR and LF", "a\0b\rc\nd\r\n"),
	BODY("empty", ""),
	BODY("no final CRLF", "Subject: x\r\n\r\nno newline at end"),
};

static void
assert_delivered(struct fixture *fx, const char *userdir, const char *sender,
    const char *rcpt, const char *data, size_t len)
{
	char names[4][512], path[1024];
	size_t flen;

	snprintf(path, sizeof(path), "%s/%s/tmp", fx->dir, userdir);
	assert_int_equal(list_dir(path, names, 4), 0);	/* nothing left in tmp */
	snprintf(path, sizeof(path), "%s/%s/new", fx->dir, userdir);
	assert_int_equal(list_dir(path, names, 4), 1);
	snprintf(path, sizeof(path), "%s/%s/new/%s", fx->dir, userdir, names[0]);
	char *got = read_file(path, &flen);

	char want_hdr[1024];
	int hl = snprintf(want_hdr, sizeof(want_hdr),
	    "Return-Path: <%s>\r\nDelivered-To: %s\r\n", sender, rcpt);
	if (flen != (size_t)hl + len || memcmp(got, want_hdr, (size_t)hl) != 0 ||
	    memcmp(got + hl, data, len) != 0)
		fail_msg("file %s: got %zu bytes, want %zu (headers+body)", names[0],
		    flen, (size_t)hl + len);
	/* ",S=<size>" must be the real size (Dovecot trusts it). */
	char want_s[32];
	snprintf(want_s, sizeof(want_s), ",S=%zu", flen);
	const char *s = strstr(names[0], ",S=");
	assert_non_null(s);
	assert_string_equal(s, want_s);
	assert_non_null(strstr(names[0], ".mx.example.test,S="));
	free(got);
	unlink(path);
}

static void
test_byte_exact(void **state)
{
	struct fixture *fx = *state;
	char why[MAILDIR_WHY_MAX];

	for (size_t i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]); i++) {
		const struct body_case *c = &body_cases[i];
		int fd = make_body(fx, c->data, c->len);
		enum maildir_status st = deliver(&fx->root, "kim@example.test",
		    "a@example.net", "kim+tag@example.test", fd, why, sizeof(why));
		if (st != MAILDIR_OK)
			fail_msg("%s: got status %d (%s), want OK", c->name, st, why);
		assert_delivered(fx, "example.test/kim", "a@example.net",
		    "kim+tag@example.test", c->data, c->len);
		close(fd);
	}
}

static void
test_null_sender_and_large_body(void **state)
{
	struct fixture *fx = *state;
	char why[MAILDIR_WHY_MAX];
	size_t len = 300 * 1024 + 7;	/* several copy buffers */
	char *data = malloc(len);

	for (size_t i = 0; i < len; i++)
		data[i] = (char)(i * 131 + (i >> 8));
	int fd = make_body(fx, data, len);
	assert_int_equal(deliver(&fx->root, "kim@example.test", "",
	    "kim-list@example.test", fd, why, sizeof(why)), MAILDIR_OK);
	assert_delivered(fx, "example.test/kim", "", "kim-list@example.test", data, len);
	close(fd);
	free(data);
}

static void
test_creates_maildir_0700(void **state)
{
	struct fixture *fx = *state;
	char why[MAILDIR_WHY_MAX], path[256];
	const char *subs[] = { "", "/tmp", "/new", "/cur" };
	struct stat st;

	int fd = make_body(fx, "x\r\n", 3);
	assert_int_equal(deliver(&fx->root, "new.user@other.test",
	    "a@example.net", "new.user@other.test", fd, why, sizeof(why)), MAILDIR_OK);
	close(fd);
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/other.test/new.user%s", fx->dir, subs[i]);
		assert_int_equal(stat(path, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 0777, 0700);
	}
}

static void
test_unique_names(void **state)
{
	struct fixture *fx = *state;
	char why[MAILDIR_WHY_MAX], path[256];
	static char names[600][512];
	const size_t n = 500;

	int fd = make_body(fx, "x\r\n", 3);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(deliver(&fx->root, "kim@example.test", "",
		    "kim@example.test", fd, why, sizeof(why)), MAILDIR_OK);
	close(fd);
	snprintf(path, sizeof(path), "%s/example.test/kim/new", fx->dir);
	assert_int_equal(list_dir(path, names, 600), n);
	/* list_dir returned n distinct directory entries: names are unique. */
}

struct mailbox_case {
	const char	*mailbox;
	bool		 ok;
	const char	*user;
	const char	*domain;
};

static const struct mailbox_case mailbox_cases[] = {
	{ "kim@example.test", true, "kim", "example.test" },
	{ "Kim.Lee@Example.TEST", true, "Kim.Lee", "example.test" },
	{ "kim@[127.0.0.1]", true, "kim", "[127.0.0.1]" },
	{ "\"kim\"@example.test", true, "kim", "example.test" },
	{ "\"a/b\"@example.test", false, NULL, NULL },
	{ "\"../../etc\"@example.test", false, NULL, NULL },
	{ "\"/\"@example.test", false, NULL, NULL },
	{ "..@example.test", false, NULL, NULL },
	{ ".@example.test", false, NULL, NULL },
	{ "@example.test", false, NULL, NULL },
	{ "kim@", false, NULL, NULL },
	{ "kim", false, NULL, NULL },
	{ "", false, NULL, NULL },
	{ "kim@example.test/../x", false, NULL, NULL },
	{ "kim@..", false, NULL, NULL },
};

static void
test_split_mailbox(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mailbox_cases) / sizeof(mailbox_cases[0]); i++) {
		const struct mailbox_case *c = &mailbox_cases[i];
		char user[ADDR_LOCAL_MAX + 3], domain[ADDR_DOMAIN_MAX + 1];
		const char *why = NULL;
		bool ok = maildir_split_mailbox(c->mailbox, user, domain, &why);
		if (ok != c->ok)
			fail_msg("%s: got %s, want %s", c->mailbox, ok ? "ok" : why,
			    c->ok ? "ok" : "refused");
		if (ok) {
			assert_string_equal(user, c->user);
			assert_string_equal(domain, c->domain);
		}
	}
}

/* A refused mailbox is a permanent failure and writes nothing. */
static void
test_refused_mailbox_writes_nothing(void **state)
{
	struct fixture *fx = *state;
	char why[MAILDIR_WHY_MAX], names[4][512];

	int fd = make_body(fx, "x\r\n", 3);
	assert_int_equal(deliver(&fx->root, "\"../x\"@example.test", "",
	    "kim@example.test", fd, why, sizeof(why)), MAILDIR_PERMFAIL);
	close(fd);
	assert_non_null(strstr(why, "refused mailbox"));
	assert_int_equal(list_dir(fx->dir, names, 4), 0);
}

/* A symlink planted as a domain or user directory is not followed. */
static void
test_symlink_not_followed(void **state)
{
	struct fixture *fx = *state;
	char why[MAILDIR_WHY_MAX], path[256], target[256], names[4][512];

	snprintf(target, sizeof(target), "%s/elsewhere", fx->dir);
	assert_int_equal(mkdir(target, 0700), 0);
	snprintf(path, sizeof(path), "%s/evil.test", fx->dir);
	assert_int_equal(symlink(target, path), 0);
	int fd = make_body(fx, "x\r\n", 3);
	assert_int_equal(deliver(&fx->root, "kim@evil.test", "",
	    "kim@evil.test", fd, why, sizeof(why)), MAILDIR_TEMPFAIL);
	assert_int_equal(list_dir(target, names, 4), 0);

	/* Same one level down, at the user directory. */
	snprintf(path, sizeof(path), "%s/example.test", fx->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/example.test/bob", fx->dir);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(deliver(&fx->root, "bob@example.test", "",
	    "bob@example.test", fd, why, sizeof(why)), MAILDIR_TEMPFAIL);
	assert_int_equal(list_dir(target, names, 4), 0);
	close(fd);
}

/* A Maildir with tmp/ missing (or not a directory) is a temporary error. */
static void
test_broken_maildir_tempfails(void **state)
{
	struct fixture *fx = *state;
	char why[MAILDIR_WHY_MAX], path[256];

	snprintf(path, sizeof(path), "%s/example.test", fx->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/example.test/kim", fx->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/example.test/kim/tmp", fx->dir);
	int f = open(path, O_CREAT | O_WRONLY, 0600);	/* a file, not a dir */
	close(f);
	int fd = make_body(fx, "x\r\n", 3);
	assert_int_equal(deliver(&fx->root, "kim@example.test", "",
	    "kim@example.test", fd, why, sizeof(why)), MAILDIR_TEMPFAIL);
	assert_non_null(strstr(why, "tmp/"));
	close(fd);
}

/* The step-by-step API: nothing is visible in new/ before publish. */
static void
test_two_phase(void **state)
{
	struct fixture *fx = *state;
	struct maildir_file f;
	char why[MAILDIR_WHY_MAX], path[256], names[4][512];

	int fd = make_body(fx, "body\r\n", 6);
	assert_int_equal(maildir_write(&fx->root, "kim@example.test", "s@example.net",
	    "kim@example.test", fd, &f, why, sizeof(why)), MAILDIR_OK);
	snprintf(path, sizeof(path), "%s/example.test/kim/new", fx->dir);
	assert_int_equal(list_dir(path, names, 4), 0);
	snprintf(path, sizeof(path), "%s/example.test/kim/tmp", fx->dir);
	assert_int_equal(list_dir(path, names, 4), 1);
	assert_string_equal(names[0], f.name);
	assert_int_equal(syncfs(f.fd), 0);
	assert_int_equal(maildir_publish(&f), 0);
	assert_int_equal(maildir_sync_new(&f), 0);
	maildir_file_close(&f);
	assert_delivered(fx, "example.test/kim", "s@example.net", "kim@example.test",
	    "body\r\n", 6);

	/* Closed before publish: the tmp file is removed. */
	assert_int_equal(maildir_write(&fx->root, "kim@example.test", "", "kim@example.test",
	    fd, &f, why, sizeof(why)), MAILDIR_OK);
	maildir_file_close(&f);
	assert_int_equal(list_dir(path, names, 4), 0);
	close(fd);
}

static void
test_escape_host(void **state)
{
	char out[64];

	(void)state;
	maildir_escape_host("mx.example.test", out, sizeof(out));
	assert_string_equal(out, "mx.example.test");
	maildir_escape_host("a/b:c", out, sizeof(out));
	assert_string_equal(out, "a\\057b\\072c");
	maildir_escape_host("::::", out, 10);	/* truncates on a whole escape */
	assert_string_equal(out, "\\072\\072");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_byte_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_sender_and_large_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_creates_maildir_0700, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unique_names, setup, teardown),
		cmocka_unit_test(test_split_mailbox),
		cmocka_unit_test_setup_teardown(test_refused_mailbox_writes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_maildir_tempfails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_phase, setup, teardown),
		cmocka_unit_test(test_escape_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
