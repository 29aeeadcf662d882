/*
 * screen/dkimverify.h - DKIM verification (RFC 6376, RFC 8463) for the
 * end-of-DATA screen: check_dkim (declared in screen/checks.h) and the
 * process-wide libopendkim handle it uses.
 *
 * Owns: the one DKIM_LIB of the process and its options (the key-lookup
 * hook that answers from the DNS view, 1024-bit RSA minimum). See
 * screen/dkimverify.c for the rules.
 */
#ifndef SCREEN_DKIMVERIFY_H
#define SCREEN_DKIMVERIFY_H

#define DKIM_BODY_CHUNK	(64 * 1024)	/* body bytes per pread and dkim_body */

/*
 * Creates the libopendkim handle now (the first check_dkim would). The
 * screen role calls it before it enters its chroot, so that OpenSSL and
 * libopendkim find whatever they load at start. Returns -1 on failure;
 * check_dkim then scores every signature as a temperror.
 */
int	dkimverify_init(void);

#endif
