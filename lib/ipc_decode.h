/*
 * lib/ipc_decode.h - one validating decoder (and one encoder) per message.
 *
 * Owns: the in-memory shape of every IPC message and the bounds of its
 * fields (lib/ipc_msgs.h builds each row's length limits from them).
 * Decoders copy fields into fixed-size members, check every one (lengths,
 * enum ranges, address syntax where a field is an address, the kind of
 * each free-text field from lib/ipc_text.h) and reject trailing bytes.
 * Nothing outside this file reads a payload byte by byte.
 */
#ifndef HMX_IPC_DECODE_H
#define HMX_IPC_DECODE_H

#include <stdint.h>

#include "addr.h"
#include "config.h"	/* CONFIG_TEXT_MAX: one MSG_SUP_RELOAD */
#include "ipc.h"
#include "ipc_ctl.h"	/* CTL_*: MSG_CTL_ASK, MSG_CTL_ANSWER */
#include "screen_facts.h"
#include "tlspem.h"	/* TLSPEM_PART_MAX: MSG_SUP_TLS */

#define QUEUE_ID_LEN		16	/* hex digits */
#define QUEUE_ID_SIZE		(QUEUE_ID_LEN + 1)
#define IPC_MAX_RCPTS		200	/* max_recipients can not exceed this */
#define IPC_MAX_MAILBOXES	32
#define IPC_ADDR_MIN		3	/* "a@b": the shortest address field */
#define IPC_REASON_MAX		512
/* A reply per recipient, IPC_MAX_RCPTS of them in one MSG_RELAY_RESULT:
 * (IPC_MAX_PAYLOAD - 2) / IPC_MAX_RCPTS - 3 bytes fit each. */
#define RELAY_REPLY_MAX		320
#define IPC_FATAL_TEXT_MAX	1000
#define HELO_MAX		255	/* RFC 5321 4.5.3.1.2 domain */
#define IP_TEXT_MAX		64

enum resolve_verdict {
	RESOLVE_LOCAL = 1,	/* mailboxes[] filled */
	RESOLVE_UNKNOWN_USER,	/* local domain, nobody there: 550 5.1.1 */
	RESOLVE_NOT_LOCAL,	/* not our domain: 554 5.7.1 relay denied */
	RESOLVE_BLOCKED,	/* a burnt subaddress: 550 5.1.1 */
	RESOLVE_TEMPFAIL,	/* store trouble: 451 4.3.0 */
	RESOLVE_VERDICT_MAX = RESOLVE_TEMPFAIL
};

enum queue_status {
	QUEUE_OK = 1,
	QUEUE_TEMPFAIL,		/* disk trouble: 451/452, never 250 */
	QUEUE_NOSPACE,		/* ENOSPC: 452 4.3.1 */
	QUEUE_REJECT,		/* bad envelope from smtpd: 554 */
	QUEUE_STATUS_MAX = QUEUE_REJECT
};

enum delivery_result {
	DELIVERY_OK = 1,
	DELIVERY_TEMPFAIL,
	DELIVERY_PERMFAIL,
	DELIVERY_REMOTE,	/* delivery: not a local address; hand it to relay */
};
#define DELIVERY_RESULT_MAX	DELIVERY_REMOTE

enum auth_result {
	AUTH_OK = 1,
	AUTH_BAD,		/* 535 5.7.8 */
	AUTH_RATELIMITED,	/* too many failures: 454 4.7.0 / 421 */
	AUTH_TEMPFAIL,		/* store trouble or busy: 454 4.7.0 */
	AUTH_RESULT_MAX = AUTH_TEMPFAIL
};

enum sender_result {
	SENDER_OWNED = 1,
	SENDER_NOT_OWNED,	/* 553 5.7.1 / 550 5.7.1 */
	SENDER_TEMPFAIL,
	SENDER_RESULT_MAX = SENDER_TEMPFAIL
};

