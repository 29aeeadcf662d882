// SOURCES: lib/batv.c lib/addr.c lib/addr_intl.c queue/bounce_tag.c lib/config.c lib/config_dest.c lib/config_screen.c lib/config_scan.c lib/hostport.c lib/util.c lib/log.c lib/utf8.c
// LIBS: -lidn2 -lsodium -lunistring
/*
 * tests/fuzz/fuzz_batv.c - the BATV tag parser (lib/batv.c) and the
 * queue's checker (queue/bounce_tag.c) on arbitrary bytes: the recipient
 * of every inbound RCPT goes through batv_parse, and every tagged one
 * through bounce_tag_verify. Checks: no crash or UB; a parsed tag leaves a
 * valid mailbox within the address bounds, its parts in range, and formats
 * back to an address that parses to the same tag; the checker never calls
 * a tag valid that the maker did not make (only the tag remade for the
 * same mailbox and day is valid), and what the maker makes checks valid.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "batv.h"
#include "../../queue/bounce_tag.h"

#define NOW	((time_t)1700000000)

static const uint8_t key[BOUNCE_KEY_BYTES] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };

static bool
all_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

static void
check_parsed(const char *in, const struct batv_tag *t)
{
	struct mailaddr m;
	struct batv_tag again;
	char out[ADDR_MAX + 1];

	if (t->key > 9 || t->day >= BATV_DAY_MOD || strlen(t->mailbox) > ADDR_MAX ||
	    addr_parse_mailbox(t->mailbox, strlen(t->mailbox), &m) != ADDR_OK)
		abort();
	/* Quotes may go; only a U-label domain may grow (to its A-label). */
	if (all_ascii(in) && strlen(t->mailbox) + BATV_OVERHEAD > strlen(in) + 2)
		abort();
	if (batv_format(t, out, sizeof(out)) == 0) {
		if (!batv_parse(out, &again) || memcmp(&again, t, sizeof(again)) != 0)
			abort();
	}
}

static void
check_verify(const char *in, const struct batv_tag *t)
{
	enum bounce_tag_result r = bounce_tag_verify(key, 0, in, NOW);
	char made[ADDR_MAX + 1];

	if (r < BOUNCE_TAG_VALID || r > BOUNCE_TAG_RESULT_MAX)
		abort();
	if (r == BOUNCE_TAG_VALID) {
		uint8_t sig[BATV_SIG_BYTES];
		bounce_tag_hash(key, t, sig);
		if (t->key != 0 || memcmp(sig, t->sig, sizeof(sig)) != 0 ||
		    !batv_day_is_fresh(t->day, NOW))
			abort();
	}
	if (bounce_tag_make(key, 0, t->mailbox, NOW, made, sizeof(made)) == 0 &&
	    bounce_tag_verify(key, 0, made, NOW) != BOUNCE_TAG_VALID)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[ADDR_MAX + 64];
	struct batv_tag t;

	if (size >= sizeof(in) || memchr(data, '\0', size) != NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (!batv_parse(in, &t)) {
		if (bounce_tag_verify(key, 0, in, NOW) != BOUNCE_TAG_BAD)
			abort();
		return 0;
	}
	check_parsed(in, &t);
	check_verify(in, &t);
	return 0;
}
