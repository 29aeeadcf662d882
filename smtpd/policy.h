/*
 * smtpd/policy.h - what a port decides, as one table of hooks the session
 * engine calls.
 *
 * Owns: the contract between the engine (smtpd/session.c) and a policy:
 * smtpd/inbound.c (port 25: anyone, for our domains) and submission/
 * (587/465: authenticated users, anywhere). A hook left NULL means "as the
 * engine does by default"; the defaults are port 25's behaviour today.
 * The asynchronous hooks (check_mail, check_rcpt, end_of_data) answer by
 * calling session_mail_done(), session_rcpt_done() or
 * session_message_accept()/_refuse() - at once or later - while the
 * session waits in SESSION_MAIL_WAIT, SESSION_RCPT_WAIT or
 * SESSION_EOD_WAIT under the engine's answer deadline. A policy that asks
 * another role does so through smtpd/links.h with the session as owner,
 * so that the engine's deadline can fail the request (links_fail_pending).
 * Why hooks and not flags: the inbound screen (next) and submission ask
 * other roles at the same points of the dialog, and the engine must not
 * know which of them is asking.
 */
#ifndef SMTPD_POLICY_H
#define SMTPD_POLICY_H

#include "engine.h"
#include "received.h"

/* A command beyond the core's table (AUTH), checked and run the same way:
 * check refuses (session_refuse) and returns false, or act runs. */
struct policy_command {
	enum smtp_verb	verb;
	bool		(*check)(struct smtp_session *, struct command_ctx *);
	void		(*act)(struct smtp_session *, struct command_ctx *);
};

struct session_policy {
	const char		*name;		/* for logs */
	enum msg_source		 source;	/* what the queue is told */
	bool			 greeting_delay;	/* greeting_delay applies */
	unsigned		 mail_options;	/* MAIL_OPT_* the MAIL parser takes */
	/* Ask the queue for the spool file at the first accepted recipient
	 * rather than at DATA, so that 354 does not wait for it (the answer
	 * comes while the client sends its next command). */
	bool			 open_early;
	const struct policy_command *commands;
	size_t			 ncommands;

	/* The session starts / ends (allocate, wipe and free policy_state). */
	void	(*on_connect)(struct smtp_session *);
	void	(*on_close)(struct smtp_session *);
	/* HELO/EHLO was accepted (s->helo). */
	void	(*on_helo)(struct smtp_session *);
	/* The EHLO keywords beyond the fixed ones (STARTTLS is the engine's). */
	void	(*ehlo_offer)(const struct smtp_session *, struct ehlo_offer *);
	/* The longest line the client may send next, given the first bytes
	 * waiting (head, headlen <= 5). NULL: SMTP_LINE_MAX. */
	size_t	(*line_max)(const struct smtp_session *, const char *head,
		    size_t headlen);
	/* SESSION_POLICY_INPUT: the next line is the policy's; input_abort:
	 * that line was refused by the engine (too long, bare CR/LF). */
	void	(*input_line)(struct smtp_session *, const char *line, size_t len);
	void	(*input_abort)(struct smtp_session *);

	/* MAIL may not start a transaction at all: true and *r to refuse. */
	bool	(*mail_refused)(const struct smtp_session *, enum reply_id *r);
	/* MAIL passed the grammar (s->tx->from); answer session_mail_done(). */
	void	(*check_mail)(struct smtp_session *);
	/* RCPT passed the grammar: address (canonical, size bytes of room) is
	 * what lookup will be asked and the transaction will hold; the policy
	 * may rewrite it (port 25: a BATV tag comes off, smtpd/inbound.c). */
	void	(*rcpt_address)(struct smtp_session *, char *address, size_t size);
	/* lookup judged s->tx->asking; r and reason are the engine's reading
	 * of the verdict. Answer session_rcpt_done(). */
	void	(*check_rcpt)(struct smtp_session *, enum resolve_verdict,
		    enum reply_id r, const char *reason);
	/* The spool file is open and 354 is next: returns the fd the body is
	 * written into (s->tx->fd unless the policy keeps it elsewhere), or -1
	 * with *why to refuse with 451. */
	int	(*data_start)(struct smtp_session *, const char **why);
	/* The Received: fields that depend on the port. */
	void	(*trace)(const struct smtp_session *, struct received_info *);
	/* The unstuffed body, in order; NULL: straight into the writer. */
	void	(*data_sink)(struct smtp_session *, const uint8_t *, size_t);
	/* A complete, clean message: answer session_message_accept() or
	 * session_message_refuse(). */
	void	(*end_of_data)(struct smtp_session *);
	/* The transaction ends (RSET, end of DATA, close): drop its state. */
	void	(*on_tx_end)(struct smtp_session *);
};

#endif
