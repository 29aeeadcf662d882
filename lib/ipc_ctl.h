/*
 * lib/ipc_ctl.h - the control messages: what mxctl asks homemxd over the
 * control socket, what homemxd asks a role, and the answers (MSG_CTL_ASK,
 * MSG_CTL_ANSWER in lib/ipc_msgs.h).
 *
 * Owns: their payload layouts and validation, and the writer that splits a
 * long answer into frames:
 *	MSG_CTL_ASK	u8 verb (enum ctl_verb), u8 n (0..CTL_ARGS_MAX),
 *			n x str arg (a token: printable ASCII without space)
 *	MSG_CTL_ANSWER	u8 status (enum ctl_status), str text (a text line),
 *			u16 nrec, nrec x (u8 nfield (1..CTL_FIELDS_MAX),
 *			nfield x (str key [a-z0-9_]+, u8 kind, str value))
 *			kind 0: a text line; kind 1: a number (-?digits, an
 *			optional fraction), so mxctl can print JSON numbers
 * An answer is a list of records of named fields: mxctl prints them as
 * text or as JSON without knowing each command's shape, and no field can
 * carry a control byte into a terminal. A long answer is several frames:
 * every frame but the last has status CTL_MORE.
 * The same two rows serve both hops: mxctl -> homemxd on the control
 * socket, and homemxd -> role over the role's control link. On the
 * socket, mxctl speaks in the supervisor's name (both ends are checked as
 * supervisor frames): it is not a role and gets no link to any role.
 */
#ifndef HMX_IPC_CTL_H
#define HMX_IPC_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "ipc.h"

enum ctl_verb {
	CTL_STATUS = 1,		/* every role: its state (homemxd: processes) */
	CTL_METRICS,		/* every role: its counters */
	CTL_RELOAD,		/* homemxd: SIGHUP, answered */
	CTL_LOG_FOLLOW,		/* homemxd: stream log lines [filter value] */
	CTL_QUEUE_LIST,		/* queue: [deferred|held|to DOMAIN] */
	CTL_QUEUE_SHOW,		/* queue: ID */
	CTL_QUEUE_FLUSH,	/* queue: [ID|DOMAIN] */
	CTL_QUEUE_DELETE,	/* queue: ID */
	CTL_QUEUE_HOLD,		/* queue: ID */
	CTL_QUEUE_RELEASE,	/* queue: ID */
	CTL_QUEUE_BOUNCE,	/* queue: ID */
	CTL_VERB_MAX = CTL_QUEUE_BOUNCE
};

enum ctl_status {
	CTL_OK = 1,		/* done; the last frame */
	CTL_MORE,		/* more frames follow */
	CTL_NOT_FOUND,		/* no such message */
	CTL_REFUSED,		/* a bad request, or not in this state: nothing changed */
	CTL_BUSY,		/* being worked on now: try again */
	CTL_ROLE_DOWN,		/* the role that owns the state is not running */
	CTL_DENIED,		/* the client is not root or the admin group */
	CTL_FAILED,		/* tried and failed (disk): see text */
	CTL_STATUS_MAX = CTL_FAILED
};

enum ctl_kind { CTL_KIND_TEXT = 0, CTL_KIND_NUMBER = 1 };

#define CTL_ARGS_MAX		4
#define CTL_ARG_MAX		ADDR_MAX
#define CTL_TEXT_MAX		512
#define CTL_KEY_MAX		32
#define CTL_VALUE_MAX		512
#define CTL_FIELDS_MAX		12
/* Every record fits this, so a frame is cut before it would overflow. */
#define CTL_RECORD_WIRE_MAX	(IPC_SZ_U8 + CTL_FIELDS_MAX * (IPC_SZ_STR(CTL_KEY_MAX) + \
				    IPC_SZ_U8 + IPC_SZ_STR(CTL_VALUE_MAX)))
#define CTL_FRAME_FILL		(IPC_MAX_PAYLOAD - CTL_RECORD_WIRE_MAX - IPC_SZ_STR(CTL_TEXT_MAX) - 64)
/* The fewest bytes a record takes: one field, a 1-byte key, empty value. */
#define CTL_RECORD_WIRE_MIN	(IPC_SZ_U8 + IPC_SZ_STR(1) + IPC_SZ_U8 + IPC_SZ_STR(0))
#define CTL_RECORDS_MAX		(IPC_MAX_PAYLOAD / CTL_RECORD_WIRE_MIN)
#define CTL_FIELDS_TOTAL	CTL_RECORDS_MAX

