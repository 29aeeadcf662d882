// SOURCES: submission/headers.c smtpd/received.c lib/addr.c lib/addr_intl.c lib/utf8.c
// LIBS: -lidn2 -lunistring
/*
 * tests/fuzz/fuzz_auth_headers.c - what submission does with the header
 * section an authenticated client sends (submission/headers.c): the streaming
 * scanner fed in chunks whose sizes come from the input, the From:
 * address-list parser, and the check of dkimsign's fields. (Named
 * fuzz_auth_* because it belongs to the submission/AUTH work.)
 * Beyond "no crash": the scanner emits exactly the input bytes plus what
 * its end callback adds, in order; the end callback runs exactly once; an
 * accepted From: address is a valid mailbox that formats within bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../submission/headers.h"

#define OUT_MAX	(70000)

struct sink {
	uint8_t	out[OUT_MAX];
	size_t	len;
	int	ends;
	bool	overflow;
};

static struct sink k;

static void
emit(void *arg, const uint8_t *p, size_t n)
{
	struct sink *s = arg;

	if (n > sizeof(s->out) - s->len) {
		s->overflow = true;
		return;
	}
	memcpy(s->out + s->len, p, n);
	s->len += n;
}

/* Marks the spot with one byte the check below removes again. */
static void
end(void *arg, bool without_blank)
{
	struct sink *s = arg;

	s->ends++;
	emit(s, (const uint8_t *)(without_blank ? "\x01" : "\x02"), 1);
}

static void
check_from(const struct header_scan *hs)
{
	char addrs[FROM_ADDRS_MAX][ADDR_MAX + 1];
	struct mailaddr a;
	size_t n = 99;

	if (header_scan_from(hs, addrs, FROM_ADDRS_MAX, &n) != FROM_OK)
		return;
	if (n == 0 || n > FROM_ADDRS_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if (strlen(addrs[i]) > ADDR_MAX ||
		    addr_parse_mailbox(addrs[i], strlen(addrs[i]), &a) != ADDR_OK)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct header_scan hs;
	size_t chunk, off = 0;

	if (size < 1 || size > 60000)
		return 0;
	chunk = (size_t)data[0] % 64 + 1;
	data++;
	size--;
	memset(&k, 0, sizeof(k));
	header_scan_init(&hs, emit, end, &k);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		header_scan_feed(&hs, data + off, n);
		off += n;
	}
	header_scan_finish(&hs);
	if (k.ends != 1 || k.overflow || k.len != size + 1)
		abort();
	/* the output is the input with one marker inserted */
	size_t at = 0;
	while (at < size && k.out[at] == data[at])
		at++;
	if ((k.out[at] != 1 && k.out[at] != 2) ||
	    memcmp(k.out + at + 1, data + at, size - at) != 0)
		abort();
	check_from(&hs);
	(void)header_fields_are_valid((const char *)data, size);
	return 0;
}
