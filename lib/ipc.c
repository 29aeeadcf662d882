/*
 * lib/ipc.c - framing, validation and non-blocking transport of IPC frames.
 *
 * Owns: the send queue of each link, the role names, and the rule that no
 * frame that fails the table in ipc_msgs.h crosses a link. It is checked
 * twice: ipc_send() refuses it (event=ipc_send_refused), so a bug shows up
 * in the process that has it; and the receiver drops it (event=ipc_reject)
 * and closes the link, so a hostile peer gets restarted by the supervisor.
 * The send check also runs the type's decoder: what we send is exactly what
 * the receiver accepts. Bytes are read with one recvmsg() per datagram into
 * a buffer of IPC_HEADER_SIZE + IPC_MAX_PAYLOAD; MSG_TRUNC means a lying peer.
 * Which roles are linked at all is read off the same table
 * (ipc_roles_linked), so the links cannot drift from the messages.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "ipc.h"
#include "ipc_decode.h"
#include "log.h"
#include "batv.h"		/* sizes of the bounce-tag rows */
#include "screen_facts.h"	/* sizes of the screen's rows */

static const struct ipc_msg_spec ipc_msg_table[MSG_TYPE_COUNT] = {
	[MSG_NONE] = { "MSG_NONE", 0, 0, 0, 0, 0 },
#define X(name, s, r, mn, mx, f) [name] = { #name, (s), (r), (mn), (mx), (f) },
	IPC_MESSAGE_TABLE
#undef X
};

