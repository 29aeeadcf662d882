/*
 * lib/batv.c - splitting and joining BATV tagged addresses (lib/batv.h has
 * the grammar and the reasons).
 *
 * Owns: nothing but the grammar. Every length is checked against the
 * address limits of lib/addr.h, so a parsed tag always leaves a mailbox
 * that fits the fields the rest of homemx uses.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "batv.h"

#define SECONDS_PER_DAY	86400

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* KDDDSSSSSS at p (exactly BATV_TAG_LEN bytes) into t. */
static bool
parse_tag_value(const char *p, struct batv_tag *t)
{
	for (int i = 0; i < 4; i++)
		if (!isdigit((unsigned char)p[i]))
			return false;
	t->key = (unsigned)(p[0] - '0');
	t->day = (unsigned)((p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0'));
	for (int i = 0; i < BATV_SIG_BYTES; i++) {
		int hi = hex_value(p[4 + 2 * i]), lo = hex_value(p[5 + 2 * i]);
		if (hi < 0 || lo < 0)
			return false;
		t->sig[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

bool
batv_parse(const char *address, struct batv_tag *out)
{
	size_t len = strnlen(address, ADDR_MAX + 1);
	const char *rest = address + BATV_OVERHEAD;
	struct mailaddr m;

	if (len > ADDR_MAX || len <= BATV_OVERHEAD ||
	    strncasecmp(address, BATV_PREFIX, BATV_PREFIX_LEN) != 0 ||
	    address[BATV_PREFIX_LEN + BATV_TAG_LEN] != '=')
		return false;
	memset(out, 0, sizeof(*out));
	if (!parse_tag_value(address + BATV_PREFIX_LEN, out))
		return false;
	/* what is left must be a mailbox of its own: "prvs=TAG=.kim@" is not */
	return addr_parse_mailbox(rest, len - BATV_OVERHEAD, &m) == ADDR_OK &&
	    addr_format(&m, out->mailbox, sizeof(out->mailbox)) == 0;
}

int
batv_format(const struct batv_tag *t, char *out, size_t outsize)
{
	const char *at = strrchr(t->mailbox, '@');
	int n;

	if (at == NULL || at == t->mailbox || t->mailbox[0] == '"' || t->key > 9 ||
	    t->day >= BATV_DAY_MOD ||
	    (size_t)(at - t->mailbox) + BATV_OVERHEAD > ADDR_LOCAL_MAX)
		return -1;
	n = snprintf(out, outsize, "%s%u%03u%02x%02x%02x=%s", BATV_PREFIX, t->key,
	    t->day, t->sig[0], t->sig[1], t->sig[2], t->mailbox);
	return n < 0 || (size_t)n >= outsize ? -1 : 0;
}

size_t
batv_signed_text(const struct batv_tag *t, char *out, size_t outsize)
{
	int n = snprintf(out, outsize, "%u%03u%s", t->key % 10, t->day % BATV_DAY_MOD,
	    t->mailbox);

	if (n < 0 || (size_t)n >= outsize)
		return 0;
	for (char *p = out; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return (size_t)n;
}

static unsigned
day_of(time_t now)
{
	return (unsigned)(((uint64_t)(now < 0 ? 0 : now) / SECONDS_PER_DAY) % BATV_DAY_MOD);
}

unsigned
batv_expiry_day(time_t now)
{
	return (day_of(now) + BATV_DAYS_VALID) % BATV_DAY_MOD;
}

bool
batv_day_is_fresh(unsigned day, time_t now)
{
	unsigned ahead = (day % BATV_DAY_MOD + BATV_DAY_MOD - day_of(now)) % BATV_DAY_MOD;

	return day < BATV_DAY_MOD && ahead <= BATV_DAYS_VALID;
}