/* MSG_LOCAL_USER_ANSWER: who is this uid? */
enum local_user_result {
	LOCAL_USER_FOUND = 1,
	LOCAL_USER_UNKNOWN,	/* no passwd entry, or a name no address can hold */
	LOCAL_USER_TEMPFAIL,
	LOCAL_USER_RESULT_MAX = LOCAL_USER_TEMPFAIL
};

struct msg_local_user_answer {
	enum local_user_result	result;
	char			login[CONFIG_LOGIN_MAX + 1];	/* "" unless FOUND */
};

enum sign_status {
	SIGN_OK = 1,
	SIGN_NO_KEY,		/* no key for the domain: 451, never unsigned */
	SIGN_FAILED,		/* 451 */
	SIGN_STATUS_MAX = SIGN_FAILED
};

enum msg_source {
	SOURCE_SMTP = 1,	/* port 25: never bounce */
	SOURCE_SUBMISSION,
	SOURCE_LOCAL,
	SOURCE_MAX = SOURCE_LOCAL
};

struct msg_sup_link {
	enum role	peer;
};

struct msg_role_fatal {
	char	text[IPC_FATAL_TEXT_MAX + 1];
};

struct msg_resolve_ask {
	char	address[ADDR_MAX + 1];
};

struct msg_resolve_answer {
	enum resolve_verdict	verdict;
	unsigned		nmailbox;
	char			mailbox[IPC_MAX_MAILBOXES][ADDR_MAX + 1];
};

struct msg_queue_opened {
	enum queue_status	status;
	char			msgid[QUEUE_ID_SIZE];
};

struct msg_commit {
	char		 msgid[QUEUE_ID_SIZE];
	char		 sender[ADDR_MAX + 1];	/* "" = null sender */
	char		 helo[HELO_MAX + 1];
	char		 client_ip[IP_TEXT_MAX];
	enum msg_source	 source;
	unsigned	 nrcpt;
	char		(*rcpt)[ADDR_MAX + 1];	/* nrcpt entries, malloc'd */
	/* port 25 only, from the screen (lib/screen_facts.h): fields to put
	 * first and body ranges to leave out; "" and 0 from submission */
	char		 prepend[SCREEN_PREPEND_MAX + 1];
	unsigned	 nstrip;
	struct byte_range strip[SCREEN_STRIP_MAX];
	bool		 smtputf8;		/* MAIL had SMTPUTF8 (RFC 6531) */
};

struct msg_committed {
	enum queue_status	status;
	char			msgid[QUEUE_ID_SIZE];
};

struct msg_abort {
	char	msgid[QUEUE_ID_SIZE];
};

struct msg_deliver {
	char	msgid[QUEUE_ID_SIZE];
	char	sender[ADDR_MAX + 1];
	char	rcpt[ADDR_MAX + 1];
};

struct msg_delivery_result {
	enum delivery_result	result;
	char			reason[IPC_REASON_MAX + 1];
};

#define AUTH_USER_MAX		ADDR_MAX
#define AUTH_PASSWORD_MAX	512
#define SIGN_HEADERS_MAX	15000

struct msg_auth_ask {
	char	user[AUTH_USER_MAX + 1];
	char	password[AUTH_PASSWORD_MAX + 1];	/* sodium_memzero after use */
	char	client_ip[IP_TEXT_MAX];
};

struct msg_sender_ask {
	char	user[AUTH_USER_MAX + 1];
	char	address[ADDR_MAX + 1];
};

struct msg_sign_ask {
	char	domain[ADDR_DOMAIN_MAX + 1];
};

struct msg_sign_answer {
	enum sign_status	status;
	char			headers[SIGN_HEADERS_MAX + 1];
};

struct msg_relay {
	char		 msgid[QUEUE_ID_SIZE];
	char		 sender[ADDR_MAX + 1];
	unsigned	 nrcpt;
	char		(*rcpt)[ADDR_MAX + 1];	/* malloc'd; msg_relay_free() */
	bool		 smtputf8;		/* the message needs SMTPUTF8 (RFC 6531) */
};

