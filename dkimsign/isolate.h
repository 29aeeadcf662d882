/*
 * dkimsign/isolate.h - signatures made by a small pool of recycled worker
 * processes, asynchronously (isolate.c).
 */
#ifndef HMX_DKIMSIGN_ISOLATE_H
#define HMX_DKIMSIGN_ISOLATE_H

#include <stddef.h>

#include "signer.h"

#include <sys/types.h>

struct event_base;

#define ISOLATE_OUT_MAX		16000	/* >= SIGN_HEADERS_MAX + 1 */
#define ISOLATE_TIMEOUT		30	/* s: a worker still signing is killed */
#define ISOLATE_RECYCLE		1000	/* messages per worker, then a fresh one */
#define ISOLATE_WORKERS		2	/* the pool; one per core of a small box */
#define ISOLATE_WORKERS_MAX	8
#define ISOLATE_QUEUE_MAX	512	/* requests waiting for a worker */

/* What a request came to: r is 0 (out holds the fields) or -1
 * (res->why says why). out and res are valid during the call only. */
typedef void (*isolate_done_fn)(void *arg, int r, const char *out,
	    const struct sign_result *res);

/* Maps the answer areas of nworkers (1..ISOLATE_WORKERS_MAX) workers,
 * whose sockets base will watch; -1 with errno. Call once, before use. */
int	isolate_init(struct event_base *base, unsigned nworkers);

/*
 * signer_sign() of the message in fd, in a worker: the key texts of k are
 * copied now (the keyring may change before a worker is free), fd is taken
 * over (closed when done), outsize bounds the answer. done is called
 * exactly once, from the event loop, or before this returns when the
 * request can not even be queued (bad request, queue full). Workers start
 * on first use and are replaced after ISOLATE_RECYCLE messages; a worker
 * that crashes or hangs fails only the message it was on.
 */
void	isolate_submit(struct signer *, const struct sign_keys *, int fd,
	    size_t outsize, isolate_done_fn done, void *arg);

/* Requests queued or being signed. */
unsigned isolate_busy(void);

/* Retires every worker; requests still waiting fail (on shutdown). */
void	isolate_shutdown(void);

/* For the tests: worker i's pid (-1: none), a shorter timeout. */
pid_t	isolate_worker_pid(unsigned i);
void	isolate_set_timeout_ms(int);

#endif
