/*
 * lib/ipc.h - typed frames between homemx roles over SOCK_SEQPACKET pairs.
 *
 * Owns: the list of roles, the frame header, the payload builder and
 * cursor, and struct ipc_link (one end of one socketpair, driven by
 * libevent). Which roles are linked is not written here or anywhere else:
 * ipc_roles_linked() reads it off the message table (lib/ipc_msgs.h).
 * Why SEQPACKET: one frame is one datagram, so framing cannot desync and a
 * file descriptor travels in the same sendmsg() as the frame it belongs to.
 */
#ifndef HMX_IPC_H
#define HMX_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

/*
 * Every role, one row each: adding a role is one row here, one row in the
 * supervisor's role_specs[] and the message rows it sends and receives.
 * Which roles get a socketpair follows from the message table
 * (ipc_roles_linked), nowhere else.
 */
#define IPC_ROLE_TABLE \
	ROLE_ROW(SUPERVISOR,	"supervisor") \
	ROLE_ROW(SMTPD,		"smtpd") \
	ROLE_ROW(LOOKUP,	"lookup") \
	ROLE_ROW(QUEUE,		"queue") \
	ROLE_ROW(DELIVERY,	"delivery") \
	ROLE_ROW(SUBMISSION,	"submission")	/* 587/465 authenticated sessions */ \
	ROLE_ROW(DKIMSIGN,	"dkimsign")	/* the only holder of DKIM keys */ \
	ROLE_ROW(RELAY,		"relay")	/* outbound SMTP client */ \
	ROLE_ROW(SCREEN,	"screen")	/* inbound checks: DNS, scores, greylisting */

enum role {
#define ROLE_ROW(id, name) ROLE_##id,
	IPC_ROLE_TABLE
#undef ROLE_ROW
	ROLE_COUNT
};
_Static_assert(ROLE_SUPERVISOR == 0, "the supervisor is role 0");
_Static_assert(ROLE_COUNT <= 32, "role sets are 32-bit masks");

const char	*role_name(enum role);

#define R(x)		(1u << ROLE_##x)
#define R_ANYROLE	(((1u << ROLE_COUNT) - 1) & ~R(SUPERVISOR))

/* Encoded sizes, for the length columns of lib/ipc_msgs.h. */
#define IPC_SZ_U8		1
#define IPC_SZ_U16		2
#define IPC_SZ_U32		4
#define IPC_SZ_U64		8
#define IPC_SZ_STR(max)		(IPC_SZ_U16 + (max))	/* u16 length + bytes */

enum ipc_msg_type {
	MSG_NONE = 0,
#define X(name, senders, receivers, min, max, fd) name,
#include "ipc_msgs.h"
	IPC_MESSAGE_TABLE
#undef X
	MSG_TYPE_COUNT
};

const char	*ipc_msg_name(uint32_t type);

/* One row of the table, for tests, the fuzzer and the framing layer. */
struct ipc_msg_spec {
	const char	*name;
	uint32_t	 senders;	/* R(...) masks */
	uint32_t	 receivers;
	uint32_t	 min;
	uint32_t	 max;
	int		 fd;		/* 0 none, 1 required, 2 optional */
};

/* The row of type, or NULL for MSG_NONE and unknown types. */
const struct ipc_msg_spec	*ipc_msg_spec(uint32_t type);

/*
 * True if a and b get a socketpair: some message has one as a sender and
 * the other as a receiver. The supervisor links exactly these pairs and
 * every role's on_link accepts exactly these peers. The supervisor itself
 * is never a "peer" here: it talks to every role over its control link.
 */
bool		ipc_roles_linked(enum role a, enum role b);

#define IPC_HEADER_SIZE		16	/* u32 type, u32 len, u64 req_id */
#define IPC_MAX_PAYLOAD		65000
#define IPC_STR_MAX		65000

/* A received frame; payload points into the link's buffer until return. */
struct ipc_frame {
	uint32_t	 type;
	uint32_t	 len;
	uint64_t	 req_id;
	const uint8_t	*payload;
	int		 fd;	/* -1 if none; the handler owns it */
};

/* Payload builder: fixed buffer, overflow is sticky and fails the send. */
struct ipc_builder {
	uint8_t	buf[IPC_MAX_PAYLOAD];
	size_t	len;
	bool	overflow;
};

