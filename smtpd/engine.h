/*
 * smtpd/engine.h - the inside of one SMTP session, shared by the files of
 * the session engine and by the policies that plug into it.
 *
 * The engine is one engine for port 25 and for submission (587/465):
 *	smtpd/session.c		the dialog: state machine, command table,
 *				transaction, the answers of lookup and queue
 *	smtpd/session_io.c	the connection: bufferevents, STARTTLS and
 *				implicit TLS, deadlines, reading lines and DATA
 *	smtpd/policy.h		the hooks where a port decides (smtpd/inbound.c
 *				for port 25, submission/ for 587/465)
 * Owns: struct smtp_session and struct transaction. The engine files write
 * their fields; a policy reads them and keeps its own state behind
 * s->policy_state. Why one engine: limits, smuggling defences, pipelining
 * and timeouts must be exactly the same on every port, and one copy cannot
 * drift; what differs between ports is only what a policy decides.
 */
#ifndef SMTPD_ENGINE_H
#define SMTPD_ENGINE_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodywriter.h"
#include "command.h"
#include "config.h"
#include "data.h"
#include "ipc_decode.h"
#include "guard.h"
#include "reply.h"
#include "tls.h"

#define SESSION_ID_LEN	8	/* hex digits of sess= */
#define NO_REPLY	(-1)	/* session_close() without a last reply */

enum session_state {
	SESSION_GREETING = 0,	/* greeting_delay runs; the client must stay silent */
	SESSION_INIT,		/* banner sent, no HELO/EHLO yet */
	SESSION_READY,		/* greeted, no transaction */
	SESSION_MAIL,		/* MAIL accepted, no recipient yet */
	SESSION_RCPT,		/* at least one recipient accepted */
	SESSION_MAIL_WAIT,	/* the policy judges MAIL FROM */
	SESSION_RCPT_WAIT,	/* lookup, then the policy, judge a recipient */
	SESSION_DATA_WAIT,	/* queue is opening a spool file */
	SESSION_DATA,		/* reading the message */
	SESSION_EOD_WAIT,	/* the policy judges the whole message */
	SESSION_COMMIT_WAIT,	/* queue is making the message durable */
	SESSION_TLS_WAIT,	/* "220 Ready to start TLS" is draining */
	SESSION_TLS_HANDSHAKE,
	SESSION_POLICY_INPUT,	/* the next line is the policy's (an AUTH response) */
	SESSION_POLICY_WAIT,	/* a policy command waits for an answer (AUTH) */
	SESSION_CLOSING,	/* last reply queued; freed once flushed */
	SESSION_STATE_COUNT
};

struct transaction {
	char			 from[ADDR_MAX + 1];	/* canonical; "" for <> */
	bool			 null_sender;
	bool			 smtputf8;	/* MAIL had SMTPUTF8 (RFC 6531 3.4) */
	char			(*rcpt)[ADDR_MAX + 1];
	unsigned		 nrcpt;
	unsigned		 rcpt_cap;
	char			 asking[ADDR_MAX + 1];	/* RCPT being judged */
	char			 qid[QUEUE_ID_SIZE];
	bool			 spool_open;	/* the queue holds an uncommitted file */
	uint64_t		 open_req;	/* the OPEN in flight (0: none) */
	int			 fd;		/* the spool file */
	struct body_writer	*writer;
	struct data_scanner	 scan;
	/* what the queue does to the body before it commits it (port 25: the
	 * screen's Authentication-Results; lib/screen_facts.h) */
	char			 prepend[SCREEN_PREPEND_MAX + 1];
	unsigned		 nstrip;
	struct byte_range	 strip[SCREEN_STRIP_MAX];
};

struct session_policy;

struct smtp_session {
	TAILQ_ENTRY(smtp_session) entry;
	char			 id[SESSION_ID_LEN + 1];
	enum session_state	 state;
	enum listen_kind	 kind;
	const struct session_policy *policy;
	void			*policy_state;	/* the policy's own (on_connect) */