/* Every row's worst case must fit one datagram, and its bounds be sane. */
#define X(name, s, r, mn, mx, f) \
	_Static_assert((mx) <= IPC_MAX_PAYLOAD, #name ": worst case over IPC_MAX_PAYLOAD"); \
	_Static_assert((mn) <= (mx), #name ": min above max"); \
	_Static_assert((f) >= 0 && (f) <= 2, #name ": fd column is 0, 1 or 2");
IPC_MESSAGE_TABLE
#undef X

static const char *role_names[ROLE_COUNT] = {
#define ROLE_ROW(id, name) [ROLE_##id] = name,
	IPC_ROLE_TABLE
#undef ROLE_ROW
};

const char *
role_name(enum role r)
{
	if ((unsigned)r >= ROLE_COUNT)
		return "unknown";
	return role_names[r];
}

const char *
ipc_msg_name(uint32_t type)
{
	if (type == MSG_NONE || type >= MSG_TYPE_COUNT)
		return "unknown";
	return ipc_msg_table[type].name;
}

const struct ipc_msg_spec *
ipc_msg_spec(uint32_t type)
{
	if (type == MSG_NONE || type >= MSG_TYPE_COUNT)
		return NULL;
	return &ipc_msg_table[type];
}

bool
ipc_roles_linked(enum role a, enum role b)
{
	if (a == b || a == ROLE_SUPERVISOR || b == ROLE_SUPERVISOR ||
	    (unsigned)a >= ROLE_COUNT || (unsigned)b >= ROLE_COUNT)
		return false;
	for (uint32_t t = MSG_NONE + 1; t < MSG_TYPE_COUNT; t++) {
		const struct ipc_msg_spec *m = &ipc_msg_table[t];
		if (((m->senders & (1u << a)) && (m->receivers & (1u << b))) ||
		    ((m->senders & (1u << b)) && (m->receivers & (1u << a))))
			return true;
	}
	return false;
}

/* ---- builder ---------------------------------------------------------- */

void
ipc_build_init(struct ipc_builder *b)
{
	b->len = 0;
	b->overflow = false;
}

static void
ipc_put(struct ipc_builder *b, const void *p, size_t n)
{
	if (b->overflow || n > sizeof(b->buf) - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

void
ipc_put_u8(struct ipc_builder *b, uint8_t v)
{
	ipc_put(b, &v, 1);
}

void
ipc_put_u16(struct ipc_builder *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	ipc_put(b, x, 2);
}

void
ipc_put_u32(struct ipc_builder *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };
	ipc_put(b, x, 4);
}

void
ipc_put_u64(struct ipc_builder *b, uint64_t v)
{
	ipc_put_u32(b, (uint32_t)(v >> 32));
	ipc_put_u32(b, (uint32_t)v);
}

void
ipc_put_bytes_str(struct ipc_builder *b, const void *s, size_t n)
{
	if (n > IPC_STR_MAX || n > UINT16_MAX) {
		b->overflow = true;
		return;
	}
	ipc_put_u16(b, (uint16_t)n);
	ipc_put(b, s, n);
}

void
ipc_put_str(struct ipc_builder *b, const char *s)
{
	ipc_put_bytes_str(b, s, strlen(s));
}

/* ---- cursor ----------------------------------------------------------- */

void
ipc_cursor_init(struct ipc_cursor *c, const struct ipc_frame *f)
{
	c->p = f->payload;
	c->left = f->len;
	c->why = NULL;
}

static int
ipc_take(struct ipc_cursor *c, void *dst, size_t n)
{
	if (c->why != NULL)
		return -1;
	if (n > c->left) {
		c->why = "short payload";
		return -1;
	}
	memcpy(dst, c->p, n);
	c->p += n;
	c->left -= n;
	return 0;
}

int
ipc_take_u8(struct ipc_cursor *c, uint8_t *v)
{
	return ipc_take(c, v, 1);
}

int
ipc_take_u16(struct ipc_cursor *c, uint16_t *v)
{
	uint8_t x[2];

	if (ipc_take(c, x, 2) == -1)
		return -1;
	*v = (uint16_t)((x[0] << 8) | x[1]);
	return 0;
}

int
ipc_take_u32(struct ipc_cursor *c, uint32_t *v)
{
	uint8_t x[4];

	if (ipc_take(c, x, 4) == -1)
		return -1;
	*v = ((uint32_t)x[0] << 24) | ((uint32_t)x[1] << 16) |
	    ((uint32_t)x[2] << 8) | x[3];
	return 0;
}

int
ipc_take_u64(struct ipc_cursor *c, uint64_t *v)
{
	uint32_t hi, lo;

	if (ipc_take_u32(c, &hi) == -1 || ipc_take_u32(c, &lo) == -1)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

static int
ipc_take_strlen(struct ipc_cursor *c, uint16_t *n)
{
	if (ipc_take_u16(c, n) == -1)
		return -1;
	if (*n > c->left) {
		c->why = "string longer than payload";
		return -1;
	}
	if (memchr(c->p, '\0', *n) != NULL) {
		c->why = "NUL inside string";
		return -1;
	}
	return 0;
}

int
ipc_take_str(struct ipc_cursor *c, char *dst, size_t dstsize)
{
	uint16_t n;

	if (ipc_take_strlen(c, &n) == -1)
		return -1;
	if ((size_t)n >= dstsize) {
		c->why = "string too long for field";
		return -1;
	}
	memcpy(dst, c->p, n);
	dst[n] = '\0';
	c->p += n;
	c->left -= n;
	return 0;
}

int
ipc_take_str_alloc(struct ipc_cursor *c, char **dst, size_t maxlen)
{
	uint16_t n;

	*dst = NULL;
	if (ipc_take_strlen(c, &n) == -1)
		return -1;
	if ((size_t)n > maxlen) {
		c->why = "string too long for field";
		return -1;
	}
	if ((*dst = malloc((size_t)n + 1)) == NULL) {
		c->why = "out of memory";
		return -1;
	}
	memcpy(*dst, c->p, n);
	(*dst)[n] = '\0';
	c->p += n;
	c->left -= n;
	return 0;
}

int
ipc_take_end(struct ipc_cursor *c)
{
	if (c->why != NULL)
		return -1;
	if (c->left != 0) {
		c->why = "trailing bytes";
		return -1;
	}
	return 0;
}

/* ---- validation --------------------------------------------------------- */

int
ipc_frame_check(enum role self, enum role peer, uint32_t type, size_t len,
    bool has_fd, const char **why)
{
	if (type == MSG_NONE || type >= MSG_TYPE_COUNT) {
		*why = "unknown type";
		return -1;
	}
	const struct ipc_msg_spec *row = &ipc_msg_table[type];
	if ((unsigned)peer >= ROLE_COUNT || !(row->senders & (1u << peer))) {
		*why = "sender not allowed";
		return -1;
	}
	if ((unsigned)self >= ROLE_COUNT || !(row->receivers & (1u << self))) {
		*why = "receiver not allowed";
		return -1;
	}
	if (len < row->min || len > row->max) {
		*why = "bad length";
		return -1;
	}
	if (row->fd == 0 && has_fd) {
		*why = "unexpected fd";
		return -1;
	}
	if (row->fd == 1 && !has_fd) {
		*why = "missing fd";
		return -1;
	}
	return 0;
}

static uint32_t
get_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

int
ipc_frame_parse(const uint8_t *buf, size_t n, struct ipc_frame *f,
    const char **why)
{
	if (n < IPC_HEADER_SIZE) {
		*why = "short header";
		return -1;
	}
	f->type = get_u32(buf);
	f->len = get_u32(buf + 4);
	f->req_id = ((uint64_t)get_u32(buf + 8) << 32) | get_u32(buf + 12);
	if ((size_t)f->len != n - IPC_HEADER_SIZE) {
		*why = "length field does not match datagram";
		return -1;
	}
	f->payload = buf + IPC_HEADER_SIZE;
	f->fd = -1;
	return 0;
}

/* ---- link --------------------------------------------------------------- */

struct ipc_out {
	TAILQ_ENTRY(ipc_out)	 entry;
	size_t			 len;
	int			 fd;
	uint8_t			 data[];
};

struct ipc_link {
	int			 fd;
	enum role		 self;
	enum role		 peer;
	struct event		*ev_read;
	struct event		*ev_write;
	ipc_frame_cb		 on_frame;
	ipc_close_cb		 on_close;
	void			*arg;
	TAILQ_HEAD(, ipc_out)	 outq;
	size_t			 npending;
	bool			 closing;
	bool			 peer_gone;	/* a send found the peer's end closed */
	bool			 in_callback;
	bool			 free_after_callback;
	uint8_t			*rbuf;
};

static void ipc_link_close(struct ipc_link *, const char *why);
static void (*reject_hook)(enum role);

void
ipc_set_reject_hook(void (*hook)(enum role))
{
	reject_hook = hook;
}

void
ipc_link_reject(struct ipc_link *l, uint32_t type, const char *why)
{
	enum role peer = l->peer;

	if (l->closing)
		return;
	log_event("ipc_reject", "peer=%s type=%s(%u) reason=\"%s\"",
	    role_name(peer), ipc_msg_name(type), type, why);
	ipc_link_close(l, why);
	if (reject_hook != NULL && peer != ROLE_SUPERVISOR)
		reject_hook(peer);
}

/* Reads one datagram; returns 1 on frame delivered, 0 on EAGAIN, -1 closed. */
static int
ipc_read_one(struct ipc_link *l)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 4)];
	} cmsgbuf;
	struct iovec iov = { l->rbuf, IPC_HEADER_SIZE + IPC_MAX_PAYLOAD };
	struct msghdr msg = { 0 };
	struct ipc_frame f;
	const char *why = NULL;
	int fd = -1, extra_fds = 0;

	ssize_t n = -1;
	/*
	 * A peer that exits with frames of ours unread leaves ECONNRESET on
	 * our socket (af_unix), and recvmsg reports it once, BEFORE the frames
	 * the peer sent us - a role's MSG_ROLE_FATAL, a last result. So on
	 * ECONNRESET read again: what is queued comes, then EOF.
	 */
	for (int tries = 0; tries < 2; tries++) {
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		msg.msg_flags = 0;
		n = recvmsg(l->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n != -1 || errno != ECONNRESET)
			break;
	}
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		ipc_link_close(l, "recvmsg failed");
		return -1;
	}
	if (n == 0) {
		ipc_link_close(l, "peer closed");
		return -1;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL;
	    c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd == -1)
				fd = got;
			else {
				close(got);
				extra_fds++;
			}
		}
	}
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		why = "truncated datagram";
	else if (extra_fds > 0)
		why = "more than one fd";
	else if (ipc_frame_parse(l->rbuf, (size_t)n, &f, &why) == 0)
		(void)ipc_frame_check(l->self, l->peer, f.type, f.len, fd != -1, &why);
	if (why != NULL) {
		if (fd != -1)
			close(fd);
		ipc_link_reject(l, n >= 4 ? (uint32_t)l->rbuf[3] |
		    ((uint32_t)l->rbuf[2] << 8) | ((uint32_t)l->rbuf[1] << 16) |
		    ((uint32_t)l->rbuf[0] << 24) : 0, why);
		return -1;
	}
	f.fd = fd;
	l->in_callback = true;
	l->on_frame(l, &f, l->arg);
	l->in_callback = false;
	explicit_bzero(l->rbuf, (size_t)n);	/* no password stays behind */
	if (l->free_after_callback) {
		ipc_link_free(l);
		return -1;
	}
	return l->closing ? -1 : 1;
}