void	ipc_build_init(struct ipc_builder *);
void	ipc_put_u8(struct ipc_builder *, uint8_t);
void	ipc_put_u16(struct ipc_builder *, uint16_t);
void	ipc_put_u32(struct ipc_builder *, uint32_t);
void	ipc_put_u64(struct ipc_builder *, uint64_t);
void	ipc_put_str(struct ipc_builder *, const char *);	/* NUL-terminated */
void	ipc_put_bytes_str(struct ipc_builder *, const void *, size_t);

/* Cursor over a received payload; every take checks the remaining length. */
struct ipc_cursor {
	const uint8_t	*p;
	size_t		 left;
	const char	*why;	/* first failure reason, for the log */
};

void	ipc_cursor_init(struct ipc_cursor *, const struct ipc_frame *);
int	ipc_take_u8(struct ipc_cursor *, uint8_t *);
int	ipc_take_u16(struct ipc_cursor *, uint16_t *);
int	ipc_take_u32(struct ipc_cursor *, uint32_t *);
int	ipc_take_u64(struct ipc_cursor *, uint64_t *);
/* Copies a string into dst (dstsize incl. NUL); rejects embedded NUL and
 * strings that do not fit. */
int	ipc_take_str(struct ipc_cursor *, char *dst, size_t dstsize);
/* Like ipc_take_str but allocates (caller frees); for large texts. */
int	ipc_take_str_alloc(struct ipc_cursor *, char **dst, size_t maxlen);
int	ipc_take_end(struct ipc_cursor *);

/*
 * Checks a frame header against the message table for a link whose peer is
 * `peer` and whose owner is `self`. Returns 0 if acceptable, else -1 with
 * *why set. Pure function: the fuzzer and the unit tests call it directly.
 */
int	ipc_frame_check(enum role self, enum role peer, uint32_t type,
	    size_t len, bool has_fd, const char **why);

/* Parses one raw datagram (header + payload) into a frame (no fd). */
int	ipc_frame_parse(const uint8_t *buf, size_t n, struct ipc_frame *,
	    const char **why);

struct ipc_link;
typedef void (*ipc_frame_cb)(struct ipc_link *, struct ipc_frame *, void *arg);
/* Called once when the link is closed (peer gone or frame rejected). The
 * link is freed right after the callback returns. */
typedef void (*ipc_close_cb)(struct ipc_link *, void *arg);

struct ipc_link	*ipc_link_new(struct event_base *, int fd, enum role self,
		    enum role peer, ipc_frame_cb, ipc_close_cb, void *arg);
void		 ipc_link_free(struct ipc_link *);
enum role	 ipc_link_peer(const struct ipc_link *);
/*
 * Queues a frame. fd (or -1) is dup()ed: the caller keeps its own copy.
 * The frame is checked as its receiver will check it - the table row for
 * this link (sender, receiver, length, fd) and the type's decoder - and
 * refused with event=ipc_send_refused if it fails, so that a bug shows up
 * in the sender instead of as a restart of an innocent peer.
 * Returns -1 if refused, if the link is dead or the builder overflowed.
 */
int		 ipc_send(struct ipc_link *, uint32_t type, uint64_t req_id,
		    const struct ipc_builder *, int fd);
/*
 * Queues bytes as they are, WITHOUT any check: only for tests that play a
 * hostile peer. Roles always use ipc_send().
 */
int		 ipc_send_raw(struct ipc_link *, uint32_t type, uint64_t req_id,
		    const void *payload, size_t len, int fd);
/*
 * Sends one checked frame at once on a bare socket, without a link or a
 * queue (best effort, never blocks): a role's last words to the
 * supervisor before it exits, possibly before its control link exists.
 */
int		 ipc_send_now(int sock, enum role self, enum role peer,
		    uint32_t type, const struct ipc_builder *);
/*
 * Delivers every frame already waiting on the link to its callback, now.
 * The supervisor calls it when a role has exited, so that the role's last
 * frames are read before the link goes. The link may be closed (and its
 * close callback run) on the way.
 */
void		 ipc_link_drain(struct ipc_link *);
/*
 * Logs event=ipc_reject for a frame from this link's peer that failed a
 * check (the table's, or a decoder's), tells the reject hook, and closes
 * the link. Every role uses this for a bad frame, so a hostile peer is
 * always handled the same way.
 */
void		 ipc_link_reject(struct ipc_link *, uint32_t type, const char *why);
/* Called with the peer's role after each reject; role.c reports it to the
 * supervisor, which restarts that peer. */
void		 ipc_set_reject_hook(void (*)(enum role peer));

/* Frames waiting in the send queue (for tests and flow control). */
size_t		 ipc_link_pending(const struct ipc_link *);

#endif