	/* the connection: smtpd/session_io.c */
	int			 fd;
	bool			 bev_owns_fd;	/* after STARTTLS */
	struct bufferevent	*bev;
	struct event		*timer;		/* the deadline of this state */
	struct event		*cap_timer;	/* session_timeout */
	double			 clock_start;	/* when this deadline's clock started */
	uint64_t		 data_block;	/* DATA octets since the clock restarted */
	struct client_addr	 addr;
	char			 ip[IP_TEXT_MAX];
	unsigned		 port;
	bool			 tls_active;
	char			 tls_version[TLS_VERSION_MAX];
	char			 tls_cipher[TLS_CIPHER_MAX];
	bool			 discard_line;	/* inside an over-long command line */
	bool			 spoke;		/* a whole command line has arrived */
	bool			 early_talker;	/* sent bytes before the greeting */
	bool			 client_eof;	/* the client closed its sending side */
	bool			 processing;	/* session_process() is on the stack */

	/* the dialog: smtpd/session.c */
	char			 helo[SMTP_HELO_MAX + 1];	/* "" until HELO/EHLO */
	bool			 esmtp;		/* greeted with EHLO: extensions may be used */
	unsigned		 errors;
	unsigned		 messages;
	int			 close_after_answer;	/* reply once the commit is answered */
	const char		*close_reason;
	struct transaction	*tx;
};

/* A command being checked and run (the core's and a policy's). */
union command_args {
	char		helo[SMTP_HELO_MAX + 1];
	struct mail_cmd	mail;
	struct rcpt_cmd	rcpt;
};

struct command_ctx {
	const struct smtp_command	*cmd;
	enum cmd_status			 status;	/* of command_parse() */
	union command_args		 args;
};

/* ---- smtpd/session.c: the dialog ------------------------------------------- */

const struct config *session_cfg(void);

void	session_reply(struct smtp_session *, enum reply_id);
void	session_reply_arg(struct smtp_session *, enum reply_id, const char *arg);
/* A refusal caused by the client: counted towards max_errors. */
void	session_reply_error(struct smtp_session *, enum reply_id);
/* Refuses a command (logged as command_reject, counted); returns false so
 * that a check can "return session_refuse(...)". */
bool	session_refuse(struct smtp_session *, struct command_ctx *, enum reply_id);
/* Back to the command state that matches the transaction. */
void	session_resume_state(struct smtp_session *);

/* One command line (without CRLF) from the client. */
void	session_dispatch(struct smtp_session *, const char *line, size_t len);
/* The DATA scanner saw the end of the message. */
void	session_end_data(struct smtp_session *);
/* Ends the transaction; an uncommitted spool file goes back to the queue. */
void	session_tx_free(struct smtp_session *);

/* What a policy answers, now or later (they run buffered input on). */
void	session_mail_done(struct smtp_session *, enum reply_id);
void	session_rcpt_done(struct smtp_session *, enum reply_id, const char *reason);
/* The same with the reply's argument (the screen's reference id). */
void	session_rcpt_done_arg(struct smtp_session *, enum reply_id,
	    const char *reason, const char *arg);
/* The message may be queued: the spool file is finished and committed. */
void	session_message_accept(struct smtp_session *);
/* The message is refused; the session goes on. */
void	session_message_refuse(struct smtp_session *, enum reply_id, const char *reason);
/* The same with the reply's argument (the screen's reference id). */
void	session_message_refuse_arg(struct smtp_session *, enum reply_id,
	    const char *reason, const char *arg);
/* The spool file holds the whole message now (flushed and closed), so
 * another role may read it; false (the message was refused) on error. */
bool	session_spool_finish(struct smtp_session *);

/* ---- smtpd/session_io.c: the connection ---------------------------------- */

void		 session_set_state(struct smtp_session *, enum session_state);
const char	*session_state_name(enum session_state);
/* Runs buffered input through the state machine until it must wait. */
void		 session_process(struct smtp_session *);
/* Queues bytes for the client (a rendered reply). */
void		 session_write(struct smtp_session *, const void *, size_t);
/* Ends the session after an optional last reply (NO_REPLY: none). */
void		 session_close(struct smtp_session *, int reply, const char *reason);
/* STARTTLS accepted: drop pipelined plaintext, stop reading, send 220. */
void		 session_begin_starttls(struct smtp_session *);

#endif