static void
ipc_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_link *l = arg;

	(void)fd;
	(void)what;
	/* Bounded batch so one busy peer cannot starve the event loop. */
	for (int i = 0; i < 64; i++)
		if (ipc_read_one(l) != 1)
			return;
}

static int
ipc_flush(struct ipc_link *l)
{
	struct ipc_out *o;

	while ((o = TAILQ_FIRST(&l->outq)) != NULL) {
		union {
			struct cmsghdr	hdr;
			char		buf[CMSG_SPACE(sizeof(int))];
		} cmsgbuf;
		struct iovec iov = { o->data, o->len };
		struct msghdr msg = { 0 };

		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if (o->fd != -1) {
			memset(&cmsgbuf, 0, sizeof(cmsgbuf));
			msg.msg_control = cmsgbuf.buf;
			msg.msg_controllen = sizeof(cmsgbuf.buf);
			struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &o->fd, sizeof(int));
		}
		ssize_t n = sendmsg(l->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
			    errno == ENOBUFS) {
				event_add(l->ev_write, NULL);
				return 0;
			}
			return -1;
		}
		TAILQ_REMOVE(&l->outq, o, entry);
		l->npending--;
		if (o->fd != -1)
			close(o->fd);
		/* Frames may carry passwords (MSG_AUTH_ASK): wipe before free. */
		explicit_bzero(o->data, o->len);
		free(o);
	}
	return 0;
}

