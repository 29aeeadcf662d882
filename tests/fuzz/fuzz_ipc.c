// SOURCES: lib/ipc.c lib/ipc_decode.c lib/addr.c lib/log.c
// LIBS: -levent -lidn2
/*
 * tests/fuzz/fuzz_ipc.c - the IPC framing check and every decoder.
 *
 * Input: byte 0 picks (receiver, sender) roles and whether an fd is
 * "attached"; the rest is one raw datagram (header + payload). A frame the
 * table accepts is handed to the decoder for its type, exactly as a role
 * would, so every decoder sees hostile payloads of legal length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_decode.h"

static void
decode(const struct ipc_frame *f)
{
	const char *why;

	switch (f->type) {
	case MSG_SUP_LINK: { struct msg_sup_link m; ipc_decode_sup_link(f, &m, &why); break; }
	case MSG_SUP_RELOAD: { char *t = NULL; if (ipc_decode_reload(f, &t, &why) == 0) free(t); break; }
	case MSG_RESOLVE_ASK: { struct msg_resolve_ask m; ipc_decode_resolve_ask(f, &m, &why); break; }
	case MSG_RESOLVE_ANSWER: { static struct msg_resolve_answer m; ipc_decode_resolve_answer(f, &m, &why); break; }
	case MSG_QUEUE_MSG_OPENED: { struct msg_queue_opened m; ipc_decode_queue_opened(f, &m, &why); break; }
	case MSG_SMTPD_MSG_COMMIT: {
		struct msg_commit m;
		if (ipc_decode_commit(f, &m, &why) == 0)
			msg_commit_free(&m);
		break;
	}
	case MSG_QUEUE_MSG_COMMITTED: { struct msg_committed m; ipc_decode_committed(f, &m, &why); break; }
	case MSG_SMTPD_MSG_ABORT: { struct msg_abort m; ipc_decode_abort(f, &m, &why); break; }
	case MSG_QUEUE_DELIVER: { struct msg_deliver m; ipc_decode_deliver(f, &m, &why); break; }
	case MSG_DELIVERY_RESULT: { struct msg_delivery_result m; ipc_decode_delivery_result(f, &m, &why); break; }
	default: break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_frame f;
	const char *why;

	if (size < 1)
		return 0;
	enum role self = (enum role)(data[0] % ROLE_COUNT);
	enum role peer = (enum role)((data[0] >> 3) % ROLE_COUNT);
	bool has_fd = (data[0] & 0x80) != 0;
	/* Copy so the decoder cannot read past what a datagram would hold. */
	uint8_t *buf = malloc(size - 1 + 1);
	memcpy(buf, data + 1, size - 1);
	if (ipc_frame_parse(buf, size - 1, &f, &why) == 0 &&
	    ipc_frame_check(self, peer, f.type, f.len, has_fd, &why) == 0) {
		f.fd = has_fd ? 0 : -1;	/* never closed by decoders */
		decode(&f);
	}
	free(buf);
	return 0;
}
