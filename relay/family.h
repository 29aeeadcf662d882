/*
 * relay/family.h - the remembered IPv6-to-IPv4 fallbacks.
 *
 * Owns: which destinations (MX host names and recipient domains) are
 * pinned to IPv4 because a server refused us over IPv6 with a 5.7.x reply
 * (a missing PTR, or IPv6 reputation: Gmail's "IPv6 sending guidelines").
 * The memory is in this process only, for family_fallback_memory seconds:
 * a relay restart forgets it, and the next refusal over IPv6 pins it again
 * at the cost of one extra attempt. That is cheaper than a file the
 * chrooted relay could not write anyway.
 * Bounded: FAMILY_MEMORY_MAX names; when full, the entry that expires
 * first makes room.
 */
#ifndef RELAY_FAMILY_H
#define RELAY_FAMILY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define FAMILY_MEMORY_MAX	1024

void	family_remember(const char *name, time_t now, uint32_t seconds);
bool	family_is_pinned(const char *name, time_t now);
void	family_forget_all(void);

#endif
