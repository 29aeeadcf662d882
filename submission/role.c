/*
 * submission/role.c - the submission role: 587 (STARTTLS) and 465 (TLS
 * from the first byte), for authenticated users.
 *
 * Owns: the order of start-up of homemx-submission. preinit runs as
 * started (root in production) and loads the TLS key; without TLS AUTH
 * could never be offered, so the role refuses to start. role_main() then
 * chroots into the empty chroot_dir and drops to _hmx-submit, and init
 * starts the listeners, which accept only once lookup, queue and dkimsign
 * are linked (smtpd/server.c): a message that cannot be signed is never
 * accepted. The sessions run smtpd's engine with the submission policy
 * (submission/policy.c).
 */
#include "../smtpd/links.h"
#include "../smtpd/server.h"
#include "../smtpd/tls.h"
#include "log.h"
#include "submission.h"

static void
submission_preinit(struct event_base *base, const struct config *c)
{
	(void)base;
	tls_role_preinit(c);
	if (!tls_available())
		fatalx("submission: listen submission/submissions needs "
		    "tls_certificate and tls_key");
}

static void
submission_init(struct event_base *base, const struct config *c,
    const int *listen_fds, size_t nlisten)
{
	(void)c;
	links_set_self(ROLE_SUBMISSION);
	server_start(base, listen_fds, nlisten, ROLE_SUBMISSION, &submission_policy);
}

const struct role_ops submission_role_ops = {
	.role = ROLE_SUBMISSION,
	.preinit = submission_preinit,
	.init = submission_init,
	.on_link = links_on_link,
	.on_reload = tls_role_on_reload,
	.on_tls = tls_role_on_tls,
	.on_shutdown = server_shutdown,
	.sandbox = &sandbox_profile_submission,
};
