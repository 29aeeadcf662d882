/*
 * lib/batv.h - the syntax of a BATV bounce address tag
 * (draft-levine-smtp-batv-01, 4.1 "prvs"): prvs=KDDDSSSSSS=local@domain.
 *
 * Owns: the tag grammar and its day arithmetic. K is the key number (one
 * digit), DDD the day the tag expires (days since 1970-01-01, modulo 1000)
 * and SSSSSS the first BATV_SIG_BYTES of a keyed hash in hex. The hash and
 * the key are the queue's alone (queue/bounce_tag.h); this file only
 * splits and joins addresses, so that smtpd can find the mailbox behind a
 * tagged recipient without ever holding the key.
 * Why only this order: we check only tags we made, and we make only the
 * draft's "prvs=TAG=local" (as Exim and most others do); the older
 * "prvs=local/TAG" and "local=TAG" forms are not tags here. "prvs=" is
 * matched in any case, the hex digits too, because some relays change the
 * case of the address they bounce to.
 */
#ifndef HMX_BATV_H
#define HMX_BATV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"

#define BATV_PREFIX		"prvs="
#define BATV_PREFIX_LEN		5
#define BATV_SIG_BYTES		3	/* SSSSSS: six hex digits */
#define BATV_TAG_LEN		(1 + 3 + 2 * BATV_SIG_BYTES)	/* KDDDSSSSSS */
#define BATV_OVERHEAD		(BATV_PREFIX_LEN + BATV_TAG_LEN + 1)	/* "prvs=" TAG "=" */
#define BATV_DAYS_VALID		7	/* a tag is good this many days after it was made */
#define BATV_DAY_MOD		1000
/* The text the hash covers: "KDDD" and the mailbox, lowercase. */
#define BATV_SIGNED_MAX		(4 + ADDR_MAX)

struct batv_tag {
	unsigned	key;				/* K: 0..9 */
	unsigned	day;				/* DDD: expiry day mod 1000 */
	uint8_t		sig[BATV_SIG_BYTES];
	char		mailbox[ADDR_MAX + 1];		/* local@domain, untagged */
};

/*
 * True if address is a tagged mailbox "prvs=KDDDSSSSSS=local@domain" with a
 * non-empty local part; then *out holds its parts (mailbox as given, the
 * local part after the tag). Anything else, including a broken tag, is
 * not a tag: it stays an ordinary address.
 */
bool	batv_parse(const char *address, struct batv_tag *out);

/* "prvs=KDDDSSSSSS=" + t->mailbox into out; -1 if the local part would
 * grow over ADDR_LOCAL_MAX (RFC 5321 4.5.3.1.1), is quoted, or out is too
 * small: such a sender goes out untagged. */
int	batv_format(const struct batv_tag *t, char *out, size_t outsize);

/* "KDDD" + the mailbox in lowercase: what the keyed hash covers. Returns
 * its length, or 0 if it does not fit (it always does for a parsed tag). */
size_t	batv_signed_text(const struct batv_tag *t, char *out, size_t outsize);

/* DDD for a tag made at now: the day it expires, BATV_DAYS_VALID later. */
unsigned	batv_expiry_day(time_t now);
/* True if a tag that expires on day (DDD) is still good at now: today is
 * that day or one of the BATV_DAYS_VALID days before it. */
bool	batv_day_is_fresh(unsigned day, time_t now);

#endif
