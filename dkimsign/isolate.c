/*
 * dkimsign/isolate.c - every message is signed in a forked child.
 *
 * Owns: the shared answer area and the child's life. Why a child per
 * message: libopendkim 2.11.0~beta2 (Debian 12) leaks the private key
 * object of every Ed25519 signature (an EVP_PKEY and a 64-byte struct,
 * ~550 bytes per message, measured with LeakSanitizer and RSS; RSA does
 * not leak), and dkimsign lives as long as the daemon. A child inherits
 * the loaded keys and the DKIM_LIB copy-on-write, signs, copies the
 * fields into a MAP_SHARED page and _exit()s: the leak dies with it. The
 * same wall also keeps a libopendkim crash or endless loop on a hostile
 * message to that message (SIGN_FAILED), not the whole role. Cost: one
 * fork and wait, ~0.2 ms against ~1-2 ms of signing (see the bench note).
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "isolate.h"

struct isolate_area {
	int			r;
	struct sign_result	res;
	char			out[ISOLATE_OUT_MAX];
};

static struct isolate_area	*area;

int
isolate_init(void)
{
	void *p = mmap(NULL, sizeof(*area), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	area = p;
	return 0;
}

static void __attribute__((noreturn))
child_sign(struct signer *s, const struct sign_keys *k, const struct sign_input *in,
    size_t outsize)
{
	signal(SIGALRM, SIG_DFL);
	alarm(ISOLATE_TIMEOUT);
	area->r = signer_sign(s, k, in, area->out,
	    outsize < sizeof(area->out) ? outsize : sizeof(area->out), &area->res);
	_exit(0);
}

static void
describe_death(int status, struct sign_result *res)
{
	if (WIFSIGNALED(status))
		snprintf(res->why, sizeof(res->why), "signing process killed by signal %d%s",
		    WTERMSIG(status), WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
	else
		snprintf(res->why, sizeof(res->why), "signing process exited with status %d",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int
isolate_sign(struct signer *s, const struct sign_keys *k, const struct sign_input *in,
    char *out, size_t outsize, struct sign_result *res)
{
	int status;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (outsize == 0)
		return -1;
	out[0] = '\0';
	memset(area, 0, offsetof(struct isolate_area, out) + 1);
	area->r = -1;
	if ((pid = fork()) == -1) {
		snprintf(res->why, sizeof(res->why), "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		child_sign(s, k, in, outsize);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			snprintf(res->why, sizeof(res->why), "waitpid: %s", strerror(errno));
			return -1;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		describe_death(status, res);
		return -1;
	}
	*res = area->res;
	res->why[sizeof(res->why) - 1] = '\0';
	res->algs[sizeof(res->algs) - 1] = '\0';
	if (area->r == -1)
		return -1;
	area->out[sizeof(area->out) - 1] = '\0';
	if (strlen(area->out) >= outsize) {
		snprintf(res->why, sizeof(res->why), "signature fields too long");
		return -1;
	}
	memcpy(out, area->out, strlen(area->out) + 1);
	return 0;
}
