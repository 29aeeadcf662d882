/*
 * lib/addr_intl.h - the internationalized parts of an address (RFC 6530,
 * RFC 6531 3.3): a UTF-8 local part in Unicode Normalization Form C, and a
 * domain turned from U-labels into A-labels (IDNA2008) and back.
 *
 * Owns: the one normalization homemx applies to non-ASCII addresses, so
 * that smtpd (MAIL/RCPT), mxctl (user/alias add) and every IPC decoder
 * agree byte for byte on the key "jürgen@example.org" whichever spelling
 * (NFC or NFD) the sender's software used; and the one case fold of a local
 * part into its lookup key (addr_local_fold), used by every place that makes
 * or compares a key: addr_normalize_input (mxctl, import, auth, config),
 * lookup's question (lookup/resolve.c) and the store's key check.
 */
#ifndef HMX_ADDR_INTL_H
#define HMX_ADDR_INTL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Copies len bytes of a local part into out in NFC. The input must be
 * well-formed UTF-8 without C0 or C1 control characters (RFC 6532 3.1
 * excludes neither, but no mailbox name needs them and a log line or a
 * Maildir path must never see them). Returns the output length, or -1 if
 * the input is not acceptable or the result does not fit in outsize - 1.
 */
int	addr_local_nfc(const char *in, size_t len, char *out, size_t outsize);

/*
 * The lookup key of a local part: NFC and lowercase (Unicode full
 * lowercase mapping, no language), so "JÜRGEN", "jürgen" and NFD
 * "JU\xcc\x88RGEN" meet on "jürgen" as "KIM" meets "kim". ASCII is
 * lowercased byte by byte, exactly as before. Same input rules and return
 * as addr_local_nfc(); the result may be longer than the input (U+0130
 * "İ" becomes "i" + U+0307), so the caller checks ADDR_LOCAL_MAX on the
 * result. Only keys are folded: a message keeps the spelling it came with.
 */
int	addr_local_fold(const char *in, size_t len, char *out, size_t outsize);

/* True if the NUL-terminated local part is its own fold (a valid key). */
bool	addr_local_is_folded(const char *local);

/*
 * The A-label form of a domain of len bytes (ASCII or U-labels), lowercase,
 * NUL-terminated in out. -1 if it is not a valid IDNA2008 name or does not
 * fit.
 */
int	addr_domain_alabel(const char *in, size_t len, char *out, size_t outsize);

/* The U-label (display) form of an A-label domain; a domain without
 * "xn--" labels, or one that does not convert, is copied as it is. */
void	addr_domain_ulabel(const char *alabel, char *out, size_t outsize);

#endif
