/*
 * admin/ctlclient.h - mxctl's side of homemxd's control socket
 * (admin/ctlclient.c): ask one question, read the answer's records.
 */
#ifndef HMX_ADMIN_CTLCLIENT_H
#define HMX_ADMIN_CTLCLIENT_H

#include <stdbool.h>
#include <stdio.h>

#include "ipc_ctl.h"
#include "mxctl.h"

/* One record of an answer, copied out of its frame. */
struct ctl_rec {
	unsigned	 n;
	char		*key[CTL_FIELDS_MAX];
	char		*value[CTL_FIELDS_MAX];
	bool		 number[CTL_FIELDS_MAX];
};

struct ctl_result {
	enum ctl_status	 status;	/* of the last frame */
	char		 text[CTL_TEXT_MAX + 1];
	struct ctl_rec	*rec;
	size_t		 nrec;
	size_t		 cap;
};

/* Called for every frame of a streamed answer (log -f); return false to
 * stop reading. */
typedef bool	ctl_frame_fn(const struct msg_ctl_answer *, void *arg);

/*
 * Asks homemxd and collects every record until the last frame (or, with
 * each != NULL, hands each frame to it instead). -1 with m->err when
 * homemxd can not be reached, refuses us, or breaks the protocol; else 0
 * and res->status says how the request ended.
 */
int	ctl_ask(struct mxctl *, enum ctl_verb, unsigned nargs, const char *const *args,
	    struct ctl_result *res, ctl_frame_fn *each, void *arg);
void	ctl_result_free(struct ctl_result *);
/* The value of key in r, or NULL. */
const char *ctl_rec_get(const struct ctl_rec *, const char *key);

/* The end of every control command: prints the answer's text (--json: as
 * {"ok": ..., "status": ..., "message": ...}) and returns MX_OK or MX_FAIL
 * (m->err set). */
int	ctl_finish(struct mxctl *, const struct ctl_result *, bool json);
/* Writes r as a JSON object of its fields. */
void	ctl_rec_json(FILE *, const struct ctl_rec *);
/* The same without the braces, to add members after. */
void	ctl_rec_json_fields(FILE *, const struct ctl_rec *);
/* Removes "--json" from argv, returns whether it was there. */
bool	ctl_take_json(int *argc, char **argv);

#endif
