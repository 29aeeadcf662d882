/*
 * lib/ipc_msgs.h - every IPC message type, one row each.
 *
 * The framing layer (lib/ipc.c) refuses a frame, on the sending side and
 * again on the receiving side, if its type is unknown, its sender role is
 * not allowed, the receiver is not allowed, its payload length is outside
 * [min, max], or a file descriptor is missing/unexpected.
 * Payload layouts are written next to each row; strings are u16 length +
 * bytes (no NUL on the wire), integers are big-endian. Every type has one
 * decoder in lib/ipc_decode.c, and ipc_decode_any() lists them all, so a
 * row without a decoder does not compile (-Wswitch).
 *
 * min and max are built from the field bounds of lib/ipc_decode.h with the
 * IPC_SZ_* sizes of lib/ipc.h: max is the encoder's worst case (every
 * string at its bound, every list full), so a legal message always fits;
 * lib/ipc.c checks at compile time that it also fits IPC_MAX_PAYLOAD.
 * Which roles get a socketpair follows from the sender/receiver columns
 * (ipc_roles_linked): a new row between two roles links them.
 *
 * FD column: 0 = no fd allowed, 1 = fd required, 2 = fd optional.
 */

/*  name                      senders                 receivers
 *                            min                     max                        fd */
#define IPC_MESSAGE_TABLE \
/* supervisor -> any role: "here is your end of the link to role R".  u8 peer_role */ \
X(MSG_SUP_LINK,               R(SUPERVISOR),          R_ANYROLE, \
                              IPC_SZ_U8,              IPC_SZ_U8,                 1) \
/* supervisor -> any role: new config text, already validated.  str text */ \
X(MSG_SUP_RELOAD,             R(SUPERVISOR),          R_ANYROLE, \
                              IPC_SZ_STR(0),          IPC_SZ_STR(CONFIG_TEXT_MAX), 0) \
/* supervisor -> smtpd, submission, after MSG_SUP_RELOAD: the certificate \
 * chains and keys (RSA, then ECDSA), read by root and checked \
 * (lib/tlspem.h). u32 npairs (1 or 2); fd = sealed memfd: the lengths of \
 * the files, then each pair's PEM chain and PEM key */ \
X(MSG_SUP_TLS,                R(SUPERVISOR),          R(SMTPD)|R(SUBMISSION), \
                              IPC_SZ_U32,             IPC_SZ_U32,                1) \
/* any role -> supervisor: "peer R sent a frame I rejected; I dropped the \
 * link" - the supervisor restarts R so that both get a fresh link. u8 peer */ \
X(MSG_ROLE_PEER_BAD,          R_ANYROLE,              R(SUPERVISOR), \
                              IPC_SZ_U8,              IPC_SZ_U8,                 0) \
/* any role -> supervisor: start-up is done (init ran, links can come); a \
 * role that dies before this failed to start.  (empty) */ \
X(MSG_ROLE_READY,             R_ANYROLE,              R(SUPERVISOR), \
                              0,                      0,                         0) \
/* any role -> supervisor: the text of the fatal error it is exiting on. \
 * str text (one text line) */ \
X(MSG_ROLE_FATAL,             R_ANYROLE,              R(SUPERVISOR), \
                              IPC_SZ_STR(1),          IPC_SZ_STR(IPC_FATAL_TEXT_MAX), 0) \
/* who gets this address?  str address */ \
X(MSG_RESOLVE_ASK,            R(SMTPD)|R(DELIVERY)|R(SUBMISSION), R(LOOKUP), \
                              IPC_SZ_STR(IPC_ADDR_MIN),   IPC_SZ_STR(ADDR_MAX),      0) \
/* u8 verdict (enum resolve_verdict), u8 n, n x str mailbox (user@domain) */ \
X(MSG_RESOLVE_ANSWER,         R(LOOKUP),              R(SMTPD)|R(DELIVERY)|R(SUBMISSION), \
                              2 * IPC_SZ_U8, \
                              2 * IPC_SZ_U8 + IPC_MAX_MAILBOXES * IPC_SZ_STR(ADDR_MAX), 0) \
/* smtpd asks queue for a new spool file to write the body into.  (empty) */ \
X(MSG_SMTPD_MSG_OPEN,         R(SMTPD)|R(SUBMISSION), R(QUEUE), \
                              0,                      0,                         0) \
