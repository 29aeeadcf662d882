/*
 * queue/bounce_tag.h - BATV (draft-levine-smtp-batv-01) in the queue: the
 * envelope sender of every relayed message from one of our domains goes
 * out tagged, "prvs=KDDDSSSSSS=local@domain", and smtpd asks here whether
 * the tag of a recipient is one we made (MSG_SMTPD_TAG_CHECK).
 *
 * Owns: the key, spool_dir/state/bounce_key (mode 0600, the queue's user),
 * made with libsodium's randombytes the first time bounce_tags is on. It
 * never leaves this process: smtpd gets a yes or no, the relay the tagged
 * sender. Why HMAC-SHA-256 and not the draft's SHA-1: only this queue ever
 * checks its own tags, so the choice is private; libsodium gives HMAC-SHA-256
 * (crypto_auth_hmacsha256), and a 24-bit cut of either is as strong as the
 * other. The hash covers "KDDD" and the untagged mailbox in lowercase
 * (lib/batv.h).
 * Why tag only submitted mail: a port-25 message an alias forwards keeps
 * its sender (not ours to tag), DSNs keep the null sender, and the stored
 * envelope stays untagged, so our own bounces and the logs name the real
 * sender; the tag is made again at every relay attempt (a fresh day).
 */
#ifndef HMX_QUEUE_BOUNCE_TAG_H
#define HMX_QUEUE_BOUNCE_TAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "batv.h"
#include "config.h"
#include "envelope.h"
#include "ipc_bounce.h"

#define BOUNCE_KEY_FILE		"bounce_key"
#define BOUNCE_KEY_BYTES	32	/* crypto_auth_hmacsha256_KEYBYTES */
#define BOUNCE_KEY_NUMBER	0	/* K: one key; see README for rotation */

/* ---- pure: the tag maker and checker, for a given key ----------------- */

/* The first BATV_SIG_BYTES of HMAC-SHA-256(key, batv_signed_text(t)). */
void	bounce_tag_hash(const uint8_t key[BOUNCE_KEY_BYTES], const struct batv_tag *t,
	    uint8_t sig[BATV_SIG_BYTES]);
/* sender tagged with key number key_no for a message sent at now, into
 * out; -1 if it cannot carry a tag (batv_format). */
int	bounce_tag_make(const uint8_t key[BOUNCE_KEY_BYTES], unsigned key_no,
	    const char *sender, time_t now, char *out, size_t outsize);
/* Whether tagged (a batv_parse-able address) carries our tag at now. */
enum bounce_tag_result bounce_tag_verify(const uint8_t key[BOUNCE_KEY_BYTES],
	    unsigned key_no, const char *tagged, time_t now);

/* ---- the queue's key -------------------------------------------------- */

/* Opens spool_dir/state/, loads the key if there is one, and makes it when
 * bounce_tags is on and there is none. A key file that exists but does not
 * read is fatal: a new key would turn a week of real bounces into
 * backscatter without a word. */
void	bounce_tag_init(const struct config *);
/* bounce_tags may have been switched on: make the key now if needed. */
void	bounce_tag_reload(const struct config *);

/* The MAIL FROM the relay uses for e: the tagged sender when bounce_tags is
 * on, e was submitted and its sender is in one of our domains; else the
 * sender as stored. Returns true if it is tagged. */
bool	bounce_tag_sender(const struct envelope *e, time_t now, char *out,
	    size_t outsize);
/* smtpd's question about a tagged recipient. */
enum bounce_tag_result bounce_tag_check(const char *tagged, time_t now);

/* For tests: forget the key and the directory. */
void	bounce_tag_close(void);

#endif
