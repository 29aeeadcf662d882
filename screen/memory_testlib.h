/*
 * screen/memory_testlib.h - what the tests of the screen's memory share
 * (screen/memory_test.c, screen/memory_recall_test.c, screen/recall_test.c):
 * a real Berkeley DB environment in a fresh temporary directory, removed
 * afterwards, and a config with the defaults for each test to change.
 *
 * Owns dir and cfg, the test's. A header of static inline functions,
 * included by those tests only, so the Makefile's one-test-one-source rule
 * needs no exception.
 */
#ifndef SCREEN_MEMORY_TESTLIB_H
#define SCREEN_MEMORY_TESTLIB_H

#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "memory.h"

static char dir[64];
static struct config cfg;

/* A new dir from template (mkdtemp's XXXXXX) and cfg at its defaults. */
static inline void
memory_test_begin(const char *template)
{
	snprintf(dir, sizeof(dir), "%s", template);
	assert_non_null(mkdtemp(dir));
	config_defaults(&cfg);
}

/* Removes dir and the database files Berkeley DB made in it. */
static inline int
memory_test_end(void **state)
{
	char *argv[] = { "rm", "-rf", dir, NULL };

	(void)state;
	if (fork() == 0) {
		execvp("rm", argv);
		_exit(127);
	}
	while (wait(NULL) == -1)
		;
	return 0;
}

static inline struct screen_memory *
open_mem(size_t max)
{
	char err[MEMORY_ERR_MAX];
	struct screen_memory *m = memory_open(dir, max, err, sizeof(err));

	if (m == NULL)
		fail_msg("memory_open: %s", err);
	return m;
}

#endif
