/*
 * relay/job.h - one MSG_QUEUE_RELAY: a message for the recipients of one
 * domain, from the MX lookup to one result per recipient.
 *
 * Owns: the walk over MX hosts and their addresses (enum job_state, one
 * file: job.c), the per-recipient results, and the decisions taken on each
 * reply: next address, next MX, the IPv6-to-IPv4 fallback, done.
 */
#ifndef RELAY_JOB_H
#define RELAY_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <netinet/in.h>

#include "client.h"
#include "config.h"
#include "dns.h"
#include "ipc_decode.h"
#include "pool.h"
#include "reply.h"
#include "targets.h"
#include "tlspolicy.h"

#define JOB_HOSTS_MAX	10	/* MX hosts tried per message */
#define JOB_ORDER_MAX	(2 * DNS_ADDR_MAX)

enum job_state {
	JOB_MX,		/* waiting for the MX answer */
	JOB_ADDRS,	/* waiting for A/AAAA of the hosts */
	JOB_WAIT_POOL,	/* the destination is at max_connections */
	JOB_CONNECT,	/* a new session is opening */
	JOB_RESET,	/* an idle session is being RSET for us */
	JOB_TXN,	/* MAIL ... DATA running */
	JOB_DONE,
};

struct job_host {
	char			name[ADDR_DOMAIN_MAX + 1];
	uint16_t		port;
	struct dest_rule	rule;
	struct addr_set		addrs;
	unsigned		dns_pending;
	bool			dns_tempfail;
	char			dns_err[DNS_ERR_MAX];
	/* outbound TLS (relay/tlspolicy.h): what the TLSA lookup said, and
	 * the policy chosen once every answer is in */
	enum dane_state		dane;
	struct dane_set		*tlsa;		/* owned, DANE_AUTH only: tlsp.tlsa */
	bool			dnssec_addrs;	/* A/AAAA asked with DO/AD (TLSA asked) */
	bool			addrs_insecure;	/* one of those answers lacked AD */
	struct tls_policy	tlsp;
	enum tlspolicy_skip	skip;
};

/* The session a reply or an error came from. */
struct job_origin {
	char			mx[ADDR_DOMAIN_MAX + 1];	/* "" if no session */
	char			ip[INET6_ADDRSTRLEN];
	int			family;
	bool			tls;
};

struct job_rcpt {
	bool			final;
	enum delivery_result	result;
	/* A server's reply ("550 5.1.1 text"), or the relay's own diagnosis
	 * without a reply code ("4.4.1 connect to ...: Connection refused"). */
	char			reply[REPLY_TEXT_MAX + 1];
	bool			answered;	/* reply is what the server from said */
	struct job_origin	from;
};

struct job;
typedef void (*job_done_cb)(struct job *);

struct job {
	TAILQ_ENTRY(job)	 entry;
	struct pool_waiter	 waiter;
	uint64_t		 id;
	enum job_state		 state;
	uint64_t		 queue_req;
	unsigned		 queue_gen;
	struct msg_relay	 m;		/* owned: msg_relay_free() */
	int			 body_fd;
	uint64_t		 body_size;
	bool			 headers_ascii;	/* smtputf8 and no 8-bit header (headscan.h) */
	double			 queued_at;	/* wall clock: the body's mtime */
	double			 started;	/* mono_now() when it arrived */
	char			 domain[ADDR_DOMAIN_MAX + 1];
	bool			 implicit_mx;
	bool			 mx_secure;	/* the MX answer had AD (dns_validating) */
	/* the domain's MTA-STS policy (relay/mtasts.h), asked with the MX */
	bool			 sts_waiting;	/* not answered yet */
	bool			 dns_waits_sts;	/* the addresses are in: waiting for it */
	bool			 have_sts;
	struct sts_policy	 sts;

	struct job_host		 hosts[JOB_HOSTS_MAX];
	size_t			 nhosts;
	unsigned		 dns_pending;
	size_t			 hidx;		/* current host */
	struct sockaddr_storage	 order[JOB_ORDER_MAX];
	size_t			 norder;
	size_t			 aidx;		/* current address in order[] */
	bool			 order_ready;
	bool			 ipv4_mode;	/* fell back from IPv6 in this job */
	bool			 tls_off;	/* retry without STARTTLS */

	struct pool		*pool;		/* set while holding a slot or waiting */
	bool			 has_slot;
	struct client		*client;
	bool			 client_reused;	/* an idle session from the pool */

	struct job_rcpt		*rcpt;		/* m.nrcpt entries */
	size_t			 npending;
	struct client_txn	 txn;
	const char		**txn_rcpt;
	size_t			*txn_map;	/* txn index -> rcpt index */
	struct smtp_reply	*txn_replies;

	struct smtp_reply	 last_err;
	struct job_origin	 last_err_from;
	bool			 have_err;
	bool			 any_temp;
	job_done_cb		 done;
};

void		 job_setup(struct event_base *, const struct config *);
/* Takes over m (its rcpt array) and body_fd. */
struct job	*job_new(struct msg_relay *m, int body_fd, uint64_t queue_req,
		    unsigned queue_gen, job_done_cb);
void		 job_start(struct job *);
/* Frees without a result (the queue that asked is gone). */
void		 job_free(struct job *);
/* Every pending recipient gets r (a local reply: smtp_reply_set) now;
 * then done() runs. */
void		 job_cancel(struct job *, const struct smtp_reply *r);
size_t		 job_count(void);
/* Calls fn for every job (fn may free it). */
void		 job_foreach(void (*fn)(struct job *));

#endif