/* u8 status (enum queue_status), str msgid; fd = writable body file iff OK */ \
X(MSG_QUEUE_MSG_OPENED,       R(QUEUE),               R(SMTPD)|R(SUBMISSION), \
                              IPC_SZ_U8 + IPC_SZ_STR(0), \
                              IPC_SZ_U8 + IPC_SZ_STR(QUEUE_ID_LEN),      2) \
/* str msgid, str sender, str helo, str client_ip, u8 source,             \
 * u16 nrcpt, nrcpt x str rcpt, str prepend (header fields to put first), \
 * u16 n, n x (u32 off, u32 len) body ranges to leave out (port 25: the \
 * screen's Authentication-Results; lib/screen_facts.h), u8 smtputf8 (0/1: \
 * MAIL had SMTPUTF8, RFC 6531) */ \
X(MSG_SMTPD_MSG_COMMIT,       R(SMTPD)|R(SUBMISSION), R(QUEUE), \
                              IPC_SZ_STR(QUEUE_ID_LEN) + 3 * IPC_SZ_STR(0) + IPC_SZ_U8 + \
                              IPC_SZ_U16 + IPC_SZ_STR(IPC_ADDR_MIN) + IPC_SZ_STR(0) + \
                              IPC_SZ_U16 + IPC_SZ_U8, \
                              IPC_SZ_STR(QUEUE_ID_LEN) + IPC_SZ_STR(ADDR_MAX) + \
                              IPC_SZ_STR(HELO_MAX) + IPC_SZ_STR(IP_TEXT_MAX - 1) + \
                              IPC_SZ_U8 + IPC_SZ_U16 + IPC_MAX_RCPTS * IPC_SZ_STR(ADDR_MAX) + \
                              IPC_SZ_STR(SCREEN_PREPEND_MAX) + IPC_STRIP_LIST_MAX + \
                              IPC_SZ_U8, 0) \
/* u8 status (enum queue_status), str msgid */ \
X(MSG_QUEUE_MSG_COMMITTED,    R(QUEUE),               R(SMTPD)|R(SUBMISSION), \
                              IPC_SZ_U8 + IPC_SZ_STR(QUEUE_ID_LEN), \
                              IPC_SZ_U8 + IPC_SZ_STR(QUEUE_ID_LEN),      0) \
/* str msgid: the transaction was abandoned, drop the spool file */ \
X(MSG_SMTPD_MSG_ABORT,        R(SMTPD)|R(SUBMISSION), R(QUEUE), \
                              IPC_SZ_STR(QUEUE_ID_LEN), IPC_SZ_STR(QUEUE_ID_LEN), 0) \
/* str msgid, str sender, str rcpt; fd = read-only body */ \
X(MSG_QUEUE_DELIVER,          R(QUEUE),               R(DELIVERY), \
                              IPC_SZ_STR(QUEUE_ID_LEN) + IPC_SZ_STR(0) + IPC_SZ_STR(IPC_ADDR_MIN), \
                              IPC_SZ_STR(QUEUE_ID_LEN) + 2 * IPC_SZ_STR(ADDR_MAX), 1) \
/* u8 result (enum delivery_result), str reason (one text line) */ \
X(MSG_DELIVERY_RESULT,        R(DELIVERY),            R(QUEUE), \
                              IPC_SZ_U8 + IPC_SZ_STR(0), \
                              IPC_SZ_U8 + IPC_SZ_STR(IPC_REASON_MAX),    0) \
/* ---- submission, DKIM signing, remote delivery ------------------------- */ \
/* str user, str password, str client_ip: check a login (Argon2id in lookup) */ \
X(MSG_AUTH_ASK,               R(SUBMISSION),          R(LOOKUP), \
                              IPC_SZ_STR(1) + 2 * IPC_SZ_STR(0), \
                              IPC_SZ_STR(AUTH_USER_MAX) + IPC_SZ_STR(AUTH_PASSWORD_MAX) + \
                              IPC_SZ_STR(IP_TEXT_MAX - 1),                 0) \
/* u8 result (enum auth_result) */ \
X(MSG_AUTH_ANSWER,            R(LOOKUP),              R(SUBMISSION), \
                              IPC_SZ_U8,              IPC_SZ_U8,                 0) \
