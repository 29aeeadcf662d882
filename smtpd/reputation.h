/*
 * smtpd/reputation.h - which clients have earned more connections at once:
 * a bounded memory of the addresses that sent clean mail lately.
 */
#ifndef SMTPD_REPUTATION_H
#define SMTPD_REPUTATION_H

#include <stdbool.h>
#include <stdint.h>

#include "guard.h"

/* Addresses remembered at most; an older one makes room for a newer. */
#define REPUTATION_SLOTS	4096
#define REPUTATION_WAYS		4	/* slots one address may live in */

/* A screen verdict that accepted with this score speaks for the client
 * (DNSWL, FCrDNS with its HELO, SPF and DKIM passes outweigh the rest). */
#define REPUTATION_CLEAN_SCORE	0

/* The client at a sent mail the screen accepted with score <= 0: it is
 * remembered from now (seconds, any monotonic clock). */
void	reputation_note_clean(const struct client_addr *, uint64_t now);

/* A verdict that accepted mail from the client at ip with score: noted
 * when the score is clean, unless ip is in trusted_networks (its -100 says
 * nothing about a sender, and its limit stays what the admin set). */
void	reputation_learn(const struct config *, const struct client_addr *, const char *ip,
	    int score);

/* Did the client send clean mail within the last memory seconds? */
bool	reputation_is_known(const struct client_addr *, uint64_t now, uint32_t memory);

/* The per-address limit that applies: max_connections_per_known_ip for a
 * known client, else max_connections_per_ip; and the /24-/64 limit,
 * max_connections_per_net, for a known client never below its own. */
void	reputation_limits(const struct config *, bool known, uint32_t *per_ip,
	    uint32_t *per_net);

/* Forgets everything (tests). */
void	reputation_clear(void);

#endif
