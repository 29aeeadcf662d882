/*
 * lookup/auth.c - password checks for AUTH and sender ownership (see
 * auth.h for the design).
 *
 * Owns: the verify pool (AUTH_WORKERS threads, a bounded queue, an eventfd
 * back to the loop), every auth job and its password buffer, the dummy
 * hash, the failure counters, and the answers to MSG_AUTH_ASK. Why threads
 * here and nowhere else: the verify is slow on purpose and CPU-bound; the
 * workers touch nothing but the job they were handed (hash, password,
 * result), so the store, the links and the log stay single-threaded. The
 * loop is the only owner of job memory; a job whose link went away while
 * it was verified is answered to nobody and wiped.
 */
#include <sys/eventfd.h>

#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "auth.h"
#include "log.h"
#include "util.h"

/* ---- the two halves of a password check ---------------------------------- */

const char *
auth_reason_name(enum auth_reason r)
{
	switch (r) {
	case AUTH_REASON_NONE:		return "-";
	case AUTH_REASON_BAD_PASSWORD:	return "bad_password";
	case AUTH_REASON_NO_USER:	return "no_user";
	case AUTH_REASON_NO_LOGIN:	return "no_login";
	case AUTH_REASON_STORE:		return "store";
	case AUTH_REASON_IP_LIMIT:	return "ip_limit";
	case AUTH_REASON_ACCOUNT_LIMIT:	return "account_limit";
	case AUTH_REASON_BUSY:		return "busy";
	}
	return "invalid";
}

enum auth_result
auth_fetch_hash(struct store *st, const char *address,
    char hash[STORE_HASH_MAX + 1], enum auth_reason *reason)
{
	struct store_txn *t;
	struct store_user u;
	enum store_status s;

	hash[0] = '\0';
	*reason = AUTH_REASON_NONE;
	if ((s = store_begin_read(st, &t)) != STORE_OK) {
		*reason = AUTH_REASON_STORE;
		return AUTH_TEMPFAIL;
	}
	s = store_get_user(t, address, &u);
	store_abort(t);
	if (s == STORE_NOTFOUND) {
		*reason = AUTH_REASON_NO_USER;
		return AUTH_BAD;
	}
	if (s != STORE_OK) {
		*reason = AUTH_REASON_STORE;
		return AUTH_TEMPFAIL;
	}
	if (u.hash[0] == '\0') {
		*reason = AUTH_REASON_NO_LOGIN;
		return AUTH_BAD;
	}
	memcpy(hash, u.hash, sizeof(u.hash));
	sodium_memzero(u.hash, sizeof(u.hash));
	return AUTH_OK;
}

enum auth_result
auth_verify_hash(const char *hash, const char *password, size_t len)
{
	if (len > AUTH_PASSWORD_MAX)
		return AUTH_BAD;
	return crypto_pwhash_str_verify(hash, password, len) == 0 ?
	    AUTH_OK : AUTH_BAD;
}

/* ---- failure counters ------------------------------------------------------ */

void
auth_ip_key(const char *ip, char *key, size_t size)
{
	struct in6_addr a6;

	if (inet_pton(AF_INET6, ip, &a6) == 1 && !IN6_IS_ADDR_V4MAPPED(&a6)) {
		/* one end site is one client: count the /64 */
		memset(a6.s6_addr + 8, 0, 8);
		if (inet_ntop(AF_INET6, &a6, key, (socklen_t)size) != NULL &&
		    strlen(key) + 3 < size) {
			memcpy(key + strlen(key), "/64", 4);
			return;
		}
	}
	snprintf(key, size, "%s", ip);
}

/* A counter older than the window counts as zero. */
static unsigned
counter_failures(const struct auth_counter *c, double now)
{
	if (c == NULL || now - c->last > AUTH_FAIL_WINDOW)
		return 0;
	return c->failures;
}

static const struct auth_counter *
counter_find(const struct auth_counter *tab, const char *key)
{
	for (size_t i = 0; i < AUTH_LIMIT_SLOTS; i++)
		if (tab[i].key[0] != '\0' && strcmp(tab[i].key, key) == 0)
			return &tab[i];
	return NULL;
}

/* The slot for key: its own, else a free one, else the one whose last
 * failure is the oldest (a flood of new keys only evicts the idle). */
