/*
 * dkimsign/isolate.h - each signature made in a short-lived child process
 * (isolate.c).
 */
#ifndef HMX_DKIMSIGN_ISOLATE_H
#define HMX_DKIMSIGN_ISOLATE_H

#include <stddef.h>

#include "signer.h"

#include <sys/types.h>

#define ISOLATE_OUT_MAX		16000	/* >= SIGN_HEADERS_MAX + 1 */
#define ISOLATE_TIMEOUT		30	/* s: a worker still signing is killed */
#define ISOLATE_RECYCLE		1000	/* messages per worker: ~0.5 MB of leak */

/* Maps the shared answer area; -1 with errno. Call once, before use. */
int	isolate_init(void);

/*
 * signer_sign() in the worker process: same contract (0, or -1 with
 * res->why). The worker is started on first use and replaced after
 * ISOLATE_RECYCLE messages; whatever libopendkim forgot to free goes with
 * it. A worker that crashes or hangs fails only the message it was on.
 */
int	isolate_sign(struct signer *, const struct sign_keys *,
	    const struct sign_input *, char *out, size_t outsize,
	    struct sign_result *res);

/* Retires the worker (on shutdown). */
void	isolate_shutdown(void);

/* For the tests: the worker's pid (-1: none yet), a shorter timeout. */
pid_t	isolate_worker_pid(void);
void	isolate_set_timeout_ms(int);

#endif
