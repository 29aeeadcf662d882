/*
 * screen/recall.h - what the screen decides from its memory and from the
 * recipient's bounce tag, around the checks (screen/judge.c calls these).
 *
 * Owns: four rules.
 *  - spam memory (spam_memory_time): a message refused at the end of DATA
 *    by its score (not by one decisive policy such as dmarc_reject) or for
 *    a virus leaves (client /24 or /64, sender, recipient) behind for each
 *    of its recipients. A later RCPT for such a triple gets exactly the
 *    reply of a recipient that does not exist (SCREEN_REPLY_USER_UNKNOWN,
 *    550 5.1.1 "User unknown"): spammers clean addresses that bounce off
 *    their lists, and an address that looks dead is worth nothing to them.
 *    Why not after a DMARC or SPF reject alone: a mailing list that breaks
 *    signatures would then see our user "unknown" and unsubscribe them.
 *  - own bounce: a bounce (null sender, or MAILER-DAEMON@) to a valid tag
 *    is a reply to mail we sent: accepted without checks at RCPT, and at
 *    the end of DATA whatever the score says, short of a virus.
 *  - backscatter: a bounce to a bad tag, or to an untagged address while
 *    bounce_tags is on, answers mail we never sent: weight `backscatter`,
 *    and its client is remembered (backscatter_memory_time);
 *  - backscatter_source: any later transaction from that client adds
 *    weight `backscatter_source`.
 * Each shows in the verdict line as a named item (spam_memory:REF,
 * bounce_tag_valid, backscatter, backscatter_source) for `mxctl why`.
 * Clients in trusted_networks are left alone. Every memory call is made
 * under the screen's watchdog (screen/screen.c).
 */
#ifndef SCREEN_RECALL_H
#define SCREEN_RECALL_H

#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "memory.h"
#include "score.h"
#include "screen_facts.h"

/* What recall_score found that overrides the thresholds. */
enum recall_override {
	RECALL_NONE = 0,
	RECALL_SPAM,		/* reject as an unknown user (RCPT) */
	RECALL_OWN_BOUNCE,	/* accept, short of a virus */
};

/* True if the sender is one that bounces: <> or MAILER-DAEMON@. */
bool	recall_is_bounce_sender(const struct screen_facts *);

/* True if a RCPT question needs no checks: remembered spam, or a bounce of
 * our own mail. m may be NULL (no memory: only the tag decides). */
bool	recall_decides_rcpt(const struct config *, const struct screen_facts *,
	    struct screen_memory *m, time_t now);

/* Adds the items above to s (memory read, never written) and says what
 * overrides the thresholds. */
enum recall_override recall_score(const struct config *, const struct screen_facts *,
	    struct screen_memory *m, time_t now, struct score *s);

/* The action and reply after the thresholds, with the override applied. */
void	recall_apply(enum recall_override, enum screen_action *, enum screen_reply *);

/* After a RCPT verdict: a backscatter bounce remembers its client. */
void	recall_learn_rcpt(const struct config *, const struct screen_facts *,
	    struct screen_memory *m, time_t now);

/*
 * After an end-of-DATA verdict v (its score is the total with the items
 * above): a reject by score or a virus remembers every recipient. rcpt
 * has nrcpt entries (the message's). Returns how many were remembered.
 */
unsigned recall_learn_message(const struct config *, const struct screen_facts *,
	    struct screen_memory *m, const struct screen_verdict *v,
	    const char (*rcpt)[ADDR_MAX + 1], unsigned nrcpt, time_t now);

#endif
