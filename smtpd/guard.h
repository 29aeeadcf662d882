/*
 * smtpd/guard.h - the numbers that keep one client from holding the
 * server: which addresses count as one client or one network, how long
 * each phase of a session may take, and stress mode, which shortens those
 * deadlines while the server is nearly full.
 *
 * Owns: the deadline table and the stress-mode rule. Pure functions over
 * the config and counts: the session engine (smtpd/session_io.c) arms its
 * timers from them and the listener (smtpd/server.c) counts clients with
 * them; the unit tests drive them directly.
 */
#ifndef SMTPD_GUARD_H
#define SMTPD_GUARD_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* An IPv4 address is kept IPv4-mapped (::ffff:a.b.c.d), so one compare
 * serves both families. */
struct client_addr {
	uint8_t	b[16];
	bool	v4;
};

void	client_addr_from_sockaddr(const struct sockaddr *, struct client_addr *);
bool	client_same_ip(const struct client_addr *, const struct client_addr *);
/* The same /24 (IPv4) or /64 (IPv6): one customer, one provider's pool. */
bool	client_same_net(const struct client_addr *, const struct client_addr *);

/*
 * What a deadline is for. Bytes never extend one: a command line must be
 * complete within its deadline of the previous reply, and DATA must bring
 * DATA_BLOCK octets within each data deadline.
 */
enum deadline_kind {
	DEADLINE_NONE = 0,
	DEADLINE_GREETING,	/* our greeting_delay, before the banner */
	DEADLINE_FIRST_COMMAND,	/* the banner is out, no line yet */
	DEADLINE_COMMAND,	/* one command line (or TLS handshake, AUTH line) */
	DEADLINE_DATA,		/* one DATA_BLOCK of the message */
	DEADLINE_ANSWER,	/* we wait for another role: not the client's time */
	DEADLINE_EOD_ANSWER,	/* the same after the final dot: may include scanners */
	DEADLINE_LINGER,	/* the last reply drains */
};

/*
 * RFC 5321 4.5.3.2.5 gives a client 3 minutes per data block it sends;
 * 64 KiB in timeout_data (3 minutes) is about 3 kbit/s, far below any
 * real link, while a drip of a byte every few seconds is cut after 3
 * minutes. Stress mode asks 64 KiB in 30 s (about 17 kbit/s).
 */
#define DATA_BLOCK		(64 * 1024)
#define ANSWER_TIMEOUT		120	/* seconds we wait for lookup, queue, dkimsign */

/*
 * The screen answers a RCPT question within its DNS budget
 * (screen_dns_timeout) plus its own work; twice that and 5 s more is
 * room for a busy screen, while a hung one costs a client seconds, not
 * ANSWER_TIMEOUT per recipient.
 */
unsigned	screen_answer_seconds(const struct config *);

/*
 * After the final dot the screen may also wait for content scanners
 * (scanner_timeout): the wait is at least ANSWER_TIMEOUT and long enough
 * for the DNS budget twice, the scanners and 10 s of slack, within RFC
 * 5321 4.5.3.2.6's 10 minutes.
 */
unsigned	eod_answer_seconds(const struct config *);
#define CLOSE_LINGER		5	/* seconds to flush the last reply */

/* Stress mode (as Postfix's): at more than 3/4 of max_connections. */
#define STRESS_ENTER_NUM	3
#define STRESS_ENTER_DEN	4
/* ... and back to normal at half, so that it does not flap. */
#define STRESS_LEAVE_NUM	1
#define STRESS_LEAVE_DEN	2
#define STRESS_GREETING		2	/* seconds: greeting_delay at most this */
#define STRESS_FIRST_COMMAND	5
#define STRESS_COMMAND		10
#define STRESS_DATA		30

const char	*deadline_name(enum deadline_kind);

/* Seconds for a deadline of this kind; stress only ever shortens one. */
unsigned	deadline_seconds(enum deadline_kind, const struct config *, bool stress);

/* Returns the new stress state for this many sessions (with hysteresis). */
bool		stress_next(bool stressed, size_t sessions, uint32_t max_connections);

#endif
