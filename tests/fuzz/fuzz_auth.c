// SOURCES: submission/sasl.c
// LIBS: -lsodium
/*
 * tests/fuzz/fuzz_auth.c - the AUTH decoders (submission/sasl.c) on arbitrary
 * bytes: the AUTH argument split, the response decoder (initial and not),
 * then the PLAIN and LOGIN parsers on what it decoded, and the PLAIN
 * parser on the raw input too. Beyond "no crash": base64 that decodes must
 * be the one canonical encoding of its bytes (libsodium re-encodes it and
 * must give the input back), and accepted credentials respect the IPC
 * bounds and contain no NUL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../../submission/sasl.h"

static void
check_credentials(const struct sasl_credentials *c)
{
	if (c->user_len == 0 || c->user_len > AUTH_USER_MAX ||
	    strlen(c->user) != c->user_len)
		abort();
	if (c->password_len > AUTH_PASSWORD_MAX || strlen(c->password) != c->password_len)
		abort();
}

static void
check_canonical(const char *in, size_t inlen, const uint8_t *out, size_t outlen)
{
	char again[SASL_LINE_MAX + 8];

	if (outlen > (inlen / 4) * 3)
		abort();
	if (sodium_base64_encoded_len(outlen, sodium_base64_VARIANT_ORIGINAL) > sizeof(again))
		return;
	sodium_bin2base64(again, sizeof(again), out, outlen, sodium_base64_VARIANT_ORIGINAL);
	if (strlen(again) != inlen || memcmp(again, in, inlen) != 0)
		abort();
}

static void
run_mechanisms(const uint8_t *buf, size_t n)
{
	struct sasl_credentials c;

	if (sasl_parse_plain(buf, n, &c) == SASL_OK)
		check_credentials(&c);
	sasl_credentials_wipe(&c);
	if (sasl_login_user(buf, n, &c) == SASL_OK &&
	    sasl_login_password(buf, n, &c) == SASL_OK) {
		if (c.password_len == 0)
			abort();	/* LOGIN passwords are never empty */
		check_credentials(&c);
	}
	sasl_credentials_wipe(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[SASL_DECODED_MAX];
	const char *in = (const char *)data, *mech, *ir;
	size_t n, mechlen, irlen;

	if (size > SASL_LINE_MAX)
		return 0;
	if (sasl_split_auth_arg(in, size, &mech, &mechlen, &ir, &irlen)) {
		if (mechlen == 0 || mech + mechlen > in + size)
			abort();
		(void)sasl_mech_parse(mech, mechlen);
		if (ir != NULL && (ir < in || ir + irlen > in + size || irlen == 0))
			abort();
	}
	for (int initial = 0; initial <= 1; initial++) {
		enum sasl_status st = sasl_decode_response(in, size, initial, out,
		    sizeof(out), &n);
		if (st != SASL_OK) {
			if (n != 0)
				abort();
			continue;
		}
		if (n > sizeof(out))
			abort();
		if (!(initial && size == 1 && in[0] == '='))
			check_canonical(in, size, out, n);
		run_mechanisms(out, n);
	}
	run_mechanisms(data, size);
	return 0;
}
