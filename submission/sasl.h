/*
 * submission/sasl.h - the client side of SMTP AUTH (RFC 4954) as pure parsers:
 * strict base64 (RFC 4648 section 4), the PLAIN message (RFC 4616) and the
 * two steps of LOGIN (draft-murchison-sasl-login).
 *
 * Owns: what a well-formed AUTH response is. No I/O and no session state:
 * the session, the unit tests and tests/fuzz/fuzz_auth.c all call the same
 * functions with (pointer, length). Credentials live in struct
 * sasl_credentials and are wiped with sasl_credentials_wipe().
 */
#ifndef SUBMISSION_SASL_H
#define SUBMISSION_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc_decode.h"	/* AUTH_USER_MAX, AUTH_PASSWORD_MAX */

/* RFC 4954 section 4: an AUTH command line or a response line may be up to
 * 12288 octets, because base64 grows the credentials by a third. */
#define SASL_LINE_MAX		12288
/* authzid NUL authcid NUL passwd, each bounded: RFC 4616 section 2 allows
 * 255 octets per field; we allow what the IPC contract can carry. */
#define SASL_PLAIN_MAX		(AUTH_USER_MAX + 1 + AUTH_USER_MAX + 1 + AUTH_PASSWORD_MAX)
#define SASL_DECODED_MAX	(SASL_PLAIN_MAX + 1)

/* Server challenges of LOGIN, already base64: "Username:", "Password:". */
#define SASL_LOGIN_USER_PROMPT	"VXNlcm5hbWU6"
#define SASL_LOGIN_PASS_PROMPT	"UGFzc3dvcmQ6"

enum sasl_mech {
	SASL_MECH_UNKNOWN = 0,
	SASL_MECH_PLAIN,
	SASL_MECH_LOGIN,
};

/* Every parse result; the session maps each to one reply. */
enum sasl_status {
	SASL_OK = 0,
	SASL_CANCELLED,		/* "*": 501 5.0.0 (RFC 4954 section 4) */
	SASL_BAD_BASE64,	/* 501 5.5.2 cannot decode */
	SASL_MALFORMED,		/* decodes, but is not a PLAIN message: 501 5.5.2 */
	SASL_TOO_LONG,		/* a field over its bound: counts as bad credentials */
	SASL_AUTHZID,		/* asks to act as someone else: not supported, 535 */
};

struct sasl_credentials {
	char	user[AUTH_USER_MAX + 1];	/* authcid, as sent (no NUL inside) */
	size_t	user_len;
	char	password[AUTH_PASSWORD_MAX + 1];
	size_t	password_len;
};

/* "PLAIN" / "login" (case-insensitive) -> mechanism. */
enum sasl_mech	 sasl_mech_parse(const char *name, size_t len);
const char	*sasl_mech_name(enum sasl_mech);

/*
 * Splits the AUTH argument "MECH [initial-response]" at the first space.
 * *ir is NULL when there is no initial response. Returns false for a
 * malformed argument (empty mechanism, more than one space-separated word
 * after it).
 */
bool	sasl_split_auth_arg(const char *arg, size_t len, const char **mech,
	    size_t *mechlen, const char **ir, size_t *irlen);

/*
 * Strict base64 (RFC 4648 section 4): alphabet A-Z a-z 0-9 + /, length a
 * multiple of 4, padding only at the end, no whitespace, and zero bits in
 * the unused part of the last quantum (one encoding per value). The empty
 * string decodes to nothing. Writes at most outsize bytes.
 */
enum sasl_status sasl_base64_decode(const char *in, size_t inlen,
		    uint8_t *out, size_t outsize, size_t *outlen);

/*
 * One client response line of len bytes: "*" cancels, "=" as an initial
 * response means an empty one (RFC 4954 section 4), anything else must be
 * base64 of at most outsize bytes.
 */
enum sasl_status sasl_decode_response(const char *line, size_t len,
		    bool is_initial, uint8_t *out, size_t outsize, size_t *outlen);

/* RFC 4616: [authzid] NUL authcid NUL passwd. An authzid other than the
 * authcid is SASL_AUTHZID. Empty authcid or passwd is SASL_MALFORMED. */
enum sasl_status sasl_parse_plain(const uint8_t *msg, size_t len,
		    struct sasl_credentials *out);

/* LOGIN steps: the decoded user name, then the decoded password. */
enum sasl_status sasl_login_user(const uint8_t *msg, size_t len,
		    struct sasl_credentials *out);
enum sasl_status sasl_login_password(const uint8_t *msg, size_t len,
		    struct sasl_credentials *out);

void	sasl_credentials_wipe(struct sasl_credentials *);

#endif
