/*
 * relay/family.h - the remembered IPv6-to-IPv4 fallbacks.
 *
 * Owns: which destinations (MX host names and recipient domains) are
 * pinned to IPv4 because a server refused us over IPv6 with a 5.7.x reply
 * (a missing PTR, or IPv6 reputation: Gmail's "IPv6 sending guidelines"),
 * for family_fallback_memory seconds.
 * Why it survives a restart of the relay: the relay is chrooted into an
 * empty directory and can keep nothing on disk, so every new pin goes to
 * the queue (the learn hook, MSG_RELAY_FAMILY_LEARNED), which writes it
 * under spool_dir (queue/family_store.c) and hands the whole memory back
 * whenever the link comes up (MSG_QUEUE_FAMILY_MEMORY, family_load()).
 * Bounded: FAMILY_MEMORY_MAX names; when full, the entry that expires
 * first makes room.
 */
#ifndef RELAY_FAMILY_H
#define RELAY_FAMILY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define FAMILY_MEMORY_MAX	1024

/* Called for every pin learned here (not for loaded ones). */
typedef void (*family_learn_cb)(const char *name, time_t until);

void	family_set_learn_hook(family_learn_cb);
/* A 5.7.x over IPv6 from name: IPv4 only for seconds from now. name is
 * kept in lowercase. */
void	family_remember(const char *name, time_t now, uint32_t seconds);
/* A pin the queue kept: until is cut to now + max_seconds (the config may
 * have shortened family_fallback_memory); an expired one is ignored. An
 * existing pin only grows. */
void	family_load(const char *name, time_t until, time_t now, uint32_t max_seconds);
bool	family_is_pinned(const char *name, time_t now);
size_t	family_count(time_t now);
void	family_forget_all(void);

#endif
