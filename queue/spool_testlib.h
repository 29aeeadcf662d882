/*
 * queue/spool_testlib.h - what the spool's unit tests share
 * (queue/spool_test.c, queue/batch_test.c): a spool in a fresh temporary
 * directory, removed afterwards, and a sample message (a body as smtpd
 * leaves it and an envelope for it).
 *
 * Owns spool_dir, the test's spool. A header of static inline functions,
 * included by those tests only, so the Makefile's one-test-one-source rule
 * needs no exception.
 */
#ifndef QUEUE_SPOOL_TESTLIB_H
#define QUEUE_SPOOL_TESTLIB_H

#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"
#include "util.h"

#define BODY	"Subject: x\r\n\r\nhi\r\n"

static char spool_dir[64];

static inline void
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
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
			    (size_t)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= sizeof(sub))
				continue;
			rm_rf(sub);
		}
		if (d != NULL)
			closedir(d);
		rmdir(path);
	} else
		unlink(path);
}

/* A new spool_dir from template (mkdtemp's XXXXXX), opened in syncfs
 * mode (spool_test.c counts its flush calls); -1 if it cannot be made. */
static inline int
spool_test_open(const char *template)
{
	snprintf(spool_dir, sizeof(spool_dir), "%s", template);
	if (mkdtemp(spool_dir) == NULL)
		return -1;
	spool_init(spool_dir);
	spool_set_flush_mode(SPOOL_FLUSH_SYNCFS);
	return 0;
}

static inline void
spool_test_close(void)
{
	spool_close();
	rm_rf(spool_dir);
}

/* An envelope for BODY from a@example.net to kim@example.test. */
static inline void
spool_test_envelope(struct envelope *e, const char *id, uint32_t attempts, time_t next)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->arrival = 1700000000;
	e->next_attempt = next;
	e->source = SOURCE_SMTP;
	snprintf(e->client_ip, sizeof(e->client_ip), "127.0.0.1");
	snprintf(e->helo, sizeof(e->helo), "client.example");
	snprintf(e->sender, sizeof(e->sender), "a@example.net");
	e->nrcpt = 1;
	e->rcpt = calloc(1, sizeof(*e->rcpt));
	snprintf(e->rcpt[0], sizeof(e->rcpt[0]), "kim@example.test");
	e->attempts = attempts;
	e->has_body_size = true;
	e->body_size = strlen(BODY);
}

/* A new id and its body in the spool, as smtpd leaves it before the commit. */
static inline void
spool_test_body(char id[QUEUE_ID_SIZE])
{
	int fd = spool_create_body(id);

	assert_true(fd != -1);
	assert_int_equal(write_all(fd, BODY, strlen(BODY)), 0);
	close(fd);
}

#endif