#define CTL_ASK_MIN		(2 * IPC_SZ_U8)
#define CTL_ASK_MAX		(2 * IPC_SZ_U8 + CTL_ARGS_MAX * IPC_SZ_STR(CTL_ARG_MAX))
#define CTL_ANSWER_MIN		(IPC_SZ_U8 + IPC_SZ_STR(0) + IPC_SZ_U16)
#define CTL_ANSWER_MAX		IPC_MAX_PAYLOAD

struct msg_ctl_ask {
	enum ctl_verb	 verb;
	unsigned	 nargs;
	char		 arg[CTL_ARGS_MAX][CTL_ARG_MAX + 1];
};

struct ctl_field {
	const char	*key;		/* into the answer's arena */
	const char	*value;
	enum ctl_kind	 kind;
};

struct ctl_record {
	unsigned	 first;		/* index into field[] */
	unsigned	 n;
};

/* A decoded answer; large (about 200 KB): allocate it, never on the stack. */
struct msg_ctl_answer {
	enum ctl_status		 status;
	char			 text[CTL_TEXT_MAX + 1];
	unsigned		 nrec;
	struct ctl_record	 rec[CTL_RECORDS_MAX];
	unsigned		 nfield;
	struct ctl_field	 field[CTL_FIELDS_TOTAL];
	size_t			 used;
	char			 arena[IPC_MAX_PAYLOAD + CTL_FIELDS_TOTAL * 2];
};

const char	*ctl_verb_name(enum ctl_verb);
const char	*ctl_status_name(enum ctl_status);
/* True for a key of [a-z0-9_], 1..CTL_KEY_MAX bytes. */
bool		 ctl_key_is_valid(const char *s, size_t len);
/* True for -?[0-9]+(\.[0-9]+)? (a JSON and Prometheus number). */
bool		 ctl_number_is_valid(const char *s, size_t len);

void	ipc_encode_ctl_ask(struct ipc_builder *, enum ctl_verb, unsigned nargs,
	    const char *const *args);
int	ipc_decode_ctl_ask(const struct ipc_frame *, struct msg_ctl_ask *,
	    const char **why);
int	ipc_decode_ctl_answer(const struct ipc_frame *, struct msg_ctl_answer *,
	    const char **why);
/* The value of key in record r, or NULL. */
const char *ctl_record_get(const struct msg_ctl_answer *, unsigned r, const char *key);

/*
 * Builds an answer of any length: records go into the current frame, and
 * a full frame is handed to send() with status CTL_MORE before the next
 * record starts. Field texts that are not valid text lines are cleaned
 * ('?' for a bad byte, cut to CTL_VALUE_MAX), so what is sent always
 * decodes. ctl_writer_finish() sends the last frame.
 */
struct ctl_writer;
typedef void	ctl_send_fn(const struct ipc_builder *, void *arg);

struct ctl_writer {
	struct ipc_builder	 b;
	size_t			 nrec_off;
	unsigned		 nrec;
	size_t			 rec_off;	/* the current record's nfield byte */
	unsigned		 rec_nfield;
	bool			 in_rec;
	ctl_send_fn		*send;
	void			*arg;
	uint64_t		 req_id;	/* for the send function's use */
};

void	ctl_writer_init(struct ctl_writer *, ctl_send_fn *, void *arg);
void	ctl_rec_begin(struct ctl_writer *);
void	ctl_field_text(struct ctl_writer *, const char *key, const char *value);
void	ctl_field_u64(struct ctl_writer *, const char *key, uint64_t value);
/* A number already formatted (a float); anything invalid is sent as 0. */
void	ctl_field_number(struct ctl_writer *, const char *key, const char *value);
void	ctl_writer_finish(struct ctl_writer *, enum ctl_status, const char *text);

/* A whole answer without records (an error, or a bare OK). */
void	ipc_encode_ctl_answer_bare(struct ipc_builder *, enum ctl_status,
	    const char *text);

/*
 * The control socket: next to the store, in the parent of store_dir
 * (/var/lib/homemx/control by default), a directory every user can
 * enter and the service may write (the systemd unit's ReadWritePaths);
 * the socket itself is 0660 root:control_group (homemx.conf).
 */
int	ctl_socket_path(const struct config *, char *out, size_t size);

#endif
