/*
 * smtpd/smtpd.c - the smtpd role: port 25 sessions and the in-dialog
 * verdict.
 *
 * Owns: the order of start-up of homemx-smtpd. preinit runs as started
 * (root in production) and loads the TLS key, the only file the role ever
 * needs; role_main() then chroots into the empty chroot_dir and drops to
 * _hmx-smtpd, and init starts the listeners, which accept only once lookup
 * and queue are linked (smtpd/server.c). Everything the role learns about
 * recipients comes from lookup and every message goes to queue, over the
 * links homemxd hands us (smtpd/links.c). The sessions run the engine
 * shared with submission, with port 25's policy (smtpd/inbound.c).
 */
#include "inbound.h"
#include "links.h"
#include "server.h"
#include "smtpd.h"
#include "tls.h"

static void
smtpd_preinit(struct event_base *base, const struct config *c)
{
	(void)base;
	tls_role_preinit(c);
}

static void
smtpd_init(struct event_base *base, const struct config *c,
    const int *listen_fds, size_t nlisten)
{
	(void)c;
	links_set_self(ROLE_SMTPD);
	server_start(base, listen_fds, nlisten, ROLE_SMTPD, &inbound_policy);
}

const struct role_ops smtpd_role_ops = {
	.role = ROLE_SMTPD,
	.preinit = smtpd_preinit,
	.init = smtpd_init,
	.on_link = links_on_link,
	.on_reload = tls_role_on_reload,
	.on_tls = tls_role_on_tls,
	.on_shutdown = server_shutdown,
	.sandbox = &sandbox_profile_smtpd,
};
