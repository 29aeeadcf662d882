/*
 * smtpd/reputation.c - the connection limit a client gets: more for one
 * with a good reputation, fewer for an unknown one.
 *
 * Owns: the memory of clients that sent clean mail (a fixed table of
 * REPUTATION_SLOTS addresses, in memory only). Why: a stock Postfix opens up
 * to 20 connections to one destination (default_destination_concurrency_limit),
 * big senders as many, and a per-address limit of 10 defers their mail with
 * 421; yet a limit of 30 for every address lets a few hosts of a botnet hold
 * the server. The screen already weighs what a reputation is made of
 * (DNSWL, FCrDNS and a HELO that matches it, SPF, DKIM): a verdict that
 * accepts with a score of 0 or less is that reputation, and an address
 * that earned one gets max_connections_per_known_ip for known_client_memory.
 * Postfix ramps its concurrency up only as deliveries succeed (it starts
 * with initial_destination_concurrency, 5), so its first messages earn the
 * higher limit before it needs it. trusted_networks (loopback by default)
 * are never learned: their score is the screen's -100 for trust, not a
 * sender's reputation. Unknown clients keep
 * max_connections_per_ip, and floods still meet max_connections_per_net,
 * max_connections and stress mode (smtpd/guard.h).
 *
 * Why a set-associative table: bounded memory whatever the traffic, O(1)
 * per connection, and a new address replaces the oldest of its
 * REPUTATION_WAYS slots, so a flood of new addresses cannot push out more
 * than its share. Lost at a restart: the next clean message earns it back.
 */
#include <string.h>

#include "reputation.h"
#include "util.h"

struct known_client {
	struct client_addr	addr;
	uint64_t		seen;	/* 0: empty */
};

static struct known_client	table[REPUTATION_SLOTS];

/* FNV-1a over the 16 bytes; the set of REPUTATION_WAYS slots to look in. */
static struct known_client *
set_of(const struct client_addr *a)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(a->b); i++) {
		h ^= a->b[i];
		h *= 16777619u;
	}
	return &table[(h % (REPUTATION_SLOTS / REPUTATION_WAYS)) * REPUTATION_WAYS];
}

void
reputation_note_clean(const struct client_addr *a, uint64_t now)
{
	struct known_client *set = set_of(a), *slot = &set[0];

	for (size_t i = 0; i < REPUTATION_WAYS; i++) {
		if (set[i].seen != 0 && client_same_ip(&set[i].addr, a)) {
			slot = &set[i];
			break;
		}
		if (set[i].seen < slot->seen)
			slot = &set[i];	/* the oldest, or an empty one */
	}
	slot->addr = *a;
	slot->seen = now > 0 ? now : 1;
}

void
reputation_learn(const struct config *c, const struct client_addr *a, const char *ip,
    int score)
{
	if (score <= REPUTATION_CLEAN_SCORE && !screen_ip_trusted(&c->screen, ip))
		reputation_note_clean(a, (uint64_t)mono_now());
}

bool
reputation_is_known(const struct client_addr *a, uint64_t now, uint32_t memory)
{
	const struct known_client *set = set_of(a);

	for (size_t i = 0; i < REPUTATION_WAYS; i++)
		if (set[i].seen != 0 && client_same_ip(&set[i].addr, a))
			return memory > 0 && now - set[i].seen < memory;
	return false;
}

void
reputation_limits(const struct config *c, bool known, uint32_t *per_ip, uint32_t *per_net)
{
	*per_ip = c->max_connections_per_ip;
	*per_net = c->max_connections_per_net;
	if (!known || c->max_connections_per_known_ip <= *per_ip)
		return;
	/* a known sender may fill its own /24 up to its own limit */
	*per_ip = c->max_connections_per_known_ip;
	if (*per_net < *per_ip)
		*per_net = *per_ip;
}

void
reputation_clear(void)
{
	memset(table, 0, sizeof(table));
}
