/*
 * lookup/auth.h - the lookup side of submission: password checks for AUTH
 * and the sender-ownership question.
 *
 * Owns: the one place where a password meets its Argon2id hash (only the
 * lookup role ever holds hashes; submission sends user and password and
 * gets a yes or no), the pool that runs those checks, the failure counters
 * per client IP and per account, and the rule for which addresses a user
 * may send as.
 *
 * Design:
 *  - The event loop reads the hash in a snapshot transaction
 *    (auth_fetch_hash) and hands (hash, password) to a fixed pool of
 *    AUTH_WORKERS threads, because one verify costs ~75 ms and 64 MiB
 *    (INTERACTIVE, doc/libraries.md section 6) and must not stall the loop
 *    that answers RESOLVE questions. At most AUTH_WORKERS verifies run at
 *    once (2 cores); at most AUTH_QUEUE_MAX wait; a full queue answers
 *    AUTH_TEMPFAIL at once instead of piling up CPU debt.
 *  - A worker runs only auth_verify_hash(): no store access, no logging, no
 *    libevent. It hands the job back through an eventfd; the loop owns
 *    every job's memory and wipes the password (sodium_memzero).
 *  - Unknown users, users without a password and names that are not
 *    addresses are verified against a dummy hash computed once at start,
 *    so the time taken does not tell which addresses exist. The answer is
 *    AUTH_BAD for all of them; only our log says which it was.
 *  - Failures are counted per client IP (an IPv6 address counts as its
 *    /64) and per account. At auth_failures_per_ip failures from one IP,
 *    or AUTH_ACCOUNT_FACTOR times that for one account, the answer is
 *    AUTH_RATELIMITED without a verify, whatever the password. Before
 *    that, every answer to an IP or account with failures is delayed:
 *    AUTH_DELAY_BASE_MS doubled per failure, at most AUTH_DELAY_MAX_MS.
 *    A counter is forgotten AUTH_FAIL_WINDOW seconds after its last
 *    failure; a success clears the account's counter, not the IP's.
 *  - Sender ownership: an address belongs to a user if it is the user, an
 *    alias whose expansion includes the user, or a subaddress of either.
 *    Never through a catch-all: a catch-all receives everything, so it
 *    would make everyone the owner of every address of the domain.
 */
#ifndef HMX_LOOKUP_AUTH_H
#define HMX_LOOKUP_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ipc_decode.h"	/* enum auth_result, enum sender_result, AUTH_*_MAX */
#include "store.h"

#define AUTH_WORKERS		2	/* concurrent Argon2id verifies, at most */
#define AUTH_QUEUE_MAX		32	/* waiting verifies before "try later" */
#define AUTH_JOBS_MAX		256	/* verifying, waiting and delayed answers */
#define AUTH_LIMIT_SLOTS	1024	/* counters kept per kind; the oldest goes */
#define AUTH_FAIL_WINDOW	900	/* seconds after the last failure */
#define AUTH_ACCOUNT_FACTOR	3	/* account limit = factor x per-IP limit */
#define AUTH_DELAY_BASE_MS	250
#define AUTH_DELAY_MAX_MS	4000
#define AUTH_KEY_MAX		ADDR_MAX	/* an account name, or an IP (prefix) */

/* lookup/store_test.c predates the IPC contract's enum and says AUTH_FAIL. */
#define AUTH_FAIL		AUTH_BAD

enum auth_reason {		/* for our log only, never for the client */
	AUTH_REASON_NONE = 0,
	AUTH_REASON_BAD_PASSWORD,
	AUTH_REASON_NO_USER,
	AUTH_REASON_NO_LOGIN,
	AUTH_REASON_STORE,
	AUTH_REASON_IP_LIMIT,
	AUTH_REASON_ACCOUNT_LIMIT,
	AUTH_REASON_BUSY,
};

const char	*auth_reason_name(enum auth_reason);

/*
 * Loop side: copies the hash of address (normalized) into hash. Returns
 * AUTH_OK with the hash, AUTH_BAD with *reason when there is nothing to
 * verify against, AUTH_TEMPFAIL on store trouble.
 */
enum auth_result auth_fetch_hash(struct store *, const char *address,
		    char hash[STORE_HASH_MAX + 1], enum auth_reason *reason);

/* Worker side: constant work for a given hash; password of len bytes. */
enum auth_result auth_verify_hash(const char *hash, const char *password,
		    size_t len);

/* ---- failure counters (pure: the time is an argument) ------------------ */

struct auth_counter {
	char		key[AUTH_KEY_MAX + 1];	/* "" = free slot */
	unsigned	failures;
	double		last;		/* time of the last failure */
};

struct auth_limits {
	struct auth_counter	ip[AUTH_LIMIT_SLOTS];
	struct auth_counter	account[AUTH_LIMIT_SLOTS];
};

/* The counter key of a client IP: the address, or for IPv6 its /64. */
void		auth_ip_key(const char *ip, char *key, size_t size);
/*
 * May this attempt be verified? AUTH_REASON_NONE if so, else the limit
 * that stops it. *prior is the larger of the two failure counts (for the
 * delay). per_ip is the configured auth_failures_per_ip.
 */
enum auth_reason auth_limits_check(const struct auth_limits *, const char *ipkey,
		    const char *account, unsigned per_ip, double now, unsigned *prior);
/* Counts a failure (ok false) or clears the account on success. */
void		auth_limits_record(struct auth_limits *, const char *ipkey,
		    const char *account, bool ok, double now);
/* The delay in milliseconds before answering after prior failures. */
unsigned	auth_delay_ms(unsigned prior);

/* ---- the verify pool and the answers (event loop side) ----------------- */

struct event_base;
struct ipc_link;

/* Computes the dummy hash and starts the workers. fatal on failure. */
void	auth_init(struct event_base *);
/* Stops and joins the workers; pending answers are dropped. */
void	auth_shutdown(void);
/*
 * Starts the check of one MSG_AUTH_ASK (ask->password is wiped here). The
 * MSG_AUTH_ANSWER goes to link with req_id, now or later; per_ip is the
 * configured auth_failures_per_ip. st may be NULL (store down: tempfail).
 */
void	auth_start(struct store *st, unsigned per_ip, struct msg_auth_ask *ask,
	    struct ipc_link *link, uint64_t req_id);
/* The link is going away: answers for it are dropped. */
void	auth_forget_link(struct ipc_link *);

/* ---- sender ownership --------------------------------------------------- */

/*
 * May user (authenticated) send as address? One snapshot transaction.
 * *status is the worst store status met (STORE_PANIC: reopen the store).
 */
enum sender_result sender_check(struct store *, const struct config *,
		    const char *user, const char *address, enum store_status *status);

#endif
