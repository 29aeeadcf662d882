/*
 * relay/jobtls.h - the TLS side of a job (relay/job.c): whether a host's
 * TLSA records are asked, the policy each host gets once every answer is
 * in, and what skipping a host for its policy says.
 *
 * Owns: nothing of its own; it reads and fills the job's hosts
 * (struct job_host: dane, tlsp, skip). Kept apart so that job.c stays the
 * walk, and the precedence itself is the pure relay/tlspolicy.c.
 */
#ifndef RELAY_JOBTLS_H
#define RELAY_JOBTLS_H

#include <stdbool.h>

#include "config.h"
#include "job.h"
#include "reply.h"

/* RFC 7672 2.2: TLSA only under a validated MX answer, only when the
 * admin said dns_server validates, never for a relay= host. */
bool	jobtls_wants_tlsa(const struct job *, const struct job_host *,
	    const struct config *);
/* A TLSA answer over the bounds of relay/dane.h: logged once per host
 * (the last host named), not for every message. */
void	jobtls_note_dropped(const char *host, const struct dane_set *);
/* Every answer is in: each host's TLS policy (relay/tlspolicy.h). */
void	jobtls_choose(struct job *);
/* h is ruled out by its policy: logs it (event=relay_tls_skip), counts it
 * for TLS-RPT and fills r with the 4.7.5 that stands for it. */
void	jobtls_skip(const struct job *, const struct job_host *h, struct smtp_reply *r);

#endif