/*
 * A send failed. If the peer has exited (EPIPE, ECONNRESET), what it sent
 * before it went - a role's MSG_ROLE_FATAL, a last result - is still
 * queued on our end: the link stays open for reading, sends stop, and the
 * EOF after those frames closes it as for any peer that exits. A send to
 * a role that died while homemxd was still linking other roles to it must
 * not cost the role's last words. Any other failure closes at once.
 */
static void
ipc_send_failed(struct ipc_link *l)
{
	if (errno == EPIPE || errno == ECONNRESET) {
		l->peer_gone = true;
		event_del(l->ev_write);
		log_debug("ipc link to %s: peer gone, reading what it left",
		    role_name(l->peer));
		return;
	}
	ipc_link_close(l, "sendmsg failed");
}

static void
ipc_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_link *l = arg;

	(void)fd;
	(void)what;
	if (l->peer_gone)
		return;
	if (ipc_flush(l) == -1)
		ipc_send_failed(l);
}

struct ipc_link *
ipc_link_new(struct event_base *base, int fd, enum role self, enum role peer,
    ipc_frame_cb on_frame, ipc_close_cb on_close, void *arg)
{
	struct ipc_link *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal("ipc_link_new");
	if ((l->rbuf = malloc(IPC_HEADER_SIZE + IPC_MAX_PAYLOAD)) == NULL)
		fatal("ipc_link_new");
	l->fd = fd;
	l->self = self;
	l->peer = peer;
	l->on_frame = on_frame;
	l->on_close = on_close;
	l->arg = arg;
	TAILQ_INIT(&l->outq);
	int fl = fcntl(fd, F_GETFL);
	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		fatal("ipc_link_new: fcntl");
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	l->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, ipc_on_read, l);
	l->ev_write = event_new(base, fd, EV_WRITE, ipc_on_write, l);
	if (l->ev_read == NULL || l->ev_write == NULL)
		fatalx("ipc_link_new: event_new");
	event_add(l->ev_read, NULL);
	return l;
}

enum role
ipc_link_peer(const struct ipc_link *l)
{
	return l->peer;
}

size_t
ipc_link_pending(const struct ipc_link *l)
{
	return l->npending;
}

void
ipc_link_free(struct ipc_link *l)
{
	struct ipc_out *o;

	if (l == NULL)
		return;
	if (l->in_callback) {
		/* Freed from inside its own frame handler: finish after it. */
		l->free_after_callback = true;
		l->closing = true;
		event_del(l->ev_read);
		return;
	}
	while ((o = TAILQ_FIRST(&l->outq)) != NULL) {
		TAILQ_REMOVE(&l->outq, o, entry);
		if (o->fd != -1)
			close(o->fd);
		free(o);
	}
	event_free(l->ev_read);
	event_free(l->ev_write);
	close(l->fd);
	free(l->rbuf);
	free(l);
}