static struct auth_counter *
counter_slot(struct auth_counter *tab, const char *key)
{
	struct auth_counter *free_slot = NULL, *oldest = &tab[0];

	for (size_t i = 0; i < AUTH_LIMIT_SLOTS; i++) {
		if (tab[i].key[0] == '\0') {
			if (free_slot == NULL)
				free_slot = &tab[i];
			continue;
		}
		if (strcmp(tab[i].key, key) == 0)
			return &tab[i];
		if (tab[i].last < oldest->last)
			oldest = &tab[i];
	}
	struct auth_counter *c = free_slot != NULL ? free_slot : oldest;
	memset(c, 0, sizeof(*c));
	snprintf(c->key, sizeof(c->key), "%s", key);
	return c;
}

enum auth_reason
auth_limits_check(const struct auth_limits *l, const char *ipkey,
    const char *account, unsigned per_ip, double now, unsigned *prior)
{
	unsigned fi = counter_failures(counter_find(l->ip, ipkey), now);
	unsigned fa = counter_failures(counter_find(l->account, account), now);

	*prior = fi > fa ? fi : fa;
	if (fi >= per_ip)
		return AUTH_REASON_IP_LIMIT;
	if (fa >= per_ip * AUTH_ACCOUNT_FACTOR)
		return AUTH_REASON_ACCOUNT_LIMIT;
	return AUTH_REASON_NONE;
}

static void
counter_fail(struct auth_counter *tab, const char *key, double now)
{
	struct auth_counter *c = counter_slot(tab, key);

	if (now - c->last > AUTH_FAIL_WINDOW)
		c->failures = 0;
	c->failures++;
	c->last = now;
}

void
auth_limits_record(struct auth_limits *l, const char *ipkey, const char *account,
    bool ok, double now)
{
	if (ok) {
		struct auth_counter *c = (struct auth_counter *)counter_find(l->account, account);
		if (c != NULL)
			memset(c, 0, sizeof(*c));
		return;
	}
	counter_fail(l->ip, ipkey, now);
	counter_fail(l->account, account, now);
}

unsigned
auth_delay_ms(unsigned prior)
{
	unsigned ms = AUTH_DELAY_BASE_MS;

	if (prior == 0)
		return 0;
	for (unsigned i = 1; i < prior && ms < AUTH_DELAY_MAX_MS; i++)
		ms *= 2;
	return ms < AUTH_DELAY_MAX_MS ? ms : AUTH_DELAY_MAX_MS;
}

/* ---- jobs and the verify pool --------------------------------------------- */

struct auth_job {
	TAILQ_ENTRY(auth_job)	 all;		/* loop only */
	TAILQ_ENTRY(auth_job)	 queue;		/* work or done list, under the mutex */
	struct ipc_link		*link;		/* NULL: orphaned, answer to nobody */
	uint64_t		 req_id;
	char			 user[AUTH_USER_MAX + 1];
	char			 ip[IP_TEXT_MAX];
	char			 ipkey[AUTH_KEY_MAX + 1];
	unsigned		 prior;		/* failures before this attempt */
	bool			 dummy;		/* no real hash: always AUTH_BAD */
	enum auth_reason	 reason;
	enum auth_result	 result;
	struct event		*delay;
	/* read and written by the worker while queued */
	char			 hash[STORE_HASH_MAX + 1];
	char			 password[AUTH_PASSWORD_MAX + 1];
	size_t			 password_len;
};

TAILQ_HEAD(job_list, auth_job);

static struct event_base	*auth_base;
static struct auth_limits	 limits;
static char			 dummy_hash[crypto_pwhash_STRBYTES];
static struct job_list		 all_jobs = TAILQ_HEAD_INITIALIZER(all_jobs);
static size_t			 njobs;
/* shared with the workers */
static pthread_mutex_t		 pool_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		 pool_cond = PTHREAD_COND_INITIALIZER;
static struct job_list		 work = TAILQ_HEAD_INITIALIZER(work);
static struct job_list		 done = TAILQ_HEAD_INITIALIZER(done);
static size_t			 nwaiting;
static bool			 pool_stop;
static int			 done_fd = -1;	/* eventfd: the workers' doorbell */
static struct event		*ev_done;
static pthread_t		 workers[AUTH_WORKERS];
static size_t			 nworkers;

