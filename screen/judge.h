/*
 * screen/judge.h - turns smtpd's questions into verdicts: the checks (an
 * evaluation, screen/eval.h), the thresholds, greylisting, the reference
 * id, the verdict log line and its record for `mxctl why`.
 */
#ifndef SCREEN_JUDGE_H
#define SCREEN_JUDGE_H

#include <stdint.h>
#include <time.h>

#include "eval.h"
#include "memory.h"
#include "screen_facts.h"

#define JUDGE_EVALS_MAX		2000	/* questions and hints in flight */
#define JUDGE_HINTS_MAX		1000	/* of which prefetching hints */
#define JUDGE_LINE_MAX		MEMORY_TEXT_MAX

/* How the answers leave: screen/screen.c sends them to smtpd. */
typedef void (*judge_answer_fn)(uint64_t req_id, const struct screen_verdict *);
typedef void (*judge_message_answer_fn)(uint64_t req_id,
    const struct screen_message_verdict *);

struct judge_setup {
	struct event_base	*base;
	struct dns_cache	*cache;
	eval_fetch_fn		 fetch;
	struct screen_memory	*memory;	/* NULL: no greylisting possible (451) */
	judge_answer_fn		 answer;
	judge_message_answer_fn	 answer_message;
	time_t			(*now)(void);	/* wall clock for the memory */
};

void	judge_init(const struct judge_setup *);
/* The environment every evaluation of this role sees (config, list health). */
const struct screen_env *judge_env(void);
/* A new config: the lists may differ, their health starts over. */
void	judge_reload(void);
/* Logs each change of a DNS list's health once (event=dnsbl_state). */
void	judge_log_list_changes(void);
/* A RCPT question; the answer goes through setup.answer, later. */
void	judge_ask(const struct screen_facts *, uint64_t req_id);
/* The end of DATA: the whole message on fd (taken over) and its nrcpt
 * recipients (copied); the answer goes through setup.answer_message. */
void	judge_ask_message(const struct screen_facts *, const char (*rcpt)[ADDR_MAX + 1],
	    unsigned nrcpt, int fd, uint64_t req_id);
/* CONNECT/HELO/MAIL start lookups early; DATA records the queue id. */
void	judge_hint(const struct screen_facts *);
/* The smtpd link went away: drop every question in flight. */
void	judge_forget_all(void);

/*
 * The verdict for a finished evaluation, without side effects other than
 * greylisting: exported for `mxctl screen test`, which passes peek = true
 * (the greylist is only looked at). Fills v (ref from the facts) and the
 * log line.
 */
void	judge_decide(const struct config *, const struct screen_facts *,
	    const struct eval_result *, struct screen_memory *, bool peek,
	    time_t now, struct screen_verdict *v, char *line, size_t linesize);

/* The checks, in the order they run (and appear in a verdict line): at
 * RCPT, and at the end of DATA. */
/* The end-of-DATA verdict: judge_decide, then what an accepted message
 * receives (our Authentication-Results, the forged ones to strip), and the
 * content scanners' findings (NULL: not scanned), which may override the
 * score (screen/scanner.h); msg may be NULL (a trusted client: nothing
 * added). */
struct screen_message;
struct scan_findings;
void	judge_decide_message(const struct config *, const struct screen_facts *,
	    const struct screen_message *, const struct eval_result *,
	    struct screen_memory *, bool peek, time_t now,
	    const struct scan_findings *, struct screen_message_verdict *,
	    char *line, size_t linesize);

extern const screen_check_fn	judge_checks[];
extern const size_t		judge_nchecks;
extern const screen_check_fn	judge_message_checks[];
extern const size_t		judge_message_nchecks;

#endif
