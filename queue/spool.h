/*
 * queue/spool.h - the on-disk spool and its commit protocol (see spool.c
 * for the layout and the ordering rules).
 */
#ifndef HMX_QUEUE_SPOOL_H
#define HMX_QUEUE_SPOOL_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include "envelope.h"

enum spool_write_kind {
	SPOOL_WRITE_COMMIT,	/* first envelope of a new message */
	SPOOL_WRITE_UPDATE,	/* rewrite after a delivery round */
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
	bool			 renamed;	/* .env is in place (maybe not durable) */
	/* Called by the batch runner (batch.c) once the flush is over; it
	 * owns w from then on. */
	void			(*done)(struct spool_write *);
	void			*arg;		/* owner's context */
};
TAILQ_HEAD(spool_write_list, spool_write);

/* Opens (creating msg/ and corrupt/ if needed) the spool; fatal on error. */
void	spool_init(const char *spool_dir);
void	spool_close(void);

/* Creates msg/<ID>.msg with a fresh id, O_EXCL, mode 0600, opened
 * write-only. Returns the fd, or -1 with errno. */
int	spool_create_body(char id[QUEUE_ID_SIZE]);
/* Size of the body file of id, or -1 with errno. */
off_t	spool_body_size(const char *id);
/* Opens the body of a committed message read-only; -1 with errno. */
int	spool_open_body(const char *id);

/* Deletes an uncommitted message: <ID>.env.tmp and <ID>.msg. */
void	spool_discard(const char *id);
/* Deletes a message whose commit failed after its .env was renamed. */
void	spool_discard_committed(const char *id);
/* Moves <ID>.env and <ID>.msg into corrupt/ and logs why, loudly. */
void	spool_move_aside(const char *id, const char *why);
/* Deletes a delivered message: .env first, then .msg, so that a crash in
 * between leaves uncommitted garbage, never a corrupt envelope. */
int	spool_remove(const char *id);

/*
 * The group flush. For every item: write <ID>.env.tmp; then ONE syncfs()
 * of the spool file system, bodies and envelopes together; then rename
 * every tmp to <ID>.env; then ONE fsync of the directory. Sets error,
 * failed_op and renamed on each item. Never touches the list itself.
 */
void	spool_write_batch(struct spool_write_list *);

/* Formats e into a new malloc'd text for w; -1 if e cannot be written. */
int	spool_write_prepare(struct spool_write *w, enum spool_write_kind,
	    const struct envelope *e);
void	spool_write_release(struct spool_write *w);

struct spool_scan_stats {
	unsigned	loaded;
	unsigned	garbage;	/* .msg without .env, .env.tmp */
	unsigned	corrupt;	/* moved to corrupt/ */
	unsigned	unknown;	/* names we did not write: left alone */
};

/*
 * Start-up scan: deletes garbage, moves corrupt envelopes (and their body)
 * aside into corrupt/, and calls load() for every committed message; load
 * takes ownership of the envelope. Must run before any body is created.
 */
void	spool_scan(void (*load)(struct envelope *, void *), void *arg,
	    struct spool_scan_stats *);

/* Fault injection for the unit test: make the next operation named op
 * ("create", "write", "syncfs", "rename", "fsync_dir") fail with err. */
void	spool_inject_fault(const char *op, int err);

#endif
