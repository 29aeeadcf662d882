/*
 * lib/utf8.h - byte-level UTF-8 tests that addresses (lib/addr_intl.c),
 * the envelope, SMTP commands and DSNs (queue/dsn.c) share.
 *
 * Owns: nothing; pure functions over libunistring's u8_check (RFC 3629).
 * Why a file of its own: these few tests have no other dependency, so a
 * DSN builder or a fuzz target can use them without the address parser
 * and libidn2 that lib/addr_intl.c brings.
 */
#ifndef HMX_UTF8_H
#define HMX_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True if any of the len bytes is 0x80 or above. */
bool	utf8_has_8bit(const char *s, size_t len);
/* The same for a NUL-terminated string. */
bool	utf8_str_has_8bit(const char *s);

/*
 * Well-formed UTF-8 without C0 controls, DEL or C1 controls
 * (U+0080..U+009F); TAB and LF pass only if tab_and_lf. A log line, a
 * Maildir path or a header placed raw must never see the others.
 */
bool	utf8_is_clean(const uint8_t *s, size_t len, bool tab_and_lf);

#endif
