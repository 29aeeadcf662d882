/*
 * relay/state.h - the relay's one writable directory, relay_state_dir:
 * the MTA-STS policy cache (relay/mtasts.c) and the daily TLS-RPT reports
 * (relay/tlsrpt.c).
 *
 * Owns: the directory fd. The relay runs chrooted into an empty directory
 * as _hmx-relay, so relay_preinit (root, before the chroot) creates the
 * directory, gives it to the role's user and opens it; afterwards every
 * file is reached with openat on that fd, and nothing outside it can be
 * written (the chroot is empty and root's). A file is written whole: a
 * temporary name, then renameat over the old one, so a reader never sees
 * half of it.
 */
#ifndef RELAY_STATE_H
#define RELAY_STATE_H

#include <stddef.h>
#include <sys/types.h>

/* As root in preinit; a directory that can not be made is logged and the
 * relay goes on without a disk (caches stay in memory). */
void	relay_state_open(const char *dir, const char *user);
/* name: a plain file name. 0, or -1 (logged). */
int	relay_state_write(const char *name, const char *data, size_t len);
/* Reads up to size - 1 bytes, NUL-terminated; the length, or -1. */
ssize_t	relay_state_read(const char *name, char *buf, size_t size);

#endif
