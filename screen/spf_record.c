/*
 * screen/spf_record.c - the SPF record grammar: record selection and one
 * term at a time (RFC 7208 4.5, 4.6.1, 5, 6, 12).
 *
 * Owns: nothing but the parse of the text it is given. Why strict: RFC 7208
 * 4.6 makes any syntax error anywhere a permerror, and the RFC 7208 test
 * suite checks the corners (a CIDR with a leading zero, "ip4:1.2.3",
 * "-all.", a modifier with a qualifier, an unknown modifier whose value is
 * not a macro-string, a byte outside visible ASCII). A CIDR length after a
 * domain-spec is recognized from the end of the argument, since '/' may
 * also appear inside a domain-spec ("a:foo:bar/baz.example.com").
 * See screen/spf_record.h for the contract.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "spf_macro.h"
#include "spf_record.h"


static const struct {
	const char		*name;
	enum spf_term_kind	 kind;
} mechanisms[] = {
	{ "all", SPF_T_ALL },		{ "include", SPF_T_INCLUDE },
	{ "a", SPF_T_A },		{ "mx", SPF_T_MX },
	{ "ptr", SPF_T_PTR },		{ "ip4", SPF_T_IP4 },
	{ "ip6", SPF_T_IP6 },		{ "exists", SPF_T_EXISTS },
};

bool
spf_record_is_spf(const char *txt, size_t len)
{
	return len >= 6 && strncasecmp(txt, "v=spf1", 6) == 0 &&
	    (len == 6 || txt[6] == ' ');
}

void
spf_cursor_init(struct spf_cursor *c, const char *txt, size_t len)
{
	c->p = txt + (len >= 6 ? 6 : len);
	c->end = txt + len;
}

bool
spf_term_counts(enum spf_term_kind k)
{
	return k == SPF_T_INCLUDE || k == SPF_T_A || k == SPF_T_MX ||
	    k == SPF_T_PTR || k == SPF_T_EXISTS || k == SPF_T_REDIRECT;
}

/* ---- pieces ----------------------------------------------------------------- */

/* ip4-cidr-length / ip6-cidr-length digits: "0" or no leading zero, <= max. */
static int
parse_cidr(const char *s, size_t len, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (len == 0 || len > 3 || (s[0] == '0' && len > 1))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static size_t
trailing_digits(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && isdigit((unsigned char)s[len - 1 - n]))
		n++;
	return n;
}

/* Takes "/N", "//M" or "/N//M" off the end of a domain-spec argument. */
static int
strip_dual_cidr(const char *s, size_t *len, struct spf_term *t)
{
	size_t n = *len, d = trailing_digits(s, n);

	if (d > 0 && n - d >= 2 && s[n - d - 1] == '/' && s[n - d - 2] == '/') {
		if (parse_cidr(s + n - d, d, 128, &t->cidr6) == -1)
			return -1;
		n -= d + 2;
		d = trailing_digits(s, n);
	}
	if (d > 0 && n - d >= 1 && s[n - d - 1] == '/') {
		if (parse_cidr(s + n - d, d, 32, &t->cidr4) == -1)
			return -1;
		n -= d + 1;
	}
	*len = n;
	return 0;
}

/* dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ], all of s. */
static int
parse_dual_cidr(const char *s, size_t len, struct spf_term *t)
{
	size_t i = 0, j;

	if (len >= 1 && s[0] == '/' && (len == 1 || s[1] != '/')) {
		for (j = 1; j < len && s[j] != '/'; j++)
			;
		if (parse_cidr(s + 1, j - 1, 32, &t->cidr4) == -1)
			return -1;
		i = j;
	}
	if (i < len) {
		if (len - i < 3 || s[i] != '/' || s[i + 1] != '/')
			return -1;
		if (parse_cidr(s + i + 2, len - i - 2, 128, &t->cidr6) == -1)
			return -1;
	}
	return 0;
}

static int
set_domain_spec(struct spf_term *t, const char *spec, size_t len)
{
	if (!spf_macro_valid(spec, len, SPF_MACRO_DOMAIN))
		return -1;
	t->spec = spec;
	t->speclen = len;
	return 0;
}