struct relay_rcpt_result {
	enum delivery_result	result;
	char			reply[IPC_REASON_MAX + 1];	/* sent: cut to RELAY_REPLY_MAX */
};

struct msg_relay_result {
	unsigned			 n;
	struct relay_rcpt_result	*rcpt;	/* malloc'd; msg_relay_result_free() */
};

/* One remembered IPv6->IPv4 fallback: name (a domain_is_valid() name in
 * lowercase) is reached over IPv4 only until the unix time until. */
#define FAMILY_PINS_PER_FRAME	200	/* MSG_QUEUE_FAMILY_MEMORY: 2+200*265 */
#define FAMILY_UNTIL_MAX	((uint64_t)1 << 40)	/* a sane unix time */

struct family_pin {
	char		name[ADDR_DOMAIN_MAX + 1];
	uint64_t	until;
};

struct msg_family_memory {
	unsigned		 n;
	struct family_pin	*pins;	/* malloc'd; msg_family_memory_free() */
};

/* Decoders: 0 on success, -1 with *why set. */
int	ipc_decode_sup_link(const struct ipc_frame *, struct msg_sup_link *, const char **why);
int	ipc_decode_reload(const struct ipc_frame *, char **text, const char **why);
/* MSG_SUP_TLS: *npairs in [1, TLSPEM_PAIRS_MAX]; the memfd is f->fd. */
int	ipc_decode_sup_tls(const struct ipc_frame *, uint32_t *npairs, const char **why);
int	ipc_decode_peer_bad(const struct ipc_frame *, enum role *peer, const char **why);
/* A message without payload (MSG_ROLE_READY, MSG_SMTPD_MSG_OPEN). */
int	ipc_decode_empty(const struct ipc_frame *, const char **why);
int	ipc_decode_role_fatal(const struct ipc_frame *, struct msg_role_fatal *, const char **why);
int	ipc_decode_resolve_ask(const struct ipc_frame *, struct msg_resolve_ask *, const char **why);
int	ipc_decode_resolve_answer(const struct ipc_frame *, struct msg_resolve_answer *, const char **why);
int	ipc_decode_queue_opened(const struct ipc_frame *, struct msg_queue_opened *, const char **why);
int	ipc_decode_commit(const struct ipc_frame *, struct msg_commit *, const char **why);
void	msg_commit_free(struct msg_commit *);
int	ipc_decode_committed(const struct ipc_frame *, struct msg_committed *, const char **why);
int	ipc_decode_abort(const struct ipc_frame *, struct msg_abort *, const char **why);
int	ipc_decode_deliver(const struct ipc_frame *, struct msg_deliver *, const char **why);
int	ipc_decode_delivery_result(const struct ipc_frame *, struct msg_delivery_result *, const char **why);

int	ipc_decode_auth_ask(const struct ipc_frame *, struct msg_auth_ask *, const char **why);
int	ipc_decode_auth_answer(const struct ipc_frame *, enum auth_result *, const char **why);
int	ipc_decode_sender_ask(const struct ipc_frame *, struct msg_sender_ask *, const char **why);
int	ipc_decode_sender_answer(const struct ipc_frame *, enum sender_result *, const char **why);
int	ipc_decode_local_user_ask(const struct ipc_frame *, uint32_t *uid, const char **why);
int	ipc_decode_local_user_answer(const struct ipc_frame *, struct msg_local_user_answer *,
	    const char **why);
