// SOURCES: lib/ipc.c lib/ipc_decode.c lib/ipc_decode_send.c lib/ipc_ctl.c lib/addr.c lib/addr_intl.c lib/log.c lib/util.c queue/family_store.c lib/ipc_screen.c lib/ipc_text.c lib/ipc_bounce.c lib/batv.c lib/utf8.c
// LIBS: -levent -lidn2 -lunistring
/*
 * tests/fuzz/fuzz_family.c - the remembered IPv6->IPv4 fallbacks on their
 * way from the relay to the queue's disk and back: the two decoders
 * (MSG_RELAY_FAMILY_LEARNED, MSG_QUEUE_FAMILY_MEMORY, lib/ipc_decode.c lib/ipc_decode_send.c)
 * and the file parser of spool_dir/state/family (queue/family_store.c).
 *
 * Input: byte 0 picks the target; the rest is the payload or the file.
 * Checks: no crash or UB; whatever a decoder accepts is a valid lowercase
 * domain name with a sane until, 1..FAMILY_PINS_PER_FRAME pins; whatever
 * the parser accepts is bounded, unexpired, cut to max_age, and survives
 * format -> parse unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_decode.h"
#include "../../queue/family_store.h"

#define NOW	1700000000ULL
#define MAX_AGE	86400U

static void
check_pin(const struct family_pin *p)
{
	if (!family_name_is_valid(p->name) || p->until == 0 || p->until >= FAMILY_UNTIL_MAX)
		abort();
}

static void
fuzz_decoders(const uint8_t *data, size_t size, uint32_t type)
{
	struct ipc_frame f = { type, (uint32_t)size, 1, data, -1 };
	const char *why;

	if (type == MSG_RELAY_FAMILY_LEARNED) {
		struct family_pin p;
		if (ipc_decode_family_learned(&f, &p, &why) == 0)
			check_pin(&p);
		return;
	}
	struct msg_family_memory m;
	if (ipc_decode_family_memory(&f, &m, &why) == 0) {
		if (m.n == 0 || m.n > FAMILY_PINS_PER_FRAME || m.pins == NULL)
			abort();
		for (unsigned i = 0; i < m.n; i++)
			check_pin(&m.pins[i]);
		msg_family_memory_free(&m);
	} else if (m.pins != NULL)
		abort();
}

static void
fuzz_file(const char *text, size_t len, size_t max)
{
	static struct family_pin pins[FAMILY_STORE_MAX], again[FAMILY_STORE_MAX];
	static char buf[FAMILY_FILE_MAX];
	int n = family_store_parse(text, len, NOW, MAX_AGE, pins, max);

	if (n < -1 || n > (int)max)
		abort();
	if (n <= 0)
		return;
	for (int i = 0; i < n; i++) {
		check_pin(&pins[i]);
		if (pins[i].until <= NOW || pins[i].until > NOW + MAX_AGE)
			abort();
		for (int k = 0; k < i; k++)
			if (strcmp(pins[i].name, pins[k].name) == 0)
				abort();
	}
	size_t flen = family_store_format(pins, (size_t)n, buf, sizeof(buf));
	if (flen == 0 || family_store_parse(buf, flen, NOW, MAX_AGE, again, max) != n)
		abort();
	for (int i = 0; i < n; i++)
		if (strcmp(pins[i].name, again[i].name) != 0 || pins[i].until != again[i].until)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fuzz_decoders(data + 1, size - 1, MSG_RELAY_FAMILY_LEARNED);
		break;
	case 1:
		fuzz_decoders(data + 1, size - 1, MSG_QUEUE_FAMILY_MEMORY);
		break;
	case 2:
		fuzz_file((const char *)data + 1, size - 1, FAMILY_STORE_MAX);
		break;
	default:
		fuzz_file((const char *)data + 1, size - 1, 3);	/* eviction */
		break;
	}
	return 0;
}
