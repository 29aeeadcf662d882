/*
 * lib/ipc_screen.h - the codec of the smtpd <-> screen messages
 * (MSG_SCREEN_HINT, MSG_SCREEN_ASK, MSG_SCREEN_VERDICT in lib/ipc_msgs.h).
 *
 * Owns: their payload layouts and validation. Facts travel as
 *	u8 stage, u8 flags, u16 errors, u32 rcpt_seq, str sess, str client_ip,
 *	str local_ip, str helo, str mail_from, str rcpt, str qid, u8 bounce_tag
 * (the end-of-DATA question adds u16 n, n x str rcpt: every recipient)
 * and a verdict as
 *	u8 action, u8 reply, u32 score (two's complement), str ref.
 * Why a file of its own: the screen's questions are the one place where a
 * network-facing role (smtpd) feeds another network-facing role (screen)
 * with client text; every field is re-checked here (addresses parse, IPs
 * are IPs, the HELO is a plain word) so the screen never works on garbage.
 */
#ifndef HMX_IPC_SCREEN_H
#define HMX_IPC_SCREEN_H

#include "ipc.h"
#include "screen_facts.h"

void	ipc_encode_screen_facts(struct ipc_builder *, const struct screen_facts *);
int	ipc_decode_screen_facts(const struct ipc_frame *, struct screen_facts *,
	    const char **why);
/* MSG_SCREEN_MESSAGE_ASK: facts (stage MESSAGE) and the message's
 * recipients (1..SCREEN_RCPTS_MAX; rcpt must have room for that many). */
void	ipc_encode_screen_message_ask(struct ipc_builder *, const struct screen_facts *,
	    const char (*rcpt)[ADDR_MAX + 1], unsigned nrcpt);
int	ipc_decode_screen_message_ask(const struct ipc_frame *, struct screen_facts *,
	    char (*rcpt)[ADDR_MAX + 1], unsigned *nrcpt, const char **why);
void	ipc_encode_screen_verdict(struct ipc_builder *, const struct screen_verdict *);
int	ipc_decode_screen_verdict(const struct ipc_frame *, struct screen_verdict *,
	    const char **why);
/* The end-of-DATA verdict: a verdict, the fields to put first, the ranges
 * to leave out (only with an accept). */
void	ipc_encode_screen_message_verdict(struct ipc_builder *,
	    const struct screen_message_verdict *);
int	ipc_decode_screen_message_verdict(const struct ipc_frame *,
	    struct screen_message_verdict *, const char **why);

#endif
