/*
 * admin/setup.h - the parts of `mxctl setup` (admin/cmd_setup.c) that live
 * in files of their own: the placeholder certificate and the DNS records.
 */
#ifndef HMX_ADMIN_SETUP_H
#define HMX_ADMIN_SETUP_H

#include "mxctl.h"

/* Makes a self-signed certificate for hostname (RSA 2048, SHA-256, the name
 * as CN and subjectAltName) and writes key_path (0600) and cert_path
 * (0644), each through a .tmp file renamed into place. 0, or -1 with
 * m->err. */
int	setup_self_signed(struct mxctl *, const char *hostname,
	    const char *cert_path, const char *key_path);

/* Prints, as zone-file lines, the records a new domain needs: MX, SPF, the
 * DKIM keys, DMARC. m->cfg is the config just written. 0, or -1 with
 * m->err (the DKIM keys could not be read). */
int	setup_dns_print(struct mxctl *, const char *domain, const char *hostname);

#endif
