/*
 * smtpd/smtpd.c - the smtpd role: port 25 sessions and the in-dialog
 * verdict.
 *
 * Owns: the order of start-up for this role. preinit runs as started
 * (root in production) and loads the TLS key, the only file smtpd ever
 * needs; role_main() then chroots into the empty chroot_dir and drops to
 * _hmx-smtpd, and init starts the listeners. Everything smtpd learns about
 * recipients comes from lookup, and every message goes to queue, over the
 * links homemxd hands us (smtpd/links.c).
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

static void
smtpd_init(struct event_base *base, const struct config *c,
    const int *listen_fds, size_t nlisten)
{
	(void)c;
	server_start(base, listen_fds, nlisten);
}

static void
smtpd_on_reload(const struct config *c)
{
	/* Limits, timeouts and names are read per use; the key is not. */
	if (strcmp(c->tls_certificate, loaded_cert) != 0)
		log_warnx("smtpd: a new tls_certificate takes effect after a restart");
}

const struct role_ops smtpd_role_ops = {
	.role = ROLE_SMTPD,
	.preinit = smtpd_preinit,
	.init = smtpd_init,
	.on_link = links_on_link,
	.on_reload = smtpd_on_reload,
	.on_shutdown = server_shutdown,
};
