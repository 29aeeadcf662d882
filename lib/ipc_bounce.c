/*
 * lib/ipc_bounce.c - encoders and validating decoders of the bounce-tag
 * messages (lib/ipc_bounce.h has the layouts and the reason).
 *
 * Owns: the field checks. A decoder fills its output only through the
 * cursor, checks each field, and fails on trailing bytes.
 */
#include <string.h>

#include "addr.h"
#include "batv.h"
#include "ipc_bounce.h"

const char *
bounce_tag_result_name(enum bounce_tag_result r)
{
	switch (r) {
	case BOUNCE_TAG_VALID:		return "valid";
	case BOUNCE_TAG_BAD:		return "bad";
	case BOUNCE_TAG_EXPIRED:	return "expired";
	case BOUNCE_TAG_NO_KEY:		return "no_key";
	}
	return "?";
}

void
ipc_encode_tag_check(struct ipc_builder *b, const char *tagged_address)
{
	ipc_build_init(b);
	ipc_put_str(b, tagged_address);
}

int
ipc_decode_tag_check(const struct ipc_frame *f, char *address, size_t size,
    const char **why)
{
	struct ipc_cursor c;
	struct batv_tag t;
	struct mailaddr m;

	ipc_cursor_init(&c, f);
	(void)ipc_take_str(&c, address, size);
	if (ipc_take_end(&c) == -1) {
		*why = c.why;
		return -1;
	}
	if (addr_parse_mailbox(address, strlen(address), &m) != ADDR_OK ||
	    !batv_parse(address, &t)) {
		*why = "not a tagged address";
		return -1;
	}
	return 0;
}

void
ipc_encode_tag_checked(struct ipc_builder *b, enum bounce_tag_result r)
{
	ipc_build_init(b);
	ipc_put_u8(b, (uint8_t)r);
}

int
ipc_decode_tag_checked(const struct ipc_frame *f, enum bounce_tag_result *r,
    const char **why)
{
	struct ipc_cursor c;
	uint8_t v = 0;

	ipc_cursor_init(&c, f);
	(void)ipc_take_u8(&c, &v);
	if (ipc_take_end(&c) == -1) {
		*why = c.why;
		return -1;
	}
	if (v < BOUNCE_TAG_VALID || v > BOUNCE_TAG_RESULT_MAX) {
		*why = "bad tag result";
		return -1;
	}
	*r = (enum bounce_tag_result)v;
	return 0;
}
