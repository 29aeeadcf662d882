/*
 * screen/dynptr.c - the dynamic-PTR heuristic (see dynptr.h).
 *
 * Owns: the Public Suffix List context (loaded once, kept for the life of
 * the process) and the list of tokens that mark a mail server. Why the
 * registrable domain is cut off first: a provider's own name ("dsl-
 * provider.example", "pool.ntp.org"'s owner) says nothing about the host;
 * only the labels the provider chose for this address do. The ICANN
 * section alone is used: the private section makes whole hosting ranges
 * ("*.compute-1.amazonaws.com") public suffixes, which would leave no host
 * part to judge on exactly the names that most need it.
 * Every search is bounded by the name (at most 253 bytes) and a fixed set
 * of renderings of the address, so the work per name is small and fixed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libpsl.h>

#include "dnsview.h"
#include "dynptr.h"

#define FORM_MAX	80	/* the longest rendering: 32 nibbles + separators */

static const psl_ctx_t	*psl;
static bool		 psl_tried;

/* Tokens (prefixes) of a host part that say "this host sends mail". */
static const char *const mail_tokens[] = {
	"mail", "smtp", "mx", "mta", "relay", "out",
};

int
dynptr_init(void)
{
	if (!psl_tried) {
		psl_tried = true;
		if ((psl = psl_latest(NULL)) == NULL)
			psl = psl_builtin();
	}
	return psl != NULL ? 0 : -1;
}

static bool
is_public_suffix(const char *suffix)
{
	if (psl == NULL)
		return strchr(suffix, '.') == NULL;	/* the TLD alone */
	return psl_is_public_suffix2(psl, suffix, PSL_TYPE_ICANN) != 0;
}

/*
 * Length of the labels left of the registrable domain, without the dot:
 * "dsl-1-2-3-4.provider.example" -> 11 ("dsl-1-2-3-4"). 0 when the name
 * is itself registrable or a public suffix.
 */
static size_t
host_part_len(const char *name)
{
	const char *label = name, *prev = NULL;

	for (;;) {
		if (is_public_suffix(label))
			return prev == NULL || prev == name ? 0 : (size_t)(prev - name) - 1;
		const char *dot = strchr(label, '.');
		if (dot == NULL)
			return 0;
		prev = label;
		label = dot + 1;
	}
}

static bool
is_sep(char ch)
{
	return ch == '.' || ch == '-' || ch == '_';
}

/* word as the whole token, or followed by digits only ("dyn123"). */
static bool
token_is_word(const char *tok, size_t len, const char *word)
{
	size_t wl = strlen(word);

	if (wl == 0 || len < wl || strncasecmp(tok, word, wl) != 0)
		return false;
	for (size_t i = wl; i < len; i++)
		if (!isdigit((unsigned char)tok[i]))
			return false;
	return true;
}

static bool
token_is_mail(const char *tok, size_t len)
{
	for (size_t i = 0; i < sizeof(mail_tokens) / sizeof(mail_tokens[0]); i++) {
		size_t ml = strlen(mail_tokens[i]);
		if (len >= ml && strncmp(tok, mail_tokens[i], ml) == 0)
			return true;
	}
	return false;
}

/* Calls fn on each token of host[0..len); stops at the first true. */
static bool
tokens_any(const char *host, size_t len, bool (*fn)(const char *, size_t, const void *),
    const void *arg)
{
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && !is_sep(host[i]))
			continue;
		if (i > start && fn(host + start, i - start, arg))
			return true;
		start = i + 1;
	}
	return false;
}

static bool
match_word(const char *tok, size_t len, const void *arg)
{
	return token_is_word(tok, len, arg);
}

static bool
match_mail(const char *tok, size_t len, const void *arg)
{
	(void)arg;
	return token_is_mail(tok, len);
}

/* ---- the address in the name ----------------------------------------------- */

static bool
is_digit_or_hex(char ch, bool hex)
{
	return hex ? isxdigit((unsigned char)ch) != 0 : isdigit((unsigned char)ch) != 0;
}

/* form occurs in host, not glued to more digits (hex digits for hex). */
static bool
contains_form(const char *host, const char *form, bool hex)
{
	size_t fl = strlen(form);

	if (fl == 0)
		return false;
	for (const char *p = host; (p = strstr(p, form)) != NULL; p++) {
		bool glued_before = p > host && is_digit_or_hex(p[-1], hex);
		bool glued_after = is_digit_or_hex(p[fl], hex);
		if (!glued_before && !glued_after)
			return true;
	}
	return false;
}

/* Appends fmt'ed v at *used; false if it does not fit. */
static bool
append(char *out, size_t size, size_t *used, const char *fmt, unsigned v)
{
	int w = snprintf(out + *used, size - *used, fmt, v);

	if (w < 0 || (size_t)w >= size - *used)
		return false;
	*used += (size_t)w;
	return true;
}

