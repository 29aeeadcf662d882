/*
 * screen/spf_macro.h - RFC 7208 section 7 macros: their syntax, and their
 * expansion from a fixed set of values.
 *
 * Owns: the macro grammar (macro-string, domain-spec, explain-string) and
 * the transformers (digits, reversal, delimiters, URL escaping of upper-
 * case letters). Why separate from the evaluator: expansion is a pure
 * function of its values; the evaluator (screen/spf.c) computes the one
 * value that needs DNS (%{p}) before it expands, so this file never sees
 * the view and the fuzzer can drive it directly.
 */
#ifndef SCREEN_SPF_MACRO_H
#define SCREEN_SPF_MACRO_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "dnsview.h"

#define SPF_EXPAND_MAX	2048	/* one expansion before domain truncation */

/* What a macro-string is used as: the letters and the end it may have. */
enum spf_macro_kind {
	SPF_MACRO_DOMAIN,	/* domain-spec: no c, r, t; ends in a macro or
				 * "." toplabel ["."] (RFC 7208 7.1) */
	SPF_MACRO_MODIFIER,	/* an unknown modifier's value: any letter */
	SPF_MACRO_EXPLAIN,	/* explain-string: any letter, and spaces */
};

/* The values the macro letters stand for (RFC 7208 7.3). */
struct spf_macro_vars {
	const char	*sender;	/* s: local@domain */
	const char	*local;		/* l */
	const char	*sender_domain;	/* o */
	const char	*domain;	/* d: the domain being checked now */
	const char	*ip_dotted;	/* i: dotted quad, or 32 dotted nibbles */
	const char	*ip_text;	/* c: "192.0.2.1", "2001:db8::1" */
	const char	*ip_version;	/* v: "in-addr" or "ip6" */
	const char	*helo;		/* h */
	const char	*receiver;	/* r */
	const char	*validated;	/* p: computed by the caller, or "unknown" */
	time_t		 now;		/* t */
};

/* True if s[0..len) is valid for kind. */
bool	spf_macro_valid(const char *s, size_t len, enum spf_macro_kind kind);

/* True if s (valid) uses %{p}: the caller must compute it first. */
bool	spf_macro_uses_p(const char *s, size_t len);

/*
 * Expands a valid macro-string into out (NUL-terminated). Returns the
 * length, or -1 if s is not valid for kind or the result does not fit;
 * for SPF_MACRO_EXPLAIN a result that does not fit is cut instead.
 */
int	spf_macro_expand(const struct spf_macro_vars *, const char *s, size_t len,
	    enum spf_macro_kind kind, char *out, size_t outsize);

/*
 * Expands a domain-spec into a name to look up: a trailing dot dropped and
 * left-hand labels removed until it fits DV_NAME_MAX (RFC 7208 7.3).
 * Returns 0, or -1 when no such name results (out is then "", which the
 * view answers as a name that does not exist).
 */
int	spf_macro_domain(const struct spf_macro_vars *, const char *spec,
	    size_t len, char out[DV_NAME_MAX + 1]);

#endif
