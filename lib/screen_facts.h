/*
 * lib/screen_facts.h - what smtpd tells the screen role about one inbound
 * transaction, and the verdict it gets back.
 *
 * Owns: the shape of a screening question (shared by smtpd, which fills it,
 * the IPC codec in lib/ipc_decode.c, and screen/, which judges it). Every
 * question carries all facts known so far, so the screen role keeps no
 * session state it could lose in a restart: a hint at connect, HELO or MAIL
 * only starts DNS lookups early, and the RCPT question alone is enough to
 * decide.
 */
#ifndef HMX_SCREEN_FACTS_H
#define HMX_SCREEN_FACTS_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

#define SCREEN_SESS_MAX		16	/* session id text */
#define SCREEN_IP_MAX		64	/* "1.2.3.4", "2001:db8::1" */
#define SCREEN_HELO_MAX		255	/* RFC 5321 4.5.3.1.2 */
#define SCREEN_REF_MAX		32	/* "7f3a09c2-3" */
#define SCREEN_QID_MAX		16

/* Where the session is when it asks (or hints). */
enum screen_stage {
	SCREEN_STAGE_CONNECT = 1,	/* hint: start client lookups */
	SCREEN_STAGE_HELO,		/* hint: start HELO lookups */
	SCREEN_STAGE_MAIL,		/* hint: start sender/SPF lookups */
	SCREEN_STAGE_RCPT,		/* question: verdict for this recipient */
	SCREEN_STAGE_DATA,		/* hint: the message got queue id qid */
	SCREEN_STAGE_MESSAGE,		/* question: the whole message (fd) */
	SCREEN_STAGE_MAX = SCREEN_STAGE_MESSAGE
};

#define SCREEN_FACT_TLS		0x01	/* the session is inside TLS */
#define SCREEN_FACT_EARLY_TALKER 0x02	/* spoke before the greeting */
#define SCREEN_FACT_NULL_SENDER	0x04	/* MAIL FROM:<> */
#define SCREEN_FACT_MAIL_SEEN	0x08	/* mail_from is meaningful */
#define SCREEN_FACT_SMTPUTF8	0x10	/* MAIL FROM carried SMTPUTF8 (RFC 6531) */
#define SCREEN_FACTS_ALL	0x1f

/*
 * The recipient's BATV tag (lib/batv.h), as smtpd learned it: at RCPT for
 * that recipient; at the end of DATA VALID only when every recipient of
 * the message came in through a valid tag (a bounce of our own mail).
 */
enum screen_bounce_tag {
	SCREEN_TAG_NONE = 0,	/* untagged, and bounce_tags is off */
	SCREEN_TAG_VALID,	/* our tag, made in the last BATV_DAYS_VALID days */
	SCREEN_TAG_BAD,		/* a tag we did not make, or an old one */
	SCREEN_TAG_UNTAGGED,	/* untagged while bounce_tags is on */
	SCREEN_TAG_MAX = SCREEN_TAG_UNTAGGED
};

struct screen_facts {
	uint8_t		stage;			/* enum screen_stage */
	uint8_t		flags;			/* SCREEN_FACT_* */
	uint16_t	errors;			/* refused commands so far */
	uint32_t	rcpt_seq;		/* 1, 2, ... per session: the ref id */
	char		sess[SCREEN_SESS_MAX + 1];
	char		client_ip[SCREEN_IP_MAX];
	char		local_ip[SCREEN_IP_MAX];	/* our end of the connection */
	char		helo[SCREEN_HELO_MAX + 1];	/* "" before HELO/EHLO */
	char		mail_from[ADDR_MAX + 1];	/* canonical; "" for <> */
	char		rcpt[ADDR_MAX + 1];		/* RCPT only */
	char		qid[SCREEN_QID_MAX + 1];	/* DATA only */
	uint8_t		bounce_tag;		/* enum screen_bounce_tag */
};

enum screen_action {
	SCREEN_ACCEPT = 1,
	SCREEN_GREYLIST,	/* 451 4.7.1: first attempt in the grey zone */
	SCREEN_TEMPFAIL,	/* 451 4.7.1: tempfail zone, or 4.4.3: DNS trouble */
	SCREEN_REJECT,		/* 550 5.7.1 (5.7.23 for an SPF fail, 554 for a virus) */
	SCREEN_ACTION_MAX = SCREEN_REJECT
};

