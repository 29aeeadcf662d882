/*
 * supervisor/localstandin.c - while the submission role is down, homemxd
 * itself answers the local socket of sendmail(8) with "421".
 *
 * Owns: one event per `listen local` socket and whether it is armed.
 * Why: homemxd makes the listening socket and keeps its copy so that a
 * restarted submission role gets the same one (supervisor/spawn.c). While
 * the role is dead (restart backoff: up to 30 s, see supervisor.c) the
 * kernel still completes every connect() into the backlog, and nobody
 * greets: sendmail would wait its whole greeting timeout. So between the
 * role's exit and its next start homemxd accepts each waiting client,
 * writes one RFC 5321 4.2 reply ("421 4.3.2", RFC 3463: system not
 * accepting messages) and closes: sendmail exits EX_TEMPFAIL at once
 * with that text, and the calling program still has its message. Nothing
 * is read from the client. When the role starts again the events are
 * disarmed before fork(), so the role alone accepts from then on, and
 * clients that connected in between wait in the backlog for it.
 */
#include <sys/socket.h>

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "localstandin.h"
#include "log.h"

#define STANDIN_REPLY	"421 4.3.2 homemx: the submission role is restarting, try again later\r\n"

static struct event	*events[CONFIG_MAX_LISTEN];
static size_t		 nevents;
static bool		 armed;
static unsigned long	 answered;	/* clients told 421 since armed */

/* One waiting client: the reply, then the hang-up. homemxd is the only
 * acceptor while armed; the zero-timeout poll still keeps a blocking
 * listener from ever stalling the event loop. */
static void
answer_one(evutil_socket_t fd, short what, void *arg)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int c;

	(void)what;
	(void)arg;
	if (poll(&p, 1, 0) != 1 || (c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) == -1)
		return;
	(void)send(c, STANDIN_REPLY, sizeof(STANDIN_REPLY) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(c);
	answered++;
}

void
localstandin_add(struct event_base *base, int listen_fd)
{
	if (nevents == CONFIG_MAX_LISTEN)
		return;
	events[nevents] = event_new(base, listen_fd, EV_READ | EV_PERSIST, answer_one, NULL);
	if (events[nevents] == NULL)
		fatalx("event_new for the local socket");
	nevents++;
}

void
localstandin_set(bool on)
{
	if (on == armed || nevents == 0)
		return;
	for (size_t i = 0; i < nevents; i++)
		if (on)
			event_add(events[i], NULL);
		else
			event_del(events[i]);
	armed = on;
	if (on) {
		answered = 0;
		log_event("local_standin", "role=supervisor state=on reply=421");
	} else
		log_event("local_standin", "role=supervisor state=off answered=%lu", answered);
}

void
localstandin_stop(void)
{
	for (size_t i = 0; i < nevents; i++) {
		event_del(events[i]);
		event_free(events[i]);
		events[i] = NULL;
	}
	nevents = 0;
	armed = false;
}
