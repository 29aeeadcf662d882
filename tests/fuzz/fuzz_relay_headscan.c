// SOURCES: relay/headscan.c
// LIBS:
/*
 * tests/fuzz/fuzz_relay_headscan.c - the relay's scan of a message's header
 * section (relay/headscan.c), which decides whether a message flagged
 * SMTPUTF8 may go to a hop without it. The message comes from whoever
 * submitted it.
 *
 * Checks: no crash or UB; the answer is the same whole and split at any
 * point (the first byte picks the split); HEADSCAN_ASCII only if no byte
 * >= 0x80 comes before the first empty line (LF, or CR LF, after a line
 * end or at the start), checked here by a separate, simpler reading.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../relay/headscan.h"

static enum headscan_result
scan(const uint8_t *p, size_t len, size_t split)
{
	struct headscan h;

	headscan_init(&h);
	headscan_feed(&h, p, split);
	headscan_feed(&h, p + split, len - split);
	return headscan_finish(&h);
}

/* The length of the header section: up to the first line that holds
 * nothing but CRs. */
static size_t
header_section_len(const uint8_t *p, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (p[i] != '\n')
			continue;
		bool empty = true;
		for (size_t k = start; k < i; k++)
			if (p[k] != '\r')
				empty = false;
		if (empty)
			return i;
		start = i + 1;
	}
	return len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t split = data[0] % size;
	const uint8_t *p = data + 1;
	size_t len = size - 1;
	if (split > len)
		split = len;
	enum headscan_result whole = scan(p, len, 0), parts = scan(p, len, split);
	if (whole != parts || whole == HEADSCAN_MORE)
		abort();
	size_t hlen = header_section_len(p, len);
	bool eight = false;
	for (size_t i = 0; i < hlen; i++)
		if (p[i] >= 0x80)
			eight = true;
	if (len <= HEADSCAN_MAX && (whole == HEADSCAN_ASCII) == eight)
		abort();
	return 0;
}