static bool
append_text(char *out, size_t size, size_t *used, const char *text)
{
	size_t len = strlen(text);

	if (len >= size - *used)
		return false;
	memcpy(out + *used, text, len + 1);
	*used += len;
	return true;
}

/* Writes octets o[0..n) with fmt, sep between them; false if too long. */
static bool
render(char *out, size_t size, const uint8_t *o, size_t n, const char *fmt, const char *sep)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && !append_text(out, size, &used, sep))
			return false;
		if (!append(out, size, &used, fmt, o[i]))
			return false;
	}
	return true;
}

static bool
ipv4_in(const char *host, const uint8_t a[4])
{
	static const char *const fmts[] = { "%u", "%03u", "%02x" };
	static const char *const seps[] = { ".", "-", "_", "" };
	const uint8_t rev[4] = { a[3], a[2], a[1], a[0] };
	const uint8_t *orders[] = { a, rev };
	const uint8_t tail[3] = { a[1], a[2], a[3] }, tail_rev[3] = { a[3], a[2], a[1] };
	const uint8_t *tails[] = { tail, tail_rev };
	char form[FORM_MAX];

	for (size_t o = 0; o < 2; o++)
		for (size_t f = 0; f < 3; f++)
			for (size_t s = 0; s < 4; s++) {
				bool hex = f == 2;
				if (!render(form, sizeof(form), orders[o], 4, fmts[f], seps[s]))
					continue;
				/* "1234" glued together is too common to mean 1.2.3.4 */
				if (!hex && s == 3 && strlen(form) < 8)
					continue;
				if (contains_form(host, form, hex))
					return true;
			}
	/* the last three octets ("pool-51-100-7"), separated, long enough */
	for (size_t o = 0; o < 2; o++)
		for (size_t f = 0; f < 2; f++)
			for (size_t s = 0; s < 3; s++)
				if (render(form, sizeof(form), tails[o], 3, fmts[f], seps[s]) &&
				    strlen(form) >= 7 && contains_form(host, form, false))
					return true;
	return false;
}

static bool
ipv6_in(const char *host, const uint8_t a[16])
{
	char text[INET6_ADDRSTRLEN], form[FORM_MAX];
	uint8_t groups[8][2];

	/* the inet_ntop form with '-' for ':' ("2001-db8--7") */
	if (inet_ntop(AF_INET6, a, text, sizeof(text)) != NULL) {
		for (char *p = text; *p != '\0'; p++)
			if (*p == ':')
				*p = '-';
		if (strlen(text) >= 8 && contains_form(host, text, true))
			return true;
	}
	/* 32 nibbles glued, and 8 groups of 4 with '-' */
	if (render(form, sizeof(form), a, 16, "%02x", "") && contains_form(host, form, true))
		return true;
	memcpy(groups, a, sizeof(groups));
	size_t used = 0;
	for (size_t i = 0; i < 8; i++)
		if ((i > 0 && !append_text(form, sizeof(form), &used, "-")) ||
		    !append(form, sizeof(form), &used, "%04x",
		    (unsigned)(groups[i][0] << 8 | groups[i][1])))
			return false;
	return contains_form(host, form, true);
}

/* True if the client address ip (text) is written into host. */
static bool
address_in(const char *host, const char *ip)
{
	struct in_addr v4;
	struct in6_addr v6;

	if (inet_pton(AF_INET, ip, &v4) == 1)
		return ipv4_in(host, (const uint8_t *)&v4);
	if (inet_pton(AF_INET6, ip, &v6) != 1)
		return false;
	if (IN6_IS_ADDR_V4MAPPED(&v6))
		return ipv4_in(host, v6.s6_addr + 12);
	return ipv6_in(host, v6.s6_addr);
}

/* ---- the check -------------------------------------------------------------- */

enum dynptr_sign
dynptr_check(const char *name, const char *ip, const struct screen_config *sc,
    char *why, size_t whylen)
{
	char host[DV_NAME_MAX + 1];
	size_t len;

	if (whylen > 0)
		why[0] = '\0';
	if (strlen(name) > DV_NAME_MAX)
		return DYNPTR_NONE;
	dynptr_init();
	if ((len = host_part_len(name)) == 0)
		return DYNPTR_NONE;
	memcpy(host, name, len);
	host[len] = '\0';
	for (size_t i = 0; i < sc->nwords; i++)
		if (tokens_any(host, len, match_word, sc->dynamic_words[i])) {
			snprintf(why, whylen, "word=%s", sc->dynamic_words[i]);
			return DYNPTR_WORD;
		}
	if (ip != NULL && !tokens_any(host, len, match_mail, NULL) && address_in(host, ip)) {
		snprintf(why, whylen, "address");
		return DYNPTR_ADDRESS;
	}
	return DYNPTR_NONE;
}