static void
job_free(struct auth_job *j)
{
	TAILQ_REMOVE(&all_jobs, j, all);
	njobs--;
	if (j->delay != NULL)
		event_free(j->delay);
	sodium_memzero(j, sizeof(*j));
	free(j);
}

static void
job_log(const struct auth_job *j)
{
	char esc[LOG_ESCAPE_MAX];
	static const char *results[] = { "?", "ok", "bad", "ratelimited", "tempfail" };

	log_event("auth_check", "user=<%s> ip=%s result=%s reason=%s prior_failures=%u delay_ms=%u",
	    log_escape(esc, sizeof(esc), j->user, strlen(j->user)), j->ip,
	    j->result <= AUTH_RESULT_MAX ? results[j->result] : "?",
	    auth_reason_name(j->reason), j->prior,
	    j->result == AUTH_TEMPFAIL ? 0 : auth_delay_ms(j->prior));
}

static void
job_answer(struct auth_job *j)
{
	struct ipc_builder b;

	job_log(j);
	if (j->link != NULL) {
		ipc_encode_u8_answer(&b, (uint8_t)j->result);
		if (ipc_send(j->link, MSG_AUTH_ANSWER, j->req_id, &b, -1) == -1)
			log_warnx("auth answer to %s not sent", role_name(ipc_link_peer(j->link)));
	}
	job_free(j);
}

static void
job_delay_fired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	job_answer(arg);
}

/* Answers after the growing delay (none for a first attempt). */
static void
job_finish(struct auth_job *j)
{
	unsigned ms = j->result == AUTH_TEMPFAIL ? 0 : auth_delay_ms(j->prior);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (ms == 0) {
		job_answer(j);
		return;
	}
	if ((j->delay = evtimer_new(auth_base, job_delay_fired, j)) == NULL ||
	    event_add(j->delay, &tv) == -1) {
		log_warnx("auth: cannot arm the answer delay");
		job_answer(j);
	}
}

static void *
worker_main(void *arg)
{
	struct auth_job *j;
	uint64_t one = 1;

	(void)arg;
	pthread_mutex_lock(&pool_mutex);
	for (;;) {
		while (!pool_stop && TAILQ_EMPTY(&work))
			pthread_cond_wait(&pool_cond, &pool_mutex);
		if (pool_stop)
			break;
		j = TAILQ_FIRST(&work);
		TAILQ_REMOVE(&work, j, queue);
		nwaiting--;
		pthread_mutex_unlock(&pool_mutex);

		enum auth_result r = auth_verify_hash(j->hash, j->password, j->password_len);
		sodium_memzero(j->password, sizeof(j->password));
		sodium_memzero(j->hash, sizeof(j->hash));
		j->result = j->dummy ? AUTH_BAD : r;

		pthread_mutex_lock(&pool_mutex);
		TAILQ_INSERT_TAIL(&done, j, queue);
		ssize_t w = write(done_fd, &one, sizeof(one));
		(void)w;	/* a full counter still wakes the loop */
	}
	pthread_mutex_unlock(&pool_mutex);
	return NULL;
}

/* The loop collects verified jobs. */
static void
pool_collect(evutil_socket_t fd, short what, void *arg)
{
	struct job_list mine = TAILQ_HEAD_INITIALIZER(mine);
	struct auth_job *j;
	uint64_t n;

	(void)what;
	(void)arg;
	ssize_t r = read(fd, &n, sizeof(n));
	(void)r;
	pthread_mutex_lock(&pool_mutex);
	while ((j = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, j, queue);
		TAILQ_INSERT_TAIL(&mine, j, queue);
	}
	pthread_mutex_unlock(&pool_mutex);
	while ((j = TAILQ_FIRST(&mine)) != NULL) {
		TAILQ_REMOVE(&mine, j, queue);
		if (j->result == AUTH_BAD && j->reason == AUTH_REASON_NONE)
			j->reason = AUTH_REASON_BAD_PASSWORD;
		auth_limits_record(&limits, j->ipkey, j->user, j->result == AUTH_OK,
		    mono_now());
		job_finish(j);
	}
}

/* Queues a job for the workers; -1 if the queue is full. */
static int
pool_submit(struct auth_job *j)
{
	int ret = 0;

	pthread_mutex_lock(&pool_mutex);
	if (nwaiting >= AUTH_QUEUE_MAX)
		ret = -1;
	else {
		TAILQ_INSERT_TAIL(&work, j, queue);
		nwaiting++;
		pthread_cond_signal(&pool_cond);
	}
	pthread_mutex_unlock(&pool_mutex);
	return ret;
}