int	ipc_decode_sign_ask(const struct ipc_frame *, struct msg_sign_ask *, const char **why);
int	ipc_decode_sign_answer(const struct ipc_frame *, struct msg_sign_answer *, const char **why);
int	ipc_decode_relay(const struct ipc_frame *, struct msg_relay *, const char **why);
void	msg_relay_free(struct msg_relay *);
int	ipc_decode_relay_result(const struct ipc_frame *, struct msg_relay_result *, const char **why);
void	msg_relay_result_free(struct msg_relay_result *);
int	ipc_decode_family_learned(const struct ipc_frame *, struct family_pin *, const char **why);
int	ipc_decode_family_memory(const struct ipc_frame *, struct msg_family_memory *, const char **why);
void	msg_family_memory_free(struct msg_family_memory *);

/*
 * Runs the decoder of f->type and throws the result away: 0 if the payload
 * is what that decoder accepts. ipc_send() checks every frame with it, and
 * the fuzzer and the tests walk every type through it. It names every type
 * in a switch without default, so a new row without a decoder does not
 * compile.
 */
int	ipc_decode_any(const struct ipc_frame *, const char **why);

/* A byte-range list (u16 n, n x (u32 off, u32 len)): at most
 * SCREEN_STRIP_MAX, each non-empty, sorted, not overlapping, no overflow. */
void	ipc_put_strip_list(struct ipc_builder *, const struct byte_range *, unsigned n);
void	ipc_take_strip_list(struct ipc_cursor *, struct byte_range *, unsigned *n);

/* Encoders fill a builder; the caller sends it with ipc_send(). Free text
 * goes through ipc_text_line_clean(), so a reason or reply always passes. */
void	ipc_encode_sup_link(struct ipc_builder *, enum role peer);
void	ipc_encode_reload(struct ipc_builder *, const char *text, size_t len);
void	ipc_encode_sup_tls(struct ipc_builder *, uint32_t npairs);
void	ipc_encode_peer_bad(struct ipc_builder *, enum role peer);
void	ipc_encode_role_ready(struct ipc_builder *);
void	ipc_encode_role_fatal(struct ipc_builder *, const char *text);
void	ipc_encode_resolve_ask(struct ipc_builder *, const char *address);
void	ipc_encode_resolve_answer(struct ipc_builder *, const struct msg_resolve_answer *);
void	ipc_encode_queue_opened(struct ipc_builder *, enum queue_status, const char *msgid);
void	ipc_encode_commit(struct ipc_builder *, const struct msg_commit *);
void	ipc_encode_committed(struct ipc_builder *, enum queue_status, const char *msgid);
void	ipc_encode_abort(struct ipc_builder *, const char *msgid);
void	ipc_encode_deliver(struct ipc_builder *, const struct msg_deliver *);
void	ipc_encode_delivery_result(struct ipc_builder *, enum delivery_result, const char *reason);

void	ipc_encode_auth_ask(struct ipc_builder *, const struct msg_auth_ask *);
void	ipc_encode_u8_answer(struct ipc_builder *, uint8_t);	/* AUTH/SENDER answers */
void	ipc_encode_sender_ask(struct ipc_builder *, const char *user, const char *address);
void	ipc_encode_local_user_ask(struct ipc_builder *, uint32_t uid);
void	ipc_encode_local_user_answer(struct ipc_builder *, const struct msg_local_user_answer *);
void	ipc_encode_sign_ask(struct ipc_builder *, const char *domain);
void	ipc_encode_sign_answer(struct ipc_builder *, enum sign_status, const char *headers);
void	ipc_encode_relay(struct ipc_builder *, const struct msg_relay *);
void	ipc_encode_relay_result(struct ipc_builder *, const struct msg_relay_result *);
void	ipc_encode_family_learned(struct ipc_builder *, const struct family_pin *);
/* n: 1..FAMILY_PINS_PER_FRAME */
void	ipc_encode_family_memory(struct ipc_builder *, const struct family_pin *, unsigned n);
/* True if name may be remembered: a valid domain name, lowercase. */
bool	family_name_is_valid(const char *name);

/* True if s is exactly QUEUE_ID_LEN lowercase hex digits. */
bool	queue_id_is_valid(const char *s);

#endif
