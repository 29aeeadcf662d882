/*
 * screen/dnsbl_health.h - which configured DNS lists answer sanely right now.
 *
 * Owns: the per-list health state. RFC 5782 5: an IPv4 list must list
 * 127.0.0.2 and must not list 127.0.0.1. A list that lists 127.0.0.1 lists
 * everything; one that does not list 127.0.0.2 is dead or refusing us; one
 * that answers 127.255.255.x (Spamhaus' "you are blocked", "typing error",
 * "excessive queries") refuses us. Such a list is ignored (never a hit)
 * until a probe finds it healthy again, and each change is logged once.
 */
#ifndef SCREEN_DNSBL_HEALTH_H
#define SCREEN_DNSBL_HEALTH_H

#include <stdbool.h>

#include "config_screen.h"

enum list_state {
	LIST_UNKNOWN = 0,	/* not probed yet: used */
	LIST_HEALTHY,
	LIST_LISTS_EVERYTHING,	/* 127.0.0.1 is listed */
	LIST_DEAD,		/* 127.0.0.2 is not listed */
	LIST_REFUSING,		/* answers 127.255.255.x */
};

struct dnsbl_health {
	enum list_state	state[SCREEN_LISTS_MAX];	/* index of cfg lists[] */
};

/* True if list i may count. */
bool	dnsbl_list_usable(const struct dnsbl_health *, size_t i);
const char *list_state_name(enum list_state);

#endif