void
auth_init(struct event_base *base)
{
	uint8_t pw[32];
	sigset_t all, old;

	auth_base = base;
	pool_stop = false;
	if (sodium_init() < 0)
		fatalx("auth: sodium_init");
	/* The same limits mxctl hashes with, so a dummy verify costs the same. */
	randombytes_buf(pw, sizeof(pw));
	if (crypto_pwhash_str(dummy_hash, (const char *)pw, sizeof(pw),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		fatalx("auth: cannot compute the dummy hash (out of memory?)");
	sodium_memzero(pw, sizeof(pw));
	if ((done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		fatal("auth: eventfd");
	if ((ev_done = event_new(base, done_fd, EV_READ | EV_PERSIST, pool_collect, NULL)) == NULL ||
	    event_add(ev_done, NULL) == -1)
		fatalx("auth: event_new");
	/* Workers take no signals: the loop handles SIGTERM and the watchdog. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (nworkers = 0; nworkers < AUTH_WORKERS; nworkers++)
		if ((errno = pthread_create(&workers[nworkers], NULL, worker_main, NULL)) != 0)
			fatal("auth: pthread_create");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void
auth_shutdown(void)
{
	struct auth_job *j;

	pthread_mutex_lock(&pool_mutex);
	pool_stop = true;
	pthread_cond_broadcast(&pool_cond);
	pthread_mutex_unlock(&pool_mutex);
	for (size_t i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	nworkers = 0;
	while ((j = TAILQ_FIRST(&all_jobs)) != NULL)
		job_free(j);
	TAILQ_INIT(&work);
	TAILQ_INIT(&done);
	if (ev_done != NULL)
		event_free(ev_done);
	ev_done = NULL;
	if (done_fd != -1)
		close(done_fd);
	done_fd = -1;
}

void
auth_forget_link(struct ipc_link *l)
{
	struct auth_job *j;

	TAILQ_FOREACH(j, &all_jobs, all)
		if (j->link == l)
			j->link = NULL;
}

/* Fills the job's hash: the user's, or the dummy. Returns false on store
 * trouble (then j->result is set). */
static bool
job_load_hash(struct auth_job *j, struct store *st, bool valid_user)
{
	enum auth_reason why = AUTH_REASON_NO_USER;
	enum auth_result r = AUTH_BAD;

	if (st == NULL) {
		r = AUTH_TEMPFAIL;
		why = AUTH_REASON_STORE;
	} else if (valid_user)
		r = auth_fetch_hash(st, j->user, j->hash, &why);
	if (r == AUTH_TEMPFAIL) {
		j->result = AUTH_TEMPFAIL;
		j->reason = why;
		return false;
	}
	if (r != AUTH_OK) {
		memcpy(j->hash, dummy_hash, sizeof(dummy_hash));
		j->dummy = true;
		j->reason = why;
	}
	return true;
}

static struct auth_job *
job_new(struct msg_auth_ask *ask, struct ipc_link *link, uint64_t req_id,
    bool *valid_user)
{
	struct auth_job *j = xcalloc(1, sizeof(*j));
	const char *why;

	j->link = link;
	j->req_id = req_id;
	/* submission normalized it; we do not trust that */
	*valid_user = addr_normalize_input(ask->user, j->user, sizeof(j->user), &why) == ADDR_OK;
	if (!*valid_user)
		snprintf(j->user, sizeof(j->user), "%s", ask->user);
	snprintf(j->ip, sizeof(j->ip), "%s", ask->client_ip);
	auth_ip_key(j->ip, j->ipkey, sizeof(j->ipkey));
	j->password_len = strlen(ask->password);
	memcpy(j->password, ask->password, j->password_len + 1);
	sodium_memzero(ask->password, sizeof(ask->password));
	TAILQ_INSERT_TAIL(&all_jobs, j, all);
	njobs++;
	return j;
}

void
auth_start(struct store *st, unsigned per_ip, struct msg_auth_ask *ask,
    struct ipc_link *link, uint64_t req_id)
{
	bool valid_user;
	double now = mono_now();
	struct auth_job *j = job_new(ask, link, req_id, &valid_user);

	if (njobs > AUTH_JOBS_MAX) {
		j->result = AUTH_TEMPFAIL;
		j->reason = AUTH_REASON_BUSY;
		job_answer(j);
		return;
	}
	j->reason = auth_limits_check(&limits, j->ipkey, j->user, per_ip, now, &j->prior);
	if (j->reason != AUTH_REASON_NONE) {
		/* No verify: a right password must not slip through a limit.
		 * Hammering on counts too, so the limit lasts while it goes on. */
		j->result = AUTH_RATELIMITED;
		sodium_memzero(j->password, sizeof(j->password));
		auth_limits_record(&limits, j->ipkey, j->user, false, now);
		job_finish(j);
		return;
	}
	if (!job_load_hash(j, st, valid_user)) {
		job_answer(j);
		return;
	}
	if (pool_submit(j) == -1) {
		j->result = AUTH_TEMPFAIL;
		j->reason = AUTH_REASON_BUSY;
		job_answer(j);
	}
}

/* ---- sender ownership ------------------------------------------------------ */

static bool
mailboxes_include(const struct store_mailboxes *m, const char *user)
{
	for (unsigned i = 0; i < m->n && i < STORE_EXPAND_MAX; i++)
		if (strcmp(m->box[i], user) == 0)
			return true;
	return false;
}

/*
 * 1 if name (a user or an alias) reaches user, 0 if it does not, -1 if
 * name is neither; store trouble sets *status.
 */
static int
name_reaches(struct store_txn *t, const char *name, const char *user,
    enum store_status *status)
{
	struct store_mailboxes m;
	enum store_status s = store_expand(t, name, &m);

	if (s == STORE_NOTFOUND)
		return -1;
	if (s != STORE_OK) {
		*status = s;
		return 0;
	}
	return mailboxes_include(&m, user) ? 1 : 0;
}

static enum sender_result
sender_in_txn(struct store_txn *t, const struct config *cfg, const char *user,
    const char *address, enum store_status *status)
{
	struct store_domain dom;
	char local[ADDR_MAX + 1], base[ADDR_MAX + 1];
	const char *at = strrchr(address, '@');
	enum store_status s;
	int r;

	if (at == NULL || (size_t)(at - address) >= sizeof(local))
		return SENDER_NOT_OWNED;
	memcpy(local, address, (size_t)(at - address));
	local[at - address] = '\0';
	s = store_get_domain(t, at + 1, &dom);
	if (s != STORE_OK && s != STORE_NOTFOUND) {
		*status = s;
		return SENDER_TEMPFAIL;
	}
	if (s == STORE_NOTFOUND && !config_has_domain(cfg, at + 1))
		return SENDER_NOT_OWNED;	/* not one of our domains */
	/* the exact name wins, as when mail is resolved */
	if ((r = name_reaches(t, address, user, status)) >= 0 || *status != STORE_OK)
		return *status != STORE_OK ? SENDER_TEMPFAIL :
		    r == 1 ? SENDER_OWNED : SENDER_NOT_OWNED;
	s = store_find_base(t, local, at + 1, cfg->subaddress_delimiters, base, sizeof(base));
	if (s == STORE_NOTFOUND)
		return SENDER_NOT_OWNED;	/* and never via the catch-all */
	if (s != STORE_OK) {
		*status = s;
		return SENDER_TEMPFAIL;
	}
	r = name_reaches(t, base, user, status);
	if (*status != STORE_OK)
		return SENDER_TEMPFAIL;
	return r == 1 ? SENDER_OWNED : SENDER_NOT_OWNED;
}

enum sender_result
sender_check(struct store *st, const struct config *cfg, const char *user,
    const char *address, enum store_status *status)
{
	char u[ADDR_MAX + 1], a[ADDR_MAX + 1];
	struct store_txn *t;
	enum sender_result r;
	const char *why;

	*status = STORE_OK;
	if (addr_normalize_input(user, u, sizeof(u), &why) != ADDR_OK ||
	    addr_normalize_input(address, a, sizeof(a), &why) != ADDR_OK)
		return SENDER_NOT_OWNED;
	if ((*status = store_begin_read(st, &t)) != STORE_OK)
		return SENDER_TEMPFAIL;
	r = sender_in_txn(t, cfg, u, a, status);
	store_abort(t);
	return r;
}
