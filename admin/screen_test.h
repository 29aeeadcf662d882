/*
 * admin/screen_test.h - what the two halves of `mxctl screen test` share:
 * admin/cmd_screen.c runs the RCPT stage (every network check), and
 * admin/screen_test_message.c the end-of-DATA stage on a file (--file),
 * content scanners included.
 */
#ifndef ADMIN_SCREEN_TEST_H
#define ADMIN_SCREEN_TEST_H

#include <stdbool.h>

#include "../screen/eval.h"
#include "../screen/memory.h"
#include "mxctl.h"

struct screen_run {
	struct event_base	*base;
	struct eval_result	 result;
	bool			 done;
};

/* Runs the checks in p to the end: 0, or -1 (m->err set). */
int		 screen_evaluate(struct mxctl *, struct eval_params *,
		    const struct screen_facts *, struct screen_run *);
const char	*action_text(enum screen_action);
const char	*reply_text(enum screen_reply);
void		 print_score(const struct score *);

/* The message file as on the wire (CRLF lines) in an anonymous file, or
 * -1 (m->err set). Read before the drop to the screen's user. */
int		 screen_test_file_open(struct mxctl *, const char *path);
/* The end-of-DATA stage on the message in fd, after the RCPT stage: the
 * checks, the scanners when configured, the verdict, and what an accepted
 * message would get. 0, or -1 (m->err set). */
int		 screen_test_message(struct mxctl *, struct eval_params *,
		    struct screen_env *, const struct screen_facts *rcpt_facts, int fd,
		    struct screen_memory *);

#endif