/* str user (authenticated), str address: may user send as address? */ \
X(MSG_SENDER_ASK,             R(SUBMISSION),          R(LOOKUP), \
                              2 * IPC_SZ_STR(IPC_ADDR_MIN), \
                              IPC_SZ_STR(AUTH_USER_MAX) + IPC_SZ_STR(ADDR_MAX), 0) \
/* u8 result (enum sender_result) */ \
X(MSG_SENDER_ANSWER,          R(LOOKUP),              R(SUBMISSION), \
                              IPC_SZ_U8,              IPC_SZ_U8,                 0) \
/* str domain (d=); fd = the whole message, read-only, from offset 0 */ \
X(MSG_SIGN_ASK,               R(SUBMISSION)|R(QUEUE), R(DKIMSIGN), \
                              IPC_SZ_STR(1),          IPC_SZ_STR(ADDR_DOMAIN_MAX), 1) \
/* u8 status (enum sign_status), str header fields to prepend (a header \
 * block: CRLF-ended fields; empty unless OK) */ \
X(MSG_SIGN_ANSWER,            R(DKIMSIGN),            R(SUBMISSION)|R(QUEUE), \
                              IPC_SZ_U8 + IPC_SZ_STR(0), \
                              IPC_SZ_U8 + IPC_SZ_STR(SIGN_HEADERS_MAX),  0) \
/* str msgid, str sender, u16 n, n x str rcpt (one domain), u8 smtputf8 \
 * (0/1, RFC 6531); fd = body */ \
X(MSG_QUEUE_RELAY,            R(QUEUE),               R(RELAY), \
                              IPC_SZ_STR(QUEUE_ID_LEN) + IPC_SZ_STR(0) + IPC_SZ_U16 + \
                              IPC_SZ_STR(IPC_ADDR_MIN) + IPC_SZ_U8, \
                              IPC_SZ_STR(QUEUE_ID_LEN) + IPC_SZ_STR(ADDR_MAX) + IPC_SZ_U16 + \
                              IPC_MAX_RCPTS * IPC_SZ_STR(ADDR_MAX) + IPC_SZ_U8, 1) \
/* u16 n, n x (u8 result (enum delivery_result), str remote reply (one text \
 * line)) in rcpt order */ \
X(MSG_RELAY_RESULT,           R(RELAY),               R(QUEUE), \
                              IPC_SZ_U16 + IPC_SZ_U8 + IPC_SZ_STR(0), \
                              IPC_SZ_U16 + IPC_MAX_RCPTS * (IPC_SZ_U8 + IPC_SZ_STR(RELAY_REPLY_MAX)), 0) \
/* ---- the remembered IPv6->IPv4 fallback (relay/family.c, kept on disk \
 * by queue/family_store.c) ------------------------------------------------ */ \
/* "destination D learned family IPv4 until T": str name (an MX host or a \
 * recipient domain, lowercase), u64 until (unix seconds) */ \
X(MSG_RELAY_FAMILY_LEARNED,   R(RELAY),               R(QUEUE), \
                              IPC_SZ_STR(1) + IPC_SZ_U64, \
                              IPC_SZ_STR(ADDR_DOMAIN_MAX) + IPC_SZ_U64,    0) \
/* the remembered fallbacks, sent when the relay link comes up (several \
 * frames if needed): u16 n (1..FAMILY_PINS_PER_FRAME), n x (str name, \
 * u64 until) */ \
X(MSG_QUEUE_FAMILY_MEMORY,    R(QUEUE),               R(RELAY), \
                              IPC_SZ_U16 + IPC_SZ_STR(1) + IPC_SZ_U64, \
                              IPC_SZ_U16 + FAMILY_PINS_PER_FRAME * \
                              (IPC_SZ_STR(ADDR_DOMAIN_MAX) + IPC_SZ_U64),  0) \
/* ---- the inbound screen (lib/ipc_screen.h has the layouts) ------------- */ \
/* facts of a session at connect/HELO/MAIL (start lookups early) or DATA   \
 * (the queue id, for `mxctl why`); never answered */ \
X(MSG_SCREEN_HINT,            R(SMTPD),               R(SCREEN), \
                              IPC_SCREEN_FACTS_MIN, IPC_SCREEN_FACTS_MAX,  0) \
