/*
 * screen/scanner.h - the content scanners at the end of DATA: rspamd,
 * spamd (SpamAssassin) and clamd, asked in parallel about one message
 * while the SMTP client waits, and what their answers add to the score.
 *
 * Owns: every scan in flight (its connections, its copy of the message
 * fd, its timer) and the rules that turn answers into results:
 *
 *  - ok:       the scanner answered; a spam score (rspamd, spamd) or a
 *              virus name or "clean" (clamd).
 *  - skipped:  not scanned because the message (with the prefix) is over
 *              the scanner's size cap (rspamd_max_size, spamd_max_size,
 *              clamd_max_size), or clamd said it is over its own
 *              StreamMaxLength. Why not a tempfail: the same message
 *              comes back with the same size, so a 451 would delay it
 *              until the sender gives up and bounces a legitimate large
 *              mail; spam is small (spamc's own default cap is 500 KB for
 *              that reason) and clamd's default cap equals the default
 *              max_message_size, so only a lowered cap skips. The result
 *              says so and `mxctl why` shows it.
 *  - tempfail: the scanner is down (refused, no socket), silent
 *              (scanner_timeout, one timer for all scanners of a message),
 *              answered garbage or an error, or closed the connection
 *              without an answer. The mail is neither passed unscanned
 *              nor refused for good: 451 4.7.1, the sender retries.
 *
 * Why one connection per scanner and message, non-blocking in the
 * screen's event loop: a scan takes up to a few seconds, other sessions
 * go on meanwhile, and a slow clamd must not delay rspamd's answer nor
 * the other way round. The message is read with pread() from the caller's
 * fd (duplicated, so the caller may close its own), in 64 KiB pieces as
 * each socket accepts them, never held whole in memory.
 *
 * What a scanner is sent: the prefix (the Authentication-Results field
 * the screen adds, CRLF-ended), then the message without the byte ranges
 * the caller names (forged Authentication-Results fields, found by
 * screen/authres.h) - what the recipient will get, so the scanner judges
 * the same bytes. rspamd also gets the envelope (rspamd's protocol
 * headers IP, Helo, Hostname, From, Rcpt, Queue-Id, MTA-Name).
 */
#ifndef SCREEN_SCANNER_H
#define SCREEN_SCANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authres.h"
#include "config.h"
#include "score.h"

#define SCAN_RCPTS_MAX		200	/* max_recipients' upper bound (lib/config.c) */
#define SCAN_SKIPS_MAX		64	/* ranges left out of one message */
#define SCAN_PREFIX_MAX		AUTHRES_FIELD_MAX
#define SCAN_WHY_MAX		127
#define SCAN_ACTION_MAX		31	/* rspamd: "no action", "add header" */
#define SCAN_SYMBOLS_MAX	255	/* names for the log, cut with "..." */
#define SCAN_VIRUS_MAX		127	/* clamd's signature name */
#define SCAN_SCORE_LIMIT	1e6	/* a bigger score is a broken answer */

enum scan_status {
	SCAN_STATUS_OK = 0,
	SCAN_STATUS_SKIPPED,
	SCAN_STATUS_TEMPFAIL,
};

const char	*scan_status_name(enum scan_status);	/* "ok", "skipped", "tempfail" */

struct scan_result {
	enum scan_kind		kind;
	enum scan_status	status;
	char			why[SCAN_WHY_MAX + 1];	/* skipped/tempfail: the reason */
	double			score;		/* rspamd, spamd */
	double			threshold;	/* rspamd required_score, spamd's */
	bool			spam;		/* the scanner's own opinion */
	char			action[SCAN_ACTION_MAX + 1];	/* rspamd */
	char			symbols[SCAN_SYMBOLS_MAX + 1];	/* "A,B,C" */
	bool			virus_found;	/* clamd */
	char			virus[SCAN_VIRUS_MAX + 1];
	uint64_t		sent;		/* message bytes sent (prefix included) */
	double			elapsed;	/* seconds */
};

/* The transaction, for rspamd's headers and the log. Strings are copied at
 * scanner_start; "" where unknown. Control bytes are never sent. */
struct scan_envelope {
	const char		*sess;		/* for the log line */
	const char		*qid;
	const char		*client_ip;
	const char		*helo;
	const char		*ptr;		/* the client's verified PTR */
	const char		*mail_from;	/* "" for <> */
	const char *const	*rcpts;
	size_t			 nrcpts;	/* at most SCAN_RCPTS_MAX are sent */
	const char		*hostname;	/* ours (config hostname) */
};

struct scan_request {
	int			 fd;		/* read-only, the message from offset 0 */
	const char		*prefix;	/* sent first; may be NULL */
	size_t			 prefix_len;	/* at most SCAN_PREFIX_MAX */
	const struct authres_range *skip;	/* message ranges left out, any order */
	size_t			 nskip;		/* at most SCAN_SKIPS_MAX */
	struct scan_envelope	 env;
};

struct event_base;
struct scanner_job;

struct scanner_params {
	struct event_base	*base;
	const struct scan_config *cfg;	/* read in scanner_start only: a reload
						 * does not touch jobs in flight */
	bool			 chrooted;	/* role_chrooted(): a UNIX socket is
						 * reached by its path in screen_dir */
};

/* Called exactly once per job unless it is cancelled first, never from
 * inside scanner_start: one result per configured scanner, in the order
 * rspamd, spamd, clamd (none configured: n == 0). Valid during the call. */
typedef void (*scanner_done_fn)(const struct scan_result *, size_t n, void *arg);

/*
 * Starts every configured scanner. Returns NULL (why set, no callback)
 * only for a request the caller got wrong: fd not a regular file, a
 * prefix or skip list over its bound; out of memory is fatal.
 */
struct scanner_job	*scanner_start(const struct scanner_params *,
			    const struct scan_request *, scanner_done_fn, void *arg,
			    const char **why);
/* The client left: connections closed, no callback. A no-op inside the
 * done callback (the job is freed when it returns). */
void			 scanner_cancel(struct scanner_job *);
/* Jobs in flight (for the role's drain). */
size_t			 scanner_count(void);

/*
 * The score hook: what the results add to a transaction's score, pure.
 * Items (always listed, for `mxctl why`): "rspamd" and "spamd" with
 * round(score * weight), never below 0 (a scanner's ham bonus comes from
 * the SPF/DKIM/DMARC results the screen already weighs: counted twice it
 * would let signed spam through); "virus" for clamd, weight 0 - a virus
 * is decisive through findings->virus (554 5.7.1), not through the total.
 * A skipped or failed scanner adds its name with 0 and the reason;
 * findings->tempfail is then set for a failed one (451 4.7.1).
 */
struct scan_findings {
	bool	virus;
	char	virus_name[SCAN_VIRUS_MAX + 1];
	bool	tempfail;
	char	tempfail_scanners[64];	/* "rspamd,clamd" */
};

void	scanner_score(const struct scan_config *, const struct scan_result *,
	    size_t n, struct score *, struct scan_findings *);
/* round(score * weight / 100) for weight in hundredths, in [0, SCREEN_WEIGHT_LIMIT]. */
int	scanner_contribution(double score, uint32_t weight);

/* Exposed for the tests: sorts, clips to size, merges; returns the count. */
size_t	scanner_normalize_skips(struct authres_range *, size_t n, uint64_t size);

#endif
