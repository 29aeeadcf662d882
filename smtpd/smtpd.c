/*
 * smtpd/smtpd.c - the smtpd role (port 25 sessions and the in-dialog
 * verdict) and the submission role (587/465, authenticated), which run the
 * same session engine.
 *
 * Owns: the order of start-up for both roles. preinit runs as started
 * (root in production) and loads the TLS key, the only file either role
 * ever needs; role_main() then chroots into the empty chroot_dir and drops
 * to _hmx-smtpd or _hmx-submit, and init starts the listeners. Everything
 * they learn about recipients, logins and senders comes from lookup, every
 * message goes to queue, and submission's signatures come from dkimsign,
 * over the links homemxd hands us (smtpd/links.c). Why two role_ops over
 * one engine: the session code is the same; only the listener kinds, the
 * peers and the process identity differ.
 */
#include <string.h>

#include "links.h"
#include "log.h"
#include "server.h"
#include "smtpd.h"
#include "tls.h"

static char	loaded_cert[CONFIG_PATH_MAX];

static void
smtpd_preinit(struct event_base *base, const struct config *c)
{
	(void)base;
	tls_init(c->tls_certificate, c->tls_key);
	memcpy(loaded_cert, c->tls_certificate, sizeof(loaded_cert));
}

/* Submission without TLS could never offer AUTH: refuse to start. */
static void
submission_preinit(struct event_base *base, const struct config *c)
{
	smtpd_preinit(base, c);
	if (!tls_available())
		fatalx("submission: listen submission/submissions needs "
		    "tls_certificate and tls_key");
}

static void
smtpd_init(struct event_base *base, const struct config *c,
    const int *listen_fds, size_t nlisten)
{
	(void)c;
	links_set_self(ROLE_SMTPD);
	server_start(base, listen_fds, nlisten, ROLE_SMTPD);
}

static void
submission_init(struct event_base *base, const struct config *c,
    const int *listen_fds, size_t nlisten)
{
	(void)c;
	links_set_self(ROLE_SUBMISSION);
	server_start(base, listen_fds, nlisten, ROLE_SUBMISSION);
}

static void
smtpd_on_reload(const struct config *c)
{
	/* Limits, timeouts and names are read per use; the key is not. */
	if (strcmp(c->tls_certificate, loaded_cert) != 0)
		log_warnx("a new tls_certificate takes effect after a restart");
}

const struct role_ops smtpd_role_ops = {
	.role = ROLE_SMTPD,
	.preinit = smtpd_preinit,
	.init = smtpd_init,
	.on_link = links_on_link,
	.on_reload = smtpd_on_reload,
	.on_shutdown = server_shutdown,
	.sandbox = &sandbox_profile_smtpd,
};

const struct role_ops submission_role_ops = {
	.role = ROLE_SUBMISSION,
	.preinit = submission_preinit,
	.init = submission_init,
	.on_link = links_on_link,
	.on_reload = smtpd_on_reload,
	.on_shutdown = server_shutdown,
	.sandbox = &sandbox_profile_submission,
};
