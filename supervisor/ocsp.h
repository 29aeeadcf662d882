/*
 * supervisor/ocsp.h - OCSP stapling in homemxd: which certificates have a
 * responder, the responses cached in ocsp_dir, when to fetch the next
 * one, and the fetcher children (supervisor/ocsp_fetch.c).
 */
#ifndef SUPERVISOR_OCSP_H
#define SUPERVISOR_OCSP_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "tlspem.h"

struct config;
struct event_base;

#define OCSP_FILE_MAX	64	/* "ocsp-<16 hex>.der" */

/* What one fetcher child gets. */
struct ocsp_job {
	const char		*uri;
	const char		*file;		/* in dirfd */
	int			 dirfd;		/* ocsp_dir */
	const unsigned char	*request;	/* DER */
	size_t			 request_len;
	X509			*leaf, *issuer;
	const char		*dns_server;	/* "" = resolv.conf, through c-ares */
	const char		*chroot_dir;
	bool			 as_root;	/* then drop to the relay's user */
};

/* The child: never returns (exit 0 once the response is in the cache). */
void	ocsp_fetch_run(const struct ocsp_job *) __attribute__((noreturn));

/*
 * Reads the certificates of the config, loads the cached responses that
 * are still good and schedules the fetches (tls_ocsp_stapling, and only
 * for a certificate with an http:// OCSP URI and its issuer in the chain).
 * on_staple is called whenever a new response is in: homemxd then sends
 * the pairs again with ocsp_staples().
 */
void	ocsp_start(struct event_base *, const struct config *, bool as_root,
	    void (*on_staple)(void));
/* After a reload: the certificates may be new. */
void	ocsp_reconfigure(const struct config *);
/* SIGCHLD: true when pid was a fetcher (then it is handled). */
bool	ocsp_child_exited(pid_t pid, int status);
/* Is a current response there for any pair? */
bool	ocsp_have_staple(void);
/* The current response of each configured pair (len 0: none), in the
 * order of lib/tlspem.h (RSA, then ECDSA). */
void	ocsp_staples(struct tlspem_staple out[TLSPEM_PAIRS_MAX]);

#endif
