/*
 * lib/bdbenv.c - the one way homemx opens a Berkeley DB environment
 * (lib/bdbenv.h says why these settings).
 *
 * Owns: nothing but the settings; callers own their handles.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "bdbenv.h"
#include "log.h"
#include "util.h"

#define BDBENV_THREADS	16	/* set_thread_count, for failchk */

/* failchk asks whether the owner of a lock or transaction still lives. */
static int
bdbenv_isalive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
	(void)env;
	(void)tid;
	(void)flags;
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* Informational chatter (failchk cleaning up after a dead process). */
static void
bdbenv_msgcall(const DB_ENV *env, const char *msg)
{
	(void)env;
	log_debug("bdb: %s", msg);
}

static int
bdbenv_configure(DB_ENV *env, const struct bdbenv_sizes *sz)
{
	int r;

	if ((r = env->set_thread_count(env, BDBENV_THREADS)) != 0 ||
	    (r = env->set_isalive(env, bdbenv_isalive)) != 0 ||
	    (r = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0 ||
	    (r = env->set_cachesize(env, 0, sz->cache_bytes, 1)) != 0 ||
	    (r = env->set_lk_max_locks(env, sz->locks_max)) != 0 ||
	    (r = env->set_lk_max_objects(env, sz->locks_max)) != 0 ||
	    (r = env->set_lg_max(env, sz->log_file_bytes)) != 0 ||
	    (r = env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1)) != 0)
		return r;
	return 0;
}

int
bdbenv_open(const char *dir, const struct bdbenv_sizes *sz, void *app_private,
    bdbenv_errcall errcall, DB_ENV **out, char *err, size_t errlen)
{
	DB_ENV *env;
	int r;

	*out = NULL;
	if (mkdir_p(dir, 0700) == -1) {
		r = errno;
		snprintf(err, errlen, "%s: cannot create: %s", dir, strerror(r));
		return r;
	}
	if ((r = db_env_create(&env, 0)) != 0) {
		snprintf(err, errlen, "%s: %s", dir, db_strerror(r));
		return r;
	}
	env->app_private = app_private;
	env->set_errcall(env, errcall);
	env->set_msgcall(env, bdbenv_msgcall);
	if ((r = bdbenv_configure(env, sz)) != 0 ||
	    (r = env->open(env, dir, DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK |
	    DB_INIT_LOG | DB_INIT_MPOOL | DB_THREAD | DB_REGISTER | DB_RECOVER,
	    BDBENV_FILE_MODE)) != 0) {
		snprintf(err, errlen, "%s: %s", dir, db_strerror(r));
		env->close(env, 0);
		return r;
	}
	*out = env;
	return 0;
}

int
bdbenv_open_btree(DB_ENV *env, const char *file, DB **out)
{
	int r;

	if ((r = db_create(out, env, 0)) != 0)
		return r;
	return (*out)->open(*out, NULL, file, NULL, DB_BTREE, DB_CREATE |
	    DB_AUTO_COMMIT | DB_MULTIVERSION | DB_THREAD, BDBENV_FILE_MODE);
}
