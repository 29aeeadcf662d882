/*
 * admin/import_test.c - the import parser, one row per file.
 *
 * Each row: file text, then either the expected records (kind, name, and
 * the catch-all / hash / target list) or the expected failing line and a
 * piece of the message. Hostile rows: NUL and control bytes, '€' for '@',
 * over-long lines and names, too many words or targets, bad hashes,
 * duplicates across user/alias, CRLF.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "import.h"

#define HASH "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"

struct import_case {
	const char	*text;
	size_t		 len;		/* 0: strlen(text) */
	unsigned	 bad_line;	/* 0: must parse */
	const char	*message;	/* substring of the error */
	const char	*records;	/* "KIND name extra; ..." when it parses */
};

static const struct import_case cases[] = {
	/* good files */
	{ "", 0, 0, NULL, "" },
	{ "# only a comment\n\n   \n\t# indented comment\n", 0, 0, NULL, "" },
	{ "domain Example.ORG\n", 0, 0, NULL, "D example.org -;" },
	{ "domain bücher.example catchall Kim@Bücher.example\n", 0, 0, NULL,
	  "D xn--bcher-kva.example kim@xn--bcher-kva.example;" },
	{ "user Kim@Example.Test\n", 0, 0, NULL, "U kim@example.test -;" },
	{ "user kim@example.test " HASH "\n", 0, 0, NULL, "U kim@example.test " HASH ";" },
	{ "alias team@example.test kim@example.test,Anne@EXAMPLE.test\n", 0, 0, NULL,
	  "A team@example.test kim@example.test,anne@example.test;" },
	{ "block Kim-Leaked@example.test\r\nuser kim@example.test\r\n", 0, 0, NULL,
	  "B kim-leaked@example.test -;U kim@example.test -;" },
	{ "  user\tkim@example.test  \n", 0, 0, NULL, "U kim@example.test -;" },
	{ "user kim@example.test", 0, 0, NULL, "U kim@example.test -;" },	/* no final LF */
	{ "domain a.test\nuser kim@a.test\nblock kim@a.test\n", 0, 0, NULL,
	  "D a.test -;U kim@a.test -;B kim@a.test -;" },	/* namespaces differ */
	/* bad lines: the number of the first bad line, and why */
	{ "user kim€example.test\n", 0, 1, "missing '@'", NULL },
	{ "# fine\nuser kim@example.test\nuser bad€example.test\n", 0, 3, "bad€example.test", NULL },
	{ "user k\xefm@example.test\n", 0, 1, "not clean UTF-8", NULL },	/* Latin-1 */
	/* RFC 6531: a UTF-8 local part is stored in NFC, whatever the spelling */
	{ "user Ki\xcc\x88m@B\xc3\xbc" "cher.example\n", 0, 0, NULL,
	  "U k\xc3\xafm@xn--bcher-kva.example -;" },
	{ "user @example.test\n", 0, 1, "empty local part", NULL },
	{ "user kim@\n", 0, 1, "empty domain", NULL },
	{ "user kim@-bad-.test\n", 0, 1, "domain", NULL },
	{ "user kim..x@example.test\n", 0, 1, "local part", NULL },
	{ "user kim@[127.0.0.1]\n", 0, 1, "domain", NULL },
	{ "user\n", 0, 1, "expected 'user ADDRESS", NULL },
	{ "user a@b.test c d\n", 0, 1, "expected 'user ADDRESS", NULL },
	{ "user kim@example.test secret\n", 0, 1, "not an Argon2id", NULL },
	{ "user kim@example.test $argon2i$v=19$m=4096,t=3,p=1$c2FsdA$aGFzaA\n", 0, 1, "Argon2id", NULL },
	{ "user kim@example.test $argon2id$v=19$m=65536,t=2,p=1$$aGFzaA\n", 0, 1, "Argon2id", NULL },
	{ "user kim@example.test $argon2id$v=19$m=,t=2,p=1$c2FsdA$aGFzaA\n", 0, 1, "Argon2id", NULL },
	{ "user kim@example.test " HASH "#\n", 0, 1, "Argon2id", NULL },
	{ "domain\n", 0, 1, "expected 'domain NAME'", NULL },
	{ "domain a.test catchall\n", 0, 1, "expected 'domain NAME'", NULL },
	{ "domain a.test catchal kim@a.test\n", 0, 1, "expected 'domain NAME'", NULL },
	{ "domain a.test catchall kim€a.test\n", 0, 1, "catch-all", NULL },
	{ "domain a_b.test\n", 0, 1, "domain 'a_b.test'", NULL },
	{ "alias team@example.test\n", 0, 1, "expected 'alias", NULL },
	{ "alias team@example.test a@example.test, b@example.test\n", 0, 1, "expected 'alias", NULL },
	{ "alias team@example.test a@example.test,,b@example.test\n", 0, 1, "empty target", NULL },
	{ "alias team@example.test a@example.test,\n", 0, 1, "empty target", NULL },
	{ "alias team@example.test ,a@example.test\n", 0, 1, "empty target", NULL },
	{ "alias team@example.test a@example.test,A@example.test\n", 0, 1, "listed twice", NULL },
	{ "alias team@example.test a€example.test\n", 0, 1, "target 'a€example.test'", NULL },
	{ "block\n", 0, 1, "expected 'block ADDRESS'", NULL },
	{ "frobnicate a\n", 0, 1, "unknown directive", NULL },
	{ "User kim@example.test\n", 0, 1, "unknown directive", NULL },
	{ "user kim@example.test # trailing comment\n", 0, 1, "expected 'user", NULL },
	{ "a b c d e f g h i\n", 0, 1, "too many words", NULL },
	{ "user kim@example.test\nuser x@example.test\x01\n", 0, 2, "control character", NULL },
	{ "user kim@example.test\x7f\n", 0, 1, "control character", NULL },
	{ "user kim@example.test\n\nuser a\0b@example.test\n", 36, 3, "NUL", NULL },
	{ "user a@example.test\r\r\n", 0, 1, "control character", NULL },
	/* defined twice: the second line is the bad one */
	{ "user kim@example.test\nuser KIM@example.test\n", 0, 2, "already defined on line 1", NULL },
	{ "alias kim@example.test a@example.test\nuser x@example.test\nuser kim@example.test\n",
	  0, 3, "already defined on line 1", NULL },
	{ "domain a.test\ndomain A.TEST\n", 0, 2, "already defined on line 1", NULL },
	{ "block k-x@a.test\nuser q@a.test\nblock K-X@a.test\nblock k-x@a.test\n", 0, 3,
	  "'k-x@a.test' is already defined on line 1", NULL },
	{ "user z@a.test\nuser b@a.test\nuser b@a.test\nuser z@a.test\n", 0, 3,
	  "'b@a.test' is already defined on line 2", NULL },
};