/* ip4-network = qnum "." qnum "." qnum "." qnum, no leading zeros */
static int
parse_ip4_network(const char *s, size_t len, uint8_t out[4])
{
	size_t i = 0;

	for (int q = 0; q < 4; q++) {
		size_t start = i;
		unsigned v = 0;
		while (i < len && isdigit((unsigned char)s[i]) && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
			return -1;
		out[q] = (uint8_t)v;
		if (q < 3 && (i >= len || s[i++] != '.'))
			return -1;
	}
	return i == len ? 0 : -1;
}

static int
parse_ip6_network(const char *s, size_t len, uint8_t out[16])
{
	char buf[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
}

/* ":" network [ "/" cidr ] after "ip4" or "ip6". */
static int
parse_ip_mech(const char *rest, size_t len, struct spf_term *t, const char **why)
{
	const char *slash;
	size_t netlen;
	bool v4 = t->kind == SPF_T_IP4;

	*why = v4 ? "bad ip4 network" : "bad ip6 network";
	if (len < 2 || rest[0] != ':')
		return -1;
	rest++;
	len--;
	slash = memchr(rest, '/', len);
	netlen = slash != NULL ? (size_t)(slash - rest) : len;
	if ((v4 ? parse_ip4_network(rest, netlen, t->net) :
	    parse_ip6_network(rest, netlen, t->net)) == -1)
		return -1;
	*why = "bad CIDR length";
	if (slash != NULL && parse_cidr(slash + 1, len - netlen - 1, v4 ? 32 : 128,
	    v4 ? &t->cidr4 : &t->cidr6) == -1)
		return -1;
	return 0;
}

/* a / mx: [ ":" domain-spec ] [ dual-cidr-length ] */
static int
parse_a_mx(const char *rest, size_t len, struct spf_term *t, const char **why)
{
	size_t speclen;

	if (len == 0 || rest[0] != ':') {
		*why = "bad CIDR length";
		return parse_dual_cidr(rest, len, t);
	}
	speclen = len - 1;
	*why = "bad CIDR length";
	if (strip_dual_cidr(rest + 1, &speclen, t) == -1)
		return -1;
	*why = "bad domain-spec";
	return set_domain_spec(t, rest + 1, speclen);
}

/* The part of a mechanism after its name. */
static int
parse_mechanism_args(const char *rest, size_t len, struct spf_term *t,
    const char **why)
{
	*why = "bad domain-spec";
	switch (t->kind) {
	case SPF_T_ALL:
		*why = "all takes no argument";
		return len == 0 ? 0 : -1;
	case SPF_T_INCLUDE:
	case SPF_T_EXISTS:
		if (len == 0 || rest[0] != ':')
			return -1;
		return set_domain_spec(t, rest + 1, len - 1);
	case SPF_T_PTR:
		if (len == 0)
			return 0;
		if (rest[0] != ':')
			return -1;
		return set_domain_spec(t, rest + 1, len - 1);
	case SPF_T_A:
	case SPF_T_MX:
		return parse_a_mx(rest, len, t, why);
	case SPF_T_IP4:
	case SPF_T_IP6:
		return parse_ip_mech(rest, len, t, why);
	default:
		return -1;
	}
}

/* name "=" value, name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
static int
parse_modifier(const char *name, size_t namelen, const char *value, size_t len,
    struct spf_term *t, const char **why)
{
	*why = "bad modifier name";
	if (namelen == 0 || !isalpha((unsigned char)name[0]))
		return -1;
	*why = "bad modifier value";
	if (namelen == 8 && strncasecmp(name, "redirect", 8) == 0) {
		t->kind = SPF_T_REDIRECT;
		return set_domain_spec(t, value, len);
	}
	if (namelen == 3 && strncasecmp(name, "exp", 3) == 0) {
		t->kind = SPF_T_EXP;
		return set_domain_spec(t, value, len);
	}
	t->kind = SPF_T_UNKNOWN_MOD;
	return spf_macro_valid(value, len, SPF_MACRO_MODIFIER) ? 0 : -1;
}

static int
parse_term(const char *s, size_t len, struct spf_term *t, const char **why)
{
	size_t namelen;
	bool qualified = false;

	memset(t, 0, sizeof(*t));
	t->text = s;
	t->textlen = len;
	t->qualifier = '+';
	t->cidr4 = 32;
	t->cidr6 = 128;
	if (strchr("+-~?", s[0]) != NULL) {
		t->qualifier = s[0];
		qualified = true;
		s++;
		len--;
	}
	/* name characters: ALPHA / DIGIT / "-" / "_" / "." */
	for (namelen = 0; namelen < len; namelen++)
		if (!isalnum((unsigned char)s[namelen]) &&
		    strchr("-_.", s[namelen]) == NULL)
			break;
	if (namelen < len && s[namelen] == '=') {
		*why = "qualifier on a modifier";
		if (qualified)
			return -1;
		return parse_modifier(s, namelen, s + namelen + 1, len - namelen - 1,
		    t, why);
	}
	for (size_t i = 0; i < sizeof(mechanisms) / sizeof(mechanisms[0]); i++)
		if (strlen(mechanisms[i].name) == namelen &&
		    strncasecmp(s, mechanisms[i].name, namelen) == 0) {
			t->kind = mechanisms[i].kind;
			return parse_mechanism_args(s + namelen, len - namelen, t, why);
		}
	*why = "unknown mechanism";
	return -1;
}

int
spf_term_next(struct spf_cursor *c, struct spf_term *t, const char **why)
{
	const char *start, *p;

	while (c->p < c->end && *c->p == ' ')
		c->p++;
	if (c->p == c->end)
		return 0;
	start = c->p;
	for (p = start; p < c->end && *p != ' '; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
			*why = "a byte outside visible ASCII";
			return -1;
		}
	if (parse_term(start, (size_t)(p - start), t, why) == -1)
		return -1;
	c->p = p;
	return 1;
}
