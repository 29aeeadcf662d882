/*
 * screen/scan_proto.h - the three scanner protocols as pure functions: the
 * bytes sent before the message, and a parser for what comes back.
 *
 * Owns: the wire formats (screen/scan_rspamd.c, scan_spamd.c,
 * scan_clamd.c). Nothing here touches a socket: screen/scanner.c moves the
 * bytes. Why parsers that see the whole reply so far on every call: a
 * reply is small (SCAN_REPLY_MAX), a scanner may split it anywhere, and a
 * pure function of (bytes, eof) is what the unit tests and the fuzz target
 * (tests/fuzz/fuzz_scan_replies.c) can hold to account.
 */
#ifndef SCREEN_SCAN_PROTO_H
#define SCREEN_SCAN_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scanner.h"

#define SCAN_REPLY_MAX	65536	/* a reply this long is refused as garbage */

enum scan_parse {
	SCAN_PARSE_MORE = 0,	/* incomplete: read on (at eof this is never returned) */
	SCAN_PARSE_DONE,	/* r->status and its fields are set */
	SCAN_PARSE_BAD,		/* garbage: r->why says what */
};

/*
 * Request heads: written into buf (at most size bytes, never terminated);
 * return the length the whole head needs, which may exceed size (call
 * again with a bigger buffer then). body_len is what follows the head.
 */
size_t	scan_rspamd_head(const struct scan_envelope *, uint64_t body_len,
	    char *buf, size_t size);
size_t	scan_spamd_head(uint64_t body_len, char *buf, size_t size);
size_t	scan_clamd_head(char *buf, size_t size);

/*
 * Reply parsers: buf holds every byte read so far, eof says the scanner
 * closed its side. They fill r's status, why and findings, and never read
 * past len. r->kind is left alone.
 */
enum scan_parse	scan_rspamd_parse(const uint8_t *buf, size_t len, bool eof,
		    struct scan_result *r);
enum scan_parse	scan_spamd_parse(const uint8_t *buf, size_t len, bool eof,
		    struct scan_result *r);
enum scan_parse	scan_clamd_parse(const uint8_t *buf, size_t len, bool eof,
		    struct scan_result *r);

/* Shared helpers (screen/scan_text.c). A printable ASCII copy for logs:
 * other bytes become '?', always terminated. */
void	scan_copy_text(char *dst, size_t size, const uint8_t *src, size_t len);
/* "-3.5", "1000.0": an optional '-', digits, an optional fraction. Returns
 * the bytes taken (0: not a number, or |value| over SCAN_SCORE_LIMIT). */
size_t	scan_parse_decimal(const uint8_t *p, size_t len, double *out);
/* Appends a symbol name (letters, digits, '_', '.', '-'; others become
 * '?') to a comma-separated list; a full list ends in "...". */
void	scan_symbols_add(char *list, size_t size, const uint8_t *name, size_t len);

#endif
