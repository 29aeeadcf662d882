/*
 * screen/authres.h - the Authentication-Results header field (RFC 8601):
 * the one we add to a received message, and the ones already in it that
 * claim to be ours and must go (RFC 8601 5).
 *
 * Owns: the text of our field (what is reported, how it is folded, which
 * characters from the message may appear in it) and the rule that finds
 * forged ones. It changes nothing itself: the caller (the end-of-DATA
 * stage) prepends the text and drops the byte ranges when it writes the
 * message that is delivered.
 */
#ifndef SCREEN_AUTHRES_H
#define SCREEN_AUTHRES_H

#include <stddef.h>

#include "score.h"
#include "screen_facts.h"

struct screen_message;

#define AUTHRES_LINE_SOFT	78	/* RFC 5322 2.1.1: SHOULD */
#define AUTHRES_LINE_HARD	998	/* RFC 5322 2.1.1: MUST */
#define AUTHRES_FIELD_MAX	16384	/* 8 signatures, 4 From domains, SPF */

/*
 * Writes the whole field, "Authentication-Results: <authserv_id>;" to the
 * final CRLF, into buf: spf (smtp.mailfrom, or smtp.helo for the null
 * sender) from the score's spf_* item, one dkim per signature (header.d,
 * header.s, header.a, header.b: RFC 6008) or dkim=none, one dmarc per
 * From domain (header.from), or "none" when nothing was checked. Lines
 * are folded before 78 columns where a token allows, and never exceed
 * 998. Values from the message are copied as tokens only when made of
 * letters, digits, '.', '-', '_' and '+'; anything else becomes a quoted
 * string of printable ASCII ('"' and '\' escaped, other bytes dropped).
 * Returns the length, or -1 if size is too small (nothing usable in buf).
 */
int	authres_format(const char *authserv_id, const struct screen_facts *,
	    const struct score *, char *buf, size_t size);

/* A byte range of the message: offset from its first byte, and length. */
struct authres_range {
	size_t	off;
	size_t	len;
};

/*
 * The Authentication-Results fields of m whose authserv-id is
 * authserv_id (ASCII case-insensitive, one trailing dot ignored): each
 * whole field, from its name through the CRLF of its last continuation
 * line. Fills out[] in message order, at most max; returns how many there
 * are (which may exceed max). Fields beyond the header index's limits
 * (screen/message.h) are not seen: check_headers scores such messages.
 */
size_t	authres_find_ours(const struct screen_message *, const char *authserv_id,
	    struct authres_range *out, size_t max);

#endif
