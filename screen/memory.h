/*
 * screen/memory.h - what the screen remembers across restarts: greylist
 * triplets, the sources that passed greylisting, every verdict (for
 * `mxctl why`), the recipients of refused spam and the sources of
 * backscatter, in a Berkeley DB environment in screen_dir.
 *
 * Owns: the six databases and their record formats, their expiry and the
 * bound on their size. The screen role is the only writer; mxctl opens the
 * same environment to read (snapshot transactions never wait for the
 * writer, lib/bdbenv.h). Commits are not flushed to disk one by one
 * (DB_TXN_WRITE_NOSYNC): a killed process loses nothing, a power cut may
 * lose the last seconds of greylist state, which costs a sender one more
 * retry and never loses mail.
 *
 *   greylist.db  key "SOURCE\tSENDER\tRCPT"  value V1, be64 first_seen,
 *                be64 last_seen, be32 attempts. Expires greylist_window
 *                after first_seen.
 *   passed.db    key SOURCE  value V1, be64 last_pass, be32 passes.
 *                Expires greylist_pass_memory after last_pass.
 *   verdicts.db  key REF ("7f3a09c2-3")  value V1, be64 when, the verdict
 *                line. Expires verdict_memory after when.
 *   qids.db      key QUEUE ID  value V1, be64 when, session id. Same.
 *   spam.db      key "NET\tSENDER\tRCPT"  value V1, be64 when, the ref of
 *                the verdict that refused the message. Expires
 *                spam_memory_time after when (0: at once, the memory is off).
 *   backscatter.db  key BSOURCE  value V1, be64 last, be32 count. Expires
 *                backscatter_memory_time after last.
 * NET is the client's /24 or /64 ("net:192.0.2.0/24"): a spammer's list
 * cleaning runs from the same network, rarely from the same address.
 * BSOURCE is the client's address ("ip:192.0.2.7") or, for IPv6, its /64:
 * backscatter comes from one misconfigured server, not from its neighbours.
 * SOURCE is "net:192.0.2.0/24", "net:2001:db8:1:2::/64" or, for a sender
 * whose SPF passed, "spf:example.net" (a big provider retries from another
 * address of its SPF set, and must not start over).
 */
#ifndef SCREEN_MEMORY_H
#define SCREEN_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config_screen.h"
#include "screen_facts.h"

#define MEMORY_SOURCE_MAX	(4 + ADDR_DOMAIN_MAX)	/* "spf:" + domain */
#define MEMORY_TEXT_MAX		2048	/* one verdict line */
#define MEMORY_ERR_MAX		512
#define MEMORY_WATCHDOG_SECONDS	5	/* a call that takes longer hung (screen.c) */
#define MEMORY_KINDS		6	/* databases, in the order of memory_counts() */

struct screen_memory;

enum grey_decision {
	GREY_FIRST = 1,	/* new triplet (or expired): recorded, answer 451 */
	GREY_EARLY,	/* retried before greylist_delay: 451 */
	GREY_PASSED,	/* retried in the window: accept, source remembered */
	GREY_KNOWN,	/* the source passed before: accept without delay */
	GREY_FULL,	/* the database is at its bound: 451, nothing recorded */
	GREY_ERROR,	/* database trouble: 451 */
};

const char *grey_decision_name(enum grey_decision);

/* The source part of a triplet: the client's /24 or /64, or the SPF-passed
 * sender domain when spf_domain is not NULL. */
void	memory_source(const char *client_ip, const char *spf_domain,
	    char *out, size_t outsize);

/*
 * The environment lives in screen_dir/memory: the screen role is chrooted
 * into screen_dir and sees it as /memory (Berkeley DB 5.3 cannot use "/"
 * itself as an environment home). root is the directory that stands for
 * screen_dir: "/" inside the chroot, screen_dir outside it (mxctl).
 */
#define MEMORY_SUBDIR	"memory"
int	memory_dir(const char *root, char *out, size_t outsize);

struct screen_memory *memory_open(const char *dir, size_t max_entries,
	    char *err, size_t errlen);
void	memory_close(struct screen_memory *);
const char *memory_error(const struct screen_memory *);

/* The greylist decision for a transaction in the grey zone, recorded. */
enum grey_decision memory_greylist(struct screen_memory *,
	    const struct screen_config *, const char *source, const char *sender,
	    const char *rcpt, time_t now, time_t *retry_at);
/* A look without writing (`mxctl screen test`). */
enum grey_decision memory_greylist_peek(struct screen_memory *,
	    const struct screen_config *, const char *source, const char *sender,
	    const char *rcpt, time_t now);

/* A source that proved itself another way (a message that passed with an
 * aligned DKIM signature or SPF): remembered as if it passed greylisting.
 * 0, or -1 (full or database trouble). */
int	memory_note_passed(struct screen_memory *, const char *source, time_t now);

/* Verdict records. Return 0, or -1 (full or database trouble: the verdict
 * still stands, only `why` will not find it). */
int	memory_put_verdict(struct screen_memory *, const char *ref, time_t now,
	    const char *text);
int	memory_put_qid(struct screen_memory *, const char *qid, const char *sess,
	    time_t now);

/* Every verdict for what (a ref, a session id or a queue id), oldest
 * first. cb returns non-zero to stop. Returns the number found, or -1. */
typedef int (*memory_verdict_cb)(const char *ref, time_t when, const char *text,
    void *arg);
int	memory_find(struct screen_memory *, const char *what, memory_verdict_cb,
	    void *arg);

/*
 * Expiry and the size bound, a little at a time: visits at most max_work
 * records per call and returns how many it removed. Run it from a timer.
 * When a database stays over 90% of max_entries after a full pass, the next
 * pass also removes the records closest to their expiry until 80% remain.
 */
size_t	memory_sweep(struct screen_memory *, const struct screen_config *,
	    time_t now, size_t max_work);
/* Records per database, for the log and tests: greylist, passed,
 * verdicts, qids, spam, backscatter. */
void	memory_counts(const struct screen_memory *, size_t out[MEMORY_KINDS]);

/* ---- screen/memory_recall.c ---------------------------------------------- */

/* The key part of a backscatter source: "ip:ADDRESS", or "net:X::/64". */
void	memory_backscatter_source(const char *client_ip, char *out, size_t outsize);

/* A recipient of a message refused as spam: (net, sender, rcpt) is
 * remembered until spam_memory_time after now; ref names the verdict.
 * 0, or -1 (full, off, or database trouble). */
int	memory_note_spam(struct screen_memory *, const struct screen_config *,
	    const char *net, const char *sender, const char *rcpt, time_t now,
	    const char *ref);
/* 1 if (net, sender, rcpt) is remembered at now (ref: the verdict that
 * refused it), 0 if not (or the memory is off), -1 database trouble. */
int	memory_spam_recall(struct screen_memory *, const struct screen_config *,
	    const char *net, const char *sender, const char *rcpt, time_t now,
	    char *ref, size_t refsize);
/* A client that sent backscatter: remembered backscatter_memory_time after
 * its latest. 0, or -1 (full, off, or database trouble). */
int	memory_note_backscatter(struct screen_memory *, const struct screen_config *,
	    const char *bsource, time_t now);
/* 1 if bsource sent backscatter within backscatter_memory_time, 0 if not,
 * -1 database trouble. */
int	memory_backscatter_recall(struct screen_memory *, const struct screen_config *,
	    const char *bsource, time_t now);
/* Lets BDB drop log files it no longer needs. */
void	memory_checkpoint(struct screen_memory *);

#endif
