/*
 * screen/dynptr.h - does a PTR name look like an end-user (dial-up, DSL,
 * cable, pool) host rather than a mail server's own name?
 *
 * Owns: the heuristic and the Public Suffix List context it needs. Only the
 * host part left of the registrable domain is judged (libpsl, ICANN
 * section): "mail.dsl-provider.example" names a server of the company
 * dsl-provider.example, "dsl-198-51-100-7.provider.example" names a line.
 * Two signs count: one of cfg->screen's dynamic_ptr_words as a whole token
 * or a token prefix followed by digits ("pool", "dyn123"), and the client
 * address written into the name (decimal with '.', '-', '_' or nothing
 * between the octets, zero-padded or not, forward or reversed, or hex).
 * The address sign is not counted when a token says the host sends mail
 * ("mail", "smtp", "mx", "mta", "relay", "out..."): large senders name their
 * outbound servers after their addresses.
 */
#ifndef SCREEN_DYNPTR_H
#define SCREEN_DYNPTR_H

#include <stddef.h>

#include "config_screen.h"

enum dynptr_sign {
	DYNPTR_NONE = 0,
	DYNPTR_WORD,		/* a dynamic_ptr_words entry */
	DYNPTR_ADDRESS,		/* the client's address is in the name */
};

/*
 * Loads the Public Suffix List (the newest of libpsl's built-in copy and
 * /usr/share/publicsuffix). Call before chroot; dynptr_check() loads it on
 * first use otherwise. Without any list, the registrable domain is taken
 * to be the last two labels. Returns -1 in that case, 0 when loaded.
 */
int	dynptr_init(void);

/*
 * name: a valid lowercase host name (a PTR answer); ip: the client address
 * as text (may be "" or unparsable: then only words count). why gets a
 * short reason ("word=pool", "address") when a sign is found.
 */
enum dynptr_sign dynptr_check(const char *name, const char *ip,
	    const struct screen_config *, char *why, size_t whylen);

#endif