static void
format_records(const struct import_set *set, char *buf, size_t size)
{
	static const char kinds[] = "?DUAB";
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < set->n && off < size; i++) {
		const struct import_record *r = &set->rec[i];
		char extra[IMPORT_TARGETS_MAX * (ADDR_MAX + 1)] = "";
		size_t eo = 0;

		if (r->kind == IMPORT_DOMAIN && r->catchall[0])
			snprintf(extra, sizeof(extra), "%s", r->catchall);
		else if (r->kind == IMPORT_USER && r->hash[0])
			snprintf(extra, sizeof(extra), "%s", r->hash);
		for (unsigned t = 0; r->kind == IMPORT_ALIAS && t < r->ntargets; t++)
			eo += (size_t)snprintf(extra + eo, sizeof(extra) - eo, "%s%s",
			    t ? "," : "", r->targets[t]);
		off += (size_t)snprintf(buf + off, size - off, "%c %s %s;",
		    kinds[r->kind], r->name, extra[0] ? extra : "-");
	}
}

static void
test_table(void **state)
{
	char err[IMPORT_ERR_MAX], got[16384];
	struct import_set set;
	unsigned line;
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct import_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->text);
		int r = import_parse(c->text, len, &set, &line, err, sizeof(err));

		if (c->bad_line == 0) {
			format_records(&set, got, sizeof(got));
			if (r != 0 || strcmp(got, c->records) != 0) {
				print_error("row %zu: got %d '%s' (%u: %s), want '%s'\n", i, r,
				    got, line, r ? err : "", c->records);
				bad++;
			}
		} else if (r != -1 || line != c->bad_line || strstr(err, c->message) == NULL) {
			print_error("row %zu: got %d line %u '%s', want line %u with '%s'\n",
			    i, r, line, r ? err : "", c->bad_line, c->message);
			bad++;
		}
		if (r == -1)
			assert_int_equal(set.n, 0);
		import_free(&set);
	}
	assert_int_equal(bad, 0);
}

