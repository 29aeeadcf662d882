/*
 * lib/ipc_msgs.h - every IPC message type, one row each.
 *
 * The framing layer (lib/ipc.c) drops a frame before any handler sees it if
 * its type is unknown, its sender role is not allowed for the link it came
 * in on, this process is not an allowed receiver, its payload length is
 * outside [min, max], or a file descriptor is missing/unexpected.
 * Payload layouts are written next to each row; strings are u16 length +
 * bytes (no NUL on the wire), integers are big-endian. Every type has one
 * decoder in lib/ipc_decode.c.
 *
 * FD column: 0 = no fd allowed, 1 = fd required, 2 = fd optional.
 */

/*  name                      senders                 receivers          min   max    fd */
#define IPC_MESSAGE_TABLE \
/* supervisor -> any role: "here is your end of the link to role R".  u8 peer_role */ \
X(MSG_SUP_LINK,               R(SUPERVISOR),          R_ANYROLE,          1,    1,     1) \
/* supervisor -> any role: new config text, already validated.  str text */ \
X(MSG_SUP_RELOAD,             R(SUPERVISOR),          R_ANYROLE,          2,    65000, 0) \
/* any role -> supervisor: "peer R sent a frame I rejected; I dropped the \
 * link" - the supervisor restarts R so that both get a fresh link. u8 peer */ \
X(MSG_ROLE_PEER_BAD,          R_ANYROLE,              R(SUPERVISOR),      1,    1,     0) \
/* who gets this address?  str address */ \
X(MSG_RESOLVE_ASK,            R(SMTPD)|R(DELIVERY)|R(SUBMISSION), R(LOOKUP), 3, 400, 0) \
/* u8 verdict (enum resolve_verdict), u8 n, n x str mailbox (user@domain) */ \
X(MSG_RESOLVE_ANSWER,         R(LOOKUP),              R(SMTPD)|R(DELIVERY)|R(SUBMISSION), 2, 8000, 0) \
/* smtpd asks queue for a new spool file to write the body into.  (empty) */ \
X(MSG_SMTPD_MSG_OPEN,         R(SMTPD)|R(SUBMISSION), R(QUEUE),           0,    0,     0) \
/* u8 status (enum queue_status), str msgid; fd = writable body file iff OK */ \
X(MSG_QUEUE_MSG_OPENED,       R(QUEUE),               R(SMTPD)|R(SUBMISSION), 3, 40,   2) \
/* str msgid, str sender, str helo, str client_ip, u8 source,             \
 * u16 nrcpt, nrcpt x str rcpt */ \
X(MSG_SMTPD_MSG_COMMIT,       R(SMTPD)|R(SUBMISSION), R(QUEUE),           12,   60000, 0) \
/* u8 status (enum queue_status), str msgid */ \
X(MSG_QUEUE_MSG_COMMITTED,    R(QUEUE),               R(SMTPD)|R(SUBMISSION), 3, 40,   0) \
/* str msgid: the transaction was abandoned, drop the spool file */ \
X(MSG_SMTPD_MSG_ABORT,        R(SMTPD)|R(SUBMISSION), R(QUEUE),           2,    40,    0) \
/* str msgid, str sender, str rcpt; fd = read-only body */ \
X(MSG_QUEUE_DELIVER,          R(QUEUE),               R(DELIVERY),        6,    800,   1) \
/* u8 result (enum delivery_result), str reason */ \
X(MSG_DELIVERY_RESULT,        R(DELIVERY),            R(QUEUE),           3,    600,   0) \
/* ---- issue 4: submission, DKIM signing, remote delivery ---------------- */ \
/* str user, str password, str client_ip: check a login (Argon2id in lookup) */ \
X(MSG_AUTH_ASK,               R(SUBMISSION),          R(LOOKUP),          6,    1300,  0) \
/* u8 result (enum auth_result) */ \
X(MSG_AUTH_ANSWER,            R(LOOKUP),              R(SUBMISSION),      1,    1,     0) \
/* str user (authenticated), str address: may user send as address? */ \
X(MSG_SENDER_ASK,             R(SUBMISSION),          R(LOOKUP),          4,    800,   0) \
/* u8 result (enum sender_result) */ \
X(MSG_SENDER_ANSWER,          R(LOOKUP),              R(SUBMISSION),      1,    1,     0) \
/* str domain (d=); fd = the whole message, read-only, from offset 0 */ \
X(MSG_SIGN_ASK,               R(SUBMISSION)|R(QUEUE), R(DKIMSIGN),        3,    300,   1) \
/* u8 status (enum sign_status), str header fields to prepend (CRLF-ended) */ \
X(MSG_SIGN_ANSWER,            R(DKIMSIGN),            R(SUBMISSION)|R(QUEUE), 3, 16000, 0) \
/* str msgid, str sender, u16 n, n x str rcpt (one domain); fd = body */ \
X(MSG_QUEUE_RELAY,            R(QUEUE),               R(RELAY),           9,    60000, 1) \
/* u16 n, n x (u8 result (enum delivery_result), str remote reply) in rcpt order */ \
X(MSG_RELAY_RESULT,           R(RELAY),               R(QUEUE),           2,    60000, 0) \
/* ---- the inbound screen (lib/ipc_screen.h has the layouts) ------------- */ \
/* facts of a session at connect/HELO/MAIL (start lookups early) or DATA   \
 * (the queue id, for `mxctl why`); never answered */ \
X(MSG_SCREEN_HINT,            R(SMTPD),               R(SCREEN),          IPC_SCREEN_FACTS_MIN, IPC_SCREEN_FACTS_MAX, 0) \
/* facts at RCPT: judge this recipient; answered by MSG_SCREEN_VERDICT */ \
X(MSG_SCREEN_ASK,             R(SMTPD),               R(SCREEN),          IPC_SCREEN_FACTS_MIN, IPC_SCREEN_FACTS_MAX, 0) \
/* u8 action, u8 reply, u32 score, str ref */ \
X(MSG_SCREEN_VERDICT,         R(SCREEN),              R(SMTPD),           IPC_SCREEN_VERDICT_MIN, IPC_SCREEN_VERDICT_MAX, 0)
