/*
 * submission/sasl.c - decoding of AUTH PLAIN and AUTH LOGIN responses.
 *
 * Owns: the base64 alphabet table and the field rules of RFC 4616. Why our
 * own strict decoder: the bytes are hostile, the output buffer is sized by
 * us (never by a length the client implies), and "one encoding per value"
 * keeps two different lines from meaning the same credentials in the log.
 * Every intermediate buffer that held a password is wiped by the caller
 * (sasl_credentials_wipe) or here (sodium_memzero).
 */
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "sasl.h"

#define B64_INVALID	0xffu

static uint8_t
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (uint8_t)(c - 'A');
	if (c >= 'a' && c <= 'z')
		return (uint8_t)(c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (uint8_t)(c - '0' + 52);
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return B64_INVALID;
}

enum sasl_mech
sasl_mech_parse(const char *name, size_t len)
{
	if (len == 5 && strncasecmp(name, "PLAIN", 5) == 0)
		return SASL_MECH_PLAIN;
	if (len == 5 && strncasecmp(name, "LOGIN", 5) == 0)
		return SASL_MECH_LOGIN;
	return SASL_MECH_UNKNOWN;
}

const char *
sasl_mech_name(enum sasl_mech m)
{
	switch (m) {
	case SASL_MECH_PLAIN:	return "PLAIN";
	case SASL_MECH_LOGIN:	return "LOGIN";
	case SASL_MECH_UNKNOWN:	break;
	}
	return "unknown";
}

bool
sasl_split_auth_arg(const char *arg, size_t len, const char **mech,
    size_t *mechlen, const char **ir, size_t *irlen)
{
	const char *sp = memchr(arg, ' ', len);

	*mech = arg;
	*ir = NULL;
	*irlen = 0;
	if (sp == NULL) {
		*mechlen = len;
		return len > 0;
	}
	*mechlen = (size_t)(sp - arg);
	*ir = sp + 1;
	*irlen = len - *mechlen - 1;
	/* exactly one word follows the mechanism */
	return *mechlen > 0 && *irlen > 0 && memchr(*ir, ' ', *irlen) == NULL;
}

/* Decodes one quantum of 4 characters (pad '=' allowed only if last). */
static enum sasl_status
b64_quantum(const char *q, bool last, uint8_t bytes[3], size_t *n)
{
	uint8_t v[4];
	size_t pad = 0;

	for (size_t i = 0; i < 4; i++) {
		if (q[i] == '=' && last && i >= 2) {
			pad++;
			v[i] = 0;
			continue;
		}
		if (pad > 0 || (v[i] = b64_value((unsigned char)q[i])) == B64_INVALID)
			return SASL_BAD_BASE64;
	}
	/* canonical: the bits a padded quantum does not use must be zero */
	if ((pad == 1 && (v[2] & 0x03) != 0) || (pad == 2 && (v[1] & 0x0f) != 0))
		return SASL_BAD_BASE64;
	bytes[0] = (uint8_t)(v[0] << 2 | v[1] >> 4);
	bytes[1] = (uint8_t)(v[1] << 4 | v[2] >> 2);
	bytes[2] = (uint8_t)(v[2] << 6 | v[3]);
	*n = 3 - pad;
	return SASL_OK;
}

enum sasl_status
sasl_base64_decode(const char *in, size_t inlen, uint8_t *out, size_t outsize,
    size_t *outlen)
{
	uint8_t bytes[3];
	size_t n, o = 0;
	enum sasl_status st = SASL_OK;

	*outlen = 0;
	if (inlen % 4 != 0)
		return SASL_BAD_BASE64;
	for (size_t i = 0; i < inlen; i += 4) {
		if ((st = b64_quantum(in + i, i + 4 == inlen, bytes, &n)) != SASL_OK)
			break;
		if (n > outsize - o) {
			st = SASL_TOO_LONG;
			break;
		}
		memcpy(out + o, bytes, n);
		o += n;
	}
	sodium_memzero(bytes, sizeof(bytes));
	if (st != SASL_OK) {
		sodium_memzero(out, o);
		return st;
	}
	*outlen = o;
	return SASL_OK;
}

enum sasl_status
sasl_decode_response(const char *line, size_t len, bool is_initial,
    uint8_t *out, size_t outsize, size_t *outlen)
{
	*outlen = 0;
	if (len == 1 && line[0] == '*')
		return SASL_CANCELLED;
	if (is_initial && len == 1 && line[0] == '=')
		return SASL_OK;
	return sasl_base64_decode(line, len, out, outsize, outlen);
}

/* Copies a field into a NUL-terminated buffer; it must be 1..size-1 bytes
 * without NUL. */
static enum sasl_status
take_field(const uint8_t *p, size_t len, char *dst, size_t size, size_t *dstlen)
{
	if (len == 0)
		return SASL_MALFORMED;
	if (memchr(p, '\0', len) != NULL)
		return SASL_MALFORMED;
	if (len > size - 1)
		return SASL_TOO_LONG;
	memcpy(dst, p, len);
	dst[len] = '\0';
	*dstlen = len;
	return SASL_OK;
}

enum sasl_status
sasl_parse_plain(const uint8_t *msg, size_t len, struct sasl_credentials *out)
{
	const uint8_t *nul1, *nul2;
	enum sasl_status st;

	memset(out, 0, sizeof(*out));
	if ((nul1 = memchr(msg, '\0', len)) == NULL)
		return SASL_MALFORMED;
	size_t zlen = (size_t)(nul1 - msg);
	const uint8_t *user = nul1 + 1;
	size_t rest = len - zlen - 1;
	if ((nul2 = memchr(user, '\0', rest)) == NULL)
		return SASL_MALFORMED;
	size_t ulen = (size_t)(nul2 - user);
	const uint8_t *pass = nul2 + 1;
	size_t plen = rest - ulen - 1;
	if ((st = take_field(user, ulen, out->user, sizeof(out->user),
	    &out->user_len)) != SASL_OK ||
	    (st = take_field(pass, plen, out->password, sizeof(out->password),
	    &out->password_len)) != SASL_OK) {
		sasl_credentials_wipe(out);
		return st;
	}
	/* We only authenticate as oneself: an authzid must name the authcid. */
	if (zlen > 0 && (zlen != ulen || memcmp(msg, user, ulen) != 0)) {
		sasl_credentials_wipe(out);
		return SASL_AUTHZID;
	}
	return SASL_OK;
}

enum sasl_status
sasl_login_user(const uint8_t *msg, size_t len, struct sasl_credentials *out)
{
	memset(out, 0, sizeof(*out));
	return take_field(msg, len, out->user, sizeof(out->user), &out->user_len);
}

enum sasl_status
sasl_login_password(const uint8_t *msg, size_t len, struct sasl_credentials *out)
{
	enum sasl_status st = take_field(msg, len, out->password,
	    sizeof(out->password), &out->password_len);

	if (st != SASL_OK)
		sodium_memzero(out->password, sizeof(out->password));
	return st;
}

void
sasl_credentials_wipe(struct sasl_credentials *c)
{
	sodium_memzero(c, sizeof(*c));
}
