/*
 * supervisor/notify.c - the sd_notify protocol, without libsystemd.
 *
 * Owns: the address of systemd's notification socket, read once from
 * NOTIFY_SOCKET at start. Why not libsystemd: the protocol is one datagram
 * of "KEY=VALUE" lines to an AF_UNIX socket (sd_notify(3), "Notes"), a few
 * lines here against one more library in a process that stays root. The
 * unit (conf/systemd/homemx.service) is Type=notify: systemd considers
 * homemx started when READY=1 arrives, which supervisor.c sends once every
 * role has reported MSG_ROLE_READY, so "systemctl start" returns when mail
 * is accepted, and fails when a role cannot start.
 * A path starting with '@' is in the abstract namespace (its '@' becomes a
 * NUL byte); other address families (vsock) are not supported and ignored.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

static struct sockaddr_un	notify_addr;
static socklen_t		notify_addrlen;	/* 0: nobody to tell */

void
notify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t len;

	if (path == NULL)
		return;
	len = strlen(path);
	if ((path[0] == '/' || path[0] == '@') && len >= 2 &&
	    len < sizeof(notify_addr.sun_path)) {
		notify_addr.sun_family = AF_UNIX;
		memcpy(notify_addr.sun_path, path, len);
		if (path[0] == '@')
			notify_addr.sun_path[0] = '\0';
		notify_addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	} else
		log_warnx("NOTIFY_SOCKET '%.100s' is not a UNIX socket path: not "
		    "notifying systemd", path);
	unsetenv("NOTIFY_SOCKET");
}

void
notify_send(const char *state)
{
	static bool warned;
	int fd;

	if (notify_addrlen == 0)
		return;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (const struct sockaddr *)&notify_addr, notify_addrlen) == -1) {
		if (!warned)
			log_warn("cannot notify systemd");
		warned = true;
	}
	if (fd != -1)
		close(fd);
}
