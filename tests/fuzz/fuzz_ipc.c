// SOURCES: lib/ipc.c lib/ipc_decode.c lib/ipc_decode_send.c lib/ipc_ctl.c lib/ipc_text.c lib/addr.c lib/addr_intl.c lib/log.c lib/ipc_screen.c lib/ipc_bounce.c lib/batv.c lib/utf8.c
// LIBS: -levent -lidn2 -lunistring
/*
 * tests/fuzz/fuzz_ipc.c - the IPC framing check and every decoder, driven
 * by the message table.
 *
 * Input: byte 0 holds flags, the rest is one raw datagram (header +
 * payload).
 *	0x80	an fd is "attached"
 *	0x40	take the roles from the frame's own table row: bits 0-2 pick
 *		one of its receivers, bits 3-5 one of its senders, so the
 *		payload always reaches its decoder
 *	else	bits 0-2 are the receiver role, bits 3-5 the sender role
 * A frame the table accepts goes through ipc_decode_any(), which names
 * every type (no default): a new row is fuzzed with no change here. The
 * seed corpus, one valid frame of each type in each size that fits
 * -max_len, is written by `build/tests/lib/ipc_decode_test --write-corpus
 * tests/fuzz/corpus/fuzz_ipc`. On the side, the payload bytes go through
 * the text-line cleaner, whose output must always pass the checker.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_decode.h"
#include "ipc_text.h"

#define FLAG_FD			0x80
#define FLAG_TABLE_ROLES	0x40

/* The k-th (mod count) role in mask; ROLE_COUNT if the mask is empty. */
static enum role
nth_role(uint32_t mask, unsigned k)
{
	unsigned count = (unsigned)__builtin_popcount(mask);

	if (count == 0)
		return ROLE_COUNT;
	k %= count;
	for (int r = 0; r < ROLE_COUNT; r++)
		if ((mask & (1u << r)) && k-- == 0)
			return (enum role)r;
	return ROLE_COUNT;
}

static void
pick_roles(uint8_t flags, uint32_t type, enum role *self, enum role *peer)
{
	const struct ipc_msg_spec *spec = ipc_msg_spec(type);

	if ((flags & FLAG_TABLE_ROLES) && spec != NULL) {
		*self = nth_role(spec->receivers, flags & 7);
		*peer = nth_role(spec->senders, (flags >> 3) & 7);
		return;
	}
	*self = (enum role)((flags & 7) % ROLE_COUNT);
	*peer = (enum role)(((flags >> 3) & 7) % ROLE_COUNT);
}

static void
check_text_cleaner(const uint8_t *p, size_t n)
{
	char out[IPC_FATAL_TEXT_MAX + 1];
	size_t len = ipc_text_line_clean(out, sizeof(out), (const char *)p, n);

	if (len >= sizeof(out) || !ipc_text_line_is_valid(out, len))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_frame f;
	const char *why;
	enum role self, peer;

	if (size < 1)
		return 0;
	bool has_fd = (data[0] & FLAG_FD) != 0;
	/* Copy so the decoder cannot read past what a datagram would hold. */
	uint8_t *buf = malloc(size);
	memcpy(buf, data + 1, size - 1);
	if (ipc_frame_parse(buf, size - 1, &f, &why) == 0) {
		pick_roles(data[0], f.type, &self, &peer);
		if (ipc_frame_check(self, peer, f.type, f.len, has_fd, &why) == 0) {
			f.fd = has_fd ? 0 : -1;	/* never closed by decoders */
			(void)ipc_decode_any(&f, &why);
		}
		check_text_cleaner(f.payload, f.len);
	}
	free(buf);
	return 0;
}
