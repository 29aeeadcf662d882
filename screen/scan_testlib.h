/*
 * screen/scan_testlib.h - what the scanner parsers' unit tests share: a
 * reply fed byte by byte, as a scanner may split it, must be "more" until
 * it is whole and then give the same result as the whole reply at once;
 * and the checks every table of replies makes (verdict, reason, status).
 * Included by screen/scan_*_test.c only.
 */
#ifndef SCREEN_SCAN_TESTLIB_H
#define SCREEN_SCAN_TESTLIB_H

#include <string.h>

#include "scan_proto.h"

typedef enum scan_parse (*scan_parse_fn)(const uint8_t *, size_t, bool,
    struct scan_result *);

/*
 * Parses text (len bytes) whole with eof, and every shorter prefix without
 * eof: a prefix may only be "more", or the same verdict as the whole (a
 * reply complete before the scanner closes). Returns the whole's verdict.
 */
static inline enum scan_parse
scan_parse_split(scan_parse_fn parse, const char *text, size_t len,
    struct scan_result *r)
{
	struct scan_result tmp;
	enum scan_parse whole;

	memset(r, 0, sizeof(*r));
	whole = parse((const uint8_t *)text, len, true, r);
	for (size_t cut = 0; cut < len; cut++) {
		memset(&tmp, 0, sizeof(tmp));
		enum scan_parse got = parse((const uint8_t *)text, cut, false, &tmp);
		if (got != SCAN_PARSE_MORE && got != whole)
			fail_msg("prefix of %zu/%zu bytes: got %d, whole gives %d (%s)", cut,
			    len, got, whole, tmp.why);
	}
	return whole;
}

/*
 * Case i of a table: the parser gave got and r, the case wants the
 * verdict want, a reason containing why and, for a whole reply, status.
 * True if r is a whole reply, for the caller to check its own fields.
 */
static inline bool
scan_case_checked(size_t i, enum scan_parse got, const struct scan_result *r,
    enum scan_parse want, const char *why, enum scan_status status)
{
	if (got != want)
		fail_msg("case %zu: got %d (%s), want %d", i, got, r->why, want);
	if (strstr(r->why, why) == NULL)
		fail_msg("case %zu: why '%s', want '%s' in it", i, r->why, why);
	if (got != SCAN_PARSE_DONE)
		return false;
	if (r->status != status)
		fail_msg("case %zu: status %d, want %d", i, r->status, status);
	return true;
}

#endif
