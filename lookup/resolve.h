/*
 * lookup/resolve.h - who gets mail sent to an address.
 *
 * Owns: the recipient-resolution rules of homemx (README.md: unknown
 * users at RCPT, aliases, catch-all and subaddresses), in the order they
 * are applied:
 *	1. lowercase; a domain that is neither in the store nor in a `domain`
 *	   line of homemx.conf is not ours: RESOLVE_NOT_LOCAL;
 *	2. the full address is a blocked subaddress: RESOLVE_BLOCKED;
 *	3. an exact user, or an exact alias expanded to local users;
 *	4. a subaddress: bases cut at each delimiter, rightmost first (the
 *	   longest base wins), the first user or alias;
 *	5. the domain's catch-all, if set;
 *	6. RESOLVE_UNKNOWN_USER. Any store trouble: RESOLVE_TEMPFAIL.
 */
#ifndef HMX_LOOKUP_RESOLVE_H
#define HMX_LOOKUP_RESOLVE_H

#include "config.h"
#include "ipc_decode.h"
#include "store.h"

/*
 * Answers one question in one snapshot transaction, so it sees either all
 * of an mxctl change or none of it. Fills out (verdict, mailboxes) and
 * returns the verdict. *store_status is the worst store status met
 * (STORE_PANIC tells the caller to reopen the store).
 */
enum resolve_verdict resolve_address(struct store *, const struct config *,
		    const char *address, struct msg_resolve_answer *out,
		    enum store_status *store_status);

const char	*resolve_verdict_name(enum resolve_verdict);

#endif
