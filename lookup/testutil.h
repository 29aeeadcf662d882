/*
 * lookup/testutil.h - helpers shared by the lookup unit tests: a real
 * store in a fresh temporary directory, filled from short text rows.
 * Header-only so that it never links into homemx-lookup itself.
 */
#ifndef HMX_LOOKUP_TESTUTIL_H
#define HMX_LOOKUP_TESTUTIL_H

#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "store.h"

struct test_store {
	char		 dir[64];
	struct store	*st;
};

static inline void
test_store_open(struct test_store *ts)
{
	char err[1024];

	snprintf(ts->dir, sizeof(ts->dir), "/tmp/hmx-store-test-XXXXXX");
	assert_non_null(mkdtemp(ts->dir));
	ts->st = store_open(ts->dir, err, sizeof(err));
	if (ts->st == NULL)
		fail_msg("store_open: %s", err);
}

static inline void
test_store_remove(const char *dir)
{
	char path[512];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		(void)unlink(path);
	}
	closedir(d);
	(void)rmdir(dir);
}

static inline void
test_store_close(struct test_store *ts)
{
	store_close(ts->st);
	test_store_remove(ts->dir);
}

static inline void
test_put_alias(struct store_txn *t, const char *address, const char *targets)
{
	struct store_alias a = { 0 };
	const char *p = targets;

	snprintf(a.address, sizeof(a.address), "%s", address);
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		snprintf(a.targets[a.ntargets++], sizeof(a.targets[0]), "%.*s", (int)n, p);
		p += n + (p[n] == ',');
	}
	assert_int_equal(store_put_alias(t, &a), STORE_OK);
}

static inline void
test_put_user(struct store_txn *t, const char *address)
{
	struct store_user u = { 0 };

	snprintf(u.address, sizeof(u.address), "%s", address);
	assert_int_equal(store_put_user(t, &u), STORE_OK);
}

static inline void
test_put_domain(struct store_txn *t, const char *name, const char *catchall)
{
	struct store_domain d = { 0 };

	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.catchall, sizeof(d.catchall), "%s", catchall);
	assert_int_equal(store_put_domain(t, &d), STORE_OK);
}

static inline void
test_put_block(struct store_txn *t, const char *address, const char *base)
{
	struct store_block b = { 0 };

	snprintf(b.address, sizeof(b.address), "%s", address);
	snprintf(b.base, sizeof(b.base), "%s", base);
	assert_int_equal(store_put_block(t, &b), STORE_OK);
}

static inline void
test_config(struct config *cfg, const char *extra)
{
	char text[1024], err[CONFIG_ERR_MAX];

	snprintf(text, sizeof(text), "listen smtp 127.0.0.1:25\n"
	    "domain example.test\n%s", extra);
	if (config_parse("test.conf", text, strlen(text), cfg, err, sizeof(err)) == -1)
		fail_msg("config: %s", err);
}

#endif