/* Which reply smtpd sends; the text is the same neutral one for all. */
enum screen_reply {
	SCREEN_REPLY_OK = 1,		/* 250 2.1.5 */
	SCREEN_REPLY_GREYLIST,		/* 451 4.7.1 */
	SCREEN_REPLY_TEMPFAIL,		/* 451 4.7.1 */
	SCREEN_REPLY_DNS_TEMPFAIL,	/* 451 4.4.3 */
	SCREEN_REPLY_REJECT,		/* 550 5.7.1 */
	SCREEN_REPLY_SPF_REJECT,	/* 550 5.7.23 (RFC 7372) */
	SCREEN_REPLY_VIRUS,		/* 554 5.7.1, end of DATA only */
	SCREEN_REPLY_USER_UNKNOWN,	/* 550 5.1.1, RCPT only: exactly smtpd's
					 * reply for a recipient that does not
					 * exist (screen/recall.h: spam memory) */
	SCREEN_REPLY_MAX = SCREEN_REPLY_USER_UNKNOWN
};

/* Worst-case payload sizes of the IPC encoding (lib/ipc_screen.h), for
 * the message table in lib/ipc_msgs.h. */
#define IPC_SCREEN_FACTS_MIN	(1 + 1 + 2 + 4 + 7 * 2 + 1)
#define IPC_SCREEN_FACTS_MAX	(1 + 1 + 2 + 4 + 7 * 2 + SCREEN_SESS_MAX + \
				 2 * (SCREEN_IP_MAX - 1) + SCREEN_HELO_MAX + \
				 2 * ADDR_MAX + SCREEN_QID_MAX + 1)
/* The end-of-DATA question: facts, u16 n, n x str rcpt (every recipient
 * of the message, for the spam memory). At most SCREEN_RCPTS_MAX, which is
 * lib/ipc_decode.h's IPC_MAX_RCPTS. */
#define SCREEN_RCPTS_MAX	200
#define IPC_SCREEN_MESSAGE_ASK_MIN	(IPC_SCREEN_FACTS_MIN + 2 + 2 + 3)
#define IPC_SCREEN_MESSAGE_ASK_MAX	(IPC_SCREEN_FACTS_MAX + 2 + \
					 SCREEN_RCPTS_MAX * (2 + ADDR_MAX))
#define IPC_SCREEN_VERDICT_MIN	(1 + 1 + 4 + 2)
#define IPC_SCREEN_VERDICT_MAX	(1 + 1 + 4 + 2 + SCREEN_REF_MAX)
/* a verdict, str prepend, u16 n, n x (u32 off, u32 len) */
#define IPC_STRIP_LIST_MAX	(2 + SCREEN_STRIP_MAX * 8)
#define IPC_SCREEN_MVERDICT_MIN	(IPC_SCREEN_VERDICT_MIN + 2 + 2)
#define IPC_SCREEN_MVERDICT_MAX	(IPC_SCREEN_VERDICT_MAX + 2 + SCREEN_PREPEND_MAX + \
				 IPC_STRIP_LIST_MAX)

struct screen_verdict {
	uint8_t		action;		/* enum screen_action */
	uint8_t		reply;		/* enum screen_reply */
	int32_t		score;
	char		ref[SCREEN_REF_MAX + 1];
};

/*
 * What the queue does to an accepted inbound message before it commits it:
 * puts prepend first (our Authentication-Results field, RFC 8601) and
 * leaves out the byte ranges of the body as received (incoming
 * Authentication-Results fields that claim to be ours: RFC 8601 5 says
 * they must go). Sorted, not overlapping.
 */
#define SCREEN_PREPEND_MAX	4096
#define SCREEN_STRIP_MAX	64

struct byte_range {
	uint32_t	off;
	uint32_t	len;
};

struct screen_message_verdict {
	struct screen_verdict	v;
	char			prepend[SCREEN_PREPEND_MAX + 1];	/* "" or CRLF-ended fields */
	unsigned		nstrip;
	struct byte_range	strip[SCREEN_STRIP_MAX];
};

#endif
