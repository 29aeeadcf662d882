// SOURCES: lib/addr.c lib/addr_intl.c lib/utf8.c
// LIBS: -lidn2 -lunistring
/*
 * tests/fuzz/fuzz_address.c - the address grammar (lib/addr.c) on
 * arbitrary bytes: addr_parse_path (with and without the null path),
 * addr_parse_mailbox, and the admin-side addr_normalize_input. An accepted
 * address must stay within its RFC 5321 bounds; a normalized address must
 * be a valid mailbox and normalize to itself. UTF-8 (RFC 6531): an accepted
 * address is a fixed point - its text (NFC local part, A-label domain)
 * parses again to the same text, with no U-label left, and to the same
 * "needs SMTPUTF8" answer for the local part. Folding (lib/addr_intl.h):
 * addr_local_fold on any bytes stays inside its buffer, is a fixed point
 * (a key folds to itself) and agrees with addr_local_is_folded; every
 * local part addr_normalize_input gives back is such a key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "addr_intl.h"

static void
check_bounds(const struct mailaddr *a)
{
	char text[ADDR_MAX + 1];

	if (strlen(a->local) > ADDR_LOCAL_MAX + 2 || strlen(a->domain) > ADDR_DOMAIN_MAX)
		abort();
	if (addr_format(a, text, sizeof(text)) == -1)
		abort();
	if (a->is_literal)
		return;
	char again[ADDR_MAX + 1];
	struct mailaddr b;
	if (addr_parse_mailbox(text, strlen(text), &b) != ADDR_OK ||
	    addr_format(&b, again, sizeof(again)) == -1 || strcmp(text, again) != 0 ||
	    b.u_label || b.utf8_local != a->utf8_local)
		abort();
}

/* The lookup key of a local part (any bytes; as lookup/resolve.c gets
 * them from smtpd, and mxctl from the admin). */
static void
fuzz_fold(const uint8_t *data, size_t size)
{
	char key[4 * (ADDR_LOCAL_MAX + 3)], again[sizeof(key)];
	const char *s = (const char *)data;
	int n, m;

	if (size > ADDR_LOCAL_MAX + 2)
		size = ADDR_LOCAL_MAX + 2;
	n = addr_local_fold(s, size, key, sizeof(key));
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(key) || key[n] != '\0' || strlen(key) != (size_t)n)
		abort();
	m = addr_local_fold(key, (size_t)n, again, sizeof(again));
	if (m != n || memcmp(key, again, (size_t)n) != 0 || !addr_local_is_folded(key))
		abort();
	/* a smaller buffer refuses, never truncates */
	if (n > 0 && addr_local_fold(s, size, again, (size_t)n) != -1)
		abort();
}

static void
fuzz_normalize(const uint8_t *data, size_t size)
{
	char in[1024], out[ADDR_MAX + 1], again[ADDR_MAX + 1];
	struct mailaddr m;
	const char *why;

	if (size >= sizeof(in) || memchr(data, '\0', size) != NULL)
		return;
	memcpy(in, data, size);
	in[size] = '\0';
	if (addr_normalize_input(in, out, sizeof(out), &why) != ADDR_OK)
		return;
	if (addr_parse_mailbox(out, strlen(out), &m) != ADDR_OK ||
	    !addr_local_is_folded(m.local) || strlen(m.local) > ADDR_LOCAL_MAX)
		abort();
	if (addr_normalize_input(out, again, sizeof(again), &why) != ADDR_OK ||
	    strcmp(out, again) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct mailaddr a;
	bool is_null;
	size_t consumed;

	for (int allow_null = 0; allow_null < 2; allow_null++) {
		if (addr_parse_path(s, size, allow_null, &a, &is_null, &consumed) == ADDR_OK) {
			if (consumed > size || consumed < 2 || s[consumed - 1] != '>')
				abort();
			if (is_null && !allow_null)
				abort();
			if (!is_null)
				check_bounds(&a);
		}
	}
	if (addr_parse_mailbox(s, size, &a) == ADDR_OK)
		check_bounds(&a);
	fuzz_normalize(data, size);
	fuzz_fold(data, size);
	return 0;
}
