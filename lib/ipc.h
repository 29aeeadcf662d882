/*
 * lib/ipc.h - typed frames between homemx roles over SOCK_SEQPACKET pairs.
 *
 * Owns: the frame header, the role names, the payload builder and cursor,
 * and struct ipc_link (one end of one socketpair, driven by libevent).
 * Why SEQPACKET: one frame is one datagram, so framing cannot desync and a
 * file descriptor travels in the same sendmsg() as the frame it belongs to.
 */
#ifndef HMX_IPC_H
#define HMX_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

enum role {
	ROLE_SUPERVISOR = 0,
	ROLE_SMTPD,
	ROLE_LOOKUP,
	ROLE_QUEUE,
	ROLE_DELIVERY,
	ROLE_SUBMISSION,	/* 587/465 authenticated sessions */
	ROLE_DKIMSIGN,		/* the only holder of DKIM private keys */
	ROLE_RELAY,		/* outbound SMTP client (delivery's remote part) */
	ROLE_SCREEN,		/* inbound checks: DNS, scores, greylisting */
	ROLE_COUNT
};

const char	*role_name(enum role);

#define R(x)		(1u << ROLE_##x)
#define R_ANYROLE	(R(SMTPD) | R(LOOKUP) | R(QUEUE) | R(DELIVERY) | \
			 R(SUBMISSION) | R(DKIMSIGN) | R(RELAY) | R(SCREEN))

enum ipc_msg_type {
	MSG_NONE = 0,
#define X(name, senders, receivers, min, max, fd) name,
#include "ipc_msgs.h"
	IPC_MESSAGE_TABLE
#undef X
	MSG_TYPE_COUNT
};

const char	*ipc_msg_name(uint32_t type);

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
/* Queues a frame. fd (or -1) is dup()ed: the caller keeps its own copy.
 * Returns -1 if the link is dead or the builder overflowed. */
int		 ipc_send(struct ipc_link *, uint32_t type, uint64_t req_id,
		    const struct ipc_builder *, int fd);
int		 ipc_send_raw(struct ipc_link *, uint32_t type, uint64_t req_id,
		    const void *payload, size_t len, int fd);
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
