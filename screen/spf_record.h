/*
 * screen/spf_record.h - the SPF record grammar (RFC 7208 4.5, 4.6.1, 5, 6
 * and the ABNF of section 12): which TXT record is an SPF record, and the
 * terms of one, each checked completely before anything is evaluated.
 *
 * Owns: the term syntax (qualifiers, mechanism and modifier names, CIDR
 * lengths, IP networks, domain-specs through screen/spf_macro.h). Why a
 * cursor instead of a parsed array: a record may hold a thousand terms; the
 * evaluator checks the whole record once (RFC 7208 4.6: a syntax error
 * anywhere is a permerror) and then walks it again, so memory stays fixed
 * whatever the record holds. Terms point into the record text, which the
 * DNS view keeps alive for the evaluation.
 */
#ifndef SCREEN_SPF_RECORD_H
#define SCREEN_SPF_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum spf_term_kind {
	SPF_T_ALL = 1,
	SPF_T_INCLUDE,
	SPF_T_A,
	SPF_T_MX,
	SPF_T_PTR,
	SPF_T_IP4,
	SPF_T_IP6,
	SPF_T_EXISTS,
	SPF_T_REDIRECT,		/* modifiers from here on */
	SPF_T_EXP,
	SPF_T_UNKNOWN_MOD,	/* ignored (RFC 7208 6), but syntax-checked */
};

struct spf_term {
	enum spf_term_kind	kind;
	char		 qualifier;	/* '+', '-', '~', '?' */
	const char	*text;		/* the whole term, for the log */
	size_t		 textlen;
	const char	*spec;		/* domain-spec, or NULL: the current domain */
	size_t		 speclen;
	unsigned	 cidr4;		/* a, mx, ip4: prefix length (default 32) */
	unsigned	 cidr6;		/* a, mx, ip6: prefix length (default 128) */
	uint8_t		 net[16];	/* ip4 (4 bytes), ip6 (16 bytes) */
};

struct spf_cursor {
	const char	*p, *end;
};

/* True if txt[0..len) is an SPF record: "v=spf1" (any case) then a space
 * or its end (RFC 7208 4.5). */
bool	spf_record_is_spf(const char *txt, size_t len);

/* Starts a walk over the terms of an SPF record (after "v=spf1"). */
void	spf_cursor_init(struct spf_cursor *, const char *txt, size_t len);

/*
 * The next term: 1 with *t filled, 0 at the end, -1 on a syntax error
 * (*why says what, for the log; the cursor stays put).
 */
int	spf_term_next(struct spf_cursor *, struct spf_term *t, const char **why);

/* True for the terms that query the DNS (RFC 7208 4.6.4). */
bool	spf_term_counts(enum spf_term_kind);

#endif
