/*
 * dkimsign/isolate.h - each signature made in a short-lived child process
 * (isolate.c).
 */
#ifndef HMX_DKIMSIGN_ISOLATE_H
#define HMX_DKIMSIGN_ISOLATE_H

#include <stddef.h>

#include "signer.h"

#define ISOLATE_OUT_MAX		16000	/* >= SIGN_HEADERS_MAX + 1 */
#define ISOLATE_TIMEOUT		30	/* s: a child still signing is killed */

/* Maps the shared answer area; -1 with errno. Call once, before use. */
int	isolate_init(void);

/*
 * signer_sign() in a child process: same contract (0, or -1 with
 * res->why). The child's memory, and whatever libopendkim forgot to free
 * in it, is gone when it exits; a child that crashes or hangs only fails
 * this one message.
 */
int	isolate_sign(struct signer *, const struct sign_keys *,
	    const struct sign_input *, char *out, size_t outsize,
	    struct sign_result *res);

#endif
