/*
 * queue/spool.h - the on-disk spool and its commit protocol (see spool.c
 * for the layout, the crash-time states and what start-up does with each).
 */
#ifndef HMX_QUEUE_SPOOL_H
#define HMX_QUEUE_SPOOL_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include "envelope.h"

enum spool_write_kind {
	SPOOL_WRITE_COMMIT,	/* first envelope of a new message: in place */
	SPOOL_WRITE_UPDATE,	/* rewrite after a round: tmp, then rename */
};

/* One envelope to write in the next group flush. */
struct spool_write {
	TAILQ_ENTRY(spool_write) entry;
	enum spool_write_kind	 kind;
	char			 id[QUEUE_ID_SIZE];
	char			*text;		/* malloc'd envelope text */
	size_t			 len;
	/* Results, set by spool_write_batch(). */
	int			 error;		/* 0 or an errno value */
	const char		*failed_op;	/* "write", "syncfs", ... */
	/* Called by the batch runner (batch.c) once the flush is over; it
	 * owns w from then on. */
	void			(*done)(struct spool_write *);
	void			*arg;		/* owner's context */
};
TAILQ_HEAD(spool_write_list, spool_write);

/* How the group flush makes a batch durable (chosen by spool_init). */
enum spool_flush_mode {
	SPOOL_FLUSH_SYNCFS,	/* one syncfs(): Linux 5.8 and later */
	SPOOL_FLUSH_FSYNC,	/* fsync of every file, then of msg/ */
};

/* Opens (creating msg/ and corrupt/ if needed) the spool and picks the
 * flush mode from the running kernel (logged); fatal on error. */
void	spool_init(const char *spool_dir);
void	spool_close(void);

/* True if a kernel of this uname release ("6.1.0-18-amd64") reports
 * writeback errors through syncfs(), i.e. is Linux 5.8 or later. */
bool	spool_release_has_syncfs_errors(const char *release);
/* For the unit test: flush as on an older (or newer) kernel. */
void	spool_set_flush_mode(enum spool_flush_mode);
/* syncfs() and fsync() calls of group flushes so far (batch.c logs it). */
unsigned long spool_flush_calls(void);
/* The same, made by the calling thread only (batch.c's flushers). */
unsigned long spool_flush_calls_here(void);

/* Creates msg/<ID>.msg with a fresh id, O_EXCL, mode 0600, opened
 * write-only. Returns the fd, or -1 with errno. */
int	spool_create_body(char id[QUEUE_ID_SIZE]);
/* Size of the body file of id, or -1 with errno. */
off_t	spool_body_size(const char *id);
/* Opens the body of a message read-only; -1 with errno. */
int	spool_open_body(const char *id);
/*
 * Before a commit (port 25): replaces <ID>.msg by prepend followed by the
 * body without the ranges (sorted, inside the body; the screen's
 * Authentication-Results and the forged ones it found). Written to
 * <ID>.msg.tmp and renamed over <ID>.msg; the commit's one flush makes
 * both durable. Returns 0, or -1 with errno and the old body untouched.
 */
int	spool_rewrite_body(const char *id, const char *prepend, size_t plen,
	    const struct byte_range *strip, unsigned nstrip);

/* Deletes a message nobody was told about (never committed, or its
 * commit failed): <ID>.env, <ID>.env.tmp and <ID>.msg. */
void	spool_discard(const char *id);
/* Moves <ID>.env and <ID>.msg into corrupt/ and logs why, loudly. */
void	spool_move_aside(const char *id, const char *why);
/* Deletes a delivered message: .env first, then .msg, so that a crash in
 * between leaves uncommitted garbage, never a corrupt envelope. */
int	spool_remove(const char *id);

/*
 * The group flush (spool.c has the reasoning). For every item: a commit
 * writes <ID>.env in place, an update writes <ID>.env.tmp; then ONE
 * flush of the spool for the whole batch (syncfs, or the fsync fallback);
 * then every update's tmp is renamed over its <ID>.env. Sets error and
 * failed_op on each item; a failed item leaves no new file behind. Never
 * touches the list itself.
 */
void	spool_write_batch(struct spool_write_list *);

/*
 * spool_write_batch() in its three steps, for a caller that runs the
 * flush elsewhere (batch.c's flusher thread): write every item's file
 * (returns how many were written), the one flush (0 or an errno value,
 * *op names the call; touches no list and no file name, so it may run in
 * another thread while this one goes on), then finish (err != 0 fails
 * every item still fine; else the updates' renames).
 */
unsigned spool_batch_write(struct spool_write_list *);
int	spool_batch_flush(const char **op);
void	spool_batch_finish(struct spool_write_list *, int err, const char *op);
/*
 * For flushes that may run at the same time (batch.c's flushers): each
 * flushes through an open file of msg/ of its own (spool_flush_handle,
 * -1 with errno), because syncfs() reports a writeback error once per
 * open file, and two flushes sharing one could see an error meant for
 * the other's batch only once between them. An update whose message was
 * removed while it was being flushed is not renamed (spool_batch_finish).
 */
int	spool_flush_handle(void);
int	spool_batch_flush_on(int handle, const char **op);

/* Formats e into a new malloc'd text for w; -1 if e cannot be written. */
int	spool_write_prepare(struct spool_write *w, enum spool_write_kind,
	    const struct envelope *e);
void	spool_write_release(struct spool_write *w);

struct spool_scan_stats {
	unsigned	loaded;
	unsigned	garbage;	/* .msg without .env, .env.tmp */
	unsigned	torn;		/* a commit cut short: deleted */
	unsigned	corrupt;	/* moved to corrupt/ */
	unsigned	unknown;	/* names we did not write: left alone */
};

/*
 * Start-up scan: deletes garbage and torn commits, moves corrupt
 * envelopes (and their body) aside into corrupt/, and calls load() for
 * every committed message; load takes ownership of the envelope. Must run
 * before any body is created.
 */
void	spool_scan(void (*load)(struct envelope *, void *), void *arg,
	    struct spool_scan_stats *);

/* Fault injection for the unit test: make the next operation named op
 * ("create", "write", "fsync", "syncfs", "fsync_dir", "rename") fail with
 * err. */
void	spool_inject_fault(const char *op, int err);

#endif