static void
test_limits(void **state)
{
	char err[IMPORT_ERR_MAX], *text;
	struct import_set set;
	unsigned line;
	size_t off = 0, size = IMPORT_LINE_MAX * 2;

	(void)state;
	text = malloc(size);
	assert_non_null(text);
	/* an over-long line on line 2 */
	off = (size_t)snprintf(text, size, "user a@b.test\nuser ");
	memset(text + off, 'x', IMPORT_LINE_MAX);
	assert_int_equal(import_parse(text, off + IMPORT_LINE_MAX, &set, &line, err, sizeof(err)), -1);
	assert_int_equal(line, 2);
	assert_non_null(strstr(err, "longer than"));
	/* a local part of 65 octets */
	off = (size_t)snprintf(text, size, "user ");
	memset(text + off, 'k', 65);
	off += 65;
	off += (size_t)snprintf(text + off, size - off, "@example.test\n");
	assert_int_equal(import_parse(text, off, &set, &line, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "64 octets"));
	/* 32 targets fit, 33 do not */
	for (int n = 32; n <= 33; n++) {
		off = (size_t)snprintf(text, size, "alias big@example.test ");
		for (int i = 0; i < n; i++)
			off += (size_t)snprintf(text + off, size - off, "%su%d@example.test",
			    i ? "," : "", i);
		int r = import_parse(text, off, &set, &line, err, sizeof(err));
		assert_int_equal(r, n == 32 ? 0 : -1);
		if (r == 0)
			assert_int_equal(set.rec[0].ntargets, 32);
		else
			assert_non_null(strstr(err, "more than 32 targets"));
		import_free(&set);
	}
	/* the whole file too large */
	assert_int_equal(import_parse(text, IMPORT_FILE_MAX + 1, &set, &line, err, sizeof(err)), -1);
	assert_int_equal(line, 0);
	free(text);
}

static void
test_record_limit(void **state)
{
	size_t size = (IMPORT_RECORDS_MAX + 1) * 32, off = 0;
	char err[IMPORT_ERR_MAX], *text = malloc(size);
	struct import_set set;
	unsigned line;

	(void)state;
	assert_non_null(text);
	for (int i = 0; i < IMPORT_RECORDS_MAX; i++)
		off += (size_t)snprintf(text + off, size - off, "user u%d@e.test\n", i);
	assert_int_equal(import_parse(text, off, &set, &line, err, sizeof(err)), 0);
	assert_int_equal(set.n, IMPORT_RECORDS_MAX);
	import_free(&set);
	off += (size_t)snprintf(text + off, size - off, "user one-more@e.test\n");
	assert_int_equal(import_parse(text, off, &set, &line, err, sizeof(err)), -1);
	assert_int_equal(line, IMPORT_RECORDS_MAX + 1);
	free(text);
}

static void
test_hash_shapes(void **state)
{
	static const struct { const char *h; bool ok; } rows[] = {
		{ HASH, true },
		{ "$argon2id$v=19$m=19456,t=2,p=1$YWJj$ZGVm", true },
		{ "$argon2id$v=19$m=65536,t=2,p=1$YWJj", false },
		{ "$argon2id$v=18$m=65536,t=2,p=1$YWJj$ZGVm", false },
		{ "$argon2id$v=19$m=65536,t=2$YWJj$ZGVm", false },
		{ "$argon2id$v=19$m=99999999999,t=2,p=1$YWJj$ZGVm", false },
		{ "$argon2id$v=19$m=65536,t=2,p=1$YW Jj$ZGVm", false },
		{ "", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (import_hash_is_valid(rows[i].h) != rows[i].ok)
			fail_msg("'%s': got %d, want %d", rows[i].h, !rows[i].ok, rows[i].ok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_record_limit),
		cmocka_unit_test(test_hash_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