/* facts at RCPT: judge this recipient; answered by MSG_SCREEN_VERDICT */ \
X(MSG_SCREEN_ASK,             R(SMTPD),               R(SCREEN), \
                              IPC_SCREEN_FACTS_MIN, IPC_SCREEN_FACTS_MAX,  0) \
/* u8 action, u8 reply, u32 score, str ref */ \
X(MSG_SCREEN_VERDICT,         R(SCREEN),              R(SMTPD), \
                              IPC_SCREEN_VERDICT_MIN, IPC_SCREEN_VERDICT_MAX, 0) \
/* end of DATA, port 25: a read-only fd of the spool file, for the screen. \
 * str msgid (a body this queue opened for the link, not yet committed) */ \
X(MSG_SMTPD_MSG_READ,         R(SMTPD),               R(QUEUE), \
                              IPC_SZ_STR(QUEUE_ID_LEN), IPC_SZ_STR(QUEUE_ID_LEN), 0) \
/* u8 status (enum queue_status), str msgid; fd = read-only body iff OK */ \
X(MSG_QUEUE_MSG_READER,       R(QUEUE),               R(SMTPD), \
                              IPC_SZ_U8 + IPC_SZ_STR(0), \
                              IPC_SZ_U8 + IPC_SZ_STR(QUEUE_ID_LEN),      2) \
/* facts (stage MESSAGE, qid set), u16 n, n x str rcpt (every recipient); \
 * fd = the whole message, read-only */ \
X(MSG_SCREEN_MESSAGE_ASK,     R(SMTPD),               R(SCREEN), \
                              IPC_SCREEN_MESSAGE_ASK_MIN, IPC_SCREEN_MESSAGE_ASK_MAX, 1) \
/* a verdict, str prepend, u16 n, n x (u32 off, u32 len) */ \
X(MSG_SCREEN_MESSAGE_VERDICT, R(SCREEN),              R(SMTPD), \
                              IPC_SCREEN_MVERDICT_MIN, IPC_SCREEN_MVERDICT_MAX, 0) \
/* ---- BATV bounce tags (lib/ipc_bounce.h, queue/bounce_tag.h) ----------- */ \
/* is this tagged recipient one of ours?  str address (prvs=TAG=local@dom) */ \
X(MSG_SMTPD_TAG_CHECK,        R(SMTPD),               R(QUEUE), \
                              IPC_SZ_STR(BATV_OVERHEAD + IPC_ADDR_MIN), \
                              IPC_SZ_STR(ADDR_MAX),                      0) \
/* u8 result (enum bounce_tag_result) */ \
X(MSG_QUEUE_TAG_CHECKED,      R(QUEUE),               R(SMTPD), \
                              IPC_SZ_U8,              IPC_SZ_U8,                 0) \
/* ---- control: mxctl -> homemxd (the control socket; mxctl is checked in \
 * the supervisor's name) and homemxd -> the role that owns the state \
 * (lib/ipc_ctl.h has the layouts) ------------------------------------------ */ \
/* u8 verb, u8 n, n x str arg */ \
X(MSG_CTL_ASK,                R(SUPERVISOR),          R(SUPERVISOR)|R_ANYROLE, \
                              CTL_ASK_MIN,            CTL_ASK_MAX,               0) \
/* u8 status, str text, u16 nrec, records of named fields */ \
X(MSG_CTL_ANSWER,             R(SUPERVISOR)|R_ANYROLE, R(SUPERVISOR), \
                              CTL_ANSWER_MIN,         CTL_ANSWER_MAX,            0) \
/* ---- sendmail(8): local mail (submission/local.c) ---------------------- */ \
/* the login name of the uid the kernel gave for a local client \
 * (SO_PEERCRED); submission is chrooted and cannot read passwd. u32 uid */ \
X(MSG_LOCAL_USER_ASK,         R(SUBMISSION),          R(LOOKUP), \
                              IPC_SZ_U32,             IPC_SZ_U32,                0) \
/* u8 result (enum local_user_result), str login ("" unless FOUND) */ \
X(MSG_LOCAL_USER_ANSWER,      R(LOOKUP),              R(SUBMISSION), \
                              IPC_SZ_U8 + IPC_SZ_STR(0), \
                              IPC_SZ_U8 + IPC_SZ_STR(CONFIG_LOGIN_MAX),  0)
