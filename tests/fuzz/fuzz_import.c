// SOURCES: admin/import.c lib/addr.c lib/addr_intl.c lib/utf8.c
// LIBS: -lidn2 -lunistring
/*
 * tests/fuzz/fuzz_import.c - the `mxctl import` parser (admin/import.c) on
 * arbitrary bytes. It must accept or name a line; an accepted file must
 * give records whose names are already normalized (normalizing again
 * changes nothing), in increasing line order, within their bounds; a
 * refused file must leave no records behind.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../admin/import.h"

static void
check_address_is_normal(const char *a)
{
	char again[ADDR_MAX + 1];
	const char *why;

	if (addr_normalize_input(a, again, sizeof(again), &why) != ADDR_OK ||
	    strcmp(again, a) != 0)
		abort();
}

static void
check_record(const struct import_record *r, unsigned prev_line)
{
	char again[ADDR_DOMAIN_MAX + 1];
	const char *why;

	if (r->line <= prev_line)
		abort();
	switch (r->kind) {
	case IMPORT_DOMAIN:
		if (domain_normalize_input(r->name, again, sizeof(again), &why) == -1 ||
		    strcmp(again, r->name) != 0)
			abort();
		if (r->catchall[0] != '\0')
			check_address_is_normal(r->catchall);
		break;
	case IMPORT_USER:
		check_address_is_normal(r->name);
		if (r->hash[0] != '\0' && !import_hash_is_valid(r->hash))
			abort();
		break;
	case IMPORT_ALIAS:
		check_address_is_normal(r->name);
		if (r->ntargets == 0 || r->ntargets > IMPORT_TARGETS_MAX)
			abort();
		for (unsigned i = 0; i < r->ntargets; i++)
			check_address_is_normal(r->targets[i]);
		break;
	case IMPORT_BLOCK:
		check_address_is_normal(r->name);
		break;
	default:
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct import_set set;
	char err[IMPORT_ERR_MAX];
	unsigned line, lines = 1;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (import_parse((const char *)data, size, &set, &line, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < set.n; i++)
			check_record(&set.rec[i], i > 0 ? set.rec[i - 1].line : 0);
		import_free(&set);
		return 0;
	}
	if (set.n != 0 || set.rec != NULL || line > lines ||
	    memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
		abort();
	return 0;
}