static void
ipc_link_close(struct ipc_link *l, const char *why)
{
	if (l->closing)
		return;
	l->closing = true;
	log_debug("ipc link to %s closed: %s", role_name(l->peer), why);
	event_del(l->ev_read);
	event_del(l->ev_write);
	bool was_in_callback = l->in_callback;
	l->in_callback = true;	/* on_close may call ipc_link_free */
	if (l->on_close != NULL)
		l->on_close(l, l->arg);
	l->in_callback = was_in_callback;
	if (!was_in_callback)
		ipc_link_free(l);
	else
		l->free_after_callback = true;
}

/* The 16-byte frame header, big-endian: u32 type, u32 len, u64 req_id. */
static void
ipc_put_header(uint8_t *h, uint32_t type, size_t len, uint64_t req_id)
{
	uint32_t words[4] = { type, (uint32_t)len, (uint32_t)(req_id >> 32),
	    (uint32_t)req_id };

	for (int i = 0; i < 4; i++) {
		h[i * 4] = (uint8_t)(words[i] >> 24);
		h[i * 4 + 1] = (uint8_t)(words[i] >> 16);
		h[i * 4 + 2] = (uint8_t)(words[i] >> 8);
		h[i * 4 + 3] = (uint8_t)words[i];
	}
}

int
ipc_send_raw(struct ipc_link *l, uint32_t type, uint64_t req_id,
    const void *payload, size_t len, int fd)
{
	struct ipc_out *o;

	if (l == NULL || l->closing || l->peer_gone)
		return -1;
	if (len > IPC_MAX_PAYLOAD)
		fatalx("ipc_send: payload of %zu bytes for %s", len, ipc_msg_name(type));
	if ((o = malloc(sizeof(*o) + IPC_HEADER_SIZE + len)) == NULL)
		fatal("ipc_send");
	ipc_put_header(o->data, type, len, req_id);
	if (len > 0)
		memcpy(o->data + IPC_HEADER_SIZE, payload, len);
	o->len = IPC_HEADER_SIZE + len;
	o->fd = -1;
	if (fd != -1 && (o->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) == -1) {
		free(o);
		log_warn("ipc_send: dup");
		return -1;
	}
	TAILQ_INSERT_TAIL(&l->outq, o, entry);
	l->npending++;
	if (l->npending == 1 && ipc_flush(l) == -1) {
		ipc_send_failed(l);
		return -1;
	}
	return 0;
}

/*
 * The receiver's checks, run by the sender: the table row for a frame from
 * self to peer, then the type's decoder. Logs and returns -1 on failure.
 */
static int
ipc_outgoing_check(enum role self, enum role peer, uint32_t type,
    const struct ipc_builder *b, int fd)
{
	struct ipc_frame f = { type, (uint32_t)b->len, 0, b->buf, fd };
	const char *why = "payload overflow";

	if (!b->overflow &&
	    ipc_frame_check(peer, self, type, b->len, fd != -1, &why) == 0 &&
	    ipc_decode_any(&f, &why) == 0)
		return 0;
	log_event("ipc_send_refused", "peer=%s type=%s(%u) len=%zu reason=\"%s\"",
	    role_name(peer), ipc_msg_name(type), type, b->len, why);
	return -1;
}

int
ipc_send(struct ipc_link *l, uint32_t type, uint64_t req_id,
    const struct ipc_builder *b, int fd)
{
	if (l == NULL || l->closing)
		return -1;
	if (ipc_outgoing_check(l->self, l->peer, type, b, fd) == -1)
		return -1;
	return ipc_send_raw(l, type, req_id, b->buf, b->len, fd);
}

int
ipc_send_now(int sock, enum role self, enum role peer, uint32_t type,
    const struct ipc_builder *b)
{
	uint8_t header[IPC_HEADER_SIZE];
	struct iovec iov[2] = {
		{ header, sizeof(header) },
		{ (void *)b->buf, b->len },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };

	if (ipc_outgoing_check(self, peer, type, b, -1) == -1)
		return -1;
	ipc_put_header(header, type, b->len, 0);
	return sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == -1 ? -1 : 0;
}

void
ipc_link_drain(struct ipc_link *l)
{
	if (l == NULL || l->closing)
		return;
	/* ipc_read_one returns 1 while the link lives and frames come. */
	while (ipc_read_one(l) == 1)
		continue;
}
